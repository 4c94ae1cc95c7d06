//! The ledger's contact item: its key, its index keys, and the typed view of it.

use super::rules::RedialRules;
use crate::contact::{Contact, ContactSource};
use crate::mask::mask_phone;
use crate::records::Outcome;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, TimeZone, Utc};
use std::collections::{BTreeMap, HashMap};
use std::fmt;

pub type Item = HashMap<String, AttributeValue>;

/// Index partitions per campaign. Fixed for the life of a table: readers query `0..SHARDS`.
pub const SHARDS: u32 = 8;

/// Where a contact is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ContactState {
    /// Waiting for its `dueAt`; in the `due` index.
    Due,
    /// Taken by a feeder and sent to the buffer; in the `held` index until `leaseUntil`.
    Leased,
    /// An attempt is being placed or is in progress; in the `held` index until its deadline.
    Dialing,
    /// Done: never leased again.
    Final,
}

impl ContactState {
    pub const ALL: [ContactState; 4] = [
        ContactState::Due,
        ContactState::Leased,
        ContactState::Dialing,
        ContactState::Final,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ContactState::Due => "due",
            ContactState::Leased => "leased",
            ContactState::Dialing => "dialing",
            ContactState::Final => "final",
        }
    }

    pub fn parse(raw: &str) -> Option<ContactState> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw)
    }

    /// Whether the `from` → `to` move is one the ledger makes (see the transition table in
    /// `docs/architecture.md`). The operations' condition expressions enforce the same graph.
    pub fn can_move_to(self, to: ContactState) -> bool {
        use ContactState::*;
        matches!(
            (self, to),
            (Due, Leased)
                | (Leased, Due)
                // A calling rule forbids the call for good (the do-not-call list).
                | (Leased, Final)
                | (Leased, Dialing)
                | (Dialing, Final)
                | (Dialing, Due)
                // An agent's callback after the call reopens the contact.
                | (Final, Due)
        )
    }
}

impl fmt::Display for ContactState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a contact is final.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FinalReason {
    /// The last attempt's outcome is one of the rules' final outcomes.
    Outcome(Outcome),
    /// The rules allow no further attempt.
    AttemptsExhausted,
    /// The number is no longer valid or allowed when it came to be dialed.
    Rejected,
    /// The campaign's schedule ended before the contact was reached.
    CampaignEnded,
    /// The recipient asked not to be called.
    DoNotCall,
}

impl FinalReason {
    pub fn as_str(self) -> &'static str {
        match self {
            FinalReason::Outcome(o) => o.as_str(),
            FinalReason::AttemptsExhausted => "attempts_exhausted",
            FinalReason::Rejected => "rejected",
            FinalReason::CampaignEnded => "campaign_ended",
            FinalReason::DoNotCall => "dnc",
        }
    }

    pub fn parse(raw: &str) -> Option<FinalReason> {
        match raw {
            "attempts_exhausted" => Some(FinalReason::AttemptsExhausted),
            "rejected" => Some(FinalReason::Rejected),
            "campaign_ended" => Some(FinalReason::CampaignEnded),
            // `do_not_call`: what versions before the do-not-call list wrote.
            "dnc" | "do_not_call" => Some(FinalReason::DoNotCall),
            other => parse_outcome(other).map(FinalReason::Outcome),
        }
    }
}

pub(crate) fn parse_outcome(raw: &str) -> Option<Outcome> {
    serde_json::from_value(serde_json::Value::String(raw.to_string())).ok()
}

/// `CONTACT#<campaign>#<contactKey>`: the item's key.
pub fn contact_pk(campaign: &str, contact_key: &str) -> String {
    format!("CONTACT#{campaign}#{contact_key}")
}

