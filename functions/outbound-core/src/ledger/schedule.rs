//! A campaign's schedule: when its first call may be placed and when it ends.
//!
//! Stored as one item `SCHEDULE#<campaign>` in the ledger's table, apart from the `CAMPAIGNS`
//! item (which lists only campaigns with work, and would grow with every campaign ever
//! scheduled): set by the object metadata `schedule` of a contact list (the latest upload that
//! carries one wins) or by the operator (`outbound schedule`), read by the feeder for the
//! campaigns it feeds and by dial just before a call.
//!
//! Before its start a campaign's contacts wait as `due`; from its end on, the contacts still due
//! (or leased and not yet dialed) are made final `campaign_ended` with their final record. A call
//! already placed is never cut: its redial, if any, is closed by the next feeding.

use super::item::{from_millis, millis, n, s, Item};
use super::ops::{get_items, CampaignLedger};
use super::rules::CallbackProblem;
use crate::completion::store_error;
use crate::error::FunctionError;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// The rule named in `deferredBy` when a contact is given back until its campaign starts.
pub const DEFERRAL_RULE: &str = "campaign_schedule";

/// `SCHEDULE#<campaign>`: the item of a campaign's schedule.
pub fn schedule_pk(campaign: &str) -> String {
    format!("SCHEDULE#{campaign}")
}

/// When a campaign may call: from `start` (inclusive) until `end` (exclusive). Either may be
/// absent (no start: at once; no end: until every contact is final).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CampaignSchedule {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<DateTime<Utc>>,
}

/// Where a campaign stands against its schedule at a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Before the start: nothing is called until `opens_at`.
    NotStarted { opens_at: DateTime<Utc> },
    /// Calls may be placed.
    Open,
    /// The end has passed: what is still due is made final `campaign_ended`.
    Ended { at: DateTime<Utc> },
}

impl CampaignSchedule {
    /// Parses the JSON of the object metadata `schedule` or of the operator's command:
    /// `{"start": "2026-12-08T09:00:00-05:00", "end": "2026-12-20T21:00:00-05:00"}`, either field
    /// optional, times in RFC 3339 with their offset (a time without one is refused: whose
    /// midnight would it be?).
    pub fn from_json(raw: &str) -> Result<CampaignSchedule, String> {
        let raw_value: serde_json::Value =
            serde_json::from_str(raw).map_err(|e| format!("not JSON: {e}"))?;
        let object = raw_value
            .as_object()
            .ok_or("a JSON object with `start` and/or `end` is expected")?;
        for (field, value) in object {
            if !matches!(field.as_str(), "start" | "end") {
                return Err(format!(
                    "unknown field `{field}` (expected `start` and/or `end`)"
                ));
            }
            let text = value
                .as_str()
                .ok_or_else(|| format!("`{field}` must be an RFC 3339 time in a string"))?;
            DateTime::parse_from_rfc3339(text).map_err(|e| {
                format!(
                    "`{field}` is not an RFC 3339 time with its offset ({e}): {text:?}, \
                     for example 2026-12-08T09:00:00-05:00"
                )
            })?;
        }
        let schedule: CampaignSchedule =
            serde_json::from_value(raw_value).map_err(|e| e.to_string())?;
        schedule.validate()?;
        Ok(schedule)
    }

    /// A schedule needs a bound, and an end after its start.
    pub fn validate(&self) -> Result<(), String> {
        match (self.start, self.end) {
            (None, None) => Err("give `start`, `end` or both".to_string()),
            (Some(start), Some(end)) if end <= start => Err(format!(
                "`end` ({}) must come after `start` ({})",
                end.to_rfc3339(),
                start.to_rfc3339()
            )),
            _ => Ok(()),
        }
    }

    /// The JSON form [`CampaignSchedule::from_json`] reads (times in UTC).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a schedule serialises")
    }

    /// Where the campaign stands at `now`.
    pub fn phase(&self, now: DateTime<Utc>) -> Phase {
        match (self.start, self.end) {
            (_, Some(end)) if now >= end => Phase::Ended { at: end },
            (Some(start), _) if now < start => Phase::NotStarted { opens_at: start },
            _ => Phase::Open,
        }
    }

    /// When a campaign whose earliest due contact is due at `next_due` (epoch ms, as the `due`
    /// index holds it) has work for the feeder, seen at `now`: not before its start; at once
    /// once it ended, whatever the contacts' times (the feeder closes them); otherwise when the
    /// contact is due. `None` when nothing is due.
    pub fn next_work_at(&self, next_due: Option<i64>, now: DateTime<Utc>) -> Option<i64> {
        let next_due = next_due?;
        Some(match self.phase(now) {
            Phase::NotStarted { opens_at } => next_due.max(millis(opens_at)),
            Phase::Ended { .. } => next_due.min(millis(now)),
            Phase::Open => next_due,
        })
    }

    /// Whether `at` may be a callback in this campaign: before its end, if it has one (a
    /// callback before the start is fine: it waits for the start like any due contact).
    pub fn check_callback(&self, at: DateTime<Utc>) -> Result<(), CallbackProblem> {
        match self.end {
            Some(end) if at >= end => Err(CallbackProblem::AfterCampaignEnd),
            _ => Ok(()),
        }
    }

    fn from_item(item: &Item) -> CampaignSchedule {
        let at = |name: &str| {
            item.get(name)
                .and_then(|v| v.as_n().ok())
                .and_then(|v| v.parse().ok())
                .and_then(from_millis)
        };
        CampaignSchedule {
            start: at("startsAt"),
            end: at("endsAt"),
        }
    }
}

