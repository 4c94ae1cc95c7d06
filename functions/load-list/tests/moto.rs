//! load-list against moto over HTTP: S3, DynamoDB (the campaign ledger), SSM and Step Functions
//! for real (locally).
//!
//! Ignored unless run with `--include-ignored` and `MOTO_ENDPOINT` (`make test` does both).
//! Every test makes its own buckets, ledger table and parameters, so they share one moto server.

use chrono::{Duration, Utc};
use load_list::{handle, handle_until, CapturedHandovers, Checkpoint, Clients, Env, Tuning};
use outbound_core::contact::{Contact, ContactSource};
use outbound_core::intake::RetryPolicy;
use outbound_core::ledger::{
    self, begin_attempt, campaigns, finish, lease, lease_due, AttemptId, ContactState, FinalReason,
    LedgerContact, RedialRules,
};
use outbound_core::records::{Outcome, RejectRecord};
use outbound_core::testkit::moto::{
    self, campaign_ledger, ledger_contacts, ledger_item, sdk, unique,
};
use serde_json::{json, Value};
use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};

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

struct Stack {
    clients: Clients,
    env: Env,
    input_bucket: String,
    /// The continuations load-list handed over (instead of invoking itself).
    handovers: std::sync::Arc<CapturedHandovers>,
}

async fn stack(name: &str) -> Stack {
    let sdk = sdk().await;
    let handovers = std::sync::Arc::new(CapturedHandovers::default());
    let clients = Clients {
        s3: moto::s3(&sdk),
        ledger: campaign_ledger(&sdk, None).await,
        ssm: aws_sdk_ssm::Client::new(&sdk),
        sfn: aws_sdk_sfn::Client::new(&sdk),
        keyer: moto::contact_keyer(&sdk).await,
        handover: handovers.clone(),
    };
    let id = unique(name);
    let input_bucket = format!("{id}-input");
    let results_bucket = format!("{id}-results");
    for b in [&input_bucket, &results_bucket] {
        moto::create_bucket(&clients.s3, b).await;
    }
    let prefix = format!("/connect/blaster/{id}/");
    for (k, v) in [
        ("isocountrycode", "GB"),
        ("countrycode", "44"),
        ("concurrentcalls", "2"),
        ("callspersecond", "2"),
    ] {
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
        env: Env {
            input_bucket: input_bucket.clone(),
            destinations: outbound_core::destinations::DestinationRules::parse("GB,US,CA,AU")
                .unwrap(),
            ledger: ledger::CampaignLedgerEnv {
                table_name: clients.ledger.table_name.clone(),
            },
            rules: RedialRules::default(),
            results_bucket,
            state_machine_arn,
            ssm_prefix: prefix,
            // Read only by main; the clients above carry the keyer derived from moto's KMS.
            contact_key_kms_key_arn:
                "arn:aws:kms:eu-west-2:123456789012:key/11111111-2222-3333-4444-555555555555".into(),
            handover_margin: std::time::Duration::from_secs(60),
            final_retention_days: None,
            calling_window: None,
            frequency_cap: None,
            max_concurrent_calls: 40,
        },
        clients,
        input_bucket,
        handovers,
    }
}

fn tuning() -> Tuning {
    Tuning {
        policy: RetryPolicy::immediate(3),
        ..Tuning::default()
    }
}

/// Uploads `body` as `key`, with the user metadata `metadata` (`x-amz-meta-<name>`).
async fn upload(s: &Stack, key: &str, body: &[u8], metadata: Metadata<'_>) {
    let mut put = s
        .clients
        .s3
        .put_object()
        .bucket(&s.input_bucket)
        .key(key)
        .body(body.to_vec().into());
    for (name, value) in metadata {
        put = put.metadata(*name, *value);
    }
    put.send().await.expect("upload");
}

/// The `ObjectCreated` event of one upload; `sequencer` tells uploads of the same key apart.
fn s3_event_of(bucket: &str, key: &str, sequencer: &str) -> Value {
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
        "bucket": {"name": bucket}, "object": {"key": encoded, "sequencer": sequencer}}}]})
}

fn s3_event(bucket: &str, key: &str) -> Value {
    s3_event_of(bucket, key, "0A1B2C")
}

fn line_of(c: &LedgerContact) -> u64 {
    match c.source {
        ContactSource::Csv { line, .. } => line,
        _ => 0,
    }
}

