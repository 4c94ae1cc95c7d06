//! `set-disposition`: the agent's disposition code, recorded against the dialed contact.
//!
//! Invoked from a Connect flow (the agent's step-by-step guide) with
//! `Details.Parameters.disposition` and any other parameters, which are kept as disposition
//! attributes. A step-by-step guide runs in a contact of its own (a chat contact routed to the
//! agent), not in the voice call: Amazon Connect relates it to the call, whose id is the guide
//! contact's `Details.ContactData.RelatedContactId`. So the dialed contact is the
//! `RelatedContactId` when there is one; without it (set-disposition invoked from the call's
//! own flow) the contact is `ContactId`, or its `InitialContactId` when the agent handles a
//! transferred leg. The answer is always a flat string map `{"status","disposition"}`: a flow
//! cannot handle anything else, and a missing parameter is an answer the flow can branch on,
//! not a failure.
//!
//! ShowView runs guides as chat contacts distinct from the customer's contact:
//! <https://docs.aws.amazon.com/connect/latest/APIReference/participant-actions-showview.html>;
//! the contact data a flow passes to a Lambda function (`Details.ContactData`):
//! <https://docs.aws.amazon.com/connect/latest/adminguide/connect-lambda-functions.html>.
//!
//! If the contact is already completed its result record is rewritten at the same key (it
//! replaces, never duplicates); if not, the completion writes the disposition with the rest.
//!
//! **Callbacks.** `Details.Parameters.callbackAt` (RFC 3339 with an offset, such as
//! `2026-12-07T15:00:00+01:00`) or `callbackInMinutes` (a whole number) asks for the contact to
//! be called again at that time. It must be at least a minute and at most `CALLBACK_MAX_DAYS`
//! days ahead. The contact's campaign, contact key and attempt are those dial stored on the
//! call's `CONTACT#` item; the campaign ledger schedules the callback on that attempt only
//! ([`outbound_core::ledger::ops::schedule_callback`]): stored while the call is up, applied at
//! once when the attempt has ended, refused when the contact has moved on to a later attempt.
//! A scheduled callback is stored on the `CONTACT#` item too (`callbackAt`), so the attempt's
//! result record carries it. Whatever happens to the callback, the disposition is recorded; the
//! answer's `status` says what happened to the callback (`invalid_callback`,
//! `callback_too_late`, `callback_refused`, `callback_unavailable`), and `callbackAt` (UTC) is
//! in the answer once it is scheduled. A callback at or after the end of the campaign's
//! schedule (`outbound_core::ledger::schedule`) would never be dialed: it is refused as
//! `invalid_callback` with `callbackProblem` `after_campaign_end` and `campaignEndsAt` (UTC),
//! so the agent can offer the customer another time during the call.
//!
//! **Do not call.** `Details.Parameters.doNotCall` = `true` (the customer asked not to be
//! called again) puts the contact's number on the deployment's do-not-call list
//! ([`outbound_core::dnc`]) by the key its ledger item holds: no campaign calls it again (a
//! redial or callback already due is made final as `dnc` when it comes up). The answer's
//! `doNotCall` says `listed`, `already_listed`, or `unavailable` (the ledger holds no key for
//! the contact: a call placed before the list existed).

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use chrono::{DateTime, Duration, Utc};
use outbound_core::completion::{
    contact_pk, rfc3339, updated_contact, write_result, ContactItem, Ledger,
};
use outbound_core::error::FunctionError;
use outbound_core::ledger::attempt::AttemptId;
use outbound_core::ledger::campaigns;
use outbound_core::ledger::ops::{schedule_callback, CallbackScheduled, CampaignLedger};
use outbound_core::ledger::rules::{check_callback, CallbackProblem};
use outbound_core::ledger::schedule;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap};

/// Longest disposition code kept (a code, not a note).
pub const MAX_DISPOSITION_LEN: usize = 256;
/// Longest attribute value kept.
const MAX_ATTRIBUTE_LEN: usize = 1024;
/// Longest contact id accepted (Amazon Connect's `ContactId` is 1 to 256 characters).
const MAX_CONTACT_ID_LEN: usize = 256;

/// The statuses `set-disposition` answers.
pub mod status {
    pub const RECORDED: &str = "recorded";
    pub const MISSING_DISPOSITION: &str = "missing_disposition";
    pub const INVALID_DISPOSITION: &str = "invalid_disposition";
    pub const MISSING_CONTACT_ID: &str = "missing_contact_id";
    pub const UNKNOWN_CONTACT: &str = "unknown_contact";
    /// The disposition is recorded; the callback parameter is not a time a callback may be
    /// (`callbackProblem` says why; `after_campaign_end` comes with `campaignEndsAt`).
    pub const INVALID_CALLBACK: &str = "invalid_callback";
    /// The disposition is recorded; the contact has moved on to a later attempt, so the
    /// callback was not scheduled.
    pub const CALLBACK_TOO_LATE: &str = "callback_too_late";
    /// The disposition is recorded; the contact is final for a reason a callback never
    /// overrides (do not call, number refused, campaign ended).
    pub const CALLBACK_REFUSED: &str = "callback_refused";
    /// The disposition is recorded; the campaign ledger does not hold the call's attempt (a
    /// call placed before the ledger existed), so there is nothing to schedule on.
    pub const CALLBACK_UNAVAILABLE: &str = "callback_unavailable";
}

