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
    /// `FINAL_RETENTION_DAYS` (default 90, 0–3650; `None`: kept): how long a contact made final
    /// at intake (on the do-not-call list) is kept in the ledger.
    pub final_retention_days: Option<i64>,
    /// `CALLING_WINDOW`: the recipients' window the plan defers contacts by (the feeder and dial
    /// enforce it); `None`: disabled.
    pub calling_window: Option<outbound_core::calling_window::CallingWindow>,
    /// `FREQUENCY_CAP`: the cap the plan counts capped numbers by; `None`: off.
    pub frequency_cap: Option<outbound_core::frequency_cap::FrequencyCap>,
    /// `MAX_CONCURRENT_CALLS` (default 40, 1–1000): the bound on `concurrentcalls`, for the
    /// plan's lanes.
    pub max_concurrent_calls: u32,
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
            final_retention_days: {
                let days: i64 = env.number(
                    "FINAL_RETENTION_DAYS",
                    outbound_core::ledger::env::DEFAULT_FINAL_RETENTION_DAYS,
                    0..=3650,
                    "days a final contact is kept in the ledger, 0 to 3650 (0: for ever)",
                );
                (days > 0).then_some(days)
            },
            calling_window: env.calling_window(),
            frequency_cap: env.frequency_cap(),
            max_concurrent_calls: env.number(
                "MAX_CONCURRENT_CALLS",
                outbound_core::config::DEFAULT_MAX_CONCURRENT_CALLS,
                1..=outbound_core::config::MAX_LANES,
                "a whole number from 1 to 1000",
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    outbound_core::env_contract_tests!(Env, include_str!("../environment.json"));
}
