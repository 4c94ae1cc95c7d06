//! An attempt's identity, and what to do with an attempt whose placement outcome is unknown.
//!
//! An attempt is named by (campaign, contact key, attempt number), never by the run that
//! happens to dial it: a contact whose run died after `StartOutboundVoiceContact` returned is
//! placed again by the next run with the same `ClientToken`, which Connect answers with the
//! contact it already started, instead of a second call.

use super::item::{ContactState, LedgerContact};
use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};

/// Connect keeps a `ClientToken` for 7 days after creation (API reference,
/// `StartOutboundVoiceContact`). A placement of unknown outcome is replayed with its token
/// only within this shorter window, so clock skew and retries never reach the edge.
pub const TOKEN_WINDOW: Duration = Duration::days(6);

/// Whether an attempt without a recorded contact id may be placed again with its token.
///
/// The API model also says a token whose contact has been disconnected starts a new contact
/// (docs/aws-verification.md, S3, not verified yet). If S3 confirms that, a replay after the
/// first call ended rings the customer twice: set this to `false`, and such attempts are
/// finished as `failed` and redialed under the rules instead.
pub const REPLAY_UNKNOWN_PLACEMENT: bool = true;

/// Separates this derivation from every other hash the dialer computes (the run-scoped tokens
/// of the current dial included).
const TOKEN_LABEL: &[u8] = b"outbound-voice/attempt/v1";

/// (campaign, contact key, attempt): one attempt of one contact.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AttemptId {
    pub campaign: String,
    pub contact_key: String,
    pub attempt: u32,
}

impl AttemptId {
    pub fn new(campaign: impl Into<String>, contact_key: impl Into<String>, attempt: u32) -> Self {
        Self {
            campaign: campaign.into(),
            contact_key: contact_key.into(),
            attempt,
        }
    }

    /// The attempt a ledger item holds.
    pub fn of(contact: &LedgerContact) -> Self {
        Self::new(&contact.campaign, &contact.contact_key, contact.attempt)
    }

    /// The `ClientToken` of this attempt: hex SHA-256 (64 characters; Connect accepts up to
    /// 500) over a version label and the three parts, each prefixed with its length, so no two
    /// different attempts can ever share a token, whatever characters a campaign id holds.
    pub fn client_token(&self) -> String {
        let mut h = Sha256::new();
        h.update(TOKEN_LABEL);
        for part in [
            self.campaign.as_bytes(),
            self.contact_key.as_bytes(),
            self.attempt.to_string().as_bytes(),
        ] {
            h.update((part.len() as u64).to_be_bytes());
            h.update(part);
        }
        hex::encode(h.finalize())
    }

    /// A run-free marker key for the ActiveDialing table, for as long as dial keeps a marker
    /// item besides the ledger item: `ATTEMPT#<campaign>#<contactKey>#<attempt>`.
    pub fn marker(&self) -> String {
        format!(
            "ATTEMPT#{}#{}#{}",
            self.campaign, self.contact_key, self.attempt
        )
    }
}

/// What to do with a message for an attempt the ledger already holds as `dialing`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recovery {
    /// The call exists: never place it again. Ask Connect (`DescribeContact`) how it ended if
    /// its end was not recorded, then finish the attempt.
    Reconcile { contact_id: String },
    /// The placement's outcome is unknown and Connect still knows the token: place again with
    /// the same `ClientToken`.
    Replay { client_token: String },
    /// The placement's outcome is unknown and a replay would be a new call: finish the attempt
    /// as `failed` (it counts) and let the rules decide.
    Abandon,
    /// The item is not `dialing` this attempt: nothing to recover.
    NotDialing,
}

/// Decides how to recover attempt `attempt` of `item` at `now` (see "Attempt protocol" in
/// `docs/architecture.md`).
pub fn recover(item: &LedgerContact, attempt: u32, now: DateTime<Utc>) -> Recovery {
    recover_with(item, attempt, now, REPLAY_UNKNOWN_PLACEMENT)
}