fn object_of(c: &LedgerContact) -> &str {
    match &c.source {
        ContactSource::Csv { object, .. } => object,
        _ => "",
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

/// The inputs of the state machine's executions, oldest first.
async fn execution_inputs(s: &Stack) -> Vec<Value> {
    let list = s
        .clients
        .sfn
        .list_executions()
        .state_machine_arn(&s.env.state_machine_arn)
        .send()
        .await
        .unwrap();
    let mut inputs = Vec::new();
    for e in list.executions() {
        let described = s
            .clients
            .sfn
            .describe_execution()
            .execution_arn(e.execution_arn())
            .send()
            .await
            .unwrap();
        inputs.push(serde_json::from_str(described.input().unwrap()).unwrap());
    }
    inputs
}

/// The campaigns the ledger lists as having work.
async fn listed(s: &Stack) -> Vec<String> {
    campaigns::active(&s.clients.ledger)
        .await
        .unwrap()
        .into_keys()
        .collect()
}

/// An object's user metadata, as (name, value) pairs.
type Metadata<'a> = &'a [(&'a str, &'a str)];

/// A small clean list: `custID` C-`i` with a valid London number each.
fn csv_of(rows: std::ops::RangeInclusive<u32>) -> Vec<u8> {
    let mut csv = String::from("custID,phone,firstName\n");
    for i in rows {
        csv.push_str(&format!("C-{i},+44 20 7946 {:04},Name{i}\n", 100 + i));
    }
    csv.into_bytes()
}

fn counts(out: &Value) -> (Option<u64>, Option<u64>, Option<u64>) {
    (
        out["queued"].as_u64(),
        out["rejected"].as_u64(),
        out["duplicates"].as_u64(),
    )
}

#[tokio::test]
#[ignore = "needs moto: MOTO_ENDPOINT, run by make test"]
async fn sample_list_ends_with_the_exact_ledger_and_reject_report() {
    let _serial = SERIAL.lock().await;
    let s = stack("ll-sample").await;
    let csv = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../sample-files/contacts.csv"
    ))
    .unwrap();
    let key = "uploads/spring renewals.csv";
    upload(&s, key, &csv, &[]).await;
    let before = Utc::now();

    let out = handle(
        &s.clients,
        &s.env,
        &tuning(),
        s3_event(&s.input_bucket, key),
    )
    .await
    .unwrap();
    assert_eq!(out["object"], key);
    assert_eq!(out["campaign"], "spring renewals");
    assert_eq!(counts(&out), (Some(9), Some(4), Some(1)));
    assert_eq!(out["error"], Value::Null);

    // The ledger holds exactly the valid rows, once, due now at attempt 1, with their line and
    // attributes.
    let mut admitted = ledger_contacts(&s.clients.ledger).await;
    admitted.sort_by_key(line_of);
    let got: Vec<(String, String, u64)> = admitted
        .iter()
        .map(|c| (c.key.clone(), c.phone.clone(), line_of(c)))
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
        ("C-1009", "+18085550102", 16),
    ]
    .into_iter()
    .map(|(k, p, l)| (k.to_string(), p.to_string(), l))
    .collect();
    assert_eq!(got, expected);
    let now = Utc::now();
    for c in &admitted {
        assert_eq!(c.campaign, "spring renewals");
        assert_eq!((c.state, c.attempt), (ContactState::Due, 1), "{c:?}");
        assert!(c.due_at >= before - Duration::seconds(1) && c.due_at <= now);
        assert!(c.admitted_at.is_some());
        assert_eq!(c.rules, None, "no override: the deployment's rules");
        assert_eq!(c.round, None);
        assert_eq!(object_of(c), key);
        assert_eq!(c.contact_key.len(), 32, "a keyed hash, not the number");
    }
    assert_eq!(
        admitted[1].attributes["notes"],
        "prefers mornings, before 11"
    );
    assert_eq!(
        admitted[3].attributes["notes"],
        "Toronto office\r\nask for Dev"
    );
    assert_eq!(admitted[6].attributes["lastName"], "O\"Neil");
    assert_eq!(admitted[0].attributes["Preferred_Language"], "en");
    // The feeder finds the campaign.
    assert_eq!(listed(&s).await, vec!["spring renewals".to_string()]);

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

    // totalRecords grew by what was admitted; the run was started with the contract input.
    let total = format!("{}totalRecords", s.env.ssm_prefix);
    assert_eq!(
        parameter(&s.clients.ssm, &total).await.as_deref(),
        Some("9")
    );
    assert!(out["execution"].as_str().unwrap().contains(":execution:"));
    assert_eq!(
        execution_inputs(&s).await,
        vec![
            json!({"source": format!("csv:{}/{key}", s.input_bucket), "campaign": "spring renewals"})
        ]
    );

    // The same event again (S3 delivers at least once): every contact is already in the
    // campaign, so nothing is admitted or counted twice, and the run it started is joined.
    let again = handle(
        &s.clients,
        &s.env,
        &tuning(),
        s3_event(&s.input_bucket, key),
    )
    .await
    .unwrap();
    assert_eq!(counts(&again), (Some(0), Some(4), Some(10)));
    // The redelivered event joins the run it started (a retry after a failure to start it
    // starts it then).
    assert_eq!(again["execution"], out["execution"]);
    assert_eq!(execution_inputs(&s).await.len(), 1);
    assert_eq!(
        parameter(&s.clients.ssm, &total).await.as_deref(),
        Some("9")
    );
    let mut after = ledger_contacts(&s.clients.ledger).await;
    after.sort_by_key(line_of);
    assert_eq!(after, admitted, "the ledger is unchanged");
}

#[tokio::test]
#[ignore = "needs moto: MOTO_ENDPOINT, run by make test"]
async fn a_file_without_custid_is_refused_with_a_report() {
    let _serial = SERIAL.lock().await;
    let s = stack("ll-refused").await;
    let key = "uploads/bad.csv";
    upload(&s, key, b"id,telephone\n1,020 7946 0001\n", &[]).await;
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
    assert_eq!(out["execution"], Value::Null);
    let report = read_object(
        &s.clients.s3,
        &s.env.results_bucket,
        out["rejectReport"].as_str().unwrap(),
    )
    .await;
    let line: RejectRecord = serde_json::from_str(report.trim()).unwrap();
    assert_eq!(line.line, 1);
    assert!(ledger_contacts(&s.clients.ledger).await.is_empty());
    assert!(execution_inputs(&s).await.is_empty());
}

#[tokio::test]
#[ignore = "needs moto: MOTO_ENDPOINT, run by make test"]
async fn the_same_file_uploaded_twice_admits_nothing_twice() {
    let _serial = SERIAL.lock().await;
    let s = stack("ll-twice").await;
    let key = "uploads/weekly.csv";
    let csv = csv_of(1..=5);
    upload(&s, key, &csv, &[]).await;
    let first = handle(
        &s.clients,
        &s.env,
        &tuning(),
        s3_event_of(&s.input_bucket, key, "0001"),
    )
    .await
    .unwrap();
    assert_eq!(counts(&first), (Some(5), Some(0), Some(0)));
    assert_eq!(first["campaign"], "weekly");
    let admitted = ledger_contacts(&s.clients.ledger).await;
    assert_eq!(admitted.len(), 5);

    // One contact is dialed to its end before the file comes again.
    let reached = &admitted[0];
    let t = Utc::now();
    lease(
        &s.clients.ledger,
        "weekly",
        &reached.contact_key,
        t,
        t + Duration::minutes(5),
        "run-1",
    )
    .await
    .unwrap()
    .expect("due contact leased");
    let id = AttemptId::new("weekly", &reached.contact_key, 1);
    begin_attempt(&s.clients.ledger, &id, t + Duration::minutes(5), t)
        .await
        .unwrap();
    finish(
        &s.clients.ledger,
        &id,
        Outcome::Connected,
        &RedialRules::default(),
        t,
    )
    .await
    .unwrap();

    // The same file uploaded again: a new object version, a new event.
    upload(&s, key, &csv, &[]).await;
    let second = handle(
        &s.clients,
        &s.env,
        &tuning(),
        s3_event_of(&s.input_bucket, key, "0002"),
    )
    .await
    .unwrap();
    assert_eq!(
        counts(&second),
        (Some(0), Some(0), Some(5)),
        "every row is a duplicate"
    );
    assert!(
        second["execution"].is_string(),
        "started or joined all the same: {second}"
    );
    assert_eq!(second["error"], Value::Null);

    let after = ledger_contacts(&s.clients.ledger).await;
    assert_eq!(after.len(), 5);
    // The contact already reached stays final: never reset to due, never dialed again.
    assert_eq!(after[0].contact_key, reached.contact_key);
    assert_eq!(after[0].state, ContactState::Final);
    assert_eq!(
        after[0].final_reason,
        Some(FinalReason::Outcome(Outcome::Connected))
    );
    // The others are untouched: same attempt, same place in line.
    for (now, then) in after[1..].iter().zip(&admitted[1..]) {
        assert_eq!(now, then);
    }
    assert!(execution_inputs(&s).await.len() <= 2);
    assert_eq!(
        parameter(&s.clients.ssm, &format!("{}totalRecords", s.env.ssm_prefix))
            .await
            .as_deref(),
        Some("5")
    );
}

