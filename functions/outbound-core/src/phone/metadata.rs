//! libphonenumber's metadata as static tables, generated at development time from a named
//! release by `scripts/gen-phone-metadata.py` (`metadata_data.rs`, checked in).
//!
//! Nothing is parsed or built at start-up: the tables are constants in the binary. A pattern is
//! compiled the first time a number needs it (one region's patterns for a number of that
//! region, a few hundred microseconds at most), then kept for the life of the process without
//! a lock.

use regex::bytes::{Regex, RegexBuilder};
use std::sync::OnceLock;

/// One number type's description: its national number pattern and national lengths. An empty
/// pattern matches nothing (the region has no numbers of the type).
#[derive(Debug)]
pub struct Desc {
    pub pattern: &'static str,
    pub lengths: &'static [u8],
}

impl Desc {
    pub const NONE: Desc = Desc {
        pattern: "",
        lengths: &[],
    };
}

/// One `<territory>`: a region (`GB`), or a non-geographic calling code (`001`).
#[derive(Debug)]
pub struct Territory {
    pub id: &'static str,
    pub calling_code: u16,
    pub main_for_code: bool,
    /// For regions sharing a calling code: the national prefixes that are theirs (`JE`: 1534…).
    pub leading_digits: Option<&'static str>,
    pub national_prefix_for_parsing: Option<&'static str>,
    pub national_prefix_transform_rule: Option<&'static str>,
    pub general: Desc,
    pub local_only_lengths: &'static [u8],
    pub same_mobile_and_fixed_line_pattern: bool,
    /// Indexed by [`Kind`].
    pub types: [Desc; Kind::COUNT],
}

/// The number types with their own pattern, in the order libphonenumber tests them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    PremiumRate,
    TollFree,
    SharedCost,
    Voip,
    PersonalNumber,
    Pager,
    Uan,
    Voicemail,
    FixedLine,
    Mobile,
}

impl Kind {
    pub const COUNT: usize = 10;
    /// The types tested before fixed line and mobile, in libphonenumber's order.
    pub const SPECIAL: [Kind; 8] = [
        Kind::PremiumRate,
        Kind::TollFree,
        Kind::SharedCost,
        Kind::Voip,
        Kind::PersonalNumber,
        Kind::Pager,
        Kind::Uan,
        Kind::Voicemail,
    ];
}

include!("metadata_data.rs");

/// The territories of a calling code, main region first (libphonenumber's order); empty when
/// the code is not assigned.
pub fn territories_for_code(code: u16) -> &'static [u16] {
    match CALLING_CODES.binary_search_by_key(&code, |(c, _)| *c) {
        Ok(i) => CALLING_CODES[i].1,
        Err(_) => &[],
    }
}

/// The territory of a region code (`GB`); `None` for `001` and unknown codes.
pub fn territory_of_region(region: &str) -> Option<(u16, &'static Territory)> {
    if region == NON_GEOGRAPHIC {
        return None;
    }
    TERRITORIES
        .iter()
        .position(|t| t.id == region)
        .map(|i| (i as u16, &TERRITORIES[i]))
}

/// libphonenumber's region code of non-geographic entities (international freephone,
/// satellite and network codes).
pub const NON_GEOGRAPHIC: &str = "001";

/// A territory's patterns, compiled on first use.
struct Compiled {
    general: OnceLock<Regex>,
    types: [OnceLock<Regex>; Kind::COUNT],
    leading_digits: OnceLock<Regex>,
    national_prefix: OnceLock<Regex>,
}

// An inline `const` block repeats a value that is not `Copy` (each slot its own `OnceLock`).
static COMPILED: [Compiled; TERRITORY_COUNT] = [const {
    Compiled {
        general: OnceLock::new(),
        types: [const { OnceLock::new() }; Kind::COUNT],
        leading_digits: OnceLock::new(),
        national_prefix: OnceLock::new(),
    }
}; TERRITORY_COUNT];

