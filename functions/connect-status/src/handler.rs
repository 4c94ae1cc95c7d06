//! One invocation of connect-status: the documented steps, with the clients and configuration passed
//! in (`main.rs` builds them once).

use chrono::{DateTime, Utc};
use outbound_core::completion::{reconcile, Ledger};
use outbound_core::config::get_parameters;
use outbound_core::error::FunctionError;
use outbound_core::hours::{evaluate_queue, fetch_queue_snapshot};
use outbound_core::records::LaneState;
use serde_json::Value;

/// The clients and settings, built once per process.
pub struct Status {
    pub ssm: aws_sdk_ssm::Client,
    pub connect: aws_sdk_connect::Client,
    pub ledger: Ledger,
    /// `SSM_PREFIX`: `connectid` and `queue` are read from it.
    pub ssm_prefix: String,
}

pub async fn handle(
    status: &Status,
    event: &Value,
    now: DateTime<Utc>,
) -> Result<Value, FunctionError> {
    let action = event
        .get("action")
        .and_then(Value::as_str)
        .ok_or_else(|| FunctionError::invalid_input("connect-status: 'action' missing"))?;
    match action {
        "hours" => {
            let params =
                get_parameters(&status.ssm, &status.ssm_prefix, &["connectid", "queue"]).await?;
            let snapshot =
                fetch_queue_snapshot(&status.connect, &params["connectid"], &params["queue"], now)
                    .await?;
            let verdict = evaluate_queue(&snapshot, now);
            tracing::info!(
                open = verdict.open,
                // `effective` (overrides applied) or `weekly` (the fallback, overrides ignored).
                hours = snapshot.hours.as_ref().map(|h| h.source()).unwrap_or("none"),
                status = %verdict.status,
                reason = verdict.reason.as_str(),
                next_opening = ?verdict.next_opening,
                "queue checked"
            );
            Ok(verdict.to_json())
        }
        "reconcile" => {
            let lane: LaneState = serde_json::from_value(event.clone()).map_err(|e| {
                FunctionError::invalid_input(format!(
                    "connect-status: lane state expected ({:?} error at line {} column {})",
                    e.classify(),
                    e.line(),
                    e.column()
                ))
            })?;
            let params = get_parameters(&status.ssm, &status.ssm_prefix, &["connectid"]).await?;
            let next = reconcile(
                &status.ledger,
                &status.connect,
                &params["connectid"],
                &lane,
                now,
            )
            .await?;
            serde_json::to_value(next).map_err(|e| FunctionError::retryable(format!("output: {e}")))
        }
        _ => Err(FunctionError::invalid_input(
            "connect-status: action must be 'hours' or 'reconcile'",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_connect::operation::describe_hours_of_operation::DescribeHoursOfOperationOutput;
    use aws_sdk_connect::operation::describe_queue::DescribeQueueOutput;
    use aws_sdk_connect::operation::get_effective_hours_of_operations::{
        GetEffectiveHoursOfOperationsError, GetEffectiveHoursOfOperationsOutput,
    };
    use aws_sdk_connect::types::{EffectiveHoursOfOperations, OperationalHour, OverrideTimeSlice};
    use aws_sdk_connect::types::{
        HoursOfOperation, HoursOfOperationConfig, HoursOfOperationDays, HoursOfOperationTimeSlice,
        Queue, QueueStatus,
    };
    use aws_sdk_dynamodb::operation::get_item::GetItemOutput;
    use aws_sdk_ssm::operation::get_parameters::GetParametersOutput;
    use aws_sdk_ssm::types::Parameter;
    use aws_smithy_mocks::{mock, mock_client, RuleMode};
    use outbound_core::error::ErrorName;
    use outbound_core::testkit::meta;
    use serde_json::json;

    fn ssm() -> aws_sdk_ssm::Client {
        let get = mock!(aws_sdk_ssm::Client::get_parameters).then_compute_output(|r| {
            let mut out = GetParametersOutput::builder();
            for name in r.names() {
                let value = if name.ends_with("connectid") {
                    "i-1"
                } else {
                    "q-1"
                };
                out = out.parameters(Parameter::builder().name(name).value(value).build());
            }
            out.build()
        });
        mock_client!(aws_sdk_ssm, RuleMode::MatchAny, [&get])
    }

    fn status(connect: aws_sdk_connect::Client, dynamodb: aws_sdk_dynamodb::Client) -> Status {
        let no_rules: [&aws_smithy_mocks::Rule; 0] = [];
        Status {
            ssm: ssm(),
            connect,
            ledger: Ledger {
                dynamodb,
                s3: mock_client!(aws_sdk_s3, RuleMode::MatchAny, no_rules),
                table_name: "t".into(),
                results_bucket: "b".into(),
                finisher: None,
            },
            ssm_prefix: "/connect/blaster/demo/".into(),
        }
    }

    fn no_table() -> aws_sdk_dynamodb::Client {
        let no_rules: [&aws_smithy_mocks::Rule; 0] = [];
        mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, no_rules)
    }

    #[tokio::test]
    async fn hours_answer_with_the_next_opening_in_the_queue_time_zone() {
        let queue = mock!(aws_sdk_connect::Client::describe_queue)
            .match_requests(|r| r.instance_id() == Some("i-1") && r.queue_id() == Some("q-1"))
            .then_output(|| {
                DescribeQueueOutput::builder()
                    .queue(
                        Queue::builder()
                            .status(QueueStatus::Enabled)
                            .hours_of_operation_id("h-1")
                            .build(),
                    )
                    .build()
            });
        let slice = |h, m| {
            HoursOfOperationTimeSlice::builder()
                .hours(h)
                .minutes(m)
                .build()
                .unwrap()
        };
        let hours =
            mock!(aws_sdk_connect::Client::describe_hours_of_operation).then_output(move || {
                // Overnight shift Friday 22:00 to Saturday 06:00, New York time.
                DescribeHoursOfOperationOutput::builder()
                    .hours_of_operation(
                        HoursOfOperation::builder()
                            .time_zone("America/New_York")
                            .config(
                                HoursOfOperationConfig::builder()
                                    .day(HoursOfOperationDays::Friday)
                                    .start_time(slice(22, 0))
                                    .end_time(slice(6, 0))
                                    .build()
                                    .unwrap(),
                            )
                            .build(),
                    )
                    .build()
            });
        // Connect refuses the effective hours (a role without the action): the weekly hours.
        let effective = mock!(aws_sdk_connect::Client::get_effective_hours_of_operations)
            .then_error(|| {
                GetEffectiveHoursOfOperationsError::generic(meta("AccessDeniedException"))
            });
        let connect = mock_client!(
            aws_sdk_connect,
            RuleMode::MatchAny,
            [&queue, &effective, &hours]
        );
        let s = status(connect, no_table());
        // Monday 2024-03-04 12:00 UTC: closed, opens Friday 22:00 EST = Saturday 03:00 UTC.
        let now = DateTime::parse_from_rfc3339("2024-03-04T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let out = handle(&s, &json!({"action": "hours"}), now).await.unwrap();
        assert_eq!(
            out,
            json!({"open": false, "status": "ENABLED", "reason": "outside_hours",
                   "nextOpening": "2024-03-09T03:00:00Z"})
        );
        // Saturday 2024-03-09 10:00 UTC = 05:00 EST: still open from Friday night.
        let now = DateTime::parse_from_rfc3339("2024-03-09T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let out = handle(&s, &json!({"action": "hours"}), now).await.unwrap();
        assert_eq!(out["open"], true);
        assert_eq!(out["nextOpening"], Value::Null);
    }

    #[tokio::test]
    async fn a_holiday_in_the_effective_hours_closes_the_queue_until_the_day_after() {
        let queue = mock!(aws_sdk_connect::Client::describe_queue).then_output(|| {
            DescribeQueueOutput::builder()
                .queue(
                    Queue::builder()
                        .status(QueueStatus::Enabled)
                        .hours_of_operation_id("h-1")
                        .build(),
                )
                .build()
        });
        // 09:00-17:00 London every day of the window but Friday 25 December 2026 (a holiday).
        let effective = mock!(aws_sdk_connect::Client::get_effective_hours_of_operations)
            .match_requests(|r| {
                r.hours_of_operation_id() == Some("h-1")
                    && r.from_date() == Some("2026-12-23")
                    && r.to_date() == Some("2027-01-02")
            })
            .then_output(|| {
                let ts = |h| {
                    OverrideTimeSlice::builder()
                        .hours(h)
                        .minutes(0)
                        .build()
                        .unwrap()
                };
                let mut out =
                    GetEffectiveHoursOfOperationsOutput::builder().time_zone("Europe/London");
                for d in 23..=31 {
                    let mut day =
                        EffectiveHoursOfOperations::builder().date(format!("2026-12-{d}"));
                    if d != 25 {
                        day = day.operational_hours(
                            OperationalHour::builder().start(ts(9)).end(ts(17)).build(),
                        );
                    }
                    out = out.effective_hours_of_operation_list(day.build());
                }
                out.build()
            });
        let no_weekly = mock!(aws_sdk_connect::Client::describe_hours_of_operation)
            .then_output(|| DescribeHoursOfOperationOutput::builder().build());
        let connect = mock_client!(
            aws_sdk_connect,
            RuleMode::MatchAny,
            [&queue, &effective, &no_weekly]
        );
        let s = status(connect, no_table());
        let at = |t: &str| DateTime::parse_from_rfc3339(t).unwrap().with_timezone(&Utc);
        let out = handle(&s, &json!({"action": "hours"}), at("2026-12-25T10:00:00Z"))
            .await
            .unwrap();
        assert_eq!(
            out,
            json!({"open": false, "status": "ENABLED", "reason": "outside_hours",
                   "nextOpening": "2026-12-26T09:00:00Z"})
        );
        // The evening before the next opening, the same answer.
        let out = handle(&s, &json!({"action": "hours"}), at("2026-12-25T23:30:00Z"))
            .await
            .unwrap();
        assert_eq!(out["nextOpening"], "2026-12-26T09:00:00Z");
        assert_eq!(effective.num_calls(), 2);
        assert_eq!(no_weekly.num_calls(), 0);
    }

    #[tokio::test]
    async fn reconcile_without_an_outstanding_call_returns_the_lane_unchanged() {
        let get = mock!(aws_sdk_dynamodb::Client::get_item)
            .match_requests(|r| r.key().unwrap()["pk"].as_s().unwrap() == "LANE#r-1#2")
            .then_output(|| GetItemOutput::builder().build());
        let no_rules: [&aws_smithy_mocks::Rule; 0] = [];
        let s = status(
            mock_client!(aws_sdk_connect, RuleMode::MatchAny, no_rules),
            mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&get]),
        );
        let lane = json!({"runId": "r-1", "lane": 2, "calls": 5, "budget": 100, "timeoutSeconds": 90,
                   "wave": 3, "waveBudget": 100});
        let mut event = lane.clone();
        event["action"] = json!("reconcile");
        let out = handle(&s, &event, Utc::now()).await.unwrap();
        assert_eq!(out, lane);
        assert_eq!(get.num_calls(), 1);
    }

    #[tokio::test]
    async fn unknown_actions_and_bad_lane_states_are_invalid_input() {
        let no_rules: [&aws_smithy_mocks::Rule; 0] = [];
        let s = status(
            mock_client!(aws_sdk_connect, RuleMode::MatchAny, no_rules),
            no_table(),
        );
        for event in [
            json!({}),
            json!({"action": "dial"}),
            json!({"action": "reconcile", "runId": "r-1"}),
        ] {
            let err = handle(&s, &event, Utc::now()).await.unwrap_err();
            assert_eq!(err.name, ErrorName::InvalidInput, "{event}");
        }
    }
}
