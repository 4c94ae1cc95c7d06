//! The dialing side against moto over HTTP: real DynamoDB conditional writes, SQS and S3.
//! Amazon Connect and Step Functions are faked in process (moto has no outbound contacts), so
//! the tests can also assert what would have been placed and which lane was woken.
//!
//! Ignored unless run with `--include-ignored` and `MOTO_ENDPOINT` (see `make test`).

use aws_config::BehaviorVersion;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
    ScalarAttributeType,
};
use aws_smithy_mocks::{mock, mock_client, RuleMode};
use chrono::Utc;
use outbound_core::completion::{
    complete, record_disconnect, record_token, Completion, DisconnectRecorded, Ledger, PlacedCall,
    TokenRecorded,
};
use outbound_core::contact::{Contact, ContactSource};
use outbound_core::dialing::{DialSettings, Dialer, QueueNumber};
use outbound_core::error::ErrorName;
use outbound_core::events::CallEnd;
use outbound_core::hours::StatusCache;
use outbound_core::rate_limit::{acquire, RateLimit};
use outbound_core::records::{LaneState, Outcome, ResultRecord};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn endpoint() -> String {
    std::env::var("MOTO_ENDPOINT")
        .expect("MOTO_ENDPOINT is not set: start moto (.venv/bin/moto_server -p 5104) and export MOTO_ENDPOINT=http://127.0.0.1:5104")
}

fn unique(prefix: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{prefix}-{}", nanos % 1_000_000_000_000)
}

async fn sdk() -> aws_config::SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint())
        .region(aws_config::Region::new("eu-west-2"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "testing", "testing", None, None, "moto",
        ))
        .load()
        .await
}

/// A fresh table and bucket for one test.
async fn ledger(sdk: &aws_config::SdkConfig) -> Ledger {
    let dynamodb = aws_sdk_dynamodb::Client::new(sdk);
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(sdk)
            .force_path_style(true)
            .build(),
    );
    let table_name = unique("it-active-dialing");
    dynamodb
        .create_table()
        .table_name(&table_name)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("pk")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("pk")
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .expect("create table in moto");
    let results_bucket = unique("it-results");
    s3.create_bucket()
        .bucket(&results_bucket)
        .create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::EuWest2)
                .build(),
        )
        .send()
        .await
        .expect("create bucket in moto");
    Ledger {
        dynamodb,
        s3,
        table_name,
        results_bucket,
    }
}

/// (task token, output) of every `SendTaskSuccess`.
type Sent = Arc<Mutex<Vec<(String, String)>>>;

/// Step Functions in process: every successful `SendTaskSuccess` is recorded.
fn sfn() -> (aws_sdk_sfn::Client, Sent) {
    let sent = Arc::new(Mutex::new(Vec::new()));
    let log = sent.clone();
    let rule = mock!(aws_sdk_sfn::Client::send_task_success).then_compute_output(move |r| {
        log.lock().unwrap().push((
            r.task_token().unwrap().to_string(),
            r.output().unwrap().to_string(),
        ));
        aws_sdk_sfn::operation::send_task_success::SendTaskSuccessOutput::builder().build()
    });
    (mock_client!(aws_sdk_sfn, RuleMode::MatchAny, [&rule]), sent)
}

fn contact() -> Contact {
    Contact {
        campaign: "spring".into(),
        key: "C-1".into(),
        phone: "+447700900123".into(),
        attempt: 1,
        attributes: BTreeMap::from([("firstName".to_string(), "Ann".to_string())]),
        source: ContactSource::Csv {
            object: "uploads/spring.csv".into(),
            line: 2,
        },
    }
}

fn lane(run_id: &str, calls: u32) -> LaneState {
    LaneState {
        run_id: run_id.into(),
        lane: 1,
        calls,
        budget: 100,
        timeout_seconds: 120,
    }
}

fn end(outcome: Outcome) -> CallEnd {
    CallEnd {
        disconnected_at: Utc::now(),
        outcome,
    }
}

