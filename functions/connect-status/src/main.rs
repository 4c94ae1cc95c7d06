//! `connect-status` entry point: environment and clients once per process.

use aws_config::BehaviorVersion;
use connect_status::{Env, Status};
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use outbound_core::completion::Ledger;
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    outbound_core::telemetry::init();
    let env: Env = outbound_core::env::load()?;
    let sdk = aws_config::defaults(BehaviorVersion::latest()).load().await;
    let status = Status {
        ssm: aws_sdk_ssm::Client::new(&sdk),
        connect: aws_sdk_connect::Client::new(&sdk),
        ledger: Ledger::new(&sdk, &env.ledger)
            .with_finisher(outbound_core::ledger::Finisher::new(&sdk, &env.attempts)),
        ssm_prefix: env.ssm_prefix,
    };
    let status = &status;
    run(service_fn(move |event: LambdaEvent<Value>| async move {
        connect_status::handle(status, &event.payload, chrono::Utc::now()).await
    }))
    .await
}
