//! Stored hash strings read into their parts. Every layout Ferry accepts is recognised by its
//! own prefix; [`Parsed::canonical`] writes the parts back in Ferry's PHC-style form.

use super::HashError;
use super::codec::{Encoding, b64};

/// The digest under PBKDF2 or a salted digest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Digest {
    /// MD5.
    Md5,
    /// SHA-1.
    Sha1,
    /// SHA-256.
    Sha256,
    /// SHA-512.
    Sha512,
}

impl Digest {
    /// The digest's name in hash ids (`sha256`).
    pub fn name(self) -> &'static str {
        match self {
            Digest::Md5 => "md5",
            Digest::Sha1 => "sha1",
            Digest::Sha256 => "sha256",
            Digest::Sha512 => "sha512",
        }
    }

    fn parse(name: &str) -> Option<Self> {
        match name {
            "md5" => Some(Digest::Md5),
            "sha1" => Some(Digest::Sha1),
            "sha256" => Some(Digest::Sha256),
            "sha512" => Some(Digest::Sha512),
            _ => None,
        }
    }
}

/// Where a salted digest puts the salt.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SaltPosition {
    /// `digest(salt + password)`.
    #[default]
    Before,
    /// `digest(password + salt)`.
    After,
}

/// A stored hash, in parts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Parsed {
    /// bcrypt in modular-crypt form, kept as written.
    Bcrypt(String),
    /// argon2 in PHC form, kept as written.
    Argon2(String),
    /// PBKDF2 with HMAC over a digest.
    Pbkdf2 {
        /// The HMAC digest.
        digest: Digest,
        /// The iteration count.
        iterations: u32,
        /// The salt.
        salt: Vec<u8>,
        /// The derived key.
        hash: Vec<u8>,
    },
    /// Standard scrypt.
    Scrypt {
        /// log2 of N.
        log_n: u8,
        /// Block size.
        r: u32,
        /// Parallelism.
        p: u32,
        /// The salt.
        salt: Vec<u8>,
        /// The derived key.
        hash: Vec<u8>,
    },
    /// Firebase's modified scrypt: the project's signer key encrypted with AES-256-CTR under
    /// the scrypt of the password.
    FirebaseScrypt {
        /// log2 of N (the console's `mem_cost`).
        mem_cost: u8,
        /// The console's `rounds` (scrypt's r).
        rounds: u32,
        /// The user's salt.
        salt: Vec<u8>,
        /// The project's salt separator.
        separator: Vec<u8>,
        /// The project's signer key.
        signer_key: Vec<u8>,
        /// The user's password hash.
        hash: Vec<u8>,
    },
    /// One round of a digest over the password and a salt.
    SaltedDigest {
        /// The digest.
        digest: Digest,
        /// Where the salt goes.
        position: SaltPosition,
        /// The salt; may be empty.
        salt: Vec<u8>,
        /// The digest value.
        hash: Vec<u8>,
    },
}

/// Which family a stored hash belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    /// argon2d, argon2i or argon2id in PHC form.
    Argon2,
    /// bcrypt in modular-crypt form.
    Bcrypt,
    /// PBKDF2-HMAC.
    Pbkdf2,
    /// scrypt.
    Scrypt,
    /// Firebase's modified scrypt.
    FirebaseScrypt,
    /// A salted MD5 or SHA digest.
    SaltedDigest,
}

impl Parsed {
    /// The family of the hash.
    pub fn family(&self) -> Family {
        match self {
            Parsed::Bcrypt(_) => Family::Bcrypt,
            Parsed::Argon2(_) => Family::Argon2,
            Parsed::Pbkdf2 { .. } => Family::Pbkdf2,
            Parsed::Scrypt { .. } => Family::Scrypt,
            Parsed::FirebaseScrypt { .. } => Family::FirebaseScrypt,
            Parsed::SaltedDigest { .. } => Family::SaltedDigest,
        }
    }

    /// The hash in the form Ferry stores: bcrypt and argon2 as written, the others as
    /// `$id$params$salt$hash` with unpadded standard base64.
    pub fn canonical(&self) -> String {
        match self {
            Parsed::Bcrypt(s) | Parsed::Argon2(s) => s.clone(),
            Parsed::Pbkdf2 {
                digest,
                iterations,
                salt,
                hash,
            } => format!(
                "$pbkdf2-{}$i={iterations},l={}${}${}",
                digest.name(),
                hash.len(),
                b64(salt),
                b64(hash)
            ),
            Parsed::Scrypt {
                log_n,
                r,
                p,
                salt,
                hash,
            } => format!("$scrypt$ln={log_n},r={r},p={p}${}${}", b64(salt), b64(hash)),
            Parsed::FirebaseScrypt {
                mem_cost,
                rounds,
                salt,
                separator,
                signer_key,
                hash,
            } => format!(
                "$firebase-scrypt$ln={mem_cost},r={rounds},sep={},key={}${}${}",
                b64(separator),
                b64(signer_key),
                b64(salt),
                b64(hash)
            ),
            Parsed::SaltedDigest {
                digest,
                position,
                salt,
                hash,
            } => {
                let pos = match position {
                    SaltPosition::Before => "before",
                    SaltPosition::After => "after",
                };
                format!(
                    "$salted-{}$salt={pos}${}${}",
                    digest.name(),
                    b64(salt),
                    b64(hash)
                )
            }
        }
    }
}

