//! The dialer's configuration: SSM parameters under one prefix, read into a typed struct.
//!
//! All parameters are read with one paginated `GetParametersByPath` (not recursive, decrypted),
//! so a run sees one consistent snapshot and the function needs one IAM action on one path.
//! A missing or malformed value is a [`ConfigError`] that names the parameter and says what was
//! expected; it surfaces as the `ConfigError` error name, which the state machine catches to end
//! and release the run instead of retrying a value that will not fix itself.
//!
//! Names and meanings are the contract in `docs/architecture.md` ("SSM parameters").

use crate::error::{classify_sdk_error, ErrorName, FunctionError};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// Parameter names (the part after the prefix), as the original solution named them.
pub mod names {
    pub const CONNECT_ID: &str = "connectid";
    pub const CONTACT_FLOW: &str = "contactflow";
    pub const QUEUE: &str = "queue";
    pub const COUNTRY_CODE: &str = "countrycode";
    pub const ISO_COUNTRY_CODE: &str = "isocountrycode";
    pub const CONCURRENT_CALLS: &str = "concurrentcalls";
    pub const TIME_OUT: &str = "timeOut";
    pub const CALLS_PER_SECOND: &str = "callspersecond";
    pub const RESULTS_BUCKET: &str = "ResultsBucket";
    pub const ACTIVE_BLASTER: &str = "activeBlaster";
    pub const DIAL_INDEX: &str = "dialIndex";
    pub const TABLE_ACTIVE_DIALING: &str = "table-activedialing";
    pub const TOTAL_RECORDS: &str = "totalRecords";
}

/// History events one dialed contact adds to the execution that runs its lane.
///
/// A `.waitForTaskToken` Task records `TaskStateEntered`, `TaskScheduled`, `TaskStarted`,
/// `TaskSubmitted`, `TaskSucceeded` and `TaskStateExited` (6); the lane's Choice after it adds
/// `ChoiceStateEntered` and `ChoiceStateExited` (2). Counting the Choice keeps the estimate on the
/// safe side; a retried attempt adds 3 more (`TaskScheduled`/`TaskStarted`/`TaskFailed`), which
/// the headroom between `HISTORY_BUDGET` (default 8,000) and the 25,000-event hard limit absorbs.
pub const EVENTS_PER_CALL: u32 = 8;

/// Default for `HISTORY_BUDGET`: history events one wave may spend on its lanes' calls.
pub const DEFAULT_HISTORY_BUDGET: u32 = 8_000;

/// Default for `MAX_CONCURRENT_CALLS` when the environment does not set it: the largest inline
/// Map concurrency Step Functions runs (above that, lanes need a Distributed Map).
pub const DEFAULT_MAX_CONCURRENT_CALLS: u32 = 40;

/// Most lanes a wave may run. The lane list travels in get-config's output and the lanes'
/// results come back as one Map output; Step Functions caps a state's input and output at
/// 256 KiB ("Maximum input or output size for a task, state, or execution: 256 KiB of data as a
/// UTF-8 encoded string", Step Functions quotas, docs.aws.amazon.com/step-functions/latest/dg/
/// service-quotas.html). A lane state is at most about 150 bytes with an 80-character run id, so
/// 1,000 lanes stay near 150 KiB: get-config's tests check the bound. The module's
/// `max_concurrent_calls` validation carries the same number.
pub const MAX_LANES: u32 = 1_000;

/// Longest `timeOut` accepted: a lane that waits more than a day for one call is a typo.
pub const MAX_TIMEOUT_SECONDS: u32 = 86_400;

/// The typed dialer configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DialerConfig {
    /// `connectid`: the Connect instance id.
    pub connect_id: String,
    /// `contactflow`: the contact flow id for outbound calls.
    pub contact_flow_id: String,
    /// `queue`: the Connect queue id.
    pub queue_id: String,
    /// `countrycode`: calling code of the default region (`44`).
    pub country_code: u16,
    /// `isocountrycode`: ISO 3166-1 alpha-2 default region, upper case (`GB`).
    pub iso_country_code: String,
    /// `concurrentcalls` as written (get-config clamps it, see [`DialerConfig::lanes`]).
    pub concurrent_calls: u32,
    /// `timeOut`: seconds a lane waits for a call's end before reconciling.
    pub timeout_seconds: u32,
    /// `callspersecond`: dial rate shared by all lanes.
    pub calls_per_second: f64,
    /// `ResultsBucket`.
    pub results_bucket: String,
    /// `activeBlaster` (`True`/`False`): the stop switch.
    pub active: bool,
    /// `dialIndex`: calls placed in the current run (0 when not yet written).
    pub dial_index: u64,
    /// `table-activedialing`: the ActiveDialing table name.
    pub table_name: String,
    /// `totalRecords`: contacts queued in the current run (0 when not yet written).
    pub total_records: u64,
}

