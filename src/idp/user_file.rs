//! The legacy user file: a JSON Lines export of a home-grown user table, one user per line.
//!
//! ```json
//! {"username": "alice", "password_hash": "$2b$10$…", "id": "1001", "email": "Alice@Example.com", "name": "Alice"}
//! ```
//!
//! `username` and `password_hash` (any layout [`crate::authn::hashes`] verifies: bcrypt,
//! argon2, PBKDF2, scrypt, salted digests) are required.
//! `id` (a string or number) is the legacy subject, defaulting to the username. `disabled`,
//! `locked` and `password_expired` are optional booleans. Every other member becomes a claim.
//! Usernames match after trimming, Unicode NFC and lower-casing. A file with any bad line is
//! refused whole, with the line and the reason: no user is silently dropped.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::{Map, Value as Json};
use tokio::io::{AsyncBufReadExt, BufReader};

use super::{Connector, LegacyError, Refusal, Verified};
use crate::authn::hashes;
use crate::config::Config;
use crate::identifier;
use crate::secret::Secret;
use crate::syntax::ast::Normalization;

/// The connector's settings in ferry.yaml.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// `user_file`; checked against the journey's declaration.
    pub provider: Option<String>,
    /// The JSON Lines file, relative to the configuration's folder.
    pub path: PathBuf,
}

/// Why the file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file cannot be read.
    #[error("cannot read the user file `{path}`")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A line is wrong.
    #[error("user file `{path}` line {line}: {reason}")]
    Line {
        /// The file.
        path: PathBuf,
        /// One-based line number.
        line: usize,
        /// What is wrong.
        reason: String,
    },
}

/// One user of the file, as the connector and `ferry import` read it.
#[derive(Debug)]
pub struct Record {
    /// The legacy subject.
    pub subject: String,
    /// The stored password hash.
    pub hash: String,
    /// Disabled: refused like a wrong password.
    pub disabled: bool,
    /// Locked.
    pub locked: bool,
    /// The password has expired.
    pub password_expired: bool,
    /// Every other member, plus `sub` and `username`.
    pub claims: Map<String, Json>,
}

/// Users loaded from a JSON Lines file, checked in memory.
#[derive(Debug)]
pub struct UserFile {
    users: HashMap<String, Arc<Record>>,
    dummy_hash: Arc<str>,
}

impl UserFile {
    /// Loads the file named in the settings.
    pub async fn load(config: &Config, settings: Settings) -> Result<Self, LoadError> {
        let path = config.resolve(&settings.path);
        let file = tokio::fs::File::open(&path)
            .await
            .map_err(|source| LoadError::Read {
                path: path.clone(),
                source,
            })?;
        let mut lines = BufReader::new(file).lines();
        let mut users = HashMap::new();
        let mut number = 0;
        while let Some(line) = lines.next_line().await.map_err(|source| LoadError::Read {
            path: path.clone(),
            source,
        })? {
            number += 1;
            if line.trim().is_empty() {
                continue;
            }
            let bad = |reason: String| LoadError::Line {
                path: path.clone(),
                line: number,
                reason,
            };
            let (key, record) = parse_line(&line).map_err(bad)?;
            if users.insert(key.clone(), Arc::new(record)).is_some() {
                return Err(bad(format!("username `{key}` appears twice")));
            }
        }
        let dummy_hash = dummy_like(users.values().next().map(|r| r.hash.as_str()));
        Ok(Self {
            users,
            dummy_hash: dummy_hash.into(),
        })
    }

    /// How many users the file holds.
    pub fn len(&self) -> usize {
        self.users.len()
    }

    /// Whether the file holds no user.
    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }
}

#[derive(Deserialize)]
struct Line {
    username: String,
    password_hash: String,
    id: Option<Json>,
    #[serde(default)]
    disabled: bool,
    #[serde(default)]
    locked: bool,
    #[serde(default)]
    password_expired: bool,
    #[serde(flatten)]
    rest: Map<String, Json>,
}

/// Reads one line of the file: the normalised username and the record.
pub fn parse_line(text: &str) -> Result<(String, Record), String> {
    let line: Line =
        serde_json::from_str(text).map_err(|e| format!("not a valid user record: {e}"))?;
    let key = identifier::normalize(&line.username, Normalization::default())
        .map_err(|e| format!("bad username: {e}"))?;
    hashes::family(&line.password_hash).map_err(|e| e.to_string())?;
    let subject = match line.id {
        None => line.username.clone(),
        Some(Json::String(s)) if !s.is_empty() => s,
        Some(Json::Number(n)) => n.to_string(),
        Some(_) => return Err("`id` must be a non-empty string or a number".into()),
    };
    let mut claims = line.rest;
    claims.insert("sub".into(), Json::String(subject.clone()));
    claims.insert("username".into(), Json::String(line.username));
    let record = Record {
        subject,
        hash: line.password_hash,
        disabled: line.disabled,
        locked: line.locked,
        password_expired: line.password_expired,
        claims,
    };
    Ok((key, record))
}

/// A hash of random bytes in the same family and cost as the file's hashes, checked for
/// unknown users so they cost what known users do.
fn dummy_like(sample: Option<&str>) -> String {
    let cost = sample
        .filter(|h| hashes::family(h) == Ok(hashes::Family::Bcrypt))
        .and_then(|h| h.get(4..6))
        .and_then(|c| c.parse().ok())
        .unwrap_or(bcrypt::DEFAULT_COST);
    let random: [u8; 16] = rand::random();
    bcrypt::hash(random, cost).unwrap_or_default()
}

