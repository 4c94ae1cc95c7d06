//! Amazon Connect contact events (EventBridge `Amazon Connect Contact Event`): the fields this
//! function needs, parsed defensively.
//!
//! Field names follow the contact events data model of the Amazon Connect Administrator Guide.
//! The published samples disagree on the case of a few keys (`instanceArn`/`instanceARN`,
//! `agentInfo`/`AgentInfo`), so keys are matched exactly first and then case-insensitively.
//! Unknown fields and event types are accepted and ignored: the data model grows over time.
//! How a call ended maps to an outcome through [`outbound_core::events::classify_end`], the
//! mapping the reconcile path uses too.

use chrono::{DateTime, Utc};
use outbound_core::error::FunctionError;
use outbound_core::events::{classify_end, queued_after_answer, CallEnd};
use serde_json::{Map, Value};

/// `detail-type` of the events this parser understands.
pub const DETAIL_TYPE: &str = "Amazon Connect Contact Event";

/// The event type of a contact's end.
pub const DISCONNECTED: &str = "DISCONNECTED";

/// The fields of a contact event the dialer uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactEvent {
    /// The envelope's `source`: `aws.connect` for events Amazon Connect sends.
    pub source: Option<String>,
    pub event_type: String,
    pub contact_id: String,
    pub initial_contact_id: Option<String>,
    pub instance_arn: Option<String>,
    /// `VOICE`, `CHAT`, `TASK`, `EMAIL` (the samples also show `Voice`).
    pub channel: Option<String>,
    /// `API` for contacts created with `StartOutboundVoiceContact`.
    pub initiation_method: Option<String>,
    pub initiation_timestamp: Option<DateTime<Utc>>,
    /// Set when the call established media (answered by a person or a machine).
    pub connected_to_system_timestamp: Option<DateTime<Utc>>,
    pub disconnect_timestamp: Option<DateTime<Utc>>,
    /// `agentInfo.connectedToAgentTimestamp`: an agent talked to the customer.
    pub connected_to_agent_timestamp: Option<DateTime<Utc>>,
    /// `queueInfo.enqueueTimestamp`: when the contact was put in a queue ("QUEUED - The contact
    /// is queued to be connected to an agent", contact events data model,
    /// docs.aws.amazon.com/connect/latest/adminguide/contact-events.html). Queued after the
    /// answer and never connected to an agent, the call was abandoned.
    pub enqueue_timestamp: Option<DateTime<Utc>>,
    /// The contact record's `DisconnectReason` code when the event carries it.
    pub disconnect_reason: Option<String>,
    /// `answeringMachineDetectionStatus` (`VOICEMAIL_BEEP`, `HUMAN_ANSWERED`, ...): present on
    /// calls placed with answering machine detection. "CONNECTED_TO_SYSTEM - The contact has
    /// established media (for example, it was answered by a person or by voicemail). This event
    /// is generated for any AnsweringMachineDetectionStatus code", contact events data model,
    /// docs.aws.amazon.com/connect/latest/adminguide/contact-events.html. The key's exact case
    /// in a real event is docs/aws-verification.md M1's to confirm; keys match case-insensitively.
    pub amd_status: Option<String>,
    /// The envelope's `time`: when EventBridge received the event.
    pub event_time: Option<DateTime<Utc>>,
}

impl ContactEvent {
    /// True for the event that ends a contact.
    pub fn is_disconnect(&self) -> bool {
        self.event_type.eq_ignore_ascii_case(DISCONNECTED)
    }

