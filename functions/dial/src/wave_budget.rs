//! The wave's call budget, shared by its lanes.
//!
//! A wave's execution history grows with the calls its lanes place, so get-config gives the
//! wave a budget of calls (`lanes × lane budget`, from `HISTORY_BUDGET`). Were each lane given an
//! equal share, the lanes whose calls happened to be short would finish their share early and
//! wait, idle, for the lane whose calls were long: the wave ends with its slowest lane. Instead
//! every lane takes its next call from one count per wave (`WAVE#<runId>#<wave>`, a
//! [`crate::bounded_count`]), so all lanes keep dialing until the wave's budget is spent and then
//! end within about one call of each other. The history stays bounded by the same total.
//!
//! One unit is taken per dial invocation that goes on to take a contact: an invocation that
//! then finds the queue empty, or only duplicates, has still added its task to the history, so
//! counting it keeps the bound.

use outbound_core::error::FunctionError;
use outbound_core::records::LaneState;
use std::time::{SystemTime, UNIX_EPOCH};

/// How long a wave's count stays in the table: far longer than any wave lasts.
const COUNT_TTL_SECONDS: u64 = 2 * 24 * 3600;

/// The table item key of a wave's count.
pub fn count_key(run_id: &str, wave: u32) -> String {
    format!("WAVE#{run_id}#{wave}")
}

/// What [`take_call`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Take {
    /// Taken (or the lane has no shared budget, `wave_budget` 0); `last`: this was the wave's
    /// last call, so its lanes are about to end and the next wave can start.
    Taken { last: bool },
    /// The wave's budget is spent: the lane ends.
    Spent,
}

/// Takes the lane's next call from its wave's budget.
pub async fn take_call(
    dynamodb: &aws_sdk_dynamodb::Client,
    table_name: &str,
    lane: &LaneState,
) -> Result<Take, FunctionError> {
    if lane.wave_budget == 0 {
        return Ok(Take::Taken { last: false });
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|_| FunctionError::retryable("clock before 1970"))?
        .as_secs();
    let taken = crate::bounded_count::take_one(
        dynamodb,
        table_name,
        count_key(&lane.run_id, lane.wave),
        u64::from(lane.wave_budget),
        now + COUNT_TTL_SECONDS,
        "wave budget",
    )
    .await?;
    Ok(match taken {
        Some(count) => Take::Taken {
            last: count >= u64::from(lane.wave_budget),
        },
        None => Take::Spent,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::operation::update_item::{UpdateItemError, UpdateItemOutput};
    use aws_sdk_dynamodb::types::error::ConditionalCheckFailedException;
    use aws_sdk_dynamodb::types::AttributeValue;
    use aws_smithy_mocks::{mock, mock_client, RuleMode};

    fn lane(wave_budget: u32) -> LaneState {
        LaneState {
            run_id: "run-1".into(),
            lane: 2,
            calls: 0,
            budget: 40,
            timeout_seconds: 60,
            wave: 3,
            wave_budget,
        }
    }

    #[test]
    fn one_count_per_wave_of_a_run() {
        assert_eq!(count_key("run-1", 3), "WAVE#run-1#3");
        assert_ne!(count_key("run-1", 3), count_key("run-1", 4));
    }

    #[tokio::test]
    async fn a_lane_without_a_shared_budget_writes_nothing() {
        let never = mock!(aws_sdk_dynamodb::Client::update_item)
            .then_output(|| UpdateItemOutput::builder().build());
        let ddb = mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&never]);
        assert_eq!(
            take_call(&ddb, "t", &lane(0)).await.unwrap(),
            Take::Taken { last: false }
        );
        assert_eq!(never.num_calls(), 0);
    }

    #[tokio::test]
    async fn takes_from_the_waves_count_up_to_its_budget() {
        let taken = mock!(aws_sdk_dynamodb::Client::update_item)
            .match_requests(|r| {
                r.key()
                    .and_then(|k| k.get("pk"))
                    .and_then(|v| v.as_s().ok())
                    == Some(&"WAVE#run-1#3".to_string())
                    && r.expression_attribute_values()
                        .and_then(|v| v.get(":limit"))
                        .and_then(|v| v.as_n().ok())
                        == Some(&"40".to_string())
            })
            .then_output(|| {
                UpdateItemOutput::builder()
                    .attributes("n", AttributeValue::N("7".into()))
                    .build()
            });
        let ddb = mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&taken]);
        assert_eq!(
            take_call(&ddb, "t", &lane(40)).await.unwrap(),
            Take::Taken { last: false }
        );
        assert_eq!(taken.num_calls(), 1);
    }

    #[tokio::test]
    async fn a_spent_budget_is_false_not_an_error() {
        let spent = mock!(aws_sdk_dynamodb::Client::update_item).then_error(|| {
            UpdateItemError::ConditionalCheckFailedException(
                ConditionalCheckFailedException::builder().build(),
            )
        });
        let ddb = mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&spent]);
        assert_eq!(take_call(&ddb, "t", &lane(40)).await.unwrap(), Take::Spent);
    }

    #[tokio::test]
    async fn the_waves_last_call_is_known_to_the_lane_that_takes_it() {
        let last = mock!(aws_sdk_dynamodb::Client::update_item).then_output(|| {
            UpdateItemOutput::builder()
                .attributes("n", AttributeValue::N("40".into()))
                .build()
        });
        let ddb = mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&last]);
        assert_eq!(
            take_call(&ddb, "t", &lane(40)).await.unwrap(),
            Take::Taken { last: true }
        );
    }
}