/// Why a callback parameter is refused (`callbackProblem` in the answer).
pub mod problem {
    /// `callbackAt` is not RFC 3339 with an offset, or `callbackInMinutes` not a whole number.
    pub const UNPARSEABLE: &str = "unparseable";
    /// Both `callbackAt` and `callbackInMinutes` were given.
    pub const AMBIGUOUS: &str = "ambiguous";
}

/// What became of a `doNotCall` request (`doNotCall` in the answer).
pub mod do_not_call {
    pub const LISTED: &str = "listed";
    pub const ALREADY_LISTED: &str = "already_listed";
    pub const UNAVAILABLE: &str = "unavailable";
}

/// The parameter that asks for the number to be put on the do-not-call list.
pub const DO_NOT_CALL_PARAMETER: &str = "doNotCall";

/// The parameters that ask for a callback (not kept as disposition attributes).
pub const CALLBACK_PARAMETERS: [&str; 2] = ["callbackAt", "callbackInMinutes"];

/// The campaign ledger, where callbacks are scheduled, and how far ahead they may be.
#[derive(Debug, Clone)]
pub struct Callbacks {
    pub ledger: CampaignLedger,
    /// `CALLBACK_MAX_DAYS`.
    pub max_days: u32,
}

fn answer(status: &str, disposition: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("status".to_string(), status.to_string()),
        ("disposition".to_string(), disposition.to_string()),
    ])
}

/// What the flow asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallbackRequest {
    /// No callback parameter (or only blank ones).
    None,
    /// A callback at this time, checked.
    At(DateTime<Utc>),
    /// A callback parameter that is not a time a callback may be: the problem.
    Invalid(&'static str),
}

/// Reads `callbackAt` / `callbackInMinutes` and checks the time against `now` and the horizon.
pub fn callback_request(
    parameters: Option<&Map<String, Value>>,
    now: DateTime<Utc>,
    max_days: u32,
) -> CallbackRequest {
    let given = |name: &str| {
        parameters
            .and_then(|p| p.get(name))
            .and_then(text)
            .filter(|v| !v.is_empty())
    };
    let at = match (given("callbackAt"), given("callbackInMinutes")) {
        (None, None) => return CallbackRequest::None,
        (Some(_), Some(_)) => return CallbackRequest::Invalid(problem::AMBIGUOUS),
        (Some(at), None) => match DateTime::parse_from_rfc3339(&at) {
            Ok(at) => at.with_timezone(&Utc),
            Err(_) => return CallbackRequest::Invalid(problem::UNPARSEABLE),
        },
        (None, Some(minutes)) => match minutes.parse::<i64>() {
            Ok(m) => match Duration::try_minutes(m).and_then(|d| now.checked_add_signed(d)) {
                Some(at) => at,
                // Beyond what the clock holds: far out of bounds either way.
                None if m < 0 => {
                    return CallbackRequest::Invalid(CallbackProblem::TooSoon.as_str())
                }
                None => return CallbackRequest::Invalid(CallbackProblem::TooFar.as_str()),
            },
            Err(_) => return CallbackRequest::Invalid(problem::UNPARSEABLE),
        },
    };
    match check_callback(at, now, max_days) {
        Ok(()) => CallbackRequest::At(at),
        Err(p) => CallbackRequest::Invalid(p.as_str()),
    }
}

