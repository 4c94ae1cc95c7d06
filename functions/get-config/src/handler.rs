//! get-config: the controller's first task. Reads the configuration, claims the run and sizes
//! the wave's lanes.
//!
//! **Claim.** One `RUN` item in the table says which run is active: a conditional put
//! (`attribute_not_exists(pk) OR runId = :runId`) takes it for a new run or keeps it for the
//! next wave of the same run. When another run holds it, that holder's execution is asked
//! (`DescribeExecution`): still `RUNNING` means the run is alive and this execution is not
//! needed (`claimed: false`: the running lanes take the new contacts). A holder that
//! `SUCCEEDED` handed the run to its next wave (`<runId>-w<wave+1>`, the state machine's naming)
//! and that execution is asked in turn. Any other end (failed, timed out, aborted, gone) leaves a
//! stale claim, taken over with a put conditional on exactly the item that was read, so two
//! newcomers cannot both take it.
//!
//! **Order.** The configuration is read before the claim, so a missing parameter
//! (`ConfigError`) never leaves a claim behind. After the claim nothing can fail the function:
//! the `dialIndex` bookkeeping is best effort.
//!
//! **Lanes.** `concurrentcalls` clamped to `MAX_CONCURRENT_CALLS`; the wave may place
//! `lanes × lane_budget(HISTORY_BUDGET, lanes)` calls (see `outbound_core::config`), which its
//! lanes take from one shared count (dial's `wave_budget`) rather than in equal shares.

use crate::env::Env;
use aws_sdk_dynamodb::types::AttributeValue;
use outbound_core::config::{lane_budget, load_config, names, parameter_name, DialerConfig};
use outbound_core::error::FunctionError;
use outbound_core::intake::{sdk_error, RetryPolicy};
use outbound_core::records::LaneState;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::HashMap;

/// Longest run id: the state machine names the next wave's execution `<runId>-w<wave>`, and
/// execution names stop at 80 characters.
pub const MAX_RUN_ID_LEN: usize = 64;

/// Attempts at the claim when the item keeps changing under us (another claimant, a release).
const CLAIM_ROUNDS: u32 = 3;

#[derive(Debug, Clone)]
pub struct Clients {
    pub ssm: aws_sdk_ssm::Client,
    pub ddb: aws_sdk_dynamodb::Client,
    pub sfn: aws_sdk_sfn::Client,
    /// Feeds the lanes' queue from the campaign ledger once the run is claimed.
    pub feeder: crate::feeder::Feeder,
}

/// The task's payload: the execution's input (`runId`, `wave`, `laneCalls` when it continues a
/// run; `source`, `campaign` when an intake started it) plus `execution`, this execution's ARN.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Input {
    #[serde(default)]
    pub run_id: Option<String>,
    #[serde(default)]
    pub wave: Option<u32>,
    pub execution: String,
    /// Calls each lane of the previous wave placed (the Map's `$[*].calls`).
    #[serde(default)]
    pub lane_calls: Vec<Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Output {
    /// This execution holds the run. `false`: another live execution does; end quietly.
    pub claimed: bool,
    pub run_id: String,
    pub wave: u32,
    /// `activeBlaster`: `false` means release the claim and stop.
    pub active: bool,
    pub config: DialerConfig,
    /// One lane state per lane; empty unless claimed and active.
    pub lanes: Vec<LaneState>,
    /// A lane's equal share of the wave's calls (`lane_budget(HISTORY_BUDGET, lanes)`).
    pub lane_budget: u32,
    /// Calls the wave's lanes may place together (`lanes × lane_budget`), from one shared count.
    pub wave_budget: u32,
    pub timeout_seconds: u32,
    /// The execution holding the run when it is not this one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub held_by: Option<String>,
    /// The stale execution whose claim this one took over.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub took_over: Option<String>,
    /// Contacts fed to the lanes' queue from the campaign ledger for this wave.
    pub fed: u64,
    /// Claimed and active, but nothing to dial: nothing fed and the queue empty. The state
    /// machine then releases the run without starting lanes (a scheduled sweep with nothing
    /// due costs a few transitions).
    pub idle: bool,
}

/// The name of an execution from its ARN (`arn:…:execution:<state machine>:<name>`), or the
/// value itself when it is already a name.
pub fn execution_name(execution: &str) -> &str {
    execution.rsplit(':').next().unwrap_or(execution)
}

/// The run id of a new run: the execution's name with characters outside `[A-Za-z0-9_-]` made
/// `_` (the contract's run id alphabet), shortened to [`MAX_RUN_ID_LEN`] (prefix and a hash of
/// the whole name) when it is longer.
pub fn new_run_id(execution: &str) -> String {
    let name = execution_name(execution);
    let clean: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if clean.len() <= MAX_RUN_ID_LEN && !clean.is_empty() {
        return clean;
    }
    let digest = hex::encode(&Sha256::digest(name.as_bytes())[..6]);
    let keep = MAX_RUN_ID_LEN - digest.len() - 1;
    let prefix: String = clean.chars().take(keep).collect();
    format!("{prefix}-{digest}")
}

