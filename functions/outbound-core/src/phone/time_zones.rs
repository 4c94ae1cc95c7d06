//! The time zones of a phone number's holder, from libphonenumber's prefix → time zone map
//! (`resources/timezones/map_data.txt`, generated into `time_zones_data.rs` by
//! `scripts/gen-phone-metadata.py`), with libphonenumber's rules
//! (`PhoneNumberToTimeZonesMapper.getTimeZonesForNumber`): geographic numbers (fixed line, and
//! mobile where mobile ranges are geographic) by their longest known prefix, other numbers by
//! their calling code.
//!
//! A number may map to several zones (`+1 800…`: every zone of the NANP; a US area code that
//! straddles two zones): all of them are returned, for the calling rules to call only when
//! every one is inside the window.

use super::decide::{decide, Decision, NumberType};

include!("time_zones_data.rs");

/// Calling codes whose mobile numbers are geographic (libphonenumber's `GEO_MOBILE_COUNTRIES`:
/// Mexico, Argentina, Brazil, Indonesia, China).
const GEO_MOBILE_CODES: [u16; 5] = [52, 54, 55, 62, 86];

/// The IANA time zones of an E.164 number, in libphonenumber's order; empty when the number
/// is not valid or no zone is known for it (libphonenumber's `Etc/Unknown`).
pub fn time_zones(e164: &str) -> &'static [&'static str] {
    decide(e164).map_or(&[], |d| time_zones_of(&d))
}

/// As [`time_zones`], for a number already decided.
pub fn time_zones_of(decision: &Decision) -> &'static [&'static str] {
    let geographic = match decision.kind {
        NumberType::Unknown => return &[],
        NumberType::FixedLine | NumberType::FixedLineOrMobile => true,
        NumberType::Mobile => GEO_MOBILE_CODES.contains(&decision.calling_code),
        _ => false,
    };
    let digits = if geographic {
        format!("{}{}", decision.calling_code, decision.national)
    } else {
        decision.calling_code.to_string()
    };
    longest_prefix(&digits).map_or(&[], |i| ZONE_LISTS[usize::from(i)])
}

fn longest_prefix(digits: &str) -> Option<u16> {
    (1..=digits.len().min(LONGEST_PREFIX))
        .rev()
        .find_map(|len| {
            PREFIXES
                .binary_search_by(|(p, _)| p.cmp(&&digits[..len]))
                .ok()
                .map(|i| PREFIXES[i].1)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_us_landline_has_its_area_codes_zone() {
        assert_eq!(time_zones("+12125550123"), ["America/New_York"]);
        assert_eq!(time_zones("+14155550123"), ["America/Los_Angeles"]);
    }

    #[test]
    fn a_toll_free_number_gets_every_zone_of_its_country() {
        let zones = time_zones("+18002530000");
        assert!(zones.len() > 10, "{zones:?}");
        assert!(zones.contains(&"America/New_York"));
        assert!(zones.contains(&"Pacific/Honolulu"));
    }

    #[test]
    fn uk_numbers_are_in_london() {
        assert_eq!(time_zones("+442079460123"), ["Europe/London"]);
    }

    #[test]
    fn invalid_numbers_have_no_zone() {
        assert!(time_zones("+44123").is_empty());
        assert!(time_zones("not a number").is_empty());
    }

    #[test]
    fn the_prefix_table_is_sorted_for_binary_search() {
        assert!(PREFIXES.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(PREFIXES.iter().all(|(p, _)| p.len() <= LONGEST_PREFIX));
    }
}
