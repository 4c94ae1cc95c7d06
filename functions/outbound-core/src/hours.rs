//! Queue status and hours of operation.
//!
//! The evaluation is pure ([`WeeklyHours`]): a set of weekly ranges read on the wall clock of the
//! hours' time zone (IANA name, evaluated with chrono-tz, so daylight saving time follows the
//! zone's rules). Semantics, as the Amazon Connect admin website configures them:
//! - a day may have several ranges (split shifts); a day without a range is closed;
//! - a range whose end is before its start runs past midnight into the next day (overnight);
//! - a range whose end equals its start is open 24 hours from the start: `00:00`–`00:00` is the
//!   whole day (Connect's default "Basic Hours" is 12:00 AM–12:00 AM every day);
//! - ranges are `[start, end)`: a queue that closes at 17:00 is closed at 17:00:00.
//!
//! The Connect-facing part ([`fetch_queue_snapshot`], [`StatusCache`]) reads `DescribeQueue`
//! and the queue's effective hours (`GetEffectiveHoursOfOperations`, overrides such as holidays
//! applied: [`crate::effective_hours`]), falling back to the weekly `DescribeHoursOfOperation`
//! when Connect refuses the effective hours, and keeps the answer for a few seconds, because
//! `dial` asks before every call and Connect's describe APIs have low request quotas.

use crate::effective_hours::{self, EffectiveHours};
use crate::error::{classify_sdk_error, ErrorName, FunctionError};
use chrono::{
    DateTime, Datelike, Duration as ChronoDuration, LocalResult, NaiveDateTime, NaiveTime, Offset,
    TimeZone, Timelike, Utc, Weekday,
};
use chrono_tz::Tz;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const DAY: i64 = 86_400;
const WEEK: i64 = 7 * DAY;

/// A time of day on the wall clock, minute precision (Connect's `HoursOfOperationTimeSlice`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct TimeSlice {
    pub hours: u8,
    pub minutes: u8,
}

impl TimeSlice {
    pub fn new(hours: u8, minutes: u8) -> Result<Self, FunctionError> {
        if hours > 23 || minutes > 59 {
            return Err(FunctionError::config(format!(
                "hours of operation: time {hours:02}:{minutes:02} is out of range"
            )));
        }
        Ok(Self { hours, minutes })
    }

    pub(crate) fn seconds(self) -> i64 {
        i64::from(self.hours) * 3600 + i64::from(self.minutes) * 60
    }

    pub(crate) fn naive(self) -> NaiveTime {
        NaiveTime::from_hms_opt(u32::from(self.hours), u32::from(self.minutes), 0)
            .expect("validated in TimeSlice::new")
    }
}

/// One configured range: opens on `day` at `start`, closes at `end` (the next day when `end` is
/// not after `start`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HoursRange {
    pub day: Weekday,
    pub start: TimeSlice,
    pub end: TimeSlice,
}

impl HoursRange {
    /// The range as seconds of the week from Monday 00:00: `start` in `[0, WEEK)`, `end` in
    /// `(start, start + DAY]`.
    fn interval(&self) -> (i64, i64) {
        let day_start = i64::from(self.day.num_days_from_monday()) * DAY;
        let start = day_start + self.start.seconds();
        let mut end = day_start + self.end.seconds();
        if end <= start {
            end += DAY;
        }
        (start, end)
    }
}

/// Weekly hours in a time zone.
#[derive(Debug, Clone, PartialEq)]
pub struct WeeklyHours {
    pub time_zone: Tz,
    pub ranges: Vec<HoursRange>,
}

/// Whether the hours are open at an instant and, when closed, when they open next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HoursStatus {
    pub open: bool,
    /// The first instant after `now` at which the hours are open; `None` when open now, or
    /// when no range is configured at all.
    pub next_opening: Option<DateTime<Utc>>,
}

impl WeeklyHours {
    /// Builds the hours from an IANA time zone name (Connect stores one, e.g. `Europe/London`).
    pub fn new(time_zone: &str, ranges: Vec<HoursRange>) -> Result<Self, FunctionError> {
        let time_zone: Tz = time_zone.trim().parse().map_err(|_| {
            FunctionError::config(format!(
                "hours of operation: unknown time zone '{time_zone}'"
            ))
        })?;
        Ok(Self { time_zone, ranges })
    }

    /// Reads Connect's `HoursOfOperation`.
    pub fn from_connect(
        hours: &aws_sdk_connect::types::HoursOfOperation,
    ) -> Result<Self, FunctionError> {
        use aws_sdk_connect::types::HoursOfOperationDays as D;
        let tz = hours
            .time_zone()
            .ok_or_else(|| FunctionError::config("hours of operation: no time zone"))?;
        let mut ranges = Vec::new();
        for c in hours.config() {
            let day = match c.day() {
                D::Monday => Weekday::Mon,
                D::Tuesday => Weekday::Tue,
                D::Wednesday => Weekday::Wed,
                D::Thursday => Weekday::Thu,
                D::Friday => Weekday::Fri,
                D::Saturday => Weekday::Sat,
                D::Sunday => Weekday::Sun,
                other => {
                    return Err(FunctionError::config(format!(
                        "hours of operation: unknown day '{}'",
                        other.as_str()
                    )))
                }
            };
            let slice = |s: Option<&aws_sdk_connect::types::HoursOfOperationTimeSlice>,
                         what: &str|
             -> Result<TimeSlice, FunctionError> {
                let s = s.ok_or_else(|| {
                    FunctionError::config(format!("hours of operation: {what} time missing"))
                })?;
                let h = u8::try_from(s.hours()).map_err(|_| {
                    FunctionError::config(format!("hours of operation: {what} hours out of range"))
                })?;
                let m = u8::try_from(s.minutes()).map_err(|_| {
                    FunctionError::config(format!(
                        "hours of operation: {what} minutes out of range"
                    ))
                })?;
                TimeSlice::new(h, m)
            };
            ranges.push(HoursRange {
                day,
                start: slice(c.start_time(), "start")?,
                end: slice(c.end_time(), "end")?,
            });
        }
        Self::new(tz, ranges)
    }

