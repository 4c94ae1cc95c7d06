//! `set-disposition` entry point: environment and clients once per process.

use aws_config::BehaviorVersion;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use outbound_core::completion::Ledger;
use serde_json::Value;
use set_disposition::Env;

#[tokio::main]
async fn main() -> Result<(), Error> {
    outbound_core::telemetry::init();
    let env: Env = outbound_core::env::load()?;
    let sdk = aws_config::defaults(BehaviorVersion::latest()).load().await;
    let ledger = Ledger::new(&sdk, &env.ledger);
    let ledger = &ledger;
    run(service_fn(move |event: LambdaEvent<Value>| async move {
        set_disposition::handle(ledger, &event.payload, chrono::Utc::now()).await
    }))
    .await
}