async fn store_token(
    ledger: &Ledger,
    contact_id: &str,
    token: &str,
    next: &LaneState,
    caller_id: Option<&str>,
) -> TokenRecorded {
    let c = contact();
    record_token(
        ledger,
        &PlacedCall {
            contact_id,
            task_token: token,
            next_state: next,
            contact: &c,
            contact_key: &c.contact_key(),
            caller_id,
            dialed_at: Utc::now(),
        },
    )
    .await
    .expect("record token")
}

async fn result_objects(ledger: &Ledger) -> Vec<(String, String)> {
    let list = ledger
        .s3
        .list_objects_v2()
        .bucket(&ledger.results_bucket)
        .prefix("results/")
        .send()
        .await
        .unwrap();
    let mut out = Vec::new();
    for object in list.contents() {
        let key = object.key().unwrap().to_string();
        let body = ledger
            .s3
            .get_object()
            .bucket(&ledger.results_bucket)
            .key(&key)
            .send()
            .await
            .unwrap()
            .body
            .collect()
            .await
            .unwrap()
            .into_bytes();
        out.push((key, String::from_utf8(body.to_vec()).unwrap()));
    }
    out
}

fn parse_record(body: &str) -> ResultRecord {
    assert_eq!(body.matches('\n').count(), 1, "one JSON line: {body}");
    serde_json::from_str(body.trim_end()).unwrap()
}

#[tokio::test]
#[ignore = "needs moto: MOTO_ENDPOINT, run by make test"]
async fn race_token_first_with_real_conditional_writes() {
    let sdk = sdk().await;
    let ledger = ledger(&sdk).await;
    let (sfn, sent) = sfn();
    let next = lane("r-a", 1);
    assert_eq!(
        store_token(&ledger, "c-a", "T-a", &next, Some("+12125550142")).await,
        TokenRecorded::Waiting
    );
    let status = record_disconnect(&ledger, &sfn, "c-a", &end(Outcome::Connected), Utc::now())
        .await
        .unwrap();
    assert_eq!(status, DisconnectRecorded::Completed);
    let dup = record_disconnect(&ledger, &sfn, "c-a", &end(Outcome::Connected), Utc::now())
        .await
        .unwrap();
    assert_eq!(dup, DisconnectRecorded::Duplicate);
    assert_eq!(
        sent.lock().unwrap().clone(),
        vec![("T-a".to_string(), serde_json::to_string(&next).unwrap())]
    );
    let objects = result_objects(&ledger).await;
    assert_eq!(objects.len(), 1);
    let record = parse_record(&objects[0].1);
    assert_eq!(record.outcome, Outcome::Connected);
    assert_eq!(record.caller_id.as_deref(), Some("+12125550142"));
    assert_eq!(objects[0].0, record.object_key());
}

#[tokio::test]
#[ignore = "needs moto: MOTO_ENDPOINT, run by make test"]
async fn a_placement_again_with_the_queue_number_forgets_the_routed_caller_id() {
    let sdk = sdk().await;
    let ledger = ledger(&sdk).await;
    let (sfn, sent) = sfn();
    let next = lane("r-d", 2);
    store_token(&ledger, "c-d", "T-d1", &next, Some("+442079460100")).await;
    // The message came back and the contact was placed again (same ClientToken, same contact),
    // this time without a routed number: the takeover write removes the first one's.
    assert_eq!(
        store_token(&ledger, "c-d", "T-d2", &next, None).await,
        TokenRecorded::Waiting
    );
    record_disconnect(&ledger, &sfn, "c-d", &end(Outcome::Busy), Utc::now())
        .await
        .unwrap();
    assert_eq!(sent.lock().unwrap()[0].0, "T-d2");
    let objects = result_objects(&ledger).await;
    let record = objects
        .iter()
        .map(|(_, body)| parse_record(body))
        .find(|r| r.run_id == "r-d")
        .expect("r-d's record");
    assert_eq!(record.outcome, Outcome::Busy);
    assert_eq!(record.caller_id, None);
}