fn object(v: Option<&Value>) -> Option<&Map<String, Value>> {
    v.and_then(Value::as_object)
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Handles one flow invocation.
pub async fn set_disposition(
    ledger: &Ledger,
    callbacks: &Callbacks,
    event: &Value,
    now: DateTime<Utc>,
) -> Result<BTreeMap<String, String>, FunctionError> {
    let details = object(event.get("Details"));
    let parameters = details.and_then(|d| object(d.get("Parameters")));
    let contact_data = details.and_then(|d| object(d.get("ContactData")));

    let disposition = parameters
        .and_then(|p| p.get("disposition"))
        .and_then(text)
        .unwrap_or_default();
    if disposition.is_empty() {
        return Ok(answer(status::MISSING_DISPOSITION, ""));
    }
    if disposition.chars().count() > MAX_DISPOSITION_LEN
        || disposition.chars().any(char::is_control)
    {
        return Ok(answer(status::INVALID_DISPOSITION, ""));
    }
    let callback = callback_request(parameters, now, callbacks.max_days);
    let wants_do_not_call = parameters
        .and_then(|p| p.get(DO_NOT_CALL_PARAMETER))
        .and_then(text)
        .is_some_and(|v| matches!(v.to_ascii_lowercase().as_str(), "true" | "yes" | "1"));
    let attributes: HashMap<String, AttributeValue> = parameters
        .map(|p| {
            p.iter()
                .filter(|(k, _)| {
                    k.as_str() != "disposition" && !CALLBACK_PARAMETERS.contains(&k.as_str())
                })
                .filter_map(|(k, v)| {
                    let value: String = text(v)?.chars().take(MAX_ATTRIBUTE_LEN).collect();
                    Some((k.clone(), AttributeValue::S(value)))
                })
                .collect()
        })
        .unwrap_or_default();

    let ids = match related_contact(contact_data) {
        Related::Present(related) => vec![related],
        related => {
            let ids = own_contact_ids(contact_data);
            let why = if related == Related::Malformed {
                "malformed"
            } else {
                "absent"
            };
            // Contact ids only: a flow event also carries the customer's number, never logged.
            tracing::info!(
                related_contact_id = why,
                contact_ids = ?ids,
                "no usable RelatedContactId (not a step-by-step guide contact?): recording against the flow's own contact"
            );
            ids
        }
    };
    if ids.is_empty() {
        return Ok(answer(status::MISSING_CONTACT_ID, &disposition));
    }

    for contact_id in &ids {
        if let Some(item) = record(ledger, contact_id, &disposition, &attributes, now).await? {
            tracing::info!(contact_id = %contact_id, disposition = %disposition, completed = item.completed_at.is_some(), "disposition recorded");
            let mut out = answer(status::RECORDED, &disposition);
            let item = match callback {
                CallbackRequest::None => item,
                CallbackRequest::Invalid(problem) => {
                    tracing::info!(contact_id = %contact_id, problem, "callback refused");
                    out.insert("status".into(), status::INVALID_CALLBACK.into());
                    out.insert("callbackProblem".into(), problem.into());
                    item
                }
                CallbackRequest::At(at) => match schedule(callbacks, &item, at, now).await? {
                    Ok(()) => {
                        out.insert("callbackAt".into(), rfc3339(at));
                        record_callback(ledger, contact_id, at)
                            .await?
                            .unwrap_or(item)
                    }
                    Err(refusal) => {
                        out.insert("status".into(), refusal.status.into());
                        if let Some((problem, ends_at)) = refusal.campaign_end {
                            // The agent learns at once that the campaign ends first, and when.
                            out.insert("callbackProblem".into(), problem.into());
                            out.insert("campaignEndsAt".into(), rfc3339(ends_at));
                        }
                        item
                    }
                },
            };
            if wants_do_not_call {
                let listed = list_do_not_call(callbacks, &item, contact_id, now).await?;
                out.insert(DO_NOT_CALL_PARAMETER.into(), listed.into());
            }
            if item.completed_at.is_some() {
                write_result(ledger, item).await?;
            }
            return Ok(out);
        }
    }
    tracing::info!(contact_ids = ?ids, "disposition for a contact the dialer did not place");
    Ok(answer(status::UNKNOWN_CONTACT, &disposition))
}

/// `Details.ContactData.RelatedContactId`, as a guide contact carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Related {
    /// A usable contact id: the voice call the guide was shown for.
    Present(String),
    /// No such field (or null): the flow is not a guide related to a call.
    Absent,
    /// Present but not a contact id (not a string, blank, too long, control characters).
    Malformed,
}

/// The contact the guide's contact is related to.
pub fn related_contact(contact_data: Option<&Map<String, Value>>) -> Related {
    match contact_data.and_then(|c| c.get("RelatedContactId")) {
        None | Some(Value::Null) => Related::Absent,
        Some(v) => contact_id(v).map_or(Related::Malformed, Related::Present),
    }
}

/// `ContactId` then `InitialContactId` (when different): the contact the flow runs in.
pub fn own_contact_ids(contact_data: Option<&Map<String, Value>>) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    for field in ["ContactId", "InitialContactId"] {
        if let Some(id) = contact_data.and_then(|c| c.get(field)).and_then(contact_id) {
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
    }
    ids
}

fn contact_id(v: &Value) -> Option<String> {
    let id = v.as_str()?.trim();
    (!id.is_empty()
        && id.chars().count() <= MAX_CONTACT_ID_LEN
        && !id.chars().any(char::is_control))
    .then(|| id.to_string())
}

/// Puts the call's number on the do-not-call list, by the key the contact's ledger item holds.
async fn list_do_not_call(
    callbacks: &Callbacks,
    item: &ContactItem,
    contact_id: &str,
    now: DateTime<Utc>,
) -> Result<&'static str, FunctionError> {
    let (Some(campaign), Some(contact_key)) = (&item.campaign, &item.contact_key) else {
        return Ok(do_not_call::UNAVAILABLE);
    };
    let key = outbound_core::ledger::read_contact(&callbacks.ledger, campaign, contact_key)
        .await?
        .and_then(|c| c.dnc_key);
    let Some(key) = key else {
        return Ok(do_not_call::UNAVAILABLE);
    };
    let added = outbound_core::dnc::add(
        &callbacks.ledger,
        &key,
        &outbound_core::dnc::DncSource::Agent { contact_id },
        now,
    )
    .await?;
    tracing::info!(contact_id = %contact_id, campaign = %campaign, contact_key = %contact_key, added, "number on the do-not-call list at the agent's disposition");
    Ok(if added {
        do_not_call::LISTED
    } else {
        do_not_call::ALREADY_LISTED
    })
}

/// Schedules the callback on the call's attempt in the campaign ledger; `Err(status)` when it
/// was not scheduled.
/// Why a callback was not scheduled: the answer's `status`, and for a callback after the
/// campaign's end the `callbackProblem` and the end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Refusal {
    status: &'static str,
    campaign_end: Option<(&'static str, DateTime<Utc>)>,
}

impl From<&'static str> for Refusal {
    fn from(status: &'static str) -> Self {
        Refusal {
            status,
            campaign_end: None,
        }
    }
}

