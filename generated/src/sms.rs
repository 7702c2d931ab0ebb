//! How many SMS segments a text takes, per 3GPP TS 23.038: GSM-7 when every character is in
//! the default alphabet (or its extension table, which costs two septets), else UCS-2. One
//! place for the sandbox (which bills by it) and the MCP tools (which show the cost of a send).

/// How a text is sent over SMS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Encoding {
    /// The GSM 03.38 alphabet, 7 bits a character: 160 characters in one segment.
    #[serde(rename = "GSM-7")]
    Gsm7,
    /// UTF-16, for anything outside it (emoji, most scripts): 70 units in one segment.
    #[serde(rename = "UCS-2")]
    Ucs2,
}

const GSM7_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\u{1b}ÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
const GSM7_EXTENSION: &str = "^{}\\[~]|€\u{0c}";

/// The encoding a text needs, and its length in that encoding's units (septets or UTF-16 units).
pub fn measure(text: &str) -> (Encoding, usize) {
    let mut septets = 0;
    for character in text.chars() {
        if GSM7_BASIC.contains(character) {
            septets += 1;
        } else if GSM7_EXTENSION.contains(character) {
            septets += 2;
        } else {
            return (Encoding::Ucs2, text.encode_utf16().count());
        }
    }
    (Encoding::Gsm7, septets)
}

/// Segments billed for `text`: 160 GSM-7 septets (70 UCS-2 units) fit one; a longer text is
/// split into parts of 153 (67), since each part's header takes the rest.
pub fn segments(text: &str) -> usize {
    let (encoding, units) = measure(text);
    let (single, part) = match encoding {
        Encoding::Gsm7 => (160, 153),
        Encoding::Ucs2 => (70, 67),
    };
    if units <= single { 1 } else { units.div_ceil(part) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gsm7_fits_160_then_153_per_part() {
        assert_eq!(segments(&"a".repeat(160)), 1);
        assert_eq!(segments(&"a".repeat(161)), 2);
        assert_eq!(segments(&"a".repeat(306)), 2);
        assert_eq!(segments(&"a".repeat(307)), 3);
    }

    #[test]
    fn extension_characters_count_twice() {
        assert_eq!(measure("€"), (Encoding::Gsm7, 2));
        assert_eq!(segments(&"€".repeat(80)), 1);
        assert_eq!(segments(&"€".repeat(81)), 2);
    }

    #[test]
    fn one_emoji_makes_the_whole_text_ucs2() {
        assert_eq!(measure("Hi 👋"), (Encoding::Ucs2, 5));
        assert_eq!(segments(&"a".repeat(70)), 1);
        assert_eq!(segments(&format!("{}é", "a".repeat(69))), 1);
        assert_eq!(segments(&format!("{}👋", "a".repeat(69))), 2);
        assert_eq!(segments(""), 1);
    }
}
