//! Hours of operation: the "closed now, opens in N seconds" schedule, and the simulator's own
//! open/closed evaluation (used only to count calls placed while the queue was closed, the
//! oracle of the pause-and-resume test; the dialer evaluates hours itself).

use crate::config::{Hours, HoursSlot, TimeSlice, DAYS};
use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Timelike, Utc};
use serde_json::{json, Value};

/// Hours (time zone UTC) that are closed from the current minute until the minute boundary at
/// or after `now + seconds`, and open the rest of every day. Connect's hours have minute
/// resolution, so the opening is rounded up to a whole minute; it is returned.
// Source: minute resolution, `HoursOfOperationTimeSlice` {Hours 0-23, Minutes 0-59},
// https://docs.aws.amazon.com/connect/latest/APIReference/API_HoursOfOperationTimeSlice.html
// (a control-API helper, not a Connect operation; the schedule it writes is read by
// `is_open` and served by DescribeHoursOfOperation).
pub fn closed_for(
    base: &Hours,
    now: DateTime<Utc>,
    seconds: u64,
) -> Result<(Hours, DateTime<Utc>), String> {
    if seconds == 0 || seconds > 23 * 3600 {
        return Err("seconds must be between 1 and 82800".to_string());
    }
    let close_at = now
        .with_second(0)
        .and_then(|t| t.with_nanosecond(0))
        .ok_or("clock out of range")?;
    let target = now + Duration::seconds(seconds as i64);
    let mut opens_at = target
        .with_second(0)
        .and_then(|t| t.with_nanosecond(0))
        .ok_or("clock out of range")?;
    if opens_at < target {
        opens_at += Duration::minutes(1);
    }
    let slice = |t: DateTime<Utc>| TimeSlice {
        hours: t.hour(),
        minutes: t.minute(),
    };
    // Every day open from the opening time of day to the closing time of day: when the
    // opening comes later in the day this is an overnight slot, otherwise a plain one; in both
    // cases the only closed stretch of the day is [close, open).
    let config = DAYS
        .iter()
        .map(|day| HoursSlot {
            day: day.to_string(),
            start_time: slice(opens_at),
            end_time: slice(close_at),
        })
        .collect();
    Ok((
        Hours {
            id: base.id.clone(),
            name: base.name.clone(),
            time_zone: "UTC".to_string(),
            config,
            overrides: base.overrides.clone(),
        },
        opens_at,
    ))
}

fn minutes(t: TimeSlice) -> u32 {
    t.hours * 60 + t.minutes
}

fn day_name(date: NaiveDate) -> &'static str {
    DAYS[date.weekday().num_days_from_monday() as usize]
}

/// The override covering `date`, if any (validation keeps them from overlapping).
fn override_on(hours: &Hours, date: NaiveDate) -> Option<&crate::config::HoursOverride> {
    hours.overrides.iter().find(|o| {
        o.dates()
            .map(|(from, till)| from <= date && date <= till)
            .unwrap_or(false)
    })
}

/// The ranges `(start, end)` the hours have on `date`: the covering override's ranges for that
/// weekday (none: closed all day), else the weekly ones.
// Source: an override "takes precedence over" the standard hours for the dates it covers
// ("Set up overrides for reduced or extended hours", set-hours-operation.html),
// https://docs.aws.amazon.com/connect/latest/adminguide/set-hours-operation.html
// Assumed (not documented in a form the code can follow): on a covered date the override's
// ranges replace the weekly ones entirely, and a covered date without a range of its weekday
// in the override is closed all day (docs/aws-verification.md Q5).
pub fn slots_on(hours: &Hours, date: NaiveDate) -> Vec<(TimeSlice, TimeSlice)> {
    let day = day_name(date);
    let slots: &[HoursSlot] = match override_on(hours, date) {
        Some(o) => &o.config,
        None => &hours.config,
    };
    slots
        .iter()
        .filter(|s| s.day == day)
        .map(|s| (s.start_time, s.end_time))
        .collect()
}

