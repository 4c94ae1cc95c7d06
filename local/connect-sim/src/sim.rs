//! The simulated contact centre: calls, their outcomes, the quota, idempotency and the
//! counters behind `/_sim/stats`.
//!
//! Everything here is synchronous and takes the time as arguments (`mono`: seconds on a
//! monotonic clock; `wall`: UTC), so the rules are unit-tested without a server or a clock.
//! The server holds one `Simulator` behind a mutex and does the waiting and the HTTP.

use crate::config::SimConfig;
use crate::hours;
use crate::quota::TokenBucket;
use crate::rng::Rng;
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde::Serialize;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};

/// How a simulated call ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Connected,
    NoAnswer,
    Busy,
    Failed,
    /// The number does not exist or is no longer in use.
    InvalidNumber,
    /// A voicemail answered and answering machine detection, which the request asked for,
    /// heard it (without detection the same call is `Connected`).
    Voicemail,
    /// A person answered, the flow put the call in the queue and the person hung up before
    /// an agent took it.
    Abandoned,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Connected => "connected",
            Outcome::NoAnswer => "no_answer",
            Outcome::Busy => "busy",
            Outcome::Failed => "failed",
            Outcome::InvalidNumber => "invalid_number",
            Outcome::Voicemail => "voicemail",
            Outcome::Abandoned => "abandoned",
        }
    }

    /// The contact record's `DisconnectReason` for this end: the codes `outbound-core`'s
    /// `classify_end` maps back to the same outcome.
    // Source: contact records data model, field `DisconnectReason` (the list of codes):
    // https://docs.aws.amazon.com/connect/latest/adminguide/ctr-data-model.html
    // Assumed (not documented): which code Connect gives each way an API call ends; the page
    // lists the codes, not the mapping. Checked by docs/aws-verification.md E4.
    pub fn disconnect_reason(self) -> &'static str {
        match self {
            // Assumed (not documented): an answered call ends with the customer hanging up;
            // an agent or the flow could end it first (`AGENT_DISCONNECT`,
            // `CONTACT_FLOW_DISCONNECT`), which the dialer also reads as answered.
            Outcome::Connected => "CUSTOMER_DISCONNECT",
            Outcome::NoAnswer => "TELECOM_UNANSWERED",
            Outcome::Busy => "TELECOM_BUSY",
            Outcome::Failed => "TELECOM_PROBLEM",
            // ctr-data-model.html: "TELECOM_NUMBER_INVALID - The number you are attempting to
            // call either lacks proper E164 formatting, or the number you are attempting to
            // call does not exist or is no longer in use."
            Outcome::InvalidNumber => "TELECOM_NUMBER_INVALID",
            // Assumed (not documented): a call whose flow found a voicemail ends with the flow
            // hanging up (`CONTACT_FLOW_DISCONNECT`, "The flow disconnected the contact");
            // the outcome comes from the detection status, not from this code (M1).
            Outcome::Voicemail => "CONTACT_FLOW_DISCONNECT",
            // ctr-data-model.html: "CUSTOMER_DISCONNECT - Customer disconnected first": the
            // person hung up while waiting in the queue.
            Outcome::Abandoned => "CUSTOMER_DISCONNECT",
        }
    }

    /// The contact's `AnsweringMachineDetectionStatus` for a call placed with detection, once
    /// media is established; `None` before, or for a call that never connected.
    // Source: `AnsweringMachineDetectionStatus`, "Indicates how an outbound campaign call is
    // actually disposed if the contact is connected to Amazon Connect", valid values include
    // HUMAN_ANSWERED and VOICEMAIL_BEEP,
    // https://docs.aws.amazon.com/connect/latest/APIReference/API_Contact.html
    // Assumed (not documented): which status a real call gets when (a voicemail with a beep
    // is `VOICEMAIL_BEEP`, never `VOICEMAIL_NO_BEEP`; a call that never connected has none,
    // not `AMD_UNANSWERED` nor a SIT tone one); docs/aws-verification.md M1 observes real ones.
    pub fn amd_status(self) -> Option<&'static str> {
        match self {
            Outcome::Connected | Outcome::Abandoned => Some("HUMAN_ANSWERED"),
            Outcome::Voicemail => Some("VOICEMAIL_BEEP"),
            _ => None,
        }
    }
}

/// An error answered in Connect's REST-JSON shape.
// Source: "Client errors are indicated by HTTP Status Code class of 4xx; Service errors ... 5xx",
// https://docs.aws.amazon.com/connect/latest/APIReference/best-practices-connect-apis.html
// and each operation's "Errors" section (name + HTTP status code), cited where each is used.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }
    // Source: "ResourceNotFoundException: The specified resource was not found. HTTP Status
    // Code: 404", in the Errors of StartOutboundVoiceContact, DescribeContact, DescribeQueue,
    // DescribeHoursOfOperation, GetContactAttributes and StopContact, e.g.
    // https://docs.aws.amazon.com/connect/latest/APIReference/API_GetContactAttributes.html
    fn not_found(message: impl Into<String>) -> Self {
        Self::new(404, "ResourceNotFoundException", message)
    }
    // Source: "InvalidParameterException: One or more of the specified parameters are not
    // valid. HTTP Status Code: 400",
    // https://docs.aws.amazon.com/connect/latest/APIReference/API_StartOutboundVoiceContact.html
    fn invalid(message: impl Into<String>) -> Self {
        Self::new(400, "InvalidParameterException", message)
    }
}

/// What the simulator decided for one call, in real seconds after placement.
#[derive(Debug, Clone, PartialEq)]
pub struct CallPlan {
    pub outcome: Outcome,
    pub answer_after: Option<f64>,
    pub end_after: f64,
    pub drop_event: bool,
    pub duplicate_event: bool,
}

/// Draws one call's fate. `ring_timeout` is the request's `RingTimeoutInSeconds`, if any.
// Source: StartOutboundVoiceContact, "Dialing timeout for this operation can be configured
// with the RingTimeoutInSeconds parameter. If not specified, the default dialing timeout will
// be 60 seconds which means if the call is not connected within 60 seconds, it fails."
// https://docs.aws.amazon.com/connect/latest/APIReference/API_StartOutboundVoiceContact.html
// Assumed (not documented): the shares of answered/busy/failed calls and how long ringing,
// talking, a busy signal or a network failure last are test knobs, not Connect behaviour;
// no page gives them (docs/aws-verification.md E4 observes real ones).
pub fn plan_call(cfg: &SimConfig, rng: &mut Rng, ring_timeout: Option<f64>) -> CallPlan {
    let scale = cfg.time_scale;
    // Differs from the documentation: without `RingTimeoutInSeconds` Connect dials for 60 s;
    // the simulator rings for `ringTimeoutSeconds`, 30 s by default (config.rs).
    let ring_timeout = ring_timeout.unwrap_or(cfg.ring_timeout_seconds);
    let u = rng.next_f64();
    let (outcome, answer_after, end_after) = if u < cfg.answer_rate {
        // An answer comes within the dialing timeout or not at all (StartOutboundVoiceContact,
        // "if the call is not connected within 60 seconds, it fails").
        let ring = rng
            .range(cfg.ring_seconds.min, cfg.ring_seconds.max)
            .min(ring_timeout);
        let talk = rng.range(cfg.talk_seconds.min, cfg.talk_seconds.max);
        (
            Outcome::Connected,
            Some(ring * scale),
            (ring + talk) * scale,
        )
    } else if u < cfg.answer_rate + cfg.busy_rate {
        let d = rng.range(cfg.busy_seconds.min, cfg.busy_seconds.max);
        (Outcome::Busy, None, d * scale)
    } else if u < cfg.answer_rate + cfg.busy_rate + cfg.fail_rate {
        let d = rng.range(cfg.fail_seconds.min, cfg.fail_seconds.max);
        (Outcome::Failed, None, d * scale)
    } else if u < cfg.answer_rate + cfg.busy_rate + cfg.fail_rate + cfg.invalid_rate {
        // The network refuses an invalid number about as fast as it fails a call.
        let d = rng.range(cfg.fail_seconds.min, cfg.fail_seconds.max);
        (Outcome::InvalidNumber, None, d * scale)
    } else if u < cfg.answer_rate
        + cfg.busy_rate
        + cfg.fail_rate
        + cfg.invalid_rate
        + cfg.voicemail_rate
    {
        // A voicemail picks up after ringing, as a person would; its greeting and what the
        // flow does with it last `voicemailSeconds`.
        let ring = rng
            .range(cfg.ring_seconds.min, cfg.ring_seconds.max)
            .min(ring_timeout);
        (
            Outcome::Voicemail,
            Some(ring * scale),
            (ring + cfg.voicemail_seconds) * scale,
        )
    } else {
        // StartOutboundVoiceContact: an unanswered call ends at the dialing timeout.
        (Outcome::NoAnswer, None, ring_timeout * scale)
    };
    // Source: Amazon Connect contact events are sent with "Delivery type: Best effort",
    // https://docs.aws.amazon.com/eventbridge/latest/ref/events-ref-connect.html ("in some rare
    // cases an event might not be delivered",
    // https://docs.aws.amazon.com/eventbridge/latest/ref/event-delivery-level.html): a dropped
    // event. Assumed (not documented): a duplicated event; the contact records data model says
    // records are delivered "at least once", the contact events pages say nothing either way.
    let e = rng.next_f64();
    CallPlan {
        outcome,
        answer_after,
        end_after,
        drop_event: e < cfg.drop_event_share,
        duplicate_event: e >= cfg.drop_event_share
            && e < cfg.drop_event_share + cfg.duplicate_event_share,
    }
}

/// `StartOutboundVoiceContact` as the simulator needs it.
// Source: the request body fields of "Request Syntax", "PUT /contact/outbound-voice",
// https://docs.aws.amazon.com/connect/latest/APIReference/API_StartOutboundVoiceContact.html
// (`InstanceId`, `ContactFlowId` and `DestinationPhoneNumber` required; the rest optional).
#[derive(Debug, Clone, Default)]
pub struct StartRequest {
    pub instance_id: String,
    pub contact_flow_id: Option<String>,
    pub destination: String,
    /// The caller ID asked for; `None`: the queue's outbound caller ID.
    // StartOutboundVoiceContact, `QueueId`: "If you specify a queue, the phone displayed for
    // caller ID is the phone number specified in the queue."
    pub source: Option<String>,
    pub queue_id: Option<String>,
    pub client_token: Option<String>,
    pub ring_timeout: Option<f64>,
    // StartOutboundVoiceContact, `Attributes`: "A custom key-value pair using an attribute
    // map", string to string.
    pub attributes: BTreeMap<String, String>,
    /// `AnswerMachineDetectionConfig.EnableAnswerMachineDetection`.
    pub answering_machine_detection: bool,
    /// `TrafficType`: `GENERAL` (the default) or `CAMPAIGN`.
    pub traffic_type: Option<String>,
    /// `CampaignId`.
    pub campaign_id: Option<String>,
}