/// A parameter that is missing or does not hold what the dialer needs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("SSM parameter {parameter} is missing: {expected}")]
    Missing {
        parameter: String,
        expected: &'static str,
    },
    #[error("SSM parameter {parameter} is {value:?}: expected {expected}")]
    Invalid {
        parameter: String,
        value: String,
        expected: String,
    },
}

impl From<ConfigError> for FunctionError {
    fn from(err: ConfigError) -> Self {
        FunctionError::config(err.to_string())
    }
}

/// `SSM_PREFIX` normalised to start and end with `/` (`/connect/blaster/demo/`).
pub fn normalise_prefix(prefix: &str) -> String {
    let trimmed = prefix.trim().trim_matches('/');
    if trimmed.is_empty() {
        "/".to_string()
    } else {
        format!("/{trimmed}/")
    }
}

/// Full parameter name for `name` under `prefix` (which ends with `/`).
pub fn parameter_name(prefix: &str, name: &str) -> String {
    format!("{}{}", normalise_prefix(prefix), name)
}

/// Reads every parameter directly under `prefix` (not recursive, decrypted, all pages) into a
/// map keyed by the short name.
pub async fn read_parameters(
    ssm: &aws_sdk_ssm::Client,
    prefix: &str,
) -> Result<BTreeMap<String, String>, FunctionError> {
    let prefix = normalise_prefix(prefix);
    // GetParametersByPath wants the path without the trailing slash (except for the root).
    let path = if prefix == "/" {
        "/".to_string()
    } else {
        prefix.trim_end_matches('/').to_string()
    };
    let mut out = BTreeMap::new();
    let mut pages = ssm
        .get_parameters_by_path()
        .path(&path)
        .recursive(false)
        .with_decryption(true)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| sdk_failure("GetParametersByPath", &path, &e))?;
        for p in page.parameters() {
            let (Some(name), Some(value)) = (p.name(), p.value()) else {
                continue;
            };
            if let Some(short) = name.strip_prefix(&prefix) {
                out.insert(short.to_string(), value.to_string());
            }
        }
    }
    Ok(out)
}

/// Reads SSM parameters `<prefix><name>` in one `GetParameters` call (at most 10 names). A
/// missing or empty parameter is a `ConfigError` naming it.
pub async fn get_parameters(
    ssm: &aws_sdk_ssm::Client,
    prefix: &str,
    names: &[&str],
) -> Result<HashMap<String, String>, FunctionError> {
    let out = ssm
        .get_parameters()
        .set_names(Some(names.iter().map(|n| format!("{prefix}{n}")).collect()))
        .send()
        .await
        .map_err(|e| crate::completion::store_error("SSM GetParameters", &e))?;
    let values: HashMap<String, String> = out
        .parameters()
        .iter()
        .filter_map(|p| {
            let name = p.name()?.strip_prefix(prefix)?.to_string();
            Some((name, p.value()?.trim().to_string()))
        })
        .collect();
    let missing: Vec<&str> = names
        .iter()
        .copied()
        .filter(|n| values.get(*n).is_none_or(|v| v.is_empty()))
        .collect();
    if !missing.is_empty() {
        return Err(FunctionError::config(format!(
            "missing SSM parameters under {prefix}: {}",
            missing.join(", ")
        )));
    }
    Ok(values)
}

fn sdk_failure<E>(
    operation: &str,
    target: &str,
    err: &aws_smithy_runtime_api::client::result::SdkError<
        E,
        aws_smithy_runtime_api::client::orchestrator::HttpResponse,
    >,
) -> FunctionError
where
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata,
{
    use aws_smithy_types::error::metadata::ProvideErrorMetadata;
    let code = err.code().unwrap_or("unknown");
    match classify_sdk_error(err) {
        ErrorName::Throttled => FunctionError::throttled(format!("{operation} {target}: {code}")),
        ErrorName::Retryable => FunctionError::retryable(format!("{operation} {target}: {code}")),
        // Access denied or a malformed path: the deployment is wrong, not the event.
        _ => FunctionError::config(format!("{operation} {target}: {code}")),
    }
}

