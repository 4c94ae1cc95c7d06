//! `set-disposition`: the agent's disposition code, recorded against the dialed contact.
//!
//! Invoked from a Connect flow (the agent's step-by-step guide) with
//! `Details.Parameters.disposition` and any other parameters, which are kept as disposition
//! attributes. The contact is `Details.ContactData.ContactId`, or its `InitialContactId` when
//! the agent handles a transferred leg. The answer is always a flat string map
//! `{"status","disposition"}`: a flow cannot handle anything else, and a missing parameter is
//! an answer the flow can branch on, not a failure.
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

    let mut ids: Vec<String> = Vec::new();
    for field in ["ContactId", "InitialContactId"] {
        if let Some(id) = contact_data
            .and_then(|c| c.get(field))
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            if !ids.iter().any(|i| i == id) {
                ids.push(id.to_string());
            }
        }
    }
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
            phone: "+447700900123".into(),
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
                contact_key: &c.contact_key(),
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
            outbound_core::records::result_object_key("spring", "r-1", &contact().contact_key(), 1);
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
