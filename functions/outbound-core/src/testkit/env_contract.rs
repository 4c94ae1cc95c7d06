//! The environment contract of a function: `functions/<crate>/environment.json` lists every
//! variable the function reads, with an example value. Two tests hold it to both sides:
//!
//! - here, against the code: the function's [`FromEnv`] type, read from exactly the listed
//!   examples, succeeds and asks for exactly the listed names; each required variable, removed
//!   or blank, fails naming it; each `malformed` value fails naming it;
//! - `tests/environment.tftest.hcl`, against the Terraform plan: the variables Terraform sets on
//!   the function are exactly the listed ones (those with `set_when` only under that condition).
//!
//! The file's shape:
//!
//! ```json
//! {
//!   "about": "what the file is",
//!   "variables": {
//!     "SSM_PREFIX": { "example": "/connect/outbound/demo/", "required": true, "malformed": "/" },
//!     "BUCKET_NAME": { "example": "routing", "set_when": "routing" }
//!   }
//! }
//! ```
//!
//! `required`: the function does not start without it. `malformed`: a value it must refuse.
//! `set_when`: Terraform sets the variable only under this condition (`routing`: a routing
//! file is configured for the dialer), so the function must start without it.
//!
//! Each function crate runs the checks with [`env_contract_tests!`](crate::env_contract_tests).

use crate::env::{EnvReader, FromEnv};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Debug;

/// Conditions a `set_when` may name (the Terraform test knows how to plan each).
pub const CONDITIONS: &[&str] = &["routing"];

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Contract {
    pub about: String,
    pub variables: BTreeMap<String, Variable>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Variable {
    pub example: String,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub malformed: Option<String>,
    #[serde(default)]
    pub set_when: Option<String>,
}

impl Contract {
    /// Parses the file and checks it is consistent in itself.
    pub fn parse(json: &str) -> Contract {
        let contract: Contract = serde_json::from_str(json)
            .unwrap_or_else(|e| panic!("environment.json does not parse: {e}"));
        assert!(
            !contract.variables.is_empty(),
            "environment.json lists no variable"
        );
        for (name, v) in &contract.variables {
            assert!(
                !name.is_empty()
                    && name
                        .chars()
                        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'),
                "environment.json: {name:?} is not an environment variable name"
            );
            assert!(
                !v.example.trim().is_empty(),
                "environment.json: {name} needs a non-blank example"
            );
            if let Some(condition) = &v.set_when {
                assert!(
                    CONDITIONS.contains(&condition.as_str()),
                    "environment.json: {name} is set_when {condition:?}, not one of {CONDITIONS:?}"
                );
                assert!(
                    !v.required,
                    "environment.json: {name} is required but Terraform sets it only when \
                     {condition}: the function would not start without it"
                );
            }
        }
        contract
    }

    /// The examples of every variable, or of those Terraform always sets.
    fn examples(&self, with_conditional: bool) -> BTreeMap<String, String> {
        self.variables
            .iter()
            .filter(|(_, v)| with_conditional || v.set_when.is_none())
            .map(|(k, v)| (k.clone(), v.example.clone()))
            .collect()
    }

    fn read<T: FromEnv + Debug>(
        vars: BTreeMap<String, String>,
    ) -> (EnvReader, Result<T, crate::env::EnvError>) {
        let mut env = EnvReader::from_map(vars);
        let result = env.read::<T>();
        (env, result)
    }

    /// Read from exactly the listed examples, `T` starts, and it asked for exactly the listed
    /// names: a variable read but not listed, or listed but not read, fails naming it.
    pub fn assert_reads_exactly_the_listed_variables<T: FromEnv + Debug>(&self) {
        let (env, result) = Self::read::<T>(self.examples(true));
        if let Err(e) = result {
            panic!("the examples of environment.json do not read: {e}");
        }
        let listed: BTreeSet<&str> = self.variables.keys().map(String::as_str).collect();
        let asked: BTreeSet<&str> = env.asked().iter().copied().collect();
        let not_listed: Vec<&&str> = asked.difference(&listed).collect();
        let not_read: Vec<&&str> = listed.difference(&asked).collect();
        let mut faults = Vec::new();
        if !not_listed.is_empty() {
            faults.push(format!(
                "the function reads {not_listed:?}, which environment.json does not list (list \
                 it, and have Terraform set it)"
            ));
        }
        if !not_read.is_empty() {
            faults.push(format!(
                "environment.json lists {not_read:?}, which the function does not read (remove \
                 it there and from Terraform, or read it)"
            ));
        }
        assert!(faults.is_empty(), "{}", faults.join("; "));
    }

    /// Without the variables Terraform sets only under a condition, `T` still starts.
    pub fn assert_starts_without_the_conditional_variables<T: FromEnv + Debug>(&self) {
        if let (_, Err(e)) = Self::read::<T>(self.examples(false)) {
            panic!("without the set_when variables of environment.json: {e}");
        }
    }

    /// Each required variable, unset or blank, fails naming it (and only it); an optional one
    /// removed never fails naming another variable.
    pub fn assert_missing_variables_are_named<T: FromEnv + Debug>(&self) {
        for (name, v) in &self.variables {
            let mut vars = self.examples(true);
            vars.remove(name);
            let removed = Self::read::<T>(vars.clone()).1;
            vars.insert(name.clone(), "  ".into());
            let blank = Self::read::<T>(vars).1;
            for (how, result) in [("unset", removed), ("blank", blank)] {
                match (v.required, result) {
                    (true, Ok(value)) => panic!(
                        "{name} is required in environment.json, but {how} it reads: {value:?}"
                    ),
                    (_, Err(e)) => {
                        assert_eq!(e.names(), [name.as_str()], "{name} {how}: {e}");
                        assert!(e.to_string().contains(name.as_str()), "{e}");
                    }
                    (false, Ok(_)) => {}
                }
            }
        }
    }

    /// Each `malformed` example fails naming its variable (and only it).
    pub fn assert_malformed_values_are_named<T: FromEnv + Debug>(&self) {
        for (name, v) in &self.variables {
            let Some(bad) = &v.malformed else { continue };
            let mut vars = self.examples(true);
            vars.insert(name.clone(), bad.clone());
            match Self::read::<T>(vars).1 {
                Ok(value) => panic!("{name}={bad:?} is listed as malformed, but reads: {value:?}"),
                Err(e) => {
                    assert_eq!(e.names(), [name.as_str()], "{name}={bad:?}: {e}");
                    assert!(e.to_string().contains(name.as_str()), "{e}");
                }
            }
        }
    }
}

/// The environment contract tests of one function crate, next to its `Env`:
///
/// ```ignore
/// #[cfg(test)]
/// outbound_core::env_contract_tests!(Env, include_str!("../environment.json"));
/// ```
#[macro_export]
macro_rules! env_contract_tests {
    ($env:ty, $json:expr) => {
        mod environment_contract {
            use super::*;
            use $crate::testkit::env_contract::Contract;

            fn contract() -> Contract {
                Contract::parse($json)
            }

            #[test]
            fn reads_exactly_the_listed_variables() {
                contract().assert_reads_exactly_the_listed_variables::<$env>();
            }

            #[test]
            fn starts_without_the_conditional_variables() {
                contract().assert_starts_without_the_conditional_variables::<$env>();
            }

            #[test]
            fn missing_variables_are_named() {
                contract().assert_missing_variables_are_named::<$env>();
            }

            #[test]
            fn malformed_values_are_named() {
                contract().assert_malformed_values_are_named::<$env>();
            }
        }
    };
}