async fn schedule(
    callbacks: &Callbacks,
    item: &ContactItem,
    at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Result<(), Refusal>, FunctionError> {
    let (Some(campaign), Some(contact_key)) = (&item.campaign, &item.contact_key) else {
        return Ok(Err(status::CALLBACK_UNAVAILABLE.into()));
    };
    // A callback the campaign's end would close before it is dialed is refused now, while the
    // agent can still offer another time, rather than made final later without a word.
    if let Some(stored) = schedule::read(&callbacks.ledger, campaign).await? {
        if let Err(problem) = stored.schedule.check_callback(at) {
            let ends_at = stored.schedule.end.unwrap_or(at);
            tracing::info!(contact_id = %item.contact_id, campaign = %campaign, callback_at = %rfc3339(at), campaign_ends_at = %rfc3339(ends_at), "callback refused: after the campaign's end");
            return Ok(Err(Refusal {
                status: status::INVALID_CALLBACK,
                campaign_end: Some((problem.as_str(), ends_at)),
            }));
        }
    }
    // The attempt dial stored with the call; 1 for a call stored before attempts were.
    let id = AttemptId::new(campaign, contact_key, item.attempt.unwrap_or(1));
    let scheduled = schedule_callback(&callbacks.ledger, &id, at).await?;
    let (result, what): (Result<(), Refusal>, _) = match &scheduled {
        CallbackScheduled::Pending(_) => (Ok(()), "stored on the attempt in progress"),
        CallbackScheduled::Due { reopened: true, .. } => (Ok(()), "final contact due again"),
        CallbackScheduled::Due { .. } => (Ok(()), "pending redial moved"),
        CallbackScheduled::TooLate(_) => (
            Err(status::CALLBACK_TOO_LATE.into()),
            "contact already on a later attempt",
        ),
        CallbackScheduled::Closed(_) => (Err(status::CALLBACK_REFUSED.into()), "contact closed"),
        CallbackScheduled::Unknown(_) => (
            Err(status::CALLBACK_UNAVAILABLE.into()),
            "attempt not in the campaign ledger",
        ),
    };
    if matches!(scheduled, CallbackScheduled::Due { .. }) {
        // The campaign may have left the feeder's list (nothing was left to dial): list it
        // again, or its reopened contact would wait for a feeder that never looks at it.
        campaigns::register(&callbacks.ledger, campaign, now).await?;
    }
    tracing::info!(
        contact_id = %item.contact_id,
        campaign = %id.campaign,
        contact_key = %id.contact_key,
        attempt = id.attempt,
        callback_at = %rfc3339(at),
        scheduled = result.is_ok(),
        "callback: {what}"
    );
    Ok(result)
}

/// Stores the scheduled callback on the `CONTACT#` item (for the result record); the item
/// after the write.
async fn record_callback(
    ledger: &Ledger,
    contact_id: &str,
    at: DateTime<Utc>,
) -> Result<Option<ContactItem>, FunctionError> {
    let result = ledger
        .dynamodb
        .update_item()
        .table_name(&ledger.table_name)
        .key("pk", AttributeValue::S(contact_pk(contact_id)))
        .update_expression("SET #callbackAt = :at")
        .condition_expression("attribute_exists(#contactKey)")
        .expression_attribute_names("#callbackAt", "callbackAt")
        .expression_attribute_names("#contactKey", "contactKey")
        .expression_attribute_values(":at", AttributeValue::S(rfc3339(at)))
        .return_values(ReturnValue::AllNew)
        .send()
        .await;
    updated_contact(contact_id, result, "UpdateItem (callback)")
}

/// Updates the contact if the dialer placed it; `None` otherwise.
async fn record(
    ledger: &Ledger,
    contact_id: &str,
    disposition: &str,
    attributes: &HashMap<String, AttributeValue>,
    now: DateTime<Utc>,
) -> Result<Option<ContactItem>, FunctionError> {
    let result = ledger
        .dynamodb
        .update_item()
        .table_name(&ledger.table_name)
        .key("pk", AttributeValue::S(contact_pk(contact_id)))
        .update_expression(
            "SET #disposition = :disposition, #dispositionAttributes = :attributes, \
             #dispositionAt = :now",
        )
        // Only contacts dial recorded: an update must not create an item for a stranger.
        .condition_expression("attribute_exists(#contactKey)")
        .expression_attribute_names("#disposition", "disposition")
        .expression_attribute_names("#dispositionAttributes", "dispositionAttributes")
        .expression_attribute_names("#dispositionAt", "dispositionAt")
        .expression_attribute_names("#contactKey", "contactKey")
        .expression_attribute_values(":disposition", AttributeValue::S(disposition.to_string()))
        .expression_attribute_values(":attributes", AttributeValue::M(attributes.clone()))
        .expression_attribute_values(":now", AttributeValue::S(rfc3339(now)))
        .return_values(ReturnValue::AllNew)
        .send()
        .await;
    updated_contact(contact_id, result, "UpdateItem (disposition)")
}

#[cfg(test)]
mod tests {
    use super::*;
    use outbound_core::completion::{record_disconnect, record_token, PlacedCall};
    use outbound_core::contact::{Contact, ContactSource};
    use outbound_core::events::CallEnd;
    use outbound_core::ledger::ops::{admit, begin_attempt, lease, AdmitOptions, AttemptBegun};
    use outbound_core::ledger::{ContactState, FinalReason, Finisher, LedgerContact, RedialRules};
    use outbound_core::records::FinalRecord;
    use outbound_core::records::{LaneState, Outcome, ResultRecord};
    use outbound_core::testkit::{FakeBucket, FakeSfn, FakeTable, Log};
    use serde_json::json;

    struct World {
        table: FakeTable,
        /// The campaign ledger's table.
        contacts: FakeTable,
        bucket: FakeBucket,
        ledger: Ledger,
        callbacks: Callbacks,
        sfn: aws_sdk_sfn::Client,
    }

    fn world() -> World {
        let log = Log::default();
        let table = FakeTable::new(&log);
        let contacts = FakeTable::new(&log);
        let bucket = FakeBucket::new(&log);
        let campaign_ledger = CampaignLedger {
            dynamodb: contacts.client(),
            table_name: "l".into(),
            final_retention: Some(Duration::days(90)),
        };
        let ledger = Ledger {
            dynamodb: table.client(),
            s3: bucket.client(),
            table_name: "t".into(),
            results_bucket: "b".into(),
            // The completion ends the attempt in the campaign ledger, as deployed.
            finisher: Some(Finisher {
                ledger: campaign_ledger.clone(),
                rules: RedialRules::default(),
            }),
        };
        World {
            table,
            contacts,
            bucket,
            ledger,
            callbacks: Callbacks {
                ledger: campaign_ledger,
                max_days: 30,
            },
            sfn: FakeSfn::new(&log).client(),
        }
    }

    fn contact() -> Contact {
        Contact {
            campaign: "spring".into(),
            key: "C-1".into(),
            phone: "+442079460123".into(),
            contact_key: outbound_core::testkit::contact_key("spring", "C-1", "+442079460123"),
            attempt: 1,
            attributes: Default::default(),
            source: ContactSource::Csv {
                object: "uploads/spring.csv".into(),
                line: 2,
            },
        }
    }

    async fn placed(w: &World) {
        let c = contact();
        let next = LaneState {
            run_id: "r-1".into(),
            lane: 1,
            calls: 1,
            budget: 10,
            timeout_seconds: 60,
            wave: 0,
            wave_budget: 0,
        };
        record_token(
            &w.ledger,
            &PlacedCall {
                contact_id: "c-1",
                task_token: "T",
                next_state: &next,
                contact: &c,
                contact_key: &c.contact_key,
                caller_id: None,
                refused_caller_id: None,
                dialed_at: Utc::now(),
            },
        )
        .await
        .unwrap();
    }

    async fn ended(w: &World) {
        let end = CallEnd {
            disconnected_at: Utc::now(),
            outcome: Outcome::Connected,
        };
        record_disconnect(&w.ledger, &w.sfn, "c-1", &end, Utc::now())
            .await
            .unwrap();
    }

    fn record(w: &World) -> Option<ResultRecord> {
        let key =
            outbound_core::records::result_object_key("spring", "r-1", &contact().contact_key, 1);
        w.bucket
            .object(&key)
            .map(|b| serde_json::from_str(b.trim_end()).unwrap())
    }

    fn event(disposition: &str) -> Value {
        json!({"Details": {"ContactData": {"ContactId": "c-1"},
                           "Parameters": {"disposition": disposition, "callback": "Friday"}}})
    }

    #[tokio::test]
    async fn during_the_call_it_waits_for_the_completion() {
        let w = world();
        placed(&w).await;
        let out = set_disposition(&w.ledger, &w.callbacks, &event("SALE"), Utc::now())
            .await
            .unwrap();
        assert_eq!(out["status"], status::RECORDED);
        assert!(record(&w).is_none(), "no record before the call ended");
        let attrs = w.table.get("CONTACT#c-1").unwrap()["dispositionAttributes"].clone();
        assert_eq!(attrs.as_m().unwrap()["callback"].as_s().unwrap(), "Friday");
        ended(&w).await;
        assert_eq!(record(&w).unwrap().disposition.as_deref(), Some("SALE"));
    }

    #[tokio::test]
    async fn after_the_call_it_rewrites_the_record_in_place() {
        let w = world();
        placed(&w).await;
        ended(&w).await;
        assert_eq!(record(&w).unwrap().disposition, None);
        set_disposition(&w.ledger, &w.callbacks, &event("CALLBACK"), Utc::now())
            .await
            .unwrap();
        set_disposition(&w.ledger, &w.callbacks, &event("SALE"), Utc::now())
            .await
            .unwrap();
        assert_eq!(record(&w).unwrap().disposition.as_deref(), Some("SALE"));
        assert_eq!(w.bucket.keys().len(), 1);
    }

    #[tokio::test]
    async fn a_disposition_landing_while_the_completer_writes_is_not_lost() {
        let w = world();
        placed(&w).await;
        // The agent's disposition reaches the table just after the completer wrote its copy of
        // the record (without it), and before the completer re-reads the contact.
        let table = w.table.clone();
        w.bucket.after_next_put(move || {
            let mut items = table.items.lock().unwrap();
            let item = items.get_mut("CONTACT#c-1").unwrap();
            item.insert("disposition".into(), AttributeValue::S("SALE".into()));
        });
        ended(&w).await;
        assert_eq!(record(&w).unwrap().disposition.as_deref(), Some("SALE"));
        assert_eq!(*w.bucket.puts.lock().unwrap(), 2);
    }

    /// The event a step-by-step guide's Lambda block sends: the guide's own chat contact, related
    /// to the voice call the dialer placed.
    fn guide_event(related: Value, disposition: &str) -> Value {
        json!({"Details": {"ContactData": {"ContactId": "guide-1", "InitialContactId": "guide-1",
                                           "Channel": "CHAT", "RelatedContactId": related},
                           "Parameters": {"disposition": disposition}}})
    }

    #[tokio::test]
    async fn a_guide_records_on_the_related_voice_contact() {
        let w = world();
        placed(&w).await;
        let out = set_disposition(
            &w.ledger,
            &w.callbacks,
            &guide_event(json!("c-1"), "SALE"),
            Utc::now(),
        )
        .await
        .unwrap();
        assert_eq!(out["status"], status::RECORDED);
        let item = w.table.get("CONTACT#c-1").unwrap();
        assert_eq!(item["disposition"].as_s().unwrap(), "SALE");
        assert!(w.table.get("CONTACT#guide-1").is_none());
        ended(&w).await;
        assert_eq!(record(&w).unwrap().disposition.as_deref(), Some("SALE"));
    }

    #[tokio::test]
    async fn a_guide_related_to_a_contact_the_dialer_did_not_place_is_unknown() {
        let w = world();
        placed(&w).await;
        let out = set_disposition(
            &w.ledger,
            &w.callbacks,
            &guide_event(json!("c-other"), "SALE"),
            Utc::now(),
        )
        .await
        .unwrap();
        assert_eq!(out["status"], status::UNKNOWN_CONTACT);
        assert!(!w
            .table
            .get("CONTACT#c-1")
            .unwrap()
            .contains_key("disposition"));
    }

    #[test]
    fn the_related_contact_is_read_when_usable() {
        let data = |v: Value| json!({"ContactId": "guide-1", "RelatedContactId": v});
        let related = |v: Value| related_contact(data(v).as_object());
        assert_eq!(related(json!(" c-1 ")), Related::Present("c-1".into()));
        assert_eq!(related(Value::Null), Related::Absent);
        assert_eq!(
            related_contact(json!({"ContactId": "guide-1"}).as_object()),
            Related::Absent
        );
        assert_eq!(related_contact(None), Related::Absent);
        for malformed in [
            json!(""),
            json!("   "),
            json!(42),
            json!({"Id": "c-1"}),
            json!(["c-1"]),
            json!("c-\u{0}1"),
            json!("c".repeat(MAX_CONTACT_ID_LEN + 1)),
        ] {
            assert_eq!(
                related(malformed.clone()),
                Related::Malformed,
                "{malformed}"
            );
        }
        assert_eq!(
            own_contact_ids(json!({"ContactId": "a", "InitialContactId": "a"}).as_object()),
            vec!["a".to_string()]
        );
    }

    #[tokio::test]
    async fn invalid_dispositions_are_answered() {
        let w = world();
        let long = "X".repeat(MAX_DISPOSITION_LEN + 1);
        let out = set_disposition(&w.ledger, &w.callbacks, &event(&long), Utc::now())
            .await
            .unwrap();
        assert_eq!(out["status"], status::INVALID_DISPOSITION);
        let out = set_disposition(&w.ledger, &w.callbacks, &event("A\u{0}B"), Utc::now())
            .await
            .unwrap();
        assert_eq!(out["status"], status::INVALID_DISPOSITION);
        // Unknown contact: nothing is created.
        let out = set_disposition(&w.ledger, &w.callbacks, &event("SALE"), Utc::now())
            .await
            .unwrap();
        assert_eq!(out["status"], status::UNKNOWN_CONTACT);
        assert!(w.table.get("CONTACT#c-1").is_none());
    }
    // ----- callbacks ---------------------------------------------------------------------

    fn ledger_pk() -> String {
        outbound_core::ledger::item::contact_pk("spring", &contact().contact_key)
    }

    fn ledger_item(w: &World) -> LedgerContact {
        LedgerContact::from_item(&w.contacts.get(&ledger_pk()).expect("in the ledger")).unwrap()
    }

    /// The contact admitted to the campaign ledger and `dialing` attempt 1, as dial leaves it.
    async fn dialing(w: &World, now: DateTime<Utc>) {
        let options = AdmitOptions {
            due_at: now,
            rules: None,
            round: None,
            dnc: None,
        };
        let l = &w.callbacks.ledger;
        admit(l, &contact(), &options, now).await.unwrap();
        let key = contact().contact_key;
        lease(l, "spring", &key, now, now + Duration::minutes(15), "f")
            .await
            .unwrap()
            .unwrap();
        let id = AttemptId::new("spring", &key, 1);
        assert!(matches!(
            begin_attempt(l, &id, now + Duration::minutes(5), now)
                .await
                .unwrap(),
            AttemptBegun::Begun(_)
        ));
    }

    fn callback_event(parameters: Value) -> Value {
        json!({"Details": {"ContactData": {"ContactId": "c-1"}, "Parameters": parameters}})
    }

    fn finals(w: &World) -> Vec<FinalRecord> {
        w.bucket
            .keys()
            .iter()
            .filter(|k| k.starts_with("finals/"))
            .map(|k| serde_json::from_str(w.bucket.object(k).unwrap().trim_end()).unwrap())
            .collect()
    }

    #[tokio::test]
    async fn a_callback_during_the_call_makes_the_contact_due_at_it_when_the_call_ends() {
        let w = world();
        let now = Utc::now();
        dialing(&w, now).await;
        placed(&w).await;
        let at = now + Duration::days(2);
        let out = set_disposition(
            &w.ledger,
            &w.callbacks,
            &callback_event(json!({"disposition": "Call back later",
                                   "callbackAt": at.with_timezone(&chrono::FixedOffset::east_opt(3600).unwrap()).to_rfc3339()})),
            now,
        )
        .await
        .unwrap();
        assert_eq!(out["status"], status::RECORDED);
        assert_eq!(out["callbackAt"], rfc3339(at));
        assert_eq!(
            ledger_item(&w).callback_at.map(|t| t.timestamp_millis()),
            Some(at.timestamp_millis())
        );
        // Not a disposition attribute: a field of its own.
        let item = w.table.get("CONTACT#c-1").unwrap();
        assert!(!item["dispositionAttributes"]
            .as_m()
            .unwrap()
            .contains_key("callbackAt"));
        // Connected is final under the default rules; the agent's promise wins.
        ended(&w).await;
        let after = ledger_item(&w);
        assert_eq!((after.state, after.attempt), (ContactState::Due, 2));
        assert_eq!(after.due_at.timestamp_millis(), at.timestamp_millis());
        assert!(finals(&w).is_empty(), "not final");
        let record = record(&w).unwrap();
        assert_eq!(record.callback_at.as_deref(), Some(rfc3339(at).as_str()));
        assert_eq!(record.disposition.as_deref(), Some("Call back later"));
    }

    #[tokio::test]
    async fn a_callback_after_the_call_reopens_a_final_contact_with_one_final_record() {
        let w = world();
        let now = Utc::now();
        dialing(&w, now).await;
        placed(&w).await;
        ended(&w).await;
        assert_eq!(ledger_item(&w).state, ContactState::Final);
        assert_eq!(finals(&w).len(), 1);
        let out = set_disposition(
            &w.ledger,
            &w.callbacks,
            &callback_event(json!({"disposition": "Call back later", "callbackInMinutes": "90"})),
            now,
        )
        .await
        .unwrap();
        let at = now + Duration::minutes(90);
        assert_eq!(out["status"], status::RECORDED);
        assert_eq!(out["callbackAt"], rfc3339(at));
        let item = ledger_item(&w);
        assert_eq!((item.state, item.attempt), (ContactState::Due, 2));
        assert_eq!(item.due_at.timestamp_millis(), at.timestamp_millis());
        assert_eq!(item.final_reason, None);
        // The completed call's record is rewritten with the callback, in place.
        let record = record(&w).unwrap();
        assert_eq!(record.callback_at.as_deref(), Some(rfc3339(at).as_str()));
        assert_eq!(
            w.bucket
                .keys()
                .iter()
                .filter(|k| k.starts_with("results/"))
                .count(),
            1
        );
        // The callback's attempt ends: the one final record is rewritten, not added.
        let l = &w.callbacks.ledger;
        let key = contact().contact_key;
        lease(l, "spring", &key, at, at + Duration::minutes(15), "f")
            .await
            .unwrap()
            .unwrap();
        let second = AttemptId::new("spring", &key, 2);
        begin_attempt(l, &second, at + Duration::minutes(5), at)
            .await
            .unwrap();
        w.ledger
            .finisher
            .as_ref()
            .unwrap()
            .finish_attempt(&w.ledger, &second, Outcome::Connected, at)
            .await
            .unwrap();
        let finals = finals(&w);
        assert_eq!(finals.len(), 1, "{finals:?}");
        assert_eq!(finals[0].attempts, 2);
    }

    #[tokio::test]
    async fn a_callback_for_an_attempt_the_contact_has_moved_past_is_too_late() {
        let w = world();
        let now = Utc::now();
        dialing(&w, now).await;
        // The ledger is on attempt 3 already; the call dial recorded was attempt 1.
        w.contacts
            .items
            .lock()
            .unwrap()
            .get_mut(&ledger_pk())
            .unwrap()
            .insert("attempt".into(), AttributeValue::N("3".into()));
        let before = w.contacts.get(&ledger_pk()).unwrap();
        placed(&w).await;
        let out = set_disposition(
            &w.ledger,
            &w.callbacks,
            &callback_event(json!({"disposition": "Busy later", "callbackInMinutes": 30})),
            now,
        )
        .await
        .unwrap();
        assert_eq!(out["status"], status::CALLBACK_TOO_LATE);
        assert!(!out.contains_key("callbackAt"));
        assert_eq!(
            w.contacts.get(&ledger_pk()).unwrap(),
            before,
            "nothing moved"
        );
        // The disposition itself is recorded, without a callback.
        assert_eq!(
            w.table.s("CONTACT#c-1", "disposition").as_deref(),
            Some("Busy later")
        );
        assert!(w.table.s("CONTACT#c-1", "callbackAt").is_none());
    }

    #[tokio::test]
    async fn an_invalid_callback_is_answered_and_the_disposition_still_recorded() {
        let now = Utc::now();
        let too_far = (now + Duration::days(31)).to_rfc3339();
        let too_soon = (now + Duration::seconds(30)).to_rfc3339();
        let past = (now - Duration::hours(1)).to_rfc3339();
        for (parameters, problem) in [
            (json!({"callbackAt": "tomorrow"}), problem::UNPARSEABLE),
            (
                json!({"callbackAt": "2026-12-07T15:00:00"}),
                problem::UNPARSEABLE,
            ),
            (json!({"callbackAt": too_far}), "too_far"),
            (json!({"callbackAt": too_soon}), "too_soon"),
            (json!({"callbackAt": past}), "too_soon"),
            (json!({"callbackInMinutes": "0"}), "too_soon"),
            (json!({"callbackInMinutes": "1.5"}), problem::UNPARSEABLE),
            (json!({"callbackInMinutes": 43201}), "too_far"),
            (json!({"callbackInMinutes": "99999999999999999"}), "too_far"),
            (
                json!({"callbackInMinutes": "-99999999999999999"}),
                "too_soon",
            ),
            (
                json!({"callbackAt": "2099-01-01T00:00:00Z", "callbackInMinutes": 5}),
                problem::AMBIGUOUS,
            ),
        ] {
            let w = world();
            dialing(&w, now).await;
            placed(&w).await;
            let before = w.contacts.get(&ledger_pk()).unwrap();
            let mut parameters = parameters.as_object().unwrap().clone();
            parameters.insert("disposition".into(), json!("Call back later"));
            let out = set_disposition(
                &w.ledger,
                &w.callbacks,
                &callback_event(Value::Object(parameters.clone())),
                now,
            )
            .await
            .unwrap();
            assert_eq!(out["status"], status::INVALID_CALLBACK, "{parameters:?}");
            assert_eq!(out["callbackProblem"], problem, "{parameters:?}");
            assert_eq!(
                w.table.s("CONTACT#c-1", "disposition").as_deref(),
                Some("Call back later")
            );
            assert_eq!(
                w.contacts.get(&ledger_pk()).unwrap(),
                before,
                "{parameters:?}"
            );
        }
        // Blank callback parameters are no callback.
        let w = world();
        placed(&w).await;
        let out = set_disposition(
            &w.ledger,
            &w.callbacks,
            &callback_event(
                json!({"disposition": "SALE", "callbackAt": " ", "callbackInMinutes": ""}),
            ),
            now,
        )
        .await
        .unwrap();
        assert_eq!(out, answer(status::RECORDED, "SALE"));
    }

    #[tokio::test]
    async fn a_callback_after_the_campaign_s_end_is_refused_at_once_saying_when_it_ends() {
        use outbound_core::ledger::schedule::{schedule_pk, CampaignSchedule};
        let now = Utc::now();
        let ends_at = now + Duration::hours(2);
        let w = world();
        dialing(&w, now).await;
        placed(&w).await;
        outbound_core::ledger::schedule::write(
            &w.callbacks.ledger,
            "spring",
            &CampaignSchedule {
                start: None,
                end: Some(ends_at),
            },
            "operator",
            now,
        )
        .await
        .unwrap();
        assert!(w.contacts.get(&schedule_pk("spring")).is_some());
        let before = w.contacts.get(&ledger_pk()).unwrap();
        let out = set_disposition(
            &w.ledger,
            &w.callbacks,
            &callback_event(json!({"disposition": "Call back", "callbackInMinutes": 180})),
            now,
        )
        .await
        .unwrap();
        assert_eq!(out["status"], status::INVALID_CALLBACK);
        assert_eq!(out["callbackProblem"], "after_campaign_end");
        assert_eq!(out["campaignEndsAt"], rfc3339(ends_at));
        assert!(!out.contains_key("callbackAt"), "{out:?}");
        assert_eq!(
            w.contacts.get(&ledger_pk()).unwrap(),
            before,
            "nothing scheduled"
        );
        assert_eq!(
            w.table.s("CONTACT#c-1", "disposition").as_deref(),
            Some("Call back"),
            "the disposition is recorded all the same"
        );
        // Before the end: scheduled as usual.
        let out = set_disposition(
            &w.ledger,
            &w.callbacks,
            &callback_event(json!({"disposition": "Call back", "callbackInMinutes": 60})),
            now,
        )
        .await
        .unwrap();
        assert_eq!(out["status"], status::RECORDED, "{out:?}");
        assert!(out.contains_key("callbackAt"));
    }

    #[tokio::test]
    async fn a_callback_for_a_call_outside_the_ledger_or_a_closed_contact_is_not_scheduled() {
        let now = Utc::now();
        // Placed, but the campaign ledger never held the contact.
        let w = world();
        placed(&w).await;
        let out = set_disposition(
            &w.ledger,
            &w.callbacks,
            &callback_event(json!({"disposition": "SALE", "callbackInMinutes": 60})),
            now,
        )
        .await
        .unwrap();
        assert_eq!(out["status"], status::CALLBACK_UNAVAILABLE);
        assert!(w.contacts.get(&ledger_pk()).is_none(), "nothing created");
        // Final as do-not-call: never reopened.
        let w = world();
        dialing(&w, now).await;
        placed(&w).await;
        outbound_core::ledger::settle(
            &w.callbacks.ledger,
            &AttemptId::new("spring", &contact().contact_key, 1),
            outbound_core::ledger::Decision::Final(FinalReason::DoNotCall),
            None,
            now,
        )
        .await
        .unwrap();
        let out = set_disposition(
            &w.ledger,
            &w.callbacks,
            &callback_event(json!({"disposition": "SALE", "callbackInMinutes": 60})),
            now,
        )
        .await
        .unwrap();
        assert_eq!(out["status"], status::CALLBACK_REFUSED);
        assert_eq!(ledger_item(&w).state, ContactState::Final);
    }
}
