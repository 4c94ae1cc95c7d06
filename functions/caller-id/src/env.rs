//! The environment caller-id runs with (docs/architecture.md, "Environment variables"; the list
//! is `environment.json`), read once in `main`.

use outbound_core::env::{EnvReader, FromEnv};
use outbound_core::routing_cache::RoutingFileEnv;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Env {
    /// `BUCKET_NAME`, `COUNTRY_ROUTING_LIST_KEY` and `ROUTING_CACHE_TTL_SECONDS`. Terraform
    /// always sets them; `None` (neither set, a hand-made deployment) answers every call with
    /// the queue's number.
    pub routing: Option<RoutingFileEnv>,
}

impl FromEnv for Env {
    fn from_env(env: &mut EnvReader) -> Self {
        Env {
            routing: RoutingFileEnv::read(env),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    outbound_core::env_contract_tests!(Env, include_str!("../environment.json"));
}
