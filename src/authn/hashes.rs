//! Stored password hashes Ferry can verify, recognised by their own prefix: argon2 (PHC) and
//! bcrypt (`$2a$`, `$2b$`, `$2y$`). Pure and CPU-bound: callers run it off the async threads.

use argon2::password_hash::phc::PasswordHash;
use argon2::{Argon2, PasswordVerifier};

/// A stored hash that cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HashError {
    /// Not a format Ferry knows.
    #[error("the stored hash is in a format Ferry does not know")]
    Unsupported,
    /// A known format, but broken.
    #[error("the stored {0} hash is malformed")]
    Malformed(&'static str),
    /// Hashing itself failed.
    #[error("hashing failed")]
    Hashing,
}

/// The families of stored hash Ferry verifies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    /// argon2d, argon2i or argon2id in PHC form.
    Argon2,
    /// bcrypt in modular-crypt form.
    Bcrypt,
}

/// Which family a stored hash belongs to.
pub fn family(stored: &str) -> Result<Family, HashError> {
    if stored.starts_with("$argon2") {
        Ok(Family::Argon2)
    } else if ["$2a$", "$2b$", "$2y$", "$2x$"]
        .iter()
        .any(|p| stored.starts_with(p))
    {
        Ok(Family::Bcrypt)
    } else {
        Err(HashError::Unsupported)
    }
}

/// Checks a password against a stored hash of any known family.
pub fn verify(password: &[u8], stored: &str) -> Result<bool, HashError> {
    match family(stored)? {
        Family::Argon2 => verify_argon2(password, stored),
        Family::Bcrypt => {
            bcrypt::verify(password, stored).map_err(|_| HashError::Malformed("bcrypt"))
        }
    }
}

fn verify_argon2(password: &[u8], stored: &str) -> Result<bool, HashError> {
    let parsed = PasswordHash::new(stored).map_err(|_| HashError::Malformed("argon2"))?;
    match Argon2::default().verify_password(password, &parsed) {
        Ok(()) => Ok(true),
        Err(argon2::password_hash::Error::PasswordInvalid) => Ok(false),
        Err(_) => Err(HashError::Malformed("argon2")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Both made with the Python reference bindings (bcrypt 4 and argon2-cffi) for the
    // password `correct horse battery staple`.
    const PY_BCRYPT_2A: &str = "$2a$04$d8OmwbL7sPGVlv1FGgJoluDJMPtDK7v.zf998yLMqn/Trqwg69V72";
    const PY_ARGON2ID: &str = "$argon2id$v=19$m=19456,t=2,p=1$jVd5KBQ5505gJb8xCvssTg$S4P8Yq1hQaUT1kipXbAUizxMCdSq1+7xDQ1kd5OQsYI";

    #[test]
    fn hashes_from_reference_implementations_verify() {
        for stored in [PY_BCRYPT_2A, PY_ARGON2ID] {
            assert_eq!(
                verify(b"correct horse battery staple", stored),
                Ok(true),
                "{stored}"
            );
            assert_eq!(
                verify(b"correct horse battery stapler", stored),
                Ok(false),
                "{stored}"
            );
        }
    }

    #[test]
    fn bcrypt_prefixes_are_recognised() {
        assert_eq!(family("$2y$10$abc"), Ok(Family::Bcrypt));
        assert_eq!(family("$argon2id$v=19$m=1,t=1,p=1$x$y"), Ok(Family::Argon2));
        assert_eq!(
            family("5f4dcc3b5aa765d61d8327deb882cf99"),
            Err(HashError::Unsupported)
        );
    }

    #[test]
    fn bcrypt_verifies_right_and_wrong_passwords() {
        let hash = bcrypt::hash_with_salt(b"correct horse", 4, [7u8; 16])
            .unwrap()
            .format_for_version(bcrypt::Version::TwoB);
        assert_eq!(verify(b"correct horse", &hash), Ok(true));
        assert_eq!(verify(b"wrong horse", &hash), Ok(false));
        assert!(verify(b"x", "$2b$04$short").is_err());
    }
}
