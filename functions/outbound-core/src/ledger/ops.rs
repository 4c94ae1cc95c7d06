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

// ----- admit ---------------------------------------------------------------------------------

/// How a contact is admitted.
#[derive(Debug, Clone, Copy)]
pub struct AdmitOptions<'a> {
    /// Not dialed before this time (the campaign's start, or now).
    pub due_at: DateTime<Utc>,
    /// The file's redial override, stored on the contact; `None`: the deployment's rules.
    pub rules: Option<&'a RedialRules>,
    /// The round of a recurring source (a Pinpoint campaign's activity). A contact the campaign
    /// holds as `final` from another round is admitted again as new; one still being dialed,
    /// or from this same round, is not.
    pub round: Option<&'a str>,
}

/// What `admit` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// A new contact, now `due`.
    Admitted,
    /// The campaign already holds this contact (the same file again, an overlapping file, or a
    /// retry of this batch): nothing was written. `state` is the existing item's.
    AlreadyPresent { state: Option<ContactState> },
}

/// Admits one contact: a conditional put (`attribute_not_exists(pk)`), so a contact already in
/// the campaign, whatever its state, is never reset.
pub async fn admit(
    ledger: &CampaignLedger,
    contact: &Contact,
    options: &AdmitOptions<'_>,
    now: DateTime<Utc>,
) -> Result<Admission, FunctionError> {
    let item =
        super::item::new_item_of_round(contact, options.due_at, options.rules, options.round, now)
            .map_err(|e| FunctionError::invalid_input(format!("contact source: {e}")))?;
    let mut request = ledger
        .dynamodb
        .put_item()
        .table_name(&ledger.table_name)
        .set_item(Some(item));
    request = match options.round {
        None => request
            .condition_expression("attribute_not_exists(#pk)")
            .set_expression_attribute_names(Some(names(&["pk"]))),
        Some(round) => request
            .condition_expression(
                "attribute_not_exists(#pk) OR (#state = :final AND (attribute_not_exists(#round) OR #round <> :round))",
            )
            .set_expression_attribute_names(Some(names(&["pk", "state", "round"])))
            .expression_attribute_values(":final", s(ContactState::Final.as_str()))
            .expression_attribute_values(":round", s(round)),
    };
    let result = request
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
        .send()
        .await;
    match result {
        Ok(_) => Ok(Admission::Admitted),
        Err(e) => match put_conflict(&e) {
            Some(old) => Ok(Admission::AlreadyPresent {
                state: old
                    .as_ref()
                    .and_then(|i| i.get("state"))
                    .and_then(|v| v.as_s().ok())
                    .and_then(|raw| ContactState::parse(raw)),
            }),
            // The item itself is refused (too large, say): this contact's problem, not the
            // table's.
            None if e
                .as_service_error()
                .and_then(aws_sdk_dynamodb::error::ProvideErrorMetadata::code)
                == Some("ValidationException") =>
            {
                Err(FunctionError::invalid_input(format!(
                    "PutItem (ledger admit) refused the contact: {}",
                    crate::completion::sdk_code(&e)
                )))
            }
            None => Err(store_error("PutItem (ledger admit)", &e)),
        },
    }
}

/// Admits many contacts, [`ADMIT_CONCURRENCY`] conditional puts at a time, and answers for each
/// in input order.
///
/// Not `BatchWriteItem`: it takes no condition and would reset a contact already dialed. Not
/// `TransactWriteItems`: one contact already present cancels the whole transaction, and each
/// write costs double. A failed contact does not stop the others; running the same contacts
/// again is safe (those admitted the first time answer `AlreadyPresent`).
pub async fn admit_all(
    ledger: &CampaignLedger,
    contacts: &[Contact],
    options: &AdmitOptions<'_>,
    now: DateTime<Utc>,
) -> Vec<Result<Admission, FunctionError>> {
    stream::iter(contacts)
        .map(|contact| admit(ledger, contact, options, now))
        .buffered(ADMIT_CONCURRENCY)
        .collect()
        .await
}

// ----- lease ---------------------------------------------------------------------------------