impl StartRequest {
    /// Reads the request body the AWS SDKs send (`PUT /contact/outbound-voice`).
    // Assumed (not documented): a body that is not JSON, or a field of the wrong JSON type,
    // answers 400 `SerializationException`; the operation's Errors list does not name it (the
    // SDKs never send such a body; "wire shape" row of docs/aws-verification.md section 13).
    // Assumed (not documented): a missing required field answers `InvalidParameterException`;
    // the SDKs refuse to send such a request, so a real account never shows the answer.
    pub fn from_json(body: &Value) -> Result<Self, ApiError> {
        let obj = body.as_object().ok_or_else(|| {
            ApiError::new(400, "SerializationException", "body is not a JSON object")
        })?;
        let string = |k: &str| -> Result<Option<String>, ApiError> {
            match obj.get(k) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err(ApiError::new(
                    400,
                    "SerializationException",
                    format!("{k} is not a string"),
                )),
            }
        };
        let instance_id =
            string("InstanceId")?.ok_or_else(|| ApiError::invalid("InstanceId is required"))?;
        let destination = string("DestinationPhoneNumber")?
            .ok_or_else(|| ApiError::invalid("DestinationPhoneNumber is required"))?;
        let mut attributes = BTreeMap::new();
        match obj.get("Attributes") {
            None | Some(Value::Null) => {}
            Some(Value::Object(m)) => {
                for (k, v) in m {
                    let v = v.as_str().ok_or_else(|| {
                        ApiError::new(
                            400,
                            "SerializationException",
                            "Attributes values must be strings",
                        )
                    })?;
                    attributes.insert(k.clone(), v.to_string());
                }
            }
            Some(_) => {
                return Err(ApiError::new(
                    400,
                    "SerializationException",
                    "Attributes is not an object",
                ))
            }
        }
        let ring_timeout = match obj.get("RingTimeoutInSeconds") {
            None | Some(Value::Null) => None,
            Some(v) => Some(v.as_f64().ok_or_else(|| {
                ApiError::new(
                    400,
                    "SerializationException",
                    "RingTimeoutInSeconds is not a number",
                )
            })?),
        };
        // StartOutboundVoiceContact: `AnswerMachineDetectionConfig` {`EnableAnswerMachineDetection`,
        // `AwaitAnswerMachinePrompt`} (booleans), `TrafficType` "Valid Values: GENERAL |
        // CAMPAIGN", `CampaignId`; API_AnswerMachineDetectionConfig.html: "If set to true,
        // TrafficType must be set as CAMPAIGN".
        let answering_machine_detection = match obj.get("AnswerMachineDetectionConfig") {
            None | Some(Value::Null) => false,
            Some(Value::Object(m)) => match m.get("EnableAnswerMachineDetection") {
                None | Some(Value::Null) => false,
                Some(Value::Bool(b)) => *b,
                Some(_) => {
                    return Err(ApiError::new(
                        400,
                        "SerializationException",
                        "EnableAnswerMachineDetection is not a boolean",
                    ))
                }
            },
            Some(_) => {
                return Err(ApiError::new(
                    400,
                    "SerializationException",
                    "AnswerMachineDetectionConfig is not an object",
                ))
            }
        };
        let traffic_type = string("TrafficType")?;
        if let Some(t) = &traffic_type {
            if t != "GENERAL" && t != "CAMPAIGN" {
                return Err(ApiError::invalid("TrafficType must be GENERAL or CAMPAIGN"));
            }
        }
        // Assumed (not documented): the answer to detection without campaign traffic is
        // `InvalidParameterException`; the page says only that it "must" be CAMPAIGN (M2).
        if answering_machine_detection && traffic_type.as_deref() != Some("CAMPAIGN") {
            return Err(ApiError::invalid(
                "EnableAnswerMachineDetection needs TrafficType CAMPAIGN",
            ));
        }
        Ok(StartRequest {
            instance_id,
            contact_flow_id: string("ContactFlowId")?,
            destination,
            source: string("SourcePhoneNumber")?,
            queue_id: string("QueueId")?,
            client_token: string("ClientToken")?,
            ring_timeout,
            attributes,
            answering_machine_detection,
            traffic_type,
            campaign_id: string("CampaignId")?,
        })
    }
}

/// E.164: a `+`, then 8 to 15 digits, the first not 0.
// Source: StartOutboundVoiceContact, `DestinationPhoneNumber`: "The phone number of the
// customer, in E.164 format." (page cited on `StartRequest`).
// Assumed (not documented): the lengths accepted (8 to 15 digits) and that a malformed number
// answers `InvalidParameterException`; checked by docs/aws-verification.md S6.
pub fn is_e164(s: &str) -> bool {
    let Some(digits) = s.strip_prefix('+') else {
        return false;
    };
    (8..=15).contains(&digits.len())
        && digits.chars().all(|c| c.is_ascii_digit())
        && !digits.starts_with('0')
}

/// `+447700900123` → `+44*******123`, as the functions mask numbers in their logs.
pub fn mask_phone(s: &str) -> String {
    let digits: Vec<char> = s.chars().filter(char::is_ascii_digit).collect();
    if digits.len() < 6 {
        return "*".repeat(digits.len().max(3));
    }
    let mut out = String::new();
    if s.starts_with('+') {
        out.push('+');
    }
    for (i, d) in digits.iter().enumerate() {
        out.push(if i < 2 || i >= digits.len() - 3 {
            *d
        } else {
            '*'
        });
    }
    out
}

/// Hex SHA-256 of the number: records can be compared ("dialed twice?") without holding it.
pub fn hash_phone(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

/// Records are test output, not logs, but a phone number never appears in clear in them: an
/// attribute value that looks like one (a CSV column such as `altPhone`) is masked.
fn masked_attributes<S: serde::Serializer>(
    attributes: &BTreeMap<String, String>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut map = serializer.serialize_map(Some(attributes.len()))?;
    for (k, v) in attributes {
        let digits = v.chars().filter(char::is_ascii_digit).count();
        let phone_like = (7..=15).contains(&digits)
            && v.chars()
                .all(|c| c.is_ascii_digit() || "+-() .".contains(c));
        if phone_like {
            map.serialize_entry(k, &mask_phone(v))?;
        } else {
            map.serialize_entry(k, v)?;
        }
    }
    map.end()
}

// Source: contact event timestamps are ISO 8601 UTC strings with milliseconds in the samples of
// https://docs.aws.amazon.com/connect/latest/adminguide/contact-events.html
fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Epoch seconds with milliseconds: how Connect's REST-JSON API sends timestamps.
// Source: "Type: Timestamp", shown as `number` in the Response Syntax (e.g. "LastModifiedTime":
// number), https://docs.aws.amazon.com/connect/latest/APIReference/API_DescribeContact.html
fn epoch(t: DateTime<Utc>) -> Value {
    json!(t.timestamp_millis() as f64 / 1000.0)
}

/// One call the simulator received and placed.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ContactRecord {
    pub contact_id: String,
    pub client_token: Option<String>,
    pub instance_id: String,
    pub queue_id: Option<String>,
    pub contact_flow_id: Option<String>,
    pub destination_masked: String,
    pub destination_hash: String,
    /// The `SourcePhoneNumber` the call was placed with (the contact centre's own number, not
    /// personal data); `None` when the request left it to the queue.
    pub source_phone_number: Option<String>,
    /// Requests that carried this contact's token (1 + idempotent replays).
    pub requests: u32,
    pub placed_at: String,
    /// Planned times; a call stopped early ends sooner.
    pub answered_at: Option<String>,
    pub ends_at: String,
    pub ended_at: Option<String>,
    pub outcome: Outcome,
    pub disconnect_reason: Option<String>,
    /// The request asked for answering machine detection.
    pub answering_machine_detection: bool,
    /// `CampaignId` of the request, if any.
    pub campaign_id: Option<String>,
    pub event_dropped: bool,
    pub event_duplicated: bool,
    pub events_sent: u32,
    pub events_failed: u32,
    /// The oracles of the pause tests: the queue was disabled / outside its hours.
    pub placed_while_disabled: bool,
    pub placed_while_closed: bool,
    /// The contact attributes the call was placed with (the dialer sends `campaign` and
    /// `contactKey`, which tests group calls by), values that look like phone numbers masked.
    #[serde(serialize_with = "masked_attributes")]
    pub attributes: BTreeMap<String, String>,
    #[serde(skip)]
    placed: DateTime<Utc>,
    #[serde(skip)]
    answered: Option<DateTime<Utc>>,
    /// When the flow put the answered call in the queue (abandoned calls only; other calls
    /// report the queue from their placement, see `describe_contact`).
    #[serde(skip)]
    enqueued: Option<DateTime<Utc>>,
    #[serde(skip)]
    ended: Option<DateTime<Utc>>,
    #[serde(skip)]
    plan: CallPlan,
}

impl ContactRecord {
    /// The detection status Connect reports at `wall`: only for a call placed with detection,
    /// once it connected (see [`Outcome::amd_status`]).
    fn amd_status(&self, wall: DateTime<Utc>) -> Option<&'static str> {
        if !self.answering_machine_detection || self.answered.is_none_or(|a| a > wall) {
            return None;
        }
        self.outcome.amd_status()
    }
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Counters {
    /// Every `StartOutboundVoiceContact` request, whatever its answer.
    pub calls_received: u64,
    /// Distinct contacts created (calls placed).
    pub placed: u64,
    pub idempotent_replays: u64,
    pub throttled: u64,
    pub internal_errors: u64,
    pub rejected: u64,
    pub ended: u64,
    pub stopped: u64,
    pub describe_contact: u64,
    pub describe_queue: u64,
    pub describe_hours: u64,
    pub get_effective_hours: u64,
    pub get_contact_attributes: u64,
    pub unknown_requests: u64,
    pub events_sent: u64,
    pub events_dropped: u64,
    pub events_duplicated: u64,
    pub events_failed: u64,
    pub placed_while_disabled: u64,
    pub placed_while_closed: u64,
}

/// A started call, for the server to schedule its end.
#[derive(Debug, Clone, PartialEq)]
pub struct Started {
    pub contact_id: String,
    pub replay: bool,
    pub plan: Option<CallPlan>,
    pub generation: u64,
    /// Real seconds the answer waits after the call is placed (`stallFirstCall`).
    pub stall_seconds: f64,
}

/// A contact event to deliver with `PutEvents`, and how many copies.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingEvent {
    pub contact_id: String,
    pub entry: Value,
    pub copies: u32,
}

pub struct Simulator {
    pub config: SimConfig,
    bucket: TokenBucket,
    errors: Rng,
    contacts: HashMap<String, ContactRecord>,
    order: Vec<String>,
    tokens: HashMap<String, String>,
    dest_calls: HashMap<String, u32>,
    pub counters: Counters,
    in_progress: u64,
    peak: u64,
    generation: u64,
    /// A timed queue status: (until mono seconds, status afterwards).
    status_revert: Option<(f64, String)>,
    first_placed: Option<DateTime<Utc>>,
    last_placed: Option<DateTime<Utc>>,
}

