//! `set-disposition` entry point: environment and clients once per process.

use aws_config::BehaviorVersion;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use outbound_core::completion::Ledger;
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    outbound_core::telemetry::init();
    let sdk = aws_config::defaults(BehaviorVersion::latest()).load().await;
    let ledger =
        Ledger::from_env(&sdk).inspect_err(|e| tracing::error!(error = %e, "not configured"))?;
    let ledger = &ledger;
    run(service_fn(move |event: LambdaEvent<Value>| async move {
        set_disposition::handle(ledger, &event.payload, chrono::Utc::now()).await
    }))
    .await
}
