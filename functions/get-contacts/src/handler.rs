//! One invocation of get-contacts: the documented steps, with the clients and configuration passed
//! in (`main.rs` builds them once).

use crate::env::Env;
pub use crate::queue_stats::QueueCounts;
use outbound_core::error::FunctionError;

/// Handles one task: the input (`{}`) carries nothing.
pub async fn handle(sqs: &aws_sdk_sqs::Client, env: &Env) -> Result<QueueCounts, FunctionError> {
    let counts =
        crate::queue_stats::queue_counts(sqs, &env.queue_url, env.dead_letter_queue_url.as_deref())
            .await?;
    tracing::info!(
        available = counts.available,
        in_flight = counts.in_flight,
        delayed = counts.delayed,
        dead_lettered = counts.dead_lettered,
        more = counts.more,
        "queue counted"
    );
    Ok(counts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_sqs::operation::get_queue_attributes::{
        GetQueueAttributesError, GetQueueAttributesOutput,
    };
    use aws_sdk_sqs::types::QueueAttributeName as A;
    use aws_smithy_mocks::mock;
    use outbound_core::error::ErrorName;
    use outbound_core::mocked;

    fn env() -> Env {
        Env {
            queue_url: "q".into(),
            dead_letter_queue_url: Some("dlq".into()),
        }
    }

    #[tokio::test]
    async fn counts_come_back_in_the_contract_shape() {
        let main = mock!(aws_sdk_sqs::Client::get_queue_attributes)
            .match_requests(|r| r.queue_url() == Some("q"))
            .then_output(|| {
                GetQueueAttributesOutput::builder()
                    .attributes(A::ApproximateNumberOfMessages, "0")
                    .attributes(A::ApproximateNumberOfMessagesNotVisible, "2")
                    .attributes(A::ApproximateNumberOfMessagesDelayed, "0")
                    .build()
            });
        let dlq = mock!(aws_sdk_sqs::Client::get_queue_attributes)
            .match_requests(|r| r.queue_url() == Some("dlq"))
            .then_output(|| {
                GetQueueAttributesOutput::builder()
                    .attributes(A::ApproximateNumberOfMessages, "1")
                    .build()
            });
        let sqs = mocked!(aws_sdk_sqs, [&main, &dlq]);
        let counts = handle(&sqs, &env()).await.unwrap();
        assert_eq!(
            serde_json::to_value(counts).unwrap(),
            serde_json::json!({"available": 0, "inFlight": 2, "delayed": 0, "deadLettered": 1, "more": true})
        );
    }

    #[tokio::test]
    async fn an_unreachable_queue_is_an_error_not_an_empty_queue() {
        let down = mock!(aws_sdk_sqs::Client::get_queue_attributes).then_error(|| {
            GetQueueAttributesError::generic(
                aws_smithy_types::error::ErrorMetadata::builder()
                    .code("InternalError")
                    .build(),
            )
        });
        let sqs = mocked!(aws_sdk_sqs, [&down]);
        let err = handle(&sqs, &env()).await.unwrap_err();
        assert_eq!(err.name, ErrorName::Retryable);
    }
}
