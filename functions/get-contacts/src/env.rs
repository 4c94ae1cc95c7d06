//! The environment get-contacts runs with (docs/architecture.md, "Environment variables"; the
//! list is `environment.json`), read once in `main`.

use outbound_core::env::{EnvReader, FromEnv};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Env {
    /// `QUEUE_URL`: the contacts queue.
    pub queue_url: String,
    /// `DEAD_LETTER_QUEUE_URL`; without it `deadLettered` is 0.
    pub dead_letter_queue_url: Option<String>,
    /// `LEDGER_TABLE_NAME`: the campaign ledger, asked for contacts due now or soon.
    pub ledger: outbound_core::ledger::CampaignLedgerEnv,
    /// `DUE_WAIT_SECONDS` (default 300, 0–3600): a run whose lanes found nothing waits up to
    /// this long for contacts due later (redials) instead of ending.
    pub due_wait_seconds: u64,
}

impl FromEnv for Env {
    fn from_env(env: &mut EnvReader) -> Self {
        Env {
            queue_url: env.required("QUEUE_URL", "the contacts queue URL"),
            dead_letter_queue_url: env.optional("DEAD_LETTER_QUEUE_URL"),
            ledger: outbound_core::ledger::CampaignLedgerEnv::from_env(env),
            due_wait_seconds: env.number(
                "DUE_WAIT_SECONDS",
                300,
                0..=3600,
                "whole seconds from 0 to 3600",
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    outbound_core::env_contract_tests!(Env, include_str!("../environment.json"));
}
