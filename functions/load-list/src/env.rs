//! The environment load-list runs with (docs/architecture.md, "Environment variables"; the list
//! is `environment.json`), read once in `main`.

use outbound_core::env::{EnvReader, FromEnv};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Env {
    /// `INPUT_BUCKET`: the only bucket whose objects are loaded.
    pub input_bucket: String,
    /// `ALLOWED_COUNTRIES`: rows to other destinations are rejected.
    pub destinations: outbound_core::destinations::DestinationRules,
    /// `LEDGER_TABLE_NAME`: the campaign ledger contacts are admitted into.
    pub ledger: outbound_core::ledger::CampaignLedgerEnv,
    /// `REDIAL_RULES`: the deployment's redial rules, which a file's `redial` metadata
    /// overrides (validated at intake: an invalid override refuses the file).
    pub rules: outbound_core::ledger::RedialRules,
    /// `RESULTS_BUCKET`: the rejects report goes there.
    pub results_bucket: String,
    /// `STATE_MACHINE_ARN`: the campaign's run is started there.
    pub state_machine_arn: String,
    /// `SSM_PREFIX`, normalised to start and end with `/`.
    pub ssm_prefix: String,
    /// `CONTACT_KEY_KMS_KEY_ARN`: the KMS HMAC key contact keys are derived from.
    pub contact_key_kms_key_arn: String,
    /// `HANDOVER_MARGIN_SECONDS` (1–900, default 60): time kept back from the invocation's
    /// deadline to finish a segment of a big file and hand the rest over
    /// ([`crate::continuation`]). Terraform sets a fifth of the timeout, at most 60 s.
    pub handover_margin: std::time::Duration,
}

impl FromEnv for Env {
    fn from_env(env: &mut EnvReader) -> Self {
        Env {
            input_bucket: env.required("INPUT_BUCKET", "the input bucket name"),
            destinations: env.allowed_countries(),
            ledger: outbound_core::ledger::CampaignLedgerEnv::from_env(env),
            rules: env.redial_rules(),
            results_bucket: env.required("RESULTS_BUCKET", "the results bucket name"),
            state_machine_arn: env.required("STATE_MACHINE_ARN", "the dialer state machine ARN"),
            ssm_prefix: env.ssm_prefix(),
            contact_key_kms_key_arn: env.contact_key_kms_key_arn(),
            handover_margin: std::time::Duration::from_secs(env.number(
                "HANDOVER_MARGIN_SECONDS",
                crate::continuation::DEFAULT_HANDOVER_MARGIN.as_secs(),
                1..=900,
                "whole seconds from 1 to 900",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    outbound_core::env_contract_tests!(Env, include_str!("../environment.json"));
}
