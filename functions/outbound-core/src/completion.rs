//! The completion race: who wakes a lane when its call ends.
//!
//! A lane's `dial` task waits for its task token. Two writers meet on `CONTACT#<contactId>`:
//! `dial` stores the token once the call is placed (`attribute_not_exists(taskToken)`),
//! `process-contact-events` stores the disconnect (`attribute_not_exists(disconnectedAt)`). Both
//! writes return the whole item (`ReturnValues=ALL_NEW`); whoever sees both attributes completes:
//!
//! 1. claims the completion with a conditional `SET completedAt` (`attribute_not_exists`), so
//!    exactly one writer goes on;
//! 2. writes the contact's result record (JSON Lines, deterministic key in `RESULTS_BUCKET`);
//! 3. sends `SendTaskSuccess` with the stored next lane state (`TaskTimedOut`,
//!    `TaskDoesNotExist`, `InvalidToken`: the lane already moved on, logged and ignored);
//! 4. marks `notifiedAt`.
//!
//! Steps 2–4 are idempotent, and a completion found claimed but not notified (its writer died
//! after step 1) is finished by whoever finds it: a retried or duplicate event, or the
//! reconcile path. A duplicate event on a notified contact does nothing.
//!
//! The reconcile path ([`reconcile`], used by `connect-status` when a lane's task timed out)
//! follows the lane's pointer (`LANE#<runId>#<lane>`) to its outstanding call, asks Connect
//! (`DescribeContact`), records what it finds (`timeout` while the call is still up), completes
//! it and returns the lane's next state itself: the task that owned the token is gone.
//!
//! Task tokens are never logged; log lines carry the contact id, run and lane.

use crate::contact::Contact;
use crate::error::{classify_sdk_error, ErrorName, FunctionError};
use crate::events::{call_end_from_contact, CallEnd};
use crate::mask::mask_phone;
use crate::records::{LaneState, Outcome, RejectRecord, ResultRecord};
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use chrono::{DateTime, SecondsFormat, Utc};
use std::collections::HashMap;
use std::fmt;

/// TTL of a contact the dialer placed: long enough for dispositions after the call and for the
/// reconcile path of the longest `timeOut`.
pub const CONTACT_TTL_SECONDS: i64 = 7 * 86_400;
/// TTL of a contact only the disconnect event knows. Every DISCONNECTED event is recorded,
/// because the event can arrive before `dial` stored its token (the race); an event for a
/// contact the dialer never placed (an inbound call on the same instance) is never claimed
/// by a token and expires a day later.
pub const UNKNOWN_CONTACT_TTL_SECONDS: i64 = 86_400;
/// TTL of the `LANE#` pointers and `DIAL#` markers: longer than SQS can keep a message
/// (14 days), so a redelivered contact always finds its marker.
pub const DIAL_TTL_SECONDS: i64 = 15 * 86_400;

/// The table and bucket every side of the race writes to.
#[derive(Clone, Debug)]
pub struct Ledger {
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub s3: aws_sdk_s3::Client,
    pub table_name: String,
    pub results_bucket: String,
    /// The campaign ledger, where a completed call ends its attempt (final or due again).
    /// `None` only in tests of the completion race alone.
    pub finisher: Option<crate::ledger::Finisher>,
}

pub fn contact_pk(contact_id: &str) -> String {
    format!("CONTACT#{contact_id}")
}

pub fn lane_pk(run_id: &str, lane: u32) -> String {
    format!("LANE#{run_id}#{lane}")
}

pub fn dial_pk(run_id: &str, contact_key: &str) -> String {
    format!("DIAL#{run_id}#{contact_key}")
}

/// RFC 3339, UTC, milliseconds: the format of every timestamp the dialer writes.
pub fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A `CONTACT#` item as read from the table.
#[derive(Clone, PartialEq)]
pub struct ContactItem {
    pub contact_id: String,
    pub task_token: Option<String>,
    /// The next lane state, as JSON text (sent unchanged as the task output).
    pub lane_state: Option<String>,
    pub run_id: Option<String>,
    pub lane: Option<u32>,
    pub call: Option<u32>,
    pub campaign: Option<String>,
    pub key: Option<String>,
    pub contact_key: Option<String>,
    pub phone_masked: Option<String>,
    pub attempt: Option<u32>,
    /// The contact's source, as JSON text.
    pub source: Option<String>,
    /// The caller ID dial sent with the call; `None`: the queue's own.
    pub caller_id: Option<String>,
    /// The routed caller ID Connect refused (the call went out with the queue's number).
    pub caller_id_refused: Option<String>,
    pub dialed_at: Option<String>,
    pub disconnected_at: Option<String>,
    pub outcome: Option<Outcome>,
    pub completed_at: Option<String>,
    pub notified_at: Option<String>,
    pub disposition: Option<String>,
    /// The callback set-disposition scheduled in the campaign ledger (RFC 3339 UTC).
    pub callback_at: Option<String>,
}

/// Never prints the task token.
impl fmt::Debug for ContactItem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ContactItem")
            .field("contact_id", &self.contact_id)
            .field(
                "task_token",
                &self.task_token.as_ref().map(|_| "<redacted>"),
            )
            .field("run_id", &self.run_id)
            .field("lane", &self.lane)
            .field("call", &self.call)
            .field("campaign", &self.campaign)
            .field("contact_key", &self.contact_key)
            .field("attempt", &self.attempt)
            .field("dialed_at", &self.dialed_at)
            .field("disconnected_at", &self.disconnected_at)
            .field("outcome", &self.outcome)
            .field("completed_at", &self.completed_at)
            .field("notified_at", &self.notified_at)
            .field("disposition", &self.disposition)
            .field("callback_at", &self.callback_at)
            .finish()
    }
}

type Item = HashMap<String, AttributeValue>;

fn attr_s(item: &Item, name: &str) -> Option<String> {
    item.get(name).and_then(|v| v.as_s().ok()).cloned()
}

fn attr_u32(item: &Item, name: &str) -> Option<u32> {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|n| n.parse().ok())
}

fn parse_outcome(raw: &str) -> Option<Outcome> {
    serde_json::from_value(serde_json::Value::String(raw.to_string())).ok()
}

impl ContactItem {
    pub fn from_item(contact_id: &str, item: &Item) -> Self {
        Self {
            contact_id: contact_id.to_string(),
            task_token: attr_s(item, "taskToken"),
            lane_state: attr_s(item, "laneState"),
            run_id: attr_s(item, "runId"),
            lane: attr_u32(item, "lane"),
            call: attr_u32(item, "call"),
            campaign: attr_s(item, "campaign"),
            key: attr_s(item, "key"),
            contact_key: attr_s(item, "contactKey"),
            phone_masked: attr_s(item, "phoneMasked"),
            attempt: attr_u32(item, "attempt"),
            source: attr_s(item, "source"),
            caller_id: attr_s(item, "callerId"),
            caller_id_refused: attr_s(item, "callerIdRefused"),
            dialed_at: attr_s(item, "dialedAt"),
            disconnected_at: attr_s(item, "disconnectedAt"),
            outcome: attr_s(item, "outcome").as_deref().and_then(parse_outcome),
            completed_at: attr_s(item, "completedAt"),
            notified_at: attr_s(item, "notifiedAt"),
            disposition: attr_s(item, "disposition"),
            callback_at: attr_s(item, "callbackAt"),
        }
    }

