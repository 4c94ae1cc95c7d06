//! The caller-ID routing file and the decision "which number do we call this customer from".
//!
//! # The file
//!
//! A JSON object. Keys are
//! - ISO 3166-1 alpha-2 codes (`"US"`, any case: `"us"` is read as `US`),
//! - `Default` (any case),
//! - E.164 prefixes: `+` followed by 1 to 15 digits (`"+1212"`, `"+4420"`).
//!
//! Values are an E.164 number (`"+12125550142"`) or a non-empty list of them (a pool).
//!
//! # The decision
//!
//! For a customer number: the longest matching prefix key, else the number's country (from the
//! full number: `+1 416 …` is CA, `+1 212 …` is US, `+44 1534 …` is JE), else `Default`, else no
//! answer (the caller falls back to the queue's number). A pool picks one number per customer
//! with rendezvous hashing over the customer number: the same customer always gets the same
//! caller ID, customers spread evenly across the pool, and adding or removing one pool number
//! only moves the customers of that number.
//!
//! # Invalid entries: dropped, not fatal
//!
//! [`Routing::parse`] keeps every valid entry and drops the invalid ones, each reported as a
//! [`RoutingIssue`] (the caller logs them once per file version). One typo in one country's
//! number must not take the caller ID away from every other country: a refused file would send
//! every call back to the queue's number. The file is refused as a whole ([`RoutingError`]) only
//! when it is not a JSON object, or when it has entries and none of them is valid. An empty
//! object is a valid file that routes nothing.
//!
//! # Speed
//!
//! Parsing does all the work once per file version: numbers are validated and their country
//! computed, prefixes go into a hash map keyed by (length, digits) with the list of prefix
//! lengths in use, countries into a 26×26 array. A lookup is at most one hash probe per
//! distinct prefix length (≤ 15) plus one array read: its cost does not grow with the number of
//! entries. The largest step per call is finding the customer's country with libphonenumber's
//! rules (`phone::decide`: a few anchored pattern matches of one region), which the
//! answer reports whatever rule applies.

use crate::mask::mask_phone;
use crate::phone::{self, PhoneError};
use serde::de::{Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use std::collections::{HashMap, HashSet};
use std::fmt;

/// The key of the fallback entry, as written in files.
pub const DEFAULT_KEY: &str = "Default";

/// E.164 allows at most 15 digits after the `+`.
const MAX_DIGITS: usize = 15;

/// Marks an empty slot in the country table.
const NO_RULE: u32 = u32::MAX;

/// Which kind of entry answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RuleKind {
    /// The longest E.164 prefix key matching the customer number.
    Prefix,
    /// The ISO 3166-1 alpha-2 key of the customer number's country.
    Country,
    /// The `Default` key.
    Default,
}

impl RuleKind {
    /// The value of `routing_status` when this kind of rule answered.
    pub fn as_str(self) -> &'static str {
        match self {
            RuleKind::Prefix => "prefix",
            RuleKind::Country => "country",
            RuleKind::Default => "default",
        }
    }
}

/// Why no routing rule answered: the caller uses the queue's outbound number instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FallbackReason {
    /// The customer number is absent or not E.164 (`+` and 2 to 15 digits).
    InvalidCustomerNumber,
    /// The file has no prefix, no country entry for this number and no `Default`.
    NoMatchingRule,
    /// No routing file is configured (`BUCKET_NAME` or `COUNTRY_ROUTING_LIST_KEY` unset).
    NotConfigured,
    /// The routing object does not exist (404).
    Missing,
    /// The routing object is not a usable routing file.
    Malformed,
    /// S3 refused access (403): the object is missing and the role may not list the bucket, or
    /// the role lacks `s3:GetObject` / `kms:Decrypt`.
    AccessDenied,
    /// S3 could not be reached and no earlier copy of the file is cached.
    Unreachable,
}

impl FallbackReason {
    /// The value of `routing_status` for this fallback.
    pub fn as_str(self) -> &'static str {
        match self {
            FallbackReason::InvalidCustomerNumber => "invalid_customer_number",
            FallbackReason::NoMatchingRule => "no_rule",
            FallbackReason::NotConfigured => "not_configured",
            FallbackReason::Missing => "missing",
            FallbackReason::Malformed => "malformed",
            FallbackReason::AccessDenied => "access_denied",
            FallbackReason::Unreachable => "unreachable",
        }
    }
}

/// A caller-ID number of the routing file, validated when the file was parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceNumber {
    /// E.164, normalised.
    pub number: String,
    /// ISO 3166-1 alpha-2 region of the number, when libphonenumber can place it.
    pub country: Option<String>,
    /// Hash of the number, mixed with the customer's hash to rank a pool (rendezvous hashing).
    seed: u64,
}

/// One entry of the file after validation.
#[derive(Debug, Clone)]
struct Rule {
    kind: RuleKind,
    /// The key as it answers in `routing_rule`: `+1212`, `US`, `Default`.
    key: String,
    numbers: Vec<SourceNumber>,
}

