//! Which numbers the dialer may call: toll-fraud protection.
//!
//! Whoever can write to the input bucket or a Pinpoint segment chooses the numbers dialed, and
//! the account pays for every call. A number is dialed only when its country is one the
//! deployment allows (`ALLOWED_COUNTRIES`, by default the deployment's own), and never when it
//! is premium rate, shared cost or a personal number (the number types libphonenumber's metadata
//! names for ranges whose call charges go to the number's holder), nor a non-geographic
//! number (satellite, international networks), which has no country to allow. The intake
//! functions reject such rows with the reason; dial checks again before it places a call, for
//! messages that reached the queue another way.

use crate::phone::{NumberType, E164};
use std::collections::BTreeSet;

/// The allowed destination countries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DestinationRules {
    allowed: BTreeSet<String>,
}

impl DestinationRules {
    /// From `ALLOWED_COUNTRIES`: ISO 3166-1 alpha-2 codes separated by commas (`GB,IE`), in any
    /// case. An empty list, or a code that is not two letters, is an error naming it.
    pub fn parse(list: &str) -> Result<Self, String> {
        let mut allowed = BTreeSet::new();
        for code in list.split(',').map(str::trim).filter(|c| !c.is_empty()) {
            if code.len() != 2 || !code.chars().all(|c| c.is_ascii_alphabetic()) {
                return Err(format!(
                    "'{code}' is not an ISO 3166-1 alpha-2 country code"
                ));
            }
            allowed.insert(code.to_ascii_uppercase());
        }
        if allowed.is_empty() {
            return Err("no country is allowed".into());
        }
        Ok(Self { allowed })
    }

    /// Allows no country: what a function holds when its configuration is missing (it does not
    /// start then).
    pub fn nothing() -> Self {
        Self {
            allowed: BTreeSet::new(),
        }
    }

    /// The allowed countries, upper case.
    pub fn countries(&self) -> impl Iterator<Item = &str> {
        self.allowed.iter().map(String::as_str)
    }

    /// `Ok` when `number` may be dialed, otherwise the reason (no digits of the number in it).
    pub fn check(&self, number: &E164) -> Result<(), String> {
        // A number without a country is non-geographic (international freephone, satellite,
        // international networks: libphonenumber's region 001).
        let Some(region) = number.region.as_deref() else {
            return Err(format!(
                "non-geographic number (+{}): not dialed",
                number.calling_code
            ));
        };
        if !self.allowed.contains(region) {
            return Err(format!(
                "destination country {region} is not allowed (allowed: {})",
                self.countries().collect::<Vec<_>>().join(", ")
            ));
        }
        if let Some(kind) = costly_type(number.kind) {
            return Err(format!("{kind} numbers are never dialed"));
        }
        Ok(())
    }
}

/// `premium-rate`, `shared-cost` or `personal` for the types whose call charges go to the
/// number's holder.
fn costly_type(kind: NumberType) -> Option<&'static str> {
    match kind {
        NumberType::PremiumRate => Some("premium-rate"),
        NumberType::SharedCost => Some("shared-cost"),
        NumberType::PersonalNumber => Some("personal"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::phone::normalise;
    use phonenumber::country;
    use phonenumber::metadata::{Descriptor, Descriptors, DATABASE};

    fn e164(raw: &str) -> E164 {
        normalise(raw, Some(country::Id::GB)).unwrap()
    }

    #[test]
    fn the_list_is_parsed_strictly() {
        let rules = DestinationRules::parse(" gb, IE ,").unwrap();
        assert_eq!(rules.countries().collect::<Vec<_>>(), ["GB", "IE"]);
        for bad in ["", " , ", "GBR", "G1", "UK,4"] {
            assert!(DestinationRules::parse(bad).is_err(), "{bad:?}");
        }
    }

    /// The metadata's own example number of a descriptor, as an E.164 number of `region`.
    fn example(region: &str, pick: Pick) -> Option<E164> {
        let meta = DATABASE.by_id(region)?;
        let national = pick(meta.descriptors())?.example()?;
        normalise(&format!("+{}{national}", meta.country_code()), None).ok()
    }

    type Pick = for<'a> fn(&'a Descriptors) -> Option<&'a Descriptor>;

    const REGIONS: [&str; 8] = ["GB", "US", "AU", "FR", "DE", "IT", "ES", "IE"];

    #[test]
    fn ordinary_numbers_of_allowed_countries_pass() {
        let rules = DestinationRules::parse(&REGIONS.join(",")).unwrap();
        let mut checked = 0;
        for region in REGIONS {
            let picks: [Pick; 3] = [
                Descriptors::fixed_line,
                Descriptors::mobile,
                Descriptors::toll_free,
            ];
            for pick in picks {
                if let Some(number) = example(region, pick) {
                    assert_eq!(rules.check(&number), Ok(()), "{region} {}", number.number);
                    checked += 1;
                }
            }
        }
        assert!(checked >= 20, "only {checked} example numbers");
        assert_eq!(rules.check(&e164("020 7946 0001")), Ok(()));
    }

    #[test]
    fn other_countries_are_refused_with_the_allowed_list() {
        let rules = DestinationRules::parse("GB").unwrap();
        let err = rules.check(&e164("+33 1 23 45 67 89")).unwrap_err();
        assert_eq!(err, "destination country FR is not allowed (allowed: GB)");
    }

    #[test]
    fn premium_rate_shared_cost_and_personal_numbers_are_never_dialed() {
        let rules = DestinationRules::parse(&REGIONS.join(",")).unwrap();
        let mut checked = 0;
        for region in REGIONS {
            let picks: [Pick; 3] = [
                Descriptors::premium_rate,
                Descriptors::shared_cost,
                Descriptors::personal_number,
            ];
            for pick in picks {
                let Some(number) = example(region, pick) else {
                    continue;
                };
                let err = rules.check(&number).unwrap_err();
                assert!(
                    err.ends_with(" numbers are never dialed"),
                    "{region}: {err}"
                );
                assert!(
                    !err.contains(&number.number[3..]),
                    "no digits in the reason"
                );
                checked += 1;
            }
        }
        assert!(checked >= 10, "only {checked} example numbers");
        // The UK's 09 premium-rate range, as a list would write it.
        assert_eq!(
            rules.check(&e164("0909 879 0000")).unwrap_err(),
            "premium-rate numbers are never dialed"
        );
    }

    #[test]
    fn non_geographic_numbers_have_no_country_to_allow() {
        let rules = DestinationRules::parse("GB").unwrap();
        // +882 16: an international network range (non-geographic, region 001).
        if let Ok(number) = normalise("+882 16 0000 0000", None) {
            assert!(rules.check(&number).is_err());
        }
        let satellite = E164 {
            number: "+8816000000".into(),
            region: None,
            calling_code: 881,
            kind: NumberType::Mobile,
        };
        assert_eq!(
            rules.check(&satellite).unwrap_err(),
            "non-geographic number (+881): not dialed"
        );
    }
}
