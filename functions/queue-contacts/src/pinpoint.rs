//! The Pinpoint custom-channel payload, turned into contacts.
//!
//! Pinpoint invokes the channel's Lambda with one batch of a campaign's endpoints:
//!
//! ```json
//! {"Message": {}, "Data": "<the campaign's CustomMessage.Data>",
//!  "ApplicationId": "…", "CampaignId": "…", "TreatmentId": "0", "ActivityId": "…",
//!  "ScheduledTime": "2024-04-19T00:33:24.609Z",
//!  "Endpoints": {"<endpoint id>": {"ChannelType": "VOICE", "Address": "+447700900123",
//!     "EndpointStatus": "ACTIVE", "OptOut": "NONE", "Attributes": {"X": ["…"]},
//!     "User": {"UserId": "…", "UserAttributes": {"FirstName": ["Ann"]}}, …}}}
//! ```
//!
//! Per endpoint, in endpoint-id order (the position, from 1, is the reject report's `line`):
//! - `OptOut` = `ALL` → skipped (`opted_out`); `EndpointStatus` other than `ACTIVE` → skipped
//!   (`inactive`); a `ChannelType` other than `VOICE`, `SMS` or `CUSTOM` (an e-mail or push
//!   endpoint has no number) → skipped (`unsupported_channel`);
//! - the `Address` is normalised like a CSV row's number (default region `isocountrycode`); a
//!   missing or invalid one rejects the endpoint;
//! - the customer key is `User.UserId`, or the endpoint id when the endpoint has no user;
//! - attributes, later sources winning on the same key: each user attribute's first value; then
//!   the campaign's `Data` when it is a JSON object (every value rendered for this endpoint, see
//!   [`render`]; a `Data` that is not a JSON object is passed whole, rendered, as `Data`); then
//!   `PinpointApplicationId`, `PinpointCampaignId`, `PinpointTreatmentId`, `PinpointActivityId`,
//!   `PinpointEndpointId`. Keys follow Connect's rules ([`outbound_core::intake::sanitise_attribute_key`]),
//!   and attributes over the intake limit reject the endpoint;
//! - the recipient's time zone for the calling window: a `timezone` attribute (from the user
//!   attributes or `Data`, any case) must be an IANA name or the endpoint is rejected, as a CSV's
//!   column is; without one, the endpoint's `Demographic.Timezone` ("The time zone of the
//!   endpoint, specified in tz database format", Pinpoint `EndpointDemographic`,
//!   docs.aws.amazon.com/pinpoint/latest/apireference/apps-application-id-endpoints.html) becomes
//!   the `timezone` attribute when it is one, and is ignored otherwise (a device's setting: the
//!   number's own zones serve);
//! - the same contact twice in one batch is queued once (counted as a duplicate).

use outbound_core::calling_window::{
    check_time_zone_attribute, parse_time_zone, time_zone_attribute, TIME_ZONE_ATTRIBUTE,
};
use outbound_core::contact::{Contact, ContactSource};
use outbound_core::contact_key::ContactKeyer;
use outbound_core::destinations::DestinationRules;
use outbound_core::error::FunctionError;
use outbound_core::intake::{
    attributes_size, attributes_too_large, sanitise_attribute_key, unique_key,
    INTAKE_ATTRIBUTES_LIMIT_BYTES,
};
use outbound_core::mask::mask_phone;
use outbound_core::phone::normalise;
use outbound_core::records::RejectRecord;
use phonenumber::country;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};

/// Channel types whose `Address` is a phone number.
pub const PHONE_CHANNELS: [&str; 3] = ["VOICE", "SMS", "CUSTOM"];

/// Skip reasons, as counted in queue-contacts' `skipped` output.
pub mod skip {
    pub const OPTED_OUT: &str = "opted_out";
    pub const INACTIVE: &str = "inactive";
    pub const UNSUPPORTED_CHANNEL: &str = "unsupported_channel";
}

