//! queue-contacts against moto over HTTP: a Pinpoint batch is admitted into the campaign ledger
//! once, and a later activity of the campaign admits again only the contacts that are final.
//!
//! Ignored unless run with `--include-ignored` and `MOTO_ENDPOINT` (`make test` does both).

use chrono::{Duration, Utc};
use outbound_core::contact::ContactSource;
use outbound_core::intake::RetryPolicy;
use outbound_core::ledger::{
    begin_attempt, campaigns, finish, lease, AttemptId, CampaignLedger, CampaignLedgerEnv,
    ContactState, FinalReason, Finished, LedgerContact, RedialRules,
};
use outbound_core::records::Outcome;
use outbound_core::testkit::moto::{
    self, campaign_ledger, ledger_contacts, ledger_item, sdk, unique,
};
use queue_contacts::{handle, Clients, Env, Tuning};
use serde_json::json;

/// The sample segment (`sample-files/pinpoint-segment.csv`) as Pinpoint would deliver it.
fn batch(activity: &str) -> serde_json::Value {
    let csv = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../sample-files/pinpoint-segment.csv"
    ))
    .unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let mut endpoints = serde_json::Map::new();
    for line in lines {
        let row: std::collections::HashMap<&str, &str> =
            header.iter().copied().zip(line.split(',')).collect();
        endpoints.insert(
            row["Id"].to_string(),
            json!({
                "ChannelType": row["ChannelType"], "Address": row["Address"], "OptOut": row["OptOut"],
                "EndpointStatus": row["EndpointStatus"],
                "Attributes": {"Plan": [row["Attributes.Plan"]]},
                "Location": {"Country": row["Location.Country"]},
                "User": {"UserId": row["User.UserId"], "UserAttributes": {
                    "FirstName": [row["User.UserAttributes.FirstName"]],
                    "LastName": [row["User.UserAttributes.LastName"]],
                    "PreferredLanguage": [row["User.UserAttributes.PreferredLanguage"]]}}
            }),
        );
    }
    json!({
        "Message": {},
        "Data": "{\"greeting\":\"Hello {{User.UserAttributes.FirstName}}\",\"plan\":\"{{Attributes.Plan}}\"}",
        "ApplicationId": "app-1", "CampaignId": "camp-1", "TreatmentId": "0", "ActivityId": activity,
        "ScheduledTime": "2024-05-01T09:00:00.000Z",
        "Endpoints": endpoints
    })
}

struct Stack {
    clients: Clients,
    env: Env,
}

async fn stack(name: &str) -> Stack {
    let sdk = sdk().await;
    let clients = Clients {
        ledger: campaign_ledger(&sdk, None).await,
        s3: moto::s3(&sdk),
        ssm: aws_sdk_ssm::Client::new(&sdk),
        sfn: aws_sdk_sfn::Client::new(&sdk),
        keyer: moto::contact_keyer(&sdk).await,
    };
    let id = unique(name);
    moto::create_bucket(&clients.s3, &format!("{id}-results")).await;
    let prefix = format!("/connect/blaster/{id}/");
    clients
        .ssm
        .put_parameter()
        .name(format!("{prefix}isocountrycode"))
        .value("GB")
        .r#type(aws_sdk_ssm::types::ParameterType::String)
        .send()
        .await
        .unwrap();
    let state_machine_arn = clients
        .sfn
        .create_state_machine()
        .name(format!("{id}-dialer"))
        .role_arn("arn:aws:iam::123456789012:role/dialer")
        .definition(json!({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}).to_string())
        .send()
        .await
        .unwrap()
        .state_machine_arn()
        .to_string();
    let env = Env {
        ledger: CampaignLedgerEnv {
            table_name: clients.ledger.table_name.clone(),
        },
        results_bucket: format!("{id}-results"),
        state_machine_arn,
        ssm_prefix: prefix,
        destinations: outbound_core::destinations::DestinationRules::parse("GB,US,CA,AU").unwrap(),
        // Read only by main; the clients above carry the keyer derived from moto's KMS.
        contact_key_kms_key_arn:
            "arn:aws:kms:eu-west-2:123456789012:key/11111111-2222-3333-4444-555555555555".into(),
    };
    Stack { clients, env }
}

fn tuning() -> Tuning {
    Tuning {
        policy: RetryPolicy::immediate(3),
        ..Tuning::default()
    }
}

async fn total_records(s: &Stack) -> Option<String> {
    s.clients
        .ssm
        .get_parameter()
        .name(format!("{}totalRecords", s.env.ssm_prefix))
        .send()
        .await
        .ok()?
        .parameter()?
        .value()
        .map(str::to_string)
}

async fn executions(s: &Stack) -> usize {
    s.clients
        .sfn
        .list_executions()
        .state_machine_arn(&s.env.state_machine_arn)
        .send()
        .await
        .unwrap()
        .executions()
        .len()
}