/// What was wrong with one entry (or one number of a pool). Numbers are masked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntryProblem {
    #[error(
        "key is not an ISO 3166-1 alpha-2 code, `Default` or an E.164 prefix (`+` and 1 to 15 digits)"
    )]
    UnknownKey,
    #[error("`{0}` is not an ISO 3166-1 alpha-2 code known to libphonenumber{hint}", hint = country_hint(.0))]
    UnknownCountry(String),
    #[error("prefix must be `+` followed by 1 to 15 digits, the first not 0")]
    BadPrefix,
    #[error("duplicate key: `{0}` appears more than once (after normalising case)")]
    DuplicateKey(String),
    #[error("value must be an E.164 number or a non-empty list of E.164 numbers")]
    BadValue,
    #[error("the list of numbers is empty")]
    EmptyList,
    #[error("number {masked} is not a valid E.164 number ({reason})")]
    InvalidNumber { masked: String, reason: PhoneError },
    #[error("number {masked} is listed twice in the pool: the repeat is ignored")]
    DuplicateNumber { masked: String },
}

fn country_hint(code: &str) -> &'static str {
    if code.eq_ignore_ascii_case("UK") {
        ": the United Kingdom is `GB`"
    } else {
        ""
    }
}

/// One problem found while parsing, with the key it belongs to (masked when the key is long
/// enough to be a whole phone number).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoutingIssue {
    pub key: String,
    pub problem: EntryProblem,
    /// `true` when the whole entry was dropped, `false` when only a number of a pool was.
    pub entry_dropped: bool,
}

impl fmt::Display for RoutingIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = if self.entry_dropped {
            "entry dropped"
        } else {
            "number dropped"
        };
        write!(f, "`{}`: {} ({what})", self.key, self.problem)
    }
}

/// Why a whole routing file was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RoutingError {
    #[error("routing file is not a JSON object of key to number(s): {0}")]
    NotAnObject(String),
    #[error("routing file has {} entries and none is valid: {}", .0.len(), join_issues(.0))]
    NoValidEntry(Vec<RoutingIssue>),
}

fn join_issues(issues: &[RoutingIssue]) -> String {
    issues
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// A parsed, validated routing file with its lookup indexes.
#[derive(Debug, Clone)]
pub struct Routing {
    rules: Vec<Rule>,
    /// `(digits << 4) | length` of each prefix key → index in `rules`.
    prefixes: HashMap<u64, u32>,
    /// Distinct prefix lengths in use, longest first.
    prefix_lengths: Vec<u8>,
    /// `(first letter - 'A') * 26 + (second letter - 'A')` → index in `rules`, or [`NO_RULE`].
    countries: Box<[u32]>,
    default: Option<u32>,
    issues: Vec<RoutingIssue>,
}

/// The customer side of a decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Customer {
    /// The number as received, trimmed.
    pub number: String,
    /// ISO 3166-1 alpha-2 region, when libphonenumber recognises the number as valid.
    pub country: Option<String>,
}

/// The routing rule that answered and the number it chose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Choice<'r> {
    pub kind: RuleKind,
    /// The key as written in the file after normalisation (`+1212`, `US`, `Default`).
    pub rule_key: &'r str,
    pub source: &'r SourceNumber,
    /// How many numbers the rule's pool has (1 for a single number).
    pub pool_size: usize,
}

/// The outcome of [`route`]: who is called, and either the chosen number or why there is none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision<'r> {
    /// `None` when the customer number is absent or not E.164.
    pub customer: Option<Customer>,
    pub outcome: Result<Choice<'r>, FallbackReason>,
}

impl<'r> Decision<'r> {
    /// The chosen caller ID, `None` when the caller must use the queue's number.
    pub fn source_number(&self) -> Option<&'r str> {
        self.outcome.as_ref().ok().map(|c| c.source.number.as_str())
    }

    /// The country of the chosen caller ID.
    pub fn source_country(&self) -> Option<&'r str> {
        self.outcome
            .as_ref()
            .ok()
            .and_then(|c| c.source.country.as_deref())
    }

    /// `prefix`, `country`, `default`, or the fallback reason (see [`FallbackReason::as_str`]).
    pub fn routing_status(&self) -> &'static str {
        match &self.outcome {
            Ok(choice) => choice.kind.as_str(),
            Err(reason) => reason.as_str(),
        }
    }

    /// The key that answered, empty on a fallback.
    pub fn routing_rule(&self) -> &'r str {
        self.outcome.as_ref().map(|c| c.rule_key).unwrap_or("")
    }
}

/// Decides the caller ID for `customer_number` with `routing`, or falls back with
/// [`FallbackReason::NotConfigured`] when there is no routing file.
///
/// This is what `dial` calls to set `SourcePhoneNumber`; `caller-id` goes through
/// [`crate::routing_cache::RoutingView::route`], which also says why a cached file is unusable.
pub fn route<'r>(routing: Option<&'r Routing>, customer_number: &str) -> Decision<'r> {
    route_with(
        routing.ok_or(FallbackReason::NotConfigured),
        customer_number,
    )
}