/// One custom-channel invocation.
#[derive(Debug, Clone, PartialEq)]
pub struct PinpointBatch {
    pub application_id: String,
    /// `CampaignId`, or `JourneyId` for a journey's custom-channel activity.
    pub campaign_id: String,
    pub treatment_id: Option<String>,
    pub activity_id: Option<String>,
    pub scheduled_time: Option<String>,
    /// `Data` as sent (usually a JSON object in a string).
    pub data: Option<Value>,
    /// Endpoints by id, in id order.
    pub endpoints: BTreeMap<String, Value>,
}

impl PinpointBatch {
    /// Reads the event. Only a missing application or campaign id refuses the whole batch
    /// (`InvalidInput`); a malformed endpoint is rejected on its own.
    pub fn from_event(event: &Value) -> Result<PinpointBatch, FunctionError> {
        let obj = event
            .as_object()
            .ok_or_else(|| FunctionError::invalid_input("Pinpoint event is not a JSON object"))?;
        let text = |name: &str| {
            obj.get(name)
                .and_then(scalar_text)
                .filter(|s| !s.is_empty())
        };
        let application_id = text("ApplicationId")
            .ok_or_else(|| FunctionError::invalid_input("Pinpoint event has no ApplicationId"))?;
        let campaign_id = text("CampaignId")
            .or_else(|| text("JourneyId"))
            .ok_or_else(|| {
                FunctionError::invalid_input("Pinpoint event has no CampaignId (or JourneyId)")
            })?;
        let data = match obj.get("Data") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(match serde_json::from_str::<Value>(s) {
                Ok(v @ Value::Object(_)) => v,
                _ => Value::String(s.clone()),
            }),
            Some(other) => Some(other.clone()),
        };
        let endpoints = match obj.get("Endpoints") {
            None | Some(Value::Null) => BTreeMap::new(),
            Some(Value::Object(m)) => m.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            Some(_) => {
                return Err(FunctionError::invalid_input(
                    "Pinpoint event Endpoints is not an object",
                ))
            }
        };
        Ok(PinpointBatch {
            application_id,
            campaign_id,
            treatment_id: text("TreatmentId"),
            activity_id: text("ActivityId"),
            scheduled_time: text("ScheduledTime"),
            data,
            endpoints,
        })
    }

    /// The batch's name in the reject report's key and the source of its rejects.
    pub fn source_name(&self) -> String {
        format!(
            "pinpoint/{}/{}/{}",
            self.application_id,
            self.campaign_id,
            self.batch_id()
        )
    }

    /// A stable id of this delivery: the same batch delivered twice gets the same id.
    pub fn batch_id(&self) -> String {
        let mut h = Sha256::new();
        for part in [
            Some(self.application_id.as_str()),
            Some(self.campaign_id.as_str()),
            self.treatment_id.as_deref(),
            self.activity_id.as_deref(),
            self.scheduled_time.as_deref(),
        ] {
            h.update(part.unwrap_or("").as_bytes());
            h.update([0]);
        }
        for id in self.endpoints.keys() {
            h.update(id.as_bytes());
            h.update([0]);
        }
        hex::encode(&h.finalize()[..8])
    }

    /// What tells one run of a recurring campaign from the next (the activity, else the
    /// schedule): a contact already queued by this activity is a duplicate, the same contact in
    /// next week's activity is not.
    pub fn activity_tag(&self) -> String {
        self.activity_id
            .clone()
            .or_else(|| self.scheduled_time.clone())
            .unwrap_or_default()
    }
}

/// What became of a batch's endpoints.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BatchOutcome {
    /// Contacts to queue, with their position in the batch.
    pub contacts: Vec<(u64, Contact)>,
    /// Skipped endpoints by reason.
    pub skipped: BTreeMap<String, u64>,
    pub rejects: Vec<RejectRecord>,
    /// Endpoints that repeat a contact already in this batch.
    pub duplicates: u64,
}

impl BatchOutcome {
    pub fn skipped_total(&self) -> u64 {
        self.skipped.values().sum()
    }
}

