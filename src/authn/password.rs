//! Local passwords: argon2id hashes with configured parameters and an optional pepper,
//! verified off the async threads, with a cap on how many hashes run at once and on how
//! many may wait, so parallel bad logins cannot exhaust memory.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use argon2::password_hash::phc::PasswordHash;
use argon2::{
    Algorithm, Argon2, KeyId, Params, ParamsBuilder, PasswordHasher, PasswordVerifier, Version,
};
use tokio::sync::Semaphore;

use super::hashes::{self, HashError};
use crate::config::PasswordSettings;
use crate::secret::Secret;

/// What verifying a password found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Verification {
    /// Whether the password is right.
    pub matches: bool,
    /// Whether the stored hash should be replaced by one with the current parameters.
    pub needs_rehash: bool,
}

/// Hashing and verifying local passwords.
#[derive(Clone, Debug)]
pub struct Passwords {
    params: Params,
    pepper: Option<Pepper>,
    gate: Arc<Gate>,
    dummy: Arc<str>,
}

/// The pepper: a secret mixed into every argon2id hash Ferry makes, kept outside the store.
/// Hashes made with it carry its id (the PHC `keyid`), so a rotated or missing pepper is
/// detected instead of failing silently.
#[derive(Clone, Debug)]
struct Pepper {
    id: String,
    secret: Secret,
}

/// Admission to hashing: `permits` run at once; at most `capacity` are running or waiting.
#[derive(Debug)]
struct Gate {
    permits: Semaphore,
    in_flight: AtomicUsize,
    capacity: usize,
    verifications: AtomicU64,
}

/// Why hashing could not be done.
#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    /// The parameters are not valid argon2 parameters.
    #[error("invalid argon2 parameters: {0}")]
    Params(String),
    /// A stored hash cannot be used.
    #[error(transparent)]
    Hash(#[from] HashError),
    /// Too many hashes are running and waiting; the caller should try again shortly.
    #[error("too many password checks are in progress")]
    Busy,
    /// The stored hash was made with a pepper this server does not have.
    #[error("the stored hash needs pepper `{0}`, which is not configured")]
    UnknownPepper(String),
    /// The hashing task died.
    #[error("the hashing task failed")]
    Task(#[from] tokio::task::JoinError),
}

impl Passwords {
    /// Sets up hashing with the configured parameters.
    pub fn new(settings: &PasswordSettings) -> Result<Self, PasswordError> {
        let pepper = settings.pepper.as_ref().filter(|p| !p.is_empty());
        let pepper = pepper.map(|secret| Pepper {
            id: settings.pepper_id.clone(),
            secret: secret.clone(),
        });
        let params = params(settings, pepper.as_ref())?;
        let dummy = hash_with(
            &params,
            pepper.as_ref(),
            rand::random::<[u8; 16]>().as_slice(),
        )?;
        let gate = Gate {
            permits: Semaphore::new(settings.max_concurrent.max(1)),
            in_flight: AtomicUsize::new(0),
            capacity: settings.max_concurrent.max(1) + settings.max_waiting,
            verifications: AtomicU64::new(0),
        };
        Ok(Self {
            params,
            pepper,
            gate: Arc::new(gate),
            dummy: dummy.into(),
        })
    }

    /// An argon2id PHC string of the password, normalised to NFC first (NIST SP 800-63B
    /// §5.1.1.2), so the same password typed on another keyboard or system still matches.
    pub async fn hash(&self, password: &Secret) -> Result<String, PasswordError> {
        let (params, pepper) = (self.params.clone(), self.pepper.clone());
        let password = nfc(password);
        self.blocking(move || hash_with(&params, pepper.as_ref(), password.expose().as_bytes()))
            .await
    }

    /// Checks a password against a stored hash of any known format.
    pub async fn verify(
        &self,
        password: &Secret,
        stored: &str,
    ) -> Result<Verification, PasswordError> {
        let needs_rehash = !self.is_current(stored);
        let (pepper, stored) = (self.pepper.clone(), stored.to_owned());
        let (normal, typed) = (nfc(password), password.clone());
        self.gate.verifications.fetch_add(1, Ordering::Relaxed);
        // The NFC form first (Ferry's own hashes); the bytes as typed only when they differ
        // from it, for hashes a legacy system made without normalising.
        let matches = self
            .blocking(move || {
                let pepper = pepper.as_ref();
                if verify_with(pepper, normal.expose().as_bytes(), &stored)? {
                    return Ok(true);
                }
                if normal.expose() == typed.expose() {
                    return Ok(false);
                }
                verify_with(pepper, typed.expose().as_bytes(), &stored)
            })
            .await?;
        Ok(Verification {
            matches,
            needs_rehash,
        })
    }

    /// Does the work of one verification for a user who has no hash, so an unknown user
    /// costs what a known one does. Always answers "no match".
    pub async fn verify_nothing(&self, password: &Secret) -> Result<Verification, PasswordError> {
        let dummy = self.dummy.clone();
        self.verify(password, &dummy).await?;
        Ok(Verification {
            matches: false,
            needs_rehash: false,
        })
    }

    /// How many verifications (real or dummy) have run: one per password checked, whether or
    /// not the user exists.
    pub fn verifications(&self) -> u64 {
        self.gate.verifications.load(Ordering::Relaxed)
    }

    /// Whether a stored hash is argon2id with the current parameters and pepper.
    pub fn is_current(&self, stored: &str) -> bool {
        let Ok(parsed) = PasswordHash::new(stored) else {
            return false;
        };
        let Ok(params) = Params::try_from(&parsed) else {
            return false;
        };
        parsed.algorithm.as_str() == "argon2id"
            && params.m_cost() == self.params.m_cost()
            && params.t_cost() == self.params.t_cost()
            && params.p_cost() == self.params.p_cost()
            && params.keyid() == self.params.keyid()
    }

    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> Result<T, PasswordError> + Send + 'static,
    ) -> Result<T, PasswordError> {
        let gate = &self.gate;
        if gate.in_flight.fetch_add(1, Ordering::AcqRel) >= gate.capacity {
            gate.in_flight.fetch_sub(1, Ordering::AcqRel);
            return Err(PasswordError::Busy);
        }
        let result = match gate.permits.acquire().await {
            Ok(_permit) => tokio::task::spawn_blocking(work)
                .await
                .map_err(PasswordError::from),
            Err(_) => Err(PasswordError::Busy),
        };
        gate.in_flight.fetch_sub(1, Ordering::AcqRel);
        result?
    }
}

