//! load-list against moto over HTTP: S3, SQS, SSM and Step Functions for real (locally).
//!
//! Ignored unless run with `--include-ignored` and `MOTO_ENDPOINT` (`make test` does both).
//! Every test makes its own buckets, queue and parameters, so they share one moto server.

use load_list::{handle, Clients, Env, Tuning};
use outbound_core::contact::{Contact, ContactSource};
use outbound_core::intake::RetryPolicy;
use outbound_core::records::RejectRecord;
use serde_json::{json, Value};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Counts live heap bytes and their high-water mark, to show memory stays flat.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(live, Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            if new_size >= layout.size() {
                let live = LIVE.fetch_add(new_size - layout.size(), Ordering::Relaxed) + new_size
                    - layout.size();
                PEAK.fetch_max(live, Ordering::Relaxed);
            } else {
                LIVE.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
            }
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// The allocation counters are process-wide: the tests of this file run one at a time so that one
/// test's allocations do not show in another's figure.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn endpoint() -> String {
    std::env::var("MOTO_ENDPOINT").expect(
        "MOTO_ENDPOINT must point at a moto server (e.g. http://127.0.0.1:5103) for these tests",
    )
}

fn unique(prefix: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{prefix}-{:x}", nanos & 0xffff_ffff_ffff)
}

async fn sdk() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            "testing", "testing", None, None, "moto",
        ))
        .load()
        .await
}

struct Stack {
    clients: Clients,
    env: Env,
    input_bucket: String,
}

async fn stack(name: &str) -> Stack {
    let sdk = sdk().await;
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&sdk)
            .force_path_style(true)
            .build(),
    );
    let clients = Clients {
        s3,
        sqs: aws_sdk_sqs::Client::new(&sdk),
        ssm: aws_sdk_ssm::Client::new(&sdk),
        sfn: aws_sdk_sfn::Client::new(&sdk),
        keyer: outbound_core::testkit::moto::contact_keyer(&sdk).await,
    };
    let id = unique(name);
    let input_bucket = format!("{id}-input");
    let results_bucket = format!("{id}-results");
    for b in [&input_bucket, &results_bucket] {
        clients
            .s3
            .create_bucket()
            .bucket(b)
            .send()
            .await
            .expect("create bucket");
    }
    let queue_url = clients
        .sqs
        .create_queue()
        .queue_name(format!("{id}-contacts"))
        .send()
        .await
        .expect("create queue")
        .queue_url()
        .unwrap()
        .to_string();
    let prefix = format!("/connect/blaster/{id}/");
    for (k, v) in [("isocountrycode", "GB"), ("countrycode", "44")] {
        clients
            .ssm
            .put_parameter()
            .name(format!("{prefix}{k}"))
            .value(v)
            .r#type(aws_sdk_ssm::types::ParameterType::String)
            .send()
            .await
            .expect("put parameter");
    }
    let state_machine_arn = clients
        .sfn
        .create_state_machine()
        .name(format!("{id}-dialer"))
        .role_arn("arn:aws:iam::123456789012:role/dialer")
        .definition(json!({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}).to_string())
        .send()
        .await
        .expect("create state machine")
        .state_machine_arn()
        .to_string();
    Stack {
        clients,
        env: Env {
            input_bucket: input_bucket.clone(),
            destinations: outbound_core::destinations::DestinationRules::parse("GB,US,CA,AU")
                .unwrap(),
            queue_url,
            results_bucket,
            state_machine_arn,
            ssm_prefix: prefix,
            // Read only by main; the clients above carry the keyer derived from moto's KMS.
            contact_key_kms_key_arn:
                "arn:aws:kms:eu-west-2:123456789012:key/11111111-2222-3333-4444-555555555555".into(),
        },
        input_bucket,
    }
}