/// Turns every endpoint of `batch` into a contact, a skip or a reject.
/// Numbers outside `destinations` (`ALLOWED_COUNTRIES`, premium rate…) are rejects.
pub fn process(
    batch: &PinpointBatch,
    default_region: Option<country::Id>,
    destinations: &DestinationRules,
    keyer: &ContactKeyer,
) -> BatchOutcome {
    let mut out = BatchOutcome::default();
    let mut seen = BTreeSet::new();
    let source = batch.source_name();
    for (i, (endpoint_id, endpoint)) in batch.endpoints.iter().enumerate() {
        let position = i as u64 + 1;
        let reject = |reason: String, key: Option<String>, address: Option<&str>| RejectRecord {
            line: position,
            reason,
            customer_key: key,
            phone_masked: address.filter(|a| !a.trim().is_empty()).map(mask_phone),
            source: source.clone(),
        };
        let Some(ep) = endpoint.as_object() else {
            out.rejects.push(reject(
                "endpoint is not a JSON object".into(),
                Some(endpoint_id.clone()),
                None,
            ));
            continue;
        };
        let field = |name: &str| ep.get(name).and_then(scalar_text);
        if field("OptOut").is_some_and(|v| v.eq_ignore_ascii_case("ALL")) {
            *out.skipped.entry(skip::OPTED_OUT.into()).or_default() += 1;
            continue;
        }
        if field("EndpointStatus").is_some_and(|v| !v.eq_ignore_ascii_case("ACTIVE")) {
            *out.skipped.entry(skip::INACTIVE.into()).or_default() += 1;
            continue;
        }
        if let Some(channel) = field("ChannelType") {
            if !PHONE_CHANNELS
                .iter()
                .any(|c| channel.eq_ignore_ascii_case(c))
            {
                *out.skipped
                    .entry(skip::UNSUPPORTED_CHANNEL.into())
                    .or_default() += 1;
                continue;
            }
        }
        let user = ep.get("User").and_then(Value::as_object);
        let key = user
            .and_then(|u| u.get("UserId"))
            .and_then(scalar_text)
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| endpoint_id.clone());
        let address = field("Address");
        let raw = address.as_deref().unwrap_or("");
        if raw.trim().is_empty() {
            out.rejects.push(reject(
                "missing phone: the endpoint has no Address".into(),
                Some(key),
                None,
            ));
            continue;
        }
        let e164 = match normalise(raw, default_region) {
            Ok(n) => n,
            Err(e) => {
                out.rejects
                    .push(reject(format!("invalid phone: {e}"), Some(key), Some(raw)));
                continue;
            }
        };
        if let Err(reason) = destinations.check(&e164) {
            out.rejects.push(reject(reason, Some(key), Some(raw)));
            continue;
        }
        let e164 = e164.number;
        let mut attributes = endpoint_attributes(batch, endpoint_id, endpoint, user);
        if let Err(reason) = check_time_zone_attribute(&attributes) {
            out.rejects.push(reject(reason, Some(key), Some(raw)));
            continue;
        }
        if time_zone_attribute(&attributes).is_none() {
            if let Some(zone) = demographic_time_zone(ep) {
                attributes.insert(TIME_ZONE_ATTRIBUTE.to_string(), zone);
            }
        }
        let size = attributes_size(&attributes);
        if size > INTAKE_ATTRIBUTES_LIMIT_BYTES {
            out.rejects
                .push(reject(attributes_too_large(size), Some(key), Some(raw)));
            continue;
        }
        let contact_key = keyer.key(&batch.campaign_id, &key, &e164);
        if !seen.insert(contact_key.clone()) {
            out.duplicates += 1;
            continue;
        }
        out.contacts.push((
            position,
            Contact {
                campaign: batch.campaign_id.clone(),
                key,
                phone: e164,
                contact_key,
                attempt: 1,
                attributes,
                source: ContactSource::Pinpoint {
                    application_id: batch.application_id.clone(),
                    campaign_id: batch.campaign_id.clone(),
                    endpoint_id: endpoint_id.clone(),
                },
            },
        ));
    }
    out
}