    /// Both sides of the race are in: the contact can be completed.
    pub fn ready(&self) -> bool {
        self.task_token.is_some() && self.disconnected_at.is_some()
    }

    /// The result line for this contact, once it is complete; `None` for a contact the dialer
    /// did not place (no contact key) or not completed yet.
    pub fn result_record(&self) -> Option<ResultRecord> {
        let completed_at = self.completed_at.clone()?;
        Some(ResultRecord {
            campaign: self.campaign.clone()?,
            run_id: self.run_id.clone()?,
            contact_key: self.contact_key.clone()?,
            customer_key: self.key.clone().unwrap_or_default(),
            phone_masked: self.phone_masked.clone().unwrap_or_default(),
            attempt: self.attempt.unwrap_or(1),
            contact_id: Some(self.contact_id.clone()),
            // A completed contact always has an outcome; `timeout` is what the dialer knows
            // if a writer before this version did not store one.
            outcome: self.outcome.unwrap_or(Outcome::Timeout),
            disposition: self.disposition.clone(),
            callback_at: self.callback_at.clone(),
            lane: self.lane,
            caller_id: self.caller_id.clone(),
            caller_id_refused: self.caller_id_refused.clone(),
            dialed_at: self.dialed_at.clone(),
            disconnected_at: self.disconnected_at.clone(),
            completed_at,
            source: self
                .source
                .as_deref()
                .and_then(|s| serde_json::from_str(s).ok())
                .unwrap_or(serde_json::Value::Null),
        })
    }
}

/// The error code of an SDK error, or what kind of transport failure it was.
pub fn sdk_code<E, R>(err: &SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata,
{
    match err {
        SdkError::ServiceError(s) => s
            .err()
            .code()
            .unwrap_or("unknown service error")
            .to_string(),
        SdkError::TimeoutError(_) => "timeout".to_string(),
        SdkError::DispatchFailure(_) => "dispatch failure".to_string(),
        SdkError::ResponseError(_) => "unreadable response".to_string(),
        SdkError::ConstructionFailure(_) => "request construction failed".to_string(),
        _ => "unknown SDK error".to_string(),
    }
}

/// Maps an SDK error to a function error. A non-retryable service error of the table or the
/// bucket (access denied, missing table) is a deployment problem: `ConfigError`.
pub fn store_error<E>(
    what: &str,
    err: &SdkError<E, aws_smithy_runtime_api::client::orchestrator::HttpResponse>,
) -> FunctionError
where
    E: ProvideErrorMetadata,
{
    let name = match classify_sdk_error(err) {
        ErrorName::InvalidInput => ErrorName::ConfigError,
        other => other,
    };
    FunctionError::new(name, format!("{what} failed: {}", sdk_code(err)))
}

fn is_conditional_failure<R>(
    err: &SdkError<aws_sdk_dynamodb::operation::update_item::UpdateItemError, R>,
) -> bool {
    err.as_service_error()
        .is_some_and(|e| e.is_conditional_check_failed_exception())
}

/// The contact item a conditional `UpdateItem` (`ReturnValues` `ALL_NEW`) left: `None` when its
/// condition did not hold, a store error named `what` otherwise.
pub fn updated_contact(
    contact_id: &str,
    result: Result<
        aws_sdk_dynamodb::operation::update_item::UpdateItemOutput,
        SdkError<
            aws_sdk_dynamodb::operation::update_item::UpdateItemError,
            aws_smithy_runtime_api::client::orchestrator::HttpResponse,
        >,
    >,
    what: &str,
) -> Result<Option<ContactItem>, FunctionError> {
    match result {
        Ok(out) => Ok(Some(ContactItem::from_item(
            contact_id,
            &out.attributes().cloned().unwrap_or_default(),
        ))),
        Err(e) if is_conditional_failure(&e) => Ok(None),
        Err(e) => Err(store_error(what, &e)),
    }
}

/// Reads an item with a consistent read.
pub async fn get_item(ledger: &Ledger, pk: &str) -> Result<Option<Item>, FunctionError> {
    let out = ledger
        .dynamodb
        .get_item()
        .table_name(&ledger.table_name)
        .key("pk", AttributeValue::S(pk.to_string()))
        .consistent_read(true)
        .send()
        .await
        .map_err(|e| store_error("GetItem", &e))?;
    Ok(out.item().cloned())
}

/// Reads `CONTACT#<contactId>`.
pub async fn get_contact(
    ledger: &Ledger,
    contact_id: &str,
) -> Result<Option<ContactItem>, FunctionError> {
    Ok(get_item(ledger, &contact_pk(contact_id))
        .await?
        .map(|item| ContactItem::from_item(contact_id, &item)))
}

/// What `dial` records once Connect accepted its call.
pub struct PlacedCall<'a> {
    pub contact_id: &'a str,
    pub task_token: &'a str,
    /// The lane state to send back when the call ends: the lane's state with `calls + 1`.
    pub next_state: &'a LaneState,
    pub contact: &'a Contact,
    pub contact_key: &'a str,
    /// The caller ID sent to Connect; `None` when the queue's own was used.
    pub caller_id: Option<&'a str>,
    /// The routed caller ID Connect refused before the call went out with the queue's number.
    pub refused_caller_id: Option<&'a str>,
    pub dialed_at: DateTime<Utc>,
}

/// The token side's view after its write.
#[derive(Debug, Clone, PartialEq)]
pub enum TokenRecorded {
    /// Stored; the disconnect has not been seen yet: the event side will complete.
    Waiting,
    /// Stored, and the disconnect was already there: the caller completes.
    DisconnectSeen(Box<ContactItem>),
    /// The contact was completed before this token arrived (a contact redelivered after its
    /// first attempt completed): nobody will send to this token, the caller wakes its own lane.
    AlreadyCompleted,
}

