//! The calls-per-second limit shared by every lane (SSM `callspersecond`).
//!
//! Lanes run in separate Lambda invocations, so the count lives in the ActiveDialing table:
//! one item per fixed window, `RATE#<window start, epoch seconds>`, a count that never passes the
//! limit ([`crate::bounded_count`]). A full window makes the caller
//! wait for the next one; nothing is dropped. Items expire after an hour (TTL).
//!
//! A fractional rate (`0.5` calls/s) uses a longer window: the smallest whole number of seconds
//! in which at least one call fits, with `floor(rate × window)` calls in it. The limit is never
//! exceeded, at the cost of rounding down (`1.5`/s allows 1 call per second).

use outbound_core::error::FunctionError;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How long window items stay in the table.
const WINDOW_TTL_SECONDS: u64 = 3600;

/// A limit as "at most `calls` per `window_seconds`-second window".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub window_seconds: u64,
    pub calls: u64,
}

impl RateLimit {
    /// From the `callspersecond` parameter value (a number > 0).
    pub fn parse(raw: &str) -> Result<Self, FunctionError> {
        let rate: f64 = raw.trim().parse().map_err(|_| {
            FunctionError::config(format!("callspersecond '{}' is not a number", raw.trim()))
        })?;
        Self::from_rate(rate)
    }

    pub fn from_rate(rate: f64) -> Result<Self, FunctionError> {
        // Bounds keep the arithmetic exact; 1000/s is far above any Connect quota.
        if !(0.001..=1000.0).contains(&rate) {
            return Err(FunctionError::config(format!(
                "callspersecond {rate} is out of range (0.001..=1000)"
            )));
        }
        let window_seconds = (1.0 / rate).ceil().max(1.0) as u64;
        // A small epsilon keeps 0.1 × 10 from rounding down to 0.
        let calls = ((rate * window_seconds as f64) + 1e-9).floor().max(1.0) as u64;
        Ok(Self {
            window_seconds,
            calls,
        })
    }

    /// The start of the window holding `epoch_seconds`.
    pub fn window_start(&self, epoch_seconds: u64) -> u64 {
        epoch_seconds - epoch_seconds % self.window_seconds
    }
}

/// The table item key of a window.
pub fn window_key(window_start: u64) -> String {
    format!("RATE#{window_start}")
}

/// What [`acquire`] got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    pub window_start: u64,
    /// The window's count after this call took its slot.
    pub count: u64,
    pub waited: Duration,
}

/// Takes one slot in the current window, waiting for later windows while they are full, for at
/// most `max_wait`. Past that it answers `Throttled`, and the caller puts its contact back.
pub async fn acquire(
    dynamodb: &aws_sdk_dynamodb::Client,
    table_name: &str,
    limit: RateLimit,
    max_wait: Duration,
) -> Result<Slot, FunctionError> {
    let started = SystemTime::now();
    loop {
        let now = SystemTime::now();
        let epoch = now
            .duration_since(UNIX_EPOCH)
            .map_err(|_| FunctionError::retryable("clock before 1970"))?;
        let window = limit.window_start(epoch.as_secs());
        match try_take(dynamodb, table_name, limit, window).await? {
            Some(count) => {
                return Ok(Slot {
                    window_start: window,
                    count,
                    waited: now.duration_since(started).unwrap_or_default(),
                })
            }
            None => {
                let next = Duration::from_secs(window + limit.window_seconds);
                // A few milliseconds of spread (from the clock's own sub-second digits) so that
                // lanes waiting for the same window do not all write in the same instant.
                let spread = Duration::from_millis(u64::from(epoch.subsec_nanos() % 25));
                let sleep = next.saturating_sub(epoch) + spread;
                let waited = now.duration_since(started).unwrap_or_default();
                if waited + sleep > max_wait {
                    return Err(FunctionError::throttled(format!(
                        "calls-per-second limit: no free slot within {} ms",
                        max_wait.as_millis()
                    )));
                }
                tokio::time::sleep(sleep).await;
            }
        }
    }
}

