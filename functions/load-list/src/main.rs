//! load-list Lambda entry point: reads the environment and builds the clients once, then hands
//! every S3 event to [`load_list::handle`].

use aws_config::BehaviorVersion;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use load_list::{Clients, Env, Tuning};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    outbound_core::telemetry::init();
    let env = Env::from_env()
        .inspect_err(|e| tracing::error!(error = %e, "load-list is not configured"))?;
    let sdk = aws_config::defaults(BehaviorVersion::latest()).load().await;
    // A local endpoint (moto) cannot resolve virtual-hosted bucket names: path style there only.
    let local_endpoint = ["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"]
        .iter()
        .any(|v| std::env::var(v).is_ok_and(|s| !s.trim().is_empty()));
    let s3_config = aws_sdk_s3::config::Builder::from(&sdk)
        .force_path_style(local_endpoint)
        .build();
    let clients = Clients {
        s3: aws_sdk_s3::Client::from_conf(s3_config),
        sqs: aws_sdk_sqs::Client::new(&sdk),
        ssm: aws_sdk_ssm::Client::new(&sdk),
        sfn: aws_sdk_sfn::Client::new(&sdk),
    };
    let tuning = Tuning::default();
    let (clients, env, tuning) = (&clients, &env, &tuning);
    run(service_fn(move |event: LambdaEvent<Value>| async move {
        load_list::handle(clients, env, tuning, event.payload)
            .await
            .inspect_err(|e| {
                tracing::error!(error_type = e.name.as_str(), error = %e.message, "load-list failed")
            })
    }))
    .await
}
