//! Secret values: passwords, client secrets, tokens and session ids.
//!
//! A [`Secret`] never prints its content: `Debug` and `Display` show `[redacted]`, so every
//! struct holding one may derive `Debug` safely. The content is reached only through
//! [`Secret::expose`], whose name says what it does, and compared in constant time.

use std::fmt;

use serde::{Deserialize, Deserializer};
use subtle::ConstantTimeEq;

/// A string that must not reach a log line, an error message or a panic message.
#[derive(Clone, Default)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret text itself; callers hand it straight to the code that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the secret is the empty string.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Constant-time equality.
    pub fn ct_eq(&self, other: &str) -> bool {
        self.0.as_bytes().ct_eq(other.as_bytes()).into()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl PartialEq for Secret {
    fn eq(&self, other: &Self) -> bool {
        self.ct_eq(&other.0)
    }
}

impl Eq for Secret {}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Secret)
    }
}

/// Serde for a map of secrets kept in the session store: the only place a secret is
/// written out in full. Use with `#[serde(with = "crate::secret::stored_map")]` on a field that
/// goes to the store and nowhere else (never an HTTP answer, never a log).
pub mod stored_map {
    use std::collections::BTreeMap;

    use serde::{Deserialize, Deserializer, Serializer};

    use super::Secret;

    /// Writes each secret's text.
    pub fn serialize<S: Serializer>(
        map: &BTreeMap<String, Secret>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.collect_map(map.iter().map(|(k, v)| (k, v.expose())))
    }

    /// Reads them back.
    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<BTreeMap<String, Secret>, D::Error> {
        BTreeMap::<String, Secret>::deserialize(deserializer)
    }
}

/// Serde for one secret kept in the session store (see [`stored_map`]).
pub mod stored {
    use serde::{Deserialize, Deserializer, Serializer};

    use super::Secret;

    /// Writes the secret's text.
    pub fn serialize<S: Serializer>(secret: &Secret, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(secret.expose())
    }

    /// Reads it back.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Secret, D::Error> {
        Secret::deserialize(deserializer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_hide_the_value() {
        let secret = Secret::new("hunter2");
        assert_eq!(format!("{secret:?}"), "[redacted]");
        assert_eq!(format!("{secret}"), "[redacted]");
        assert_eq!(secret.expose(), "hunter2");
    }

    #[test]
    fn comparison_is_by_content() {
        assert!(Secret::new("a").ct_eq("a"));
        assert!(!Secret::new("a").ct_eq("ab"));
        assert_ne!(Secret::new("a"), Secret::new("b"));
    }
}
