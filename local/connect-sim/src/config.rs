//! The simulator's configuration: what `/_sim/config` reads and writes.
//!
//! Every field has a default, so a partial JSON object is a valid configuration and
//! `POST /_sim/config` merges whatever keys it is given into the current one.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A closed range of seconds a duration is drawn from (uniformly).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Range {
    pub min: f64,
    pub max: f64,
}

impl Range {
    pub const fn new(min: f64, max: f64) -> Self {
        Range { min, max }
    }
}

/// `HoursOfOperationTimeSlice`, in Connect's own JSON shape.
// Source: `Hours` "Valid Range: Minimum value of 0. Maximum value of 23", `Minutes` 0 to 59,
// https://docs.aws.amazon.com/connect/latest/APIReference/API_HoursOfOperationTimeSlice.html
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TimeSlice {
    pub hours: u32,
    pub minutes: u32,
}

/// One `HoursOfOperationConfig` entry, in Connect's own JSON shape, so a configuration copied
/// from a real instance can be pasted into the simulator.
// Source: `Day` (SUNDAY | MONDAY | ... | SATURDAY), `StartTime`, `EndTime`,
// https://docs.aws.amazon.com/connect/latest/APIReference/API_HoursOfOperationConfig.html
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HoursSlot {
    pub day: String,
    pub start_time: TimeSlice,
    pub end_time: TimeSlice,
}

pub const DAYS: [&str; 7] = [
    "MONDAY",
    "TUESDAY",
    "WEDNESDAY",
    "THURSDAY",
    "FRIDAY",
    "SATURDAY",
    "SUNDAY",
];

/// An hours-of-operation override (a holiday, a day with other hours), in the shape
/// `CreateHoursOfOperationOverride` takes, so an override read from a real instance can be
/// pasted. Served by `GetEffectiveHoursOfOperations` only: `DescribeHoursOfOperation` does not
/// return overrides (they have their own APIs: Create/List/Update/DeleteHoursOfOperationOverride).
// Source: request `Name`, `Description`, `Config` [{Day, StartTime, EndTime}] with
// `OverrideTimeSlice` {Hours, Minutes}, `EffectiveFrom`, `EffectiveTill` (`yyyy-MM-dd`),
// https://docs.aws.amazon.com/connect/latest/APIReference/API_CreateHoursOfOperationOverride.html
// and the `HoursOfOperationOverride` data type (`HoursOfOperationOverrideId`),
// https://docs.aws.amazon.com/connect/latest/APIReference/API_HoursOfOperationOverride.html
// Differs from the documentation: `OverrideType` and `RecurrenceConfig` are not simulated (an
// override with them is refused, not misread).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct HoursOverride {
    /// Set by the simulator when the override is added (`POST /_sim/hours/overrides`).
    #[serde(default)]
    pub hours_of_operation_override_id: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The ranges of the days it covers, per weekday; a covered date whose weekday has no
    /// range is closed all day (a holiday).
    #[serde(default)]
    pub config: Vec<HoursSlot>,
    pub effective_from: String,
    pub effective_till: String,
}

