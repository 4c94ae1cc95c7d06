//! Frequency caps: at most `max_calls` calls to one number per rolling `period`, across every
//! campaign of the deployment (docs/architecture.md, "Calling rules").
//!
//! A number's calls are one item `CAP#<key>` in the campaign ledger's table, where `<key>` is
//! the number's do-not-call key ([`crate::contact_key::ContactKeyer::do_not_call_key`], which
//! the intake stores on each contact as `dncKey`): the item never holds the number. It keeps the
//! calls of the last period as a map from the attempt's `ClientToken` to when it was placed, so
//! recording the same attempt twice (a replayed placement) counts it once, and a `version` for
//! optimistic concurrency: two lanes calling the same number at once cannot both take its last
//! call. `expiresAt` (the table's TTL) removes the item a period after its last call.
//!
//! dial records each call just before placing it ([`record_call`]); a number at its cap is
//! deferred until its oldest call of the period leaves the period. The feeder looks the caps up
//! when it leases ([`capped`]) so that capped contacts do not take a place in the queue.
//!
//! The JSON shape is the Terraform variable `frequency_cap` (environment variable
//! `FREQUENCY_CAP`): `{"enabled":true,"max_calls":3,"period_hours":24}`.

use crate::completion::store_error;
use crate::error::FunctionError;
use crate::ledger::ops::get_items;
use crate::ledger::CampaignLedger;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;
use std::collections::HashMap;

/// What a deferral by the cap records on the contact (`deferredBy`).
pub const DEFERRAL_RULE: &str = "frequency_cap";

/// The largest `max_calls` (the item keeps one entry per call of the period).
pub const MAX_CALLS_LIMIT: u32 = 100;
/// The longest period, in hours (a month).
pub const MAX_PERIOD_HOURS: u32 = 24 * 31;
/// Rounds of read-then-write before a contended number gives up with a retryable error.
const WRITE_ROUNDS: usize = 5;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCap {
    #[serde(default)]
    enabled: bool,
    #[serde(default = "default_max_calls")]
    max_calls: u32,
    #[serde(default = "default_period_hours")]
    period_hours: u32,
}

fn default_max_calls() -> u32 {
    3
}

fn default_period_hours() -> u32 {
    24
}

/// At most `max_calls` calls to one number per rolling `period`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrequencyCap {
    pub max_calls: u32,
    pub period: Duration,
}

/// Whether a number may be called now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CapVerdict {
    Allowed,
    /// At its cap until `until` (its oldest call of the period leaves the period then).
    Capped {
        until: DateTime<Utc>,
    },
}

impl FrequencyCap {
    /// Reads the variable's JSON: `Ok(None)` when the cap is off.
    pub fn from_json(raw: &str) -> Result<Option<FrequencyCap>, String> {
        let raw: RawCap = serde_json::from_str(raw).map_err(|e| e.to_string())?;
        if !raw.enabled {
            return Ok(None);
        }
        if raw.max_calls == 0 || raw.max_calls > MAX_CALLS_LIMIT {
            return Err(format!(
                "max_calls must be 1 to {MAX_CALLS_LIMIT}, not {}",
                raw.max_calls
            ));
        }
        if raw.period_hours == 0 || raw.period_hours > MAX_PERIOD_HOURS {
            return Err(format!(
                "period_hours must be 1 to {MAX_PERIOD_HOURS}, not {}",
                raw.period_hours
            ));
        }
        Ok(Some(FrequencyCap {
            max_calls: raw.max_calls,
            period: Duration::hours(i64::from(raw.period_hours)),
        }))
    }

    /// The verdict for a number called at `calls` (any order, any age).
    pub fn verdict(&self, calls: &[DateTime<Utc>], now: DateTime<Utc>) -> CapVerdict {
        let mut recent: Vec<DateTime<Utc>> = calls
            .iter()
            .copied()
            .filter(|at| *at > now - self.period)
            .collect();
        if (recent.len() as u64) < u64::from(self.max_calls) {
            return CapVerdict::Allowed;
        }
        // The call that frees a place is the one whose leaving brings the count under the cap.
        recent.sort();
        let frees = recent[recent.len() - self.max_calls as usize];
        CapVerdict::Capped {
            until: frees + self.period,
        }
    }
}

/// `CAP#<key>`: the item of a number's calls.
pub fn cap_pk(key: &str) -> String {
    format!("CAP#{key}")
}

