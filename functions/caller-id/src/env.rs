//! The environment caller-id runs with (docs/architecture.md, "Environment variables"; the list
//! is `environment.json`), read once in `main`.

use outbound_core::env::{EnvReader, FromEnv};
use outbound_core::routing_cache::RoutingFileEnv;
use outbound_core::trust_roots::TrustRoots;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Env {
    /// `BUCKET_NAME`, `COUNTRY_ROUTING_LIST_KEY` and `ROUTING_CACHE_TTL_SECONDS`. Terraform
    /// always sets them; `None` (neither set, a hand-made deployment) answers every call with
    /// the queue's number.
    pub routing: Option<RoutingFileEnv>,
    /// `TRUST_ROOTS` (`amazon`, the default, or `system`): the roots the S3 client trusts
    /// ([`outbound_core::trust_roots`]).
    pub trust_roots: TrustRoots,
}

impl FromEnv for Env {
    fn from_env(env: &mut EnvReader) -> Self {
        Env {
            routing: RoutingFileEnv::read(env),
            trust_roots: env.parsed("TRUST_ROOTS", TrustRoots::Amazon, "amazon or system"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    outbound_core::env_contract_tests!(Env, include_str!("../environment.json"));
}
