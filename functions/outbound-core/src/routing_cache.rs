//! In-memory cache of the routing file, revalidated against S3 after a TTL.
//!
//! - Within the TTL a lookup does no I/O at all: it clones an `Arc` under an uncontended lock.
//! - After the TTL the next lookup makes one conditional GET (`If-None-Match` with the cached
//!   ETag). A 304 keeps the parsed table and downloads nothing; a 200 downloads and parses the new
//!   version once.
//! - Nothing here fails a call. The cache reports a [`CacheStatus`] and, when no table is usable,
//!   the [`FallbackReason`] the caller puts in `routing_status` before using the queue's number:
//!   - `ok`: the current file is in use;
//!   - `stale`: S3 could not be reached on revalidation, the last good copy is still in use
//!     (transient errors must not take the caller ID away from every call);
//!   - `missing` (404), `access_denied` (403): S3 gave a definite answer, the cached copy is
//!     dropped — deleting the file is how an operator turns routing off. With only
//!     `s3:GetObject` on the object (what the module grants), S3 answers a deleted object with
//!     403, so `access_denied` usually means "missing" too;
//!   - `malformed`: the current version is not a usable routing file;
//!   - `unreachable`: S3 could not be reached and nothing usable is cached.
//! - Each problem is logged once per file version (ETag) or error kind, not on every call: the
//!   cache remembers what it logged last and only logs a change.
//! - Errors are retried at the same TTL: retrying sooner would put an S3 timeout into the handler
//!   time of many calls while S3 is down.
//!
//! The one S3 call sits behind the [`RoutingSource`] trait so the cache is unit tested without a
//! network; [`S3RoutingSource`] is the real implementation over `aws_sdk_s3::Client`.

use crate::routing::{route_with, Decision, FallbackReason, Routing, RoutingError};
use aws_sdk_s3::operation::get_object::GetObjectError;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_runtime_api::http::Response as HttpResponse;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;
use tokio::time::Instant;

/// Environment variable holding the TTL in seconds.
pub const TTL_ENV: &str = "ROUTING_CACHE_TTL_SECONDS";

/// TTL when [`TTL_ENV`] is unset.
pub const DEFAULT_TTL: Duration = Duration::from_secs(60);

/// A routing file larger than this is refused as malformed: 5,000 prefixes take about 150 KB,
/// and an unbounded body would be read into a 128 MB function.
pub const MAX_ROUTING_BYTES: u64 = 4 * 1024 * 1024;

/// Longest TTL accepted (a day), as the Terraform modules validate it.
pub const MAX_TTL_SECONDS: u64 = 86_400;

/// The routing file a function reads: `BUCKET_NAME` and `COUNTRY_ROUTING_LIST_KEY`, and
/// [`TTL_ENV`] (unset: [`DEFAULT_TTL`]; `0`: revalidate on every call, for tests and demos).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoutingFileEnv {
    pub bucket: String,
    pub key: String,
    pub ttl: Duration,
}

impl RoutingFileEnv {
    /// `None` when neither the bucket nor the key is set (no routing file: the queue's number);
    /// one without the other is a problem naming the missing one.
    pub fn read(env: &mut crate::env::EnvReader) -> Option<RoutingFileEnv> {
        let location = env.pair(
            ("BUCKET_NAME", "the bucket holding the routing file"),
            ("COUNTRY_ROUTING_LIST_KEY", "the routing file's object key"),
        );
        let ttl = env.number(
            TTL_ENV,
            DEFAULT_TTL.as_secs(),
            0..=MAX_TTL_SECONDS,
            "whole seconds from 0 to 86400",
        );
        location.map(|(bucket, key)| RoutingFileEnv {
            bucket,
            key,
            ttl: Duration::from_secs(ttl),
        })
    }
}

/// What one fetch of the routing object returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fetched {
    /// 304: the version we hold is current. No body was transferred.
    NotModified,
    /// 200: a (new) version.
    Body {
        bytes: Vec<u8>,
        etag: Option<String>,
    },
}

/// Why a fetch returned no version.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    #[error("routing object not found ({code})")]
    NotFound { code: String },
    #[error(
        "access denied to the routing object ({code}): the object is missing, or the role lacks s3:GetObject or kms:Decrypt"
    )]
    AccessDenied { code: String },
    #[error("routing object is {size} bytes, more than the {limit} bytes accepted")]
    TooLarge { size: u64, limit: u64 },
    #[error("S3 unreachable: {0}")]
    Unreachable(String),
}