/// `^(?:pattern)$` for a whole-number match, `^(?:pattern)` for a prefix match, ASCII only.
fn compile(pattern: &str, whole: bool) -> Regex {
    let anchored = if whole {
        format!("^(?:{pattern})$")
    } else {
        format!("^(?:{pattern})")
    };
    RegexBuilder::new(&anchored)
        .unicode(false)
        .build()
        // Every pattern of the generated tables is compiled by a unit test, so this cannot
        // happen in a released binary; a pattern that fails matches nothing.
        .unwrap_or_else(|_| RegexBuilder::new("[^\\s\\S]").build().expect("empty class"))
}

/// Whether the whole of `national` matches `desc`: its lengths first (cheap), then its pattern.
fn matches_desc(slot: &OnceLock<Regex>, desc: &Desc, national: &str) -> bool {
    if desc.pattern.is_empty() {
        return false;
    }
    if !desc.lengths.is_empty() && !desc.lengths.contains(&(national.len() as u8)) {
        return false;
    }
    slot.get_or_init(|| compile(desc.pattern, true))
        .is_match(national.as_bytes())
}

/// Accessors that compile on first use; `index` is the territory's index in `TERRITORIES`.
pub struct Patterns {
    index: usize,
}

impl Patterns {
    pub fn of(index: u16) -> Self {
        Self {
            index: usize::from(index),
        }
    }

    fn territory(&self) -> &'static Territory {
        &TERRITORIES[self.index]
    }

    /// The general description: lengths, then pattern (libphonenumber's `isNumberMatchingDesc`).
    pub fn general(&self, national: &str) -> bool {
        matches_desc(
            &COMPILED[self.index].general,
            &self.territory().general,
            national,
        )
    }

    /// The general pattern alone, without the length check (libphonenumber's viability test in
    /// national prefix stripping).
    pub fn general_pattern(&self, national: &str) -> bool {
        let t = self.territory();
        !t.general.pattern.is_empty()
            && COMPILED[self.index]
                .general
                .get_or_init(|| compile(t.general.pattern, true))
                .is_match(national.as_bytes())
    }

    pub fn kind(&self, kind: Kind, national: &str) -> bool {
        let i = kind as usize;
        matches_desc(
            &COMPILED[self.index].types[i],
            &self.territory().types[i],
            national,
        )
    }

    /// Whether `national` starts with this region's own leading digits.
    pub fn leading_digits(&self, national: &str) -> Option<bool> {
        let pattern = self.territory().leading_digits?;
        Some(
            COMPILED[self.index]
                .leading_digits
                .get_or_init(|| compile(pattern, false))
                .is_match(national.as_bytes()),
        )
    }

    /// The national prefix for parsing, matched at the start of the number.
    pub fn national_prefix(&self) -> Option<&'static Regex> {
        let pattern = self.territory().national_prefix_for_parsing?;
        Some(
            COMPILED[self.index]
                .national_prefix
                .get_or_init(|| compile(pattern, false)),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_generated_pattern_compiles() {
        for t in &TERRITORIES {
            let patterns = std::iter::once(t.general.pattern)
                .chain(t.types.iter().map(|d| d.pattern))
                .chain(t.leading_digits)
                .chain(t.national_prefix_for_parsing)
                .filter(|p| !p.is_empty());
            for p in patterns {
                assert!(
                    RegexBuilder::new(&format!("^(?:{p})$"))
                        .unicode(false)
                        .build()
                        .is_ok(),
                    "{} +{}: {p}",
                    t.id,
                    t.calling_code
                );
            }
        }
    }

    #[test]
    fn calling_codes_list_the_main_region_first() {
        let ids = |code| {
            territories_for_code(code)
                .iter()
                .map(|&i| TERRITORIES[usize::from(i)].id)
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(44), ["GB", "GG", "IM", "JE"]);
        assert_eq!(ids(7), ["RU", "KZ"]);
        assert_eq!(ids(1)[0], "US");
        assert_eq!(ids(1).len(), 25);
        assert_eq!(ids(800), ["001"]);
        assert!(ids(999).is_empty());
        assert!(CALLING_CODES.windows(2).all(|w| w[0].0 < w[1].0));
    }

    #[test]
    fn the_tables_name_their_release() {
        assert!(RELEASE.starts_with('v'), "{RELEASE}");
        assert!(TERRITORIES.len() > 240);
    }
}
