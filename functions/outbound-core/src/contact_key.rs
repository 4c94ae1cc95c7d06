//! The contact key: the name of a contact in object keys, table items, contact attributes and
//! logs, which must not give its phone number back.
//!
//! An unkeyed hash of (campaign, customer id, number) is no mask: the campaign and the customer
//! id are in the same record, and every number of a country can be tried in seconds. The key is
//! therefore an HMAC-SHA-256 under a secret of the deployment, which never exists outside
//! KMS and the memory of the intake functions:
//!
//! - The deployment has a KMS HMAC key (key spec `HMAC_256`, usage `GENERATE_VERIFY_MAC`);
//!   its material cannot be exported.
//! - At start-up an intake function (load-list, queue-contacts) asks KMS for the MAC of a fixed
//!   label under that key (`GenerateMac`). That MAC is the secret; only a role allowed
//!   `kms:GenerateMac` on the key can obtain it, and it is never logged or stored.
//! - Each accepted contact gets its key at intake; the contact message carries it, so nothing
//!   downstream (dial, the state machine, the event processor) needs the secret.
//!
//! One KMS call per cold start, not one per row: a million-row file stays within its quota.

use crate::error::FunctionError;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use std::fmt;

/// What the deployment's secret is the MAC of. A new version of the key derivation takes a new
/// label, so keys of different versions never collide.
pub const DERIVATION_LABEL: &[u8] = b"outbound-voice/contact-key/v1";

/// The MAC algorithm of the deployment's key (KMS key spec `HMAC_256`).
pub const MAC_ALGORITHM: aws_sdk_kms::types::MacAlgorithmSpec =
    aws_sdk_kms::types::MacAlgorithmSpec::HmacSha256;

/// Length of a contact key in hex characters (16 bytes of the MAC: 128 bits, no collision in
/// any list).
pub const CONTACT_KEY_CHARS: usize = 32;

/// Computes contact keys under the deployment's secret.
#[derive(Clone, PartialEq, Eq)]
pub struct ContactKeyer {
    secret: Vec<u8>,
}

// The secret is what the whole scheme protects: a `{:?}` in a log line must not print it.
impl fmt::Debug for ContactKeyer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ContactKeyer(<secret>)")
    }
}

impl ContactKeyer {
    /// Derives the secret from the deployment's KMS HMAC key (`CONTACT_KEY_KMS_KEY_ARN`).
    /// A function that cannot derive it must not start: it could not name its contacts.
    pub async fn from_kms(
        kms: &aws_sdk_kms::Client,
        key_arn: &str,
    ) -> Result<ContactKeyer, FunctionError> {
        let out = kms
            .generate_mac()
            .key_id(key_arn)
            .mac_algorithm(MAC_ALGORITHM)
            .message(aws_smithy_types::Blob::new(DERIVATION_LABEL))
            .send()
            .await
            .map_err(|e| {
                FunctionError::config(format!(
                    "kms:GenerateMac on the contact key {key_arn} failed: {}",
                    aws_smithy_types::error::display::DisplayErrorContext(&e)
                ))
            })?;
        let mac = out.mac.map(|b| b.into_inner()).unwrap_or_default();
        if mac.len() < 32 {
            return Err(FunctionError::config(format!(
                "kms:GenerateMac on {key_arn} returned {} bytes; an HMAC_256 key gives 32",
                mac.len()
            )));
        }
        Ok(ContactKeyer::from_secret(mac))
    }

    /// A keyer with a given secret (tests, and [`ContactKeyer::from_kms`]).
    pub fn from_secret(secret: impl Into<Vec<u8>>) -> ContactKeyer {
        ContactKeyer {
            secret: secret.into(),
        }
    }

