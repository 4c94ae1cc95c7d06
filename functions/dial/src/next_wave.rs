//! The next wave started by the dial that takes this wave's last call.
//!
//! Its lanes then start while this wave's lanes are on their last calls, and take over from
//! them one by one ([`crate::lane_handover`]) instead of all at once after the slowest. The
//! execution is the one the state machine's `Start Next Wave` would start (`<runId>-w<wave+1>`):
//! Step Functions starts a name once, so when this wave's `Map` ends, its own start finds the
//! execution there (`ExecutionAlreadyExists`) and hands over. Exactly one dial takes the wave's
//! last call, so one start is attempted; if it fails, nothing is lost: the state machine starts
//! the next wave when this one ends, as before.

use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use outbound_core::records::LaneState;
use serde_json::json;

/// The next wave's execution name, as the state machine's `Start Next Wave` derives it.
pub fn execution_name(lane: &LaneState) -> String {
    format!("{}-w{}", lane.run_id, lane.wave.saturating_add(1))
}

/// The next wave's input: the run, the wave and, as `laneCalls`, the calls this wave took from
/// its budget (its lanes have not all reported theirs yet; get-config only adds them up).
pub fn input(lane: &LaneState) -> String {
    json!({
        "runId": lane.run_id,
        "wave": lane.wave.saturating_add(1),
        "laneCalls": [lane.wave_budget],
    })
    .to_string()
}

/// Starts the next wave. Best effort: a failure is logged, and the state machine starts the
/// wave when this one ends. `state_machine_arn` `None`: not configured, nothing to do.
pub async fn start(sfn: &aws_sdk_sfn::Client, state_machine_arn: Option<&str>, lane: &LaneState) {
    let Some(arn) = state_machine_arn else {
        return;
    };
    let name = execution_name(lane);
    match sfn
        .start_execution()
        .state_machine_arn(arn)
        .name(&name)
        .input(input(lane))
        .send()
        .await
    {
        Ok(_) => {
            tracing::info!(run_id = %lane.run_id, wave = lane.wave, next = %name, "the wave's last call is placed: started the next wave")
        }
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_execution_already_exists()) =>
        {
            tracing::info!(run_id = %lane.run_id, next = %name, "the next wave was already started")
        }
        Err(e) => tracing::warn!(
            run_id = %lane.run_id,
            next = %name,
            error = e.as_service_error().and_then(ProvideErrorMetadata::code).unwrap_or("transport error"),
            "could not start the next wave early; it starts when this wave ends"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_sfn::operation::start_execution::{StartExecutionError, StartExecutionOutput};
    use aws_smithy_mocks::{mock, mock_client, RuleMode};

    fn lane() -> LaneState {
        LaneState {
            run_id: "run-1".into(),
            lane: 2,
            calls: 7,
            budget: 250,
            timeout_seconds: 60,
            wave: 3,
            wave_budget: 250,
        }
    }

    #[test]
    fn named_and_fed_as_the_state_machine_would_start_it() {
        assert_eq!(execution_name(&lane()), "run-1-w4");
        let v: serde_json::Value = serde_json::from_str(&input(&lane())).unwrap();
        assert_eq!(v, json!({"runId": "run-1", "wave": 4, "laneCalls": [250]}));
    }

    #[tokio::test]
    async fn starts_the_named_execution_once_configured() {
        let started = mock!(aws_sdk_sfn::Client::start_execution)
            .match_requests(|r| {
                r.state_machine_arn() == Some("arn:sm") && r.name() == Some("run-1-w4")
            })
            .then_output(|| {
                StartExecutionOutput::builder()
                    .execution_arn("arn:x")
                    .start_date(aws_smithy_types::DateTime::from_secs(0))
                    .build()
                    .unwrap()
            });
        let sfn = mock_client!(aws_sdk_sfn, RuleMode::MatchAny, [&started]);
        start(&sfn, None, &lane()).await;
        assert_eq!(started.num_calls(), 0, "not configured: no start");
        start(&sfn, Some("arn:sm"), &lane()).await;
        assert_eq!(started.num_calls(), 1);
    }

    #[tokio::test]
    async fn an_existing_or_failed_start_is_not_an_error() {
        let exists = mock!(aws_sdk_sfn::Client::start_execution).then_error(|| {
            StartExecutionError::ExecutionAlreadyExists(
                aws_sdk_sfn::types::error::ExecutionAlreadyExists::builder().build(),
            )
        });
        let sfn = mock_client!(aws_sdk_sfn, RuleMode::MatchAny, [&exists]);
        start(&sfn, Some("arn:sm"), &lane()).await;
        let throttled = mock!(aws_sdk_sfn::Client::start_execution)
            .then_error(|| StartExecutionError::unhandled("ThrottlingException"));
        let sfn = mock_client!(aws_sdk_sfn, RuleMode::MatchAny, [&throttled]);
        start(&sfn, Some("arn:sm"), &lane()).await;
        assert_eq!(throttled.num_calls(), 1);
    }
}
