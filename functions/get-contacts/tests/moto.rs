//! get-contacts against moto over HTTP: real queue counts, an unreachable queue is an error, and
//! the campaign ledger says whether contacts are due now (`due`) or soon (`waitSeconds`).
//!
//! Ignored unless run with `--include-ignored` and `MOTO_ENDPOINT` (`make test` does both).

use chrono::{DateTime, Duration, DurationRound, Utc};
use get_contacts::{handle, Env};
use outbound_core::contact::{Contact, ContactSource};
use outbound_core::error::ErrorName;
use outbound_core::ledger::schedule::{self, CampaignSchedule};
use outbound_core::ledger::{admit, campaigns, AdmitOptions, CampaignLedger, CampaignLedgerEnv};
use outbound_core::testkit::moto::{campaign_ledger, create_queue, sdk, unique};

/// Whole milliseconds: what the ledger stores.
fn now() -> DateTime<Utc> {
    Utc::now()
        .duration_trunc(Duration::milliseconds(1))
        .unwrap()
}

fn env_of(queue_url: &str, ledger: &CampaignLedger) -> Env {
    Env {
        queue_url: queue_url.into(),
        dead_letter_queue_url: None,
        ledger: CampaignLedgerEnv {
            table_name: ledger.table_name.clone(),
        },
        due_wait_seconds: 300,
    }
}

fn contact(campaign: &str, i: u32) -> Contact {
    let key = format!("C-{i}");
    let phone = format!("+4420794601{:02}", i % 100);
    Contact {
        campaign: campaign.into(),
        contact_key: outbound_core::testkit::contact_key(campaign, &key, &phone),
        key,
        phone,
        attempt: 1,
        attributes: Default::default(),
        source: ContactSource::Csv {
            object: format!("campaigns/{campaign}/list.csv"),
            line: u64::from(i) + 1,
        },
    }
}

/// Lists `campaign` and admits contact `i` of it, due at `due_at`.
async fn admit_due(ledger: &CampaignLedger, campaign: &str, i: u32, due_at: DateTime<Utc>) {
    campaigns::register(ledger, campaign, Utc::now())
        .await
        .unwrap();
    let options = AdmitOptions {
        due_at,
        rules: None,
        round: None,
        dnc: None,
    };
    admit(ledger, &contact(campaign, i), &options, Utc::now())
        .await
        .unwrap();
}

#[tokio::test]
#[ignore = "needs moto: MOTO_ENDPOINT, run by make test"]
async fn counts_a_real_queue_and_refuses_to_call_a_missing_one_empty() {
    let sdk = sdk().await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let ledger = campaign_ledger(&sdk, None).await;
    let id = unique("gcn");
    let url = create_queue(&sqs, &format!("{id}-contacts")).await;
    let dlq = create_queue(&sqs, &format!("{id}-dlq")).await;
    for i in 0..3 {
        sqs.send_message()
            .queue_url(&url)
            .message_body(format!("{{\"n\":{i}}}"))
            .send()
            .await
            .unwrap();
    }
    sqs.send_message()
        .queue_url(&dlq)
        .message_body("{}")
        .send()
        .await
        .unwrap();
    // One contact is being dialed (received, not deleted).
    sqs.receive_message()
        .queue_url(&url)
        .max_number_of_messages(1)
        .send()
        .await
        .unwrap();

    let env = Env {
        dead_letter_queue_url: Some(dlq),
        ..env_of(&url, &ledger)
    };
    let counts = handle(&sqs, &ledger, &env, Utc::now()).await.unwrap();
    assert_eq!(
        (
            counts.queue.available,
            counts.queue.in_flight,
            counts.queue.delayed,
            counts.queue.dead_lettered
        ),
        (2, 1, 0, 1)
    );
    assert!(counts.queue.more);
    // An empty ledger: nothing due, nothing to wait for.
    assert!(!counts.due);
    assert_eq!(counts.wait_seconds, None);
    let json = serde_json::to_value(&counts).unwrap();
    assert_eq!(json["due"], false);
    assert_eq!(json["waitSeconds"], serde_json::Value::Null);

    let missing = Env {
        queue_url: format!("{url}-missing"),
        ..env_of(&url, &ledger)
    };
    let err = handle(&sqs, &ledger, &missing, Utc::now())
        .await
        .unwrap_err();
    assert_eq!(err.name, ErrorName::Retryable, "{}", err.message);
}

