//! get-config against moto over HTTP: the SSM read, the run claim and a stale takeover, and the
//! feeding of the lanes' queue from the campaign ledger before the claim (`fed`, `idle`).
//!
//! Ignored unless run with `--include-ignored` and `MOTO_ENDPOINT` (`make test` does both).

use chrono::{Duration, Utc};
use get_config::{handle, Clients, Env, Feeder, Input};
use outbound_core::contact::{Contact, ContactSource};
use outbound_core::intake::RetryPolicy;
use outbound_core::ledger::{
    admit, campaigns, AdmitOptions, CampaignLedgerEnv, ContactState, Finisher, FinisherEnv,
    RedialRules,
};
use outbound_core::testkit::moto::{self, campaign_ledger, create_queue, drain_queue, sdk, unique};
use serde_json::json;

struct Stack {
    clients: Clients,
    env: Env,
    state_machine_arn: String,
}

async fn stack(name: &str, concurrent: &str) -> Stack {
    let sdk = sdk().await;
    let attempts = Finisher {
        ledger: campaign_ledger(&sdk, Some(90)).await,
        rules: RedialRules::default(),
    };
    // The ActiveDialing table (the run claim) and the results bucket.
    let results = moto::ledger(&sdk).await.with_finisher(attempts.clone());
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let id = unique(name);
    let queue_url = create_queue(&sqs, &format!("{id}-contacts")).await;
    let table = results.table_name.clone();
    let env = Env {
        ssm_prefix: format!("/connect/blaster/{id}/"),
        table_name: table.clone(),
        history_budget: 8_000,
        max_concurrent_calls: 40,
        attempts: FinisherEnv {
            ledger: CampaignLedgerEnv {
                table_name: attempts.ledger.table_name.clone(),
            },
            rules: RedialRules::default(),
            final_retention_days: Some(90),
        },
        results_bucket: results.results_bucket.clone(),
        queue_url: queue_url.clone(),
        lease_seconds: 3600,
        // The window depends on the time of day: its own tests set one.
        calling_window: None,
        frequency_cap: None,
    };
    let clients = Clients {
        ssm: aws_sdk_ssm::Client::new(&sdk),
        ddb: aws_sdk_dynamodb::Client::new(&sdk),
        sfn: aws_sdk_sfn::Client::new(&sdk),
        feeder: Feeder {
            attempts,
            results,
            // No overdue attempt with a call in these tests: Connect is never asked.
            connect: outbound_core::mocked!(aws_sdk_connect, []),
            sqs,
            queue_url,
            lease: Duration::seconds(env.lease_seconds),
            window: env.calling_window.clone(),
            cap: env.frequency_cap,
            close_per_feeding: get_config::feeder::CLOSE_PER_FEEDING,
        },
    };
    let prefix = env.ssm_prefix.clone();
    let params = [
        ("connectid", "11111111-2222-3333-4444-555555555555"),
        ("contactflow", "66666666-7777-8888-9999-000000000000"),
        ("queue", "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"),
        ("countrycode", "44"),
        ("isocountrycode", "GB"),
        ("concurrentcalls", concurrent),
        ("timeOut", "90"),
        ("callspersecond", "2"),
        ("ResultsBucket", "results"),
        ("activeBlaster", "True"),
        ("table-activedialing", table.as_str()),
    ];
    for (k, v) in params {
        let secure = k == "connectid";
        clients
            .ssm
            .put_parameter()
            .name(format!("{prefix}{k}"))
            .value(v)
            // One SecureString: the read must decrypt.
            .r#type(if secure {
                aws_sdk_ssm::types::ParameterType::SecureString
            } else {
                aws_sdk_ssm::types::ParameterType::String
            })
            .send()
            .await
            .expect("put parameter");
    }
    // A parameter of a deeper path must not be read (the read is not recursive).
    clients
        .ssm
        .put_parameter()
        .name(format!("{prefix}nested/timeOut"))
        .value("not a number")
        .r#type(aws_sdk_ssm::types::ParameterType::String)
        .send()
        .await
        .unwrap();
    let state_machine_arn = clients
        .sfn
        .create_state_machine()
        .name(format!("{id}-dialer"))
        .role_arn("arn:aws:iam::123456789012:role/dialer")
        .definition(json!({"StartAt": "Wait", "States": {"Wait": {"Type": "Wait", "Seconds": 3600, "End": true}}}).to_string())
        .send()
        .await
        .expect("create state machine")
        .state_machine_arn()
        .to_string();
    Stack {
        clients,
        env,
        state_machine_arn,
    }
}