#[tokio::test]
#[ignore = "needs moto: MOTO_ENDPOINT, run by make test"]
async fn overlapping_files_of_one_campaign_admit_the_shared_contacts_once() {
    let _serial = SERIAL.lock().await;
    let s = stack("ll-overlap").await;
    let campaign = unique("spring");
    let a = format!("campaigns/{campaign}/a.csv");
    let b = format!("campaigns/{campaign}/b.csv");
    // C-3 and C-4 are in both files.
    upload(&s, &a, &csv_of(1..=4), &[]).await;
    upload(&s, &b, &csv_of(3..=6), &[]).await;

    let out_a = handle(&s.clients, &s.env, &tuning(), s3_event(&s.input_bucket, &a))
        .await
        .unwrap();
    assert_eq!(out_a["campaign"], campaign.as_str());
    assert_eq!(counts(&out_a), (Some(4), Some(0), Some(0)));
    let out_b = handle(&s.clients, &s.env, &tuning(), s3_event(&s.input_bucket, &b))
        .await
        .unwrap();
    assert_eq!(out_b["campaign"], campaign.as_str());
    assert_eq!(
        counts(&out_b),
        (Some(2), Some(0), Some(2)),
        "C-3 and C-4 are already in the campaign"
    );

    let admitted = ledger_contacts(&s.clients.ledger).await;
    let got: Vec<(&str, &str)> = admitted
        .iter()
        .map(|c| (c.key.as_str(), object_of(c)))
        .collect();
    assert_eq!(
        got,
        vec![
            ("C-1", a.as_str()),
            ("C-2", a.as_str()),
            ("C-3", a.as_str()),
            ("C-4", a.as_str()),
            ("C-5", b.as_str()),
            ("C-6", b.as_str()),
        ],
        "one item per contact, from the file that admitted it first"
    );
    assert!(admitted
        .iter()
        .all(|c| c.campaign == campaign && c.state == ContactState::Due && c.attempt == 1));
    assert_eq!(listed(&s).await, vec![campaign.clone()]);
    assert_eq!(
        parameter(&s.clients.ssm, &format!("{}totalRecords", s.env.ssm_prefix))
            .await
            .as_deref(),
        Some("6")
    );
    // Each file starts (or joins) the campaign's run under the campaign's name.
    let inputs = execution_inputs(&s).await;
    assert_eq!(inputs.len(), 2);
    assert!(inputs.iter().all(|i| i["campaign"] == campaign.as_str()));
}

