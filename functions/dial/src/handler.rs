//! One invocation of dial: the documented steps, with the clients and configuration passed
//! in (`main.rs` builds them once).

use crate::dialing::{DialSettings, Dialer, SourceNumberChooser};
use outbound_core::error::FunctionError;
use serde_json::Value;
use std::time::Duration;

/// The environment `dial` runs with (docs/architecture.md, "Environment variables").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Env {
    pub ssm_prefix: String,
    pub queue_url: String,
    pub table_name: String,
    pub results_bucket: String,
    /// Long poll of one receive, 0–20 s (`RECEIVE_WAIT_SECONDS`, default 2).
    pub receive_wait_seconds: i32,
    /// How long the queue status and hours are reused (`STATUS_CACHE_SECONDS`, default 30).
    pub status_cache: Duration,
    /// `BUCKET_NAME` and `COUNTRY_ROUTING_LIST_KEY`; `None`: no routing file, the queue's number.
    pub routing: Option<(String, String)>,
}

impl Env {
    /// Reads the variables through `get` (the process environment in `main`, a map in tests).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let var = |name: &str| {
            get(name)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let required = |name: &str| var(name).ok_or_else(|| format!("{name} is not set"));
        let ssm_prefix = required("SSM_PREFIX")?;
        if !ssm_prefix.starts_with('/') || !ssm_prefix.ends_with('/') {
            return Err(format!(
                "SSM_PREFIX must start and end with '/': {ssm_prefix}"
            ));
        }
        let receive_wait_seconds = match var("RECEIVE_WAIT_SECONDS") {
            None => 2,
            Some(v) => v
                .parse::<i32>()
                .ok()
                .filter(|s| (0..=20).contains(s))
                .ok_or_else(|| format!("RECEIVE_WAIT_SECONDS must be 0..=20 seconds, not {v}"))?,
        };
        let status_cache = match var("STATUS_CACHE_SECONDS") {
            None => Duration::from_secs(30),
            Some(v) => Duration::from_secs(
                v.parse::<u64>()
                    .map_err(|_| format!("STATUS_CACHE_SECONDS must be whole seconds, not {v}"))?,
            ),
        };
        let routing = match (var("BUCKET_NAME"), var("COUNTRY_ROUTING_LIST_KEY")) {
            (Some(bucket), Some(key)) => Some((bucket, key)),
            _ => None,
        };
        Ok(Self {
            ssm_prefix,
            queue_url: required("QUEUE_URL")?,
            table_name: required("TABLE_NAME")?,
            results_bucket: required("RESULTS_BUCKET")?,
            receive_wait_seconds,
            status_cache,
            routing,
        })
    }

    pub fn settings(&self) -> DialSettings {
        DialSettings::new(
            self.ssm_prefix.clone(),
            self.queue_url.clone(),
            self.receive_wait_seconds,
        )
    }
}

/// One invocation: the lane state plus `taskToken` in, `{"status","contactId"}` out.
pub async fn handle<C: SourceNumberChooser>(
    dialer: &Dialer<C>,
    event: Value,
) -> Result<Value, FunctionError> {
    let output = dialer.handle(event).await?;
    serde_json::to_value(output).map_err(|e| FunctionError::retryable(format!("output: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| map.get(name).cloned()
    }

    const BASE: [(&str, &str); 4] = [
        ("SSM_PREFIX", "/connect/blaster/demo/"),
        (
            "QUEUE_URL",
            "https://sqs.eu-west-2.amazonaws.com/1/demo-contacts",
        ),
        ("TABLE_NAME", "demo-active-dialing"),
        ("RESULTS_BUCKET", "demo-results"),
    ];

    #[test]
    fn defaults_and_routing_off() {
        let env = Env::from_lookup(lookup(&BASE)).unwrap();
        assert_eq!(env.receive_wait_seconds, 2);
        assert_eq!(env.status_cache, Duration::from_secs(30));
        assert_eq!(env.routing, None);
        assert_eq!(env.settings().ssm_prefix, "/connect/blaster/demo/");
    }

    #[test]
    fn routing_needs_both_variables() {
        let mut vars = BASE.to_vec();
        vars.push(("BUCKET_NAME", "routing"));
        assert_eq!(Env::from_lookup(lookup(&vars)).unwrap().routing, None);
        vars.push(("COUNTRY_ROUTING_LIST_KEY", "routing.json"));
        assert_eq!(
            Env::from_lookup(lookup(&vars)).unwrap().routing,
            Some(("routing".into(), "routing.json".into()))
        );
    }

    #[test]
    fn bad_values_are_named() {
        let mut vars = BASE.to_vec();
        vars.push(("RECEIVE_WAIT_SECONDS", "30"));
        assert!(Env::from_lookup(lookup(&vars))
            .unwrap_err()
            .contains("RECEIVE_WAIT_SECONDS"));
        let err = Env::from_lookup(lookup(&BASE[1..])).unwrap_err();
        assert!(err.contains("SSM_PREFIX"), "{err}");
        let mut vars = BASE.to_vec();
        vars[0] = ("SSM_PREFIX", "/connect/blaster/demo");
        assert!(Env::from_lookup(lookup(&vars)).is_err());
    }
}