/// The endpoint's `Demographic.Timezone` when it is an IANA time zone name.
fn demographic_time_zone(endpoint: &Map<String, Value>) -> Option<String> {
    let zone = endpoint
        .get("Demographic")
        .and_then(|d| d.get("Timezone"))
        .and_then(Value::as_str)?
        .trim();
    parse_time_zone(zone).map(|_| zone.to_string())
}

fn endpoint_attributes(
    batch: &PinpointBatch,
    endpoint_id: &str,
    endpoint: &Value,
    user: Option<&Map<String, Value>>,
) -> BTreeMap<String, String> {
    let mut attributes = BTreeMap::new();
    if let Some(attrs) = user
        .and_then(|u| u.get("UserAttributes"))
        .and_then(Value::as_object)
    {
        let mut taken = BTreeSet::new();
        for (name, value) in attrs {
            let key = unique_key(sanitise_attribute_key(name), &mut taken);
            attributes.insert(key, first_text(value).unwrap_or_default());
        }
    }
    match &batch.data {
        Some(Value::Object(fields)) => {
            for (name, value) in fields {
                let rendered = match value {
                    Value::String(t) => render(t, endpoint_id, endpoint),
                    Value::Null => String::new(),
                    Value::Bool(_) | Value::Number(_) => value.to_string(),
                    // A nested structure is passed as its JSON text.
                    _ => value.to_string(),
                };
                attributes.insert(sanitise_attribute_key(name), rendered);
            }
        }
        Some(Value::String(t)) => {
            attributes.insert("Data".into(), render(t, endpoint_id, endpoint));
        }
        Some(other) => {
            attributes.insert("Data".into(), other.to_string());
        }
        None => {}
    }
    attributes.insert("PinpointApplicationId".into(), batch.application_id.clone());
    attributes.insert("PinpointCampaignId".into(), batch.campaign_id.clone());
    if let Some(t) = &batch.treatment_id {
        attributes.insert("PinpointTreatmentId".into(), t.clone());
    }
    if let Some(a) = &batch.activity_id {
        attributes.insert("PinpointActivityId".into(), a.clone());
    }
    attributes.insert("PinpointEndpointId".into(), endpoint_id.to_string());
    attributes
}

/// Renders `{{…}}` references in a `Data` value for one endpoint, the way Pinpoint's message
/// variables name endpoint fields: `{{Address}}`, `{{ChannelType}}`, `{{Id}}` (the endpoint id),
/// `{{User.UserId}}`, `{{User.UserAttributes.FirstName}}`, `{{Attributes.Plan}}`,
/// `{{Demographic.Locale}}`, `{{Location.City}}`, `{{Metrics.X}}`… A list gives its first value.
///
/// A reference to a field the endpoint does not have (or to a whole object) renders as the empty
/// string, as Pinpoint does for a variable without a value; `{{` without a closing `}}` is kept
/// as text.
pub fn render(template: &str, endpoint_id: &str, endpoint: &Value) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            out.push_str(&rest[start..]);
            return out;
        };
        out.push_str(&resolve(after[..end].trim(), endpoint_id, endpoint));
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    out
}

fn resolve(path: &str, endpoint_id: &str, endpoint: &Value) -> String {
    if path == "Id" || path == "EndpointId" {
        return endpoint_id.to_string();
    }
    let mut node = endpoint;
    for part in path.split('.') {
        // A list on the way (attribute values are lists) stands for its first value.
        if let Value::Array(items) = node {
            match items.first() {
                Some(v) => node = v,
                None => return String::new(),
            }
        }
        match node.get(part) {
            Some(v) => node = v,
            None => return String::new(),
        }
    }
    first_text(node).unwrap_or_default()
}