impl Simulator {
    pub fn new(config: SimConfig, mono: f64) -> Self {
        Simulator {
            bucket: TokenBucket::new(config.quota_rate, config.quota_burst, mono),
            errors: Rng::derived(config.seed, "errors"),
            config,
            contacts: HashMap::new(),
            order: Vec::new(),
            tokens: HashMap::new(),
            dest_calls: HashMap::new(),
            counters: Counters::default(),
            in_progress: 0,
            peak: 0,
            generation: 0,
            status_revert: None,
            first_placed: None,
            last_placed: None,
        }
    }

    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Applies a new configuration; the quota keeps the tokens already earned.
    pub fn set_config(&mut self, config: SimConfig, mono: f64) {
        self.bucket
            .reconfigure(config.quota_rate, config.quota_burst, mono);
        if config.seed != self.config.seed {
            self.errors = Rng::derived(config.seed, "errors");
        }
        self.config = config;
    }

    /// Forgets every call and counter; calls still ringing are abandoned silently.
    pub fn reset(&mut self, mono: f64) {
        self.contacts.clear();
        self.order.clear();
        self.tokens.clear();
        self.dest_calls.clear();
        self.counters = Counters::default();
        self.in_progress = 0;
        self.peak = 0;
        self.generation += 1;
        self.status_revert = None;
        self.first_placed = None;
        self.last_placed = None;
        self.errors = Rng::derived(self.config.seed, "errors");
        self.bucket.refill_full(mono);
    }

    // Source: `ResourceNotFoundException` (404), "The specified resource was not found", for
    // an instance the account does not have (see `ApiError::not_found`).
    // Assumed (not documented): that an unknown instance id answers this name rather than
    // `AccessDeniedException` (an IAM policy scoped to one instance denies the others first);
    // docs/aws-verification.md section 13 (R3 with a made-up instance id).
    // Without `instanceId` configured the simulator accepts every instance id.
    fn check_instance(&self, instance_id: &str) -> Result<(), ApiError> {
        match &self.config.instance_id {
            Some(expected) if expected != instance_id => Err(ApiError::not_found(format!(
                "Instance {instance_id} not found"
            ))),
            _ => Ok(()),
        }
    }

    // Source: ARN formats `arn:aws:connect:<region>:<account>:instance/<id>`, with
    // `/contact/<id>`, `/queue/<id>`, `/operating-hours/<id>` (resource types table),
    // https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonconnect.html
    // (the same patterns are in the AWS::Connect::Queue template reference: `InstanceArn`,
    // `HoursOfOperationArn`), and "You can find the instance ID in the Amazon Resource Name
    // (ARN) of the instance",
    // https://docs.aws.amazon.com/connect/latest/adminguide/find-instance-arn.html
    // Assumed (not documented): an `InstanceId` given as the instance ARN is accepted as is;
    // the dialer sends the id, so nothing real depends on it (S1 with `<instance-arn>`).
    fn instance_arn(&self, instance_id: &str) -> String {
        if instance_id.starts_with("arn:") {
            return instance_id.to_string();
        }
        format!(
            "arn:aws:connect:{}:{}:instance/{}",
            self.config.region, self.config.account_id, instance_id
        )
    }

    /// The queue status now, after any timed change has run out.
    pub fn queue_status(&mut self, mono: f64) -> String {
        if let Some((until, after)) = &self.status_revert {
            if mono >= *until {
                self.config.queue_status = after.clone();
                self.status_revert = None;
            }
        }
        self.config.queue_status.clone()
    }

    /// Sets the queue status, for `for_seconds` (then back to the current one) or for good.
    // Source: the control API's stand-in for UpdateQueueStatus, `Status`: "ENABLED | DISABLED",
    // https://docs.aws.amazon.com/connect/latest/APIReference/API_UpdateQueueStatus.html
    pub fn set_queue_status(
        &mut self,
        status: &str,
        for_seconds: Option<f64>,
        mono: f64,
    ) -> Result<(), String> {
        if status != "ENABLED" && status != "DISABLED" {
            return Err("status must be ENABLED or DISABLED".to_string());
        }
        let previous = self.queue_status(mono);
        self.status_revert = match for_seconds {
            Some(s) if s > 0.0 => Some((mono + s, previous)),
            Some(_) => return Err("forSeconds must be > 0".to_string()),
            None => None,
        };
        self.config.queue_status = status.to_string();
        Ok(())
    }

    /// `StartOutboundVoiceContact`: quota first (as the service front door does), then
    /// idempotency, then the call.
    // Source: StartOutboundVoiceContact,
    // https://docs.aws.amazon.com/connect/latest/APIReference/API_StartOutboundVoiceContact.html
    // Assumed (not documented): the order of the checks (parameters, then the rate, then the
    // token, then the call); the page lists the errors, not their precedence. S4 and S6 of
    // docs/aws-verification.md see the answers, not the order.
    // Differs from the documentation: `SourcePhoneNumber` "If you do not specify a source
    // phone number, you must specify a queue"; the simulator accepts a request with neither.
    // Differs from the documentation: the refusals of a real instance are not simulated:
    // `DestinationNotAllowedException` (403, e.g. UK 447 numbers "not allowed by default"),
    // `OutboundContactNotPermittedException` (403), `LimitExceededException` (429, "The
    // allowed limit for the resource has been exceeded"), `InvalidRequestException` (400);
    // checked by docs/aws-verification.md A1, A2, A3 and S5.
    // Assumed (not documented): a call is placed whatever the queue's `Status` and hours (the
    // flow, not the API, decides); the dialer checks both before dialling (Q2, Q4).
    pub fn start_outbound(
        &mut self,
        req: StartRequest,
        mono: f64,
        wall: DateTime<Utc>,
    ) -> Result<Started, ApiError> {
        self.counters.calls_received += 1;
        let checked = self.check_instance(&req.instance_id).and_then(|_| {
            if !is_e164(&req.destination) {
                Err(ApiError::invalid(
                    "DestinationPhoneNumber is not a valid E.164 number",
                ))
            } else if req.contact_flow_id.as_deref().unwrap_or("").is_empty() {
                // `ContactFlowId` "Required: Yes" (StartOutboundVoiceContact).
                Err(ApiError::invalid("ContactFlowId is required"))
            } else if req
                .ring_timeout
                .is_some_and(|t| !(15.0..=60.0).contains(&t))
            {
                // `RingTimeoutInSeconds` "Valid Range: Minimum value of 15. Maximum value of
                // 60." (StartOutboundVoiceContact); a value outside answers 400 (S6).
                Err(ApiError::invalid(
                    "RingTimeoutInSeconds must be between 15 and 60",
                ))
            } else {
                Ok(())
            }
        });
        if let Err(e) = checked {
            self.counters.rejected += 1;
            return Err(e);
        }
        // Source: "Throttling errors in Amazon Connect public API(s) are defined by HTTP status
        // code 429" (best-practices-connect-apis.html, cited on `ApiError`); the rate is in
        // quota.rs.
        // Differs from the documentation: the operation's Errors list has no
        // `TooManyRequestsException`; its 429 is `LimitExceededException`. The name is the one
        // real accounts report (and the dialer knows both); S4 confirms it.
        // Assumed (not documented): a throttled request places nothing and leaves its
        // `ClientToken` unused, so the retry places the call (A2, S4).
        if !self.bucket.try_take(mono) {
            self.counters.throttled += 1;
            return Err(ApiError::new(
                429,
                "TooManyRequestsException",
                "Rate exceeded",
            ));
        }
        // Source: StartOutboundVoiceContact, `ClientToken`: "A unique, case-sensitive
        // identifier that you provide to ensure the idempotency of the request. ... The token
        // is valid for 7 days after creation. If a contact is already started, the contact ID
        // is returned. If the contact is disconnected, a new contact is started."
        // Differs from the documentation: a known token always returns the same contact,
        // even after that call was disconnected (Connect starts a new contact: a second ring),
        // and even after 7 days (the token has expired: also a new contact). Tokens are only
        // forgotten by /_sim/reset. Checked by docs/aws-verification.md S2, S3.
        if let Some(token) = &req.client_token {
            if let Some(id) = self.tokens.get(token).cloned() {
                self.counters.idempotent_replays += 1;
                if let Some(rec) = self.contacts.get_mut(&id) {
                    rec.requests += 1;
                }
                return Ok(Started {
                    contact_id: id,
                    replay: true,
                    plan: None,
                    generation: self.generation,
                    stall_seconds: 0.0,
                });
            }
        }
        // Source: StartOutboundVoiceContact Errors, "InternalServiceException: Request
        // processing failed because of an error or failure with the service. HTTP Status Code:
        // 500".
        if self.config.error_rate > 0.0 && self.errors.next_f64() < self.config.error_rate {
            // A failed request places nothing: a retry with the same token places the call.
            // Assumed (not documented): a 500 may in reality come after the call was placed;
            // the retry with the same token then returns that contact (S2 covers the token).
            self.counters.internal_errors += 1;
            return Err(ApiError::new(
                500,
                "InternalServiceException",
                "Simulated internal error",
            ));
        }

        let dest_hash = hash_phone(&req.destination);
        let nth = self.dest_calls.entry(dest_hash.clone()).or_insert(0);
        *nth += 1;
        // Keyed by number and its call count, not arrival order: the same list dials the
        // same outcomes for the same seed however the lanes interleave.
        let first_call = *nth == 1;
        let mut rng = Rng::derived(self.config.seed, &format!("call|{dest_hash}|{nth}"));
        let mut plan = plan_call(&self.config, &mut rng, req.ring_timeout);
        if first_call && self.config.busy_first_call.contains(&req.destination) {
            // A test script, not Connect behaviour: this number is busy the first time it is
            // called (a redial is then expected), whatever the draw said.
            plan.outcome = Outcome::Busy;
            plan.answer_after = None;
            plan.end_after = self.config.busy_seconds.min * self.config.time_scale;
        }
        if self.config.invalid_numbers.contains(&req.destination) {
            // A test script, not Connect behaviour: this number is invalid at every call.
            plan.outcome = Outcome::InvalidNumber;
            plan.answer_after = None;
            plan.end_after = self.config.fail_seconds.min * self.config.time_scale;
        }
        if self.config.abandon_numbers.contains(&req.destination) {
            // A test script, not Connect behaviour: a person answers this number at every
            // call, after the shortest ring, waits in the queue and hangs up.
            let ring = self.config.ring_seconds.min;
            plan.outcome = Outcome::Abandoned;
            plan.answer_after = Some(ring * self.config.time_scale);
            plan.end_after = (ring + self.config.abandon_seconds) * self.config.time_scale;
        }
        if self.config.voicemail_numbers.contains(&req.destination) {
            // A test script, not Connect behaviour: a voicemail answers this number at every
            // call, after the shortest ring.
            let ring = self.config.ring_seconds.min;
            plan.outcome = Outcome::Voicemail;
            plan.answer_after = Some(ring * self.config.time_scale);
            plan.end_after = (ring + self.config.voicemail_seconds) * self.config.time_scale;
        }
        if plan.outcome == Outcome::Voicemail && !req.answering_machine_detection {
            // Without detection Connect cannot tell a machine from a person: the call was
            // answered ("answered by a person or by voicemail", CONNECTED_TO_SYSTEM,
            // contact-events.html).
            plan.outcome = Outcome::Connected;
        }
        // A test script, not Connect behaviour: the call is placed now, its answer is late.
        let stall_seconds = if first_call && self.config.stall_first_call.contains(&req.destination)
        {
            self.config.stall_seconds
        } else {
            0.0
        };
        let contact_id = self.new_contact_id(&req, &mut rng);

        let status = self.queue_status(mono);
        let closed = !hours::is_open(&self.config.hours, wall);
        let answered = plan
            .answer_after
            .map(|s| wall + Duration::milliseconds((s * 1000.0) as i64));
        let ends = wall + Duration::milliseconds((plan.end_after * 1000.0) as i64);
        let rec = ContactRecord {
            contact_id: contact_id.clone(),
            client_token: req.client_token.clone(),
            instance_id: req.instance_id.clone(),
            queue_id: req.queue_id.clone(),
            contact_flow_id: req.contact_flow_id.clone(),
            destination_masked: mask_phone(&req.destination),
            destination_hash: dest_hash,
            source_phone_number: req.source.clone(),
            requests: 1,
            placed_at: rfc3339(wall),
            answered_at: answered.map(rfc3339),
            ends_at: rfc3339(ends),
            ended_at: None,
            outcome: plan.outcome,
            disconnect_reason: None,
            answering_machine_detection: req.answering_machine_detection,
            campaign_id: req.campaign_id.clone(),
            event_dropped: plan.drop_event,
            event_duplicated: plan.duplicate_event,
            events_sent: 0,
            events_failed: 0,
            placed_while_disabled: status == "DISABLED",
            placed_while_closed: closed,
            attributes: req.attributes,
            placed: wall,
            answered,
            // Assumed (not documented): the flow transfers an answered call to the queue about
            // a second after the answer (docs/aws-verification.md M4).
            enqueued: answered
                .filter(|_| plan.outcome == Outcome::Abandoned)
                .map(|a| a + Duration::milliseconds((1000.0 * self.config.time_scale) as i64)),
            ended: None,
            plan: plan.clone(),
        };
        if rec.placed_while_disabled {
            self.counters.placed_while_disabled += 1;
        }
        if rec.placed_while_closed {
            self.counters.placed_while_closed += 1;
        }
        if let Some(token) = req.client_token {
            self.tokens.insert(token, contact_id.clone());
        }
        self.contacts.insert(contact_id.clone(), rec);
        self.order.push(contact_id.clone());
        self.counters.placed += 1;
        self.in_progress += 1;
        self.peak = self.peak.max(self.in_progress);
        self.first_placed.get_or_insert(wall);
        self.last_placed = Some(wall);
        Ok(Started {
            contact_id,
            replay: false,
            plan: Some(plan),
            generation: self.generation,
            stall_seconds,
        })
    }