/// Like [`route`], with the reason to report when there is no routing table.
///
/// A customer number that is not E.164 falls back with `InvalidCustomerNumber` before the
/// routing is looked at: it is the more specific reason, and the routing problem is logged by
/// whoever owns the routing (once per file version).
pub fn route_with<'r>(
    routing: Result<&'r Routing, FallbackReason>,
    customer_number: &str,
) -> Decision<'r> {
    let trimmed = customer_number.trim();
    let Some((digits, len)) = e164_digits(trimmed) else {
        return Decision {
            customer: None,
            outcome: Err(FallbackReason::InvalidCustomerNumber),
        };
    };
    // Needed for the answer whatever rule applies, so looked up once, first.
    let country = customer_country(trimmed);
    let outcome = match routing {
        Err(reason) => Err(reason),
        Ok(table) => table
            .lookup_prefix(&digits[..len])
            .or_else(|| country.as_deref().and_then(|c| table.country_rule(c)))
            .or(table.default)
            .map(|index| table.choose(index, trimmed))
            .ok_or(FallbackReason::NoMatchingRule),
    };
    Decision {
        customer: Some(Customer {
            number: trimmed.to_string(),
            country,
        }),
        outcome,
    }
}

/// The customer's country from the whole number. A number libphonenumber calls invalid (a range
/// newer than its metadata, a test number) has no country but can still match a prefix or
/// `Default`: refusing it would only move the caller ID back to the queue's number.
fn customer_country(e164: &str) -> Option<String> {
    phone::region_of(e164.trim()).map(str::to_string)
}

/// The digits of a `+` and 2..=15 digits number (first not 0), or `None`. A fixed array: this
/// runs on every call.
fn e164_digits(s: &str) -> Option<([u8; MAX_DIGITS], usize)> {
    let bytes = s.strip_prefix('+')?.as_bytes();
    if bytes.len() < 2
        || bytes.len() > MAX_DIGITS
        || bytes[0] == b'0'
        || !bytes.iter().all(u8::is_ascii_digit)
    {
        return None;
    }
    let mut digits = [0u8; MAX_DIGITS];
    for (d, b) in digits.iter_mut().zip(bytes) {
        *d = b - b'0';
    }
    Some((digits, bytes.len()))
}

fn prefix_code(digits: &[u8]) -> u64 {
    let value = digits.iter().fold(0u64, |acc, d| acc * 10 + u64::from(*d));
    (value << 4) | digits.len() as u64
}

fn country_slot(code: &str) -> Option<usize> {
    let b = code.as_bytes();
    if b.len() != 2 || !b[0].is_ascii_uppercase() || !b[1].is_ascii_uppercase() {
        return None;
    }
    Some(usize::from(b[0] - b'A') * 26 + usize::from(b[1] - b'A'))
}

/// 64-bit FNV-1a. Chosen because it is tiny, fixed by its definition and identical in every
/// build: the pool choice must not change between releases or between `caller-id` and `dial`
/// (std's `DefaultHasher` makes no such promise).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// The SplitMix64 finaliser: spreads FNV's weak low bits before the pool ranks scores.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A key of the file once classified.
enum Key {
    Prefix(Vec<u8>, String),
    Country(String),
    Default,
}

fn classify_key(raw: &str) -> Result<Key, EntryProblem> {
    let key = raw.trim();
    if key.eq_ignore_ascii_case(DEFAULT_KEY) {
        return Ok(Key::Default);
    }
    if let Some(rest) = key.strip_prefix('+') {
        let b = rest.as_bytes();
        if b.is_empty() || b.len() > MAX_DIGITS || b[0] == b'0' || !b.iter().all(u8::is_ascii_digit)
        {
            return Err(EntryProblem::BadPrefix);
        }
        return Ok(Key::Prefix(
            b.iter().map(|d| d - b'0').collect(),
            key.to_string(),
        ));
    }
    if key.len() == 2 && key.bytes().all(|c| c.is_ascii_alphabetic()) {
        let upper = key.to_ascii_uppercase();
        return if phone::is_region(&upper) {
            Ok(Key::Country(upper))
        } else {
            Err(EntryProblem::UnknownCountry(upper))
        };
    }
    Err(EntryProblem::UnknownKey)
}

/// The key as it may appear in a log line: prefixes long enough to be a whole number are masked.
fn loggable_key(raw: &str) -> String {
    let key = raw.trim();
    let digits = key.bytes().filter(u8::is_ascii_digit).count();
    if digits > 7 {
        mask_phone(key)
    } else {
        key.chars().take(40).collect()
    }
}

/// The file's entries in order, duplicates kept (serde_json's map would silently keep the last).
struct Entries(Vec<(String, serde_json::Value)>);

