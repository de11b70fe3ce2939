//! Hash formats as data: a description (algorithm, parameters, salt position, encodings) that
//! turns the raw fields of an export into a stored hash Ferry verifies, so an operator adds a
//! format by writing YAML, not code. `ferry hash test` checks one against a known password.
//!
//! ```yaml
//! algorithm: pbkdf2          # auto | bcrypt | pbkdf2 | scrypt | firebase_scrypt | argon2 | digest
//! digest: sha256             # pbkdf2 and digest: md5 | sha1 | sha256 | sha512
//! iterations: 27500          # pbkdf2, unless each record gives its own
//! hash_encoding: hex         # base64 | base64url | hex | bcrypt | utf8
//! salt_encoding: utf8
//! salt_position: before      # digest: before | after the password
//! ```

use serde::{Deserialize, Serialize};

use super::codec::{Encoding, bcrypt_b64};
use super::{Digest, HashError, Parsed, SaltPosition, parse};

/// The algorithm a description is about.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Algorithm {
    /// The hash is a self-describing string Ferry recognises (bcrypt, PHC, passlib, Django, LDAP).
    #[default]
    Auto,
    /// bcrypt: an MCF string, or salt and hash given apart with a cost.
    Bcrypt,
    /// PBKDF2-HMAC over `digest`.
    Pbkdf2,
    /// Standard scrypt with `scrypt` parameters.
    Scrypt,
    /// Firebase's modified scrypt with the project's `firebase` parameters.
    FirebaseScrypt,
    /// argon2 in PHC form, with or without a version.
    Argon2,
    /// One salted (or unsalted) round of `digest`.
    Digest,
}

/// scrypt's parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScryptParams {
    /// log2 of N.
    pub log_n: u8,
    /// Block size.
    pub r: u32,
    /// Parallelism.
    pub p: u32,
}

/// A Firebase project's password hash parameters, as its console shows them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FirebaseParams {
    /// `base64_signer_key`.
    pub signer_key: String,
    /// `base64_salt_separator`.
    pub salt_separator: String,
    /// `rounds`.
    pub rounds: u32,
    /// `mem_cost`.
    pub mem_cost: u8,
}

/// A declarative hash format.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HashFormat {
    /// The algorithm.
    #[serde(default)]
    pub algorithm: Algorithm,
    /// The digest of `pbkdf2` and `digest`.
    #[serde(default)]
    pub digest: Option<Digest>,
    /// PBKDF2 iterations, unless each record gives its own.
    #[serde(default)]
    pub iterations: Option<u32>,
    /// bcrypt cost, when salt and hash come apart.
    #[serde(default)]
    pub cost: Option<u32>,
    /// bcrypt version written into the assembled string (`2a`, `2b`, `2y`).
    #[serde(default)]
    pub bcrypt_version: Option<String>,
    /// scrypt parameters.
    #[serde(default)]
    pub scrypt: Option<ScryptParams>,
    /// Firebase parameters.
    #[serde(default)]
    pub firebase: Option<FirebaseParams>,
    /// How the hash field is written.
    #[serde(default)]
    pub hash_encoding: Encoding,
    /// How the salt field is written.
    #[serde(default)]
    pub salt_encoding: Encoding,
    /// Where a digest puts the salt.
    #[serde(default)]
    pub salt_position: SaltPosition,
}

/// The raw password fields of one record.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RawHash {
    /// The hash field.
    pub hash: String,
    /// The salt field, if apart.
    pub salt: Option<String>,
    /// The record's own iteration count or cost, if it has one.
    pub iterations: Option<u32>,
}