    // Source: StartOutboundVoiceContact Response Syntax, `ContactId`: "The identifier of this
    // contact within the Amazon Connect instance", a string of length 1 to 256.
    // Assumed (not documented): its shape, a lowercase UUID like the documentation's examples;
    // the dialer treats it as opaque (S1 shows a real one).
    fn new_contact_id(&self, req: &StartRequest, rng: &mut Rng) -> String {
        loop {
            let a = rng.next_u64()
                ^ Rng::derived(self.config.seed, req.client_token.as_deref().unwrap_or(""))
                    .next_u64();
            let b = rng.next_u64().wrapping_add(self.counters.placed);
            let id = format!(
                "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
                a >> 32,
                (a >> 16) & 0xffff,
                a & 0x0fff,
                0x8000 | ((b >> 48) & 0x3fff),
                b & 0xffff_ffff_ffff
            );
            if !self.contacts.contains_key(&id) {
                return id;
            }
        }
    }

    /// Ends a call (its planned end, or `StopContact`). Returns the DISCONNECTED event to send,
    /// or nothing when the call already ended, belongs to a reset generation, or its event is
    /// dropped.
    pub fn finish(
        &mut self,
        contact_id: &str,
        generation: u64,
        wall: DateTime<Utc>,
        stopped: bool,
    ) -> Option<PendingEvent> {
        if generation != self.generation {
            return None;
        }
        let rec = self.contacts.get_mut(contact_id)?;
        if rec.ended.is_some() {
            return None;
        }
        if stopped {
            // Stopped before its planned end: not answered yet means not answered at all.
            // Source: StopContact "Ends the specified contact" (it works for the API
            // initiation method; the page lists DISCONNECT, TRANSFER, QUEUE_TRANSFER,
            // EXTERNAL_OUTBOUND and MONITOR as the ones it does not work for),
            // https://docs.aws.amazon.com/connect/latest/APIReference/API_StopContact.html
            if rec.answered.is_some_and(|a| a > wall) {
                rec.answered = None;
                rec.answered_at = None;
                rec.outcome = Outcome::NoAnswer;
            }
            self.counters.stopped += 1;
        }
        rec.ended = Some(wall);
        rec.ended_at = Some(rfc3339(wall));
        // Assumed (not documented): a contact ended by StopContact carries `DisconnectReason`
        // `API`; the StopContact page only points to the codes of the contact records data
        // model (`DisconnectReason` under ContactTraceRecord, ctr-data-model.html).
        let reason = if stopped {
            "API"
        } else {
            rec.outcome.disconnect_reason()
        };
        rec.disconnect_reason = Some(reason.to_string());
        self.in_progress = self.in_progress.saturating_sub(1);
        self.counters.ended += 1;
        let plan = rec.plan.clone();
        // Best-effort delivery (events-ref-connect.html, see `plan_call`): an event can be
        // lost; DescribeContact still tells the end.
        if plan.drop_event {
            self.counters.events_dropped += 1;
            return None;
        }
        if plan.duplicate_event {
            self.counters.events_duplicated += 1;
        }
        let rec = self.contacts.get(contact_id)?;
        // Source: "DISCONNECTED - A voice call, chat, or task is disconnected", one event per
        // contact end,
        // https://docs.aws.amazon.com/connect/latest/adminguide/contact-events.html
        Some(PendingEvent {
            contact_id: contact_id.to_string(),
            entry: self.event_entry(rec, "DISCONNECTED", wall),
            copies: if plan.duplicate_event { 2 } else { 1 },
        })
    }

    /// A lifecycle event other than DISCONNECTED (`allEventTypes`), never dropped.
    // Source: "INITIATED - A voice call, chat, or task is initiated or transferred" and
    // "CONNECTED_TO_SYSTEM - The contact has established media (for example, it was answered
    // by a person or by voicemail)",
    // https://docs.aws.amazon.com/connect/latest/adminguide/contact-events.html
    // Assumed (not documented): which other event types a real API call emits in between
    // (e.g. QUEUED, CONNECTED_TO_AGENT, AMD_* ones); the rule must drop them all (E1, E2).
    // Differs from the documentation: no COMPLETED event is ever sent; the page says that for
    // a contact without after contact work COMPLETED is published right after DISCONNECTED,
    // with the same data (the deployed rule matches DISCONNECTED only, so a real COMPLETED
    // is filtered out; E1).
    pub fn lifecycle_event(
        &self,
        contact_id: &str,
        event_type: &str,
        generation: u64,
        wall: DateTime<Utc>,
    ) -> Option<PendingEvent> {
        if generation != self.generation || !self.config.all_event_types {
            return None;
        }
        let rec = self.contacts.get(contact_id)?;
        if rec.ended.is_some() {
            return None;
        }
        Some(PendingEvent {
            contact_id: contact_id.to_string(),
            entry: self.event_entry(rec, event_type, wall),
            copies: 1,
        })
    }

    /// Records what happened to a delivery.
    pub fn event_delivered(&mut self, contact_id: &str, generation: u64, ok: bool) {
        if generation != self.generation {
            return;
        }
        if ok {
            self.counters.events_sent += 1;
        } else {
            self.counters.events_failed += 1;
        }
        if let Some(rec) = self.contacts.get_mut(contact_id) {
            if ok {
                rec.events_sent += 1;
            } else {
                rec.events_failed += 1;
            }
        }
    }

    /// The `PutEvents` entry for a contact event, in the shape of the contact events data
    /// model (`process-contact-events` parses exactly this).
    // Source: "Contact events data model" (the `detail` keys below) and its sample events,
    // https://docs.aws.amazon.com/connect/latest/adminguide/contact-events.html
    fn event_entry(&self, rec: &ContactRecord, event_type: &str, wall: DateTime<Utc>) -> Value {
        let instance_arn = self.instance_arn(&rec.instance_id);
        let contact_arn = format!("{instance_arn}/contact/{}", rec.contact_id);
        let mut detail = Map::new();
        // contact-events.html: `eventType` (INITIATED, CONNECTED_TO_SYSTEM, DISCONNECTED...).
        detail.insert("eventType".into(), json!(event_type));
        detail.insert("contactId".into(), json!(rec.contact_id));
        // Assumed (not documented): `initialContactId` equals `contactId` for a contact that
        // starts its own chain (a call placed by the API); the page defines it as the
        // initial contact's id without saying whether it is present then. R1 and E2 check it.
        detail.insert("initialContactId".into(), json!(rec.contact_id));
        // contact-events.html: `channel` `VOICE` for a call (E3).
        detail.insert("channel".into(), json!("VOICE"));
        // contact-events.html: `instanceArn`. The published samples disagree on its spelling
        // (`instanceArn` / `instanceARN`); E2 confirms the real key.
        detail.insert("instanceArn".into(), json!(instance_arn));
        // Source: "Every contact ... is initiated by one of the following methods: ... API",
        // "stored in the InitiationMethod field of the contact record",
        // https://docs.aws.amazon.com/connect/latest/adminguide/contact-initiation-methods.html
        // (that StartOutboundVoiceContact contacts are `API` is checked by E3 and S1).
        detail.insert("initiationMethod".into(), json!("API"));
        detail.insert("initiationTimestamp".into(), json!(rfc3339(rec.placed)));
        // contact-events.html: `connectedToSystemTimestamp`, set once media is established
        // (CONNECTED_TO_SYSTEM: "answered by a person or by voicemail"; E5).
        if let Some(a) = rec.answered.filter(|a| *a <= wall) {
            detail.insert("connectedToSystemTimestamp".into(), json!(rfc3339(a)));
        }
        // contact-events.html: CONNECTED_TO_SYSTEM "is generated for any
        // AnsweringMachineDetectionStatus code". Assumed (not documented): the key is
        // `answeringMachineDetectionStatus` like the other camelCase detail keys, and later
        // events (DISCONNECTED) carry it too (M1).
        if let Some(status) = rec.amd_status(wall) {
            detail.insert("answeringMachineDetectionStatus".into(), json!(status));
        }
        // contact-events.html: `queueInfo` with `queueArn` and `queueType`.
        // Assumed (not documented): it is present from the start for a call placed with a
        // `QueueId`, without `enqueueTimestamp`, and `queueType` is `STANDARD` (E2).
        if let Some(q) = &rec.queue_id {
            let mut queue =
                json!({"queueArn": format!("{instance_arn}/queue/{q}"), "queueType": "STANDARD"});
            // contact-events.html: `queueInfo.enqueueTimestamp`, once the flow queued the
            // contact (QUEUED: "The contact is queued to be connected to an agent"; M4).
            if let Some(at) = rec.enqueued.filter(|at| *at <= wall) {
                queue["enqueueTimestamp"] = json!(rfc3339(at));
            }
            detail.insert("queueInfo".into(), queue);
        }
        // contact-events.html: `disconnectTimestamp` on DISCONNECTED.
        if event_type == "DISCONNECTED" {
            detail.insert(
                "disconnectTimestamp".into(),
                json!(rfc3339(rec.ended.unwrap_or(wall))),
            );
            // Assumed (not documented): the DISCONNECTED event carries `disconnectReason` as a
            // plain string with the contact record's codes (ctr-data-model.html,
            // `DisconnectReason`); the events page does not settle it. E4 checks it.
            if let Some(r) = &rec.disconnect_reason {
                detail.insert("disconnectReason".into(), json!(r));
            }
        }
        // Source: `source` "aws.connect", `detail-type` "Amazon Connect Contact Event",
        // https://docs.aws.amazon.com/eventbridge/latest/ref/events-ref-connect.html
        // and the PutEvents entry fields (`Detail` is a JSON string, `Time` a timestamp),
        // https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEvents.html
        // Assumed (not documented): `resources` holds the contact ARN then the instance ARN
        // (E2).
        let mut entry = json!({
            "Source": "aws.connect",
            "DetailType": "Amazon Connect Contact Event",
            "Detail": Value::Object(detail).to_string(),
            "Resources": [contact_arn, instance_arn],
            "Time": wall.timestamp_millis() as f64 / 1000.0,
        });
        // Source: "When an AWS service in your account emits an event, it goes to your
        // account's default event bus",
        // https://docs.aws.amazon.com/eventbridge/latest/userguide/event-types.html
        // (no `EventBusName` = default bus; `eventBusName` is a test knob only).
        if let Some(bus) = &self.config.event_bus_name {
            entry["EventBusName"] = json!(bus);
        }
        entry
    }

