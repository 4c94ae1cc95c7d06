//! How a call ended, as Amazon Connect reports it.
//!
//! The same outcome mapping ([`classify_end`]) serves the EventBridge contact event (parsed in
//! `process-contact-events`) and `DescribeContact` (the reconcile path of `connect-status`, through
//! [`call_end_from_contact`]), so a call gets the same outcome whichever path saw its end.

use crate::records::Outcome;
use chrono::{DateTime, Utc};

/// How and when a call ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallEnd {
    pub disconnected_at: DateTime<Utc>,
    pub outcome: Outcome,
}

/// The outcome of a call from what Connect reports about it.
///
/// First the answering machine detection status, when Connect ran detection (the call was
/// placed with `AnswerMachineDetectionConfig`, see [`amd_outcome`]): a voicemail greeting is
/// `voicemail` even though the call established media. Then a call that reached an agent is
/// `connected`. A call that established media, was then put in a queue (`queued_after_answer`,
/// see [`queued_after_answer`]) and ended without reaching an agent is `abandoned`: the person
/// answered and hung up waiting, the call regulators count against a dialer (Ofcom's
/// persistent misuse policy, the US TCPA's abandonment rate). Any other call that established
/// media is `connected`, whatever hung it up (a flow that plays a message and ends never
/// queues). Otherwise the disconnect reason tells a busy line from an unanswered call from an
/// invalid number from a failure ([`reason_outcome`]); a call that never connected and carries
/// no telling reason is `no_answer`, the common case of a phone that rang out.
pub fn classify_end(
    connected_to_system: bool,
    connected_to_agent: bool,
    queued_after_answer: bool,
    disconnect_reason: Option<&str>,
    amd_status: Option<&str>,
) -> Outcome {
    if let Some(outcome) = amd_status.and_then(amd_outcome) {
        return outcome;
    }
    if connected_to_agent {
        return Outcome::Connected;
    }
    if connected_to_system {
        return if queued_after_answer {
            Outcome::Abandoned
        } else {
            Outcome::Connected
        };
    }
    reason_outcome(disconnect_reason).unwrap_or(Outcome::NoAnswer)
}

/// Whether the call was put in a queue once it was answered: its enqueue time (the contact's
/// `QueueInfo.EnqueueTimestamp`, the contact event's `queueInfo.enqueueTimestamp`) at or after
/// the time it established media (`ConnectedToSystemTimestamp`).
///
/// Source: `QueueInfo` "If this contact was queued, this contains information about the
/// queue", `EnqueueTimestamp` "The timestamp when the contact was added to the queue",
/// <https://docs.aws.amazon.com/connect/latest/APIReference/API_QueueInfo.html>; the contact
/// events carry `queueInfo` with `enqueueTimestamp`,
/// <https://docs.aws.amazon.com/connect/latest/adminguide/contact-events.html>. Compared with
/// the answer, not merely present: a call placed with a `QueueId` names that queue from the
/// start (its caller ID comes from it), and whether Connect then stamps an enqueue time before
/// the flow transfers the call is docs/aws-verification.md M4's to confirm.
pub fn queued_after_answer(
    connected_to_system: Option<DateTime<Utc>>,
    enqueued: Option<DateTime<Utc>>,
) -> bool {
    matches!((connected_to_system, enqueued), (Some(answered), Some(queued)) if queued >= answered)
}

/// The outcome a contact record's `DisconnectReason` code tells, or `None` for a code that
/// does not tell how an unanswered call ended (`CUSTOMER_DISCONNECT`, `OTHER`, a new code).
///
/// Source: contact records data model, `DisconnectReason`, "Voice contacts can have the
/// following disconnect reasons" and the outbound campaign voice ones,
/// <https://docs.aws.amazon.com/connect/latest/adminguide/ctr-data-model.html>:
/// - `TELECOM_BUSY`: "returns a network busy signal" → `busy`;
/// - `TELECOM_NUMBER_INVALID`: the number "lacks proper E164 formatting, or ... does not
///   exist or is no longer in use" → `invalid_number`;
/// - `OUTBOUND_DESTINATION_ENDPOINT_ERROR`: the configuration does not allow this destination
///   to be dialed (for example a country not eligible) → `invalid_number`: no redial reaches it;
/// - `TELECOM_UNANSWERED` (the network or handset says the call cannot be delivered now),
///   `TELECOM_TIMEOUT` (ringing reached the dialing timeout without an answer),
///   `TELECOM_ORIGINATOR_CANCEL` (an outbound call nobody answered within the dialing timeout
///   is cancelled by its originator) and `CUSTOMER_NEVER_ARRIVED` (the customer never joined)
///   → `no_answer`;
/// - `TELECOM_POTENTIAL_BLOCKING` (networks suggest the number is blocked, possibly
///   temporarily), `TELECOM_PROBLEM`, `OUTBOUND_RESOURCE_ERROR`, `OUTBOUND_ATTEMPT_FAILED` and
///   `EXPIRED` (not enough telecom capacity or agents before the attempt expired) → `failed`.
pub fn reason_outcome(disconnect_reason: Option<&str>) -> Option<Outcome> {
    let reason = disconnect_reason?.trim().to_ascii_uppercase();
    Some(match reason.as_str() {
        "TELECOM_BUSY" => Outcome::Busy,
        "TELECOM_NUMBER_INVALID" | "OUTBOUND_DESTINATION_ENDPOINT_ERROR" => Outcome::InvalidNumber,
        "TELECOM_UNANSWERED"
        | "TELECOM_TIMEOUT"
        | "TELECOM_ORIGINATOR_CANCEL"
        | "CUSTOMER_NEVER_ARRIVED" => Outcome::NoAnswer,
        "TELECOM_POTENTIAL_BLOCKING"
        | "TELECOM_PROBLEM"
        | "OUTBOUND_RESOURCE_ERROR"
        | "OUTBOUND_ATTEMPT_FAILED"
        | "EXPIRED" => Outcome::Failed,
        _ => return None,
    })
}

