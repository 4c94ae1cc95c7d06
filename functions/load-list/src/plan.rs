//! The plan report of an uploaded file (docs/architecture.md, "The plan"): what the file's
//! intake found and what calling it will take, written once its last segment is read and before
//! its run starts, as JSON and as text under `plans/campaign=<campaign>/` in the results bucket.
//!
//! Pure: [`classify`] decides one contact from what the intake looked up (the do-not-call list,
//! the frequency cap) and the calling window; [`PlanTally`] sums the contacts (bounded: it
//! travels in the big file's checkpoint); [`Plan::compute`] turns the tally, the file's counts
//! and the dialer's capacity into the report; [`Plan::to_text`] writes it for a person.
//!
//! The estimate is a model, and says so in the report: every contact's first attempt takes
//! [`ASSUMED_HANDLE_SECONDS`] of a lane (dialing, talking, wrap-up), the lanes work without
//! pause from each contact's first possible call time, the rate limit caps them, and redials,
//! queue hours and windows closing again are not counted.

use chrono::{DateTime, SecondsFormat, Utc};
use outbound_core::calling_window::CallingWindow;
use outbound_core::ledger::schedule::CampaignSchedule;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The average time one call holds a lane, dialing to wrap-up, that the estimate assumes.
pub const ASSUMED_HANDLE_SECONDS: u32 = 120;

/// Distinct times a tally keeps (first possible call times, window openings): a contact whose
/// time is not kept is counted at the next later one (the estimate errs late, never early).
pub const MAX_TIMES: usize = 200;

/// What the intake found for one contact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// The number is on the do-not-call list: never called.
    DoNotCall,
    /// Callable at `at` (the plan's start: now, or the campaign's start).
    Open { at: DateTime<Utc> },
    /// Outside its recipient's window: callable once it opens.
    Deferred { opens_at: DateTime<Utc> },
    /// At its frequency cap until `until`; callable at `at` (the window's opening after
    /// `until`, or `until`).
    Capped {
        until: DateTime<Utc>,
        at: DateTime<Utc>,
    },
}

/// Decides one contact at `from` (now, or the campaign's start when it is later): listed on
/// the do-not-call list, capped until `cap_until`, or the window's verdict.
pub fn classify(
    listed: bool,
    cap_until: Option<DateTime<Utc>>,
    window: Option<&CallingWindow>,
    phone: &str,
    attributes: &BTreeMap<String, String>,
    from: DateTime<Utc>,
) -> Check {
    if listed {
        return Check::DoNotCall;
    }
    let opening = |at: DateTime<Utc>| {
        window
            .and_then(|w| w.verdict(phone, attributes, at).deferred_until())
            .unwrap_or(at)
    };
    match cap_until.filter(|until| *until > from) {
        Some(until) => Check::Capped {
            until,
            at: opening(until),
        },
        None => match opening(from) {
            at if at <= from => Check::Open { at: from },
            opens_at => Check::Deferred { opens_at },
        },
    }
}

/// The sums of a file's contacts, carried from segment to segment.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanTally {
    /// The campaign's schedule when the file was read (the file's own, else the stored one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<CampaignSchedule>,
    pub contacts: u64,
    pub dnc: u64,
    pub callable_now: u64,
    pub deferred: u64,
    pub capped: u64,
    /// Contacts whose first possible call is at or after the campaign's end, by cause.
    pub after_end_window: u64,
    pub after_end_cap: u64,
    /// First possible call time (epoch seconds) → contacts, dialable ones only.
    pub available: BTreeMap<i64, u64>,
    /// Window opening (epoch seconds) → contacts deferred to it.
    pub openings: BTreeMap<i64, u64>,
    /// The earliest and latest first possible call times (epoch seconds), exact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub earliest: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest: Option<i64>,
}

/// Adds `n` at `key`, keeping at most [`MAX_TIMES`] keys: a new key past the limit is merged
/// into the next later key, or, when it is the latest, takes the place of the latest (whose
/// contacts move to it).
fn bump(map: &mut BTreeMap<i64, u64>, key: i64, n: u64) {
    if map.len() < MAX_TIMES || map.contains_key(&key) {
        *map.entry(key).or_default() += n;
        return;
    }
    if let Some((&later, _)) = map.range(key..).next() {
        *map.entry(later).or_default() += n;
    } else {
        let (_, last) = map.pop_last().expect("the map is full");
        map.insert(key, last + n);
    }
}