    /// `DescribeContact`, as the call stands at `wall`.
    // Source: "GET /contacts/InstanceId/ContactId", Response Syntax `Contact` {Arn, Id,
    // InitialContactId, InitiationMethod, Channel, InitiationTimestamp, QueueInfo {Id,
    // EnqueueTimestamp}, DisconnectTimestamp, LastUpdateTimestamp, ...},
    // https://docs.aws.amazon.com/connect/latest/APIReference/API_DescribeContact.html
    // and the `Contact` data type (`DisconnectReason`, `ConnectedToSystemTimestamp`),
    // https://docs.aws.amazon.com/connect/latest/APIReference/API_Contact.html
    // "Contact information remains available in Amazon Connect for 24 months"; the simulator
    // keeps it until /_sim/reset.
    pub fn describe_contact(
        &mut self,
        instance_id: &str,
        contact_id: &str,
        wall: DateTime<Utc>,
    ) -> Result<Value, ApiError> {
        self.counters.describe_contact += 1;
        self.check_instance(instance_id)?;
        // DescribeContact Errors: an unknown contact is `ResourceNotFoundException` (404).
        // Assumed (not documented): that this, not `InvalidParameterException`, is the answer
        // for a well-formed id the instance never had; checked by docs/aws-verification.md R3.
        let rec = self
            .contacts
            .get(contact_id)
            .ok_or_else(|| ApiError::not_found(format!("Contact {contact_id} not found")))?;
        let instance_arn = self.instance_arn(&rec.instance_id);
        let mut c = Map::new();
        c.insert(
            "Arn".into(),
            json!(format!("{instance_arn}/contact/{}", rec.contact_id)),
        );
        c.insert("Id".into(), json!(rec.contact_id));
        // Assumed (not documented): `InitialContactId` is the contact's own id ("If this
        // contact is related to other contacts, this is the ID of the initial contact").
        c.insert("InitialContactId".into(), json!(rec.contact_id));
        // `InitiationMethod` API, `Channel` VOICE: valid values of the `Contact` data type;
        // API is how StartOutboundVoiceContact contacts are initiated
        // (contact-initiation-methods.html, cited in `event_entry`). Checked by S1.
        c.insert("InitiationMethod".into(), json!("API"));
        c.insert("Channel".into(), json!("VOICE"));
        // `InitiationTimestamp`: "For API, this is when the request arrived" (API_Contact).
        c.insert("InitiationTimestamp".into(), epoch(rec.placed));
        // Assumed (not documented): `QueueInfo` ("If this contact was queued") is present
        // from placement, with `EnqueueTimestamp` the placement time; a real call is queued
        // only when its flow transfers it to the queue (R1).
        // A call the flow queued after its answer (abandoned calls here) reports that time
        // once it has come (M4).
        if let Some(q) = &rec.queue_id {
            let enqueued = match rec.enqueued {
                Some(at) if at <= wall => at,
                _ => rec.placed,
            };
            c.insert(
                "QueueInfo".into(),
                json!({"Id": q, "EnqueueTimestamp": epoch(enqueued)}),
            );
        }
        let mut last = rec.placed;
        // `ConnectedToSystemTimestamp` (API_Contact): when the customer endpoint connected to
        // Amazon Connect, i.e. answered (R1).
        if let Some(a) = rec.answered.filter(|a| *a <= wall) {
            c.insert("ConnectedToSystemTimestamp".into(), epoch(a));
            last = a;
        }
        // `AnsweringMachineDetectionStatus` and `Campaign` {`CampaignId`} (API_Contact).
        if let Some(status) = rec.amd_status(wall) {
            c.insert("AnsweringMachineDetectionStatus".into(), json!(status));
        }
        if let Some(id) = &rec.campaign_id {
            c.insert("Campaign".into(), json!({ "CampaignId": id }));
        }
        // `DisconnectTimestamp`: "The timestamp when the customer endpoint disconnected from
        // Amazon Connect"; `DisconnectReason`: "The disconnect reason for the contact"
        // (API_Contact). Assumed (not documented): the same codes as the contact record's
        // `DisconnectReason` (the page also documents a `DisconnectDetails` object; R1).
        if let Some(end) = rec.ended {
            c.insert("DisconnectTimestamp".into(), epoch(end));
            if let Some(r) = &rec.disconnect_reason {
                c.insert("DisconnectReason".into(), json!(r));
            }
            last = end;
        }
        // `LastUpdateTimestamp`: "The timestamp when contact was last updated" (API_Contact).
        c.insert("LastUpdateTimestamp".into(), epoch(last));
        Ok(json!({ "Contact": Value::Object(c) }))
    }

    /// `GetContactAttributes`.
    // Source: "GET /contact/attributes/InstanceId/InitialContactId", response `Attributes`
    // (string to string map), Errors `ResourceNotFoundException` (404),
    // https://docs.aws.amazon.com/connect/latest/APIReference/API_GetContactAttributes.html
    // Assumed (not documented): the attributes are exactly those of the request (a real
    // flow can add or change them with Set contact attributes); checked by S1.
    pub fn contact_attributes(
        &mut self,
        instance_id: &str,
        contact_id: &str,
    ) -> Result<Value, ApiError> {
        self.counters.get_contact_attributes += 1;
        self.check_instance(instance_id)?;
        let rec = self
            .contacts
            .get(contact_id)
            .ok_or_else(|| ApiError::not_found(format!("Contact {contact_id} not found")))?;
        Ok(json!({ "Attributes": rec.attributes }))
    }

    /// Validates a `StopContact` target; the server then calls `finish(.., stopped = true)`.
    // Source: StopContact Errors, "ContactNotFoundException: The contact with the specified
    // ID is not active or does not exist. Applies to Voice calls only",
    // https://docs.aws.amazon.com/connect/latest/APIReference/API_StopContact.html
    // Differs from the documentation: an unknown contact answers `ResourceNotFoundException`
    // (404) here, where the page's wording gives `ContactNotFoundException`; and an ended one
    // answers HTTP 400, where the page lists `ContactNotFoundException` with a status code of
    // its own (410 in the service model; the code itself was not read on the page). Only the
    // simulator's tests call StopContact, so no verification item is needed.
    pub fn stoppable(&self, instance_id: &str, contact_id: &str) -> Result<bool, ApiError> {
        self.check_instance(instance_id)?;
        let rec = self
            .contacts
            .get(contact_id)
            .ok_or_else(|| ApiError::not_found(format!("Contact {contact_id} not found")))?;
        if rec.ended.is_some() {
            return Err(ApiError::new(
                400,
                "ContactNotFoundException",
                "Contact is not active",
            ));
        }
        Ok(true)
    }

    /// `DescribeQueue`: any queue id answers, with the configured status and hours.
    // Source: "GET /queues/InstanceId/QueueId", response `Queue`,
    // https://docs.aws.amazon.com/connect/latest/APIReference/API_DescribeQueue.html
    // and the `Queue` data type (`Status` "ENABLED | DISABLED", `HoursOfOperationId`,
    // `OutboundCallerConfig`: "The outbound caller ID name, number, and outbound whisper
    // flow"), https://docs.aws.amazon.com/connect/latest/APIReference/API_Queue.html
    // Differs from the documentation: any queue id answers; Connect answers
    // `ResourceNotFoundException` (404) for a queue the instance does not have (Q1).
    // Assumed (not documented): `Status` is always present (every field of `Queue` is
    // "Required: No"); checked by docs/aws-verification.md Q1.
    pub fn describe_queue(
        &mut self,
        instance_id: &str,
        queue_id: &str,
        mono: f64,
    ) -> Result<Value, ApiError> {
        self.counters.describe_queue += 1;
        self.check_instance(instance_id)?;
        let status = self.queue_status(mono);
        let arn = format!("{}/queue/{queue_id}", self.instance_arn(instance_id));
        Ok(json!({"Queue": {
            "Name": "Simulated queue",
            "QueueArn": arn,
            "QueueId": queue_id,
            "Description": "connect-sim (test infrastructure)",
            "OutboundCallerConfig": {
                "OutboundCallerIdName": "connect-sim",
                "OutboundCallerIdNumberId": "sim-number-0001",
                "OutboundFlowId": "sim-outbound-whisper-flow"
            },
            "HoursOfOperationId": self.config.hours.id,
            "Status": status,
            "Tags": {}
        }}))
    }

