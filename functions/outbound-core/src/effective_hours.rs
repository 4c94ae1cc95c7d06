//! Effective hours: the queue's hours date by date with its overrides (holidays, reduced or
//! extended days) applied, as Connect's `GetEffectiveHoursOfOperations` lists them.
//!
//! The weekly configuration of `DescribeHoursOfOperation` ([`crate::hours::WeeklyHours`]) does
//! not include overrides: they have their own APIs (`CreateHoursOfOperationOverride`,
//! `ListHoursOfOperationOverrides`), and a queue closed for a holiday reads as open there.
//! `GetEffectiveHoursOfOperations` answers, for each date of a range, the ranges the queue is
//! really open, overrides applied, and the hours' time zone:
//! <https://docs.aws.amazon.com/connect/latest/APIReference/API_GetEffectiveHoursOfOperations.html>
//!
//! The ranges of a date are read with the weekly semantics (see `hours.rs`): `[start, end)` on
//! the zone's wall clock, an end not after its start runs into the next day (so an end of
//! 00:00 is midnight at the end of the date), and a date missing from the answer, or listed
//! without a range, is closed. Outside the dates asked nothing is known, so nothing is open:
//! the range asked ([`window`]) covers the next opening the state machine needs.

use crate::error::FunctionError;
use crate::hours::{transitions, HoursStatus, TimeSlice};
use chrono::{
    DateTime, Duration as ChronoDuration, LocalResult, NaiveDate, NaiveDateTime, TimeZone, Utc,
};
use chrono_tz::Tz;
use std::collections::BTreeMap;

/// Days before today (UTC) that are asked. A zone's local date is at most one day behind UTC's
/// (UTC-12), and a range of the day before can run past midnight into local today: two days.
pub const DAYS_BEFORE: i64 = 2;
/// Days after today (UTC) that are asked: a local date at most one day ahead (UTC+14) plus the
/// seven days after it, so a closure of up to a week still yields the next opening.
pub const DAYS_AFTER: i64 = 8;

/// `FromDate` and `ToDate` (`yyyy-MM-dd`, both included) asked at `now`.
///
/// The dates are the hours' own (local) dates, but the time zone is only known from the answer:
/// asking from two days before to eight days after today in UTC covers local today and the
/// week after it in every zone, with one call.
pub fn window(now: DateTime<Utc>) -> (NaiveDate, NaiveDate) {
    let today = now.date_naive();
    (
        today - ChronoDuration::days(DAYS_BEFORE),
        today + ChronoDuration::days(DAYS_AFTER),
    )
}

/// One open range of a date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayRange {
    pub start: TimeSlice,
    pub end: TimeSlice,
}

/// The effective hours of a span of dates in a time zone.
#[derive(Debug, Clone, PartialEq)]
pub struct EffectiveHours {
    pub time_zone: Tz,
    /// The open ranges of each date listed; a date without ranges (or not listed) is closed.
    pub days: BTreeMap<NaiveDate, Vec<DayRange>>,
}

impl EffectiveHours {
    /// Builds the hours from an IANA time zone name and the ranges of each date.
    pub fn new(
        time_zone: &str,
        days: BTreeMap<NaiveDate, Vec<DayRange>>,
    ) -> Result<Self, FunctionError> {
        let time_zone: Tz = time_zone.trim().parse().map_err(|_| {
            FunctionError::config(format!(
                "effective hours of operation: unknown time zone '{time_zone}'"
            ))
        })?;
        Ok(Self { time_zone, days })
    }

