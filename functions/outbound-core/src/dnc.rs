//! The do-not-call list: numbers the deployment must not call, as keyed hashes.
//!
//! A number is listed as one item `DNC#<key>` in the campaign ledger's table, where `<key>` is
//! its do-not-call key ([`crate::contact_key::ContactKeyer::do_not_call_key`]: HMAC-SHA-256
//! under the deployment's secret, which only KMS and the intake functions hold). The list never
//! holds a number: without the secret a key cannot be turned back into one, nor a number into
//! its key.
//!
//! - Numbers are added by a list uploaded under `dnc/` in the input bucket (load-list), and by
//!   an agent's "do not call" disposition (set-disposition, from the contact's ledger item).
//! - The intake stores each contact's key on its ledger item (`dncKey`), so the functions that
//!   check (the feeder when it leases, dial just before the call) need no secret.
//! - A listed contact is made final with the reason `dnc` and its final record, never dialed.

use crate::completion::store_error;
use crate::error::FunctionError;
use crate::ledger::CampaignLedger;
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes};
use chrono::{DateTime, Utc};
use std::collections::{HashMap, HashSet};

/// Keys one `BatchGetItem` asks for (DynamoDB's limit).
const BATCH_GET_LIMIT: usize = 100;
/// Rounds of asking again for the keys DynamoDB left unprocessed (throttling) before giving up
/// with a retryable error.
const UNPROCESSED_ROUNDS: usize = 5;

/// `DNC#<key>`: the item of a listed number.
pub fn dnc_pk(key: &str) -> String {
    format!("DNC#{key}")
}

/// Where a listing came from, kept on the item for the operator (`source`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DncSource<'a> {
    /// A list uploaded to the input bucket (its object key) and the line.
    List { object: &'a str, line: u64 },
    /// An agent's disposition on a call (the contact id).
    Agent { contact_id: &'a str },
}

impl DncSource<'_> {
    fn describe(&self) -> String {
        match self {
            DncSource::List { object, line } => format!("list:{object}:{line}"),
            DncSource::Agent { contact_id } => format!("agent:{contact_id}"),
        }
    }
}

/// Lists a number by its do-not-call key. `true` when it was not listed before; listing it
/// again changes nothing (the first source and time are kept).
pub async fn add(
    ledger: &CampaignLedger,
    key: &str,
    source: &DncSource<'_>,
    now: DateTime<Utc>,
) -> Result<bool, FunctionError> {
    let result = ledger
        .dynamodb
        .put_item()
        .table_name(&ledger.table_name)
        .item("pk", AttributeValue::S(dnc_pk(key)))
        .item(
            "addedAt",
            AttributeValue::N(now.timestamp_millis().to_string()),
        )
        .item("source", AttributeValue::S(source.describe()))
        .condition_expression("attribute_not_exists(pk)")
        .send()
        .await;
    match result {
        Ok(_) => Ok(true),
        Err(e)
            if matches!(
                e.as_service_error(),
                Some(
                    aws_sdk_dynamodb::operation::put_item::PutItemError::ConditionalCheckFailedException(_)
                )
            ) =>
        {
            Ok(false)
        }
        Err(e) => Err(store_error("PutItem (do-not-call list)", &e)),
    }
}

/// The keys among `keys` that are listed, with one `BatchGetItem` per hundred keys (keys
/// DynamoDB leaves unprocessed are asked again).
pub async fn listed(
    ledger: &CampaignLedger,
    keys: &[&str],
) -> Result<HashSet<String>, FunctionError> {
    let mut found = HashSet::new();
    let unique: Vec<&str> = {
        let mut seen = HashSet::new();
        keys.iter().copied().filter(|k| seen.insert(*k)).collect()
    };
    for chunk in unique.chunks(BATCH_GET_LIMIT) {
        let mut wanted = KeysAndAttributes::builder()
            .set_keys(Some(
                chunk
                    .iter()
                    .map(|k| HashMap::from([("pk".to_string(), AttributeValue::S(dnc_pk(k)))]))
                    .collect(),
            ))
            .projection_expression("pk")
            .consistent_read(true)
            .build()
            .map_err(|e| FunctionError::invalid_input(format!("do-not-call lookup: {e}")))?;
        for round in 0.. {
            let out = ledger
                .dynamodb
                .batch_get_item()
                .request_items(&ledger.table_name, wanted)
                .send()
                .await
                .map_err(|e| store_error("BatchGetItem (do-not-call list)", &e))?;
            for item in out
                .responses()
                .and_then(|r| r.get(&ledger.table_name))
                .into_iter()
                .flatten()
            {
                if let Some(key) = item
                    .get("pk")
                    .and_then(|v| v.as_s().ok())
                    .and_then(|pk| pk.strip_prefix("DNC#"))
                {
                    found.insert(key.to_string());
                }
            }
            match out
                .unprocessed_keys()
                .and_then(|u| u.get(&ledger.table_name))
                .filter(|k| !k.keys().is_empty())
            {
                None => break,
                Some(rest) if round + 1 < UNPROCESSED_ROUNDS => {
                    tokio::time::sleep(std::time::Duration::from_millis(50 << round)).await;
                    wanted = rest.clone();
                }
                Some(_) => {
                    return Err(FunctionError::retryable(
                        "do-not-call lookup: keys still unprocessed after retries",
                    ))
                }
            }
        }
    }
    Ok(found)
}

/// Whether one key is listed (consistent read).
pub async fn is_listed(ledger: &CampaignLedger, key: &str) -> Result<bool, FunctionError> {
    Ok(!listed(ledger, &[key]).await?.is_empty())
}