    /// Why this event cannot be about a call this deployment's dialer placed, or `None` when it
    /// may be. The EventBridge rule filters the same way; this check keeps a rule edited by
    /// hand, a second rule or a direct invocation from recording other contacts.
    ///
    /// Contact events come from `aws.connect`; a contact the dialer places with
    /// `StartOutboundVoiceContact` is a `VOICE` contact whose initiation method is `API` ("The
    /// contact was initiated with Amazon Connect by API. This could be an outbound contact you
    /// created and queued to an agent, using the StartOutboundVoiceContact API": contact records
    /// data model, InitiationMethod, docs.aws.amazon.com/connect/latest/adminguide/
    /// ctr-data-model.html; the contact events data model carries the same field,
    /// docs.aws.amazon.com/connect/latest/adminguide/contact-events.html).
    pub fn not_ours(&self, instance_arn: &str) -> Option<&'static str> {
        let is = |field: &Option<String>, value: &str| {
            field
                .as_deref()
                .is_some_and(|f| f.eq_ignore_ascii_case(value))
        };
        if !is(&self.source, "aws.connect") {
            Some("source is not aws.connect")
        } else if self.instance_arn.as_deref() != Some(instance_arn) {
            Some("another Connect instance")
        } else if !is(&self.channel, "VOICE") {
            Some("not a voice contact")
        } else if !is(&self.initiation_method, "API") {
            Some("not placed through the API")
        } else {
            None
        }
    }

    /// The end of the call this event reports. `now` stands in for a missing disconnect time.
    pub fn call_end(&self, now: DateTime<Utc>) -> CallEnd {
        CallEnd {
            disconnected_at: self.disconnect_timestamp.or(self.event_time).unwrap_or(now),
            outcome: classify_end(
                self.connected_to_system_timestamp.is_some(),
                self.connected_to_agent_timestamp.is_some(),
                queued_after_answer(self.connected_to_system_timestamp, self.enqueue_timestamp),
                self.disconnect_reason.as_deref(),
                self.amd_status.as_deref(),
            ),
        }
    }
}

/// Parses an EventBridge contact event. Anything malformed is an `InvalidInput` error that names
/// the field, never a panic, and never echoes the event (it may hold personal data).
pub fn parse_contact_event(event: &Value) -> Result<ContactEvent, FunctionError> {
    let root = event
        .as_object()
        .ok_or_else(|| FunctionError::invalid_input("contact event: not a JSON object"))?;
    match get(root, "detail-type") {
        Some(Value::String(t)) if t == DETAIL_TYPE => {}
        Some(Value::String(_)) => {
            return Err(FunctionError::invalid_input(format!(
                "contact event: detail-type is not '{DETAIL_TYPE}'"
            )))
        }
        _ => {
            return Err(FunctionError::invalid_input(
                "contact event: detail-type missing or not a string",
            ))
        }
    }
    let detail = get(root, "detail")
        .and_then(Value::as_object)
        .ok_or_else(|| {
            FunctionError::invalid_input("contact event: detail missing or not an object")
        })?;

    let event_type = required_string(detail, "eventType")?;
    let contact_id = required_string(detail, "contactId")?;
    let agent = get(detail, "agentInfo").filter(|v| !v.is_null());
    let connected_to_agent_timestamp = match agent {
        None => None,
        Some(Value::Object(agent)) => timestamp(agent, "connectedToAgentTimestamp", "agentInfo.")?,
        Some(_) => {
            return Err(FunctionError::invalid_input(
                "contact event: agentInfo is not an object",
            ))
        }
    };
    let enqueue_timestamp = match get(detail, "queueInfo").filter(|v| !v.is_null()) {
        None => None,
        Some(Value::Object(queue)) => timestamp(queue, "enqueueTimestamp", "queueInfo.")?,
        Some(_) => {
            return Err(FunctionError::invalid_input(
                "contact event: queueInfo is not an object",
            ))
        }
    };

    Ok(ContactEvent {
        source: match get(root, "source") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.trim().to_string()),
            Some(_) => {
                return Err(FunctionError::invalid_input(
                    "contact event: source is not a string",
                ))
            }
        },
        event_type,
        contact_id,
        initial_contact_id: optional_string(detail, "initialContactId")?,
        instance_arn: optional_string(detail, "instanceArn")?,
        channel: optional_string(detail, "channel")?,
        initiation_method: optional_string(detail, "initiationMethod")?,
        initiation_timestamp: timestamp(detail, "initiationTimestamp", "")?,
        connected_to_system_timestamp: timestamp(detail, "connectedToSystemTimestamp", "")?,
        disconnect_timestamp: timestamp(detail, "disconnectTimestamp", "")?,
        connected_to_agent_timestamp,
        enqueue_timestamp,
        disconnect_reason: disconnect_reason(detail)?,
        amd_status: optional_string(detail, "answeringMachineDetectionStatus")?,
        event_time: timestamp(root, "time", "envelope ")?,
    })
}

