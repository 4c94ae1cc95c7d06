//! The environment get-config runs with (docs/architecture.md, "Environment variables"; the list
//! is `environment.json`), read once in `main`.

use outbound_core::config::{DEFAULT_HISTORY_BUDGET, DEFAULT_MAX_CONCURRENT_CALLS, MAX_LANES};
use outbound_core::env::{EnvReader, FromEnv};

/// How long a fed contact stays leased unless `LEASE_SECONDS` says otherwise: longer than a
/// wave's queue takes to drain, short enough that a dead run's contacts come back the same hour.
pub const DEFAULT_LEASE_SECONDS: i64 = 3600;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Env {
    /// `SSM_PREFIX`, normalised to start and end with `/`.
    pub ssm_prefix: String,
    /// `TABLE_NAME`: the run's claim is kept there.
    pub table_name: String,
    /// `HISTORY_BUDGET`: events one wave may spend on its lanes' calls.
    pub history_budget: u32,
    /// `MAX_CONCURRENT_CALLS`: upper bound on `concurrentcalls`.
    pub max_concurrent_calls: u32,
    /// `LEDGER_TABLE_NAME`, `REDIAL_RULES`, `FINAL_RETENTION_DAYS`: the campaign ledger the
    /// feeder leases from (and where it finishes attempts abandoned by a dead run).
    pub attempts: outbound_core::ledger::FinisherEnv,
    /// `RESULTS_BUCKET`: final records of attempts the feeder finishes.
    pub results_bucket: String,
    /// `QUEUE_URL`: the lanes' queue the feeder fills.
    pub queue_url: String,
    /// `LEASE_SECONDS` (default 3600, 60–86400): how long a fed contact stays leased.
    pub lease_seconds: i64,
    /// `CALLING_WINDOW`: the recipients' calling window the feeder defers contacts by; `None`:
    /// disabled.
    pub calling_window: Option<outbound_core::calling_window::CallingWindow>,
    /// `FREQUENCY_CAP`: calls per number per period the feeder defers capped contacts by;
    /// `None`: off.
    pub frequency_cap: Option<outbound_core::frequency_cap::FrequencyCap>,
}

impl FromEnv for Env {
    fn from_env(env: &mut EnvReader) -> Self {
        Env {
            ssm_prefix: env.ssm_prefix(),
            table_name: env.required("TABLE_NAME", "the ActiveDialing table name"),
            history_budget: env.number(
                "HISTORY_BUDGET",
                DEFAULT_HISTORY_BUDGET,
                1..=u32::MAX,
                "a whole number > 0",
            ),
            max_concurrent_calls: env.number(
                "MAX_CONCURRENT_CALLS",
                DEFAULT_MAX_CONCURRENT_CALLS,
                1..=MAX_LANES,
                "a whole number from 1 to 1000 (the lane list must fit Step Functions' 256 KiB payload)",
            ),
            attempts: outbound_core::ledger::FinisherEnv::from_env(env),
            results_bucket: env.required("RESULTS_BUCKET", "the results bucket name"),
            queue_url: env.required("QUEUE_URL", "the contacts queue URL"),
            lease_seconds: env.number(
                "LEASE_SECONDS",
                DEFAULT_LEASE_SECONDS,
                60..=86_400,
                "whole seconds from 60 to 86400",
            ),
            calling_window: env.calling_window(),
            frequency_cap: env.frequency_cap(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_when_the_numbers_are_unset() {
        let env: Env = EnvReader::from_map([
            ("SSM_PREFIX", "/connect/blaster/demo"),
            ("TABLE_NAME", "demo-activedialing"),
            ("LEDGER_TABLE_NAME", "demo-campaign-ledger"),
            ("REDIAL_RULES", "{}"),
            ("CALLING_WINDOW", "{}"),
            ("FREQUENCY_CAP", "{}"),
            ("RESULTS_BUCKET", "demo-results"),
            (
                "QUEUE_URL",
                "https://sqs.eu-west-2.amazonaws.com/1/demo-contacts",
            ),
        ])
        .read()
        .unwrap();
        assert_eq!(env.ssm_prefix, "/connect/blaster/demo/");
        assert_eq!(env.table_name, "demo-activedialing");
        assert_eq!(env.history_budget, DEFAULT_HISTORY_BUDGET);
        assert_eq!(env.max_concurrent_calls, DEFAULT_MAX_CONCURRENT_CALLS);
        assert_eq!(env.lease_seconds, DEFAULT_LEASE_SECONDS);
        assert_eq!(env.attempts.final_retention_days, Some(90));
        assert!(env.calling_window.is_some(), "{{}} is the default window");
        assert_eq!(env.frequency_cap, None, "the cap is off by default");
    }

    outbound_core::env_contract_tests!(Env, include_str!("../environment.json"));
}