fn s3_event(bucket: &str, key: &str) -> Value {
    // The event URL-encodes the key, as S3 does.
    let encoded: String = key
        .bytes()
        .map(|b| match b {
            b' ' => "+".to_string(),
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'/' | b'-' | b'_' | b'.' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect();
    json!({"Records": [{"eventName": "ObjectCreated:Put", "s3": {
        "bucket": {"name": bucket}, "object": {"key": encoded, "sequencer": "0A1B2C"}}}]})
}

async fn drain(sqs: &aws_sdk_sqs::Client, url: &str) -> Vec<Contact> {
    let mut out = Vec::new();
    loop {
        let page = sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .visibility_timeout(300)
            .send()
            .await
            .expect("receive");
        let msgs = page.messages();
        if msgs.is_empty() {
            return out;
        }
        for m in msgs {
            out.push(serde_json::from_str(m.body().unwrap()).expect("contract message"));
        }
    }
}

async fn read_object(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) -> String {
    let o = s3
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .expect("object exists");
    String::from_utf8(o.body.collect().await.unwrap().into_bytes().to_vec()).unwrap()
}

async fn parameter(ssm: &aws_sdk_ssm::Client, name: &str) -> Option<String> {
    ssm.get_parameter()
        .name(name)
        .send()
        .await
        .ok()?
        .parameter()?
        .value()
        .map(str::to_string)
}

#[tokio::test]
#[ignore = "needs moto: MOTO_ENDPOINT, run by make test"]
async fn sample_list_ends_with_the_exact_queue_and_reject_report() {
    let _serial = SERIAL.lock().await;
    let s = stack("ll-sample").await;
    let csv = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../sample-files/contacts.csv"
    ))
    .unwrap();
    let key = "uploads/spring renewals.csv";
    s.clients
        .s3
        .put_object()
        .bucket(&s.input_bucket)
        .key(key)
        .body(csv.into())
        .send()
        .await
        .unwrap();
    let tuning = Tuning {
        policy: RetryPolicy::immediate(3),
        ..Tuning::default()
    };

    let out = handle(&s.clients, &s.env, &tuning, s3_event(&s.input_bucket, key))
        .await
        .unwrap();
    assert_eq!(out["object"], key);
    assert_eq!(
        (
            out["queued"].as_u64(),
            out["rejected"].as_u64(),
            out["duplicates"].as_u64()
        ),
        (Some(8), Some(4), Some(1))
    );
    assert_eq!(out["error"], Value::Null);

    // The queue holds exactly the valid rows, once, with their line and attributes.
    let mut queued = drain(&s.clients.sqs, &s.env.queue_url).await;
    queued.sort_by_key(|c| match c.source {
        ContactSource::Csv { line, .. } => line,
        _ => 0,
    });
    let got: Vec<(String, String, u64)> = queued
        .iter()
        .map(|c| {
            let line = match c.source {
                ContactSource::Csv { line, .. } => line,
                _ => 0,
            };
            (c.key.clone(), c.phone.clone(), line)
        })
        .collect();
    let expected: Vec<(String, String, u64)> = [
        ("C-1001", "+442079460001", 2),
        ("C-1002", "+442079460002", 3),
        ("C-1003", "+12125550100", 4),
        ("C-1004", "+14165550101", 5),
        ("C-1005", "+61491570156", 7),
        ("C-1006", "+441134960003", 8),
        ("C-1007", "+442079460004", 9),
        ("C-1008", "+442079460006", 15),
    ]
    .into_iter()
    .map(|(k, p, l)| (k.to_string(), p.to_string(), l))
    .collect();
    assert_eq!(got, expected);
    assert!(queued
        .iter()
        .all(|c| c.campaign == "spring renewals" && c.attempt == 1));
    assert_eq!(queued[1].attributes["notes"], "prefers mornings, before 11");
    assert_eq!(
        queued[3].attributes["notes"],
        "Toronto office\r\nask for Dev"
    );
    assert_eq!(queued[6].attributes["lastName"], "O\"Neil");
    assert_eq!(queued[0].attributes["Preferred_Language"], "en");

    // The reject report, line by line.
    let report_key = out["rejectReport"].as_str().unwrap();
    assert_eq!(
        report_key,
        "rejects/campaign=spring_renewals/uploads_spring renewals.csv.jsonl"
    );
    let report = read_object(&s.clients.s3, &s.env.results_bucket, report_key).await;
    let rejects: Vec<RejectRecord> = report
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let summary: Vec<(u64, &str, Option<&str>)> = rejects
        .iter()
        .map(|r| (r.line, r.reason.as_str(), r.customer_key.as_deref()))
        .collect();
    assert_eq!(
        summary,
        vec![
            (
                10,
                "invalid phone: phone number is not a valid number for its country",
                Some("C-2001")
            ),
            (
                11,
                "invalid phone: phone number is not a valid number for its country",
                Some("C-2002")
            ),
            (12, "missing phone", Some("C-2003")),
            (13, "missing custID", None),
        ]
    );
    assert!(rejects.iter().all(|r| r.source == key));
    assert_eq!(rejects[1].phone_masked.as_deref(), Some("+44*******123"));
    assert!(
        !report.contains("7700900123"),
        "no number in clear in the report"
    );

    // totalRecords grew by what was queued; the run was started with the contract input.
    assert_eq!(
        parameter(&s.clients.ssm, &format!("{}totalRecords", s.env.ssm_prefix))
            .await
            .as_deref(),
        Some("8")
    );
    let executions = s
        .clients
        .sfn
        .list_executions()
        .state_machine_arn(&s.env.state_machine_arn)
        .send()
        .await
        .unwrap();
    assert_eq!(executions.executions().len(), 1);
    let exec_arn = executions.executions()[0].execution_arn();
    assert_eq!(out["execution"], exec_arn);
    let described = s
        .clients
        .sfn
        .describe_execution()
        .execution_arn(exec_arn)
        .send()
        .await
        .unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(described.input().unwrap()).unwrap(),
        json!({"source": format!("csv:{}/{key}", s.input_bucket), "campaign": "spring renewals"})
    );

    // The same event again (S3 delivers at least once): same execution name, joined, not doubled.
    let again = handle(&s.clients, &s.env, &tuning, s3_event(&s.input_bucket, key))
        .await
        .unwrap();
    assert_eq!(again["execution"], exec_arn);
}

