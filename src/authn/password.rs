//! Local passwords: argon2id hashes with configured parameters, verified off the async
//! threads, with a cap on how many hashes run at once.

use std::sync::Arc;

use argon2::password_hash::phc::PasswordHash;
use argon2::{Algorithm, Argon2, Params, PasswordHasher, Version};
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
    permits: Arc<Semaphore>,
    dummy: Arc<str>,
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
    /// The hashing task died.
    #[error("the hashing task failed")]
    Task(#[from] tokio::task::JoinError),
}

impl Passwords {
    /// Sets up hashing with the configured parameters.
    pub fn new(settings: &PasswordSettings) -> Result<Self, PasswordError> {
        let params = Params::new(
            settings.memory_kib,
            settings.iterations,
            settings.parallelism,
            None,
        )
        .map_err(|e| PasswordError::Params(e.to_string()))?;
        let hasher = argon2(&params);
        let dummy = hasher
            .hash_password(rand::random::<[u8; 16]>().as_slice())
            .map_err(|_| PasswordError::Hash(HashError::Hashing))?
            .to_string();
        let permits = Arc::new(Semaphore::new(settings.max_concurrent.max(1)));
        Ok(Self {
            params,
            permits,
            dummy: dummy.into(),
        })
    }

    /// An argon2id PHC string of the password.
    pub async fn hash(&self, password: &Secret) -> Result<String, PasswordError> {
        let params = self.params.clone();
        let password = password.clone();
        self.blocking(move || {
            argon2(&params)
                .hash_password(password.expose().as_bytes())
                .map(|h| h.to_string())
                .map_err(|_| PasswordError::Hash(HashError::Hashing))
        })
        .await
    }

    /// Checks a password against a stored hash of any known format.
    pub async fn verify(
        &self,
        password: &Secret,
        stored: &str,
    ) -> Result<Verification, PasswordError> {
        let needs_rehash = !self.is_current(stored);
        let password = password.clone();
        let stored = stored.to_owned();
        let matches = self
            .blocking(move || Ok(hashes::verify(password.expose().as_bytes(), &stored)?))
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

    /// Whether a stored hash is argon2id with the current parameters.
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
    }

    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> Result<T, PasswordError> + Send + 'static,
    ) -> Result<T, PasswordError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| PasswordError::Hash(HashError::Hashing))?;
        tokio::task::spawn_blocking(work).await?
    }
}

fn argon2(params: &Params) -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cheap() -> Passwords {
        Passwords::new(&PasswordSettings {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
            max_concurrent: 2,
        })
        .unwrap()
    }

    #[tokio::test]
    async fn hashes_verify_and_are_current() {
        let passwords = cheap();
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
    }

    #[tokio::test]
    async fn other_parameters_need_a_rehash() {
        let passwords = cheap();
        let stronger = Passwords::new(&PasswordSettings {
            memory_kib: 128,
            ..PasswordSettings::default()
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
        let passwords = cheap();
        assert!(
            !passwords
                .verify_nothing(&Secret::new(""))
                .await
                .unwrap()
                .matches
        );
    }
}