/// A schedule as stored, with who set it and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSchedule {
    pub schedule: CampaignSchedule,
    /// `file:<object key>` or `operator`.
    pub source: String,
    pub updated_at: Option<DateTime<Utc>>,
}

/// Sets `campaign`'s schedule, replacing any before it.
pub async fn write(
    ledger: &CampaignLedger,
    campaign: &str,
    schedule: &CampaignSchedule,
    source: &str,
    now: DateTime<Utc>,
) -> Result<(), FunctionError> {
    schedule.validate().map_err(FunctionError::invalid_input)?;
    let mut put = ledger
        .dynamodb
        .put_item()
        .table_name(&ledger.table_name)
        .item("pk", s(schedule_pk(campaign)))
        .item("campaign", s(campaign))
        .item("source", s(source))
        .item("updatedAt", n(millis(now)));
    if let Some(start) = schedule.start {
        put = put.item("startsAt", n(millis(start)));
    }
    if let Some(end) = schedule.end {
        put = put.item("endsAt", n(millis(end)));
    }
    put.send()
        .await
        .map_err(|e| store_error("PutItem (campaign schedule)", &e))?;
    Ok(())
}

/// Removes `campaign`'s schedule: it calls whenever contacts are due. `true` when there was one.
pub async fn clear(ledger: &CampaignLedger, campaign: &str) -> Result<bool, FunctionError> {
    let out = ledger
        .dynamodb
        .delete_item()
        .table_name(&ledger.table_name)
        .key("pk", s(schedule_pk(campaign)))
        .return_values(aws_sdk_dynamodb::types::ReturnValue::AllOld)
        .send()
        .await
        .map_err(|e| store_error("DeleteItem (campaign schedule)", &e))?;
    Ok(out.attributes().is_some_and(|a| !a.is_empty()))
}

/// `campaign`'s schedule, or `None` when it has none.
pub async fn read(
    ledger: &CampaignLedger,
    campaign: &str,
) -> Result<Option<StoredSchedule>, FunctionError> {
    let out = ledger
        .dynamodb
        .get_item()
        .table_name(&ledger.table_name)
        .key("pk", s(schedule_pk(campaign)))
        .consistent_read(true)
        .send()
        .await
        .map_err(|e| store_error("GetItem (campaign schedule)", &e))?;
    Ok(out.item().map(|item| StoredSchedule {
        schedule: CampaignSchedule::from_item(item),
        source: item
            .get("source")
            .and_then(|v| v.as_s().ok())
            .cloned()
            .unwrap_or_default(),
        updated_at: item
            .get("updatedAt")
            .and_then(|v| v.as_n().ok())
            .and_then(|v| v.parse().ok())
            .and_then(from_millis),
    }))
}

