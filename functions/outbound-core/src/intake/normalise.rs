//! Number validation at list speed, with exactly the answers of [`crate::phone::normalise`].
//!
//! `phonenumber::is_valid` and `PhoneNumber::country()` look every pattern up in one global LRU
//! cache of compiled regular expressions behind a mutex, keyed by the pattern text. For a list
//! that costs about 10 µs a number (under 60,000 numbers a second for GB, whose calling code is
//! shared with GG, IM and JE), and it does not scale over threads. Here the same metadata
//! patterns are compiled once per calling code into a table that needs no lock, and the same
//! decision procedure is applied: parsing is still `phonenumber::parse`, the validity rule and the
//! region choice are the crate's, only the pattern lookups are faster. A property test checks
//! the answers against `phone::normalise` on arbitrary input.
//!
//! A pattern the `regex` crate would refuse (none in the shipped metadata) falls back to the
//! crate's own functions for its calling code, so the answers stay the same in every case.

use crate::phone::{PhoneError, E164};
use phonenumber::metadata::{Descriptor, Metadata, DATABASE};
use phonenumber::{country, PhoneNumber};
use regex::{Regex, RegexBuilder};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::OnceLock;

/// Normalises a number to E.164 with `default_region` for numbers without a `+`: the same result
/// as [`crate::phone::normalise`] for every input, including the errors.
///
/// A panic inside the parser on some malformed input is caught and reported as
/// [`PhoneError::Unparseable`]: one bad row must never stop a list.
pub fn normalise(raw: &str, default_region: Option<country::Id>) -> Result<E164, PhoneError> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err(PhoneError::Empty);
    }
    // Same pre-processing as phone::normalise: visual separators dropped, and `00` means
    // international only when there is no default region.
    let compact: String = trimmed
        .chars()
        .filter(|c| !matches!(c, ' ' | '(' | ')' | '-' | '.' | '/' | '\u{a0}'))
        .collect();
    let candidate = match compact.strip_prefix("00") {
        Some(rest) if default_region.is_none() => format!("+{rest}"),
        _ => compact,
    };
    let parsed = catch_unwind(AssertUnwindSafe(|| {
        phonenumber::parse(default_region, &candidate)
    }))
    .map_err(|_| PhoneError::Unparseable)?
    .map_err(|_| PhoneError::Unparseable)?;
    classify(&parsed)
}

fn classify(parsed: &PhoneNumber) -> Result<E164, PhoneError> {
    let code = parsed.code().value();
    // `is_valid` matches the national number with its Italian leading zeros; `country()`
    // matches the bare value. Both are kept as the crate does.
    let national = parsed.national().to_string();
    let (valid, region) = match table(code) {
        Some(CodeTable::Compiled(t)) => {
            let valid = t
                .source(&national)
                .map(|r| r.is_valid(&national))
                .unwrap_or(false);
            let region = if valid {
                let bare = parsed.national().value().to_string();
                t.source(&bare).and_then(|r| r.id.clone())
            } else {
                None
            };
            (valid, region)
        }
        Some(CodeTable::Fallback) => {
            let valid =
                catch_unwind(AssertUnwindSafe(|| phonenumber::is_valid(parsed))).unwrap_or(false);
            let region = if valid {
                catch_unwind(AssertUnwindSafe(|| parsed.country().id()))
                    .ok()
                    .flatten()
                    .map(|id| id.as_ref().to_string())
            } else {
                None
            };
            (valid, region)
        }
        None => (false, None),
    };
    if !valid {
        return Err(PhoneError::Invalid);
    }
    Ok(E164 {
        number: format!("+{code}{national}"),
        region,
        calling_code: code,
    })
}

/// Compiled patterns of one region (one `<territory>` of libphonenumber's metadata).
struct RegionTable {
    /// The region id when it is a country the crate knows (`None` for `001`, non-geographic).
    id: Option<String>,
    leading_digits: Option<Regex>,
    general: Pattern,
    /// Every number type the crate's `number_type` tries (the order does not matter: only
    /// "some type matched" is needed).
    types: Vec<Pattern>,
}