/// Lists `campaign` and admits its contacts `0..n`, due a minute ago.
async fn admit_due(s: &Stack, campaign: &str, n: u32) -> Vec<Contact> {
    let ledger = &s.clients.feeder.attempts.ledger;
    campaigns::register(ledger, campaign, Utc::now())
        .await
        .unwrap();
    let due_at = Utc::now() - Duration::minutes(1);
    let options = AdmitOptions {
        due_at,
        rules: None,
        round: None,
        dnc: None,
    };
    let mut contacts = Vec::new();
    for i in 0..n {
        let key = format!("C-{i}");
        let phone = format!("+4420794601{:02}", i % 100);
        let c = Contact {
            campaign: campaign.into(),
            contact_key: outbound_core::testkit::contact_key(campaign, &key, &phone),
            key,
            phone,
            attempt: 1,
            attributes: Default::default(),
            source: ContactSource::Csv {
                object: format!("campaigns/{campaign}/list.csv"),
                line: u64::from(i) + 2,
            },
        };
        admit(ledger, &c, &options, Utc::now()).await.unwrap();
        contacts.push(c);
    }
    contacts
}

/// The states of the ledger's contacts, by customer key.
async fn states(s: &Stack) -> Vec<(String, ContactState)> {
    moto::ledger_contacts(&s.clients.feeder.attempts.ledger)
        .await
        .into_iter()
        .map(|c| (c.key, c.state))
        .collect()
}

async fn set_parameter(s: &Stack, name: &str, value: &str) {
    s.clients
        .ssm
        .put_parameter()
        .name(format!("{}{name}", s.env.ssm_prefix))
        .value(value)
        .overwrite(true)
        .r#type(aws_sdk_ssm::types::ParameterType::String)
        .send()
        .await
        .unwrap();
}

async fn start(s: &Stack, name: &str) -> String {
    s.clients
        .sfn
        .start_execution()
        .state_machine_arn(&s.state_machine_arn)
        .name(name)
        .input("{}")
        .send()
        .await
        .expect("start execution")
        .execution_arn()
        .to_string()
}

fn input(v: serde_json::Value) -> Input {
    serde_json::from_value(v).unwrap()
}

#[tokio::test]
#[ignore = "needs moto: MOTO_ENDPOINT, run by make test"]
async fn reads_the_configuration_and_claims_then_takes_over_a_stale_claim() {
    let s = stack("gc", "5").await;
    let first = start(&s, "run-a").await;
    let second = start(&s, "run-b").await;
    let policy = RetryPolicy::immediate(3);

    let a = handle(
        &s.clients,
        &s.env,
        policy,
        "2024-05-01T09:00:00Z",
        input(json!({"execution": first})),
    )
    .await
    .unwrap();
    assert!(a.claimed);
    // An empty ledger and an empty queue: nothing fed, nothing to dial.
    assert_eq!((a.fed, a.idle), (0, true));
    assert_eq!(a.run_id, "run-a");
    assert_eq!(
        a.config.connect_id, "11111111-2222-3333-4444-555555555555",
        "SecureString decrypted"
    );
    assert_eq!(a.config.timeout_seconds, 90);
    assert_eq!(a.config.concurrent_calls, 5);
    assert_eq!(a.lanes.len(), 5);
    assert_eq!((a.lane_budget, a.wave_budget), (200, 1000));
    // The lanes share the wave's 5 × 200 calls: any one of them may place all of them.
    assert!(a.lanes.iter().all(|l| l.timeout_seconds == 90
        && l.budget == 1000
        && (l.wave, l.wave_budget) == (1, 1000)
        && l.calls == 0));

    // run-a is running: run-b joins it instead of claiming.
    let b = handle(
        &s.clients,
        &s.env,
        policy,
        "2024-05-01T09:01:00Z",
        input(json!({"execution": second})),
    )
    .await
    .unwrap();
    assert!(!b.claimed);
    assert_eq!(b.held_by.as_deref(), Some(first.as_str()));
    assert!(b.lanes.is_empty());

    // run-a dies: its claim is stale and run-b takes it over.
    s.clients
        .sfn
        .stop_execution()
        .execution_arn(&first)
        .send()
        .await
        .unwrap();
    let b = handle(
        &s.clients,
        &s.env,
        policy,
        "2024-05-01T09:02:00Z",
        input(json!({"execution": second})),
    )
    .await
    .unwrap();
    assert!(b.claimed);
    assert_eq!(b.took_over.as_deref(), Some(first.as_str()));
    let item = moto::table_item(&s.clients.ddb, &s.env.table_name, "RUN")
        .await
        .unwrap();
    assert_eq!(item["runId"].as_s().unwrap(), "run-b");
    assert_eq!(item["execution"].as_s().unwrap(), &second);
    assert_eq!(item["claimedAt"].as_s().unwrap(), "2024-05-01T09:02:00Z");

    // The next wave of run-b keeps the run and counts the calls of wave 1.
    let wave2 = start(&s, "run-b-w2").await;
    let next = handle(
        &s.clients,
        &s.env,
        policy,
        "2024-05-01T10:00:00Z",
        input(
            json!({"runId": "run-b", "wave": 2, "laneCalls": [4, 6, 0, 0, 1], "execution": wave2}),
        ),
    )
    .await
    .unwrap();
    assert!(next.claimed);
    assert_eq!(next.wave, 2);
    let dial_index = s
        .clients
        .ssm
        .get_parameter()
        .name(format!("{}dialIndex", s.env.ssm_prefix))
        .send()
        .await
        .unwrap();
    assert_eq!(dial_index.parameter().unwrap().value(), Some("11"));
}

