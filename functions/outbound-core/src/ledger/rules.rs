//! Redial rules: what an attempt's outcome leads to.
//!
//! The JSON shape is the Terraform variable `redial` (modules/dialer), so the module can hand
//! its value over as it is, and a per-file override (object metadata `redial`) is a subset of
//! it:
//!
//! ```json
//! {"max_attempts":3,
//!  "delay_minutes":{"busy":10,"no_answer":120,"failed":30,"timeout":30,"error":60,"connected":60,
//!                   "invalid_number":1440,"voicemail":240,"abandoned":4320},
//!  "final_outcomes":["connected","timeout","error","invalid_number"]}
//! ```

use super::item::FinalReason;
use crate::records::Outcome;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// Bounds the Terraform variable validates too.
pub const MAX_ATTEMPTS_RANGE: std::ops::RangeInclusive<u32> = 1..=10;
/// A delay is at least a minute and at most 30 days.
pub const DELAY_MINUTES_RANGE: std::ops::RangeInclusive<u32> = 1..=43_200;

/// How far ahead an agent's callback may be, in days (`CALLBACK_MAX_DAYS`, the Terraform
/// variable `redial.callback_max_days`, validates the same bounds).
pub const CALLBACK_MAX_DAYS_RANGE: std::ops::RangeInclusive<u32> = 1..=365;
pub const DEFAULT_CALLBACK_MAX_DAYS: u32 = 30;
/// A callback is at least this far ahead when the agent sets it.
pub const CALLBACK_MIN_LEAD: Duration = Duration::minutes(1);

/// Why a callback time is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallbackProblem {
    /// Less than [`CALLBACK_MIN_LEAD`] ahead (or in the past).
    TooSoon,
    /// More than the horizon ahead.
    TooFar,
    /// At or after the end of the contact's campaign's schedule: it would never be dialed
    /// (the feeder makes it final `campaign_ended`).
    AfterCampaignEnd,
}

impl CallbackProblem {
    pub fn as_str(self) -> &'static str {
        match self {
            CallbackProblem::TooSoon => "too_soon",
            CallbackProblem::TooFar => "too_far",
            CallbackProblem::AfterCampaignEnd => "after_campaign_end",
        }
    }
}

/// Whether `at` may be a callback set at `now`: at least [`CALLBACK_MIN_LEAD`] ahead and at
/// most `max_days` days ahead.
pub fn check_callback(
    at: DateTime<Utc>,
    now: DateTime<Utc>,
    max_days: u32,
) -> Result<(), CallbackProblem> {
    if at < now + CALLBACK_MIN_LEAD {
        Err(CallbackProblem::TooSoon)
    } else if at > now + Duration::days(i64::from(max_days)) {
        Err(CallbackProblem::TooFar)
    } else {
        Ok(())
    }
}

/// Minutes to wait before the next attempt, per outcome of the last one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DelayMinutes {
    pub connected: u32,
    pub no_answer: u32,
    pub busy: u32,
    pub failed: u32,
    pub timeout: u32,
    pub error: u32,
    /// Used only when `invalid_number` is taken out of `final_outcomes` (a number Connect
    /// called invalid once may be a network's mistake, e.g. a ported number).
    pub invalid_number: u32,
    /// After a voicemail (answering machine detection on): a later call, at another time of
    /// day, may find the person.
    pub voicemail: u32,
    /// After an abandoned call (answered, hung up in the queue before an agent took it): three
    /// days by default, because Ofcom's persistent misuse policy allows a repeat call within
    /// 72 hours of an abandoned one only with a live agent guaranteed, which a dialer cannot.
    pub abandoned: u32,
}

impl Default for DelayMinutes {
    fn default() -> Self {
        Self {
            connected: 60,
            no_answer: 120,
            busy: 10,
            failed: 30,
            timeout: 30,
            error: 60,
            invalid_number: 1440,
            voicemail: 240,
            abandoned: 4320,
        }
    }
}

impl DelayMinutes {
    pub fn of(&self, outcome: Outcome) -> u32 {
        match outcome {
            Outcome::Connected => self.connected,
            Outcome::NoAnswer => self.no_answer,
            Outcome::Busy => self.busy,
            Outcome::Failed => self.failed,
            Outcome::Timeout => self.timeout,
            Outcome::Error => self.error,
            Outcome::InvalidNumber => self.invalid_number,
            Outcome::Voicemail => self.voicemail,
            Outcome::Abandoned => self.abandoned,
        }
    }

