//! `connect-status` entry point: environment and clients once per process.

use aws_config::BehaviorVersion;
use connect_status::Status;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use outbound_core::completion::Ledger;
use serde_json::Value;

fn required(name: &str) -> Result<String, String> {
    std::env::var(name)
        .ok()
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
        .ok_or_else(|| format!("{name} is not set"))
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    outbound_core::telemetry::init();
    let ssm_prefix = required("SSM_PREFIX")?;
    let table_name = required("TABLE_NAME")?;
    let results_bucket = required("RESULTS_BUCKET")?;
    let sdk = aws_config::defaults(BehaviorVersion::latest()).load().await;
    // A local endpoint (moto) cannot resolve virtual-hosted bucket names: path style there only.
    let local_endpoint = std::env::var_os("AWS_ENDPOINT_URL").is_some()
        || std::env::var_os("AWS_ENDPOINT_URL_S3").is_some();
    let status = Status {
        ssm: aws_sdk_ssm::Client::new(&sdk),
        connect: aws_sdk_connect::Client::new(&sdk),
        ledger: Ledger {
            dynamodb: aws_sdk_dynamodb::Client::new(&sdk),
            s3: aws_sdk_s3::Client::from_conf(
                aws_sdk_s3::config::Builder::from(&sdk)
                    .force_path_style(local_endpoint)
                    .build(),
            ),
            table_name,
            results_bucket,
        },
        ssm_prefix,
    };
    let status = &status;
    run(service_fn(move |event: LambdaEvent<Value>| async move {
        connect_status::handle(status, &event.payload, chrono::Utc::now()).await
    }))
    .await
}
