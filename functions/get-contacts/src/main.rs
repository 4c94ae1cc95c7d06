//! get-contacts Lambda entry point: reads the environment and builds the SQS client once.

use aws_config::BehaviorVersion;
use get_contacts::Env;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    outbound_core::telemetry::init();
    let env: Env = outbound_core::env::load()?;
    let sdk = aws_config::defaults(BehaviorVersion::latest()).load().await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let ledger = outbound_core::ledger::CampaignLedger::new(&sdk, &env.ledger, None);
    let (sqs, ledger, env) = (&sqs, &ledger, &env);
    run(service_fn(move |_event: LambdaEvent<Value>| async move {
        get_contacts::handle(sqs, ledger, env, chrono::Utc::now()).await.inspect_err(|e| {
            tracing::error!(error_type = e.name.as_str(), error = %e.message, "get-contacts failed")
        })
    }))
    .await
}
