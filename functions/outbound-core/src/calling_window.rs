//! Recipient-local calling windows: a contact is called only while the campaign's weekly window
//! is open on the recipient's wall clock (docs/architecture.md, "Calling rules").
//!
//! The recipient's time zones come from the contact's `timezone` column when it has one (an IANA
//! name, validated at intake), otherwise from the number (libphonenumber's prefix → time zone
//! map, [`crate::phone::time_zones`]). A number whose prefix spans several zones (a US area code
//! across two zones, a toll-free number) is called only while the window is open in **all** of
//! them. A number without a known zone is judged in the window's `unknown_time_zone`, or, when
//! that is not set, by the queue's hours alone.
//!
//! A contact outside its window is deferred to the window's next opening: it goes back to the
//! ledger as `due` at that time, so it is never lost and never holds up contacts whose windows
//! are open. The check runs when the feeder leases a contact and again in `dial` just before the
//! call (a contact may wait in the queue while its window closes).
//!
//! The JSON shape is the Terraform variable `calling_window` (environment variable
//! `CALLING_WINDOW`):
//!
//! ```json
//! {"enabled":true,
//!  "days":{"MONDAY":[{"start":"08:00","end":"21:00"}],"SATURDAY":[{"start":"10:00","end":"18:00"}]},
//!  "unknown_time_zone":null}
//! ```
//!
//! A day left out is a day without calls. A range is `[start, end)` on the wall clock of the
//! day; `end` may be `24:00` (midnight). Daylight saving time follows each zone's rules (the
//! evaluation is [`WeeklyHours`]', the same as the queue's hours).

use crate::hours::{HoursRange, TimeSlice, WeeklyHours};
use chrono::{DateTime, Duration, Utc, Weekday};
use chrono_tz::Tz;
use serde::Deserialize;
use std::collections::BTreeMap;

/// What a deferral by the window records on the contact (`deferredBy`).
pub const DEFERRAL_RULE: &str = "calling_window";

/// The contact attribute (CSV column, any case) that names the recipient's time zone.
pub const TIME_ZONE_ATTRIBUTE: &str = "timezone";

/// How far ahead a common opening of several zones is looked for. Beyond it the contact is
/// deferred by [`NO_OPENING_RETRY`] and looked at again then.
const SEARCH_HORIZON: Duration = Duration::days(8);
/// Deferral of a contact whose zones share no open moment within [`SEARCH_HORIZON`] (a window
/// narrower than the spread of the zones): it is looked at again a day later, and logged.
pub const NO_OPENING_RETRY: Duration = Duration::days(1);
/// Steps of the common-opening search (each one moves to the latest next opening of the zones
/// still closed; a handful is the most any real window needs).
const MAX_STEPS: usize = 64;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRange {
    start: String,
    end: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWindow {
    #[serde(default = "enabled_by_default")]
    enabled: bool,
    #[serde(default)]
    days: Option<BTreeMap<String, Vec<RawRange>>>,
    #[serde(default)]
    unknown_time_zone: Option<String>,
}

fn enabled_by_default() -> bool {
    true
}

/// The campaign's weekly calling window, read on each recipient's wall clock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallingWindow {
    ranges: Vec<HoursRange>,
    unknown_time_zone: Option<Tz>,
}

/// Whether a contact may be called now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowVerdict {
    /// Inside the window in every one of the recipient's zones (or no zone is known).
    Open,
    /// Outside it: defer to `opens_at`.
    Closed { opens_at: DateTime<Utc> },
    /// The zones share no open moment within the search horizon: defer to `retry_at`.
    NoCommonOpening { retry_at: DateTime<Utc> },
}

impl WindowVerdict {
    /// When a closed contact is due again; `None` when open.
    pub fn deferred_until(self) -> Option<DateTime<Utc>> {
        match self {
            WindowVerdict::Open => None,
            WindowVerdict::Closed { opens_at } => Some(opens_at),
            WindowVerdict::NoCommonOpening { retry_at } => Some(retry_at),
        }
    }
}

