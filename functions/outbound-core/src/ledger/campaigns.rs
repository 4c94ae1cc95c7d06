//! Which campaigns have work: the `CAMPAIGNS` item of the ledger, and what the feeder and the
//! run's end ask of a campaign (the earliest due contact, anything still held).
//!
//! The feeder cannot scan the ledger for campaigns: the intake adds a campaign's id to the
//! string set `active` of one `CAMPAIGNS` item (and stamps `admitted#<id>` with the time), and
//! whoever finds a campaign with nothing due, leased or dialing removes it, on condition that
//! its stamp is unchanged and old enough that the `due` index (eventually consistent) shows every
//! contact of its last admission. An intake that admits meanwhile stamps again and keeps it.

use super::item::{due_shard_key, held_shard_key, millis, n, s, ContactState, SHARDS};
use super::ops::CampaignLedger;
use super::{DUE_INDEX, HELD_INDEX};
use crate::completion::store_error;
use crate::error::FunctionError;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Duration, Utc};
use std::collections::BTreeMap;

/// The key of the item listing the campaigns with work.
pub const CAMPAIGNS_PK: &str = "CAMPAIGNS";

/// How long after its last admission a campaign stays listed even when the indexes show it
/// empty: far longer than a global secondary index takes to catch up (usually under a second).
pub const RETIRE_GRACE: Duration = Duration::minutes(10);

fn stamp_attribute(campaign: &str) -> String {
    format!("admitted#{campaign}")
}

/// Lists `campaign` as having work, before its contacts are admitted and again after (the
/// second stamp keeps a campaign that a feeder retired while the file was being read).
pub async fn register(
    ledger: &CampaignLedger,
    campaign: &str,
    now: DateTime<Utc>,
) -> Result<(), FunctionError> {
    ledger
        .dynamodb
        .update_item()
        .table_name(&ledger.table_name)
        .key("pk", s(CAMPAIGNS_PK))
        .update_expression("ADD #active :id SET #stamp = :now")
        .expression_attribute_names("#active", "active")
        .expression_attribute_names("#stamp", stamp_attribute(campaign))
        .expression_attribute_values(":id", AttributeValue::Ss(vec![campaign.to_string()]))
        .expression_attribute_values(":now", n(millis(now)))
        .send()
        .await
        .map_err(|e| store_error("UpdateItem (ledger campaigns)", &e))?;
    Ok(())
}

/// The campaigns listed as having work, each with the time of its last admission (epoch ms).
pub async fn active(ledger: &CampaignLedger) -> Result<BTreeMap<String, i64>, FunctionError> {
    let out = ledger
        .dynamodb
        .get_item()
        .table_name(&ledger.table_name)
        .key("pk", s(CAMPAIGNS_PK))
        .consistent_read(true)
        .send()
        .await
        .map_err(|e| store_error("GetItem (ledger campaigns)", &e))?;
    let Some(item) = out.item() else {
        return Ok(BTreeMap::new());
    };
    let ids = item
        .get("active")
        .and_then(|v| v.as_ss().ok())
        .cloned()
        .unwrap_or_default();
    Ok(ids
        .into_iter()
        .map(|id| {
            let stamp = item
                .get(&stamp_attribute(&id))
                .and_then(|v| v.as_n().ok())
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            (id, stamp)
        })
        .collect())
}

/// The earliest sort value of one index partition, whatever its time.
async fn earliest(
    ledger: &CampaignLedger,
    index: &str,
    partition_attr: &str,
    sort_attr: &str,
    partition: String,
) -> Result<Option<i64>, FunctionError> {
    let out = ledger
        .dynamodb
        .query()
        .table_name(&ledger.table_name)
        .index_name(index)
        .key_condition_expression("#p = :p")
        .expression_attribute_names("#p", partition_attr)
        .expression_attribute_values(":p", s(partition))
        .limit(1)
        .send()
        .await
        .map_err(|e| store_error("Query (ledger index)", &e))?;
    Ok(out
        .items()
        .first()
        .and_then(|i| i.get(sort_attr))
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok()))
}

/// When the campaign's next contact is due (epoch ms; possibly already past), or `None` when
/// nothing is due, now or later.
pub async fn next_due_at(
    ledger: &CampaignLedger,
    campaign: &str,
) -> Result<Option<i64>, FunctionError> {
    let queries = (0..SHARDS).map(|shard| {
        earliest(
            ledger,
            DUE_INDEX,
            "dueShard",
            "dueAt",
            due_shard_key(campaign, shard),
        )
    });
    let mut next: Option<i64> = None;
    for at in futures::future::join_all(queries).await {
        if let Some(at) = at? {
            next = Some(next.map_or(at, |n| n.min(at)));
        }
    }
    Ok(next)
}

/// Whether any contact of the campaign is leased or dialing, or final with its final record
/// still owed (`ledger::ops::unrecorded_finals`: the feeder writes it, so the campaign stays
/// listed until then).
pub async fn any_held(ledger: &CampaignLedger, campaign: &str) -> Result<bool, FunctionError> {
    let queries = [
        ContactState::Leased,
        ContactState::Dialing,
        ContactState::Final,
    ]
    .into_iter()
    .flat_map(|state| (0..SHARDS).map(move |shard| (state, shard)))
    .map(|(state, shard)| {
        earliest(
            ledger,
            HELD_INDEX,
            "heldShard",
            "leaseUntil",
            held_shard_key(campaign, state, shard),
        )
    });
    for held in futures::future::join_all(queries).await {
        if held?.is_some() {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Removes `campaign` from the list when it has no work left: nothing due (now or later),
/// nothing leased or dialing, and its last admission (`stamp`, as [`active`] read it) at least
/// [`RETIRE_GRACE`] ago and unchanged. `true` when it was removed.
pub async fn retire_if_done(
    ledger: &CampaignLedger,
    campaign: &str,
    stamp: i64,
    now: DateTime<Utc>,
) -> Result<bool, FunctionError> {
    if millis(now) - stamp < RETIRE_GRACE.num_milliseconds() {
        return Ok(false);
    }
    if next_due_at(ledger, campaign).await?.is_some() || any_held(ledger, campaign).await? {
        return Ok(false);
    }
    // A campaign listed without a stamp (written by hand, or a stamp lost) is retired on the
    // stamp's absence staying so.
    let (condition, stamp_value) = if stamp == 0 {
        ("attribute_not_exists(#stamp)", None)
    } else {
        ("#stamp = :stamp", Some(n(stamp)))
    };
    let result = ledger
        .dynamodb
        .update_item()
        .table_name(&ledger.table_name)
        .key("pk", s(CAMPAIGNS_PK))
        .update_expression("DELETE #active :id REMOVE #stamp")
        .condition_expression(condition)
        .expression_attribute_names("#active", "active")
        .expression_attribute_names("#stamp", stamp_attribute(campaign))
        .set_expression_attribute_values(Some(
            [(
                ":id".to_string(),
                AttributeValue::Ss(vec![campaign.to_string()]),
            )]
            .into_iter()
            .chain(stamp_value.map(|v| (":stamp".to_string(), v)))
            .collect(),
        ))
        .send()
        .await;
    match result {
        Ok(_) => Ok(true),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
        {
            Ok(false)
        }
        Err(e) => Err(store_error("UpdateItem (retire campaign)", &e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_campaign_has_its_own_stamp_attribute() {
        assert_eq!(stamp_attribute("spring"), "admitted#spring");
        assert_ne!(stamp_attribute("a"), stamp_attribute("b"));
    }
}
