//! caller-id Lambda entry point: reads the environment and builds the S3 client once, then
//! hands every invocation to [`CallerId::handle`].

use aws_config::timeout::TimeoutConfig;
use aws_config::BehaviorVersion;
use caller_id::{CallerId, Env};
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use outbound_core::routing_cache::{RoutingCache, S3RoutingSource};
use outbound_core::trust_roots::https_client;
use serde_json::Value;
use std::convert::Infallible;
use std::time::Duration;

#[tokio::main]
async fn main() -> Result<(), Error> {
    outbound_core::telemetry::init();

    let env: Env = outbound_core::env::load()?;

    let routing = match &env.routing {
        Some(file) => {
            // A whisper flow gives the Lambda 8 s at most: a slow S3 must cost a fallback, not
            // the call.
            let timeouts = TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(1))
                .operation_attempt_timeout(Duration::from_millis(1500))
                .operation_timeout(Duration::from_secs(3))
                .build();
            // Amazon's roots from the binary by default: no trust store to read on the way to
            // the first answer (outbound_core::trust_roots).
            let sdk = aws_config::defaults(BehaviorVersion::latest())
                .timeout_config(timeouts)
                .http_client(https_client(env.trust_roots))
                .load()
                .await;
            let s3 = outbound_core::clients::s3_client(&sdk);
            let source = S3RoutingSource::new(s3, file.bucket.clone(), file.key.clone());
            Some(RoutingCache::new(source, file.ttl))
        }
        None => {
            tracing::warn!(
                "BUCKET_NAME and COUNTRY_ROUTING_LIST_KEY are not set: every call gets the queue's number"
            );
            None
        }
    };

    // Load the file during init: the first call then answers from memory, and a problem with
    // the file shows in the log at start-up.
    if let (Some(cache), Some(file)) = (&routing, &env.routing) {
        let view = cache.current().await;
        tracing::info!(
            routing_cache = view.status.as_str(),
            ttl_seconds = file.ttl.as_secs(),
            "caller-id ready"
        );
    }

    let caller_id = &CallerId::new(routing);
    run(service_fn(move |event: LambdaEvent<Value>| async move {
        Ok::<_, Infallible>(caller_id.handle(&event.payload).await)
    }))
    .await
}