    /// True when `t` falls in a range on the zone's wall clock.
    pub fn is_open_at(&self, t: DateTime<Utc>) -> bool {
        let local = t.with_timezone(&self.time_zone).naive_local();
        let ws = week_second(local);
        self.ranges.iter().any(|r| {
            let (start, end) = r.interval();
            (start <= ws && ws < end) || (start <= ws + WEEK && ws + WEEK < end)
        })
    }

    /// Open now, or closed and when it opens next.
    pub fn evaluate(&self, now: DateTime<Utc>) -> HoursStatus {
        if self.is_open_at(now) {
            HoursStatus {
                open: true,
                next_opening: None,
            }
        } else {
            HoursStatus {
                open: false,
                next_opening: self.next_opening_after(now),
            }
        }
    }

    /// The first instant strictly after `now` at which the hours are open.
    ///
    /// The hours can only become open where a range starts on the wall clock, or where the wall
    /// clock jumps (a DST transition: it can jump over a start, or fall back into a range). So
    /// the candidates are every range start over the next week, mapped to UTC (both instants
    /// when the wall time occurs twice, none when it does not occur), plus every transition;
    /// the answer is the earliest candidate that is really open.
    pub fn next_opening_after(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        if self.ranges.is_empty() {
            return None;
        }
        let tz = self.time_zone;
        let today = now.with_timezone(&tz).date_naive();
        let mut candidates: Vec<DateTime<Utc>> = Vec::new();
        for offset in -1..=8 {
            let Some(date) = today.checked_add_signed(ChronoDuration::days(offset)) else {
                continue;
            };
            for r in self.ranges.iter().filter(|r| r.day == date.weekday()) {
                match tz.from_local_datetime(&date.and_time(r.start.naive())) {
                    LocalResult::Single(t) => candidates.push(t.with_timezone(&Utc)),
                    LocalResult::Ambiguous(a, b) => {
                        candidates.push(a.with_timezone(&Utc));
                        candidates.push(b.with_timezone(&Utc));
                    }
                    LocalResult::None => {}
                }
            }
        }
        candidates.extend(transitions(tz, now, now + ChronoDuration::days(9)));
        candidates
            .into_iter()
            .filter(|c| *c > now && self.is_open_at(*c))
            .min()
    }
}

fn week_second(local: NaiveDateTime) -> i64 {
    i64::from(local.weekday().num_days_from_monday()) * DAY
        + i64::from(local.num_seconds_from_midnight())
}

fn utc_offset(tz: Tz, t: DateTime<Utc>) -> i32 {
    tz.offset_from_utc_datetime(&t.naive_utc())
        .fix()
        .local_minus_utc()
}

/// The instants in `(from, to]` at which the zone's UTC offset changes. Found by sampling every
/// hour and bisecting to the second (zones change their offset at most once in an hour).
pub(crate) fn transitions(tz: Tz, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<DateTime<Utc>> {
    // Whole epoch seconds: zones change their offset on a whole second.
    let at = |secs: i64| DateTime::from_timestamp(secs, 0).unwrap_or(from);
    let mut out = Vec::new();
    let (mut a, end) = (from.timestamp(), to.timestamp());
    let mut off_a = utc_offset(tz, at(a));
    while a < end {
        let b = a + 3600;
        let off_b = utc_offset(tz, at(b));
        if off_b != off_a {
            // Invariant: offset(lo) == off_a, offset(hi) == off_b.
            let (mut lo, mut hi) = (a, b);
            while hi - lo > 1 {
                let mid = lo + (hi - lo) / 2;
                if utc_offset(tz, at(mid)) == off_a {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            out.push(at(hi));
        }
        a = b;
        off_a = off_b;
    }
    out
}

/// The hours a queue is judged by.
#[derive(Debug, Clone, PartialEq)]
pub enum QueueHours {
    /// Date by date with the overrides applied (`GetEffectiveHoursOfOperations`).
    Effective(EffectiveHours),
    /// The weekly configuration only (`DescribeHoursOfOperation`): the fallback when Connect
    /// refuses the effective hours. Overrides are not seen.
    Weekly(WeeklyHours),
}

impl QueueHours {
    pub fn evaluate(&self, now: DateTime<Utc>) -> HoursStatus {
        match self {
            QueueHours::Effective(h) => h.evaluate(now),
            QueueHours::Weekly(h) => h.evaluate(now),
        }
    }

    /// For logs: which API the hours came from.
    pub fn source(&self) -> &'static str {
        match self {
            QueueHours::Effective(_) => "effective",
            QueueHours::Weekly(_) => "weekly",
        }
    }
}

/// The queue's status as Connect reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueSnapshot {
    /// `ENABLED` or `DISABLED` (any other value is treated as not enabled).
    pub status: String,
    /// `None` when the queue has no hours of operation (then only the status counts).
    pub hours: Option<QueueHours>,
}

/// Why the queue is open or closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueReason {
    Open,
    QueueDisabled,
    /// Closed by its hours now (a holiday override included); with the effective hours, also
    /// when no date asked has a range (a long closure: the state machine polls).
    OutsideHours,
    /// The weekly hours have no range at all: the queue never opens.
    NoHours,
}

impl QueueReason {
    pub fn as_str(self) -> &'static str {
        match self {
            QueueReason::Open => "open",
            QueueReason::QueueDisabled => "queue_disabled",
            QueueReason::OutsideHours => "outside_hours",
            QueueReason::NoHours => "no_hours",
        }
    }
}

/// The verdict `connect-status` returns and `dial` acts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueVerdict {
    pub open: bool,
    pub status: String,
    pub reason: QueueReason,
    /// When closed by its hours: the next opening. `None` when open, disabled (nobody knows
    /// when an operator enables it again) or never opening.
    pub next_opening: Option<DateTime<Utc>>,
}