/// Token side of the race (used by `dial`).
///
/// A token left by an earlier attempt on the same contact whose task died before it finished
/// (the message came back and was placed again with the same `ClientToken`, so Connect returned
/// the same contact) is taken over while the contact is not completed: the live lane must be
/// the one woken. This second write keeps the race rule (whoever sees both completes).
pub async fn record_token(
    ledger: &Ledger,
    placed: &PlacedCall<'_>,
) -> Result<TokenRecorded, FunctionError> {
    let lane_state = serde_json::to_string(placed.next_state)
        .map_err(|e| FunctionError::invalid_input(format!("lane state: {e}")))?;
    let source = serde_json::to_string(&placed.contact.source)
        .map_err(|e| FunctionError::invalid_input(format!("contact source: {e}")))?;
    let expires = placed.dialed_at.timestamp() + CONTACT_TTL_SECONDS;
    // Only a routed caller ID is stored: no attribute means the queue's own number (removed, in
    // case an earlier placement of the same contact stored one).
    let mut expression = String::from(
        "SET #taskToken = :token, #laneState = :laneState, #runId = :runId, #lane = :lane, \
         #call = :call, #campaign = :campaign, #key = :key, #contactKey = :contactKey, \
         #phoneMasked = :phoneMasked, #attempt = :attempt, #source = :source, \
         #dialedAt = if_not_exists(#dialedAt, :dialedAt), #expiresAt = :expiresAt",
    );
    let mut removed = Vec::new();
    for (present, set, name) in [
        (
            placed.caller_id.is_some(),
            ", #callerId = :callerId",
            "#callerId",
        ),
        (
            placed.refused_caller_id.is_some(),
            ", #callerIdRefused = :callerIdRefused",
            "#callerIdRefused",
        ),
    ] {
        if present {
            expression.push_str(set);
        } else {
            removed.push(name);
        }
    }
    if !removed.is_empty() {
        expression.push_str(" REMOVE ");
        expression.push_str(&removed.join(", "));
    }
    let build = |condition: &str| {
        let request = ledger
            .dynamodb
            .update_item()
            .table_name(&ledger.table_name)
            .key("pk", AttributeValue::S(contact_pk(placed.contact_id)))
            .update_expression(expression.as_str())
            .condition_expression(condition)
            .expression_attribute_names("#taskToken", "taskToken")
            .expression_attribute_names("#laneState", "laneState")
            .expression_attribute_names("#runId", "runId")
            .expression_attribute_names("#lane", "lane")
            .expression_attribute_names("#call", "call")
            .expression_attribute_names("#campaign", "campaign")
            .expression_attribute_names("#key", "key")
            .expression_attribute_names("#contactKey", "contactKey")
            .expression_attribute_names("#phoneMasked", "phoneMasked")
            .expression_attribute_names("#attempt", "attempt")
            .expression_attribute_names("#source", "source")
            .expression_attribute_names("#dialedAt", "dialedAt")
            .expression_attribute_names("#expiresAt", "expiresAt")
            .expression_attribute_values(":token", AttributeValue::S(placed.task_token.to_string()))
            .expression_attribute_values(":laneState", AttributeValue::S(lane_state.clone()))
            .expression_attribute_values(
                ":runId",
                AttributeValue::S(placed.next_state.run_id.clone()),
            )
            .expression_attribute_values(
                ":lane",
                AttributeValue::N(placed.next_state.lane.to_string()),
            )
            .expression_attribute_values(
                ":call",
                AttributeValue::N(placed.next_state.calls.to_string()),
            )
            .expression_attribute_values(
                ":campaign",
                AttributeValue::S(placed.contact.campaign.clone()),
            )
            .expression_attribute_values(":key", AttributeValue::S(placed.contact.key.clone()))
            .expression_attribute_values(
                ":contactKey",
                AttributeValue::S(placed.contact_key.to_string()),
            )
            .expression_attribute_values(
                ":phoneMasked",
                AttributeValue::S(mask_phone(&placed.contact.phone)),
            )
            .expression_attribute_values(
                ":attempt",
                AttributeValue::N(placed.contact.attempt.to_string()),
            )
            .expression_attribute_values(":source", AttributeValue::S(source.clone()))
            .expression_attribute_values(":dialedAt", AttributeValue::S(rfc3339(placed.dialed_at)))
            .expression_attribute_values(":expiresAt", AttributeValue::N(expires.to_string()))
            .return_values(ReturnValue::AllNew);
        let mut request = request
            .expression_attribute_names("#callerId", "callerId")
            .expression_attribute_names("#callerIdRefused", "callerIdRefused");
        if let Some(number) = placed.caller_id {
            request = request
                .expression_attribute_values(":callerId", AttributeValue::S(number.to_string()));
        }
        if let Some(number) = placed.refused_caller_id {
            request = request.expression_attribute_values(
                ":callerIdRefused",
                AttributeValue::S(number.to_string()),
            );
        }
        request
    };

    let first = build("attribute_not_exists(#taskToken)").send().await;
    let item = match first {
        Ok(out) => out.attributes().cloned().unwrap_or_default(),
        Err(e) if is_conditional_failure(&e) => {
            tracing::info!(
                contact_id = placed.contact_id,
                run_id = %placed.next_state.run_id,
                lane = placed.next_state.lane,
                "contact already holds a token from an earlier attempt; taking it over"
            );
            match build("attribute_not_exists(#completedAt)")
                .expression_attribute_names("#completedAt", "completedAt")
                .send()
                .await
            {
                Ok(out) => out.attributes().cloned().unwrap_or_default(),
                Err(e) if is_conditional_failure(&e) => return Ok(TokenRecorded::AlreadyCompleted),
                Err(e) => return Err(store_error("UpdateItem (take over token)", &e)),
            }
        }
        Err(e) => return Err(store_error("UpdateItem (record token)", &e)),
    };
    let item = ContactItem::from_item(placed.contact_id, &item);
    if item.disconnected_at.is_some() {
        Ok(TokenRecorded::DisconnectSeen(Box::new(item)))
    } else {
        Ok(TokenRecorded::Waiting)
    }
}

/// The disconnect side's view after its write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DisconnectRecorded {
    /// Stored; no token yet (dial has not recorded it, or the contact is not the dialer's).
    Recorded,
    /// Stored or found, and this writer completed the contact.
    Completed,
    /// The disconnect was already stored and the contact needs nothing more.
    Duplicate,
    /// A disconnect that arrived after the reconcile path completed the contact as `timeout`:
    /// the real outcome is stored and the result record rewritten.
    Updated,
}

impl DisconnectRecorded {
    /// The `status` `process-contact-events` answers.
    pub fn as_str(self) -> &'static str {
        match self {
            DisconnectRecorded::Recorded | DisconnectRecorded::Updated => "recorded",
            DisconnectRecorded::Completed => "completed",
            DisconnectRecorded::Duplicate => "duplicate",
        }
    }
}

/// Writes the disconnect; `None` when one was already stored.
async fn write_disconnect(
    ledger: &Ledger,
    contact_id: &str,
    end: &CallEnd,
    now: DateTime<Utc>,
) -> Result<Option<ContactItem>, FunctionError> {
    let result = ledger
        .dynamodb
        .update_item()
        .table_name(&ledger.table_name)
        .key("pk", AttributeValue::S(contact_pk(contact_id)))
        .update_expression(
            "SET #disconnectedAt = :disconnectedAt, #outcome = :outcome, \
             #expiresAt = if_not_exists(#expiresAt, :expiresAt)",
        )
        .condition_expression("attribute_not_exists(#disconnectedAt)")
        .expression_attribute_names("#disconnectedAt", "disconnectedAt")
        .expression_attribute_names("#outcome", "outcome")
        .expression_attribute_names("#expiresAt", "expiresAt")
        .expression_attribute_values(
            ":disconnectedAt",
            AttributeValue::S(rfc3339(end.disconnected_at)),
        )
        .expression_attribute_values(
            ":outcome",
            AttributeValue::S(end.outcome.as_str().to_string()),
        )
        .expression_attribute_values(
            ":expiresAt",
            AttributeValue::N((now.timestamp() + UNKNOWN_CONTACT_TTL_SECONDS).to_string()),
        )
        .return_values(ReturnValue::AllNew)
        .send()
        .await;
    updated_contact(contact_id, result, "UpdateItem (record disconnect)")
}