impl<'de> Deserialize<'de> for Entries {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EntriesVisitor;
        impl<'de> Visitor<'de> for EntriesVisitor {
            type Value = Entries;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "a JSON object whose keys are country codes, `Default` or E.164 prefixes",
                )
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Entries, A::Error> {
                let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(16));
                while let Some(entry) = map.next_entry::<String, serde_json::Value>()? {
                    entries.push(entry);
                }
                Ok(Entries(entries))
            }
        }
        deserializer.deserialize_map(EntriesVisitor)
    }
}

impl Routing {
    /// Parses and validates a routing file. Never panics; see the module documentation for what
    /// is dropped and what is refused.
    pub fn parse(bytes: &[u8]) -> Result<Routing, RoutingError> {
        // Editors on Windows save JSON with a byte-order mark; serde_json refuses it.
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        let Entries(entries) =
            serde_json::from_slice(bytes).map_err(|e| RoutingError::NotAnObject(e.to_string()))?;
        let total = entries.len();

        let mut issues = Vec::new();
        let mut rules: Vec<Rule> = Vec::with_capacity(total);
        let mut prefixes = HashMap::with_capacity(total);
        let mut lengths = [false; MAX_DIGITS + 1];
        let mut countries = vec![NO_RULE; 26 * 26].into_boxed_slice();
        let mut default = None;
        let mut seen: HashSet<String> = HashSet::with_capacity(total);

        for (raw_key, value) in entries {
            let shown = loggable_key(&raw_key);
            let key = match classify_key(&raw_key) {
                Ok(k) => k,
                Err(problem) => {
                    issues.push(RoutingIssue {
                        key: shown,
                        problem,
                        entry_dropped: true,
                    });
                    continue;
                }
            };
            let (kind, name) = match &key {
                Key::Prefix(_, text) => (RuleKind::Prefix, text.clone()),
                Key::Country(code) => (RuleKind::Country, code.clone()),
                Key::Default => (RuleKind::Default, DEFAULT_KEY.to_string()),
            };
            // Two spellings of one key ("us" and "US") are ambiguous: keep neither silently
            // winning, keep the first and report the second.
            if !seen.insert(name.clone()) {
                issues.push(RoutingIssue {
                    key: shown,
                    problem: EntryProblem::DuplicateKey(loggable_key(&name)),
                    entry_dropped: true,
                });
                continue;
            }
            let numbers = match parse_numbers(&value, &shown, &mut issues) {
                Ok(n) => n,
                Err(problem) => {
                    issues.push(RoutingIssue {
                        key: shown,
                        problem,
                        entry_dropped: true,
                    });
                    continue;
                }
            };
            let index = u32::try_from(rules.len()).unwrap_or(NO_RULE - 1);
            match key {
                Key::Prefix(digits, _) => {
                    lengths[digits.len()] = true;
                    prefixes.insert(prefix_code(&digits), index);
                }
                Key::Country(ref code) => {
                    if let Some(slot) = country_slot(code) {
                        countries[slot] = index;
                    }
                }
                Key::Default => default = Some(index),
            }
            rules.push(Rule {
                kind,
                key: name,
                numbers,
            });
        }

        if rules.is_empty() && total > 0 {
            return Err(RoutingError::NoValidEntry(issues));
        }
        let prefix_lengths = (1..=MAX_DIGITS as u8)
            .rev()
            .filter(|l| lengths[usize::from(*l)])
            .collect();
        Ok(Routing {
            rules,
            prefixes,
            prefix_lengths,
            countries,
            default,
            issues,
        })
    }

    /// Problems found while parsing (entries or pool numbers that were dropped).
    pub fn issues(&self) -> &[RoutingIssue] {
        &self.issues
    }

    /// Number of valid entries kept.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Whether the file has a `Default` entry.
    pub fn has_default(&self) -> bool {
        self.default.is_some()
    }

    /// Decides the caller ID for `customer_number` (see [`route`]).
    pub fn route(&self, customer_number: &str) -> Decision<'_> {
        route_with(Ok(self), customer_number)
    }

    fn lookup_prefix(&self, digits: &[u8]) -> Option<u32> {
        if self.prefixes.is_empty() {
            return None;
        }
        // Running value of the first n digits, so each probe costs one multiply-add.
        let mut values = [0u64; MAX_DIGITS + 1];
        for (i, d) in digits.iter().enumerate() {
            values[i + 1] = values[i] * 10 + u64::from(*d);
        }
        self.prefix_lengths
            .iter()
            .map(|l| usize::from(*l))
            .filter(|l| *l <= digits.len())
            .find_map(|l| self.prefixes.get(&((values[l] << 4) | l as u64)).copied())
    }

    fn country_rule(&self, country: &str) -> Option<u32> {
        country_slot(country)
            .map(|slot| self.countries[slot])
            .filter(|i| *i != NO_RULE)
    }

    fn choose(&self, index: u32, customer_e164: &str) -> Choice<'_> {
        let rule = &self.rules[index as usize];
        let source = pick(&rule.numbers, customer_e164);
        Choice {
            kind: rule.kind,
            rule_key: &rule.key,
            source,
            pool_size: rule.numbers.len(),
        }
    }
}

