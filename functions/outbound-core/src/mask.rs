//! Masking of personal data for logs.
//!
//! Logs never hold a phone number in clear: `+447700900123` is logged as `+44*******123`.

/// Masks a phone number, keeping the `+`, the first two digits and the last three.
///
/// Anything that is not a plausible number is masked whole, so a malformed value cannot leak
/// through the log either.
pub fn mask_phone(raw: &str) -> String {
    let trimmed = raw.trim();
    let digits: Vec<char> = trimmed.chars().filter(|c| c.is_ascii_digit()).collect();
    if digits.len() < 6 {
        return "*".repeat(digits.len().max(3));
    }
    let mut out = String::with_capacity(digits.len() + 1);
    if trimmed.starts_with('+') {
        out.push('+');
    }
    let keep_tail = 3;
    for (i, d) in digits.iter().enumerate() {
        if i < 2 || i >= digits.len() - keep_tail {
            out.push(*d);
        } else {
            out.push('*');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_country_prefix_and_last_three() {
        assert_eq!(mask_phone("+447700900123"), "+44*******123");
        assert_eq!(mask_phone("+12125550100"), "+12******100");
    }

    #[test]
    fn short_or_garbage_is_masked_whole() {
        assert_eq!(mask_phone("12"), "***");
        assert_eq!(mask_phone("abc"), "***");
        assert_eq!(mask_phone(""), "***");
    }

    #[test]
    fn separators_do_not_leak() {
        assert_eq!(mask_phone(" +44 7700 900123 "), "+44*******123");
    }
}
