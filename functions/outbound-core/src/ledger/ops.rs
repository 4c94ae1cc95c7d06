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
    /// The contact is `due` again for its next attempt at the time the agent promised during
    /// this one (a callback), whatever the rules would have decided.
    CallbackDue(LedgerContact),
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

/// Times `finish` decides again when a callback was set (or changed) on the attempt between
/// its read and its write.
const FINISH_ROUNDS: usize = 3;

/// Finishes attempt `id` with `outcome`: a callback the agent set during the attempt
/// (`callbackAt`) makes the contact due at that time ([`Decision::Callback`]); otherwise the
/// contact's rules (its file's override, else `deployment`) decide between `final` and `due`
/// again with the next attempt. Reads the item, then writes conditionally (`state = dialing AND
/// attempt = :attempt`, and `callbackAt` as read, so a callback set in between is never lost:
/// the decision is taken again).
pub async fn finish(
    ledger: &CampaignLedger,
    id: &AttemptId,
    outcome: Outcome,
    deployment: &RedialRules,
    now: DateTime<Utc>,
) -> Result<Finished, FunctionError> {
    let mut current = read_contact(ledger, &id.campaign, &id.contact_key).await?;
    for _ in 0..FINISH_ROUNDS {
        let (decision, callback_at) = match &current {
            Some(item) if item.state == ContactState::Dialing && item.attempt == id.attempt => (
                Decision::after(
                    item.rules(deployment),
                    id.attempt,
                    outcome,
                    item.callback_at,
                    now,
                ),
                item.callback_at,
            ),
            _ => return Ok(classify_not_dialing(current, id.attempt)),
        };
        match settle_guarded(ledger, id, decision, Some(outcome), now, Some(callback_at)).await? {
            // Still dialing this attempt: only the callback changed since the read.
            Finished::Refused(Some(item))
                if item.state == ContactState::Dialing && item.attempt == id.attempt =>
            {
                current = Some(item);
            }
            finished => return Ok(finished),
        }
    }
    Err(FunctionError::retryable(format!(
        "ledger finish: the callback of {}/{} attempt {} kept changing",
        id.campaign, id.contact_key, id.attempt
    )))
}

/// Applies a decision to attempt `id` (condition `state = dialing AND attempt = :attempt`):
/// `final` with its reason, or `due` again. [`finish`] is the usual way in; callers with a
/// reason of their own (a number no longer allowed: [`super::FinalReason::Rejected`]) call
/// this. A callback the attempt held is dropped: the caller's decision stands.
pub async fn settle(
    ledger: &CampaignLedger,
    id: &AttemptId,
    decision: Decision,
    outcome: Option<Outcome>,
    now: DateTime<Utc>,
) -> Result<Finished, FunctionError> {
    settle_guarded(ledger, id, decision, outcome, now, None).await
}

/// [`settle`], and with `callback: Some(at)` also conditioned on the item's `callbackAt` being
/// `at` (absent for `None`).
async fn settle_guarded(
    ledger: &CampaignLedger,
    id: &AttemptId,
    decision: Decision,
    outcome: Option<Outcome>,
    now: DateTime<Utc>,
    callback: Option<Option<DateTime<Utc>>>,
) -> Result<Finished, FunctionError> {
    let mut set = Vec::new();
    // The callback is consumed by the attempt it was set in, whatever the decision.
    let mut remove = vec!["#leaseUntil", "#heldShard", "#callbackAt"];
    let mut attributes = vec!["state", "attempt", "leaseUntil", "heldShard", "callbackAt"];
    let mut values: HashMap<String, AttributeValue> = HashMap::from([
        (":dialing".to_string(), s(ContactState::Dialing.as_str())),
        (":attempt".to_string(), n(i64::from(id.attempt))),
    ]);
    let mut condition = String::from("#state = :dialing AND #attempt = :attempt");
    match callback {
        None => {}
        Some(None) => condition.push_str(" AND attribute_not_exists(#callbackAt)"),
        Some(Some(at)) => {
            condition.push_str(" AND #callbackAt = :callbackAt");
            values.insert(":callbackAt".into(), n(millis(at)));
        }
    }
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
        Decision::Redial { attempt, due_at } | Decision::Callback { attempt, due_at } => {
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
        .condition_expression(condition)
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
                Decision::Callback { .. } => Finished::CallbackDue(item),
            })
        }
        Err(e) => match update_conflict(&e) {
            Some(old) => Ok(classify_not_dialing(parse_old(old)?, id.attempt)),
            None => Err(store_error("UpdateItem (ledger finish)", &e)),
        },
    }
}