/// What `lease_due` took.
#[derive(Debug, Clone, Default)]
pub struct LeasedBatch {
    /// The contacts now `leased` by the caller, oldest `dueAt` first.
    pub leased: Vec<LedgerContact>,
    /// Contacts the index offered that had moved on (leased by another feeder, or the index
    /// was behind): not leased, not an error.
    pub contended: usize,
}

/// One of the two sparse indexes, read as "keys whose time has come".
struct IndexRange {
    index: &'static str,
    partition_attr: &'static str,
    sort_attr: &'static str,
    /// How the sort key compares with now: `<=` (due at now) or `<` (deadline passed).
    before: &'static str,
}

const DUE_AT_NOW: IndexRange = IndexRange {
    index: DUE_INDEX,
    partition_attr: "dueShard",
    sort_attr: "dueAt",
    before: "<=",
};

const HELD_PAST_DEADLINE: IndexRange = IndexRange {
    index: HELD_INDEX,
    partition_attr: "heldShard",
    sort_attr: "leaseUntil",
    before: "<",
};

/// (sort value, pk) of up to `limit` keys of one index partition, oldest first.
async fn query_index(
    ledger: &CampaignLedger,
    range: &IndexRange,
    partition: String,
    now: DateTime<Utc>,
    limit: usize,
) -> Result<Vec<(i64, String)>, FunctionError> {
    let out = ledger
        .dynamodb
        .query()
        .table_name(&ledger.table_name)
        .index_name(range.index)
        .key_condition_expression(format!(
            "#{} = :p AND #{} {} :now",
            range.partition_attr, range.sort_attr, range.before
        ))
        .set_expression_attribute_names(Some(names(&[range.partition_attr, range.sort_attr])))
        .expression_attribute_values(":p", s(partition))
        .expression_attribute_values(":now", n(millis(now)))
        .limit(limit as i32)
        .send()
        .await
        .map_err(|e| store_error("Query (ledger index)", &e))?;
    Ok(out
        .items()
        .iter()
        .filter_map(|i| {
            let pk = i.get("pk")?.as_s().ok()?.clone();
            let at = i.get(range.sort_attr)?.as_n().ok()?.parse().ok()?;
            Some((at, pk))
        })
        .collect())
}

/// The `limit` oldest keys over the shards of one campaign's partitions (`partition_of(shard)`),
/// each as (sort value, pk, shard). The shards are queried at once.
async fn oldest_over_shards(
    ledger: &CampaignLedger,
    range: &IndexRange,
    partition_of: impl Fn(u32) -> String,
    now: DateTime<Utc>,
    limit: usize,
) -> Result<Vec<(i64, String, u32)>, FunctionError> {
    let queries = (0..SHARDS).map(|shard| {
        let partition = partition_of(shard);
        async move {
            query_index(ledger, range, partition, now, limit)
                .await
                .map(|keys| {
                    keys.into_iter()
                        .map(|(at, pk)| (at, pk, shard))
                        .collect::<Vec<_>>()
                })
        }
    });
    let mut all = Vec::new();
    for keys in futures::future::join_all(queries).await {
        all.extend(keys?);
    }
    all.sort();
    all.truncate(limit);
    Ok(all)
}

/// Leases up to `limit` contacts of `campaign` that are due at `now`, oldest `dueAt` first:
/// one query of the `due` index per shard, then for each key a conditional update
/// (`state = due AND dueAt <= now`) to `leased` until `lease_until`, out of the `due` index and
/// into the `held` one.
pub async fn lease_due(
    ledger: &CampaignLedger,
    campaign: &str,
    now: DateTime<Utc>,
    limit: usize,
    lease_until: DateTime<Utc>,
    leased_by: &str,
) -> Result<LeasedBatch, FunctionError> {
    let limit = limit.clamp(1, MAX_BATCH);
    let keys = oldest_over_shards(
        ledger,
        &DUE_AT_NOW,
        |shard| due_shard_key(campaign, shard),
        now,
        limit,
    )
    .await?;
    let results: Vec<Result<Option<LedgerContact>, FunctionError>> = stream::iter(keys)
        .map(|(_, pk, shard)| async move {
            lease_pk(ledger, campaign, pk, shard, now, lease_until, leased_by).await
        })
        .buffered(UPDATE_CONCURRENCY)
        .collect()
        .await;
    let (leased, contended) = won_and_contended(results)?;
    Ok(LeasedBatch { leased, contended })
}

