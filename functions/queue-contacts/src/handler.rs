//! queue-contacts: a Pinpoint custom-channel batch → contacts in the queue, exactly once.
//!
//! 1. The batch's endpoints become contacts, skips (opted out, inactive, not a phone channel)
//!    and rejects (`crate::pinpoint`).
//! 2. Each contact claims `QUEUED#<campaign>#<contactKey>` in the table with a conditional put
//!    (`state` `PENDING`, `activityId`, `pendingUntil` = this invocation's deadline, `expiresAt`
//!    = 7 days). The condition lets a claim through when there is no item, when the item is from
//!    another activity (next week's run of a recurring campaign), or when it is a `PENDING` claim
//!    whose invocation's deadline has passed (that invocation died before sending). Anything else
//!    is a duplicate: Pinpoint delivered this batch already.
//! 3. Claimed contacts are sent to SQS; their items then become `QUEUED`. Contacts that could not
//!    be sent have their claim deleted, so Pinpoint's retry of the batch queues them.
//! 4. Rejects are written to the results bucket, `totalRecords` grows, and the campaign's run is
//!    started or joined, so a batch that arrives after the lanes went idle is dialed.

use crate::env::Env;
use crate::pinpoint::{process, PinpointBatch};
use aws_sdk_dynamodb::types::AttributeValue;
use futures::stream::{self, StreamExt};
use outbound_core::config::read_default_region;
use outbound_core::contact::Contact;
use outbound_core::error::FunctionError;
use outbound_core::intake::report::RejectWriter;
use outbound_core::intake::run::{add_total_records, execution_name, start_or_join_run, RunInput};
use outbound_core::intake::sender::{Origin, Outgoing, QueueSender, DEFAULT_MAX_IN_FLIGHT};
use outbound_core::intake::{sdk_error, RetryPolicy};
use outbound_core::records::{reject_object_key, RejectRecord};
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// How long a `QUEUED#` item is kept (DynamoDB TTL): longer than Pinpoint retries a delivery
/// and than SQS keeps a message.
pub const QUEUED_TTL_SECONDS: i64 = 7 * 24 * 3600;

/// Table writes in flight at once for one batch (Pinpoint sends up to 50 endpoints).
const TABLE_CONCURRENCY: usize = 10;

/// The AWS clients the function uses, and the contact keyer derived through KMS: built once.
#[derive(Debug, Clone)]
pub struct Clients {
    pub sqs: aws_sdk_sqs::Client,
    pub ddb: aws_sdk_dynamodb::Client,
    pub s3: aws_sdk_s3::Client,
    pub ssm: aws_sdk_ssm::Client,
    pub sfn: aws_sdk_sfn::Client,
    pub keyer: outbound_core::contact_key::ContactKeyer,
}

#[derive(Debug, Clone, Copy)]
pub struct Tuning {
    pub policy: RetryPolicy,
    pub max_in_flight: usize,
}

impl Default for Tuning {
    fn default() -> Self {
        Tuning {
            policy: RetryPolicy::DEFAULT,
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
        }
    }
}

/// Clock of one invocation (epoch seconds), given by `main` from the Lambda context.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Clock {
    pub now: i64,
    /// The invocation's deadline.
    pub deadline: i64,
}

/// The function's output (see `docs/architecture.md`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Output {
    pub queued: u64,
    pub skipped: BTreeMap<String, u64>,
    pub rejected: u64,
    pub duplicates: u64,
    /// The execution started or joined (`None` when the batch held nothing to dial).
    pub execution: Option<String>,
}

fn marker_key(contact: &Contact) -> String {
    format!("QUEUED#{}#{}", contact.campaign, contact.contact_key)
}

enum Claim {
    Claimed,
    Duplicate,
}