/// The outcome an answering machine detection status decides, or `None` when it decides
/// nothing and the call's other signals do (a person answered, detection could not tell or
/// did not run).
///
/// Source: `AnsweringMachineDetectionStatus` ("Indicates how an outbound campaign call is
/// actually disposed if the contact is connected to Amazon Connect"), valid values `ANSWERED |
/// UNDETECTED | ERROR | HUMAN_ANSWERED | SIT_TONE_DETECTED | SIT_TONE_BUSY |
/// SIT_TONE_INVALID_NUMBER | FAX_MACHINE_DETECTED | VOICEMAIL_BEEP | VOICEMAIL_NO_BEEP |
/// AMD_UNRESOLVED | AMD_UNANSWERED | AMD_ERROR | AMD_NOT_APPLICABLE`,
/// <https://docs.aws.amazon.com/connect/latest/APIReference/API_Contact.html>; the contact
/// events carry the same codes ("CONNECTED_TO_SYSTEM ... is generated for any
/// AnsweringMachineDetectionStatus code",
/// <https://docs.aws.amazon.com/connect/latest/adminguide/contact-events.html>). The flow block
/// "Check call progress" names the voicemail branches: "Voicemail (beep)", "Voicemail (no
/// beep)", <https://docs.aws.amazon.com/connect/latest/adminguide/check-call-progress.html>.
/// - `VOICEMAIL_BEEP`, `VOICEMAIL_NO_BEEP` → `voicemail`;
/// - `SIT_TONE_INVALID_NUMBER`, `FAX_MACHINE_DETECTED` → `invalid_number` (no person is ever
///   reached on that number);
/// - `SIT_TONE_BUSY` → `busy`; `SIT_TONE_DETECTED` (another network intercept) → `failed`;
/// - `AMD_UNANSWERED` → `no_answer`;
/// - `HUMAN_ANSWERED`, `ANSWERED`, `AMD_UNRESOLVED`, `UNDETECTED`, `AMD_NOT_APPLICABLE`,
///   `AMD_ERROR`, `ERROR` and any new code → `None`.
pub fn amd_outcome(status: &str) -> Option<Outcome> {
    match status.trim().to_ascii_uppercase().as_str() {
        "VOICEMAIL_BEEP" | "VOICEMAIL_NO_BEEP" => Some(Outcome::Voicemail),
        "SIT_TONE_INVALID_NUMBER" | "FAX_MACHINE_DETECTED" => Some(Outcome::InvalidNumber),
        "SIT_TONE_BUSY" => Some(Outcome::Busy),
        "SIT_TONE_DETECTED" => Some(Outcome::Failed),
        "AMD_UNANSWERED" => Some(Outcome::NoAnswer),
        _ => None,
    }
}

/// The end of a call from `DescribeContact`, or `None` while the call is still in progress.
pub fn call_end_from_contact(contact: &aws_sdk_connect::types::Contact) -> Option<CallEnd> {
    let disconnected_at = contact.disconnect_timestamp().and_then(to_chrono)?;
    let connected_to_agent = contact
        .agent_info()
        .and_then(|a| a.connected_to_agent_timestamp())
        .is_some();
    let answered = contact.connected_to_system_timestamp().and_then(to_chrono);
    let enqueued = contact
        .queue_info()
        .and_then(|q| q.enqueue_timestamp())
        .and_then(to_chrono);
    Some(CallEnd {
        disconnected_at,
        outcome: classify_end(
            answered.is_some(),
            connected_to_agent,
            queued_after_answer(answered, enqueued),
            contact.disconnect_reason(),
            contact
                .answering_machine_detection_status()
                .map(|s| s.as_str()),
        ),
    })
}

