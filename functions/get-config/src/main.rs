//! get-config Lambda entry point: reads the environment and builds the clients once, then hands
//! every task payload to [`get_config::handle`].

use aws_config::BehaviorVersion;
use get_config::{Clients, Env, Feeder, Input};
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use outbound_core::clients::LedgerEnv;
use outbound_core::completion::Ledger;
use outbound_core::error::FunctionError;
use outbound_core::intake::RetryPolicy;
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    outbound_core::telemetry::init();
    let env: Env = outbound_core::env::load()?;
    let sdk = aws_config::defaults(BehaviorVersion::latest()).load().await;
    let attempts = outbound_core::ledger::Finisher::new(&sdk, &env.attempts);
    let results = Ledger::new(
        &sdk,
        &LedgerEnv {
            table_name: env.table_name.clone(),
            results_bucket: env.results_bucket.clone(),
        },
    )
    .with_finisher(attempts.clone());
    let clients = Clients {
        ssm: aws_sdk_ssm::Client::new(&sdk),
        ddb: aws_sdk_dynamodb::Client::new(&sdk),
        sfn: aws_sdk_sfn::Client::new(&sdk),
        feeder: Feeder {
            attempts,
            results,
            connect: aws_sdk_connect::Client::new(&sdk),
            sqs: aws_sdk_sqs::Client::new(&sdk),
            queue_url: env.queue_url.clone(),
            lease: chrono::Duration::seconds(env.lease_seconds),
            window: env.calling_window.clone(),
            cap: env.frequency_cap,
            close_per_feeding: get_config::feeder::CLOSE_PER_FEEDING,
        },
    };
    let (clients, env) = (&clients, &env);
    run(service_fn(move |event: LambdaEvent<Value>| async move {
        let input: Input = serde_json::from_value(event.payload)
            .map_err(|e| FunctionError::invalid_input(format!("get-config input: {e}")))?;
        let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        get_config::handle(clients, env, RetryPolicy::DEFAULT, &now, input)
            .await
            .inspect_err(|e| {
                tracing::error!(error_type = e.name.as_str(), error = %e.message, "get-config failed")
            })
    }))
    .await
}
