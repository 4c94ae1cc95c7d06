//! load-list: an uploaded CSV → contacts in the campaign ledger, a reject report, and a campaign
//! run.
//!
//! For each `ObjectCreated` record of the S3 event (usually one): the object is streamed from S3
//! through the CSV reader (never held whole), valid contacts are admitted into the campaign
//! ledger (one conditional put each: a contact the campaign already holds is a duplicate),
//! rejected rows go to `rejects/campaign=<campaign>/<object>.jsonl` in the results bucket,
//! `totalRecords` grows by the number admitted, and the campaign's execution is started (or the
//! running one joined); its feeder moves due contacts from the ledger to the lanes' queue.
//!
//! The campaign is the object's metadata `campaign`, else its key prefix `campaigns/<id>/`, else
//! the file's stem; the object's metadata `redial` overrides the deployment's redial rules for
//! the file's contacts, and its metadata `schedule` sets the campaign's start and end
//! (`outbound_core::ledger::schedule`; docs/architecture.md, "The campaign id").
//!
//! Failure behaviour:
//! - a file without `custID`/`phone` is refused whole: its report says why, nothing is queued;
//! - an S3 stream that breaks mid-file is resumed from the byte where it broke (ranged
//!   `GetObject` pinned to the object's ETag), so a long download does not restart the file;
//! - the ledger unreachable after the retries fails the invocation (`Retryable`/`Throttled`):
//!   S3's asynchronous invocation retries it. The file is then read again from the start (a
//!   continuation: from its checkpoint); the contacts admitted before the failure answer
//!   "already present" and are not admitted twice.
//!
//! Do-not-call lists: an object under `dnc/` is a list of numbers not to call, loaded by
//! [`crate::dnc_list`] instead.
//!
//! Big files: an invocation whose time is running out stops at a row boundary and hands the rest
//! of the file to its next invocation ([`crate::continuation`]); the handler accepts that
//! `{"continuation": …}` event besides the S3 event.

use crate::continuation::{
    segment_report_key, Checkpoint, ContinuationEvent, Handover, StopRule, Totals,
    DEFAULT_HANDOVER_MARGIN, DEFAULT_MAX_SEGMENT_CONTACTS,
};
use crate::csv_intake::{
    campaign_from_key, campaign_of_object, AsyncCsvReader, CsvOptions, FileError, IntakeCounts,
    RowOutcome,
};
use crate::env::Env;
use crate::intake_checks::{IntakeChecks, CHECK_BATCH};
use crate::plan::{describe_cap, Capacity, FileCounts, Plan, PlanInput, PlanTally};
use outbound_core::config::read_default_region;
use outbound_core::error::FunctionError;
use outbound_core::intake::admitter::{DueContact, LedgerAdmitter, DEFAULT_ADMIT_IN_FLIGHT};
use outbound_core::intake::report::RejectWriter;
use outbound_core::intake::run::{add_total_records, execution_name, start_or_join_run, RunInput};
use outbound_core::intake::{sdk_error, RetryPolicy};
use outbound_core::ledger::schedule::{self, CampaignSchedule};
use outbound_core::ledger::{campaigns, CampaignLedger, ContactState, RedialRules};
use outbound_core::records::{plan_object_key, reject_object_key, RejectRecord};
use phonenumber::country;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The AWS clients the function uses, and the contact keyer derived through KMS: built once.
#[derive(Debug, Clone)]
pub struct Clients {
    pub s3: aws_sdk_s3::Client,
    /// The campaign ledger contacts are admitted into.
    pub ledger: CampaignLedger,
    pub ssm: aws_sdk_ssm::Client,
    pub sfn: aws_sdk_sfn::Client,
    pub keyer: outbound_core::contact_key::ContactKeyer,
    /// Starts the next invocation of a big file ([`crate::continuation::LambdaHandover`]).
    pub handover: Arc<dyn Handover>,
}

/// Knobs that tests turn down.
#[derive(Debug, Clone, Copy)]
pub struct Tuning {
    pub policy: RetryPolicy,
    pub max_in_flight: usize,
    pub report_part_bytes: usize,
    /// Time kept back from the invocation's deadline to finish a segment and hand the rest over
    /// (`HANDOVER_MARGIN_SECONDS`).
    pub handover_margin: Duration,
    /// Contacts one invocation accepts at most before it hands the rest over.
    pub max_segment_contacts: u64,
}

impl Default for Tuning {
    fn default() -> Self {
        Tuning {
            policy: RetryPolicy::DEFAULT,
            max_in_flight: DEFAULT_ADMIT_IN_FLIGHT,
            report_part_bytes: outbound_core::intake::report::PART_BYTES,
            handover_margin: DEFAULT_HANDOVER_MARGIN,
            max_segment_contacts: DEFAULT_MAX_SEGMENT_CONTACTS,
        }
    }
}

/// What became of one uploaded object.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectResult {
    /// The object key.
    pub object: String,
    /// The file's campaign.
    pub campaign: String,
    /// Which part of the file this invocation read: 1 from the upload's event, `n` for the
    /// `n-1`th continuation (0: nothing was read). The counts are the file's so far, all
    /// segments up to this one.
    pub segment: u32,
    /// Contacts admitted into the campaign (new to it).
    pub queued: u64,
    /// Rows rejected (with a reason in the report), including rows the ledger refused.
    pub rejected: u64,
    /// Rows repeating a contact: within the file, or already in the campaign (an earlier or
    /// overlapping file, or this file again).
    pub duplicates: u64,
    /// The execution started or joined; `None` when nothing was queued.
    pub execution: Option<String>,
    /// Key of this segment's reject report in the results bucket.
    pub reject_report: Option<String>,
    /// Why the file was not loaded at all (refused header, object gone), or not to its end (the
    /// object changed or vanished between segments).
    pub error: Option<String>,
    /// Where the next invocation goes on, when this one handed the rest of the file over.
    pub continues_at: Option<ContinuesAt>,
    /// The file is a dry run (object metadata `dry-run: true`): nothing was admitted.
    pub dry_run: bool,
    /// Contacts of the file on the do-not-call list (made final `dnc` at intake, unless a dry
    /// run), so far.
    pub dnc: u64,
    /// Key of the plan report (JSON; the text beside it), once the file's last segment is read.
    pub plan: Option<String>,
}

/// Where a continuation starts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ContinuesAt {
    pub segment: u32,
    /// The file's line of the next unread row (or of the blank lines before it).
    pub line: u64,
    pub offset: u64,
}

#[derive(Debug, Deserialize)]
struct S3Event {
    #[serde(rename = "Records", default)]
    records: Vec<S3Record>,
}

#[derive(Debug, Deserialize)]
struct S3Record {
    #[serde(rename = "eventName", default)]
    event_name: String,
    s3: S3Entity,
}

#[derive(Debug, Deserialize)]
struct S3Entity {
    bucket: S3Bucket,
    object: S3Object,
}

#[derive(Debug, Deserialize)]
struct S3Bucket {
    name: String,
}

#[derive(Debug, Deserialize)]
struct S3Object {
    key: String,
    #[serde(default)]
    sequencer: Option<String>,
    #[serde(rename = "eTag", default)]
    e_tag: Option<String>,
}

/// Decodes an S3 event key: the event URL-encodes keys (`+` for a space, `%XX` for a byte).
pub fn decode_key(raw: &str) -> Result<String, FunctionError> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out)
        .map_err(|_| FunctionError::invalid_input("S3 event key is not UTF-8 once decoded"))
}

/// Handles one S3 event (or continuation) without a deadline: see [`handle_until`].
pub async fn handle(
    clients: &Clients,
    env: &Env,
    tuning: &Tuning,
    event: Value,
) -> Result<Value, FunctionError> {
    handle_until(clients, env, tuning, event, None).await
}

