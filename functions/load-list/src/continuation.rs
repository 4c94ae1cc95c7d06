//! Big files: one invocation reads as much of a file as its time allows, then hands the rest to
//! the next invocation (docs/architecture.md, "Big files").
//!
//! Before the invocation's deadline (less [`crate::Tuning::handover_margin`], the time it needs to
//! drain the admissions in flight and write its part of the reject report), or once it accepted
//! [`crate::Tuning::max_segment_contacts`] contacts (which bounds the duplicate filter's memory),
//! load-list stops at a row boundary, waits until every admitted row is acknowledged, and invokes
//! itself asynchronously with a [`Checkpoint`]: where the next unread row starts (byte offset
//! and line number), the object's ETag (and version), the campaign, the redial override, the
//! header's columns, the running counts and the segment number. The next invocation reads the
//! rest with a ranged `GetObject` pinned to that ETag (`If-Match`): a file replaced or deleted in
//! the meantime is not mixed with the new one, its load stops with an error in the report.
//!
//! Each segment writes its own reject report: the first under the file's usual key, segment `n`
//! under the same key with `.partNNNN` before `.jsonl` ([`segment_report_key`]); line numbers are
//! always the file's. A continuation delivered twice admits nothing twice (admission is a
//! conditional put), writes the same report part again and starts (or joins) the same run.

use crate::csv_intake::ReadPosition;
use outbound_core::error::FunctionError;
use outbound_core::intake::{sdk_error, RetryPolicy};
use outbound_core::ledger::RedialRules;
use serde::{Deserialize, Serialize};
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Time kept back from the invocation's deadline by default: draining the admissions in flight,
/// the reject report's flush, the run start and the hand-over itself (`HANDOVER_MARGIN_SECONDS`).
pub const DEFAULT_HANDOVER_MARGIN: Duration = Duration::from_secs(60);

/// Contacts one invocation accepts at most by default: its duplicate filter then holds at most
/// ~28 MB (`outbound_core::intake::dedupe`: ~14 bytes a contact).
pub const DEFAULT_MAX_SEGMENT_CONTACTS: u64 = 2_000_000;

/// Running totals of a file over its segments (as in [`crate::ObjectResult`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Totals {
    /// Rows read (after the header).
    pub rows: u64,
    pub queued: u64,
    pub rejected: u64,
    pub duplicates: u64,
}

/// Where and how the next invocation goes on with a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Checkpoint {
    pub bucket: String,
    pub key: String,
    /// The object's ETag when the first segment read it: the rest must be the same object.
    pub etag: String,
    /// The object's version, in a versioned bucket.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_id: Option<String>,
    /// The upload event's sequencer (or ETag): names the runs the segments start.
    pub upload: String,
    pub campaign: String,
    /// The file's redial override (the object's `redial` metadata applied), if it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rules: Option<RedialRules>,
    /// The next unread row, and the header's columns.
    pub at: ReadPosition,
    /// Totals of the segments before.
    pub totals: Totals,
    /// The segment this checkpoint starts (the first continuation is segment 2).
    pub segment: u32,
    /// The file is a dry run (object metadata `dry-run`): checked and planned, nothing admitted.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dry_run: bool,
    /// The file's plan so far (bounded: [`crate::plan::MAX_TIMES`] times per map).
    #[serde(default)]
    pub plan: crate::plan::PlanTally,
}

/// The event a continuation is invoked with: `{"continuation": {...}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContinuationEvent {
    pub continuation: Checkpoint,
}

/// Key of segment `segment`'s reject report, from the file's report key `first`
/// (`…/uploads_a.csv.jsonl`): the first segment's is `first`, later ones
/// `…/uploads_a.csv.part0002.jsonl`.
pub fn segment_report_key(first: &str, segment: u32) -> String {
    if segment <= 1 {
        return first.to_string();
    }
    let stem = first.strip_suffix(".jsonl").unwrap_or(first);
    format!("{stem}.part{segment:04}.jsonl")
}