/// Splits the answers of conditional writes run side by side: the contacts each write won, and
/// how many lost their condition (someone else moved the contact on; not an error). The first
/// error stops the split.
fn won_and_contended(
    results: Vec<Result<Option<LedgerContact>, FunctionError>>,
) -> Result<(Vec<LedgerContact>, usize), FunctionError> {
    let mut won = Vec::new();
    let mut contended = 0;
    for result in results {
        match result? {
            Some(contact) => won.push(contact),
            None => contended += 1,
        }
    }
    Ok((won, contended))
}

/// Leases one contact (condition `state = due AND dueAt <= now`): `None` when it is not due
/// (already leased, dialing, final, not yet due, or absent). [`lease_due`] leases what the
/// index offers through this same write.
pub async fn lease(
    ledger: &CampaignLedger,
    campaign: &str,
    contact_key: &str,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    leased_by: &str,
) -> Result<Option<LedgerContact>, FunctionError> {
    lease_pk(
        ledger,
        campaign,
        super::item::contact_pk(campaign, contact_key),
        shard_of(contact_key),
        now,
        lease_until,
        leased_by,
    )
    .await
}

async fn lease_pk(
    ledger: &CampaignLedger,
    campaign: &str,
    pk: String,
    shard: u32,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    leased_by: &str,
) -> Result<Option<LedgerContact>, FunctionError> {
    let result = ledger
        .dynamodb
        .update_item()
        .table_name(&ledger.table_name)
        .key("pk", s(pk))
        .update_expression(
            "SET #state = :leased, #leaseUntil = :until, #heldShard = :held, \
             #leasedBy = :by REMOVE #dueShard",
        )
        .condition_expression("#state = :due AND #dueAt <= :now")
        .set_expression_attribute_names(Some(names(&[
            "state",
            "leaseUntil",
            "heldShard",
            "leasedBy",
            "dueShard",
            "dueAt",
        ])))
        .expression_attribute_values(":leased", s(ContactState::Leased.as_str()))
        .expression_attribute_values(":due", s(ContactState::Due.as_str()))
        .expression_attribute_values(":until", n(millis(lease_until)))
        .expression_attribute_values(
            ":held",
            s(held_shard_key(campaign, ContactState::Leased, shard)),
        )
        .expression_attribute_values(":by", s(leased_by))
        .expression_attribute_values(":now", n(millis(now)))
        .return_values(ReturnValue::AllNew)
        .send()
        .await;
    match result {
        Ok(out) => parse(out.attributes().unwrap_or(&HashMap::new())).map(Some),
        Err(e) if update_conflict(&e).is_some() => Ok(None),
        Err(e) => Err(store_error("UpdateItem (ledger lease)", &e)),
    }
}

/// What `expire_leases` did.
#[derive(Debug, Clone, Default)]
pub struct ExpiredLeases {
    /// Contacts due again (at their original `dueAt`), with their `leaseExpiries` counted.
    pub expired: Vec<LedgerContact>,
    /// Leases that moved on meanwhile (the contact's attempt began): untouched.
    pub contended: usize,
}