#[tokio::test]
#[ignore = "needs moto: MOTO_ENDPOINT, run by make test"]
async fn race_disconnect_first_with_real_conditional_writes() {
    let sdk = sdk().await;
    let ledger = ledger(&sdk).await;
    let (sfn, sent) = sfn();
    let status = record_disconnect(&ledger, &sfn, "c-b", &end(Outcome::NoAnswer), Utc::now())
        .await
        .unwrap();
    assert_eq!(status, DisconnectRecorded::Recorded);
    // EventBridge delivers at least once: the duplicate changes nothing.
    let dup = record_disconnect(&ledger, &sfn, "c-b", &end(Outcome::NoAnswer), Utc::now())
        .await
        .unwrap();
    assert_eq!(dup, DisconnectRecorded::Duplicate);
    assert!(sent.lock().unwrap().is_empty());
    let next = lane("r-b", 4);
    let TokenRecorded::DisconnectSeen(item) = store_token(&ledger, "c-b", "T-b", &next, None).await
    else {
        panic!("the token side must see the stored disconnect");
    };
    assert_eq!(
        complete(&ledger, &sfn, &item, Utc::now()).await.unwrap(),
        Completion::Completed
    );
    // A second completer (a retried dial, a late duplicate) loses the claim.
    assert_eq!(
        complete(&ledger, &sfn, &item, Utc::now()).await.unwrap(),
        Completion::AlreadyCompleted
    );
    assert_eq!(sent.lock().unwrap().len(), 1);
    assert_eq!(sent.lock().unwrap()[0].0, "T-b");
    let objects = result_objects(&ledger).await;
    assert_eq!(objects.len(), 1);
    assert_eq!(parse_record(&objects[0].1).outcome, Outcome::NoAnswer);
    assert_eq!(parse_record(&objects[0].1).caller_id, None);
}

#[tokio::test]
#[ignore = "needs moto: MOTO_ENDPOINT, run by make test"]
async fn result_records_are_written_once_and_rewritten_in_place() {
    let sdk = sdk().await;
    let ledger = ledger(&sdk).await;
    let (sfn, _) = sfn();
    store_token(&ledger, "c-c", "T-c", &lane("r-c", 1), None).await;
    record_disconnect(&ledger, &sfn, "c-c", &end(Outcome::Connected), Utc::now())
        .await
        .unwrap();
    for _ in 0..3 {
        record_disconnect(&ledger, &sfn, "c-c", &end(Outcome::Connected), Utc::now())
            .await
            .unwrap();
    }
    // The agent's disposition after the call replaces the record at the same key.
    let event = serde_json::json!({"Details": {"ContactData": {"ContactId": "c-c"},
                                               "Parameters": {"disposition": "SALE", "note": "x"}}});
    let answer = outbound_core::disposition::set_disposition(&ledger, &event, Utc::now())
        .await
        .unwrap();
    assert_eq!(answer["status"], "recorded");
    let objects = result_objects(&ledger).await;
    assert_eq!(objects.len(), 1, "{objects:?}");
    let record = parse_record(&objects[0].1);
    assert_eq!(record.disposition.as_deref(), Some("SALE"));
    assert_eq!(record.outcome, Outcome::Connected);
}

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
        let item = ledger
            .dynamodb
            .get_item()
            .table_name(&ledger.table_name)
            .key("pk", AttributeValue::S(format!("RATE#{window}")))
            .consistent_read(true)
            .send()
            .await
            .unwrap()
            .item()
            .cloned()
            .unwrap();
        assert_eq!(item["n"].as_n().unwrap(), &n.to_string());
        assert!(item.contains_key("expiresAt"));
    }
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
async fn dial_places_records_and_never_dials_a_contact_twice_in_a_run() {
    let sdk = sdk().await;
    let ledger = ledger(&sdk).await;
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
        status: StatusCache::new(Duration::ZERO),
        chooser: QueueNumber,
        settings: DialSettings::new(prefix.clone(), queue_url.clone(), 0),
    };
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
        vec![contact().client_token("r-d")]
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

    // The same contact queued again in the same run is deleted without a call.
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