/// When a segment stops reading.
#[derive(Debug, Clone, Copy)]
pub struct StopRule {
    /// The invocation's deadline; `None`: no time limit.
    pub deadline: Option<Instant>,
    /// Time kept back from the deadline.
    pub margin: Duration,
    /// Contacts accepted after which the segment stops.
    pub max_contacts: u64,
}

impl StopRule {
    pub fn new(deadline: Option<Instant>, margin: Duration, max_contacts: u64) -> Self {
        StopRule {
            deadline,
            margin,
            max_contacts: max_contacts.max(1),
        }
    }

    /// Whether a segment that has read `rows` rows, `contacts` of them accepted, stops before
    /// the next row. A segment always reads at least one row, so a chain of continuations always
    /// gets to the end of the file.
    pub fn stop_now(&self, now: Instant, rows: u64, contacts: u64) -> bool {
        rows > 0
            && (contacts >= self.max_contacts
                || self.deadline.is_some_and(|d| now + self.margin >= d))
    }
}

/// A boxed future, for the object-safe [`Handover`].
pub type HandoverFuture<'a> = Pin<Box<dyn Future<Output = Result<(), FunctionError>> + Send + 'a>>;

/// Starts the next invocation with a checkpoint.
pub trait Handover: Send + Sync + std::fmt::Debug {
    fn hand_over<'a>(&'a self, next: &'a Checkpoint) -> HandoverFuture<'a>;
}

/// The deployed hand-over: an asynchronous `Invoke` (`Event`) of this function itself. A failed
/// invocation of the continuation is retried by Lambda and then kept in the function's
/// dead-letter queue, like an upload's.
#[derive(Debug, Clone)]
pub struct LambdaHandover {
    pub lambda: aws_sdk_lambda::Client,
    /// This function's name (`AWS_LAMBDA_FUNCTION_NAME`).
    pub function_name: String,
    pub policy: RetryPolicy,
}

impl Handover for LambdaHandover {
    fn hand_over<'a>(&'a self, next: &'a Checkpoint) -> HandoverFuture<'a> {
        Box::pin(async move {
            let payload = serde_json::to_vec(&ContinuationEvent {
                continuation: next.clone(),
            })
            .expect("a checkpoint serialises");
            let payload = &payload;
            self.policy
                .retry(|| async move {
                    self.lambda
                        .invoke()
                        .function_name(&self.function_name)
                        .invocation_type(aws_sdk_lambda::types::InvocationType::Event)
                        .payload(aws_sdk_lambda::primitives::Blob::new(payload.clone()))
                        .send()
                        .await
                        .map(|_| ())
                        .map_err(|e| sdk_error("Invoke", &e))
                })
                .await
        })
    }
}

/// A hand-over that keeps the checkpoints instead of invoking anything (tests, the bench): feed
/// them back to the handler as `{"continuation": …}` events.
#[derive(Debug, Default)]
pub struct CapturedHandovers {
    seen: Mutex<Vec<Checkpoint>>,
}

impl CapturedHandovers {
    /// The checkpoints handed over since the last call, oldest first.
    pub fn take(&self) -> Vec<Checkpoint> {
        std::mem::take(&mut *self.seen.lock().expect("not poisoned"))
    }
}

