//! queue-contacts: a Pinpoint custom-channel batch → contacts in the campaign ledger, exactly
//! once.
//!
//! 1. The batch's endpoints become contacts, skips (opted out, inactive, not a phone channel)
//!    and rejects (`crate::pinpoint`).
//! 2. The campaign (Pinpoint's `CampaignId`, or `JourneyId`) is listed in the ledger as having
//!    work, and each contact is admitted with one conditional put, as a round named by the
//!    batch's activity: a contact the campaign already holds from this activity (Pinpoint
//!    delivered the batch again) or still being dialed is a duplicate; one that is final from an
//!    earlier activity (last week's run of a recurring campaign) is admitted again as new.
//! 3. Each contact the ledger answered for is looked up on the do-not-call list, and a listed
//!    one is made final `dnc` at once with its final record
//!    (`outbound_core::intake::suppressor`, as the CSV intake does): it is never leased.
//! 4. A ledger that keeps failing fails the invocation: Pinpoint's retry admits what is missing,
//!    and what was admitted answers "already present".
//! 5. Rejects are written to the results bucket, `totalRecords` grows, and the campaign's run is
//!    started or joined, so a batch that arrives after the lanes went idle is dialed (the run's
//!    feeder moves the due contacts to the lanes' queue).

use crate::env::Env;
use crate::pinpoint::{process, PinpointBatch};
use outbound_core::config::read_default_region;
use outbound_core::error::FunctionError;
use outbound_core::intake::admitter::{DueContact, LedgerAdmitter, DEFAULT_ADMIT_IN_FLIGHT};
use outbound_core::intake::report::RejectWriter;
use outbound_core::intake::run::{add_total_records, execution_name, start_or_join_run, RunInput};
use outbound_core::intake::suppressor::{IntakeSuppressor, CHECK_BATCH};
use outbound_core::intake::RetryPolicy;
use outbound_core::ledger::{campaigns, CampaignLedger};
use outbound_core::records::{reject_object_key, RejectRecord};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// The AWS clients the function uses, and the contact keyer derived through KMS: built once.
#[derive(Debug, Clone)]
pub struct Clients {
    /// The campaign ledger contacts are admitted into.
    pub ledger: CampaignLedger,
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
            max_in_flight: DEFAULT_ADMIT_IN_FLIGHT,
        }
    }
}

/// The function's output (see `docs/architecture.md`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Output {
    /// Contacts admitted into the campaign (new to it, or to this round of it).
    pub queued: u64,
    pub skipped: BTreeMap<String, u64>,
    pub rejected: u64,
    pub duplicates: u64,
    /// Contacts admitted whose number is on the do-not-call list: made final `dnc`, never
    /// called (counted in `queued` too).
    pub suppressed: u64,
    /// The execution started or joined (`None` when the batch held nothing to dial).
    pub execution: Option<String>,
}

/// Looks the contacts the ledger answered for up on the do-not-call list, [`CHECK_BATCH`] at a
/// time, and makes the listed ones final; how many it made final.
async fn suppress_listed(
    suppressor: &IntakeSuppressor,
    keyer: &outbound_core::contact_key::ContactKeyer,
    answered: &[DueContact],
) -> Result<u64, FunctionError> {
    let mut suppressed = 0;
    for batch in answered.chunks(CHECK_BATCH) {
        let keys: Vec<String> = batch
            .iter()
            .map(|c| keyer.do_not_call_key(&c.contact.phone))
            .collect();
        let asked: Vec<&str> = keys.iter().map(String::as_str).collect();
        let listed = suppressor.listed(&asked).await?;
        let now = chrono::Utc::now();
        for (due, key) in batch.iter().zip(&keys) {
            if listed.contains(key) && suppressor.suppress(due, now).await? {
                suppressed += 1;
            }
        }
    }
    Ok(suppressed)
}

