//! Hours of operation: the "closed now, opens in N seconds" schedule, and the simulator's own
//! open/closed evaluation (used only to count calls placed while the queue was closed, the
//! oracle of the pause-and-resume test; the dialer evaluates hours itself).

use crate::config::{Hours, HoursSlot, TimeSlice, DAYS};
use chrono::{DateTime, Datelike, Duration, TimeZone, Timelike, Utc};

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
        },
        opens_at,
    ))
}

fn minutes(t: TimeSlice) -> u32 {
    t.hours * 60 + t.minutes
}

fn day_index(day: &str) -> Option<u32> {
    DAYS.iter().position(|d| *d == day).map(|i| i as u32)
}

/// Whether `hours` are open at `at`, evaluated in the hours' time zone, with the semantics the
/// dialer uses (`outbound_core::hours`): ranges are `[start, end)`, a range whose end is before
/// its start runs past midnight into the next day, and end == start is 24 hours from the start.
// Source: hours are set with a time zone and evaluated in it, with sections "How to specify
// midnight", "Examples" and "What happens during daylight saving time",
// https://docs.aws.amazon.com/connect/latest/adminguide/set-hours-operation.html
// and `Config` entries {Day, StartTime, EndTime} ("The start time that your contact center
// opens", "The end time that your contact center closes"),
// https://docs.aws.amazon.com/connect/latest/APIReference/API_HoursOfOperationConfig.html
// Assumed (not documented in a form the code can follow): `[start, end)`, end before start
// runs into the next day, end == start (00:00-00:00 in Basic Hours) is open 24 hours, and the
// zone's daylight saving time applies. Checked by docs/aws-verification.md Q2 and F6.
// Differs from the documentation: overrides ("Set up overrides for reduced or extended
// hours") are ignored (Q3).
pub fn is_open(hours: &Hours, at: DateTime<Utc>) -> bool {
    let tz: chrono_tz::Tz = match hours.time_zone.parse() {
        Ok(tz) => tz,
        // Assumed (not documented): `TimeZone` is an IANA name ("The time zone for the hours
        // of operation", no format given); anything else counts as open here (Q2).
        Err(_) => return true, // an unknown zone is the dialer's problem to report, not ours
    };
    let local = tz.from_utc_datetime(&at.naive_utc());
    let today = local.weekday().num_days_from_monday();
    let yesterday = (today + 6) % 7;
    let now = local.hour() * 60 + local.minute();
    hours.config.iter().any(|slot| {
        let Some(day) = day_index(&slot.day) else {
            return false;
        };
        let (start, end) = (minutes(slot.start_time), minutes(slot.end_time));
        if start < end {
            day == today && now >= start && now < end
        } else {
            (day == today && now >= start) || (day == yesterday && now < end)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
