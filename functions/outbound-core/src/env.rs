//! The one way a function reads its environment.
//!
//! Every function describes its environment as a struct implementing [`FromEnv`] and reads it
//! once, in `main`, with [`load`]: every variable goes through an [`EnvReader`], which trims
//! values (blank counts as unset), parses and range-checks them, and collects every problem
//! instead of stopping at the first. A deployment that is missing `QUEUE_URL` and has a
//! malformed `RECEIVE_WAIT_SECONDS` fails at start-up with one message naming both, before an
//! invocation is served.
//!
//! The reader records every name it was asked for, so a test can compare what a function reads
//! with what Terraform sets (each function crate's `environment.json`, checked against the plan
//! by `tests/environment.tftest.hcl` and against the code by `testkit::env_contract`).
//!
//! Names and meanings are the contract in `docs/architecture.md` ("Environment variables").
//! Variables of the platform itself (`AWS_LAMBDA_LOG_*`, `AWS_ENDPOINT_URL*`, read by
//! [`crate::telemetry`], [`crate::clients`] and the SDK) are not a function's configuration and
//! are not read here.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::ops::RangeInclusive;
use std::str::FromStr;

/// `SSM_PREFIX`: the path of the dialer's parameters, read by [`EnvReader::ssm_prefix`].
pub const SSM_PREFIX: &str = "SSM_PREFIX";

/// Longest part of a malformed value shown in the error: values are configuration, never
/// personal data, but a pasted document would make the log line useless.
const SHOWN_CHARS: usize = 64;

/// A function's environment, read through an [`EnvReader`].
pub trait FromEnv: Sized {
    /// Reads every variable the function uses through `env`.
    ///
    /// A variable that is missing or malformed is recorded in `env` and its field gets a
    /// placeholder (empty, or the default): use [`EnvReader::read`] or [`load`], which return
    /// the error instead of a value with placeholders.
    fn from_env(env: &mut EnvReader) -> Self;
}

/// Reads `T` from the process environment (once, in `main`). A failure is logged with the
/// message naming every missing or malformed variable; `main` returns it, so the process ends
/// before serving an invocation.
pub fn load<T: FromEnv>() -> Result<T, EnvError> {
    EnvReader::from_process()
        .read()
        .inspect_err(|e| tracing::error!(error = %e, "not configured: not starting"))
}

/// Where the values come from.
#[derive(Debug, Clone)]
enum Source {
    Process,
    Map(BTreeMap<String, String>),
}

/// One variable's value as found.
enum Raw {
    Unset,
    Set(String),
    /// Present but not UTF-8: already recorded as a problem.
    Unreadable,
}

/// Reads typed values from the environment, records the names asked for and collects every
/// missing or malformed variable for [`EnvReader::finish`].
#[derive(Debug, Clone)]
pub struct EnvReader {
    source: Source,
    asked: BTreeSet<&'static str>,
    problems: Vec<EnvProblem>,
}

impl EnvReader {
    /// A reader of the process environment.
    pub fn from_process() -> Self {
        Self::with_source(Source::Process)
    }

    /// A reader of exactly these variables (tests).
    pub fn from_map<I, K, V>(vars: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        Self::with_source(Source::Map(
            vars.into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        ))
    }

    fn with_source(source: Source) -> Self {
        EnvReader {
            source,
            asked: BTreeSet::new(),
            problems: Vec::new(),
        }
    }

    /// Reads `T`, then [`finish`](Self::finish)es: the value, or every problem at once.
    pub fn read<T: FromEnv>(&mut self) -> Result<T, EnvError> {
        let value = T::from_env(self);
        self.finish().map(|()| value)
    }

