//! What libphonenumber decides for a number in E.164 form: its calling code, national number,
//! region, type and validity, by libphonenumber's own rules (`PhoneNumberUtil.parse`,
//! `getRegionCodeForNumber`, `getNumberType`, `isValidNumber`) over the generated tables.
//!
//! The differential test (`tests/phone/test_differential.py`) compares every answer here
//! with the Python port of libphonenumber at the same release.

use super::metadata::{
    territories_for_code, Kind, Patterns, Territory, NON_GEOGRAPHIC, TERRITORIES,
};
use regex::bytes::Captures;

/// libphonenumber's `PhoneNumberType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumberType {
    FixedLine,
    Mobile,
    /// The region's fixed-line and mobile ranges cannot be told apart (NANP).
    FixedLineOrMobile,
    TollFree,
    PremiumRate,
    SharedCost,
    Voip,
    PersonalNumber,
    Pager,
    Uan,
    Voicemail,
    Unknown,
}

impl NumberType {
    /// libphonenumber's name of the type (`FIXED_LINE`, `PREMIUM_RATE`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            NumberType::FixedLine => "FIXED_LINE",
            NumberType::Mobile => "MOBILE",
            NumberType::FixedLineOrMobile => "FIXED_LINE_OR_MOBILE",
            NumberType::TollFree => "TOLL_FREE",
            NumberType::PremiumRate => "PREMIUM_RATE",
            NumberType::SharedCost => "SHARED_COST",
            NumberType::Voip => "VOIP",
            NumberType::PersonalNumber => "PERSONAL_NUMBER",
            NumberType::Pager => "PAGER",
            NumberType::Uan => "UAN",
            NumberType::Voicemail => "VOICEMAIL",
            NumberType::Unknown => "UNKNOWN",
        }
    }

    fn of(kind: Kind) -> Self {
        match kind {
            Kind::PremiumRate => NumberType::PremiumRate,
            Kind::TollFree => NumberType::TollFree,
            Kind::SharedCost => NumberType::SharedCost,
            Kind::Voip => NumberType::Voip,
            Kind::PersonalNumber => NumberType::PersonalNumber,
            Kind::Pager => NumberType::Pager,
            Kind::Uan => NumberType::Uan,
            Kind::Voicemail => NumberType::Voicemail,
            Kind::FixedLine => NumberType::FixedLine,
            Kind::Mobile => NumberType::Mobile,
        }
    }
}

/// Why an E.164 string is not a number libphonenumber can parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseFailure {
    /// Not `+` followed by digits only.
    NotE164,
    /// The digits after `+` do not start with an assigned calling code.
    InvalidCountryCode,
    /// Too few digits after the `+` or after the calling code.
    TooShort,
    /// More than 17 digits after the calling code.
    TooLong,
}

/// libphonenumber's answers for one number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub calling_code: u16,
    /// The national significant number, leading zeros kept (Italian landlines).
    pub national: String,
    /// libphonenumber's region code (`GB`, or `001` for a non-geographic code), `None` when no
    /// region of the calling code claims the number.
    pub region: Option<&'static str>,
    pub kind: NumberType,
    pub valid: bool,
}

impl Decision {
    /// The number in E.164 form (a national prefix given after the calling code is dropped).
    pub fn e164(&self) -> String {
        format!("+{}{}", self.calling_code, self.national)
    }

    /// The country (ISO 3166-1 alpha-2) of a valid number; `None` for invalid and
    /// non-geographic numbers.
    pub fn country(&self) -> Option<&'static str> {
        self.region.filter(|r| self.valid && *r != NON_GEOGRAPHIC)
    }
}

/// libphonenumber's limits (`MIN_LENGTH_FOR_NSN`, `MAX_LENGTH_FOR_NSN`, `MAX_INPUT_STRING_LENGTH`).
const MIN_NATIONAL: usize = 2;
const MAX_NATIONAL: usize = 17;
const MAX_INPUT: usize = 250;

