//! Starting (or joining) the campaign run after contacts were queued, and the `totalRecords`
//! counter.
//!
//! The state machine's first task (get-config) claims the run, so starting an execution while a
//! run is active is harmless: the newcomer finds the claim held and ends, and the running lanes
//! take the new contacts from the queue. Starting after every file or batch is what makes
//! contacts that arrive after the lanes went idle get dialed.

use super::{sdk_error, RetryPolicy};
use crate::error::{ErrorName, FunctionError};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// The execution's input (see `docs/architecture.md`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunInput {
    /// Where the contacts came from: `csv:<bucket>/<key>` or `pinpoint:<app>/<campaign>`.
    pub source: String,
    pub campaign: String,
}

/// The execution that was started, or the one with the same name that already existed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunStart {
    #[serde(rename = "executionArn")]
    pub execution_arn: String,
    /// `false` when an execution of that name already existed (a redelivered event).
    pub started: bool,
}

/// A Step Functions execution name (1–80 of `A-Za-z0-9-_`): `<kind>-<campaign>-<hash>`, where
/// the hash identifies what was queued (an object version, a Pinpoint batch). The same event
/// delivered twice gets the same name, so it cannot start a second execution.
pub fn execution_name(kind: &str, campaign: &str, unique: &str) -> String {
    let clean = |s: &str, max: usize| -> String {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .take(max)
            .collect()
    };
    let digest = hex::encode(&Sha256::digest(unique.as_bytes())[..8]);
    let kind = clean(kind, 12);
    let campaign = clean(campaign, 80 - kind.len() - digest.len() - 2);
    format!("{kind}-{campaign}-{digest}")
}

/// The ARN of execution `name` of `state_machine_arn`
/// (`arn:…:stateMachine:<sm>` → `arn:…:execution:<sm>:<name>`).
pub fn execution_arn(state_machine_arn: &str, name: &str) -> String {
    match state_machine_arn.split_once(":stateMachine:") {
        Some((head, sm)) => format!("{head}:execution:{sm}:{name}"),
        None => format!("{state_machine_arn}:{name}"),
    }
}

/// Starts the campaign's execution, or joins the one already running under that name.
///
/// Throttling and transient errors are retried with backoff; what still fails comes back as
/// `Throttled`/`Retryable` (the caller fails the invocation: the contacts are in the queue and the
/// event's redelivery starts the run). A missing state machine or a refused permission is a
/// `ConfigError`: the deployment is wrong.
pub async fn start_or_join_run(
    sfn: &aws_sdk_sfn::Client,
    state_machine_arn: &str,
    name: &str,
    input: &RunInput,
    policy: RetryPolicy,
) -> Result<RunStart, FunctionError> {
    use aws_sdk_sfn::operation::start_execution::StartExecutionError as E;
    let body = serde_json::to_string(input).expect("run input serialises");
    let body = body.as_str();
    let started = policy
        .retry(|| async move {
            let err = match sfn
                .start_execution()
                .state_machine_arn(state_machine_arn)
                .name(name)
                .input(body)
                .send()
                .await
            {
                Ok(out) => {
                    return Ok(RunStart {
                        execution_arn: out.execution_arn().to_string(),
                        started: true,
                    })
                }
                Err(err) => err,
            };
            match err.as_service_error() {
                Some(E::ExecutionAlreadyExists(_)) => Ok(RunStart {
                    execution_arn: execution_arn(state_machine_arn, name),
                    started: false,
                }),
                // A million open executions: the account's limit, worth waiting for.
                Some(E::ExecutionLimitExceeded(_)) => Err(FunctionError::throttled(
                    "StartExecution: ExecutionLimitExceeded",
                )),
                Some(E::StateMachineDoesNotExist(_))
                | Some(E::StateMachineDeleting(_))
                | Some(E::InvalidArn(_)) => Err(FunctionError::config(format!(
                    "StartExecution: STATE_MACHINE_ARN {state_machine_arn} cannot be started: {}",
                    sdk_error("StartExecution", &err).message
                ))),
                _ => Err(sdk_error("StartExecution", &err)),
            }
        })
        .await;
    // The input is ours: a refusal of it is a deployment problem, not the caller's.
    started.map_err(|e| match e.name {
        ErrorName::InvalidInput => FunctionError::config(e.message),
        _ => e,
    })
}

/// Adds `n` to the `totalRecords` parameter (read, add, write).
///
/// The counter is informational (operators and the demo read it): a failure after the retries
/// is logged and tolerated, never worth failing an intake whose contacts are already queued.
/// Two intakes finishing at the same moment can lose one's addition; it is a gauge, not a ledger.
/// Returns the new value when it was written.
pub async fn add_total_records(
    ssm: &aws_sdk_ssm::Client,
    prefix: &str,
    n: u64,
    policy: RetryPolicy,
) -> Option<u64> {
    if n == 0 {
        return None;
    }
    let name = crate::config::parameter_name(prefix, crate::config::names::TOTAL_RECORDS);
    let name = name.as_str();
    match policy.retry(|| try_add(ssm, name, n)).await {
        Ok(total) => Some(total),
        Err(e) => {
            tracing::warn!(parameter = %name, error = %e, "totalRecords not updated");
            None
        }
    }
}