    /// Every name asked for so far, whether it was set or not.
    pub fn asked(&self) -> &BTreeSet<&'static str> {
        &self.asked
    }

    /// `Ok` when every variable asked for was usable; otherwise one error listing each missing
    /// or malformed variable with what was expected.
    pub fn finish(&self) -> Result<(), EnvError> {
        if self.problems.is_empty() {
            Ok(())
        } else {
            Err(EnvError {
                problems: self.problems.clone(),
            })
        }
    }

    fn raw(&mut self, name: &'static str) -> Raw {
        self.asked.insert(name);
        let value = match &self.source {
            Source::Map(vars) => vars.get(name).cloned(),
            Source::Process => match std::env::var(name) {
                Ok(v) => Some(v),
                Err(std::env::VarError::NotPresent) => None,
                Err(std::env::VarError::NotUnicode(v)) => {
                    let shown = v.to_string_lossy().into_owned();
                    self.malformed(name, &shown, "UTF-8 text");
                    return Raw::Unreadable;
                }
            },
        };
        match value.map(|v| v.trim().to_string()) {
            Some(v) if !v.is_empty() => Raw::Set(v),
            _ => Raw::Unset,
        }
    }

    fn missing(&mut self, name: &'static str, expected: impl Into<String>) {
        self.problems.push(EnvProblem {
            name,
            value: None,
            expected: expected.into(),
        });
    }

    fn malformed(&mut self, name: &'static str, value: &str, expected: impl Into<String>) {
        self.problems.push(EnvProblem {
            name,
            value: Some(value.chars().take(SHOWN_CHARS).collect()),
            expected: expected.into(),
        });
    }

    /// The value, trimmed; `None` when unset or blank.
    pub fn optional(&mut self, name: &'static str) -> Option<String> {
        match self.raw(name) {
            Raw::Set(v) => Some(v),
            Raw::Unset | Raw::Unreadable => None,
        }
    }

    /// The value, trimmed. Unset or blank is a problem saying what was `expected`.
    pub fn required(&mut self, name: &'static str, expected: &str) -> String {
        match self.raw(name) {
            Raw::Set(v) => v,
            Raw::Unset => {
                self.missing(name, expected);
                String::new()
            }
            Raw::Unreadable => String::new(),
        }
    }

    /// The value parsed as `T`; `default` when unset or blank. A value that does not parse is a
    /// problem saying what was `expected`.
    pub fn parsed<T: FromStr>(&mut self, name: &'static str, default: T, expected: &str) -> T {
        self.parsed_if(name, default, expected, |_| true)
    }

    /// The value read by `parse`; `None` when unset or blank. A value `parse` refuses is a
    /// problem saying what was `expected` and `parse`'s reason.
    pub fn parsed_with<T>(
        &mut self,
        name: &'static str,
        expected: &str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<T> {
        match self.raw(name) {
            Raw::Set(v) => match parse(&v) {
                Ok(parsed) => Some(parsed),
                Err(why) => {
                    self.malformed(name, &v, format!("{expected} ({why})"));
                    None
                }
            },
            Raw::Unset | Raw::Unreadable => None,
        }
    }

    /// A number within `range`; `default` when unset or blank. A value that does not parse or
    /// is out of range is a problem saying what was `expected`.
    pub fn number<T>(
        &mut self,
        name: &'static str,
        default: T,
        range: RangeInclusive<T>,
        expected: &str,
    ) -> T
    where
        T: FromStr + PartialOrd,
    {
        self.parsed_if(name, default, expected, |v| range.contains(v))
    }

    fn parsed_if<T: FromStr>(
        &mut self,
        name: &'static str,
        default: T,
        expected: &str,
        accept: impl Fn(&T) -> bool,
    ) -> T {
        match self.raw(name) {
            Raw::Set(v) => match v.parse::<T>() {
                Ok(parsed) if accept(&parsed) => parsed,
                _ => {
                    self.malformed(name, &v, expected);
                    default
                }
            },
            Raw::Unset | Raw::Unreadable => default,
        }
    }

    /// `ALLOWED_COUNTRIES`: the destination countries the dialer may call
    /// ([`crate::destinations::DestinationRules`]). Missing or malformed: nothing is allowed, and
    /// start-up fails naming it.
    pub fn allowed_countries(&mut self) -> crate::destinations::DestinationRules {
        const NAME: &str = "ALLOWED_COUNTRIES";
        const EXPECTED: &str =
            "ISO 3166-1 alpha-2 country codes separated by commas, such as GB,IE";
        let raw = self.required(NAME, EXPECTED);
        if raw.is_empty() {
            return crate::destinations::DestinationRules::nothing();
        }
        match crate::destinations::DestinationRules::parse(&raw) {
            Ok(rules) => rules,
            Err(_) => {
                self.malformed(NAME, &raw, EXPECTED);
                crate::destinations::DestinationRules::nothing()
            }
        }
    }

    /// `REDIAL_RULES`, required: the deployment's redial rules as JSON (the Terraform variable
    /// `redial`, jsonencoded), validated like the variable. Malformed: start-up fails naming it
    /// and why.
    pub fn redial_rules(&mut self) -> crate::ledger::RedialRules {
        const NAME: &str = "REDIAL_RULES";
        const EXPECTED: &str = "the redial rules as JSON, such as {\"max_attempts\":3}";
        let raw = self.required(NAME, EXPECTED);
        if raw.is_empty() {
            return crate::ledger::RedialRules::default();
        }
        match crate::ledger::RedialRules::from_json(&raw) {
            Ok(rules) => rules,
            Err(why) => {
                self.malformed(NAME, &raw, format!("{EXPECTED} ({why})"));
                crate::ledger::RedialRules::default()
            }
        }
    }

    /// `CALLING_WINDOW`, required: the recipients' calling window as JSON (the Terraform
    /// variable `calling_window`, jsonencoded; [`crate::calling_window`]). `None`: disabled.
    /// Malformed: start-up fails naming it and why.
    pub fn calling_window(&mut self) -> Option<crate::calling_window::CallingWindow> {
        const NAME: &str = "CALLING_WINDOW";
        const EXPECTED: &str = "the calling window as JSON, such as {\"enabled\":true}";
        let raw = self.required(NAME, EXPECTED);
        if raw.is_empty() {
            return None;
        }
        match crate::calling_window::CallingWindow::from_json(&raw) {
            Ok(window) => window,
            Err(why) => {
                self.malformed(NAME, &raw, format!("{EXPECTED} ({why})"));
                None
            }
        }
    }

    /// `FREQUENCY_CAP`, required: the calls-per-number cap as JSON (the Terraform variable
    /// `frequency_cap`, jsonencoded; [`crate::frequency_cap`]). `None`: off. Malformed or out of
    /// bounds: start-up fails naming it and why.
    pub fn frequency_cap(&mut self) -> Option<crate::frequency_cap::FrequencyCap> {
        const NAME: &str = "FREQUENCY_CAP";
        const EXPECTED: &str =
            "the frequency cap as JSON, such as {\"enabled\":true,\"max_calls\":3,\"period_hours\":24}";
        let raw = self.required(NAME, EXPECTED);
        if raw.is_empty() {
            return None;
        }
        match crate::frequency_cap::FrequencyCap::from_json(&raw) {
            Ok(cap) => cap,
            Err(why) => {
                self.malformed(NAME, &raw, format!("{EXPECTED} ({why})"));
                None
            }
        }
    }

    /// `SSM_PREFIX`, required, normalised to start and end with `/` (`connect/outbound/demo`
    /// reads as `/connect/outbound/demo/`). A value of slashes only would read every parameter
    /// at the root of the account's store: a problem.
    pub fn ssm_prefix(&mut self) -> String {
        const EXPECTED: &str =
            "the path of the dialer's SSM parameters, such as /connect/outbound/demo/";
        let raw = self.required(SSM_PREFIX, EXPECTED);
        if raw.is_empty() {
            return raw;
        }
        let prefix = crate::config::normalise_prefix(&raw);
        if prefix == "/" {
            self.malformed(SSM_PREFIX, &raw, EXPECTED);
        }
        prefix
    }

    /// `CONTACT_KEY_KMS_KEY_ARN`, required: the ARN of the KMS HMAC key behind contact keys
    /// ([`crate::contact_key`]). A key id or an alias is refused: the IAM policy grants
    /// `kms:GenerateMac` on the key's ARN, and an alias could be pointed at another key.
    pub fn contact_key_kms_key_arn(&mut self) -> String {
        const NAME: &str = "CONTACT_KEY_KMS_KEY_ARN";
        const EXPECTED: &str =
            "the ARN of a KMS HMAC key, such as arn:aws:kms:eu-west-2:123456789012:key/…";
        let raw = self.required(NAME, EXPECTED);
        let is_key_arn = raw.starts_with("arn:") && {
            let parts: Vec<&str> = raw.splitn(6, ':').collect();
            parts.len() == 6 && parts[2] == "kms" && parts[5].starts_with("key/")
        };
        if !raw.is_empty() && !is_key_arn {
            self.malformed(NAME, &raw, EXPECTED);
        }
        raw
    }

    /// Two variables that only mean something together (a bucket and a key): both set is
    /// `Some`, neither is `None`, one without the other is a problem naming the missing one.
    pub fn pair(
        &mut self,
        first: (&'static str, &str),
        second: (&'static str, &str),
    ) -> Option<(String, String)> {
        match (self.optional(first.0), self.optional(second.0)) {
            (Some(a), Some(b)) => Some((a, b)),
            (None, None) => None,
            (Some(_), None) => {
                self.missing(
                    second.0,
                    format!("{}, set together with {}", second.1, first.0),
                );
                None
            }
            (None, Some(_)) => {
                self.missing(
                    first.0,
                    format!("{}, set together with {}", first.1, second.0),
                );
                None
            }
        }
    }
}

/// One missing or malformed variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvProblem {
    pub name: &'static str,
    /// The value found (cut short); `None` when the variable is unset or blank.
    pub value: Option<String>,
    pub expected: String,
}

impl fmt::Display for EnvProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.value {
            None => write!(f, "{} is not set: expected {}", self.name, self.expected),
            Some(v) => write!(f, "{} is {v:?}: expected {}", self.name, self.expected),
        }
    }
}

