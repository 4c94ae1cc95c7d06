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
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use std::collections::HashSet;

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
    /// An operator's command (`outbound dnc add`), from a local file and its line, or typed.
    Operator { file: Option<&'a str>, line: u64 },
}

impl DncSource<'_> {
    fn describe(&self) -> String {
        match self {
            DncSource::List { object, line } => format!("list:{object}:{line}"),
            DncSource::Agent { contact_id } => format!("agent:{contact_id}"),
            DncSource::Operator { file: None, .. } => "operator".to_string(),
            DncSource::Operator {
                file: Some(file),
                line,
            } => format!("operator:{file}:{line}"),
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

/// The keys among `keys` that are listed (strongly consistent reads, a hundred keys a request).
pub async fn listed(
    ledger: &CampaignLedger,
    keys: &[&str],
) -> Result<HashSet<String>, FunctionError> {
    let pks: Vec<String> = keys.iter().map(|k| dnc_pk(k)).collect();
    let items = crate::ledger::ops::get_items(ledger, &pks, "do-not-call list").await?;
    Ok(listed_in(&items))
}

/// The keys listed among items read by `pk` (the list's items are `DNC#<key>`; other items are
/// ignored, so one lookup may read the list with other rules' items).
pub fn listed_in<V>(items: &std::collections::HashMap<String, V>) -> HashSet<String> {
    items
        .keys()
        .filter_map(|pk| pk.strip_prefix("DNC#"))
        .map(str::to_string)
        .collect()
}

/// Whether one key is listed (consistent read).
pub async fn is_listed(ledger: &CampaignLedger, key: &str) -> Result<bool, FunctionError> {
    Ok(!listed(ledger, &[key]).await?.is_empty())
}
