//! The environment get-config runs with (docs/architecture.md, "Environment variables"; the list
//! is `environment.json`), read once in `main`.

use outbound_core::config::{DEFAULT_HISTORY_BUDGET, DEFAULT_MAX_CONCURRENT_CALLS, MAX_LANES};
use outbound_core::env::{EnvReader, FromEnv};

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
        ])
        .read()
        .unwrap();
        assert_eq!(
            env,
            Env {
                ssm_prefix: "/connect/blaster/demo/".into(),
                table_name: "demo-activedialing".into(),
                history_budget: DEFAULT_HISTORY_BUDGET,
                max_concurrent_calls: DEFAULT_MAX_CONCURRENT_CALLS,
            }
        );
    }

    outbound_core::env_contract_tests!(Env, include_str!("../environment.json"));
}
