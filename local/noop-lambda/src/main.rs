//! The no-op floor of the cold-start benchmark (scripts/bench_caller_id_cold.py): a Lambda on the
//! same runtime as the functions (lambda_runtime on a multi-threaded tokio), built by
//! `scripts/build.sh --noop` with the release profile and target of the deployed zips, whose
//! handler returns its input. Everything caller-id's cold start spends above this one is caller-id's
//! own: its SDK set-up, the routing file, the phone-number metadata, the handler.
//!
//! Never deployed: it lives under local/ and scripts/build.sh keeps it out of the zips Terraform
//! reads.

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    run(service_fn(|event: LambdaEvent<Value>| async move {
        Ok::<Value, Error>(event.payload)
    }))
    .await
}