/// Takes a due contact through one attempt that ends with `outcome`.
async fn dial(ledger: &CampaignLedger, c: &LedgerContact, outcome: Outcome) -> Finished {
    let t = Utc::now();
    lease(
        ledger,
        &c.campaign,
        &c.contact_key,
        t,
        t + Duration::minutes(5),
        "run-1",
    )
    .await
    .unwrap()
    .expect("due contact leased");
    let id = AttemptId::new(&c.campaign, &c.contact_key, c.attempt);
    begin_attempt(ledger, &id, t + Duration::minutes(5), t)
        .await
        .unwrap();
    finish(ledger, &id, outcome, &RedialRules::default(), t)
        .await
        .unwrap()
}

#[tokio::test]
#[ignore = "needs moto: MOTO_ENDPOINT, run by make test"]
async fn a_batch_delivered_twice_is_admitted_once() {
    let s = stack("qc").await;
    let before = Utc::now();
    let first = handle(&s.clients, &s.env, &tuning(), batch("act-1"))
        .await
        .unwrap();
    assert_eq!(first.queued, 4);
    assert_eq!(first.skipped.get("opted_out"), Some(&1));
    assert_eq!(first.skipped.get("inactive"), Some(&1));
    assert_eq!((first.rejected, first.duplicates), (0, 0));
    assert!(first.execution.is_some());
    let admitted = ledger_contacts(&s.clients.ledger).await;

    // Pinpoint delivers the same batch again.
    let second = handle(&s.clients, &s.env, &tuning(), batch("act-1"))
        .await
        .unwrap();
    assert_eq!((second.queued, second.duplicates), (0, 4));
    // The first delivery may have died before starting the run: the retry starts or joins it.
    assert_eq!(second.execution, first.execution);

    let contacts = ledger_contacts(&s.clients.ledger).await;
    assert_eq!(contacts, admitted, "nothing written the second time");
    let got: Vec<(&str, &str)> = contacts
        .iter()
        .map(|c| (c.key.as_str(), c.phone.as_str()))
        .collect();
    assert_eq!(
        got,
        vec![
            ("C-1001", "+442079460101"),
            ("C-1003", "+12125550102"),
            ("C-1004", "+14165550105"),
            ("C-1005", "+61491570157"),
        ]
    );
    assert_eq!(contacts[0].attributes["greeting"], "Hello Ann");
    assert_eq!(contacts[0].attributes["plan"], "gold");
    assert_eq!(contacts[0].attributes["PinpointCampaignId"], "camp-1");
    let now = Utc::now();
    for c in &contacts {
        // Due now, attempt 1, of this activity's round; not final, so without any expiry.
        assert_eq!(c.campaign, "camp-1");
        assert_eq!((c.state, c.attempt), (ContactState::Due, 1));
        assert!(c.due_at >= before - Duration::seconds(1) && c.due_at <= now);
        assert_eq!(c.round.as_deref(), Some("act-1"));
        assert!(matches!(
            &c.source,
            ContactSource::Pinpoint { application_id, campaign_id, .. }
                if application_id == "app-1" && campaign_id == "camp-1"
        ));
        let item = ledger_item(&s.clients.ledger, &c.pk()).await.unwrap();
        assert!(!item.contains_key("expiresAt"));
    }
    let listed = campaigns::active(&s.clients.ledger).await.unwrap();
    assert_eq!(listed.keys().collect::<Vec<_>>(), ["camp-1"]);

    assert_eq!(total_records(&s).await.as_deref(), Some("4"));
    assert_eq!(executions(&s).await, 1, "started, then joined");
}