/// The calls an item records, by attempt token.
fn calls_of(item: &HashMap<String, AttributeValue>) -> HashMap<String, DateTime<Utc>> {
    item.get("calls")
        .and_then(|v| v.as_m().ok())
        .map(|m| {
            m.iter()
                .filter_map(|(token, at)| {
                    let ms = at.as_n().ok()?.parse::<i64>().ok()?;
                    Some((token.clone(), DateTime::from_timestamp_millis(ms)?))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The numbers (by key) among `keys` at their cap now, with when each may be called again.
pub async fn capped(
    ledger: &CampaignLedger,
    cap: &FrequencyCap,
    keys: &[&str],
    now: DateTime<Utc>,
) -> Result<HashMap<String, DateTime<Utc>>, FunctionError> {
    let pks: Vec<String> = keys.iter().map(|k| cap_pk(k)).collect();
    let items = get_items(ledger, &pks, "frequency caps").await?;
    Ok(capped_in(cap, &items, now))
}

/// The keys at their cap among items read by `pk`, with when each may be called again (the
/// caps' items are `CAP#<key>`; other items are ignored, so one lookup may read the caps with
/// other rules' items).
pub fn capped_in(
    cap: &FrequencyCap,
    items: &HashMap<String, HashMap<String, AttributeValue>>,
    now: DateTime<Utc>,
) -> HashMap<String, DateTime<Utc>> {
    items
        .iter()
        .filter_map(|(pk, item)| {
            let key = pk.strip_prefix("CAP#")?;
            let calls: Vec<DateTime<Utc>> = calls_of(item).into_values().collect();
            match cap.verdict(&calls, now) {
                CapVerdict::Capped { until } => Some((key.to_string(), until)),
                CapVerdict::Allowed => None,
            }
        })
        .collect()
}

/// Records the call of attempt `token` to the number `key` at `now`, unless the number is at its
/// cap (then nothing is recorded). A token recorded already is allowed again (the same attempt
/// placed again after a failure is the same call).
pub async fn record_call(
    ledger: &CampaignLedger,
    cap: &FrequencyCap,
    key: &str,
    token: &str,
    now: DateTime<Utc>,
) -> Result<CapVerdict, FunctionError> {
    let pk = cap_pk(key);
    for _ in 0..WRITE_ROUNDS {
        let item = ledger
            .dynamodb
            .get_item()
            .table_name(&ledger.table_name)
            .key("pk", AttributeValue::S(pk.clone()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| store_error("GetItem (frequency cap)", &e))?
            .item
            .unwrap_or_default();
        let calls = calls_of(&item);
        if calls.contains_key(token) {
            return Ok(CapVerdict::Allowed);
        }
        let times: Vec<DateTime<Utc>> = calls.values().copied().collect();
        if let CapVerdict::Capped { until } = cap.verdict(&times, now) {
            return Ok(CapVerdict::Capped { until });
        }
        // The calls of the period, and this one: older ones are dropped as the map is rewritten.
        let mut kept: HashMap<String, AttributeValue> = calls
            .into_iter()
            .filter(|(_, at)| *at > now - cap.period)
            .map(|(t, at)| (t, AttributeValue::N(at.timestamp_millis().to_string())))
            .collect();
        kept.insert(
            token.to_string(),
            AttributeValue::N(now.timestamp_millis().to_string()),
        );
        let version = item
            .get("version")
            .and_then(|v| v.as_n().ok())
            .and_then(|v| v.parse::<i64>().ok());
        let mut request = ledger
            .dynamodb
            .update_item()
            .table_name(&ledger.table_name)
            .key("pk", AttributeValue::S(pk.clone()))
            .update_expression("SET #calls = :calls, #version = :next, #expiresAt = :expires")
            .expression_attribute_names("#calls", "calls")
            .expression_attribute_names("#version", "version")
            .expression_attribute_names("#expiresAt", "expiresAt")
            .expression_attribute_values(":calls", AttributeValue::M(kept))
            .expression_attribute_values(
                ":next",
                AttributeValue::N((version.unwrap_or(0) + 1).to_string()),
            )
            .expression_attribute_values(
                ":expires",
                AttributeValue::N((now + cap.period).timestamp().to_string()),
            );
        request = match version {
            Some(v) => request
                .condition_expression("#version = :version")
                .expression_attribute_values(":version", AttributeValue::N(v.to_string())),
            None => request
                .condition_expression("attribute_not_exists(#version)")
                .expression_attribute_names("#version", "version"),
        };
        match request.send().await {
            Ok(_) => return Ok(CapVerdict::Allowed),
            Err(e)
                if matches!(
                    e.as_service_error(),
                    Some(UpdateItemError::ConditionalCheckFailedException(_))
                ) =>
            {
                // Another lane called the number meanwhile: read again.
                continue;
            }
            Err(e) => return Err(store_error("UpdateItem (frequency cap)", &e)),
        }
    }
    Err(FunctionError::retryable(format!(
        "frequency cap: the number's calls kept changing for {WRITE_ROUNDS} rounds"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 9, h, m, 0).unwrap()
    }

    #[test]
    fn the_variable_reads_off_by_default_and_refuses_bad_bounds() {
        assert_eq!(FrequencyCap::from_json("{}").unwrap(), None);
        assert_eq!(
            FrequencyCap::from_json(r#"{"enabled":false,"max_calls":1}"#).unwrap(),
            None
        );
        assert_eq!(
            FrequencyCap::from_json(r#"{"enabled":true}"#).unwrap(),
            Some(FrequencyCap {
                max_calls: 3,
                period: Duration::hours(24)
            })
        );
        for bad in [
            r#"{"enabled":true,"max_calls":0}"#,
            r#"{"enabled":true,"max_calls":101}"#,
            r#"{"enabled":true,"period_hours":0}"#,
            r#"{"enabled":true,"period_hours":745}"#,
            r#"{"enabled":true,"maxCalls":2}"#,
            "not json",
        ] {
            assert!(FrequencyCap::from_json(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_number_at_its_cap_waits_for_the_call_that_frees_a_place() {
        let cap = FrequencyCap {
            max_calls: 2,
            period: Duration::hours(24),
        };
        let now = at(12, 0);
        assert_eq!(cap.verdict(&[], now), CapVerdict::Allowed);
        assert_eq!(cap.verdict(&[at(9, 0)], now), CapVerdict::Allowed);
        // Two calls today: the earlier one frees a place 24 hours after it was made.
        assert_eq!(
            cap.verdict(&[at(11, 0), at(9, 0)], now),
            CapVerdict::Capped {
                until: at(9, 0) + Duration::hours(24)
            }
        );
        // Three calls (a cap lowered since): a place is free once two have left the period.
        assert_eq!(
            cap.verdict(&[at(8, 0), at(9, 0), at(11, 0)], now),
            CapVerdict::Capped {
                until: at(9, 0) + Duration::hours(24)
            }
        );
        // A call exactly one period ago has left it.
        assert_eq!(
            cap.verdict(&[at(11, 0), now - Duration::hours(24)], now),
            CapVerdict::Allowed
        );
    }
}
