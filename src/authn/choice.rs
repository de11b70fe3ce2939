//! What a password a user chooses in Ferry must be, after NIST SP 800-63B §3.1.1.2: long
//! enough, not longer than the configured limit (at least 64 characters must be allowed), not
//! on the blocklist, and not the user's own identifier. Characters are counted as Unicode
//! code points after NFC normalisation; nothing else about their mix is demanded.

use std::collections::HashSet;
use std::path::Path;

use unicode_normalization::UnicodeNormalization;

use crate::config::PasswordSettings;
use crate::secret::Secret;

/// Why a chosen password is refused; the message is for the user.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// Fewer characters than the minimum.
    #[error("the password needs at least {0} characters")]
    TooShort(usize),
    /// More characters than the maximum.
    #[error("the password may have at most {0} characters")]
    TooLong(usize),
    /// On the blocklist of common or breached passwords.
    #[error("this password is too common or has appeared in a breach; choose another")]
    Blocked,
    /// The same as the user's identifier or email address.
    #[error("the password may not be your user name or email address")]
    Identifier,
    /// Nothing but spaces.
    #[error("the password may not be only spaces")]
    Blank,
}

/// Why the rules cannot be set up.
#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    /// The lengths are unusable.
    #[error(
        "`passwords.max_length` must be from 64 to 256 (answers are capped at 1024 bytes) and \
         at least `min_length`"
    )]
    Limits,
    /// The blocklist file cannot be read.
    #[error("cannot read the password blocklist `{path}`")]
    Blocklist {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// The rules for chosen passwords, with the blocklist loaded.
#[derive(Clone, Debug)]
pub struct PasswordRules {
    min: usize,
    max: usize,
    blocked: HashSet<String>,
}

fn folded(text: &str) -> String {
    text.nfc().collect::<String>().to_lowercase()
}

impl PasswordRules {
    /// The rules of the settings; `blocklist` is the list file's text, when one is set.
    pub fn new(settings: &PasswordSettings, blocklist: Option<&str>) -> Self {
        let blocked = blocklist
            .into_iter()
            .flat_map(str::lines)
            .map(str::trim_end)
            .filter(|line| !line.is_empty())
            .map(folded)
            .collect();
        Self {
            min: settings.min_length,
            max: settings.max_length,
            blocked,
        }
    }

    /// The rules of the settings, reading the blocklist file (relative to `base`).
    pub fn load(settings: &PasswordSettings, base: &Path) -> Result<Self, RulesError> {
        let lengths = 64..=256;
        if !lengths.contains(&settings.max_length) || settings.min_length > settings.max_length {
            return Err(RulesError::Limits);
        }
        let text = match &settings.blocklist {
            Some(path) => {
                let path = base.join(path);
                let text = std::fs::read_to_string(&path)
                    .map_err(|source| RulesError::Blocklist { path, source })?;
                Some(text)
            }
            None => None,
        };
        Ok(Self::new(settings, text.as_deref()))
    }

    /// The fewest characters.
    pub fn min_length(&self) -> usize {
        self.min
    }

    /// The most characters.
    pub fn max_length(&self) -> usize {
        self.max
    }

    /// Passwords on the blocklist.
    pub fn blocked(&self) -> usize {
        self.blocked.len()
    }

    /// Checks a password a user chose; `own` are the user's identifier and email address,
    /// which the password may not be.
    pub fn check<'a>(
        &self,
        password: &Secret,
        own: impl IntoIterator<Item = &'a str>,
    ) -> Result<(), Refusal> {
        let normal = password.expose().nfc().collect::<String>();
        let length = normal.chars().count();
        if length < self.min {
            return Err(Refusal::TooShort(self.min));
        }
        if length > self.max {
            return Err(Refusal::TooLong(self.max));
        }
        if normal.trim().is_empty() {
            return Err(Refusal::Blank);
        }
        let lower = normal.to_lowercase();
        if own
            .into_iter()
            .any(|o| !o.is_empty() && lower == folded(o.trim()))
        {
            return Err(Refusal::Identifier);
        }
        if self.blocked.contains(&lower) {
            return Err(Refusal::Blocked);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(list: &str) -> PasswordRules {
        PasswordRules::new(&PasswordSettings::default(), Some(list))
    }

    #[test]
    fn length_counts_code_points_after_normalisation() {
        let r = rules("");
        assert_eq!(
            r.check(&Secret::new("short"), ["alice"]),
            Err(Refusal::TooShort(8))
        );
        // Eight precomposed letters, written decomposed (sixteen code points) or not.
        let decomposed = "e\u{301}".repeat(8);
        assert_eq!(r.check(&Secret::new(&decomposed), ["alice"]), Ok(()));
        assert_eq!(r.check(&Secret::new("ñandú-ñandú"), ["alice"]), Ok(()));
        let long = "x".repeat(129);
        assert_eq!(
            r.check(&Secret::new(&long), ["alice"]),
            Err(Refusal::TooLong(128))
        );
    }

    #[test]
    fn blocklisted_and_identifier_passwords_are_refused() {
        let r = rules("password1\nQwertyuiop\n\n");
        assert_eq!(r.blocked(), 2);
        assert_eq!(
            r.check(&Secret::new("PASSWORD1"), ["alice"]),
            Err(Refusal::Blocked)
        );
        assert_eq!(
            r.check(&Secret::new("qwertyuiop"), ["alice"]),
            Err(Refusal::Blocked)
        );
        assert_eq!(
            r.check(&Secret::new("Alice@Example.com"), ["alice@example.com"]),
            Err(Refusal::Identifier)
        );
        assert_eq!(r.check(&Secret::new("correct horse"), ["alice"]), Ok(()));
        assert_eq!(
            r.check(
                &Secret::new("Alice@Mail.test"),
                ["alice", "alice@mail.test"]
            ),
            Err(Refusal::Identifier)
        );
        assert_eq!(
            r.check(&Secret::new("         "), ["alice"]),
            Err(Refusal::Blank)
        );
    }

    #[test]
    fn unusable_limits_and_a_missing_blocklist_are_refused() {
        let dir = std::env::temp_dir();
        let short_max = PasswordSettings {
            max_length: 20,
            ..PasswordSettings::default()
        };
        assert!(matches!(
            PasswordRules::load(&short_max, &dir),
            Err(RulesError::Limits)
        ));
        let missing = PasswordSettings {
            blocklist: Some("ferry-no-such-blocklist.txt".into()),
            ..PasswordSettings::default()
        };
        assert!(matches!(
            PasswordRules::load(&missing, &dir),
            Err(RulesError::Blocklist { .. })
        ));
    }
}