#[tokio::test]
#[ignore = "needs moto: MOTO_ENDPOINT, run by make test"]
async fn a_later_activity_admits_again_the_final_contacts_only() {
    let s = stack("qc-round").await;
    let first = handle(&s.clients, &s.env, &tuning(), batch("act-1"))
        .await
        .unwrap();
    assert_eq!(first.queued, 4);
    let admitted = ledger_contacts(&s.clients.ledger).await;
    // Last week: C-1001 was reached; C-1003 ran out of attempts (set final on the item); C-1004
    // is being dialed; C-1005 waits for a redial, still due.
    assert!(matches!(
        dial(&s.clients.ledger, &admitted[0], Outcome::Connected).await,
        Finished::Final(_)
    ));
    moto::set_ledger_attributes(
        &s.clients.ledger,
        &admitted[1].pk(),
        &[
            (
                "state",
                aws_sdk_dynamodb::types::AttributeValue::S("final".into()),
            ),
            (
                "finalReason",
                aws_sdk_dynamodb::types::AttributeValue::S("attempts_exhausted".into()),
            ),
        ],
    )
    .await;
    let t = Utc::now();
    lease(
        &s.clients.ledger,
        "camp-1",
        &admitted[2].contact_key,
        t,
        t + Duration::minutes(5),
        "run-1",
    )
    .await
    .unwrap()
    .unwrap();
    begin_attempt(
        &s.clients.ledger,
        &AttemptId::new("camp-1", &admitted[2].contact_key, 1),
        t + Duration::minutes(5),
        t,
    )
    .await
    .unwrap();
    assert!(matches!(
        dial(&s.clients.ledger, &admitted[3], Outcome::NoAnswer).await,
        Finished::Redialed(_)
    ));
    let last_week = ledger_contacts(&s.clients.ledger).await;

    // The same activity again still admits nothing, final or not.
    let again = handle(&s.clients, &s.env, &tuning(), batch("act-1"))
        .await
        .unwrap();
    assert_eq!((again.queued, again.duplicates), (0, 4));
    assert_eq!(ledger_contacts(&s.clients.ledger).await, last_week);

    // This week's activity of the recurring campaign: the two final contacts are a new round.
    let next_week = handle(&s.clients, &s.env, &tuning(), batch("act-2"))
        .await
        .unwrap();
    assert_eq!((next_week.queued, next_week.duplicates), (2, 2));
    let now = ledger_contacts(&s.clients.ledger).await;
    let summary: Vec<(&str, ContactState, u32, Option<&str>)> = now
        .iter()
        .map(|c| (c.key.as_str(), c.state, c.attempt, c.round.as_deref()))
        .collect();
    assert_eq!(
        summary,
        vec![
            ("C-1001", ContactState::Due, 1, Some("act-2")),
            ("C-1003", ContactState::Due, 1, Some("act-2")),
            ("C-1004", ContactState::Dialing, 1, Some("act-1")),
            ("C-1005", ContactState::Due, 2, Some("act-1")),
        ]
    );
    // Admitted again as new: nothing of last week's round is left on the item.
    for c in &now[..2] {
        assert_eq!(c.last_outcome, None);
        assert_eq!(c.final_reason, None);
        assert_eq!(c.contact_id, None);
    }
    // The ones still in last week's round are untouched.
    assert_eq!(now[2], last_week[2]);
    assert_eq!(now[3], last_week[3]);
    assert_eq!(last_week[3].last_outcome, Some(Outcome::NoAnswer));
    assert_eq!(
        last_week[1].final_reason,
        Some(FinalReason::AttemptsExhausted)
    );

    assert_eq!(total_records(&s).await.as_deref(), Some("6"));
    // act-1 (started, then joined by the redelivery) and act-2.
    assert_eq!(executions(&s).await, 2);
}

#[tokio::test]
#[ignore = "needs moto: MOTO_ENDPOINT, run by make test"]
async fn an_endpoint_on_the_do_not_call_list_is_final_at_intake_with_one_record() {
    let s = stack("qc-dnc").await;
    // C-1001's number is on the do-not-call list.
    outbound_core::dnc::add(
        &s.clients.ledger,
        &s.clients.keyer.do_not_call_key("+442079460101"),
        &outbound_core::dnc::DncSource::Operator {
            file: None,
            line: 0,
        },
        Utc::now(),
    )
    .await
    .unwrap();
    let first = handle(&s.clients, &s.env, &tuning(), batch("act-1"))
        .await
        .unwrap();
    assert_eq!((first.queued, first.suppressed), (4, 1), "{first:?}");

    let contacts = ledger_contacts(&s.clients.ledger).await;
    let listed = contacts.iter().find(|c| c.key == "C-1001").unwrap();
    assert_eq!(listed.state, ContactState::Final);
    assert_eq!(listed.final_reason, Some(FinalReason::DoNotCall));
    assert_eq!(listed.attempt, 0, "never called");
    assert_eq!(listed.lease_until, None, "its final record confirmed");
    assert!(contacts
        .iter()
        .filter(|c| c.key != "C-1001")
        .all(|c| c.state == ContactState::Due));
    // One record per round of the recurring campaign: this activity's.
    let record_key = outbound_core::ledger::final_record(listed).object_key();
    assert!(record_key.ends_with("-act-1.jsonl"), "{record_key}");
    let record = s
        .clients
        .s3
        .get_object()
        .bucket(&s.env.results_bucket)
        .key(&record_key)
        .send()
        .await
        .expect("its final record");
    let body = record.body.collect().await.unwrap().into_bytes();
    let text = String::from_utf8(body.to_vec()).unwrap();
    assert_eq!(text.matches('\n').count(), 1, "one record: {text}");
    assert!(text.contains("\"final_reason\":\"dnc\""), "{text}");
    assert!(!text.contains("2079460101"), "no number in clear: {text}");

    // Pinpoint delivers the batch again: nothing is suppressed twice.
    let again = handle(&s.clients, &s.env, &tuning(), batch("act-1"))
        .await
        .unwrap();
    assert_eq!((again.queued, again.suppressed), (0, 0), "{again:?}");
    assert_eq!(ledger_contacts(&s.clients.ledger).await, contacts);
}