impl PlanTally {
    pub fn new(schedule: Option<CampaignSchedule>) -> Self {
        PlanTally {
            schedule,
            ..PlanTally::default()
        }
    }

    /// The time the file's contacts are planned from: `now`, or the campaign's start if later.
    pub fn from(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        self.schedule
            .and_then(|s| s.start)
            .map_or(now, |start| start.max(now))
    }

    /// Counts one contact.
    pub fn record(&mut self, check: Check) {
        self.contacts += 1;
        let end = self.schedule.and_then(|s| s.end);
        let at = match check {
            Check::DoNotCall => {
                self.dnc += 1;
                return;
            }
            Check::Open { at } => {
                self.callable_now += 1;
                at
            }
            Check::Deferred { opens_at } => {
                self.deferred += 1;
                bump(&mut self.openings, opens_at.timestamp(), 1);
                if end.is_some_and(|end| opens_at >= end) {
                    self.after_end_window += 1;
                    return;
                }
                opens_at
            }
            Check::Capped { at, .. } => {
                self.capped += 1;
                if end.is_some_and(|end| at >= end) {
                    self.after_end_cap += 1;
                    return;
                }
                at
            }
        };
        let secs = at.timestamp();
        bump(&mut self.available, secs, 1);
        self.earliest = Some(self.earliest.map_or(secs, |e| e.min(secs)));
        self.latest = Some(self.latest.map_or(secs, |l| l.max(secs)));
    }
}

/// The dialer's capacity, from its SSM parameters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Capacity {
    /// `concurrentcalls`, clamped to `MAX_CONCURRENT_CALLS`.
    pub lanes: u32,
    /// `callspersecond`.
    pub calls_per_second: f64,
    pub assumed_handle_seconds: u32,
}

impl Capacity {
    /// First calls per hour: the lanes' pace, unless the rate limit is lower.
    pub fn calls_per_hour(&self) -> f64 {
        let lanes = f64::from(self.lanes) * 3600.0 / f64::from(self.assumed_handle_seconds.max(1));
        lanes.min(self.calls_per_second * 3600.0)
    }
}

