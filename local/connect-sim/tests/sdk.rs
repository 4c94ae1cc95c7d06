//! The simulator as the functions see it: driven through the AWS SDK for Rust, its answers and
//! its contact events read with the product's own parsers (the event parser of
//! `process-contact-events`; outcome mapping, error classification and hours evaluation of
//! `outbound-core`). If the wire formats drifted from what the product reads, these tests fail,
//! not the end-to-end campaign.

use aws_sdk_connect::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_connect::error::ProvideErrorMetadata;
use aws_sdk_connect::Client;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use connect_sim::config::SimConfig;
use connect_sim::server::{self, App};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use outbound_core::error::{classify_sdk_error, ErrorName};
use outbound_core::events::call_end_from_contact;
use outbound_core::hours::{evaluate_queue, fetch_queue_snapshot, QueueReason, WeeklyHours};
use outbound_core::records::Outcome;
use process_contact_events::contact_event::parse_contact_event;
use serde_json::{json, Value};
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpListener;

const INSTANCE: &str = "inst-0001";

struct Stack {
    endpoint: String,
    events: Arc<Mutex<Vec<Value>>>,
}

/// A stand-in for EventBridge: records each `PutEvents` entry and accepts it.
async fn start_event_sink() -> (String, Arc<Mutex<Vec<Value>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let store: Arc<Mutex<Vec<Value>>> = Arc::default();
    let sink = store.clone();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let sink = sink.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                    let sink = sink.clone();
                    async move {
                        assert_eq!(req.headers()["x-amz-target"], "AWSEvents.PutEvents");
                        let body = req.into_body().collect().await.unwrap().to_bytes();
                        let v: Value = serde_json::from_slice(&body).unwrap();
                        for e in v["Entries"].as_array().unwrap() {
                            sink.lock().unwrap().push(e.clone());
                        }
                        let ok = json!({"FailedEntryCount": 0, "Entries": [{"EventId": "e"}]});
                        Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(ok.to_string()))))
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (url, store)
}

async fn start(patch: Value) -> Stack {
    let (sink, events) = start_event_sink().await;
    let mut patch = patch;
    patch["eventsEndpoint"] = json!(sink);
    let config = SimConfig::default().merged(&patch).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let app = App::new(config, false);
    tokio::spawn(async move {
        server::serve(app, listener, std::future::pending())
            .await
            .unwrap();
    });
    Stack { endpoint, events }
}

fn client(endpoint: &str) -> Client {
    let conf = aws_sdk_connect::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "test"))
        .endpoint_url(endpoint)
        .retry_config(aws_sdk_connect::config::retry::RetryConfig::disabled())
        .build();
    Client::from_conf(conf)
}

async fn place(c: &Client, number: &str, token: &str) -> String {
    c.start_outbound_voice_contact()
        .instance_id(INSTANCE)
        .contact_flow_id("flow-1")
        .queue_id("queue-1")
        .destination_phone_number(number)
        .client_token(token)
        .attributes("firstName", "Ann")
        .send()
        .await
        .expect("StartOutboundVoiceContact")
        .contact_id()
        .unwrap()
        .to_string()
}

/// Calls that end within ~0.1 s, all with the given outcome shares.
fn fast(answer: f64, busy: f64, fail: f64) -> Value {
    json!({
        "timeScale": 0.01, "quotaRate": 0,
        "answerRate": answer, "busyRate": busy, "failRate": fail,
        "ringSeconds": {"min": 1.0, "max": 3.0}, "talkSeconds": {"min": 2.0, "max": 5.0}
    })
}