/// Handles one Pinpoint custom-channel invocation.
pub async fn handle(
    clients: &Clients,
    env: &Env,
    tuning: &Tuning,
    event: Value,
) -> Result<Output, FunctionError> {
    let batch = PinpointBatch::from_event(&event)?;
    let region = read_default_region(&clients.ssm, &env.ssm_prefix).await?;
    let outcome = process(&batch, Some(region), &env.destinations, &clients.keyer);
    let activity = batch.activity_tag();
    let source = batch.source_name();

    if !outcome.contacts.is_empty() {
        tuning
            .policy
            .retry(|| campaigns::register(&clients.ledger, &batch.campaign_id, chrono::Utc::now()))
            .await?;
    }
    let mut admitter = LedgerAdmitter::new(clients.ledger.clone(), chrono::Utc::now(), None)
        .tracking()
        .with_round(activity.as_str())
        .with_dnc_keys(clients.keyer.clone())
        .with_policy(tuning.policy)
        .with_max_in_flight(tuning.max_in_flight);
    for (position, contact) in &outcome.contacts {
        // After a failure the admitter only records the rest as unsent (no call is made).
        let _ = admitter.push(contact.clone(), Some(*position)).await;
    }
    // The contacts the ledger answered for, before `finish` hands back the summary.
    admitter.drain().await;
    let answered = admitter.take_due();
    let summary = match admitter.finish().await {
        Ok(s) => s,
        Err(abort) => {
            return Err(FunctionError::new(
                abort.error.name,
                format!(
                    "{} ({} of {} contacts admitted)",
                    abort.error.message,
                    abort.admitted,
                    outcome.contacts.len()
                ),
            ));
        }
    };
    let duplicates = outcome.duplicates + summary.already_present;
    let suppressor = IntakeSuppressor {
        ledger: clients.ledger.clone(),
        s3: clients.s3.clone(),
        results_bucket: env.results_bucket.clone(),
        policy: tuning.policy,
    };
    let suppressed = suppress_listed(&suppressor, &clients.keyer, &answered).await?;

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
        queued: summary.admitted,
        suppressed,
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
        "Pinpoint batch admitted"
    );
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::types::AttributeValue;
    use aws_sdk_s3::operation::put_object::PutObjectOutput;
    use aws_sdk_sfn::operation::start_execution::StartExecutionOutput;
    use aws_sdk_ssm::operation::get_parameter::{GetParameterError, GetParameterOutput};
    use aws_sdk_ssm::operation::put_parameter::PutParameterOutput;
    use aws_sdk_ssm::types::error::ParameterNotFound;
    use aws_sdk_ssm::types::Parameter;
    use aws_smithy_mocks::{mock, Rule};
    use outbound_core::contact::ContactSource;
    use outbound_core::error::ErrorName;
    use outbound_core::ledger::{ContactState, LedgerContact};
    use outbound_core::mocked;
    use outbound_core::testkit::{FakeTable, Log};
    use serde_json::json;
    use std::sync::{Arc, Mutex};

    fn env() -> Env {
        Env {
            ledger: outbound_core::ledger::CampaignLedgerEnv {
                table_name: "ledger".into(),
            },
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

    fn event_of(activity: &str) -> Value {
        json!({
            "Message": {},
            "Data": "{\"greeting\":\"Hello {{User.UserAttributes.FirstName}}\"}",
            "ApplicationId": "app-1", "CampaignId": "camp-1", "TreatmentId": "0", "ActivityId": activity,
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

    fn event() -> Value {
        event_of("act-1")
    }

    #[derive(Default)]
    struct Seen {
        report: Option<(String, String)>,
        starts: Vec<String>,
    }

    struct World {
        clients: Clients,
        seen: Arc<Mutex<Seen>>,
        table: FakeTable,
        rules: Vec<Rule>,
    }

    impl World {
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
    }

    fn world() -> World {
        let seen = Arc::new(Mutex::new(Seen::default()));
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
        let table = FakeTable::new(&Log::default());
        World {
            clients: Clients {
                ledger: CampaignLedger {
                    dynamodb: table.client(),
                    table_name: "ledger".into(),
                    final_retention: None,
                },
                s3: mocked!(aws_sdk_s3, [&put_object]),
                ssm: mocked!(aws_sdk_ssm, [&iso, &total, &put_total]),
                sfn: mocked!(aws_sdk_sfn, [&start]),
                keyer: outbound_core::testkit::contact_keyer(),
            },
            seen,
            table,
            rules: vec![start, put_total],
        }
    }

    #[tokio::test]
    async fn a_batch_is_admitted_reported_and_started() {
        let w = world();
        let out = handle(&w.clients, &env(), &tuning(), event())
            .await
            .unwrap();
        assert_eq!(
            serde_json::to_value(&out).unwrap(),
            json!({"queued": 2, "skipped": {"opted_out": 1}, "rejected": 1, "duplicates": 0, "suppressed": 0, "execution": "arn:exec"})
        );
        let contacts = w.admitted();
        assert_eq!(
            contacts.iter().map(|c| c.key.as_str()).collect::<Vec<_>>(),
            vec!["U-1", "U-2"]
        );
        assert!(contacts
            .iter()
            .all(|c| c.state == ContactState::Due && c.round.as_deref() == Some("act-1")));
        assert_eq!(contacts[0].campaign, "camp-1");
        assert_eq!(contacts[0].attributes["greeting"], "Hello Ann");
        assert_eq!(contacts[0].attributes["PinpointCampaignId"], "camp-1");
        assert!(
            matches!(&contacts[0].source, ContactSource::Pinpoint { endpoint_id, .. } if endpoint_id == "ep-1")
        );
        let listed = w
            .table
            .get(outbound_core::ledger::campaigns::CAMPAIGNS_PK)
            .unwrap();
        assert_eq!(
            listed["active"].as_ss().unwrap(),
            &vec!["camp-1".to_string()]
        );

        let seen = w.seen.lock().unwrap();
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
    async fn a_batch_delivered_twice_admits_nothing_twice() {
        let w = world();
        handle(&w.clients, &env(), &tuning(), event())
            .await
            .unwrap();
        let out = handle(&w.clients, &env(), &tuning(), event())
            .await
            .unwrap();
        assert_eq!(out.queued, 0);
        assert_eq!(out.duplicates, 2);
        assert_eq!(w.admitted().len(), 2);
        // The first delivery may have died before starting the run: start (or join) it now.
        assert_eq!(w.seen.lock().unwrap().starts.len(), 2);
        // Nothing new admitted the second time: the counter is left alone.
        assert_eq!(w.rules[1].num_calls(), 1);
    }

    #[tokio::test]
    async fn a_later_activity_admits_final_contacts_again_but_not_ones_still_being_dialed() {
        let w = world();
        handle(&w.clients, &env(), &tuning(), event_of("act-1"))
            .await
            .unwrap();
        let first = w.admitted();
        // U-1 was reached last week; U-2 is still waiting for a redial.
        let pk = outbound_core::ledger::item::contact_pk("camp-1", &first[0].contact_key);
        w.table
            .items
            .lock()
            .unwrap()
            .get_mut(&pk)
            .unwrap()
            .insert("state".into(), AttributeValue::S("final".into()));
        let out = handle(&w.clients, &env(), &tuning(), event_of("act-2"))
            .await
            .unwrap();
        assert_eq!((out.queued, out.duplicates), (1, 1));
        let now = w.admitted();
        assert_eq!(now[0].state, ContactState::Due);
        assert_eq!(now[0].round.as_deref(), Some("act-2"));
        assert_eq!(now[1].round.as_deref(), Some("act-1"));
    }

    #[tokio::test]
    async fn a_throttled_admission_is_retried() {
        let w = world();
        w.table.fail_next(
            "PutItem",
            "CONTACT#",
            "ProvisionedThroughputExceededException",
        );
        let out = handle(&w.clients, &env(), &tuning(), event())
            .await
            .unwrap();
        assert_eq!(out.queued, 2);
        assert_eq!(w.admitted().len(), 2);
    }

    #[tokio::test]
    async fn a_ledger_that_refuses_the_function_fails_the_invocation() {
        let w = world();
        for _ in 0..10 {
            w.table
                .fail_next("PutItem", "CONTACT#", "AccessDeniedException");
        }
        let err = handle(&w.clients, &env(), &tuning(), event())
            .await
            .unwrap_err();
        assert_eq!(err.name, ErrorName::ConfigError);
        assert!(
            err.message.contains("0 of 2 contacts admitted"),
            "{}",
            err.message
        );
        assert!(w.seen.lock().unwrap().starts.is_empty());
    }

    #[tokio::test]
    async fn an_event_that_is_not_a_pinpoint_batch_is_invalid_input() {
        let w = world();
        let err = handle(&w.clients, &env(), &tuning(), json!({"Records": []}))
            .await
            .unwrap_err();
        assert_eq!(err.name, ErrorName::InvalidInput);
    }

    #[tokio::test]
    async fn a_batch_with_nothing_to_dial_starts_nothing() {
        let w = world();
        let e = json!({"ApplicationId": "a", "CampaignId": "c", "Endpoints": {
            "x": {"ChannelType": "EMAIL", "Address": "a@example.com"},
            "y": {"ChannelType": "VOICE", "Address": "+44 20 7946 0001", "EndpointStatus": "INACTIVE"}
        }});
        let out = handle(&w.clients, &env(), &tuning(), e).await.unwrap();
        assert_eq!(out.queued, 0);
        assert_eq!(out.skipped.values().sum::<u64>(), 2);
        assert!(out.execution.is_none());
        assert!(
            w.seen.lock().unwrap().report.is_none(),
            "no rejects, no report"
        );
        assert!(
            w.table.items.lock().unwrap().is_empty(),
            "no campaign listed"
        );
    }
}