fn weekday(name: &str) -> Option<Weekday> {
    Some(match name {
        "MONDAY" => Weekday::Mon,
        "TUESDAY" => Weekday::Tue,
        "WEDNESDAY" => Weekday::Wed,
        "THURSDAY" => Weekday::Thu,
        "FRIDAY" => Weekday::Fri,
        "SATURDAY" => Weekday::Sat,
        "SUNDAY" => Weekday::Sun,
        _ => return None,
    })
}

/// `HH:MM`, 00:00 to 24:00, as minutes from midnight.
fn minutes_of(raw: &str) -> Option<u32> {
    let (h, m) = raw.split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    let total = h * 60 + m;
    (m < 60 && total <= 24 * 60).then_some(total)
}

fn slice(minutes: u32) -> TimeSlice {
    // 24:00 is midnight: a range ending there runs to the end of its day (HoursRange reads an
    // end not after the start as the next day's).
    let minutes = minutes % (24 * 60);
    TimeSlice {
        hours: (minutes / 60) as u8,
        minutes: (minutes % 60) as u8,
    }
}

/// The product's default: 08:00–21:00 every day (the US TCPA's calling hours, a common
/// baseline elsewhere).
pub fn default_days() -> Vec<HoursRange> {
    [
        Weekday::Mon,
        Weekday::Tue,
        Weekday::Wed,
        Weekday::Thu,
        Weekday::Fri,
        Weekday::Sat,
        Weekday::Sun,
    ]
    .into_iter()
    .map(|day| HoursRange {
        day,
        start: slice(8 * 60),
        end: slice(21 * 60),
    })
    .collect()
}

/// Parses an IANA time zone name (`America/New_York`); `None` when it is not one.
pub fn parse_time_zone(raw: &str) -> Option<Tz> {
    let raw = raw.trim();
    if raw.is_empty() {
        return None;
    }
    raw.parse().ok()
}

/// The contact's own time zone attribute (the `timezone` column, any case), when set.
pub fn time_zone_attribute(attributes: &BTreeMap<String, String>) -> Option<&str> {
    attributes
        .iter()
        .find(|(k, v)| k.eq_ignore_ascii_case(TIME_ZONE_ATTRIBUTE) && !v.trim().is_empty())
        .map(|(_, v)| v.trim())
}

/// Why a contact's time zone attribute is refused, for intake rejects; `Ok` when it has none or
/// a valid one.
pub fn check_time_zone_attribute(attributes: &BTreeMap<String, String>) -> Result<(), String> {
    match time_zone_attribute(attributes) {
        Some(raw) if parse_time_zone(raw).is_none() => Err(format!(
            "timezone '{}' is not an IANA time zone name (such as America/New_York)",
            raw.chars().take(64).collect::<String>()
        )),
        _ => Ok(()),
    }
}

impl CallingWindow {
    /// Reads the window from `CALLING_WINDOW`'s JSON. `Ok(None)`: the window is disabled.
    pub fn from_json(raw: &str) -> Result<Option<CallingWindow>, String> {
        let raw: RawWindow = serde_json::from_str(raw).map_err(|e| e.to_string())?;
        if !raw.enabled {
            return Ok(None);
        }
        let ranges = match raw.days {
            None => default_days(),
            Some(days) => {
                let mut ranges = Vec::new();
                for (name, day_ranges) in days {
                    let day = weekday(&name).ok_or_else(|| {
                        format!("'{name}' is not a day (MONDAY to SUNDAY, in capitals)")
                    })?;
                    for r in day_ranges {
                        let (start, end) = match (minutes_of(&r.start), minutes_of(&r.end)) {
                            (Some(s), Some(e)) => (s, e),
                            _ => {
                                return Err(format!(
                                "{name}: '{}'-'{}' is not a range of HH:MM times (00:00 to 24:00)",
                                r.start, r.end
                            ))
                            }
                        };
                        if start >= end {
                            return Err(format!(
                                "{name}: the range {}-{} ends before it starts",
                                r.start, r.end
                            ));
                        }
                        ranges.push(HoursRange {
                            day,
                            start: slice(start),
                            end: slice(end),
                        });
                    }
                }
                ranges
            }
        };
        let unknown_time_zone = match raw.unknown_time_zone.as_deref() {
            None => None,
            Some(name) => Some(parse_time_zone(name).ok_or_else(|| {
                format!("unknown_time_zone '{name}' is not an IANA time zone name")
            })?),
        };
        Ok(Some(CallingWindow {
            ranges,
            unknown_time_zone,
        }))
    }