async fn wait_for_events(stack: &Stack, n: usize) -> Vec<Value> {
    for _ in 0..200 {
        let got = stack.events.lock().unwrap().clone();
        if got.len() >= n {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("fewer than {n} events arrived");
}

/// An entry as EventBridge hands it to a target: the envelope around `Detail`.
fn as_delivered(entry: &Value) -> Value {
    let time = DateTime::from_timestamp(entry["Time"].as_f64().unwrap() as i64, 0).unwrap();
    json!({
        "version": "0", "id": "id-1", "account": "123456789012", "region": "us-east-1",
        "source": entry["Source"], "detail-type": entry["DetailType"],
        "resources": entry["Resources"], "time": time.to_rfc3339(),
        "detail": serde_json::from_str::<Value>(entry["Detail"].as_str().unwrap()).unwrap()
    })
}

#[tokio::test]
async fn every_outcome_reads_the_same_from_the_event_and_from_describe_contact() {
    let cases = [
        (fast(1.0, 0.0, 0.0), Outcome::Connected),
        (fast(0.0, 1.0, 0.0), Outcome::Busy),
        (fast(0.0, 0.0, 1.0), Outcome::Failed),
        (fast(0.0, 0.0, 0.0), Outcome::NoAnswer),
    ];
    for (patch, expected) in cases {
        let stack = start(patch).await;
        let c = client(&stack.endpoint);
        let id = place(&c, "+447700900123", "tok-1").await;
        let events = wait_for_events(&stack, 1).await;
        let event =
            parse_contact_event(&as_delivered(&events[0])).expect("outbound-core parses the event");
        // The event passes process-contact-events' own filter for the instance it was placed on.
        let instance_arn = format!("arn:aws:connect:us-east-1:123456789012:instance/{INSTANCE}");
        assert!(event.is_disconnect());
        assert_eq!(event.not_ours(&instance_arn), None);
        assert_eq!(event.contact_id, id);
        assert_eq!(
            event.call_end(Utc::now()).outcome,
            expected,
            "event outcome"
        );
        let contact = c
            .describe_contact()
            .instance_id(INSTANCE)
            .contact_id(&id)
            .send()
            .await
            .unwrap();
        let end = call_end_from_contact(contact.contact().unwrap()).expect("the call has ended");
        assert_eq!(end.outcome, expected, "DescribeContact outcome");
        assert_eq!(
            Some(end.disconnected_at.timestamp()),
            event.disconnect_timestamp.map(|t| t.timestamp())
        );
    }
}

/// The new outcomes through the real SDK: an invalid number, and a voicemail when the request
/// asks for answering machine detection the way dial sends it. Both paths (the event and
/// DescribeContact) read the same outcome.
#[tokio::test]
async fn invalid_numbers_and_detected_voicemails_read_the_same_on_both_paths() {
    use aws_sdk_connect::types::{AnswerMachineDetectionConfig, TrafficType};
    let mut invalid = fast(0.0, 0.0, 0.0);
    invalid["invalidRate"] = json!(1.0);
    let mut voicemail = fast(0.0, 0.0, 0.0);
    voicemail["voicemailRate"] = json!(1.0);
    voicemail["voicemailSeconds"] = json!(2.0);
    for (patch, expected) in [
        (invalid, Outcome::InvalidNumber),
        (voicemail, Outcome::Voicemail),
    ] {
        let stack = start(patch).await;
        let c = client(&stack.endpoint);
        let id = c
            .start_outbound_voice_contact()
            .instance_id(INSTANCE)
            .contact_flow_id("flow-1")
            .queue_id("queue-1")
            .destination_phone_number("+447700900123")
            .client_token("tok-amd")
            .answer_machine_detection_config(
                AnswerMachineDetectionConfig::builder()
                    .enable_answer_machine_detection(true)
                    .await_answer_machine_prompt(true)
                    .build(),
            )
            .traffic_type(TrafficType::Campaign)
            .campaign_id("cmp-1")
            .send()
            .await
            .expect("StartOutboundVoiceContact with detection")
            .contact_id()
            .unwrap()
            .to_string();
        let events = wait_for_events(&stack, 1).await;
        let event = parse_contact_event(&as_delivered(&events[0])).unwrap();
        assert_eq!(event.contact_id, id);
        assert_eq!(event.call_end(Utc::now()).outcome, expected, "event");
        let contact = c
            .describe_contact()
            .instance_id(INSTANCE)
            .contact_id(&id)
            .send()
            .await
            .unwrap();
        let end = call_end_from_contact(contact.contact().unwrap()).expect("ended");
        assert_eq!(end.outcome, expected, "DescribeContact");
    }
    // Detection without campaign traffic is refused and places nothing.
    let stack = start(fast(1.0, 0.0, 0.0)).await;
    let err = client(&stack.endpoint)
        .start_outbound_voice_contact()
        .instance_id(INSTANCE)
        .contact_flow_id("flow-1")
        .destination_phone_number("+447700900123")
        .answer_machine_detection_config(
            AnswerMachineDetectionConfig::builder()
                .enable_answer_machine_detection(true)
                .build(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_sdk_connect::error::ProvideErrorMetadata::code(&err),
        Some("InvalidParameterException")
    );
}

/// An abandoned call through the real SDK: the person answered, the flow queued the call, and
/// it ended without an agent. Both paths read `abandoned`, with or without detection (a person
/// is `HUMAN_ANSWERED`); a call answered and ended outside the queue stays `connected`.
#[tokio::test]
async fn an_abandoned_call_reads_the_same_on_both_paths() {
    let mut patch = fast(1.0, 0.0, 0.0);
    patch["abandonNumbers"] = json!(["+447700900124"]);
    patch["abandonSeconds"] = json!(2.0);
    let stack = start(patch).await;
    let c = client(&stack.endpoint);
    let mut ids = Vec::new();
    for (destination, token) in [("+447700900124", "tok-ab"), ("+447700900125", "tok-ok")] {
        let id = c
            .start_outbound_voice_contact()
            .instance_id(INSTANCE)
            .contact_flow_id("flow-1")
            .queue_id("queue-1")
            .destination_phone_number(destination)
            .client_token(token)
            .send()
            .await
            .expect("StartOutboundVoiceContact")
            .contact_id()
            .unwrap()
            .to_string();
        ids.push(id);
    }
    let events = wait_for_events(&stack, 2).await;
    for (id, expected) in ids.iter().zip([Outcome::Abandoned, Outcome::Connected]) {
        let event = events
            .iter()
            .map(|e| parse_contact_event(&as_delivered(e)).unwrap())
            .find(|e| &e.contact_id == id)
            .expect("its event");
        assert_eq!(event.call_end(Utc::now()).outcome, expected, "event");
        let contact = c
            .describe_contact()
            .instance_id(INSTANCE)
            .contact_id(id)
            .send()
            .await
            .unwrap();
        let end = call_end_from_contact(contact.contact().unwrap()).expect("ended");
        assert_eq!(end.outcome, expected, "DescribeContact");
    }
}

#[tokio::test]
async fn a_call_in_progress_has_no_end_yet() {
    let stack = start(
        json!({"timeScale": 1.0, "answerRate": 1.0, "busyRate": 0.0, "failRate": 0.0,
        "quotaRate": 0, "ringSeconds": {"min": 30.0, "max": 30.0}}),
    )
    .await;
    let c = client(&stack.endpoint);
    let id = place(&c, "+447700900123", "tok-1").await;
    let contact = c
        .describe_contact()
        .instance_id(INSTANCE)
        .contact_id(&id)
        .send()
        .await
        .unwrap();
    assert_eq!(call_end_from_contact(contact.contact().unwrap()), None);
}

#[tokio::test]
async fn the_quota_error_is_classified_throttled() {
    let stack = start(json!({"quotaRate": 0.01, "quotaBurst": 1})).await;
    let c = client(&stack.endpoint);
    let first = place(&c, "+447700900123", "a").await;
    let err = c
        .start_outbound_voice_contact()
        .instance_id(INSTANCE)
        .contact_flow_id("flow-1")
        .destination_phone_number("+447700900124")
        .client_token("b")
        .send()
        .await
        .expect_err("over the quota");
    let raw = err
        .raw_response()
        .expect("a service answer")
        .status()
        .as_u16();
    assert_eq!(raw, 429);
    assert_eq!(
        aws_sdk_connect::error::ProvideErrorMetadata::code(&err),
        Some("TooManyRequestsException")
    );
    assert_eq!(classify_sdk_error(&err), ErrorName::Throttled);
    assert!(!first.is_empty());
}

#[tokio::test]
async fn same_client_token_same_contact() {
    let stack = start(json!({"quotaRate": 0})).await;
    let c = client(&stack.endpoint);
    let a = place(&c, "+447700900123", "run-1|contact|1").await;
    let b = place(&c, "+447700900123", "run-1|contact|1").await;
    let other = place(&c, "+447700900123", "run-2|contact|1").await;
    assert_eq!(a, b);
    assert_ne!(a, other);
}

#[tokio::test]
async fn queue_and_hours_read_by_the_dialers_evaluator() {
    let stack = start(json!({})).await;
    let c = client(&stack.endpoint);
    let queue = c
        .describe_queue()
        .instance_id(INSTANCE)
        .queue_id("queue-1")
        .send()
        .await
        .unwrap();
    let queue = queue.queue().unwrap();
    assert_eq!(
        queue.status(),
        Some(&aws_sdk_connect::types::QueueStatus::Enabled)
    );
    let hours_id = queue.hours_of_operation_id().unwrap().to_string();
    let read_hours = |c: Client, id: String| async move {
        let out = c
            .describe_hours_of_operation()
            .instance_id(INSTANCE)
            .hours_of_operation_id(id)
            .send()
            .await
            .unwrap();
        WeeklyHours::from_connect(out.hours_of_operation().unwrap()).expect("valid hours")
    };
    let always = read_hours(c.clone(), hours_id.clone()).await;
    assert!(
        always.evaluate(Utc::now()).open,
        "the default hours are open now"
    );

    // "Closed now, opens in 90 s" as the dialer's own evaluator reads it.
    let http = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<Full<Bytes>>();
    let req = Request::post(format!("{}/_sim/hours/closed-for", stack.endpoint))
        .body(Full::new(Bytes::from(r#"{"seconds": 90}"#)))
        .unwrap();
    let resp = http.request(req).await.unwrap();
    let body: Value =
        serde_json::from_slice(&resp.into_body().collect().await.unwrap().to_bytes()).unwrap();
    let opens_at: DateTime<Utc> = DateTime::parse_from_rfc3339(body["opensAt"].as_str().unwrap())
        .unwrap()
        .with_timezone(&Utc);
    let closed = read_hours(c, hours_id).await;
    let status = closed.evaluate(Utc::now());
    assert!(!status.open, "closed now");
    assert_eq!(
        status.next_opening,
        Some(opens_at),
        "opens when the simulator said"
    );
    assert!(closed.is_open_at(opens_at + chrono::Duration::hours(12)));
}

/// POSTs (or DELETEs) a control call and returns its status and JSON answer.
async fn control(method: &str, url: String, body: Value) -> (u16, Value) {
    let http = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<Full<Bytes>>();
    let req = Request::builder()
        .method(method)
        .uri(url)
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap();
    let resp = http.request(req).await.unwrap();
    let status = resp.status().as_u16();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&body).unwrap())
}

#[tokio::test]
async fn a_holiday_override_read_through_the_dialers_effective_hours() {
    let stack = start(json!({})).await;
    let c = client(&stack.endpoint);
    let now = Utc::now();
    let snapshot = fetch_queue_snapshot(&c, INSTANCE, "queue-1", now)
        .await
        .unwrap();
    let hours = snapshot.hours.as_ref().unwrap();
    assert_eq!(hours.source(), "effective", "the effective hours answered");
    assert!(evaluate_queue(&snapshot, now).open);

    // A holiday today (the hours are in UTC): closed until tomorrow 00:00.
    let today = now.date_naive().format("%Y-%m-%d").to_string();
    let (status, added) = control(
        "POST",
        format!("{}/_sim/hours/overrides", stack.endpoint),
        json!({"Name": "Holiday", "EffectiveFrom": today, "EffectiveTill": today, "Config": []}),
    )
    .await;
    assert_eq!(status, 200, "{added}");
    let now = Utc::now();
    let snapshot = fetch_queue_snapshot(&c, INSTANCE, "queue-1", now)
        .await
        .unwrap();
    let v = evaluate_queue(&snapshot, now);
    assert_eq!((v.open, v.reason), (false, QueueReason::OutsideHours));
    let tomorrow = now
        .date_naive()
        .succ_opt()
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_utc();
    assert_eq!(
        v.next_opening,
        Some(tomorrow),
        "the next opening skips the holiday"
    );
    // The weekly hours do not show it (overrides have their own APIs).
    let weekly = c
        .describe_hours_of_operation()
        .instance_id(INSTANCE)
        .hours_of_operation_id("sim-hours-0001")
        .send()
        .await
        .unwrap();
    assert!(
        WeeklyHours::from_connect(weekly.hours_of_operation().unwrap())
            .unwrap()
            .is_open_at(now)
    );

    // Removed: open again.
    let id = added["override"]["HoursOfOperationOverrideId"]
        .as_str()
        .unwrap();
    let (status, _) = control(
        "DELETE",
        format!("{}/_sim/hours/overrides/{id}", stack.endpoint),
        json!({}),
    )
    .await;
    assert_eq!(status, 200);
    let snapshot = fetch_queue_snapshot(&c, INSTANCE, "queue-1", Utc::now())
        .await
        .unwrap();
    assert!(evaluate_queue(&snapshot, Utc::now()).open);
}

#[tokio::test]
async fn effective_hours_requests_are_checked() {
    let stack = start(json!({})).await;
    let c = client(&stack.endpoint);
    let ask = |from: &'static str, to: &'static str, id: &'static str| {
        c.get_effective_hours_of_operations()
            .instance_id(INSTANCE)
            .hours_of_operation_id(id)
            .from_date(from)
            .to_date(to)
            .send()
    };
    let out = ask("2026-12-24", "2026-12-27", "sim-hours-0001")
        .await
        .unwrap();
    assert_eq!(out.time_zone(), Some("UTC"));
    assert_eq!(out.effective_hours_of_operation_list().len(), 4);
    for (from, to) in [("2026-12-27", "2026-12-24"), ("24/12/2026", "2026-12-27")] {
        let e = ask(from, to, "sim-hours-0001").await.unwrap_err();
        assert_eq!(
            e.as_service_error().and_then(|s| s.code()),
            Some("InvalidParameterException"),
            "{from}..{to}"
        );
    }
    let e = ask("2026-12-24", "2026-12-27", "other").await.unwrap_err();
    assert_eq!(classify_sdk_error(&e), ErrorName::InvalidInput);
    // A bad override is refused with its reason.
    let (status, answer) = control(
        "POST",
        format!("{}/_sim/hours/overrides", stack.endpoint),
        json!({"Name": "Bad", "EffectiveFrom": "2026-12-25", "EffectiveTill": "2026-12-24"}),
    )
    .await;
    assert_eq!(status, 400, "{answer}");
}