/// The one S3 call the cache makes.
pub trait RoutingSource: Send + Sync {
    /// Fetches the routing object; with `if_none_match`, a conditional GET.
    fn fetch(
        &self,
        if_none_match: Option<&str>,
    ) -> impl Future<Output = Result<Fetched, FetchError>> + Send;
}

/// The routing object in S3.
#[derive(Debug, Clone)]
pub struct S3RoutingSource {
    client: aws_sdk_s3::Client,
    bucket: String,
    key: String,
}

impl S3RoutingSource {
    /// The client should carry timeouts short enough for a Connect flow (8 s at most for the
    /// whole Lambda): the caller-id binary sets them.
    pub fn new(
        client: aws_sdk_s3::Client,
        bucket: impl Into<String>,
        key: impl Into<String>,
    ) -> Self {
        Self {
            client,
            bucket: bucket.into(),
            key: key.into(),
        }
    }
}

impl RoutingSource for S3RoutingSource {
    async fn fetch(&self, if_none_match: Option<&str>) -> Result<Fetched, FetchError> {
        let result = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(&self.key)
            .set_if_none_match(if_none_match.map(str::to_string))
            .send()
            .await;
        let output = match result {
            Ok(output) => output,
            Err(err) => return classify_get_error(&err),
        };
        let size = output.content_length().unwrap_or(0).max(0) as u64;
        if size > MAX_ROUTING_BYTES {
            return Err(FetchError::TooLarge {
                size,
                limit: MAX_ROUTING_BYTES,
            });
        }
        let etag = output.e_tag().map(str::to_string);
        let bytes = output
            .body
            .collect()
            .await
            .map_err(|e| FetchError::Unreachable(format!("reading the body: {e}")))?
            .into_bytes()
            .to_vec();
        Ok(Fetched::Body { bytes, etag })
    }
}

/// The SDK reports a 304 as a service error: recognise it by the raw status, and sort the other
/// failures into definite answers (404, 403) and transient ones.
fn classify_get_error(err: &SdkError<GetObjectError, HttpResponse>) -> Result<Fetched, FetchError> {
    if let SdkError::ServiceError(service) = err {
        let status = service.raw().status().as_u16();
        let code = service.err().code().unwrap_or("").to_string();
        if status == 304 {
            return Ok(Fetched::NotModified);
        }
        if status == 404
            || matches!(service.err(), GetObjectError::NoSuchKey(_))
            || code == "NoSuchBucket"
        {
            return Err(FetchError::NotFound {
                code: if code.is_empty() {
                    "404".to_string()
                } else {
                    code
                },
            });
        }
        if status == 403 {
            return Err(FetchError::AccessDenied {
                code: if code.is_empty() {
                    "403".to_string()
                } else {
                    code
                },
            });
        }
        let code = if code.is_empty() {
            format!("HTTP {status}")
        } else {
            code
        };
        return Err(FetchError::Unreachable(code));
    }
    Err(FetchError::Unreachable(sdk_error_kind(err)))
}

fn sdk_error_kind<E, R>(err: &SdkError<E, R>) -> String {
    match err {
        SdkError::TimeoutError(_) => "timeout".to_string(),
        SdkError::DispatchFailure(d) if d.is_io() => "connection failed".to_string(),
        SdkError::DispatchFailure(d) if d.is_timeout() => "connection timeout".to_string(),
        SdkError::DispatchFailure(_) => "dispatch failure".to_string(),
        SdkError::ResponseError(_) => "unreadable response".to_string(),
        SdkError::ConstructionFailure(_) => "request construction failed".to_string(),
        _ => "unknown SDK error".to_string(),
    }
}

/// The state of the cache as the caller sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CacheStatus {
    Ok,
    Stale,
    Missing,
    Malformed,
    AccessDenied,
    Unreachable,
}