/// Reads a stored hash in any layout Ferry knows.
pub fn parse(stored: &str) -> Result<Parsed, HashError> {
    let stored = stored.trim();
    if stored.starts_with("$argon2") {
        return Ok(Parsed::Argon2(argon2_with_version(stored)));
    }
    if ["$2a$", "$2b$", "$2y$", "$2x$"]
        .iter()
        .any(|p| stored.starts_with(p))
    {
        return Ok(Parsed::Bcrypt(stored.to_owned()));
    }
    if let Some(rest) = stored.strip_prefix('$') {
        return parse_dollar(rest);
    }
    if let Some(rest) = stored.strip_prefix('{') {
        return parse_ldap(rest);
    }
    parse_django(stored)
}

/// The reference implementation reads an argon2 string without `v=` as version 1.0 (16);
/// the argon2 crate would assume 1.3, so the version is written in.
fn argon2_with_version(stored: &str) -> String {
    let mut parts: Vec<&str> = stored.split('$').collect();
    if parts.get(2).is_some_and(|p| !p.starts_with("v=")) {
        parts.insert(2, "v=16");
    }
    parts.join("$")
}

/// `$id$...` layouts: PHC (ours and RustCrypto's) and passlib's.
fn parse_dollar(rest: &str) -> Result<Parsed, HashError> {
    let parts: Vec<&str> = rest.split('$').collect();
    let id = parts.first().copied().unwrap_or_default();
    match id {
        "pbkdf2" | "pbkdf2-sha1" | "pbkdf2-sha256" | "pbkdf2-sha512" => pbkdf2_dollar(&parts),
        "scrypt" => scrypt_phc(&parts),
        "firebase-scrypt" => firebase_phc(&parts),
        _ => match id.strip_prefix("salted-").and_then(Digest::parse) {
            Some(digest) => salted_phc(digest, &parts),
            None => Err(HashError::Unsupported),
        },
    }
}

fn pbkdf2_dollar(parts: &[&str]) -> Result<Parsed, HashError> {
    let bad = || HashError::Malformed("pbkdf2");
    let [id, params, salt, hash] = parts else {
        return Err(bad());
    };
    let digest = match id.strip_prefix("pbkdf2-") {
        Some(name) => Digest::parse(name).ok_or_else(bad)?,
        None => Digest::Sha1,
    };
    // passlib writes the bare iteration count; PHC writes `i=N[,l=L]`.
    let iterations = match params.parse() {
        Ok(n) => n,
        Err(_) => phc_param(params, "i").ok_or_else(bad)?,
    };
    Ok(Parsed::Pbkdf2 {
        digest,
        iterations,
        salt: Encoding::Base64.decode(salt).map_err(|_| bad())?,
        hash: Encoding::Base64.decode(hash).map_err(|_| bad())?,
    })
}

fn scrypt_phc(parts: &[&str]) -> Result<Parsed, HashError> {
    let bad = || HashError::Malformed("scrypt");
    let [_, params, salt, hash] = parts else {
        return Err(bad());
    };
    Ok(Parsed::Scrypt {
        log_n: phc_param(params, "ln").ok_or_else(bad)?,
        r: phc_param(params, "r").ok_or_else(bad)?,
        p: phc_param(params, "p").ok_or_else(bad)?,
        salt: Encoding::Base64.decode(salt).map_err(|_| bad())?,
        hash: Encoding::Base64.decode(hash).map_err(|_| bad())?,
    })
}

fn firebase_phc(parts: &[&str]) -> Result<Parsed, HashError> {
    let bad = || HashError::Malformed("firebase scrypt");
    let [_, params, salt, hash] = parts else {
        return Err(bad());
    };
    let bytes = |name| {
        phc_text(params, name)
            .and_then(|v| Encoding::Base64.decode(v).ok())
            .ok_or_else(bad)
    };
    Ok(Parsed::FirebaseScrypt {
        mem_cost: phc_param(params, "ln").ok_or_else(bad)?,
        rounds: phc_param(params, "r").ok_or_else(bad)?,
        separator: bytes("sep")?,
        signer_key: bytes("key")?,
        salt: Encoding::Base64.decode(salt).map_err(|_| bad())?,
        hash: Encoding::Base64.decode(hash).map_err(|_| bad())?,
    })
}

fn salted_phc(digest: Digest, parts: &[&str]) -> Result<Parsed, HashError> {
    let bad = || HashError::Malformed("salted digest");
    let [_, params, salt, hash] = parts else {
        return Err(bad());
    };
    let position = match phc_text(params, "salt") {
        Some("before") => SaltPosition::Before,
        Some("after") => SaltPosition::After,
        _ => return Err(bad()),
    };
    Ok(Parsed::SaltedDigest {
        digest,
        position,
        salt: Encoding::Base64.decode(salt).map_err(|_| bad())?,
        hash: Encoding::Base64.decode(hash).map_err(|_| bad())?,
    })
}

