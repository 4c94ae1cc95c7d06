//! dial against moto over HTTP: real DynamoDB conditional writes (the campaign ledger's attempt,
//! the rate limit's windows), SQS and S3. Amazon Connect and Step Functions are faked in process (moto has
//! no outbound contacts), so the tests can assert what was placed and which lane was woken.
//!
//! Ignored unless run with `--include-ignored` and `MOTO_ENDPOINT` (see `make test`).

use aws_smithy_mocks::{mock, mock_client, RuleMode};
use chrono::Utc;
use dial_handler::dialing::{DialSettings, Dialer, QueueNumber};
use dial_handler::rate_limit::{acquire, RateLimit};
use dial_handler::wave_budget::{take_call, Take};
use outbound_core::completion::{record_disconnect, DisconnectRecorded};
use outbound_core::error::ErrorName;
use outbound_core::hours::StatusCache;
use outbound_core::ledger::{
    admit, lease, AdmitOptions, AttemptId, ContactState, Finisher, RedialRules,
};
use outbound_core::records::Outcome;
use outbound_core::testkit::moto::{
    campaign_ledger, contact, end, lane, ledger, parse_record, result_objects, sdk, sfn,
    table_item, unique,
};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[tokio::test]
#[ignore = "needs moto: MOTO_ENDPOINT, run by make test"]
async fn rate_limiter_windows_never_exceed_the_limit() {
    let sdk = sdk().await;
    let ledger = ledger(&sdk).await;
    let limit = RateLimit::parse("2").unwrap();
    let mut slots = Vec::new();
    for _ in 0..5 {
        slots.push(
            acquire(
                &ledger.dynamodb,
                &ledger.table_name,
                limit,
                Duration::from_secs(5),
            )
            .await
            .unwrap(),
        );
    }
    let mut per_window: BTreeMap<u64, u64> = BTreeMap::new();
    for s in &slots {
        *per_window.entry(s.window_start).or_default() += 1;
    }
    assert!(per_window.values().all(|n| *n <= 2), "{per_window:?}");
    assert!(per_window.len() >= 3, "{per_window:?}");
    // The table agrees: each window's counter is what was handed out.
    for (window, n) in &per_window {
        let item = table_item(
            &ledger.dynamodb,
            &ledger.table_name,
            &format!("RATE#{window}"),
        )
        .await
        .unwrap();
        assert_eq!(item["n"].as_n().unwrap(), &n.to_string());
        assert!(item.contains_key("expiresAt"));
    }
}

#[tokio::test]
#[ignore = "needs moto: MOTO_ENDPOINT, run by make test"]
async fn lanes_taking_a_waves_calls_take_exactly_its_budget() {
    let sdk = sdk().await;
    let ledger = ledger(&sdk).await;
    let run_id = unique("r-wave");
    // 4 lanes, 7 calls for the wave, each lane asking 5 times, in turn. One request at a time:
    // a bare moto server does not serialise concurrent conditional writes to one item as
    // DynamoDB does (the local stack patches that; see local/moto_fixes.py), so racing requests
    // here would test moto, not the condition.
    let lanes: Vec<_> = (1..=4)
        .map(|n| outbound_core::records::LaneState {
            lane: n,
            wave: 2,
            wave_budget: 7,
            budget: 7,
            ..lane(&run_id, 0)
        })
        .collect();
    let mut taken: BTreeMap<u32, u32> = BTreeMap::new();
    let mut last = Vec::new();
    for round in 0..5 {
        for state in &lanes {
            let took = take_call(&ledger.dynamodb, &ledger.table_name, state)
                .await
                .unwrap();
            if took != Take::Spent {
                *taken.entry(state.lane).or_default() += 1;
            }
            if took == (Take::Taken { last: true }) {
                last.push((round, state.lane));
            }
        }
    }
    assert_eq!(taken.values().sum::<u32>(), 7, "{taken:?}");
    // The seventh call, lane 3 in the second round, was the wave's last: told to one lane once.
    assert_eq!(last, vec![(1, 3)]);
    let item = table_item(
        &ledger.dynamodb,
        &ledger.table_name,
        &format!("WAVE#{run_id}#2"),
    )
    .await
    .unwrap();
    assert_eq!(item["n"].as_n().unwrap(), "7");
    assert!(item.contains_key("expiresAt"));
    // The next wave of the run has a count of its own.
    let next = outbound_core::records::LaneState {
        wave: 3,
        ..lanes[0].clone()
    };
    assert_eq!(
        take_call(&ledger.dynamodb, &ledger.table_name, &next)
            .await
            .unwrap(),
        Take::Taken { last: false }
    );
}