/// What the file's counts were (the result's `queued`, `rejected`, `duplicates`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileCounts {
    pub loaded: u64,
    pub rejected: u64,
    pub duplicates: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Opening {
    /// The hour (UTC) the window opens in.
    pub hour: String,
    pub contacts: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Estimate {
    pub lanes: u32,
    pub calls_per_second: f64,
    pub assumed_handle_seconds: u32,
    pub calls_per_hour: f64,
    /// When the last contact's first call would end; `None`: nothing to call.
    pub finish_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Unreachable {
    pub total: u64,
    /// Their window opens only at or after the campaign's end.
    pub window_after_end: u64,
    /// Their frequency cap frees them only at or after the campaign's end.
    pub capped_after_end: u64,
    /// Callable before the end, but not reached at the current lanes (estimate).
    pub capacity: u64,
}

/// The plan report (`plans/campaign=<campaign>/<file>.json`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    pub campaign: String,
    pub file: String,
    pub dry_run: bool,
    pub written_at: String,
    /// Contacts admitted (a dry run: that the file would admit, before the ledger's own
    /// duplicate check against the campaign's earlier files).
    pub loaded: u64,
    pub rejected: u64,
    pub duplicates: u64,
    pub dnc_hits: u64,
    pub callable_now: u64,
    pub deferred: u64,
    /// Deferred contacts by the hour (UTC) their window opens.
    pub deferred_by_opening: Vec<Opening>,
    pub capped: u64,
    pub frequency_cap: Option<String>,
    pub earliest_call: Option<String>,
    pub latest_call: Option<String>,
    pub estimate: Estimate,
    pub schedule_start: Option<String>,
    pub schedule_end: Option<String>,
    /// `Some(true)` when the estimated finish is before the campaign's end.
    pub finishes_before_end: Option<bool>,
    pub unreachable: Unreachable,
    /// The assumptions behind the estimate, in words.
    pub assumptions: Vec<String>,
}

fn at(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).unwrap_or_default()
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Serves `available` (time → contacts) at `per_second` in time order until `until` (`None`:
/// until all are served). Returns when the last was served (`None`: none) and how many were
/// left unserved at `until`.
fn serve(
    available: &BTreeMap<i64, u64>,
    per_second: f64,
    until: Option<i64>,
) -> (Option<f64>, f64) {
    let mut t: Option<f64> = None;
    let mut backlog = 0.0_f64;
    for (&time, &n) in available {
        let time = time as f64;
        if until.is_some_and(|u| time >= u as f64) {
            break;
        }
        if let Some(now) = t {
            // The backlog is served between the previous arrival and this one.
            let served = (time - now).max(0.0) * per_second;
            backlog = (backlog - served).max(0.0);
        }
        t = Some(t.map_or(time, |now: f64| now.max(time)));
        backlog += n as f64;
    }
    let Some(now) = t else {
        return (None, 0.0);
    };
    let finish = now + backlog / per_second;
    let left = match until {
        Some(u) if finish > u as f64 => (finish - u as f64) * per_second,
        _ => 0.0,
    };
    (Some(finish), left)
}

/// Context a plan is written in.
#[derive(Debug, Clone)]
pub struct PlanInput<'a> {
    pub campaign: &'a str,
    pub file: &'a str,
    pub dry_run: bool,
    pub now: DateTime<Utc>,
    pub capacity: Capacity,
    /// The frequency cap, described (`3 calls per 24 h`), when it is on.
    pub frequency_cap: Option<String>,
}

impl Plan {
    pub fn compute(tally: &PlanTally, counts: FileCounts, input: &PlanInput<'_>) -> Plan {
        let capacity = input.capacity;
        let per_second = capacity.calls_per_hour() / 3600.0;
        let end = tally.schedule.and_then(|s| s.end);
        let (finish, _) = serve(&tally.available, per_second, None);
        let (_, left) = serve(&tally.available, per_second, end.map(|e| e.timestamp()));
        // Whole contacts: one partly served at the end is not reached.
        let capacity_left = left.ceil() as u64;
        let finish_at = finish.map(|f| at(f.ceil() as i64));
        let mut by_hour: BTreeMap<i64, u64> = BTreeMap::new();
        for (&opens, &n) in &tally.openings {
            *by_hour.entry(opens - opens.rem_euclid(3600)).or_default() += n;
        }
        let unreachable = Unreachable {
            total: tally.after_end_window + tally.after_end_cap + capacity_left,
            window_after_end: tally.after_end_window,
            capped_after_end: tally.after_end_cap,
            capacity: capacity_left,
        };
        let mut assumptions = vec![
            format!(
                "each first call holds a lane {} s on average (dialing, talking, wrap-up)",
                capacity.assumed_handle_seconds
            ),
            format!(
                "{} lanes (concurrentcalls) at most {} calls a second (callspersecond): {:.0} first calls an hour",
                capacity.lanes,
                capacity.calls_per_second,
                capacity.calls_per_hour()
            ),
            "lanes call without pause from each contact's first possible time; redials, queue hours and windows closing again are not counted".to_string(),
        ];
        if input.dry_run {
            assumptions.push(
                "dry run: nothing was admitted; contacts the campaign already holds are counted as loaded".to_string(),
            );
        }
        Plan {
            campaign: input.campaign.to_string(),
            file: input.file.to_string(),
            dry_run: input.dry_run,
            written_at: rfc3339(input.now),
            loaded: counts.loaded,
            rejected: counts.rejected,
            duplicates: counts.duplicates,
            dnc_hits: tally.dnc,
            callable_now: tally.callable_now,
            deferred: tally.deferred,
            deferred_by_opening: by_hour
                .into_iter()
                .map(|(hour, contacts)| Opening {
                    hour: rfc3339(at(hour)),
                    contacts,
                })
                .collect(),
            capped: tally.capped,
            frequency_cap: input.frequency_cap.clone(),
            earliest_call: tally.earliest.map(|s| rfc3339(at(s))),
            latest_call: tally.latest.map(|s| rfc3339(at(s))),
            estimate: Estimate {
                lanes: capacity.lanes,
                calls_per_second: capacity.calls_per_second,
                assumed_handle_seconds: capacity.assumed_handle_seconds,
                calls_per_hour: capacity.calls_per_hour(),
                finish_at: finish_at.map(rfc3339),
            },
            schedule_start: tally.schedule.and_then(|s| s.start).map(rfc3339),
            schedule_end: end.map(rfc3339),
            finishes_before_end: end.map(|end| finish_at.is_none_or(|f| f <= end)),
            unreachable,
            assumptions,
        }
    }

    /// The report for a person: short, aligned, the figures first.
    pub fn to_text(&self) -> String {
        let mut rows: Vec<(String, String)> = Vec::new();
        let mut row = |label: &str, value: String| rows.push((label.to_string(), value));
        let or_none = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".to_string());
        row("campaign", self.campaign.clone());
        row("file", self.file.clone());
        row("loaded", self.loaded.to_string());
        row("rejected", self.rejected.to_string());
        row("duplicates", self.duplicates.to_string());
        row("do-not-call hits", self.dnc_hits.to_string());
        row("callable now", self.callable_now.to_string());
        row("deferred (window)", self.deferred.to_string());
        for o in &self.deferred_by_opening {
            row(&format!("  opens {}", o.hour), o.contacts.to_string());
        }
        row(
            "capped",
            match &self.frequency_cap {
                Some(cap) => format!("{} ({cap})", self.capped),
                None => "- (no frequency cap)".to_string(),
            },
        );
        row("earliest call", or_none(&self.earliest_call));
        row("latest first call", or_none(&self.latest_call));
        row(
            "capacity",
            format!(
                "{} lanes, {} calls/s, {} s a call: {:.0} calls/h",
                self.estimate.lanes,
                self.estimate.calls_per_second,
                self.estimate.assumed_handle_seconds,
                self.estimate.calls_per_hour
            ),
        );
        row("estimated finish", or_none(&self.estimate.finish_at));
        row("campaign start", or_none(&self.schedule_start));
        row(
            "campaign end",
            match (&self.schedule_end, self.finishes_before_end) {
                (Some(end), Some(true)) => format!("{end} (finishes before it)"),
                (Some(end), _) => format!("{end} (does NOT finish before it)"),
                (None, _) => "- (none)".to_string(),
            },
        );
        let u = &self.unreachable;
        row("not reachable by end", u.total.to_string());
        if u.total > 0 {
            row("  window after end", u.window_after_end.to_string());
            row("  cap after end", u.capped_after_end.to_string());
            row("  not reached (lanes)", u.capacity.to_string());
        }
        let width = rows
            .iter()
            .map(|(l, _)| l.chars().count())
            .max()
            .unwrap_or(0);
        let mut out = String::new();
        let title = if self.dry_run {
            "Plan (DRY RUN: nothing admitted, nothing dialed)"
        } else {
            "Plan"
        };
        out.push_str(&format!("{title}, written {}\n", self.written_at));
        for (label, value) in rows {
            out.push_str(&format!("  {label:<width$}  {value}\n"));
        }
        out.push_str("Assumptions:\n");
        for a in &self.assumptions {
            out.push_str(&format!("  - {a}\n"));
        }
        out
    }
}

/// Describes a frequency cap for the report.
pub fn describe_cap(cap: &outbound_core::frequency_cap::FrequencyCap) -> String {
    format!("{} calls per {} h", cap.max_calls, cap.period.num_hours())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;
    use std::collections::BTreeSet;

    fn keys(map: &BTreeMap<i64, u64>) -> BTreeSet<i64> {
        map.keys().copied().collect()
    }

    fn t(raw: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(raw)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn window() -> CallingWindow {
        // 08:00–21:00 every day, in the recipient's zone.
        CallingWindow::from_json(r#"{"enabled":true}"#)
            .unwrap()
            .unwrap()
    }

    fn none() -> BTreeMap<String, String> {
        BTreeMap::new()
    }

    fn zone(tz: &str) -> BTreeMap<String, String> {
        BTreeMap::from([("timezone".to_string(), tz.to_string())])
    }

    fn capacity() -> Capacity {
        // 2 lanes at 120 s a call: 60 first calls an hour (the rate limit allows 7,200).
        Capacity {
            lanes: 2,
            calls_per_second: 2.0,
            assumed_handle_seconds: 120,
        }
    }

    fn input(now: DateTime<Utc>) -> PlanInput<'static> {
        PlanInput {
            campaign: "spring",
            file: "uploads/spring.csv",
            dry_run: false,
            now,
            capacity: capacity(),
            frequency_cap: None,
        }
    }

    #[test]
    fn contacts_are_classified_by_list_cap_and_window() {
        let w = window();
        // 12:00 UTC: 12:00 in London (open), 04:00 in Los Angeles (opens 08:00 = 16:00 UTC).
        let now = t("2026-12-08T12:00:00Z");
        assert_eq!(
            classify(true, None, Some(&w), "+442079460123", &none(), now),
            Check::DoNotCall
        );
        assert_eq!(
            classify(false, None, Some(&w), "+442079460123", &none(), now),
            Check::Open { at: now }
        );
        assert_eq!(
            classify(
                false,
                None,
                Some(&w),
                "+442079460123",
                &zone("America/Los_Angeles"),
                now
            ),
            Check::Deferred {
                opens_at: t("2026-12-08T16:00:00Z")
            }
        );
        // Capped until 22:00 UTC (past London's 21:00): callable at the next opening, 08:00.
        assert_eq!(
            classify(
                false,
                Some(t("2026-12-08T22:00:00Z")),
                Some(&w),
                "+442079460123",
                &none(),
                now
            ),
            Check::Capped {
                until: t("2026-12-08T22:00:00Z"),
                at: t("2026-12-09T08:00:00Z")
            }
        );
        // A cap that has already freed the number does not count; no window: open.
        assert_eq!(
            classify(
                false,
                Some(t("2026-12-08T11:00:00Z")),
                None,
                "+442079460123",
                &zone("America/Los_Angeles"),
                now
            ),
            Check::Open { at: now }
        );
    }

    #[test]
    fn a_plan_has_exact_figures() {
        let now = t("2026-12-08T12:00:00Z");
        let mut tally = PlanTally::new(Some(CampaignSchedule {
            start: None,
            end: Some(t("2026-12-09T12:00:00Z")),
        }));
        tally.record(Check::DoNotCall);
        for _ in 0..90 {
            tally.record(Check::Open { at: now });
        }
        for _ in 0..30 {
            tally.record(Check::Deferred {
                opens_at: t("2026-12-08T16:00:00Z"),
            });
        }
        tally.record(Check::Deferred {
            opens_at: t("2026-12-08T16:30:00Z"),
        });
        // Opens after the end: unreachable.
        tally.record(Check::Deferred {
            opens_at: t("2026-12-09T13:00:00Z"),
        });
        tally.record(Check::Capped {
            until: t("2026-12-08T13:00:00Z"),
            at: t("2026-12-08T13:00:00Z"),
        });
        let plan = Plan::compute(
            &tally,
            FileCounts {
                loaded: 124,
                rejected: 3,
                duplicates: 2,
            },
            &PlanInput {
                frequency_cap: Some("3 calls per 24 h".into()),
                ..input(now)
            },
        );
        assert_eq!(plan.loaded, 124);
        assert_eq!(plan.dnc_hits, 1);
        assert_eq!(plan.callable_now, 90);
        assert_eq!(plan.deferred, 32);
        assert_eq!(
            plan.deferred_by_opening,
            vec![
                Opening {
                    hour: "2026-12-08T16:00:00Z".into(),
                    contacts: 31
                },
                Opening {
                    hour: "2026-12-09T13:00:00Z".into(),
                    contacts: 1
                }
            ]
        );
        assert_eq!(plan.capped, 1);
        assert_eq!(plan.earliest_call.as_deref(), Some("2026-12-08T12:00:00Z"));
        assert_eq!(plan.latest_call.as_deref(), Some("2026-12-08T16:30:00Z"));
        assert_eq!(plan.estimate.calls_per_hour, 60.0);
        // 60 an hour: 90 from 12:00, one more at 13:00 → 91 done at 13:31; 30 at 16:00 → 16:30;
        // one at 16:30 → 16:31.
        assert_eq!(
            plan.estimate.finish_at.as_deref(),
            Some("2026-12-08T16:31:00Z")
        );
        assert_eq!(plan.finishes_before_end, Some(true));
        assert_eq!(
            plan.unreachable,
            Unreachable {
                total: 1,
                window_after_end: 1,
                capped_after_end: 0,
                capacity: 0
            }
        );
        let json = serde_json::to_value(&plan).unwrap();
        assert_eq!(json["dncHits"], 1);
        assert_eq!(json["estimate"]["assumedHandleSeconds"], 120);
        assert_eq!(json["unreachable"]["windowAfterEnd"], 1);
    }

    #[test]
    fn contacts_beyond_the_lanes_capacity_before_the_end_are_counted() {
        let now = t("2026-12-08T12:00:00Z");
        // Two hours left: 120 first calls at 60 an hour; 200 contacts leave 80 not reached.
        let mut tally = PlanTally::new(Some(CampaignSchedule {
            start: None,
            end: Some(t("2026-12-08T14:00:00Z")),
        }));
        for _ in 0..200 {
            tally.record(Check::Open { at: now });
        }
        let plan = Plan::compute(
            &tally,
            FileCounts {
                loaded: 200,
                rejected: 0,
                duplicates: 0,
            },
            &input(now),
        );
        assert_eq!(
            plan.estimate.finish_at.as_deref(),
            Some("2026-12-08T15:20:00Z")
        );
        assert_eq!(plan.finishes_before_end, Some(false));
        assert_eq!(plan.unreachable.capacity, 80);
        assert_eq!(plan.unreachable.total, 80);
        let text = plan.to_text();
        assert!(text.contains("does NOT finish before it"), "{text}");
        assert!(text.contains("\n    not reached (lanes)  80\n"), "{text}");
        assert!(text.contains("\n  not reachable by end   80\n"), "{text}");
    }

    #[test]
    fn the_rate_limit_caps_the_lanes_and_a_later_start_moves_the_plan() {
        let c = Capacity {
            lanes: 100,
            calls_per_second: 0.01,
            assumed_handle_seconds: 120,
        };
        assert_eq!(c.calls_per_hour(), 36.0);
        let start = t("2026-12-10T09:00:00Z");
        let tally = PlanTally::new(Some(CampaignSchedule {
            start: Some(start),
            end: None,
        }));
        assert_eq!(tally.from(t("2026-12-08T12:00:00Z")), start);
        assert_eq!(
            tally.from(t("2026-12-11T12:00:00Z")),
            t("2026-12-11T12:00:00Z")
        );
        let plan = Plan::compute(
            &tally,
            FileCounts {
                loaded: 0,
                rejected: 0,
                duplicates: 0,
            },
            &input(start),
        );
        assert_eq!(plan.estimate.finish_at, None, "nothing to call");
        assert_eq!(plan.finishes_before_end, None, "no end");
    }

    #[test]
    fn the_tally_keeps_a_bounded_number_of_times_and_errs_late() {
        let base = t("2026-12-08T12:00:00Z");
        let mut tally = PlanTally::default();
        for i in 0..(MAX_TIMES as i64 + 50) {
            tally.record(Check::Deferred {
                opens_at: base + Duration::minutes(2 * i),
            });
        }
        assert_eq!(tally.available.len(), MAX_TIMES);
        assert_eq!(tally.openings.len(), MAX_TIMES);
        assert_eq!(tally.available.values().sum::<u64>(), MAX_TIMES as u64 + 50);
        // The latest time is exact; the first ones are kept.
        let kept = keys(&tally.available);
        assert!(kept.contains(&base.timestamp()));
        assert_eq!(
            tally.latest,
            Some((base + Duration::minutes(2 * (MAX_TIMES as i64 + 49))).timestamp())
        );
        assert_eq!(kept.last().copied(), tally.latest);
        // A time before the kept ones' last goes to the next later kept one.
        let mut map: BTreeMap<i64, u64> = (0..MAX_TIMES as i64).map(|k| (k * 10, 1)).collect();
        bump(&mut map, 15, 4);
        assert_eq!(map[&20], 5);
        assert_eq!(map.len(), MAX_TIMES);
    }

    #[test]
    fn the_text_is_aligned_and_says_dry_run() {
        let now = t("2026-12-08T12:00:00Z");
        let mut tally = PlanTally::default();
        tally.record(Check::Open { at: now });
        tally.record(Check::Deferred {
            opens_at: t("2026-12-08T16:00:00Z"),
        });
        let plan = Plan::compute(
            &tally,
            FileCounts {
                loaded: 2,
                rejected: 1,
                duplicates: 0,
            },
            &PlanInput {
                dry_run: true,
                ..input(now)
            },
        );
        let text = plan.to_text();
        assert!(text.starts_with("Plan (DRY RUN"), "{text}");
        // Every value starts in the same column, after the longest label.
        assert!(
            text.contains("\n  loaded                        2\n"),
            "{text}"
        );
        assert!(
            text.contains("\n    opens 2026-12-08T16:00:00Z  1\n"),
            "{text}"
        );
        assert!(
            text.contains("\n  estimated finish              2026-12-08T16:01:00Z\n"),
            "{text}"
        );
        assert!(text.contains("- (no frequency cap)"), "{text}");
        assert!(text.contains("dry run: nothing was admitted"), "{text}");
    }
}
