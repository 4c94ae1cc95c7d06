//! Sends contacts to the SQS queue with `SendMessageBatch`.
//!
//! - Batches hold at most 10 messages and at most 256 KiB of bodies (SQS refuses a larger batch).
//! - Several batches are in flight at once (a million-row file is 100,000 calls: one at a time
//!   they would not fit in a Lambda's 15 minutes), with a bounded number in flight so memory
//!   stays flat.
//! - Entries that fail on SQS's side are retried alone with backoff; entries SQS refuses for
//!   their content (`SenderFault`) and entries still failing after the last attempt come back
//!   as [`Failed`] with the reason, for the reject report: never silently dropped.
//! - A whole call that keeps failing (SQS unreachable, throttled past the retries, access denied)
//!   stops the sender: [`SendAbort`] says how many were sent and which were not, so the caller
//!   can fail the invocation (and, for Pinpoint, release its idempotency markers).

use super::{is_transient, sdk_error, RetryPolicy};
use crate::contact::{Contact, ContactSource};
use crate::error::FunctionError;
use crate::mask::mask_phone;
use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use futures::future::BoxFuture;
use futures::stream::{FuturesUnordered, StreamExt};

/// SQS's limit on entries per `SendMessageBatch`.
pub const MAX_BATCH_ENTRIES: usize = 10;
/// SQS's limit on the total size of a batch's bodies (256 KiB).
pub const MAX_BATCH_BYTES: usize = 262_144;
/// Batches in flight at once by default: enough to keep a million rows well under the Lambda
/// time limit, few enough not to trip SQS's per-queue throttling.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 16;

pub use super::origin::{Failed, Origin};

/// One message ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    pub body: String,
    pub origin: Origin,
}

impl Outgoing {
    /// The SQS body of `contact` (the contract's JSON message). `line` defaults to the CSV line.
    pub fn new(contact: &Contact, line: Option<u64>) -> Outgoing {
        let line = line.unwrap_or(match &contact.source {
            ContactSource::Csv { line, .. } => *line,
            ContactSource::Pinpoint { .. } => 0,
        });
        Outgoing {
            // A Contact is strings, numbers and a string map: serialising it cannot fail.
            body: serde_json::to_string(contact).expect("a contact always serialises"),
            origin: Origin {
                line,
                customer_key: contact.key.clone(),
                phone_masked: mask_phone(&contact.phone),
                contact_key: contact.contact_key.clone(),
            },
        }
    }
}

/// Groups messages into batches SQS accepts.
#[derive(Debug, Default)]
pub struct BatchBuilder {
    entries: Vec<Outgoing>,
    bytes: usize,
}

