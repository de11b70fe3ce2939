//! One-time codes Ferry sends itself: random digits, kept only as a salted SHA-256 digest,
//! compared in constant time. Expiry, attempts and single use are the caller's to enforce.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::secret::Secret;

/// A new code: the code itself, to send, and what may be kept of it.
#[derive(Debug)]
pub struct Issued {
    /// The code, to be sent and forgotten.
    pub code: Secret,
    /// A random salt, hex.
    pub salt: String,
    /// SHA-256 of salt and code, hex.
    pub digest: String,
}

/// A uniformly random code of `digits` digits (1 to 9).
pub fn issue(digits: u32) -> Issued {
    let digits = digits.clamp(1, 9);
    let value = rand::random_range(0..10u32.pow(digits));
    let code = Secret::new(format!("{value:0width$}", width = digits as usize));
    let salt = hex::encode(rand::random::<[u8; 16]>());
    let digest = digest(&salt, &code);
    Issued { code, salt, digest }
}

/// The digest of a code under a salt.
pub fn digest(salt: &str, code: &Secret) -> String {
    let mut hasher = Sha256::new();
    hasher.update(salt.as_bytes());
    hasher.update(code.expose().trim().as_bytes());
    hex::encode(hasher.finalize())
}

/// Whether a typed code is the one digested.
pub fn matches(salt: &str, expected: &str, typed: &Secret) -> bool {
    digest(salt, typed)
        .as_bytes()
        .ct_eq(expected.as_bytes())
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_matches_its_digest_only() {
        let issued = issue(6);
        assert_eq!(issued.code.expose().len(), 6);
        assert!(issued.code.expose().bytes().all(|b| b.is_ascii_digit()));
        assert!(!issued.digest.contains(issued.code.expose()));
        assert!(matches(&issued.salt, &issued.digest, &issued.code));
        let other = if issued.code.expose() == "000000" {
            "000001"
        } else {
            "000000"
        };
        assert!(!matches(&issued.salt, &issued.digest, &Secret::new(other)));
        assert_ne!(issue(6).salt, issued.salt);
    }
}
