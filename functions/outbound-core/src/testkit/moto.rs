//! Helpers of the integration tests against moto over HTTP (`MOTO_ENDPOINT`), shared by the
//! crates whose `tests/` exercise the completion ledger: a fresh table and bucket per test, Step
//! Functions recorded in process (moto has no task tokens), and the fixtures of one placed call.

use crate::completion::{record_token, Ledger, PlacedCall, TokenRecorded};
use crate::contact::{Contact, ContactSource};
use crate::events::CallEnd;
use crate::records::{LaneState, Outcome, ResultRecord};
use aws_config::BehaviorVersion;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType,
};
use aws_smithy_mocks::{mock, mock_client, RuleMode};
use chrono::Utc;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

/// The moto server the tests run against; a clear failure when it is not configured.
pub fn endpoint() -> String {
    std::env::var("MOTO_ENDPOINT")
        .expect("MOTO_ENDPOINT is not set: start moto (.venv/bin/moto_server -p 5104) and export MOTO_ENDPOINT=http://127.0.0.1:5104")
}

/// A name no earlier test run used (the moto server outlives the tests) and no other test of
/// this run uses: the clock alone is not enough, two tests running side by side can read the
/// same time, so the process id and a counter come with it. Short enough for a bucket name.
pub fn unique(prefix: &str) -> String {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!(
        "{prefix}-{}-{}-{n}",
        nanos % 1_000_000_000_000,
        std::process::id()
    )
}

/// SDK configuration for moto: fixed region and dummy credentials.
pub async fn sdk() -> aws_config::SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint())
        .region(aws_config::Region::new("eu-west-2"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "testing", "testing", None, None, "moto",
        ))
        .load()
        .await
}

/// A new KMS HMAC key in moto, as the dialer module creates it (key spec `HMAC_256`, usage
/// `GENERATE_VERIFY_MAC`): its ARN.
pub async fn hmac_key(sdk: &aws_config::SdkConfig) -> String {
    let kms = aws_sdk_kms::Client::new(sdk);
    let key = kms
        .create_key()
        .key_spec(aws_sdk_kms::types::KeySpec::Hmac256)
        .key_usage(aws_sdk_kms::types::KeyUsageType::GenerateVerifyMac)
        .description("contact keys (integration test)")
        .send()
        .await
        .expect("moto creates an HMAC key");
    key.key_metadata
        .and_then(|m| m.arn)
        .expect("a created key has an ARN")
}

/// A contact keyer derived through moto's KMS, as load-list and queue-contacts derive theirs
/// at start-up.
pub async fn contact_keyer(sdk: &aws_config::SdkConfig) -> crate::contact_key::ContactKeyer {
    let arn = hmac_key(sdk).await;
    crate::contact_key::ContactKeyer::from_kms(&aws_sdk_kms::Client::new(sdk), &arn)
        .await
        .expect("GenerateMac on a fresh HMAC key")
}

/// Creates a table shaped like the module's ActiveDialing table (string key `pk`, on demand).
pub async fn create_table(dynamodb: &aws_sdk_dynamodb::Client, table_name: &str) {
    dynamodb
        .create_table()
        .table_name(table_name)
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
}

fn attribute(name: &str, kind: ScalarAttributeType) -> AttributeDefinition {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(kind)
        .build()
        .unwrap()
}

fn key(name: &str, kind: KeyType) -> KeySchemaElement {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(kind)
        .build()
        .unwrap()
}

/// A sparse keys-only index, as the ledger's contract describes them (docs/architecture.md).
fn keys_only_index(name: &str, partition: &str, sort: &str) -> GlobalSecondaryIndex {
    GlobalSecondaryIndex::builder()
        .index_name(name)
        .key_schema(key(partition, KeyType::Hash))
        .key_schema(key(sort, KeyType::Range))
        .projection(
            Projection::builder()
                .projection_type(ProjectionType::KeysOnly)
                .build(),
        )
        .build()
        .unwrap()
}

