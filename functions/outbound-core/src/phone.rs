//! Phone numbers: parsing, validation, E.164 normalisation and the country of a number.
//!
//! Everything is local (libphonenumber metadata compiled into the `phonenumber` crate): no
//! per-contact API call. The country comes from the whole number, not the calling code alone:
//! `+1 416 …` is CA, `+1 212 …` is US, `+44 1534 …` is JE.

use phonenumber::{country, Mode, PhoneNumber};
use std::fmt;
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
    /// ISO 3166-1 alpha-2 region of the number (`US`, `CA`, `JE`), when libphonenumber knows it.
    pub region: Option<String>,
    /// Calling code (`1`, `44`).
    pub calling_code: u16,
}

impl fmt::Display for E164 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.number)
    }
}

/// Parses an ISO 3166-1 alpha-2 code (any case) into the crate's region id.
pub fn region_id(code: &str) -> Result<country::Id, PhoneError> {
    country::Id::from_str(&code.trim().to_ascii_uppercase())
        .map_err(|_| PhoneError::UnknownRegion(code.trim().to_string()))
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
    let parsed =
        phonenumber::parse(default_region, &candidate).map_err(|_| PhoneError::Unparseable)?;
    if !phonenumber::is_valid(&parsed) {
        return Err(PhoneError::Invalid);
    }
    Ok(to_e164(&parsed))
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

fn to_e164(parsed: &PhoneNumber) -> E164 {
    E164 {
        number: parsed.format().mode(Mode::E164).to_string(),
        region: parsed.country().id().map(|id| id.as_ref().to_string()),
        calling_code: parsed.code().value(),
    }
}

/// The region of an E.164 number, or `None` when it cannot be parsed or placed.
pub fn region_of(e164: &str) -> Option<String> {
    parse_e164(e164).ok().and_then(|n| n.region)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn country_from_the_full_number_not_the_calling_code() {
        let cases = [
            ("+14165550123", "CA"),
            ("+12125550123", "US"),
            ("+441534712345", "JE"),
            ("+442079460123", "GB"),
            ("+74951234567", "RU"),
            ("+77172123456", "KZ"),
        ];
        for (number, region) in cases {
            let n = parse_e164(number).unwrap_or_else(|e| panic!("{number}: {e}"));
            assert_eq!(n.region.as_deref(), Some(region), "{number}");
            assert_eq!(n.number, number);
        }
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
