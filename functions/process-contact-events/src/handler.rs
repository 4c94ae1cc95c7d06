//! One invocation of process-contact-events: the documented steps, with the clients and configuration passed
//! in (`main.rs` builds them once).

use crate::contact_event::parse_contact_event;
use chrono::{DateTime, Utc};
use outbound_core::completion::{record_disconnect, Ledger};
use outbound_core::error::FunctionError;
use serde_json::{json, Value};

/// One event in, `{"status": "recorded"|"completed"|"duplicate"|"ignored"}` out.
/// `instance_arn` is this deployment's Connect instance: events of other instances are ignored.
pub async fn handle(
    ledger: &Ledger,
    sfn: &aws_sdk_sfn::Client,
    instance_arn: &str,
    event: &Value,
    now: DateTime<Utc>,
) -> Result<Value, FunctionError> {
    let event = parse_contact_event(event)?;
    if !event.is_disconnect() {
        tracing::debug!(
            contact_id = %event.contact_id,
            event_type = %event.event_type,
            "contact event ignored: not a disconnect"
        );
        return Ok(json!({"status": "ignored"}));
    }
    if let Some(why) = event.not_ours(instance_arn) {
        // The rule lets only this instance's API-placed voice contacts through: seeing another
        // means the rule or a second trigger was changed. Worth a line, never a failure.
        tracing::warn!(contact_id = %event.contact_id, reason = why, "contact event ignored");
        return Ok(json!({"status": "ignored"}));
    }
    let end = event.call_end(now);
    let status = record_disconnect(ledger, sfn, &event.contact_id, &end, now).await?;
    tracing::info!(
        contact_id = %event.contact_id,
        outcome = end.outcome.as_str(),
        status = status.as_str(),
        "disconnect processed"
    );
    Ok(json!({"status": status.as_str()}))
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_smithy_mocks::{mock_client, RuleMode};
    use outbound_core::error::ErrorName;

    /// Clients without any rule: any AWS call fails the test.
    fn offline() -> (Ledger, aws_sdk_sfn::Client) {
        let no_rules: [&aws_smithy_mocks::Rule; 0] = [];
        (
            Ledger {
                dynamodb: mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, no_rules),
                s3: mock_client!(aws_sdk_s3, RuleMode::MatchAny, no_rules),
                table_name: "t".into(),
                results_bucket: "b".into(),
                finisher: None,
            },
            mock_client!(aws_sdk_sfn, RuleMode::MatchAny, no_rules),
        )
    }

    const INSTANCE: &str = "arn:aws:connect:eu-west-2:111122223333:instance/i-1";

    fn event(event_type: &str, initiation: &str, channel: &str) -> Value {
        json!({
            "detail-type": "Amazon Connect Contact Event",
            "source": "aws.connect",
            "time": "2024-03-04T10:01:00Z",
            "detail": {"eventType": event_type, "contactId": "c-1", "channel": channel,
                       "initiationMethod": initiation, "instanceArn": INSTANCE}
        })
    }

    #[tokio::test]
    async fn events_the_dialer_does_not_wait_for_are_ignored_without_aws_calls() {
        let (ledger, sfn) = offline();
        for e in [
            event("CONNECTED_TO_AGENT", "API", "VOICE"),
            event("DISCONNECTED", "INBOUND", "VOICE"),
            event("DISCONNECTED", "API", "CHAT"),
            event("DISCONNECTED", "OUTBOUND", "VOICE"),
        ] {
            let out = handle(&ledger, &sfn, INSTANCE, &e, Utc::now())
                .await
                .unwrap();
            assert_eq!(out, json!({"status": "ignored"}));
        }
        let mut other_instance = event("DISCONNECTED", "API", "VOICE");
        other_instance["detail"]["instanceArn"] =
            json!("arn:aws:connect:eu-west-2:111122223333:instance/i-2");
        let mut forged = event("DISCONNECTED", "API", "VOICE");
        forged["source"] = json!("my.app");
        for e in [other_instance, forged] {
            let out = handle(&ledger, &sfn, INSTANCE, &e, Utc::now())
                .await
                .unwrap();
            assert_eq!(out, json!({"status": "ignored"}));
        }
    }

    #[tokio::test]
    async fn malformed_events_are_invalid_input() {
        let (ledger, sfn) = offline();
        let err = handle(
            &ledger,
            &sfn,
            INSTANCE,
            &json!({"detail-type": "Amazon Connect Contact Event"}),
            Utc::now(),
        )
        .await
        .unwrap_err();
        assert_eq!(err.name, ErrorName::InvalidInput);
    }

    #[tokio::test]
    async fn a_disconnect_goes_to_the_table() {
        // The table answers 500: the event is a retryable failure, not swallowed.
        let update =
            aws_smithy_mocks::mock!(aws_sdk_dynamodb::Client::update_item).then_error(|| {
                aws_sdk_dynamodb::operation::update_item::UpdateItemError::generic(
                    aws_smithy_types::error::ErrorMetadata::builder()
                        .code("InternalServerError")
                        .build(),
                )
            });
        let (mut ledger, sfn) = offline();
        ledger.dynamodb = mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&update], |c| c
            .retry_config(aws_smithy_types::retry::RetryConfig::disabled()));
        let err = handle(
            &ledger,
            &sfn,
            INSTANCE,
            &event("DISCONNECTED", "API", "VOICE"),
            Utc::now(),
        )
        .await
        .unwrap_err();
        assert_eq!(err.name, ErrorName::Retryable);
        assert_eq!(update.num_calls(), 1);
    }
}