/// Looks a key up exactly, then ignoring ASCII case.
fn get<'a>(obj: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    obj.get(name).or_else(|| {
        obj.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    })
}

fn required_string(obj: &Map<String, Value>, name: &str) -> Result<String, FunctionError> {
    match get(obj, name) {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.trim().to_string()),
        Some(Value::String(_)) => Err(FunctionError::invalid_input(format!(
            "contact event: detail.{name} is empty"
        ))),
        Some(_) => Err(FunctionError::invalid_input(format!(
            "contact event: detail.{name} is not a string"
        ))),
        None => Err(FunctionError::invalid_input(format!(
            "contact event: detail.{name} is missing"
        ))),
    }
}

fn optional_string(obj: &Map<String, Value>, name: &str) -> Result<Option<String>, FunctionError> {
    match get(obj, name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.trim().to_string())),
        Some(_) => Err(FunctionError::invalid_input(format!(
            "contact event: detail.{name} is not a string"
        ))),
    }
}

fn timestamp(
    obj: &Map<String, Value>,
    name: &str,
    prefix: &str,
) -> Result<Option<DateTime<Utc>>, FunctionError> {
    match get(obj, name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => DateTime::parse_from_rfc3339(s.trim())
            .map(|t| Some(t.with_timezone(&Utc)))
            .map_err(|_| {
                FunctionError::invalid_input(format!(
                    "contact event: {prefix}{name} is not an RFC 3339 timestamp"
                ))
            }),
        Some(_) => Err(FunctionError::invalid_input(format!(
            "contact event: {prefix}{name} is not a string"
        ))),
    }
}