/// Disconnect side of the race (used by `process-contact-events`).
pub async fn record_disconnect(
    ledger: &Ledger,
    sfn: &aws_sdk_sfn::Client,
    contact_id: &str,
    end: &CallEnd,
    now: DateTime<Utc>,
) -> Result<DisconnectRecorded, FunctionError> {
    match write_disconnect(ledger, contact_id, end, now).await? {
        Some(item) if item.completed_at.is_some() => {
            // Completed by the reconcile path before Connect reported the end.
            tracing::info!(
                contact_id,
                outcome = end.outcome.as_str(),
                "late disconnect for a reconciled contact; rewriting its result"
            );
            write_result(ledger, item).await?;
            Ok(DisconnectRecorded::Updated)
        }
        Some(item) if item.ready() => complete(ledger, sfn, &item, now).await.map(|c| match c {
            Completion::Completed => DisconnectRecorded::Completed,
            Completion::AlreadyCompleted => DisconnectRecorded::Duplicate,
        }),
        Some(item) => {
            if item.contact_key.is_none() {
                tracing::debug!(
                    contact_id,
                    "disconnect recorded for a contact the dialer does not know (yet); kept for a day"
                );
            }
            Ok(DisconnectRecorded::Recorded)
        }
        None => {
            // A duplicate event, or a retry of an attempt that stored the disconnect and failed
            // before completing: finish what is unfinished.
            let Some(item) = get_contact(ledger, contact_id).await? else {
                return Ok(DisconnectRecorded::Duplicate);
            };
            if item.ready() && item.notified_at.is_none() {
                match complete(ledger, sfn, &item, now).await? {
                    Completion::Completed => Ok(DisconnectRecorded::Completed),
                    Completion::AlreadyCompleted => Ok(DisconnectRecorded::Duplicate),
                }
            } else {
                Ok(DisconnectRecorded::Duplicate)
            }
        }
    }
}

/// What [`complete`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Completion {
    /// This writer completed the contact (or finished a completion another writer began).
    Completed,
    /// Already completed and notified.
    AlreadyCompleted,
}

/// Completes a contact whose token and disconnect are both stored.
pub async fn complete(
    ledger: &Ledger,
    sfn: &aws_sdk_sfn::Client,
    item: &ContactItem,
    now: DateTime<Utc>,
) -> Result<Completion, FunctionError> {
    let claimed = ledger
        .dynamodb
        .update_item()
        .table_name(&ledger.table_name)
        .key("pk", AttributeValue::S(contact_pk(&item.contact_id)))
        .update_expression("SET #completedAt = :now")
        .condition_expression(
            "attribute_exists(#taskToken) AND attribute_exists(#disconnectedAt) \
             AND attribute_not_exists(#completedAt)",
        )
        .expression_attribute_names("#completedAt", "completedAt")
        .expression_attribute_names("#taskToken", "taskToken")
        .expression_attribute_names("#disconnectedAt", "disconnectedAt")
        .expression_attribute_values(":now", AttributeValue::S(rfc3339(now)))
        .return_values(ReturnValue::AllNew)
        .send()
        .await;
    let item = match claimed {
        Ok(out) => ContactItem::from_item(
            &item.contact_id,
            &out.attributes().cloned().unwrap_or_default(),
        ),
        Err(e) if is_conditional_failure(&e) => {
            // Claimed by another writer. If that writer died before it notified, finish for it.
            match get_contact(ledger, &item.contact_id).await? {
                Some(current)
                    if current.completed_at.is_some()
                        && current.notified_at.is_none()
                        && current.task_token.is_some() =>
                {
                    current
                }
                _ => return Ok(Completion::AlreadyCompleted),
            }
        }
        Err(e) => return Err(store_error("UpdateItem (claim completion)", &e)),
    };
    finish_completion(ledger, sfn, item, now).await?;
    Ok(Completion::Completed)
}

/// Steps 2–4 of a completion: result record, `SendTaskSuccess`, `notifiedAt`.
async fn finish_completion(
    ledger: &Ledger,
    sfn: &aws_sdk_sfn::Client,
    item: ContactItem,
    now: DateTime<Utc>,
) -> Result<(), FunctionError> {
    let contact_id = item.contact_id.clone();
    let token = item.task_token.clone();
    let state = item.lane_state.clone();
    let (run_id, lane, outcome) = (item.run_id.clone(), item.lane, item.outcome);
    end_attempt(ledger, &item, now).await?;
    write_result(ledger, item).await?;
    if let (Some(token), Some(state)) = (token, state) {
        let delivered = send_task_success(sfn, &token, &state).await?;
        tracing::info!(
            contact_id = %contact_id,
            run_id = run_id.as_deref().unwrap_or(""),
            lane = lane.unwrap_or_default(),
            outcome = outcome.map(Outcome::as_str).unwrap_or(""),
            delivered,
            "contact completed"
        );
    }
    mark_notified(ledger, &contact_id, now).await
}

/// Records that the lane got its next state.
async fn mark_notified(
    ledger: &Ledger,
    contact_id: &str,
    now: DateTime<Utc>,
) -> Result<(), FunctionError> {
    ledger
        .dynamodb
        .update_item()
        .table_name(&ledger.table_name)
        .key("pk", AttributeValue::S(contact_pk(contact_id)))
        .update_expression("SET #notifiedAt = if_not_exists(#notifiedAt, :now)")
        .condition_expression("attribute_exists(pk)")
        .expression_attribute_names("#notifiedAt", "notifiedAt")
        .expression_attribute_values(":now", AttributeValue::S(rfc3339(now)))
        .send()
        .await
        .map(|_| ())
        .or_else(|e| {
            if is_conditional_failure(&e) {
                Ok(())
            } else {
                Err(store_error("UpdateItem (mark notified)", &e))
            }
        })
}

/// `SendTaskSuccess`; `Ok(false)` when the task is gone (timed out, closed, unknown or invalid
/// token): the lane already moved on and nothing is lost. Never logs the token.
pub async fn send_task_success(
    sfn: &aws_sdk_sfn::Client,
    task_token: &str,
    output: &str,
) -> Result<bool, FunctionError> {
    match sfn
        .send_task_success()
        .task_token(task_token)
        .output(output)
        .send()
        .await
    {
        Ok(_) => Ok(true),
        Err(e) => {
            let gone = e.as_service_error().is_some_and(|s| {
                s.is_task_timed_out() || s.is_task_does_not_exist() || s.is_invalid_token()
            });
            if gone {
                tracing::info!(
                    error = %sdk_code(&e),
                    "SendTaskSuccess: the task is no longer waiting (ignored)"
                );
                Ok(false)
            } else {
                Err(FunctionError::new(
                    classify_sdk_error(&e),
                    format!("SendTaskSuccess failed: {}", sdk_code(&e)),
                ))
            }
        }
    }
}

/// Writes one JSON Lines object to the results bucket (the whole object is replaced).
pub async fn put_jsonl<T: serde::Serialize>(
    ledger: &Ledger,
    key: &str,
    line: &T,
) -> Result<(), FunctionError> {
    let mut body = serde_json::to_vec(line)
        .map_err(|e| FunctionError::invalid_input(format!("record: {e}")))?;
    body.push(b'\n');
    ledger
        .s3
        .put_object()
        .bucket(&ledger.results_bucket)
        .key(key)
        .content_type("application/x-ndjson")
        .body(body.into())
        .send()
        .await
        .map_err(|e| store_error("PutObject (results)", &e))?;
    Ok(())
}

