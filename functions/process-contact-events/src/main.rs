//! `process-contact-events` entry point: environment and clients once per process.

use aws_config::BehaviorVersion;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use outbound_core::completion::Ledger;
use process_contact_events::Env;
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    outbound_core::telemetry::init();
    let env: Env = outbound_core::env::load()?;
    let sdk = aws_config::defaults(BehaviorVersion::latest()).load().await;
    let ledger = Ledger::new(&sdk, &env.ledger)
        .with_finisher(outbound_core::ledger::Finisher::new(&sdk, &env.attempts));
    let sfn = aws_sdk_sfn::Client::new(&sdk);
    let (ledger, sfn, instance_arn) = (&ledger, &sfn, env.instance_arn.as_str());
    run(service_fn(move |event: LambdaEvent<Value>| async move {
        process_contact_events::handle(
            ledger,
            sfn,
            instance_arn,
            &event.payload,
            chrono::Utc::now(),
        )
        .await
    }))
    .await
}
