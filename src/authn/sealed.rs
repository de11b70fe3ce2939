//! Credentials encrypted at rest: AES-256-GCM with a key from the configuration, a fresh
//! random nonce per value, and the credential's kind as associated data, so a sealed TOTP
//! seed cannot be passed off as another kind. The stored text names the key that sealed it.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

use crate::secret::Secret;

/// The prefix of every sealed value.
const PREFIX: &str = "sealed:v1:";

/// Seals and opens credentials with the configured key.
pub struct Sealer {
    id: String,
    key: LessSafeKey,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sealer")
            .field("key_id", &self.id)
            .finish_non_exhaustive()
    }
}

/// Why a sealed credential cannot be made or read.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    /// The configured key is not 32 bytes of base64.
    #[error("the credential encryption key must be 32 bytes in base64 (`openssl rand -base64 32`)")]
    BadKey,
    /// The key id is empty or contains `:`.
    #[error("the credential key id must be non-empty and without `:`")]
    BadKeyId,
    /// The value is not sealed at all.
    #[error("the stored credential is not encrypted")]
    NotSealed,
    /// Sealed with a key this server does not have.
    #[error("the stored credential was encrypted with key `{0}`, which is not configured")]
    UnknownKey(String),
    /// Damaged, tampered with, or sealed for another kind.
    #[error("the stored credential cannot be decrypted")]
    Corrupt,
}

impl Sealer {
    /// A sealer from the configured key (base64 of 32 bytes) and its id.
    pub fn new(key: &Secret, id: &str) -> Result<Self, SealError> {
        if id.is_empty() || id.contains(':') {
            return Err(SealError::BadKeyId);
        }
        let bytes = STANDARD
            .decode(key.expose().trim())
            .map_err(|_| SealError::BadKey)?;
        if bytes.len() != 32 {
            return Err(SealError::BadKey);
        }
        let unbound = UnboundKey::new(&AES_256_GCM, &bytes).map_err(|_| SealError::BadKey)?;
        Ok(Self {
            id: id.to_owned(),
            key: LessSafeKey::new(unbound),
        })
    }

    /// Encrypts a credential of a kind (`totp`, …) for storage.
    pub fn seal(&self, kind: &str, plain: &Secret) -> Result<String, SealError> {
        let nonce_bytes: [u8; NONCE_LEN] = rand::random();
        let mut data = plain.expose().as_bytes().to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce_bytes),
                Aad::from(kind.as_bytes()),
                &mut data,
            )
            .map_err(|_| SealError::Corrupt)?;
        let mut out = nonce_bytes.to_vec();
        out.extend_from_slice(&data);
        Ok(format!(
            "{PREFIX}{}:{}",
            self.id,
            URL_SAFE_NO_PAD.encode(out)
        ))
    }

    /// Decrypts a stored credential of a kind.
    pub fn open(&self, kind: &str, stored: &str) -> Result<Secret, SealError> {
        let rest = stored.strip_prefix(PREFIX).ok_or(SealError::NotSealed)?;
        let (id, body) = rest.split_once(':').ok_or(SealError::Corrupt)?;
        if id != self.id {
            return Err(SealError::UnknownKey(id.to_owned()));
        }
        let mut data = URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|_| SealError::Corrupt)?;
        if data.len() < NONCE_LEN {
            return Err(SealError::Corrupt);
        }
        let mut sealed = data.split_off(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(&data).map_err(|_| SealError::Corrupt)?;
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(kind.as_bytes()), &mut sealed)
            .map_err(|_| SealError::Corrupt)?;
        let text = String::from_utf8(plain.to_vec()).map_err(|_| SealError::Corrupt)?;
        Ok(Secret::new(text))
    }

    /// Whether a stored value is sealed (by any key).
    pub fn is_sealed(stored: &str) -> bool {
        stored.starts_with(PREFIX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sealer(id: &str) -> Sealer {
        Sealer::new(&Secret::new(STANDARD.encode([7u8; 32])), id).unwrap()
    }

    #[test]
    fn sealed_values_open_with_the_same_key_and_kind_only() {
        let a = sealer("k1");
        let stored = a.seal("totp", &Secret::new("{\"key\":\"x\"}")).unwrap();
        assert!(stored.starts_with("sealed:v1:k1:"), "{stored}");
        assert!(!stored.contains("key"), "the plain text is not visible");
        assert_eq!(a.open("totp", &stored).unwrap().expose(), "{\"key\":\"x\"}");
        assert!(matches!(
            a.open("password", &stored),
            Err(SealError::Corrupt)
        ));
        assert!(matches!(
            sealer("k2").open("totp", &stored),
            Err(SealError::UnknownKey(id)) if id == "k1"
        ));
        let other = Sealer::new(&Secret::new(STANDARD.encode([8u8; 32])), "k1").unwrap();
        assert!(matches!(
            other.open("totp", &stored),
            Err(SealError::Corrupt)
        ));
    }

    #[test]
    fn two_seals_of_one_value_differ() {
        let a = sealer("k1");
        let one = a.seal("totp", &Secret::new("same")).unwrap();
        let two = a.seal("totp", &Secret::new("same")).unwrap();
        assert_ne!(one, two, "a fresh nonce each time");
    }

    #[test]
    fn tampering_and_bad_keys_are_refused() {
        let a = sealer("k1");
        let mut stored = a.seal("totp", &Secret::new("value")).unwrap();
        let last = stored.pop().unwrap();
        stored.push(if last == 'A' { 'B' } else { 'A' });
        assert!(a.open("totp", &stored).is_err());
        assert!(matches!(a.open("totp", "{}"), Err(SealError::NotSealed)));
        assert!(matches!(
            Sealer::new(&Secret::new("c2hvcnQ="), "k1"),
            Err(SealError::BadKey)
        ));
        assert!(matches!(
            Sealer::new(&Secret::new(STANDARD.encode([1u8; 32])), "a:b"),
            Err(SealError::BadKeyId)
        ));
    }
}
