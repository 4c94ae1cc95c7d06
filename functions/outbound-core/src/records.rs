//! Records shared by the dialer functions: lane state, outcomes, results and rejects.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The state of one dialing lane: the Map iteration's state and what the completer sends back
/// with `SendTaskSuccess` (see `docs/architecture.md`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LaneState {
    pub run_id: String,
    pub lane: u32,
    /// Calls this lane has completed in this wave.
    pub calls: u32,
    /// Calls this lane may place in this wave (bounds the execution history).
    pub budget: u32,
    pub timeout_seconds: u32,
    /// The wave (the execution's `wave`, from 1) this lane dials in: with `wave_budget`, it
    /// names the wave's shared call count.
    #[serde(default)]
    pub wave: u32,
    /// Calls all lanes of the wave may place together (`lanes × budget` when get-config made
    /// them): each lane takes one from a count shared by the wave before each dial, so every lane
    /// keeps dialing until the wave's budget is spent and the lanes end within about one call of
    /// each other. 0: no shared budget (a lane state from before it existed), `budget` alone.
    #[serde(default)]
    pub wave_budget: u32,
}

/// How a dialed call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The customer answered (the call reached the flow).
    Connected,
    NoAnswer,
    Busy,
    /// The call could not be placed or the network failed it.
    Failed,
    /// No end was seen within `timeOut` and Connect still reports the call in progress.
    Timeout,
    /// The dialer could not place the call (rejected by Connect as invalid).
    Error,
    /// The number does not exist, is no longer in use or cannot be dialed (Connect's
    /// `TELECOM_NUMBER_INVALID`, `OUTBOUND_DESTINATION_ENDPOINT_ERROR`, a special information
    /// tone for an invalid number, a fax machine): calling it again reaches nobody either.
    InvalidNumber,
    /// Answering machine detection heard a voicemail greeting (`VOICEMAIL_BEEP`,
    /// `VOICEMAIL_NO_BEEP`): only with `answering_machine_detection` on.
    Voicemail,
    /// The call was answered and put in a queue, and ended before an agent took it: the person
    /// hung up waiting (an abandoned call, as regulators count them).
    Abandoned,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Connected => "connected",
            Outcome::NoAnswer => "no_answer",
            Outcome::Busy => "busy",
            Outcome::Failed => "failed",
            Outcome::Timeout => "timeout",
            Outcome::Error => "error",
            Outcome::InvalidNumber => "invalid_number",
            Outcome::Voicemail => "voicemail",
            Outcome::Abandoned => "abandoned",
        }
    }

    /// Every outcome, in the order the redial rules list them.
    pub const ALL: [Outcome; 9] = [
        Outcome::Connected,
        Outcome::NoAnswer,
        Outcome::Busy,
        Outcome::Failed,
        Outcome::Timeout,
        Outcome::Error,
        Outcome::InvalidNumber,
        Outcome::Voicemail,
        Outcome::Abandoned,
    ];
}

/// One line of the results file: one per dialed contact attempt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResultRecord {
    pub campaign: String,
    pub run_id: String,
    pub contact_key: String,
    /// The customer id from the list (custID / Pinpoint user id).
    pub customer_key: String,
    pub phone_masked: String,
    pub attempt: u32,
    pub contact_id: Option<String>,
    pub outcome: Outcome,
    pub disposition: Option<String>,
    /// The callback the agent set with the disposition (RFC 3339 UTC): the contact is due
    /// again at that time. Absent when none was scheduled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_at: Option<String>,
    pub lane: Option<u32>,
    /// The caller ID dial asked Connect to present: the caller-id routing file's answer for the
    /// destination. `None` when the call went out with the queue's own outbound caller ID (no
    /// routing file, no rule for the destination, or the file unusable).
    #[serde(default)]
    pub caller_id: Option<String>,
    /// The routed caller ID Connect refused for this call, which then went out with the
    /// queue's own number (`caller_id` is `None`). Absent when nothing was refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caller_id_refused: Option<String>,
    /// RFC 3339 UTC timestamps.
    pub dialed_at: Option<String>,
    pub disconnected_at: Option<String>,
    pub completed_at: String,
    pub source: serde_json::Value,
}

impl ResultRecord {
    /// The object key: deterministic, so a rewrite replaces and never duplicates.
    pub fn object_key(&self) -> String {
        result_object_key(
            &self.campaign,
            &self.run_id,
            &self.contact_key,
            self.attempt,
        )
    }
}

