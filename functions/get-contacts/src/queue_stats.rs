//! Approximate counts of the contact queue and its dead-letter queue (get-contacts).
//!
//! The original read any queue error as "end of list" and stopped the campaign. Here a count
//! that cannot be read is an error (`Throttled` when SQS said so, `Retryable` otherwise), never
//! zero: "the queue is empty" is only ever said by SQS itself.

use aws_sdk_sqs::types::QueueAttributeName;
use outbound_core::error::{ErrorName, FunctionError};
use outbound_core::intake::sdk_error;
use serde::Serialize;

/// get-contacts' output (see `docs/architecture.md`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueCounts {
    /// Messages ready to be received (`ApproximateNumberOfMessages`).
    pub available: u64,
    /// Received and not yet deleted: calls being placed (`…NotVisible`).
    pub in_flight: u64,
    /// Sent with a delay, not yet visible (`…Delayed`).
    pub delayed: u64,
    /// Messages in the dead-letter queue (0 when none is configured).
    pub dead_lettered: u64,
    /// Whether the queue still holds contacts for the lanes (available, in flight or delayed).
    pub more: bool,
}

/// Reads the counts of `queue_url` and, when given, `dead_letter_queue_url`.
pub async fn queue_counts(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    dead_letter_queue_url: Option<&str>,
) -> Result<QueueCounts, FunctionError> {
    let main = attributes(
        sqs,
        queue_url,
        &[
            QueueAttributeName::ApproximateNumberOfMessages,
            QueueAttributeName::ApproximateNumberOfMessagesNotVisible,
            QueueAttributeName::ApproximateNumberOfMessagesDelayed,
        ],
    )
    .await?;
    let dead_lettered = match dead_letter_queue_url {
        Some(url) if !url.is_empty() => {
            attributes(sqs, url, &[QueueAttributeName::ApproximateNumberOfMessages]).await?[0]
        }
        _ => 0,
    };
    let (available, in_flight, delayed) = (main[0], main[1], main[2]);
    Ok(QueueCounts {
        available,
        in_flight,
        delayed,
        dead_lettered,
        more: available + in_flight + delayed > 0,
    })
}