/// Checks the input of an execution that says it continues run `run_id` at `wave`. Only the
/// state machine's own hand-over starts one, and it names the execution `<runId>-w<wave>`
/// (Start Next Wave, Resume After Pause): an input that repeats a live run's id from any other
/// execution (a copied input, a manual start) would otherwise share that run's claim and put a
/// second set of lanes on it.
fn continuing_run(run_id: &str, wave: u32, execution: &str) -> Result<String, FunctionError> {
    let well_formed = run_id.len() <= MAX_RUN_ID_LEN
        && run_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !well_formed {
        return Err(FunctionError::invalid_input(format!(
            "runId must be 1 to {MAX_RUN_ID_LEN} letters, digits, '-' or '_'"
        )));
    }
    let expected = format!("{run_id}-w{wave}");
    if wave < 2 || execution_name(execution) != expected {
        return Err(FunctionError::invalid_input(format!(
            "an execution that continues run {run_id} must be its next wave, named {expected} \
             (wave 2 or later); start a new run without runId instead"
        )));
    }
    Ok(run_id.to_string())
}

/// The ARN of `name` in the same state machine as `execution_arn`.
fn sibling_execution(execution_arn: &str, name: &str) -> Option<String> {
    let (head, _) = execution_arn.rsplit_once(':')?;
    head.contains(":execution:")
        .then(|| format!("{head}:{name}"))
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Holder {
    run_id: String,
    execution: String,
    wave: u32,
}

impl Holder {
    fn from_item(item: &HashMap<String, AttributeValue>) -> Holder {
        let s = |k: &str| {
            item.get(k)
                .and_then(|v| v.as_s().ok())
                .cloned()
                .unwrap_or_default()
        };
        Holder {
            run_id: s("runId"),
            execution: s("execution"),
            wave: item
                .get("wave")
                .and_then(|v| v.as_n().ok())
                .and_then(|n| n.parse().ok())
                .unwrap_or(1),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Claim {
    Claimed { took_over: Option<String> },
    Held { by: String },
}

/// Handles one get-config task.
pub async fn handle(
    clients: &Clients,
    env: &Env,
    policy: RetryPolicy,
    now_rfc3339: &str,
    input: Input,
) -> Result<Output, FunctionError> {
    if input.execution.trim().is_empty() {
        return Err(FunctionError::invalid_input(
            "get-config needs `execution`, this execution's ARN",
        ));
    }
    let config = load_config(&clients.ssm, &env.ssm_prefix).await?;
    let continuing = input
        .run_id
        .as_deref()
        .is_some_and(|r| !r.trim().is_empty());
    let wave = input.wave.unwrap_or(1).max(1);
    let run_id = match &input.run_id {
        Some(r) if !r.trim().is_empty() => continuing_run(r.trim(), wave, &input.execution)?,
        _ => new_run_id(&input.execution),
    };

    // Fed before the claim, so a feeder that fails leaves no claim behind. An execution that
    // then finds the run held by a live one has fed that run's queue: the same conditional
    // leases, within the same room, whoever feeds.
    let lanes_n = config.lanes(env.max_concurrent_calls);
    let budget = lane_budget(env.history_budget, lanes_n);
    let wave_budget = budget.saturating_mul(lanes_n);
    let feed = if config.active {
        Some(
            clients
                .feeder
                .feed(
                    &run_id,
                    &config.connect_id,
                    lanes_n,
                    budget,
                    chrono::Utc::now(),
                )
                .await?,
        )
    } else {
        // Stopped: no lanes, but ended campaigns are closed and owed final records written, so
        // results are complete while dialing is stopped. Best effort: the next sweep tries again.
        if let Err(e) = clients.feeder.tidy(chrono::Utc::now()).await {
            tracing::warn!(error_type = e.name.as_str(), error = %e.message, "could not tidy the campaign ledger while stopped; the next run tries again");
        }
        None
    };

    let claim = claim_run(
        clients,
        &env.table_name,
        &run_id,
        &input.execution,
        wave,
        now_rfc3339,
        policy,
    )
    .await?;
    let mut out = Output {
        claimed: false,
        run_id: run_id.clone(),
        wave,
        active: config.active,
        lanes: Vec::new(),
        lane_budget: budget,
        wave_budget,
        timeout_seconds: config.timeout_seconds,
        held_by: None,
        took_over: None,
        fed: feed.as_ref().map_or(0, |f| f.fed),
        idle: feed.as_ref().is_some_and(|f| f.fed == 0 && f.buffered == 0),
        config,
    };
    match claim {
        Claim::Held { by } => {
            tracing::info!(run_id = %run_id, held_by = %by, "the run is held by a live execution");
            out.held_by = Some(by);
        }
        Claim::Claimed { took_over } => {
            out.claimed = true;
            if let Some(stale) = &took_over {
                tracing::warn!(run_id = %run_id, stale = %stale, "took over a stale run claim");
            }
            out.took_over = took_over;
            let placed: u64 = input.lane_calls.iter().filter_map(Value::as_u64).sum();
            record_dial_index(&clients.ssm, &env.ssm_prefix, continuing, placed, policy).await;
            if out.active {
                out.lanes = (1..=lanes_n)
                    .map(|lane| LaneState {
                        run_id: run_id.clone(),
                        lane,
                        calls: 0,
                        // Any lane may place all of the wave's calls: they share one count
                        // (dial's `wave_budget`), so a lane whose calls are short goes on while
                        // one whose calls are long is still on its call.
                        budget: wave_budget,
                        timeout_seconds: out.timeout_seconds,
                        wave,
                        wave_budget,
                    })
                    .collect();
            }
            tracing::info!(
                run_id = %run_id,
                wave,
                lanes = out.lanes.len(),
                lane_budget = budget,
                active = out.active,
                fed = out.fed,
                idle = out.idle,
                "run claimed"
            );
        }
    }
    Ok(out)
}

async fn claim_run(
    clients: &Clients,
    table: &str,
    run_id: &str,
    execution: &str,
    wave: u32,
    now: &str,
    policy: RetryPolicy,
) -> Result<Claim, FunctionError> {
    let mut last_holder = None;
    for _ in 0..CLAIM_ROUNDS {
        let condition = "attribute_not_exists(pk) OR runId = :runId";
        let values = [(":runId", AttributeValue::S(run_id.to_string()))];
        if put_run(
            &clients.ddb,
            table,
            run_id,
            execution,
            wave,
            now,
            condition,
            &values,
            &[],
            policy,
        )
        .await?
        {
            return Ok(Claim::Claimed { took_over: None });
        }
        let Some(holder) = read_holder(&clients.ddb, table, policy).await? else {
            // Released between the put and the read: try again.
            continue;
        };
        if holder.execution == execution {
            // Our own claim under another run id cannot happen; treat it as held to be safe.
            return Ok(Claim::Held {
                by: holder.execution,
            });
        }
        if holder_alive(&clients.sfn, &holder, policy).await? {
            return Ok(Claim::Held {
                by: holder.execution,
            });
        }
        let values = [
            (":heldRun", AttributeValue::S(holder.run_id.clone())),
            (
                ":heldExecution",
                AttributeValue::S(holder.execution.clone()),
            ),
        ];
        if put_run(
            &clients.ddb,
            table,
            run_id,
            execution,
            wave,
            now,
            "#runId = :heldRun AND #execution = :heldExecution",
            &values,
            &[("#runId", "runId"), ("#execution", "execution")],
            policy,
        )
        .await?
        {
            return Ok(Claim::Claimed {
                took_over: Some(holder.execution),
            });
        }
        last_holder = Some(holder.execution);
    }
    // The item kept changing: someone else is claiming right now and will run the lanes.
    Ok(Claim::Held {
        by: last_holder.unwrap_or_else(|| "another execution".into()),
    })
}

#[allow(clippy::too_many_arguments)]
async fn put_run(
    ddb: &aws_sdk_dynamodb::Client,
    table: &str,
    run_id: &str,
    execution: &str,
    wave: u32,
    now: &str,
    condition: &str,
    values: &[(&str, AttributeValue)],
    names: &[(&str, &str)],
    policy: RetryPolicy,
) -> Result<bool, FunctionError> {
    use aws_sdk_dynamodb::operation::put_item::PutItemError;
    policy
        .retry(|| async move {
            let mut req = ddb
                .put_item()
                .table_name(table)
                .item("pk", AttributeValue::S("RUN".into()))
                .item("runId", AttributeValue::S(run_id.to_string()))
                .item("execution", AttributeValue::S(execution.to_string()))
                .item("claimedAt", AttributeValue::S(now.to_string()))
                .item("wave", AttributeValue::N(wave.to_string()))
                .condition_expression(condition);
            for (k, v) in values {
                req = req.expression_attribute_values(*k, v.clone());
            }
            for (k, v) in names {
                req = req.expression_attribute_names(*k, *v);
            }
            match req.send().await {
                Ok(_) => Ok(true),
                Err(e)
                    if matches!(
                        e.as_service_error(),
                        Some(PutItemError::ConditionalCheckFailedException(_))
                    ) =>
                {
                    Ok(false)
                }
                Err(e) => Err(sdk_error("PutItem RUN", &e)),
            }
        })
        .await
}

async fn read_holder(
    ddb: &aws_sdk_dynamodb::Client,
    table: &str,
    policy: RetryPolicy,
) -> Result<Option<Holder>, FunctionError> {
    policy
        .retry(|| async move {
            ddb.get_item()
                .table_name(table)
                .key("pk", AttributeValue::S("RUN".into()))
                .consistent_read(true)
                .send()
                .await
                .map(|out| out.item().map(Holder::from_item))
                .map_err(|e| sdk_error("GetItem RUN", &e))
        })
        .await
}

/// What Step Functions says of an execution.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Status {
    Running,
    Succeeded,
    /// Failed, timed out, aborted, waiting for a redrive.
    Ended(String),
    /// No such execution (or not an execution ARN at all).
    Unknown,
}

async fn describe(
    sfn: &aws_sdk_sfn::Client,
    arn: &str,
    policy: RetryPolicy,
) -> Result<Status, FunctionError> {
    use aws_sdk_sfn::operation::describe_execution::DescribeExecutionError as E;
    use aws_sdk_sfn::types::ExecutionStatus;
    policy
        .retry(|| async move {
            match sfn.describe_execution().execution_arn(arn).send().await {
                Ok(out) => Ok(match out.status() {
                    ExecutionStatus::Running => Status::Running,
                    ExecutionStatus::Succeeded => Status::Succeeded,
                    other => Status::Ended(other.as_str().to_string()),
                }),
                Err(e)
                    if matches!(
                        e.as_service_error(),
                        Some(E::ExecutionDoesNotExist(_)) | Some(E::InvalidArn(_))
                    ) =>
                {
                    Ok(Status::Unknown)
                }
                Err(e) => Err(sdk_error("DescribeExecution", &e)),
            }
        })
        .await
}

/// Whether the holder's run is still being dialed: its execution runs, or it handed the run to
/// its next wave's execution, which runs.
async fn holder_alive(
    sfn: &aws_sdk_sfn::Client,
    holder: &Holder,
    policy: RetryPolicy,
) -> Result<bool, FunctionError> {
    match describe(sfn, &holder.execution, policy).await? {
        Status::Running => Ok(true),
        Status::Succeeded => {
            let next = format!("{}-w{}", holder.run_id, holder.wave.saturating_add(1));
            match sibling_execution(&holder.execution, &next) {
                Some(arn) => Ok(describe(sfn, &arn, policy).await? == Status::Running),
                None => Ok(false),
            }
        }
        Status::Ended(status) => {
            tracing::info!(execution = %holder.execution, %status, "the run's execution has ended");
            Ok(false)
        }
        Status::Unknown => Ok(false),
    }
}

/// `dialIndex`: reset for a new run, grown by the previous wave's calls for a continuing one.
/// Informational (operators read it): failures are logged, never fatal after the claim.
async fn record_dial_index(
    ssm: &aws_sdk_ssm::Client,
    prefix: &str,
    continuing: bool,
    placed: u64,
    policy: RetryPolicy,
) {
    if continuing && placed == 0 {
        return;
    }
    let name = parameter_name(prefix, names::DIAL_INDEX);
    let name = name.as_str();
    let result = policy
        .retry(|| async move {
            let current = if continuing {
                match ssm.get_parameter().name(name).send().await {
                    Ok(out) => out
                        .parameter()
                        .and_then(|p| p.value())
                        .and_then(|v| v.trim().parse::<u64>().ok())
                        .unwrap_or(0),
                    Err(e)
                        if e.as_service_error()
                            .is_some_and(|s| s.is_parameter_not_found()) =>
                    {
                        0
                    }
                    Err(e) => return Err(sdk_error("GetParameter", &e)),
                }
            } else {
                0
            };
            ssm.put_parameter()
                .name(name)
                .value((current + placed).to_string())
                .r#type(aws_sdk_ssm::types::ParameterType::String)
                .overwrite(true)
                .send()
                .await
                .map_err(|e| sdk_error("PutParameter", &e))?;
            Ok(())
        })
        .await;
    if let Err(e) = result {
        tracing::warn!(parameter = %name, error = %e, "dialIndex not updated");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::operation::get_item::GetItemOutput;
    use aws_sdk_dynamodb::operation::put_item::{PutItemError, PutItemOutput};
    use aws_sdk_dynamodb::types::error::ConditionalCheckFailedException;
    use aws_sdk_sfn::operation::describe_execution::{
        DescribeExecutionError, DescribeExecutionOutput,
    };
    use aws_sdk_sfn::types::error::ExecutionDoesNotExist;
    use aws_sdk_sfn::types::ExecutionStatus;
    use aws_sdk_ssm::operation::get_parameter::GetParameterOutput;
    use aws_sdk_ssm::operation::get_parameters_by_path::GetParametersByPathOutput;
    use aws_sdk_ssm::operation::put_parameter::PutParameterOutput;
    use aws_sdk_ssm::types::Parameter;
    use aws_smithy_mocks::{mock, Rule};
    use outbound_core::config::MAX_LANES;
    use outbound_core::error::ErrorName;
    use outbound_core::mocked;
    use serde_json::json;
    use std::sync::{Arc, Mutex};

    const PREFIX: &str = "/connect/blaster/test/";
    const EXEC: &str =
        "arn:aws:states:eu-west-2:123456789012:execution:blaster-dialer:csv-spring-abc";
    const NOW: &str = "2024-05-01T09:00:00Z";

    fn env(max: u32) -> Env {
        Env {
            ssm_prefix: PREFIX.into(),
            table_name: "active-dialing".into(),
            history_budget: 8_000,
            max_concurrent_calls: max,
            attempts: outbound_core::ledger::FinisherEnv {
                ledger: outbound_core::ledger::CampaignLedgerEnv {
                    table_name: "ledger".into(),
                },
                rules: Default::default(),
                final_retention_days: None,
            },
            results_bucket: "b".into(),
            queue_url: "q".into(),
            lease_seconds: 3600,
            calling_window: None,
            frequency_cap: None,
        }
    }

    fn params(concurrent: &str, active: &str) -> Vec<(String, String)> {
        [
            ("connectid", "11111111-2222-3333-4444-555555555555"),
            ("contactflow", "66666666-7777-8888-9999-000000000000"),
            ("queue", "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"),
            ("countrycode", "44"),
            ("isocountrycode", "GB"),
            ("concurrentcalls", concurrent),
            ("timeOut", "120"),
            ("callspersecond", "2"),
            ("ResultsBucket", "results"),
            ("activeBlaster", active),
            ("dialIndex", "10"),
            ("table-activedialing", "active-dialing"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    fn ssm_rules(p: Vec<(String, String)>, puts: Arc<Mutex<Vec<String>>>) -> Vec<Rule> {
        let by_path = mock!(aws_sdk_ssm::Client::get_parameters_by_path).then_output(move || {
            let mut b = GetParametersByPathOutput::builder();
            for (k, v) in &p {
                b = b.parameters(
                    Parameter::builder()
                        .name(format!("{PREFIX}{k}"))
                        .value(v)
                        .build(),
                );
            }
            b.build()
        });
        let get = mock!(aws_sdk_ssm::Client::get_parameter).then_output(|| {
            GetParameterOutput::builder()
                .parameter(Parameter::builder().value("10").build())
                .build()
        });
        let put = mock!(aws_sdk_ssm::Client::put_parameter).then_compute_output(move |r| {
            puts.lock()
                .unwrap()
                .push(format!("{}={}", r.name().unwrap(), r.value().unwrap()));
            PutParameterOutput::builder().build()
        });
        vec![by_path, get, put]
    }

    /// The RUN item as the table holds it, and the puts made against it.
    #[derive(Default)]
    struct Table {
        item: Option<HashMap<String, AttributeValue>>,
        puts: Vec<(String, HashMap<String, AttributeValue>)>,
    }

    /// A small in-memory table that evaluates the two conditions get-config uses.
    fn table_rules(table: Arc<Mutex<Table>>) -> Vec<Rule> {
        let t = table.clone();
        let put = mock!(aws_sdk_dynamodb::Client::put_item).then_compute_response(move |r| {
            let mut t = t.lock().unwrap();
            let cond = r.condition_expression().unwrap().to_string();
            let values = r.expression_attribute_values().unwrap();
            let current = t.item.clone();
            let field = |k: &str| current.as_ref().and_then(|i| i.get(k)).cloned();
            let ok = if cond.starts_with("attribute_not_exists(pk)") {
                current.is_none() || field("runId") == values.get(":runId").cloned()
            } else {
                current.is_some()
                    && field("runId") == values.get(":heldRun").cloned()
                    && field("execution") == values.get(":heldExecution").cloned()
            };
            t.puts.push((cond, r.item().unwrap().clone()));
            if ok {
                t.item = Some(r.item().unwrap().clone());
                aws_smithy_mocks::MockResponse::Output(PutItemOutput::builder().build())
            } else {
                aws_smithy_mocks::MockResponse::Error(
                    PutItemError::ConditionalCheckFailedException(
                        ConditionalCheckFailedException::builder().build(),
                    ),
                )
            }
        });
        let t = table.clone();
        let get = mock!(aws_sdk_dynamodb::Client::get_item).then_compute_output(move |r| {
            assert_eq!(r.consistent_read(), Some(true));
            GetItemOutput::builder()
                .set_item(t.lock().unwrap().item.clone())
                .build()
        });
        vec![put, get]
    }

    fn held(run: &str, execution: &str, wave: u32) -> HashMap<String, AttributeValue> {
        HashMap::from([
            ("pk".to_string(), AttributeValue::S("RUN".into())),
            ("runId".to_string(), AttributeValue::S(run.into())),
            ("execution".to_string(), AttributeValue::S(execution.into())),
            ("wave".to_string(), AttributeValue::N(wave.to_string())),
        ])
    }

    fn describe_rule(statuses: Vec<(&'static str, Option<ExecutionStatus>)>) -> Rule {
        mock!(aws_sdk_sfn::Client::describe_execution).then_compute_response(move |r| {
            let arn = r.execution_arn().unwrap();
            match statuses.iter().find(|(a, _)| *a == arn) {
                Some((_, Some(status))) => aws_smithy_mocks::MockResponse::Output(
                    DescribeExecutionOutput::builder()
                        .execution_arn(arn)
                        .state_machine_arn("sm")
                        .status(status.clone())
                        .start_date(aws_smithy_types::DateTime::from_secs(0))
                        .build()
                        .unwrap(),
                ),
                _ => aws_smithy_mocks::MockResponse::Error(
                    DescribeExecutionError::ExecutionDoesNotExist(
                        ExecutionDoesNotExist::builder().build(),
                    ),
                ),
            }
        })
    }

    struct World {
        clients: Clients,
        table: Arc<Mutex<Table>>,
        ssm_puts: Arc<Mutex<Vec<String>>>,
        rules: Vec<Rule>,
    }

    fn world(
        p: Vec<(String, String)>,
        item: Option<HashMap<String, AttributeValue>>,
        describe: Rule,
    ) -> World {
        let table = Arc::new(Mutex::new(Table { item, puts: vec![] }));
        let ssm_puts = Arc::new(Mutex::new(vec![]));
        let s = ssm_rules(p, ssm_puts.clone());
        let t = table_rules(table.clone());
        World {
            clients: Clients {
                ssm: mocked!(aws_sdk_ssm, [&s[0], &s[1], &s[2]]),
                ddb: mocked!(aws_sdk_dynamodb, [&t[0], &t[1]]),
                sfn: mocked!(aws_sdk_sfn, [&describe]),
                feeder: empty_feeder(),
            },
            table,
            ssm_puts,
            rules: vec![t[0].clone(), describe],
        }
    }

    /// A feeder over an empty ledger and an empty queue (the feeder's own tests run against
    /// moto: tests/feeder_moto.rs).
    fn empty_feeder() -> crate::feeder::Feeder {
        use aws_sdk_sqs::operation::get_queue_attributes::GetQueueAttributesOutput;
        let log = outbound_core::testkit::Log::default();
        let table = outbound_core::testkit::FakeTable::new(&log);
        let attributes = mock!(aws_sdk_sqs::Client::get_queue_attributes)
            .then_output(|| GetQueueAttributesOutput::builder().build());
        let attempts = outbound_core::ledger::Finisher {
            ledger: outbound_core::ledger::CampaignLedger {
                dynamodb: table.client(),
                table_name: "ledger".into(),
                final_retention: None,
            },
            rules: Default::default(),
        };
        crate::feeder::Feeder {
            results: outbound_core::completion::Ledger {
                dynamodb: table.client(),
                s3: mocked!(aws_sdk_s3, []),
                table_name: "t".into(),
                results_bucket: "b".into(),
                finisher: None,
            },
            attempts,
            connect: mocked!(aws_sdk_connect, []),
            sqs: mocked!(aws_sdk_sqs, [&attributes]),
            queue_url: "q".into(),
            lease: chrono::Duration::hours(1),
            window: None,
            cap: None,
            close_per_feeding: crate::feeder::CLOSE_PER_FEEDING,
        }
    }

    fn input(v: Value) -> Input {
        serde_json::from_value(v).unwrap()
    }

    #[tokio::test]
    async fn a_new_run_claims_and_gets_its_lanes() {
        let w = world(params("4", "True"), None, describe_rule(vec![]));
        let out = handle(
            &w.clients,
            &env(40),
            RetryPolicy::immediate(3),
            NOW,
            input(json!({"execution": EXEC, "source": "csv:x", "campaign": "spring"})),
        )
        .await
        .unwrap();
        assert!(out.claimed && out.active);
        assert_eq!(out.run_id, "csv-spring-abc");
        assert_eq!(out.wave, 1);
        assert_eq!(out.lane_budget, 250);
        assert_eq!(out.timeout_seconds, 120);
        let v = serde_json::to_value(&out).unwrap();
        assert_eq!(v["lanes"].as_array().unwrap().len(), 4);
        assert_eq!(
            v["lanes"][0],
            json!({"runId": "csv-spring-abc", "lane": 1, "calls": 0, "budget": 1000, "timeoutSeconds": 120,
                   "wave": 1, "waveBudget": 1000})
        );
        // The wave's 4 × 250 calls are shared: every lane may place all of them.
        assert_eq!(
            (out.wave_budget, v["waveBudget"].clone()),
            (1000, json!(1000))
        );
        assert_eq!(
            v["config"]["connectId"],
            "11111111-2222-3333-4444-555555555555"
        );
        assert_eq!(v["laneBudget"], 250);
        assert!(v.get("heldBy").is_none());
        let item = w.table.lock().unwrap().item.clone().unwrap();
        assert_eq!(item["runId"].as_s().unwrap(), "csv-spring-abc");
        assert_eq!(item["execution"].as_s().unwrap(), EXEC);
        assert_eq!(item["claimedAt"].as_s().unwrap(), NOW);
        assert_eq!(item["wave"].as_n().unwrap(), "1");
        // A new run starts counting its calls from zero.
        assert_eq!(
            *w.ssm_puts.lock().unwrap(),
            vec![format!("{PREFIX}dialIndex=0")]
        );
    }

    #[tokio::test]
    async fn lanes_are_clamped_and_budgeted() {
        let w = world(params("60", "True"), None, describe_rule(vec![]));
        let out = handle(
            &w.clients,
            &env(40),
            RetryPolicy::immediate(3),
            NOW,
            input(json!({"execution": EXEC})),
        )
        .await
        .unwrap();
        assert_eq!(out.lanes.len(), 40);
        assert_eq!(out.lane_budget, 25);
        assert_eq!(
            out.config.concurrent_calls, 60,
            "the config shows what the operator wrote"
        );
        assert_eq!(out.lanes.last().unwrap().lane, 40);
    }

    #[tokio::test]
    async fn a_live_run_is_joined_not_claimed() {
        let other = "arn:aws:states:eu-west-2:123456789012:execution:blaster-dialer:other";
        let w = world(
            params("4", "True"),
            Some(held("other", other, 1)),
            describe_rule(vec![(other, Some(ExecutionStatus::Running))]),
        );
        let out = handle(
            &w.clients,
            &env(40),
            RetryPolicy::immediate(3),
            NOW,
            input(json!({"execution": EXEC})),
        )
        .await
        .unwrap();
        assert!(!out.claimed);
        assert!(out.lanes.is_empty());
        assert_eq!(out.held_by.as_deref(), Some(other));
        assert_eq!(
            w.table.lock().unwrap().item.clone().unwrap()["runId"]
                .as_s()
                .unwrap(),
            "other"
        );
        assert!(w.ssm_puts.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_stale_claim_is_taken_over_conditionally() {
        let dead = "arn:aws:states:eu-west-2:123456789012:execution:blaster-dialer:dead";
        let w = world(
            params("2", "True"),
            Some(held("dead", dead, 3)),
            describe_rule(vec![(dead, Some(ExecutionStatus::Failed))]),
        );
        let out = handle(
            &w.clients,
            &env(40),
            RetryPolicy::immediate(3),
            NOW,
            input(json!({"execution": EXEC})),
        )
        .await
        .unwrap();
        assert!(out.claimed);
        assert_eq!(out.took_over.as_deref(), Some(dead));
        let t = w.table.lock().unwrap();
        assert_eq!(t.item.clone().unwrap()["execution"].as_s().unwrap(), EXEC);
        assert_eq!(t.puts.len(), 2);
        assert_eq!(
            t.puts[1].0,
            "#runId = :heldRun AND #execution = :heldExecution"
        );
    }

    #[tokio::test]
    async fn a_claim_whose_execution_is_gone_is_stale() {
        let gone = "arn:aws:states:eu-west-2:123456789012:execution:blaster-dialer:gone";
        let w = world(
            params("2", "True"),
            Some(held("gone", gone, 1)),
            describe_rule(vec![]),
        );
        let out = handle(
            &w.clients,
            &env(40),
            RetryPolicy::immediate(3),
            NOW,
            input(json!({"execution": EXEC})),
        )
        .await
        .unwrap();
        assert!(out.claimed);
    }

    #[tokio::test]
    async fn a_run_handed_to_its_next_wave_is_alive_while_that_wave_runs() {
        let wave3 = "arn:aws:states:eu-west-2:123456789012:execution:blaster-dialer:r1-w3";
        let wave4 = "arn:aws:states:eu-west-2:123456789012:execution:blaster-dialer:r1-w4";
        let w = world(
            params("2", "True"),
            Some(held("r1", wave3, 3)),
            describe_rule(vec![
                (wave3, Some(ExecutionStatus::Succeeded)),
                (wave4, Some(ExecutionStatus::Running)),
            ]),
        );
        let out = handle(
            &w.clients,
            &env(40),
            RetryPolicy::immediate(3),
            NOW,
            input(json!({"execution": EXEC})),
        )
        .await
        .unwrap();
        assert!(!out.claimed);
        assert_eq!(w.rules[1].num_calls(), 2);

        // The next wave never started (or has ended): the claim is stale.
        let w = world(
            params("2", "True"),
            Some(held("r1", wave3, 3)),
            describe_rule(vec![(wave3, Some(ExecutionStatus::Succeeded))]),
        );
        let out = handle(
            &w.clients,
            &env(40),
            RetryPolicy::immediate(3),
            NOW,
            input(json!({"execution": EXEC})),
        )
        .await
        .unwrap();
        assert!(out.claimed);
    }

    #[tokio::test]
    async fn the_next_wave_keeps_the_run_and_counts_the_calls() {
        let wave1 = "arn:aws:states:eu-west-2:123456789012:execution:blaster-dialer:r1";
        let wave2 = "arn:aws:states:eu-west-2:123456789012:execution:blaster-dialer:r1-w2";
        let w = world(
            params("3", "True"),
            Some(held("r1", wave1, 1)),
            describe_rule(vec![]),
        );
        let out = handle(
            &w.clients,
            &env(40),
            RetryPolicy::immediate(3),
            NOW,
            input(json!({"runId": "r1", "wave": 2, "laneCalls": [5, 7, 3], "execution": wave2})),
        )
        .await
        .unwrap();
        assert!(out.claimed);
        assert_eq!((out.run_id.as_str(), out.wave), ("r1", 2));
        assert!(out.lanes.iter().all(|l| l.run_id == "r1" && l.calls == 0));
        let t = w.table.lock().unwrap();
        assert_eq!(t.puts.len(), 1, "no stale check needed for the same run");
        assert_eq!(t.item.clone().unwrap()["execution"].as_s().unwrap(), wave2);
        assert_eq!(t.item.clone().unwrap()["wave"].as_n().unwrap(), "2");
        // dialIndex was 10: plus 15 calls of wave 1.
        assert_eq!(
            *w.ssm_puts.lock().unwrap(),
            vec![format!("{PREFIX}dialIndex=25")]
        );
        assert_eq!(w.rules[1].num_calls(), 0);
    }

    #[tokio::test]
    async fn the_stop_switch_claims_without_lanes() {
        let w = world(params("3", "False"), None, describe_rule(vec![]));
        let out = handle(
            &w.clients,
            &env(40),
            RetryPolicy::immediate(3),
            NOW,
            input(json!({"execution": EXEC})),
        )
        .await
        .unwrap();
        assert!(out.claimed);
        assert!(!out.active);
        assert!(out.lanes.is_empty());
    }

    #[tokio::test]
    async fn a_configuration_error_leaves_no_claim() {
        let mut p = params("3", "True");
        p.retain(|(k, _)| k != "timeOut");
        let w = world(p, None, describe_rule(vec![]));
        let err = handle(
            &w.clients,
            &env(40),
            RetryPolicy::immediate(3),
            NOW,
            input(json!({"execution": EXEC})),
        )
        .await
        .unwrap_err();
        assert_eq!(err.name, ErrorName::ConfigError);
        assert!(
            err.message.contains("/connect/blaster/test/timeOut"),
            "{}",
            err.message
        );
        assert_eq!(w.rules[0].num_calls(), 0, "no claim attempted");
        assert!(w.table.lock().unwrap().item.is_none());
    }

    #[tokio::test]
    async fn a_throttled_status_check_is_throttled_not_stale() {
        let other = "arn:aws:states:eu-west-2:123456789012:execution:blaster-dialer:other";
        let throttled = mock!(aws_sdk_sfn::Client::describe_execution).then_error(|| {
            DescribeExecutionError::generic(
                aws_smithy_types::error::ErrorMetadata::builder()
                    .code("ThrottlingException")
                    .build(),
            )
        });
        let w = world(
            params("2", "True"),
            Some(held("other", other, 1)),
            throttled,
        );
        let err = handle(
            &w.clients,
            &env(40),
            RetryPolicy::immediate(2),
            NOW,
            input(json!({"execution": EXEC})),
        )
        .await
        .unwrap_err();
        assert_eq!(err.name, ErrorName::Throttled);
        assert_eq!(
            w.table.lock().unwrap().item.clone().unwrap()["runId"]
                .as_s()
                .unwrap(),
            "other"
        );
    }

    #[tokio::test]
    async fn the_largest_wave_fits_the_step_functions_payload_limit() {
        // Step Functions caps a state's input and output at 256 KiB. The largest wave: every
        // lane the module allows, a run id of the longest form, and the Map's output of one
        // result per lane (the "Lane Failed" shape is the longest).
        const LIMIT: usize = 256 * 1024;
        let longest = new_run_id(&format!(
            "arn:aws:states:r:1:execution:sm:{}",
            "x".repeat(80)
        ));
        let exec = format!(
            "arn:aws:states:eu-west-2:123456789012:execution:blaster-dialer:{longest}-w99999"
        );
        let w = world(
            params("100000", "True"),
            Some(held(&longest, &exec, 99_998)),
            describe_rule(vec![]),
        );
        let out = handle(
            &w.clients,
            &env(MAX_LANES),
            RetryPolicy::immediate(3),
            NOW,
            input(json!({"runId": longest, "wave": 99_999, "laneCalls": [], "execution": exec})),
        )
        .await
        .unwrap();
        assert_eq!(out.lanes.len(), MAX_LANES as usize);
        let output = serde_json::to_vec(&out).unwrap().len();
        let lane_result = json!({"lane": MAX_LANES, "calls": 99_999, "stop": "LaneFailed",
                                 "error": "States.ExceedToleratedFailureThreshold"});
        let map_output = (serde_json::to_vec(&lane_result).unwrap().len() + 1) * MAX_LANES as usize;
        // Keep a quarter of the limit for what the state carries besides the lanes.
        assert!(
            output < LIMIT * 3 / 4,
            "get-config's output is {output} bytes for {MAX_LANES} lanes"
        );
        assert!(
            map_output < LIMIT * 3 / 4,
            "the Map's output is {map_output} bytes"
        );
    }

    #[tokio::test]
    async fn only_the_runs_own_next_wave_may_continue_it() {
        let sm = "arn:aws:states:eu-west-2:123456789012:execution:blaster-dialer";
        for (given, why) in [
            // A copied input started by hand: the name is not the run's next wave.
            (
                json!({"runId": "r1", "wave": 2, "execution": format!("{sm}:manual-1")}),
                "next wave",
            ),
            (
                json!({"runId": "r1", "wave": 3, "execution": format!("{sm}:r1-w2")}),
                "next wave",
            ),
            (
                json!({"runId": "r1", "wave": 1, "execution": format!("{sm}:r1-w1")}),
                "wave 2",
            ),
            (
                json!({"runId": "r1 x", "wave": 2, "execution": format!("{sm}:r1 x-w2")}),
                "letters",
            ),
            (
                json!({"runId": "r".repeat(65), "wave": 2, "execution": format!("{sm}:x")}),
                "letters",
            ),
        ] {
            // No rule: a claim attempt fails the test.
            let w = world(params("3", "True"), None, describe_rule(vec![]));
            let err = handle(
                &w.clients,
                &env(40),
                RetryPolicy::immediate(3),
                NOW,
                input(given.clone()),
            )
            .await
            .unwrap_err();
            assert_eq!(err.name, ErrorName::InvalidInput, "{given}");
            assert!(err.message.contains(why), "{given}: {}", err.message);
            assert!(w.table.lock().unwrap().puts.is_empty(), "{given}: claimed");
        }
    }

    #[test]
    fn run_ids_fit_the_wave_execution_names() {
        assert_eq!(new_run_id(EXEC), "csv-spring-abc");
        assert_eq!(new_run_id("plain-name"), "plain-name");
        assert_eq!(
            new_run_id("arn:aws:states:r:1:execution:sm:run.1 (retry)"),
            "run_1__retry_"
        );
        let long = format!("arn:aws:states:r:1:execution:sm:{}", "x".repeat(80));
        let id = new_run_id(&long);
        assert_eq!(id.len(), MAX_RUN_ID_LEN);
        assert_ne!(
            id,
            new_run_id(&format!(
                "arn:aws:states:r:1:execution:sm:{}y",
                "x".repeat(79)
            ))
        );
        // "<runId>-w<wave>" stays within Step Functions' 80 characters.
        assert!(format!("{id}-w99999").len() <= 80);
        assert_eq!(
            sibling_execution(EXEC, "r-w2").unwrap(),
            "arn:aws:states:eu-west-2:123456789012:execution:blaster-dialer:r-w2"
        );
        assert_eq!(sibling_execution("not-an-arn", "x"), None);
    }

    #[test]
    fn input_needs_the_execution() {
        assert!(serde_json::from_value::<Input>(json!({"runId": "r"})).is_err());
        let i = input(json!({"execution": "e", "laneCalls": [1, null, 2]}));
        assert_eq!(i.lane_calls.len(), 3);
    }
}