/// Decides an E.164 string (`+` and digits, surrounding whitespace ignored).
pub fn decide(e164: &str) -> Result<Decision, ParseFailure> {
    let trimmed = e164.trim();
    let digits = trimmed.strip_prefix('+').ok_or(ParseFailure::NotE164)?;
    if digits.is_empty() || trimmed.len() > MAX_INPUT || !digits.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(ParseFailure::NotE164);
    }
    if digits.len() <= MIN_NATIONAL {
        return Err(ParseFailure::TooShort);
    }
    let (calling_code, national) = split_calling_code(digits)?;
    if national.len() < MIN_NATIONAL {
        return Err(ParseFailure::TooShort);
    }
    let territories = territories_for_code(calling_code);
    let national = strip_national_prefix(territories[0], national);
    if national.len() < MIN_NATIONAL {
        return Err(ParseFailure::TooShort);
    }
    if national.len() > MAX_NATIONAL {
        return Err(ParseFailure::TooLong);
    }
    let region = region_for(territories, &national);
    let kind = region.map_or(NumberType::Unknown, |i| number_type(i, &national));
    Ok(Decision {
        calling_code,
        region: region.map(|i| TERRITORIES[usize::from(i)].id),
        valid: kind != NumberType::Unknown,
        kind,
        national,
    })
}

/// The first one to three digits that are an assigned calling code (calling codes are
/// prefix-free), and the rest.
fn split_calling_code(digits: &str) -> Result<(u16, &str), ParseFailure> {
    if digits.starts_with('0') {
        return Err(ParseFailure::InvalidCountryCode);
    }
    for len in 1..=3.min(digits.len()) {
        let code: u16 = digits[..len].parse().expect("ASCII digits");
        if !territories_for_code(code).is_empty() {
            return Ok((code, &digits[len..]));
        }
    }
    Err(ParseFailure::InvalidCountryCode)
}

/// libphonenumber strips a national prefix given after the calling code (`+44 0 20…`) with the
/// main region's rules (`maybeStripNationalPrefixAndCarrierCode`), and keeps the result only when
/// its length is possible for the region (`testNumberLength`).
fn strip_national_prefix(main: u16, national: &str) -> String {
    match stripped(main, national) {
        Some(candidate) if length_allows_stripping(&TERRITORIES[usize::from(main)], &candidate) => {
            candidate
        }
        _ => national.to_string(),
    }
}

fn stripped(main: u16, national: &str) -> Option<String> {
    let patterns = Patterns::of(main);
    let prefix = patterns.national_prefix()?;
    let caps = prefix.captures(national.as_bytes())?;
    let end = caps.get(0).map_or(0, |m| m.end());
    let viable_original = patterns.general_pattern(national);
    let groups = caps.len() - 1;
    let rule = TERRITORIES[usize::from(main)]
        .national_prefix_transform_rule
        .filter(|r| !r.is_empty());
    let candidate = match rule {
        Some(rule) if groups > 0 && caps.get(groups).is_some() => {
            format!("{}{}", expand(rule, &caps), &national[end..])
        }
        _ => national[end..].to_string(),
    };
    if viable_original && !patterns.general_pattern(&candidate) {
        return None;
    }
    Some(candidate)
}

/// A transform rule (`9$1`) with its group references replaced, as Java's `replaceFirst` reads
/// them: `$` and as many digits as still name a group.
fn expand(rule: &str, caps: &Captures<'_>) -> String {
    let groups = caps.len() - 1;
    let mut out = String::new();
    let mut chars = rule.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '$' {
            out.push(c);
            continue;
        }
        let mut group = 0usize;
        while let Some(d) = chars.peek().and_then(|d| d.to_digit(10)) {
            let next = group * 10 + d as usize;
            if group > 0 && next > groups {
                break;
            }
            group = next;
            chars.next();
        }
        if let Some(m) = caps.get(group) {
            out.push_str(std::str::from_utf8(m.as_bytes()).unwrap_or_default());
        }
    }
    out
}

/// `testNumberLength` for the general description: stripping is kept unless the result is too
/// short, only dialable locally, or of a length the region does not have.
fn length_allows_stripping(t: &Territory, national: &str) -> bool {
    let lengths = t.general.lengths;
    let (Some(&min), Some(&max)) = (lengths.first(), lengths.last()) else {
        return false;
    };
    let len = national.len();
    let len8 = u8::try_from(len).unwrap_or(u8::MAX);
    if t.local_only_lengths.contains(&len8) {
        return false;
    }
    if len < usize::from(min) {
        return false;
    }
    len > usize::from(max) || lengths.contains(&len8)
}