/// Converts an SDK timestamp; `None` when it is outside chrono's range.
pub fn to_chrono(t: &aws_smithy_types::DateTime) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(t.secs(), t.subsec_nanos())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classify_end_table() {
        assert_eq!(
            classify_end(true, false, false, None, None),
            Outcome::Connected
        );
        assert_eq!(
            classify_end(false, true, false, Some("TELECOM_BUSY"), None),
            Outcome::Connected
        );
        assert_eq!(
            classify_end(false, false, false, Some("telecom_busy"), None),
            Outcome::Busy
        );
        assert_eq!(
            classify_end(false, false, false, Some("CUSTOMER_DISCONNECT"), None),
            Outcome::NoAnswer
        );
        assert_eq!(
            classify_end(false, false, false, None, None),
            Outcome::NoAnswer
        );
    }

    #[test]
    fn an_answered_call_queued_and_never_given_an_agent_is_abandoned() {
        assert_eq!(
            classify_end(true, false, true, Some("CUSTOMER_DISCONNECT"), None),
            Outcome::Abandoned
        );
        // An agent took it: connected, even though it was queued.
        assert_eq!(
            classify_end(true, true, true, Some("AGENT_DISCONNECT"), None),
            Outcome::Connected
        );
        // A person, as detection says, who hung up in the queue: still abandoned.
        assert_eq!(
            classify_end(true, false, true, None, Some("HUMAN_ANSWERED")),
            Outcome::Abandoned
        );
        // A voicemail the flow queued is a voicemail.
        assert_eq!(
            classify_end(true, false, true, None, Some("VOICEMAIL_BEEP")),
            Outcome::Voicemail
        );
        // Never answered: the queue changes nothing.
        assert_eq!(
            classify_end(false, false, true, Some("TELECOM_BUSY"), None),
            Outcome::Busy
        );
    }

    #[test]
    fn queued_after_answer_needs_both_times_and_the_queue_not_before_the_answer() {
        let t = |s: i64| DateTime::from_timestamp(1_700_000_000 + s, 0);
        assert!(queued_after_answer(t(10), t(11)));
        assert!(queued_after_answer(t(10), t(10)), "queued at the answer");
        assert!(
            !queued_after_answer(t(10), t(0)),
            "the queue named at placement"
        );
        assert!(!queued_after_answer(None, t(11)), "never answered");
        assert!(!queued_after_answer(t(10), None), "never queued");
    }

    /// Every documented voice disconnect reason, for a call that never connected; and the same
    /// reason on an answered call, which stays `connected`.
    #[test]
    fn every_documented_disconnect_reason_maps() {
        use Outcome::*;
        for (reason, unanswered) in [
            ("TELECOM_BUSY", Busy),
            ("TELECOM_NUMBER_INVALID", InvalidNumber),
            ("OUTBOUND_DESTINATION_ENDPOINT_ERROR", InvalidNumber),
            ("TELECOM_UNANSWERED", NoAnswer),
            ("TELECOM_TIMEOUT", NoAnswer),
            ("TELECOM_ORIGINATOR_CANCEL", NoAnswer),
            ("CUSTOMER_NEVER_ARRIVED", NoAnswer),
            ("TELECOM_POTENTIAL_BLOCKING", Failed),
            ("TELECOM_PROBLEM", Failed),
            ("OUTBOUND_RESOURCE_ERROR", Failed),
            ("OUTBOUND_ATTEMPT_FAILED", Failed),
            ("EXPIRED", Failed),
            ("CUSTOMER_DISCONNECT", NoAnswer),
            ("AGENT_DISCONNECT", NoAnswer),
            ("CONTACT_FLOW_DISCONNECT", NoAnswer),
            ("OTHER", NoAnswer),
            ("A_CODE_FROM_NEXT_YEAR", NoAnswer),
        ] {
            assert_eq!(
                classify_end(false, false, false, Some(reason), None),
                unanswered,
                "{reason}"
            );
            assert_eq!(
                classify_end(true, false, false, Some(reason), None),
                Connected,
                "{reason} answered"
            );
            assert_eq!(
                classify_end(false, true, false, Some(reason), Some("AMD_NOT_APPLICABLE")),
                Connected,
                "{reason} agent"
            );
        }
    }

    /// Every documented AMD status × answered or not: the statuses that decide win over the
    /// disconnect reason and over "answered"; the others leave the decision to them.
    #[test]
    fn every_documented_amd_status_maps() {
        use Outcome::*;
        for (status, decided) in [
            ("VOICEMAIL_BEEP", Some(Voicemail)),
            ("VOICEMAIL_NO_BEEP", Some(Voicemail)),
            ("SIT_TONE_INVALID_NUMBER", Some(InvalidNumber)),
            ("FAX_MACHINE_DETECTED", Some(InvalidNumber)),
            ("SIT_TONE_BUSY", Some(Busy)),
            ("SIT_TONE_DETECTED", Some(Failed)),
            ("AMD_UNANSWERED", Some(NoAnswer)),
            ("HUMAN_ANSWERED", None),
            ("ANSWERED", None),
            ("AMD_UNRESOLVED", None),
            ("UNDETECTED", None),
            ("AMD_NOT_APPLICABLE", None),
            ("AMD_ERROR", None),
            ("ERROR", None),
        ] {
            assert_eq!(amd_outcome(status), decided, "{status}");
            assert_eq!(
                amd_outcome(&status.to_ascii_lowercase()),
                decided,
                "{status}"
            );
            // Answered (media established, the voicemail case).
            assert_eq!(
                classify_end(
                    true,
                    false,
                    false,
                    Some("CUSTOMER_DISCONNECT"),
                    Some(status)
                ),
                decided.unwrap_or(Connected),
                "{status} answered"
            );
            // Not answered, with a telling reason.
            assert_eq!(
                classify_end(false, false, false, Some("TELECOM_PROBLEM"), Some(status)),
                decided.unwrap_or(Failed),
                "{status} unanswered"
            );
        }
    }

    #[test]
    fn describe_contact_mapping() {
        use aws_sdk_connect::types::{AgentInfo, Contact};
        use aws_smithy_types::DateTime as SdkTime;
        let in_progress = Contact::builder()
            .id("c-1")
            .connected_to_system_timestamp(SdkTime::from_secs(1_700_000_000))
            .build();
        assert_eq!(call_end_from_contact(&in_progress), None);
        let busy = Contact::builder()
            .id("c-1")
            .disconnect_timestamp(SdkTime::from_secs(1_700_000_100))
            .disconnect_reason("TELECOM_BUSY")
            .build();
        assert_eq!(
            call_end_from_contact(&busy),
            Some(CallEnd {
                disconnected_at: DateTime::from_timestamp(1_700_000_100, 0).unwrap(),
                outcome: Outcome::Busy
            })
        );
        let agent = Contact::builder()
            .disconnect_timestamp(SdkTime::from_secs(1_700_000_100))
            .agent_info(
                AgentInfo::builder()
                    .connected_to_agent_timestamp(SdkTime::from_secs(1_700_000_050))
                    .build(),
            )
            .build();
        assert_eq!(
            call_end_from_contact(&agent).unwrap().outcome,
            Outcome::Connected
        );
        let invalid = Contact::builder()
            .disconnect_timestamp(SdkTime::from_secs(1_700_000_100))
            .disconnect_reason("TELECOM_NUMBER_INVALID")
            .build();
        assert_eq!(
            call_end_from_contact(&invalid).unwrap().outcome,
            Outcome::InvalidNumber
        );
        use aws_sdk_connect::types::AnsweringMachineDetectionStatus as Amd;
        let voicemail = Contact::builder()
            .connected_to_system_timestamp(SdkTime::from_secs(1_700_000_010))
            .disconnect_timestamp(SdkTime::from_secs(1_700_000_100))
            .disconnect_reason("CONTACT_FLOW_DISCONNECT")
            .answering_machine_detection_status(Amd::VoicemailBeep)
            .build();
        assert_eq!(
            call_end_from_contact(&voicemail).unwrap().outcome,
            Outcome::Voicemail
        );
        let human = Contact::builder()
            .connected_to_system_timestamp(SdkTime::from_secs(1_700_000_010))
            .disconnect_timestamp(SdkTime::from_secs(1_700_000_100))
            .answering_machine_detection_status(Amd::HumanAnswered)
            .build();
        assert_eq!(
            call_end_from_contact(&human).unwrap().outcome,
            Outcome::Connected
        );
        use aws_sdk_connect::types::QueueInfo;
        let queued = |at: i64| {
            Contact::builder()
                .connected_to_system_timestamp(SdkTime::from_secs(1_700_000_010))
                .queue_info(
                    QueueInfo::builder()
                        .id("q-1")
                        .enqueue_timestamp(SdkTime::from_secs(at))
                        .build(),
                )
                .disconnect_timestamp(SdkTime::from_secs(1_700_000_100))
                .disconnect_reason("CUSTOMER_DISCONNECT")
                .build()
        };
        assert_eq!(
            call_end_from_contact(&queued(1_700_000_012))
                .unwrap()
                .outcome,
            Outcome::Abandoned
        );
        assert_eq!(
            call_end_from_contact(&queued(1_700_000_000))
                .unwrap()
                .outcome,
            Outcome::Connected,
            "enqueued at placement, before the answer"
        );
    }
}