    /// Reads Connect's `GetEffectiveHoursOfOperations` answer (`TimeZone`,
    /// `EffectiveHoursOfOperationList` of `{Date, OperationalHours: [{Start, End}]}`).
    /// `EffectiveOverrideHoursList` says which override made a date what it is: the dates'
    /// `OperationalHours` already have it applied, so it is not read.
    pub fn from_connect(
        out: &aws_sdk_connect::operation::get_effective_hours_of_operations::GetEffectiveHoursOfOperationsOutput,
    ) -> Result<Self, FunctionError> {
        let tz = out
            .time_zone()
            .ok_or_else(|| FunctionError::config("effective hours of operation: no time zone"))?;
        let mut days: BTreeMap<NaiveDate, Vec<DayRange>> = BTreeMap::new();
        for day in out.effective_hours_of_operation_list() {
            let text = day.date().ok_or_else(|| {
                FunctionError::config("effective hours of operation: an entry has no date")
            })?;
            let date = NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| {
                FunctionError::config(format!(
                    "effective hours of operation: date '{text}' is not yyyy-MM-dd"
                ))
            })?;
            let ranges = days.entry(date).or_default();
            for hour in day.operational_hours() {
                ranges.push(DayRange {
                    start: slice(hour.start(), text, "start", false)?,
                    end: slice(hour.end(), text, "end", true)?,
                });
            }
        }
        Self::new(tz, days)
    }

    /// The range's wall-clock interval on `date`: `[start, end)`, the end on the next day when
    /// it is not after the start.
    fn interval(date: NaiveDate, r: &DayRange) -> (NaiveDateTime, NaiveDateTime) {
        let start = date.and_time(r.start.naive());
        let mut end = date.and_time(r.end.naive());
        if end <= start {
            end += ChronoDuration::days(1);
        }
        (start, end)
    }

    /// True when `t` falls in a range of its local date, or in one of the day before that runs
    /// past midnight.
    pub fn is_open_at(&self, t: DateTime<Utc>) -> bool {
        let local = t.with_timezone(&self.time_zone).naive_local();
        let today = local.date();
        [today.pred_opt(), Some(today)]
            .into_iter()
            .flatten()
            .filter_map(|d| self.days.get(&d).map(|ranges| (d, ranges)))
            .any(|(d, ranges)| {
                ranges.iter().any(|r| {
                    let (start, end) = Self::interval(d, r);
                    start <= local && local < end
                })
            })
    }

    /// Open now, or closed and when it opens next (`None`: no opening in the dates listed).
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

    /// The first instant strictly after `now` at which the hours are open, among the dates
    /// listed. As for the weekly hours, the candidates are every range start mapped to UTC
    /// (both instants when the wall time occurs twice) and every offset change of the zone.
    pub fn next_opening_after(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let tz = self.time_zone;
        let mut candidates: Vec<DateTime<Utc>> = Vec::new();
        let mut last = None;
        for (date, ranges) in &self.days {
            for r in ranges {
                match tz.from_local_datetime(&date.and_time(r.start.naive())) {
                    LocalResult::Single(t) => candidates.push(t.with_timezone(&Utc)),
                    LocalResult::Ambiguous(a, b) => {
                        candidates.push(a.with_timezone(&Utc));
                        candidates.push(b.with_timezone(&Utc));
                    }
                    LocalResult::None => {}
                }
                last = Some(*date);
            }
        }
        let last = last?;
        // Transitions up to the end of the last listed date (and the overnight tail after it).
        let horizon = last
            .and_hms_opt(0, 0, 0)
            .map(|t| t.and_utc() + ChronoDuration::days(3))?;
        if horizon > now {
            candidates.extend(transitions(tz, now, horizon));
        }
        candidates
            .into_iter()
            .filter(|c| *c > now && self.is_open_at(*c))
            .min()
    }

    /// Whether any listed date has a range.
    pub fn has_ranges(&self) -> bool {
        self.days.values().any(|r| !r.is_empty())
    }
}