/// Writes a result record at its deterministic key.
pub async fn put_result_record(
    ledger: &Ledger,
    record: &ResultRecord,
) -> Result<(), FunctionError> {
    put_jsonl(ledger, &record.object_key(), record).await
}

/// Writes a reject record as its own object under `rejects/campaign=<campaign>/<name>.jsonl`.
pub async fn put_reject_record(
    ledger: &Ledger,
    campaign: &str,
    name: &str,
    record: &RejectRecord,
) -> Result<(), FunctionError> {
    put_jsonl(
        ledger,
        &crate::records::reject_object_key(campaign, name),
        record,
    )
    .await
}

/// Ends the call's attempt in the campaign ledger (final with its record, or due again), before
/// the result record and the lane's wake-up: a completion retried after a failure here ends it
/// then (`finish` is conditional on the attempt, so ending it twice writes nothing twice).
pub async fn end_attempt(
    ledger: &Ledger,
    item: &ContactItem,
    now: DateTime<Utc>,
) -> Result<(), FunctionError> {
    let Some(finisher) = &ledger.finisher else {
        return Ok(());
    };
    let (Some(campaign), Some(contact_key)) = (&item.campaign, &item.contact_key) else {
        return Ok(());
    };
    let id = crate::ledger::AttemptId::new(campaign, contact_key, item.attempt.unwrap_or(1));
    let outcome = item.outcome.unwrap_or(Outcome::Timeout);
    finisher.finish_attempt(ledger, &id, outcome, now).await?;
    Ok(())
}

/// Writes the result record of a completed contact, then re-reads the item and writes again
/// while it changed (at most three times). A disposition recorded while the completer was
/// writing is therefore never overwritten by an older copy: whichever writer reads last, writes
/// last.
pub async fn write_result(ledger: &Ledger, item: ContactItem) -> Result<(), FunctionError> {
    let contact_id = item.contact_id.clone();
    let Some(mut record) = item.result_record() else {
        tracing::warn!(contact_id = %contact_id, "completed contact without dialer data; no result record");
        return Ok(());
    };
    for _ in 0..3 {
        put_result_record(ledger, &record).await?;
        let Some(current) = get_contact(ledger, &contact_id).await? else {
            return Ok(());
        };
        match current.result_record() {
            Some(latest) if latest != record => record = latest,
            _ => return Ok(()),
        }
    }
    tracing::warn!(contact_id = %contact_id, "result record kept changing while written; last copy written");
    Ok(())
}

/// Points a lane at its outstanding call (for the reconcile path).
pub async fn put_lane_pointer(
    ledger: &Ledger,
    next: &LaneState,
    contact_id: &str,
    now: DateTime<Utc>,
) -> Result<(), FunctionError> {
    ledger
        .dynamodb
        .put_item()
        .table_name(&ledger.table_name)
        .item("pk", AttributeValue::S(lane_pk(&next.run_id, next.lane)))
        .item("contactId", AttributeValue::S(contact_id.to_string()))
        .item("call", AttributeValue::N(next.calls.to_string()))
        .item("wave", AttributeValue::N(next.wave.to_string()))
        .item(
            "expiresAt",
            AttributeValue::N((now.timestamp() + DIAL_TTL_SECONDS).to_string()),
        )
        .send()
        .await
        .map_err(|e| store_error("PutItem (lane pointer)", &e))?;
    Ok(())
}

/// Reconcile path (used by `connect-status` after a lane's task timed out): returns the lane's
/// next state. A lane without an outstanding call gets its state back unchanged.
pub async fn reconcile(
    ledger: &Ledger,
    connect: &aws_sdk_connect::Client,
    instance_id: &str,
    lane: &LaneState,
    now: DateTime<Utc>,
) -> Result<LaneState, FunctionError> {
    let Some(pointer) = get_item(ledger, &lane_pk(&lane.run_id, lane.lane)).await? else {
        return Ok(lane.clone());
    };
    let (Some(contact_id), Some(call)) =
        (attr_s(&pointer, "contactId"), attr_u32(&pointer, "call"))
    else {
        return Ok(lane.clone());
    };
    // The pointer names the lane's latest call; it is outstanding only if it is the call this
    // state is waiting for (a pointer from an earlier call or wave was already counted). A lane
    // of the next wave waiting for this lane's end has a call count of its own, so the wave
    // must match too (pointers written before they named their wave match any).
    let pointer_wave = attr_u32(&pointer, "wave");
    if call != lane.calls.saturating_add(1) || pointer_wave.is_some_and(|w| w != lane.wave) {
        return Ok(lane.clone());
    }
    let mut next = lane.clone();
    next.calls = call;

    let Some(item) = get_contact(ledger, &contact_id).await? else {
        tracing::warn!(contact_id = %contact_id, run_id = %lane.run_id, lane = lane.lane, "lane pointer to a missing contact");
        return Ok(next);
    };
    let item = if item.completed_at.is_none() {
        if item.disconnected_at.is_none() {
            let end = describe_end(connect, instance_id, &contact_id).await?;
            // `None`: the event side wrote the disconnect meanwhile; the claim below decides.
            match &end {
                Some(end) => write_disconnect(ledger, &contact_id, end, now).await?,
                None => write_timeout(ledger, &contact_id).await?,
            };
        }
        match claim_reconciled(ledger, &contact_id, now).await? {
            Some(claimed) => claimed,
            // Completed meanwhile by the event side, which also wakes (or tried to wake) the
            // lane's old task; this lane goes on with its next state either way.
            None => return Ok(next),
        }
    } else if item.notified_at.is_some() {
        return Ok(next);
    } else {
        item
    };
    tracing::info!(
        contact_id = %contact_id,
        run_id = %lane.run_id,
        lane = lane.lane,
        outcome = item.outcome.map(Outcome::as_str).unwrap_or(""),
        "reconciled a call whose end did not reach the lane in time"
    );
    end_attempt(ledger, &item, now).await?;
    write_result(ledger, item).await?;
    // The task that held the token timed out: the lane gets its state from this answer.
    mark_notified(ledger, &contact_id, now).await?;
    Ok(next)
}

/// A call whose lane is gone (its run died) and whose attempt is past its deadline: its end from
/// the table, else from `DescribeContact`; recorded and completed like the lane's reconcile path
/// (result record, `notifiedAt`), without waking anyone (the task token is dead). Returns the
/// outcome, or `None` while the call is up or Connect does not know it (yet).
pub async fn reconcile_orphan(
    ledger: &Ledger,
    connect: &aws_sdk_connect::Client,
    instance_id: &str,
    contact_id: &str,
    now: DateTime<Utc>,
) -> Result<Option<Outcome>, FunctionError> {
    let item = get_contact(ledger, contact_id).await?;
    if let Some(done) = item.as_ref().filter(|i| i.completed_at.is_some()) {
        return Ok(done.outcome);
    }
    if item.as_ref().is_none_or(|i| i.disconnected_at.is_none()) {
        let Some(end) = describe_end(connect, instance_id, contact_id).await? else {
            return Ok(None);
        };
        write_disconnect(ledger, contact_id, &end, now).await?;
    }
    match claim_reconciled(ledger, contact_id, now).await? {
        Some(claimed) => {
            let outcome = claimed.outcome;
            tracing::info!(contact_id = %contact_id, outcome = outcome.map(Outcome::as_str).unwrap_or(""), "reconciled a call whose run was gone");
            write_result(ledger, claimed).await?;
            mark_notified(ledger, contact_id, now).await?;
            Ok(outcome)
        }
        // Completed meanwhile (its event arrived): that completion wrote the record.
        None => Ok(get_contact(ledger, contact_id)
            .await?
            .and_then(|i| i.outcome)),
    }
}