/// Handles one S3 event: one record gives one [`ObjectResult`] object; several give an array in
/// record order. A `{"continuation": …}` event (a big file's next segment) gives one object.
/// With a `deadline` (the invocation's), a file not read by then less
/// [`Tuning::handover_margin`] is handed over to the next invocation.
pub async fn handle_until(
    clients: &Clients,
    env: &Env,
    tuning: &Tuning,
    event: Value,
    deadline: Option<Instant>,
) -> Result<Value, FunctionError> {
    if event.get("continuation").is_some() {
        let event: ContinuationEvent = serde_json::from_value(event)
            .map_err(|e| FunctionError::invalid_input(format!("not a continuation: {e}")))?;
        let next = event.continuation;
        if let Some(refusal) = refuse_source(env, &next.bucket, &next.key) {
            tracing::warn!(bucket = %next.bucket, reason = refusal, "continuation refused");
            let result = ObjectResult {
                object: next.key,
                error: Some(refusal.to_string()),
                ..ObjectResult::default()
            };
            return Ok(serde_json::to_value(result).expect("result serialises"));
        }
        let region = read_default_region(&clients.ssm, &env.ssm_prefix).await?;
        let result = load_segment(
            clients,
            env,
            tuning,
            region,
            Start::Continue(Box::new(next)),
            deadline,
        )
        .await?;
        return Ok(serde_json::to_value(result).expect("result serialises"));
    }
    let event: S3Event = serde_json::from_value(event)
        .map_err(|e| FunctionError::invalid_input(format!("not an S3 event: {e}")))?;
    let records: Vec<&S3Record> = event
        .records
        .iter()
        .filter(|r| r.event_name.is_empty() || r.event_name.starts_with("ObjectCreated"))
        .collect();
    if records.is_empty() {
        tracing::info!("no ObjectCreated record in the event");
        return Ok(Value::Array(vec![]));
    }
    let region = read_default_region(&clients.ssm, &env.ssm_prefix).await?;
    let mut results = Vec::with_capacity(records.len());
    for record in records {
        let key = decode_key(&record.s3.object.key)?;
        if let Some(refusal) = refuse_source(env, &record.s3.bucket.name, &key) {
            // Only the input bucket's CSV files are contact lists: an event naming anything
            // else (a second notification, a forged invocation) loads nothing. Reported, not
            // an error, so an asynchronous invocation is not retried for it.
            tracing::warn!(bucket = %record.s3.bucket.name, reason = refusal, "object refused");
            results.push(ObjectResult {
                object: key,
                error: Some(refusal.to_string()),
                ..ObjectResult::default()
            });
            continue;
        }
        if crate::dnc_list::is_dnc_list(&key) {
            let result = crate::dnc_list::load_dnc_list(
                clients,
                env,
                tuning,
                region,
                &record.s3.bucket.name,
                &key,
            )
            .await?;
            results.push(result);
            continue;
        }
        let version = record
            .s3
            .object
            .sequencer
            .clone()
            .or_else(|| record.s3.object.e_tag.clone())
            .unwrap_or_default();
        let result = load_segment(
            clients,
            env,
            tuning,
            region,
            Start::Upload {
                bucket: record.s3.bucket.name.clone(),
                key,
                version,
            },
            deadline,
        )
        .await?;
        results.push(result);
    }
    let values: Vec<Value> = results
        .iter()
        .map(|r| serde_json::to_value(r).expect("result serialises"))
        .collect();
    Ok(if values.len() == 1 {
        values.into_iter().next().expect("one result")
    } else {
        Value::Array(values)
    })
}

/// The file's redial rules: the deployment's, with the object's metadata `redial` (a JSON
/// object of the `redial` variable's shape, any subset) applied. `Ok(None)`: no override.
/// Ends the load of a file refused from `line` on: a report holding that one line, and the
/// reason in the result.
async fn refuse_file(
    clients: &Clients,
    env: &Env,
    tuning: &Tuning,
    report: String,
    line: RejectRecord,
    why: String,
    mut result: ObjectResult,
) -> Result<ObjectResult, FunctionError> {
    let mut rejects = RejectWriter::new(clients.s3.clone(), &env.results_bucket, report)
        .with_policy(tuning.policy);
    rejects.push(&line).await?;
    result.reject_report = rejects.finish(true).await?;
    result.error = Some(why);
    Ok(result)
}

/// The file's campaign schedule: the object's metadata `schedule` (JSON `{"start": …, "end": …}`,
/// RFC 3339 times), which replaces the campaign's schedule. `Ok(None)`: the file sets none (the
/// campaign keeps the one it has, if any).
fn file_schedule(raw: Option<&str>) -> Result<Option<CampaignSchedule>, String> {
    raw.map(|raw| {
        CampaignSchedule::from_json(raw).map_err(|why| {
            format!("the object's schedule metadata is not a campaign schedule: {why}")
        })
    })
    .transpose()
}

/// The object's metadata `dry-run`: `true` plans the file without admitting it; `false` or
/// absent loads it.
fn file_dry_run(raw: Option<&str>) -> Result<bool, String> {
    match raw.map(|r| r.trim().to_ascii_lowercase()).as_deref() {
        None | Some("") | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(other) => Err(format!(
            "the object's dry-run metadata must be true or false, not {other:?}"
        )),
    }
}

/// The dialer's capacity for the plan: `concurrentcalls` (clamped to `MAX_CONCURRENT_CALLS`)
/// and `callspersecond`, read from SSM as the feeder and dial read them.
async fn read_capacity(clients: &Clients, env: &Env) -> Result<Capacity, FunctionError> {
    use outbound_core::config::names::{CALLS_PER_SECOND, CONCURRENT_CALLS};
    let params = outbound_core::config::get_parameters(
        &clients.ssm,
        &env.ssm_prefix,
        &[CONCURRENT_CALLS, CALLS_PER_SECOND],
    )
    .await?;
    let bad = |name: &str, expected: &str| {
        FunctionError::config(format!(
            "SSM parameter {}{name} must be {expected}",
            env.ssm_prefix
        ))
    };
    let lanes: u32 = params[CONCURRENT_CALLS]
        .trim()
        .parse()
        .ok()
        .filter(|n| *n >= 1)
        .ok_or_else(|| bad(CONCURRENT_CALLS, "a whole number >= 1"))?;
    let calls_per_second: f64 = params[CALLS_PER_SECOND]
        .trim()
        .parse()
        .ok()
        .filter(|n: &f64| n.is_finite() && *n > 0.0)
        .ok_or_else(|| bad(CALLS_PER_SECOND, "a number > 0"))?;
    Ok(Capacity {
        lanes: lanes.min(env.max_concurrent_calls),
        calls_per_second,
        assumed_handle_seconds: crate::plan::ASSUMED_HANDLE_SECONDS,
    })
}

/// Writes the file's plan report, JSON and text, beside each other under
/// `plans/campaign=<campaign>/` in the results bucket; returns the JSON's key.
#[allow(clippy::too_many_arguments)]
async fn write_plan(
    clients: &Clients,
    env: &Env,
    tuning: &Tuning,
    campaign: &str,
    key: &str,
    dry_run: bool,
    tally: &PlanTally,
    counts: FileCounts,
) -> Result<String, FunctionError> {
    let capacity = read_capacity(clients, env).await?;
    let plan = Plan::compute(
        tally,
        counts,
        &PlanInput {
            campaign,
            file: key,
            dry_run,
            now: chrono::Utc::now(),
            capacity,
            frequency_cap: env.frequency_cap.as_ref().map(describe_cap),
        },
    );
    let json_key = plan_object_key(campaign, key, "json");
    let mut json = serde_json::to_vec_pretty(&plan).expect("the plan serialises");
    json.push(b'\n');
    for (object, body, content_type) in [
        (
            plan_object_key(campaign, key, "txt"),
            plan.to_text().into_bytes(),
            "text/plain; charset=utf-8",
        ),
        // The JSON last: a reader waiting for it (`outbound upload --plan-only`) then finds both.
        (json_key.clone(), json, "application/json"),
    ] {
        tuning
            .policy
            .retry(|| async {
                clients
                    .s3
                    .put_object()
                    .bucket(&env.results_bucket)
                    .key(&object)
                    .content_type(content_type)
                    .body(body.clone().into())
                    .send()
                    .await
                    .map_err(|e| sdk_error("PutObject (plan)", &e))
            })
            .await?;
    }
    tracing::info!(
        key,
        campaign,
        plan = %json_key,
        dry_run,
        loaded = plan.loaded,
        dnc = plan.dnc_hits,
        callable_now = plan.callable_now,
        deferred = plan.deferred,
        capped = plan.capped,
        unreachable = plan.unreachable.total,
        "plan written"
    );
    Ok(json_key)
}

fn file_rules(deployment: &RedialRules, raw: Option<&str>) -> Result<Option<RedialRules>, String> {
    match raw.map(str::trim).filter(|r| !r.is_empty()) {
        None => Ok(None),
        Some(raw) => deployment.overridden_by(raw).map(Some).map_err(|why| {
            format!("the object's redial metadata is not valid redial rules: {why}")
        }),
    }
}

/// Why an object named by an event is not a contact list of this deployment, if it is not.
fn refuse_source(env: &Env, bucket: &str, key: &str) -> Option<&'static str> {
    if bucket != env.input_bucket {
        Some("not the input bucket")
    } else if !key.ends_with(".csv") {
        Some("not a .csv object")
    } else {
        None
    }
}

/// Loads one object; `version` (the event's sequencer or ETag) names the run start, so a
/// redelivered event joins the execution it already started. No deadline: the whole file.
pub async fn load_object(
    clients: &Clients,
    env: &Env,
    tuning: &Tuning,
    region: country::Id,
    bucket: &str,
    key: &str,
    version: &str,
) -> Result<ObjectResult, FunctionError> {
    let start = Start::Upload {
        bucket: bucket.to_string(),
        key: key.to_string(),
        version: version.to_string(),
    };
    load_segment(clients, env, tuning, region, start, None).await
}

/// What an invocation reads of a file.
enum Start {
    /// The upload's event: the file from its first byte.
    Upload {
        bucket: String,
        key: String,
        version: String,
    },
    /// A continuation: the rest of the file from a checkpoint.
    Continue(Box<Checkpoint>),
}