async fn attributes(
    sqs: &aws_sdk_sqs::Client,
    url: &str,
    names: &[QueueAttributeName],
) -> Result<Vec<u64>, FunctionError> {
    let out = sqs
        .get_queue_attributes()
        .queue_url(url)
        .set_attribute_names(Some(names.to_vec()))
        .send()
        .await
        .map_err(|e| {
            let err = sdk_error("GetQueueAttributes", &e);
            // Whatever SQS answered (a 5xx, a refusal, a queue that vanished), the counts are
            // unknown: retry, never conclude "empty".
            match err.name {
                ErrorName::Throttled => err,
                _ => FunctionError::retryable(format!("queue unreachable: {}", err.message)),
            }
        })?;
    let attrs = out.attributes();
    names
        .iter()
        .map(|name| {
            attrs
                .and_then(|a| a.get(name))
                .and_then(|v| v.trim().parse::<u64>().ok())
                .ok_or_else(|| {
                    FunctionError::retryable(format!(
                        "GetQueueAttributes: no usable {} in the answer",
                        name.as_str()
                    ))
                })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_sqs::operation::get_queue_attributes::{
        GetQueueAttributesError, GetQueueAttributesOutput,
    };
    use aws_sdk_sqs::types::error::QueueDoesNotExist;
    use aws_smithy_mocks::mock;
    use outbound_core::mocked;

    fn answer(pairs: &[(QueueAttributeName, &str)]) -> GetQueueAttributesOutput {
        let mut b = GetQueueAttributesOutput::builder();
        for (k, v) in pairs {
            b = b.attributes(k.clone(), *v);
        }
        b.build()
    }

    #[tokio::test]
    async fn counts_of_queue_and_dead_letter_queue() {
        let main = mock!(aws_sdk_sqs::Client::get_queue_attributes)
            .match_requests(|r| r.queue_url() == Some("q") && r.attribute_names().len() == 3)
            .then_output(|| {
                answer(&[
                    (QueueAttributeName::ApproximateNumberOfMessages, "12"),
                    (
                        QueueAttributeName::ApproximateNumberOfMessagesNotVisible,
                        "3",
                    ),
                    (QueueAttributeName::ApproximateNumberOfMessagesDelayed, "1"),
                ])
            });
        let dlq = mock!(aws_sdk_sqs::Client::get_queue_attributes)
            .match_requests(|r| r.queue_url() == Some("dlq"))
            .then_output(|| answer(&[(QueueAttributeName::ApproximateNumberOfMessages, "2")]));
        let sqs = mocked!(aws_sdk_sqs, [&main, &dlq]);
        let c = queue_counts(&sqs, "q", Some("dlq")).await.unwrap();
        assert_eq!(
            c,
            QueueCounts {
                available: 12,
                in_flight: 3,
                delayed: 1,
                dead_lettered: 2,
                more: true
            }
        );
        assert_eq!(
            serde_json::to_value(c).unwrap(),
            serde_json::json!({"available": 12, "inFlight": 3, "delayed": 1, "deadLettered": 2, "more": true})
        );
    }

    #[tokio::test]
    async fn empty_queue_is_empty_only_when_sqs_says_so() {
        let main = mock!(aws_sdk_sqs::Client::get_queue_attributes).then_output(|| {
            answer(&[
                (QueueAttributeName::ApproximateNumberOfMessages, "0"),
                (
                    QueueAttributeName::ApproximateNumberOfMessagesNotVisible,
                    "0",
                ),
                (QueueAttributeName::ApproximateNumberOfMessagesDelayed, "0"),
            ])
        });
        let sqs = mocked!(aws_sdk_sqs, [&main]);
        let c = queue_counts(&sqs, "q", None).await.unwrap();
        assert!(!c.more);
        assert_eq!(c.dead_lettered, 0);
    }

    #[tokio::test]
    async fn calls_in_flight_mean_more_to_come() {
        let main = mock!(aws_sdk_sqs::Client::get_queue_attributes).then_output(|| {
            answer(&[
                (QueueAttributeName::ApproximateNumberOfMessages, "0"),
                (
                    QueueAttributeName::ApproximateNumberOfMessagesNotVisible,
                    "4",
                ),
                (QueueAttributeName::ApproximateNumberOfMessagesDelayed, "0"),
            ])
        });
        let sqs = mocked!(aws_sdk_sqs, [&main]);
        assert!(queue_counts(&sqs, "q", None).await.unwrap().more);
    }

    #[tokio::test]
    async fn unreachable_queue_is_retryable_not_empty() {
        fn coded(code: &'static str) -> GetQueueAttributesError {
            GetQueueAttributesError::generic(
                aws_smithy_types::error::ErrorMetadata::builder()
                    .code(code)
                    .build(),
            )
        }
        let cases: Vec<(fn() -> GetQueueAttributesError, ErrorName)> = vec![
            (|| coded("InternalError"), ErrorName::Retryable),
            (
                || GetQueueAttributesError::QueueDoesNotExist(QueueDoesNotExist::builder().build()),
                ErrorName::Retryable,
            ),
            (|| coded("AccessDenied"), ErrorName::Retryable),
            (|| coded("ThrottlingException"), ErrorName::Throttled),
        ];
        for (error, expected) in cases {
            let rule = mock!(aws_sdk_sqs::Client::get_queue_attributes).then_error(error);
            let sqs = mocked!(aws_sdk_sqs, [&rule]);
            let err = queue_counts(&sqs, "q", None).await.unwrap_err();
            assert_eq!(err.name, expected, "{}", err.message);
        }
    }

    #[tokio::test]
    async fn an_answer_without_counts_is_not_zero() {
        let main = mock!(aws_sdk_sqs::Client::get_queue_attributes).then_output(|| answer(&[]));
        let sqs = mocked!(aws_sdk_sqs, [&main]);
        assert_eq!(
            queue_counts(&sqs, "q", None).await.unwrap_err().name,
            ErrorName::Retryable
        );
    }

    #[tokio::test]
    async fn dead_letter_queue_failure_is_an_error_too() {
        let main = mock!(aws_sdk_sqs::Client::get_queue_attributes)
            .match_requests(|r| r.queue_url() == Some("q"))
            .then_output(|| {
                answer(&[
                    (QueueAttributeName::ApproximateNumberOfMessages, "1"),
                    (
                        QueueAttributeName::ApproximateNumberOfMessagesNotVisible,
                        "0",
                    ),
                    (QueueAttributeName::ApproximateNumberOfMessagesDelayed, "0"),
                ])
            });
        let dlq = mock!(aws_sdk_sqs::Client::get_queue_attributes)
            .match_requests(|r| r.queue_url() == Some("dlq"))
            .then_error(|| {
                GetQueueAttributesError::generic(
                    aws_smithy_types::error::ErrorMetadata::builder()
                        .code("InternalError")
                        .build(),
                )
            });
        let sqs = mocked!(aws_sdk_sqs, [&main, &dlq]);
        assert_eq!(
            queue_counts(&sqs, "q", Some("dlq")).await.unwrap_err().name,
            ErrorName::Retryable
        );
    }
}