/// `getRegionCodeForNumberFromRegionList`: the only region of the code, or the first whose
/// leading digits start the number, or (for regions without leading digits) whose patterns
/// know it.
fn region_for(territories: &[u16], national: &str) -> Option<u16> {
    if let [only] = territories {
        return Some(*only);
    }
    territories.iter().copied().find(|&i| {
        let patterns = Patterns::of(i);
        match patterns.leading_digits(national) {
            Some(starts) => starts,
            None => number_type(i, national) != NumberType::Unknown,
        }
    })
}

/// `getNumberTypeHelper`.
fn number_type(territory: u16, national: &str) -> NumberType {
    let patterns = Patterns::of(territory);
    if !patterns.general(national) {
        return NumberType::Unknown;
    }
    if let Some(kind) = Kind::SPECIAL
        .into_iter()
        .find(|&k| patterns.kind(k, national))
    {
        return NumberType::of(kind);
    }
    let same = TERRITORIES[usize::from(territory)].same_mobile_and_fixed_line_pattern;
    if patterns.kind(Kind::FixedLine, national) {
        if same || patterns.kind(Kind::Mobile, national) {
            return NumberType::FixedLineOrMobile;
        }
        return NumberType::FixedLine;
    }
    if !same && patterns.kind(Kind::Mobile, national) {
        return NumberType::Mobile;
    }
    NumberType::Unknown
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(n: &str) -> Decision {
        decide(n).unwrap_or_else(|e| panic!("{n}: {e:?}"))
    }

    #[test]
    fn the_region_comes_from_the_whole_number() {
        for (number, region) in [
            ("+14165550123", "CA"),
            ("+12125550123", "US"),
            ("+441534712345", "JE"),
            ("+442079460123", "GB"),
            ("+74951234567", "RU"),
            ("+77172123456", "KZ"),
        ] {
            let decision = d(number);
            assert_eq!(decision.country(), Some(region), "{number}");
            assert_eq!(decision.e164(), number);
        }
    }

    #[test]
    fn italian_landlines_keep_their_zero_and_their_country() {
        let rome = d("+390612345678");
        assert_eq!(rome.national, "0612345678");
        assert_eq!(rome.country(), Some("IT"));
        assert_eq!(rome.kind, NumberType::FixedLine);
    }

    #[test]
    fn toll_free_ranges_of_shared_codes_are_valid() {
        // Russia's 8 800 range, written internationally.
        let ru = d("+78002000600");
        assert!(ru.valid);
        assert_eq!(ru.kind, NumberType::TollFree);
    }

    #[test]
    fn a_national_prefix_after_the_calling_code_is_dropped() {
        assert_eq!(d("+4402079460123").e164(), "+442079460123");
        assert!(d("+4402079460123").valid);
    }

    #[test]
    fn non_geographic_codes_have_region_001_and_no_country() {
        let freephone = d("+80012345678");
        assert_eq!(freephone.region, Some("001"));
        assert!(freephone.valid);
        assert_eq!(freephone.country(), None);
    }

    #[test]
    fn malformed_input_is_a_parse_failure_not_a_panic() {
        assert_eq!(decide("442079460123"), Err(ParseFailure::NotE164));
        assert_eq!(decide("+44 20"), Err(ParseFailure::NotE164));
        assert_eq!(decide("+"), Err(ParseFailure::NotE164));
        assert_eq!(decide("+44"), Err(ParseFailure::TooShort));
        assert_eq!(decide("+0441234"), Err(ParseFailure::InvalidCountryCode));
        assert_eq!(decide("+9991234567"), Err(ParseFailure::InvalidCountryCode));
        assert_eq!(decide("+44123456789012345678"), Err(ParseFailure::TooLong));
        assert!(!d("+44123").valid);
    }

    #[test]
    fn premium_rate_is_a_type_of_its_own() {
        assert_eq!(d("+449098790000").kind, NumberType::PremiumRate);
        assert_eq!(d("+12025550100").kind, NumberType::FixedLineOrMobile);
    }
}