/// Rendezvous (highest random weight) choice: every number gets a score from the customer and
/// the number, the highest wins.
fn pick<'a>(numbers: &'a [SourceNumber], customer_e164: &str) -> &'a SourceNumber {
    if numbers.len() == 1 {
        return &numbers[0];
    }
    let customer = fnv1a(customer_e164.as_bytes());
    numbers
        .iter()
        .max_by_key(|n| mix(customer ^ n.seed))
        .unwrap_or(&numbers[0])
}

/// Validates an entry's value. Invalid numbers of a pool are dropped (reported in `issues`);
/// the entry itself is dropped (the `Err`) when nothing valid is left.
fn parse_numbers(
    value: &serde_json::Value,
    key: &str,
    issues: &mut Vec<RoutingIssue>,
) -> Result<Vec<SourceNumber>, EntryProblem> {
    match value {
        serde_json::Value::String(s) => Ok(vec![source_number(s)?]),
        serde_json::Value::Array(items) if items.is_empty() => Err(EntryProblem::EmptyList),
        serde_json::Value::Array(items) => {
            let mut numbers: Vec<SourceNumber> = Vec::with_capacity(items.len());
            let mut first_problem = None;
            for item in items {
                let parsed = match item {
                    serde_json::Value::String(s) => source_number(s),
                    _ => Err(EntryProblem::BadValue),
                };
                match parsed {
                    Ok(n) if numbers.iter().any(|m| m.number == n.number) => {
                        issues.push(RoutingIssue {
                            key: key.to_string(),
                            problem: EntryProblem::DuplicateNumber {
                                masked: mask_phone(&n.number),
                            },
                            entry_dropped: false,
                        });
                    }
                    Ok(n) => numbers.push(n),
                    Err(problem) => {
                        if first_problem.is_none() {
                            first_problem = Some(problem.clone());
                        }
                        issues.push(RoutingIssue {
                            key: key.to_string(),
                            problem,
                            entry_dropped: false,
                        });
                    }
                }
            }
            if numbers.is_empty() {
                // Every number was reported already; the entry-level issue repeats the first.
                return Err(first_problem.unwrap_or(EntryProblem::EmptyList));
            }
            Ok(numbers)
        }
        _ => Err(EntryProblem::BadValue),
    }
}