/// Reads one segment of a file: from its start (an upload) or from a checkpoint, until its end
/// or until the [`StopRule`] says to hand the rest over.
async fn load_segment(
    clients: &Clients,
    env: &Env,
    tuning: &Tuning,
    region: country::Id,
    start: Start,
    deadline: Option<Instant>,
) -> Result<ObjectResult, FunctionError> {
    use aws_sdk_s3::operation::get_object::GetObjectError;
    let (bucket, key, version) = match &start {
        Start::Upload {
            bucket,
            key,
            version,
        } => (bucket.clone(), key.clone(), version.clone()),
        Start::Continue(c) => (c.bucket.clone(), c.key.clone(), c.upload.clone()),
    };
    let (bucket, key, version) = (bucket.as_str(), key.as_str(), version.as_str());
    let (segment, before) = match &start {
        Start::Upload { .. } => (1, Totals::default()),
        Start::Continue(c) => (c.segment.max(2), c.totals),
    };
    let mut result = ObjectResult {
        object: key.to_string(),
        campaign: match &start {
            Start::Upload { .. } => campaign_from_key(key),
            Start::Continue(c) => c.campaign.clone(),
        },
        segment,
        queued: before.queued,
        rejected: before.rejected,
        duplicates: before.duplicates,
        ..Default::default()
    };
    let mut get = clients.s3.get_object().bucket(bucket).key(key);
    if let Start::Continue(c) = &start {
        // The rest of the same object: a replaced object (another ETag) answers 412. Read by
        // ETag, not versionId (which would need s3:GetObjectVersion): a new version of the key
        // is loaded by its own upload event.
        get = get
            .range(format!("bytes={}-", c.at.offset))
            .if_match(&c.etag);
    }
    let object = match get.send().await {
        Ok(o) => o,
        Err(e)
            if matches!(start, Start::Continue(_))
                && e.raw_response().map(|r| r.status().as_u16()) == Some(416) =>
        {
            // The checkpoint was the end of the object: nothing is left to read.
            aws_sdk_s3::operation::get_object::GetObjectOutput::builder()
                .body(aws_sdk_s3::primitives::ByteStream::from_static(b""))
                .build()
        }
        Err(e) => {
            let gone = matches!(e.as_service_error(), Some(GetObjectError::NoSuchKey(_)));
            let changed = e.raw_response().map(|r| r.status().as_u16()) == Some(412);
            if !gone && !changed {
                return Err(sdk_error("GetObject", &e));
            }
            let Start::Continue(c) = &start else {
                tracing::warn!(bucket, key, "object deleted before it could be loaded");
                result.error = Some("the object no longer exists".into());
                return Ok(result);
            };
            // Refused from the checkpoint on: what the segments before admitted stays, the
            // report of this segment says where the load stopped and why.
            let why = if gone {
                "the object was deleted"
            } else {
                "the object was replaced (its ETag changed)"
            };
            let why = format!(
                "{why} while it was being loaded: rows from line {} on were not loaded; upload the file again to load them",
                c.at.line
            );
            tracing::warn!(bucket, key, segment, reason = %why, "continuation refused");
            let report = segment_report_key(&reject_object_key(&c.campaign, key), segment);
            let line = RejectRecord {
                line: c.at.line,
                reason: format!("file rejected from this line on: {why}"),
                customer_key: None,
                phone_masked: None,
                source: key.to_string(),
            };
            return refuse_file(clients, env, tuning, report, line, why, result).await;
        }
    };
    // The file's schedule is stored once, by its first segment: continuations carry none.
    let (campaign, rules, file_schedule, dry_run) = match &start {
        Start::Continue(c) => (c.campaign.clone(), c.rules.clone(), None, c.dry_run),
        Start::Upload { .. } => {
            let metadata = object.metadata().cloned().unwrap_or_default();
            let settings = campaign_of_object(key, metadata.get("campaign").map(String::as_str))
                .and_then(|campaign| {
                    let rules = file_rules(&env.rules, metadata.get("redial").map(String::as_str))?;
                    let schedule = file_schedule(metadata.get("schedule").map(String::as_str))?;
                    let dry_run = file_dry_run(metadata.get("dry-run").map(String::as_str))?;
                    Ok((campaign, rules, schedule, dry_run))
                });
            match settings {
                Ok((campaign, rules, schedule, dry_run)) => (campaign, rules, schedule, dry_run),
                Err(why) => {
                    // Refused whole, before any row: the report (under the file's stem) says why.
                    tracing::warn!(bucket, key, reason = %why, "file refused");
                    let report = reject_object_key(&result.campaign, key);
                    let line = RejectRecord {
                        line: 1,
                        reason: format!("file rejected: {why}"),
                        customer_key: None,
                        phone_masked: None,
                        source: key.to_string(),
                    };
                    return refuse_file(clients, env, tuning, report, line, why, result).await;
                }
            }
        }
    };
    result.campaign = campaign.clone();
    let (etag, version_id) = match &start {
        Start::Continue(c) => (Some(c.etag.clone()), c.version_id.clone()),
        Start::Upload { .. } => (
            object.e_tag().map(str::to_string),
            object.version_id().map(str::to_string),
        ),
    };
    let opts = CsvOptions {
        campaign: campaign.clone(),
        object: key.to_string(),
        default_region: Some(region),
        destinations: env.destinations.clone(),
        keyer: clients.keyer.clone(),
        customer_id_optional: false,
    };
    let body = object.body.into_async_read();
    let mut reader = match &start {
        Start::Upload { .. } => AsyncCsvReader::new(body, opts),
        Start::Continue(c) => AsyncCsvReader::resume(body, opts, c.at.clone()),
    };
    let mut rejects = RejectWriter::new(
        clients.s3.clone(),
        &env.results_bucket,
        segment_report_key(&reject_object_key(&campaign, key), segment),
    )
    .with_policy(tuning.policy)
    .with_part_bytes(tuning.report_part_bytes);
    // The plan so far: a continuation carries it; the first segment starts it with the
    // campaign's schedule (the file's, else the one the campaign has).
    let tally = match &start {
        Start::Continue(c) => c.plan.clone(),
        Start::Upload { .. } => match file_schedule {
            Some(s) => PlanTally::new(Some(s)),
            None => PlanTally::new(
                tuning
                    .policy
                    .retry(|| schedule::read(&clients.ledger, &campaign))
                    .await?
                    .map(|stored| stored.schedule),
            ),
        },
    };
    let mut checks = IntakeChecks::new(
        clients.ledger.clone(),
        clients.s3.clone(),
        env.results_bucket.clone(),
        clients.keyer.clone(),
        env.calling_window.clone(),
        env.frequency_cap,
        dry_run,
        tuning.policy,
        tally,
    );
    if dry_run {
        tracing::info!(key, campaign = %campaign, segment, "dry run: the file is checked and planned, nothing admitted");
    } else {
        // Listed before the first admission, so a feeder looking for work finds the campaign.
        tuning
            .policy
            .retry(|| campaigns::register(&clients.ledger, &campaign, chrono::Utc::now()))
            .await?;
    }
    if let (Some(file_schedule), false) = (&file_schedule, dry_run) {
        // Before the first admission: no feeder sees the contacts without their schedule.
        let source = format!("file:{key}");
        tuning
            .policy
            .retry(|| {
                schedule::write(
                    &clients.ledger,
                    &campaign,
                    file_schedule,
                    &source,
                    chrono::Utc::now(),
                )
            })
            .await?;
        tracing::info!(campaign = %campaign, schedule = %file_schedule.to_json(), "campaign schedule set by the file");
    }
    let mut sender = LedgerAdmitter::new(clients.ledger.clone(), chrono::Utc::now(), rules.clone())
        .with_dnc_keys(clients.keyer.clone())
        .with_policy(tuning.policy)
        .with_max_in_flight(tuning.max_in_flight)
        .tracking();

    let mut refusal: Option<FileError> = None;
    let mut resumes = 0u32;
    let stop = StopRule::new(
        deadline,
        tuning.handover_margin,
        tuning.max_segment_contacts,
    );
    // Where the next invocation goes on, when this one stops before the end.
    let mut handed_over = None;
    loop {
        let so_far = reader.counts();
        if stop.stop_now(Instant::now(), so_far.rows, so_far.accepted) {
            if let Some(at) = reader.position() {
                handed_over = Some(at);
                break;
            }
        }
        match reader.next_row().await {
            Ok(Some(RowOutcome::Contact(contact))) if dry_run => {
                // Nothing is admitted: each contact the file would admit is checked as new.
                let due = DueContact {
                    contact,
                    new: true,
                    state: ContactState::Due,
                };
                if let Err(e) = checks.push(vec![due]).await {
                    rejects.abort().await;
                    return Err(e);
                }
            }
            Ok(Some(RowOutcome::Contact(contact))) => {
                if sender.push(contact, None).await.is_err() {
                    // The ledger is unreachable: stop reading, finish() reports what happened.
                    break;
                }
                if sender.due_waiting() >= CHECK_BATCH {
                    if let Err(e) = checks.push(sender.take_due()).await {
                        rejects.abort().await;
                        let _ = sender.finish().await;
                        return Err(e);
                    }
                }
            }
            Ok(Some(RowOutcome::Rejected(reject))) => {
                if let Err(e) = rejects.push(&reject).await {
                    rejects.abort().await;
                    let _ = sender.finish().await;
                    return Err(e);
                }
            }
            Ok(Some(RowOutcome::Duplicate { .. })) => {}
            Ok(None) => break,
            Err(FileError::Read(io)) => {
                resumes += 1;
                let offset = reader.bytes_read();
                if resumes >= tuning.policy.attempts.max(1) {
                    rejects.abort().await;
                    let _ = sender.finish().await;
                    return Err(FunctionError::retryable(format!(
                        "reading s3://{bucket}/{key} failed at byte {offset} after {resumes} attempts: {io}"
                    )));
                }
                tracing::warn!(bucket, key, offset, error = %io, "S3 stream broke: resuming");
                tuning.policy.wait(resumes).await;
                let mut again = clients
                    .s3
                    .get_object()
                    .bucket(bucket)
                    .key(key)
                    .range(format!("bytes={offset}-"));
                if let Some(tag) = &etag {
                    // The rest must come from the same object version as the beginning.
                    again = again.if_match(tag);
                }
                match again.send().await {
                    Ok(o) => reader.replace_source(o.body.into_async_read()),
                    Err(e) => {
                        rejects.abort().await;
                        let _ = sender.finish().await;
                        let err = sdk_error("GetObject (resume)", &e);
                        return Err(FunctionError::retryable(format!(
                            "reading s3://{bucket}/{key} could not resume at byte {offset}: {}",
                            err.message
                        )));
                    }
                }
            }
            Err(refused) => {
                refusal = Some(refused);
                break;
            }
        }
    }
    let counts: IntakeCounts = reader.counts();

    // The admissions still in flight, then the checks of every contact they answered for.
    sender.drain().await;
    let checked = checks.push(sender.take_due()).await;
    let checked = match checked {
        Ok(()) => checks.finish().await,
        Err(e) => Err(e),
    };
    if let Err(e) = checked {
        rejects.abort().await;
        let _ = sender.finish().await;
        return Err(e);
    }
    let summary = match sender.finish().await {
        Ok(summary) => summary,
        Err(abort) => {
            rejects.abort().await;
            tracing::error!(
                key,
                admitted = abort.admitted,
                not_admitted = abort.unsent.len(),
                "campaign ledger unreachable: the file will be loaded again by the invocation's retry"
            );
            return Err(FunctionError::new(
                abort.error.name,
                format!(
                    "{} after {} contacts of s3://{bucket}/{key} were admitted",
                    abort.error.message, abort.admitted
                ),
            ));
        }
    };
    for failed in &summary.failed {
        rejects
            .push(&RejectRecord {
                line: failed.origin.line,
                reason: failed.reason.clone(),
                customer_key: Some(failed.origin.customer_key.clone()),
                phone_masked: Some(failed.origin.phone_masked.clone()),
                source: key.to_string(),
            })
            .await?;
    }
    if let Some(refused) = &refusal {
        rejects.push(&refused.reject_record(key)).await?;
        result.error = Some(refused.to_string());
    }
    // Always written, even empty: a file uploaded again without rejects replaces its old report.
    result.reject_report = rejects.finish(true).await?;
    let totals = Totals {
        rows: before.rows + counts.rows,
        queued: before.queued + summary.admitted,
        rejected: before.rejected + counts.rejected + summary.failed.len() as u64,
        duplicates: before.duplicates + counts.duplicates + summary.already_present,
    };
    result.queued = totals.queued;
    result.rejected = totals.rejected;
    result.duplicates = totals.duplicates;
    result.dry_run = dry_run;
    result.dnc = checks.tally.dnc;
    if handed_over.is_none() || refusal.is_some() {
        // The file's last segment: its plan, before its run starts (docs/architecture.md, "The
        // plan").
        let counts = FileCounts {
            loaded: if dry_run {
                checks.tally.contacts
            } else {
                totals.queued
            },
            rejected: totals.rejected,
            duplicates: totals.duplicates,
        };
        let written = write_plan(
            clients,
            env,
            tuning,
            &campaign,
            key,
            dry_run,
            &checks.tally,
            counts,
        )
        .await?;
        result.plan = Some(written);
    }
    if checks.suppressed > 0 {
        tracing::info!(
            key,
            campaign = %campaign,
            suppressed = checks.suppressed,
            "contacts on the do-not-call list made final at intake"
        );
    }
    if summary.admitted > 0 {
        // Stamped again after the last admission: a feeder that found the campaign empty while
        // the file was read (and retired it) sees it listed again.
        tuning
            .policy
            .retry(|| campaigns::register(&clients.ledger, &campaign, chrono::Utc::now()))
            .await?;
    }

    // Contacts already present count too: a retry of an invocation that admitted them but died
    // before starting the run must still start it (the execution name, from the object's
    // version, makes a redelivered event join the run it started).
    // Each segment starts (or joins) its own run: the one the first segment started may have
    // ended before this segment's contacts were admitted.
    if !dry_run && summary.admitted + summary.already_present > 0 {
        if summary.admitted > 0 {
            add_total_records(
                &clients.ssm,
                &env.ssm_prefix,
                summary.admitted,
                tuning.policy,
            )
            .await;
        }
        let unique = match segment {
            1 => format!("{bucket}/{key}#{version}"),
            n => format!("{bucket}/{key}#{version}#{n}"),
        };
        let run = start_or_join_run(
            &clients.sfn,
            &env.state_machine_arn,
            &execution_name("csv", &campaign, &unique),
            &RunInput {
                source: format!("csv:{bucket}/{key}"),
                campaign: campaign.clone(),
            },
            tuning.policy,
        )
        .await?;
        result.execution = Some(run.execution_arn);
    }
    if let (Some(at), None) = (handed_over, &refusal) {
        let next = Checkpoint {
            bucket: bucket.to_string(),
            key: key.to_string(),
            etag: etag.unwrap_or_else(|| "*".to_string()),
            version_id,
            upload: version.to_string(),
            campaign: campaign.clone(),
            rules,
            at,
            totals,
            segment: segment + 1,
            dry_run,
            plan: checks.tally.clone(),
        };
        // Every admission of this segment is acknowledged and its report written: a failed
        // hand-over fails the invocation, whose retry reads this segment again (nothing is
        // admitted twice) and hands over again.
        clients.handover.hand_over(&next).await?;
        tracing::info!(
            key,
            segment,
            next_line = next.at.line,
            next_offset = next.at.offset,
            "time is running out: the rest of the file is handed to the next invocation"
        );
        result.continues_at = Some(ContinuesAt {
            segment: next.segment,
            line: next.at.line,
            offset: next.at.offset,
        });
    }
    tracing::info!(
        key,
        campaign = %campaign,
        segment,
        rows = totals.rows,
        queued = result.queued,
        rejected = result.rejected,
        duplicates = result.duplicates,
        execution = result.execution.as_deref().unwrap_or("none"),
        refused = result.error.is_some(),
        "list loaded"
    );
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::continuation::CapturedHandovers;
    use aws_sdk_s3::operation::get_object::{GetObjectError, GetObjectOutput};
    use aws_sdk_s3::operation::put_object::PutObjectOutput;
    use aws_sdk_s3::primitives::ByteStream;
    use aws_sdk_s3::types::error::NoSuchKey;
    use aws_sdk_sfn::operation::start_execution::StartExecutionOutput;
    use aws_sdk_ssm::operation::get_parameter::{GetParameterError, GetParameterOutput};
    use aws_sdk_ssm::operation::get_parameters::GetParametersOutput;
    use aws_sdk_ssm::operation::put_parameter::PutParameterOutput;
    use aws_sdk_ssm::types::error::ParameterNotFound;
    use aws_sdk_ssm::types::Parameter;
    use aws_smithy_mocks::{mock, Rule};
    use outbound_core::contact::ContactSource;
    use outbound_core::error::ErrorName;
    use outbound_core::ledger::LedgerContact;
    use outbound_core::mocked;
    use outbound_core::testkit::{FakeTable, Log};
    use serde_json::json;
    use std::sync::{Arc, Mutex};

    const SM: &str = "arn:aws:states:eu-west-2:123456789012:stateMachine:blaster-dialer";

    fn env() -> Env {
        Env {
            input_bucket: "input".into(),
            destinations: outbound_core::destinations::DestinationRules::parse("GB,US").unwrap(),
            ledger: outbound_core::ledger::CampaignLedgerEnv {
                table_name: "ledger".into(),
            },
            rules: RedialRules::default(),
            results_bucket: "results".into(),
            state_machine_arn: SM.into(),
            ssm_prefix: "/connect/blaster/test/".into(),
            contact_key_kms_key_arn:
                "arn:aws:kms:eu-west-2:123456789012:key/11111111-2222-3333-4444-555555555555".into(),
            handover_margin: Duration::from_secs(60),
            final_retention_days: Some(90),
            calling_window: outbound_core::calling_window::CallingWindow::from_json(
                r#"{"enabled":true}"#,
            )
            .unwrap(),
            frequency_cap: None,
            max_concurrent_calls: 40,
        }
    }

    fn tuning() -> Tuning {
        Tuning {
            policy: RetryPolicy::immediate(3),
            max_in_flight: 2,
            report_part_bytes: 1 << 20,
            ..Tuning::default()
        }
    }

    fn event(keys: &[&str]) -> Value {
        json!({"Records": keys.iter().map(|k| json!({
            "eventVersion": "2.1", "eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
            "s3": {"bucket": {"name": "input"}, "object": {"key": k, "size": 100, "eTag": "e1", "sequencer": "0055AED6DCD90281E5"}}
        })).collect::<Vec<_>>()})
    }

    const CSV: &str = "custID,phone,firstName\n\
                       C-1,020 7946 0001,Ann\n\
                       C-2,+1 212 555 0123,Bob\n\
                       C-3,12345,Cy\n\
                       C-1,+44 20 7946 0001,Ann again\n\
                       C-4,,Dee\n";

    /// Everything a run of the handler did, captured from the mocks.
    #[derive(Default)]
    struct Seen {
        report: Option<(String, String)>,
        /// Every report written, in order.
        reports: Vec<(String, String)>,
        starts: Vec<(String, String)>,
        total_records: Vec<String>,
        /// Plans and final records written, by key (the last write of each).
        plans: std::collections::BTreeMap<String, String>,
        finals: std::collections::BTreeMap<String, String>,
    }

    struct World {
        clients: Clients,
        seen: Arc<Mutex<Seen>>,
        table: FakeTable,
        rules: Vec<Rule>,
        handovers: Arc<CapturedHandovers>,
    }

    impl World {
        /// The contacts admitted into the ledger, by customer key.
        fn admitted(&self) -> Vec<LedgerContact> {
            let mut contacts: Vec<LedgerContact> = self
                .table
                .items
                .lock()
                .unwrap()
                .iter()
                .filter(|(pk, _)| pk.starts_with("CONTACT#"))
                .map(|(_, item)| LedgerContact::from_item(item).unwrap())
                .collect();
            contacts.sort_by(|a, b| a.key.cmp(&b.key));
            contacts
        }

        /// The campaigns the ledger lists as having work.
        fn listed(&self) -> Vec<String> {
            self.table
                .get(outbound_core::ledger::campaigns::CAMPAIGNS_PK)
                .and_then(|i| i.get("active").and_then(|v| v.as_ss().ok()).cloned())
                .unwrap_or_default()
        }
    }

    fn campaign_ledger(table: &FakeTable) -> CampaignLedger {
        CampaignLedger {
            dynamodb: table.client(),
            table_name: "ledger".into(),
            final_retention: None,
        }
    }

    /// Mocks for a healthy world: the object `uploads/spring renewals+.csv` holds `csv`.
    fn world(csv: &'static str) -> World {
        world_with_metadata(csv, &[])
    }

    fn world_with_metadata(
        csv: &'static str,
        metadata: &'static [(&'static str, &'static str)],
    ) -> World {
        let seen = Arc::new(Mutex::new(Seen::default()));
        let get = mock!(aws_sdk_s3::Client::get_object)
            .match_requests(|r| {
                r.bucket() == Some("input") && r.key() == Some("uploads/spring renewals+.csv")
            })
            .then_compute_output(move |r| {
                // A ranged read (a continuation) gets the bytes from its offset on.
                let from: usize = r
                    .range()
                    .and_then(|r| r.strip_prefix("bytes=")?.strip_suffix('-')?.parse().ok())
                    .unwrap_or(0);
                GetObjectOutput::builder()
                    .e_tag("e1")
                    .set_metadata(Some(
                        metadata
                            .iter()
                            .map(|(k, v)| (k.to_string(), v.to_string()))
                            .collect(),
                    ))
                    .body(ByteStream::from_static(
                        &csv.as_bytes()[from.min(csv.len())..],
                    ))
                    .build()
            });
        let s = seen.clone();
        let put = mock!(aws_sdk_s3::Client::put_object).then_compute_output(move |r| {
            let body = String::from_utf8(r.body().bytes().unwrap().to_vec()).unwrap();
            let key = format!("{}/{}", r.bucket().unwrap(), r.key().unwrap());
            let mut s = s.lock().unwrap();
            if key.starts_with("results/plans/") {
                s.plans.insert(key, body);
            } else if key.starts_with("results/finals/") {
                s.finals.insert(key, body);
            } else {
                s.reports.push((key.clone(), body.clone()));
                s.report = Some((key, body));
            }
            PutObjectOutput::builder().build()
        });
        let iso = mock!(aws_sdk_ssm::Client::get_parameter)
            .match_requests(|r| r.name() == Some("/connect/blaster/test/isocountrycode"))
            .then_output(|| {
                GetParameterOutput::builder()
                    .parameter(Parameter::builder().value("GB").build())
                    .build()
            });
        let total = mock!(aws_sdk_ssm::Client::get_parameter)
            .match_requests(|r| r.name() == Some("/connect/blaster/test/totalRecords"))
            .then_error(|| {
                GetParameterError::ParameterNotFound(ParameterNotFound::builder().build())
            });
        let s = seen.clone();
        let put_total = mock!(aws_sdk_ssm::Client::put_parameter).then_compute_output(move |r| {
            s.lock().unwrap().total_records.push(format!(
                "{}={}",
                r.name().unwrap(),
                r.value().unwrap()
            ));
            PutParameterOutput::builder().build()
        });
        // The dialer's capacity for the plan: 2 lanes, 2 calls a second.
        let capacity = mock!(aws_sdk_ssm::Client::get_parameters)
            .match_requests(|r| {
                r.names()
                    == [
                        "/connect/blaster/test/concurrentcalls".to_string(),
                        "/connect/blaster/test/callspersecond".to_string(),
                    ]
            })
            .then_output(|| {
                GetParametersOutput::builder()
                    .parameters(
                        Parameter::builder()
                            .name("/connect/blaster/test/concurrentcalls")
                            .value("2")
                            .build(),
                    )
                    .parameters(
                        Parameter::builder()
                            .name("/connect/blaster/test/callspersecond")
                            .value("2")
                            .build(),
                    )
                    .build()
            });
        let s = seen.clone();
        let start = mock!(aws_sdk_sfn::Client::start_execution).then_compute_output(move |r| {
            s.lock().unwrap().starts.push((
                r.name().unwrap().to_string(),
                r.input().unwrap().to_string(),
            ));
            StartExecutionOutput::builder()
                .execution_arn(format!(
                    "arn:aws:states:eu-west-2:123456789012:execution:blaster-dialer:{}",
                    r.name().unwrap()
                ))
                .start_date(aws_smithy_types::DateTime::from_secs(0))
                .build()
                .unwrap()
        });
        let table = FakeTable::new(&Log::default());
        let handovers = Arc::new(CapturedHandovers::default());
        let clients = Clients {
            s3: mocked!(aws_sdk_s3, [&get, &put]),
            ledger: campaign_ledger(&table),
            ssm: mocked!(aws_sdk_ssm, [&iso, &total, &put_total, &capacity]),
            sfn: mocked!(aws_sdk_sfn, [&start]),
            keyer: outbound_core::testkit::contact_keyer(),
            handover: handovers.clone(),
        };
        World {
            clients,
            seen,
            table,
            rules: vec![get, put, start],
            handovers,
        }
    }

    #[tokio::test]
    async fn a_list_is_admitted_reported_counted_and_started() {
        let w = world(CSV);
        let out = handle(
            &w.clients,
            &env(),
            &tuning(),
            event(&["uploads/spring+renewals%2B.csv"]),
        )
        .await
        .unwrap();
        assert_eq!(out["object"], "uploads/spring renewals+.csv");
        assert_eq!(out["queued"], 2);
        assert_eq!(out["rejected"], 2);
        assert_eq!(out["duplicates"], 1);
        assert_eq!(out["error"], Value::Null);
        assert_eq!(
            out["rejectReport"],
            "rejects/campaign=spring_renewals_/uploads_spring renewals+.csv.jsonl"
        );

        assert_eq!(out["campaign"], "spring renewals+");
        let contacts = w.admitted();
        assert_eq!(contacts.len(), 2);
        assert!(contacts
            .iter()
            .all(|c| c.state == outbound_core::ledger::ContactState::Due && c.attempt == 1));
        assert!(contacts.iter().all(|c| c.rules.is_none()));
        assert_eq!(w.listed(), vec!["spring renewals+".to_string()]);
        let seen = w.seen.lock().unwrap();
        assert_eq!(contacts[0].key, "C-1");
        assert_eq!(contacts[0].phone, "+442079460001");
        assert_eq!(contacts[0].campaign, "spring renewals+");
        assert_eq!(contacts[0].attributes["firstName"], "Ann");
        assert_eq!(
            contacts[0].source,
            ContactSource::Csv {
                object: "uploads/spring renewals+.csv".into(),
                line: 2
            }
        );
        assert_eq!(contacts[1].phone, "+12125550123");

        let (key, report) = seen.report.clone().unwrap();
        assert_eq!(
            key,
            "results/rejects/campaign=spring_renewals_/uploads_spring renewals+.csv.jsonl"
        );
        let lines: Vec<RejectRecord> = report
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.iter().map(|r| r.line).collect::<Vec<_>>(), vec![4, 6]);
        assert!(lines[0].reason.starts_with("invalid phone"));
        assert_eq!(lines[1].reason, "missing phone");
        assert!(
            !report.contains("12345"),
            "numbers are masked in the report"
        );

        assert_eq!(
            seen.total_records,
            vec!["/connect/blaster/test/totalRecords=2"]
        );
        assert_eq!(seen.starts.len(), 1);
        let (name, input) = &seen.starts[0];
        assert!(name.starts_with("csv-spring_renewals_-"), "{name}");
        assert_eq!(
            serde_json::from_str::<Value>(input).unwrap(),
            json!({"source": "csv:input/uploads/spring renewals+.csv", "campaign": "spring renewals+"})
        );
        assert_eq!(
            out["execution"],
            format!("arn:aws:states:eu-west-2:123456789012:execution:blaster-dialer:{name}")
        );
    }

    #[tokio::test]
    async fn a_file_without_the_mandatory_columns_is_refused_whole() {
        let w = world("id,number\n1,020 7946 0001\n");
        let out = handle(
            &w.clients,
            &env(),
            &tuning(),
            event(&["uploads/spring+renewals%2B.csv"]),
        )
        .await
        .unwrap();
        assert_eq!(out["queued"], 0);
        assert!(out["error"].as_str().unwrap().contains("custID and phone"));
        assert_eq!(out["execution"], Value::Null);
        assert!(w.admitted().is_empty());
        let seen = w.seen.lock().unwrap();
        assert!(seen.starts.is_empty());
        let (_, report) = seen.report.clone().unwrap();
        let line: RejectRecord = serde_json::from_str(report.trim()).unwrap();
        assert_eq!(line.line, 1);
        assert!(line.reason.starts_with("file rejected"), "{}", line.reason);
        assert_eq!(w.rules[2].num_calls(), 0, "no run started");
    }

    #[tokio::test]
    async fn an_unreachable_ledger_fails_the_invocation_without_starting_a_run() {
        let w = world(CSV);
        for _ in 0..20 {
            w.table
                .fail_next("PutItem", "CONTACT#", "InternalServerError");
        }
        let err = handle(
            &w.clients,
            &env(),
            &tuning(),
            event(&["uploads/spring+renewals%2B.csv"]),
        )
        .await
        .unwrap_err();
        assert_eq!(err.name, ErrorName::Retryable);
        assert!(err.message.contains("0 contacts"), "{}", err.message);
        assert!(w.seen.lock().unwrap().starts.is_empty());
        // Not a silent "nothing to do": the retry policy was used up (3 attempts per contact).
        assert!(w.admitted().is_empty());
        assert!(w.table.log.count("ddb:PutItem CONTACT#") >= 3);
    }

    #[tokio::test]
    async fn the_same_file_again_admits_nothing_twice() {
        let w = world(CSV);
        let key = "uploads/spring+renewals%2B.csv";
        let first = handle(&w.clients, &env(), &tuning(), event(&[key]))
            .await
            .unwrap();
        assert_eq!(
            (first["queued"].as_u64(), first["duplicates"].as_u64()),
            (Some(2), Some(1))
        );
        // A contact already dialed keeps its state when the file comes again.
        let dialed = w.admitted()[0].clone();
        let pk = outbound_core::ledger::item::contact_pk(&dialed.campaign, &dialed.contact_key);
        w.table.items.lock().unwrap().get_mut(&pk).unwrap().insert(
            "state".into(),
            aws_sdk_dynamodb::types::AttributeValue::S("final".into()),
        );
        let again = handle(&w.clients, &env(), &tuning(), event(&[key]))
            .await
            .unwrap();
        assert_eq!(again["queued"], 0);
        assert_eq!(
            again["duplicates"], 3,
            "1 within the file, 2 already in the campaign"
        );
        // Started (or joined) all the same: the first invocation may have died before it could.
        assert!(again["execution"].is_string(), "{again}");
        assert_eq!(w.admitted().len(), 2);
        assert_eq!(
            w.admitted()[0].state,
            outbound_core::ledger::ContactState::Final
        );
    }

    #[tokio::test]
    async fn a_contact_the_ledger_refuses_is_reported_as_a_reject() {
        let w = world(CSV);
        let c2 = outbound_core::testkit::contact_key("spring renewals+", "C-2", "+12125550123");
        w.table.fail_next(
            "PutItem",
            &format!("CONTACT#spring renewals+#{c2}"),
            "ValidationException",
        );
        let out = handle(
            &w.clients,
            &env(),
            &tuning(),
            event(&["uploads/spring+renewals%2B.csv"]),
        )
        .await
        .unwrap();
        assert_eq!(out["queued"], 1);
        assert_eq!(out["rejected"], 3);
        let (_, report) = w.seen.lock().unwrap().report.clone().unwrap();
        let refused: Vec<RejectRecord> = report
            .lines()
            .map(|l| serde_json::from_str::<RejectRecord>(l).unwrap())
            .filter(|r| r.reason.contains("ValidationException"))
            .collect();
        assert_eq!(refused.len(), 1);
        assert_eq!(refused[0].line, 3);
        assert_eq!(refused[0].customer_key.as_deref(), Some("C-2"));
        assert_eq!(w.admitted().len(), 1);
    }

    #[tokio::test]
    async fn metadata_names_the_campaign_and_overrides_the_redial_rules() {
        let w = world_with_metadata(
            CSV,
            &[
                ("campaign", "spring-2026"),
                ("redial", r#"{"max_attempts":5,"delay_minutes":{"busy":2}}"#),
                (
                    "schedule",
                    r#"{"start":"2026-12-08T09:00:00-05:00","end":"2026-12-20T21:00:00-05:00"}"#,
                ),
            ],
        );
        let out = handle(
            &w.clients,
            &env(),
            &tuning(),
            event(&["uploads/spring+renewals%2B.csv"]),
        )
        .await
        .unwrap();
        assert_eq!(out["campaign"], "spring-2026");
        assert_eq!(out["queued"], 2);
        let contacts = w.admitted();
        assert!(contacts.iter().all(|c| c.campaign == "spring-2026"));
        let rules = contacts[0]
            .rules
            .clone()
            .expect("the file's rules are stored");
        assert_eq!(rules.max_attempts, 5);
        assert_eq!(rules.delay_minutes.busy, 2);
        assert_eq!(
            rules.delay_minutes.no_answer, 120,
            "the rest stays the deployment's"
        );
        assert_eq!(w.listed(), vec!["spring-2026".to_string()]);
        let stored = w
            .table
            .get(&schedule::schedule_pk("spring-2026"))
            .expect("the file's schedule is stored");
        let millis = |name: &str| stored[name].as_n().unwrap().parse::<i64>().unwrap();
        assert_eq!(
            millis("startsAt"),
            1_796_738_400_000,
            "09:00 EST = 14:00 UTC"
        );
        assert_eq!(millis("endsAt"), 1_797_818_400_000);
        assert_eq!(
            stored["source"].as_s().unwrap(),
            "file:uploads/spring renewals+.csv"
        );
        let seen = w.seen.lock().unwrap();
        assert!(
            seen.starts[0].0.starts_with("csv-spring-2026-"),
            "{}",
            seen.starts[0].0
        );
    }

    /// C-1's number (+442079460001) on the do-not-call list.
    fn list_c1(w: &World) {
        let keyer = outbound_core::testkit::contact_keyer();
        w.table.insert(
            &outbound_core::dnc::dnc_pk(&keyer.do_not_call_key("+442079460001")),
            &[],
        );
    }

    fn no_window() -> Env {
        Env {
            calling_window: None,
            ..env()
        }
    }

    const PLAN: &str = "results/plans/campaign=spring_renewals_/uploads_spring renewals+.csv";

    #[tokio::test]
    async fn a_listed_number_is_final_at_intake_once_and_the_plan_counts_it() {
        let w = world(CSV);
        list_c1(&w);
        let upload = event(&["uploads/spring+renewals%2B.csv"]);
        let out = handle(&w.clients, &no_window(), &tuning(), upload.clone())
            .await
            .unwrap();
        assert_eq!(out["queued"], 2);
        assert_eq!(out["dnc"], 1);
        assert_eq!(out["dryRun"], false);
        assert_eq!(
            out["plan"],
            "plans/campaign=spring_renewals_/uploads_spring renewals+.csv.json"
        );
        let contacts = w.admitted();
        assert_eq!(contacts[0].key, "C-1");
        assert_eq!(contacts[0].state, ContactState::Final);
        assert_eq!(
            contacts[0].final_reason,
            Some(outbound_core::ledger::FinalReason::DoNotCall)
        );
        assert_eq!(contacts[0].attempt, 0, "no attempt counted");
        assert_eq!(contacts[1].state, ContactState::Due);
        let item = w
            .table
            .get(&format!(
                "CONTACT#spring renewals+#{}",
                contacts[0].contact_key
            ))
            .unwrap();
        assert!(
            !item.contains_key("dueShard"),
            "never leased: out of the due index"
        );
        let finals = w.seen.lock().unwrap().finals.clone();
        assert_eq!(finals.len(), 1, "{finals:?}");
        let (_, record) = finals.iter().next().unwrap();
        let record: outbound_core::records::FinalRecord =
            serde_json::from_str(record.trim()).unwrap();
        assert_eq!((record.final_reason.as_str(), record.attempts), ("dnc", 0));
        // The plan, before the run started: exact figures.
        let plan: Value =
            serde_json::from_str(&w.seen.lock().unwrap().plans[&format!("{PLAN}.json")]).unwrap();
        assert_eq!(
            (
                &plan["loaded"],
                &plan["rejected"],
                &plan["duplicates"],
                &plan["dncHits"],
                &plan["callableNow"],
                &plan["deferred"],
                &plan["dryRun"]
            ),
            (
                &json!(2),
                &json!(2),
                &json!(1),
                &json!(1),
                &json!(1),
                &json!(0),
                &json!(false)
            )
        );
        assert_eq!(plan["estimate"]["lanes"], 2);
        assert_eq!(plan["estimate"]["callsPerHour"], 60.0);
        let text = w.seen.lock().unwrap().plans[&format!("{PLAN}.txt")].clone();
        assert!(text.contains("do-not-call hits  "), "{text}");

        // The same file again: nothing new, no second final record (the one there is rewritten
        // as it was), the contact unchanged.
        let before = w.table.get(&format!(
            "CONTACT#spring renewals+#{}",
            contacts[0].contact_key
        ));
        let again = handle(&w.clients, &no_window(), &tuning(), upload)
            .await
            .unwrap();
        assert_eq!(again["queued"], 0);
        assert_eq!(again["dnc"], 0, "the plan counts the file's new contacts");
        let finals_again = w.seen.lock().unwrap().finals.clone();
        assert_eq!(finals_again, finals);
        assert_eq!(
            w.table.get(&format!(
                "CONTACT#spring renewals+#{}",
                contacts[0].contact_key
            )),
            before
        );
    }

    #[tokio::test]
    async fn a_contact_left_due_by_a_dead_invocation_is_suppressed_by_the_retry() {
        let w = world(CSV);
        // The first invocation admitted the contacts and died before checking them.
        let clean = handle(
            &w.clients,
            &no_window(),
            &tuning(),
            event(&["uploads/spring+renewals%2B.csv"]),
        )
        .await
        .unwrap();
        assert_eq!(clean["dnc"], 0);
        assert!(w.admitted().iter().all(|c| c.state == ContactState::Due));
        list_c1(&w);
        let retry = handle(
            &w.clients,
            &no_window(),
            &tuning(),
            event(&["uploads/spring+renewals%2B.csv"]),
        )
        .await
        .unwrap();
        assert_eq!(retry["queued"], 0);
        let contacts = w.admitted();
        assert_eq!(contacts[0].state, ContactState::Final);
        assert_eq!(contacts[1].state, ContactState::Due);
        assert_eq!(w.seen.lock().unwrap().finals.len(), 1);
    }

    #[tokio::test]
    async fn a_dry_run_plans_the_file_and_admits_nothing() {
        let w = world_with_metadata(CSV, &[("dry-run", "true")]);
        list_c1(&w);
        let out = handle(
            &w.clients,
            &no_window(),
            &tuning(),
            event(&["uploads/spring+renewals%2B.csv"]),
        )
        .await
        .unwrap();
        assert_eq!(out["dryRun"], true);
        assert_eq!(out["queued"], 0);
        assert_eq!(out["dnc"], 1);
        assert_eq!(out["execution"], Value::Null);
        assert!(w.admitted().is_empty());
        assert!(w.listed().is_empty(), "the campaign is not registered");
        {
            let seen = w.seen.lock().unwrap();
            assert!(seen.starts.is_empty());
            assert!(seen.total_records.is_empty());
            assert!(seen.finals.is_empty(), "nothing suppressed");
            assert!(
                seen.report.as_ref().unwrap().1.contains("\"line\":4"),
                "rejects as usual"
            );
            let plan: Value = serde_json::from_str(&seen.plans[&format!("{PLAN}.json")]).unwrap();
            assert_eq!(plan["dryRun"], true);
            assert_eq!(plan["loaded"], 2);
            assert_eq!(plan["dncHits"], 1);
            assert_eq!(plan["callableNow"], 1);
            assert!(seen.plans[&format!("{PLAN}.txt")].starts_with("Plan (DRY RUN"));
        }
        // A dry-run value that is neither true nor false refuses the file.
        let w = world_with_metadata(CSV, &[("dry-run", "yes")]);
        let out = handle(
            &w.clients,
            &env(),
            &tuning(),
            event(&["uploads/spring+renewals%2B.csv"]),
        )
        .await
        .unwrap();
        assert!(out["error"].as_str().unwrap().contains("dry-run"), "{out}");
        assert!(w.admitted().is_empty());
    }

    #[tokio::test]
    async fn bad_campaign_redial_or_schedule_metadata_refuses_the_file() {
        for metadata in [
            &[("campaign", "spring 2026")][..],
            &[("redial", r#"{"max_attempts":0}"#)][..],
            &[("redial", "not json")][..],
            &[("schedule", r#"{"end":"2026-12-20"}"#)][..],
            &[(
                "schedule",
                r#"{"start":"2026-12-20T00:00:00Z","end":"2026-12-08T00:00:00Z"}"#,
            )][..],
        ] {
            let w = world_with_metadata(CSV, metadata);
            let out = handle(
                &w.clients,
                &env(),
                &tuning(),
                event(&["uploads/spring+renewals%2B.csv"]),
            )
            .await
            .unwrap();
            assert_eq!(out["queued"], 0, "{metadata:?}");
            assert!(out["error"].as_str().unwrap().contains("metadata"), "{out}");
            assert!(w.admitted().is_empty());
            assert!(w.seen.lock().unwrap().starts.is_empty());
            let (key, report) = w.seen.lock().unwrap().report.clone().unwrap();
            assert!(key.contains("campaign=spring_renewals_"), "{key}");
            assert!(report.contains("file rejected"), "{report}");
        }
    }

    #[tokio::test]
    async fn a_deleted_object_is_reported_not_retried() {
        let gone = mock!(aws_sdk_s3::Client::get_object)
            .then_error(|| GetObjectError::NoSuchKey(NoSuchKey::builder().build()));
        let iso = mock!(aws_sdk_ssm::Client::get_parameter).then_output(|| {
            GetParameterOutput::builder()
                .parameter(Parameter::builder().value("GB").build())
                .build()
        });
        let clients = Clients {
            s3: mocked!(aws_sdk_s3, [&gone]),
            ledger: campaign_ledger(&FakeTable::new(&Log::default())),
            ssm: mocked!(aws_sdk_ssm, [&iso]),
            sfn: mocked!(aws_sdk_sfn, []),
            keyer: outbound_core::testkit::contact_keyer(),
            handover: Arc::new(CapturedHandovers::default()),
        };
        let out = handle(&clients, &env(), &tuning(), event(&["uploads/x.csv"]))
            .await
            .unwrap();
        assert_eq!(out["error"], "the object no longer exists");
        assert_eq!(out["queued"], 0);
    }

    #[tokio::test]
    async fn only_csv_objects_of_the_input_bucket_are_loaded() {
        // No rule: any read, queueing or run start fails the test.
        let mut w = world(CSV);
        w.clients.s3 = mocked!(aws_sdk_s3, []);
        w.clients.sfn = mocked!(aws_sdk_sfn, []);
        let mut other_bucket = event(&["uploads/a.csv"]);
        other_bucket["Records"][0]["s3"]["bucket"]["name"] = json!("someone-elses");
        let out = handle(&w.clients, &env(), &tuning(), other_bucket)
            .await
            .unwrap();
        assert_eq!(out["error"], "not the input bucket");
        assert_eq!(out["queued"], 0);
        for key in ["uploads/a.txt", "uploads/a.CSV", "uploads/a.csv.gz"] {
            let out = handle(&w.clients, &env(), &tuning(), event(&[key]))
                .await
                .unwrap();
            assert_eq!(out["error"], "not a .csv object", "{key}");
        }
    }

    #[tokio::test]
    async fn several_records_give_one_result_each() {
        let w = world(CSV);
        let out = handle(
            &w.clients,
            &env(),
            &tuning(),
            event(&[
                "uploads/spring+renewals%2B.csv",
                "uploads/spring+renewals%2B.csv",
            ]),
        )
        .await
        .unwrap();
        let results = out.as_array().unwrap();
        assert_eq!(results.len(), 2);
        assert_eq!(results[0]["queued"], 2);
        assert_eq!(
            results[1]["queued"], 0,
            "the second record admits nothing twice"
        );
        assert_eq!(results[1]["duplicates"], 3);
        // The same object version names the same execution: the second start joins the first.
        let seen = w.seen.lock().unwrap();
        assert_eq!(seen.starts.len(), 2);
        assert_eq!(seen.starts[0].0, seen.starts[1].0);
    }

    #[tokio::test]
    async fn other_events_and_missing_configuration() {
        let w = world(CSV);
        let removed = json!({"Records": [{"eventName": "ObjectRemoved:Delete", "s3": {"bucket": {"name": "input"}, "object": {"key": "a.csv"}}}]});
        assert_eq!(
            handle(&w.clients, &env(), &tuning(), removed)
                .await
                .unwrap(),
            json!([])
        );
        assert_eq!(
            handle(&w.clients, &env(), &tuning(), json!({"detail": {}}))
                .await
                .unwrap(),
            json!([]),
            "an event without records has nothing to load"
        );
        assert_eq!(
            handle(&w.clients, &env(), &tuning(), json!("text"))
                .await
                .unwrap_err()
                .name,
            ErrorName::InvalidInput
        );

        let missing = mock!(aws_sdk_ssm::Client::get_parameter).then_error(|| {
            GetParameterError::ParameterNotFound(ParameterNotFound::builder().build())
        });
        let clients = Clients {
            ssm: mocked!(aws_sdk_ssm, [&missing]),
            ..w.clients.clone()
        };
        let err = handle(&clients, &env(), &tuning(), event(&["uploads/a.csv"]))
            .await
            .unwrap_err();
        assert_eq!(err.name, ErrorName::ConfigError);
        assert!(
            err.message.contains("/connect/blaster/test/isocountrycode"),
            "{}",
            err.message
        );
    }

    /// Feeds every checkpoint handed over back in as a continuation event (with a deadline that
    /// has already passed: each segment reads one row), until one ends the file. Returns every
    /// segment's result.
    async fn run_to_the_end(w: &World, tuning: &Tuning, first: Value) -> Vec<Value> {
        let mut results = vec![first];
        loop {
            let handed = w.handovers.take();
            assert!(handed.len() <= 1, "one hand-over per segment");
            let Some(next) = handed.into_iter().next() else {
                return results;
            };
            let out = handle_until(
                &w.clients,
                &env(),
                tuning,
                json!({ "continuation": next }),
                Some(Instant::now()),
            )
            .await
            .unwrap();
            results.push(out);
        }
    }

    #[tokio::test]
    async fn a_file_whose_time_runs_out_goes_on_from_its_checkpoint_and_ends_the_same() {
        let w = world(CSV);
        let tuning = Tuning {
            handover_margin: Duration::ZERO,
            ..tuning()
        };
        // The deadline has passed: every segment stops after its first row.
        let first = handle_until(
            &w.clients,
            &env(),
            &tuning,
            event(&["uploads/spring+renewals%2B.csv"]),
            Some(Instant::now()),
        )
        .await
        .unwrap();
        assert_eq!(first["segment"], 1);
        assert_eq!(first["queued"], 1);
        assert_eq!(first["continuesAt"]["segment"], 2);
        assert_eq!(first["continuesAt"]["line"], 3);
        assert_eq!(
            first["continuesAt"]["offset"],
            CSV.find("C-2").unwrap(),
            "the byte where line 3 starts"
        );
        let results = run_to_the_end(&w, &tuning, first).await;
        // Five rows, one per segment; the last one hands over at the end of the object and the
        // segment after it finds nothing left.
        assert!((5..=6).contains(&results.len()), "{results:?}");
        let last = results.last().unwrap();
        assert_eq!(last["continuesAt"], Value::Null);
        assert_eq!(
            (
                last["queued"].as_u64(),
                last["rejected"].as_u64(),
                last["duplicates"].as_u64()
            ),
            (Some(2), Some(2), Some(1)),
            "the same totals as in one invocation: {last}"
        );
        for (i, out) in results.iter().enumerate() {
            assert_eq!(out["segment"], i as u64 + 1);
            assert_eq!(out["error"], Value::Null);
            assert_eq!(out["campaign"], "spring renewals+");
        }
        // The same contacts, at their own lines.
        let contacts = w.admitted();
        assert_eq!(contacts.len(), 2);
        let lines: Vec<_> = contacts.iter().map(|c| c.source.clone()).collect();
        assert_eq!(
            lines,
            vec![
                ContactSource::Csv {
                    object: "uploads/spring renewals+.csv".into(),
                    line: 2
                },
                ContactSource::Csv {
                    object: "uploads/spring renewals+.csv".into(),
                    line: 3
                }
            ]
        );
        // One report per segment: the first under the file's key, then parts; the rejects keep
        // the file's line numbers.
        let seen = w.seen.lock().unwrap();
        let base = "results/rejects/campaign=spring_renewals_/uploads_spring renewals+.csv";
        let keys: Vec<&str> = seen.reports.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys[0], format!("{base}.jsonl"));
        assert_eq!(keys[1], format!("{base}.part0002.jsonl"));
        assert_eq!(keys.len(), results.len());
        let rejects: Vec<(usize, RejectRecord)> = seen
            .reports
            .iter()
            .enumerate()
            .flat_map(|(i, (_, body))| {
                body.lines()
                    .map(move |l| (i + 1, serde_json::from_str::<RejectRecord>(l).unwrap()))
            })
            .collect();
        assert_eq!(
            rejects
                .iter()
                .map(|(segment, r)| (*segment, r.line))
                .collect::<Vec<_>>(),
            vec![(3, 4), (5, 6)]
        );
        // Each segment with contacts started (or joined) a run of its own.
        let names: Vec<&str> = seen.starts.iter().map(|(n, _)| n.as_str()).collect();
        assert!(names.len() >= 3, "{names:?}");
        let distinct: std::collections::BTreeSet<_> = names.iter().collect();
        assert_eq!(distinct.len(), names.len(), "{names:?}");
    }

    #[tokio::test]
    async fn the_contact_cap_hands_over_and_a_continuation_delivered_twice_adds_nothing() {
        let w = world(CSV);
        let tuning = Tuning {
            max_segment_contacts: 1,
            ..tuning()
        };
        // No deadline: only the cap stops a segment.
        let first = handle(
            &w.clients,
            &env(),
            &tuning,
            event(&["uploads/spring+renewals%2B.csv"]),
        )
        .await
        .unwrap();
        assert_eq!(first["queued"], 1);
        assert_eq!(first["continuesAt"]["line"], 3);
        let next = w.handovers.take().pop().unwrap();
        assert_eq!(next.etag, "e1");
        assert_eq!(next.upload, "0055AED6DCD90281E5");
        assert_eq!(next.totals.queued, 1);
        let again = json!({ "continuation": next });
        let second = handle(&w.clients, &env(), &tuning, again.clone())
            .await
            .unwrap();
        assert_eq!(second["segment"], 2);
        assert_eq!(second["queued"], 2);
        let third_from_second = w.handovers.take().pop().unwrap();
        // The same continuation again (an asynchronous event delivered twice).
        let replay = handle(&w.clients, &env(), &tuning, again).await.unwrap();
        assert_eq!(replay["queued"], 1, "nothing new: {replay}");
        assert_eq!(replay["duplicates"], 1, "C-2 is already in the campaign");
        assert_eq!(w.admitted().len(), 2);
        // It hands over the same checkpoint, but for the counts.
        let third_from_replay = w.handovers.take().pop().unwrap();
        assert_eq!(third_from_replay.at, third_from_second.at);
        // Both runs of segment 2 have the same execution name: the replay joined it.
        let seen = w.seen.lock().unwrap();
        assert_eq!(seen.starts[1].0, seen.starts[2].0);
        assert_ne!(seen.starts[0].0, seen.starts[1].0);
    }

    #[tokio::test]
    async fn a_continuation_for_another_bucket_or_malformed_is_refused() {
        let w = world(CSV);
        let next = Checkpoint {
            bucket: "someone-elses".into(),
            key: "uploads/a.csv".into(),
            etag: "e1".into(),
            version_id: None,
            upload: "1".into(),
            campaign: "a".into(),
            rules: None,
            at: crate::csv_intake::ReadPosition {
                offset: 10,
                line: 2,
                after_cr: false,
                header: serde_json::from_value(
                    json!({"cust": 0, "phone": 1, "attributes": [], "columns": 2}),
                )
                .unwrap(),
            },
            totals: Totals::default(),
            segment: 2,
            dry_run: false,
            plan: Default::default(),
        };
        let out = handle(
            &w.clients,
            &env(),
            &tuning(),
            json!({ "continuation": next }),
        )
        .await
        .unwrap();
        assert_eq!(out["error"], "not the input bucket");
        assert_eq!(w.rules[0].num_calls(), 0, "nothing read");
        let err = handle(
            &w.clients,
            &env(),
            &tuning(),
            json!({"continuation": {"key": 1}}),
        )
        .await
        .unwrap_err();
        assert_eq!(err.name, ErrorName::InvalidInput);
    }

    #[test]
    fn keys_are_url_decoded() {
        assert_eq!(
            decode_key("uploads/spring+list.csv").unwrap(),
            "uploads/spring list.csv"
        );
        assert_eq!(decode_key("a%2Bb%20c.csv").unwrap(), "a+b c.csv");
        assert_eq!(decode_key("caf%C3%A9.csv").unwrap(), "café.csv");
        // A stray % is kept.
        assert_eq!(decode_key("100%.csv").unwrap(), "100%.csv");
        assert_eq!(decode_key("%zz%4").unwrap(), "%zz%4");
        assert_eq!(
            decode_key("%FF.csv").unwrap_err().name,
            ErrorName::InvalidInput
        );
    }
}