pub(crate) fn recover_with(
    item: &LedgerContact,
    attempt: u32,
    now: DateTime<Utc>,
    replay_allowed: bool,
) -> Recovery {
    if item.state != ContactState::Dialing || item.attempt != attempt {
        return Recovery::NotDialing;
    }
    if let Some(contact_id) = &item.contact_id {
        return Recovery::Reconcile {
            contact_id: contact_id.clone(),
        };
    }
    // Without a start time the token's age is unknown: it may be past Connect's window.
    let within_window = item
        .attempt_started_at
        .is_some_and(|started| now < started + TOKEN_WINDOW);
    match (&item.client_token, within_window && replay_allowed) {
        (Some(token), true) => Recovery::Replay {
            client_token: token.clone(),
        },
        _ => Recovery::Abandon,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contact::{client_token as run_token, ContactSource};
    use std::collections::BTreeMap;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn the_token_depends_on_campaign_contact_and_attempt_only() {
        let a = AttemptId::new("spring", "0123456789abcdef0123456789abcdef", 1);
        let token = a.client_token();
        assert_eq!(token.len(), 64);
        assert!(token.chars().all(|c| c.is_ascii_hexdigit()));
        // Same attempt, same token: the next run replays the same request.
        assert_eq!(token, a.clone().client_token());
        // Each part changes it.
        assert_ne!(
            token,
            AttemptId {
                attempt: 2,
                ..a.clone()
            }
            .client_token()
        );
        assert_ne!(
            token,
            AttemptId {
                campaign: "summer".into(),
                ..a.clone()
            }
            .client_token()
        );
        assert_ne!(
            token,
            AttemptId {
                contact_key: "ffffffffffffffffffffffffffffffff".into(),
                ..a.clone()
            }
            .client_token()
        );
        // Length prefixes: moving a character from one part to the next is another attempt.
        assert_ne!(
            AttemptId::new("ab", "c", 1).client_token(),
            AttemptId::new("a", "bc", 1).client_token()
        );
        // Never the run-scoped token of the current dial for the same parts.
        assert_ne!(token, run_token("spring", &a.contact_key, 1));
        // The fallback with the queue's number derives from it as before, and differs.
        let fallback = crate::contact::fallback_client_token(&token);
        assert_ne!(fallback, token);
        assert_eq!(fallback.len(), 64);
    }

    #[test]
    fn the_token_is_pinned() {
        // A change here renames every attempt in flight: Connect would take a replay for a new
        // call. Change the label (v2) instead of the derivation.
        assert_eq!(
            AttemptId::new("spring", "0123456789abcdef0123456789abcdef", 1).client_token(),
            PINNED_TOKEN
        );
    }

    // SHA-256 of the label and the length-prefixed parts, computed independently of this code
    // (`hashlib.sha256` over the same bytes); see `the_token_is_pinned`.
    const PINNED_TOKEN: &str = "58dc9f701186c0d5c1642ab815917c1d872a78fa0325ea225cfeb5b7c851b8a2";

    #[test]
    fn the_marker_is_run_free() {
        assert_eq!(
            AttemptId::new("spring", "0123456789abcdef0123456789abcdef", 2).marker(),
            "ATTEMPT#spring#0123456789abcdef0123456789abcdef#2"
        );
    }

    fn dialing(contact_id: Option<&str>, started: Option<&str>) -> LedgerContact {
        LedgerContact {
            campaign: "spring".into(),
            contact_key: "0123456789abcdef0123456789abcdef".into(),
            key: "C-1".into(),
            phone: "+442079460123".into(),
            attributes: BTreeMap::new(),
            source: ContactSource::Csv {
                object: "campaigns/spring/a.csv".into(),
                line: 2,
            },
            state: ContactState::Dialing,
            attempt: 2,
            due_at: t("2026-03-01T00:00:00Z"),
            lease_until: Some(t("2026-03-01T00:20:00Z")),
            leased_by: None,
            client_token: Some("tok".into()),
            attempt_started_at: started.map(t),
            contact_id: contact_id.map(str::to_string),
            last_outcome: None,
            final_reason: None,
            final_at: None,
            callback_at: None,
            lease_expiries: 0,
            deferrals: 0,
            deferred_by: None,
            dnc_key: None,
            rules: None,
            admitted_at: None,
            round: None,
        }
    }

    #[test]
    fn a_placed_call_is_reconciled_never_placed_again() {
        let item = dialing(Some("c-1"), Some("2026-03-01T00:00:00Z"));
        for now in ["2026-03-01T00:01:00Z", "2026-04-01T00:00:00Z"] {
            assert_eq!(
                recover(&item, 2, t(now)),
                Recovery::Reconcile {
                    contact_id: "c-1".into()
                }
            );
        }
    }

    #[test]
    fn an_unknown_placement_is_replayed_within_the_window_and_abandoned_after() {
        let item = dialing(None, Some("2026-03-01T00:00:00Z"));
        assert_eq!(
            recover_with(&item, 2, t("2026-03-01T00:05:00Z"), true),
            Recovery::Replay {
                client_token: "tok".into()
            }
        );
        assert_eq!(
            recover_with(&item, 2, t("2026-03-06T23:59:59Z"), true),
            Recovery::Replay {
                client_token: "tok".into()
            }
        );
        assert_eq!(
            recover_with(&item, 2, t("2026-03-07T00:00:00Z"), true),
            Recovery::Abandon
        );
        // With replays off (S3 confirmed), never replayed.
        assert_eq!(
            recover_with(&item, 2, t("2026-03-01T00:05:00Z"), false),
            Recovery::Abandon
        );
        // No start time: the token's age is unknown.
        assert_eq!(
            recover_with(&dialing(None, None), 2, t("2026-03-01T00:05:00Z"), true),
            Recovery::Abandon
        );
    }

    #[test]
    fn another_attempt_or_state_has_nothing_to_recover() {
        let item = dialing(None, Some("2026-03-01T00:00:00Z"));
        assert_eq!(
            recover(&item, 1, t("2026-03-01T00:05:00Z")),
            Recovery::NotDialing
        );
        let mut leased = item.clone();
        leased.state = ContactState::Leased;
        assert_eq!(
            recover(&leased, 2, t("2026-03-01T00:05:00Z")),
            Recovery::NotDialing
        );
    }
}
