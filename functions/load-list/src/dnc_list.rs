//! Do-not-call lists: a CSV uploaded under `dnc/` in the input bucket puts its numbers on the
//! deployment's do-not-call list ([`outbound_core::dnc`]) instead of loading contacts.
//!
//! The file needs a `phone` column (`custID` is optional: a row is named after its line); numbers
//! are normalised like a contact list's (the deployment's default region for numbers without
//! `+`), and each one is stored as its keyed hash, never in clear. Rows that are not numbers of a
//! destination the deployment dials are rejected with their line and reason into
//! `rejects/campaign=do-not-call/<file>.jsonl` (a number this deployment never dials needs no
//! listing). Listing is idempotent: the same file again, or a number already listed, changes
//! nothing. No campaign and no run are started.
//!
//! One invocation reads the whole list (an S3 asynchronous invocation is retried on failure,
//! and listing again is harmless): at DynamoDB's pace that is millions of numbers within the
//! function's timeout.

use crate::csv_intake::{AsyncCsvReader, CsvOptions, FileError, RowOutcome};
use crate::env::Env;
use crate::handler::{Clients, ObjectResult, Tuning};
use futures::stream::{self, StreamExt};
use outbound_core::dnc::{self, DncSource};
use outbound_core::error::FunctionError;
use outbound_core::intake::report::RejectWriter;
use outbound_core::intake::sdk_error;
use outbound_core::records::{reject_object_key, RejectRecord};
use phonenumber::country;

/// The key prefix of do-not-call lists in the input bucket.
pub const DNC_PREFIX: &str = "dnc/";
/// The name reject reports of do-not-call lists are filed under.
pub const DNC_REPORT_CAMPAIGN: &str = "do-not-call";
/// Numbers listed at once.
const LIST_IN_FLIGHT: usize = 25;
/// Numbers read before they are listed.
const BATCH: usize = 500;

/// Whether an object key is a do-not-call list.
pub fn is_dnc_list(key: &str) -> bool {
    key.starts_with(DNC_PREFIX)
}

/// Lists every number of the object `key`. The result's `queued` counts numbers newly listed,
/// `duplicates` numbers listed already (or twice in the file), `rejected` the rows refused.
pub async fn load_dnc_list(
    clients: &Clients,
    env: &Env,
    tuning: &Tuning,
    region: country::Id,
    bucket: &str,
    key: &str,
) -> Result<ObjectResult, FunctionError> {
    let mut result = ObjectResult {
        object: key.to_string(),
        campaign: DNC_REPORT_CAMPAIGN.to_string(),
        segment: 1,
        ..ObjectResult::default()
    };
    let object = clients
        .s3
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .map_err(|e| sdk_error("GetObject", &e))?;
    let opts = CsvOptions {
        campaign: DNC_REPORT_CAMPAIGN.to_string(),
        object: key.to_string(),
        default_region: Some(region),
        destinations: env.destinations.clone(),
        keyer: clients.keyer.clone(),
        customer_id_optional: true,
    };
    let mut reader = AsyncCsvReader::new(object.body.into_async_read(), opts);
    let mut rejects = RejectWriter::new(
        clients.s3.clone(),
        &env.results_bucket,
        reject_object_key(DNC_REPORT_CAMPAIGN, key),
    )
    .with_policy(tuning.policy);
    let mut pending: Vec<(String, u64)> = Vec::with_capacity(BATCH);
    loop {
        let row = match reader.next_row().await {
            Ok(row) => row,
            Err(FileError::Read(e)) => {
                return Err(FunctionError::retryable(format!(
                    "reading the do-not-call list: {e}"
                )))
            }
            Err(refusal) => {
                let why = refusal.to_string();
                tracing::warn!(key, reason = %why, "do-not-call list refused");
                rejects
                    .push(&RejectRecord {
                        line: 1,
                        reason: format!("file rejected: {why}"),
                        customer_key: None,
                        phone_masked: None,
                        source: key.to_string(),
                    })
                    .await?;
                result.error = Some(why);
                break;
            }
        };
        match row {
            None => break,
            Some(RowOutcome::Contact(c)) => {
                let line = match c.source {
                    outbound_core::contact::ContactSource::Csv { line, .. } => line,
                    _ => 0,
                };
                pending.push((clients.keyer.do_not_call_key(&c.phone), line));
                if pending.len() >= BATCH {
                    list(clients, key, &mut pending, &mut result, tuning).await?;
                }
            }
            Some(RowOutcome::Rejected(r)) => {
                result.rejected += 1;
                rejects.push(&r).await?;
            }
            Some(RowOutcome::Duplicate { .. }) => result.duplicates += 1,
        }
    }
    list(clients, key, &mut pending, &mut result, tuning).await?;
    result.reject_report = rejects.finish(result.rejected > 0).await?;
    tracing::info!(
        key,
        listed = result.queued,
        already_listed = result.duplicates,
        rejected = result.rejected,
        "do-not-call list loaded"
    );
    Ok(result)
}

/// Lists the numbers read so far.
async fn list(
    clients: &Clients,
    key: &str,
    pending: &mut Vec<(String, u64)>,
    result: &mut ObjectResult,
    tuning: &Tuning,
) -> Result<(), FunctionError> {
    let now = chrono::Utc::now();
    let answers: Vec<Result<bool, FunctionError>> = stream::iter(pending.drain(..))
        .map(|(dnc_key, line)| async move {
            let source = DncSource::List { object: key, line };
            tuning
                .policy
                .retry(|| dnc::add(&clients.ledger, &dnc_key, &source, now))
                .await
        })
        .buffer_unordered(LIST_IN_FLIGHT)
        .collect()
        .await;
    for answer in answers {
        if answer? {
            result.queued += 1;
        } else {
            result.duplicates += 1;
        }
    }
    Ok(())
}
