//! The environment get-contacts runs with (docs/architecture.md, "Environment variables"; the
//! list is `environment.json`), read once in `main`.

use outbound_core::env::{EnvReader, FromEnv};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Env {
    /// `QUEUE_URL`: the contacts queue.
    pub queue_url: String,
    /// `DEAD_LETTER_QUEUE_URL`; without it `deadLettered` is 0.
    pub dead_letter_queue_url: Option<String>,
}

impl FromEnv for Env {
    fn from_env(env: &mut EnvReader) -> Self {
        Env {
            queue_url: env.required("QUEUE_URL", "the contacts queue URL"),
            dead_letter_queue_url: env.optional("DEAD_LETTER_QUEUE_URL"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    outbound_core::env_contract_tests!(Env, include_str!("../environment.json"));
}