    /// The zones a contact is judged in: its `timezone` attribute, else its number's zones,
    /// else the window's `unknown_time_zone`; empty: none known (the queue's hours alone).
    pub fn zones_of(&self, phone: &str, attributes: &BTreeMap<String, String>) -> Vec<Tz> {
        if let Some(tz) = time_zone_attribute(attributes).and_then(parse_time_zone) {
            return vec![tz];
        }
        let zones: Vec<Tz> = crate::phone::time_zones(phone)
            .iter()
            .filter_map(|name| name.parse().ok())
            .collect();
        if zones.is_empty() {
            self.unknown_time_zone.into_iter().collect()
        } else {
            zones
        }
    }

    /// Whether a contact with this number and these attributes may be called at `now`.
    pub fn verdict(
        &self,
        phone: &str,
        attributes: &BTreeMap<String, String>,
        now: DateTime<Utc>,
    ) -> WindowVerdict {
        self.verdict_in(&self.zones_of(phone, attributes), now)
    }

    /// Whether the window is open at `now` in every one of `zones`, and if not, when it next is.
    pub fn verdict_in(&self, zones: &[Tz], now: DateTime<Utc>) -> WindowVerdict {
        let hours: Vec<WeeklyHours> = zones
            .iter()
            .map(|tz| WeeklyHours {
                time_zone: *tz,
                ranges: self.ranges.clone(),
            })
            .collect();
        match common_opening(&hours, now) {
            Some(t) if t <= now => WindowVerdict::Open,
            Some(opens_at) => WindowVerdict::Closed { opens_at },
            None => WindowVerdict::NoCommonOpening {
                retry_at: now + NO_OPENING_RETRY,
            },
        }
    }
}