/// Reads only `isocountrycode` (one `GetParameter`): the default region of the intake
/// functions, which need nothing else of the configuration.
pub async fn read_default_region(
    ssm: &aws_sdk_ssm::Client,
    prefix: &str,
) -> Result<phonenumber::country::Id, FunctionError> {
    use aws_sdk_ssm::operation::get_parameter::GetParameterError;
    const EXPECTED: &str = "an ISO 3166-1 alpha-2 region such as GB";
    let name = parameter_name(prefix, names::ISO_COUNTRY_CODE);
    let value = match ssm
        .get_parameter()
        .name(&name)
        .with_decryption(true)
        .send()
        .await
    {
        Ok(out) => out
            .parameter()
            .and_then(|p| p.value())
            .unwrap_or_default()
            .to_string(),
        Err(e)
            if matches!(
                e.as_service_error(),
                Some(GetParameterError::ParameterNotFound(_))
            ) =>
        {
            return Err(ConfigError::Missing {
                parameter: name,
                expected: EXPECTED,
            }
            .into())
        }
        Err(e) => return Err(sdk_failure("GetParameter", &name, &e)),
    };
    crate::phone::region_id(&value).map_err(|_| {
        ConfigError::Invalid {
            parameter: name,
            value: value.chars().take(64).collect(),
            expected: EXPECTED.into(),
        }
        .into()
    })
}

/// Reads and validates the whole configuration.
pub async fn load_config(
    ssm: &aws_sdk_ssm::Client,
    prefix: &str,
) -> Result<DialerConfig, FunctionError> {
    let params = read_parameters(ssm, prefix).await?;
    Ok(parse_config(&params, prefix)?)
}

/// Builds the typed configuration from the parameters read under `prefix`.
pub fn parse_config(
    params: &BTreeMap<String, String>,
    prefix: &str,
) -> Result<DialerConfig, ConfigError> {
    let p = Params {
        params,
        prefix: normalise_prefix(prefix),
    };
    let iso = p.required(
        names::ISO_COUNTRY_CODE,
        "an ISO 3166-1 alpha-2 region such as GB",
    )?;
    let region = crate::phone::region_id(iso).map_err(|_| {
        p.invalid(
            names::ISO_COUNTRY_CODE,
            iso,
            "an ISO 3166-1 alpha-2 region such as GB",
        )
    })?;
    let region_code = iso.trim().to_ascii_uppercase();
    let calling_code = crate::phone::calling_code_of(&region_code);
    let cc_raw = p.required(names::COUNTRY_CODE, "the numeric calling code, such as 44")?;
    let country_code: u16 = cc_raw
        .trim()
        .trim_start_matches('+')
        .parse()
        .ok()
        .filter(|c| (1..=999).contains(c))
        .ok_or_else(|| {
            p.invalid(
                names::COUNTRY_CODE,
                cc_raw,
                "a calling code of 1 to 3 digits",
            )
        })?;
    if let Some(expected) = calling_code {
        if expected != country_code {
            return Err(p.invalid(
                names::COUNTRY_CODE,
                cc_raw,
                &format!(
                    "{expected}, the calling code of isocountrycode {}",
                    region.as_ref()
                ),
            ));
        }
    }
    let concurrent_calls = p.integer(
        names::CONCURRENT_CALLS,
        1,
        u32::MAX as u64,
        "an integer >= 1",
    )? as u32;
    let timeout_seconds = p.integer(
        names::TIME_OUT,
        1,
        MAX_TIMEOUT_SECONDS as u64,
        "whole seconds between 1 and 86400",
    )? as u32;
    let cps_raw = p.required(names::CALLS_PER_SECOND, "a number of calls per second > 0")?;
    let calls_per_second: f64 = cps_raw
        .trim()
        .parse()
        .ok()
        .filter(|v: &f64| v.is_finite() && *v > 0.0)
        .ok_or_else(|| p.invalid(names::CALLS_PER_SECOND, cps_raw, "a number > 0, such as 2"))?;
    let active_raw = p.required(names::ACTIVE_BLASTER, "True or False")?;
    let active = parse_switch(active_raw)
        .ok_or_else(|| p.invalid(names::ACTIVE_BLASTER, active_raw, "True or False"))?;
    Ok(DialerConfig {
        connect_id: p.identifier(names::CONNECT_ID, "the Connect instance id")?,
        contact_flow_id: p.identifier(names::CONTACT_FLOW, "the outbound contact flow id")?,
        queue_id: p.identifier(names::QUEUE, "the Connect queue id")?,
        country_code,
        iso_country_code: region.as_ref().to_string(),
        concurrent_calls,
        timeout_seconds,
        calls_per_second,
        results_bucket: p.identifier(names::RESULTS_BUCKET, "the results bucket name")?,
        active,
        dial_index: p.counter(names::DIAL_INDEX)?,
        table_name: p.identifier(names::TABLE_ACTIVE_DIALING, "the ActiveDialing table name")?,
        total_records: p.counter(names::TOTAL_RECORDS)?,
    })
}