/// Creates a table shaped like the campaign ledger of docs/architecture.md:
/// string key `pk`, on demand, the sparse `due` and `held` indexes.
pub async fn create_ledger_table(dynamodb: &aws_sdk_dynamodb::Client, table_name: &str) {
    use crate::ledger::{DUE_INDEX, HELD_INDEX};
    dynamodb
        .create_table()
        .table_name(table_name)
        .attribute_definitions(attribute("pk", ScalarAttributeType::S))
        .attribute_definitions(attribute("dueShard", ScalarAttributeType::S))
        .attribute_definitions(attribute("dueAt", ScalarAttributeType::N))
        .attribute_definitions(attribute("heldShard", ScalarAttributeType::S))
        .attribute_definitions(attribute("leaseUntil", ScalarAttributeType::N))
        .key_schema(key("pk", KeyType::Hash))
        .global_secondary_indexes(keys_only_index(DUE_INDEX, "dueShard", "dueAt"))
        .global_secondary_indexes(keys_only_index(HELD_INDEX, "heldShard", "leaseUntil"))
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .expect("create ledger table in moto");
}

/// A fresh campaign ledger for one test; final items kept `final_retention_days` days.
pub async fn campaign_ledger(
    sdk: &aws_config::SdkConfig,
    final_retention_days: Option<i64>,
) -> crate::ledger::CampaignLedger {
    let dynamodb = aws_sdk_dynamodb::Client::new(sdk);
    let table_name = unique("it-campaign-ledger");
    create_ledger_table(&dynamodb, &table_name).await;
    crate::ledger::CampaignLedger {
        dynamodb,
        table_name,
        final_retention: final_retention_days.map(chrono::Duration::days),
    }
}

/// A fresh table and bucket for one test.
pub async fn ledger(sdk: &aws_config::SdkConfig) -> Ledger {
    let dynamodb = aws_sdk_dynamodb::Client::new(sdk);
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(sdk)
            .force_path_style(true)
            .build(),
    );
    let table_name = unique("it-active-dialing");
    create_table(&dynamodb, &table_name).await;
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
        finisher: None,
    }
}

/// (task token, output) of every `SendTaskSuccess`.
pub type Sent = Arc<Mutex<Vec<(String, String)>>>;

/// Step Functions in process: every successful `SendTaskSuccess` is recorded.
pub fn sfn() -> (aws_sdk_sfn::Client, Sent) {
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

/// The contact every test places.
pub fn contact() -> Contact {
    Contact {
        campaign: "spring".into(),
        key: "C-1".into(),
        phone: "+442079460123".into(),
        contact_key: super::contact_key("spring", "C-1", "+442079460123"),
        attempt: 1,
        attributes: BTreeMap::from([("firstName".to_string(), "Ann".to_string())]),
        source: ContactSource::Csv {
            object: "uploads/spring.csv".into(),
            line: 2,
        },
    }
}

/// A lane state of run `run_id` after `calls` calls.
pub fn lane(run_id: &str, calls: u32) -> LaneState {
    LaneState {
        run_id: run_id.into(),
        lane: 1,
        calls,
        budget: 100,
        timeout_seconds: 120,
        wave: 0,
        wave_budget: 0,
    }
}

/// A call that ended now with `outcome`.
pub fn end(outcome: Outcome) -> CallEnd {
    CallEnd {
        disconnected_at: Utc::now(),
        outcome,
    }
}

/// Records the token side of a placed call for [`contact`].
pub async fn store_token(
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
            contact_key: &c.contact_key,
            caller_id,
            refused_caller_id: None,
            dialed_at: Utc::now(),
        },
    )
    .await
    .expect("record token")
}

/// Every result object in the bucket, as (key, body).
pub async fn result_objects(ledger: &Ledger) -> Vec<(String, String)> {
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

/// A result object's body: exactly one JSON line.
pub fn parse_record(body: &str) -> ResultRecord {
    assert_eq!(body.matches('\n').count(), 1, "one JSON line: {body}");
    serde_json::from_str(body.trim_end()).unwrap()
}

/// An S3 client for moto: path-style addressing (moto cannot resolve virtual-hosted buckets).
pub fn s3(sdk: &aws_config::SdkConfig) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(sdk)
            .force_path_style(true)
            .build(),
    )
}

/// Creates `bucket` in moto, in the region of [`sdk`].
pub async fn create_bucket(s3: &aws_sdk_s3::Client, bucket: &str) {
    s3.create_bucket()
        .bucket(bucket)
        .create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::EuWest2)
                .build(),
        )
        .send()
        .await
        .expect("create bucket in moto");
}