    /// `DescribeHoursOfOperation`: only the configured hours exist.
    // Source: "GET /hours-of-operations/InstanceId/HoursOfOperationId", Response Syntax
    // `HoursOfOperation` {Config [{Day, EndTime {Hours, Minutes}, StartTime}], Description,
    // HoursOfOperationArn, HoursOfOperationId, LastModifiedRegion, LastModifiedTime, Name,
    // Tags, TimeZone}; Errors `ResourceNotFoundException` (404),
    // https://docs.aws.amazon.com/connect/latest/APIReference/API_DescribeHoursOfOperation.html
    // Overrides (holidays) are not part of this answer: the `HoursOfOperation` data type has no
    // field for them (https://docs.aws.amazon.com/connect/latest/APIReference/API_HoursOfOperation.html);
    // they are listed by ListHoursOfOperationOverrides and applied by
    // GetEffectiveHoursOfOperations (`effective_hours`).
    // Differs from the documentation: `ParentHoursOfOperations` is not simulated.
    pub fn describe_hours(
        &mut self,
        instance_id: &str,
        hours_id: &str,
        wall: DateTime<Utc>,
    ) -> Result<Value, ApiError> {
        self.counters.describe_hours += 1;
        self.check_instance(instance_id)?;
        let h = &self.config.hours;
        if hours_id != h.id {
            return Err(ApiError::not_found(format!(
                "Hours of operation {hours_id} not found"
            )));
        }
        Ok(json!({"HoursOfOperation": {
            "HoursOfOperationId": h.id,
            "HoursOfOperationArn": format!("{}/operating-hours/{}", self.instance_arn(instance_id), h.id),
            "Name": h.name,
            "Description": "connect-sim (test infrastructure)",
            "TimeZone": h.time_zone,
            "Config": h.config,
            "Tags": {},
            "LastModifiedTime": epoch(wall),
            "LastModifiedRegion": self.config.region
        }}))
    }

    /// `GetEffectiveHoursOfOperations`: the configured hours date by date, overrides applied.
    // Source: "GET /effective-hours-of-operations/InstanceId/HoursOfOperationId?fromDate=
    // FromDate&toDate=ToDate", `FromDate` and `ToDate` required, "Pattern: ^\d{4}-\d{2}-\d{2}$";
    // Errors `InvalidParameterException` (400), `ResourceNotFoundException` (404),
    // https://docs.aws.amazon.com/connect/latest/APIReference/API_GetEffectiveHoursOfOperations.html
    // Assumed (not documented): `ToDate` before `FromDate`, or a span over a year, is
    // `InvalidParameterException` (docs/aws-verification.md Q5).
    pub fn effective_hours(
        &mut self,
        instance_id: &str,
        hours_id: &str,
        from: Option<&str>,
        to: Option<&str>,
    ) -> Result<Value, ApiError> {
        self.counters.get_effective_hours += 1;
        self.check_instance(instance_id)?;
        let date = |what: &str, v: Option<&str>| {
            let v = v.ok_or_else(|| ApiError::invalid(format!("{what} is required")))?;
            if v.len() != 10 {
                return Err(ApiError::invalid(format!("{what} '{v}' is not yyyy-MM-dd")));
            }
            chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d")
                .map_err(|_| ApiError::invalid(format!("{what} '{v}' is not yyyy-MM-dd")))
        };
        let (from, to) = (date("fromDate", from)?, date("toDate", to)?);
        if to < from {
            return Err(ApiError::invalid("toDate is before fromDate"));
        }
        if (to - from).num_days() + 1 > hours::MAX_EFFECTIVE_DAYS {
            return Err(ApiError::invalid(format!(
                "at most {} dates",
                hours::MAX_EFFECTIVE_DAYS
            )));
        }
        let h = &self.config.hours;
        if hours_id != h.id {
            return Err(ApiError::not_found(format!(
                "Hours of operation {hours_id} not found"
            )));
        }
        Ok(hours::effective(h, from, to))
    }