/// The schedules of `campaigns` that have one, by campaign: one lookup per hundred campaigns.
pub async fn read_many(
    ledger: &CampaignLedger,
    campaigns: &[&str],
) -> Result<HashMap<String, CampaignSchedule>, FunctionError> {
    if campaigns.is_empty() {
        return Ok(HashMap::new());
    }
    let pks: Vec<String> = campaigns.iter().map(|c| schedule_pk(c)).collect();
    let items = get_items(ledger, &pks, "campaign schedules").await?;
    Ok(campaigns
        .iter()
        .filter_map(|campaign| {
            items
                .get(&schedule_pk(campaign))
                .map(|item| (campaign.to_string(), CampaignSchedule::from_item(item)))
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 8, h, 0, 0).unwrap()
    }

    #[test]
    fn reads_both_bounds_with_their_offsets_as_utc() {
        let s = CampaignSchedule::from_json(
            r#"{"start":"2026-12-08T09:00:00-05:00","end":"2026-12-08T21:00:00Z"}"#,
        )
        .unwrap();
        assert_eq!(s.start, Some(at(14)));
        assert_eq!(s.end, Some(at(21)));
        assert_eq!(CampaignSchedule::from_json(&s.to_json()).unwrap(), s);
    }

    #[test]
    fn either_bound_alone_is_a_schedule() {
        let only_end = CampaignSchedule::from_json(r#"{"end":"2026-12-08T21:00:00Z"}"#).unwrap();
        assert_eq!(only_end.start, None);
        let only_start =
            CampaignSchedule::from_json(r#"{"start":"2026-12-08T09:00:00+01:00"}"#).unwrap();
        assert_eq!(only_start.start, Some(at(8)));
        assert_eq!(only_start.end, None);
    }

    #[test]
    fn refuses_what_is_not_a_schedule_saying_why() {
        for (raw, why) in [
            ("not json", "not JSON"),
            ("[]", "JSON object"),
            ("{}", "give `start`, `end` or both"),
            (r#"{"stop":"2026-12-08T21:00:00Z"}"#, "unknown field `stop`"),
            (r#"{"end":"2026-12-08 21:00"}"#, "RFC 3339"),
            (r#"{"end":"2026-12-08T21:00:00"}"#, "RFC 3339"),
            (r#"{"end":1765227600}"#, "in a string"),
            (
                r#"{"start":"2026-12-08T21:00:00Z","end":"2026-12-08T21:00:00Z"}"#,
                "must come after",
            ),
        ] {
            let err = CampaignSchedule::from_json(raw).unwrap_err();
            assert!(err.contains(why), "{raw}: {err}");
        }
    }

    #[test]
    fn the_phase_turns_at_the_start_and_at_the_end() {
        let s = CampaignSchedule {
            start: Some(at(9)),
            end: Some(at(17)),
        };
        assert_eq!(s.phase(at(8)), Phase::NotStarted { opens_at: at(9) });
        assert_eq!(s.phase(at(9)), Phase::Open, "the start is inclusive");
        assert_eq!(s.phase(at(16)), Phase::Open);
        assert_eq!(
            s.phase(at(17)),
            Phase::Ended { at: at(17) },
            "the end is not"
        );
        let open_ended = CampaignSchedule {
            start: Some(at(9)),
            end: None,
        };
        assert_eq!(open_ended.phase(at(23)), Phase::Open);
        let no_start = CampaignSchedule {
            start: None,
            end: Some(at(9)),
        };
        assert_eq!(no_start.phase(at(0)), Phase::Open);
        assert_eq!(no_start.phase(at(10)), Phase::Ended { at: at(9) });
    }

    #[test]
    fn work_waits_for_the_start_and_comes_at_once_after_the_end() {
        let s = CampaignSchedule {
            start: Some(at(9)),
            end: Some(at(17)),
        };
        let ms = |h| millis(at(h));
        assert_eq!(s.next_work_at(None, at(8)), None, "nothing due");
        assert_eq!(
            s.next_work_at(Some(ms(7)), at(8)),
            Some(ms(9)),
            "a contact due before the start waits for it"
        );
        assert_eq!(s.next_work_at(Some(ms(10)), at(8)), Some(ms(10)));
        assert_eq!(s.next_work_at(Some(ms(12)), at(10)), Some(ms(12)));
        assert_eq!(
            s.next_work_at(Some(ms(23)), at(18)),
            Some(ms(18)),
            "ended: a redial due later is closed now"
        );
    }

    #[test]
    fn a_callback_must_come_before_the_campaign_ends() {
        let at_rfc = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        let schedule = CampaignSchedule {
            start: Some(at_rfc("2026-03-05T09:00:00Z")),
            end: Some(at_rfc("2026-03-10T18:00:00Z")),
        };
        assert_eq!(
            schedule.check_callback(at_rfc("2026-03-10T17:59:59Z")),
            Ok(())
        );
        assert_eq!(
            schedule.check_callback(at_rfc("2026-03-04T12:00:00Z")),
            Ok(()),
            "before the start: it waits for the start"
        );
        assert_eq!(
            schedule.check_callback(at_rfc("2026-03-10T18:00:00Z")),
            Err(CallbackProblem::AfterCampaignEnd),
            "the end is exclusive"
        );
        assert_eq!(
            CallbackProblem::AfterCampaignEnd.as_str(),
            "after_campaign_end"
        );
        let open_ended = CampaignSchedule {
            start: schedule.start,
            end: None,
        };
        assert_eq!(
            open_ended.check_callback(at_rfc("2027-01-01T00:00:00Z")),
            Ok(())
        );
    }

    #[test]
    fn each_campaign_has_its_own_item() {
        assert_eq!(schedule_pk("spring"), "SCHEDULE#spring");
        assert_ne!(schedule_pk("a"), schedule_pk("b"));
    }
}