fn params(settings: &PasswordSettings, pepper: Option<&Pepper>) -> Result<Params, PasswordError> {
    let invalid = |e: argon2::Error| PasswordError::Params(e.to_string());
    let mut builder = ParamsBuilder::new();
    builder
        .m_cost(settings.memory_kib)
        .t_cost(settings.iterations)
        .p_cost(settings.parallelism);
    if let Some(pepper) = pepper {
        builder.keyid(KeyId::new(pepper.id.as_bytes()).map_err(invalid)?);
    }
    builder.build().map_err(invalid)
}

fn argon2<'k>(params: &Params, pepper: Option<&'k Pepper>) -> Result<Argon2<'k>, PasswordError> {
    match pepper {
        Some(p) => Argon2::new_with_secret(
            p.secret.expose().as_bytes(),
            Algorithm::Argon2id,
            Version::V0x13,
            params.clone(),
        )
        .map_err(|e| PasswordError::Params(e.to_string())),
        None => Ok(Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            params.clone(),
        )),
    }
}

/// The password in Unicode normalisation form C.
fn nfc(password: &Secret) -> Secret {
    use unicode_normalization::UnicodeNormalization;
    Secret::new(password.expose().nfc().collect::<String>())
}

fn hash_with(
    params: &Params,
    pepper: Option<&Pepper>,
    password: &[u8],
) -> Result<String, PasswordError> {
    let hash = argon2(params, pepper)?
        .hash_password(password)
        .map_err(|_| HashError::Hashing)?;
    Ok(hash.to_string())
}