    /// `/_sim/stats`; per-contact records only when asked (a large campaign has many).
    pub fn stats(&self, with_contacts: bool) -> Value {
        let mut outcomes: BTreeMap<&str, u64> = BTreeMap::new();
        for rec in self.contacts.values().filter(|r| r.ended.is_some()) {
            *outcomes.entry(rec.outcome.as_str()).or_default() += 1;
        }
        let distinct = self.dest_calls.len() as u64;
        let dialed_twice = self.dest_calls.values().filter(|n| **n > 1).count() as u64;
        // The counters sit at the top level, next to the gauges: `stats["placed"]`.
        let mut v = serde_json::to_value(&self.counters).unwrap_or_else(|_| json!({}));
        let gauges = json!({
            "inProgress": self.in_progress,
            "peakConcurrency": self.peak,
            "distinctDestinations": distinct,
            "destinationsDialedMoreThanOnce": dialed_twice,
            "outcomes": outcomes,
            "firstPlacedAt": self.first_placed.map(rfc3339),
            "lastPlacedAt": self.last_placed.map(rfc3339),
            "queueStatus": self.config.queue_status,
            "generation": self.generation,
        });
        if let (Some(v), Some(g)) = (v.as_object_mut(), gauges.as_object()) {
            v.extend(g.clone());
        }
        if with_contacts {
            let list: Vec<&ContactRecord> = self
                .order
                .iter()
                .filter_map(|id| self.contacts.get(id))
                .collect();
            v["contacts"] = serde_json::to_value(list).unwrap_or(Value::Null);
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wall(s: f64) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2024-03-04T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
            + Duration::milliseconds((s * 1000.0) as i64)
    }

    fn req(dest: &str, token: &str) -> StartRequest {
        StartRequest {
            instance_id: "inst-1".into(),
            contact_flow_id: Some("flow-1".into()),
            destination: dest.into(),
            source: None,
            queue_id: Some("queue-1".into()),
            client_token: Some(token.into()),
            ring_timeout: None,
            attributes: BTreeMap::from([("firstName".to_string(), "Ann".to_string())]),
            ..StartRequest::default()
        }
    }

    /// The request the dialer sends with answering machine detection on.
    fn amd_req(dest: &str, token: &str) -> StartRequest {
        StartRequest {
            answering_machine_detection: true,
            traffic_type: Some("CAMPAIGN".into()),
            campaign_id: Some("cmp-1".into()),
            ..req(dest, token)
        }
    }

    fn unlimited() -> SimConfig {
        SimConfig {
            quota_rate: 0.0,
            ..SimConfig::default()
        }
    }

    #[test]
    fn same_token_same_contact_no_second_call() {
        let mut sim = Simulator::new(unlimited(), 0.0);
        let a = sim
            .start_outbound(req("+447700900123", "tok-1"), 0.0, wall(0.0))
            .unwrap();
        let b = sim
            .start_outbound(req("+447700900123", "tok-1"), 1.0, wall(1.0))
            .unwrap();
        assert_eq!(a.contact_id, b.contact_id);
        assert!(!a.replay && b.replay);
        assert!(b.plan.is_none(), "a replay schedules nothing");
        assert_eq!(sim.counters.placed, 1);
        assert_eq!(sim.counters.calls_received, 2);
        assert_eq!(sim.counters.idempotent_replays, 1);
        let stats = sim.stats(true);
        assert_eq!(stats["contacts"][0]["requests"], 2);
        assert_eq!(stats["inProgress"], 1);
        let c = sim
            .start_outbound(req("+447700900123", "tok-2"), 2.0, wall(2.0))
            .unwrap();
        assert_ne!(c.contact_id, a.contact_id, "a new token is a new call");
        assert_eq!(sim.stats(false)["destinationsDialedMoreThanOnce"], 1);
    }

    #[test]
    fn quota_answers_too_many_requests_and_places_nothing() {
        let mut sim = Simulator::new(SimConfig::default(), 0.0); // 2/s, burst 5
        let mut ok = 0;
        let mut throttled = 0;
        for i in 0..8 {
            match sim.start_outbound(
                req(&format!("+4477009001{i:02}"), &format!("t{i}")),
                0.0,
                wall(0.0),
            ) {
                Ok(_) => ok += 1,
                Err(e) => {
                    assert_eq!((e.status, e.code), (429, "TooManyRequestsException"));
                    throttled += 1;
                }
            }
        }
        assert_eq!((ok, throttled), (5, 3));
        assert_eq!(sim.counters.placed, 5);
        assert_eq!(sim.counters.throttled, 3);
        // The throttled token was never used: retried later it places the call.
        let retry = sim
            .start_outbound(req("+447700900105", "t5"), 0.5, wall(0.5))
            .unwrap();
        assert!(!retry.replay);
    }

    #[test]
    fn invalid_requests_are_rejected_before_the_quota() {
        let mut sim = Simulator::new(
            SimConfig {
                quota_burst: 1.0,
                ..SimConfig::default()
            },
            0.0,
        );
        let e = sim
            .start_outbound(req("07700900123", "x"), 0.0, wall(0.0))
            .unwrap_err();
        assert_eq!(e.code, "InvalidParameterException");
        let mut no_flow = req("+447700900123", "y");
        no_flow.contact_flow_id = None;
        assert_eq!(
            sim.start_outbound(no_flow, 0.0, wall(0.0))
                .unwrap_err()
                .status,
            400
        );
        assert!(
            sim.start_outbound(req("+447700900123", "z"), 0.0, wall(0.0))
                .is_ok(),
            "the token is still there"
        );
        assert_eq!(sim.counters.rejected, 2);
    }

    #[test]
    fn instance_is_checked_when_configured() {
        let cfg = SimConfig {
            instance_id: Some("inst-1".into()),
            quota_rate: 0.0,
            ..SimConfig::default()
        };
        let mut sim = Simulator::new(cfg, 0.0);
        let mut other = req("+447700900123", "t");
        other.instance_id = "inst-2".into();
        assert_eq!(
            sim.start_outbound(other, 0.0, wall(0.0)).unwrap_err().code,
            "ResourceNotFoundException"
        );
        assert!(sim
            .start_outbound(req("+447700900123", "t"), 0.0, wall(0.0))
            .is_ok());
    }

    #[test]
    fn outcome_distribution_follows_the_configuration() {
        let cfg = SimConfig {
            answer_rate: 0.5,
            busy_rate: 0.2,
            fail_rate: 0.1,
            invalid_rate: 0.05,
            voicemail_rate: 0.05,
            drop_event_share: 0.2,
            duplicate_event_share: 0.1,
            time_scale: 0.5,
            ..SimConfig::default()
        };
        let mut rng = Rng::new(1);
        let n = 20_000;
        let mut counts: HashMap<Outcome, u32> = HashMap::new();
        let (mut dropped, mut duplicated) = (0, 0);
        for _ in 0..n {
            let p = plan_call(&cfg, &mut rng, None);
            *counts.entry(p.outcome).or_default() += 1;
            assert!(!(p.drop_event && p.duplicate_event));
            dropped += p.drop_event as u32;
            duplicated += p.duplicate_event as u32;
            match p.outcome {
                Outcome::Connected => {
                    let ring = p.answer_after.unwrap();
                    assert!((1.5..=7.5).contains(&ring), "ring {ring}");
                    let talk = p.end_after - ring;
                    assert!((10.0 - 1e-9..=60.0 + 1e-9).contains(&talk), "talk {talk}");
                }
                Outcome::Busy => assert!((0.5..=2.0).contains(&p.end_after)),
                Outcome::Failed | Outcome::InvalidNumber => {
                    assert_eq!(p.answer_after, None);
                    assert!((0.25..=1.0).contains(&p.end_after))
                }
                Outcome::Voicemail => {
                    let ring = p.answer_after.unwrap();
                    assert!((1.5..=7.5).contains(&ring), "ring {ring}");
                    assert!(
                        (p.end_after - ring - 10.0).abs() < 1e-9,
                        "20 s at half time"
                    );
                }
                Outcome::NoAnswer => {
                    assert_eq!(p.answer_after, None);
                    assert_eq!(p.end_after, 15.0, "rings for the ring timeout");
                }
                Outcome::Abandoned => panic!("never drawn: abandoned calls are scripted"),
            }
        }
        let share = |o| counts.get(&o).copied().unwrap_or(0) as f64 / n as f64;
        assert!((share(Outcome::Connected) - 0.5).abs() < 0.02);
        assert!((share(Outcome::InvalidNumber) - 0.05).abs() < 0.01);
        assert!((share(Outcome::Voicemail) - 0.05).abs() < 0.01);
        assert!((share(Outcome::Busy) - 0.2).abs() < 0.02);
        assert!((share(Outcome::Failed) - 0.1).abs() < 0.02);
        assert!((share(Outcome::NoAnswer) - 0.1).abs() < 0.02);
        assert!((dropped as f64 / n as f64 - 0.2).abs() < 0.02);
        assert!((duplicated as f64 / n as f64 - 0.1).abs() < 0.02);
    }

    #[test]
    fn request_ring_timeout_bounds_the_ring() {
        let cfg = SimConfig {
            answer_rate: 0.0,
            busy_rate: 0.0,
            fail_rate: 0.0,
            ..SimConfig::default()
        };
        let p = plan_call(&cfg, &mut Rng::new(5), Some(20.0));
        assert_eq!((p.outcome, p.end_after), (Outcome::NoAnswer, 20.0));
    }

    #[test]
    fn outcomes_are_reproducible_whatever_the_arrival_order() {
        let numbers: Vec<String> = (0..50).map(|i| format!("+4477009{i:05}")).collect();
        let run = |order: Vec<&String>| {
            let mut sim = Simulator::new(unlimited(), 0.0);
            let mut out = BTreeMap::new();
            for (i, n) in order.into_iter().enumerate() {
                let s = sim
                    .start_outbound(req(n, &format!("tok{i}")), 0.0, wall(0.0))
                    .unwrap();
                out.insert(n.clone(), s.plan.unwrap().outcome);
            }
            out
        };
        let forward = run(numbers.iter().collect());
        let backward = run(numbers.iter().rev().collect());
        assert_eq!(forward, backward);
    }

    #[test]
    fn finish_builds_the_disconnected_event_once() {
        let cfg = SimConfig {
            answer_rate: 1.0,
            busy_rate: 0.0,
            fail_rate: 0.0,
            quota_rate: 0.0,
            ..SimConfig::default()
        };
        let mut sim = Simulator::new(cfg, 0.0);
        let s = sim
            .start_outbound(req("+447700900123", "t"), 0.0, wall(0.0))
            .unwrap();
        let plan = s.plan.clone().unwrap();
        // Mid-call: DescribeContact shows the answer but no end.
        let mid = wall(plan.answer_after.unwrap() + 0.001);
        let d = sim.describe_contact("inst-1", &s.contact_id, mid).unwrap();
        assert!(d["Contact"]["ConnectedToSystemTimestamp"].is_number());
        assert!(d["Contact"].get("DisconnectTimestamp").is_none());
        let end = wall(plan.end_after);
        let ev = sim.finish(&s.contact_id, s.generation, end, false).unwrap();
        assert_eq!(ev.copies, 1);
        assert_eq!(ev.entry["Source"], "aws.connect");
        assert_eq!(ev.entry["DetailType"], "Amazon Connect Contact Event");
        let detail: Value = serde_json::from_str(ev.entry["Detail"].as_str().unwrap()).unwrap();
        assert_eq!(detail["eventType"], "DISCONNECTED");
        assert_eq!(detail["contactId"], s.contact_id.as_str());
        assert_eq!(detail["initiationMethod"], "API");
        assert_eq!(
            detail["instanceArn"],
            "arn:aws:connect:us-east-1:123456789012:instance/inst-1"
        );
        assert_eq!(detail["disconnectReason"], "CUSTOMER_DISCONNECT");
        assert!(detail["connectedToSystemTimestamp"].is_string());
        assert!(detail["disconnectTimestamp"]
            .as_str()
            .unwrap()
            .ends_with('Z'));
        assert!(
            sim.finish(&s.contact_id, s.generation, end, false)
                .is_none(),
            "ends once"
        );
        let d = sim.describe_contact("inst-1", &s.contact_id, end).unwrap();
        assert_eq!(d["Contact"]["DisconnectReason"], "CUSTOMER_DISCONNECT");
        assert_eq!(sim.stats(false)["inProgress"], 0);
        assert_eq!(sim.stats(false)["peakConcurrency"], 1);
        assert_eq!(sim.stats(false)["outcomes"]["connected"], 1);
    }

    #[test]
    fn dropped_events_are_counted_not_sent() {
        let cfg = SimConfig {
            drop_event_share: 1.0,
            quota_rate: 0.0,
            ..SimConfig::default()
        };
        let mut sim = Simulator::new(cfg, 0.0);
        let s = sim
            .start_outbound(req("+447700900123", "t"), 0.0, wall(0.0))
            .unwrap();
        assert!(sim
            .finish(&s.contact_id, s.generation, wall(100.0), false)
            .is_none());
        assert_eq!(sim.counters.events_dropped, 1);
        // DescribeContact still tells the end: the reconcile path works without the event.
        let d = sim
            .describe_contact("inst-1", &s.contact_id, wall(100.0))
            .unwrap();
        assert!(d["Contact"]["DisconnectTimestamp"].is_number());
    }

    #[test]
    fn stop_before_answer_is_no_answer() {
        let cfg = SimConfig {
            answer_rate: 1.0,
            busy_rate: 0.0,
            fail_rate: 0.0,
            quota_rate: 0.0,
            ..SimConfig::default()
        };
        let mut sim = Simulator::new(cfg, 0.0);
        let s = sim
            .start_outbound(req("+447700900123", "t"), 0.0, wall(0.0))
            .unwrap();
        assert!(sim.stoppable("inst-1", &s.contact_id).unwrap());
        let ev = sim
            .finish(&s.contact_id, s.generation, wall(0.1), true)
            .unwrap();
        let detail: Value = serde_json::from_str(ev.entry["Detail"].as_str().unwrap()).unwrap();
        assert_eq!(detail["disconnectReason"], "API");
        assert!(detail.get("connectedToSystemTimestamp").is_none());
        assert!(sim.stoppable("inst-1", &s.contact_id).is_err());
    }

    #[test]
    fn reset_forgets_calls_and_ignores_their_ends() {
        let mut sim = Simulator::new(unlimited(), 0.0);
        let s = sim
            .start_outbound(req("+447700900123", "t"), 0.0, wall(0.0))
            .unwrap();
        sim.reset(1.0);
        assert!(sim
            .finish(&s.contact_id, s.generation, wall(2.0), false)
            .is_none());
        assert_eq!(sim.stats(false)["placed"], 0);
        let again = sim
            .start_outbound(req("+447700900123", "t"), 2.0, wall(2.0))
            .unwrap();
        assert!(!again.replay, "tokens are forgotten too");
    }

    #[test]
    fn timed_queue_status_reverts() {
        let mut sim = Simulator::new(unlimited(), 0.0);
        sim.set_queue_status("DISABLED", Some(5.0), 0.0).unwrap();
        let q = sim.describe_queue("inst-1", "q", 1.0).unwrap();
        assert_eq!(q["Queue"]["Status"], "DISABLED");
        assert_eq!(q["Queue"]["HoursOfOperationId"], "sim-hours-0001");
        let s = sim
            .start_outbound(req("+447700900123", "t"), 2.0, wall(2.0))
            .unwrap();
        assert_eq!(sim.stats(true)["contacts"][0]["placedWhileDisabled"], true);
        assert_eq!(
            sim.describe_queue("inst-1", "q", 5.0).unwrap()["Queue"]["Status"],
            "ENABLED"
        );
        assert!(!s.replay);
        assert!(sim.set_queue_status("OPEN", None, 0.0).is_err());
    }

    #[test]
    fn hours_answer_in_connects_shape() {
        let mut sim = Simulator::new(unlimited(), 0.0);
        let h = sim
            .describe_hours("inst-1", "sim-hours-0001", wall(0.0))
            .unwrap();
        assert_eq!(h["HoursOfOperation"]["TimeZone"], "UTC");
        assert_eq!(h["HoursOfOperation"]["Config"][0]["StartTime"]["Hours"], 0);
        assert_eq!(
            sim.describe_hours("inst-1", "other", wall(0.0))
                .unwrap_err()
                .status,
            404
        );
    }

    #[test]
    fn records_never_hold_the_number() {
        let mut sim = Simulator::new(unlimited(), 0.0);
        let mut r = req("+447700900123", "t");
        r.attributes
            .insert("altPhone".into(), "+44 7700 900456".into());
        r.attributes
            .insert("contactKey".into(), "0123456789abcdef".into());
        sim.start_outbound(r, 0.0, wall(0.0)).unwrap();
        let stats = sim.stats(true);
        let text = stats.to_string();
        assert!(!text.contains("447700900123") && !text.contains("7700 900456"));
        assert!(text.contains("+44*******123"));
        let attrs = &stats["contacts"][0]["attributes"];
        assert_eq!(attrs["firstName"], "Ann");
        assert_eq!(
            attrs["contactKey"], "0123456789abcdef",
            "hex keys are not phone numbers"
        );
        assert_eq!(attrs["altPhone"], "+44*******456");
        assert_eq!(mask_phone("+447700900123"), "+44*******123");
    }

    #[test]
    fn e164_check() {
        assert!(is_e164("+447700900123"));
        assert!(is_e164("+12025550123"));
        assert!(!is_e164("447700900123"));
        assert!(!is_e164("+44 7700 900123"));
        assert!(!is_e164("+0447700900"));
        assert!(!is_e164("+1234567"));
    }

    #[test]
    fn parses_the_sdk_request_body() {
        let body = json!({
            "InstanceId": "inst-1", "ContactFlowId": "flow-1", "DestinationPhoneNumber": "+447700900123",
            "QueueId": "q-1", "ClientToken": "abc", "RingTimeoutInSeconds": 30,
            "Attributes": {"firstName": "Ann"}, "SourcePhoneNumber": "+442000000000"
        });
        let r = StartRequest::from_json(&body).unwrap();
        assert_eq!(r.client_token.as_deref(), Some("abc"));
        assert_eq!(r.ring_timeout, Some(30.0));
        assert_eq!(r.attributes["firstName"], "Ann");
        assert_eq!(r.source.as_deref(), Some("+442000000000"));
        assert!(StartRequest::from_json(&json!({"InstanceId": "i"})).is_err());
        assert!(
            StartRequest::from_json(&json!({"InstanceId": "i", "DestinationPhoneNumber": 5}))
                .is_err()
        );
    }

    #[test]
    fn parses_answering_machine_detection_and_refuses_it_without_campaign_traffic() {
        let base = json!({"InstanceId": "i", "DestinationPhoneNumber": "+447700900123"});
        let with = |extra: Value| {
            let mut body = base.clone();
            for (k, v) in extra.as_object().unwrap() {
                body[k] = v.clone();
            }
            StartRequest::from_json(&body)
        };
        let plain = with(json!({})).unwrap();
        assert!(!plain.answering_machine_detection);
        assert_eq!(plain.traffic_type, None);
        let on = with(json!({
            "AnswerMachineDetectionConfig": {"EnableAnswerMachineDetection": true, "AwaitAnswerMachinePrompt": true},
            "TrafficType": "CAMPAIGN", "CampaignId": "cmp-1"
        }))
        .unwrap();
        assert!(on.answering_machine_detection);
        assert_eq!(on.campaign_id.as_deref(), Some("cmp-1"));
        // API_AnswerMachineDetectionConfig: "If set to true, TrafficType must be set as
        // CAMPAIGN".
        for traffic in [json!({}), json!({"TrafficType": "GENERAL"})] {
            let mut extra = traffic.clone();
            extra["AnswerMachineDetectionConfig"] = json!({"EnableAnswerMachineDetection": true});
            let err = with(extra).unwrap_err();
            assert_eq!((err.status, err.code), (400, "InvalidParameterException"));
        }
        let err = with(json!({"TrafficType": "BULK"})).unwrap_err();
        assert_eq!(err.code, "InvalidParameterException");
        let err = with(json!({"AnswerMachineDetectionConfig": true})).unwrap_err();
        assert_eq!(err.code, "SerializationException");
    }

    #[test]
    fn an_abandoned_call_is_queued_after_its_answer_and_ends_without_an_agent() {
        let mut sim = Simulator::new(
            SimConfig {
                abandon_numbers: vec!["+442079460010".into()],
                ..unlimited()
            },
            0.0,
        );
        let s = sim
            .start_outbound(req("+442079460010", "t-1"), 0.0, wall(0.0))
            .unwrap();
        let plan = s.plan.clone().unwrap();
        assert_eq!(plan.outcome, Outcome::Abandoned);
        let answered = plan.answer_after.unwrap();
        assert!((plan.end_after - answered - 10.0).abs() < 1e-9);
        // Before the transfer: the queue is reported from the placement, as for any call.
        let before = sim
            .describe_contact("inst-1", &s.contact_id, wall(answered))
            .unwrap();
        assert_eq!(
            before["Contact"]["QueueInfo"]["EnqueueTimestamp"],
            epoch(wall(0.0))
        );
        let end = wall(plan.end_after);
        let ev = sim.finish(&s.contact_id, s.generation, end, false).unwrap();
        let detail: Value = serde_json::from_str(ev.entry["Detail"].as_str().unwrap()).unwrap();
        assert_eq!(detail["disconnectReason"], "CUSTOMER_DISCONNECT");
        assert_eq!(
            detail["queueInfo"]["enqueueTimestamp"],
            rfc3339(wall(answered + 1.0))
        );
        assert!(detail.get("agentInfo").is_none());
        let d = sim.describe_contact("inst-1", &s.contact_id, end).unwrap();
        assert_eq!(
            d["Contact"]["QueueInfo"]["EnqueueTimestamp"],
            epoch(wall(answered + 1.0))
        );
        // A number not scripted keeps its queue from the placement, and no enqueue time in
        // its events.
        let other = sim
            .start_outbound(req("+442079460011", "t-2"), 0.0, wall(0.0))
            .unwrap();
        let ev = sim
            .finish(&other.contact_id, other.generation, wall(200.0), false)
            .unwrap();
        let detail: Value = serde_json::from_str(ev.entry["Detail"].as_str().unwrap()).unwrap();
        assert!(detail["queueInfo"].get("enqueueTimestamp").is_none());
    }

    #[test]
    fn a_voicemail_is_voicemail_with_detection_and_answered_without() {
        let mut sim = Simulator::new(
            SimConfig {
                voicemail_numbers: vec!["+442079460009".into()],
                answer_rate: 0.0,
                busy_rate: 0.0,
                fail_rate: 0.0,
                ..unlimited()
            },
            0.0,
        );
        let on = sim
            .start_outbound(amd_req("+442079460009", "t-1"), 0.0, wall(0.0))
            .unwrap();
        let off = sim
            .start_outbound(req("+442079460009", "t-2"), 0.0, wall(0.0))
            .unwrap();
        let plan = on.plan.clone().unwrap();
        assert_eq!(plan.outcome, Outcome::Voicemail);
        assert_eq!(off.plan.clone().unwrap().outcome, Outcome::Connected);
        // Before the answer: no status yet; after it, DescribeContact tells the voicemail.
        let before = sim
            .describe_contact("inst-1", &on.contact_id, wall(0.0))
            .unwrap();
        assert!(before["Contact"]
            .get("AnsweringMachineDetectionStatus")
            .is_none());
        let end = wall(plan.end_after);
        let ev = sim
            .finish(&on.contact_id, on.generation, end, false)
            .unwrap();
        let detail: Value = serde_json::from_str(ev.entry["Detail"].as_str().unwrap()).unwrap();
        assert_eq!(detail["answeringMachineDetectionStatus"], "VOICEMAIL_BEEP");
        assert_eq!(detail["disconnectReason"], "CONTACT_FLOW_DISCONNECT");
        assert!(detail["connectedToSystemTimestamp"].is_string());
        let d = sim.describe_contact("inst-1", &on.contact_id, end).unwrap();
        assert_eq!(
            d["Contact"]["AnsweringMachineDetectionStatus"],
            "VOICEMAIL_BEEP"
        );
        assert_eq!(d["Contact"]["Campaign"]["CampaignId"], "cmp-1");
        // Without detection: answered, and no status at all.
        let off_plan = off.plan.unwrap();
        let ev = sim
            .finish(
                &off.contact_id,
                off.generation,
                wall(off_plan.end_after),
                false,
            )
            .unwrap();
        let detail: Value = serde_json::from_str(ev.entry["Detail"].as_str().unwrap()).unwrap();
        assert!(detail.get("answeringMachineDetectionStatus").is_none());
        assert_eq!(detail["disconnectReason"], "CUSTOMER_DISCONNECT");
        assert_eq!(sim.stats(false)["outcomes"]["voicemail"], 1);
    }

    #[test]
    fn a_person_answering_with_detection_is_human_answered() {
        let mut sim = Simulator::new(
            SimConfig {
                answer_rate: 1.0,
                busy_rate: 0.0,
                fail_rate: 0.0,
                ..unlimited()
            },
            0.0,
        );
        let s = sim
            .start_outbound(amd_req("+442079460010", "t-1"), 0.0, wall(0.0))
            .unwrap();
        let plan = s.plan.unwrap();
        let ev = sim
            .finish(&s.contact_id, s.generation, wall(plan.end_after), false)
            .unwrap();
        let detail: Value = serde_json::from_str(ev.entry["Detail"].as_str().unwrap()).unwrap();
        assert_eq!(detail["answeringMachineDetectionStatus"], "HUMAN_ANSWERED");
    }

    #[test]
    fn a_number_scripted_invalid_is_invalid_at_every_call() {
        let mut sim = Simulator::new(
            SimConfig {
                invalid_numbers: vec!["+442079460008".into()],
                answer_rate: 1.0,
                busy_rate: 0.0,
                fail_rate: 0.0,
                ..unlimited()
            },
            0.0,
        );
        for (i, token) in ["t-1", "t-2"].into_iter().enumerate() {
            let s = sim
                .start_outbound(amd_req("+442079460008", token), 0.0, wall(i as f64))
                .unwrap();
            let plan = s.plan.unwrap();
            assert_eq!(plan.outcome, Outcome::InvalidNumber);
            assert_eq!(plan.answer_after, None);
            let ev = sim
                .finish(
                    &s.contact_id,
                    s.generation,
                    wall(i as f64 + plan.end_after),
                    false,
                )
                .unwrap();
            let detail: Value = serde_json::from_str(ev.entry["Detail"].as_str().unwrap()).unwrap();
            assert_eq!(detail["disconnectReason"], "TELECOM_NUMBER_INVALID");
            assert!(detail.get("connectedToSystemTimestamp").is_none());
            // No media, no detection status.
            assert!(detail.get("answeringMachineDetectionStatus").is_none());
        }
        let other = sim
            .start_outbound(req("+442079460001", "t-3"), 0.0, wall(3.0))
            .unwrap();
        assert_eq!(other.plan.unwrap().outcome, Outcome::Connected);
    }

    #[test]
    fn a_number_scripted_busy_is_busy_on_its_first_call_only() {
        let mut sim = Simulator::new(
            SimConfig {
                busy_first_call: vec!["+442079460001".into()],
                answer_rate: 1.0,
                busy_rate: 0.0,
                fail_rate: 0.0,
                ..unlimited()
            },
            0.0,
        );
        let mut outcome = |dest: &str, token: &str, at: f64| {
            let started = sim.start_outbound(req(dest, token), at, wall(at)).unwrap();
            started.plan.expect("a new call").outcome
        };
        assert_eq!(outcome("+442079460001", "t-1", 0.0), Outcome::Busy);
        assert_eq!(outcome("+442079460001", "t-2", 1.0), Outcome::Connected);
        assert_eq!(outcome("+442079460002", "t-3", 2.0), Outcome::Connected);
    }

    #[test]
    fn a_number_scripted_to_stall_answers_late_on_its_first_call_only() {
        let mut sim = Simulator::new(
            SimConfig {
                stall_first_call: vec!["+442079460001".into()],
                stall_seconds: 12.0,
                ..unlimited()
            },
            0.0,
        );
        let first = sim
            .start_outbound(req("+442079460001", "t-1"), 0.0, wall(0.0))
            .unwrap();
        assert_eq!(first.stall_seconds, 12.0);
        assert!(first.plan.is_some(), "the stalled call is placed at once");
        let replay = sim
            .start_outbound(req("+442079460001", "t-1"), 1.0, wall(1.0))
            .unwrap();
        assert!(
            replay.replay && replay.stall_seconds == 0.0,
            "a replay answers at once"
        );
        assert_eq!(replay.contact_id, first.contact_id);
        let second = sim
            .start_outbound(req("+442079460001", "t-2"), 2.0, wall(2.0))
            .unwrap();
        assert_eq!(second.stall_seconds, 0.0, "only the first call stalls");
        let other = sim
            .start_outbound(req("+442079460002", "t-3"), 3.0, wall(3.0))
            .unwrap();
        assert_eq!(other.stall_seconds, 0.0);
    }

    #[test]
    fn a_negative_stall_is_refused() {
        let config = SimConfig {
            stall_seconds: -1.0,
            ..SimConfig::default()
        };
        assert!(config.validate().unwrap_err().contains("stallSeconds"));
    }
}