#[tokio::test]
#[ignore = "needs moto: MOTO_ENDPOINT, run by make test"]
async fn a_lane_of_the_next_wave_waits_for_this_waves_lane_and_takes_over_when_it_ends() {
    use dial_handler::lane_handover::{admit as admit_lane, end as end_lane, Admission};
    let sdk = sdk().await;
    let ledger = ledger(&sdk).await;
    let (sfn, sent) = sfn();
    let run_id = unique("r-slot");
    let lane_of = |wave: u32| outbound_core::records::LaneState {
        lane: 4,
        wave,
        wave_budget: 10,
        budget: 10,
        ..lane(&run_id, 0)
    };
    let state = |wave: u32| serde_json::to_string(&lane_of(wave)).unwrap();
    let now = Utc::now();
    let admit_at = |wave: u32, token: &'static str, at: chrono::DateTime<Utc>| {
        let (ddb, table, lane, state) = (
            ledger.dynamodb.clone(),
            ledger.table_name.clone(),
            lane_of(wave),
            state(wave),
        );
        async move {
            admit_lane(&ddb, &table, &lane, token, &state, at)
                .await
                .unwrap()
        }
    };

    assert_eq!(admit_at(1, "T-1", now).await, Admission::Dial);
    assert_eq!(
        admit_at(1, "T-1", now).await,
        Admission::Dial,
        "a repeated first dial"
    );
    assert_eq!(admit_at(2, "T-2", now).await, Admission::Parked);
    assert!(sent.lock().unwrap().is_empty());
    end_lane(&ledger.dynamodb, &sfn, &ledger.table_name, &lane_of(1))
        .await
        .unwrap();
    assert_eq!(
        sent.lock().unwrap().clone(),
        vec![("T-2".to_string(), state(2))]
    );
    assert_eq!(admit_at(2, "T-2", now).await, Admission::Dial);
    let slot = table_item(
        &ledger.dynamodb,
        &ledger.table_name,
        &format!("SLOT#{run_id}#4"),
    )
    .await
    .unwrap();
    assert_eq!(slot["wave"].as_n().unwrap(), "2");
    assert!(!slot.contains_key("waiting") && !slot.contains_key("waitingState"));
    assert!(slot.contains_key("expiresAt"));

    // Wave 3's lane waits for wave 2's, which never ends: taken over once a whole call's time
    // (timeoutSeconds) has passed since it began to wait, not before.
    assert_eq!(admit_at(3, "T-3", now).await, Admission::Parked);
    let early = now + chrono::Duration::seconds(30);
    assert_eq!(admit_at(3, "T-3", early).await, Admission::Parked);
    let late = now + chrono::Duration::seconds(i64::from(lane_of(3).timeout_seconds));
    assert_eq!(admit_at(3, "T-3", late).await, Admission::Dial);
    // Wave 2's lane coming back late wakes nobody: the slot is no longer its own.
    end_lane(&ledger.dynamodb, &sfn, &ledger.table_name, &lane_of(2))
        .await
        .unwrap();
    assert_eq!(sent.lock().unwrap().len(), 1);
}

/// Connect in process: the queue is enabled (no hours), calls get sequential contact ids.
fn connect() -> (aws_sdk_connect::Client, Arc<Mutex<Vec<String>>>) {
    use aws_sdk_connect::operation::describe_queue::DescribeQueueOutput;
    use aws_sdk_connect::operation::start_outbound_voice_contact::StartOutboundVoiceContactOutput;
    use aws_sdk_connect::types::{Queue, QueueStatus};
    let tokens = Arc::new(Mutex::new(Vec::new()));
    let seen = tokens.clone();
    let queue = mock!(aws_sdk_connect::Client::describe_queue).then_output(|| {
        DescribeQueueOutput::builder()
            .queue(Queue::builder().status(QueueStatus::Enabled).build())
            .build()
    });
    let start = mock!(aws_sdk_connect::Client::start_outbound_voice_contact).then_compute_output(
        move |r| {
            let mut seen = seen.lock().unwrap();
            seen.push(r.client_token().unwrap().to_string());
            StartOutboundVoiceContactOutput::builder()
                .contact_id(format!("c-{}", seen.len()))
                .build()
        },
    );
    (
        mock_client!(aws_sdk_connect, RuleMode::MatchAny, [&queue, &start]),
        tokens,
    )
}

