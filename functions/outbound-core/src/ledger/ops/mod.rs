//! The ledger's operations: each one a conditional write on one contact item (the transition
//! table in `docs/architecture.md`). A write whose condition fails returns the item as it was
//! (`ReturnValuesOnConditionCheckFailure=ALL_OLD`), so every answer says why without a second
//! read.

use super::attempt::AttemptId;
use super::item::{
    due_shard_key, held_shard_key, millis, n, s, shard_of, ContactState, Item, LedgerContact,
    SHARDS,
};
use super::rules::{Decision, RedialRules};
use super::{DUE_INDEX, HELD_INDEX};
use crate::completion::store_error;
use crate::contact::Contact;
use crate::error::FunctionError;
use crate::records::Outcome;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use chrono::{DateTime, Duration, Utc};
use futures::stream::{self, StreamExt};
use std::collections::HashMap;

/// Conditional puts `admit_all` keeps in flight at once.
pub const ADMIT_CONCURRENCY: usize = 25;
/// Conditional updates `lease_due` and `expire_leases` keep in flight at once.
pub const UPDATE_CONCURRENCY: usize = 16;
/// The most contacts one `lease_due`, `expire_leases` or `overdue_attempts` call handles.
pub const MAX_BATCH: usize = 1000;

/// The ledger table.
#[derive(Clone, Debug)]
pub struct CampaignLedger {
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub table_name: String,
    /// How long a final item is kept (`expiresAt`); `None`: for ever.
    pub final_retention: Option<Duration>,
}

/// Expression attribute names for every attribute an expression names as `#<attribute>`.
fn names(attributes: &[&str]) -> HashMap<String, String> {
    attributes
        .iter()
        .map(|a| (format!("#{a}"), (*a).to_string()))
        .collect()
}

fn item_error(e: super::item::ItemError) -> FunctionError {
    FunctionError::invalid_input(e.to_string())
}

fn parse(item: &Item) -> Result<LedgerContact, FunctionError> {
    LedgerContact::from_item(item).map_err(item_error)
}

/// `Some(old item)` (or `Some(None)` for no item) when the update failed its condition.
fn update_conflict(err: &SdkError<UpdateItemError, HttpResponse>) -> Option<Option<Item>> {
    match err.as_service_error() {
        Some(UpdateItemError::ConditionalCheckFailedException(e)) => Some(e.item().cloned()),
        _ => None,
    }
}

fn put_conflict(err: &SdkError<PutItemError, HttpResponse>) -> Option<Option<Item>> {
    match err.as_service_error() {
        Some(PutItemError::ConditionalCheckFailedException(e)) => Some(e.item().cloned()),
        _ => None,
    }
}

fn parse_old(old: Option<Item>) -> Result<Option<LedgerContact>, FunctionError> {
    old.filter(|i| !i.is_empty()).map(|i| parse(&i)).transpose()
}

/// An UpdateItem on the contact item `pk`.
fn update_contact(ledger: &CampaignLedger, pk: String) -> UpdateItemFluentBuilder {
    ledger
        .dynamodb
        .update_item()
        .table_name(&ledger.table_name)
        .key("pk", s(pk))
}

/// The item key of attempt `id`'s contact.
fn attempt_pk(id: &AttemptId) -> String {
    super::item::contact_pk(&id.campaign, &id.contact_key)
}

/// An UpdateItem on attempt `id`'s contact that answers the item as written, or as it was when
/// the update's condition failed (read by [`update_conflict`]).
fn update_attempt(ledger: &CampaignLedger, id: &AttemptId) -> UpdateItemFluentBuilder {
    update_contact(ledger, attempt_pk(id))
        .return_values(ReturnValue::AllNew)
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
}

/// Reads a contact (consistent read).
pub async fn read_contact(
    ledger: &CampaignLedger,
    campaign: &str,
    contact_key: &str,
) -> Result<Option<LedgerContact>, FunctionError> {
    get_pk(ledger, &super::item::contact_pk(campaign, contact_key)).await
}

async fn get_pk(ledger: &CampaignLedger, pk: &str) -> Result<Option<LedgerContact>, FunctionError> {
    let out = ledger
        .dynamodb
        .get_item()
        .table_name(&ledger.table_name)
        .key("pk", s(pk))
        .consistent_read(true)
        .send()
        .await
        .map_err(|e| store_error("GetItem (ledger)", &e))?;
    out.item().map(parse).transpose()
}

mod admit;
mod attempts;
mod batch;
mod callbacks;
mod close;
mod lease;
mod record_pending;
mod suppress_due;

pub use admit::*;
pub use attempts::*;
pub use batch::*;
pub use callbacks::*;
pub use close::*;
pub use lease::*;
pub use record_pending::{confirm_recorded, unrecorded_finals, RECORD_GRACE};
pub use suppress_due::*;

#[cfg(test)]
mod tests;