#[tokio::test]
#[ignore = "needs moto: MOTO_ENDPOINT, run by make test"]
async fn a_missing_parameter_is_a_config_error_and_claims_nothing() {
    let s = stack("gc-missing", "2").await;
    admit_due(&s, "spring", 2).await;
    s.clients
        .ssm
        .delete_parameter()
        .name(format!("{}callspersecond", s.env.ssm_prefix))
        .send()
        .await
        .unwrap();
    let exec = start(&s, "run-x").await;
    let err = handle(
        &s.clients,
        &s.env,
        RetryPolicy::immediate(2),
        "2024-05-01T09:00:00Z",
        input(json!({"execution": exec})),
    )
    .await
    .unwrap_err();
    assert_eq!(err.name, outbound_core::error::ErrorName::ConfigError);
    assert!(err.message.contains("callspersecond"), "{}", err.message);
    assert!(moto::table_item(&s.clients.ddb, &s.env.table_name, "RUN")
        .await
        .is_none());
    // Nor feeds anything: the configuration is read first.
    assert!(states(&s)
        .await
        .iter()
        .all(|(_, state)| *state == ContactState::Due));
    assert!(drain_queue(&s.clients.feeder.sqs, &s.env.queue_url)
        .await
        .is_empty());
}

#[tokio::test]
#[ignore = "needs moto: MOTO_ENDPOINT, run by make test"]
async fn each_wave_feeds_the_queue_from_the_ledger_and_says_when_it_is_idle() {
    let mut s = stack("gc-feed", "2").await;
    // 2 lanes of 1 call each (8 events per call): room for 2 contacts per wave.
    s.env.history_budget = 16;
    let contacts = admit_due(&s, "spring", 3).await;
    let policy = RetryPolicy::immediate(3);
    let exec = start(&s, "run-a").await;

    let first = handle(
        &s.clients,
        &s.env,
        policy,
        "2024-05-01T09:00:00Z",
        input(json!({"execution": exec})),
    )
    .await
    .unwrap();
    assert!(first.claimed && first.active);
    assert_eq!((first.lanes.len(), first.lane_budget), (2, 1));
    assert_eq!((first.fed, first.idle), (2, false));
    let json = serde_json::to_value(&first).unwrap();
    assert_eq!(
        (json["fed"].clone(), json["idle"].clone()),
        (json!(2), json!(false))
    );
    // The two oldest are leased by the run, and their messages are in the queue.
    let leased: Vec<_> = moto::ledger_contacts(&s.clients.feeder.attempts.ledger)
        .await
        .into_iter()
        .filter(|c| c.state == ContactState::Leased)
        .collect();
    assert_eq!(leased.len(), 2);
    assert!(leased
        .iter()
        .all(|c| c.leased_by.as_deref() == Some("run-a")));

    // Wave 2: the lanes have not taken them yet: the queue is full, nothing fed, not idle.
    let w2 = start(&s, "run-a-w2").await;
    let second = handle(
        &s.clients,
        &s.env,
        policy,
        "2024-05-01T09:10:00Z",
        input(json!({"runId": "run-a", "wave": 2, "laneCalls": [0, 0], "execution": w2})),
    )
    .await
    .unwrap();
    assert!(second.claimed);
    assert_eq!((second.fed, second.idle), (0, false));

    // The lanes dialed them; wave 3 feeds the last contact.
    let messages: Vec<Contact> = drain_queue(&s.clients.feeder.sqs, &s.env.queue_url)
        .await
        .iter()
        .map(|b| serde_json::from_str(b).unwrap())
        .collect();
    assert_eq!(messages.len(), 2);
    assert!(messages.iter().all(|m| contacts.contains(m)));
    let w3 = start(&s, "run-a-w3").await;
    let third = handle(
        &s.clients,
        &s.env,
        policy,
        "2024-05-01T09:20:00Z",
        input(json!({"runId": "run-a", "wave": 3, "laneCalls": [1, 1], "execution": w3})),
    )
    .await
    .unwrap();
    assert_eq!((third.fed, third.idle), (1, false));

    // Wave 4: nothing due and the queue empty once the lanes took the last one: idle.
    drain_queue(&s.clients.feeder.sqs, &s.env.queue_url).await;
    let w4 = start(&s, "run-a-w4").await;
    let fourth = handle(
        &s.clients,
        &s.env,
        policy,
        "2024-05-01T09:30:00Z",
        input(json!({"runId": "run-a", "wave": 4, "laneCalls": [1, 0], "execution": w4})),
    )
    .await
    .unwrap();
    assert!(fourth.claimed && fourth.active);
    assert_eq!((fourth.fed, fourth.idle), (0, true));
    assert!(states(&s)
        .await
        .iter()
        .all(|(_, state)| *state == ContactState::Leased));

    // Stopped (activeBlaster False): new contacts are not fed, and a stopped run is not idle.
    admit_due(&s, "summer", 2).await;
    set_parameter(&s, "activeBlaster", "False").await;
    let w5 = start(&s, "run-a-w5").await;
    let stopped = handle(
        &s.clients,
        &s.env,
        policy,
        "2024-05-01T09:40:00Z",
        input(json!({"runId": "run-a", "wave": 5, "laneCalls": [0, 0], "execution": w5})),
    )
    .await
    .unwrap();
    assert!(!stopped.active);
    assert!(stopped.lanes.is_empty());
    assert_eq!((stopped.fed, stopped.idle), (0, false));
    let summer: Vec<ContactState> = moto::ledger_contacts(&s.clients.feeder.attempts.ledger)
        .await
        .into_iter()
        .filter(|c| c.campaign == "summer")
        .map(|c| c.state)
        .collect();
    assert_eq!(summer, [ContactState::Due, ContactState::Due]);
    assert!(drain_queue(&s.clients.feeder.sqs, &s.env.queue_url)
        .await
        .is_empty());
}