impl CacheStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CacheStatus::Ok => "ok",
            CacheStatus::Stale => "stale",
            CacheStatus::Missing => "missing",
            CacheStatus::Malformed => "malformed",
            CacheStatus::AccessDenied => "access_denied",
            CacheStatus::Unreachable => "unreachable",
        }
    }

    /// The fallback reason when this status leaves no usable table.
    fn fallback(self) -> FallbackReason {
        match self {
            CacheStatus::Missing => FallbackReason::Missing,
            CacheStatus::Malformed => FallbackReason::Malformed,
            CacheStatus::AccessDenied => FallbackReason::AccessDenied,
            CacheStatus::Ok | CacheStatus::Stale | CacheStatus::Unreachable => {
                FallbackReason::Unreachable
            }
        }
    }
}

/// A snapshot of the cache: cheap to clone, holds the table for the duration of a call even if
/// the cache moves on.
#[derive(Debug, Clone)]
pub struct RoutingView {
    pub status: CacheStatus,
    /// The table in use: `Some` for `ok` and `stale`.
    pub routing: Option<Arc<Routing>>,
    /// ETag of the version in use (or of the malformed version).
    pub etag: Option<String>,
}

impl RoutingView {
    /// Decides the caller ID for `customer_number`; when no table is usable the decision falls
    /// back with the reason the cache knows (`missing`, `malformed`, …).
    pub fn route(&self, customer_number: &str) -> Decision<'_> {
        let table = self.routing.as_deref().ok_or(self.status.fallback());
        route_with(table, customer_number)
    }
}

/// Counters, for tests and for the numbers a person asks for when debugging.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Calls to [`RoutingSource::fetch`].
    pub fetches: u64,
    /// Fetches that returned a body (and were parsed).
    pub downloads: u64,
    /// Fetches answered 304.
    pub not_modified: u64,
    /// Fetches that failed.
    pub errors: u64,
}

#[derive(Debug)]
struct Version {
    etag: Option<String>,
    parsed: Result<Arc<Routing>, RoutingError>,
}

#[derive(Debug)]
enum LastFetch {
    Current,
    Missing,
    AccessDenied,
    Unreachable,
}

#[derive(Debug)]
struct Inner {
    checked_at: Option<Instant>,
    version: Option<Version>,
    last: LastFetch,
    /// What was logged last: a problem is logged again only when this changes.
    logged: String,
    stats: CacheStats,
}

impl Inner {
    fn view(&self) -> RoutingView {
        let etag = self.version.as_ref().and_then(|v| v.etag.clone());
        let usable = self
            .version
            .as_ref()
            .and_then(|v| v.parsed.as_ref().ok().cloned());
        let status = match (&self.last, &self.version, &usable) {
            (LastFetch::Current, Some(_), Some(_)) => CacheStatus::Ok,
            (LastFetch::Current, Some(_), None) => CacheStatus::Malformed,
            (LastFetch::Current, None, _) => CacheStatus::Unreachable,
            (LastFetch::Missing, _, _) => CacheStatus::Missing,
            (LastFetch::AccessDenied, _, _) => CacheStatus::AccessDenied,
            (LastFetch::Unreachable, _, Some(_)) => CacheStatus::Stale,
            (LastFetch::Unreachable, _, None) => CacheStatus::Unreachable,
        };
        RoutingView {
            status,
            routing: usable,
            etag,
        }
    }

    /// Logs `emit` unless the same `key` was the last thing logged.
    fn log_once(&mut self, key: String, emit: impl FnOnce()) {
        if self.logged != key {
            emit();
            self.logged = key;
        }
    }
}

/// The cache. One per process, shared by every invocation.
#[derive(Debug)]
pub struct RoutingCache<S> {
    source: S,
    ttl: Duration,
    inner: Mutex<Inner>,
}