async fn try_add(ssm: &aws_sdk_ssm::Client, name: &str, n: u64) -> Result<u64, FunctionError> {
    use aws_sdk_ssm::operation::get_parameter::GetParameterError;
    let current = match ssm.get_parameter().name(name).send().await {
        Ok(out) => out
            .parameter()
            .and_then(|p| p.value())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .unwrap_or(0),
        Err(e)
            if matches!(
                e.as_service_error(),
                Some(GetParameterError::ParameterNotFound(_))
            ) =>
        {
            0
        }
        Err(e) => return Err(sdk_error("GetParameter", &e)),
    };
    let total = current.saturating_add(n);
    ssm.put_parameter()
        .name(name)
        .value(total.to_string())
        .r#type(aws_sdk_ssm::types::ParameterType::String)
        .overwrite(true)
        .send()
        .await
        .map_err(|e| sdk_error("PutParameter", &e))?;
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mocked;
    use aws_sdk_sfn::operation::start_execution::{StartExecutionError, StartExecutionOutput};
    use aws_sdk_sfn::types::error::{ExecutionAlreadyExists, StateMachineDoesNotExist};
    use aws_sdk_ssm::operation::get_parameter::{GetParameterError, GetParameterOutput};
    use aws_sdk_ssm::operation::put_parameter::{PutParameterError, PutParameterOutput};
    use aws_sdk_ssm::types::error::ParameterNotFound;
    use aws_sdk_ssm::types::Parameter;
    use aws_smithy_mocks::mock;

    const SM: &str = "arn:aws:states:eu-west-2:123456789012:stateMachine:blaster-dialer";

    fn input() -> RunInput {
        RunInput {
            source: "csv:in/uploads/spring.csv".into(),
            campaign: "spring".into(),
        }
    }

    fn throttled() -> StartExecutionError {
        StartExecutionError::generic(
            aws_smithy_types::error::ErrorMetadata::builder()
                .code("ThrottlingException")
                .build(),
        )
    }

    #[test]
    fn names_are_valid_and_deterministic() {
        let n = execution_name(
            "csv",
            "spring renewals/2024 (final)",
            "in/uploads/x.csv#seq1",
        );
        assert!(n.len() <= 80);
        assert!(n.starts_with("csv-spring_renewals_2024__final_-"), "{n}");
        assert!(n
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
        assert_eq!(
            n,
            execution_name(
                "csv",
                "spring renewals/2024 (final)",
                "in/uploads/x.csv#seq1"
            )
        );
        assert_ne!(
            n,
            execution_name(
                "csv",
                "spring renewals/2024 (final)",
                "in/uploads/x.csv#seq2"
            )
        );
        let long = execution_name("pinpoint", &"x".repeat(300), "u");
        assert_eq!(long.len(), 80);
    }

    #[test]
    fn execution_arn_from_state_machine_arn() {
        assert_eq!(
            execution_arn(SM, "csv-a-1"),
            "arn:aws:states:eu-west-2:123456789012:execution:blaster-dialer:csv-a-1"
        );
    }

    #[tokio::test]
    async fn starts_with_the_contract_input() {
        let rule = mock!(aws_sdk_sfn::Client::start_execution)
            .match_requests(|r| {
                r.state_machine_arn() == Some(SM)
                    && r.name() == Some("csv-spring-1")
                    && serde_json::from_str::<serde_json::Value>(r.input().unwrap()).unwrap()
                        == serde_json::json!({"source": "csv:in/uploads/spring.csv", "campaign": "spring"})
            })
            .then_output(|| {
                StartExecutionOutput::builder()
                    .execution_arn("arn:exec")
                    .start_date(aws_smithy_types::DateTime::from_secs(0))
                    .build()
                    .unwrap()
            });
        let sfn = mocked!(aws_sdk_sfn, [&rule]);
        let r = start_or_join_run(
            &sfn,
            SM,
            "csv-spring-1",
            &input(),
            RetryPolicy::immediate(3),
        )
        .await
        .unwrap();
        assert_eq!(
            r,
            RunStart {
                execution_arn: "arn:exec".into(),
                started: true
            }
        );
    }

    #[tokio::test]
    async fn existing_execution_is_joined() {
        let rule = mock!(aws_sdk_sfn::Client::start_execution).then_error(|| {
            StartExecutionError::ExecutionAlreadyExists(ExecutionAlreadyExists::builder().build())
        });
        let sfn = mocked!(aws_sdk_sfn, [&rule]);
        let r = start_or_join_run(
            &sfn,
            SM,
            "csv-spring-1",
            &input(),
            RetryPolicy::immediate(3),
        )
        .await
        .unwrap();
        assert!(!r.started);
        assert_eq!(r.execution_arn, execution_arn(SM, "csv-spring-1"));
    }

    #[tokio::test]
    async fn throttling_is_retried_then_reported() {
        let flaky = mock!(aws_sdk_sfn::Client::start_execution)
            .sequence()
            .error(throttled)
            .times(2)
            .output(|| {
                StartExecutionOutput::builder()
                    .execution_arn("arn:exec")
                    .start_date(aws_smithy_types::DateTime::from_secs(0))
                    .build()
                    .unwrap()
            })
            .build();
        let sfn = mocked!(aws_sdk_sfn, [&flaky]);
        let r = start_or_join_run(&sfn, SM, "n", &input(), RetryPolicy::immediate(3))
            .await
            .unwrap();
        assert!(r.started);
        assert_eq!(flaky.num_calls(), 3);

        let always = mock!(aws_sdk_sfn::Client::start_execution).then_error(throttled);
        let sfn = mocked!(aws_sdk_sfn, [&always]);
        let e = start_or_join_run(&sfn, SM, "n", &input(), RetryPolicy::immediate(3))
            .await
            .unwrap_err();
        assert_eq!(e.name, ErrorName::Throttled);
        assert_eq!(always.num_calls(), 3);
    }

    #[tokio::test]
    async fn missing_state_machine_is_a_config_error() {
        let rule = mock!(aws_sdk_sfn::Client::start_execution).then_error(|| {
            StartExecutionError::StateMachineDoesNotExist(
                StateMachineDoesNotExist::builder().build(),
            )
        });
        let sfn = mocked!(aws_sdk_sfn, [&rule]);
        let e = start_or_join_run(&sfn, SM, "n", &input(), RetryPolicy::immediate(3))
            .await
            .unwrap_err();
        assert_eq!(e.name, ErrorName::ConfigError);
        assert_eq!(rule.num_calls(), 1);
    }

    #[tokio::test]
    async fn total_records_is_read_added_and_written() {
        let get = mock!(aws_sdk_ssm::Client::get_parameter)
            .match_requests(|r| r.name() == Some("/connect/blaster/t/totalRecords"))
            .then_output(|| {
                GetParameterOutput::builder()
                    .parameter(
                        Parameter::builder()
                            .name("/connect/blaster/t/totalRecords")
                            .value("40")
                            .build(),
                    )
                    .build()
            });
        let put = mock!(aws_sdk_ssm::Client::put_parameter)
            .match_requests(|r| {
                r.name() == Some("/connect/blaster/t/totalRecords")
                    && r.value() == Some("47")
                    && r.overwrite() == Some(true)
            })
            .then_output(|| PutParameterOutput::builder().version(2).build());
        let ssm = mocked!(aws_sdk_ssm, [&get, &put]);
        assert_eq!(
            add_total_records(&ssm, "/connect/blaster/t", 7, RetryPolicy::immediate(3)).await,
            Some(47)
        );
        assert_eq!(put.num_calls(), 1);
    }

    #[tokio::test]
    async fn total_records_starts_from_zero_and_tolerates_throttling() {
        let get = mock!(aws_sdk_ssm::Client::get_parameter).then_error(|| {
            GetParameterError::ParameterNotFound(ParameterNotFound::builder().build())
        });
        let put = mock!(aws_sdk_ssm::Client::put_parameter)
            .sequence()
            .error(|| {
                PutParameterError::generic(
                    aws_smithy_types::error::ErrorMetadata::builder()
                        .code("ThrottlingException")
                        .build(),
                )
            })
            .output(|| PutParameterOutput::builder().version(1).build())
            .build();
        let ssm = mocked!(aws_sdk_ssm, [&get, &put]);
        assert_eq!(
            add_total_records(&ssm, "/p/", 5, RetryPolicy::immediate(3)).await,
            Some(5)
        );

        let always = mock!(aws_sdk_ssm::Client::put_parameter).then_error(|| {
            PutParameterError::generic(
                aws_smithy_types::error::ErrorMetadata::builder()
                    .code("ThrottlingException")
                    .build(),
            )
        });
        let get = mock!(aws_sdk_ssm::Client::get_parameter).then_error(|| {
            GetParameterError::ParameterNotFound(ParameterNotFound::builder().build())
        });
        let ssm = mocked!(aws_sdk_ssm, [&get, &always]);
        assert_eq!(
            add_total_records(&ssm, "/p/", 5, RetryPolicy::immediate(2)).await,
            None
        );
        assert_eq!(always.num_calls(), 2);
    }
}
