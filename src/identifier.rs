//! Identifier normalisation, in one place: every lookup and every stored user goes through
//! [`normalize`], so `Alice@Example.com ` and `alice@example.com` are one user.

use unicode_normalization::UnicodeNormalization;

use crate::syntax::ast::Normalization;

/// The longest identifier accepted, in characters (an email address is at most 320).
pub const MAX_CHARS: usize = 320;

/// Why an identifier was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum IdentifierError {
    /// Nothing left after normalisation.
    #[error("the identifier is empty")]
    Empty,
    /// Longer than [`MAX_CHARS`].
    #[error("the identifier is longer than {MAX_CHARS} characters")]
    TooLong,
    /// Holds a control character (a newline, a NUL, …).
    #[error("the identifier contains a control character")]
    ControlCharacter,
}

/// Normalises an identifier as a journey asks: trim, then NFC, then lower-case.
pub fn normalize(raw: &str, rules: Normalization) -> Result<String, IdentifierError> {
    let text = if rules.trim { raw.trim() } else { raw };
    let text: String = if rules.nfc {
        text.nfc().collect()
    } else {
        text.to_owned()
    };
    let text = if rules.lowercase {
        text.to_lowercase()
    } else {
        text
    };
    if text.is_empty() {
        return Err(IdentifierError::Empty);
    }
    if text.chars().count() > MAX_CHARS {
        return Err(IdentifierError::TooLong);
    }
    if text.chars().any(char::is_control) {
        return Err(IdentifierError::ControlCharacter);
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_trim_compose_and_lower() {
        let decomposed = "  A\u{0301}lice@Example.COM ";
        assert_eq!(
            normalize(decomposed, Normalization::default()),
            Ok("álice@example.com".into())
        );
    }

    #[test]
    fn each_rule_can_be_turned_off() {
        let keep_case = Normalization {
            lowercase: false,
            ..Normalization::default()
        };
        assert_eq!(normalize(" Bob ", keep_case), Ok("Bob".into()));
        let keep_space = Normalization {
            trim: false,
            ..Normalization::default()
        };
        assert_eq!(normalize(" Bob", keep_space), Ok(" bob".into()));
    }

    #[test]
    fn bad_identifiers_are_refused() {
        let rules = Normalization::default();
        assert_eq!(normalize("   ", rules), Err(IdentifierError::Empty));
        assert_eq!(
            normalize("a\nb", rules),
            Err(IdentifierError::ControlCharacter)
        );
        assert_eq!(
            normalize(&"x".repeat(321), rules),
            Err(IdentifierError::TooLong)
        );
    }
}