impl HoursOverride {
    /// `EffectiveFrom` and `EffectiveTill` as dates (both included).
    pub fn dates(&self) -> Result<(chrono::NaiveDate, chrono::NaiveDate), String> {
        let parse = |what: &str, v: &str| {
            chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d")
                .map_err(|_| format!("override {what} '{v}' is not yyyy-MM-dd"))
        };
        let from = parse("EffectiveFrom", &self.effective_from)?;
        let till = parse("EffectiveTill", &self.effective_till)?;
        if till < from {
            return Err("override EffectiveTill is before EffectiveFrom".to_string());
        }
        Ok((from, till))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Hours {
    pub id: String,
    pub name: String,
    /// IANA time zone name, returned as is (`TimeZone`).
    // Source: `TimeZone`, "The time zone for the hours of operation" (HoursOfOperation data
    // type, https://docs.aws.amazon.com/connect/latest/APIReference/API_HoursOfOperation.html).
    // Assumed (not documented): the value is an IANA name such as `America/New_York`; the
    // page gives no format (docs/aws-verification.md Q2).
    pub time_zone: String,
    pub config: Vec<HoursSlot>,
    /// Overrides of these hours; none by default.
    pub overrides: Vec<HoursOverride>,
}

impl Default for Hours {
    /// Open around the clock the way Connect's default "Basic Hours" are: every day
    /// 00:00–00:00 (a range whose end equals its start is 24 hours from the start).
    // Assumed (not documented): the content of the instance's default "Basic Hours" (its
    // name is in the ListHoursOfOperations example of the CLI reference; no page found gives
    // its hours). Checked by docs/aws-verification.md Q2.
    fn default() -> Self {
        let config = DAYS
            .iter()
            .map(|day| HoursSlot {
                day: day.to_string(),
                start_time: TimeSlice {
                    hours: 0,
                    minutes: 0,
                },
                end_time: TimeSlice {
                    hours: 0,
                    minutes: 0,
                },
            })
            .collect();
        Hours {
            id: "sim-hours-0001".to_string(),
            name: "Simulated hours".to_string(),
            time_zone: "UTC".to_string(),
            config,
            overrides: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SimConfig {
    /// Seeds every draw (outcomes, durations, dropped and duplicated events, contact ids).
    pub seed: u64,
    /// Destinations (E.164) whose first call is busy whatever the draw: a scripted outcome, so a
    /// test or the demo sees a redial.
    pub busy_first_call: Vec<String>,
    /// Destinations (E.164) whose first `StartOutboundVoiceContact` places the call at once but
    /// answers only `stallSeconds` real seconds later: a test script, so the caller's Lambda
    /// times out after Connect placed the call (a placement of unknown outcome).
    pub stall_first_call: Vec<String>,
    pub stall_seconds: f64,
    /// Destinations (E.164) that are invalid numbers at every call (`TELECOM_NUMBER_INVALID`).
    pub invalid_numbers: Vec<String>,
    /// Destinations (E.164) a voicemail answers at every call: `voicemail` with answering
    /// machine detection, answered (`connected`) without.
    pub voicemail_numbers: Vec<String>,
    /// Destinations (E.164) whose person answers at every call, is put in the queue by the
    /// flow and hangs up `abandonSeconds` later without reaching an agent: `abandoned`.
    pub abandon_numbers: Vec<String>,
    /// Simulated seconds from an abandoned call's answer to its end (the wait in the queue).
    pub abandon_seconds: f64,
    /// Shares of calls answered, busy, failed, invalid numbers and answered by a voicemail;
    /// the rest rings out (no answer). A voicemail is `connected` unless the request asked for
    /// answering machine detection.
    pub answer_rate: f64,
    pub busy_rate: f64,
    pub fail_rate: f64,
    pub invalid_rate: f64,
    pub voicemail_rate: f64,
    /// Simulated seconds from a voicemail's answer to the end of the call.
    pub voicemail_seconds: f64,
    /// Simulated seconds from placement to answer (answered calls).
    pub ring_seconds: Range,
    /// Simulated seconds from answer to hang-up (answered calls).
    pub talk_seconds: Range,
    /// Simulated seconds until the busy signal / the network failure ends the attempt.
    pub busy_seconds: Range,
    pub fail_seconds: Range,
    /// How long an unanswered call rings when the request has no `RingTimeoutInSeconds`.
    pub ring_timeout_seconds: f64,
    /// Real seconds per simulated second: 0.05 makes a 60 s call last 3 s.
    pub time_scale: f64,
    /// `StartOutboundVoiceContact` quota (token bucket). `quotaRate <= 0` disables it.
    pub quota_rate: f64,
    pub quota_burst: f64,
    /// Share of `StartOutboundVoiceContact` calls answered with `InternalServiceException`
    /// (HTTP 500) instead of placing the call: exercises the dialer's retry path.
    pub error_rate: f64,
    /// Shares of DISCONNECTED events never sent / sent twice.
    pub drop_event_share: f64,
    pub duplicate_event_share: f64,
    /// Real seconds between an event and its duplicate.
    pub duplicate_delay_seconds: f64,
    /// Also send INITIATED and CONNECTED_TO_SYSTEM (the deployed rule must filter them out).
    pub all_event_types: bool,
    /// `ENABLED` or `DISABLED` (`DescribeQueue` `Status`).
    // Source: `Status` "Valid Values: ENABLED | DISABLED",
    // https://docs.aws.amazon.com/connect/latest/APIReference/API_Queue.html
    pub queue_status: String,
    pub hours: Hours,
    /// Used in ARNs and as the events' `region` / `account`.
    pub region: String,
    pub account_id: String,
    /// When set, other instance ids answer `ResourceNotFoundException`.
    pub instance_id: Option<String>,
    /// EventBridge endpoint (moto) that receives `PutEvents`; no endpoint, no events.
    pub events_endpoint: Option<String>,
    pub event_bus_name: Option<String>,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            seed: 42,
            busy_first_call: Vec::new(),
            stall_first_call: Vec::new(),
            stall_seconds: 0.0,
            invalid_numbers: Vec::new(),
            voicemail_numbers: Vec::new(),
            abandon_numbers: Vec::new(),
            abandon_seconds: 10.0,
            answer_rate: 0.7,
            busy_rate: 0.1,
            fail_rate: 0.05,
            // 0: the draws, and so the end-to-end tests, are what they were before these.
            invalid_rate: 0.0,
            voicemail_rate: 0.0,
            voicemail_seconds: 20.0,
            ring_seconds: Range::new(3.0, 15.0),
            talk_seconds: Range::new(20.0, 120.0),
            busy_seconds: Range::new(1.0, 4.0),
            fail_seconds: Range::new(0.5, 2.0),
            // Differs from the documentation: StartOutboundVoiceContact's default dialing
            // timeout is 60 s ("If not specified, the default dialing timeout will be 60
            // seconds"); see `plan_call` in sim.rs.
            ring_timeout_seconds: 30.0,
            time_scale: 1.0,
            // Source: the default API rate, 2 requests per second with a burst of 5
            // (amazon-connect-service-limits.html, cited in quota.rs).
            quota_rate: 2.0,
            quota_burst: 5.0,
            error_rate: 0.0,
            drop_event_share: 0.0,
            duplicate_event_share: 0.0,
            duplicate_delay_seconds: 0.2,
            all_event_types: false,
            queue_status: "ENABLED".to_string(),
            hours: Hours::default(),
            region: "us-east-1".to_string(),
            account_id: "123456789012".to_string(),
            instance_id: None,
            events_endpoint: None,
            event_bus_name: None,
        }
    }
}

impl SimConfig {
    /// Checks the values a typo could make meaningless; the message names the field.
    pub fn validate(&self) -> Result<(), String> {
        let shares = [
            ("answerRate", self.answer_rate),
            ("busyRate", self.busy_rate),
            ("failRate", self.fail_rate),
            ("invalidRate", self.invalid_rate),
            ("voicemailRate", self.voicemail_rate),
            ("errorRate", self.error_rate),
            ("dropEventShare", self.drop_event_share),
            ("duplicateEventShare", self.duplicate_event_share),
        ];
        for (name, v) in shares {
            if !(0.0..=1.0).contains(&v) {
                return Err(format!("{name} must be between 0 and 1, got {v}"));
            }
        }
        if self.answer_rate
            + self.busy_rate
            + self.fail_rate
            + self.invalid_rate
            + self.voicemail_rate
            > 1.0 + 1e-9
        {
            return Err(
                "answerRate + busyRate + failRate + invalidRate + voicemailRate must not exceed 1"
                    .to_string(),
            );
        }
        if !(self.voicemail_seconds >= 0.0 && self.voicemail_seconds.is_finite()) {
            return Err("voicemailSeconds must be >= 0".to_string());
        }
        if !(self.abandon_seconds >= 1.0 && self.abandon_seconds.is_finite()) {
            // At least the second between the answer and the transfer to the queue.
            return Err("abandonSeconds must be >= 1".to_string());
        }
        if self.drop_event_share + self.duplicate_event_share > 1.0 + 1e-9 {
            return Err("dropEventShare + duplicateEventShare must not exceed 1".to_string());
        }
        let ranges = [
            ("ringSeconds", self.ring_seconds),
            ("talkSeconds", self.talk_seconds),
            ("busySeconds", self.busy_seconds),
            ("failSeconds", self.fail_seconds),
        ];
        for (name, r) in ranges {
            if !(r.min >= 0.0 && r.max >= r.min && r.max.is_finite()) {
                return Err(format!(
                    "{name} needs 0 <= min <= max, got {}..{}",
                    r.min, r.max
                ));
            }
        }
        if !(self.time_scale > 0.0 && self.time_scale.is_finite()) {
            return Err("timeScale must be > 0".to_string());
        }
        if self.ring_timeout_seconds.is_nan() || self.ring_timeout_seconds <= 0.0 {
            return Err("ringTimeoutSeconds must be > 0".to_string());
        }
        if self.quota_burst.is_nan() || self.quota_burst < 1.0 {
            return Err("quotaBurst must be >= 1".to_string());
        }
        if self.duplicate_delay_seconds.is_nan() || self.duplicate_delay_seconds < 0.0 {
            return Err("duplicateDelaySeconds must be >= 0".to_string());
        }
        if !(self.stall_seconds >= 0.0 && self.stall_seconds <= 900.0) {
            return Err("stallSeconds must be between 0 and 900".to_string());
        }
        if self.queue_status != "ENABLED" && self.queue_status != "DISABLED" {
            return Err("queueStatus must be ENABLED or DISABLED".to_string());
        }
        let check_slots = |what: &str, slots: &[HoursSlot]| -> Result<(), String> {
            for slot in slots {
                if !DAYS.contains(&slot.day.as_str()) {
                    return Err(format!("{what}: unknown Day {}", slot.day));
                }
                for t in [slot.start_time, slot.end_time] {
                    if t.hours > 23 || t.minutes > 59 {
                        return Err(format!("{what}: Hours 0-23 and Minutes 0-59"));
                    }
                }
            }
            Ok(())
        };
        check_slots("hours.config", &self.hours.config)?;
        let mut spans = Vec::new();
        for o in &self.hours.overrides {
            if o.name.trim().is_empty() {
                return Err("hours.overrides: Name is required".to_string());
            }
            check_slots(&format!("hours.overrides {}", o.name), &o.config)?;
            let (from, till) = o.dates()?;
            // Assumed (not documented): Connect refuses overrides of the same hours whose
            // dates overlap, so a date has at most one (docs/aws-verification.md Q5).
            if let Some((_, _, other)) = spans.iter().find(
                |(f, t, _): &&(chrono::NaiveDate, chrono::NaiveDate, &str)| {
                    from <= *t && *f <= till
                },
            ) {
                return Err(format!(
                    "hours.overrides: {} overlaps {other} (one override per date)",
                    o.name
                ));
            }
            spans.push((from, till, o.name.as_str()));
        }
        if let Some(endpoint) = &self.events_endpoint {
            if !endpoint.starts_with("http://") {
                return Err("eventsEndpoint must be an http:// URL (loopback moto)".to_string());
            }
        }
        Ok(())
    }

    /// The configuration with `patch`'s keys merged in (objects merge recursively, anything
    /// else replaces), validated.
    pub fn merged(&self, patch: &Value) -> Result<SimConfig, String> {
        if !patch.is_object() {
            return Err("the configuration must be a JSON object".to_string());
        }
        let mut current = serde_json::to_value(self).map_err(|e| e.to_string())?;
        merge(&mut current, patch);
        let next: SimConfig = serde_json::from_value(current).map_err(|e| e.to_string())?;
        next.validate()?;
        Ok(next)
    }
}

fn merge(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(t), Value::Object(p)) => {
            for (k, v) in p {
                // `hours.config` is a list: replaced whole, never merged element by element.
                match t.get_mut(k) {
                    Some(existing) if existing.is_object() && v.is_object() => merge(existing, v),
                    _ => {
                        t.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (t, p) => *t = p.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn defaults_are_valid() {
        SimConfig::default().validate().unwrap();
    }

    #[test]
    fn merge_keeps_unmentioned_fields() {
        let c = SimConfig::default()
            .merged(&json!({"answerRate": 0.5, "ringSeconds": {"max": 20.0}}))
            .unwrap();
        assert_eq!(c.answer_rate, 0.5);
        assert_eq!(c.ring_seconds, Range::new(3.0, 20.0));
        assert_eq!(c.quota_rate, 2.0);
    }

    #[test]
    fn merge_rejects_bad_values() {
        let base = SimConfig::default();
        assert!(base.merged(&json!({"answerRate": 1.5})).is_err());
        assert!(base
            .merged(&json!({"answerRate": 0.9, "busyRate": 0.2}))
            .is_err());
        assert!(base.merged(&json!({"timeScale": 0})).is_err());
        assert!(base.merged(&json!({"invalidRate": -0.1})).is_err());
        assert!(base
            .merged(&json!({"answerRate": 0.7, "voicemailRate": 0.2}))
            .unwrap_err()
            .contains("voicemailRate"));
        assert!(base.merged(&json!({"voicemailSeconds": -1})).is_err());
        assert!(base.merged(&json!({"queueStatus": "OPEN"})).is_err());
        assert!(base.merged(&json!({"quotaRate": "fast"})).is_err());
        assert!(base.merged(&json!([1])).is_err());
        assert!(base
            .merged(&json!({"hours": {"config": [{"Day": "FUNDAY", "StartTime": {"Hours": 1, "Minutes": 0}, "EndTime": {"Hours": 2, "Minutes": 0}}]}}))
            .is_err());
    }

    #[test]
    fn hours_use_connects_field_names() {
        let v = serde_json::to_value(Hours::default()).unwrap();
        assert_eq!(v["timeZone"], "UTC");
        assert_eq!(v["config"][0]["Day"], "MONDAY");
        assert_eq!(v["config"][0]["EndTime"]["Hours"], 0);
        assert_eq!(v["config"].as_array().unwrap().len(), 7);
    }
}
