//! caller-id against S3 over HTTP (moto server): the real `S3RoutingSource`, the real cache, the
//! real handler.
//!
//! Run with a moto server: `MOTO_ENDPOINT=http://127.0.0.1:5101 cargo test -p caller-id --test
//! moto_s3 -- --include-ignored` (`make test` starts moto and does this).

use caller_id::{CallerId, CallerIdAnswer};
use outbound_core::routing_cache::{
    CacheStatus, FetchError, Fetched, RoutingCache, RoutingSource, S3RoutingSource,
};
use serde_json::Value;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

// Long enough that "within the TTL" holds on a loaded CI machine (an S3 PUT and a lookup took
// more than one second there); the TTL's exact timing is tested with paused time in
// outbound-core's routing_cache tests, this test is about the ETag exchange with S3.
const TTL: Duration = Duration::from_secs(4);
const KEY: &str = "config/routing.json";

fn moto_endpoint() -> String {
    std::env::var("MOTO_ENDPOINT").unwrap_or_else(|_| {
        panic!("MOTO_ENDPOINT is not set: start `moto_server -p 5101` and export MOTO_ENDPOINT=http://127.0.0.1:5101")
    })
}

fn s3_client() -> aws_sdk_s3::Client {
    let config = aws_sdk_s3::Config::builder()
        .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
        .region(aws_sdk_s3::config::Region::new("us-east-1"))
        .endpoint_url(moto_endpoint())
        .force_path_style(true)
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            "testing", "testing", None, None, "moto",
        ))
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

async fn new_bucket(s3: &aws_sdk_s3::Client, what: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let bucket = format!("caller-id-{what}-{}-{nanos}", std::process::id());
    s3.create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("create bucket in moto");
    bucket
}

async fn put(s3: &aws_sdk_s3::Client, bucket: &str, body: &str) {
    s3.put_object()
        .bucket(bucket)
        .key(KEY)
        .body(body.as_bytes().to_vec().into())
        .send()
        .await
        .expect("put routing file");
}

/// What the S3 call returned each time: the proof that a revalidation downloaded nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seen {
    Body { etag: Option<String>, len: usize },
    NotModified { sent: String },
    Error(String),
}

struct Recording {
    inner: S3RoutingSource,
    seen: Mutex<Vec<Seen>>,
}

impl RoutingSource for Recording {
    async fn fetch(&self, if_none_match: Option<&str>) -> Result<Fetched, FetchError> {
        let result = self.inner.fetch(if_none_match).await;
        let seen = match &result {
            Ok(Fetched::Body { bytes, etag }) => Seen::Body {
                etag: etag.clone(),
                len: bytes.len(),
            },
            Ok(Fetched::NotModified) => Seen::NotModified {
                sent: if_none_match.unwrap_or("").to_string(),
            },
            Err(e) => Seen::Error(e.to_string()),
        };
        self.seen.lock().unwrap().push(seen);
        result
    }
}