/// Why raw fields do not fit a description.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    /// The description lacks a setting its algorithm needs.
    #[error("the hash format needs `{0}` for this algorithm")]
    Missing(&'static str),
    /// A field cannot be decoded.
    #[error("the {field} is {reason}")]
    Decode {
        /// `hash` or `salt`.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The result is not a usable hash.
    #[error(transparent)]
    Hash(#[from] HashError),
}

impl HashFormat {
    /// Reads a record's fields into a stored hash.
    pub fn read(&self, raw: &RawHash) -> Result<Parsed, FormatError> {
        match self.algorithm {
            Algorithm::Auto => Ok(parse(&raw.hash)?),
            Algorithm::Bcrypt => self.bcrypt(raw),
            Algorithm::Pbkdf2 => self.pbkdf2(raw),
            Algorithm::Scrypt => self.scrypt(raw),
            Algorithm::FirebaseScrypt => self.firebase(raw),
            Algorithm::Argon2 => argon2(raw),
            Algorithm::Digest => self.digest(raw),
        }
    }

    fn bcrypt(&self, raw: &RawHash) -> Result<Parsed, FormatError> {
        if raw.hash.starts_with("$2") {
            return Ok(parse(&raw.hash)?);
        }
        let cost = raw
            .iterations
            .or(self.cost)
            .ok_or(FormatError::Missing("cost"))?;
        let salt = self.salt_bytes(raw)?;
        let hash = self.hash_bytes(raw)?;
        if salt.len() < 16 || hash.len() < 23 {
            return Err(HashError::Malformed("bcrypt").into());
        }
        let version = self.bcrypt_version.as_deref().unwrap_or("2b");
        let salt = bcrypt_b64(&salt[..16]);
        let hash = bcrypt_b64(&hash[..23]);
        Ok(parse(&format!("${version}${cost:02}${salt}{hash}"))?)
    }

    fn pbkdf2(&self, raw: &RawHash) -> Result<Parsed, FormatError> {
        if raw.salt.is_none() {
            return Ok(parse(&raw.hash)?);
        }
        Ok(Parsed::Pbkdf2 {
            digest: self.digest.ok_or(FormatError::Missing("digest"))?,
            iterations: raw
                .iterations
                .or(self.iterations)
                .ok_or(FormatError::Missing("iterations"))?,
            salt: self.salt_bytes(raw)?,
            hash: self.hash_bytes(raw)?,
        })
    }

    fn scrypt(&self, raw: &RawHash) -> Result<Parsed, FormatError> {
        if raw.salt.is_none() {
            return Ok(parse(&raw.hash)?);
        }
        let params = self.scrypt.ok_or(FormatError::Missing("scrypt"))?;
        Ok(Parsed::Scrypt {
            log_n: params.log_n,
            r: params.r,
            p: params.p,
            salt: self.salt_bytes(raw)?,
            hash: self.hash_bytes(raw)?,
        })
    }

    fn firebase(&self, raw: &RawHash) -> Result<Parsed, FormatError> {
        let project = self
            .firebase
            .as_ref()
            .ok_or(FormatError::Missing("firebase"))?;
        let project_bytes = |field, text: &str| {
            Encoding::Base64
                .decode(text)
                .map_err(|reason| FormatError::Decode { field, reason })
        };
        Ok(Parsed::FirebaseScrypt {
            mem_cost: project.mem_cost,
            rounds: project.rounds,
            salt: self.salt_bytes(raw)?,
            separator: project_bytes("salt separator", &project.salt_separator)?,
            signer_key: project_bytes("signer key", &project.signer_key)?,
            hash: self.hash_bytes(raw)?,
        })
    }

    fn digest(&self, raw: &RawHash) -> Result<Parsed, FormatError> {
        let salt = match raw.salt {
            Some(_) => self.salt_bytes(raw)?,
            None => Vec::new(),
        };
        Ok(Parsed::SaltedDigest {
            digest: self.digest.ok_or(FormatError::Missing("digest"))?,
            position: self.salt_position,
            salt,
            hash: self.hash_bytes(raw)?,
        })
    }

    fn salt_bytes(&self, raw: &RawHash) -> Result<Vec<u8>, FormatError> {
        let text = raw.salt.as_deref().ok_or(FormatError::Missing("salt"))?;
        self.salt_encoding
            .decode(text)
            .map_err(|reason| FormatError::Decode {
                field: "salt",
                reason,
            })
    }

    fn hash_bytes(&self, raw: &RawHash) -> Result<Vec<u8>, FormatError> {
        self.hash_encoding
            .decode(&raw.hash)
            .map_err(|reason| FormatError::Decode {
                field: "hash",
                reason,
            })
    }
}

fn argon2(raw: &RawHash) -> Result<Parsed, FormatError> {
    match parse(&raw.hash)? {
        parsed @ Parsed::Argon2(_) => Ok(parsed),
        _ => Err(HashError::Malformed("argon2").into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(hash: &str, salt: Option<&str>) -> RawHash {
        RawHash {
            hash: hash.into(),
            salt: salt.map(str::to_owned),
            iterations: None,
        }
    }

    #[test]
    fn descriptions_read_from_yaml_shaped_json() {
        let format: HashFormat = serde_json::from_value(serde_json::json!({
            "algorithm": "digest", "digest": "md5", "hash_encoding": "hex",
            "salt_encoding": "utf8", "salt_position": "after"
        }))
        .unwrap();
        let parsed = format.read(&raw("00ff", Some("s"))).unwrap();
        assert_eq!(
            parsed,
            Parsed::SaltedDigest {
                digest: Digest::Md5,
                position: SaltPosition::After,
                salt: b"s".to_vec(),
                hash: vec![0, 255],
            }
        );
    }

    #[test]
    fn missing_settings_are_named() {
        let format = HashFormat {
            algorithm: Algorithm::Pbkdf2,
            digest: Some(Digest::Sha1),
            ..HashFormat::default()
        };
        assert_eq!(
            format.read(&raw("00", Some("00"))),
            Err(FormatError::Missing("iterations"))
        );
        let firebase = HashFormat {
            algorithm: Algorithm::FirebaseScrypt,
            ..HashFormat::default()
        };
        assert_eq!(
            firebase.read(&raw("00", Some("00"))),
            Err(FormatError::Missing("firebase"))
        );
    }
}