/// One line per loaded contact, written once it is final (whatever the number of attempts): the
/// campaign's answer for that contact. Rewritten at the same key when written again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FinalRecord {
    pub campaign: String,
    pub contact_key: String,
    pub customer_key: String,
    pub phone_masked: String,
    /// Attempts made (the last one's number; 0 when the contact was settled before any).
    pub attempts: u32,
    /// `connected`, `no_answer`, …, `attempts_exhausted`, `rejected`, `campaign_ended`,
    /// `dnc`.
    pub final_reason: String,
    /// The outcome of the last attempt, when one was made.
    pub last_outcome: Option<Outcome>,
    /// The Connect contact of the last attempt, when one was placed.
    pub contact_id: Option<String>,
    /// RFC 3339 UTC.
    pub final_at: String,
    pub source: serde_json::Value,
    /// The round of a recurring source (a Pinpoint activity) the contact was admitted in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub round: Option<String>,
}

impl FinalRecord {
    pub fn object_key(&self) -> String {
        match &self.round {
            None => final_object_key(&self.campaign, &self.contact_key),
            Some(round) => format!(
                "finals/campaign={}/{}-{}.jsonl",
                partition_safe(&self.campaign),
                self.contact_key,
                partition_safe(&bounded_name(round, 64))
            ),
        }
    }
}

/// `finals/campaign=<campaign>/<contactKey>.jsonl`: one object per contact and campaign (a round
/// of a recurring source adds `-<round>` to the name).
pub fn final_object_key(campaign: &str, contact_key: &str) -> String {
    format!(
        "finals/campaign={}/{}.jsonl",
        partition_safe(campaign),
        contact_key
    )
}

/// `results/campaign=<campaign>/run=<runId>/<contactKey>-<attempt>.jsonl`
pub fn result_object_key(campaign: &str, run_id: &str, contact_key: &str, attempt: u32) -> String {
    format!(
        "results/campaign={}/run={}/{}-{}.jsonl",
        partition_safe(campaign),
        partition_safe(run_id),
        contact_key,
        attempt
    )
}

/// One line of a reject report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RejectRecord {
    /// Line number in the source file (1 is the header), or the position in a Pinpoint batch.
    pub line: u64,
    pub reason: String,
    pub customer_key: Option<String>,
    pub phone_masked: Option<String>,
    pub source: String,
}

/// Longest campaign name, in characters. A longer one (a long file name) keeps its first
/// characters and a hash of the whole, so it stays unique and every key built from it stays
/// far below S3's 1,024-byte key limit.
pub const MAX_CAMPAIGN_CHARS: usize = 64;

/// Longest source name in a reject report's key, in characters (an object key may be 1,024
/// bytes long on its own).
pub const MAX_REJECT_SOURCE_CHARS: usize = 200;

/// `value` when it has at most `max` characters; otherwise its first characters, `-` and 16 hex
/// digits of its SHA-256, `max` characters in all. The same value always gives the same result.
pub fn bounded_name(value: &str, max: usize) -> String {
    const HASH_CHARS: usize = 16;
    if value.chars().count() <= max {
        return value.to_string();
    }
    let digest = hex::encode(Sha256::digest(value.as_bytes()));
    let keep = max.saturating_sub(HASH_CHARS + 1);
    let head: String = value.chars().take(keep).collect();
    format!("{head}-{}", &digest[..HASH_CHARS])
}

/// `rejects/campaign=<campaign>/<source>.jsonl`, the source name bounded
/// ([`MAX_REJECT_SOURCE_CHARS`]).
pub fn reject_object_key(campaign: &str, source_name: &str) -> String {
    format!(
        "rejects/campaign={}/{}.jsonl",
        partition_safe(&bounded_name(campaign, MAX_CAMPAIGN_CHARS)),
        bounded_name(&source_name.replace('/', "_"), MAX_REJECT_SOURCE_CHARS)
    )
}

/// The prefix of a campaign's plan reports: `plans/campaign=<campaign>/`.
pub fn plan_prefix(campaign: &str) -> String {
    format!(
        "plans/campaign={}/",
        partition_safe(&bounded_name(campaign, MAX_CAMPAIGN_CHARS))
    )
}