    fn all(&self) -> [(Outcome, u32); Outcome::ALL.len()] {
        Outcome::ALL.map(|o| (o, self.of(o)))
    }
}

/// A campaign's redial rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RedialRules {
    /// Attempts a contact gets at most, the first included.
    pub max_attempts: u32,
    pub delay_minutes: DelayMinutes,
    /// Outcomes that end the contact whatever attempts are left.
    pub final_outcomes: Vec<Outcome>,
}

impl Default for RedialRules {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            delay_minutes: DelayMinutes::default(),
            // An invalid number stays invalid: calling it again only costs a call.
            final_outcomes: vec![
                Outcome::Connected,
                Outcome::Timeout,
                Outcome::Error,
                Outcome::InvalidNumber,
            ],
        }
    }
}

/// What comes after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// The contact is done.
    Final(FinalReason),
    /// The contact is due again: `attempt` is the next attempt's number.
    Redial { attempt: u32, due_at: DateTime<Utc> },
    /// The contact is due again at the time the agent promised during the attempt (a callback
    /// set with the disposition): whatever the outcome and even past `max_attempts`.
    Callback { attempt: u32, due_at: DateTime<Utc> },
}

impl Decision {
    /// What attempt `attempt` leads to when the agent promised a callback at `callback_at`
    /// during it; otherwise what `rules` decide for `outcome`.
    pub fn after(
        rules: &RedialRules,
        attempt: u32,
        outcome: Outcome,
        callback_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Decision {
        match callback_at {
            Some(due_at) => Decision::Callback {
                attempt: attempt + 1,
                due_at,
            },
            None => rules.decide(attempt, outcome, now),
        }
    }
}

impl RedialRules {
    /// Why the rules cannot be used, if they cannot (the Terraform variable checks the same).
    pub fn validate(&self) -> Result<(), String> {
        if !MAX_ATTEMPTS_RANGE.contains(&self.max_attempts) {
            return Err(format!(
                "max_attempts must be from {} to {}, got {}",
                MAX_ATTEMPTS_RANGE.start(),
                MAX_ATTEMPTS_RANGE.end(),
                self.max_attempts
            ));
        }
        for (outcome, minutes) in self.delay_minutes.all() {
            if !DELAY_MINUTES_RANGE.contains(&minutes) {
                return Err(format!(
                    "delay_minutes.{} must be from {} to {} minutes, got {minutes}",
                    outcome.as_str(),
                    DELAY_MINUTES_RANGE.start(),
                    DELAY_MINUTES_RANGE.end()
                ));
            }
        }
        Ok(())
    }

    /// Reads rules from a JSON object; attributes left out keep the product's defaults.
    pub fn from_json(raw: &str) -> Result<RedialRules, String> {
        RedialRules::default().overridden_by(raw)
    }

    /// `self` with a partial override applied (a file's `redial` metadata): attributes the
    /// override leaves out keep `self`'s values.
    pub fn overridden_by(&self, raw: &str) -> Result<RedialRules, String> {
        let patch: serde_json::Value = serde_json::from_str(raw).map_err(|e| e.to_string())?;
        // Only an object: serde would also read a struct from an array, by position.
        if !patch.is_object() {
            return Err("redial rules must be a JSON object".into());
        }
        let mut base = serde_json::to_value(self).map_err(|e| e.to_string())?;
        merge(&mut base, patch);
        let rules: RedialRules = serde_json::from_value(base).map_err(|e| e.to_string())?;
        rules.validate()?;
        Ok(rules)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("rules serialise")
    }

