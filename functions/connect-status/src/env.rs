//! The environment connect-status runs with (docs/architecture.md, "Environment variables"; the
//! list is `environment.json`), read once in `main`.

use outbound_core::clients::LedgerEnv;
use outbound_core::env::{EnvReader, FromEnv};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Env {
    /// `SSM_PREFIX`: `connectid` and `queue` are read from it.
    pub ssm_prefix: String,
    /// `TABLE_NAME` and `RESULTS_BUCKET`: reconciled calls are recorded there.
    pub ledger: LedgerEnv,
    /// `LEDGER_TABLE_NAME`, `REDIAL_RULES` and `FINAL_RETENTION_DAYS`: the campaign ledger
    /// where a call's end ends its attempt.
    pub attempts: outbound_core::ledger::FinisherEnv,
}

impl FromEnv for Env {
    fn from_env(env: &mut EnvReader) -> Self {
        Env {
            ssm_prefix: env.ssm_prefix(),
            ledger: LedgerEnv::from_env(env),
            attempts: outbound_core::ledger::FinisherEnv::from_env(env),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    outbound_core::env_contract_tests!(Env, include_str!("../environment.json"));
}