impl<S: RoutingSource> RoutingCache<S> {
    pub fn new(source: S, ttl: Duration) -> Self {
        Self {
            source,
            ttl,
            inner: Mutex::new(Inner {
                checked_at: None,
                version: None,
                last: LastFetch::Current,
                logged: String::new(),
                stats: CacheStats::default(),
            }),
        }
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    pub fn source(&self) -> &S {
        &self.source
    }

    /// The routing to use now: from memory within the TTL, else after one (conditional) fetch.
    /// Never fails; see [`CacheStatus`].
    pub async fn current(&self) -> RoutingView {
        // One lock for check and refresh: concurrent callers after the TTL wait for the one
        // fetch instead of each making their own.
        let mut inner = self.inner.lock().await;
        let fresh = inner.checked_at.is_some_and(|at| at.elapsed() < self.ttl);
        if !fresh {
            self.refresh(&mut inner).await;
        }
        inner.view()
    }

    /// Counters since the cache was created.
    pub async fn stats(&self) -> CacheStats {
        self.inner.lock().await.stats
    }

    async fn refresh(&self, inner: &mut Inner) {
        let etag = inner.version.as_ref().and_then(|v| v.etag.clone());
        inner.stats.fetches += 1;
        let fetched = self.source.fetch(etag.as_deref()).await;
        inner.checked_at = Some(Instant::now());
        match fetched {
            Ok(Fetched::NotModified) if inner.version.is_some() => {
                inner.stats.not_modified += 1;
                let recovered = !matches!(inner.last, LastFetch::Current);
                inner.last = LastFetch::Current;
                if recovered {
                    let tag = etag.unwrap_or_default();
                    inner.log_once(format!("ok:{tag}"), || {
                        tracing::info!(routing_cache = "ok", etag = %tag, "routing file reachable again")
                    });
                }
            }
            Ok(Fetched::NotModified) => {
                // Only possible if the source answers 304 to an unconditional GET.
                inner.stats.errors += 1;
                inner.last = LastFetch::Unreachable;
                inner.log_once("unreachable:unexpected-304".into(), || {
                    tracing::warn!(
                        routing_cache = "unreachable",
                        "routing file: 304 without a cached version; using the queue's number"
                    )
                });
            }
            Ok(Fetched::Body { bytes, etag }) => {
                inner.stats.downloads += 1;
                let parsed = Routing::parse(&bytes).map(Arc::new);
                let tag = etag.clone().unwrap_or_default();
                match &parsed {
                    Ok(routing) => {
                        let issues = routing.issues().len();
                        inner.log_once(format!("ok:{tag}"), || {
                            tracing::info!(
                                routing_cache = "ok",
                                etag = %tag,
                                entries = routing.len(),
                                dropped = issues,
                                has_default = routing.has_default(),
                                "routing file loaded"
                            );
                            for issue in routing.issues() {
                                tracing::warn!(
                                    routing_cache = "ok",
                                    etag = %tag,
                                    issue = %issue,
                                    "routing file entry ignored"
                                );
                            }
                        });
                    }
                    Err(error) => {
                        inner.log_once(format!("malformed:{tag}"), || {
                            tracing::error!(
                                routing_cache = "malformed",
                                etag = %tag,
                                error = %error,
                                "routing file refused; using the queue's number until it is fixed"
                            )
                        });
                    }
                }
                inner.version = Some(Version { etag, parsed });
                inner.last = LastFetch::Current;
            }
            Err(error) => {
                inner.stats.errors += 1;
                let (last, key) = match &error {
                    FetchError::NotFound { code } => {
                        (LastFetch::Missing, format!("missing:{code}"))
                    }
                    FetchError::AccessDenied { code } => {
                        (LastFetch::AccessDenied, format!("access_denied:{code}"))
                    }
                    FetchError::TooLarge { size, .. } => {
                        // A definite answer about this object, like a malformed body.
                        inner.version = Some(Version {
                            etag: None,
                            parsed: Err(RoutingError::NotAnObject(format!(
                                "{size} bytes is over the {MAX_ROUTING_BYTES}-byte limit"
                            ))),
                        });
                        (LastFetch::Current, format!("malformed:too-large:{size}"))
                    }
                    FetchError::Unreachable(kind) => {
                        (LastFetch::Unreachable, format!("unreachable:{kind}"))
                    }
                };
                if matches!(last, LastFetch::Missing | LastFetch::AccessDenied) {
                    inner.version = None;
                }
                inner.last = last;
                let status = inner.view().status;
                let stale = status == CacheStatus::Stale;
                inner.log_once(key, || {
                    tracing::warn!(
                        routing_cache = status.as_str(),
                        error = %error,
                        "routing file unavailable; {}",
                        if stale {
                            "still using the last good copy"
                        } else {
                            "using the queue's number"
                        }
                    )
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::VecDeque;
    use std::sync::Mutex as StdMutex;

    /// A scripted source: answers from a queue and records the `If-None-Match` it was given.
    #[derive(Default)]
    struct Script {
        answers: StdMutex<VecDeque<Result<Fetched, FetchError>>>,
        seen: StdMutex<Vec<Option<String>>>,
    }

    impl Script {
        fn new(answers: Vec<Result<Fetched, FetchError>>) -> Self {
            Self {
                answers: StdMutex::new(answers.into()),
                seen: StdMutex::default(),
            }
        }
        fn seen(&self) -> Vec<Option<String>> {
            self.seen.lock().unwrap().clone()
        }
    }

    impl RoutingSource for Script {
        async fn fetch(&self, if_none_match: Option<&str>) -> Result<Fetched, FetchError> {
            self.seen
                .lock()
                .unwrap()
                .push(if_none_match.map(str::to_string));
            self.answers
                .lock()
                .unwrap()
                .pop_front()
                .expect("the cache fetched more often than the test expected")
        }
    }

    fn body(json: &str, etag: &str) -> Result<Fetched, FetchError> {
        Ok(Fetched::Body {
            bytes: json.as_bytes().to_vec(),
            etag: Some(etag.to_string()),
        })
    }

    const V1: &str = r#"{"US": "+12065550100", "Default": "+12025550100"}"#;
    const V2: &str = r#"{"US": "+12065550199", "Default": "+12025550100"}"#;
    const US: &str = "+13055550147";
    const TTL: Duration = Duration::from_secs(60);

    #[tokio::test(start_paused = true)]
    async fn serves_from_memory_within_the_ttl_and_revalidates_after() {
        let cache = RoutingCache::new(
            Script::new(vec![
                body(V1, "\"v1\""),
                Ok(Fetched::NotModified),
                body(V2, "\"v2\""),
            ]),
            TTL,
        );
        let view = cache.current().await;
        assert_eq!(view.status, CacheStatus::Ok);
        assert_eq!(view.route(US).source_number(), Some("+12065550100"));
        for _ in 0..100 {
            tokio::time::advance(Duration::from_millis(500)).await;
            if cache.stats().await.fetches > 1 {
                break;
            }
            cache.current().await;
        }
        // 100 calls within ~50 s: still one fetch.
        assert_eq!(cache.stats().await.fetches, 1);

        tokio::time::advance(TTL).await;
        let view = cache.current().await;
        assert_eq!(view.status, CacheStatus::Ok);
        assert_eq!(view.etag.as_deref(), Some("\"v1\""));
        let stats = cache.stats().await;
        assert_eq!(
            (stats.fetches, stats.downloads, stats.not_modified),
            (2, 1, 1)
        );

        tokio::time::advance(TTL).await;
        let view = cache.current().await;
        assert_eq!(view.route(US).source_number(), Some("+12065550199"));
        assert_eq!(view.etag.as_deref(), Some("\"v2\""));
        // The first GET is unconditional, the next ones carry the ETag they hold.
        assert_eq!(
            cache.source().seen(),
            vec![None, Some("\"v1\"".into()), Some("\"v1\"".into())]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn unreachable_keeps_the_last_good_copy_as_stale() {
        let cache = RoutingCache::new(
            Script::new(vec![
                body(V1, "\"v1\""),
                Err(FetchError::Unreachable("timeout".into())),
                Ok(Fetched::NotModified),
            ]),
            TTL,
        );
        cache.current().await;
        tokio::time::advance(TTL).await;
        let view = cache.current().await;
        assert_eq!(view.status, CacheStatus::Stale);
        let d = view.route(US);
        assert_eq!(
            (d.routing_status(), d.source_number()),
            ("country", Some("+12065550100"))
        );
        // Still conditional on the version held, and back to ok on a 304.
        tokio::time::advance(TTL).await;
        assert_eq!(cache.current().await.status, CacheStatus::Ok);
        assert_eq!(cache.source().seen()[2].as_deref(), Some("\"v1\""));
    }

    #[tokio::test(start_paused = true)]
    async fn unreachable_bucket_on_a_cold_start_falls_back() {
        let cache = RoutingCache::new(
            Script::new(vec![
                Err(FetchError::Unreachable("connection failed".into())),
                body(V1, "\"v1\""),
            ]),
            TTL,
        );
        let view = cache.current().await;
        assert_eq!(view.status, CacheStatus::Unreachable);
        let d = view.route(US);
        assert_eq!(d.routing_status(), "unreachable");
        assert_eq!(d.source_number(), None);
        assert_eq!(d.customer.unwrap().country.as_deref(), Some("US"));
        // Not retried on every call ...
        cache.current().await;
        assert_eq!(cache.stats().await.fetches, 1);
        // ... but after the TTL.
        tokio::time::advance(TTL).await;
        assert_eq!(cache.current().await.status, CacheStatus::Ok);
    }

    #[tokio::test(start_paused = true)]
    async fn missing_and_denied_drop_the_cached_copy() {
        let cache = RoutingCache::new(
            Script::new(vec![
                body(V1, "\"v1\""),
                Err(FetchError::NotFound {
                    code: "NoSuchKey".into(),
                }),
                Err(FetchError::AccessDenied {
                    code: "AccessDenied".into(),
                }),
                body(V2, "\"v2\""),
            ]),
            TTL,
        );
        cache.current().await;
        tokio::time::advance(TTL).await;
        let view = cache.current().await;
        assert_eq!(view.status, CacheStatus::Missing);
        assert_eq!(view.route(US).routing_status(), "missing");
        tokio::time::advance(TTL).await;
        let view = cache.current().await;
        assert_eq!(view.route(US).routing_status(), "access_denied");
        tokio::time::advance(TTL).await;
        assert_eq!(cache.current().await.status, CacheStatus::Ok);
        // After a 404 nothing is held, so the next GET is unconditional again.
        assert_eq!(cache.source().seen()[2], None);
        assert_eq!(cache.source().seen()[3], None);
    }

    #[tokio::test(start_paused = true)]
    async fn malformed_version_falls_back_and_revalidates_by_etag() {
        let cache = RoutingCache::new(
            Script::new(vec![
                body("{not json", "\"bad\""),
                Ok(Fetched::NotModified),
                body(V1, "\"v1\""),
            ]),
            TTL,
        );
        let view = cache.current().await;
        assert_eq!(view.status, CacheStatus::Malformed);
        assert_eq!(view.route(US).routing_status(), "malformed");
        tokio::time::advance(TTL).await;
        // The malformed version is still current: no download, still malformed.
        assert_eq!(cache.current().await.status, CacheStatus::Malformed);
        assert_eq!(cache.stats().await.downloads, 1);
        tokio::time::advance(TTL).await;
        assert_eq!(cache.current().await.status, CacheStatus::Ok);
        assert_eq!(
            cache.source().seen(),
            vec![None, Some("\"bad\"".into()), Some("\"bad\"".into())]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_too_large_object_is_malformed() {
        let cache = RoutingCache::new(
            Script::new(vec![Err(FetchError::TooLarge {
                size: MAX_ROUTING_BYTES + 1,
                limit: MAX_ROUTING_BYTES,
            })]),
            TTL,
        );
        assert_eq!(
            cache.current().await.route(US).routing_status(),
            "malformed"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn zero_ttl_revalidates_every_call() {
        let cache = RoutingCache::new(
            Script::new(vec![
                body(V1, "\"v1\""),
                Ok(Fetched::NotModified),
                Ok(Fetched::NotModified),
            ]),
            Duration::ZERO,
        );
        for _ in 0..3 {
            assert_eq!(cache.current().await.status, CacheStatus::Ok);
        }
        assert_eq!(cache.stats().await.not_modified, 2);
    }

    #[test]
    fn routing_file_from_the_environment() {
        use crate::env::EnvReader;
        let read = |vars: &[(&str, &str)]| {
            let mut env = EnvReader::from_map(vars.iter().copied());
            let routing = RoutingFileEnv::read(&mut env);
            env.finish().map(|()| routing)
        };
        let file = [("BUCKET_NAME", "b"), ("COUNTRY_ROUTING_LIST_KEY", "k")];
        assert_eq!(read(&file).unwrap().unwrap().ttl, DEFAULT_TTL);
        for (ttl, seconds) in [("5", 5), ("0", 0), (" ", 60)] {
            let vars = [file[0], file[1], (TTL_ENV, ttl)];
            assert_eq!(
                read(&vars).unwrap().unwrap().ttl,
                Duration::from_secs(seconds)
            );
        }
        for bad in ["-1", "1m", "86401"] {
            let vars = [file[0], file[1], (TTL_ENV, bad)];
            assert_eq!(read(&vars).unwrap_err().names(), [TTL_ENV], "{bad}");
        }
        assert_eq!(read(&[]).unwrap(), None);
        assert_eq!(
            read(&file[..1]).unwrap_err().names(),
            ["COUNTRY_ROUTING_LIST_KEY"]
        );
    }

    #[test]
    fn logs_each_problem_once_per_version() {
        let mut inner = Inner {
            checked_at: None,
            version: None,
            last: LastFetch::Current,
            logged: String::new(),
            stats: CacheStats::default(),
        };
        let mut count = 0;
        for key in [
            "malformed:\"a\"",
            "malformed:\"a\"",
            "malformed:\"b\"",
            "malformed:\"b\"",
            "ok:\"c\"",
        ] {
            inner.log_once(key.to_string(), || count += 1);
        }
        assert_eq!(count, 3);
    }

    mod s3 {
        use super::super::*;
        use aws_sdk_s3::operation::get_object::GetObjectOutput;
        use aws_sdk_s3::primitives::ByteStream;
        use aws_smithy_mocks::{mock, mock_client, RuleMode};
        use aws_smithy_runtime_api::http::{Response, StatusCode};
        use aws_smithy_types::body::SdkBody;

        fn status(code: u16, body: &'static str) -> Response {
            Response::new(StatusCode::try_from(code).unwrap(), SdkBody::from(body))
        }

        #[tokio::test]
        async fn s3_source_maps_statuses() {
            let ok = mock!(aws_sdk_s3::Client::get_object)
                .match_requests(|r| r.if_none_match().is_none() && r.key() == Some("routing.json"))
                .then_output(|| {
                    GetObjectOutput::builder()
                        .e_tag("\"abc\"")
                        .content_length(2)
                        .body(ByteStream::from_static(b"{}"))
                        .build()
                });
            let not_modified = mock!(aws_sdk_s3::Client::get_object)
                .match_requests(|r| r.if_none_match() == Some("\"abc\""))
                .then_http_response(|| status(304, ""));
            let missing = mock!(aws_sdk_s3::Client::get_object).then_http_response(|| {
                status(
                    404,
                    "<Error><Code>NoSuchKey</Code><Message>gone</Message></Error>",
                )
            });
            let denied = mock!(aws_sdk_s3::Client::get_object).then_http_response(|| {
                status(
                    403,
                    "<Error><Code>AccessDenied</Code><Message>no</Message></Error>",
                )
            });
            let too_big = mock!(aws_sdk_s3::Client::get_object).then_output(|| {
                GetObjectOutput::builder()
                    .content_length(MAX_ROUTING_BYTES as i64 + 1)
                    .body(ByteStream::from_static(b"{}"))
                    .build()
            });
            let client = mock_client!(
                aws_sdk_s3,
                RuleMode::Sequential,
                [&ok, &not_modified, &missing, &denied, &too_big]
            );
            let source = S3RoutingSource::new(client, "bucket", "routing.json");
            assert_eq!(
                source.fetch(None).await,
                Ok(Fetched::Body {
                    bytes: b"{}".to_vec(),
                    etag: Some("\"abc\"".into())
                })
            );
            assert_eq!(
                source.fetch(Some("\"abc\"")).await,
                Ok(Fetched::NotModified)
            );
            assert!(matches!(
                source.fetch(None).await,
                Err(FetchError::NotFound { code }) if code == "NoSuchKey"
            ));
            assert!(matches!(
                source.fetch(None).await,
                Err(FetchError::AccessDenied { code }) if code == "AccessDenied"
            ));
            assert!(matches!(
                source.fetch(None).await,
                Err(FetchError::TooLarge { .. })
            ));
        }

        #[tokio::test]
        async fn a_closed_port_is_unreachable_not_a_panic() {
            let config = aws_sdk_s3::Config::builder()
                .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
                .region(aws_sdk_s3::config::Region::new("eu-west-2"))
                .endpoint_url("http://127.0.0.1:9")
                .force_path_style(true)
                .credentials_provider(aws_sdk_s3::config::Credentials::new(
                    "AKIDTEST", "secret", None, None, "test",
                ))
                .retry_config(aws_sdk_s3::config::retry::RetryConfig::disabled())
                .build();
            let source = S3RoutingSource::new(aws_sdk_s3::Client::from_conf(config), "b", "k");
            let cache = RoutingCache::new(source, Duration::from_secs(60));
            let view = cache.current().await;
            assert_eq!(view.status, CacheStatus::Unreachable);
            assert_eq!(view.route("+13055550147").routing_status(), "unreachable");
        }
    }
}