fn source_number(raw: &str) -> Result<SourceNumber, EntryProblem> {
    let parsed = phone::parse_e164(raw).map_err(|reason| EntryProblem::InvalidNumber {
        masked: mask_phone(raw),
        reason,
    })?;
    Ok(SourceNumber {
        seed: fnv1a(parsed.number.as_bytes()),
        number: parsed.number,
        country: parsed.region,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(json: &str) -> Routing {
        Routing::parse(json.as_bytes()).unwrap_or_else(|e| panic!("{json}: {e}"))
    }

    /// A file with countries sharing calling codes (+1 US/CA, +44 GB/JE, +7 RU/KZ), prefixes
    /// nested inside each other, a pool and a Default.
    const FILE: &str = r#"{
        "US": "+12065550100",
        "ca": "+14165550100",
        "GB": "+441614960100",
        "je": "+441534456789",
        "RU": "+74951234567",
        "KZ": "+77172123456",
        "+1212": "+12125550142",
        "+121255501": "+12125550177",
        "+4420": ["+442079460100", "+442079460200", "+442079460300"],
        "Default": "+12025550100"
    }"#;

    #[test]
    fn table_of_routing_cases() {
        let routing = table(FILE);
        assert!(routing.issues().is_empty(), "{:?}", routing.issues());
        // (customer, status, rule, chosen number, customer country)
        type Case = (
            &'static str,
            &'static str,
            &'static str,
            Option<&'static str>,
            Option<&'static str>,
        );
        let cases: &[Case] = &[
            // Shared calling code +1: the country comes from the whole number.
            (
                "+13055550147",
                "country",
                "US",
                Some("+12065550100"),
                Some("US"),
            ),
            (
                "+14165550182",
                "country",
                "CA",
                Some("+14165550100"),
                Some("CA"),
            ),
            // Shared +44: Jersey is not Great Britain.
            (
                "+441534456700",
                "country",
                "JE",
                Some("+441534456789"),
                Some("JE"),
            ),
            (
                "+441134960555",
                "country",
                "GB",
                Some("+441614960100"),
                Some("GB"),
            ),
            // Shared +7: Russia and Kazakhstan.
            (
                "+74951112233",
                "country",
                "RU",
                Some("+74951234567"),
                Some("RU"),
            ),
            (
                "+77172654321",
                "country",
                "KZ",
                Some("+77172123456"),
                Some("KZ"),
            ),
            // A prefix wins over the country; the longest prefix wins over a shorter one.
            (
                "+12125559876",
                "prefix",
                "+1212",
                Some("+12125550142"),
                Some("US"),
            ),
            (
                "+12125550123",
                "prefix",
                "+121255501",
                Some("+12125550177"),
                Some("US"),
            ),
            // No entry for the country: Default.
            (
                "+33142685300",
                "default",
                "Default",
                Some("+12025550100"),
                Some("FR"),
            ),
            // Customer numbers that are not E.164 fall back, whatever the file says.
            ("2125550199", "invalid_customer_number", "", None, None),
            ("+", "invalid_customer_number", "", None, None),
            ("+012125550199", "invalid_customer_number", "", None, None),
            (
                "+1212555019912345",
                "invalid_customer_number",
                "",
                None,
                None,
            ),
            ("+1 212 555 0199", "invalid_customer_number", "", None, None),
            ("anonymous", "invalid_customer_number", "", None, None),
            ("", "invalid_customer_number", "", None, None),
            // `+` and digits but not a valid number: no country, yet prefixes and Default apply.
            ("+1212", "prefix", "+1212", Some("+12125550142"), None),
            (
                "+999123456",
                "default",
                "Default",
                Some("+12025550100"),
                None,
            ),
        ];
        for (customer, status, rule, number, country) in cases {
            let d = routing.route(customer);
            assert_eq!(d.routing_status(), *status, "{customer}");
            assert_eq!(d.routing_rule(), *rule, "{customer}");
            assert_eq!(d.source_number(), *number, "{customer}");
            let got_country = d.customer.as_ref().and_then(|c| c.country.as_deref());
            assert_eq!(got_country, *country, "{customer}");
        }
    }

    #[test]
    fn chosen_number_carries_its_own_country() {
        let routing = table(FILE);
        let d = routing.route("+441534456700");
        assert_eq!(d.source_country(), Some("JE"));
        let d = routing.route("+14165550182");
        assert_eq!(d.source_country(), Some("CA"));
    }

    #[test]
    fn without_default_an_unlisted_country_falls_back() {
        let routing = table(r#"{"US": "+12065550100", "+4420": "+442079460100"}"#);
        assert!(!routing.has_default());
        let d = routing.route("+33142685300");
        assert_eq!(d.outcome, Err(FallbackReason::NoMatchingRule));
        assert_eq!(d.routing_status(), "no_rule");
        assert_eq!(d.source_number(), None);
        // The customer's country is still reported.
        assert_eq!(d.customer.unwrap().country.as_deref(), Some("FR"));
        assert_eq!(routing.route("+13055550147").routing_status(), "country");
    }

    #[test]
    fn no_routing_falls_back_as_not_configured() {
        let d = route(None, "+13055550147");
        assert_eq!(d.routing_status(), "not_configured");
        assert_eq!(d.customer.unwrap().country.as_deref(), Some("US"));
        let d = route_with(Err(FallbackReason::Malformed), "+13055550147");
        assert_eq!(d.routing_status(), "malformed");
        // An invalid customer number is the more specific reason.
        let d = route_with(Err(FallbackReason::Missing), "not-a-number");
        assert_eq!(d.routing_status(), "invalid_customer_number");
    }

    #[test]
    fn lower_and_mixed_case_keys_are_normalised() {
        let routing =
            table(r#"{"gb": "+441614960100", "Us": "+12065550100", "DEFAULT": "+12025550100"}"#);
        assert!(routing.issues().is_empty());
        let d = routing.route("+441134960555");
        assert_eq!((d.routing_status(), d.routing_rule()), ("country", "GB"));
        let d = routing.route("+13055550147");
        assert_eq!(d.routing_rule(), "US");
        let d = routing.route("+33142685300");
        assert_eq!(
            (d.routing_status(), d.routing_rule()),
            ("default", "Default")
        );
    }

    #[test]
    fn pool_choice_is_stable_per_customer() {
        let routing = table(FILE);
        let pool = ["+442079460100", "+442079460200", "+442079460300"];
        let again = table(FILE);
        for i in 0..200 {
            let customer = format!("+44207946{:04}", 1000 + i);
            let first = routing.route(&customer).source_number().unwrap();
            assert!(pool.contains(&first), "{first}");
            // A fresh parse of the same file (another process, another function) agrees.
            assert_eq!(again.route(&customer).source_number(), Some(first));
            assert_eq!(routing.route(&customer).routing_rule(), "+4420");
        }
    }

    #[test]
    fn pool_choice_follows_the_documented_rule() {
        let routing = table(r#"{"+447700": ["+442079460100", "+442079460200", "+442079460300"]}"#);
        for i in 0..500 {
            let customer = format!("+4477009{i:05}");
            let expected = pick_reference(&routing, &customer);
            assert_eq!(
                routing.route(&customer).source_number(),
                Some(expected.as_str())
            );
        }
    }

    #[test]
    fn pool_choice_does_not_change_between_releases() {
        // Customers keep their caller ID across upgrades: the hash is part of the contract.
        // Published FNV-1a test vectors, then answers pinned when the rule was introduced.
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a(b"foobar"), 0x8594_4171_f739_67e8);
        let routing = table(r#"{"+447700": ["+442079460100", "+442079460200", "+442079460300"]}"#);
        for (customer, number) in PINNED {
            assert_eq!(
                routing.route(customer).source_number(),
                Some(number),
                "{customer}"
            );
        }
    }

    /// Computed outside Rust (a few lines of Python following the documented rule).
    const PINNED: [(&str, &str); 6] = [
        ("+447700900001", "+442079460100"),
        ("+447700900002", "+442079460300"),
        ("+447700900003", "+442079460300"),
        ("+447700900004", "+442079460200"),
        ("+447700900005", "+442079460200"),
        ("+447700900006", "+442079460300"),
    ];

    /// An independent restatement of the pool rule (FNV-1a of customer and of number, XOR,
    /// SplitMix64 finaliser, highest score wins), to check `pick` against.
    fn pick_reference(routing: &Routing, customer: &str) -> String {
        let fnv = |s: &str| {
            let mut h: u64 = 0xcbf29ce484222325;
            for b in s.bytes() {
                h ^= u64::from(b);
                h = h.wrapping_mul(0x100000001b3);
            }
            h
        };
        let splitmix = |mut z: u64| {
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58476d1ce4e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d049bb133111eb);
            z ^ (z >> 31)
        };
        let rule = &routing.rules[0];
        let mut best: Option<(u64, &str)> = None;
        for n in &rule.numbers {
            let score = splitmix(fnv(customer) ^ fnv(&n.number));
            if best.is_none_or(|(b, _)| score > b) {
                best = Some((score, &n.number));
            }
        }
        best.unwrap().1.to_string()
    }

    #[test]
    fn pool_spreads_customers_evenly() {
        let routing = table(FILE);
        let mut counts: HashMap<String, usize> = HashMap::new();
        let total = 6_000;
        for i in 0..total {
            let customer = format!("+44207946{i:05}");
            let chosen = routing
                .route(&customer)
                .source_number()
                .unwrap()
                .to_string();
            *counts.entry(chosen).or_default() += 1;
        }
        assert_eq!(counts.len(), 3, "{counts:?}");
        for (number, n) in &counts {
            let share = *n as f64 / total as f64;
            assert!((0.30..0.37).contains(&share), "{number}: {share}");
        }
    }

    #[test]
    fn adding_a_pool_number_moves_only_its_share() {
        let three = table(r#"{"+447700": ["+442079460100", "+442079460200", "+442079460300"]}"#);
        let four = table(
            r#"{"+447700": ["+442079460100", "+442079460200", "+442079460300", "+442079460400"]}"#,
        );
        let total = 3_000;
        let mut moved = 0;
        for i in 0..total {
            let customer = format!("+4477009{i:05}");
            let before = three.route(&customer).source_number().unwrap();
            let after = four.route(&customer).source_number().unwrap();
            if before != after {
                assert_eq!(
                    after, "+442079460400",
                    "a customer moved between old numbers"
                );
                moved += 1;
            }
        }
        let share = moved as f64 / total as f64;
        assert!((0.20..0.30).contains(&share), "{share}");
    }

    #[test]
    fn invalid_entries_are_dropped_and_reported() {
        let routing = table(
            r#"{
            "US": "+12065550100",
            "UK": "+442079460100",
            "XX": "+442079460100",
            "Mars": "+12065550100",
            "+12a": "+12065550100",
            "+0044": "+12065550100",
            "FR": "0142685300",
            "DE": 49301234567,
            "IT": [],
            "ES": ["+34911234567", "nope", "+34911234567", 5],
            "PT": ["bad", "+1"],
            "us": "+12065550199",
            "+12345678901234567": "+12065550100",
            "Default": "+12025550100"
        }"#,
        );
        assert_eq!(
            routing.len(),
            3,
            "US, ES (one good number) and Default are kept"
        );
        let problems: Vec<(String, EntryProblem, bool)> = routing
            .issues()
            .iter()
            .map(|i| (i.key.clone(), i.problem.clone(), i.entry_dropped))
            .collect();
        let has = |key: &str, pred: &dyn Fn(&EntryProblem) -> bool, dropped: bool| {
            assert!(
                problems
                    .iter()
                    .any(|(k, p, d)| k == key && pred(p) && *d == dropped),
                "no issue for {key}: {problems:#?}"
            );
        };
        has(
            "UK",
            &|p| matches!(p, EntryProblem::UnknownCountry(c) if c == "UK"),
            true,
        );
        has(
            "XX",
            &|p| matches!(p, EntryProblem::UnknownCountry(_)),
            true,
        );
        has("Mars", &|p| *p == EntryProblem::UnknownKey, true);
        has("+12a", &|p| *p == EntryProblem::BadPrefix, true);
        has("+0044", &|p| *p == EntryProblem::BadPrefix, true);
        has(
            "FR",
            &|p| matches!(p, EntryProblem::InvalidNumber { .. }),
            true,
        );
        has("DE", &|p| *p == EntryProblem::BadValue, true);
        has("IT", &|p| *p == EntryProblem::EmptyList, true);
        has(
            "ES",
            &|p| matches!(p, EntryProblem::InvalidNumber { .. }),
            false,
        );
        has(
            "ES",
            &|p| matches!(p, EntryProblem::DuplicateNumber { .. }),
            false,
        );
        has("ES", &|p| *p == EntryProblem::BadValue, false);
        has(
            "PT",
            &|p| matches!(p, EntryProblem::InvalidNumber { .. }),
            true,
        );
        has(
            "us",
            &|p| matches!(p, EntryProblem::DuplicateKey(k) if k == "US"),
            true,
        );
        // A long key is masked in the issue, like any number in a log.
        has(
            "+12************567",
            &|p| *p == EntryProblem::BadPrefix,
            true,
        );

        // The kept entries still answer; the first spelling of US wins.
        assert_eq!(
            routing.route("+13055550147").source_number(),
            Some("+12065550100")
        );
        assert_eq!(
            routing.route("+34911111111").source_number(),
            Some("+34911234567")
        );
        // The dropped FR entry leaves France to Default.
        assert_eq!(routing.route("+33142685300").routing_status(), "default");

        let text = routing
            .issues()
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>();
        assert!(
            text.iter()
                .any(|t| t.contains("the United Kingdom is `GB`")),
            "{text:?}"
        );
        // Numbers in messages are masked.
        assert!(text.iter().all(|t| !t.contains("0142685300")), "{text:?}");
    }

    #[test]
    fn malformed_files_are_refused_with_a_reason() {
        let cases: &[(&str, &str)] = &[
            ("", "EOF"),
            ("not json", "expected"),
            (r#"{"US": "+12065550100""#, "EOF"),
            (r#"["+12065550100"]"#, "JSON object"),
            (r#""+12065550100""#, "JSON object"),
            ("null", "JSON object"),
            (r#"{"US": "+12065550100"} trailing"#, "trailing"),
        ];
        for (body, needle) in cases {
            match Routing::parse(body.as_bytes()) {
                Err(e @ RoutingError::NotAnObject(_)) => {
                    assert!(e.to_string().contains(needle), "{body:?}: {e}")
                }
                other => panic!("{body:?} gave {other:?}"),
            }
        }
        match Routing::parse(br#"{"XX": "+1", "US": 5}"#) {
            Err(RoutingError::NoValidEntry(issues)) => assert_eq!(issues.len(), 2),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn empty_object_routes_nothing_and_bom_is_accepted() {
        let empty = table("{}");
        assert!(empty.is_empty());
        assert_eq!(empty.route("+13055550147").routing_status(), "no_rule");
        let bom = Routing::parse(b"\xEF\xBB\xBF{\"US\": \"+12065550100\"}").unwrap();
        assert_eq!(bom.route("+13055550147").routing_status(), "country");
    }

    #[test]
    fn numbers_are_normalised_and_keys_trimmed() {
        let routing = table(r#"{" us ": "+1 206 555 0100", "+44 20": "+442079460100"}"#);
        assert_eq!(
            routing.route("+13055550147").source_number(),
            Some("+12065550100")
        );
        // "+44 20" is not a prefix (digits only): dropped, so London falls to no rule.
        assert_eq!(routing.issues().len(), 1);
        assert_eq!(routing.route("+442079460321").routing_status(), "no_rule");
    }

    #[test]
    fn thousands_of_prefixes_pick_the_longest() {
        let mut json = String::from("{");
        for area in 200..=999 {
            json.push_str(&format!("\"+1{area}\": \"+12065550100\","));
            json.push_str(&format!("\"+1{area}555\": \"+12125550142\","));
        }
        json.push_str("\"+1\": \"+12025550100\"}");
        let routing = table(&json);
        assert_eq!(routing.len(), 800 * 2 + 1);
        let d = routing.route("+13055550147");
        assert_eq!(
            (d.routing_rule(), d.source_number()),
            ("+1305555", Some("+12125550142"))
        );
        let d = routing.route("+13054440147");
        assert_eq!(d.routing_rule(), "+1305");
        let d = routing.route("+11234567890");
        assert_eq!(d.routing_rule(), "+1");
    }

    #[test]
    fn parse_never_panics_on_arbitrary_input() {
        use proptest::prelude::*;
        proptest!(|(body in ".{0,200}", customer in ".{0,20}")| {
            if let Ok(r) = Routing::parse(body.as_bytes()) {
                let _ = r.route(&customer);
            }
            let _ = route(None, &customer);
        });
        proptest!(|(keys in proptest::collection::vec("[+A-Za-z0-9 ]{0,18}", 0..8),
                    values in proptest::collection::vec("[+0-9 ]{0,18}", 0..8),
                    customer in "[+0-9]{0,18}")| {
            let obj: serde_json::Map<String, serde_json::Value> = keys
                .into_iter()
                .zip(values)
                .map(|(k, v)| (k, serde_json::Value::String(v)))
                .collect();
            let body = serde_json::to_vec(&obj).unwrap();
            if let Ok(r) = Routing::parse(&body) {
                let d = r.route(&customer);
                // Whatever answered is a number the file validated.
                if let Some(n) = d.source_number() {
                    prop_assert!(n.starts_with('+'));
                }
            }
        });
    }
}