/// `DescribeContact`: the call's end, or `None` while it is in progress or unknown to Connect.
async fn describe_end(
    connect: &aws_sdk_connect::Client,
    instance_id: &str,
    contact_id: &str,
) -> Result<Option<CallEnd>, FunctionError> {
    match connect
        .describe_contact()
        .instance_id(instance_id)
        .contact_id(contact_id)
        .send()
        .await
    {
        Ok(out) => Ok(out.contact().and_then(call_end_from_contact)),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_not_found_exception()) =>
        {
            tracing::warn!(
                contact_id,
                "DescribeContact: contact not found; recording a timeout"
            );
            Ok(None)
        }
        Err(e) => Err(store_error("DescribeContact", &e)),
    }
}

/// Records `timeout` for a call still in progress. A disconnect arriving later replaces it.
async fn write_timeout(
    ledger: &Ledger,
    contact_id: &str,
) -> Result<Option<ContactItem>, FunctionError> {
    let result = ledger
        .dynamodb
        .update_item()
        .table_name(&ledger.table_name)
        .key("pk", AttributeValue::S(contact_pk(contact_id)))
        .update_expression("SET #outcome = :timeout")
        .condition_expression("attribute_exists(pk) AND attribute_not_exists(#disconnectedAt)")
        .expression_attribute_names("#outcome", "outcome")
        .expression_attribute_names("#disconnectedAt", "disconnectedAt")
        .expression_attribute_values(
            ":timeout",
            AttributeValue::S(Outcome::Timeout.as_str().to_string()),
        )
        .return_values(ReturnValue::AllNew)
        .send()
        .await;
    updated_contact(contact_id, result, "UpdateItem (record timeout)")
}

