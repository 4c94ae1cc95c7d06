//! The environment queue-contacts runs with (docs/architecture.md, "Environment variables"; the
//! list is `environment.json`), read once in `main`.

use outbound_core::env::{EnvReader, FromEnv};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Env {
    /// `LEDGER_TABLE_NAME`: the campaign ledger contacts are admitted into.
    pub ledger: outbound_core::ledger::CampaignLedgerEnv,
    /// `RESULTS_BUCKET`: the rejects report goes there.
    pub results_bucket: String,
    /// `STATE_MACHINE_ARN`: the campaign's run is started there.
    pub state_machine_arn: String,
    /// `SSM_PREFIX`, normalised to start and end with `/`.
    pub ssm_prefix: String,
    /// `CONTACT_KEY_KMS_KEY_ARN`: the KMS HMAC key contact keys are derived from.
    pub contact_key_kms_key_arn: String,
    /// `ALLOWED_COUNTRIES`: endpoints with other destinations are rejects.
    pub destinations: outbound_core::destinations::DestinationRules,
}

impl FromEnv for Env {
    fn from_env(env: &mut EnvReader) -> Self {
        Env {
            ledger: outbound_core::ledger::CampaignLedgerEnv::from_env(env),
            results_bucket: env.required("RESULTS_BUCKET", "the results bucket name"),
            state_machine_arn: env.required("STATE_MACHINE_ARN", "the dialer state machine ARN"),
            ssm_prefix: env.ssm_prefix(),
            contact_key_kms_key_arn: env.contact_key_kms_key_arn(),
            destinations: env.allowed_countries(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    outbound_core::env_contract_tests!(Env, include_str!("../environment.json"));
}