/// The contact's index shard: FNV-1a of the contact key, modulo [`SHARDS`]. Stable across
/// versions and platforms (the shard is stored in the index key).
pub fn shard_of(contact_key: &str) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in contact_key.as_bytes() {
        h ^= u32::from(*b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h % SHARDS
}

/// `<campaign>#<shard>`: the `due` index's partition key.
pub fn due_shard_key(campaign: &str, shard: u32) -> String {
    format!("{campaign}#{shard}")
}

/// `<campaign>#<state>#<shard>`: the `held` index's partition key (leased or dialing).
pub fn held_shard_key(campaign: &str, state: ContactState, shard: u32) -> String {
    format!("{campaign}#{}#{shard}", state.as_str())
}

/// Epoch milliseconds, the ledger's time format (comparable in condition expressions).
pub fn millis(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

pub fn from_millis(ms: i64) -> Option<DateTime<Utc>> {
    Utc.timestamp_millis_opt(ms).single()
}

pub(crate) fn n(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

pub(crate) fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn attr_s(item: &Item, name: &str) -> Option<String> {
    item.get(name).and_then(|v| v.as_s().ok()).cloned()
}

fn attr_i64(item: &Item, name: &str) -> Option<i64> {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|n| n.parse().ok())
}

fn attr_time(item: &Item, name: &str) -> Option<DateTime<Utc>> {
    attr_i64(item, name).and_then(from_millis)
}

/// A contact item as read from the ledger.
#[derive(Clone, PartialEq)]
pub struct LedgerContact {
    pub campaign: String,
    pub contact_key: String,
    /// Customer id (`custID`, the Pinpoint user or endpoint id).
    pub key: String,
    /// E.164. Never logged: `Debug` masks it.
    pub phone: String,
    pub attributes: BTreeMap<String, String>,
    pub source: ContactSource,
    pub state: ContactState,
    /// The attempt that is due, leased or dialing; in `final`, the last one made (0: none).
    pub attempt: u32,
    pub due_at: DateTime<Utc>,
    pub lease_until: Option<DateTime<Utc>>,
    pub leased_by: Option<String>,
    pub client_token: Option<String>,
    pub attempt_started_at: Option<DateTime<Utc>>,
    pub contact_id: Option<String>,
    pub last_outcome: Option<Outcome>,
    pub final_reason: Option<FinalReason>,
    pub final_at: Option<DateTime<Utc>>,
    /// A callback the agent promised during the `dialing` attempt: when that attempt ends, the
    /// contact is due again at this time whatever the rules would decide (`callbackAt`; only
    /// ever present while `dialing`).
    pub callback_at: Option<DateTime<Utc>>,
    pub lease_expiries: u32,
    /// Times a calling rule gave the contact back to the line for later (`deferrals`), and the
    /// rule that did it last (`deferredBy`, e.g. `calling_window`).
    pub deferrals: u32,
    pub deferred_by: Option<String>,
    /// The number's do-not-call key (`dncKey`, [`crate::dnc`]), stored at intake so the checks
    /// need no secret; `None` on items admitted before the list existed.
    pub dnc_key: Option<String>,
    /// The per-file redial override, when the contact's file had one.
    pub rules: Option<RedialRules>,
    pub admitted_at: Option<DateTime<Utc>>,
    /// The round of a recurring source (a Pinpoint campaign's activity) that admitted the
    /// contact: a later round may admit it again once it is final.
    pub round: Option<String>,
}

impl fmt::Debug for LedgerContact {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LedgerContact")
            .field("campaign", &self.campaign)
            .field("contact_key", &self.contact_key)
            .field("phone", &mask_phone(&self.phone))
            .field("state", &self.state)
            .field("attempt", &self.attempt)
            .field("due_at", &self.due_at)
            .field("lease_until", &self.lease_until)
            .field("contact_id", &self.contact_id)
            .field("last_outcome", &self.last_outcome)
            .field("final_reason", &self.final_reason)
            .field("callback_at", &self.callback_at)
            .field("lease_expiries", &self.lease_expiries)
            .field("deferrals", &self.deferrals)
            .finish_non_exhaustive()
    }
}

/// Why an item read from the table is not a contact item this version understands.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("ledger item {pk}: {problem}")]
pub struct ItemError {
    pub pk: String,
    pub problem: String,
}

impl LedgerContact {
    /// The typed view of a whole item (`GetItem`, `ReturnValues=ALL_NEW`/`ALL_OLD`).
    pub fn from_item(item: &Item) -> Result<LedgerContact, ItemError> {
        let pk = attr_s(item, "pk").unwrap_or_default();
        let problem = |p: &str| ItemError {
            pk: pk.clone(),
            problem: p.to_string(),
        };
        let required =
            |name: &str| attr_s(item, name).ok_or_else(|| problem(&format!("no {name}")));
        let state_raw = required("state")?;
        let state = ContactState::parse(&state_raw)
            .ok_or_else(|| problem(&format!("unknown state {state_raw:?}")))?;
        let source: ContactSource = serde_json::from_str(&required("source")?)
            .map_err(|e| problem(&format!("source: {e}")))?;
        let attributes = match item.get("attributes") {
            None => BTreeMap::new(),
            Some(AttributeValue::M(m)) => m
                .iter()
                .filter_map(|(k, v)| v.as_s().ok().map(|v| (k.clone(), v.clone())))
                .collect(),
            Some(_) => return Err(problem("attributes is not a map")),
        };
        let rules = match attr_s(item, "rules") {
            None => None,
            Some(raw) => {
                Some(RedialRules::from_json(&raw).map_err(|e| problem(&format!("rules: {e}")))?)
            }
        };
        Ok(LedgerContact {
            campaign: required("campaign")?,
            contact_key: required("contactKey")?,
            key: required("key")?,
            phone: required("phone")?,
            attributes,
            source,
            state,
            attempt: attr_i64(item, "attempt")
                .and_then(|a| u32::try_from(a).ok())
                .ok_or_else(|| problem("no attempt"))?,
            due_at: attr_time(item, "dueAt").ok_or_else(|| problem("no dueAt"))?,
            lease_until: attr_time(item, "leaseUntil"),
            leased_by: attr_s(item, "leasedBy"),
            client_token: attr_s(item, "clientToken"),
            attempt_started_at: attr_time(item, "attemptStartedAt"),
            contact_id: attr_s(item, "contactId"),
            last_outcome: attr_s(item, "lastOutcome")
                .as_deref()
                .and_then(parse_outcome),
            final_reason: attr_s(item, "finalReason")
                .as_deref()
                .and_then(FinalReason::parse),
            final_at: attr_time(item, "finalAt"),
            callback_at: attr_time(item, "callbackAt"),
            lease_expiries: attr_i64(item, "leaseExpiries")
                .and_then(|a| u32::try_from(a).ok())
                .unwrap_or(0),
            deferrals: attr_i64(item, "deferrals")
                .and_then(|a| u32::try_from(a).ok())
                .unwrap_or(0),
            deferred_by: attr_s(item, "deferredBy"),
            dnc_key: attr_s(item, "dncKey"),
            rules,
            admitted_at: attr_time(item, "admittedAt"),
            round: attr_s(item, "round"),
        })
    }

    /// The item's key.
    pub fn pk(&self) -> String {
        contact_pk(&self.campaign, &self.contact_key)
    }

    /// The message the feeder puts in the buffer for this contact's current attempt.
    pub fn to_contact(&self) -> Contact {
        Contact {
            campaign: self.campaign.clone(),
            key: self.key.clone(),
            phone: self.phone.clone(),
            contact_key: self.contact_key.clone(),
            attempt: self.attempt,
            attributes: self.attributes.clone(),
            source: self.source.clone(),
        }
    }

    /// The rules this contact follows: its file's override, or the deployment's.
    pub fn rules<'a>(&'a self, deployment: &'a RedialRules) -> &'a RedialRules {
        self.rules.as_ref().unwrap_or(deployment)
    }
}

/// The whole item `admit` writes for a new contact: `due`, attempt 1.
pub fn new_item(
    contact: &Contact,
    due_at: DateTime<Utc>,
    rules: Option<&RedialRules>,
    now: DateTime<Utc>,
) -> Result<Item, serde_json::Error> {
    new_item_of_round(contact, due_at, rules, None, now)
}

/// [`new_item`] for a round of a recurring source (`round`: its activity).
pub fn new_item_of_round(
    contact: &Contact,
    due_at: DateTime<Utc>,
    rules: Option<&RedialRules>,
    round: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Item, serde_json::Error> {
    let shard = shard_of(&contact.contact_key);
    let mut item: Item = HashMap::from([
        (
            "pk".to_string(),
            s(contact_pk(&contact.campaign, &contact.contact_key)),
        ),
        ("campaign".to_string(), s(&contact.campaign)),
        ("contactKey".to_string(), s(&contact.contact_key)),
        ("key".to_string(), s(&contact.key)),
        ("phone".to_string(), s(&contact.phone)),
        (
            "source".to_string(),
            s(serde_json::to_string(&contact.source)?),
        ),
        ("state".to_string(), s(ContactState::Due.as_str())),
        ("attempt".to_string(), n(1)),
        ("dueAt".to_string(), n(millis(due_at))),
        (
            "dueShard".to_string(),
            s(due_shard_key(&contact.campaign, shard)),
        ),
        ("admittedAt".to_string(), n(millis(now))),
    ]);
    if !contact.attributes.is_empty() {
        item.insert(
            "attributes".to_string(),
            AttributeValue::M(
                contact
                    .attributes
                    .iter()
                    .map(|(k, v)| (k.clone(), s(v)))
                    .collect(),
            ),
        );
    }
    if let Some(rules) = rules {
        item.insert("rules".to_string(), s(rules.to_json()));
    }
    if let Some(round) = round {
        item.insert("round".to_string(), s(round));
    }
    Ok(item)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contact() -> Contact {
        Contact {
            campaign: "spring".into(),
            key: "C-1".into(),
            phone: "+442079460123".into(),
            contact_key: "0123456789abcdef0123456789abcdef".into(),
            attempt: 1,
            attributes: BTreeMap::from([("firstName".to_string(), "Ann".to_string())]),
            source: ContactSource::Csv {
                object: "campaigns/spring/week1.csv".into(),
                line: 12,
            },
        }
    }

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn states_round_trip_and_only_documented_moves_are_allowed() {
        for state in ContactState::ALL {
            assert_eq!(ContactState::parse(state.as_str()), Some(state));
        }
        assert_eq!(ContactState::parse("PLACING"), None);
        use ContactState::*;
        let allowed: Vec<(ContactState, ContactState)> = ContactState::ALL
            .into_iter()
            .flat_map(|a| ContactState::ALL.into_iter().map(move |b| (a, b)))
            .filter(|(a, b)| a.can_move_to(*b))
            .collect();
        assert_eq!(
            allowed,
            vec![
                (Due, Leased),
                (Leased, Due),
                (Leased, Dialing),
                (Leased, Final),
                (Dialing, Due),
                (Dialing, Final),
                (Final, Due)
            ]
        );
        // Final is left only for due (a callback), nothing skips the lease.
        assert!(!Final.can_move_to(Leased) && !Final.can_move_to(Dialing));
        assert!(!Due.can_move_to(Dialing));
    }

    #[test]
    fn final_reasons_round_trip() {
        for reason in [
            FinalReason::Outcome(Outcome::Connected),
            FinalReason::Outcome(Outcome::NoAnswer),
            FinalReason::AttemptsExhausted,
            FinalReason::Rejected,
            FinalReason::CampaignEnded,
            FinalReason::DoNotCall,
        ] {
            assert_eq!(FinalReason::parse(reason.as_str()), Some(reason));
        }
        assert_eq!(FinalReason::parse("nonsense"), None);
    }

    #[test]
    fn keys_and_shards_are_stable() {
        assert_eq!(
            contact_pk("spring", "0123456789abcdef0123456789abcdef"),
            "CONTACT#spring#0123456789abcdef0123456789abcdef"
        );
        // FNV-1a is fixed: the shard is part of stored index keys and must never change.
        assert_eq!(shard_of(""), 0x811c_9dc5 % SHARDS);
        assert_eq!(shard_of("a"), 0xe40c_292c % SHARDS);
        assert_eq!(due_shard_key("spring", 3), "spring#3");
        assert_eq!(
            held_shard_key("spring", ContactState::Dialing, 3),
            "spring#dialing#3"
        );
        // Keys spread over every shard.
        let mut seen = [0u32; SHARDS as usize];
        for i in 0..800 {
            seen[shard_of(&format!("{i:032x}")) as usize] += 1;
        }
        assert!(seen.iter().all(|&n| n > 50), "{seen:?}");
    }

    #[test]
    fn a_new_item_is_due_at_attempt_one_and_reads_back() {
        let now = t("2026-03-04T10:00:00Z");
        let rules = RedialRules::default();
        let item = new_item(&contact(), now, Some(&rules), now).unwrap();
        assert_eq!(item["state"].as_s().unwrap(), "due");
        assert_eq!(item["attempt"].as_n().unwrap(), "1");
        assert_eq!(
            item["dueShard"].as_s().unwrap(),
            &format!("spring#{}", shard_of("0123456789abcdef0123456789abcdef"))
        );
        assert!(!item.contains_key("heldShard"));
        let back = LedgerContact::from_item(&item).unwrap();
        assert_eq!(back.state, ContactState::Due);
        assert_eq!(back.attempt, 1);
        assert_eq!(back.due_at, now);
        assert_eq!(back.admitted_at, Some(now));
        assert_eq!(back.to_contact(), contact());
        assert_eq!(back.rules.as_ref(), Some(&rules));
        assert_eq!(back.pk(), item["pk"].as_s().unwrap().as_str());

        let without = new_item(&contact(), now, None, now).unwrap();
        assert!(!without.contains_key("rules"));
        let other = RedialRules {
            max_attempts: 7,
            ..RedialRules::default()
        };
        let back = LedgerContact::from_item(&without).unwrap();
        assert_eq!(back.rules(&other).max_attempts, 7);
    }

    #[test]
    fn an_item_of_another_shape_is_an_error_not_a_guess() {
        let now = t("2026-03-04T10:00:00Z");
        let mut item = new_item(&contact(), now, None, now).unwrap();
        item.insert("state".into(), s("PLACING"));
        let err = LedgerContact::from_item(&item).unwrap_err();
        assert!(err.problem.contains("unknown state"), "{err}");
        item.remove("state");
        assert!(LedgerContact::from_item(&item).is_err());
    }

    #[test]
    fn debug_never_prints_the_number() {
        let now = t("2026-03-04T10:00:00Z");
        let item = new_item(&contact(), now, None, now).unwrap();
        let printed = format!("{:?}", LedgerContact::from_item(&item).unwrap());
        assert!(!printed.contains("+442079460123"), "{printed}");
        assert!(printed.contains("+44*******123"), "{printed}");
    }
}