async fn claim(
    ddb: &aws_sdk_dynamodb::Client,
    table: &str,
    contact: &Contact,
    activity: &str,
    clock: Clock,
    policy: RetryPolicy,
) -> Result<Claim, FunctionError> {
    use aws_sdk_dynamodb::operation::put_item::PutItemError;
    let pk = marker_key(contact);
    let pk = pk.as_str();
    policy
        .retry(|| async move {
            let result = ddb
                .put_item()
                .table_name(table)
                .item("pk", AttributeValue::S(pk.to_string()))
                .item("state", AttributeValue::S("PENDING".into()))
                .item("activityId", AttributeValue::S(activity.to_string()))
                .item(
                    "pendingUntil",
                    AttributeValue::N(clock.deadline.to_string()),
                )
                .item("claimedAt", AttributeValue::N(clock.now.to_string()))
                .item(
                    "expiresAt",
                    AttributeValue::N((clock.now + QUEUED_TTL_SECONDS).to_string()),
                )
                .condition_expression(
                    "attribute_not_exists(pk) OR activityId <> :activity \
                     OR (#state = :pending AND pendingUntil < :now)",
                )
                .expression_attribute_names("#state", "state")
                .expression_attribute_values(":activity", AttributeValue::S(activity.to_string()))
                .expression_attribute_values(":pending", AttributeValue::S("PENDING".into()))
                .expression_attribute_values(":now", AttributeValue::N(clock.now.to_string()))
                .send()
                .await;
            match result {
                Ok(_) => Ok(Claim::Claimed),
                Err(e)
                    if matches!(
                        e.as_service_error(),
                        Some(PutItemError::ConditionalCheckFailedException(_))
                    ) =>
                {
                    Ok(Claim::Duplicate)
                }
                Err(e) => Err(sdk_error("PutItem QUEUED", &e)),
            }
        })
        .await
}

/// Deletes claims of contacts that did not reach the queue (best effort, logged).
async fn release(
    ddb: &aws_sdk_dynamodb::Client,
    table: &str,
    keys: Vec<String>,
    policy: RetryPolicy,
) -> u64 {
    let released = stream::iter(keys)
        .map(|pk| async move {
            let pk = pk.as_str();
            let result = policy
                .retry(|| async move {
                    ddb.delete_item()
                        .table_name(table)
                        .key("pk", AttributeValue::S(pk.to_string()))
                        .send()
                        .await
                        .map_err(|e| sdk_error("DeleteItem QUEUED", &e))
                })
                .await;
            if let Err(err) = &result {
                // The claim stays PENDING: a retry after this invocation's deadline takes it
                // over, so the contact is late, not lost.
                tracing::warn!(error = %err, "a QUEUED claim could not be released");
            }
            result.is_ok()
        })
        .buffer_unordered(TABLE_CONCURRENCY)
        .collect::<Vec<bool>>()
        .await;
    released.into_iter().filter(|ok| *ok).count() as u64
}

/// Marks claims of queued contacts `QUEUED` (best effort: a claim left `PENDING` only means a
/// retry after the deadline could queue the contact again, which dial de-duplicates in a run).
async fn confirm(
    ddb: &aws_sdk_dynamodb::Client,
    table: &str,
    keys: Vec<String>,
    policy: RetryPolicy,
) {
    stream::iter(keys)
        .for_each_concurrent(TABLE_CONCURRENCY, |pk| async move {
            let pk = pk.as_str();
            let result = policy
                .retry(|| async move {
                    ddb.update_item()
                        .table_name(table)
                        .key("pk", AttributeValue::S(pk.to_string()))
                        .update_expression("SET #state = :queued REMOVE pendingUntil")
                        .expression_attribute_names("#state", "state")
                        .expression_attribute_values(":queued", AttributeValue::S("QUEUED".into()))
                        .send()
                        .await
                        .map_err(|e| sdk_error("UpdateItem QUEUED", &e))
                })
                .await;
            if let Err(err) = result {
                tracing::warn!(error = %err, "a QUEUED claim stays PENDING");
            }
        })
        .await;
}

