//! Which root certificates a function's HTTPS client trusts (`TRUST_ROOTS`).
//!
//! The SDK's default client trusts the system's store, which it reads and parses when it makes
//! its first connection: on this project's machines a bundle file and 146 more certificate files,
//! 3 ms of a cold start of 14 ms (BENCHMARKS.md, caller-id), more on a slow disk.
//! Every endpoint the functions call is an AWS service endpoint, and AWS serves them with
//! certificates of its own authority, Amazon Trust Services (S3 was the last large service to
//! move, on 2022-06-02). So `amazon`, the default, trusts only its roots, carried in the binary
//! (`certs/amazon-trust-services-roots.pem`, five certificates): nothing to read at start-up, and
//! no other authority can vouch for an endpoint. `system` keeps the system's store, for an
//! endpoint served otherwise (a proxy that inspects TLS, a partition whose endpoints use another
//! authority); docs/aws-verification.md lists what only a real account can confirm.

use aws_smithy_http_client::tls::{self, TlsContext, TrustStore};
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use std::str::FromStr;

/// The roots of Amazon Trust Services, PEM (with a comment naming each).
pub const AMAZON_TRUST_SERVICES_ROOTS_PEM: &str =
    include_str!("../certs/amazon-trust-services-roots.pem");

/// The trust roots of a function's HTTPS client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TrustRoots {
    /// Amazon Trust Services' roots only, from the binary.
    #[default]
    Amazon,
    /// The system's trust store, read at the first connection.
    System,
}

impl FromStr for TrustRoots {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value.trim().to_ascii_lowercase().as_str() {
            "amazon" => Ok(TrustRoots::Amazon),
            "system" => Ok(TrustRoots::System),
            other => Err(format!("'{other}' is not amazon or system")),
        }
    }
}

/// The HTTPS client for the SDK's clients: rustls with aws-lc, as the SDK's default, trusting
/// `roots`.
pub fn https_client(roots: TrustRoots) -> SharedHttpClient {
    let store = match roots {
        TrustRoots::Amazon => {
            TrustStore::empty().with_pem_certificate(AMAZON_TRUST_SERVICES_ROOTS_PEM.as_bytes())
        }
        TrustRoots::System => TrustStore::default(),
    };
    let context = TlsContext::builder()
        .with_trust_store(store)
        .build()
        .expect("a trust store alone is a valid TLS context");
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::AwsLc,
        ))
        .tls_context(context)
        .build_https()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::CertificateDer;
    use sha2::{Digest, Sha256};

    /// SHA-256 fingerprints of the five roots as Amazon publishes them
    /// (https://www.amazontrust.com/repository/), in the file's order.
    const FINGERPRINTS: [&str; 5] = [
        "8ecde6884f3d87b1125ba31ac3fcb13d7016de7f57cc904fe1cb97c6ae98196e", // Amazon Root CA 1
        "1ba5b2aa8c65401a82960118f80bec4f62304d83cec4713a19c39c011ea46db4", // Amazon Root CA 2
        "18ce6cfe7bf14e60b2e347b8dfe868cb31d02ebb3ada271569f50343b46db3a4", // Amazon Root CA 3
        "e35d28419ed02025cfa69038cd623962458da5c695fbdea3c22b0bfb25897092", // Amazon Root CA 4
        "568d6905a2c88708a4b3025190edcfedb1974a606a13c6e5290fcb2ae63edab5", // Starfield Services G2
    ];

    #[test]
    fn the_binary_carries_exactly_amazon_trust_services_roots() {
        let ders = CertificateDer::pem_slice_iter(AMAZON_TRUST_SERVICES_ROOTS_PEM.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .expect("every certificate parses");
        let fingerprints: Vec<String> = ders
            .iter()
            .map(|der| hex::encode(Sha256::digest(der.as_ref())))
            .collect();
        assert_eq!(fingerprints, FINGERPRINTS);
    }

    #[test]
    fn trust_roots_are_named_amazon_or_system() {
        assert_eq!("amazon".parse(), Ok(TrustRoots::Amazon));
        assert_eq!(" System ".parse(), Ok(TrustRoots::System));
        assert_eq!(TrustRoots::default(), TrustRoots::Amazon);
        assert!("mozilla".parse::<TrustRoots>().is_err());
        assert!("".parse::<TrustRoots>().is_err());
    }

    #[test]
    fn both_build_a_client() {
        // Building reads nothing yet; the roots are loaded with the first connector.
        let _ = https_client(TrustRoots::Amazon);
        let _ = https_client(TrustRoots::System);
    }
}
