//! AWS clients as every function builds them, once per process in `main`.

use crate::completion::Ledger;
use crate::env::{EnvReader, FromEnv};

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

/// `TABLE_NAME` and `RESULTS_BUCKET`, which Terraform sets on every function that records calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerEnv {
    pub table_name: String,
    pub results_bucket: String,
}

impl FromEnv for LedgerEnv {
    fn from_env(env: &mut EnvReader) -> Self {
        LedgerEnv {
            table_name: env.required("TABLE_NAME", "the ActiveDialing table name"),
            results_bucket: env.required("RESULTS_BUCKET", "the results bucket name"),
        }
    }
}

impl Ledger {
    /// The ledger over the table and bucket of `env`.
    pub fn new(sdk: &aws_config::SdkConfig, env: &LedgerEnv) -> Ledger {
        Ledger {
            dynamodb: aws_sdk_dynamodb::Client::new(sdk),
            s3: s3_client(sdk),
            table_name: env.table_name.clone(),
            results_bucket: env.results_bucket.clone(),
            finisher: None,
        }
    }

    /// This ledger, ending attempts in the campaign ledger through `finisher`.
    pub fn with_finisher(mut self, finisher: crate::ledger::Finisher) -> Ledger {
        self.finisher = Some(finisher);
        self
    }
}