// ----- callbacks -----------------------------------------------------------------------------

/// What `schedule_callback` did.
#[derive(Debug, Clone, PartialEq)]
pub enum CallbackScheduled {
    /// The attempt is still `dialing`: the callback is stored on it (`callbackAt`) and applied
    /// when the attempt ends ([`finish`]).
    Pending(LedgerContact),
    /// The attempt had ended: the contact is `due` for its next attempt at the callback time
    /// (`reopened`: it was `final`; otherwise its pending redial was moved).
    Due { item: LedgerContact, reopened: bool },
    /// The contact has moved on past this attempt (a later attempt is dialing or done):
    /// nothing written.
    TooLate(LedgerContact),
    /// The contact is final for a reason a callback does not override (`do_not_call`,
    /// `rejected`, `campaign_ended`): nothing written.
    Closed(LedgerContact),
    /// The ledger does not hold this attempt as placed (not a contact of the ledger, or an
    /// attempt never begun): nothing written.
    Unknown(Option<LedgerContact>),
}

/// Final reasons a callback never reopens: nobody is to be called again.
fn closed_for_good(reason: Option<super::FinalReason>) -> bool {
    use super::FinalReason::*;
    matches!(reason, Some(DoNotCall | Rejected | CampaignEnded))
}

/// The write a callback for attempt `attempt` makes on an item in this state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CallbackWrite {
    /// `dialing` this attempt: store `callbackAt`.
    Store,
    /// `final` at this attempt: `due` again, next attempt, at the callback time.
    Reopen,
    /// `due` or `leased` for the next attempt (a redial pending): `due` at the callback time.
    Move,
}

/// The write for `item`'s state, or (`Err`) the answer when there is none to make.
fn callback_write(
    item: &LedgerContact,
    attempt: u32,
) -> Result<CallbackWrite, Box<CallbackScheduled>> {
    use ContactState::*;
    let answer = |a: CallbackScheduled| Err(Box::new(a));
    match (item.state, item.attempt) {
        (Dialing, a) if a == attempt => Ok(CallbackWrite::Store),
        (Final, a) if a == attempt && !closed_for_good(item.final_reason) => {
            Ok(CallbackWrite::Reopen)
        }
        (Due | Leased, a) if a == attempt + 1 => Ok(CallbackWrite::Move),
        (Final, a) if a == attempt => answer(CallbackScheduled::Closed(item.clone())),
        (_, a) if a > attempt => answer(CallbackScheduled::TooLate(item.clone())),
        _ => answer(CallbackScheduled::Unknown(Some(item.clone()))),
    }
}

/// Times `schedule_callback` writes at most (each lost condition tells it the item's state).
const CALLBACK_ROUNDS: usize = 4;

/// Schedules the agent's callback at `at` for the contact of attempt `id` (the call the agent
/// handled): one conditional UpdateItem on the contact's item, chosen by its state and always
/// conditioned on the attempt number, so a late or duplicate disposition never moves a later
/// attempt.
///
/// - `dialing` attempt `id.attempt`: `callbackAt` is stored; [`finish`] makes the contact due
///   at that time when the attempt ends;
/// - `final` at attempt `id.attempt`: `due` again for the next attempt at `at` (reopened;
///   final and lease fields removed, `expiresAt` too, so the TTL never deletes a due contact);
///   its final record is rewritten when it ends again;
/// - `due` or `leased` for attempt `id.attempt + 1` (a redial pending): `due` at `at` (a leased
///   message is then stale and dropped by dial's `begin_attempt`).
///
/// The first write assumes the call is still up; a lost condition returns the item
/// (`ALL_OLD`), which chooses the next write. The caller checks `at` (see
/// [`super::rules::check_callback`]).
///
/// A final item is reopened only while its reason is one a callback may override; the reason
/// cannot change while the item stays final at this attempt, so the condition need not repeat
/// it.
pub async fn schedule_callback(
    ledger: &CampaignLedger,
    id: &AttemptId,
    at: DateTime<Utc>,
) -> Result<CallbackScheduled, FunctionError> {
    let mut write = CallbackWrite::Store;
    for _ in 0..CALLBACK_ROUNDS {
        match write_callback(ledger, id, at, write).await? {
            Ok(item) => {
                return Ok(match write {
                    CallbackWrite::Store => CallbackScheduled::Pending(item),
                    CallbackWrite::Reopen => CallbackScheduled::Due {
                        item,
                        reopened: true,
                    },
                    CallbackWrite::Move => CallbackScheduled::Due {
                        item,
                        reopened: false,
                    },
                })
            }
            Err(None) => return Ok(CallbackScheduled::Unknown(None)),
            Err(Some(item)) => match callback_write(&item, id.attempt) {
                Ok(next) => write = next,
                Err(answer) => return Ok(*answer),
            },
        }
    }
    Err(FunctionError::retryable(format!(
        "ledger callback: {}/{} kept moving under attempt {}",
        id.campaign, id.contact_key, id.attempt
    )))
}