/// Whether `hours` are open at `at`, evaluated in the hours' time zone, with the semantics the
/// dialer uses (`outbound_core::hours`): ranges are `[start, end)`, a range whose end is before
/// its start runs past midnight into the next day, and end == start is 24 hours from the start.
/// Overrides apply to the dates they cover (see [`slots_on`]).
// Source: hours are set with a time zone and evaluated in it, with sections "How to specify
// midnight", "Examples" and "What happens during daylight saving time",
// https://docs.aws.amazon.com/connect/latest/adminguide/set-hours-operation.html
// and `Config` entries {Day, StartTime, EndTime} ("The start time that your contact center
// opens", "The end time that your contact center closes"),
// https://docs.aws.amazon.com/connect/latest/APIReference/API_HoursOfOperationConfig.html
// Assumed (not documented in a form the code can follow): `[start, end)`, end before start
// runs into the next day, end == start (00:00-00:00 in Basic Hours) is open 24 hours, and the
// zone's daylight saving time applies. Checked by docs/aws-verification.md Q2 and F6.
pub fn is_open(hours: &Hours, at: DateTime<Utc>) -> bool {
    let tz: chrono_tz::Tz = match hours.time_zone.parse() {
        Ok(tz) => tz,
        // Assumed (not documented): `TimeZone` is an IANA name ("The time zone for the hours
        // of operation", no format given); anything else counts as open here (Q2).
        Err(_) => return true, // an unknown zone is the dialer's problem to report, not ours
    };
    let local = tz.from_utc_datetime(&at.naive_utc());
    let today = local.date_naive();
    let now = local.hour() * 60 + local.minute();
    let open_today = slots_on(hours, today).into_iter().any(|(s, e)| {
        let (start, end) = (minutes(s), minutes(e));
        now >= start && (start >= end || now < end)
    });
    let open_from_yesterday = today.pred_opt().is_some_and(|y| {
        slots_on(hours, y).into_iter().any(|(s, e)| {
            let (start, end) = (minutes(s), minutes(e));
            start >= end && now < end
        })
    });
    open_today || open_from_yesterday
}

/// The most dates one `GetEffectiveHoursOfOperations` request may span here.
// Assumed (not documented): the API reference gives no limit on the span of `FromDate` to
// `ToDate`; the simulator refuses more than a year so that a runaway request shows up
// (docs/aws-verification.md Q5).
pub const MAX_EFFECTIVE_DAYS: i64 = 366;