#[tokio::test]
#[ignore = "needs moto: MOTO_ENDPOINT, run by make test"]
async fn dial_places_records_redials_a_busy_contact_later_and_never_twice_now() {
    let sdk = sdk().await;
    let attempts = Finisher {
        ledger: campaign_ledger(&sdk, Some(90)).await,
        rules: RedialRules::default(),
    };
    let ledger = ledger(&sdk).await.with_finisher(attempts.clone());
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let ssm = aws_sdk_ssm::Client::new(&sdk);
    let queue_url = sqs
        .create_queue()
        .queue_name(unique("it-contacts"))
        .attributes(
            aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout,
            "60",
        )
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_string();
    let prefix = format!("/connect/blaster/{}/", unique("it"));
    for (name, value) in [
        ("activeBlaster", "True"),
        ("connectid", "i-1"),
        ("contactflow", "f-1"),
        ("queue", "q-1"),
        ("callspersecond", "5"),
    ] {
        ssm.put_parameter()
            .name(format!("{prefix}{name}"))
            .value(value)
            .r#type(aws_sdk_ssm::types::ParameterType::String)
            .send()
            .await
            .unwrap();
    }
    let (connect, tokens) = connect();
    let (sfn, sent) = sfn();
    let dialer = Dialer {
        ssm,
        sqs: sqs.clone(),
        connect,
        sfn: sfn.clone(),
        ledger: ledger.clone(),
        attempts: attempts.clone(),
        status: StatusCache::new(Duration::ZERO),
        chooser: QueueNumber,
        settings: DialSettings::new(
            prefix.clone(),
            queue_url.clone(),
            0,
            outbound_core::destinations::DestinationRules::parse("GB,US,CA,AU").unwrap(),
        ),
    };
    // The feeder's part: admitted, leased, queued.
    let now = Utc::now();
    let options = AdmitOptions {
        due_at: now,
        rules: None,
        round: None,
        dnc: None,
    };
    admit(&attempts.ledger, &contact(), &options, now)
        .await
        .unwrap();
    let c = contact();
    lease(
        &attempts.ledger,
        &c.campaign,
        &c.contact_key,
        now,
        now + chrono::Duration::hours(1),
        "r-d",
    )
    .await
    .unwrap()
    .expect("due, so leased");
    let body = serde_json::to_string(&contact()).unwrap();
    sqs.send_message()
        .queue_url(&queue_url)
        .message_body(&body)
        .send()
        .await
        .unwrap();
    let input = serde_json::json!({"taskToken": "T-lane-1", "runId": "r-d", "lane": 1,
                                   "calls": 0, "budget": 100, "timeoutSeconds": 120});
    let out = dialer.handle(input.clone()).await.unwrap();
    assert_eq!(out.status, "placed");
    assert_eq!(out.contact_id.as_deref(), Some("c-1"));
    assert_eq!(
        tokens.lock().unwrap().clone(),
        vec![AttemptId::new(&c.campaign, &c.contact_key, 1).client_token()]
    );

    // The message is gone only because it was placed and recorded.
    let attrs = sqs
        .get_queue_attributes()
        .queue_url(&queue_url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::All)
        .send()
        .await
        .unwrap();
    let count = |name: aws_sdk_sqs::types::QueueAttributeName| {
        attrs
            .attributes()
            .and_then(|a| a.get(&name))
            .cloned()
            .unwrap_or_default()
    };
    assert_eq!(
        count(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages),
        "0"
    );
    assert_eq!(
        count(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessagesNotVisible),
        "0"
    );

    // The call ends: the lane is woken with calls + 1 and the result is written.
    let status = record_disconnect(&ledger, &sfn, "c-1", &end(Outcome::Busy), Utc::now())
        .await
        .unwrap();
    assert_eq!(status, DisconnectRecorded::Completed);
    assert_eq!(
        sent.lock().unwrap().clone(),
        vec![(
            "T-lane-1".to_string(),
            serde_json::to_string(&lane("r-d", 1)).unwrap()
        )]
    );
    let objects = result_objects(&ledger).await;
    assert_eq!(objects.len(), 1);
    assert_eq!(parse_record(&objects[0].1).outcome, Outcome::Busy);
    // Busy is not final: the contact is due again, for its second attempt, ten minutes on.
    let item = outbound_core::ledger::read_contact(&attempts.ledger, &c.campaign, &c.contact_key)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((item.state, item.attempt), (ContactState::Due, 2));
    assert_eq!(item.last_outcome, Some(Outcome::Busy));
    assert!(item.due_at >= now + chrono::Duration::minutes(10));

    // The same message queued again is deleted without a call: its attempt is over.
    sqs.send_message()
        .queue_url(&queue_url)
        .message_body(&body)
        .send()
        .await
        .unwrap();
    let mut again = input.clone();
    again["calls"] = serde_json::json!(1);
    let err = dialer.handle(again).await.unwrap_err();
    assert_eq!(err.name, ErrorName::QueueEmpty);
    assert_eq!(tokens.lock().unwrap().len(), 1, "dialed twice");
    let left = sqs
        .receive_message()
        .queue_url(&queue_url)
        .wait_time_seconds(0)
        .send()
        .await
        .unwrap();
    assert!(left.messages().is_empty());
}