impl Handover for CapturedHandovers {
    fn hand_over<'a>(&'a self, next: &'a Checkpoint) -> HandoverFuture<'a> {
        self.seen.lock().expect("not poisoned").push(next.clone());
        Box::pin(async { Ok(()) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::csv_intake::{AsyncCsvReader, CsvOptions};

    async fn position_after_one_row() -> ReadPosition {
        let csv = b"custID,phone,Account Ref\r\nC-1,020 7946 0001,A-1\r\nC-2,020 7946 0002,A-2\r\n";
        let mut reader = AsyncCsvReader::new(
            &csv[..],
            CsvOptions {
                campaign: "spring".into(),
                object: "uploads/spring.csv".into(),
                default_region: outbound_core::phone::region_id("GB").ok(),
                destinations: outbound_core::destinations::DestinationRules::parse("GB").unwrap(),
                keyer: outbound_core::testkit::contact_keyer(),
                customer_id_optional: false,
            },
        );
        reader.next_row().await.unwrap().unwrap();
        reader.position().unwrap()
    }

    #[tokio::test]
    async fn a_checkpoint_goes_through_the_event_unchanged() {
        let checkpoint = Checkpoint {
            bucket: "input".into(),
            key: "uploads/spring renewals+.csv".into(),
            etag: "\"9b2cf535f27731c974343645a3985328\"".into(),
            version_id: Some("3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY".into()),
            upload: "0055AED6DCD90281E5".into(),
            campaign: "spring-2026".into(),
            rules: Some(
                RedialRules::default()
                    .overridden_by(r#"{"max_attempts":5}"#)
                    .unwrap(),
            ),
            at: position_after_one_row().await,
            totals: Totals {
                rows: 7,
                queued: 4,
                rejected: 2,
                duplicates: 1,
            },
            segment: 3,
            dry_run: true,
            plan: crate::plan::PlanTally {
                contacts: 3,
                callable_now: 2,
                deferred: 1,
                openings: [(1_796_738_400, 1)].into(),
                ..Default::default()
            },
        };
        let event = serde_json::to_value(ContinuationEvent {
            continuation: checkpoint.clone(),
        })
        .unwrap();
        assert_eq!(event["continuation"]["at"]["line"], 3);
        assert_eq!(event["continuation"]["at"]["offset"], 48);
        assert_eq!(event["continuation"]["segment"], 3);
        let back: ContinuationEvent = serde_json::from_value(event).unwrap();
        assert_eq!(back.continuation, checkpoint);
        assert_eq!(back.continuation.rules.unwrap().max_attempts, 5);

        // Without a version or an override, both are left out and read back as absent.
        let plain = Checkpoint {
            version_id: None,
            rules: None,
            ..checkpoint
        };
        let text = serde_json::to_string(&plain).unwrap();
        assert!(
            !text.contains("versionId") && !text.contains("rules"),
            "{text}"
        );
        assert_eq!(serde_json::from_str::<Checkpoint>(&text).unwrap(), plain);
    }

    #[test]
    fn a_segment_stops_at_the_margin_or_the_contact_cap_never_before_its_first_row() {
        let start = Instant::now();
        let deadline = start + Duration::from_secs(900);
        let rule = StopRule::new(Some(deadline), Duration::from_secs(60), 1_000);
        let at = |secs: u64| start + Duration::from_secs(secs);
        assert!(!rule.stop_now(at(0), 10, 10));
        assert!(!rule.stop_now(at(839), 10, 10), "before the margin");
        assert!(rule.stop_now(at(840), 10, 10), "the margin is reached");
        assert!(rule.stop_now(at(899), 10, 10));
        assert!(
            !rule.stop_now(at(899), 0, 0),
            "a segment reads one row at least"
        );
        assert!(rule.stop_now(at(1), 1_000, 1_000), "the contact cap");
        assert!(!rule.stop_now(at(1), 5_000, 999), "rejects do not count");

        // No deadline (a test, a direct call): only the cap stops it.
        let unlimited = StopRule::new(None, Duration::from_secs(60), u64::MAX);
        assert!(!unlimited.stop_now(at(100_000), 1 << 40, 1 << 40));
        // A margin longer than the time left stops after the first row.
        let late = StopRule::new(Some(at(10)), Duration::from_secs(60), u64::MAX);
        assert!(late.stop_now(at(0), 1, 0));
    }

    #[test]
    fn report_parts_keep_the_files_report_key() {
        let first = "rejects/campaign=spring/uploads_spring.csv.jsonl";
        assert_eq!(segment_report_key(first, 1), first);
        assert_eq!(
            segment_report_key(first, 2),
            "rejects/campaign=spring/uploads_spring.csv.part0002.jsonl"
        );
        assert_eq!(
            segment_report_key(first, 12345),
            "rejects/campaign=spring/uploads_spring.csv.part12345.jsonl"
        );
    }
}
