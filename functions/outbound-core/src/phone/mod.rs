//! Phone numbers: parsing, validation, E.164 normalisation, the country, type and time zones
//! of a number.
//!
//! Every decision follows libphonenumber at a named release (`metadata::RELEASE`): the tables
//! are generated from its published metadata by `scripts/gen-phone-metadata.py` and checked in,
//! and [`decide`] applies libphonenumber's own rules to them, so nothing is parsed or built at
//! start-up. The `phonenumber` crate is kept for what it does well, reading numbers written in
//! national form (`020 7946 0123` with a default region); its own, older metadata no longer
//! decides validity, country or type. The country comes from the whole number, not the calling
//! code alone: `+1 416 …` is CA, `+1 212 …` is US, `+44 1534 …` is JE, `+39 06 …` is IT.

mod decide;
pub mod metadata;
pub mod time_zones;

pub use decide::{decide, Decision, NumberType, ParseFailure};
pub use time_zones::{time_zones, time_zones_of};

use phonenumber::{country, Mode};
use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::str::FromStr;

/// Why a number was not accepted. The text is shown in reject reports: it never repeats the
/// number itself.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    #[error("phone number is empty")]
    Empty,
    #[error("phone number is not a number libphonenumber can parse")]
    Unparseable,
    #[error("phone number is not a valid number for its country")]
    Invalid,
    #[error("default region '{0}' is not an ISO 3166-1 alpha-2 code")]
    UnknownRegion(String),
}

/// A validated number in E.164 form with the region it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct E164 {
    /// `+` followed by digits, as Connect wants it.
    pub number: String,
    /// ISO 3166-1 alpha-2 region of the number (`US`, `CA`, `JE`); `None` for non-geographic
    /// numbers (international freephone, satellite).
    pub region: Option<String>,
    /// Calling code (`1`, `44`).
    pub calling_code: u16,
    /// libphonenumber's type of the number (fixed line, mobile, premium rate, …).
    pub kind: NumberType,
}

impl fmt::Display for E164 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.number)
    }
}

/// Parses an ISO 3166-1 alpha-2 code (any case) into the region id the national-form parser
/// takes as its default region.
pub fn region_id(code: &str) -> Result<country::Id, PhoneError> {
    country::Id::from_str(&code.trim().to_ascii_uppercase())
        .map_err(|_| PhoneError::UnknownRegion(code.trim().to_string()))
}

/// Whether `code` (upper case) is a region of libphonenumber's metadata.
pub fn is_region(code: &str) -> bool {
    metadata::territory_of_region(code).is_some()
}

/// The calling code of a region (`GB` → 44).
pub fn calling_code_of(region: &str) -> Option<u16> {
    metadata::territory_of_region(region).map(|(_, t)| t.calling_code)
}

/// Normalises a number as typed in a list (national or international form, with spaces,
/// dashes or brackets) to E.164, using `default_region` for numbers without a `+`.
///
/// A `00` international prefix is accepted too. Invalid numbers (wrong length or range for
/// their country) are refused: they would only fail at dial time.
pub fn normalise(raw: &str, default_region: Option<country::Id>) -> Result<E164, PhoneError> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err(PhoneError::Empty);
    }
    // Lists are typed by people: drop the usual visual separators before parsing (the parser
    // trips over some bracket forms such as "(020) 7946-0123").
    let compact: String = trimmed
        .chars()
        .filter(|c| !matches!(c, ' ' | '(' | ')' | '-' | '.' | '/' | '\u{a0}'))
        .collect();
    let candidate = match compact.strip_prefix("00") {
        Some(rest) if default_region.is_none() => format!("+{rest}"),
        _ => compact,
    };
    let international = if candidate.starts_with('+') {
        candidate
    } else {
        national_to_e164(&candidate, default_region).ok_or(PhoneError::Unparseable)?
    };
    let decision = decide(&international).map_err(|_| PhoneError::Unparseable)?;
    if !decision.valid {
        return Err(PhoneError::Invalid);
    }
    Ok(E164 {
        number: decision.e164(),
        region: decision.country().map(str::to_string),
        calling_code: decision.calling_code,
        kind: decision.kind,
    })
}

/// A number in national form (or with the default region's international prefix) read by the
/// `phonenumber` crate's parser, as E.164. The crate panics on some malformed input: one bad
/// row must never stop a list, so a panic is a parse failure.
fn national_to_e164(candidate: &str, default_region: Option<country::Id>) -> Option<String> {
    catch_unwind(AssertUnwindSafe(|| {
        phonenumber::parse(default_region, candidate)
            .ok()
            .map(|parsed| parsed.format().mode(Mode::E164).to_string())
    }))
    .ok()
    .flatten()
}

/// Parses a number that must already be E.164 (`+` and digits), as Connect hands it over.
pub fn parse_e164(raw: &str) -> Result<E164, PhoneError> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err(PhoneError::Empty);
    }
    if !trimmed.starts_with('+') {
        return Err(PhoneError::Unparseable);
    }
    normalise(trimmed, None)
}

/// The country of a valid E.164 number, or `None` when it is invalid, cannot be parsed or is
/// not in a country.
pub fn region_of(e164: &str) -> Option<&'static str> {
    decide(e164).ok().and_then(|d| d.country())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_parsed_number_carries_its_country_type_and_calling_code() {
        // The decisions themselves are tested in `decide`; this is what callers get from them.
        let jersey = parse_e164(" +441534712345 ").unwrap();
        assert_eq!(jersey.number, "+441534712345");
        assert_eq!(jersey.region.as_deref(), Some("JE"));
        assert_eq!(jersey.calling_code, 44);
        assert_eq!(region_of("+14165550123"), Some("CA"));
        assert_eq!(calling_code_of("GB"), Some(44));
        assert!(is_region("IT") && !is_region("001") && !is_region("XX"));
    }

    #[test]
    fn national_forms_normalise_with_the_default_region() {
        let gb = region_id("gb").unwrap();
        assert_eq!(
            normalise("020 7946 0123", Some(gb)).unwrap().number,
            "+442079460123"
        );
        let au = region_id("AU").unwrap();
        assert_eq!(
            normalise("0491 570 156", Some(au)).unwrap().number,
            "+61491570156"
        );
        assert_eq!(
            normalise("(020) 7946-0123", Some(gb)).unwrap().number,
            "+442079460123"
        );
        // An international number ignores the default region.
        assert_eq!(
            normalise("+1 212 555 0123", Some(gb)).unwrap().number,
            "+12125550123"
        );
        assert_eq!(
            normalise("0033 1 42 68 53 00", None).unwrap().number,
            "+33142685300"
        );
    }

    #[test]
    fn ofcom_drama_mobiles_are_not_valid_numbers() {
        // libphonenumber's GB mobile ranges exclude 07700 900xxx: sample files must use the
        // London drama range (020 7946 0xxx) instead, or every sample row would be rejected.
        assert_eq!(normalise("+447700900123", None), Err(PhoneError::Invalid));
    }

    #[test]
    fn refusals_say_why_without_the_number() {
        assert_eq!(normalise("  ", None), Err(PhoneError::Empty));
        assert_eq!(parse_e164("12125550123"), Err(PhoneError::Unparseable));
        assert_eq!(normalise("+44123", None), Err(PhoneError::Invalid));
        assert!(matches!(region_id("XX"), Err(PhoneError::UnknownRegion(_))));
        let msg = normalise("+44123", None).unwrap_err().to_string();
        assert!(!msg.contains("44123"));
    }
}