struct Pattern {
    regex: Regex,
    lengths: Vec<u16>,
}

impl Pattern {
    fn compile(d: &Descriptor) -> Result<Pattern, regex::Error> {
        Ok(Pattern {
            regex: compile(d.national_number().as_str())?,
            lengths: d.possible_length().to_vec(),
        })
    }

    /// `Descriptor::is_match`: a possible length, then a match that starts at the first digit.
    fn is_match(&self, value: &str) -> bool {
        (self.lengths.is_empty() || self.lengths.contains(&(value.len() as u16)))
            && self.regex.is_match(value)
    }
}

/// The crate compiles metadata patterns with `ignore_whitespace` and accepts a match only when it
/// starts at offset 0; `^(?:…)` gives the same answer without looking for later matches.
fn compile(pattern: &str) -> Result<Regex, regex::Error> {
    RegexBuilder::new(&format!("^(?:{pattern})"))
        .ignore_whitespace(true)
        .build()
}

impl RegionTable {
    fn compile(meta: &Metadata) -> Result<RegionTable, regex::Error> {
        let d = meta.descriptors();
        let types = [
            d.premium_rate(),
            d.toll_free(),
            d.shared_cost(),
            d.voip(),
            d.personal_number(),
            d.pager(),
            d.uan(),
            d.voicemail(),
            d.fixed_line(),
            d.mobile(),
        ]
        .into_iter()
        .flatten()
        .map(Pattern::compile)
        .collect::<Result<Vec<_>, _>>()?;
        Ok(RegionTable {
            id: meta
                .id()
                .parse::<country::Id>()
                .ok()
                .map(|id| id.as_ref().to_string()),
            leading_digits: meta
                .leading_digits()
                .map(|l| compile(l.as_str()))
                .transpose()?,
            general: Pattern::compile(d.general())?,
            types,
        })
    }

    /// `validator::number_type(meta, value) != Type::Unknown`.
    fn is_valid(&self, value: &str) -> bool {
        self.general.is_match(value) && self.types.iter().any(|t| t.is_match(value))
    }
}

struct CompiledCode {
    regions: Vec<RegionTable>,
}

impl CompiledCode {
    /// `validator::source_for`: the only region of the code, or the first whose leading digits
    /// match (or, without leading digits, whose patterns accept the number).
    fn source(&self, national: &str) -> Option<&RegionTable> {
        if self.regions.len() == 1 {
            return self.regions.first();
        }
        self.regions.iter().find(|r| match &r.leading_digits {
            Some(l) => l.is_match(national),
            None => r.is_valid(national),
        })
    }
}

enum CodeTable {
    Compiled(CompiledCode),
    /// A pattern did not compile: this calling code uses the crate's own functions.
    Fallback,
}

const MAX_CODE: usize = 1_000;

/// One lazily built table per calling code (1 to 999), shared by every thread without a lock
/// once built.
fn table(code: u16) -> Option<&'static CodeTable> {
    static TABLES: OnceLock<Vec<OnceLock<Option<CodeTable>>>> = OnceLock::new();
    let tables = TABLES.get_or_init(|| (0..MAX_CODE).map(|_| OnceLock::new()).collect());
    tables
        .get(usize::from(code))?
        .get_or_init(|| build(code))
        .as_ref()
}