#[async_trait]
impl Connector for UserFile {
    async fn check_password(
        &self,
        username: &str,
        password: &Secret,
    ) -> Result<Verified, LegacyError> {
        let record = identifier::normalize(username, Normalization::default())
            .ok()
            .and_then(|key| self.users.get(&key).cloned());
        let stored = record
            .as_ref()
            .map_or_else(|| self.dummy_hash.to_string(), |r| r.hash.clone());

        let password = password.clone();
        // As typed first (the legacy system's own hash), then in NFC if that differs, as
        // Ferry's local checks do the other way round.
        let matches = tokio::task::spawn_blocking(move || {
            use unicode_normalization::UnicodeNormalization;
            let typed = password.expose();
            if hashes::verify(typed.as_bytes(), &stored)? {
                return Ok(true);
            }
            let normal: String = typed.nfc().collect();
            if normal == typed {
                return Ok(false);
            }
            hashes::verify(normal.as_bytes(), &stored)
        })
        .await
        .map_err(|e| LegacyError::Misconfigured(format!("the hashing task failed: {e}")))?
        .unwrap_or(false);

        let record = match record {
            Some(r) if matches && !r.disabled => r,
            _ => return Err(LegacyError::refused(Refusal::InvalidCredentials)),
        };
        if record.locked {
            return Err(LegacyError::refused(Refusal::Locked));
        }
        if record.password_expired {
            return Err(LegacyError::refused(Refusal::PasswordExpired));
        }
        Ok(Verified {
            subject: record.subject.clone(),
            claims: record.claims.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_become_records_with_claims() {
        let (key, record) = parse_line(
            r#"{"username":" Alice ","password_hash":"$2b$04$x","id":7,"email":"A@B.c"}"#,
        )
        .unwrap();
        assert_eq!(key, "alice");
        assert_eq!(record.subject, "7");
        assert_eq!(record.claims["email"], "A@B.c");
        assert_eq!(record.claims["username"], " Alice ");
    }

    #[tokio::test]
    async fn every_imported_hash_format_verifies_through_the_connector() {
        // Django PBKDF2 and salted MD5, an LDAP {SSHA} and a passlib PBKDF2-SHA512 string,
        // each made with Python's hashlib for `correct horse battery staple`.
        let lines = [
            r#"{"username":"dj","password_hash":"pbkdf2_sha256$1000$seasalt42$k6wEQFthxaYy9P3dh7IyJRtHB3Bk7c+KubZ5aFPyrow="}"#,
            r#"{"username":"md","password_hash":"md5$pepper$f8ee72288939630ba446602314f3ce40"}"#,
            r#"{"username":"ld","password_hash":"{SSHA}+0tGNsuDePFzHCTXkDSAYANRXfpsZGFwc2FsdA=="}"#,
            r#"{"username":"pl","password_hash":"$pbkdf2-sha512$1000$ESIzRFVmd4iZqrvM3e7/AA$NeykQU.eoCDOGKCkrMcNl5ISnj3RAXBsitFgXhz.iK5kUNpYU79TKGxFV5B8Rl1bzwD8nl22yCiIBbB.CyxeRA"}"#,
        ];
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users.jsonl");
        std::fs::write(&path, lines.join("\n")).unwrap();
        let settings = Settings {
            provider: None,
            path: path.clone(),
        };
        let file = UserFile::load(&Config::embedded(), settings).await.unwrap();
        let right = Secret::new("correct horse battery staple");
        for user in ["dj", "md", "ld", "pl"] {
            let verified = file.check_password(user, &right).await.unwrap();
            assert_eq!(verified.subject, user);
            let wrong = file.check_password(user, &Secret::new("wrong")).await;
            assert!(wrong.is_err(), "{user}");
        }
    }

    #[tokio::test]
    async fn a_password_hashed_in_nfc_matches_when_typed_decomposed() {
        let hash = bcrypt::hash("caf\u{e9}", 4).unwrap();
        let line = format!(r#"{{"username":"nfc","password_hash":"{hash}"}}"#);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users.jsonl");
        std::fs::write(&path, line).unwrap();
        let settings = Settings {
            provider: None,
            path,
        };
        let file = UserFile::load(&Config::embedded(), settings).await.unwrap();
        for typed in ["caf\u{e9}", "cafe\u{301}"] {
            let verified = file.check_password("nfc", &Secret::new(typed)).await;
            assert!(verified.is_ok(), "{typed:?}");
        }
        let wrong = file.check_password("nfc", &Secret::new("cafe")).await;
        assert!(wrong.is_err());
    }

    #[test]
    fn bad_lines_say_why() {
        assert!(
            parse_line("{")
                .unwrap_err()
                .contains("not a valid user record")
        );
        assert!(
            parse_line(r#"{"username":"a","password_hash":"md5:x"}"#)
                .unwrap_err()
                .contains("format")
        );
        assert!(
            parse_line(r#"{"username":"a","password_hash":"$2b$04$x","id":[]}"#)
                .unwrap_err()
                .contains("`id`")
        );
    }
}
