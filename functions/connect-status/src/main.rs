//! `connect-status` entry point: environment and clients once per process.

use aws_config::BehaviorVersion;
use connect_status::Status;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use outbound_core::completion::Ledger;
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    outbound_core::telemetry::init();
    let ssm_prefix = outbound_core::config::prefix_from_env()
        .inspect_err(|e| tracing::error!(error = %e, "not configured"))?;
    let sdk = aws_config::defaults(BehaviorVersion::latest()).load().await;
    let ledger =
        Ledger::from_env(&sdk).inspect_err(|e| tracing::error!(error = %e, "not configured"))?;
    let status = Status {
        ssm: aws_sdk_ssm::Client::new(&sdk),
        connect: aws_sdk_connect::Client::new(&sdk),
        ledger,
        ssm_prefix,
    };
    let status = &status;
    run(service_fn(move |event: LambdaEvent<Value>| async move {
        connect_status::handle(status, &event.payload, chrono::Utc::now()).await
    }))
    .await
}
