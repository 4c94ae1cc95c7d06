//! The environment `dial` runs with (docs/architecture.md, "Environment variables"; the list
//! is `environment.json`), read once in `main`.

use crate::amd::AnsweringMachineDetection;
use crate::dialing::DialSettings;
use outbound_core::clients::LedgerEnv;
use outbound_core::env::{EnvReader, FromEnv};
use outbound_core::routing_cache::RoutingFileEnv;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Env {
    /// `SSM_PREFIX`, normalised to start and end with `/`.
    pub ssm_prefix: String,
    /// `QUEUE_URL`: the contacts queue.
    pub queue_url: String,
    /// `TABLE_NAME` and `RESULTS_BUCKET`.
    pub ledger: LedgerEnv,
    /// `LEDGER_TABLE_NAME`, `REDIAL_RULES` and `FINAL_RETENTION_DAYS`: the campaign ledger
    /// where attempts begin and end.
    pub attempts: outbound_core::ledger::FinisherEnv,
    /// Long poll of one receive, 0–20 s (`RECEIVE_WAIT_SECONDS`, default 2).
    pub receive_wait_seconds: i32,
    /// How long the queue status and hours are reused (`STATUS_CACHE_SECONDS`, 0–3600, default
    /// 30).
    pub status_cache: Duration,
    /// `BUCKET_NAME`, `COUNTRY_ROUTING_LIST_KEY` and `ROUTING_CACHE_TTL_SECONDS`; `None`: no
    /// routing file, calls use the queue's number.
    pub routing: Option<RoutingFileEnv>,
    /// `ALLOWED_COUNTRIES`: the destinations that may be dialed.
    pub destinations: outbound_core::destinations::DestinationRules,
    /// `CALLING_WINDOW`: the recipients' calling window, checked just before each call.
    pub calling_window: Option<outbound_core::calling_window::CallingWindow>,
    /// `FREQUENCY_CAP`: calls per number per period, recorded just before each call.
    pub frequency_cap: Option<outbound_core::frequency_cap::FrequencyCap>,
    /// `ANSWERING_MACHINE_DETECTION` (the Terraform variable, jsonencoded): `None` when off or
    /// unset.
    pub answering_machine_detection: Option<AnsweringMachineDetection>,
    /// `STATE_MACHINE_ARN`: the dialer's state machine (the next wave is started early).
    pub state_machine_arn: Option<String>,
}

impl FromEnv for Env {
    fn from_env(env: &mut EnvReader) -> Self {
        Env {
            ssm_prefix: env.ssm_prefix(),
            queue_url: env.required("QUEUE_URL", "the contacts queue URL"),
            ledger: LedgerEnv::from_env(env),
            attempts: outbound_core::ledger::FinisherEnv::from_env(env),
            receive_wait_seconds: env.number(
                "RECEIVE_WAIT_SECONDS",
                2,
                0..=20,
                "whole seconds from 0 to 20 (the SQS long-poll maximum)",
            ),
            status_cache: Duration::from_secs(env.number(
                "STATUS_CACHE_SECONDS",
                30,
                0..=3600,
                "whole seconds from 0 to 3600",
            )),
            routing: RoutingFileEnv::read(env),
            destinations: env.allowed_countries(),
            calling_window: env.calling_window(),
            frequency_cap: env.frequency_cap(),
            answering_machine_detection: answering_machine_detection(env),
            state_machine_arn: env
                .optional("STATE_MACHINE_ARN")
                .filter(|arn| !arn.trim().is_empty()),
        }
    }
}

/// `ANSWERING_MACHINE_DETECTION`: unset or blank is off; a value that does not read is a
/// start-up problem naming it and why.
fn answering_machine_detection(env: &mut EnvReader) -> Option<AnsweringMachineDetection> {
    env.parsed_with(
        "ANSWERING_MACHINE_DETECTION",
        r#"{"enabled":true|false,"await_answer_machine_prompt":true|false,"campaign_id":null or an id}"#,
        AnsweringMachineDetection::parse,
    )
    .flatten()
}

