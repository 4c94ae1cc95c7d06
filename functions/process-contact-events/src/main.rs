//! `process-contact-events` entry point: environment and clients once per process.

use aws_config::BehaviorVersion;
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
    let table_name = required("TABLE_NAME")?;
    let results_bucket = required("RESULTS_BUCKET")?;
    let sdk = aws_config::defaults(BehaviorVersion::latest()).load().await;
    // A local endpoint (moto) cannot resolve virtual-hosted bucket names: path style there only.
    let local_endpoint = std::env::var_os("AWS_ENDPOINT_URL").is_some()
        || std::env::var_os("AWS_ENDPOINT_URL_S3").is_some();
    let ledger = Ledger {
        dynamodb: aws_sdk_dynamodb::Client::new(&sdk),
        s3: aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&sdk)
                .force_path_style(local_endpoint)
                .build(),
        ),
        table_name,
        results_bucket,
    };
    let sfn = aws_sdk_sfn::Client::new(&sdk);
    let (ledger, sfn) = (&ledger, &sfn);
    run(service_fn(move |event: LambdaEvent<Value>| async move {
        process_contact_events::handle(ledger, sfn, &event.payload, chrono::Utc::now()).await
    }))
    .await
}
