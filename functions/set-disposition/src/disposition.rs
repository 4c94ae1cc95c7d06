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

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use chrono::{DateTime, Utc};
use outbound_core::completion::{
    contact_pk, rfc3339, store_error, write_result, ContactItem, Ledger,
};
use outbound_core::error::FunctionError;
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
}

fn answer(status: &str, disposition: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("status".to_string(), status.to_string()),
        ("disposition".to_string(), disposition.to_string()),
    ])
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
    let attributes: HashMap<String, AttributeValue> = parameters
        .map(|p| {
            p.iter()
                .filter(|(k, _)| k.as_str() != "disposition")
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
            if item.completed_at.is_some() {
                write_result(ledger, item).await?;
            }
            return Ok(answer(status::RECORDED, &disposition));
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
    match result {
        Ok(out) => Ok(Some(ContactItem::from_item(
            contact_id,
            &out.attributes().cloned().unwrap_or_default(),
        ))),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
        {
            Ok(None)
        }
        Err(e) => Err(store_error("UpdateItem (disposition)", &e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use outbound_core::completion::{record_disconnect, record_token, PlacedCall};
    use outbound_core::contact::{Contact, ContactSource};
    use outbound_core::events::CallEnd;
    use outbound_core::records::{LaneState, Outcome, ResultRecord};
    use outbound_core::testkit::{FakeBucket, FakeSfn, FakeTable, Log};
    use serde_json::json;

    struct World {
        table: FakeTable,
        bucket: FakeBucket,
        ledger: Ledger,
        sfn: aws_sdk_sfn::Client,
    }

    fn world() -> World {
        let log = Log::default();
        let table = FakeTable::new(&log);
        let bucket = FakeBucket::new(&log);
        let ledger = Ledger {
            dynamodb: table.client(),
            s3: bucket.client(),
            table_name: "t".into(),
            results_bucket: "b".into(),
            finisher: None,
        };
        World {
            table,
            bucket,
            ledger,
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
        let out = set_disposition(&w.ledger, &event("SALE"), Utc::now())
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
        set_disposition(&w.ledger, &event("CALLBACK"), Utc::now())
            .await
            .unwrap();
        set_disposition(&w.ledger, &event("SALE"), Utc::now())
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
        let out = set_disposition(&w.ledger, &guide_event(json!("c-1"), "SALE"), Utc::now())
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
        let out = set_disposition(&w.ledger, &event(&long), Utc::now())
            .await
            .unwrap();
        assert_eq!(out["status"], status::INVALID_DISPOSITION);
        let out = set_disposition(&w.ledger, &event("A\u{0}B"), Utc::now())
            .await
            .unwrap();
        assert_eq!(out["status"], status::INVALID_DISPOSITION);
        // Unknown contact: nothing is created.
        let out = set_disposition(&w.ledger, &event("SALE"), Utc::now())
            .await
            .unwrap();
        assert_eq!(out["status"], status::UNKNOWN_CONTACT);
        assert!(w.table.get("CONTACT#c-1").is_none());
    }
}
