//! queue-contacts Lambda entry point: reads the environment and builds the clients once, then
//! hands every Pinpoint batch to [`queue_contacts::handle`] with the invocation's deadline.

use aws_config::BehaviorVersion;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use outbound_core::contact_key::ContactKeyer;
use queue_contacts::{Clients, Clock, Env, Tuning};
use serde_json::Value;
use std::time::{SystemTime, UNIX_EPOCH};

#[tokio::main]
async fn main() -> Result<(), Error> {
    outbound_core::telemetry::init();
    let env: Env = outbound_core::env::load()?;
    let sdk = aws_config::defaults(BehaviorVersion::latest()).load().await;
    let clients = Clients {
        sqs: aws_sdk_sqs::Client::new(&sdk),
        ddb: aws_sdk_dynamodb::Client::new(&sdk),
        s3: outbound_core::clients::s3_client(&sdk),
        ssm: aws_sdk_ssm::Client::new(&sdk),
        sfn: aws_sdk_sfn::Client::new(&sdk),
        keyer: ContactKeyer::from_kms(
            &aws_sdk_kms::Client::new(&sdk),
            &env.contact_key_kms_key_arn,
        )
        .await?,
    };
    let tuning = Tuning::default();
    let (clients, env, tuning) = (&clients, &env, &tuning);
    run(service_fn(move |event: LambdaEvent<Value>| async move {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or_default();
        // The context's deadline is in epoch milliseconds.
        let deadline = (event.context.deadline / 1000) as i64;
        let clock = Clock { now, deadline: deadline.max(now) };
        queue_contacts::handle(clients, env, tuning, clock, event.payload)
            .await
            .inspect_err(|e| {
                tracing::error!(error_type = e.name.as_str(), error = %e.message, "queue-contacts failed")
            })
    }))
    .await
}
