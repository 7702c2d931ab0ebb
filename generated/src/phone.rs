//! E.164 phone numbers, checked one way everywhere: by the spec's `PhoneNumber` pattern, which
//! the generated [`crate::types::PhoneNumber`] carries.

use crate::types::PhoneNumber;

/// True for a phone number in E.164 form, such as `+15551234567`.
pub fn is_e164(text: &str) -> bool {
    text.parse::<PhoneNumber>().is_ok()
}

/// True for the start of an E.164 number, such as `+44` or `+1202555`: what a complete number
/// could begin with.
pub fn is_e164_prefix(text: &str) -> bool {
    // A prefix is a number with its last digits missing; one more digit makes every prefix
    // but the longest a whole number.
    is_e164(text) || is_e164(&format!("{text}0"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn e164_needs_a_plus_and_2_to_15_digits_not_starting_with_0() {
        for good in ["+15551234567", "+442071838750", "+447911123456", "+12", "+123456789012345"] {
            assert!(is_e164(good), "{good}");
        }
        for bad in [
            "15551234567",
            "+0555",
            "+0123456",
            "+1",
            "+",
            "+1234567890123456",
            "+1 555 123",
            "+1-555-1234",
            "+1555abc",
            "+15551234567\n",
            "",
        ] {
            assert!(!is_e164(bad), "{bad}");
        }
    }

    #[test]
    fn prefixes_are_the_starts_of_numbers() {
        for good in ["+1", "+44", "+1202555", "+123456789012345"] {
            assert!(is_e164_prefix(good), "{good}");
        }
        for bad in ["+", "+0", "44", "+4a", "+1234567890123456"] {
            assert!(!is_e164_prefix(bad), "{bad}");
        }
    }
}
