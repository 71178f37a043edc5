//! Field-level validation failures, reported all at once so a client fixes a form in one go.

use std::fmt;

use unicode_properties::{GeneralCategory, UnicodeEmoji, UnicodeGeneralCategory};

/// One rejected field: which one (a JSON path such as `spend_rule.points`) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

/// Every field a command got wrong.
#[derive(Debug, Clone, Default, PartialEq, Eq, thiserror::Error)]
pub struct ValidationErrors(Vec<FieldError>);

impl ValidationErrors {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn single(field: impl Into<String>, message: impl Into<String>) -> Self {
        let mut errors = Self::new();
        errors.add(field, message);
        errors
    }

    pub fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError {
            field: field.into(),
            message: message.into(),
        });
    }

    /// Records the error of `result` under `field` and passes its value on.
    pub fn check<T, E: fmt::Display>(&mut self, field: &str, result: Result<T, E>) -> Option<T> {
        result
            .map_err(|error| self.add(field, error.to_string()))
            .ok()
    }

    pub fn fields(&self) -> &[FieldError] {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok(value)` when nothing was recorded.
    pub fn into_result<T>(self, value: T) -> Result<T, ValidationErrors> {
        if self.is_empty() {
            Ok(value)
        } else {
            Err(self)
        }
    }
}

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect();
        write!(f, "invalid input ({})", parts.join("; "))
    }
}

/// Whether `text` could be a value the service stored: nothing it stores holds a control
/// character (text fields refuse them, tokens and codes are generated without). A look-up by text
/// that could not have been stored finds nothing without asking the store; on PostgreSQL that
/// matters, as its text type cannot hold a NUL and a query that binds one fails.
pub fn could_be_stored(text: &str) -> bool {
    !text.chars().any(char::is_control)
}

const ZERO_WIDTH_JOINER: char = '\u{200D}';

/// Whether `text` holds a character that is invisible yet changes how the text around it reads:
/// a Unicode format character (general category Cf) such as a zero-width space, a bidirectional
/// override or isolate, a soft hyphen. In a name or a reference they make two values look alike
/// or reorder what a screen shows. A zero-width joiner between two emoji is how a sequence such
/// as 👩‍🔬 is written, and stays.
fn has_invisible_formatting(text: &str) -> bool {
    let chars: Vec<char> = text.chars().collect();
    let is_emoji = |c: Option<&char>| {
        c.is_some_and(|c| !c.is_ascii() && (c.is_emoji_char() || c.is_emoji_component()))
    };
    chars.iter().enumerate().any(|(i, c)| {
        let joins_emoji = *c == ZERO_WIDTH_JOINER
            && is_emoji(i.checked_sub(1).and_then(|before| chars.get(before)))
            && is_emoji(chars.get(i + 1));
        c.general_category() == GeneralCategory::Format && !joins_emoji
    })
}

/// Trims `text` and checks it holds 1..=`max` characters and no control or format characters.
pub fn clean_text(text: &str, max: usize) -> Result<String, String> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err("must not be empty".into());
    }
    if trimmed.chars().count() > max {
        return Err(format!("must be at most {max} characters"));
    }
    if trimmed.chars().any(char::is_control) {
        return Err("must not contain control characters".into());
    }
    if has_invisible_formatting(trimmed) {
        return Err(
            "must not contain invisible formatting characters (zero-width or bidirectional)".into(),
        );
    }
    Ok(trimmed.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_text_trims_and_bounds() {
        assert_eq!(clean_text("  Zoë 🚗 ", 10).unwrap(), "Zoë 🚗");
        assert!(clean_text("   ", 10).is_err());
        assert!(clean_text("abc", 2).is_err());
        assert!(clean_text("a\u{0}b", 10).is_err());
        assert!(clean_text("a\nb", 10).is_err());
        // Counted in characters, not bytes.
        assert!(clean_text(&"é".repeat(10), 10).is_ok());
    }

    #[test]
    fn clean_text_refuses_invisible_formatting() {
        for sneaky in [
            "Zo\u{200B}ë",         // zero-width space
            "abc\u{202E}fed",      // right-to-left override
            "\u{2066}C-1\u{2069}", // left-to-right isolate
            "C\u{200D}-1",         // a zero-width joiner between letters
            "\u{FEFF}BOM",         // zero-width no-break space
            "soft\u{AD}hyphen",
        ] {
            assert!(clean_text(sneaky, 40).is_err(), "{sneaky:?}");
        }
        // Marks and emoji presentation selectors are not format characters, and a joiner inside
        // an emoji sequence is part of the emoji.
        assert_eq!(clean_text("Zoë ❤\u{FE0F}", 10).unwrap(), "Zoë ❤\u{FE0F}");
        assert!(clean_text("👩\u{200D}🔬 Dr. Emoji", 20).is_ok());
        assert!(clean_text("👨🏽\u{200D}🍳", 20).is_ok());
    }
}