#[tokio::test]
#[ignore = "needs moto: MOTO_ENDPOINT, run by make test"]
async fn object_metadata_names_the_campaign_and_overrides_the_redial_rules() {
    let _serial = SERIAL.lock().await;
    let s = stack("ll-meta").await;
    let campaign = unique("renewals");
    // The metadata wins over the key's campaigns/<id>/ prefix and over the file's stem.
    let key = "campaigns/other/export-2026-03.csv";
    upload(
        &s,
        key,
        &csv_of(1..=3),
        &[
            ("campaign", campaign.as_str()),
            ("redial", r#"{"max_attempts":5,"delay_minutes":{"busy":2}}"#),
        ],
    )
    .await;
    let out = handle(
        &s.clients,
        &s.env,
        &tuning(),
        s3_event(&s.input_bucket, key),
    )
    .await
    .unwrap();
    assert_eq!(out["campaign"], campaign.as_str());
    assert_eq!(counts(&out), (Some(3), Some(0), Some(0)));
    assert_eq!(out["error"], Value::Null);
    assert_eq!(
        out["rejectReport"],
        format!("rejects/campaign={campaign}/campaigns_other_export-2026-03.csv.jsonl")
    );

    let admitted = ledger_contacts(&s.clients.ledger).await;
    assert_eq!(admitted.len(), 3);
    for c in &admitted {
        assert_eq!(c.campaign, campaign);
        let rules = c
            .rules
            .as_ref()
            .expect("the file's rules are on the contact");
        assert_eq!(rules.max_attempts, 5);
        assert_eq!(rules.delay_minutes.busy, 2);
        assert_eq!(
            rules.delay_minutes.no_answer,
            RedialRules::default().delay_minutes.no_answer,
            "what the override leaves out stays the deployment's"
        );
        assert_eq!(rules.final_outcomes, RedialRules::default().final_outcomes);
    }
    assert_eq!(listed(&s).await, vec![campaign.clone()]);
    let inputs = execution_inputs(&s).await;
    assert_eq!(inputs.len(), 1);
    assert_eq!(inputs[0]["campaign"], campaign.as_str());
}

#[tokio::test]
#[ignore = "needs moto: MOTO_ENDPOINT, run by make test"]
async fn invalid_campaign_or_redial_settings_refuse_the_file_with_a_report() {
    let _serial = SERIAL.lock().await;
    let s = stack("ll-badmeta").await;
    let too_long = "x".repeat(65);
    let cases: [(&str, Metadata, &str); 5] = [
        (
            "uploads/spaced.csv",
            &[("campaign", "spring 2026")],
            "campaign metadata",
        ),
        (
            "uploads/long.csv",
            &[("campaign", too_long.as_str())],
            "campaign metadata",
        ),
        (
            "uploads/zero.csv",
            &[("redial", r#"{"max_attempts":0}"#)],
            "redial metadata",
        ),
        (
            "uploads/text.csv",
            &[("redial", "not json")],
            "redial metadata",
        ),
        ("campaigns/bad id!/list.csv", &[], "key prefix"),
    ];
    for (key, metadata, why) in cases {
        upload(&s, key, &csv_of(1..=3), metadata).await;
        let out = handle(
            &s.clients,
            &s.env,
            &tuning(),
            s3_event(&s.input_bucket, key),
        )
        .await
        .unwrap();
        assert_eq!(out["queued"], 0, "{key}");
        assert_eq!(out["execution"], Value::Null, "{key}");
        let error = out["error"].as_str().unwrap();
        assert!(error.contains(why), "{key}: {error}");
        // Refused under the file's stem, never loaded under another name.
        let stem = key.rsplit('/').next().unwrap().trim_end_matches(".csv");
        assert_eq!(out["campaign"], stem, "{key}");
        let report_key = out["rejectReport"].as_str().unwrap();
        let report = read_object(&s.clients.s3, &s.env.results_bucket, report_key).await;
        let line: RejectRecord = serde_json::from_str(report.trim()).unwrap();
        assert_eq!(line.line, 1);
        assert!(
            line.reason.starts_with("file rejected: "),
            "{}",
            line.reason
        );
        assert_eq!(line.source, key);
    }
    assert!(ledger_contacts(&s.clients.ledger).await.is_empty());
    assert!(listed(&s).await.is_empty(), "no campaign listed");
    assert!(execution_inputs(&s).await.is_empty());
}

#[tokio::test]
#[ignore = "needs moto: MOTO_ENDPOINT, run by make test"]
async fn a_stop_longer_than_any_queue_retention_loses_nothing() {
    let _serial = SERIAL.lock().await;
    let s = stack("ll-stop").await;
    let campaign = unique("winter");
    let key = format!("campaigns/{campaign}/list.csv");
    upload(&s, &key, &csv_of(1..=3), &[]).await;
    let out = handle(
        &s.clients,
        &s.env,
        &tuning(),
        s3_event(&s.input_bucket, &key),
    )
    .await
    .unwrap();
    assert_eq!(out["queued"], 3);
    let now = Utc::now();

    // Admitted contacts wait in the ledger, not in a queue: due, and without any expiry.
    let admitted = ledger_contacts(&s.clients.ledger).await;
    assert_eq!(admitted.len(), 3);
    for c in &admitted {
        assert_eq!(c.state, ContactState::Due);
        assert!(c.due_at <= now);
        let item = ledger_item(&s.clients.ledger, &c.pk()).await.unwrap();
        assert!(
            !item.contains_key("expiresAt"),
            "a contact that is not final never expires"
        );
        assert!(item.contains_key("dueShard"), "in the due index");
    }

    // The dialer is stopped for longer than SQS keeps any message (14 days at most): when it
    // starts again, every contact is still due, in its place, and is fed.
    let back = now + Duration::days(30);
    assert_eq!(listed(&s).await, vec![campaign.clone()]);
    let batch = lease_due(
        &s.clients.ledger,
        &campaign,
        back,
        100,
        back + Duration::hours(1),
        "run-after-the-stop",
    )
    .await
    .unwrap();
    let mut keys: Vec<&str> = batch.leased.iter().map(|c| c.key.as_str()).collect();
    keys.sort();
    assert_eq!(keys, ["C-1", "C-2", "C-3"]);
    assert!(batch
        .leased
        .iter()
        .all(|c| c.attempt == 1 && c.state == ContactState::Leased));
    let original: Vec<_> = admitted.iter().map(|c| (c.key.clone(), c.due_at)).collect();
    let mut leased: Vec<_> = batch
        .leased
        .iter()
        .map(|c| (c.key.clone(), c.due_at))
        .collect();
    leased.sort();
    assert_eq!(leased, original, "their place in line kept");
}

/// A minimal DynamoDB endpoint (JSON protocol: `PutItem` and `UpdateItem` only) that accepts
/// every write and ticks each admitted contact's CSV line in a bitset.
///
/// Why not moto's DynamoDB for this test: moto keeps every item in Python objects and evaluates
/// the sparse indexes on every write, so 100,000 conditional puts would take a very long time and
/// a lot of moto's memory. S3, SSM and Step Functions stay moto; the tests above cover the exact
/// ledger contents on moto's DynamoDB.
struct RecordingTable {
    url: String,
    seen: std::sync::Arc<std::sync::Mutex<Recorded>>,
}

/// What the recording table saw.
#[derive(Clone, Default)]
struct Recorded {
    /// Bitset of the CSV lines admitted.
    lines: Vec<u64>,
    /// Contacts admitted (`PutItem`).
    admitted: u64,
    /// Admissions of a line already admitted.
    twice: u64,
    /// Admissions without the `attribute_not_exists` condition.
    unconditional: u64,
    /// Updates of the `CAMPAIGNS` item.
    registrations: u64,
    /// BatchGetItem requests of the do-not-call list, and the keys they asked.
    dnc_lookups: u64,
    dnc_keys: u64,
}

async fn recording_table(rows: u64) -> RecordingTable {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Recorded {
        lines: vec![0u64; (rows as usize + 2) / 64 + 1],
        ..Recorded::default()
    }));
    let shared = seen.clone();
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
                    let mut reply = "{}".to_string();
                    if head.contains("dynamodb_20120810.putitem") {
                        let source: ContactSource =
                            serde_json::from_str(body["Item"]["source"]["S"].as_str().unwrap())
                                .unwrap();
                        let ContactSource::Csv { line, .. } = source else {
                            panic!("csv source")
                        };
                        let mut s = shared.lock().unwrap();
                        let (word, bit) = ((line / 64) as usize, line % 64);
                        if s.lines[word] & (1 << bit) != 0 {
                            s.twice += 1;
                        }
                        s.lines[word] |= 1 << bit;
                        s.admitted += 1;
                        if body["ConditionExpression"] != "attribute_not_exists(#pk)" {
                            s.unconditional += 1;
                        }
                    } else if head.contains("dynamodb_20120810.updateitem") {
                        assert_eq!(body["Key"]["pk"]["S"], "CAMPAIGNS");
                        shared.lock().unwrap().registrations += 1;
                    } else if head.contains("dynamodb_20120810.getitem") {
                        // The campaign's schedule: none.
                        assert!(body["Key"]["pk"]["S"]
                            .as_str()
                            .unwrap()
                            .starts_with("SCHEDULE#"));
                    } else if head.contains("dynamodb_20120810.batchgetitem") {
                        // The do-not-call lookups, a hundred keys a request: none listed.
                        let keys = body["RequestItems"]
                            .as_object()
                            .unwrap()
                            .values()
                            .next()
                            .unwrap()["Keys"]
                            .as_array()
                            .unwrap()
                            .len();
                        assert!(keys <= 100);
                        let mut s = shared.lock().unwrap();
                        s.dnc_lookups += 1;
                        s.dnc_keys += keys as u64;
                        reply = r#"{"Responses":{},"UnprocessedKeys":{}}"#.to_string();
                    } else {
                        panic!("only the intake's reads and writes are expected: {head}");
                    }
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
    RecordingTable {
        url: format!("http://127.0.0.1:{port}"),
        seen,
    }
}

#[tokio::test]
#[ignore = "needs moto: MOTO_ENDPOINT, run by make test"]
async fn a_100k_row_list_streams_through_with_flat_memory() {
    let _serial = SERIAL.lock().await;
    let mut s = stack("ll-100k").await;
    let rows = 100_000u64;
    let fake = recording_table(rows).await;
    s.clients.ledger.dynamodb = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(&sdk().await)
            .endpoint_url(&fake.url)
            .build(),
    );

    let mut csv = String::from("custID,phone,firstName,lastName,plan,notes\n");
    for i in 0..rows {
        csv.push_str(&format!(
            "C-{i:06},+44 20 7946 {:04},Firstname{i},Lastname{i},gold,\"customer since 2019, prefers calls after 5pm, account {i:08}, segment north-west, preferred team B\"\n",
            i % 10_000
        ));
    }
    let file_bytes = csv.len();
    let key = "uploads/big.csv";
    upload(&s, key, csv.as_bytes(), &[]).await;
    drop(csv);
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

    // Every row was admitted once, each with a conditional put: lines 2..=rows+1. The campaign
    // was listed before the first admission and stamped again after the last.
    let seen = fake.seen.lock().unwrap().clone();
    assert_eq!(
        (seen.admitted, seen.twice, seen.unconditional),
        (rows, 0, 0)
    );
    assert_eq!(seen.registrations, 2);
    // Every admitted contact was looked up on the do-not-call list, a hundred at a time (a
    // number twice in one batch is asked once: the file repeats its numbers every 10,000 rows).
    assert_eq!(seen.dnc_lookups, rows / 100);
    assert!(
        seen.dnc_keys <= rows && seen.dnc_keys >= rows * 99 / 100,
        "{}",
        seen.dnc_keys
    );
    for line in 2..=rows + 1 {
        assert!(
            seen.lines[(line / 64) as usize] & (1 << (line % 64)) != 0,
            "line {line} missing"
        );
    }

    // Holding the file (or its contacts) would need at least its size; streaming needs the
    // buffers, the admissions in flight and the duplicate filter (~2 MB for 100k contacts).
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

/// `Contact` is what the ledger gives back to the feeder: the admitted contact, whole.
#[tokio::test]
#[ignore = "needs moto: MOTO_ENDPOINT, run by make test"]
async fn an_admitted_contact_reads_back_as_the_contract_message() {
    let _serial = SERIAL.lock().await;
    let s = stack("ll-contact").await;
    let key = "uploads/one.csv";
    upload(
        &s,
        key,
        b"custID,phone,firstName,Account Ref\nC-9,020 7946 0909,Zoe,A-17\n",
        &[],
    )
    .await;
    let out = handle(
        &s.clients,
        &s.env,
        &tuning(),
        s3_event(&s.input_bucket, key),
    )
    .await
    .unwrap();
    assert_eq!(out["queued"], 1);
    let admitted = ledger_contacts(&s.clients.ledger).await;
    let contact: Contact = admitted[0].to_contact();
    let via_get = ledger::read_contact(&s.clients.ledger, "one", &contact.contact_key)
        .await
        .unwrap()
        .expect("ledger::read_contact finds the admitted contact");
    assert_eq!(via_get, admitted[0]);
    let expected_key = s.clients.keyer.key("one", "C-9", "+442079460909");
    assert_eq!(
        serde_json::to_value(&contact).unwrap(),
        json!({
            "campaign": "one", "key": "C-9", "phone": "+442079460909",
            "contactKey": expected_key, "attempt": 1,
            "attributes": {"firstName": "Zoe", "Account_Ref": "A-17"},
            "source": {"kind": "csv", "object": key, "line": 2}
        })
    );
}

/// A list of `rows` rows in which every 50th number is invalid, every 97th row has no custID,
/// the rows 7, 207, 407… repeat the row before, and every 10th row's notes run over two lines (so
/// line numbers and row numbers part). Returns the CSV, the expected (custID → line) of the
/// valid contacts, the lines of the rejected rows and the number of duplicates.
fn awkward_list(rows: u32) -> (Vec<u8>, BTreeMap<String, u64>, Vec<u64>, u64) {
    let mut csv = String::from("custID,phone,notes\r\n");
    let (mut valid, mut rejects, mut duplicates) = (BTreeMap::new(), Vec::new(), 0u64);
    let mut line = 2u64;
    for i in 1..=rows {
        let notes = if i % 10 == 0 {
            "\"call after 5pm\nask for accounts\""
        } else {
            "plain"
        };
        let (id, phone) = if i % 200 == 7 {
            (
                format!("C-{}", i - 1),
                format!("+44 20 7946 {:04}", (i - 1) % 10_000),
            )
        } else {
            (format!("C-{i}"), format!("+44 20 7946 {:04}", i % 10_000))
        };
        let (id, phone) = match i {
            _ if i % 97 == 0 => (String::new(), phone),
            _ if i % 50 == 0 => (id, "12345".to_string()),
            _ => (id, phone),
        };
        csv.push_str(&format!("{id},{phone},{notes}\r\n"));
        if id.is_empty() || phone == "12345" {
            rejects.push(line);
        } else if i % 200 == 7 && (i - 1) % 97 != 0 && (i - 1) % 50 != 0 {
            duplicates += 1;
        } else {
            valid.insert(id, line);
        }
        line += if i % 10 == 0 { 2 } else { 1 };
    }
    (csv.into_bytes(), valid, rejects, duplicates)
}

/// Invokes load-list as Lambda would with a tiny time budget (`budget` before the deadline, no
/// margin), feeding every captured continuation back in until the file is done. Returns every
/// invocation's result and the checkpoints handed over.
async fn load_in_segments(
    s: &Stack,
    tuning: &Tuning,
    first: Value,
    budget: std::time::Duration,
) -> (Vec<Value>, Vec<Checkpoint>) {
    let mut event = first;
    let (mut results, mut checkpoints) = (Vec::new(), Vec::new());
    loop {
        let deadline = std::time::Instant::now() + budget;
        let out = handle_until(&s.clients, &s.env, tuning, event, Some(deadline))
            .await
            .unwrap();
        results.push(out);
        let mut handed = s.handovers.take();
        assert!(handed.len() <= 1, "one hand-over per invocation");
        let Some(next) = handed.pop() else {
            return (results, checkpoints);
        };
        assert!(results.len() < 10_000, "the chain must end");
        checkpoints.push(next.clone());
        event = json!({ "continuation": next });
    }
}

#[tokio::test]
#[ignore = "needs moto: MOTO_ENDPOINT, run by make test"]
async fn a_file_loads_across_invocations_from_checkpoints_exactly_once() {
    let _serial = SERIAL.lock().await;
    let s = stack("ll-segments").await;
    let rows = 3_000u32;
    let (csv, valid, reject_lines, duplicates) = awkward_list(rows);
    let key = "uploads/segments.csv";
    upload(&s, key, &csv, &[]).await;
    let tuning = Tuning {
        handover_margin: std::time::Duration::ZERO,
        ..tuning()
    };

    let (results, checkpoints) = load_in_segments(
        &s,
        &tuning,
        s3_event(&s.input_bucket, key),
        std::time::Duration::from_millis(200),
    )
    .await;
    assert!(
        results.len() >= 3,
        "a 200 ms budget cannot admit {rows} rows into moto in fewer than three invocations: {}",
        results.len()
    );
    for (i, out) in results.iter().enumerate() {
        assert_eq!(out["segment"], i as u64 + 1, "{out}");
        assert_eq!(out["error"], Value::Null, "{out}");
        let more = i + 1 < results.len();
        assert_eq!(out["continuesAt"].is_object(), more, "{out}");
    }
    // Checkpoints go forward, at the file's own lines.
    for pair in checkpoints.windows(2) {
        assert!(pair[1].at.offset > pair[0].at.offset && pair[1].at.line > pair[0].at.line);
        assert_eq!(pair[1].segment, pair[0].segment + 1);
    }
    assert!(checkpoints
        .iter()
        .all(|c| !c.etag.is_empty() && c.etag != "*"));

    // Every valid contact once, at its line; the counts add up to the rows.
    let admitted = ledger_contacts(&s.clients.ledger).await;
    let got: BTreeMap<String, u64> = admitted
        .iter()
        .map(|c| (c.key.clone(), line_of(c)))
        .collect();
    assert_eq!(admitted.len(), got.len());
    assert_eq!(got, valid);
    let last = results.last().unwrap();
    assert_eq!(
        counts(last),
        (
            Some(valid.len() as u64),
            Some(reject_lines.len() as u64),
            Some(duplicates)
        ),
        "{last}"
    );
    assert_eq!(
        valid.len() as u64 + reject_lines.len() as u64 + duplicates,
        u64::from(rows)
    );
    assert_eq!(
        parameter(&s.clients.ssm, &format!("{}totalRecords", s.env.ssm_prefix)).await,
        Some(valid.len().to_string()),
        "totalRecords grew by the contacts admitted, once each"
    );

    // The rejects, over the segments' reports, at their true lines.
    let mut report_lines = Vec::new();
    for (i, out) in results.iter().enumerate() {
        let report_key = out["rejectReport"].as_str().unwrap();
        if i == 0 {
            assert_eq!(
                report_key,
                "rejects/campaign=segments/uploads_segments.csv.jsonl"
            );
        } else {
            assert_eq!(
                report_key,
                format!(
                    "rejects/campaign=segments/uploads_segments.csv.part{:04}.jsonl",
                    i + 1
                )
            );
        }
        let body = read_object(&s.clients.s3, &s.env.results_bucket, report_key).await;
        for l in body.lines() {
            let r: RejectRecord = serde_json::from_str(l).unwrap();
            report_lines.push(r.line);
        }
    }
    assert_eq!(report_lines, reject_lines);

    // A continuation delivered twice adds nothing.
    let replayed = &checkpoints[checkpoints.len() / 2];
    let again = handle(
        &s.clients,
        &s.env,
        &tuning,
        json!({ "continuation": replayed }),
    )
    .await
    .unwrap();
    s.handovers.take();
    assert_eq!(again["error"], Value::Null);
    assert_eq!(
        again["queued"].as_u64(),
        Some(replayed.totals.queued),
        "nothing new: {again}"
    );
    assert_eq!(ledger_contacts(&s.clients.ledger).await.len(), valid.len());
    assert_eq!(
        parameter(&s.clients.ssm, &format!("{}totalRecords", s.env.ssm_prefix)).await,
        Some(valid.len().to_string())
    );
}

#[tokio::test]
#[ignore = "needs moto: MOTO_ENDPOINT, run by make test"]
async fn a_file_replaced_or_deleted_between_invocations_stops_cleanly() {
    let _serial = SERIAL.lock().await;
    let s = stack("ll-replaced").await;
    let key = "uploads/replaced.csv";
    upload(&s, key, &csv_of(1..=400), &[]).await;
    let tuning = Tuning {
        max_segment_contacts: 150,
        ..tuning()
    };
    let first = handle(&s.clients, &s.env, &tuning, s3_event(&s.input_bucket, key))
        .await
        .unwrap();
    assert_eq!(first["queued"], 150);
    let next = s
        .handovers
        .take()
        .pop()
        .expect("handed over after 150 contacts");
    assert_eq!(next.at.line, 152);

    // Replaced by another list before the continuation runs.
    upload(&s, key, &csv_of(1000..=1400), &[]).await;
    let out = handle(
        &s.clients,
        &s.env,
        &tuning,
        json!({ "continuation": next.clone() }),
    )
    .await
    .unwrap();
    assert!(out["error"].as_str().unwrap().contains("replaced"), "{out}");
    assert_eq!(
        out["queued"], 150,
        "what was admitted stays, nothing is added"
    );
    assert_eq!(out["continuesAt"], Value::Null);
    assert!(s.handovers.take().is_empty());
    let admitted = ledger_contacts(&s.clients.ledger).await;
    assert_eq!(admitted.len(), 150);
    assert!(admitted.iter().all(|c| line_of(c) <= 151));
    let report = read_object(
        &s.clients.s3,
        &s.env.results_bucket,
        out["rejectReport"].as_str().unwrap(),
    )
    .await;
    let line: RejectRecord = serde_json::from_str(report.trim()).unwrap();
    assert_eq!(line.line, 152);
    assert!(
        line.reason.starts_with("file rejected from this line on"),
        "{}",
        line.reason
    );

    // Deleted: the same.
    s.clients
        .s3
        .delete_object()
        .bucket(&s.input_bucket)
        .key(key)
        .send()
        .await
        .unwrap();
    let out = handle(&s.clients, &s.env, &tuning, json!({ "continuation": next }))
        .await
        .unwrap();
    assert!(out["error"].as_str().unwrap().contains("deleted"), "{out}");
    assert_eq!(ledger_contacts(&s.clients.ledger).await.len(), 150);
}

#[tokio::test]
#[ignore = "needs moto: MOTO_ENDPOINT, run by make test"]
async fn a_do_not_call_list_lists_keys_rejects_bad_rows_and_starts_nothing() {
    let _serial = SERIAL.lock().await;
    let s = stack("ll-dnc").await;
    let key = "dnc/registry.csv";
    // No custID column: a do-not-call list needs only the numbers.
    let body = "phone,note\n\
                +44 20 7946 0101,asked on the phone\n\
                020 7946 0102,national form\n\
                +44 20 7946 0101,twice in the file\n\
                not a number,\n\
                +33 1 23 45 67 89,a destination this deployment never dials\n";
    upload(&s, key, body.as_bytes(), &[]).await;
    let out = handle(
        &s.clients,
        &s.env,
        &tuning(),
        s3_event(&s.input_bucket, key),
    )
    .await
    .unwrap();
    assert_eq!(counts(&out), (Some(2), Some(2), Some(1)), "{out}");
    assert_eq!(out["execution"], Value::Null, "no campaign is started");
    for (phone, listed) in [
        ("+442079460101", true),
        ("+442079460102", true),
        ("+442079460103", false),
    ] {
        let dnc_key = s.clients.keyer.do_not_call_key(phone);
        assert_eq!(
            outbound_core::dnc::is_listed(&s.clients.ledger, &dnc_key)
                .await
                .unwrap(),
            listed,
            "{phone}"
        );
    }
    let report = read_object(
        &s.clients.s3,
        &s.env.results_bucket,
        out["rejectReport"].as_str().unwrap(),
    )
    .await;
    assert!(
        out["rejectReport"]
            .as_str()
            .unwrap()
            .contains("campaign=do-not-call"),
        "{out}"
    );
    let lines: Vec<u64> = report
        .lines()
        .map(|l| serde_json::from_str::<RejectRecord>(l).unwrap().line)
        .collect();
    assert_eq!(lines, [5, 6], "{report}");
    assert!(!report.contains("7946 0101") && !report.contains("+442079460101"));
    assert!(ledger_contacts(&s.clients.ledger).await.is_empty());
    assert!(execution_inputs(&s).await.is_empty());
    assert!(listed(&s).await.is_empty());

    // The same list again lists nothing new.
    let again = handle(
        &s.clients,
        &s.env,
        &tuning(),
        s3_event_of(&s.input_bucket, key, "0A1B2D"),
    )
    .await
    .unwrap();
    assert_eq!(counts(&again), (Some(0), Some(2), Some(3)), "{again}");
}

/// Every object of the results bucket under `prefix`, by key.
async fn objects_under(s: &Stack, prefix: &str) -> BTreeMap<String, String> {
    let listed = s
        .clients
        .s3
        .list_objects_v2()
        .bucket(&s.env.results_bucket)
        .prefix(prefix)
        .send()
        .await
        .unwrap();
    let mut out = BTreeMap::new();
    for o in listed.contents() {
        let key = o.key().unwrap().to_string();
        let body = read_object(&s.clients.s3, &s.env.results_bucket, &key).await;
        out.insert(key, body);
    }
    out
}

/// A window of 08:00–20:00 every day: a contact in UTC and one in UTC+12 (`Etc/GMT-12`) are
/// never both in it nor both out of it, so one is callable now and the other deferred, whatever
/// the time the test runs at.
fn half_day_window() -> outbound_core::calling_window::CallingWindow {
    let days: serde_json::Map<String, Value> = [
        "MONDAY",
        "TUESDAY",
        "WEDNESDAY",
        "THURSDAY",
        "FRIDAY",
        "SATURDAY",
        "SUNDAY",
    ]
    .iter()
    .map(|d| (d.to_string(), json!([{"start": "08:00", "end": "20:00"}])))
    .collect();
    outbound_core::calling_window::CallingWindow::from_json(
        &json!({"enabled": true, "days": days}).to_string(),
    )
    .unwrap()
    .unwrap()
}

/// The next 08:00 in UTC (for `utc`) or in UTC+12, as a UTC instant, after `now`.
fn next_eight(now: chrono::DateTime<Utc>, offset_hours: i64) -> chrono::DateTime<Utc> {
    let local = now + Duration::hours(offset_hours);
    let mut eight = local.date_naive().and_hms_opt(8, 0, 0).unwrap().and_utc();
    if eight <= local {
        eight += Duration::days(1);
    }
    eight - Duration::hours(offset_hours)
}

const RULES_CSV: &[u8] = b"custID,phone,timezone\n\
C-1,+442079460001,UTC\n\
C-2,+442079460002,Etc/GMT-12\n\
C-3,+442079460003,UTC\n\
C-4,12,UTC\n";

#[tokio::test]
#[ignore = "needs moto: MOTO_ENDPOINT, run by make test"]
async fn a_listed_number_is_final_at_intake_and_the_plan_has_exact_figures() {
    let _serial = SERIAL.lock().await;
    let mut s = stack("ll-plan").await;
    s.env.calling_window = Some(half_day_window());
    // C-3's number is on the do-not-call list.
    let listed_key = s.clients.keyer.do_not_call_key("+442079460003");
    outbound_core::dnc::add(
        &s.clients.ledger,
        &listed_key,
        &outbound_core::dnc::DncSource::Operator {
            file: None,
            line: 0,
        },
        Utc::now(),
    )
    .await
    .unwrap();
    let key = "campaigns/rules/week1.csv";
    upload(&s, key, RULES_CSV, &[]).await;
    let now = Utc::now();
    let out = handle(
        &s.clients,
        &s.env,
        &tuning(),
        s3_event(&s.input_bucket, key),
    )
    .await
    .unwrap();
    assert_eq!(counts(&out), (Some(3), Some(1), Some(0)), "{out}");
    assert_eq!(out["dnc"], 1);
    assert_eq!(
        out["plan"],
        "plans/campaign=rules/campaigns_rules_week1.csv.json"
    );

    // C-3: final `dnc` before any feeding, no attempt counted, one final record.
    let contacts = ledger_contacts(&s.clients.ledger).await;
    let by_key: BTreeMap<&str, &LedgerContact> =
        contacts.iter().map(|c| (c.key.as_str(), c)).collect();
    let c3 = by_key["C-3"];
    assert_eq!(c3.state, ContactState::Final);
    assert_eq!(c3.final_reason, Some(FinalReason::DoNotCall));
    assert_eq!(c3.attempt, 0);
    assert_eq!(
        c3.lease_until, None,
        "its final record confirmed: none owed"
    );
    assert_eq!(by_key["C-1"].state, ContactState::Due);
    assert_eq!(by_key["C-2"].state, ContactState::Due);
    let finals = objects_under(&s, "finals/").await;
    assert_eq!(finals.len(), 1, "{finals:?}");
    let record: Value = serde_json::from_str(finals.values().next().unwrap().trim()).unwrap();
    assert_eq!(record["final_reason"], "dnc");
    assert_eq!(record["attempts"], 0);
    assert_eq!(record["customer_key"], "C-3");
    // The feeder never leases it: it is out of the due index.
    let leased = lease_due(
        &s.clients.ledger,
        "rules",
        Utc::now() + Duration::days(30),
        10,
        Utc::now(),
        "feeder",
    )
    .await
    .unwrap()
    .leased;
    let mut fed: Vec<&str> = leased.iter().map(|c| c.key.as_str()).collect();
    fed.sort();
    assert_eq!(fed, vec!["C-1", "C-2"]);

    // The plan, JSON and text, with the file's exact figures.
    let plans = objects_under(&s, "plans/campaign=rules/").await;
    assert_eq!(
        plans.keys().collect::<Vec<_>>(),
        vec![
            "plans/campaign=rules/campaigns_rules_week1.csv.json",
            "plans/campaign=rules/campaigns_rules_week1.csv.txt"
        ]
    );
    let plan: Value =
        serde_json::from_str(&plans["plans/campaign=rules/campaigns_rules_week1.csv.json"])
            .unwrap();
    for (field, expected) in [
        ("loaded", json!(3)),
        ("rejected", json!(1)),
        ("duplicates", json!(0)),
        ("dncHits", json!(1)),
        ("callableNow", json!(1)),
        ("deferred", json!(1)),
        ("capped", json!(0)),
        ("dryRun", json!(false)),
    ] {
        assert_eq!(plan[field], expected, "{field}: {plan}");
    }
    // One of C-1 (UTC) and C-2 (UTC+12) is in its window now; the other opens at its next 08:00.
    let utc_open = (8..20).contains(&chrono::Timelike::hour(&now));
    let opens = if utc_open {
        next_eight(now, 12)
    } else {
        next_eight(now, 0)
    };
    assert_eq!(
        plan["deferredByOpening"],
        json!([{"hour": opens.to_rfc3339_opts(chrono::SecondsFormat::Secs, true), "contacts": 1}])
    );
    assert_eq!(
        plan["latestCall"],
        opens.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
    assert_eq!(plan["estimate"]["lanes"], 2);
    assert_eq!(plan["estimate"]["callsPerHour"], 60.0);
    assert_eq!(plan["unreachable"]["total"], 0);
    let text = &plans["plans/campaign=rules/campaigns_rules_week1.csv.txt"];
    assert!(text.contains("do-not-call hits"), "{text}");
    assert!(text.contains("deferred (window)"), "{text}");

    // The same file again: nothing admitted, no second final record, C-3 unchanged.
    let again = handle(
        &s.clients,
        &s.env,
        &tuning(),
        s3_event_of(&s.input_bucket, key, "0A1B2D"),
    )
    .await
    .unwrap();
    assert_eq!(counts(&again), (Some(0), Some(1), Some(3)), "{again}");
    assert_eq!(objects_under(&s, "finals/").await, finals);
    let c3_again = ledger::read_contact(&s.clients.ledger, "rules", &c3.contact_key)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(c3_again.final_at, c3.final_at);
}

#[tokio::test]
#[ignore = "needs moto: MOTO_ENDPOINT, run by make test"]
async fn a_dry_run_plans_the_file_and_admits_or_starts_nothing() {
    let _serial = SERIAL.lock().await;
    let mut s = stack("ll-dry").await;
    s.env.calling_window = Some(half_day_window());
    outbound_core::dnc::add(
        &s.clients.ledger,
        &s.clients.keyer.do_not_call_key("+442079460003"),
        &outbound_core::dnc::DncSource::Operator {
            file: None,
            line: 0,
        },
        Utc::now(),
    )
    .await
    .unwrap();
    let key = "campaigns/dry/week1.csv";
    upload(
        &s,
        key,
        RULES_CSV,
        &[
            ("dry-run", "true"),
            ("schedule", r#"{"end":"2099-01-01T00:00:00Z"}"#),
        ],
    )
    .await;
    let total_before =
        parameter(&s.clients.ssm, &format!("{}totalRecords", s.env.ssm_prefix)).await;
    let out = handle(
        &s.clients,
        &s.env,
        &tuning(),
        s3_event(&s.input_bucket, key),
    )
    .await
    .unwrap();
    assert_eq!(out["dryRun"], true);
    assert_eq!(counts(&out), (Some(0), Some(1), Some(0)), "{out}");
    assert_eq!(out["dnc"], 1);
    assert_eq!(out["execution"], Value::Null);
    assert!(
        ledger_contacts(&s.clients.ledger).await.is_empty(),
        "nothing admitted"
    );
    assert!(
        listed(&s).await.is_empty(),
        "the campaign is not registered"
    );
    assert!(execution_inputs(&s).await.is_empty(), "no run started");
    assert_eq!(
        parameter(&s.clients.ssm, &format!("{}totalRecords", s.env.ssm_prefix)).await,
        total_before,
        "totalRecords unchanged"
    );
    assert!(
        ledger::schedule::read(&s.clients.ledger, "dry")
            .await
            .unwrap()
            .is_none(),
        "no schedule stored"
    );
    assert!(
        objects_under(&s, "finals/").await.is_empty(),
        "nothing suppressed"
    );
    // The reject report as usual.
    let report = read_object(
        &s.clients.s3,
        &s.env.results_bucket,
        "rejects/campaign=dry/campaigns_dry_week1.csv.jsonl",
    )
    .await;
    let rejects: Vec<RejectRecord> = report
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rejects.iter().map(|r| r.line).collect::<Vec<_>>(), vec![5]);
    // The plan, marked as a dry run, against the file's own schedule.
    let plan: Value = serde_json::from_str(
        &read_object(
            &s.clients.s3,
            &s.env.results_bucket,
            "plans/campaign=dry/campaigns_dry_week1.csv.json",
        )
        .await,
    )
    .unwrap();
    assert_eq!(plan["dryRun"], true);
    assert_eq!(
        (
            &plan["loaded"],
            &plan["dncHits"],
            &plan["callableNow"],
            &plan["deferred"]
        ),
        (&json!(3), &json!(1), &json!(1), &json!(1))
    );
    assert_eq!(plan["scheduleEnd"], "2099-01-01T00:00:00Z");
    assert_eq!(plan["finishesBeforeEnd"], true);
    let text = read_object(
        &s.clients.s3,
        &s.env.results_bucket,
        "plans/campaign=dry/campaigns_dry_week1.csv.txt",
    )
    .await;
    assert!(text.starts_with("Plan (DRY RUN"), "{text}");
}
