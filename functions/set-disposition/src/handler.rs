//! One invocation of set-disposition: the documented steps, with the clients and configuration passed
//! in (`main.rs` builds them once).

use crate::disposition::set_disposition;
use chrono::{DateTime, Utc};
use outbound_core::completion::Ledger;
use outbound_core::error::FunctionError;
use serde_json::Value;
use std::collections::BTreeMap;

pub async fn handle(
    ledger: &Ledger,
    event: &Value,
    now: DateTime<Utc>,
) -> Result<BTreeMap<String, String>, FunctionError> {
    set_disposition(ledger, event, now).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::operation::update_item::{UpdateItemError, UpdateItemOutput};
    use aws_sdk_dynamodb::types::error::ConditionalCheckFailedException;
    use aws_sdk_dynamodb::types::AttributeValue;
    use aws_smithy_mocks::{mock, mock_client, MockResponse, RuleMode};
    use serde_json::json;
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex};

    fn flow_event(parameters: Value) -> Value {
        json!({
            "Name": "ContactFlowEvent",
            "Details": {
                "ContactData": {"ContactId": "c-transfer", "InitialContactId": "c-1",
                                "Channel": "VOICE"},
                "Parameters": parameters
            }
        })
    }

    fn ledger(dynamodb: aws_sdk_dynamodb::Client) -> Ledger {
        let no_rules: [&aws_smithy_mocks::Rule; 0] = [];
        Ledger {
            dynamodb,
            s3: mock_client!(aws_sdk_s3, RuleMode::MatchAny, no_rules),
            table_name: "t".into(),
            results_bucket: "b".into(),
            finisher: None,
        }
    }

    #[tokio::test]
    async fn a_missing_disposition_is_an_answer_not_a_failure() {
        let no_rules: [&aws_smithy_mocks::Rule; 0] = [];
        let l = ledger(mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, no_rules));
        for parameters in [
            json!({}),
            json!({"disposition": "  "}),
            json!({"note": "x"}),
        ] {
            let out = handle(&l, &flow_event(parameters), Utc::now())
                .await
                .unwrap();
            assert_eq!(out["status"], "missing_disposition");
            assert_eq!(out["disposition"], "");
        }
        let out = handle(&l, &json!({}), Utc::now()).await.unwrap();
        assert_eq!(out["status"], "missing_disposition");
        let out = handle(
            &l,
            &json!({"Details": {"Parameters": {"disposition": "SALE"}}}),
            Utc::now(),
        )
        .await
        .unwrap();
        assert_eq!(out["status"], "missing_contact_id");
    }

    #[tokio::test]
    async fn falls_back_to_the_initial_contact_and_keeps_other_parameters() {
        let (l, seen) = voice_call_only();
        let out = handle(
            &l,
            &flow_event(json!({"disposition": "SALE", "callback": "tomorrow", "score": 7})),
            Utc::now(),
        )
        .await
        .unwrap();
        assert_eq!(
            out,
            BTreeMap::from([
                ("status".to_string(), "recorded".to_string()),
                ("disposition".to_string(), "SALE".to_string())
            ])
        );
        assert_eq!(keys(&seen), ["CONTACT#c-transfer", "CONTACT#c-1"]);
        let attrs = seen.lock().unwrap()[1].1.clone().unwrap();
        assert_eq!(attrs["callback"].as_s().unwrap(), "tomorrow");
        assert_eq!(attrs["score"].as_s().unwrap(), "7");
        assert!(!attrs.contains_key("disposition"));
    }

    /// Each update asked of the table: the item's key and its `:attributes` value.
    type Updates = Arc<Mutex<Vec<(String, Option<HashMap<String, AttributeValue>>)>>>;

    fn keys(updates: &Updates) -> Vec<String> {
        updates
            .lock()
            .unwrap()
            .iter()
            .map(|(pk, _)| pk.clone())
            .collect()
    }

    /// A DynamoDB mock that knows only `CONTACT#c-1` (the dialed voice call) and records the
    /// updates it was asked for.
    fn voice_call_only() -> (Ledger, Updates) {
        let seen = Updates::default();
        let log = seen.clone();
        let update = mock!(aws_sdk_dynamodb::Client::update_item).then_compute_response(move |r| {
            let pk = r.key().unwrap()["pk"].as_s().unwrap().clone();
            let attrs = r
                .expression_attribute_values()
                .and_then(|v| v.get(":attributes"))
                .and_then(|a| a.as_m().ok())
                .cloned();
            log.lock().unwrap().push((pk.clone(), attrs));
            if pk == "CONTACT#c-1" {
                MockResponse::Output(
                    UpdateItemOutput::builder()
                        .attributes("contactKey", AttributeValue::S("k".into()))
                        .build(),
                )
            } else {
                MockResponse::Error(UpdateItemError::ConditionalCheckFailedException(
                    ConditionalCheckFailedException::builder().build(),
                ))
            }
        });
        let l = ledger(mock_client!(
            aws_sdk_dynamodb,
            RuleMode::MatchAny,
            [&update]
        ));
        (l, seen)
    }

    /// The event the guide's Invoke AWS Lambda function block sends: the guide runs in a chat
    /// contact of its own, related to the voice call.
    fn guide_event(contact_data: Value) -> Value {
        json!({"Name": "ContactFlowEvent",
               "Details": {"ContactData": contact_data,
                           "Parameters": {"disposition": "Interested"}}})
    }

    #[tokio::test]
    async fn a_guide_contact_records_on_its_related_voice_contact_only() {
        let (l, seen) = voice_call_only();
        let out = handle(
            &l,
            &guide_event(
                json!({"ContactId": "guide-1", "InitialContactId": "guide-1",
                                "Channel": "CHAT", "RelatedContactId": "c-1"}),
            ),
            Utc::now(),
        )
        .await
        .unwrap();
        assert_eq!(out["status"], "recorded");
        assert_eq!(out["disposition"], "Interested");
        // The guide's own contact is never a dialed call: not even tried.
        assert_eq!(keys(&seen), ["CONTACT#c-1"]);
    }

    #[tokio::test]
    async fn without_a_related_contact_the_flow_contact_is_used() {
        let (l, seen) = voice_call_only();
        let out = handle(
            &l,
            &guide_event(json!({"ContactId": "c-1", "Channel": "VOICE"})),
            Utc::now(),
        )
        .await
        .unwrap();
        assert_eq!(out["status"], "recorded");
        assert_eq!(keys(&seen), ["CONTACT#c-1"]);
    }

    #[tokio::test]
    async fn a_malformed_related_contact_falls_back_to_the_flow_contact() {
        for related in [
            json!(""),
            json!("  "),
            json!(7),
            json!({"ContactId": "c-1"}),
        ] {
            let (l, seen) = voice_call_only();
            let out = handle(
                &l,
                &guide_event(json!({"ContactId": "guide-1", "InitialContactId": "c-1",
                                    "RelatedContactId": related.clone()})),
                Utc::now(),
            )
            .await
            .unwrap();
            assert_eq!(out["status"], "recorded", "{related}");
            assert_eq!(keys(&seen), ["CONTACT#guide-1", "CONTACT#c-1"], "{related}");
        }
        // Nothing usable at all: an answer, and no write.
        let (l, seen) = voice_call_only();
        let out = handle(
            &l,
            &guide_event(json!({"RelatedContactId": 7, "Channel": "CHAT"})),
            Utc::now(),
        )
        .await
        .unwrap();
        assert_eq!(out["status"], "missing_contact_id");
        assert!(seen.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn an_unknown_contact_is_answered_not_created() {
        let update = mock!(aws_sdk_dynamodb::Client::update_item).then_error(|| {
            UpdateItemError::ConditionalCheckFailedException(
                ConditionalCheckFailedException::builder().build(),
            )
        });
        let l = ledger(mock_client!(
            aws_sdk_dynamodb,
            RuleMode::MatchAny,
            [&update]
        ));
        let out = handle(
            &l,
            &flow_event(json!({"disposition": "NO_INTEREST"})),
            Utc::now(),
        )
        .await
        .unwrap();
        assert_eq!(out["status"], "unknown_contact");
        assert_eq!(out["disposition"], "NO_INTEREST");
    }
}
