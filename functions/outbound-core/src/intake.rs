//! Shared intake plumbing for `load-list` (CSV) and `queue-contacts` (Pinpoint).
//!
//! - number validation to E.164 is [`crate::phone::normalise`] (lock-free after each region's
//!   first number);
//! - [`dedupe`]: the per-file duplicate filter (one `u64` per queued contact);
//! - [`admitter`]: conditional puts into the campaign ledger, the duplicate filter across files
//!   and retries;
//! - [`sender`]: `SendMessageBatch` in batches of 10 with partial failures retried (the feeder);
//! - [`report`]: the reject report (JSON Lines, streamed to S3 in parts);
//! - [`run`]: starting or joining the campaign run, and the `totalRecords` counter.
//!
//! Connect's rules for contact attributes are applied here too, so both sources give the dialer
//! attributes it can pass to `StartOutboundVoiceContact` as they are.

pub mod admitter;
pub mod dedupe;
pub mod origin;
pub mod report;
pub mod run;
pub mod sender;
pub mod suppressor;

use crate::error::{classify_sdk_error, ErrorName, FunctionError};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// Connect's limit on a contact's attributes: 32,768 UTF-8 bytes over all keys and values.
pub const CONNECT_ATTRIBUTES_LIMIT_BYTES: usize = 32_768;

/// Bytes kept free for the attributes the dialer adds itself when it places the call (campaign,
/// contact key, attempt…), so a contact accepted here is never refused by Connect later.
pub const DIALER_ATTRIBUTES_RESERVE_BYTES: usize = 1_024;

/// The limit intake enforces on a contact's own attributes (keys + values, UTF-8 bytes).
pub const INTAKE_ATTRIBUTES_LIMIT_BYTES: usize =
    CONNECT_ATTRIBUTES_LIMIT_BYTES - DIALER_ATTRIBUTES_RESERVE_BYTES;

/// Makes `raw` a valid Connect attribute key: letters, digits, `-` and `_` are kept; every other
/// character (a space, a dot, an accented letter, an emoji) becomes one `_`. An empty key
/// becomes `_`. `First Name` → `First_Name`, `e.mail` → `e_mail`.
pub fn sanitise_attribute_key(raw: &str) -> String {
    let key: String = raw
        .trim()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if key.is_empty() {
        "_".to_string()
    } else {
        key
    }
}

/// Returns `key`, or `key_2`, `key_3`… when an earlier attribute already took it (two columns
/// `First Name` and `First.Name` both sanitise to `First_Name`: both are kept).
pub fn unique_key(key: String, taken: &mut BTreeSet<String>) -> String {
    if taken.insert(key.clone()) {
        return key;
    }
    let mut n = 2u32;
    loop {
        let candidate = format!("{key}_{n}");
        if taken.insert(candidate.clone()) {
            return candidate;
        }
        n += 1;
    }
}

/// Size of a set of attributes as Connect counts it: UTF-8 bytes of every key and value.
pub fn attributes_size(attributes: &BTreeMap<String, String>) -> usize {
    attributes.iter().map(|(k, v)| k.len() + v.len()).sum()
}

/// The reject reason for attributes over [`INTAKE_ATTRIBUTES_LIMIT_BYTES`].
pub fn attributes_too_large(size: usize) -> String {
    format!(
        "attributes are {size} bytes, over the {INTAKE_ATTRIBUTES_LIMIT_BYTES}-byte limit \
         (Connect allows {CONNECT_ATTRIBUTES_LIMIT_BYTES} per contact, {DIALER_ATTRIBUTES_RESERVE_BYTES} are kept for the dialer)"
    )
}

/// Retries with exponential backoff and full jitter (a random delay between zero and the
/// exponential bound), so concurrent senders that were throttled together do not retry together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in total, the first included (at least 1).
    pub attempts: u32,
    /// Bound of the first retry's delay; doubles on every retry.
    pub base: Duration,
    /// Upper bound of any one delay.
    pub cap: Duration,
}

impl RetryPolicy {
    /// In-function retries for SQS, S3, SSM and Step Functions calls: 6 attempts, delays
    /// bounded by 100 ms, 200 ms … 3.2 s (about 6 s at worst in total).
    pub const DEFAULT: RetryPolicy = RetryPolicy {
        attempts: 6,
        base: Duration::from_millis(100),
        cap: Duration::from_secs(5),
    };

    /// No waiting between attempts (tests).
    pub const fn immediate(attempts: u32) -> RetryPolicy {
        RetryPolicy {
            attempts,
            base: Duration::ZERO,
            cap: Duration::ZERO,
        }
    }

    /// The delay before retry number `retry` (1 for the first retry).
    pub fn delay(&self, retry: u32) -> Duration {
        let exp = self
            .base
            .saturating_mul(
                1u32.checked_shl(retry.saturating_sub(1))
                    .unwrap_or(u32::MAX),
            )
            .min(self.cap);
        let nanos = exp.as_nanos().min(u64::MAX as u128) as u64;
        if nanos == 0 {
            return Duration::ZERO;
        }
        Duration::from_nanos(fastrand::u64(0..=nanos))
    }

    /// Waits before retry number `retry`.
    pub async fn wait(&self, retry: u32) {
        let d = self.delay(retry);
        if !d.is_zero() {
            tokio::time::sleep(d).await;
        }
    }

    /// Runs `attempt_once` until it succeeds, fails with an error that is not worth another
    /// attempt ([`is_transient`]), or has been tried [`RetryPolicy::attempts`] times, waiting
    /// [`RetryPolicy::wait`] between attempts; returns the last result.
    ///
    /// What counts as success is the closure's to say: an expected service answer (a failed
    /// write condition, an execution that already exists) is an `Ok` value, not an error.
    pub async fn retry<T, F, Fut>(&self, mut attempt_once: F) -> Result<T, FunctionError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, FunctionError>>,
    {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match attempt_once().await {
                Err(e) if is_transient(e.name) && attempt < self.attempts => {
                    self.wait(attempt).await
                }
                done => return done,
            }
        }
    }
}

