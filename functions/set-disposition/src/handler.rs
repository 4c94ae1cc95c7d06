//! One invocation of set-disposition: the documented steps, with the clients and configuration passed
//! in (`main.rs` builds them once).

use crate::disposition::{set_disposition, Callbacks};
use chrono::{DateTime, Utc};
use outbound_core::completion::Ledger;
use outbound_core::error::FunctionError;
use serde_json::Value;
use std::collections::BTreeMap;

pub async fn handle(
    ledger: &Ledger,
    callbacks: &Callbacks,
    event: &Value,
    now: DateTime<Utc>,
) -> Result<BTreeMap<String, String>, FunctionError> {
    set_disposition(ledger, callbacks, event, now).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::disposition::Callbacks;
    use aws_sdk_dynamodb::operation::update_item::{UpdateItemError, UpdateItemOutput};
    use aws_sdk_dynamodb::types::error::ConditionalCheckFailedException;
    use aws_sdk_dynamodb::types::AttributeValue;
    use aws_smithy_mocks::{mock, mock_client, MockResponse, RuleMode};
    use outbound_core::ledger::CampaignLedger;
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

    /// A campaign ledger no test without a callback may touch (no rule matches any call).
    fn no_callbacks() -> Callbacks {
        let no_rules: [&aws_smithy_mocks::Rule; 0] = [];
        Callbacks {
            ledger: CampaignLedger {
                dynamodb: mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, no_rules),
                table_name: "l".into(),
                final_retention: None,
            },
            max_days: 30,
        }
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
            let out = handle(&l, &no_callbacks(), &flow_event(parameters), Utc::now())
                .await
                .unwrap();
            assert_eq!(out["status"], "missing_disposition");
            assert_eq!(out["disposition"], "");
        }
        let out = handle(&l, &no_callbacks(), &json!({}), Utc::now())
            .await
            .unwrap();
        assert_eq!(out["status"], "missing_disposition");
        let out = handle(
            &l,
            &no_callbacks(),
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
            &no_callbacks(),
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
            &no_callbacks(),
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
            &no_callbacks(),
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
                &no_callbacks(),
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
            &no_callbacks(),
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
            &no_callbacks(),
            &flow_event(json!({"disposition": "NO_INTEREST"})),
            Utc::now(),
        )
        .await
        .unwrap();
        assert_eq!(out["status"], "unknown_contact");
        assert_eq!(out["disposition"], "NO_INTEREST");
    }
    /// One UpdateItem as the ledger table saw it: condition, update and values.
    type LedgerWrites = Arc<Mutex<Vec<(String, String, HashMap<String, AttributeValue>)>>>;

    #[tokio::test]
    async fn a_callback_is_scheduled_on_the_attempt_dial_stored_and_follows_the_ledger_state() {
        let now = DateTime::parse_from_rfc3339("2026-12-07T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        // The run table: the call dial placed, attempt 3 of contact k-1 in campaign spring.
        let run = mock!(aws_sdk_dynamodb::Client::update_item).then_compute_response(|_| {
            MockResponse::Output(
                UpdateItemOutput::builder()
                    .attributes("campaign", AttributeValue::S("spring".into()))
                    .attributes("contactKey", AttributeValue::S("k-1".into()))
                    .attributes("attempt", AttributeValue::N("3".into()))
                    .build(),
            )
        });
        let l = ledger(mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&run]));
        // The campaign ledger: the call has ended and the contact is final at attempt 3. The
        // first write (store on the attempt in progress) loses its condition and learns that.
        let writes = LedgerWrites::default();
        let seen = writes.clone();
        let final_item: HashMap<String, AttributeValue> = [
            ("pk", AttributeValue::S("CONTACT#spring#k-1".into())),
            ("campaign", AttributeValue::S("spring".into())),
            ("contactKey", AttributeValue::S("k-1".into())),
            ("key", AttributeValue::S("C-1".into())),
            ("phone", AttributeValue::S("+442079460123".into())),
            (
                "source",
                AttributeValue::S(r#"{"kind":"csv","object":"a.csv","line":2}"#.into()),
            ),
            ("state", AttributeValue::S("final".into())),
            ("attempt", AttributeValue::N("3".into())),
            ("dueAt", AttributeValue::N("0".into())),
            ("finalReason", AttributeValue::S("connected".into())),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let answer_item = final_item.clone();
        let update = mock!(aws_sdk_dynamodb::Client::update_item).then_compute_response(move |r| {
            let values = r.expression_attribute_values().cloned().unwrap_or_default();
            let mut log = seen.lock().unwrap();
            log.push((
                r.condition_expression().unwrap_or_default().to_string(),
                r.update_expression().unwrap_or_default().to_string(),
                values,
            ));
            if log.len() == 1 {
                MockResponse::Error(UpdateItemError::ConditionalCheckFailedException(
                    ConditionalCheckFailedException::builder()
                        .set_item(Some(answer_item.clone()))
                        .build(),
                ))
            } else {
                let mut reopened = answer_item.clone();
                reopened.insert("state".into(), AttributeValue::S("due".into()));
                reopened.insert("attempt".into(), AttributeValue::N("4".into()));
                MockResponse::Output(
                    UpdateItemOutput::builder()
                        .set_attributes(Some(reopened))
                        .build(),
                )
            }
        });
        // The campaign has no schedule.
        let no_schedule = mock!(aws_sdk_dynamodb::Client::get_item)
            .match_requests(|r| {
                r.key()
                    .and_then(|k| k.get("pk"))
                    .is_some_and(|pk| pk.as_s().is_ok_and(|pk| pk.starts_with("SCHEDULE#")))
            })
            .then_output(|| {
                aws_sdk_dynamodb::operation::get_item::GetItemOutput::builder().build()
            });
        let callbacks = Callbacks {
            ledger: CampaignLedger {
                dynamodb: mock_client!(
                    aws_sdk_dynamodb,
                    RuleMode::MatchAny,
                    [&update, &no_schedule]
                ),
                table_name: "l".into(),
                final_retention: None,
            },
            max_days: 30,
        };
        let out = handle(
            &l,
            &callbacks,
            &flow_event(json!({"disposition": "Call back later",
                               "callbackAt": "2026-12-08T15:00:00+01:00"})),
            now,
        )
        .await
        .unwrap();
        assert_eq!(out["status"], "recorded");
        assert_eq!(out["callbackAt"], "2026-12-08T14:00:00.000Z");
        let writes = writes.lock().unwrap();
        assert_eq!(writes.len(), 3, "{writes:?}");
        let at = AttributeValue::N("1796738400000".into());
        // First: store on attempt 3 while it is dialing.
        assert_eq!(writes[0].0, "#state = :dialing AND #attempt = :attempt");
        assert_eq!(writes[0].2[":attempt"], AttributeValue::N("3".into()));
        assert_eq!(writes[0].2[":at"], at);
        // Then: reopen the final contact at attempt 3 only, as attempt 4 due at the callback.
        assert_eq!(writes[1].0, "#state = :final AND #attempt = :attempt");
        assert_eq!(writes[1].2[":attempt"], AttributeValue::N("3".into()));
        assert_eq!(writes[1].2[":next"], AttributeValue::N("4".into()));
        assert_eq!(writes[1].2[":at"], at);
        assert!(
            writes[1].1.contains("#dueShard = :dueShard"),
            "{}",
            writes[1].1
        );
        assert!(writes[1].1.contains("#expiresAt"), "{}", writes[1].1);
        // Last: the campaign listed again for the feeder (it may have been retired).
        assert_eq!(writes[2].1, "ADD #active :id SET #stamp = :now");
        assert_eq!(
            writes[2].2[":id"],
            AttributeValue::Ss(vec!["spring".into()])
        );
    }

    #[tokio::test]
    async fn an_invalid_callback_never_reaches_the_campaign_ledger() {
        let (l, seen) = voice_call_only();
        let now = Utc::now();
        let out = handle(
            &l,
            &no_callbacks(),
            &flow_event(json!({"disposition": "SALE", "callbackAt": "next week"})),
            now,
        )
        .await
        .unwrap();
        assert_eq!(out["status"], "invalid_callback");
        assert_eq!(out["callbackProblem"], "unparseable");
        assert_eq!(out["disposition"], "SALE");
        // The disposition was recorded; the callback parameter is not an attribute.
        let attrs = seen.lock().unwrap().last().unwrap().1.clone().unwrap();
        assert!(!attrs.contains_key("callbackAt"));
    }
}
