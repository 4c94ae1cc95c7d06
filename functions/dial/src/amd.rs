//! Answering machine detection, opt-in (`ANSWERING_MACHINE_DETECTION`, the Terraform variable
//! `answering_machine_detection`): what `StartOutboundVoiceContact` carries when it is on.
//!
//! Source: StartOutboundVoiceContact, `AnswerMachineDetectionConfig` ("Configuration of the
//! answering machine detection for this outbound call"), `TrafficType` ("Use CAMPAIGN if
//! EnableAnswerMachineDetection is set to true. For all other cases, use GENERAL") and
//! `CampaignId` ("The campaign identifier of the outbound communication", 1 to 100
//! characters), <https://docs.aws.amazon.com/connect/latest/APIReference/API_StartOutboundVoiceContact.html>;
//! `AnswerMachineDetectionConfig.EnableAnswerMachineDetection`: "If set to true, TrafficType
//! must be set as CAMPAIGN",
//! <https://docs.aws.amazon.com/connect/latest/APIReference/API_AnswerMachineDetectionConfig.html>.
//! "Campaign calls are not allowed by default. Before you can make a call with TrafficType =
//! CAMPAIGN, you must submit a service quota increase request" (the StartOutboundVoiceContact
//! page): a prerequisite the README lists; docs/aws-verification.md M1 to M3 check the rest.

use aws_sdk_connect::types::{AnswerMachineDetectionConfig, TrafficType};
use serde::Deserialize;

/// The longest `CampaignId` Connect accepts.
pub const CAMPAIGN_ID_MAX_CHARS: usize = 100;

/// The environment variable's shape: the Terraform variable, jsonencoded.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    enabled: bool,
    #[serde(default)]
    await_answer_machine_prompt: bool,
    #[serde(default)]
    campaign_id: Option<String>,
}

/// Answering machine detection when it is on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnsweringMachineDetection {
    /// `AwaitAnswerMachinePrompt`: wait for the greeting to end (the beep) before the flow
    /// runs, so a leave-message flow speaks after the beep.
    pub await_prompt: bool,
    /// `CampaignId`, sent when given.
    pub campaign_id: Option<String>,
}

impl AnsweringMachineDetection {
    /// Reads `ANSWERING_MACHINE_DETECTION`: `Ok(None)` when detection is off.
    pub fn parse(raw: &str) -> Result<Option<Self>, String> {
        let raw: Raw = serde_json::from_str(raw).map_err(|e| e.to_string())?;
        let campaign_id = raw
            .campaign_id
            .map(|id| id.trim().to_string())
            .filter(|id| !id.is_empty());
        if let Some(id) = &campaign_id {
            if id.chars().count() > CAMPAIGN_ID_MAX_CHARS {
                return Err(format!(
                    "campaign_id is longer than Connect's {CAMPAIGN_ID_MAX_CHARS} characters"
                ));
            }
        }
        Ok(raw.enabled.then_some(AnsweringMachineDetection {
            await_prompt: raw.await_answer_machine_prompt,
            campaign_id,
        }))
    }

    /// The request's `AnswerMachineDetectionConfig`.
    pub fn config(&self) -> AnswerMachineDetectionConfig {
        AnswerMachineDetectionConfig::builder()
            .enable_answer_machine_detection(true)
            .await_answer_machine_prompt(self.await_prompt)
            .build()
    }

    /// The request's `TrafficType`: detection needs `CAMPAIGN`.
    pub fn traffic_type(&self) -> TrafficType {
        TrafficType::Campaign
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn off_unless_enabled() {
        assert_eq!(
            AnsweringMachineDetection::parse(
                r#"{"enabled":false,"await_answer_machine_prompt":true,"campaign_id":"c"}"#
            ),
            Ok(None)
        );
        assert_eq!(
            AnsweringMachineDetection::parse(
                r#"{"await_answer_machine_prompt":false,"campaign_id":null,"enabled":false}"#
            ),
            Ok(None)
        );
    }

    #[test]
    fn enabled_with_and_without_a_campaign() {
        let on = AnsweringMachineDetection::parse(
            r#"{"enabled":true,"await_answer_machine_prompt":true,"campaign_id":" 8f4e0d3a "}"#,
        )
        .unwrap()
        .unwrap();
        assert!(on.await_prompt);
        assert_eq!(on.campaign_id.as_deref(), Some("8f4e0d3a"));
        assert!(on.config().enable_answer_machine_detection());
        assert!(on.config().await_answer_machine_prompt());
        assert_eq!(on.traffic_type(), TrafficType::Campaign);
        let bare = AnsweringMachineDetection::parse(r#"{"enabled":true,"campaign_id":""}"#)
            .unwrap()
            .unwrap();
        assert_eq!(
            bare,
            AnsweringMachineDetection {
                await_prompt: false,
                campaign_id: None
            }
        );
    }

    #[test]
    fn bad_values_are_refused_with_the_reason() {
        for (raw, needle) in [
            (r#"{"enabled":"yes"}"#, "invalid type"),
            (r#"{"await_answer_machine_prompt":true}"#, "enabled"),
            (r#"{"enabled":true,"campaign":"c"}"#, "campaign"),
            ("on", "expected"),
        ] {
            let err = AnsweringMachineDetection::parse(raw).unwrap_err();
            assert!(err.contains(needle), "{raw}: {err}");
        }
        let long = format!(r#"{{"enabled":true,"campaign_id":"{}"}}"#, "x".repeat(101));
        assert!(AnsweringMachineDetection::parse(&long)
            .unwrap_err()
            .contains("100 characters"));
    }
}