/// Claims the completion of a reconciled contact (no disconnect needed: `timeout`).
async fn claim_reconciled(
    ledger: &Ledger,
    contact_id: &str,
    now: DateTime<Utc>,
) -> Result<Option<ContactItem>, FunctionError> {
    let result = ledger
        .dynamodb
        .update_item()
        .table_name(&ledger.table_name)
        .key("pk", AttributeValue::S(contact_pk(contact_id)))
        .update_expression("SET #completedAt = :now")
        .condition_expression("attribute_exists(pk) AND attribute_not_exists(#completedAt)")
        .expression_attribute_names("#completedAt", "completedAt")
        .expression_attribute_values(":now", AttributeValue::S(rfc3339(now)))
        .return_values(ReturnValue::AllNew)
        .send()
        .await;
    updated_contact(
        contact_id,
        result,
        "UpdateItem (claim reconciled completion)",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contact::{Contact, ContactSource};
    use crate::testkit::{FakeBucket, FakeConnect, FakeSfn, FakeTable, Log};
    use std::collections::BTreeMap;

    struct World {
        log: Log,
        table: FakeTable,
        bucket: FakeBucket,
        sfn: FakeSfn,
        ledger: Ledger,
        sfn_client: aws_sdk_sfn::Client,
    }

    fn world() -> World {
        let log = Log::default();
        let table = FakeTable::new(&log);
        let bucket = FakeBucket::new(&log);
        let sfn = FakeSfn::new(&log);
        let ledger = Ledger {
            dynamodb: table.client(),
            s3: bucket.client(),
            table_name: "ActiveDialing".into(),
            results_bucket: "results".into(),
            finisher: None,
        };
        let sfn_client = sfn.client();
        World {
            log,
            table,
            bucket,
            sfn,
            ledger,
            sfn_client,
        }
    }

    fn contact() -> Contact {
        Contact {
            campaign: "spring".into(),
            key: "C-1".into(),
            phone: "+442079460123".into(),
            contact_key: crate::testkit::contact_key("spring", "C-1", "+442079460123"),
            attempt: 1,
            attributes: BTreeMap::new(),
            source: ContactSource::Csv {
                object: "uploads/spring.csv".into(),
                line: 2,
            },
        }
    }

    fn lane_state(calls: u32) -> LaneState {
        LaneState {
            run_id: "r-1".into(),
            lane: 3,
            calls,
            budget: 200,
            timeout_seconds: 120,
            wave: 0,
            wave_budget: 0,
        }
    }

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    async fn record(w: &World, contact_id: &str, token: &str, next: &LaneState) -> TokenRecorded {
        let c = contact();
        record_token(
            &w.ledger,
            &PlacedCall {
                contact_id,
                task_token: token,
                next_state: next,
                contact: &c,
                contact_key: &c.contact_key,
                caller_id: Some("+442079460100"),
                refused_caller_id: None,
                dialed_at: t("2024-03-04T10:00:00Z"),
            },
        )
        .await
        .unwrap()
    }

    fn end(outcome: Outcome) -> CallEnd {
        CallEnd {
            disconnected_at: t("2024-03-04T10:01:00Z"),
            outcome,
        }
    }

    fn result_key() -> String {
        crate::records::result_object_key("spring", "r-1", &contact().contact_key, 1)
    }

    fn result(w: &World) -> ResultRecord {
        let body = w
            .bucket
            .object(&result_key())
            .expect("result record written");
        assert!(
            body.ends_with('\n') && body.matches('\n').count() == 1,
            "one JSON line"
        );
        serde_json::from_str(body.trim_end()).unwrap()
    }

    #[tokio::test]
    async fn token_first_then_disconnect_completes_once() {
        let w = world();
        let next = lane_state(18);
        assert_eq!(record(&w, "c-1", "T1", &next).await, TokenRecorded::Waiting);
        assert!(w.sfn.sent().is_empty());
        let now = t("2024-03-04T10:01:02Z");
        let status = record_disconnect(
            &w.ledger,
            &w.sfn_client,
            "c-1",
            &end(Outcome::Connected),
            now,
        )
        .await
        .unwrap();
        assert_eq!(status, DisconnectRecorded::Completed);
        assert_eq!(
            w.sfn.sent(),
            vec![("T1".to_string(), serde_json::to_string(&next).unwrap())]
        );
        let r = result(&w);
        assert_eq!(r.outcome, Outcome::Connected);
        assert_eq!(r.contact_id.as_deref(), Some("c-1"));
        assert_eq!(r.lane, Some(3));
        assert_eq!(r.phone_masked, "+44*******123");
        assert_eq!(r.dialed_at.as_deref(), Some("2024-03-04T10:00:00.000Z"));
        assert_eq!(
            r.disconnected_at.as_deref(),
            Some("2024-03-04T10:01:00.000Z")
        );
        assert_eq!(r.completed_at, "2024-03-04T10:01:02.000Z");
        assert_eq!(r.source["kind"], "csv");
        assert!(w.table.s("CONTACT#c-1", "notifiedAt").is_some());
        // The result is written before the lane is woken, and the lane before notifiedAt.
        let put = w.log.position("s3:PutObject").unwrap();
        let send = w.log.position("sfn:SendTaskSuccess").unwrap();
        assert!(put < send);

        // A duplicate event does nothing at all.
        let puts = *w.bucket.puts.lock().unwrap();
        let again = record_disconnect(
            &w.ledger,
            &w.sfn_client,
            "c-1",
            &end(Outcome::Connected),
            now,
        )
        .await
        .unwrap();
        assert_eq!(again, DisconnectRecorded::Duplicate);
        assert_eq!(w.sfn.sent().len(), 1);
        assert_eq!(*w.bucket.puts.lock().unwrap(), puts);
    }

    #[tokio::test]
    async fn disconnect_first_then_token_is_completed_by_the_token_side() {
        let w = world();
        let now = t("2024-03-04T10:01:02Z");
        let status = record_disconnect(&w.ledger, &w.sfn_client, "c-1", &end(Outcome::Busy), now)
            .await
            .unwrap();
        assert_eq!(status, DisconnectRecorded::Recorded);
        // Unknown so far: kept with the short TTL.
        let ttl: i64 = w.table.get("CONTACT#c-1").unwrap()["expiresAt"]
            .as_n()
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(ttl, now.timestamp() + UNKNOWN_CONTACT_TTL_SECONDS);
        // A duplicate of the event before the token arrives changes nothing.
        let dup = record_disconnect(&w.ledger, &w.sfn_client, "c-1", &end(Outcome::Busy), now)
            .await
            .unwrap();
        assert_eq!(dup, DisconnectRecorded::Duplicate);
        assert!(w.sfn.sent().is_empty());

        let next = lane_state(1);
        let TokenRecorded::DisconnectSeen(item) = record(&w, "c-1", "T1", &next).await else {
            panic!("the token side must see the disconnect");
        };
        // The token side lengthens the TTL.
        let ttl: i64 = w.table.get("CONTACT#c-1").unwrap()["expiresAt"]
            .as_n()
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(
            ttl,
            t("2024-03-04T10:00:00Z").timestamp() + CONTACT_TTL_SECONDS
        );
        assert_eq!(
            complete(&w.ledger, &w.sfn_client, &item, now)
                .await
                .unwrap(),
            Completion::Completed
        );
        assert_eq!(
            w.sfn.sent(),
            vec![("T1".to_string(), serde_json::to_string(&next).unwrap())]
        );
        assert_eq!(result(&w).outcome, Outcome::Busy);
        // A late duplicate event after completion: nothing.
        let late = record_disconnect(&w.ledger, &w.sfn_client, "c-1", &end(Outcome::Busy), now)
            .await
            .unwrap();
        assert_eq!(late, DisconnectRecorded::Duplicate);
        assert_eq!(w.sfn.sent().len(), 1);
        // Completing again (a second completer that lost the claim) does nothing.
        assert_eq!(
            complete(&w.ledger, &w.sfn_client, &item, now)
                .await
                .unwrap(),
            Completion::AlreadyCompleted
        );
        assert_eq!(w.sfn.sent().len(), 1);
    }

    #[tokio::test]
    async fn a_retried_event_finishes_a_completion_that_failed_half_way() {
        let w = world();
        record(&w, "c-1", "T1", &lane_state(1)).await;
        let now = t("2024-03-04T10:01:02Z");
        // The wake-up fails after the claim: the event fails (and will be retried).
        w.sfn.fail_next(1);
        let err = record_disconnect(
            &w.ledger,
            &w.sfn_client,
            "c-1",
            &end(Outcome::NoAnswer),
            now,
        )
        .await
        .unwrap_err();
        assert_eq!(err.name, ErrorName::Retryable);
        assert!(w.table.s("CONTACT#c-1", "completedAt").is_some());
        assert!(w.table.s("CONTACT#c-1", "notifiedAt").is_none());
        // The retry is not a duplicate: it finishes the completion.
        let status = record_disconnect(
            &w.ledger,
            &w.sfn_client,
            "c-1",
            &end(Outcome::NoAnswer),
            now,
        )
        .await
        .unwrap();
        assert_eq!(status, DisconnectRecorded::Completed);
        assert_eq!(w.sfn.sent().len(), 1);
        assert!(w.table.s("CONTACT#c-1", "notifiedAt").is_some());
    }

    #[tokio::test]
    async fn a_failed_result_write_is_retried_not_lost() {
        let w = world();
        record(&w, "c-1", "T1", &lane_state(1)).await;
        let now = t("2024-03-04T10:01:02Z");
        w.bucket.fail_next(1);
        let err = record_disconnect(&w.ledger, &w.sfn_client, "c-1", &end(Outcome::Failed), now)
            .await
            .unwrap_err();
        assert_eq!(err.name, ErrorName::Retryable);
        assert!(
            w.sfn.sent().is_empty(),
            "no wake-up before the record is written"
        );
        let status = record_disconnect(&w.ledger, &w.sfn_client, "c-1", &end(Outcome::Failed), now)
            .await
            .unwrap();
        assert_eq!(status, DisconnectRecorded::Completed);
        assert_eq!(result(&w).outcome, Outcome::Failed);
        assert_eq!(w.sfn.sent().len(), 1);
    }

    #[tokio::test]
    async fn a_task_that_is_gone_is_not_an_error() {
        let w = world();
        record(&w, "c-1", "T-old", &lane_state(1)).await;
        w.sfn.gone.lock().unwrap().push("T-old".into());
        let status = record_disconnect(
            &w.ledger,
            &w.sfn_client,
            "c-1",
            &end(Outcome::Connected),
            t("2024-03-04T10:01:02Z"),
        )
        .await
        .unwrap();
        assert_eq!(status, DisconnectRecorded::Completed);
        assert!(w.sfn.sent().is_empty());
        assert!(w.table.s("CONTACT#c-1", "notifiedAt").is_some());
        assert_eq!(result(&w).outcome, Outcome::Connected);
    }

    #[tokio::test]
    async fn a_dead_attempts_token_is_taken_over() {
        let w = world();
        record(&w, "c-1", "T-dead", &lane_state(1)).await;
        // The contact was placed again by another lane (same ClientToken, same contact id).
        let mut other = lane_state(7);
        other.lane = 5;
        assert_eq!(
            record(&w, "c-1", "T-live", &other).await,
            TokenRecorded::Waiting
        );
        let status = record_disconnect(
            &w.ledger,
            &w.sfn_client,
            "c-1",
            &end(Outcome::Connected),
            t("2024-03-04T10:01:02Z"),
        )
        .await
        .unwrap();
        assert_eq!(status, DisconnectRecorded::Completed);
        assert_eq!(
            w.sfn.sent(),
            vec![("T-live".to_string(), serde_json::to_string(&other).unwrap())]
        );
        // Once completed, a later attempt is told so and wakes its own lane.
        assert_eq!(
            record(&w, "c-1", "T-third", &lane_state(2)).await,
            TokenRecorded::AlreadyCompleted
        );
        assert_eq!(
            w.table.s("CONTACT#c-1", "taskToken").as_deref(),
            Some("T-live")
        );
    }

    #[tokio::test]
    async fn debug_output_never_shows_the_token() {
        let w = world();
        record(&w, "c-1", "SECRET-TOKEN", &lane_state(1)).await;
        let item = get_contact(&w.ledger, "c-1").await.unwrap().unwrap();
        let printed = format!("{item:?}");
        assert!(!printed.contains("SECRET-TOKEN"), "{printed}");
        assert!(printed.contains("<redacted>"));
    }

    async fn place_and_point(w: &World, contact_id: &str, calls: u32) -> LaneState {
        let next = lane_state(calls + 1);
        record(w, contact_id, "T1", &next).await;
        put_lane_pointer(&w.ledger, &next, contact_id, t("2024-03-04T10:00:00Z"))
            .await
            .unwrap();
        lane_state(calls)
    }

    #[tokio::test]
    async fn reconcile_records_timeout_for_a_call_still_up_and_a_late_event_corrects_it() {
        let w = world();
        let connect = FakeConnect::new(&w.log);
        connect.contacts.lock().unwrap().insert(
            "c-1".into(),
            aws_sdk_connect::types::Contact::builder()
                .id("c-1")
                .connected_to_system_timestamp(aws_smithy_types::DateTime::from_secs(1_709_546_405))
                .build(),
        );
        let lane = place_and_point(&w, "c-1", 17).await;
        let now = t("2024-03-04T10:05:00Z");
        let next = reconcile(&w.ledger, &connect.client(), "i-1", &lane, now)
            .await
            .unwrap();
        assert_eq!(next, lane_state(18));
        assert_eq!(result(&w).outcome, Outcome::Timeout);
        assert!(result(&w).disconnected_at.is_none());
        assert!(
            w.sfn.sent().is_empty(),
            "the timed-out task's token is dead"
        );
        assert!(w.table.s("CONTACT#c-1", "notifiedAt").is_some());

        // Reconciling again (the ASL retried the task) changes nothing and answers the same.
        let again = reconcile(&w.ledger, &connect.client(), "i-1", &lane, now)
            .await
            .unwrap();
        assert_eq!(again, lane_state(18));

        // The call's real end arrives later: the record gets the real outcome, same key.
        let status = record_disconnect(
            &w.ledger,
            &w.sfn_client,
            "c-1",
            &end(Outcome::Connected),
            now,
        )
        .await
        .unwrap();
        assert_eq!(status, DisconnectRecorded::Updated);
        assert_eq!(result(&w).outcome, Outcome::Connected);
        assert_eq!(w.bucket.keys(), vec![result_key()]);
        assert!(w.sfn.sent().is_empty());
    }

    #[tokio::test]
    async fn reconcile_uses_what_connect_knows_about_an_ended_call() {
        let w = world();
        let connect = FakeConnect::new(&w.log);
        connect.contacts.lock().unwrap().insert(
            "c-1".into(),
            aws_sdk_connect::types::Contact::builder()
                .id("c-1")
                .disconnect_timestamp(aws_smithy_types::DateTime::from_secs(1_709_546_460))
                .disconnect_reason("TELECOM_BUSY")
                .build(),
        );
        let lane = place_and_point(&w, "c-1", 0).await;
        let next = reconcile(
            &w.ledger,
            &connect.client(),
            "i-1",
            &lane,
            t("2024-03-04T10:05:00Z"),
        )
        .await
        .unwrap();
        assert_eq!(next.calls, 1);
        let r = result(&w);
        assert_eq!(r.outcome, Outcome::Busy);
        assert_eq!(
            r.disconnected_at.as_deref(),
            Some("2024-03-04T10:01:00.000Z")
        );
    }

    #[tokio::test]
    async fn reconcile_without_an_outstanding_call_returns_the_state_unchanged() {
        let w = world();
        let connect = FakeConnect::new(&w.log);
        let lane = lane_state(4);
        let now = t("2024-03-04T10:05:00Z");
        // No pointer at all.
        assert_eq!(
            reconcile(&w.ledger, &connect.client(), "i-1", &lane, now)
                .await
                .unwrap(),
            lane
        );
        // A pointer to an older call (already counted, or from an earlier wave).
        put_lane_pointer(&w.ledger, &lane_state(4), "c-old", now)
            .await
            .unwrap();
        assert_eq!(
            reconcile(&w.ledger, &connect.client(), "i-1", &lane, now)
                .await
                .unwrap(),
            lane
        );
        // The previous wave's lane on its fifth call, while this wave's lane (four calls in)
        // waits for it: not this lane's call.
        let previous_wave = LaneState {
            wave: 7,
            ..lane_state(5)
        };
        put_lane_pointer(&w.ledger, &previous_wave, "c-previous", now)
            .await
            .unwrap();
        let this_wave = LaneState {
            wave: 8,
            ..lane.clone()
        };
        assert_eq!(
            reconcile(&w.ledger, &connect.client(), "i-1", &this_wave, now)
                .await
                .unwrap(),
            this_wave
        );
        assert_eq!(w.log.count("connect:DescribeContact"), 0);
    }

    #[tokio::test]
    async fn reconcile_of_a_completed_call_only_counts_it() {
        let w = world();
        let connect = FakeConnect::new(&w.log);
        let lane = place_and_point(&w, "c-1", 9).await;
        let now = t("2024-03-04T10:05:00Z");
        // Completed by the event, but the wake-up came after the task timed out.
        w.sfn.gone.lock().unwrap().push("T1".into());
        record_disconnect(
            &w.ledger,
            &w.sfn_client,
            "c-1",
            &end(Outcome::NoAnswer),
            now,
        )
        .await
        .unwrap();
        let puts = *w.bucket.puts.lock().unwrap();
        let next = reconcile(&w.ledger, &connect.client(), "i-1", &lane, now)
            .await
            .unwrap();
        assert_eq!(next.calls, 10);
        assert_eq!(w.log.count("connect:DescribeContact"), 0);
        assert_eq!(*w.bucket.puts.lock().unwrap(), puts);
        assert_eq!(result(&w).outcome, Outcome::NoAnswer);
    }

    #[tokio::test]
    async fn describe_contact_throttling_is_retried_by_the_state_machine() {
        use aws_sdk_connect::operation::describe_contact::DescribeContactError;
        use aws_smithy_mocks::{mock, mock_client, RuleMode};
        let w = world();
        let lane = place_and_point(&w, "c-1", 0).await;
        let throttled = mock!(aws_sdk_connect::Client::describe_contact).then_error(|| {
            DescribeContactError::ThrottlingException(
                aws_sdk_connect::types::error::ThrottlingException::builder()
                    .meta(crate::testkit::meta("ThrottlingException"))
                    .build(),
            )
        });
        let connect = mock_client!(aws_sdk_connect, RuleMode::MatchAny, [&throttled], |c| c
            .retry_config(aws_smithy_types::retry::RetryConfig::disabled()));
        let err = reconcile(&w.ledger, &connect, "i-1", &lane, t("2024-03-04T10:05:00Z"))
            .await
            .unwrap_err();
        assert_eq!(err.name, ErrorName::Throttled);
        assert!(w.table.s("CONTACT#c-1", "completedAt").is_none());
    }
}