impl BatchBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a message; returns a complete batch when one is ready (10 entries, or the next
    /// message would push the batch over 256 KiB: it then starts the next batch).
    pub fn push(&mut self, m: Outgoing) -> Option<Vec<Outgoing>> {
        let size = m.body.len();
        let mut ready = None;
        if !self.entries.is_empty() && self.bytes + size > MAX_BATCH_BYTES {
            ready = self.take();
        }
        self.bytes += size;
        self.entries.push(m);
        if self.entries.len() == MAX_BATCH_ENTRIES {
            debug_assert!(ready.is_none());
            ready = self.take();
        }
        ready
    }

    /// The incomplete batch, if any (end of input).
    pub fn take(&mut self) -> Option<Vec<Outgoing>> {
        self.bytes = 0;
        if self.entries.is_empty() {
            None
        } else {
            Some(std::mem::replace(
                &mut self.entries,
                Vec::with_capacity(MAX_BATCH_ENTRIES),
            ))
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// The sender gave up: the queue cannot be reached (or refuses the function).
#[derive(Debug)]
pub struct SendAbort {
    pub error: FunctionError,
    /// Messages the queue accepted before the sender stopped.
    pub sent: u64,
    /// Messages refused for their content or after the retries (for the report).
    pub failed: Vec<Failed>,
    /// Messages pushed to the sender that are not in the queue.
    pub unsent: Vec<Origin>,
}

/// Outcome of a finished sender.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct SendSummary {
    pub sent: u64,
    pub failed: Vec<Failed>,
}

type BatchOutcome = Result<(u64, Vec<Failed>), (FunctionError, u64, Vec<Failed>, Vec<Outgoing>)>;

/// Sends contacts in batches, several batches at a time.
pub struct QueueSender {
    sqs: aws_sdk_sqs::Client,
    queue_url: String,
    policy: RetryPolicy,
    max_in_flight: usize,
    builder: BatchBuilder,
    in_flight: FuturesUnordered<BoxFuture<'static, BatchOutcome>>,
    sent: u64,
    failed: Vec<Failed>,
    abort: Option<FunctionError>,
    unsent: Vec<Origin>,
}

impl QueueSender {
    pub fn new(sqs: aws_sdk_sqs::Client, queue_url: impl Into<String>) -> Self {
        Self {
            sqs,
            queue_url: queue_url.into(),
            policy: RetryPolicy::DEFAULT,
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
            builder: BatchBuilder::new(),
            in_flight: FuturesUnordered::new(),
            sent: 0,
            failed: Vec::new(),
            abort: None,
            unsent: Vec::new(),
        }
    }

    pub fn with_policy(mut self, policy: RetryPolicy) -> Self {
        self.policy = policy;
        self
    }

    pub fn with_max_in_flight(mut self, n: usize) -> Self {
        self.max_in_flight = n.max(1);
        self
    }

    /// Messages accepted by the queue so far.
    pub fn sent(&self) -> u64 {
        self.sent
    }

    /// Queues a message. Fails once the queue is unreachable: the caller stops reading and calls
    /// [`QueueSender::finish`] to learn what was sent.
    pub async fn push(&mut self, m: Outgoing) -> Result<(), FunctionError> {
        if let Some(err) = &self.abort {
            self.unsent.push(m.origin);
            return Err(err.clone());
        }
        if let Some(batch) = self.builder.push(m) {
            self.dispatch(batch);
            while self.in_flight.len() >= self.max_in_flight {
                self.collect_one().await;
            }
        }
        match &self.abort {
            Some(err) => Err(err.clone()),
            None => Ok(()),
        }
    }

    /// Sends what is left and waits for every batch in flight.
    pub async fn finish(mut self) -> Result<SendSummary, SendAbort> {
        if let Some(batch) = self.builder.take() {
            if self.abort.is_some() {
                self.unsent.extend(batch.into_iter().map(|m| m.origin));
            } else {
                self.dispatch(batch);
            }
        }
        while !self.in_flight.is_empty() {
            self.collect_one().await;
        }
        match self.abort {
            Some(error) => Err(SendAbort {
                error,
                sent: self.sent,
                failed: self.failed,
                unsent: self.unsent,
            }),
            None => Ok(SendSummary {
                sent: self.sent,
                failed: self.failed,
            }),
        }
    }

    fn dispatch(&mut self, batch: Vec<Outgoing>) {
        let sqs = self.sqs.clone();
        let url = self.queue_url.clone();
        let policy = self.policy;
        self.in_flight.push(Box::pin(async move {
            send_batch(&sqs, &url, batch, policy).await
        }));
    }

    async fn collect_one(&mut self) {
        let Some(outcome) = self.in_flight.next().await else {
            return;
        };
        match outcome {
            Ok((sent, failed)) => {
                self.sent += sent;
                self.failed.extend(failed);
            }
            Err((error, sent, failed, unsent)) => {
                self.sent += sent;
                self.failed.extend(failed);
                self.unsent.extend(unsent.into_iter().map(|m| m.origin));
                if self.abort.is_none() {
                    tracing::error!(error = %error, "SendMessageBatch keeps failing: stopping");
                    self.abort = Some(error);
                }
            }
        }
    }
}

/// Sends one batch, retrying what failed on SQS's side.
pub async fn send_batch(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    batch: Vec<Outgoing>,
    policy: RetryPolicy,
) -> BatchOutcome {
    let mut pending = batch;
    let mut sent = 0u64;
    let mut failed = Vec::new();
    let attempts = policy.attempts.max(1);
    let mut attempt = 0;
    loop {
        attempt += 1;
        let entries: Vec<SendMessageBatchRequestEntry> = pending
            .iter()
            .enumerate()
            .map(|(i, m)| {
                SendMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .message_body(&m.body)
                    .build()
                    .expect("id and body are set")
            })
            .collect();
        match sqs
            .send_message_batch()
            .queue_url(queue_url)
            .set_entries(Some(entries))
            .send()
            .await
        {
            Ok(out) => {
                let mut slots: Vec<Option<Outgoing>> = pending.into_iter().map(Some).collect();
                for ok in out.successful() {
                    if let Some(slot) = slot_of(&mut slots, ok.id()) {
                        if slot.take().is_some() {
                            sent += 1;
                        }
                    }
                }
                let mut retry = Vec::new();
                let mut last_code = String::from("no answer for the entry");
                for f in out.failed() {
                    let Some(m) = slot_of(&mut slots, f.id()).and_then(Option::take) else {
                        continue;
                    };
                    let reason = format!(
                        "SQS refused the message: {}{}",
                        f.code(),
                        f.message().map(|t| format!(": {t}")).unwrap_or_default()
                    );
                    if f.sender_fault() {
                        failed.push(Failed {
                            origin: m.origin,
                            reason,
                        });
                    } else {
                        last_code = f.code().to_string();
                        retry.push(m);
                    }
                }
                // An entry SQS neither accepted nor refused is not known to be queued: retry it.
                retry.extend(slots.into_iter().flatten());
                if retry.is_empty() {
                    return Ok((sent, failed));
                }
                if attempt >= attempts {
                    failed.extend(retry.into_iter().map(|m| Failed {
                        origin: m.origin,
                        reason: format!("not queued after {attempts} attempts: {last_code}"),
                    }));
                    return Ok((sent, failed));
                }
                pending = retry;
            }
            Err(err) => {
                let error = sdk_error("SendMessageBatch", &err);
                if !is_transient(error.name) || attempt >= attempts {
                    return Err((error, sent, failed, pending));
                }
            }
        }
        policy.wait(attempt).await;
    }
}

fn slot_of<'a>(slots: &'a mut [Option<Outgoing>], id: &str) -> Option<&'a mut Option<Outgoing>> {
    id.parse::<usize>().ok().and_then(move |i| slots.get_mut(i))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorName;
    use crate::mocked;
    use aws_sdk_sqs::operation::send_message_batch::{
        SendMessageBatchError, SendMessageBatchOutput,
    };
    use aws_sdk_sqs::types::{BatchResultErrorEntry, SendMessageBatchResultEntry};
    use aws_smithy_mocks::mock;
    use std::collections::BTreeMap;
    use std::sync::{Arc, Mutex};

    fn contact(i: u64) -> Contact {
        Contact {
            campaign: "spring".into(),
            key: format!("C-{i}"),
            phone: format!("+4420794600{:02}", i % 100),
            contact_key: crate::testkit::contact_key(
                "spring",
                &format!("C-{i}"),
                &format!("+4420794600{:02}", i % 100),
            ),
            attempt: 1,
            attributes: BTreeMap::new(),
            source: ContactSource::Csv {
                object: "uploads/spring.csv".into(),
                line: i + 1,
            },
        }
    }

    fn ok_entry(id: &str) -> SendMessageBatchResultEntry {
        SendMessageBatchResultEntry::builder()
            .id(id)
            .message_id(format!("m-{id}"))
            .md5_of_message_body("x")
            .build()
            .unwrap()
    }

    fn err_entry(id: &str, code: &str, sender_fault: bool) -> BatchResultErrorEntry {
        BatchResultErrorEntry::builder()
            .id(id)
            .code(code)
            .sender_fault(sender_fault)
            .build()
            .unwrap()
    }

    /// Accepts every entry and records the bodies.
    fn accept_all(bodies: Arc<Mutex<Vec<String>>>) -> aws_smithy_mocks::Rule {
        mock!(aws_sdk_sqs::Client::send_message_batch).then_compute_output(move |req| {
            let mut out = SendMessageBatchOutput::builder().set_successful(Some(vec![]));
            for e in req.entries() {
                bodies.lock().unwrap().push(e.message_body().to_string());
                out = out.successful(ok_entry(e.id()));
            }
            out.set_failed(Some(vec![])).build().unwrap()
        })
    }

    #[test]
    fn batches_hold_ten_entries_at_most() {
        let mut b = BatchBuilder::new();
        let mut batches = Vec::new();
        for i in 0..25 {
            if let Some(batch) = b.push(Outgoing::new(&contact(i), None)) {
                batches.push(batch.len());
            }
        }
        batches.extend(b.take().map(|x| x.len()));
        assert_eq!(batches, vec![10, 10, 5]);
        assert!(b.take().is_none());
    }

    #[test]
    fn batches_stay_under_256_kib() {
        let mut b = BatchBuilder::new();
        let big = |i: u64| {
            let mut c = contact(i);
            c.attributes.insert("notes".into(), "x".repeat(30_000));
            Outgoing::new(&c, None)
        };
        let mut sizes = Vec::new();
        for i in 0..20 {
            if let Some(batch) = b.push(big(i)) {
                let bytes: usize = batch.iter().map(|m| m.body.len()).sum();
                assert!(bytes <= MAX_BATCH_BYTES, "{bytes}");
                sizes.push(batch.len());
            }
        }
        sizes.extend(b.take().map(|x| x.len()));
        assert_eq!(sizes.iter().sum::<usize>(), 20);
        assert!(sizes.iter().all(|n| *n == 8 || *n == 4), "{sizes:?}");
    }

    #[tokio::test]
    async fn every_contact_reaches_the_queue_in_the_contract_shape() {
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let rule = accept_all(bodies.clone());
        let sqs = mocked!(aws_sdk_sqs, [&rule]);
        let mut s = QueueSender::new(sqs, "https://sqs/q").with_policy(RetryPolicy::immediate(3));
        for i in 0..23 {
            s.push(Outgoing::new(&contact(i), None)).await.unwrap();
        }
        let summary = s.finish().await.unwrap();
        assert_eq!(summary.sent, 23);
        assert!(summary.failed.is_empty());
        assert_eq!(rule.num_calls(), 3);
        let bodies = bodies.lock().unwrap();
        let mut keys: Vec<String> = bodies
            .iter()
            .map(|b| serde_json::from_str::<Contact>(b).unwrap().key)
            .collect();
        keys.sort();
        let mut expected: Vec<String> = (0..23).map(|i| format!("C-{i}")).collect();
        expected.sort();
        assert_eq!(keys, expected);
    }

    #[tokio::test]
    async fn partial_failures_are_retried_alone() {
        let calls = Arc::new(Mutex::new(Vec::<usize>::new()));
        let seen = calls.clone();
        let rule = mock!(aws_sdk_sqs::Client::send_message_batch).then_compute_output(move |req| {
            let n = req.entries().len();
            let first = seen.lock().unwrap().is_empty();
            seen.lock().unwrap().push(n);
            let mut out = SendMessageBatchOutput::builder().set_successful(Some(vec![]));
            let mut failed = vec![];
            for (i, e) in req.entries().iter().enumerate() {
                // First call: entries 0 and 1 fail on SQS's side.
                if first && i < 2 {
                    failed.push(err_entry(e.id(), "InternalError", false));
                } else {
                    out = out.successful(ok_entry(e.id()));
                }
            }
            out.set_failed(Some(failed)).build().unwrap()
        });
        let sqs = mocked!(aws_sdk_sqs, [&rule]);
        let batch: Vec<Outgoing> = (0..10).map(|i| Outgoing::new(&contact(i), None)).collect();
        let (sent, failed) = send_batch(&sqs, "q", batch, RetryPolicy::immediate(3))
            .await
            .unwrap();
        assert_eq!(sent, 10);
        assert!(failed.is_empty());
        assert_eq!(*calls.lock().unwrap(), vec![10, 2]);
    }

    #[tokio::test]
    async fn refused_and_persistently_failing_messages_are_reported() {
        let rule = mock!(aws_sdk_sqs::Client::send_message_batch).then_compute_output(|req| {
            let mut out = SendMessageBatchOutput::builder().set_successful(Some(vec![]));
            let mut failed = vec![];
            for e in req.entries() {
                let body: Contact = serde_json::from_str(e.message_body()).unwrap();
                match body.key.as_str() {
                    "C-3" => failed.push(err_entry(e.id(), "InvalidMessageContents", true)),
                    "C-4" => failed.push(err_entry(e.id(), "InternalError", false)),
                    _ => out = out.successful(ok_entry(e.id())),
                }
            }
            out.set_failed(Some(failed)).build().unwrap()
        });
        let sqs = mocked!(aws_sdk_sqs, [&rule]);
        let batch: Vec<Outgoing> = (0..6).map(|i| Outgoing::new(&contact(i), None)).collect();
        let (sent, failed) = send_batch(&sqs, "q", batch, RetryPolicy::immediate(3))
            .await
            .unwrap();
        assert_eq!(sent, 4);
        assert_eq!(failed.len(), 2);
        let refused = failed
            .iter()
            .find(|f| f.origin.customer_key == "C-3")
            .unwrap();
        assert!(
            refused.reason.contains("InvalidMessageContents"),
            "{}",
            refused.reason
        );
        assert_eq!(refused.origin.line, 4);
        assert_eq!(refused.origin.phone_masked, "+44*******003");
        let retried = failed
            .iter()
            .find(|f| f.origin.customer_key == "C-4")
            .unwrap();
        assert_eq!(retried.reason, "not queued after 3 attempts: InternalError");
        // 1 first call + 2 retries of the one entry.
        assert_eq!(rule.num_calls(), 3);
    }

    #[tokio::test]
    async fn throttling_then_success_sends_everything() {
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let throttled = mock!(aws_sdk_sqs::Client::send_message_batch)
            .sequence()
            .error(|| {
                SendMessageBatchError::generic(
                    aws_smithy_types::error::ErrorMetadata::builder()
                        .code("ThrottlingException")
                        .build(),
                )
            })
            .times(2)
            .build();
        let ok = accept_all(bodies.clone());
        let sqs = mocked!(aws_sdk_sqs, [&throttled, &ok]);
        let mut s = QueueSender::new(sqs, "q")
            .with_policy(RetryPolicy::immediate(4))
            .with_max_in_flight(1);
        for i in 0..5 {
            s.push(Outgoing::new(&contact(i), None)).await.unwrap();
        }
        let summary = s.finish().await.unwrap();
        assert_eq!(summary.sent, 5);
        assert_eq!(bodies.lock().unwrap().len(), 5);
    }

    #[tokio::test]
    async fn unreachable_queue_aborts_with_the_unsent_messages() {
        let down = mock!(aws_sdk_sqs::Client::send_message_batch).then_error(|| {
            SendMessageBatchError::generic(
                aws_smithy_types::error::ErrorMetadata::builder()
                    .code("InternalFailure")
                    .build(),
            )
        });
        let sqs = mocked!(aws_sdk_sqs, [&down]);
        let mut s = QueueSender::new(sqs, "q")
            .with_policy(RetryPolicy::immediate(2))
            .with_max_in_flight(1);
        let mut refused = 0;
        for i in 0..15 {
            if s.push(Outgoing::new(&contact(i), None)).await.is_err() {
                refused += 1;
            }
        }
        let abort = s.finish().await.unwrap_err();
        assert_eq!(abort.sent, 0);
        // 10 in the failed batch, the rest refused by push or still in the builder.
        assert_eq!(abort.unsent.len(), 15);
        assert!(refused > 0);
        assert_eq!(down.num_calls(), 2);
        assert!(abort.error.message.contains("SendMessageBatch"));
        assert_ne!(abort.error.name, ErrorName::QueueEmpty);
    }

    #[tokio::test]
    async fn access_denied_is_not_retried() {
        let denied = mock!(aws_sdk_sqs::Client::send_message_batch).then_error(|| {
            SendMessageBatchError::generic(
                aws_smithy_types::error::ErrorMetadata::builder()
                    .code("AccessDenied")
                    .build(),
            )
        });
        let sqs = mocked!(aws_sdk_sqs, [&denied]);
        let batch: Vec<Outgoing> = (0..3).map(|i| Outgoing::new(&contact(i), None)).collect();
        let Err((error, sent, _, unsent)) =
            send_batch(&sqs, "q", batch, RetryPolicy::immediate(5)).await
        else {
            panic!("expected an abort");
        };
        assert_eq!(error.name, ErrorName::InvalidInput);
        assert_eq!((sent, unsent.len()), (0, 3));
        assert_eq!(denied.num_calls(), 1);
    }
}
