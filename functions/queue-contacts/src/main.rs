//! queue-contacts Lambda entry point: reads the environment and builds the clients once, then
//! hands every Pinpoint batch to [`queue_contacts::handle`].

use aws_config::BehaviorVersion;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use outbound_core::contact_key::ContactKeyer;
use queue_contacts::{Clients, Env, Tuning};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    outbound_core::telemetry::init();
    let env: Env = outbound_core::env::load()?;
    let sdk = aws_config::defaults(BehaviorVersion::latest()).load().await;
    let clients = Clients {
        ledger: outbound_core::ledger::CampaignLedger::new(&sdk, &env.ledger, None),
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
        queue_contacts::handle(clients, env, tuning, event.payload)
            .await
            .inspect_err(|e| {
                tracing::error!(error_type = e.name.as_str(), error = %e.message, "queue-contacts failed")
            })
    }))
    .await
}