/// Makes leased contacts of `campaign` whose lease ran out before `now` due again: the `held`
/// index's `leased` partitions, then a conditional update (`state = leased AND leaseUntil <
/// now`) per contact, counting the expiry in `leaseExpiries`.
pub async fn expire_leases(
    ledger: &CampaignLedger,
    campaign: &str,
    now: DateTime<Utc>,
    limit: usize,
) -> Result<ExpiredLeases, FunctionError> {
    let limit = limit.clamp(1, MAX_BATCH);
    let keys = oldest_over_shards(
        ledger,
        &HELD_PAST_DEADLINE,
        |shard| held_shard_key(campaign, ContactState::Leased, shard),
        now,
        limit,
    )
    .await?;
    let results: Vec<Result<Option<LedgerContact>, FunctionError>> = stream::iter(keys)
        .map(|(_, pk, shard)| async move {
            let result = ledger
                .dynamodb
                .update_item()
                .table_name(&ledger.table_name)
                .key("pk", s(pk))
                .update_expression(
                    "SET #state = :due, #dueShard = :dueShard ADD #leaseExpiries :one \
                     REMOVE #leaseUntil, #heldShard, #leasedBy",
                )
                .condition_expression("#state = :leased AND #leaseUntil < :now")
                .set_expression_attribute_names(Some(names(&[
                    "state",
                    "dueShard",
                    "leaseExpiries",
                    "leaseUntil",
                    "heldShard",
                    "leasedBy",
                ])))
                .expression_attribute_values(":due", s(ContactState::Due.as_str()))
                .expression_attribute_values(":leased", s(ContactState::Leased.as_str()))
                .expression_attribute_values(":dueShard", s(due_shard_key(campaign, shard)))
                .expression_attribute_values(":one", n(1))
                .expression_attribute_values(":now", n(millis(now)))
                .return_values(ReturnValue::AllNew)
                .send()
                .await;
            match result {
                Ok(out) => parse(out.attributes().unwrap_or(&HashMap::new())).map(Some),
                Err(e) if update_conflict(&e).is_some() => Ok(None),
                Err(e) => Err(store_error("UpdateItem (ledger lease expiry)", &e)),
            }
        })
        .buffered(UPDATE_CONCURRENCY)
        .collect()
        .await;
    let (expired, contended) = won_and_contended(results)?;
    Ok(ExpiredLeases { expired, contended })
}

/// Contacts of `campaign` still `dialing` past their attempt's deadline (a dial that died, a
/// call whose end never came), oldest deadline first: each one is recovered with
/// [`super::recover`].
pub async fn overdue_attempts(
    ledger: &CampaignLedger,
    campaign: &str,
    now: DateTime<Utc>,
    limit: usize,
) -> Result<Vec<LedgerContact>, FunctionError> {
    let limit = limit.clamp(1, MAX_BATCH);
    let keys = oldest_over_shards(
        ledger,
        &HELD_PAST_DEADLINE,
        |shard| held_shard_key(campaign, ContactState::Dialing, shard),
        now,
        limit,
    )
    .await?;
    let items: Vec<Result<Option<LedgerContact>, FunctionError>> = stream::iter(keys)
        .map(|(_, pk, _)| async move { get_pk(ledger, &pk).await })
        .buffered(UPDATE_CONCURRENCY)
        .collect()
        .await;
    let mut overdue = Vec::new();
    for item in items {
        // The index may be behind the item: keep only what is still overdue.
        if let Some(item) = item? {
            if item.state == ContactState::Dialing && item.lease_until.is_some_and(|t| t < now) {
                overdue.push(item);
            }
        }
    }
    Ok(overdue)
}

// ----- attempts ------------------------------------------------------------------------------

/// What `begin_attempt` found.
#[derive(Debug, Clone, PartialEq)]
pub enum AttemptBegun {
    /// The contact is now `dialing` this attempt: place the call with the item's
    /// `clientToken`.
    Begun(LedgerContact),
    /// This attempt was already begun (a redelivered or second buffered message): decide
    /// with [`super::recover`], never place blindly.
    AlreadyDialing(LedgerContact),
    /// The contact is elsewhere (due again, on a later attempt, final, or absent): drop the
    /// message.
    Stale(Option<LedgerContact>),
}