/// One conditional increment of the window's count ([`crate::bounded_count`]). `Some(count)`
/// when the slot was taken, `None` when the window is full.
async fn try_take(
    dynamodb: &aws_sdk_dynamodb::Client,
    table_name: &str,
    limit: RateLimit,
    window: u64,
) -> Result<Option<u64>, FunctionError> {
    crate::bounded_count::take_one(
        dynamodb,
        table_name,
        window_key(window),
        limit.calls,
        window + WINDOW_TTL_SECONDS,
        "rate limiter",
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::operation::update_item::{UpdateItemError, UpdateItemOutput};
    use aws_sdk_dynamodb::types::error::ConditionalCheckFailedException;
    use aws_sdk_dynamodb::types::AttributeValue;
    use aws_smithy_mocks::{mock, mock_client, MockResponse, RuleMode};
    use outbound_core::error::ErrorName;
    use std::sync::{Arc, Mutex};

    #[test]
    fn windows_from_rates() {
        assert_eq!(
            RateLimit::parse("2").unwrap(),
            RateLimit {
                window_seconds: 1,
                calls: 2
            }
        );
        assert_eq!(
            RateLimit::parse(" 5 ").unwrap(),
            RateLimit {
                window_seconds: 1,
                calls: 5
            }
        );
        assert_eq!(
            RateLimit::parse("1.5").unwrap(),
            RateLimit {
                window_seconds: 1,
                calls: 1
            }
        );
        assert_eq!(
            RateLimit::parse("0.5").unwrap(),
            RateLimit {
                window_seconds: 2,
                calls: 1
            }
        );
        assert_eq!(
            RateLimit::parse("0.1").unwrap(),
            RateLimit {
                window_seconds: 10,
                calls: 1
            }
        );
        assert_eq!(
            RateLimit::parse("0.3").unwrap(),
            RateLimit {
                window_seconds: 4,
                calls: 1
            }
        );
        for bad in ["0", "-1", "abc", "", "NaN", "inf", "5000"] {
            assert_eq!(
                RateLimit::parse(bad).unwrap_err().name,
                ErrorName::ConfigError,
                "{bad}"
            );
        }
    }

    #[test]
    fn window_starts_align() {
        let l = RateLimit {
            window_seconds: 4,
            calls: 1,
        };
        assert_eq!(l.window_start(1_700_000_003), 1_700_000_000);
        assert_eq!(l.window_start(1_700_000_004), 1_700_000_004);
        assert_eq!(window_key(1_700_000_004), "RATE#1700000004");
    }

    proptest::proptest! {
        #[test]
        fn never_more_than_the_rate(rate in 0.001f64..1000.0) {
            let l = RateLimit::from_rate(rate).unwrap();
            proptest::prop_assert!(l.calls >= 1);
            // calls / window <= rate, except that one call is always allowed per window.
            proptest::prop_assert!(l.calls as f64 <= rate * l.window_seconds as f64 + 1e-6);
            // The window is the shortest in which a call fits.
            if l.window_seconds > 1 {
                proptest::prop_assert!(rate * ((l.window_seconds - 1) as f64) < 1.0);
            }
        }
    }

    #[tokio::test]
    async fn a_full_window_waits_for_the_next() {
        let keys = Arc::new(Mutex::new(Vec::<String>::new()));
        let seen = keys.clone();
        let full = mock!(aws_sdk_dynamodb::Client::update_item).then_compute_response(move |r| {
            let mut seen = seen.lock().unwrap();
            seen.push(r.key().unwrap()["pk"].as_s().unwrap().clone());
            if seen.len() == 1 {
                MockResponse::Error(UpdateItemError::ConditionalCheckFailedException(
                    ConditionalCheckFailedException::builder()
                        .message("full")
                        .build(),
                ))
            } else {
                MockResponse::Output(
                    UpdateItemOutput::builder()
                        .attributes("n", AttributeValue::N("1".into()))
                        .build(),
                )
            }
        });
        let ddb = mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&full]);
        let limit = RateLimit {
            window_seconds: 1,
            calls: 2,
        };
        let slot = acquire(&ddb, "t", limit, Duration::from_secs(3))
            .await
            .unwrap();
        let keys = keys.lock().unwrap().clone();
        assert_eq!(keys.len(), 2);
        let first: u64 = keys[0].trim_start_matches("RATE#").parse().unwrap();
        let second: u64 = keys[1].trim_start_matches("RATE#").parse().unwrap();
        assert!(second > first, "the retry goes to a later window: {keys:?}");
        assert_eq!(slot.window_start, second);
        assert_eq!(slot.count, 1);
    }

    #[tokio::test]
    async fn never_waits_past_the_limit() {
        let full = mock!(aws_sdk_dynamodb::Client::update_item).then_error(|| {
            UpdateItemError::ConditionalCheckFailedException(
                ConditionalCheckFailedException::builder().build(),
            )
        });
        let ddb = mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&full]);
        let limit = RateLimit {
            window_seconds: 10,
            calls: 1,
        };
        let err = acquire(&ddb, "t", limit, Duration::from_millis(50))
            .await
            .unwrap_err();
        assert_eq!(err.name, ErrorName::Throttled);
    }

    #[tokio::test]
    async fn table_errors_keep_their_class() {
        let busy = mock!(aws_sdk_dynamodb::Client::update_item).then_error(|| {
            UpdateItemError::ProvisionedThroughputExceededException(
                aws_sdk_dynamodb::types::error::ProvisionedThroughputExceededException::builder()
                    .meta(
                        aws_smithy_types::error::ErrorMetadata::builder()
                            .code("ProvisionedThroughputExceededException")
                            .build(),
                    )
                    .build(),
            )
        });
        let ddb = mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&busy], |c| c
            .retry_config(aws_smithy_types::retry::RetryConfig::disabled()));
        let limit = RateLimit {
            window_seconds: 1,
            calls: 1,
        };
        let err = acquire(&ddb, "t", limit, Duration::from_secs(1))
            .await
            .unwrap_err();
        assert_eq!(err.name, ErrorName::Throttled);
    }
}