/// The first instant at or after `now` at which every one of `hours` is open (`now` itself
/// when they all are; `now` too when there are none). Each step moves to the latest next opening
/// of the hours still closed: no common opening can come before it, so the search never skips
/// one.
fn common_opening(hours: &[WeeklyHours], now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let mut t = now;
    for _ in 0..MAX_STEPS {
        let mut latest: Option<DateTime<Utc>> = None;
        for h in hours.iter().filter(|h| !h.is_open_at(t)) {
            let next = h.next_opening_after(t)?;
            latest = Some(latest.map_or(next, |l| l.max(next)));
        }
        match latest {
            None => return Some(t),
            Some(next) if next > now + SEARCH_HORIZON => return None,
            Some(next) => t = next,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
    }

    fn default_window() -> CallingWindow {
        CallingWindow::from_json("{}").unwrap().unwrap()
    }

    fn no_attributes() -> BTreeMap<String, String> {
        BTreeMap::new()
    }

    fn tz(name: &str) -> Tz {
        name.parse().unwrap()
    }

    // Wednesday 2026-12-09, 14:00 UTC: 14:00 in London, 09:00 in New York, 06:00 in Los Angeles.
    const WED_14: (i32, u32, u32, u32, u32) = (2026, 12, 9, 14, 0);

    fn wed_14() -> DateTime<Utc> {
        let (y, mo, d, h, mi) = WED_14;
        utc(y, mo, d, h, mi)
    }

    #[test]
    fn the_default_window_is_eight_to_nine_every_day() {
        let w = default_window();
        assert_eq!(
            w.verdict_in(&[tz("Europe/London")], wed_14()),
            WindowVerdict::Open
        );
        assert_eq!(
            w.verdict_in(&[tz("America/New_York")], wed_14()),
            WindowVerdict::Open
        );
        // 06:00 in Los Angeles: it opens at 08:00 local, 16:00 UTC.
        assert_eq!(
            w.verdict_in(&[tz("America/Los_Angeles")], wed_14()),
            WindowVerdict::Closed {
                opens_at: utc(2026, 12, 9, 16, 0)
            }
        );
        // 21:00 is closed ([start, end)): 21:00 London is closed until 08:00 the next day.
        assert_eq!(
            w.verdict_in(&[tz("Europe/London")], utc(2026, 12, 9, 21, 0)),
            WindowVerdict::Closed {
                opens_at: utc(2026, 12, 10, 8, 0)
            }
        );
    }

    #[test]
    fn the_zones_come_from_the_number() {
        let w = default_window();
        let la = w.zones_of("+14155550123", &no_attributes());
        assert_eq!(la, vec![tz("America/Los_Angeles")]);
        assert!(matches!(
            w.verdict("+14155550123", &no_attributes(), wed_14()),
            WindowVerdict::Closed { .. }
        ));
        assert_eq!(
            w.verdict("+442079460123", &no_attributes(), wed_14()),
            WindowVerdict::Open
        );
    }

    #[test]
    fn a_number_spanning_zones_is_called_only_when_all_are_open() {
        let w = default_window();
        // New York open (09:00), Los Angeles closed (06:00): closed until LA opens.
        let zones = [tz("America/New_York"), tz("America/Los_Angeles")];
        assert_eq!(
            w.verdict_in(&zones, wed_14()),
            WindowVerdict::Closed {
                opens_at: utc(2026, 12, 9, 16, 0)
            }
        );
        // A US toll-free number maps to every NANP zone: it waits for the last one to open.
        let toll_free = w.zones_of("+18005550123", &no_attributes());
        assert!(toll_free.len() > 2, "{toll_free:?}");
        match w.verdict("+18005550123", &no_attributes(), wed_14()) {
            WindowVerdict::Closed { opens_at } => {
                for zone in &toll_free {
                    let hours = WeeklyHours {
                        time_zone: *zone,
                        ranges: default_days(),
                    };
                    assert!(hours.is_open_at(opens_at), "{zone} closed at {opens_at}");
                }
                assert!(
                    opens_at > wed_14() && opens_at < wed_14() + Duration::days(1),
                    "{opens_at}"
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_timezone_column_overrides_the_number() {
        let w = default_window();
        let mut attrs = BTreeMap::new();
        // A London number whose holder lives in Los Angeles.
        attrs.insert("TimeZone".to_string(), "America/Los_Angeles".to_string());
        assert_eq!(
            w.zones_of("+442079460123", &attrs),
            vec![tz("America/Los_Angeles")]
        );
        assert!(matches!(
            w.verdict("+442079460123", &attrs, wed_14()),
            WindowVerdict::Closed { .. }
        ));
        // An empty column is no override.
        attrs.insert("TimeZone".to_string(), " ".to_string());
        assert_eq!(
            w.zones_of("+442079460123", &attrs),
            vec![tz("Europe/London")]
        );
    }

    #[test]
    fn a_bad_timezone_column_is_refused_with_its_value() {
        let mut attrs = BTreeMap::new();
        attrs.insert("timezone".to_string(), "Mars/Olympus".to_string());
        let err = check_time_zone_attribute(&attrs).unwrap_err();
        assert!(
            err.contains("Mars/Olympus") && err.contains("IANA"),
            "{err}"
        );
        attrs.insert("timezone".to_string(), "Europe/Paris".to_string());
        assert!(check_time_zone_attribute(&attrs).is_ok());
        assert!(check_time_zone_attribute(&BTreeMap::new()).is_ok());
    }

    #[test]
    fn weekdays_and_daylight_saving_follow_the_recipients_clock() {
        let w = CallingWindow::from_json(
            r#"{"days":{"MONDAY":[{"start":"09:00","end":"17:00"}],"SATURDAY":[{"start":"10:00","end":"12:00"},{"start":"14:00","end":"24:00"}]}}"#,
        )
        .unwrap()
        .unwrap();
        let london = [tz("Europe/London")];
        // Friday 2026-12-11 12:00 UTC: no Friday range, so the next opening is Saturday 10:00.
        assert_eq!(
            w.verdict_in(&london, utc(2026, 12, 11, 12, 0)),
            WindowVerdict::Closed {
                opens_at: utc(2026, 12, 12, 10, 0)
            }
        );
        // Saturday 12:30: between the two ranges.
        assert_eq!(
            w.verdict_in(&london, utc(2026, 12, 12, 12, 30)),
            WindowVerdict::Closed {
                opens_at: utc(2026, 12, 12, 14, 0)
            }
        );
        // Saturday 23:59 is open (the range runs to midnight); Sunday is closed to Monday 09:00.
        assert_eq!(
            w.verdict_in(&london, utc(2026, 12, 12, 23, 59)),
            WindowVerdict::Open
        );
        assert_eq!(
            w.verdict_in(&london, utc(2026, 12, 13, 0, 0)),
            WindowVerdict::Closed {
                opens_at: utc(2026, 12, 14, 9, 0)
            }
        );
        // Summer time: Monday 2026-06-01 09:00 BST is 08:00 UTC.
        assert_eq!(
            w.verdict_in(&london, utc(2026, 6, 1, 7, 30)),
            WindowVerdict::Closed {
                opens_at: utc(2026, 6, 1, 8, 0)
            }
        );
    }

    #[test]
    fn zones_without_a_common_opening_are_retried_a_day_later() {
        // Two hours a day cannot be open in London and Tokyo at once (9 hours apart).
        let w = CallingWindow::from_json(
            r#"{"days":{"MONDAY":[{"start":"10:00","end":"12:00"}],"TUESDAY":[{"start":"10:00","end":"12:00"}],"WEDNESDAY":[{"start":"10:00","end":"12:00"}],"THURSDAY":[{"start":"10:00","end":"12:00"}],"FRIDAY":[{"start":"10:00","end":"12:00"}],"SATURDAY":[{"start":"10:00","end":"12:00"}],"SUNDAY":[{"start":"10:00","end":"12:00"}]}}"#,
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            w.verdict_in(&[tz("Europe/London"), tz("Asia/Tokyo")], wed_14()),
            WindowVerdict::NoCommonOpening {
                retry_at: wed_14() + NO_OPENING_RETRY
            }
        );
    }

    #[test]
    fn a_number_without_a_zone_uses_the_fallback_or_nothing() {
        let w = default_window();
        assert!(w.zones_of("+999123", &no_attributes()).is_empty());
        assert_eq!(w.verdict_in(&[], wed_14()), WindowVerdict::Open);
        let w = CallingWindow::from_json(r#"{"unknown_time_zone":"America/Los_Angeles"}"#)
            .unwrap()
            .unwrap();
        assert_eq!(
            w.zones_of("+999123", &no_attributes()),
            vec![tz("America/Los_Angeles")]
        );
    }

    #[test]
    fn malformed_windows_are_refused_with_the_reason() {
        for (raw, needle) in [
            (r#"{"days":{"Monday":[]}}"#, "not a day"),
            (
                r#"{"days":{"MONDAY":[{"start":"8:00","end":"21:00"}]}}"#,
                "HH:MM",
            ),
            (
                r#"{"days":{"MONDAY":[{"start":"21:00","end":"08:00"}]}}"#,
                "ends before it starts",
            ),
            (
                r#"{"days":{"MONDAY":[{"start":"08:00","end":"24:01"}]}}"#,
                "HH:MM",
            ),
            (r#"{"unknown_time_zone":"Nowhere"}"#, "IANA"),
            (r#"{"hours":{}}"#, "unknown field"),
        ] {
            let err = CallingWindow::from_json(raw).unwrap_err();
            assert!(err.contains(needle), "{raw}: {err}");
        }
        assert_eq!(CallingWindow::from_json(r#"{"enabled":false}"#), Ok(None));
    }
}
