//! The environment set-disposition runs with (docs/architecture.md, "Environment variables"; the
//! list is `environment.json`), read once in `main`.

use outbound_core::clients::LedgerEnv;
use outbound_core::env::{EnvReader, FromEnv};
use outbound_core::ledger::rules::{CALLBACK_MAX_DAYS_RANGE, DEFAULT_CALLBACK_MAX_DAYS};
use outbound_core::ledger::CampaignLedgerEnv;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Env {
    /// `TABLE_NAME` and `RESULTS_BUCKET`: the ledger the function records into.
    pub ledger: LedgerEnv,
    /// `LEDGER_TABLE_NAME`: the campaign ledger, where callbacks are scheduled.
    pub campaign_ledger: CampaignLedgerEnv,
    /// `CALLBACK_MAX_DAYS`: how far ahead a callback may be (the variable
    /// `redial.callback_max_days`).
    pub callback_max_days: u32,
}

impl FromEnv for Env {
    fn from_env(env: &mut EnvReader) -> Self {
        Env {
            ledger: LedgerEnv::from_env(env),
            campaign_ledger: CampaignLedgerEnv::from_env(env),
            callback_max_days: env.number(
                "CALLBACK_MAX_DAYS",
                DEFAULT_CALLBACK_MAX_DAYS,
                CALLBACK_MAX_DAYS_RANGE,
                "days ahead an agent's callback may be, 1 to 365",
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    outbound_core::env_contract_tests!(Env, include_str!("../environment.json"));

    #[test]
    fn the_callback_horizon_defaults_to_thirty_days() {
        let env = EnvReader::from_map([
            ("TABLE_NAME", "t"),
            ("RESULTS_BUCKET", "b"),
            ("LEDGER_TABLE_NAME", "l"),
        ])
        .read::<Env>()
        .unwrap();
        assert_eq!(env.callback_max_days, 30);
        assert_eq!(env.campaign_ledger.table_name, "l");
    }
}