/// Handles one Pinpoint custom-channel invocation.
pub async fn handle(
    clients: &Clients,
    env: &Env,
    tuning: &Tuning,
    clock: Clock,
    event: Value,
) -> Result<Output, FunctionError> {
    let batch = PinpointBatch::from_event(&event)?;
    let region = read_default_region(&clients.ssm, &env.ssm_prefix).await?;
    let outcome = process(&batch, Some(region), &env.destinations, &clients.keyer);
    let activity = batch.activity_tag();
    let source = batch.source_name();

    // Claim every contact (concurrently: a batch is at most 50 endpoints).
    let claims: Vec<(u64, Contact, Result<Claim, FunctionError>)> =
        stream::iter(outcome.contacts.clone())
            .map(|(position, contact)| {
                let activity = activity.as_str();
                async move {
                    let r = claim(
                        &clients.ddb,
                        &env.table_name,
                        &contact,
                        activity,
                        clock,
                        tuning.policy,
                    )
                    .await;
                    (position, contact, r)
                }
            })
            .buffered(TABLE_CONCURRENCY)
            .collect()
            .await;
    let mut claimed = Vec::new();
    let mut duplicates = outcome.duplicates;
    let mut claim_error = None;
    for (position, contact, result) in claims {
        match result {
            Ok(Claim::Claimed) => claimed.push((position, contact)),
            Ok(Claim::Duplicate) => duplicates += 1,
            Err(e) => {
                claim_error.get_or_insert(e);
            }
        }
    }
    if let Some(err) = claim_error {
        // Nothing was sent yet: release what was claimed so Pinpoint's retry starts clean.
        release(
            &clients.ddb,
            &env.table_name,
            claimed.iter().map(|(_, c)| marker_key(c)).collect(),
            tuning.policy,
        )
        .await;
        return Err(err);
    }

    let by_contact_key: BTreeMap<String, String> = claimed
        .iter()
        .map(|(_, c)| (c.contact_key.clone(), marker_key(c)))
        .collect();
    let mut sender = QueueSender::new(clients.sqs.clone(), &env.queue_url)
        .with_policy(tuning.policy)
        .with_max_in_flight(tuning.max_in_flight);
    for (position, contact) in &claimed {
        // After a failure the sender only records the rest as unsent (no call is made), so
        // every claimed contact is either sent or listed by `finish`.
        let _ = sender.push(Outgoing::new(contact, Some(*position))).await;
    }
    let summary = match sender.finish().await {
        Ok(s) => s,
        Err(abort) => {
            let not_queued: Vec<String> = abort
                .unsent
                .iter()
                .chain(abort.failed.iter().map(|f| &f.origin))
                .filter_map(|o: &Origin| by_contact_key.get(&o.contact_key).cloned())
                .collect();
            release(&clients.ddb, &env.table_name, not_queued, tuning.policy).await;
            return Err(FunctionError::new(
                abort.error.name,
                format!(
                    "{} ({} of {} contacts queued)",
                    abort.error.message,
                    abort.sent,
                    claimed.len()
                ),
            ));
        }
    };
    let failed_keys: BTreeSet<&str> = summary
        .failed
        .iter()
        .map(|f| f.origin.contact_key.as_str())
        .collect();
    let failed_markers: Vec<String> = failed_keys
        .iter()
        .filter_map(|k| by_contact_key.get(*k).cloned())
        .collect();
    let queued_markers: Vec<String> = by_contact_key
        .iter()
        .filter(|(k, _)| !failed_keys.contains(k.as_str()))
        .map(|(_, m)| m.clone())
        .collect();
    release(&clients.ddb, &env.table_name, failed_markers, tuning.policy).await;
    confirm(&clients.ddb, &env.table_name, queued_markers, tuning.policy).await;

    let mut rejects = outcome.rejects.clone();
    rejects.extend(summary.failed.iter().map(|f| RejectRecord {
        line: f.origin.line,
        reason: f.reason.clone(),
        customer_key: Some(f.origin.customer_key.clone()),
        phone_masked: Some(f.origin.phone_masked.clone()),
        source: source.clone(),
    }));
    if !rejects.is_empty() {
        let mut writer = RejectWriter::new(
            clients.s3.clone(),
            &env.results_bucket,
            reject_object_key(&batch.campaign_id, &source),
        )
        .with_policy(tuning.policy);
        for r in &rejects {
            writer.push(r).await?;
        }
        writer.finish(false).await?;
    }

    let mut out = Output {
        queued: summary.sent,
        skipped: outcome.skipped.clone(),
        rejected: rejects.len() as u64,
        duplicates,
        execution: None,
    };
    add_total_records(&clients.ssm, &env.ssm_prefix, out.queued, tuning.policy).await;
    // Duplicates count too: a retried batch whose first delivery queued the contacts but failed
    // before starting the run must still start it.
    if out.queued + duplicates > 0 {
        let run = start_or_join_run(
            &clients.sfn,
            &env.state_machine_arn,
            &execution_name("pinpoint", &batch.campaign_id, &batch.batch_id()),
            &RunInput {
                source: format!("pinpoint:{}/{}", batch.application_id, batch.campaign_id),
                campaign: batch.campaign_id.clone(),
            },
            tuning.policy,
        )
        .await?;
        out.execution = Some(run.execution_arn);
    }
    tracing::info!(
        campaign = %batch.campaign_id,
        endpoints = batch.endpoints.len(),
        queued = out.queued,
        skipped = outcome.skipped_total(),
        rejected = out.rejected,
        duplicates = out.duplicates,
        "Pinpoint batch queued"
    );
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::operation::delete_item::DeleteItemOutput;
    use aws_sdk_dynamodb::operation::put_item::{PutItemError, PutItemOutput};
    use aws_sdk_dynamodb::operation::update_item::UpdateItemOutput;
    use aws_sdk_dynamodb::types::error::ConditionalCheckFailedException;
    use aws_sdk_s3::operation::put_object::PutObjectOutput;
    use aws_sdk_sfn::operation::start_execution::StartExecutionOutput;
    use aws_sdk_sqs::operation::send_message_batch::{
        SendMessageBatchError, SendMessageBatchOutput,
    };
    use aws_sdk_sqs::types::SendMessageBatchResultEntry;
    use aws_sdk_ssm::operation::get_parameter::{GetParameterError, GetParameterOutput};
    use aws_sdk_ssm::operation::put_parameter::PutParameterOutput;
    use aws_sdk_ssm::types::error::ParameterNotFound;
    use aws_sdk_ssm::types::Parameter;
    use aws_smithy_mocks::{mock, Rule};
    use outbound_core::contact::ContactSource;
    use outbound_core::error::ErrorName;
    use outbound_core::mocked;
    use serde_json::json;
    use std::sync::{Arc, Mutex};

    const CLOCK: Clock = Clock {
        now: 1_700_000_000,
        deadline: 1_700_000_060,
    };

    fn env() -> Env {
        Env {
            queue_url: "q".into(),
            table_name: "active-dialing".into(),
            results_bucket: "results".into(),
            state_machine_arn: "arn:aws:states:eu-west-2:123456789012:stateMachine:blaster-dialer"
                .into(),
            ssm_prefix: "/connect/blaster/test/".into(),
            destinations: outbound_core::destinations::DestinationRules::parse("GB,US,FR,DE,AU")
                .unwrap(),
            contact_key_kms_key_arn:
                "arn:aws:kms:eu-west-2:123456789012:key/11111111-2222-3333-4444-555555555555".into(),
        }
    }

    fn tuning() -> Tuning {
        Tuning {
            policy: RetryPolicy::immediate(3),
            max_in_flight: 2,
        }
    }

    fn event() -> Value {
        json!({
            "Message": {},
            "Data": "{\"greeting\":\"Hello {{User.UserAttributes.FirstName}}\"}",
            "ApplicationId": "app-1", "CampaignId": "camp-1", "TreatmentId": "0", "ActivityId": "act-1",
            "ScheduledTime": "2024-04-19T00:33:24.609Z",
            "Endpoints": {
                "ep-1": {"ChannelType": "VOICE", "Address": "+44 20 7946 0001", "EndpointStatus": "ACTIVE", "OptOut": "NONE",
                         "User": {"UserId": "U-1", "UserAttributes": {"FirstName": ["Ann"]}}},
                "ep-2": {"ChannelType": "VOICE", "Address": "+1 212 555 0123", "User": {"UserId": "U-2"}},
                "ep-3": {"ChannelType": "SMS", "Address": "+61 491 570 156", "OptOut": "ALL"},
                "ep-4": {"ChannelType": "VOICE", "Address": "12", "User": {"UserId": "U-4"}}
            }
        })
    }

    #[derive(Default)]
    struct Seen {
        markers: Vec<String>,
        conditions: Vec<String>,
        bodies: Vec<String>,
        confirmed: Vec<String>,
        released: Vec<String>,
        report: Option<(String, String)>,
        starts: Vec<String>,
    }

    struct World {
        clients: Clients,
        seen: Arc<Mutex<Seen>>,
        rules: Vec<Rule>,
    }

    fn world(put: Option<Rule>, sqs: Option<Rule>) -> World {
        let seen = Arc::new(Mutex::new(Seen::default()));
        let s = seen.clone();
        let put = put.unwrap_or_else(|| {
            mock!(aws_sdk_dynamodb::Client::put_item).then_compute_output(move |r| {
                let item = r.item().unwrap();
                let mut seen = s.lock().unwrap();
                seen.markers.push(item["pk"].as_s().unwrap().clone());
                seen.conditions
                    .push(r.condition_expression().unwrap().to_string());
                assert_eq!(item["state"].as_s().unwrap(), "PENDING");
                assert_eq!(item["activityId"].as_s().unwrap(), "act-1");
                assert_eq!(item["pendingUntil"].as_n().unwrap(), "1700000060");
                assert_eq!(
                    item["expiresAt"].as_n().unwrap(),
                    &(CLOCK.now + QUEUED_TTL_SECONDS).to_string()
                );
                PutItemOutput::builder().build()
            })
        });
        let s = seen.clone();
        let update = mock!(aws_sdk_dynamodb::Client::update_item).then_compute_output(move |r| {
            s.lock()
                .unwrap()
                .confirmed
                .push(r.key().unwrap()["pk"].as_s().unwrap().clone());
            UpdateItemOutput::builder().build()
        });
        let s = seen.clone();
        let delete = mock!(aws_sdk_dynamodb::Client::delete_item).then_compute_output(move |r| {
            s.lock()
                .unwrap()
                .released
                .push(r.key().unwrap()["pk"].as_s().unwrap().clone());
            DeleteItemOutput::builder().build()
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
        let s = seen.clone();
        let put_object = mock!(aws_sdk_s3::Client::put_object).then_compute_output(move |r| {
            s.lock().unwrap().report = Some((
                r.key().unwrap().to_string(),
                String::from_utf8(r.body().bytes().unwrap().to_vec()).unwrap(),
            ));
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
        let put_total = mock!(aws_sdk_ssm::Client::put_parameter)
            .then_output(|| PutParameterOutput::builder().build());
        let s = seen.clone();
        let start = mock!(aws_sdk_sfn::Client::start_execution).then_compute_output(move |r| {
            s.lock().unwrap().starts.push(r.name().unwrap().to_string());
            StartExecutionOutput::builder()
                .execution_arn("arn:exec")
                .start_date(aws_smithy_types::DateTime::from_secs(0))
                .build()
                .unwrap()
        });
        World {
            clients: Clients {
                sqs: mocked!(aws_sdk_sqs, [&send]),
                ddb: mocked!(aws_sdk_dynamodb, [&put, &update, &delete]),
                s3: mocked!(aws_sdk_s3, [&put_object]),
                ssm: mocked!(aws_sdk_ssm, [&iso, &total, &put_total]),
                sfn: mocked!(aws_sdk_sfn, [&start]),
                keyer: outbound_core::testkit::contact_keyer(),
            },
            seen,
            rules: vec![put, send, start, put_total],
        }
    }

    #[tokio::test]
    async fn a_batch_is_claimed_queued_confirmed_reported_and_started() {
        let w = world(None, None);
        let out = handle(&w.clients, &env(), &tuning(), CLOCK, event())
            .await
            .unwrap();
        assert_eq!(out.queued, 2);
        assert_eq!(out.rejected, 1);
        assert_eq!(out.duplicates, 0);
        assert_eq!(out.skipped, BTreeMap::from([("opted_out".to_string(), 1)]));
        assert_eq!(out.execution.as_deref(), Some("arn:exec"));
        assert_eq!(
            serde_json::to_value(&out).unwrap(),
            json!({"queued": 2, "skipped": {"opted_out": 1}, "rejected": 1, "duplicates": 0, "execution": "arn:exec"})
        );

        let seen = w.seen.lock().unwrap();
        let mut contacts: Vec<Contact> = seen
            .bodies
            .iter()
            .map(|b| serde_json::from_str(b).unwrap())
            .collect();
        contacts.sort_by(|a, b| a.key.cmp(&b.key));
        assert_eq!(
            contacts.iter().map(|c| c.key.as_str()).collect::<Vec<_>>(),
            vec!["U-1", "U-2"]
        );
        assert_eq!(contacts[0].attributes["greeting"], "Hello Ann");
        assert_eq!(contacts[0].attributes["PinpointCampaignId"], "camp-1");
        assert!(
            matches!(&contacts[0].source, ContactSource::Pinpoint { endpoint_id, .. } if endpoint_id == "ep-1")
        );

        let mut expected: Vec<String> = contacts
            .iter()
            .map(|c| format!("QUEUED#camp-1#{}", c.contact_key))
            .collect();
        expected.sort();
        let mut markers = seen.markers.clone();
        markers.sort();
        assert_eq!(markers, expected);
        assert!(seen
            .conditions
            .iter()
            .all(|c| c.contains("attribute_not_exists(pk)")));
        let mut confirmed = seen.confirmed.clone();
        confirmed.sort();
        assert_eq!(confirmed, expected);
        assert!(seen.released.is_empty());

        let (key, report) = seen.report.clone().unwrap();
        assert!(
            key.starts_with("rejects/campaign=camp-1/pinpoint_app-1_camp-1_"),
            "{key}"
        );
        let reject: RejectRecord = serde_json::from_str(report.trim()).unwrap();
        assert_eq!(
            (reject.line, reject.customer_key.as_deref()),
            (4, Some("U-4"))
        );
        assert_eq!(seen.starts.len(), 1);
        assert!(seen.starts[0].starts_with("pinpoint-camp-1-"));
    }

    #[tokio::test]
    async fn a_batch_delivered_twice_queues_nothing_twice() {
        let already = mock!(aws_sdk_dynamodb::Client::put_item).then_error(|| {
            PutItemError::ConditionalCheckFailedException(
                ConditionalCheckFailedException::builder().build(),
            )
        });
        let w = world(Some(already), None);
        let out = handle(&w.clients, &env(), &tuning(), CLOCK, event())
            .await
            .unwrap();
        assert_eq!(out.queued, 0);
        assert_eq!(out.duplicates, 2);
        assert_eq!(w.rules[1].num_calls(), 0, "nothing sent to SQS");
        // The first delivery may have died before starting the run: start (or join) it now.
        assert_eq!(w.seen.lock().unwrap().starts.len(), 1);
        // Nothing new queued: the counter is left alone.
        assert_eq!(w.rules[3].num_calls(), 0);
    }

    #[tokio::test]
    async fn contacts_that_did_not_reach_the_queue_release_their_claim() {
        let down = mock!(aws_sdk_sqs::Client::send_message_batch).then_error(|| {
            SendMessageBatchError::generic(
                aws_smithy_types::error::ErrorMetadata::builder()
                    .code("InternalError")
                    .build(),
            )
        });
        let w = world(None, Some(down));
        let err = handle(&w.clients, &env(), &tuning(), CLOCK, event())
            .await
            .unwrap_err();
        assert_eq!(err.name, ErrorName::Retryable);
        let seen = w.seen.lock().unwrap();
        let mut released = seen.released.clone();
        released.sort();
        let mut markers = seen.markers.clone();
        markers.sort();
        assert_eq!(
            released, markers,
            "every claim is released so Pinpoint's retry queues them"
        );
        assert!(seen.confirmed.is_empty());
        assert!(seen.starts.is_empty());
    }

    #[tokio::test]
    async fn a_throttled_claim_is_retried() {
        let s = Arc::new(Mutex::new(0));
        let n = s.clone();
        let flaky = mock!(aws_sdk_dynamodb::Client::put_item)
            .sequence()
            .error(|| {
                PutItemError::generic(
                    aws_smithy_types::error::ErrorMetadata::builder()
                        .code("ProvisionedThroughputExceededException")
                        .build(),
                )
            })
            .output(move || {
                *n.lock().unwrap() += 1;
                PutItemOutput::builder().build()
            })
            .repeatedly()
            .build();
        let w = world(Some(flaky), None);
        let out = handle(&w.clients, &env(), &tuning(), CLOCK, event())
            .await
            .unwrap();
        assert_eq!(out.queued, 2);
        assert_eq!(*s.lock().unwrap(), 2);
    }

    #[tokio::test]
    async fn a_claim_that_keeps_failing_releases_the_others_and_fails() {
        let broken = mock!(aws_sdk_dynamodb::Client::put_item)
            .match_requests(|r| r.item().unwrap()["pk"].as_s().unwrap().contains('#'))
            .then_error(|| {
                PutItemError::generic(
                    aws_smithy_types::error::ErrorMetadata::builder()
                        .code("AccessDeniedException")
                        .build(),
                )
            });
        let w = world(Some(broken), None);
        let err = handle(&w.clients, &env(), &tuning(), CLOCK, event())
            .await
            .unwrap_err();
        assert_eq!(err.name, ErrorName::InvalidInput);
        assert_eq!(w.rules[1].num_calls(), 0);
    }

    #[tokio::test]
    async fn an_event_that_is_not_a_pinpoint_batch_is_invalid_input() {
        let w = world(None, None);
        let err = handle(&w.clients, &env(), &tuning(), CLOCK, json!({"Records": []}))
            .await
            .unwrap_err();
        assert_eq!(err.name, ErrorName::InvalidInput);
    }

    #[tokio::test]
    async fn a_batch_with_nothing_to_dial_starts_nothing() {
        let w = world(None, None);
        let e = json!({"ApplicationId": "a", "CampaignId": "c", "Endpoints": {
            "x": {"ChannelType": "EMAIL", "Address": "a@example.com"},
            "y": {"ChannelType": "VOICE", "Address": "+44 20 7946 0001", "EndpointStatus": "INACTIVE"}
        }});
        let out = handle(&w.clients, &env(), &tuning(), CLOCK, e)
            .await
            .unwrap();
        assert_eq!(out.queued, 0);
        assert_eq!(out.skipped.values().sum::<u64>(), 2);
        assert!(out.execution.is_none());
        assert!(
            w.seen.lock().unwrap().report.is_none(),
            "no rejects, no report"
        );
    }
}
