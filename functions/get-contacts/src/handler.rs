//! One invocation of get-contacts: the documented steps, with the clients and configuration passed
//! in (`main.rs` builds them once).

use crate::env::Env;
pub use crate::queue_stats::QueueCounts;
use chrono::{DateTime, Utc};
use outbound_core::error::FunctionError;
use outbound_core::ledger::{campaigns, item::millis, schedule, CampaignLedger};
use serde::Serialize;

/// The queue's counts and what the campaign ledger holds in store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Counts {
    #[serde(flatten)]
    pub queue: QueueCounts,
    /// Contacts of some campaign are due now: the next wave's feeder has work.
    pub due: bool,
    /// Seconds until the earliest contact due later (a redial), when that is within
    /// `DUE_WAIT_SECONDS`: the run waits for it instead of ending. `None` otherwise.
    pub wait_seconds: Option<u64>,
}

/// When the feeder next has work over every listed campaign (epoch ms): the earliest due
/// contact, under each campaign's schedule (read once for all of them). A campaign not started
/// yet has work at its start, not before (or its due contacts would start wave after wave that
/// feeds nothing); one that ended has work at once while it has due contacts, whatever their
/// time (the feeder closes them, a bounded number per feeding).
async fn next_due(
    ledger: &CampaignLedger,
    now: DateTime<Utc>,
) -> Result<Option<i64>, FunctionError> {
    let active = campaigns::active(ledger).await?;
    let ids: Vec<&str> = active.keys().map(String::as_str).collect();
    let schedules = schedule::read_many(ledger, &ids).await?;
    let mut next: Option<i64> = None;
    for campaign in active.keys() {
        let due = campaigns::next_due_at(ledger, campaign).await?;
        let work = match schedules.get(campaign) {
            Some(s) => s.next_work_at(due, now),
            None => due,
        };
        if let Some(at) = work {
            next = Some(next.map_or(at, |n| n.min(at)));
        }
    }
    Ok(next)
}

/// Handles one task: the input (`{}`) carries nothing.
pub async fn handle(
    sqs: &aws_sdk_sqs::Client,
    ledger: &CampaignLedger,
    env: &Env,
    now: DateTime<Utc>,
) -> Result<Counts, FunctionError> {
    let queue =
        crate::queue_stats::queue_counts(sqs, &env.queue_url, env.dead_letter_queue_url.as_deref())
            .await?;
    let next = next_due(ledger, now).await?;
    let now_ms = millis(now);
    let due = next.is_some_and(|at| at <= now_ms);
    let wait_seconds = next
        .filter(|at| *at > now_ms)
        .map(|at| ((at - now_ms) as u64).div_ceil(1000))
        .filter(|s| *s <= env.due_wait_seconds);
    tracing::info!(
        available = queue.available,
        in_flight = queue.in_flight,
        delayed = queue.delayed,
        dead_lettered = queue.dead_lettered,
        more = queue.more,
        due,
        wait_seconds,
        "queue and ledger counted"
    );
    Ok(Counts {
        queue,
        due,
        wait_seconds,
    })
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
            ledger: outbound_core::ledger::CampaignLedgerEnv {
                table_name: "ledger".into(),
            },
            due_wait_seconds: 300,
        }
    }

    /// A ledger listing no campaign (the ledger side runs against moto in tests/moto.rs).
    fn empty_ledger() -> CampaignLedger {
        let table = outbound_core::testkit::FakeTable::new(&Default::default());
        CampaignLedger {
            dynamodb: table.client(),
            table_name: "ledger".into(),
            final_retention: None,
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
        let counts = handle(&sqs, &empty_ledger(), &env(), Utc::now())
            .await
            .unwrap();
        assert_eq!(
            serde_json::to_value(counts).unwrap(),
            serde_json::json!({"available": 0, "inFlight": 2, "delayed": 0, "deadLettered": 1, "more": true,
                               "due": false, "waitSeconds": null})
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
        let err = handle(&sqs, &empty_ledger(), &env(), Utc::now())
            .await
            .unwrap_err();
        assert_eq!(err.name, ErrorName::Retryable);
    }
}