    /// What attempt `attempt` (from 1) ending with `outcome` at `now` leads to.
    pub fn decide(&self, attempt: u32, outcome: Outcome, now: DateTime<Utc>) -> Decision {
        if self.final_outcomes.contains(&outcome) {
            Decision::Final(FinalReason::Outcome(outcome))
        } else if attempt >= self.max_attempts {
            Decision::Final(FinalReason::AttemptsExhausted)
        } else {
            Decision::Redial {
                attempt: attempt + 1,
                due_at: now + Duration::minutes(i64::from(self.delay_minutes.of(outcome))),
            }
        }
    }
}

/// JSON merge patch without deletions: objects merge key by key, anything else replaces.
fn merge(base: &mut serde_json::Value, patch: serde_json::Value) {
    match (base, patch) {
        (serde_json::Value::Object(base), serde_json::Value::Object(patch)) => {
            for (k, v) in patch {
                merge(base.entry(k).or_insert(serde_json::Value::Null), v);
            }
        }
        (base, patch) => *base = patch,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn defaults_are_the_documented_ones_and_round_trip() {
        let rules = RedialRules::default();
        assert_eq!(
            serde_json::to_value(&rules).unwrap(),
            serde_json::json!({
                "max_attempts": 3,
                "delay_minutes": {"connected": 60, "no_answer": 120, "busy": 10, "failed": 30, "timeout": 30, "error": 60, "invalid_number": 1440, "voicemail": 240, "abandoned": 4320},
                "final_outcomes": ["connected", "timeout", "error", "invalid_number"]
            })
        );
        assert_eq!(RedialRules::from_json(&rules.to_json()).unwrap(), rules);
        assert_eq!(RedialRules::from_json("{}").unwrap(), rules);
    }

    #[test]
    fn a_final_outcome_ends_the_contact_at_any_attempt() {
        let rules = RedialRules::default();
        let now = t("2026-03-04T10:00:00Z");
        assert_eq!(
            rules.decide(1, Outcome::Connected, now),
            Decision::Final(FinalReason::Outcome(Outcome::Connected))
        );
        assert_eq!(
            rules.decide(1, Outcome::Error, now),
            Decision::Final(FinalReason::Outcome(Outcome::Error))
        );
    }

    #[test]
    fn other_outcomes_redial_after_their_delay_until_attempts_run_out() {
        let rules = RedialRules::default();
        let now = t("2026-03-04T10:00:00Z");
        assert_eq!(
            rules.decide(1, Outcome::Busy, now),
            Decision::Redial {
                attempt: 2,
                due_at: t("2026-03-04T10:10:00Z")
            }
        );
        assert_eq!(
            rules.decide(2, Outcome::NoAnswer, now),
            Decision::Redial {
                attempt: 3,
                due_at: t("2026-03-04T12:00:00Z")
            }
        );
        assert_eq!(
            rules.decide(3, Outcome::Busy, now),
            Decision::Final(FinalReason::AttemptsExhausted)
        );
        // An attempt number past the maximum (rules lowered mid-campaign) is final too.
        assert_eq!(
            rules.decide(9, Outcome::Failed, now),
            Decision::Final(FinalReason::AttemptsExhausted)
        );
        let once = RedialRules {
            max_attempts: 1,
            ..RedialRules::default()
        };
        assert_eq!(
            once.decide(1, Outcome::Busy, now),
            Decision::Final(FinalReason::AttemptsExhausted)
        );
    }

    #[test]
    fn a_callback_overrides_the_rules_whatever_the_outcome_and_attempt() {
        let rules = RedialRules::default();
        let now = t("2026-03-04T10:00:00Z");
        let at = t("2026-03-05T09:30:00Z");
        // A final outcome, the last attempt allowed, or beyond it: the agent's promise holds.
        for (attempt, outcome) in [
            (1, Outcome::Connected),
            (3, Outcome::Busy),
            (9, Outcome::Error),
        ] {
            assert_eq!(
                Decision::after(&rules, attempt, outcome, Some(at), now),
                Decision::Callback {
                    attempt: attempt + 1,
                    due_at: at
                },
                "{attempt} {outcome:?}"
            );
        }
        // No callback: the rules decide.
        assert_eq!(
            Decision::after(&rules, 1, Outcome::Busy, None, now),
            rules.decide(1, Outcome::Busy, now)
        );
        assert_eq!(
            Decision::after(&rules, 1, Outcome::Connected, None, now),
            Decision::Final(FinalReason::Outcome(Outcome::Connected))
        );
    }

    #[test]
    fn a_callback_is_between_a_minute_and_the_horizon_ahead() {
        let now = t("2026-03-04T10:00:00Z");
        assert_eq!(check_callback(t("2026-03-04T10:01:00Z"), now, 30), Ok(()));
        assert_eq!(check_callback(t("2026-04-03T10:00:00Z"), now, 30), Ok(()));
        assert_eq!(
            check_callback(t("2026-03-04T10:00:59Z"), now, 30),
            Err(CallbackProblem::TooSoon)
        );
        assert_eq!(
            check_callback(t("2026-03-01T10:00:00Z"), now, 30),
            Err(CallbackProblem::TooSoon)
        );
        assert_eq!(
            check_callback(t("2026-04-03T10:00:01Z"), now, 30),
            Err(CallbackProblem::TooFar)
        );
        assert_eq!(check_callback(t("2026-04-03T10:00:01Z"), now, 31), Ok(()));
    }

    #[test]
    fn a_redial_is_never_due_before_now() {
        let rules = RedialRules::default();
        let now = t("2026-03-04T10:00:00Z");
        for outcome in [Outcome::NoAnswer, Outcome::Busy, Outcome::Failed] {
            match rules.decide(1, outcome, now) {
                Decision::Redial { due_at, attempt } => {
                    assert!(due_at > now);
                    assert_eq!(attempt, 2);
                }
                other => panic!("{outcome:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn the_new_outcomes_follow_their_rules() {
        let rules = RedialRules::default();
        let now = t("2026-03-04T10:00:00Z");
        // An invalid number is final by default, at the first attempt.
        assert_eq!(
            rules.decide(1, Outcome::InvalidNumber, now),
            Decision::Final(FinalReason::Outcome(Outcome::InvalidNumber))
        );
        // A voicemail is redialed 4 hours later, until the attempts run out.
        assert_eq!(
            rules.decide(1, Outcome::Voicemail, now),
            Decision::Redial {
                attempt: 2,
                due_at: t("2026-03-04T14:00:00Z")
            }
        );
        assert_eq!(
            rules.decide(3, Outcome::Voicemail, now),
            Decision::Final(FinalReason::AttemptsExhausted)
        );
        // An abandoned call is tried again three days later, not sooner.
        assert_eq!(
            rules.decide(1, Outcome::Abandoned, now),
            Decision::Redial {
                attempt: 2,
                due_at: t("2026-03-07T10:00:00Z")
            }
        );
        // A campaign that leaves a message makes the voicemail final; one that trusts an
        // invalid number less redials it after its own delay.
        let rules = rules
            .overridden_by(
                r#"{"final_outcomes":["connected","voicemail"],"delay_minutes":{"invalid_number":2880}}"#,
            )
            .unwrap();
        assert_eq!(
            rules.decide(1, Outcome::Voicemail, now),
            Decision::Final(FinalReason::Outcome(Outcome::Voicemail))
        );
        assert_eq!(
            rules.decide(1, Outcome::InvalidNumber, now),
            Decision::Redial {
                attempt: 2,
                due_at: t("2026-03-06T10:00:00Z")
            }
        );
        // Rules stored before these outcomes existed still read, with the defaults for them.
        let old = RedialRules::from_json(
            r#"{"max_attempts":3,"delay_minutes":{"connected":60,"no_answer":120,"busy":10,"failed":30,"timeout":30,"error":60},"final_outcomes":["connected","timeout","error"]}"#,
        )
        .unwrap();
        assert_eq!(old.delay_minutes.voicemail, 240);
        assert_eq!(old.delay_minutes.abandoned, 4320);
        assert_eq!(old.delay_minutes.invalid_number, 1440);
        assert!(!old.final_outcomes.contains(&Outcome::InvalidNumber));
    }

    #[test]
    fn an_override_changes_only_what_it_names() {
        let base = RedialRules {
            max_attempts: 5,
            ..RedialRules::default()
        };
        let rules = base
            .overridden_by(r#"{"delay_minutes":{"busy":3},"final_outcomes":["connected"]}"#)
            .unwrap();
        assert_eq!(rules.max_attempts, 5);
        assert_eq!(rules.delay_minutes.busy, 3);
        assert_eq!(rules.delay_minutes.no_answer, 120);
        assert_eq!(rules.final_outcomes, vec![Outcome::Connected]);
        assert_eq!(base.overridden_by("{}").unwrap(), base);
    }

    #[test]
    fn invalid_rules_are_refused_with_the_reason() {
        for (raw, needle) in [
            (r#"{"max_attempts":0}"#, "max_attempts"),
            (r#"{"max_attempts":11}"#, "max_attempts"),
            (r#"{"delay_minutes":{"busy":0}}"#, "delay_minutes.busy"),
            (
                r#"{"delay_minutes":{"no_answer":50000}}"#,
                "delay_minutes.no_answer",
            ),
            (r#"{"final_outcomes":["hung_up"]}"#, "hung_up"),
            (
                r#"{"delay_minutes":{"voicemail":0}}"#,
                "delay_minutes.voicemail",
            ),
            (r#"{"max_attempt":3}"#, "max_attempt"),
            (r#"{"delay_minutes":{"engaged":5}}"#, "engaged"),
            ("[1]", "JSON object"),
            ("[2, {}, []]", "JSON object"),
        ] {
            let err = RedialRules::from_json(raw).unwrap_err();
            assert!(err.contains(needle), "{raw}: {err}");
            assert!(RedialRules::default().overridden_by(raw).is_err(), "{raw}");
        }
    }
}
