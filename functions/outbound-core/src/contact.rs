//! The contact message that travels through the SQS queue.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// Where a contact came from, for the reject report and the results record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum ContactSource {
    /// A row of an uploaded CSV file (`line` counts from 1, the header is line 1).
    Csv { object: String, line: u64 },
    /// An endpoint of a Pinpoint custom-channel batch.
    Pinpoint {
        #[serde(rename = "applicationId")]
        application_id: String,
        #[serde(rename = "campaignId")]
        campaign_id: String,
        #[serde(rename = "endpointId")]
        endpoint_id: String,
    },
}

/// One contact to dial: the body of an SQS message (see `docs/architecture.md`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    /// Campaign name: the CSV file's stem or the Pinpoint campaign id.
    pub campaign: String,
    /// Customer id (`custID`, or the Pinpoint user or endpoint id).
    pub key: String,
    /// Destination number, E.164.
    pub phone: String,
    /// The contact's name in keys, records and logs: a keyed hash of campaign, customer id and
    /// number, set at intake ([`crate::contact_key`]); it does not give the number back.
    #[serde(rename = "contactKey")]
    pub contact_key: String,
    /// Attempt number, from 1.
    #[serde(default = "first_attempt")]
    pub attempt: u32,
    /// Contact attributes passed to Connect (already within Connect's limits).
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
    pub source: ContactSource,
}

fn first_attempt() -> u32 {
    1
}

impl Contact {
    /// The `ClientToken` for `StartOutboundVoiceContact`: unique per run, contact and attempt,
    /// so a retry of the same attempt is the same request for Connect and a new run is not.
    pub fn client_token(&self, run_id: &str) -> String {
        client_token(run_id, &self.contact_key, self.attempt)
    }
}

/// See [`Contact::client_token`]. 64 hex characters (Connect accepts up to 500).
pub fn client_token(run_id: &str, contact_key: &str, attempt: u32) -> String {
    let mut h = Sha256::new();
    h.update(run_id.as_bytes());
    h.update(b"|");
    h.update(contact_key.as_bytes());
    h.update(b"|");
    h.update(attempt.to_string().as_bytes());
    hex::encode(h.finalize())
}

/// The ClientToken of the fallback request that dial sends with the queue's own number after
/// Connect refused the routed caller ID: derived from the attempt's token, so every placement
/// of the same attempt sends the same fallback request, and never equal to it.
pub fn fallback_client_token(client_token: &str) -> String {
    let mut h = Sha256::new();
    h.update(client_token.as_bytes());
    h.update(b"|queue-number");
    hex::encode(h.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Contact {
        Contact {
            campaign: "spring".into(),
            key: "C-1".into(),
            phone: "+442079460123".into(),
            contact_key: "0123456789abcdef0123456789abcdef".into(),
            attempt: 1,
            attributes: BTreeMap::new(),
            source: ContactSource::Csv {
                object: "uploads/spring.csv".into(),
                line: 2,
            },
        }
    }

    #[test]
    fn message_round_trips_in_the_documented_shape() {
        let json = r#"{"campaign":"spring","key":"C-1","phone":"+442079460123",
            "contactKey":"0123456789abcdef0123456789abcdef","attempt":1,
            "attributes":{},"source":{"kind":"csv","object":"uploads/spring.csv","line":2}}"#;
        let parsed: Contact = serde_json::from_str(json).unwrap();
        assert_eq!(parsed, sample());
        let back: Contact = serde_json::from_str(&serde_json::to_string(&parsed).unwrap()).unwrap();
        assert_eq!(back, parsed);
    }

    #[test]
    fn pinpoint_source_uses_camel_case() {
        let s = ContactSource::Pinpoint {
            application_id: "app".into(),
            campaign_id: "camp".into(),
            endpoint_id: "ep".into(),
        };
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(v["kind"], "pinpoint");
        assert_eq!(v["applicationId"], "app");
        assert_eq!(v["endpointId"], "ep");
    }

    #[test]
    fn a_message_without_its_contact_key_is_malformed() {
        // Messages queued by a version before keyed contact keys: dial rejects them (with a
        // reject record) rather than name the contact by an unkeyed hash.
        let json = r#"{"campaign":"spring","key":"C-1","phone":"+442079460123","attempt":1,
            "attributes":{},"source":{"kind":"csv","object":"uploads/spring.csv","line":2}}"#;
        let err = serde_json::from_str::<Contact>(json).unwrap_err();
        assert!(err.to_string().contains("contactKey"), "{err}");
    }

    #[test]
    fn client_token_differs_per_run_and_attempt() {
        let c = sample();
        let t1 = c.client_token("run-1");
        assert_eq!(t1.len(), 64);
        assert_eq!(t1, c.client_token("run-1"));
        assert_ne!(t1, c.client_token("run-2"));
        let mut second = sample();
        second.attempt = 2;
        assert_ne!(t1, second.client_token("run-1"));
    }
}
