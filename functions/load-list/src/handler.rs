//! load-list: an uploaded CSV → contacts in the queue, a reject report, and a campaign run.
//!
//! For each `ObjectCreated` record of the S3 event (usually one): the object is streamed from S3
//! through the CSV reader (never held whole), valid contacts go to SQS in batches of 10,
//! rejected rows go to `rejects/campaign=<campaign>/<object>.jsonl` in the results bucket,
//! `totalRecords` grows by the number queued, and the campaign's execution is started (or the
//! running one joined).
//!
//! Failure behaviour:
//! - a file without `custID`/`phone` is refused whole: its report says why, nothing is queued;
//! - an S3 stream that breaks mid-file is resumed from the byte where it broke (ranged
//!   `GetObject` pinned to the object's ETag), so a long download does not restart the file;
//! - SQS unreachable after the retries fails the invocation (`Retryable`/`Throttled`): S3's
//!   asynchronous invocation retries it. The file is then read again from the start, so the
//!   contacts sent before the failure are sent again; dial's `DIAL#<runId>#<contactKey>` item
//!   keeps them from being dialed twice in one run.

use crate::csv_intake::{
    campaign_from_key, AsyncCsvReader, CsvOptions, FileError, IntakeCounts, RowOutcome,
};
use crate::env::Env;
use outbound_core::config::read_default_region;
use outbound_core::error::FunctionError;
use outbound_core::intake::report::RejectWriter;
use outbound_core::intake::run::{add_total_records, execution_name, start_or_join_run, RunInput};
use outbound_core::intake::sender::{Outgoing, QueueSender, DEFAULT_MAX_IN_FLIGHT};
use outbound_core::intake::{sdk_error, RetryPolicy};
use outbound_core::records::{reject_object_key, RejectRecord};
use phonenumber::country;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The AWS clients the function uses, and the contact keyer derived through KMS: built once.
#[derive(Debug, Clone)]
pub struct Clients {
    pub s3: aws_sdk_s3::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub ssm: aws_sdk_ssm::Client,
    pub sfn: aws_sdk_sfn::Client,
    pub keyer: outbound_core::contact_key::ContactKeyer,
}

/// Knobs that tests turn down.
#[derive(Debug, Clone, Copy)]
pub struct Tuning {
    pub policy: RetryPolicy,
    pub max_in_flight: usize,
    pub report_part_bytes: usize,
}

impl Default for Tuning {
    fn default() -> Self {
        Tuning {
            policy: RetryPolicy::DEFAULT,
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
            report_part_bytes: outbound_core::intake::report::PART_BYTES,
        }
    }
}

/// What became of one uploaded object.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectResult {
    /// The object key.
    pub object: String,
    pub queued: u64,
    /// Rows rejected (with a reason in the report), including rows SQS refused.
    pub rejected: u64,
    pub duplicates: u64,
    /// The execution started or joined; `None` when nothing was queued.
    pub execution: Option<String>,
    /// Key of the reject report in the results bucket.
    pub reject_report: Option<String>,
    /// Why the file was not loaded at all (refused header, object gone).
    pub error: Option<String>,
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