#[tokio::test]
#[ignore = "needs moto: MOTO_ENDPOINT, run by make test"]
async fn a_file_without_custid_is_refused_with_a_report() {
    let _serial = SERIAL.lock().await;
    let s = stack("ll-refused").await;
    let key = "uploads/bad.csv";
    s.clients
        .s3
        .put_object()
        .bucket(&s.input_bucket)
        .key(key)
        .body(b"id,telephone\n1,020 7946 0001\n".to_vec().into())
        .send()
        .await
        .unwrap();
    let out = handle(
        &s.clients,
        &s.env,
        &Tuning::default(),
        s3_event(&s.input_bucket, key),
    )
    .await
    .unwrap();
    assert_eq!(out["queued"], 0);
    assert!(out["error"].as_str().unwrap().contains("custID and phone"));
    let report = read_object(
        &s.clients.s3,
        &s.env.results_bucket,
        out["rejectReport"].as_str().unwrap(),
    )
    .await;
    let line: RejectRecord = serde_json::from_str(report.trim()).unwrap();
    assert_eq!(line.line, 1);
    assert!(drain(&s.clients.sqs, &s.env.queue_url).await.is_empty());
}

/// A minimal SQS endpoint (JSON protocol, `SendMessageBatch` only) that accepts every message
/// and ticks its CSV line in a bitset.
///
/// Why not moto's SQS for this test: moto's `SendMessageBatch` slows down with every message a
/// queue has seen (about 50 ms per call at first, several hundred ms after a few thousand
/// messages, even when the queue is drained), so 10,000 batches would take hours. S3, SSM and
/// Step Functions stay moto; the sample-file test above covers the exact queue contents on
/// moto's SQS.
struct RecordingSqs {
    url: String,
    lines: std::sync::Arc<std::sync::Mutex<(Vec<u64>, u64, u64)>>,
}