/// `True`/`False` as the original wrote them; case and surrounding blanks are forgiven.
pub fn parse_switch(raw: &str) -> Option<bool> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    }
}

impl DialerConfig {
    /// Lanes for a wave: `concurrentcalls` clamped to `max_concurrent_calls` (the module's
    /// `max_concurrent_calls`, which sized the Map and Connect's quota). A clamp is logged as a
    /// warning: the operator asked for more than the deployment allows.
    pub fn lanes(&self, max_concurrent_calls: u32) -> u32 {
        let max = max_concurrent_calls.max(1);
        if self.concurrent_calls > max {
            tracing::warn!(
                requested = self.concurrent_calls,
                max,
                "concurrentcalls is above MAX_CONCURRENT_CALLS: clamped"
            );
            max
        } else {
            self.concurrent_calls
        }
    }
}

/// Calls one lane may place in one wave so that the wave's execution history stays within
/// `history_budget` events: `max(1, floor(history_budget / (lanes × EVENTS_PER_CALL)))`.
///
/// A lane that reaches it ends with `LaneBudgetExhausted` and the controller starts the next
/// wave, so no execution's history grows with the campaign.
pub fn lane_budget(history_budget: u32, lanes: u32) -> u32 {
    let per_wave = u64::from(lanes.max(1)) * u64::from(EVENTS_PER_CALL);
    ((u64::from(history_budget) / per_wave) as u32).max(1)
}

struct Params<'a> {
    params: &'a BTreeMap<String, String>,
    prefix: String,
}

