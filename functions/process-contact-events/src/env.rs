//! The environment process-contact-events runs with (docs/architecture.md, "Environment variables"; the
//! list is `environment.json`), read once in `main`.

use outbound_core::clients::LedgerEnv;
use outbound_core::env::{EnvReader, FromEnv};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Env {
    /// `TABLE_NAME` and `RESULTS_BUCKET`: the ledger the function records into.
    pub ledger: LedgerEnv,
    /// `LEDGER_TABLE_NAME`, `REDIAL_RULES` and `FINAL_RETENTION_DAYS`: the campaign ledger
    /// where a call's end ends its attempt.
    pub attempts: outbound_core::ledger::FinisherEnv,
    /// `CONNECT_INSTANCE_ARN`: events of other instances are ignored.
    pub instance_arn: String,
}

impl FromEnv for Env {
    fn from_env(env: &mut EnvReader) -> Self {
        Env {
            ledger: LedgerEnv::from_env(env),
            attempts: outbound_core::ledger::FinisherEnv::from_env(env),
            instance_arn: env.required(
                "CONNECT_INSTANCE_ARN",
                "the ARN of this deployment's Amazon Connect instance",
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    outbound_core::env_contract_tests!(Env, include_str!("../environment.json"));
}