/// Maps an SDK error to a named [`FunctionError`] with the operation and the service's error
/// code (never the request, which may hold personal data).
///
/// [`classify_sdk_error`] names it: an answer with an HTTP 5xx status, or one of the services'
/// "internal error" codes, is `Retryable` whatever its code says, so a service fault is never
/// taken for a bad request.
pub fn sdk_error<E>(
    operation: &str,
    err: &aws_smithy_runtime_api::client::result::SdkError<
        E,
        aws_smithy_runtime_api::client::orchestrator::HttpResponse,
    >,
) -> FunctionError
where
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata,
{
    use aws_smithy_types::error::metadata::ProvideErrorMetadata;
    let code = err.code().unwrap_or("no error code");
    let name = classify_sdk_error(err);
    let detail = match err.message() {
        Some(m) => format!(
            "{operation}: {code}: {}",
            m.chars().take(200).collect::<String>()
        ),
        None => format!("{operation}: {code}"),
    };
    FunctionError::new(name, detail)
}

/// Whether an error is worth another attempt in-function.
pub fn is_transient(name: ErrorName) -> bool {
    matches!(name, ErrorName::Retryable | ErrorName::Throttled)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_follow_connect_rules() {
        assert_eq!(sanitise_attribute_key("firstName"), "firstName");
        assert_eq!(sanitise_attribute_key("First Name"), "First_Name");
        assert_eq!(sanitise_attribute_key("e.mail"), "e_mail");
        assert_eq!(sanitise_attribute_key("prénom"), "pr_nom");
        assert_eq!(sanitise_attribute_key("a-b_c9"), "a-b_c9");
        assert_eq!(sanitise_attribute_key("  "), "_");
    }

    #[test]
    fn colliding_keys_are_numbered() {
        let mut taken = BTreeSet::new();
        assert_eq!(unique_key("a_b".into(), &mut taken), "a_b");
        assert_eq!(unique_key("a_b".into(), &mut taken), "a_b_2");
        assert_eq!(unique_key("a_b".into(), &mut taken), "a_b_3");
        assert_eq!(unique_key("c".into(), &mut taken), "c");
    }

    #[test]
    fn size_counts_keys_and_values_in_bytes() {
        let mut a = BTreeMap::new();
        a.insert("ab".to_string(), "é".to_string());
        assert_eq!(attributes_size(&a), 4);
        assert!(attributes_too_large(40_000).contains("40000 bytes"));
    }

    /// Runs `policy.retry` over a scripted sequence of results; returns the outcome and the
    /// number of attempts made.
    fn retried(
        policy: RetryPolicy,
        script: Vec<Result<u32, FunctionError>>,
    ) -> (Result<u32, FunctionError>, usize) {
        let attempts = std::cell::Cell::new(0usize);
        let script = std::cell::RefCell::new(script.into_iter());
        let outcome = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap()
            .block_on(policy.retry(|| {
                attempts.set(attempts.get() + 1);
                let next = script.borrow_mut().next().expect("script long enough");
                async move { next }
            }));
        (outcome, attempts.get())
    }

    #[test]
    fn retry_stops_at_success_at_a_lasting_error_or_after_the_last_attempt() {
        let policy = RetryPolicy::immediate(3);
        // Success after two transient failures: three attempts, the success returned.
        let (out, n) = retried(
            policy,
            vec![
                Err(FunctionError::throttled("slow down")),
                Err(FunctionError::retryable("500")),
                Ok(7),
            ],
        );
        assert_eq!((out.unwrap(), n), (7, 3));
        // A lasting error is returned at once.
        let (out, n) = retried(
            policy,
            vec![Err(FunctionError::config("no such queue")), Ok(1)],
        );
        assert_eq!((out.unwrap_err().name, n), (ErrorName::ConfigError, 1));
        // Transient errors all the way: `attempts` tries, the last error returned.
        let (out, n) = retried(
            policy,
            vec![
                Err(FunctionError::retryable("a")),
                Err(FunctionError::retryable("b")),
                Err(FunctionError::throttled("c")),
                Ok(1),
            ],
        );
        let err = out.unwrap_err();
        assert_eq!(
            (err.name, err.message.as_str(), n),
            (ErrorName::Throttled, "c", 3)
        );
        // One attempt allowed: no retry.
        let (out, n) = retried(
            RetryPolicy::immediate(1),
            vec![Err(FunctionError::retryable("a")), Ok(1)],
        );
        assert!(out.is_err());
        assert_eq!(n, 1);
    }

    #[test]
    fn backoff_is_bounded_and_grows() {
        let p = RetryPolicy {
            attempts: 6,
            base: Duration::from_millis(100),
            cap: Duration::from_millis(500),
        };
        for retry in 1..10 {
            let bound = Duration::from_millis(100 * (1u64 << (retry - 1).min(20))).min(p.cap);
            for _ in 0..50 {
                assert!(p.delay(retry) <= bound, "retry {retry}");
            }
        }
        // Full jitter: not always the bound.
        let samples: BTreeSet<Duration> = (0..50).map(|_| p.delay(3)).collect();
        assert!(samples.len() > 1);
        assert_eq!(RetryPolicy::immediate(3).delay(5), Duration::ZERO);
        // Huge retry numbers neither overflow nor panic.
        assert!(p.delay(u32::MAX) <= p.cap);
    }
}
