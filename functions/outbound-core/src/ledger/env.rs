//! The environment of the functions that use the campaign ledger (`LEDGER_TABLE_NAME`), and of
//! those that end attempts (`REDIAL_RULES`, `FINAL_RETENTION_DAYS`).

use super::finisher::Finisher;
use super::ops::CampaignLedger;
use super::rules::RedialRules;
use crate::env::{EnvReader, FromEnv};
use chrono::Duration;

/// `LEDGER_TABLE_NAME`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CampaignLedgerEnv {
    pub table_name: String,
}

impl FromEnv for CampaignLedgerEnv {
    fn from_env(env: &mut EnvReader) -> Self {
        CampaignLedgerEnv {
            table_name: env.required("LEDGER_TABLE_NAME", "the campaign ledger table name"),
        }
    }
}

/// Final items kept this many days by default (`FINAL_RETENTION_DAYS`; 0 keeps them).
pub const DEFAULT_FINAL_RETENTION_DAYS: i64 = 90;

/// `LEDGER_TABLE_NAME`, `REDIAL_RULES` and `FINAL_RETENTION_DAYS`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FinisherEnv {
    pub ledger: CampaignLedgerEnv,
    pub rules: RedialRules,
    /// `None`: final items are kept.
    pub final_retention_days: Option<i64>,
}

impl FromEnv for FinisherEnv {
    fn from_env(env: &mut EnvReader) -> Self {
        let ledger = CampaignLedgerEnv::from_env(env);
        let rules = env.redial_rules();
        let days: i64 = env.number(
            "FINAL_RETENTION_DAYS",
            DEFAULT_FINAL_RETENTION_DAYS,
            0..=3650,
            "days a final contact is kept in the ledger, 0 to 3650 (0: for ever)",
        );
        FinisherEnv {
            ledger,
            rules,
            final_retention_days: (days > 0).then_some(days),
        }
    }
}

impl CampaignLedger {
    /// The ledger of `env`; final items kept `final_retention_days` (`None`: for ever).
    pub fn new(
        sdk: &aws_config::SdkConfig,
        env: &CampaignLedgerEnv,
        final_retention_days: Option<i64>,
    ) -> CampaignLedger {
        CampaignLedger {
            dynamodb: aws_sdk_dynamodb::Client::new(sdk),
            table_name: env.table_name.clone(),
            final_retention: final_retention_days.map(Duration::days),
        }
    }
}

impl Finisher {
    pub fn new(sdk: &aws_config::SdkConfig, env: &FinisherEnv) -> Finisher {
        Finisher {
            ledger: CampaignLedger::new(sdk, &env.ledger, env.final_retention_days),
            rules: env.rules.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(vars: &[(&str, &str)]) -> Result<FinisherEnv, crate::env::EnvError> {
        EnvReader::from_map(vars.iter().copied()).read::<FinisherEnv>()
    }

    #[test]
    fn rules_and_retention_are_read_with_their_defaults() {
        let env = read(&[
            ("LEDGER_TABLE_NAME", "demo-campaign-ledger"),
            (
                "REDIAL_RULES",
                r#"{"max_attempts":2,"delay_minutes":{"busy":1}}"#,
            ),
        ])
        .unwrap();
        assert_eq!(env.ledger.table_name, "demo-campaign-ledger");
        assert_eq!(env.rules.max_attempts, 2);
        assert_eq!(env.rules.delay_minutes.busy, 1);
        assert_eq!(env.rules.delay_minutes.no_answer, 120);
        assert_eq!(env.final_retention_days, Some(90));
    }

    #[test]
    fn zero_retention_keeps_final_items() {
        let env = read(&[
            ("LEDGER_TABLE_NAME", "t"),
            ("REDIAL_RULES", "{}"),
            ("FINAL_RETENTION_DAYS", "0"),
        ])
        .unwrap();
        assert_eq!(env.final_retention_days, None);
    }

    #[test]
    fn bad_rules_and_a_missing_table_are_named() {
        let err = read(&[("REDIAL_RULES", r#"{"max_attempts":0}"#)]).unwrap_err();
        let names = err.names();
        assert!(names.contains(&"LEDGER_TABLE_NAME"), "{err}");
        assert!(names.contains(&"REDIAL_RULES"), "{err}");
        let text = err.to_string();
        assert!(text.contains("max_attempts"), "{text}");
        let err = read(&[("LEDGER_TABLE_NAME", "t")]).unwrap_err();
        assert_eq!(err.names(), vec!["REDIAL_RULES"]);
    }
}
