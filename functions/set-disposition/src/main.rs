//! `set-disposition` entry point: environment and clients once per process.

use aws_config::BehaviorVersion;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use outbound_core::completion::Ledger;
use outbound_core::ledger::CampaignLedger;
use serde_json::Value;
use set_disposition::disposition::Callbacks;
use set_disposition::Env;

#[tokio::main]
async fn main() -> Result<(), Error> {
    outbound_core::telemetry::init();
    let env: Env = outbound_core::env::load()?;
    let sdk = aws_config::defaults(BehaviorVersion::latest()).load().await;
    let ledger = Ledger::new(&sdk, &env.ledger);
    // Final items are only ever reopened here, never made final: no retention to apply.
    let callbacks = Callbacks {
        ledger: CampaignLedger::new(&sdk, &env.campaign_ledger, None),
        max_days: env.callback_max_days,
    };
    let (ledger, callbacks) = (&ledger, &callbacks);
    run(service_fn(move |event: LambdaEvent<Value>| async move {
        set_disposition::handle(ledger, callbacks, &event.payload, chrono::Utc::now()).await
    }))
    .await
}