/// LDAP `userPassword` schemes: `{SSHA}base64(digest + salt)`, salt after the password.
fn parse_ldap(rest: &str) -> Result<Parsed, HashError> {
    let (scheme, value) = rest.split_once('}').ok_or(HashError::Unsupported)?;
    let (digest, salted) = match scheme.to_ascii_uppercase().as_str() {
        "MD5" => (Digest::Md5, false),
        "SMD5" => (Digest::Md5, true),
        "SHA" => (Digest::Sha1, false),
        "SSHA" => (Digest::Sha1, true),
        "SHA256" => (Digest::Sha256, false),
        "SSHA256" => (Digest::Sha256, true),
        "SHA512" => (Digest::Sha512, false),
        "SSHA512" => (Digest::Sha512, true),
        _ => return Err(HashError::Unsupported),
    };
    let bad = || HashError::Malformed("ldap digest");
    let mut bytes = Encoding::Base64.decode(value).map_err(|_| bad())?;
    let len = digest_len(digest);
    if bytes.len() < len || (!salted && bytes.len() != len) {
        return Err(bad());
    }
    let salt = bytes.split_off(len);
    Ok(Parsed::SaltedDigest {
        digest,
        position: SaltPosition::After,
        salt,
        hash: bytes,
    })
}

/// Django's `algorithm$...` layouts: `pbkdf2_sha256$iterations$salt$base64`, and the old
/// `sha1$salt$hex` / `md5$salt$hex` (salt before the password). Django salts are text.
fn parse_django(stored: &str) -> Result<Parsed, HashError> {
    let parts: Vec<&str> = stored.split('$').collect();
    match parts.as_slice() {
        [id, iterations, salt, hash] if id.starts_with("pbkdf2_") => {
            let bad = || HashError::Malformed("django pbkdf2");
            Ok(Parsed::Pbkdf2 {
                digest: id
                    .strip_prefix("pbkdf2_")
                    .and_then(Digest::parse)
                    .ok_or_else(bad)?,
                iterations: iterations.parse().map_err(|_| bad())?,
                salt: salt.as_bytes().to_vec(),
                hash: Encoding::Base64.decode(hash).map_err(|_| bad())?,
            })
        }
        [id @ ("sha1" | "md5"), salt, hash] => Ok(Parsed::SaltedDigest {
            digest: Digest::parse(id).ok_or(HashError::Unsupported)?,
            position: SaltPosition::Before,
            salt: salt.as_bytes().to_vec(),
            hash: Encoding::Hex
                .decode(hash)
                .map_err(|_| HashError::Malformed("django digest"))?,
        }),
        _ => Err(HashError::Unsupported),
    }
}

fn phc_text<'a>(params: &'a str, name: &str) -> Option<&'a str> {
    params
        .split(',')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn phc_param<T: std::str::FromStr>(params: &str, name: &str) -> Option<T> {
    phc_text(params, name).and_then(|v| v.parse().ok())
}

/// The output length of a digest, in bytes.
pub fn digest_len(digest: Digest) -> usize {
    match digest {
        Digest::Md5 => 16,
        Digest::Sha1 => 20,
        Digest::Sha256 => 32,
        Digest::Sha512 => 64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_forms_read_back_to_the_same_parts() {
        let samples = [
            Parsed::Pbkdf2 {
                digest: Digest::Sha512,
                iterations: 210_000,
                salt: vec![1, 2, 3],
                hash: vec![4; 64],
            },
            Parsed::Scrypt {
                log_n: 14,
                r: 8,
                p: 1,
                salt: vec![9; 16],
                hash: vec![8; 32],
            },
            Parsed::FirebaseScrypt {
                mem_cost: 14,
                rounds: 8,
                salt: vec![1; 10],
                separator: vec![7],
                signer_key: vec![2; 64],
                hash: vec![3; 64],
            },
            Parsed::SaltedDigest {
                digest: Digest::Md5,
                position: SaltPosition::After,
                salt: Vec::new(),
                hash: vec![5; 16],
            },
        ];
        for sample in samples {
            assert_eq!(parse(&sample.canonical()), Ok(sample.clone()));
        }
    }

    #[test]
    fn django_salts_are_their_text() {
        let Ok(Parsed::Pbkdf2 {
            digest,
            iterations,
            salt,
            ..
        }) = parse("pbkdf2_sha256$1000$abc$AAAA")
        else {
            panic!("should parse");
        };
        assert_eq!(
            (digest, iterations, salt),
            (Digest::Sha256, 1000, b"abc".to_vec())
        );
    }

    #[test]
    fn unknown_layouts_are_unsupported() {
        for stored in ["5f4dcc3b5aa765d61d8327deb882cf99", "$1$abc$def", "{CRYPT}x"] {
            assert_eq!(parse(stored), Err(HashError::Unsupported), "{stored}");
        }
        assert_eq!(
            parse("$pbkdf2-sha256$i=x$a$b"),
            Err(HashError::Malformed("pbkdf2"))
        );
    }
}