fn fixture(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/connect-events")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

const V1: &str = r#"{"US": "+12065550100", "CA": "+14165550100", "Default": "+12025550100"}"#;
const V2: &str = r#"{"US": ["+13125550111", "+13125550122"], "+1305": "+13055550100", "Default": "+12025550100"}"#;

async fn ask(caller: &CallerId<Recording>, event: &Value) -> CallerIdAnswer {
    caller.handle(event).await
}

fn caller_id(source: S3RoutingSource, ttl: Duration) -> CallerId<Recording> {
    CallerId::new(Some(RoutingCache::new(
        Recording {
            inner: source,
            seen: Mutex::new(Vec::new()),
        },
        ttl,
    )))
}

fn cache(caller: &CallerId<Recording>) -> &RoutingCache<Recording> {
    caller.routing().expect("configured")
}

#[tokio::test]
#[ignore = "needs moto: MOTO_ENDPOINT, run by make test"]
async fn answers_from_s3_revalidates_with_etag_and_picks_up_changes() {
    let s3 = s3_client();
    let bucket = new_bucket(&s3, "ttl").await;
    put(&s3, &bucket, V1).await;
    let caller = caller_id(S3RoutingSource::new(s3.clone(), &bucket, KEY), TTL);
    let miami = fixture("whisper-us-miami-country.json");

    // 1. Answers from the file.
    let a = ask(&caller, &miami).await;
    assert_eq!(
        (
            a.routing_status.as_str(),
            a.routing_rule.as_str(),
            a.outbound_number.as_str()
        ),
        ("country", "US", "+12065550100")
    );
    assert_eq!(a.default_queue_outbound_number, "+12065550199");

    // 2. Within the TTL: no S3 call at all.
    for _ in 0..20 {
        ask(&caller, &miami).await;
    }
    assert_eq!(cache(&caller).stats().await.fetches, 1);

    // 3. After the TTL, unchanged file: a conditional GET answered 304, nothing downloaded.
    tokio::time::sleep(TTL + Duration::from_millis(100)).await;
    let a = ask(&caller, &miami).await;
    assert_eq!(a.outbound_number, "+12065550100");
    let seen = cache(&caller).source().seen.lock().unwrap().clone();
    let Seen::Body {
        etag: Some(etag_v1),
        len,
    } = &seen[0]
    else {
        panic!("first fetch should download: {seen:?}")
    };
    assert_eq!(*len, V1.len());
    assert_eq!(
        seen[1],
        Seen::NotModified {
            sent: etag_v1.clone()
        }
    );
    let stats = cache(&caller).stats().await;
    assert_eq!(
        (stats.fetches, stats.downloads, stats.not_modified),
        (2, 1, 1)
    );

    // 4. The file changes: still the cached answer within the TTL, the new one after it.
    put(&s3, &bucket, V2).await;
    assert_eq!(ask(&caller, &miami).await.outbound_number, "+12065550100");
    tokio::time::sleep(TTL + Duration::from_millis(100)).await;
    let a = ask(&caller, &miami).await;
    assert_eq!(
        (
            a.routing_status.as_str(),
            a.routing_rule.as_str(),
            a.outbound_number.as_str()
        ),
        ("prefix", "+1305", "+13055550100")
    );
    let seen = cache(&caller).source().seen.lock().unwrap().clone();
    match &seen[2] {
        Seen::Body { etag: Some(e), len } => {
            assert_ne!(e, etag_v1);
            assert_eq!(*len, V2.len());
        }
        other => panic!("changed file should download: {other:?}"),
    }
    // The new file's pool answers another US customer; CA lost its entry and gets Default.
    let toronto = ask(&caller, &fixture("whisper-ca-toronto-country.json")).await;
    assert_eq!(
        (
            toronto.routing_status.as_str(),
            toronto.outbound_number.as_str()
        ),
        ("default", "+12025550100")
    );
    let ny = ask(&caller, &fixture("whisper-us-new-york-prefix.json")).await;
    assert_eq!(ny.routing_rule, "US");
    assert!(["+13125550111", "+13125550122"].contains(&ny.outbound_number.as_str()));

    // 5. A malformed upload falls back to the queue's number (and is not re-downloaded).
    put(&s3, &bucket, "{\"US\": ").await;
    tokio::time::sleep(TTL + Duration::from_millis(100)).await;
    let a = ask(&caller, &miami).await;
    assert_eq!(a.routing_status, "malformed");
    assert_eq!(a.outbound_number, "+12065550199", "the queue's number");
    tokio::time::sleep(TTL + Duration::from_millis(100)).await;
    assert_eq!(ask(&caller, &miami).await.routing_status, "malformed");
    assert!(matches!(
        cache(&caller).source().seen.lock().unwrap().last(),
        Some(Seen::NotModified { .. })
    ));

    // 6. Deleted: missing, queue's number.
    s3.delete_object()
        .bucket(&bucket)
        .key(KEY)
        .send()
        .await
        .unwrap();
    tokio::time::sleep(TTL + Duration::from_millis(100)).await;
    let a = ask(&caller, &miami).await;
    assert_eq!(a.routing_status, "missing");
    assert_eq!(a.outbound_number, "+12065550199");
    assert_eq!(cache(&caller).current().await.status, CacheStatus::Missing);
}

#[tokio::test]
#[ignore = "needs moto: MOTO_ENDPOINT, run by make test"]
async fn a_missing_bucket_falls_back_to_the_queue_number() {
    let s3 = s3_client();
    let caller = caller_id(
        S3RoutingSource::new(s3, "caller-id-no-such-bucket", KEY),
        TTL,
    );
    let a = ask(&caller, &fixture("whisper-gb-london-prefix.json")).await;
    assert_eq!(a.routing_status, "missing");
    assert_eq!(a.outbound_number, "+442079460999");
    assert_eq!(a.customer_country, "GB");
}

#[tokio::test]
#[ignore = "needs moto: MOTO_ENDPOINT, run by make test"]
async fn the_sample_routing_file_answers_every_fixture() {
    let s3 = s3_client();
    let bucket = new_bucket(&s3, "sample").await;
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let sample = std::fs::read_to_string(root.join("sample-files/routing.json")).unwrap();
    put(&s3, &bucket, &sample).await;
    let caller = caller_id(
        S3RoutingSource::new(s3, &bucket, KEY),
        Duration::from_secs(60),
    );
    let expected: serde_json::Map<String, Value> = serde_json::from_str(
        &std::fs::read_to_string(root.join("tests/fixtures/connect-events/expected/answers.json"))
            .unwrap(),
    )
    .unwrap();
    for (name, want) in &expected {
        let want: CallerIdAnswer = serde_json::from_value(want.clone()).unwrap();
        assert_eq!(ask(&caller, &fixture(name)).await, want, "{name}");
    }
    assert_eq!(cache(&caller).stats().await.fetches, 1);
}