/// `leased` → `dialing` for attempt `id.attempt` (condition `state = leased AND attempt =
/// :attempt`), with the attempt's `ClientToken` and its deadline (`leaseUntil`, in the `held`
/// index's `dialing` partition).
pub async fn begin_attempt(
    ledger: &CampaignLedger,
    id: &AttemptId,
    deadline: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<AttemptBegun, FunctionError> {
    let shard = shard_of(&id.contact_key);
    let result = ledger
        .dynamodb
        .update_item()
        .table_name(&ledger.table_name)
        .key(
            "pk",
            s(super::item::contact_pk(&id.campaign, &id.contact_key)),
        )
        .update_expression(
            "SET #state = :dialing, #clientToken = :token, #attemptStartedAt = :now, \
             #leaseUntil = :deadline, #heldShard = :held",
        )
        .condition_expression("#state = :leased AND #attempt = :attempt")
        .set_expression_attribute_names(Some(names(&[
            "state",
            "clientToken",
            "attemptStartedAt",
            "leaseUntil",
            "heldShard",
            "attempt",
        ])))
        .expression_attribute_values(":dialing", s(ContactState::Dialing.as_str()))
        .expression_attribute_values(":leased", s(ContactState::Leased.as_str()))
        .expression_attribute_values(":token", s(id.client_token()))
        .expression_attribute_values(":now", n(millis(now)))
        .expression_attribute_values(":deadline", n(millis(deadline)))
        .expression_attribute_values(
            ":held",
            s(held_shard_key(&id.campaign, ContactState::Dialing, shard)),
        )
        .expression_attribute_values(":attempt", n(i64::from(id.attempt)))
        .return_values(ReturnValue::AllNew)
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
        .send()
        .await;
    match result {
        Ok(out) => Ok(AttemptBegun::Begun(parse(
            out.attributes().unwrap_or(&HashMap::new()),
        )?)),
        Err(e) => match update_conflict(&e) {
            Some(old) => match parse_old(old)? {
                Some(item) if item.state == ContactState::Dialing && item.attempt == id.attempt => {
                    Ok(AttemptBegun::AlreadyDialing(item))
                }
                other => Ok(AttemptBegun::Stale(other)),
            },
            None => Err(store_error("UpdateItem (ledger begin attempt)", &e)),
        },
    }
}

/// What `record_placed` did.
#[derive(Debug, Clone, PartialEq)]
pub enum Placed {
    /// The attempt now names its call (or already named this same call).
    Recorded(LedgerContact),
    /// The attempt is not `dialing` any more, or names another call: nothing written.
    Refused(Option<LedgerContact>),
}

/// Records the contact id Connect returned for attempt `id` (condition `state = dialing AND
/// attempt = :attempt AND (attribute_not_exists(contactId) OR contactId = :id)`). From now on
/// the attempt is never placed again, only reconciled.
pub async fn record_placed(
    ledger: &CampaignLedger,
    id: &AttemptId,
    contact_id: &str,
) -> Result<Placed, FunctionError> {
    let result = ledger
        .dynamodb
        .update_item()
        .table_name(&ledger.table_name)
        .key(
            "pk",
            s(super::item::contact_pk(&id.campaign, &id.contact_key)),
        )
        .update_expression("SET #contactId = :id")
        .condition_expression(
            "#state = :dialing AND #attempt = :attempt \
             AND (attribute_not_exists(#contactId) OR #contactId = :id)",
        )
        .set_expression_attribute_names(Some(names(&["contactId", "state", "attempt"])))
        .expression_attribute_values(":id", s(contact_id))
        .expression_attribute_values(":dialing", s(ContactState::Dialing.as_str()))
        .expression_attribute_values(":attempt", n(i64::from(id.attempt)))
        .return_values(ReturnValue::AllNew)
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
        .send()
        .await;
    match result {
        Ok(out) => Ok(Placed::Recorded(parse(
            out.attributes().unwrap_or(&HashMap::new()),
        )?)),
        Err(e) => match update_conflict(&e) {
            Some(old) => Ok(Placed::Refused(parse_old(old)?)),
            None => Err(store_error("UpdateItem (ledger placed)", &e)),
        },
    }
}

/// Moves the deadline of attempt `id` (condition `state = dialing AND attempt = :attempt`):
/// the reconcile path found the call still up. `false` when the attempt is no longer dialing.
pub async fn extend_attempt(
    ledger: &CampaignLedger,
    id: &AttemptId,
    deadline: DateTime<Utc>,
) -> Result<bool, FunctionError> {
    let result = ledger
        .dynamodb
        .update_item()
        .table_name(&ledger.table_name)
        .key(
            "pk",
            s(super::item::contact_pk(&id.campaign, &id.contact_key)),
        )
        .update_expression("SET #leaseUntil = :deadline")
        .condition_expression("#state = :dialing AND #attempt = :attempt")
        .set_expression_attribute_names(Some(names(&["leaseUntil", "state", "attempt"])))
        .expression_attribute_values(":deadline", n(millis(deadline)))
        .expression_attribute_values(":dialing", s(ContactState::Dialing.as_str()))
        .expression_attribute_values(":attempt", n(i64::from(id.attempt)))
        .send()
        .await;
    match result {
        Ok(_) => Ok(true),
        Err(e) if update_conflict(&e).is_some() => Ok(false),
        Err(e) => Err(store_error("UpdateItem (ledger extend attempt)", &e)),
    }
}

/// What `finish` did.
#[derive(Debug, Clone, PartialEq)]
pub enum Finished {
    /// The contact is `final`.
    Final(LedgerContact),
    /// The contact is `due` again for its next attempt.
    Redialed(LedgerContact),
    /// This attempt was finished before (a retried or duplicate event): nothing written.
    AlreadyFinished(LedgerContact),
    /// The contact is not dialing this attempt and never finished it (not begun, or absent):
    /// nothing written.
    Refused(Option<LedgerContact>),
}

fn classify_not_dialing(item: Option<LedgerContact>, attempt: u32) -> Finished {
    match item {
        Some(item)
            if item.attempt > attempt
                || (item.state == ContactState::Final && item.attempt == attempt) =>
        {
            Finished::AlreadyFinished(item)
        }
        other => Finished::Refused(other),
    }
}

/// Finishes attempt `id` with `outcome`: the contact's rules (its file's override, else
/// `deployment`) decide between `final` and `due` again with the next attempt. Reads the item
/// for its rules, then writes conditionally (`state = dialing AND attempt = :attempt`).
pub async fn finish(
    ledger: &CampaignLedger,
    id: &AttemptId,
    outcome: Outcome,
    deployment: &RedialRules,
    now: DateTime<Utc>,
) -> Result<Finished, FunctionError> {
    let current = read_contact(ledger, &id.campaign, &id.contact_key).await?;
    let decision = match &current {
        Some(item) if item.state == ContactState::Dialing && item.attempt == id.attempt => {
            item.rules(deployment).decide(id.attempt, outcome, now)
        }
        _ => return Ok(classify_not_dialing(current, id.attempt)),
    };
    settle(ledger, id, decision, Some(outcome), now).await
}

/// Applies a decision to attempt `id` (condition `state = dialing AND attempt = :attempt`):
/// `final` with its reason, or `due` again. [`finish`] is the usual way in; callers with a
/// reason of their own (a number no longer allowed: [`super::FinalReason::Rejected`]) call
/// this.
pub async fn settle(
    ledger: &CampaignLedger,
    id: &AttemptId,
    decision: Decision,
    outcome: Option<Outcome>,
    now: DateTime<Utc>,
) -> Result<Finished, FunctionError> {
    let mut set = Vec::new();
    let mut remove = vec!["#leaseUntil", "#heldShard"];
    let mut attributes = vec!["state", "attempt", "leaseUntil", "heldShard"];
    let mut values: HashMap<String, AttributeValue> = HashMap::from([
        (":dialing".to_string(), s(ContactState::Dialing.as_str())),
        (":attempt".to_string(), n(i64::from(id.attempt))),
    ]);
    match decision {
        Decision::Final(reason) => {
            set.push("#state = :final, #finalReason = :reason, #finalAt = :now");
            attributes.extend(["finalReason", "finalAt"]);
            values.insert(":final".into(), s(ContactState::Final.as_str()));
            values.insert(":reason".into(), s(reason.as_str()));
            values.insert(":now".into(), n(millis(now)));
            if let Some(retention) = ledger.final_retention {
                set.push("#expiresAt = :expiresAt");
                attributes.push("expiresAt");
                values.insert(":expiresAt".into(), n((now + retention).timestamp()));
            }
        }
        Decision::Redial { attempt, due_at } => {
            set.push("#state = :due, #attempt = :next, #dueAt = :dueAt, #dueShard = :dueShard");
            remove.extend([
                "#clientToken",
                "#contactId",
                "#attemptStartedAt",
                "#leasedBy",
            ]);
            attributes.extend([
                "dueAt",
                "dueShard",
                "clientToken",
                "contactId",
                "attemptStartedAt",
                "leasedBy",
            ]);
            values.insert(":due".into(), s(ContactState::Due.as_str()));
            values.insert(":next".into(), n(i64::from(attempt)));
            values.insert(":dueAt".into(), n(millis(due_at)));
            values.insert(
                ":dueShard".into(),
                s(due_shard_key(&id.campaign, shard_of(&id.contact_key))),
            );
        }
    }
    if let Some(outcome) = outcome {
        set.push("#lastOutcome = :outcome");
        attributes.push("lastOutcome");
        values.insert(":outcome".into(), s(outcome.as_str()));
    }
    let expression = format!("SET {} REMOVE {}", set.join(", "), remove.join(", "));
    let result = ledger
        .dynamodb
        .update_item()
        .table_name(&ledger.table_name)
        .key(
            "pk",
            s(super::item::contact_pk(&id.campaign, &id.contact_key)),
        )
        .update_expression(expression)
        .condition_expression("#state = :dialing AND #attempt = :attempt")
        .set_expression_attribute_names(Some(names(&attributes)))
        .set_expression_attribute_values(Some(values))
        .return_values(ReturnValue::AllNew)
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
        .send()
        .await;
    match result {
        Ok(out) => {
            let item = parse(out.attributes().unwrap_or(&HashMap::new()))?;
            Ok(match decision {
                Decision::Final(_) => Finished::Final(item),
                Decision::Redial { .. } => Finished::Redialed(item),
            })
        }
        Err(e) => match update_conflict(&e) {
            Some(old) => Ok(classify_not_dialing(parse_old(old)?, id.attempt)),
            None => Err(store_error("UpdateItem (ledger finish)", &e)),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::super::item::new_item;
    use super::*;

    #[test]
    fn expression_names_are_the_attributes_behind_a_hash() {
        let map = names(&["state", "dueAt"]);
        assert_eq!(map.len(), 2);
        assert_eq!(map["#state"], "state");
        assert_eq!(map["#dueAt"], "dueAt");
    }

    fn contact(state: ContactState, attempt: u32) -> LedgerContact {
        let now = chrono::DateTime::parse_from_rfc3339("2026-03-04T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let c = crate::contact::Contact {
            campaign: "spring".into(),
            key: "C-1".into(),
            phone: "+442079460123".into(),
            contact_key: "0123456789abcdef0123456789abcdef".into(),
            attempt: 1,
            attributes: Default::default(),
            source: crate::contact::ContactSource::Csv {
                object: "a.csv".into(),
                line: 2,
            },
        };
        let mut item = LedgerContact::from_item(&new_item(&c, now, None, now).unwrap()).unwrap();
        item.state = state;
        item.attempt = attempt;
        item
    }

    #[test]
    fn a_finish_that_comes_again_is_told_apart_from_one_in_the_wrong_state() {
        use ContactState::*;
        // Redialed already: the item is on a later attempt.
        assert!(matches!(
            classify_not_dialing(Some(contact(Due, 2)), 1),
            Finished::AlreadyFinished(_)
        ));
        assert!(matches!(
            classify_not_dialing(Some(contact(Leased, 3)), 1),
            Finished::AlreadyFinished(_)
        ));
        // Final at this very attempt.
        assert!(matches!(
            classify_not_dialing(Some(contact(Final, 1)), 1),
            Finished::AlreadyFinished(_)
        ));
        // Never begun, or absent: refused.
        assert!(matches!(
            classify_not_dialing(Some(contact(Leased, 1)), 1),
            Finished::Refused(Some(_))
        ));
        assert!(matches!(
            classify_not_dialing(Some(contact(Due, 1)), 1),
            Finished::Refused(Some(_))
        ));
        assert_eq!(classify_not_dialing(None, 1), Finished::Refused(None));
    }
}
