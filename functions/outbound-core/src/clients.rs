//! AWS clients as every function builds them, once per process in `main`.

use crate::completion::Ledger;
use crate::config::{required_env, ConfigError};

/// Whether the functions run against a local endpoint (moto): `AWS_ENDPOINT_URL` or
/// `AWS_ENDPOINT_URL_S3` set. Never the case on Lambda.
pub fn uses_local_endpoint() -> bool {
    ["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"]
        .iter()
        .any(|v| std::env::var(v).is_ok_and(|s| !s.trim().is_empty()))
}

/// An S3 client from the shared configuration. A local endpoint cannot resolve virtual-hosted
/// bucket names, so path-style addressing there (and only there).
pub fn s3_client(sdk: &aws_config::SdkConfig) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(sdk)
            .force_path_style(uses_local_endpoint())
            .build(),
    )
}

impl Ledger {
    /// The ledger from `TABLE_NAME` and `RESULTS_BUCKET`, which Terraform sets on every function
    /// that records calls.
    pub fn from_env(sdk: &aws_config::SdkConfig) -> Result<Ledger, ConfigError> {
        Ok(Ledger {
            dynamodb: aws_sdk_dynamodb::Client::new(sdk),
            s3: s3_client(sdk),
            table_name: required_env("TABLE_NAME")?,
            results_bucket: required_env("RESULTS_BUCKET")?,
        })
    }
}