#[tokio::test]
#[ignore = "needs moto: MOTO_ENDPOINT, run by make test"]
async fn an_execution_that_finds_the_run_held_has_fed_that_runs_queue() {
    let s = stack("gc-held", "2").await;
    admit_due(&s, "spring", 3).await;
    let policy = RetryPolicy::immediate(3);
    let a = start(&s, "run-a").await;
    let b = start(&s, "run-b").await;
    let first = handle(
        &s.clients,
        &s.env,
        policy,
        "2024-05-01T09:00:00Z",
        input(json!({"execution": a})),
    )
    .await
    .unwrap();
    assert_eq!((first.claimed, first.fed), (true, 3));
    // A second file's execution: the run is held; the same conditional leases mean nothing is
    // fed twice.
    admit_due(&s, "summer", 1).await;
    let second = handle(
        &s.clients,
        &s.env,
        policy,
        "2024-05-01T09:01:00Z",
        input(json!({"execution": b})),
    )
    .await
    .unwrap();
    assert!(!second.claimed);
    assert_eq!(second.held_by.as_deref(), Some(a.as_str()));
    assert_eq!(second.fed, 1, "only the new contact");
    let messages = drain_queue(&s.clients.feeder.sqs, &s.env.queue_url).await;
    assert_eq!(messages.len(), 4, "each contact queued once");
}