fn build(code: u16) -> Option<CodeTable> {
    let regions = DATABASE.region(&code)?;
    let metas: Vec<&Metadata> = if regions.len() == 1 {
        if regions[0] == "001" {
            // Non-geographic codes (+800, +882…): the crate uses the code's first entry.
            vec![DATABASE.by_code(&code)?.into_iter().next()?]
        } else {
            // The crate gives up when the single region is not a known country id.
            regions[0].parse::<country::Id>().ok()?;
            vec![DATABASE.by_id(regions[0])?]
        }
    } else {
        regions
            .iter()
            .map(|r| DATABASE.by_id(*r))
            .collect::<Option<Vec<_>>>()?
    };
    let compiled: Result<Vec<RegionTable>, regex::Error> =
        metas.into_iter().map(RegionTable::compile).collect();
    Some(match compiled {
        Ok(regions) => CodeTable::Compiled(CompiledCode { regions }),
        Err(err) => {
            tracing::warn!(code, error = %err, "number patterns did not compile: using the slow path");
            CodeTable::Fallback
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::phone;
    use proptest::prelude::*;

    fn gb() -> Option<country::Id> {
        Some(phone::region_id("GB").unwrap())
    }

    #[test]
    fn same_answers_as_phone_normalise_on_known_numbers() {
        let cases = [
            "020 7946 0123",
            "+44 20 7946 0123",
            "+1 212 555 0123",
            "+1 416 555 0123",
            "+61 491 570 156",
            "+441534712345",
            "+44 7700 900123",
            "07911 123456",
            "+39 02 3661 8300",
            "+800 1234 5678",
            "+979 123456789",
            "0033 1 42 68 53 00",
            "not a number",
            "+44123",
            "",
            "   ",
        ];
        for region in [None, gb(), Some(phone::region_id("US").unwrap())] {
            for raw in cases {
                assert_eq!(
                    normalise(raw, region),
                    phone::normalise(raw, region),
                    "{raw:?} {region:?}"
                );
            }
        }
    }

    #[test]
    fn regions_come_from_the_whole_number() {
        assert_eq!(
            normalise("+14165550123", None).unwrap().region.as_deref(),
            Some("CA")
        );
        assert_eq!(
            normalise("+12125550123", None).unwrap().region.as_deref(),
            Some("US")
        );
        assert_eq!(
            normalise("+441534712345", None).unwrap().region.as_deref(),
            Some("JE")
        );
        // Italian numbers keep their leading zero.
        assert_eq!(
            normalise("+39 02 3661 8300", None).unwrap().number,
            "+390236618300"
        );
        // Non-geographic: valid, no region.
        let n = normalise("+800 1234 5678", None).unwrap();
        assert_eq!(n.region, None);
        assert_eq!(n.calling_code, 800);
    }

    fn region_strategy() -> impl Strategy<Value = Option<country::Id>> {
        prop_oneof![
            Just(None),
            prop::sample::select(vec![
                "GB", "US", "AU", "DE", "FR", "IT", "IN", "BR", "JE", "CA"
            ])
            .prop_map(|r| Some(phone::region_id(r).unwrap())),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]

        #[test]
        fn equals_phone_normalise_on_digit_strings(
            plus in any::<bool>(),
            digits in "[0-9]{4,16}",
            region in region_strategy(),
        ) {
            let raw = if plus { format!("+{digits}") } else { digits };
            prop_assert_eq!(normalise(&raw, region), phone::normalise(&raw, region));
        }

        #[test]
        fn equals_phone_normalise_on_formatted_numbers(
            raw in "[+]?[0-9 ()./-]{0,24}",
            region in region_strategy(),
        ) {
            prop_assert_eq!(normalise(&raw, region), phone::normalise(&raw, region));
        }

        #[test]
        fn never_panics_on_arbitrary_text(raw in ".{0,64}", region in region_strategy()) {
            let _ = normalise(&raw, region);
        }

        #[test]
        fn accepted_numbers_are_e164_and_stable(digits in "[1-9][0-9]{6,14}") {
            if let Ok(n) = normalise(&format!("+{digits}"), None) {
                prop_assert!(n.number.starts_with('+'));
                prop_assert!(n.number[1..].bytes().all(|b| b.is_ascii_digit()));
                prop_assert!(n.number.len() <= 16);
                // Normalising the normal form gives it back.
                prop_assert_eq!(normalise(&n.number, None).unwrap().number, n.number.clone());
            }
        }
    }
}