/// One callback write: the item after it, or (`Err`) the item as it was when the condition
/// failed (`None`: no item).
async fn write_callback(
    ledger: &CampaignLedger,
    id: &AttemptId,
    at: DateTime<Utc>,
    write: CallbackWrite,
) -> Result<Result<LedgerContact, Option<LedgerContact>>, FunctionError> {
    let due_shard = s(due_shard_key(&id.campaign, shard_of(&id.contact_key)));
    let mut values: HashMap<String, AttributeValue> =
        HashMap::from([(":at".into(), n(millis(at)))]);
    let (expression, condition, attributes): (&str, &str, &[&str]) = match write {
        CallbackWrite::Store => {
            values.insert(":dialing".into(), s(ContactState::Dialing.as_str()));
            values.insert(":attempt".into(), n(i64::from(id.attempt)));
            (
                "SET #callbackAt = :at",
                "#state = :dialing AND #attempt = :attempt",
                &["callbackAt", "state", "attempt"],
            )
        }
        CallbackWrite::Reopen => {
            values.insert(":final".into(), s(ContactState::Final.as_str()));
            values.insert(":due".into(), s(ContactState::Due.as_str()));
            values.insert(":attempt".into(), n(i64::from(id.attempt)));
            values.insert(":next".into(), n(i64::from(id.attempt) + 1));
            values.insert(":dueShard".into(), due_shard);
            (
                "SET #state = :due, #attempt = :next, #dueAt = :at, #dueShard = :dueShard \
                 REMOVE #finalReason, #finalAt, #expiresAt, #clientToken, #contactId, \
                 #attemptStartedAt, #leasedBy, #leaseUntil, #heldShard, #callbackAt",
                "#state = :final AND #attempt = :attempt",
                &[
                    "state",
                    "attempt",
                    "dueAt",
                    "dueShard",
                    "finalReason",
                    "finalAt",
                    "expiresAt",
                    "clientToken",
                    "contactId",
                    "attemptStartedAt",
                    "leasedBy",
                    "leaseUntil",
                    "heldShard",
                    "callbackAt",
                ],
            )
        }
        CallbackWrite::Move => {
            values.insert(":due".into(), s(ContactState::Due.as_str()));
            values.insert(":leased".into(), s(ContactState::Leased.as_str()));
            values.insert(":next".into(), n(i64::from(id.attempt) + 1));
            values.insert(":dueShard".into(), due_shard);
            (
                "SET #state = :due, #dueAt = :at, #dueShard = :dueShard \
                 REMOVE #leaseUntil, #heldShard, #leasedBy",
                "(#state = :due OR #state = :leased) AND #attempt = :next",
                &[
                    "state",
                    "attempt",
                    "dueAt",
                    "dueShard",
                    "leaseUntil",
                    "heldShard",
                    "leasedBy",
                ],
            )
        }
    };
    let result = ledger
        .dynamodb
        .update_item()
        .table_name(&ledger.table_name)
        .key(
            "pk",
            s(super::item::contact_pk(&id.campaign, &id.contact_key)),
        )
        .update_expression(expression)
        .condition_expression(condition)
        .set_expression_attribute_names(Some(names(attributes)))
        .set_expression_attribute_values(Some(values))
        .return_values(ReturnValue::AllNew)
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
        .send()
        .await;
    match result {
        Ok(out) => Ok(Ok(parse(out.attributes().unwrap_or(&HashMap::new()))?)),
        Err(e) => match update_conflict(&e) {
            Some(old) => Ok(Err(parse_old(old)?)),
            None => Err(store_error("UpdateItem (ledger callback)", &e)),
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
    // ----- callbacks, against the stateful fake table --------------------------------------

    use super::super::item::FinalReason;
    use crate::testkit::{FakeTable, Log};

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    const KEY: &str = "0123456789abcdef0123456789abcdef";
    const PK: &str = "CONTACT#spring#0123456789abcdef0123456789abcdef";

    fn fake() -> (FakeTable, CampaignLedger) {
        let table = FakeTable::new(&Log::default());
        let ledger = CampaignLedger {
            dynamodb: table.client(),
            table_name: "ledger".into(),
            final_retention: Some(Duration::days(90)),
        };
        (table, ledger)
    }

    fn new_contact() -> Contact {
        Contact {
            campaign: "spring".into(),
            key: "C-1".into(),
            phone: "+442079460123".into(),
            contact_key: KEY.into(),
            attempt: 1,
            attributes: Default::default(),
            source: crate::contact::ContactSource::Csv {
                object: "a.csv".into(),
                line: 2,
            },
        }
    }

    /// Admits the contact and takes it to `dialing` attempt `attempt` (redialing busy calls).
    async fn dialing_at(ledger: &CampaignLedger, attempt: u32, now: DateTime<Utc>) -> AttemptId {
        let options = AdmitOptions {
            due_at: now,
            rules: None,
            round: None,
        };
        admit(ledger, &new_contact(), &options, now).await.unwrap();
        let rules = RedialRules {
            max_attempts: 10,
            delay_minutes: super::super::rules::DelayMinutes {
                busy: 1,
                ..Default::default()
            },
            ..RedialRules::default()
        };
        let mut at = now;
        for a in 1..=attempt {
            lease(ledger, "spring", KEY, at, at + Duration::minutes(15), "f")
                .await
                .unwrap()
                .expect("due");
            let id = AttemptId::new("spring", KEY, a);
            assert!(matches!(
                begin_attempt(ledger, &id, at + Duration::minutes(5), at)
                    .await
                    .unwrap(),
                AttemptBegun::Begun(_)
            ));
            if a < attempt {
                assert!(matches!(
                    finish(ledger, &id, Outcome::Busy, &rules, at)
                        .await
                        .unwrap(),
                    Finished::Redialed(_)
                ));
                at += Duration::minutes(1);
            }
        }
        AttemptId::new("spring", KEY, attempt)
    }

    fn attr(table: &FakeTable, name: &str) -> Option<AttributeValue> {
        table.get(PK).unwrap().get(name).cloned()
    }

    #[tokio::test]
    async fn a_callback_set_during_the_call_makes_the_contact_due_then_whatever_the_outcome() {
        let (table, ledger) = fake();
        let now = t("2026-03-04T10:00:00Z");
        let at = t("2026-03-05T15:00:00Z");
        let id = dialing_at(&ledger, 1, now).await;
        let scheduled = schedule_callback(&ledger, &id, at).await.unwrap();
        assert!(
            matches!(&scheduled, CallbackScheduled::Pending(i) if i.callback_at == Some(at)),
            "{scheduled:?}"
        );
        // Still dialing, still in the held index: nothing else moved.
        assert_eq!(table.s(PK, "state").as_deref(), Some("dialing"));
        // Connected is a final outcome under the default rules: the promise wins.
        let end = now + Duration::minutes(3);
        let finished = finish(
            &ledger,
            &id,
            Outcome::Connected,
            &RedialRules::default(),
            end,
        )
        .await
        .unwrap();
        let item = match finished {
            Finished::CallbackDue(item) => item,
            other => panic!("{other:?}"),
        };
        assert_eq!(item.state, ContactState::Due);
        assert_eq!(item.attempt, 2);
        assert_eq!(item.due_at, at);
        assert_eq!(
            item.callback_at, None,
            "consumed by the attempt it was set in"
        );
        assert_eq!(item.last_outcome, Some(Outcome::Connected));
        assert_eq!(
            table.s(PK, "dueShard"),
            Some(due_shard_key("spring", shard_of(KEY)))
        );
        for gone in [
            "heldShard",
            "leaseUntil",
            "clientToken",
            "finalReason",
            "callbackAt",
        ] {
            assert!(attr(&table, gone).is_none(), "{gone}");
        }
        // Not leased before the callback time; leased at it.
        assert!(
            lease(&ledger, "spring", KEY, at - Duration::seconds(1), at, "f")
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            lease(&ledger, "spring", KEY, at, at + Duration::minutes(5), "f")
                .await
                .unwrap()
                .is_some()
        );
    }

    #[tokio::test]
    async fn a_callback_goes_past_max_attempts_and_the_next_end_follows_the_rules_again() {
        let (_, ledger) = fake();
        let now = t("2026-03-04T10:00:00Z");
        let at = t("2026-03-04T12:00:00Z");
        let once = RedialRules {
            max_attempts: 1,
            ..RedialRules::default()
        };
        let id = dialing_at(&ledger, 1, now).await;
        schedule_callback(&ledger, &id, at).await.unwrap();
        assert!(matches!(
            finish(&ledger, &id, Outcome::NoAnswer, &once, now).await.unwrap(),
            Finished::CallbackDue(ref i) if i.attempt == 2 && i.due_at == at
        ));
        lease(&ledger, "spring", KEY, at, at + Duration::minutes(5), "f")
            .await
            .unwrap()
            .unwrap();
        let second = AttemptId::new("spring", KEY, 2);
        begin_attempt(&ledger, &second, at + Duration::minutes(5), at)
            .await
            .unwrap();
        // No callback this time: past max_attempts, the rules end it.
        assert!(matches!(
            finish(&ledger, &second, Outcome::NoAnswer, &once, at).await.unwrap(),
            Finished::Final(ref i) if i.final_reason == Some(FinalReason::AttemptsExhausted)
        ));
    }

    #[tokio::test]
    async fn a_callback_set_between_the_finish_read_and_its_write_is_not_lost() {
        let (table, ledger) = fake();
        let now = t("2026-03-04T10:00:00Z");
        let at = t("2026-03-06T09:00:00Z");
        let id = dialing_at(&ledger, 1, now).await;
        // The agent's callback lands right after finish read the item (without it): the
        // write schedule_callback makes on a dialing attempt, applied to the table directly
        // (the fake's client cannot be called from inside one of its own answers).
        let items = table.items.clone();
        table.after_next_get(move || {
            items
                .lock()
                .unwrap()
                .get_mut(PK)
                .unwrap()
                .insert("callbackAt".into(), n(millis(at)));
        });
        let finished = finish(&ledger, &id, Outcome::Busy, &RedialRules::default(), now)
            .await
            .unwrap();
        assert!(
            matches!(&finished, Finished::CallbackDue(i) if i.due_at == at && i.attempt == 2),
            "{finished:?}"
        );
    }

    #[tokio::test]
    async fn after_the_attempt_a_final_contact_is_reopened_at_the_callback() {
        let (table, ledger) = fake();
        let now = t("2026-03-04T10:00:00Z");
        let at = t("2026-03-04T18:00:00Z");
        let id = dialing_at(&ledger, 1, now).await;
        assert!(matches!(
            finish(
                &ledger,
                &id,
                Outcome::Connected,
                &RedialRules::default(),
                now
            )
            .await
            .unwrap(),
            Finished::Final(_)
        ));
        assert!(attr(&table, "expiresAt").is_some());
        let scheduled = schedule_callback(&ledger, &id, at).await.unwrap();
        let item = match scheduled {
            CallbackScheduled::Due {
                item,
                reopened: true,
            } => item,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            (item.state, item.attempt, item.due_at),
            (ContactState::Due, 2, at)
        );
        assert_eq!(
            table.s(PK, "dueShard"),
            Some(due_shard_key("spring", shard_of(KEY)))
        );
        // The TTL must never delete a due contact; final fields go.
        for gone in [
            "expiresAt",
            "finalReason",
            "finalAt",
            "clientToken",
            "heldShard",
            "callbackAt",
        ] {
            assert!(attr(&table, gone).is_none(), "{gone}");
        }
        // The same disposition again: the pending callback is set to the same time.
        assert!(matches!(
            schedule_callback(&ledger, &id, at).await.unwrap(),
            CallbackScheduled::Due { ref item, reopened: false } if item.due_at == at && item.attempt == 2
        ));
    }

    #[tokio::test]
    async fn after_the_attempt_a_pending_redial_moves_to_the_callback() {
        let (table, ledger) = fake();
        let now = t("2026-03-04T10:00:00Z");
        let at = t("2026-03-04T16:30:00Z");
        let id = dialing_at(&ledger, 1, now).await;
        assert!(matches!(
            finish(&ledger, &id, Outcome::Busy, &RedialRules::default(), now)
                .await
                .unwrap(),
            Finished::Redialed(ref i) if i.due_at == now + Duration::minutes(10)
        ));
        // The feeder leased the redial already: the lease is given back.
        lease(
            &ledger,
            "spring",
            KEY,
            now + Duration::minutes(10),
            now + Duration::hours(1),
            "f",
        )
        .await
        .unwrap()
        .unwrap();
        let scheduled = schedule_callback(&ledger, &id, at).await.unwrap();
        assert!(
            matches!(&scheduled, CallbackScheduled::Due { item, reopened: false }
                if item.state == ContactState::Due && item.attempt == 2 && item.due_at == at),
            "{scheduled:?}"
        );
        assert!(attr(&table, "heldShard").is_none() && attr(&table, "leaseUntil").is_none());
        assert_eq!(
            table.s(PK, "dueShard"),
            Some(due_shard_key("spring", shard_of(KEY)))
        );
        // The message the feeder sent for the lease is stale now: dial drops it.
        assert!(matches!(
            begin_attempt(&ledger, &AttemptId::new("spring", KEY, 2), at, now)
                .await
                .unwrap(),
            AttemptBegun::Stale(_)
        ));
    }

    #[tokio::test]
    async fn a_late_disposition_never_moves_a_later_attempt() {
        let (table, ledger) = fake();
        let now = t("2026-03-04T10:00:00Z");
        dialing_at(&ledger, 2, now).await;
        let before = table.get(PK).unwrap();
        let first = AttemptId::new("spring", KEY, 1);
        let at = t("2026-03-05T10:00:00Z");
        assert!(matches!(
            schedule_callback(&ledger, &first, at).await.unwrap(),
            CallbackScheduled::TooLate(ref i) if i.attempt == 2
        ));
        assert_eq!(table.get(PK).unwrap(), before, "nothing written");
        // Attempt 2 ended final: attempt 1's callback still does nothing.
        finish(
            &ledger,
            &AttemptId::new("spring", KEY, 2),
            Outcome::Connected,
            &RedialRules::default(),
            now,
        )
        .await
        .unwrap();
        let before = table.get(PK).unwrap();
        assert!(matches!(
            schedule_callback(&ledger, &first, at).await.unwrap(),
            CallbackScheduled::TooLate(_)
        ));
        assert_eq!(table.get(PK).unwrap(), before);
    }

    #[tokio::test]
    async fn no_callback_for_an_unknown_attempt_or_a_closed_contact() {
        let (table, ledger) = fake();
        let now = t("2026-03-04T10:00:00Z");
        let at = t("2026-03-05T10:00:00Z");
        let id = AttemptId::new("spring", KEY, 1);
        assert_eq!(
            schedule_callback(&ledger, &id, at).await.unwrap(),
            CallbackScheduled::Unknown(None)
        );
        assert!(table.get(PK).is_none(), "no item created");
        // Admitted, never begun.
        let options = AdmitOptions {
            due_at: now,
            rules: None,
            round: None,
        };
        admit(&ledger, &new_contact(), &options, now).await.unwrap();
        assert!(matches!(
            schedule_callback(&ledger, &id, at).await.unwrap(),
            CallbackScheduled::Unknown(Some(_))
        ));
        // Final as do-not-call: never reopened.
        lease(&ledger, "spring", KEY, now, now + Duration::minutes(5), "f")
            .await
            .unwrap();
        begin_attempt(&ledger, &id, now + Duration::minutes(5), now)
            .await
            .unwrap();
        settle(
            &ledger,
            &id,
            Decision::Final(FinalReason::DoNotCall),
            None,
            now,
        )
        .await
        .unwrap();
        assert!(matches!(
            schedule_callback(&ledger, &id, at).await.unwrap(),
            CallbackScheduled::Closed(_)
        ));
        assert_eq!(table.s(PK, "state").as_deref(), Some("final"));
    }

    #[tokio::test]
    async fn a_settle_of_the_callers_own_drops_the_callback() {
        let (table, ledger) = fake();
        let now = t("2026-03-04T10:00:00Z");
        let id = dialing_at(&ledger, 1, now).await;
        schedule_callback(&ledger, &id, t("2026-03-05T10:00:00Z"))
            .await
            .unwrap();
        assert!(matches!(
            settle(
                &ledger,
                &id,
                Decision::Final(FinalReason::Rejected),
                None,
                now
            )
            .await
            .unwrap(),
            Finished::Final(_)
        ));
        assert!(attr(&table, "callbackAt").is_none());
    }
}