async fn recording_sqs(rows: u64) -> RecordingSqs {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    // (bitset of lines seen, messages, duplicates)
    let lines = std::sync::Arc::new(std::sync::Mutex::new((
        vec![0u64; (rows as usize + 2) / 64 + 1],
        0u64,
        0u64,
    )));
    let shared = lines.clone();
    tokio::spawn(async move {
        loop {
            let (mut conn, _) = listener.accept().await.unwrap();
            let shared = shared.clone();
            tokio::spawn(async move {
                let mut buf = Vec::with_capacity(8192);
                loop {
                    // Headers.
                    let head_end = loop {
                        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                            break i + 4;
                        }
                        let mut chunk = [0u8; 4096];
                        match conn.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    };
                    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
                    let length: usize = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .map(|v| v.trim().parse().unwrap())
                        .unwrap_or(0);
                    while buf.len() < head_end + length {
                        let mut chunk = [0u8; 16384];
                        match conn.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    let body: Value =
                        serde_json::from_slice(&buf[head_end..head_end + length]).unwrap();
                    buf.drain(..head_end + length);
                    assert!(
                        head.contains("amazonsqs.sendmessagebatch"),
                        "only SendMessageBatch is expected"
                    );
                    let mut ok = Vec::new();
                    for e in body["Entries"].as_array().unwrap() {
                        let contact: Contact =
                            serde_json::from_str(e["MessageBody"].as_str().unwrap()).unwrap();
                        let ContactSource::Csv { line, .. } = contact.source else {
                            panic!("csv source")
                        };
                        let mut s = shared.lock().unwrap();
                        let (word, bit) = ((line / 64) as usize, line % 64);
                        if s.0[word] & (1 << bit) != 0 {
                            s.2 += 1;
                        }
                        s.0[word] |= 1 << bit;
                        s.1 += 1;
                        ok.push(json!({"Id": e["Id"], "MessageId": format!("m-{line}"), "MD5OfMessageBody": "0"}));
                    }
                    let reply = json!({"Successful": ok, "Failed": []}).to_string();
                    let response = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/x-amz-json-1.0\r\ncontent-length: {}\r\n\r\n{}",
                        reply.len(),
                        reply
                    );
                    if conn.write_all(response.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    RecordingSqs {
        url: format!("http://127.0.0.1:{port}/123456789012/contacts"),
        lines,
    }
}

#[tokio::test]
#[ignore = "needs moto: MOTO_ENDPOINT, run by make test"]
async fn a_100k_row_list_streams_through_with_flat_memory() {
    let _serial = SERIAL.lock().await;
    let mut s = stack("ll-100k").await;
    let rows = 100_000u64;
    let fake = recording_sqs(rows).await;
    s.clients.sqs = aws_sdk_sqs::Client::from_conf(
        aws_sdk_sqs::config::Builder::from(&sdk().await)
            .endpoint_url(fake.url.rsplit_once("/123456789012").unwrap().0)
            .build(),
    );
    s.env.queue_url = fake.url.clone();

    let mut csv = String::from("custID,phone,firstName,lastName,plan,notes\n");
    for i in 0..rows {
        csv.push_str(&format!(
            "C-{i:06},+44 20 7946 {:04},Firstname{i},Lastname{i},gold,\"customer since 2019, prefers calls after 5pm, account {i:08}, segment north-west, preferred team B\"\n",
            i % 10_000
        ));
    }
    let file_bytes = csv.len();
    let key = "uploads/big.csv";
    s.clients
        .s3
        .put_object()
        .bucket(&s.input_bucket)
        .key(key)
        .body(csv.into_bytes().into())
        .send()
        .await
        .unwrap();
    // The number metadata and the compiled patterns are loaded once per process (static, ~5 MB):
    // load them before measuring, so the figure is what the file costs.
    let _ = outbound_core::phone::normalise("+44 20 7946 0000", None);
    // The upload's own buffers are gone: measure the handler alone from here.
    let base = LIVE.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);

    let out = handle(
        &s.clients,
        &s.env,
        &Tuning::default(),
        s3_event(&s.input_bucket, key),
    )
    .await
    .unwrap();
    let peak = PEAK.load(Ordering::Relaxed).saturating_sub(base);
    println!(
        "100k rows: file {:.1} MB, handler peak heap {:.2} MB above baseline",
        file_bytes as f64 / 1e6,
        peak as f64 / 1e6
    );
    assert_eq!(out["queued"].as_u64(), Some(rows));
    assert_eq!(out["rejected"].as_u64(), Some(0));
    assert_eq!(out["duplicates"].as_u64(), Some(0));

    // Every row arrived once: lines 2..=rows+1.
    let (bits, messages, duplicates) = fake.lines.lock().unwrap().clone();
    assert_eq!((messages, duplicates), (rows, 0));
    for line in 2..=rows + 1 {
        assert!(
            bits[(line / 64) as usize] & (1 << (line % 64)) != 0,
            "line {line} missing"
        );
    }

    // Holding the file (or its contacts) would need at least its size; streaming needs the
    // buffers, the batches in flight and the duplicate filter (~2 MB for 100k contacts).
    assert!(
        file_bytes > 15_000_000,
        "the test file must be large enough to tell: {file_bytes}"
    );
    assert!(
        peak < 8_000_000,
        "peak heap {peak} bytes: the file was not streamed"
    );
    assert!(peak < file_bytes / 2);
}