/// Creates a standard queue in moto: its URL.
pub async fn create_queue(sqs: &aws_sdk_sqs::Client, name: &str) -> String {
    sqs.create_queue()
        .queue_name(name)
        .send()
        .await
        .expect("create queue in moto")
        .queue_url()
        .expect("a created queue has a URL")
        .to_string()
}

/// Every message body the queue holds now (received and deleted).
pub async fn drain_queue(sqs: &aws_sdk_sqs::Client, queue_url: &str) -> Vec<String> {
    let mut bodies = Vec::new();
    loop {
        let page = sqs
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(10)
            .visibility_timeout(300)
            .send()
            .await
            .expect("receive from moto");
        if page.messages().is_empty() {
            return bodies;
        }
        for m in page.messages() {
            bodies.push(m.body().unwrap_or_default().to_string());
            sqs.delete_message()
                .queue_url(queue_url)
                .receipt_handle(m.receipt_handle().unwrap_or_default())
                .send()
                .await
                .expect("delete from moto");
        }
    }
}

/// Every contact item of the campaign ledger, by campaign then customer key (a scan: tests
/// only).
pub async fn ledger_contacts(
    ledger: &crate::ledger::CampaignLedger,
) -> Vec<crate::ledger::LedgerContact> {
    let mut contacts = Vec::new();
    let mut start = None;
    loop {
        let page = ledger
            .dynamodb
            .scan()
            .table_name(&ledger.table_name)
            .consistent_read(true)
            .set_exclusive_start_key(start)
            .send()
            .await
            .expect("scan the ledger in moto");
        for item in page.items() {
            if item
                .get("pk")
                .and_then(|v| v.as_s().ok())
                .is_some_and(|pk| pk.starts_with("CONTACT#"))
            {
                contacts.push(
                    crate::ledger::LedgerContact::from_item(item).expect("a ledger contact item"),
                );
            }
        }
        start = page.last_evaluated_key().cloned();
        if start.is_none() {
            break;
        }
    }
    contacts.sort_by(|a, b| (&a.campaign, &a.key).cmp(&(&b.campaign, &b.key)));
    contacts
}

/// The raw item `pk` of the campaign ledger (consistent read).
pub async fn ledger_item(
    ledger: &crate::ledger::CampaignLedger,
    pk: &str,
) -> Option<std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>> {
    table_item(&ledger.dynamodb, &ledger.table_name, pk).await
}

/// The raw item `pk` of any of the module's tables, all keyed by `pk` (consistent read).
pub async fn table_item(
    dynamodb: &aws_sdk_dynamodb::Client,
    table_name: &str,
    pk: &str,
) -> Option<std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>> {
    dynamodb
        .get_item()
        .table_name(table_name)
        .key("pk", aws_sdk_dynamodb::types::AttributeValue::S(pk.into()))
        .consistent_read(true)
        .send()
        .await
        .expect("get an item from moto")
        .item()
        .cloned()
}

/// Sets attributes of the ledger item `pk` directly, past the operations and their conditions:
/// a test's way to put a contact where the operations alone would take long to get it.
pub async fn set_ledger_attributes(
    ledger: &crate::ledger::CampaignLedger,
    pk: &str,
    attributes: &[(&str, aws_sdk_dynamodb::types::AttributeValue)],
) {
    let mut request = ledger
        .dynamodb
        .update_item()
        .table_name(&ledger.table_name)
        .key("pk", aws_sdk_dynamodb::types::AttributeValue::S(pk.into()));
    let mut sets = Vec::new();
    for (i, (name, value)) in attributes.iter().enumerate() {
        sets.push(format!("#a{i} = :v{i}"));
        request = request
            .expression_attribute_names(format!("#a{i}"), *name)
            .expression_attribute_values(format!(":v{i}"), value.clone());
    }
    request
        .update_expression(format!("SET {}", sets.join(", ")))
        .send()
        .await
        .expect("update a ledger item in moto");
}

#[cfg(test)]
mod tests {
    use super::unique;

    #[test]
    fn names_differ_even_when_taken_at_the_same_time() {
        let names: std::collections::BTreeSet<String> =
            (0..1000).map(|_| unique("it-results")).collect();
        assert_eq!(names.len(), 1000);
        // Bucket names stop at 63 characters.
        assert!(names.iter().all(|n| n.len() <= 63), "{names:?}");
    }
}