    /// The key of a contact: hex of the first 16 bytes of HMAC-SHA-256(secret, campaign, NUL,
    /// customer id, NUL, number). Stable for the same contact in the same campaign, so every
    /// idempotency key built on it (dial de-duplication, results object) holds across uploads.
    pub fn key(&self, campaign: &str, customer_key: &str, phone: &str) -> String {
        // HMAC takes a key of any length: `new_from_slice` cannot fail for HMAC.
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.secret)
            .expect("HMAC accepts any key length");
        mac.update(campaign.as_bytes());
        mac.update(&[0u8]);
        mac.update(customer_key.as_bytes());
        mac.update(&[0u8]);
        mac.update(phone.as_bytes());
        hex::encode(&mac.finalize().into_bytes()[..CONTACT_KEY_CHARS / 2])
    }

    /// The do-not-call key of a number: hex of the first 16 bytes of HMAC-SHA-256(secret,
    /// `do-not-call`, NUL, number). The same number has the same key in every campaign, so one
    /// list covers the deployment; the list holds these keys, never the numbers
    /// ([`crate::dnc`]). A contact key's message always has two NULs and this one has one, so
    /// the two kinds of key never collide.
    pub fn do_not_call_key(&self, phone: &str) -> String {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.secret)
            .expect("HMAC accepts any key length");
        mac.update(b"do-not-call");
        mac.update(&[0u8]);
        mac.update(phone.as_bytes());
        hex::encode(&mac.finalize().into_bytes()[..CONTACT_KEY_CHARS / 2])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_depends_on_the_secret() {
        let a = ContactKeyer::from_secret(vec![1u8; 32]);
        let b = ContactKeyer::from_secret(vec![2u8; 32]);
        let (ka, kb) = (
            a.key("spring", "C-1", "+442079460123"),
            b.key("spring", "C-1", "+442079460123"),
        );
        assert_eq!(ka.len(), CONTACT_KEY_CHARS);
        assert_ne!(ka, kb, "without the secret the key cannot be recomputed");
        assert_eq!(ka, a.key("spring", "C-1", "+442079460123"), "stable");
    }

    #[test]
    fn the_key_is_not_the_unkeyed_hash_of_the_contact() {
        // The earlier scheme: SHA-256(campaign NUL key NUL phone), first 16 bytes. Anyone with
        // the campaign and customer id could brute-force the number from it.
        use sha2::Digest;
        let mut h = Sha256::new();
        h.update(b"spring\0C-1\0+442079460123");
        let unkeyed = hex::encode(&h.finalize()[..16]);
        let keyer = ContactKeyer::from_secret(Vec::new());
        assert_ne!(keyer.key("spring", "C-1", "+442079460123"), unkeyed);
    }

    #[test]
    fn the_do_not_call_key_is_per_number_keyed_and_never_a_contact_key() {
        let a = ContactKeyer::from_secret(vec![1u8; 32]);
        let b = ContactKeyer::from_secret(vec![2u8; 32]);
        let k = a.do_not_call_key("+442079460123");
        assert_eq!(k.len(), CONTACT_KEY_CHARS);
        assert_eq!(k, a.do_not_call_key("+442079460123"), "stable");
        assert_ne!(k, b.do_not_call_key("+442079460123"), "keyed");
        assert_ne!(k, a.do_not_call_key("+442079460124"));
        assert_ne!(k, a.key("do-not-call", "", "+442079460123"));
    }

    #[test]
    fn fields_cannot_be_shifted_into_each_other() {
        let k = ContactKeyer::from_secret(vec![7u8; 32]);
        assert_ne!(k.key("ab", "c", "+1"), k.key("a", "bc", "+1"));
        assert_ne!(k.key("a", "b+", "1"), k.key("a", "b", "+1"));
    }

    #[test]
    fn matches_rfc_4231_hmac_sha256() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?". The key's
        // layout (NUL separators) is ours, so check the primitive through a direct MAC.
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(b"Jefe").unwrap();
        mac.update(b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(mac.finalize().into_bytes()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn debug_does_not_print_the_secret() {
        let k = ContactKeyer::from_secret(b"very-secret".to_vec());
        assert!(!format!("{k:?}").contains("very-secret"));
    }
}
