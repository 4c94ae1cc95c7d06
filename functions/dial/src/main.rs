//! `dial` entry point: environment, SDK configuration and clients once per process, then every
//! invocation goes to [`dial_handler::handle`].

use aws_config::BehaviorVersion;
use aws_smithy_types::retry::RetryConfig;
use dial_handler::dialing::Dialer;
use dial_handler::Env;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use outbound_core::completion::Ledger;
use outbound_core::hours::StatusCache;
use outbound_core::routing_cache::{RoutingCache, S3RoutingSource};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    outbound_core::telemetry::init();
    let env: Env = outbound_core::env::load()?;
    let sdk = aws_config::defaults(BehaviorVersion::latest()).load().await;
    let s3 = outbound_core::clients::s3_client(&sdk);
    // dial backs off on throttling itself (and then hands the contact back): SDK retries of
    // StartOutboundVoiceContact would only multiply the attempts against the same quota.
    let connect = aws_sdk_connect::Client::from_conf(
        aws_sdk_connect::config::Builder::from(&sdk)
            .retry_config(RetryConfig::standard().with_max_attempts(1))
            .build(),
    );
    let chooser = match &env.routing {
        Some(file) => Some(RoutingCache::new(
            S3RoutingSource::new(s3.clone(), file.bucket.clone(), file.key.clone()),
            file.ttl,
        )),
        None => {
            tracing::info!("no routing file configured: calls use the queue's outbound number");
            None
        }
    };
    let attempts = outbound_core::ledger::Finisher::new(&sdk, &env.attempts);
    let dialer = Dialer {
        ssm: aws_sdk_ssm::Client::new(&sdk),
        sqs: aws_sdk_sqs::Client::new(&sdk),
        connect,
        sfn: aws_sdk_sfn::Client::new(&sdk),
        ledger: Ledger {
            dynamodb: aws_sdk_dynamodb::Client::new(&sdk),
            s3,
            table_name: env.ledger.table_name.clone(),
            results_bucket: env.ledger.results_bucket.clone(),
            finisher: Some(attempts.clone()),
        },
        attempts,
        status: StatusCache::new(env.status_cache),
        chooser,
        settings: env.settings(),
    };
    let dialer = &dialer;
    run(service_fn(move |event: LambdaEvent<Value>| async move {
        dial_handler::handle(dialer, event.payload).await
    }))
    .await
}