impl QueueVerdict {
    /// `{"open","status","reason","nextOpening"}` (see `docs/architecture.md`).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "open": self.open,
            "status": self.status,
            "reason": self.reason.as_str(),
            "nextOpening": self.next_opening.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
        })
    }
}

/// Evaluates a queue snapshot at `now`.
pub fn evaluate_queue(snapshot: &QueueSnapshot, now: DateTime<Utc>) -> QueueVerdict {
    if !snapshot.status.eq_ignore_ascii_case("ENABLED") {
        return QueueVerdict {
            open: false,
            status: snapshot.status.clone(),
            reason: QueueReason::QueueDisabled,
            next_opening: None,
        };
    }
    let Some(hours) = &snapshot.hours else {
        return QueueVerdict {
            open: true,
            status: snapshot.status.clone(),
            reason: QueueReason::Open,
            next_opening: None,
        };
    };
    let st = hours.evaluate(now);
    let reason = if st.open {
        QueueReason::Open
    } else if matches!(hours, QueueHours::Weekly(w) if w.ranges.is_empty()) {
        QueueReason::NoHours
    } else {
        QueueReason::OutsideHours
    };
    QueueVerdict {
        open: st.open,
        status: snapshot.status.clone(),
        reason,
        next_opening: st.next_opening,
    }
}

fn connect_error<E>(
    what: &str,
    err: &aws_smithy_runtime_api::client::result::SdkError<
        E,
        aws_smithy_runtime_api::client::orchestrator::HttpResponse,
    >,
) -> FunctionError
where
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata,
{
    let code = err
        .as_service_error()
        .and_then(|e| e.code())
        .unwrap_or("")
        .to_string();
    let name = match classify_sdk_error(err) {
        // A missing queue or hours, or no permission, is a configuration problem.
        ErrorName::InvalidInput => ErrorName::ConfigError,
        other => other,
    };
    FunctionError::new(name, format!("{what} failed: {code}"))
}

/// Reads the queue's status and hours from Connect: `DescribeQueue`, then the effective hours
/// of its hours of operation ([`fetch_queue_hours`]).
pub async fn fetch_queue_snapshot(
    connect: &aws_sdk_connect::Client,
    instance_id: &str,
    queue_id: &str,
    now: DateTime<Utc>,
) -> Result<QueueSnapshot, FunctionError> {
    let queue = connect
        .describe_queue()
        .instance_id(instance_id)
        .queue_id(queue_id)
        .send()
        .await
        .map_err(|e| connect_error("DescribeQueue", &e))?;
    let queue = queue
        .queue()
        .ok_or_else(|| FunctionError::retryable("DescribeQueue returned no queue"))?;
    let status = queue
        .status()
        .map(|s| s.as_str().to_string())
        .unwrap_or_else(|| "UNKNOWN".to_string());
    let hours = match queue.hours_of_operation_id() {
        None => None,
        Some(id) => Some(fetch_queue_hours(connect, instance_id, id, now).await?),
    };
    Ok(QueueSnapshot { status, hours })
}

/// Error codes with which Connect refuses `GetEffectiveHoursOfOperations` itself, rather than
/// failing to answer: a role created before the dialer asked for it (`AccessDeniedException`),
/// or an endpoint that does not have the operation (`UnknownOperationException`). The dialer
/// then falls back to the weekly hours, as it did before it read overrides; any other error
/// (throttling, a missing hours of operation) is the caller's, as for the other calls.
const EFFECTIVE_HOURS_REFUSED: [&str; 2] = ["AccessDeniedException", "UnknownOperationException"];

/// The hours of operation `hours_id`: the effective hours from two days before to eight days
/// after `now`'s date ([`effective_hours::window`]: local today and the week after it in every
/// time zone), or, when Connect refuses that call or answers something unreadable, the weekly
/// hours of `DescribeHoursOfOperation`, with a warning in the log: holidays and other overrides
/// are then not seen, and the queue is judged by its weekly hours alone.
pub async fn fetch_queue_hours(
    connect: &aws_sdk_connect::Client,
    instance_id: &str,
    hours_id: &str,
    now: DateTime<Utc>,
) -> Result<QueueHours, FunctionError> {
    let (from, to) = effective_hours::window(now);
    let answer = connect
        .get_effective_hours_of_operations()
        .instance_id(instance_id)
        .hours_of_operation_id(hours_id)
        .from_date(from.format("%Y-%m-%d").to_string())
        .to_date(to.format("%Y-%m-%d").to_string())
        .send()
        .await;
    match answer {
        Ok(out) => match EffectiveHours::from_connect(&out) {
            Ok(h) => return Ok(QueueHours::Effective(h)),
            Err(e) => tracing::warn!(
                error = %e.message,
                "GetEffectiveHoursOfOperations answer unreadable: falling back to the weekly hours (overrides ignored)"
            ),
        },
        Err(e) => {
            use aws_smithy_types::error::metadata::ProvideErrorMetadata;
            let code = e
                .as_service_error()
                .and_then(|s| s.code())
                .unwrap_or("")
                .to_string();
            if !EFFECTIVE_HOURS_REFUSED.contains(&code.as_str()) {
                return Err(connect_error("GetEffectiveHoursOfOperations", &e));
            }
            tracing::warn!(
                code = %code,
                "GetEffectiveHoursOfOperations refused: falling back to the weekly hours (overrides ignored)"
            );
        }
    }
    let out = connect
        .describe_hours_of_operation()
        .instance_id(instance_id)
        .hours_of_operation_id(hours_id)
        .send()
        .await
        .map_err(|e| connect_error("DescribeHoursOfOperation", &e))?;
    let hours = out
        .hours_of_operation()
        .ok_or_else(|| FunctionError::retryable("DescribeHoursOfOperation returned no hours"))?;
    Ok(QueueHours::Weekly(WeeklyHours::from_connect(hours)?))
}