/// `disconnectReason` is a string in the contact record; accept `{"code": "..."}` too, the shape
/// the API uses for the same information.
fn disconnect_reason(detail: &Map<String, Value>) -> Result<Option<String>, FunctionError> {
    match get(detail, "disconnectReason") {
        Some(Value::Object(o)) => optional_string(o, "code"),
        _ => optional_string(detail, "disconnectReason"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use outbound_core::records::Outcome;
    use proptest::prelude::*;
    use serde_json::json;

    fn disconnected(detail_extra: Value) -> Value {
        let mut detail = json!({
            "eventType": "DISCONNECTED",
            "contactId": "c-1",
            "initialContactId": "c-1",
            "channel": "VOICE",
            "instanceArn": "arn:aws:connect:eu-west-2:111122223333:instance/i-1",
            "initiationMethod": "API",
            "initiationTimestamp": "2024-03-01T10:00:00.000Z",
            "disconnectTimestamp": "2024-03-01T10:01:30.000Z"
        });
        for (k, v) in detail_extra.as_object().unwrap() {
            detail[k] = v.clone();
        }
        json!({
            "version": "0",
            "id": "e-1",
            "detail-type": "Amazon Connect Contact Event",
            "source": "aws.connect",
            "account": "111122223333",
            "time": "2024-03-01T10:01:31Z",
            "region": "eu-west-2",
            "resources": [],
            "detail": detail
        })
    }

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn parses_the_documented_disconnected_sample() {
        let e = parse_contact_event(&disconnected(json!({
            "connectedToSystemTimestamp": "2024-03-01T10:00:05.000Z",
            "queueInfo": {"queueArn": "arn", "queueType": "type"},
            "AgentInfo": {"AgentArn": "arn", "connectedToAgentTimestamp": "2024-03-01T10:00:09.000Z"}
        })))
        .unwrap();
        assert!(e.is_disconnect());
        assert_eq!(e.contact_id, "c-1");
        assert_eq!(e.initiation_method.as_deref(), Some("API"));
        assert_eq!(
            e.connected_to_agent_timestamp,
            Some(t("2024-03-01T10:00:09Z"))
        );
        let end = e.call_end(Utc::now());
        assert_eq!(end.outcome, Outcome::Connected);
        assert_eq!(end.disconnected_at, t("2024-03-01T10:01:30Z"));
    }

    #[test]
    fn key_case_variants_of_the_samples_are_accepted() {
        let e = parse_contact_event(&disconnected(json!({
            "instanceARN": "arn:upper",
            "agentInfo": {"connectedToAgentTimestamp": "2024-03-01T10:00:09Z"}
        })))
        .unwrap();
        // The exact key wins over a case variant when both are present.
        assert_eq!(
            e.instance_arn.as_deref(),
            Some("arn:aws:connect:eu-west-2:111122223333:instance/i-1")
        );
        assert!(e.connected_to_agent_timestamp.is_some());
    }

    #[test]
    fn outcomes_from_event_fields() {
        let busy = parse_contact_event(&disconnected(json!({"disconnectReason": "TELECOM_BUSY"})))
            .unwrap();
        assert_eq!(busy.call_end(Utc::now()).outcome, Outcome::Busy);
        let unanswered = parse_contact_event(&disconnected(
            json!({"disconnectReason": "TELECOM_UNANSWERED"}),
        ))
        .unwrap();
        assert_eq!(unanswered.call_end(Utc::now()).outcome, Outcome::NoAnswer);
        let invalid = parse_contact_event(&disconnected(
            json!({"disconnectReason": {"code": "TELECOM_NUMBER_INVALID"}}),
        ))
        .unwrap();
        assert_eq!(invalid.call_end(Utc::now()).outcome, Outcome::InvalidNumber);
        let silent = parse_contact_event(&disconnected(json!({}))).unwrap();
        assert_eq!(silent.call_end(Utc::now()).outcome, Outcome::NoAnswer);
        // Media established: connected, whatever the reason says afterwards.
        let answered = parse_contact_event(&disconnected(json!({
            "connectedToSystemTimestamp": "2024-03-01T10:00:05Z",
            "disconnectReason": "TELECOM_PROBLEM"
        })))
        .unwrap();
        assert_eq!(answered.call_end(Utc::now()).outcome, Outcome::Connected);
    }

    /// An answered call that the flow put in the queue and that ended before an agent took it:
    /// `abandoned`. The same call with an agent is `connected`; a queue named only at placement
    /// (its enqueue time before the answer) is not a wait in the queue.
    #[test]
    fn an_answered_call_that_hung_up_in_the_queue_is_abandoned() {
        let abandoned = parse_contact_event(&disconnected(json!({
            "connectedToSystemTimestamp": "2024-03-01T10:00:05Z",
            "queueInfo": {"queueArn": "arn", "queueType": "STANDARD", "enqueueTimestamp": "2024-03-01T10:00:07Z"},
            "disconnectReason": "CUSTOMER_DISCONNECT"
        })))
        .unwrap();
        assert_eq!(abandoned.enqueue_timestamp, Some(t("2024-03-01T10:00:07Z")));
        assert_eq!(abandoned.call_end(Utc::now()).outcome, Outcome::Abandoned);
        let served = parse_contact_event(&disconnected(json!({
            "connectedToSystemTimestamp": "2024-03-01T10:00:05Z",
            "queueInfo": {"enqueueTimestamp": "2024-03-01T10:00:07Z"},
            "agentInfo": {"connectedToAgentTimestamp": "2024-03-01T10:00:20Z"}
        })))
        .unwrap();
        assert_eq!(served.call_end(Utc::now()).outcome, Outcome::Connected);
        let named_at_placement = parse_contact_event(&disconnected(json!({
            "connectedToSystemTimestamp": "2024-03-01T10:00:05Z",
            "queueInfo": {"enqueueTimestamp": "2024-03-01T10:00:00Z"}
        })))
        .unwrap();
        assert_eq!(
            named_at_placement.call_end(Utc::now()).outcome,
            Outcome::Connected
        );
        for bad in [
            json!({"queueInfo": 3}),
            json!({"queueInfo": {"enqueueTimestamp": "soon"}}),
        ] {
            let err = parse_contact_event(&disconnected(bad)).unwrap_err();
            assert!(err.to_string().contains("queueInfo"), "{err}");
        }
    }

    /// A call placed with answering machine detection that reached a voicemail: media was
    /// established (`connectedToSystemTimestamp`), no agent, the flow hung up, and the event
    /// carries the detection status (contact events data model, `AnsweringMachineDetectionStatus`,
    /// docs.aws.amazon.com/connect/latest/adminguide/contact-events.html).
    #[test]
    fn a_voicemail_detected_by_amd_is_voicemail() {
        let e = parse_contact_event(&disconnected(json!({
            "connectedToSystemTimestamp": "2024-03-01T10:00:05.000Z",
            "disconnectReason": "CONTACT_FLOW_DISCONNECT",
            "answeringMachineDetectionStatus": "VOICEMAIL_BEEP",
            "campaign": {"campaignId": "8f4e0d3a-1b2c-4d5e-8f90-0a1b2c3d4e5f"}
        })))
        .unwrap();
        assert_eq!(e.amd_status.as_deref(), Some("VOICEMAIL_BEEP"));
        assert_eq!(e.call_end(Utc::now()).outcome, Outcome::Voicemail);
        // The same call with a person on the line is connected; the case of the key varies.
        let human = parse_contact_event(&disconnected(json!({
            "connectedToSystemTimestamp": "2024-03-01T10:00:05.000Z",
            "AnsweringMachineDetectionStatus": "HUMAN_ANSWERED"
        })))
        .unwrap();
        assert_eq!(human.call_end(Utc::now()).outcome, Outcome::Connected);
        // A special information tone for an invalid number, before any media.
        let sit = parse_contact_event(&disconnected(json!({
            "answeringMachineDetectionStatus": "SIT_TONE_INVALID_NUMBER"
        })))
        .unwrap();
        assert_eq!(sit.call_end(Utc::now()).outcome, Outcome::InvalidNumber);
        // Not a string: refused with the field's name.
        let err = parse_contact_event(&disconnected(json!({
            "answeringMachineDetectionStatus": 3
        })))
        .unwrap_err();
        assert!(
            err.to_string().contains("answeringMachineDetectionStatus"),
            "{err}"
        );
    }

    #[test]
    fn missing_disconnect_time_falls_back_to_the_envelope_then_now() {
        let mut v = disconnected(json!({}));
        v["detail"]
            .as_object_mut()
            .unwrap()
            .remove("disconnectTimestamp");
        let e = parse_contact_event(&v).unwrap();
        assert_eq!(
            e.call_end(Utc::now()).disconnected_at,
            t("2024-03-01T10:01:31Z")
        );
        v.as_object_mut().unwrap().remove("time");
        let e = parse_contact_event(&v).unwrap();
        let now = t("2030-01-01T00:00:00Z");
        assert_eq!(e.call_end(now).disconnected_at, now);
    }

    #[test]
    fn malformed_events_are_invalid_input() {
        let cases = [
            json!(null),
            json!([]),
            json!({"detail-type": "Amazon Connect Contact Event"}),
            json!({"detail-type": "Object Created", "detail": {}}),
            json!({"detail-type": "Amazon Connect Contact Event", "detail": {"eventType": "DISCONNECTED"}}),
            json!({"detail-type": "Amazon Connect Contact Event", "detail": {"eventType": 3, "contactId": "c"}}),
            json!({"detail-type": "Amazon Connect Contact Event", "detail": {"eventType": "DISCONNECTED", "contactId": " "}}),
            disconnected(json!({"disconnectTimestamp": "yesterday"})),
            disconnected(json!({"agentInfo": "agent"})),
            disconnected(json!({"channel": 7})),
        ];
        for case in cases {
            let err = parse_contact_event(&case).unwrap_err();
            assert_eq!(
                err.name,
                outbound_core::error::ErrorName::InvalidInput,
                "{case}"
            );
        }
    }

    #[test]
    fn errors_never_echo_values() {
        let err = parse_contact_event(&disconnected(
            json!({"disconnectTimestamp": "+447700900123"}),
        ))
        .unwrap_err();
        assert!(!err.message.contains("447700900123"), "{}", err.message);
    }

    #[test]
    fn only_api_placed_voice_contacts_of_this_instance_are_ours() {
        const ARN: &str = "arn:aws:connect:eu-west-2:111122223333:instance/i-1";
        let ours = parse_contact_event(&disconnected(json!({}))).unwrap();
        assert_eq!(ours.not_ours(ARN), None);
        let lower_case = parse_contact_event(&disconnected(
            json!({"initiationMethod": "api", "channel": "Voice"}),
        ))
        .unwrap();
        assert_eq!(lower_case.not_ours(ARN), None);
        let cases = [
            (
                json!({"initiationMethod": "OUTBOUND"}),
                "not placed through the API",
            ),
            (
                json!({"initiationMethod": "INBOUND"}),
                "not placed through the API",
            ),
            (
                json!({"initiationMethod": null}),
                "not placed through the API",
            ),
            (json!({"channel": "CHAT"}), "not a voice contact"),
            (json!({"channel": null}), "not a voice contact"),
            (
                json!({"instanceArn": "arn:aws:connect:eu-west-2:111122223333:instance/i-2"}),
                "another Connect instance",
            ),
            (json!({"instanceArn": null}), "another Connect instance"),
        ];
        for (extra, why) in cases {
            let e = parse_contact_event(&disconnected(extra.clone())).unwrap();
            assert_eq!(e.not_ours(ARN), Some(why), "{extra}");
        }
        let mut forged = disconnected(json!({}));
        forged["source"] = json!("my.app");
        let e = parse_contact_event(&forged).unwrap();
        assert_eq!(e.not_ours(ARN), Some("source is not aws.connect"));
        forged["source"] = json!(7);
        assert!(parse_contact_event(&forged).is_err());
    }

    fn arb_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|n| json!(n)),
            ".{0,12}".prop_map(Value::String),
            prop_oneof![
                Just("DISCONNECTED"),
                Just("Amazon Connect Contact Event"),
                Just("2024-03-01T10:00:00Z"),
                Just("TELECOM_BUSY"),
                Just("API"),
            ]
            .prop_map(|s| Value::String(s.to_string())),
        ];
        let keys = prop_oneof![
            Just("detail-type".to_string()),
            Just("detail".to_string()),
            Just("eventType".to_string()),
            Just("contactId".to_string()),
            Just("agentInfo".to_string()),
            Just("disconnectReason".to_string()),
            Just("disconnectTimestamp".to_string()),
            Just("connectedToSystemTimestamp".to_string()),
            Just("time".to_string()),
            "[a-zA-Z-]{1,8}",
        ];
        leaf.prop_recursive(4, 48, 6, move |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map(keys.clone(), inner, 0..6)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn arbitrary_json_never_panics(v in arb_json()) {
            match parse_contact_event(&v) {
                Ok(e) => {
                    prop_assert!(!e.contact_id.is_empty());
                    prop_assert!(!e.event_type.is_empty());
                    let _ = e.call_end(Utc::now());
                }
                Err(err) => prop_assert_eq!(err.name, outbound_core::error::ErrorName::InvalidInput),
            }
        }

        #[test]
        fn arbitrary_detail_never_panics(detail in arb_json()) {
            let v = json!({"detail-type": "Amazon Connect Contact Event", "detail": detail});
            if let Err(err) = parse_contact_event(&v) {
                prop_assert_eq!(err.name, outbound_core::error::ErrorName::InvalidInput);
            }
        }
    }
}