/// The `GetEffectiveHoursOfOperations` answer for `from` to `to`, both included: each date's
/// ranges with the overrides applied, the overrides that made them, and the time zone.
// Source: Response Syntax {EffectiveHoursOfOperationList [{Date, OperationalHours [{Start
// {Hours, Minutes}, End}]}], EffectiveOverrideHoursList [{Date, OverrideHours [{Start, End,
// OperationalStatus, OverrideName}]}], TimeZone},
// https://docs.aws.amazon.com/connect/latest/APIReference/API_GetEffectiveHoursOfOperations.html
// Assumed (not documented): every date of the span is listed, a closed one with no
// `OperationalHours`; a range that runs past midnight is listed once, on the date it starts,
// with its end as configured (before its start); `OperationalStatus` `OPEN` for an override's
// ranges (docs/aws-verification.md Q5).
pub fn effective(hours: &Hours, from: NaiveDate, to: NaiveDate) -> Value {
    let slice = |t: TimeSlice| json!({"Hours": t.hours, "Minutes": t.minutes});
    let mut list = Vec::new();
    let mut overrides = Vec::new();
    let mut date = from;
    while date <= to {
        let text = date.format("%Y-%m-%d").to_string();
        let slots = slots_on(hours, date);
        list.push(json!({
            "Date": text,
            "OperationalHours": slots
                .iter()
                .map(|(s, e)| json!({"Start": slice(*s), "End": slice(*e)}))
                .collect::<Vec<_>>(),
        }));
        if let Some(o) = override_on(hours, date) {
            overrides.push(json!({
                "Date": text,
                "OverrideHours": slots
                    .iter()
                    .map(|(s, e)| json!({"Start": slice(*s), "End": slice(*e),
                                         "OperationalStatus": "OPEN", "OverrideName": o.name}))
                    .collect::<Vec<_>>(),
            }));
        }
        let Some(next) = date.succ_opt() else { break };
        date = next;
    }
    json!({
        "EffectiveHoursOfOperationList": list,
        "EffectiveOverrideHoursList": overrides,
        "TimeZone": hours.time_zone,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::HoursOverride;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn default_hours_are_always_open() {
        let h = Hours::default();
        let mut t = at("2024-03-04T00:00:00Z");
        for _ in 0..(7 * 24 * 60) {
            assert!(is_open(&h, t), "{t}");
            t += Duration::minutes(1);
        }
    }

    #[test]
    fn closed_for_closes_now_and_opens_on_the_minute() {
        let now = at("2024-03-04T10:15:20Z");
        let (h, opens) = closed_for(&Hours::default(), now, 90).unwrap();
        assert_eq!(opens, at("2024-03-04T10:17:00Z"));
        assert!(!is_open(&h, now));
        assert!(!is_open(&h, at("2024-03-04T10:16:59Z")));
        assert!(is_open(&h, opens));
        assert!(is_open(&h, at("2024-03-05T03:00:00Z")), "open overnight");
        assert!(is_open(&h, at("2024-03-05T10:14:59Z")));
        assert!(
            !is_open(&h, at("2024-03-05T10:15:30Z")),
            "the same window the next day"
        );
    }

    #[test]
    fn closed_for_across_midnight() {
        let now = at("2024-03-10T23:59:10Z"); // a Sunday
        let (h, opens) = closed_for(&Hours::default(), now, 120).unwrap();
        assert_eq!(opens, at("2024-03-11T00:02:00Z"));
        assert!(!is_open(&h, now));
        assert!(!is_open(&h, at("2024-03-11T00:01:00Z")));
        assert!(is_open(&h, opens));
        assert!(is_open(&h, at("2024-03-11T12:00:00Z")));
    }

    #[test]
    fn closed_for_rejects_silly_lengths() {
        let now = at("2024-03-04T10:15:20Z");
        assert!(closed_for(&Hours::default(), now, 0).is_err());
        assert!(closed_for(&Hours::default(), now, 24 * 3600).is_err());
    }

    #[test]
    fn equal_start_and_end_is_24_hours_from_the_start() {
        let h = Hours {
            config: vec![HoursSlot {
                day: "MONDAY".to_string(),
                start_time: TimeSlice {
                    hours: 22,
                    minutes: 0,
                },
                end_time: TimeSlice {
                    hours: 22,
                    minutes: 0,
                },
            }],
            ..Hours::default()
        };
        assert!(!is_open(&h, at("2024-03-04T21:59:00Z")));
        assert!(is_open(&h, at("2024-03-04T22:00:00Z")));
        assert!(is_open(&h, at("2024-03-05T21:59:00Z")));
        assert!(!is_open(&h, at("2024-03-05T22:00:00Z")));
    }

    fn holiday(name: &str, from: &str, till: &str, config: Vec<HoursSlot>) -> HoursOverride {
        HoursOverride {
            hours_of_operation_override_id: String::new(),
            name: name.to_string(),
            description: None,
            config,
            effective_from: from.to_string(),
            effective_till: till.to_string(),
        }
    }

    fn slot(day: &str, start: (u32, u32), end: (u32, u32)) -> HoursSlot {
        HoursSlot {
            day: day.to_string(),
            start_time: TimeSlice {
                hours: start.0,
                minutes: start.1,
            },
            end_time: TimeSlice {
                hours: end.0,
                minutes: end.1,
            },
        }
    }

    fn date(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn a_closed_override_closes_its_dates_only() {
        // Open around the clock, closed on Friday 25 December 2026.
        let mut h = Hours::default();
        h.overrides
            .push(holiday("Christmas", "2026-12-25", "2026-12-25", vec![]));
        assert!(is_open(&h, at("2026-12-24T23:59:00Z")));
        assert!(!is_open(&h, at("2026-12-25T00:00:00Z")));
        assert!(!is_open(&h, at("2026-12-25T23:59:00Z")));
        assert!(is_open(&h, at("2026-12-26T00:00:00Z")));
        // The weekly configuration is unchanged.
        assert_eq!(h.config, Hours::default().config);
    }

    #[test]
    fn an_override_with_ranges_replaces_the_days_hours() {
        // Christmas Eve (a Thursday) opens 10:30-12:00 only; the override has no Friday range,
        // so a Friday it covered would be closed.
        let mut h = Hours::default();
        h.overrides.push(holiday(
            "Christmas Eve",
            "2026-12-24",
            "2026-12-24",
            vec![slot("THURSDAY", (10, 30), (12, 0))],
        ));
        assert!(!is_open(&h, at("2026-12-24T10:29:00Z")));
        assert!(is_open(&h, at("2026-12-24T10:30:00Z")));
        assert!(!is_open(&h, at("2026-12-24T12:00:00Z")));
        assert_eq!(
            slots_on(&h, date("2026-12-24")),
            vec![(
                TimeSlice {
                    hours: 10,
                    minutes: 30
                },
                TimeSlice {
                    hours: 12,
                    minutes: 0
                }
            )]
        );
    }

    #[test]
    fn an_overnight_range_of_the_day_before_an_override_still_runs_past_midnight() {
        let h = Hours {
            config: vec![slot("THURSDAY", (22, 0), (2, 0))],
            overrides: vec![holiday("Christmas", "2026-12-25", "2026-12-25", vec![])],
            ..Hours::default()
        };
        assert!(
            is_open(&h, at("2026-12-25T01:59:00Z")),
            "Thursday's night shift"
        );
        assert!(!is_open(&h, at("2026-12-25T02:00:00Z")));
    }

    #[test]
    fn the_effective_answer_lists_every_date_with_overrides_applied() {
        let mut h = Hours::default();
        h.overrides
            .push(holiday("Christmas", "2026-12-25", "2026-12-26", vec![]));
        let v = effective(&h, date("2026-12-24"), date("2026-12-27"));
        assert_eq!(v["TimeZone"], "UTC");
        let list = v["EffectiveHoursOfOperationList"].as_array().unwrap();
        let dates: Vec<&str> = list.iter().map(|d| d["Date"].as_str().unwrap()).collect();
        assert_eq!(
            dates,
            ["2026-12-24", "2026-12-25", "2026-12-26", "2026-12-27"]
        );
        assert_eq!(
            list[0]["OperationalHours"],
            json!([{"Start": {"Hours": 0, "Minutes": 0}, "End": {"Hours": 0, "Minutes": 0}}])
        );
        assert_eq!(list[1]["OperationalHours"], json!([]));
        assert_eq!(list[2]["OperationalHours"], json!([]));
        let overrides = v["EffectiveOverrideHoursList"].as_array().unwrap();
        assert_eq!(overrides.len(), 2);
        assert_eq!(overrides[0]["Date"], "2026-12-25");
    }

    #[test]
    fn evaluates_in_the_hours_time_zone() {
        let h = Hours {
            time_zone: "America/New_York".to_string(),
            config: vec![HoursSlot {
                day: "MONDAY".to_string(),
                start_time: TimeSlice {
                    hours: 9,
                    minutes: 0,
                },
                end_time: TimeSlice {
                    hours: 17,
                    minutes: 0,
                },
            }],
            ..Hours::default()
        };
        // 14:00 UTC on Monday 4 March 2024 is 09:00 in New York (EST, UTC-5).
        assert!(is_open(&h, at("2024-03-04T14:00:00Z")));
        assert!(!is_open(&h, at("2024-03-04T13:59:00Z")));
        assert!(!is_open(&h, at("2024-03-04T22:00:00Z")));
    }
}