/// An `OverrideTimeSlice` as a [`TimeSlice`]. An end of 24:00 is accepted and read as 00:00
/// (midnight at the end of the date, which is what an end of 00:00 means here): the
/// documentation gives no range for `OverrideTimeSlice` (docs/aws-verification.md Q5).
fn slice(
    s: Option<&aws_sdk_connect::types::OverrideTimeSlice>,
    date: &str,
    what: &str,
    is_end: bool,
) -> Result<TimeSlice, FunctionError> {
    let s = s.ok_or_else(|| {
        FunctionError::config(format!(
            "effective hours of operation: {date}: {what} time missing"
        ))
    })?;
    let out_of_range = || {
        FunctionError::config(format!(
            "effective hours of operation: {date}: {what} {}:{:02} is out of range",
            s.hours(),
            s.minutes()
        ))
    };
    if is_end && s.hours() == 24 && s.minutes() == 0 {
        return Ok(TimeSlice::new(0, 0).expect("00:00 is valid"));
    }
    let h = u8::try_from(s.hours()).map_err(|_| out_of_range())?;
    let m = u8::try_from(s.minutes()).map_err(|_| out_of_range())?;
    TimeSlice::new(h, m).map_err(|_| out_of_range())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorName;
    use crate::testkit::OverrideRange;
    use aws_sdk_connect::operation::get_effective_hours_of_operations::GetEffectiveHoursOfOperationsOutput;
    use aws_sdk_connect::types::{EffectiveHoursOfOperations, OperationalHour, OverrideTimeSlice};
    use proptest::prelude::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn date(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn r(start: (u8, u8), end: (u8, u8)) -> DayRange {
        DayRange {
            start: TimeSlice::new(start.0, start.1).unwrap(),
            end: TimeSlice::new(end.0, end.1).unwrap(),
        }
    }

    /// 09:00-17:00 on each date from `from`, `n` dates, except those in `closed`.
    fn office(zone: &str, from: &str, n: i64, closed: &[&str]) -> EffectiveHours {
        let first = date(from);
        let days = (0..n)
            .map(|i| {
                let d = first + ChronoDuration::days(i);
                let ranges = if closed.contains(&d.format("%Y-%m-%d").to_string().as_str()) {
                    vec![]
                } else {
                    vec![r((9, 0), (17, 0))]
                };
                (d, ranges)
            })
            .collect();
        EffectiveHours::new(zone, days).unwrap()
    }

    #[test]
    fn the_window_covers_local_today_and_the_week_after_in_every_zone() {
        let (from, to) = window(utc("2026-12-07T23:30:00Z"));
        assert_eq!((from, to), (date("2026-12-05"), date("2026-12-15")));
        for (zone, now) in [
            ("Pacific/Kiritimati", "2026-12-07T23:30:00Z"), // UTC+14: already 8 December
            ("Etc/GMT+12", "2026-12-07T00:30:00Z"),         // UTC-12: still 6 December
        ] {
            let tz: Tz = zone.parse().unwrap();
            let now = utc(now);
            let (from, to) = window(now);
            let local_today = now.with_timezone(&tz).date_naive();
            assert!(
                from < local_today,
                "{zone}: the day before local today is asked"
            );
            assert!(to >= local_today + ChronoDuration::days(7), "{zone}");
        }
    }

    #[test]
    fn a_closed_holiday_is_closed_and_the_next_opening_skips_it() {
        // Friday 25 December 2026 is a holiday: closed all day. Thursday 17:30 UTC is after
        // hours; the next opening is Saturday 26 at 09:00, not Friday.
        let h = office("UTC", "2026-12-21", 10, &["2026-12-25"]);
        assert!(!h.is_open_at(utc("2026-12-25T12:00:00Z")));
        assert!(h.is_open_at(utc("2026-12-24T12:00:00Z")));
        let st = h.evaluate(utc("2026-12-24T17:30:00Z"));
        assert_eq!(
            st,
            HoursStatus {
                open: false,
                next_opening: Some(utc("2026-12-26T09:00:00Z"))
            }
        );
        // During the holiday itself.
        assert_eq!(
            h.evaluate(utc("2026-12-25T10:00:00Z")).next_opening,
            Some(utc("2026-12-26T09:00:00Z"))
        );
    }

    #[test]
    fn a_changed_range_for_a_date_replaces_its_hours() {
        // Christmas Eve closes at 13:00 instead of 17:00.
        let mut h = office("UTC", "2026-12-21", 7, &[]);
        h.days.insert(date("2026-12-24"), vec![r((9, 0), (13, 0))]);
        assert!(h.is_open_at(utc("2026-12-24T12:59:00Z")));
        assert!(!h.is_open_at(utc("2026-12-24T13:00:00Z")));
        assert_eq!(
            h.evaluate(utc("2026-12-24T13:00:00Z")).next_opening,
            Some(utc("2026-12-25T09:00:00Z"))
        );
    }

    #[test]
    fn dates_are_read_in_the_hours_time_zone() {
        // Tokyo (UTC+9): 2026-12-25 09:00-17:00 local is 2026-12-25 00:00-08:00 UTC. The 24th
        // is a holiday in Tokyo: at 2026-12-24 03:00 UTC (12:00 on the 24th in Tokyo) closed,
        // next opening 2026-12-25 00:00 UTC.
        let h = office("Asia/Tokyo", "2026-12-21", 7, &["2026-12-24"]);
        assert!(!h.is_open_at(utc("2026-12-24T03:00:00Z")));
        assert_eq!(
            h.evaluate(utc("2026-12-24T03:00:00Z")).next_opening,
            Some(utc("2026-12-25T00:00:00Z"))
        );
        assert!(h.is_open_at(utc("2026-12-23T07:59:00Z")));
        assert!(!h.is_open_at(utc("2026-12-23T08:00:00Z")));
        // New York (UTC-5 in December): the 24th's 09:00 is 14:00 UTC.
        let h = office("America/New_York", "2026-12-21", 7, &["2026-12-23"]);
        assert!(!h.is_open_at(utc("2026-12-23T15:00:00Z")));
        assert_eq!(
            h.evaluate(utc("2026-12-23T15:00:00Z")).next_opening,
            Some(utc("2026-12-24T14:00:00Z"))
        );
    }

    #[test]
    fn overnight_ranges_and_midnight_ends() {
        // Friday 22:00 to Saturday 06:00 listed on the Friday, the weekly way.
        let mut days = BTreeMap::new();
        days.insert(date("2026-12-11"), vec![r((22, 0), (6, 0))]);
        days.insert(date("2026-12-12"), vec![]);
        let h = EffectiveHours::new("UTC", days).unwrap();
        assert!(h.is_open_at(utc("2026-12-12T05:59:00Z")));
        assert!(!h.is_open_at(utc("2026-12-12T06:00:00Z")));
        // The same night split at midnight (22:00-00:00 and 00:00-06:00): open throughout.
        let mut days = BTreeMap::new();
        days.insert(date("2026-12-11"), vec![r((22, 0), (0, 0))]);
        days.insert(date("2026-12-12"), vec![r((0, 0), (6, 0))]);
        let h = EffectiveHours::new("UTC", days).unwrap();
        for t in [
            "2026-12-11T23:59:59Z",
            "2026-12-12T00:00:00Z",
            "2026-12-12T05:59:00Z",
        ] {
            assert!(h.is_open_at(utc(t)), "{t}");
        }
        assert!(!h.is_open_at(utc("2026-12-11T21:59:00Z")));
        // 00:00-00:00 is the whole date.
        let mut days = BTreeMap::new();
        days.insert(date("2026-12-11"), vec![r((0, 0), (0, 0))]);
        let h = EffectiveHours::new("UTC", days).unwrap();
        assert!(h.is_open_at(utc("2026-12-11T23:59:59Z")));
        assert!(!h.is_open_at(utc("2026-12-12T00:00:00Z")));
    }

    #[test]
    fn nothing_is_open_outside_the_dates_listed() {
        let h = office("UTC", "2026-12-21", 3, &[]);
        assert!(!h.is_open_at(utc("2026-12-24T10:00:00Z")));
        assert_eq!(h.evaluate(utc("2026-12-23T18:00:00Z")).next_opening, None);
        let closed = office(
            "UTC",
            "2026-12-21",
            3,
            &["2026-12-21", "2026-12-22", "2026-12-23"],
        );
        assert!(!closed.has_ranges());
        assert_eq!(
            closed.evaluate(utc("2026-12-21T10:00:00Z")).next_opening,
            None
        );
    }

    #[test]
    fn a_spring_forward_gap_opens_when_the_clock_jumps() {
        // Sunday 29 March 2026, London: 01:00 GMT jumps to 02:00 BST; 01:30-03:00 opens at the
        // jump (01:00 UTC).
        let mut days = BTreeMap::new();
        days.insert(date("2026-03-29"), vec![r((1, 30), (3, 0))]);
        let h = EffectiveHours::new("Europe/London", days).unwrap();
        assert_eq!(
            h.evaluate(utc("2026-03-29T00:00:00Z")).next_opening,
            Some(utc("2026-03-29T01:00:00Z"))
        );
    }

    fn ts(h: i32, m: i32) -> OverrideTimeSlice {
        OverrideTimeSlice::builder()
            .hours(h)
            .minutes(m)
            .build()
            .unwrap()
    }

    fn day(d: &str, hours: &[OverrideRange]) -> EffectiveHoursOfOperations {
        let mut b = EffectiveHoursOfOperations::builder().date(d);
        for (s, e) in hours {
            b = b.operational_hours(
                OperationalHour::builder()
                    .start(ts(s.0, s.1))
                    .end(ts(e.0, e.1))
                    .build(),
            );
        }
        b.build()
    }

    #[test]
    fn reads_connects_answer() {
        let out = GetEffectiveHoursOfOperationsOutput::builder()
            .time_zone("Europe/Paris")
            .effective_hours_of_operation_list(day("2026-12-24", &[((9, 0), (12, 30))]))
            .effective_hours_of_operation_list(day("2026-12-25", &[]))
            .effective_hours_of_operation_list(day(
                "2026-12-26",
                &[((8, 0), (12, 0)), ((14, 0), (24, 0))],
            ))
            .build();
        let h = EffectiveHours::from_connect(&out).unwrap();
        assert_eq!(h.time_zone, chrono_tz::Europe::Paris);
        assert_eq!(h.days[&date("2026-12-24")], vec![r((9, 0), (12, 30))]);
        assert!(h.days[&date("2026-12-25")].is_empty());
        assert_eq!(
            h.days[&date("2026-12-26")],
            vec![r((8, 0), (12, 0)), r((14, 0), (0, 0))],
            "an end of 24:00 is midnight"
        );
        // 23:59 Paris on the 26th (22:59 UTC) is open, midnight is not.
        assert!(h.is_open_at(utc("2026-12-26T22:59:00Z")));
        assert!(!h.is_open_at(utc("2026-12-26T23:00:00Z")));
    }

    #[test]
    fn a_malformed_answer_is_a_config_error() {
        let no_zone = GetEffectiveHoursOfOperationsOutput::builder()
            .effective_hours_of_operation_list(day("2026-12-24", &[]))
            .build();
        let bad_date = GetEffectiveHoursOfOperationsOutput::builder()
            .time_zone("UTC")
            .effective_hours_of_operation_list(day("24/12/2026", &[]))
            .build();
        let bad_time = GetEffectiveHoursOfOperationsOutput::builder()
            .time_zone("UTC")
            .effective_hours_of_operation_list(day("2026-12-24", &[((9, 0), (24, 30))]))
            .build();
        let bad_start = GetEffectiveHoursOfOperationsOutput::builder()
            .time_zone("UTC")
            .effective_hours_of_operation_list(day("2026-12-24", &[((24, 0), (1, 0))]))
            .build();
        let bad_zone = GetEffectiveHoursOfOperationsOutput::builder()
            .time_zone("Mars/Olympus")
            .build();
        for out in [no_zone, bad_date, bad_time, bad_start, bad_zone] {
            assert_eq!(
                EffectiveHours::from_connect(&out).unwrap_err().name,
                ErrorName::ConfigError,
                "{out:?}"
            );
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn next_opening_is_the_first_open_instant_in_the_future(
            zone in prop::sample::select(vec!["UTC", "Europe/London", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata"]),
            // Per date of the window: closed, or one range.
            shape in prop::collection::vec(prop::option::of((0u8..24, 0u8..24)), 11),
            now_secs in 1_767_225_600i64..1_798_761_600i64, // 2026
        ) {
            let now = DateTime::from_timestamp(now_secs, 0).unwrap();
            let (from, _) = window(now);
            let days = shape.iter().enumerate().map(|(i, s)| {
                let ranges = s.map(|(a, b)| vec![r((a, 0), (b, 30))]).unwrap_or_default();
                (from + ChronoDuration::days(i as i64), ranges)
            }).collect();
            let h = EffectiveHours::new(zone, days).unwrap();
            let st = h.evaluate(now);
            prop_assert_eq!(st.open, h.is_open_at(now));
            if let Some(next) = st.next_opening {
                prop_assert!(!st.open && next > now && h.is_open_at(next));
                let mut t = now + ChronoDuration::minutes(1);
                while t < next {
                    prop_assert!(!h.is_open_at(t), "open at {} before {}", t, next);
                    t += ChronoDuration::minutes(1);
                }
            }
        }
    }
}