/// A scalar's text (`"a"` → `a`, `3` → `3`, `true` → `true`); `None` for null, objects and lists.
fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The text of a value or of a list's first value.
fn first_text(v: &Value) -> Option<String> {
    match v {
        Value::Array(items) => items.first().and_then(scalar_text),
        other => scalar_text(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use outbound_core::phone::region_id;
    use proptest::prelude::*;
    use serde_json::json;

    fn gb() -> Option<country::Id> {
        Some(region_id("GB").unwrap())
    }

    fn allowed() -> DestinationRules {
        DestinationRules::parse("GB,US,FR,DE,AU").unwrap()
    }

    #[test]
    fn destinations_outside_the_allowed_ones_are_rejects() {
        let mut e = event();
        e["Endpoints"]["ep-1"]["Address"] = json!("+33 1 23 45 67 89");
        let out = process(
            &PinpointBatch::from_event(&e).unwrap(),
            gb(),
            &DestinationRules::parse("GB").unwrap(),
            &outbound_core::testkit::contact_keyer(),
        );
        let reject = out
            .rejects
            .iter()
            .find(|r| r.reason.starts_with("destination country FR"))
            .expect("the French number is rejected");
        assert!(reject
            .phone_masked
            .as_deref()
            .is_some_and(|p| !p.contains("234567")));
        assert!(out
            .contacts
            .iter()
            .all(|(_, c)| !c.phone.starts_with("+33")));
    }

    fn event() -> Value {
        json!({
            "Message": {},
            "Data": "{\"greeting\":\"Hello {{User.UserAttributes.FirstName}}\",\"plan\":\"{{Attributes.Plan}}\",\"missing\":\"[{{User.UserAttributes.Nope}}]\",\"to\":\"{{Address}}\",\"n\":3}",
            "ApplicationId": "app-1",
            "CampaignId": "camp-1",
            "TreatmentId": "0",
            "ActivityId": "act-1",
            "ScheduledTime": "2024-04-19T00:33:24.609Z",
            "Endpoints": {
                "ep-1": {"ChannelType": "VOICE", "Address": "+44 20 7946 0001", "EndpointStatus": "ACTIVE",
                         "OptOut": "NONE", "Attributes": {"Plan": ["gold", "x"]},
                         "User": {"UserId": "U-1", "UserAttributes": {"FirstName": ["Ann", "Annie"], "Last Name": ["Lee"]}}},
                "ep-2": {"ChannelType": "SMS", "Address": "020 7946 0002", "OptOut": "ALL"},
                "ep-3": {"ChannelType": "VOICE", "Address": "+12125550100", "EndpointStatus": "INACTIVE"},
                "ep-4": {"ChannelType": "EMAIL", "Address": "ann@example.com"},
                "ep-5": {"ChannelType": "VOICE", "Address": "12345", "User": {"UserId": "U-5"}},
                "ep-6": {"ChannelType": "VOICE", "Address": "+61 491 570 156"},
                "ep-7": {"ChannelType": "VOICE", "Address": "+44 (0)20 7946 0001", "User": {"UserId": "U-1"}},
                "ep-8": "not an object",
                "ep-9": {"ChannelType": "VOICE", "User": {"UserId": "U-9"}}
            }
        })
    }

    #[test]
    fn endpoints_become_contacts_skips_and_rejects() {
        let batch = PinpointBatch::from_event(&event()).unwrap();
        let out = process(
            &batch,
            gb(),
            &allowed(),
            &outbound_core::testkit::contact_keyer(),
        );
        let skipped: Vec<(&str, u64)> = out.skipped.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        assert_eq!(
            skipped,
            vec![
                ("inactive", 1),
                ("opted_out", 1),
                ("unsupported_channel", 1)
            ]
        );
        assert_eq!(out.contacts.len(), 2);
        assert_eq!(out.duplicates, 1, "ep-7 is U-1 with the same number");
        assert_eq!(out.rejects.len(), 3);
        // Every endpoint is accounted for.
        assert_eq!(
            out.contacts.len() as u64
                + out.skipped_total()
                + out.rejects.len() as u64
                + out.duplicates,
            batch.endpoints.len() as u64
        );

        let (pos, c) = &out.contacts[0];
        assert_eq!(*pos, 1);
        assert_eq!(c.key, "U-1");
        assert_eq!(c.phone, "+442079460001");
        assert_eq!(c.campaign, "camp-1");
        assert_eq!(
            c.source,
            ContactSource::Pinpoint {
                application_id: "app-1".into(),
                campaign_id: "camp-1".into(),
                endpoint_id: "ep-1".into()
            }
        );
        let a = &c.attributes;
        assert_eq!(a["FirstName"], "Ann");
        assert_eq!(a["Last_Name"], "Lee");
        assert_eq!(a["greeting"], "Hello Ann");
        assert_eq!(a["plan"], "gold");
        assert_eq!(a["missing"], "[]");
        assert_eq!(a["to"], "+44 20 7946 0001");
        assert_eq!(a["n"], "3");
        assert_eq!(a["PinpointApplicationId"], "app-1");
        assert_eq!(a["PinpointCampaignId"], "camp-1");
        assert_eq!(a["PinpointTreatmentId"], "0");
        assert_eq!(a["PinpointActivityId"], "act-1");
        assert_eq!(a["PinpointEndpointId"], "ep-1");

        // No user: the endpoint id is the customer key.
        let (pos6, c6) = &out.contacts[1];
        assert_eq!(
            (*pos6, c6.key.as_str(), c6.phone.as_str()),
            (6, "ep-6", "+61491570156")
        );
        assert_eq!(c6.attributes["greeting"], "Hello ");

        let r5 = out.rejects.iter().find(|r| r.line == 5).unwrap();
        assert_eq!(r5.customer_key.as_deref(), Some("U-5"));
        assert!(r5.reason.starts_with("invalid phone"), "{}", r5.reason);
        assert_eq!(r5.phone_masked.as_deref(), Some("*****"));
        assert_eq!(r5.source, batch.source_name());
        assert!(out
            .rejects
            .iter()
            .any(|r| r.line == 8 && r.reason == "endpoint is not a JSON object"));
        assert!(out
            .rejects
            .iter()
            .any(|r| r.line == 9 && r.reason.starts_with("missing phone")));
    }

    #[test]
    fn the_event_needs_application_and_campaign() {
        let err = PinpointBatch::from_event(&json!({"CampaignId": "c"})).unwrap_err();
        assert_eq!(err.name, outbound_core::error::ErrorName::InvalidInput);
        assert!(PinpointBatch::from_event(&json!({"ApplicationId": "a"})).is_err());
        assert!(PinpointBatch::from_event(&json!([1, 2])).is_err());
        // A journey's activity names its journey instead.
        let b =
            PinpointBatch::from_event(&json!({"ApplicationId": "a", "JourneyId": "j"})).unwrap();
        assert_eq!(b.campaign_id, "j");
        assert!(b.endpoints.is_empty());
    }

    #[test]
    fn data_that_is_not_an_object_is_passed_whole() {
        let mut e = event();
        e["Data"] = json!("Hi {{User.UserAttributes.FirstName}}, press 1");
        let out = process(
            &PinpointBatch::from_event(&e).unwrap(),
            gb(),
            &allowed(),
            &outbound_core::testkit::contact_keyer(),
        );
        assert_eq!(out.contacts[0].1.attributes["Data"], "Hi Ann, press 1");
        e["Data"] = Value::Null;
        let out = process(
            &PinpointBatch::from_event(&e).unwrap(),
            gb(),
            &allowed(),
            &outbound_core::testkit::contact_keyer(),
        );
        assert!(!out.contacts[0].1.attributes.contains_key("Data"));
    }

    #[test]
    fn campaign_ids_win_over_user_attributes_and_data() {
        let mut e = event();
        e["Data"] = json!("{\"PinpointCampaignId\":\"spoof\",\"FirstName\":\"from data\"}");
        let out = process(
            &PinpointBatch::from_event(&e).unwrap(),
            gb(),
            &allowed(),
            &outbound_core::testkit::contact_keyer(),
        );
        let a = &out.contacts[0].1.attributes;
        assert_eq!(a["PinpointCampaignId"], "camp-1");
        assert_eq!(a["FirstName"], "from data");
    }

    #[test]
    fn oversized_attributes_reject_the_endpoint() {
        let mut e = event();
        e["Endpoints"]["ep-1"]["User"]["UserAttributes"]["Bio"] = json!(["x".repeat(40_000)]);
        let out = process(
            &PinpointBatch::from_event(&e).unwrap(),
            gb(),
            &allowed(),
            &outbound_core::testkit::contact_keyer(),
        );
        let r = out.rejects.iter().find(|r| r.line == 1).unwrap();
        assert!(r.reason.starts_with("attributes are"), "{}", r.reason);
    }

    #[test]
    fn rendering_rules() {
        let ep = json!({"Address": "+1", "User": {"UserAttributes": {"A": ["x"], "E": []}}, "Attributes": {"N": [5]}});
        assert_eq!(render("{{Id}}/{{ Address }}", "e1", &ep), "e1/+1");
        assert_eq!(
            render(
                "{{User.UserAttributes.A}}{{User.UserAttributes.E}}",
                "e",
                &ep
            ),
            "x"
        );
        assert_eq!(render("{{Attributes.N}}", "e", &ep), "5");
        assert_eq!(render("{{User}}", "e", &ep), "");
        assert_eq!(render("a {{unclosed", "e", &ep), "a {{unclosed");
        assert_eq!(render("}}{{}}", "e", &ep), "}}");
    }

    #[test]
    fn batch_identity_is_stable_and_sensitive() {
        let b = PinpointBatch::from_event(&event()).unwrap();
        assert_eq!(
            b.batch_id(),
            PinpointBatch::from_event(&event()).unwrap().batch_id()
        );
        let mut e = event();
        e["ActivityId"] = json!("act-2");
        let b2 = PinpointBatch::from_event(&e).unwrap();
        assert_ne!(b.batch_id(), b2.batch_id());
        assert_eq!(b2.activity_tag(), "act-2");
    }

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|n| json!(n)),
            ".{0,12}".prop_map(Value::String),
            "(\\{\\{)?[A-Za-z.]{0,20}(\\}\\})?".prop_map(Value::String),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map("[A-Za-z]{1,8}", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    fn endpoint() -> impl Strategy<Value = Value> {
        (
            prop::option::of(prop::sample::select(vec![
                "VOICE", "SMS", "EMAIL", "CUSTOM", "GCM",
            ])),
            prop::option::of(prop_oneof![
                (0u32..10_000).prop_map(|n| format!("020 7946 {n:04}")),
                (0u32..100).prop_map(|n| format!("+1 212 555 01{n:02}")),
                ".{0,14}",
            ]),
            prop::option::of(prop::sample::select(vec!["ALL", "NONE"])),
            prop::option::of(prop::sample::select(vec!["ACTIVE", "INACTIVE"])),
            prop::option::of("U-[0-9]{1,2}"),
            json_value(),
        )
            .prop_map(|(ch, addr, opt, status, user, extra)| {
                let mut m = Map::new();
                if let Some(c) = ch {
                    m.insert("ChannelType".into(), json!(c));
                }
                if let Some(a) = addr {
                    m.insert("Address".into(), json!(a));
                }
                if let Some(o) = opt {
                    m.insert("OptOut".into(), json!(o));
                }
                if let Some(s) = status {
                    m.insert("EndpointStatus".into(), json!(s));
                }
                let mut u = Map::new();
                if let Some(id) = user {
                    u.insert("UserId".into(), json!(id));
                }
                u.insert("UserAttributes".into(), extra.clone());
                m.insert("User".into(), Value::Object(u));
                m.insert("Attributes".into(), extra);
                Value::Object(m)
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        #[test]
        fn arbitrary_json_never_panics(v in json_value()) {
            if let Ok(b) = PinpointBatch::from_event(&v) {
                let out = process(&b, gb(), &allowed(), &outbound_core::testkit::contact_keyer());
                prop_assert_eq!(
                    out.contacts.len() as u64 + out.skipped_total() + out.rejects.len() as u64 + out.duplicates,
                    b.endpoints.len() as u64
                );
            }
        }

        #[test]
        fn every_endpoint_is_queued_skipped_rejected_or_a_duplicate(
            endpoints in prop::collection::btree_map("ep-[0-9]{1,3}", prop_oneof![9 => endpoint(), 1 => json_value()], 0..30),
            data in json_value(),
        ) {
            let e = json!({
                "ApplicationId": "app", "CampaignId": "camp", "Data": data.to_string(),
                "Endpoints": Value::Object(endpoints.into_iter().collect()),
            });
            let b = PinpointBatch::from_event(&e).unwrap();
            let out = process(&b, gb(), &allowed(), &outbound_core::testkit::contact_keyer());
            prop_assert_eq!(
                out.contacts.len() as u64 + out.skipped_total() + out.rejects.len() as u64 + out.duplicates,
                b.endpoints.len() as u64
            );
            let keys: BTreeSet<String> = out.contacts.iter().map(|(_, c)| c.contact_key.clone()).collect();
            prop_assert_eq!(keys.len(), out.contacts.len());
            for (_, c) in &out.contacts {
                prop_assert!(c.phone.starts_with('+'));
                prop_assert!(attributes_size(&c.attributes) <= INTAKE_ATTRIBUTES_LIMIT_BYTES);
                prop_assert!(c.attributes.keys().all(|k| !k.is_empty()
                    && k.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_')));
            }
        }
    }

    /// The recipient's zone: an endpoint's `Demographic.Timezone` when it is a tz name, unless a
    /// `timezone` attribute says otherwise; a bad attribute rejects the endpoint, a bad
    /// demographic is left out (the number's zones serve).
    #[test]
    fn the_demographic_time_zone_is_the_recipients_unless_an_attribute_names_one() {
        let batch = PinpointBatch::from_event(&json!({
            "ApplicationId": "app-1", "CampaignId": "camp-1",
            "Endpoints": {
                "ep-1": {"ChannelType": "VOICE", "Address": "+12125550101",
                         "Demographic": {"Timezone": "America/Los_Angeles", "Locale": "en_US"}},
                "ep-2": {"ChannelType": "VOICE", "Address": "+12125550102",
                         "Demographic": {"Timezone": "America/Los_Angeles"},
                         "User": {"UserId": "U-2", "UserAttributes": {"TimeZone": ["America/Chicago"]}}},
                "ep-3": {"ChannelType": "VOICE", "Address": "+12125550103",
                         "Demographic": {"Timezone": "Pacific Standard Time"}},
                "ep-4": {"ChannelType": "VOICE", "Address": "+12125550104",
                         "User": {"UserId": "U-4", "UserAttributes": {"timezone": ["Mars/Olympus"]}}},
                "ep-5": {"ChannelType": "VOICE", "Address": "+12125550105", "Demographic": {"Timezone": 7}}
            }
        }))
        .unwrap();
        let out = process(
            &batch,
            gb(),
            &allowed(),
            &outbound_core::testkit::contact_keyer(),
        );
        let zones: Vec<(String, Option<&str>)> = out
            .contacts
            .iter()
            .map(|(_, c)| (c.key.clone(), time_zone_attribute(&c.attributes)))
            .collect();
        assert_eq!(
            zones,
            vec![
                ("ep-1".to_string(), Some("America/Los_Angeles")),
                ("U-2".to_string(), Some("America/Chicago")),
                ("ep-3".to_string(), None),
                ("ep-5".to_string(), None),
            ]
        );
        assert_eq!(out.rejects.len(), 1);
        assert_eq!(out.rejects[0].line, 4);
        assert!(
            out.rejects[0].reason.contains("Mars/Olympus"),
            "{}",
            out.rejects[0].reason
        );
    }
}