/// Keeps the last queue snapshot for `ttl` (`STATUS_CACHE_SECONDS`) within a warm Lambda.
pub struct StatusCache {
    ttl: Duration,
    entry: Mutex<Option<CacheEntry>>,
}

struct CacheEntry {
    at: Instant,
    instance_id: String,
    queue_id: String,
    snapshot: QueueSnapshot,
}

impl StatusCache {
    /// `ttl` zero means "always ask Connect".
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entry: Mutex::new(None),
        }
    }

    /// The cached snapshot when fresh and for the same queue, else a fresh one from Connect.
    pub async fn snapshot(
        &self,
        connect: &aws_sdk_connect::Client,
        instance_id: &str,
        queue_id: &str,
        now: DateTime<Utc>,
    ) -> Result<QueueSnapshot, FunctionError> {
        if let Some(hit) = self.lookup(instance_id, queue_id) {
            return Ok(hit);
        }
        let snapshot = fetch_queue_snapshot(connect, instance_id, queue_id, now).await?;
        if !self.ttl.is_zero() {
            let mut entry = self.entry.lock().unwrap_or_else(|p| p.into_inner());
            *entry = Some(CacheEntry {
                at: Instant::now(),
                instance_id: instance_id.to_string(),
                queue_id: queue_id.to_string(),
                snapshot: snapshot.clone(),
            });
        }
        Ok(snapshot)
    }

    fn lookup(&self, instance_id: &str, queue_id: &str) -> Option<QueueSnapshot> {
        let entry = self.entry.lock().unwrap_or_else(|p| p.into_inner());
        entry
            .as_ref()
            .filter(|e| {
                e.at.elapsed() < self.ttl && e.instance_id == instance_id && e.queue_id == queue_id
            })
            .map(|e| e.snapshot.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ts(h: u8, m: u8) -> TimeSlice {
        TimeSlice::new(h, m).unwrap()
    }

    fn range(day: Weekday, start: (u8, u8), end: (u8, u8)) -> HoursRange {
        HoursRange {
            day,
            start: ts(start.0, start.1),
            end: ts(end.0, end.1),
        }
    }

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn weekdays(start: (u8, u8), end: (u8, u8)) -> Vec<HoursRange> {
        [
            Weekday::Mon,
            Weekday::Tue,
            Weekday::Wed,
            Weekday::Thu,
            Weekday::Fri,
        ]
        .into_iter()
        .map(|d| range(d, start, end))
        .collect()
    }

    #[test]
    fn office_hours_in_utc() {
        let h = WeeklyHours::new("UTC", weekdays((9, 0), (17, 0))).unwrap();
        // 2024-03-04 is a Monday.
        assert!(h.is_open_at(utc("2024-03-04T09:00:00Z")));
        assert!(h.is_open_at(utc("2024-03-04T16:59:59Z")));
        assert!(!h.is_open_at(utc("2024-03-04T17:00:00Z")));
        assert!(!h.is_open_at(utc("2024-03-04T08:59:59Z")));
        let st = h.evaluate(utc("2024-03-04T17:30:00Z"));
        assert_eq!(
            st,
            HoursStatus {
                open: false,
                next_opening: Some(utc("2024-03-05T09:00:00Z"))
            }
        );
        // Friday evening: next opening is Monday.
        let st = h.evaluate(utc("2024-03-08T18:00:00Z"));
        assert_eq!(st.next_opening, Some(utc("2024-03-11T09:00:00Z")));
        assert_eq!(
            h.evaluate(utc("2024-03-06T12:00:00Z")),
            HoursStatus {
                open: true,
                next_opening: None
            }
        );
    }

    #[test]
    fn split_shift() {
        let h = WeeklyHours::new(
            "UTC",
            vec![
                range(Weekday::Tue, (8, 0), (12, 0)),
                range(Weekday::Tue, (14, 0), (18, 30)),
            ],
        )
        .unwrap();
        assert!(h.is_open_at(utc("2024-03-05T11:59:00Z")));
        assert!(!h.is_open_at(utc("2024-03-05T12:00:00Z")));
        assert!(!h.is_open_at(utc("2024-03-05T13:59:59Z")));
        assert!(h.is_open_at(utc("2024-03-05T14:00:00Z")));
        assert!(!h.is_open_at(utc("2024-03-05T18:30:00Z")));
        assert_eq!(
            h.evaluate(utc("2024-03-05T12:30:00Z")).next_opening,
            Some(utc("2024-03-05T14:00:00Z"))
        );
        // After the second shift the next opening is a week later.
        assert_eq!(
            h.evaluate(utc("2024-03-05T19:00:00Z")).next_opening,
            Some(utc("2024-03-12T08:00:00Z"))
        );
    }

    #[test]
    fn overnight_range_crosses_midnight() {
        // Friday 22:00 to Saturday 06:00, nothing else.
        let h = WeeklyHours::new("UTC", vec![range(Weekday::Fri, (22, 0), (6, 0))]).unwrap();
        assert!(!h.is_open_at(utc("2024-03-08T21:59:00Z")));
        assert!(h.is_open_at(utc("2024-03-08T22:00:00Z")));
        assert!(h.is_open_at(utc("2024-03-08T23:59:59Z")));
        assert!(h.is_open_at(utc("2024-03-09T00:00:00Z")));
        assert!(h.is_open_at(utc("2024-03-09T05:59:59Z")));
        assert!(!h.is_open_at(utc("2024-03-09T06:00:00Z")));
        // Saturday has no range of its own: closed at Saturday 22:00.
        assert!(!h.is_open_at(utc("2024-03-09T22:30:00Z")));
        assert_eq!(
            h.evaluate(utc("2024-03-09T07:00:00Z")).next_opening,
            Some(utc("2024-03-15T22:00:00Z"))
        );
    }

    #[test]
    fn sunday_overnight_wraps_into_monday() {
        let h = WeeklyHours::new("UTC", vec![range(Weekday::Sun, (20, 0), (2, 0))]).unwrap();
        // 2024-03-10 is a Sunday, 2024-03-11 a Monday.
        assert!(h.is_open_at(utc("2024-03-10T21:00:00Z")));
        assert!(h.is_open_at(utc("2024-03-11T01:59:00Z")));
        assert!(!h.is_open_at(utc("2024-03-11T02:00:00Z")));
    }

    #[test]
    fn midnight_to_midnight_is_all_day() {
        let all_week: Vec<HoursRange> = [
            Weekday::Mon,
            Weekday::Tue,
            Weekday::Wed,
            Weekday::Thu,
            Weekday::Fri,
            Weekday::Sat,
            Weekday::Sun,
        ]
        .into_iter()
        .map(|d| range(d, (0, 0), (0, 0)))
        .collect();
        let h = WeeklyHours::new("America/New_York", all_week).unwrap();
        for t in [
            "2024-03-10T07:00:00Z",
            "2024-03-10T06:59:59Z",
            "2024-11-03T05:30:00Z",
            "2024-06-01T04:00:00Z",
        ] {
            assert!(h.is_open_at(utc(t)), "{t}");
        }
        // Only Monday all day: open Monday 23:59:59, closed Tuesday 00:00.
        let monday = WeeklyHours::new("UTC", vec![range(Weekday::Mon, (0, 0), (0, 0))]).unwrap();
        assert!(monday.is_open_at(utc("2024-03-04T23:59:59Z")));
        assert!(!monday.is_open_at(utc("2024-03-05T00:00:00Z")));
    }

    #[test]
    fn days_without_hours_and_no_hours_at_all() {
        let h = WeeklyHours::new("UTC", weekdays((9, 0), (17, 0))).unwrap();
        assert!(!h.is_open_at(utc("2024-03-09T12:00:00Z"))); // Saturday
        let none = WeeklyHours::new("UTC", vec![]).unwrap();
        assert_eq!(
            none.evaluate(utc("2024-03-09T12:00:00Z")),
            HoursStatus {
                open: false,
                next_opening: None
            }
        );
    }

    #[test]
    fn evaluated_in_the_hours_time_zone() {
        // 09:00-17:00 in Tokyo (UTC+9, no DST) is 00:00-08:00 UTC.
        let h = WeeklyHours::new("Asia/Tokyo", weekdays((9, 0), (17, 0))).unwrap();
        assert!(h.is_open_at(utc("2024-03-04T00:00:00Z"))); // Monday 09:00 Tokyo
        assert!(!h.is_open_at(utc("2024-03-04T08:00:00Z"))); // Monday 17:00 Tokyo
                                                             // Sunday 23:00 UTC is already Monday 08:00 in Tokyo: opens one hour later.
        assert_eq!(
            h.evaluate(utc("2024-03-03T23:00:00Z")).next_opening,
            Some(utc("2024-03-04T00:00:00Z"))
        );
        // 09:00-17:00 in Los Angeles (UTC-8 in winter).
        let la = WeeklyHours::new("America/Los_Angeles", weekdays((9, 0), (17, 0))).unwrap();
        assert!(la.is_open_at(utc("2024-01-08T17:00:00Z")));
        assert!(!la.is_open_at(utc("2024-01-08T16:59:00Z")));
        // Friday 17:00 UTC is Friday 09:00 in LA: open; Saturday 00:30 UTC is Friday 16:30.
        assert!(la.is_open_at(utc("2024-01-13T00:30:00Z")));
    }

    #[test]
    fn daylight_saving_time_moves_the_utc_instants() {
        let h = WeeklyHours::new("Europe/London", weekdays((9, 0), (17, 0))).unwrap();
        // Winter: 09:00 London = 09:00 UTC. Summer: 09:00 London = 08:00 UTC.
        assert!(h.is_open_at(utc("2024-03-29T09:00:00Z")));
        assert!(!h.is_open_at(utc("2024-03-29T08:30:00Z")));
        assert!(h.is_open_at(utc("2024-04-02T08:00:00Z")));
        // Closed Friday 29 March (before the change on Sunday 31 March): opens Monday 1 April
        // 09:00 BST = 08:00 UTC.
        assert_eq!(
            h.evaluate(utc("2024-03-29T18:00:00Z")).next_opening,
            Some(utc("2024-04-01T08:00:00Z"))
        );
    }

    #[test]
    fn opening_inside_a_spring_forward_gap_opens_when_the_clock_jumps() {
        // Sunday 31 March 2024, London: 01:00 GMT jumps to 02:00 BST. A range 01:30-03:00 opens
        // at the jump (01:00 UTC), the first instant the wall clock is inside it.
        let h =
            WeeklyHours::new("Europe/London", vec![range(Weekday::Sun, (1, 30), (3, 0))]).unwrap();
        assert_eq!(
            h.evaluate(utc("2024-03-31T00:00:00Z")).next_opening,
            Some(utc("2024-03-31T01:00:00Z"))
        );
        assert!(h.is_open_at(utc("2024-03-31T01:00:00Z")));
        assert!(!h.is_open_at(utc("2024-03-31T02:00:00Z"))); // 03:00 BST
    }

    #[test]
    fn falling_back_reopens_a_range() {
        // Sunday 27 October 2024, London: 02:00 BST falls back to 01:00 GMT, so 01:00-01:59
        // happens twice. A range 01:00-01:30 opens at 00:00 UTC and again at 01:00 UTC.
        let h =
            WeeklyHours::new("Europe/London", vec![range(Weekday::Sun, (1, 0), (1, 30))]).unwrap();
        assert_eq!(
            h.evaluate(utc("2024-10-26T23:00:00Z")).next_opening,
            Some(utc("2024-10-27T00:00:00Z"))
        );
        assert_eq!(
            h.evaluate(utc("2024-10-27T00:45:00Z")).next_opening,
            Some(utc("2024-10-27T01:00:00Z"))
        );
        // A range that the clock falls back into opens at the transition, not at its start.
        let h =
            WeeklyHours::new("Europe/London", vec![range(Weekday::Sun, (0, 30), (1, 15))]).unwrap();
        assert_eq!(
            h.evaluate(utc("2024-10-27T00:20:00Z")).next_opening,
            Some(utc("2024-10-27T01:00:00Z"))
        );
    }

    #[test]
    fn invalid_configuration_is_a_config_error() {
        assert_eq!(
            TimeSlice::new(24, 0).unwrap_err().name,
            ErrorName::ConfigError
        );
        assert_eq!(
            TimeSlice::new(0, 60).unwrap_err().name,
            ErrorName::ConfigError
        );
        assert_eq!(
            WeeklyHours::new("Mars/Olympus", vec![]).unwrap_err().name,
            ErrorName::ConfigError
        );
    }

    #[test]
    fn reads_connect_hours() {
        use aws_sdk_connect::types::{
            HoursOfOperation, HoursOfOperationConfig, HoursOfOperationDays,
            HoursOfOperationTimeSlice,
        };
        let slice = |h, m| {
            HoursOfOperationTimeSlice::builder()
                .hours(h)
                .minutes(m)
                .build()
                .unwrap()
        };
        let hours = HoursOfOperation::builder()
            .time_zone("Europe/Paris")
            .config(
                HoursOfOperationConfig::builder()
                    .day(HoursOfOperationDays::Saturday)
                    .start_time(slice(21, 0))
                    .end_time(slice(3, 0))
                    .build()
                    .unwrap(),
            )
            .build();
        let h = WeeklyHours::from_connect(&hours).unwrap();
        assert_eq!(h.ranges, vec![range(Weekday::Sat, (21, 0), (3, 0))]);
        assert_eq!(h.time_zone, chrono_tz::Europe::Paris);
        let bad = HoursOfOperation::builder()
            .time_zone("UTC")
            .config(
                HoursOfOperationConfig::builder()
                    .day(HoursOfOperationDays::Monday)
                    .start_time(slice(25, 0))
                    .end_time(slice(3, 0))
                    .build()
                    .unwrap(),
            )
            .build();
        assert_eq!(
            WeeklyHours::from_connect(&bad).unwrap_err().name,
            ErrorName::ConfigError
        );
    }

    #[test]
    fn queue_verdicts() {
        let hours = WeeklyHours::new("UTC", weekdays((9, 0), (17, 0))).unwrap();
        let now = utc("2024-03-04T18:00:00Z");
        let disabled = QueueSnapshot {
            status: "DISABLED".into(),
            hours: Some(QueueHours::Weekly(hours.clone())),
        };
        let v = evaluate_queue(&disabled, utc("2024-03-04T10:00:00Z"));
        assert_eq!(
            (v.open, v.reason, v.next_opening),
            (false, QueueReason::QueueDisabled, None)
        );
        let enabled = QueueSnapshot {
            status: "ENABLED".into(),
            hours: Some(QueueHours::Weekly(hours)),
        };
        let v = evaluate_queue(&enabled, now);
        assert_eq!(v.reason, QueueReason::OutsideHours);
        assert_eq!(
            v.to_json(),
            serde_json::json!({"open": false, "status": "ENABLED", "reason": "outside_hours",
                               "nextOpening": "2024-03-05T09:00:00Z"})
        );
        let v = evaluate_queue(&enabled, utc("2024-03-04T10:00:00Z"));
        assert_eq!(v.to_json()["open"], true);
        assert_eq!(v.to_json()["nextOpening"], serde_json::Value::Null);
        let never = QueueSnapshot {
            status: "ENABLED".into(),
            hours: Some(QueueHours::Weekly(WeeklyHours::new("UTC", vec![]).unwrap())),
        };
        assert_eq!(evaluate_queue(&never, now).reason, QueueReason::NoHours);
    }

    #[tokio::test]
    async fn status_is_fetched_then_cached() {
        use aws_sdk_connect::operation::describe_hours_of_operation::DescribeHoursOfOperationOutput;
        use aws_sdk_connect::operation::describe_queue::DescribeQueueOutput;
        use aws_sdk_connect::operation::get_effective_hours_of_operations::GetEffectiveHoursOfOperationsOutput;
        use aws_sdk_connect::types::{HoursOfOperation, Queue, QueueStatus};
        use aws_smithy_mocks::{mock, mock_client, RuleMode};
        let queue = mock!(aws_sdk_connect::Client::describe_queue)
            .match_requests(|r| r.instance_id() == Some("i-1") && r.queue_id() == Some("q-1"))
            .then_output(|| {
                DescribeQueueOutput::builder()
                    .queue(
                        Queue::builder()
                            .status(QueueStatus::Enabled)
                            .hours_of_operation_id("h-1")
                            .build(),
                    )
                    .build()
            });
        let hours = mock!(aws_sdk_connect::Client::describe_hours_of_operation)
            .match_requests(|r| r.hours_of_operation_id() == Some("h-1"))
            .then_output(|| {
                DescribeHoursOfOperationOutput::builder()
                    .hours_of_operation(HoursOfOperation::builder().time_zone("UTC").build())
                    .build()
            });
        let effective = mock!(aws_sdk_connect::Client::get_effective_hours_of_operations)
            .match_requests(|r| r.hours_of_operation_id() == Some("h-1"))
            .then_output(|| {
                GetEffectiveHoursOfOperationsOutput::builder()
                    .time_zone("UTC")
                    .build()
            });
        let connect = mock_client!(
            aws_sdk_connect,
            RuleMode::MatchAny,
            [&queue, &effective, &hours]
        );
        let cache = StatusCache::new(Duration::from_secs(60));
        let a = cache
            .snapshot(&connect, "i-1", "q-1", Utc::now())
            .await
            .unwrap();
        let b = cache
            .snapshot(&connect, "i-1", "q-1", Utc::now())
            .await
            .unwrap();
        assert_eq!(a, b);
        assert_eq!(a.status, "ENABLED");
        assert_eq!(queue.num_calls(), 1);
        assert_eq!(effective.num_calls(), 1);
        assert_eq!(hours.num_calls(), 0, "the effective hours answered");
        assert_eq!(a.hours.as_ref().map(QueueHours::source), Some("effective"));
        // No cache: every call asks Connect.
        let uncached = StatusCache::new(Duration::ZERO);
        uncached
            .snapshot(&connect, "i-1", "q-1", Utc::now())
            .await
            .unwrap();
        uncached
            .snapshot(&connect, "i-1", "q-1", Utc::now())
            .await
            .unwrap();
        assert_eq!(queue.num_calls(), 3);
    }

    #[tokio::test]
    async fn missing_queue_is_a_config_error_and_throttling_is_throttled() {
        use aws_sdk_connect::operation::describe_queue::DescribeQueueError;
        use aws_sdk_connect::types::error::{ResourceNotFoundException, ThrottlingException};
        use aws_smithy_mocks::{mock, mock_client, RuleMode};
        use aws_smithy_types::error::ErrorMetadata;
        let missing = mock!(aws_sdk_connect::Client::describe_queue)
            .match_requests(|r| r.queue_id() == Some("missing"))
            .then_error(|| {
                DescribeQueueError::ResourceNotFoundException(
                    ResourceNotFoundException::builder()
                        .message("no")
                        .meta(
                            ErrorMetadata::builder()
                                .code("ResourceNotFoundException")
                                .build(),
                        )
                        .build(),
                )
            });
        let busy = mock!(aws_sdk_connect::Client::describe_queue)
            .match_requests(|r| r.queue_id() == Some("busy"))
            .then_error(|| {
                DescribeQueueError::ThrottlingException(
                    ThrottlingException::builder()
                        .message("slow")
                        .meta(ErrorMetadata::builder().code("ThrottlingException").build())
                        .build(),
                )
            });
        let connect = mock_client!(
            aws_sdk_connect,
            RuleMode::MatchAny,
            [&missing, &busy],
            |c| c.retry_config(aws_smithy_types::retry::RetryConfig::disabled())
        );
        let e = fetch_queue_snapshot(&connect, "i", "missing", Utc::now())
            .await
            .unwrap_err();
        assert_eq!(e.name, ErrorName::ConfigError);
        let e = fetch_queue_snapshot(&connect, "i", "busy", Utc::now())
            .await
            .unwrap_err();
        assert_eq!(e.name, ErrorName::Throttled);
    }

    /// The dates of a `GetEffectiveHoursOfOperations` answer, each with its ranges.
    type EffectiveDays = Vec<(&'static str, Vec<crate::testkit::OverrideRange>)>;

    /// A Connect whose queue is enabled with hours `h-1` (weekdays 09:00-17:00 UTC) and whose
    /// effective hours answer `effective`: `Ok` with the ranges of each date, or an error code.
    fn connect_with_effective(
        effective: Result<EffectiveDays, &'static str>,
    ) -> (
        aws_sdk_connect::Client,
        aws_smithy_mocks::Rule,
        aws_smithy_mocks::Rule,
    ) {
        use aws_sdk_connect::operation::describe_hours_of_operation::DescribeHoursOfOperationOutput;
        use aws_sdk_connect::operation::describe_queue::DescribeQueueOutput;
        use aws_sdk_connect::operation::get_effective_hours_of_operations::{
            GetEffectiveHoursOfOperationsError, GetEffectiveHoursOfOperationsOutput,
        };
        use aws_sdk_connect::types::{
            EffectiveHoursOfOperations, HoursOfOperation, HoursOfOperationConfig,
            HoursOfOperationDays, HoursOfOperationTimeSlice, OperationalHour, OverrideTimeSlice,
            Queue, QueueStatus,
        };
        use aws_smithy_mocks::{mock, mock_client, RuleMode};
        use aws_smithy_types::error::ErrorMetadata;
        let queue = mock!(aws_sdk_connect::Client::describe_queue).then_output(|| {
            DescribeQueueOutput::builder()
                .queue(
                    Queue::builder()
                        .status(QueueStatus::Enabled)
                        .hours_of_operation_id("h-1")
                        .build(),
                )
                .build()
        });
        let weekly =
            mock!(aws_sdk_connect::Client::describe_hours_of_operation).then_output(|| {
                let t = |h| {
                    HoursOfOperationTimeSlice::builder()
                        .hours(h)
                        .minutes(0)
                        .build()
                        .unwrap()
                };
                let mut h = HoursOfOperation::builder().time_zone("UTC");
                for day in [
                    HoursOfOperationDays::Monday,
                    HoursOfOperationDays::Tuesday,
                    HoursOfOperationDays::Wednesday,
                    HoursOfOperationDays::Thursday,
                    HoursOfOperationDays::Friday,
                ] {
                    h = h.config(
                        HoursOfOperationConfig::builder()
                            .day(day)
                            .start_time(t(9))
                            .end_time(t(17))
                            .build()
                            .unwrap(),
                    );
                }
                DescribeHoursOfOperationOutput::builder()
                    .hours_of_operation(h.build())
                    .build()
            });
        let eff = mock!(aws_sdk_connect::Client::get_effective_hours_of_operations)
            // The window asked at 2026-12-24T12:00Z: two days before to eight after.
            .match_requests(|r| {
                r.instance_id() == Some("i-1")
                    && r.hours_of_operation_id() == Some("h-1")
                    && r.from_date() == Some("2026-12-22")
                    && r.to_date() == Some("2027-01-01")
            })
            .then_compute_response(move |_| match &effective {
                Ok(days) => {
                    let ts = |(h, m): (i32, i32)| {
                        OverrideTimeSlice::builder()
                            .hours(h)
                            .minutes(m)
                            .build()
                            .unwrap()
                    };
                    let mut out = GetEffectiveHoursOfOperationsOutput::builder().time_zone("UTC");
                    for (date, ranges) in days {
                        let mut d = EffectiveHoursOfOperations::builder().date(*date);
                        for (start, end) in ranges {
                            d = d.operational_hours(
                                OperationalHour::builder()
                                    .start(ts(*start))
                                    .end(ts(*end))
                                    .build(),
                            );
                        }
                        out = out.effective_hours_of_operation_list(d.build());
                    }
                    aws_smithy_mocks::MockResponse::Output(out.build())
                }
                Err(code) => aws_smithy_mocks::MockResponse::Error(
                    GetEffectiveHoursOfOperationsError::generic(
                        ErrorMetadata::builder().code(*code).build(),
                    ),
                ),
            });
        let client = mock_client!(
            aws_sdk_connect,
            RuleMode::MatchAny,
            [&queue, &eff, &weekly],
            |c| c.retry_config(aws_smithy_types::retry::RetryConfig::disabled())
        );
        (client, eff, weekly)
    }

    #[tokio::test]
    async fn a_holiday_override_closes_the_queue_and_the_next_opening_skips_it() {
        // Thursday 24 December 2026, 12:00 UTC: the weekly hours say open (09:00-17:00), the
        // effective hours say the 24th and 25th are holidays.
        let now = utc("2026-12-24T12:00:00Z");
        let (connect, eff, weekly) = connect_with_effective(Ok(vec![
            ("2026-12-23", vec![((9, 0), (17, 0))]),
            ("2026-12-24", vec![]),
            ("2026-12-25", vec![]),
            ("2026-12-28", vec![((9, 0), (17, 0))]),
        ]));
        let snapshot = fetch_queue_snapshot(&connect, "i-1", "q-1", now)
            .await
            .unwrap();
        assert_eq!(eff.num_calls(), 1);
        assert_eq!(weekly.num_calls(), 0);
        let v = evaluate_queue(&snapshot, now);
        assert_eq!(
            (v.open, v.reason, v.next_opening),
            (
                false,
                QueueReason::OutsideHours,
                Some(utc("2026-12-28T09:00:00Z"))
            )
        );
    }

    #[tokio::test]
    async fn a_refused_effective_hours_call_falls_back_to_the_weekly_hours() {
        let now = utc("2026-12-24T12:00:00Z"); // a Thursday: open by the weekly hours
        for code in ["AccessDeniedException", "UnknownOperationException"] {
            let (connect, eff, weekly) = connect_with_effective(Err(code));
            let snapshot = fetch_queue_snapshot(&connect, "i-1", "q-1", now)
                .await
                .unwrap();
            assert_eq!((eff.num_calls(), weekly.num_calls()), (1, 1), "{code}");
            assert_eq!(
                snapshot.hours.as_ref().map(QueueHours::source),
                Some("weekly")
            );
            let v = evaluate_queue(&snapshot, now);
            assert!(v.open, "{code}: judged by the weekly hours");
        }
        // Other errors are not a refusal: no fallback, the error is the caller's.
        for (code, name) in [
            ("ThrottlingException", ErrorName::Throttled),
            ("ResourceNotFoundException", ErrorName::ConfigError),
        ] {
            let (connect, _, weekly) = connect_with_effective(Err(code));
            let e = fetch_queue_snapshot(&connect, "i-1", "q-1", now)
                .await
                .unwrap_err();
            assert_eq!(e.name, name, "{code}");
            assert_eq!(weekly.num_calls(), 0, "{code}");
        }
    }

    #[tokio::test]
    async fn an_unreadable_effective_answer_falls_back_to_the_weekly_hours() {
        let now = utc("2026-12-24T12:00:00Z");
        let (connect, _, weekly) =
            connect_with_effective(Ok(vec![("2026-12-24", vec![((25, 0), (17, 0))])]));
        let snapshot = fetch_queue_snapshot(&connect, "i-1", "q-1", now)
            .await
            .unwrap();
        assert_eq!(weekly.num_calls(), 1);
        assert!(evaluate_queue(&snapshot, now).open);
    }

    const ZONES: [&str; 8] = [
        "UTC",
        "Europe/London",
        "America/New_York",
        "America/Sao_Paulo",
        "Australia/Lord_Howe",
        "Asia/Kolkata",
        "Pacific/Auckland",
        "America/St_Johns",
    ];

    fn arb_range() -> impl Strategy<Value = HoursRange> {
        (
            0u32..7,
            0u8..24,
            prop::sample::select(vec![0u8, 15, 30, 45]),
            0u8..24,
            prop::sample::select(vec![0u8, 30]),
        )
            .prop_map(|(d, sh, sm, eh, em)| HoursRange {
                day: Weekday::try_from(d as u8).unwrap(),
                start: TimeSlice::new(sh, sm).unwrap(),
                end: TimeSlice::new(eh, em).unwrap(),
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(96))]
        #[test]
        fn next_opening_is_the_first_open_instant_in_the_future(
            zone in prop::sample::select(ZONES.to_vec()),
            ranges in prop::collection::vec(arb_range(), 0..4),
            // 2023-01-01 .. 2026-01-01, second precision, so DST changes are hit often enough.
            now_secs in 1_672_531_200i64..1_767_225_600i64,
        ) {
            let h = WeeklyHours::new(zone, ranges.clone()).unwrap();
            let now = DateTime::from_timestamp(now_secs, 0).unwrap();
            let st = h.evaluate(now);
            prop_assert_eq!(st.open, h.is_open_at(now));
            match st.next_opening {
                Some(next) => {
                    prop_assert!(!st.open);
                    prop_assert!(next > now);
                    prop_assert!(h.is_open_at(next));
                    prop_assert!(next - now <= ChronoDuration::days(8));
                    // Closed all the way there (sampled every minute).
                    let mut t = now + ChronoDuration::minutes(1);
                    while t < next {
                        prop_assert!(!h.is_open_at(t), "open at {} before {}", t, next);
                        t += ChronoDuration::minutes(1);
                    }
                }
                None if st.open => {}
                None => prop_assert!(ranges.is_empty(), "closed with ranges and no next opening"),
            }
        }
    }
}
