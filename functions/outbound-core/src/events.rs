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
/// A call that established media (or reached an agent) is `connected`, whatever hung it up.
/// Otherwise the disconnect reason tells a busy line from an unanswered call from a failure;
/// a call that never connected and carries no telling reason is `no_answer`, the common case
/// of a phone that rang out.
pub fn classify_end(
    connected_to_system: bool,
    connected_to_agent: bool,
    disconnect_reason: Option<&str>,
) -> Outcome {
    if connected_to_system || connected_to_agent {
        return Outcome::Connected;
    }
    let reason = disconnect_reason
        .unwrap_or_default()
        .trim()
        .to_ascii_uppercase();
    match reason.as_str() {
        "TELECOM_BUSY" => Outcome::Busy,
        // The originator cancels an outbound call that nobody answered within Connect's 60 s.
        "TELECOM_UNANSWERED" | "TELECOM_ORIGINATOR_CANCEL" => Outcome::NoAnswer,
        "TELECOM_NUMBER_INVALID"
        | "TELECOM_POTENTIAL_BLOCKING"
        | "TELECOM_PROBLEM"
        | "TELECOM_TIMEOUT"
        | "OUTBOUND_DESTINATION_ENDPOINT_ERROR"
        | "OUTBOUND_RESOURCE_ERROR"
        | "OUTBOUND_ATTEMPT_FAILED"
        | "EXPIRED" => Outcome::Failed,
        _ => Outcome::NoAnswer,
    }
}

/// The end of a call from `DescribeContact`, or `None` while the call is still in progress.
pub fn call_end_from_contact(contact: &aws_sdk_connect::types::Contact) -> Option<CallEnd> {
    let disconnected_at = contact.disconnect_timestamp().and_then(to_chrono)?;
    let connected_to_agent = contact
        .agent_info()
        .and_then(|a| a.connected_to_agent_timestamp())
        .is_some();
    Some(CallEnd {
        disconnected_at,
        outcome: classify_end(
            contact.connected_to_system_timestamp().is_some(),
            connected_to_agent,
            contact.disconnect_reason(),
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
        assert_eq!(classify_end(true, false, None), Outcome::Connected);
        assert_eq!(
            classify_end(false, true, Some("TELECOM_BUSY")),
            Outcome::Connected
        );
        assert_eq!(
            classify_end(false, false, Some("telecom_busy")),
            Outcome::Busy
        );
        assert_eq!(
            classify_end(false, false, Some("TELECOM_ORIGINATOR_CANCEL")),
            Outcome::NoAnswer
        );
        assert_eq!(
            classify_end(false, false, Some("OUTBOUND_ATTEMPT_FAILED")),
            Outcome::Failed
        );
        assert_eq!(
            classify_end(false, false, Some("CUSTOMER_DISCONNECT")),
            Outcome::NoAnswer
        );
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
    }
}