impl Env {
    pub fn settings(&self) -> DialSettings {
        let mut settings = DialSettings::new(
            self.ssm_prefix.clone(),
            self.queue_url.clone(),
            self.receive_wait_seconds,
            self.destinations.clone(),
        );
        settings.answering_machine_detection = self.answering_machine_detection.clone();
        settings.window = self.calling_window.clone();
        settings.cap = self.frequency_cap;
        settings.state_machine_arn = self.state_machine_arn.clone();
        settings
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: [(&str, &str); 9] = [
        ("SSM_PREFIX", "/connect/blaster/demo/"),
        ("ALLOWED_COUNTRIES", "GB,IE"),
        (
            "QUEUE_URL",
            "https://sqs.eu-west-2.amazonaws.com/1/demo-contacts",
        ),
        ("TABLE_NAME", "demo-active-dialing"),
        ("RESULTS_BUCKET", "demo-results"),
        ("LEDGER_TABLE_NAME", "demo-campaign-ledger"),
        ("REDIAL_RULES", "{}"),
        ("CALLING_WINDOW", r#"{"enabled":false}"#),
        ("FREQUENCY_CAP", r#"{"enabled":false}"#),
    ];

    fn read(vars: &[(&str, &str)]) -> Result<Env, outbound_core::env::EnvError> {
        EnvReader::from_map(vars.iter().copied()).read()
    }

    #[test]
    fn defaults_and_routing_off() {
        let env = read(&BASE).unwrap();
        assert_eq!(env.receive_wait_seconds, 2);
        assert_eq!(env.status_cache, Duration::from_secs(30));
        assert_eq!(env.routing, None);
        assert_eq!(env.settings().ssm_prefix, "/connect/blaster/demo/");
        assert_eq!(env.ledger.table_name, "demo-active-dialing");
        assert_eq!(env.settings().window, None, "the window is disabled");
        assert_eq!(env.settings().cap, None, "the cap is off");
    }

    #[test]
    fn routing_needs_both_variables() {
        let mut vars = BASE.to_vec();
        vars.push(("BUCKET_NAME", "routing"));
        assert_eq!(
            read(&vars).unwrap_err().names(),
            ["COUNTRY_ROUTING_LIST_KEY"]
        );
        vars.push(("COUNTRY_ROUTING_LIST_KEY", "routing.json"));
        vars.push(("ROUTING_CACHE_TTL_SECONDS", "45"));
        assert_eq!(
            read(&vars).unwrap().routing,
            Some(RoutingFileEnv {
                bucket: "routing".into(),
                key: "routing.json".into(),
                ttl: Duration::from_secs(45),
            })
        );
    }

    #[test]
    fn answering_machine_detection_is_off_unless_enabled() {
        assert_eq!(
            read(&BASE).unwrap().settings().answering_machine_detection,
            None
        );
        let mut vars = BASE.to_vec();
        vars.push((
            "ANSWERING_MACHINE_DETECTION",
            r#"{"await_answer_machine_prompt":false,"campaign_id":"cmp-1","enabled":true}"#,
        ));
        assert_eq!(
            read(&vars).unwrap().settings().answering_machine_detection,
            Some(AnsweringMachineDetection {
                await_prompt: false,
                campaign_id: Some("cmp-1".into())
            })
        );
        vars.pop();
        vars.push(("ANSWERING_MACHINE_DETECTION", "true"));
        let err = read(&vars).unwrap_err();
        assert_eq!(err.names(), ["ANSWERING_MACHINE_DETECTION"]);
    }

    #[test]
    fn the_prefix_is_normalised() {
        let mut vars = BASE.to_vec();
        vars[0] = ("SSM_PREFIX", "connect/blaster/demo");
        assert_eq!(read(&vars).unwrap().ssm_prefix, "/connect/blaster/demo/");
    }

    #[test]
    fn every_bad_value_is_named_at_once() {
        let mut vars = BASE[1..].to_vec();
        vars.push(("RECEIVE_WAIT_SECONDS", "30"));
        vars.push(("STATUS_CACHE_SECONDS", "half a minute"));
        let err = read(&vars).unwrap_err();
        assert_eq!(
            err.names(),
            ["SSM_PREFIX", "RECEIVE_WAIT_SECONDS", "STATUS_CACHE_SECONDS"],
            "{err}"
        );
    }

    outbound_core::env_contract_tests!(Env, include_str!("../environment.json"));
}