#[tokio::test]
#[ignore = "needs moto: MOTO_ENDPOINT, run by make test"]
async fn the_ledger_says_whether_contacts_are_due_now_or_soon() {
    let sdk = sdk().await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let ledger = campaign_ledger(&sdk, None).await;
    let url = create_queue(&sqs, &unique("gcn-due")).await;
    let env = env_of(&url, &ledger);
    let t = now();

    // A campaign whose only contact is due in an hour: beyond DUE_WAIT_SECONDS (300).
    admit_due(&ledger, "later", 1, t + Duration::hours(1)).await;
    let counts = handle(&sqs, &ledger, &env, t).await.unwrap();
    assert_eq!((counts.due, counts.wait_seconds), (false, None));

    // Another campaign has a redial due in 2 min 0.5 s: the run waits, rounded up to 121 s.
    admit_due(&ledger, "soon", 2, t + Duration::milliseconds(120_500)).await;
    let counts = handle(&sqs, &ledger, &env, t).await.unwrap();
    assert_eq!((counts.due, counts.wait_seconds), (false, Some(121)));
    let json = serde_json::to_value(&counts).unwrap();
    assert_eq!(json["waitSeconds"], 121);
    assert_eq!(
        json["available"], 0,
        "the queue is empty: only the ledger has work"
    );

    // Exactly at the limit still waits; a second past it does not.
    assert_eq!(
        handle(
            &sqs,
            &ledger,
            &env,
            t + Duration::milliseconds(500) - Duration::seconds(180)
        )
        .await
        .unwrap()
        .wait_seconds,
        Some(300)
    );
    assert_eq!(
        handle(&sqs, &ledger, &env, t - Duration::seconds(181))
            .await
            .unwrap()
            .wait_seconds,
        None
    );

    // Once that time comes, the contact is due: the next wave's feeder has work.
    let counts = handle(&sqs, &ledger, &env, t + Duration::seconds(121))
        .await
        .unwrap();
    assert_eq!((counts.due, counts.wait_seconds), (true, None));

    // A third campaign with a contact due now makes the ledger due now, whatever else waits.
    admit_due(&ledger, "now", 3, t - Duration::seconds(1)).await;
    let counts = handle(&sqs, &ledger, &env, t).await.unwrap();
    assert_eq!((counts.due, counts.wait_seconds), (true, None));
    let json = serde_json::to_value(&counts).unwrap();
    assert_eq!(json["due"], true);
    assert_eq!(json["waitSeconds"], serde_json::Value::Null);
}

#[tokio::test]
#[ignore = "needs moto: MOTO_ENDPOINT, run by make test"]
async fn a_campaign_s_schedule_decides_when_its_due_contacts_are_work() {
    let sdk = sdk().await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let ledger = campaign_ledger(&sdk, None).await;
    let url = create_queue(&sqs, &unique("gcn-sched")).await;
    let env = env_of(&url, &ledger);
    let t = now();
    let set = |campaign: &'static str, start, end| {
        let ledger = ledger.clone();
        async move {
            schedule::write(
                &ledger,
                campaign,
                &CampaignSchedule { start, end },
                "operator",
                Utc::now(),
            )
            .await
            .unwrap();
        }
    };

    // Due now, but the campaign starts in two minutes: the run waits for the start.
    admit_due(&ledger, "early", 1, t - Duration::minutes(5)).await;
    set("early", Some(t + Duration::minutes(2)), None).await;
    let counts = handle(&sqs, &ledger, &env, t).await.unwrap();
    assert_eq!((counts.due, counts.wait_seconds), (false, Some(120)));
    // Starting in an hour: nothing to wait for in this run.
    set("early", Some(t + Duration::hours(1)), None).await;
    let counts = handle(&sqs, &ledger, &env, t).await.unwrap();
    assert_eq!((counts.due, counts.wait_seconds), (false, None));

    // Ended, its contact due only next week: work now (the feeder closes it).
    admit_due(&ledger, "over", 2, t + Duration::days(7)).await;
    set("over", None, Some(t - Duration::minutes(1))).await;
    let counts = handle(&sqs, &ledger, &env, t).await.unwrap();
    assert_eq!((counts.due, counts.wait_seconds), (true, None));
}