/// Handles one S3 event. One record gives one [`ObjectResult`] object; several give an array
/// in record order.
pub async fn handle(
    clients: &Clients,
    env: &Env,
    tuning: &Tuning,
    event: Value,
) -> Result<Value, FunctionError> {
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
        let version = record
            .s3
            .object
            .sequencer
            .clone()
            .or_else(|| record.s3.object.e_tag.clone())
            .unwrap_or_default();
        let result = load_object(
            clients,
            env,
            tuning,
            region,
            &record.s3.bucket.name,
            &key,
            &version,
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
/// redelivered event joins the execution it already started.
pub async fn load_object(
    clients: &Clients,
    env: &Env,
    tuning: &Tuning,
    region: country::Id,
    bucket: &str,
    key: &str,
    version: &str,
) -> Result<ObjectResult, FunctionError> {
    use aws_sdk_s3::operation::get_object::GetObjectError;
    let campaign = campaign_from_key(key);
    let mut result = ObjectResult {
        object: key.to_string(),
        ..Default::default()
    };
    let object = match clients.s3.get_object().bucket(bucket).key(key).send().await {
        Ok(o) => o,
        Err(e) if matches!(e.as_service_error(), Some(GetObjectError::NoSuchKey(_))) => {
            tracing::warn!(bucket, key, "object deleted before it could be loaded");
            result.error = Some("the object no longer exists".into());
            return Ok(result);
        }
        Err(e) => return Err(sdk_error("GetObject", &e)),
    };
    let etag = object.e_tag().map(str::to_string);
    let mut reader = AsyncCsvReader::new(
        object.body.into_async_read(),
        CsvOptions {
            campaign: campaign.clone(),
            object: key.to_string(),
            default_region: Some(region),
            destinations: env.destinations.clone(),
            keyer: clients.keyer.clone(),
        },
    );
    let mut rejects = RejectWriter::new(
        clients.s3.clone(),
        &env.results_bucket,
        reject_object_key(&campaign, key),
    )
    .with_policy(tuning.policy)
    .with_part_bytes(tuning.report_part_bytes);
    let mut sender = QueueSender::new(clients.sqs.clone(), &env.queue_url)
        .with_policy(tuning.policy)
        .with_max_in_flight(tuning.max_in_flight);

    let mut refusal: Option<FileError> = None;
    let mut resumes = 0u32;
    loop {
        match reader.next_row().await {
            Ok(Some(RowOutcome::Contact(contact))) => {
                if sender.push(Outgoing::new(&contact, None)).await.is_err() {
                    // The queue is unreachable: stop reading, finish() reports what happened.
                    break;
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

    let summary = match sender.finish().await {
        Ok(summary) => summary,
        Err(abort) => {
            rejects.abort().await;
            tracing::error!(
                key,
                queued = abort.sent,
                not_queued = abort.unsent.len(),
                "queue unreachable: the file will be loaded again by the invocation's retry"
            );
            return Err(FunctionError::new(
                abort.error.name,
                format!(
                    "{} after {} contacts of s3://{bucket}/{key} were queued",
                    abort.error.message, abort.sent
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
    result.queued = summary.sent;
    result.rejected = counts.rejected + summary.failed.len() as u64;
    result.duplicates = counts.duplicates;

    if result.queued > 0 {
        add_total_records(&clients.ssm, &env.ssm_prefix, result.queued, tuning.policy).await;
        let run = start_or_join_run(
            &clients.sfn,
            &env.state_machine_arn,
            &execution_name("csv", &campaign, &format!("{bucket}/{key}#{version}")),
            &RunInput {
                source: format!("csv:{bucket}/{key}"),
                campaign: campaign.clone(),
            },
            tuning.policy,
        )
        .await?;
        result.execution = Some(run.execution_arn);
    }
    tracing::info!(
        key,
        campaign = %campaign,
        rows = counts.rows,
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
    use aws_sdk_s3::operation::get_object::{GetObjectError, GetObjectOutput};
    use aws_sdk_s3::operation::put_object::PutObjectOutput;
    use aws_sdk_s3::primitives::ByteStream;
    use aws_sdk_s3::types::error::NoSuchKey;
    use aws_sdk_sfn::operation::start_execution::StartExecutionOutput;
    use aws_sdk_sqs::operation::send_message_batch::{
        SendMessageBatchError, SendMessageBatchOutput,
    };
    use aws_sdk_sqs::types::{BatchResultErrorEntry, SendMessageBatchResultEntry};
    use aws_sdk_ssm::operation::get_parameter::{GetParameterError, GetParameterOutput};
    use aws_sdk_ssm::operation::put_parameter::PutParameterOutput;
    use aws_sdk_ssm::types::error::ParameterNotFound;
    use aws_sdk_ssm::types::Parameter;
    use aws_smithy_mocks::{mock, Rule};
    use outbound_core::contact::{Contact, ContactSource};
    use outbound_core::error::ErrorName;
    use outbound_core::mocked;
    use serde_json::json;
    use std::sync::{Arc, Mutex};

    const SM: &str = "arn:aws:states:eu-west-2:123456789012:stateMachine:blaster-dialer";

    fn env() -> Env {
        Env {
            input_bucket: "input".into(),
            destinations: outbound_core::destinations::DestinationRules::parse("GB,US").unwrap(),
            queue_url: "https://sqs.eu-west-2.amazonaws.com/123456789012/blaster-contacts".into(),
            results_bucket: "results".into(),
            state_machine_arn: SM.into(),
            ssm_prefix: "/connect/blaster/test/".into(),
            contact_key_kms_key_arn:
                "arn:aws:kms:eu-west-2:123456789012:key/11111111-2222-3333-4444-555555555555".into(),
        }
    }

    fn tuning() -> Tuning {
        Tuning {
            policy: RetryPolicy::immediate(3),
            max_in_flight: 2,
            report_part_bytes: 1 << 20,
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
        bodies: Vec<String>,
        report: Option<(String, String)>,
        starts: Vec<(String, String)>,
        total_records: Vec<String>,
    }

    struct World {
        clients: Clients,
        seen: Arc<Mutex<Seen>>,
        rules: Vec<Rule>,
    }

    /// Mocks for a healthy world; `sqs` replaces the SQS rule when given.
    fn world(csv: &'static str, sqs: Option<Rule>) -> World {
        let seen = Arc::new(Mutex::new(Seen::default()));
        let get = mock!(aws_sdk_s3::Client::get_object)
            .match_requests(|r| {
                r.bucket() == Some("input") && r.key() == Some("uploads/spring renewals+.csv")
            })
            .then_output(move || {
                GetObjectOutput::builder()
                    .e_tag("e1")
                    .body(ByteStream::from_static(csv.as_bytes()))
                    .build()
            });
        let s = seen.clone();
        let put = mock!(aws_sdk_s3::Client::put_object).then_compute_output(move |r| {
            let body = String::from_utf8(r.body().bytes().unwrap().to_vec()).unwrap();
            s.lock().unwrap().report = Some((
                format!("{}/{}", r.bucket().unwrap(), r.key().unwrap()),
                body,
            ));
            PutObjectOutput::builder().build()
        });
        let s = seen.clone();
        let send = sqs.unwrap_or_else(|| {
            mock!(aws_sdk_sqs::Client::send_message_batch).then_compute_output(move |r| {
                let mut out = SendMessageBatchOutput::builder().set_failed(Some(vec![]));
                for e in r.entries() {
                    s.lock().unwrap().bodies.push(e.message_body().to_string());
                    out = out.successful(
                        SendMessageBatchResultEntry::builder()
                            .id(e.id())
                            .message_id("m")
                            .md5_of_message_body("x")
                            .build()
                            .unwrap(),
                    );
                }
                out.build().unwrap()
            })
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
        let clients = Clients {
            s3: mocked!(aws_sdk_s3, [&get, &put]),
            sqs: mocked!(aws_sdk_sqs, [&send]),
            ssm: mocked!(aws_sdk_ssm, [&iso, &total, &put_total]),
            sfn: mocked!(aws_sdk_sfn, [&start]),
            keyer: outbound_core::testkit::contact_keyer(),
        };
        World {
            clients,
            seen,
            rules: vec![get, put, send, start],
        }
    }

    #[tokio::test]
    async fn a_list_is_queued_reported_counted_and_started() {
        let w = world(CSV, None);
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

        let seen = w.seen.lock().unwrap();
        let mut contacts: Vec<Contact> = seen
            .bodies
            .iter()
            .map(|b| serde_json::from_str(b).unwrap())
            .collect();
        contacts.sort_by(|a, b| a.key.cmp(&b.key));
        assert_eq!(contacts.len(), 2);
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
        let w = world("id,number\n1,020 7946 0001\n", None);
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
        let seen = w.seen.lock().unwrap();
        assert!(seen.bodies.is_empty());
        assert!(seen.starts.is_empty());
        let (_, report) = seen.report.clone().unwrap();
        let line: RejectRecord = serde_json::from_str(report.trim()).unwrap();
        assert_eq!(line.line, 1);
        assert!(line.reason.starts_with("file rejected"), "{}", line.reason);
        assert_eq!(w.rules[2].num_calls(), 0, "nothing sent to SQS");
    }

    #[tokio::test]
    async fn unreachable_queue_fails_the_invocation_without_starting_a_run() {
        let down = mock!(aws_sdk_sqs::Client::send_message_batch).then_error(|| {
            SendMessageBatchError::generic(
                aws_smithy_types::error::ErrorMetadata::builder()
                    .code("InternalError")
                    .build(),
            )
        });
        let w = world(CSV, Some(down));
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
        // Not a silent "nothing to do": the retry policy was used up.
        assert_eq!(w.rules[2].num_calls(), 3);
    }

    #[tokio::test]
    async fn a_message_sqs_refuses_is_reported_as_a_reject() {
        let s = Arc::new(Mutex::new(Vec::<String>::new()));
        let seen = s.clone();
        let picky = mock!(aws_sdk_sqs::Client::send_message_batch).then_compute_output(move |r| {
            let mut out = SendMessageBatchOutput::builder()
                .set_successful(Some(vec![]))
                .set_failed(Some(vec![]));
            for e in r.entries() {
                if e.message_body().contains("\"C-2\"") {
                    out = out.failed(
                        BatchResultErrorEntry::builder()
                            .id(e.id())
                            .code("InvalidMessageContents")
                            .sender_fault(true)
                            .build()
                            .unwrap(),
                    );
                } else {
                    seen.lock().unwrap().push(e.message_body().to_string());
                    out = out.successful(
                        SendMessageBatchResultEntry::builder()
                            .id(e.id())
                            .message_id("m")
                            .md5_of_message_body("x")
                            .build()
                            .unwrap(),
                    );
                }
            }
            out.build().unwrap()
        });
        let w = world(CSV, Some(picky));
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
            .filter(|r| r.reason.contains("InvalidMessageContents"))
            .collect();
        assert_eq!(refused.len(), 1);
        assert_eq!(refused[0].line, 3);
        assert_eq!(refused[0].customer_key.as_deref(), Some("C-2"));
        assert_eq!(s.lock().unwrap().len(), 1);
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
            sqs: mocked!(aws_sdk_sqs, []),
            ssm: mocked!(aws_sdk_ssm, [&iso]),
            sfn: mocked!(aws_sdk_sfn, []),
            keyer: outbound_core::testkit::contact_keyer(),
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
        let mut w = world(CSV, None);
        w.clients.s3 = mocked!(aws_sdk_s3, []);
        w.clients.sqs = mocked!(aws_sdk_sqs, []);
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
        let w = world(CSV, None);
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
        assert!(results.iter().all(|r| r["queued"] == 2));
        // The same object version names the same execution: the second start joins the first.
        let seen = w.seen.lock().unwrap();
        assert_eq!(seen.starts[0].0, seen.starts[1].0);
    }

    #[tokio::test]
    async fn other_events_and_missing_configuration() {
        let w = world(CSV, None);
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