impl Params<'_> {
    fn full(&self, name: &str) -> String {
        format!("{}{}", self.prefix, name)
    }

    fn required(&self, name: &str, expected: &'static str) -> Result<&str, ConfigError> {
        match self.params.get(name) {
            Some(v) if !v.trim().is_empty() => Ok(v.as_str()),
            Some(v) => Err(self.invalid(name, v, expected)),
            None => Err(ConfigError::Missing {
                parameter: self.full(name),
                expected,
            }),
        }
    }

    fn invalid(&self, name: &str, value: &str, expected: &str) -> ConfigError {
        // Values are configuration, never personal data; long ones are cut to keep logs short.
        let shown: String = value.chars().take(64).collect();
        ConfigError::Invalid {
            parameter: self.full(name),
            value: shown,
            expected: expected.to_string(),
        }
    }

    /// A resource id or name: non-empty, no blanks inside (a pasted ARN or a stray space would
    /// only fail later, at dial time).
    fn identifier(&self, name: &str, expected: &'static str) -> Result<String, ConfigError> {
        let raw = self.required(name, expected)?;
        let v = raw.trim();
        if v.chars().any(char::is_whitespace) {
            return Err(self.invalid(name, raw, expected));
        }
        Ok(v.to_string())
    }

    fn integer(
        &self,
        name: &str,
        min: u64,
        max: u64,
        expected: &'static str,
    ) -> Result<u64, ConfigError> {
        let raw = self.required(name, expected)?;
        raw.trim()
            .parse::<u64>()
            .ok()
            .filter(|v| (min..=max).contains(v))
            .ok_or_else(|| self.invalid(name, raw, expected))
    }

    /// A run-time counter: absent means nothing was counted yet.
    fn counter(&self, name: &str) -> Result<u64, ConfigError> {
        match self.params.get(name) {
            None => Ok(0),
            Some(v) if v.trim().is_empty() => Ok(0),
            Some(v) => v
                .trim()
                .parse::<u64>()
                .map_err(|_| self.invalid(name, v, "a whole number >= 0")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mocked;
    use aws_sdk_ssm::operation::get_parameters_by_path::{
        GetParametersByPathError, GetParametersByPathOutput,
    };
    use aws_sdk_ssm::types::Parameter;
    use aws_smithy_mocks::mock;

    const PREFIX: &str = "/connect/blaster/test/";

    fn good() -> BTreeMap<String, String> {
        [
            ("connectid", "11111111-2222-3333-4444-555555555555"),
            ("contactflow", "66666666-7777-8888-9999-000000000000"),
            ("queue", "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"),
            ("countrycode", "44"),
            ("isocountrycode", "gb"),
            ("concurrentcalls", "4"),
            ("timeOut", "120"),
            ("callspersecond", "2"),
            ("ResultsBucket", "results-bucket"),
            ("activeBlaster", "True"),
            ("dialIndex", "17"),
            ("table-activedialing", "active-dialing"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    #[test]
    fn parses_a_complete_configuration() {
        let c = parse_config(&good(), PREFIX).unwrap();
        assert_eq!(c.connect_id, "11111111-2222-3333-4444-555555555555");
        assert_eq!(c.iso_country_code, "GB");
        assert_eq!(c.country_code, 44);
        assert_eq!(c.concurrent_calls, 4);
        assert_eq!(c.timeout_seconds, 120);
        assert_eq!(c.calls_per_second, 2.0);
        assert!(c.active);
        assert_eq!(c.dial_index, 17);
        // totalRecords was never written: nothing queued yet.
        assert_eq!(c.total_records, 0);
        let v = serde_json::to_value(&c).unwrap();
        assert_eq!(v["timeoutSeconds"], 120);
        assert_eq!(v["connectId"], "11111111-2222-3333-4444-555555555555");
    }

    #[test]
    fn missing_parameter_is_named_with_its_full_path() {
        let mut p = good();
        p.remove("contactflow");
        let err = parse_config(&p, PREFIX).unwrap_err();
        assert_eq!(
            err,
            ConfigError::Missing {
                parameter: "/connect/blaster/test/contactflow".into(),
                expected: "the outbound contact flow id"
            }
        );
        let f: FunctionError = err.into();
        assert_eq!(f.name, ErrorName::ConfigError);
        assert!(
            f.message.contains("/connect/blaster/test/contactflow"),
            "{}",
            f.message
        );
    }

    #[test]
    fn invalid_values_say_what_was_expected() {
        let cases = [
            ("concurrentcalls", "0", "an integer >= 1"),
            ("concurrentcalls", "four", "an integer >= 1"),
            ("timeOut", "-5", "whole seconds between 1 and 86400"),
            ("timeOut", "90000", "whole seconds between 1 and 86400"),
            ("callspersecond", "0", "a number > 0, such as 2"),
            ("callspersecond", "NaN", "a number > 0, such as 2"),
            ("activeBlaster", "yes", "True or False"),
            (
                "isocountrycode",
                "XX",
                "an ISO 3166-1 alpha-2 region such as GB",
            ),
            (
                "countrycode",
                "1",
                "44, the calling code of isocountrycode GB",
            ),
            ("countrycode", "4444", "a calling code of 1 to 3 digits"),
            ("dialIndex", "x", "a whole number >= 0"),
            ("queue", "arn:aws:connect queue", "the Connect queue id"),
            ("ResultsBucket", "  ", "the results bucket name"),
        ];
        for (name, value, expected) in cases {
            let mut p = good();
            p.insert(name.to_string(), value.to_string());
            match parse_config(&p, PREFIX) {
                Err(ConfigError::Invalid {
                    parameter,
                    expected: e,
                    ..
                }) => {
                    assert_eq!(parameter, format!("{PREFIX}{name}"), "{name}={value}");
                    assert_eq!(e, expected, "{name}={value}");
                }
                other => panic!("{name}={value}: {other:?}"),
            }
        }
    }

    #[test]
    fn switch_accepts_the_original_spelling_and_forgives_case() {
        assert_eq!(parse_switch("True"), Some(true));
        assert_eq!(parse_switch(" false "), Some(false));
        assert_eq!(parse_switch("FALSE"), Some(false));
        assert_eq!(parse_switch("0"), None);
    }

    #[test]
    fn prefix_is_normalised() {
        assert_eq!(
            normalise_prefix("/connect/blaster/x"),
            "/connect/blaster/x/"
        );
        assert_eq!(
            normalise_prefix("connect/blaster/x/"),
            "/connect/blaster/x/"
        );
        assert_eq!(parameter_name("/a/b", "timeOut"), "/a/b/timeOut");
    }

    #[test]
    fn lane_budget_bounds_the_history() {
        // 8000 / (4 × 8) = 250 calls per lane per wave.
        assert_eq!(lane_budget(8_000, 4), 250);
        assert_eq!(lane_budget(8_000, 40), 25);
        // Never zero: a lane always places at least one call.
        assert_eq!(lane_budget(8_000, 5_000), 1);
        assert_eq!(lane_budget(0, 1), 1);
        // Zero lanes is treated as one, not a division by zero.
        assert_eq!(lane_budget(800, 0), 100);
        // The whole wave stays within the budget.
        for lanes in 1..=100u32 {
            let b = lane_budget(8_000, lanes);
            assert!(
                b * lanes * EVENTS_PER_CALL <= 8_000 || b == 1,
                "lanes {lanes}"
            );
        }
    }

    #[test]
    fn lanes_are_clamped_to_the_deployment_maximum() {
        let mut c = parse_config(&good(), PREFIX).unwrap();
        c.concurrent_calls = 60;
        assert_eq!(c.lanes(40), 40);
        c.concurrent_calls = 3;
        assert_eq!(c.lanes(40), 3);
        assert_eq!(c.lanes(0), 1);
    }

    fn page(params: &[(String, String)], next: Option<&str>) -> GetParametersByPathOutput {
        let mut b = GetParametersByPathOutput::builder();
        for (k, v) in params {
            b = b.parameters(
                Parameter::builder()
                    .name(format!("{PREFIX}{k}"))
                    .value(v)
                    .build(),
            );
        }
        b.set_next_token(next.map(str::to_string)).build()
    }

    #[tokio::test]
    async fn reads_every_page_without_recursion_and_with_decryption() {
        let all: Vec<(String, String)> = good().into_iter().collect();
        let first = all[..6].to_vec();
        let second = all[6..].to_vec();
        let p1 = mock!(aws_sdk_ssm::Client::get_parameters_by_path)
            .match_requests(|r| {
                r.path() == Some("/connect/blaster/test")
                    && r.recursive() == Some(false)
                    && r.with_decryption() == Some(true)
                    && r.next_token().is_none()
            })
            .then_output(move || page(&first, Some("t2")));
        let p2 = mock!(aws_sdk_ssm::Client::get_parameters_by_path)
            .match_requests(|r| r.next_token() == Some("t2"))
            .then_output(move || page(&second, None));
        let ssm = mocked!(aws_sdk_ssm, [&p1, &p2]);
        let c = load_config(&ssm, "/connect/blaster/test").await.unwrap();
        assert_eq!(c, parse_config(&good(), PREFIX).unwrap());
        assert_eq!(p1.num_calls(), 1);
        assert_eq!(p2.num_calls(), 1);
    }

    #[tokio::test]
    async fn throttling_is_not_a_config_error() {
        let rule = mock!(aws_sdk_ssm::Client::get_parameters_by_path).then_error(|| {
            GetParametersByPathError::generic(
                aws_smithy_types::error::ErrorMetadata::builder()
                    .code("ThrottlingException")
                    .build(),
            )
        });
        let ssm = mocked!(aws_sdk_ssm, [&rule]);
        let err = load_config(&ssm, PREFIX).await.unwrap_err();
        assert_eq!(err.name, ErrorName::Throttled);
    }

    #[tokio::test]
    async fn missing_value_from_ssm_is_a_config_error() {
        let rule = mock!(aws_sdk_ssm::Client::get_parameters_by_path)
            .then_output(|| page(&[("connectid".to_string(), "x".to_string())], None));
        let ssm = mocked!(aws_sdk_ssm, [&rule]);
        let err = load_config(&ssm, PREFIX).await.unwrap_err();
        assert_eq!(err.name, ErrorName::ConfigError);
        assert!(err.message.contains(PREFIX), "{}", err.message);
    }
}