/// Every missing or malformed variable of one read, in the order they were asked for.
#[derive(Clone, PartialEq, Eq)]
pub struct EnvError {
    pub problems: Vec<EnvProblem>,
}

impl EnvError {
    /// The names of the variables at fault.
    pub fn names(&self) -> Vec<&'static str> {
        self.problems.iter().map(|p| p.name).collect()
    }
}

impl fmt::Display for EnvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "environment variables: ")?;
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                write!(f, "; ")?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}

/// The message itself: `main` returns this error, and the runtime prints it with `{:?}`.
impl fmt::Debug for EnvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::error::Error for EnvError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq)]
    struct Sample {
        prefix: String,
        queue: String,
        label: Option<String>,
        wait: i32,
        ratio: f64,
        routing: Option<(String, String)>,
    }

    impl FromEnv for Sample {
        fn from_env(env: &mut EnvReader) -> Self {
            Sample {
                prefix: env.ssm_prefix(),
                queue: env.required("QUEUE_URL", "the contacts queue URL"),
                label: env.optional("LABEL"),
                wait: env.number("WAIT", 2, 0..=20, "whole seconds from 0 to 20"),
                ratio: env.parsed("RATIO", 1.5, "a number"),
                routing: env.pair(("BUCKET", "the bucket"), ("KEY", "the object key")),
            }
        }
    }

    #[test]
    fn reads_values_trimmed_with_defaults() {
        let mut env = EnvReader::from_map([
            ("SSM_PREFIX", " connect/outbound/demo "),
            ("QUEUE_URL", " https://q "),
            ("LABEL", "  "),
            ("UNRELATED", "x"),
        ]);
        let s: Sample = env.read().unwrap();
        assert_eq!(
            s,
            Sample {
                prefix: "/connect/outbound/demo/".into(),
                queue: "https://q".into(),
                label: None,
                wait: 2,
                ratio: 1.5,
                routing: None,
            }
        );
        // Every name asked for, set or not; never the ones not asked for.
        let asked: Vec<_> = env.asked().iter().copied().collect();
        assert_eq!(
            asked,
            [
                "BUCKET",
                "KEY",
                "LABEL",
                "QUEUE_URL",
                "RATIO",
                "SSM_PREFIX",
                "WAIT"
            ]
        );
    }

    #[test]
    fn every_problem_is_named_in_one_error() {
        let mut env = EnvReader::from_map([
            ("SSM_PREFIX", "///"),
            ("QUEUE_URL", "   "),
            ("WAIT", "21"),
            ("RATIO", "lots"),
            ("KEY", "routing.json"),
        ]);
        let err = env.read::<Sample>().unwrap_err();
        assert_eq!(
            err.names(),
            ["SSM_PREFIX", "QUEUE_URL", "WAIT", "RATIO", "BUCKET"]
        );
        let message = err.to_string();
        for part in [
            "SSM_PREFIX is \"///\": expected the path of the dialer's SSM parameters",
            "QUEUE_URL is not set: expected the contacts queue URL",
            "WAIT is \"21\": expected whole seconds from 0 to 20",
            "RATIO is \"lots\": expected a number",
            "BUCKET is not set: expected the bucket, set together with KEY",
        ] {
            assert!(message.contains(part), "{part} not in {message}");
        }
    }

    #[test]
    fn a_pair_needs_both_halves() {
        let mut env = EnvReader::from_map([("BUCKET", "b"), ("KEY", "k")]);
        assert_eq!(
            env.pair(("BUCKET", "the bucket"), ("KEY", "the key")),
            Some(("b".into(), "k".into()))
        );
        assert!(env.finish().is_ok());
        let mut env = EnvReader::from_map([("BUCKET", "b")]);
        assert_eq!(env.pair(("BUCKET", "the bucket"), ("KEY", "the key")), None);
        assert_eq!(env.finish().unwrap_err().names(), ["KEY"]);
    }

    #[test]
    fn malformed_values_are_cut_short() {
        let long = "x".repeat(500);
        let mut env = EnvReader::from_map([("WAIT", long.as_str())]);
        env.number("WAIT", 2, 0..=20, "seconds");
        let err = env.finish().unwrap_err();
        assert_eq!(err.problems[0].value.as_deref().map(str::len), Some(64));
    }

    #[test]
    fn the_process_environment_is_read_too() {
        // PATH is set wherever tests run; this name is set by no one.
        let mut env = EnvReader::from_process();
        assert!(!env.required("PATH", "a search path").is_empty());
        assert_eq!(env.optional("OUTBOUND_CORE_NEVER_SET_BY_ANYONE"), None);
        assert!(env.finish().is_ok());
    }
}