/// The key of the plan report of an uploaded file (load-list's `plan`), `extension` `json` or
/// `txt`: `plans/campaign=<campaign>/<source with / as _>.<extension>`, named like its reject
/// report.
pub fn plan_object_key(campaign: &str, source_name: &str, extension: &str) -> String {
    format!(
        "{}{}.{extension}",
        plan_prefix(campaign),
        bounded_name(&source_name.replace('/', "_"), MAX_REJECT_SOURCE_CHARS)
    )
}

/// Keeps a value usable as a Hive-style partition value (`campaign=<value>`).
pub fn partition_safe(value: &str) -> String {
    value
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lane_state_uses_the_asl_field_names() {
        let s = LaneState {
            run_id: "r1".into(),
            lane: 3,
            calls: 17,
            budget: 200,
            timeout_seconds: 120,
            wave: 2,
            wave_budget: 800,
        };
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"runId":"r1","lane":3,"calls":17,"budget":200,"timeoutSeconds":120,
                               "wave":2,"waveBudget":800})
        );
    }

    #[test]
    fn a_lane_state_from_before_the_wave_budget_has_none() {
        let v =
            serde_json::json!({"runId":"r1","lane":3,"calls":17,"budget":200,"timeoutSeconds":120});
        let s: LaneState = serde_json::from_value(v).unwrap();
        assert_eq!((s.wave, s.wave_budget, s.budget), (0, 0, 200));
    }

    #[test]
    fn outcomes_serialise_snake_case() {
        assert_eq!(
            serde_json::to_value(Outcome::NoAnswer).unwrap(),
            "no_answer"
        );
        assert_eq!(Outcome::NoAnswer.as_str(), "no_answer");
        // `as_str` is the serde name, and every name (the old ones included: stored ledger
        // items and results use them) parses back.
        for outcome in Outcome::ALL {
            let name = serde_json::to_value(outcome).unwrap();
            assert_eq!(name, outcome.as_str());
            assert_eq!(serde_json::from_value::<Outcome>(name).unwrap(), outcome);
        }
        for old in [
            "connected",
            "no_answer",
            "busy",
            "failed",
            "timeout",
            "error",
        ] {
            assert!(
                serde_json::from_value::<Outcome>(old.into()).is_ok(),
                "{old}"
            );
        }
        assert_eq!(
            serde_json::to_value(Outcome::InvalidNumber).unwrap(),
            "invalid_number"
        );
        assert_eq!(
            serde_json::to_value(Outcome::Voicemail).unwrap(),
            "voicemail"
        );
        assert_eq!(
            serde_json::to_value(Outcome::Abandoned).unwrap(),
            "abandoned"
        );
    }

    #[test]
    fn long_names_are_bounded_unique_and_stable() {
        let long = "a".repeat(1000);
        let other = format!("{}b", "a".repeat(999));
        let b = bounded_name(&long, MAX_CAMPAIGN_CHARS);
        assert_eq!(b.chars().count(), MAX_CAMPAIGN_CHARS);
        assert_eq!(b, bounded_name(&long, MAX_CAMPAIGN_CHARS));
        assert_ne!(b, bounded_name(&other, MAX_CAMPAIGN_CHARS));
        assert_eq!(bounded_name("spring", MAX_CAMPAIGN_CHARS), "spring");
        // Multi-byte characters are never cut in half.
        let accents = "é".repeat(300);
        assert_eq!(bounded_name(&accents, 64).chars().count(), 64);
        // The longest object key S3 allows still gives a reject key S3 accepts.
        let key = format!("uploads/{}.csv", "x".repeat(1010));
        let reject = reject_object_key(&long, &key);
        assert!(reject.len() < 400, "{} bytes", reject.len());
    }

    #[test]
    fn object_keys_are_partitioned_and_safe() {
        assert_eq!(
            result_object_key("spring sale", "r-1", "abc", 1),
            "results/campaign=spring_sale/run=r-1/abc-1.jsonl"
        );
        assert_eq!(
            reject_object_key("spring", "uploads/spring.csv"),
            "rejects/campaign=spring/uploads_spring.csv.jsonl"
        );
        assert_eq!(
            plan_object_key("spring sale", "campaigns/spring sale/a.csv", "txt"),
            "plans/campaign=spring_sale/campaigns_spring sale_a.csv.txt"
        );
    }
}