/// Verifies a stored hash: peppered argon2 hashes with the pepper their `keyid` names, any
/// other format through [`hashes::verify`].
fn verify_with(
    pepper: Option<&Pepper>,
    password: &[u8],
    stored: &str,
) -> Result<bool, PasswordError> {
    let keyid = PasswordHash::new(stored)
        .ok()
        .and_then(|parsed| Params::try_from(&parsed).ok())
        .map(|params| params.keyid().to_vec())
        .filter(|id| !id.is_empty());
    let Some(keyid) = keyid else {
        return Ok(hashes::verify(password, stored)?);
    };
    let pepper = pepper
        .filter(|p| p.id.as_bytes() == keyid.as_slice())
        .ok_or_else(|| {
            PasswordError::UnknownPepper(String::from_utf8_lossy(&keyid).into_owned())
        })?;
    let parsed = PasswordHash::new(stored).map_err(|_| HashError::Malformed("argon2"))?;
    let params = Params::try_from(&parsed).map_err(|_| HashError::Malformed("argon2"))?;
    match argon2(&params, Some(pepper))?.verify_password(password, &parsed) {
        Ok(()) => Ok(true),
        Err(argon2::password_hash::Error::PasswordInvalid) => Ok(false),
        Err(_) => Err(HashError::Malformed("argon2").into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cheap() -> PasswordSettings {
        PasswordSettings {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
            max_concurrent: 2,
            ..PasswordSettings::default()
        }
    }

    fn peppered(pepper: &str, id: &str) -> PasswordSettings {
        PasswordSettings {
            pepper: Some(Secret::new(pepper)),
            pepper_id: id.into(),
            ..cheap()
        }
    }

    #[tokio::test]
    async fn a_password_matches_in_either_normalisation_form() {
        let passwords = Passwords::new(&cheap()).unwrap();
        let (composed, decomposed) = ("caf\u{e9}-cr\u{e8}me", "cafe\u{301}-cre\u{300}me");
        let hash = passwords.hash(&Secret::new(decomposed)).await.unwrap();
        for typed in [composed, decomposed] {
            let verified = passwords.verify(&Secret::new(typed), &hash).await.unwrap();
            assert!(verified.matches, "{typed:?}");
        }
        let wrong = passwords.verify(&Secret::new("cafe-creme"), &hash).await;
        assert!(!wrong.unwrap().matches);
        // A legacy hash of the decomposed bytes, made without normalising, still verifies
        // with what the user types.
        let legacy = bcrypt::hash(decomposed, 4).unwrap();
        let verified = passwords.verify(&Secret::new(decomposed), &legacy).await;
        assert!(verified.unwrap().matches);
    }

    #[tokio::test]
    async fn hashes_verify_and_are_current() {
        let passwords = Passwords::new(&cheap()).unwrap();
        let hash = passwords.hash(&Secret::new("s3cret")).await.unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=64,t=1,p=1$"));
        let ok = passwords
            .verify(&Secret::new("s3cret"), &hash)
            .await
            .unwrap();
        assert_eq!(
            ok,
            Verification {
                matches: true,
                needs_rehash: false
            }
        );
        let wrong = passwords
            .verify(&Secret::new("S3cret"), &hash)
            .await
            .unwrap();
        assert!(!wrong.matches);
        assert_eq!(passwords.verifications(), 2);
    }

    #[tokio::test]
    async fn other_parameters_need_a_rehash() {
        let passwords = Passwords::new(&cheap()).unwrap();
        let stronger = Passwords::new(&PasswordSettings {
            memory_kib: 128,
            ..cheap()
        })
        .unwrap();
        let hash = passwords.hash(&Secret::new("x")).await.unwrap();
        assert!(
            stronger
                .verify(&Secret::new("x"), &hash)
                .await
                .unwrap()
                .needs_rehash
        );
    }

    #[tokio::test]
    async fn nothing_never_matches() {
        let passwords = Passwords::new(&cheap()).unwrap();
        assert!(
            !passwords
                .verify_nothing(&Secret::new(""))
                .await
                .unwrap()
                .matches
        );
    }

    #[tokio::test]
    async fn a_peppered_hash_needs_its_pepper() {
        let with = Passwords::new(&peppered("pepper-one", "p1")).unwrap();
        let hash = with.hash(&Secret::new("pw")).await.unwrap();
        assert!(hash.contains(",keyid="), "{hash}");
        assert!(
            with.verify(&Secret::new("pw"), &hash)
                .await
                .unwrap()
                .matches
        );
        let other_pepper = Passwords::new(&peppered("pepper-two", "p1")).unwrap();
        assert!(
            !other_pepper
                .verify(&Secret::new("pw"), &hash)
                .await
                .unwrap()
                .matches
        );
        let without = Passwords::new(&cheap()).unwrap();
        assert!(matches!(
            without.verify(&Secret::new("pw"), &hash).await,
            Err(PasswordError::UnknownPepper(_))
        ));
    }

    #[tokio::test]
    async fn an_unpeppered_hash_verifies_and_is_upgraded_once_a_pepper_is_set() {
        let plain = Passwords::new(&cheap())
            .unwrap()
            .hash(&Secret::new("pw"))
            .await
            .unwrap();
        let with = Passwords::new(&peppered("pepper-one", "p1")).unwrap();
        let verified = with.verify(&Secret::new("pw"), &plain).await.unwrap();
        assert_eq!(
            verified,
            Verification {
                matches: true,
                needs_rehash: true
            }
        );
    }

    #[tokio::test]
    async fn a_full_queue_answers_busy_instead_of_waiting() {
        let settings = PasswordSettings {
            memory_kib: 8 * 1024,
            iterations: 3,
            max_concurrent: 1,
            max_waiting: 1,
            ..cheap()
        };
        let passwords = Passwords::new(&settings).unwrap();
        let mut attempts = tokio::task::JoinSet::new();
        for _ in 0..8 {
            let passwords = passwords.clone();
            attempts.spawn(async move { passwords.hash(&Secret::new("x")).await });
        }
        let results = attempts.join_all().await;
        let busy = results
            .iter()
            .filter(|r| matches!(r, Err(PasswordError::Busy)))
            .count();
        assert_eq!(
            results.len() - busy,
            2,
            "one running and one waiting are served"
        );
        assert_eq!(busy, 6);
    }
}
