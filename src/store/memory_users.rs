//! Users held in process memory, for tests, benchmarks and embedders that keep users
//! elsewhere. Same rules as the SQLite store: one user per identifier and per legacy account.

use std::collections::HashMap;

use async_trait::async_trait;
use tokio::sync::Mutex;
use uuid::Uuid;

use super::{
    ConflictKind, ConflictPolicy, Failures, Migration, Saved, StoreError, User, UserStore,
};

/// Users in a map behind one lock; every operation is atomic.
#[derive(Debug, Default)]
pub struct MemoryUsers {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    users: HashMap<String, User>,
    passwords: HashMap<Uuid, String>,
    log: Vec<(Uuid, &'static str)>,
    failures: HashMap<String, Failures>,
}

impl MemoryUsers {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many migration-log entries were written.
    pub async fn log_len(&self) -> usize {
        self.inner.lock().await.log.len()
    }
}

#[async_trait]
impl UserStore for MemoryUsers {
    async fn find(&self, identifier: &str) -> Result<Option<User>, StoreError> {
        Ok(self.inner.lock().await.users.get(identifier).cloned())
    }

    async fn password_hash(&self, user: Uuid) -> Result<Option<String>, StoreError> {
        Ok(self.inner.lock().await.passwords.get(&user).cloned())
    }

    async fn set_password_hash(&self, user: Uuid, hash: &str, _at: i64) -> Result<(), StoreError> {
        self.inner
            .lock()
            .await
            .passwords
            .insert(user, hash.to_owned());
        Ok(())
    }

    async fn save_migration(&self, m: &Migration) -> Result<Saved, StoreError> {
        let mut inner = self.inner.lock().await;
        let holder = inner
            .users
            .values()
            .find(|u| u.legacy.as_ref() == Some(&m.legacy))
            .map(|u| u.id);
        let (event, user) = match inner.users.get(&m.identifier).cloned() {
            None if holder.is_some() => return Ok(Saved::Conflict(ConflictKind::AccountTaken)),
            None => {
                let user = User {
                    id: Uuid::now_v7(),
                    identifier: m.identifier.clone(),
                    attributes: m.attributes.clone(),
                    legacy: Some(m.legacy.clone()),
                    migrated_at: Some(m.at),
                };
                ("created", user)
            }
            Some(mut user) => {
                let other_account = user.legacy.as_ref().is_some_and(|l| l != &m.legacy);
                if other_account {
                    return Ok(Saved::Conflict(ConflictKind::OtherLegacyAccount));
                }
                if holder.is_some_and(|h| h != user.id) {
                    return Ok(Saved::Conflict(ConflictKind::AccountTaken));
                }
                match m.policy {
                    ConflictPolicy::Fail => return Ok(Saved::Conflict(ConflictKind::Exists)),
                    ConflictPolicy::Update => user.attributes.extend(m.attributes.clone()),
                    ConflictPolicy::Keep => {}
                }
                user.legacy = Some(m.legacy.clone());
                user.migrated_at = user.migrated_at.or(Some(m.at));
                ("updated", user)
            }
        };
        if let Some(hash) = &m.password_hash {
            inner.passwords.insert(user.id, hash.clone());
        }
        inner.log.push((user.id, event));
        inner.users.insert(user.identifier.clone(), user.clone());
        Ok(if event == "created" {
            Saved::Created(user)
        } else {
            Saved::Updated(user)
        })
    }

    async fn count_users(&self) -> Result<u64, StoreError> {
        Ok(self.inner.lock().await.users.len() as u64)
    }

    async fn failures(&self, key: &str) -> Result<Failures, StoreError> {
        Ok(self
            .inner
            .lock()
            .await
            .failures
            .get(key)
            .copied()
            .unwrap_or_default())
    }

    async fn add_failure(&self, key: &str, at: i64) -> Result<Failures, StoreError> {
        let mut inner = self.inner.lock().await;
        let record = inner.failures.entry(key.to_owned()).or_default();
        record.count += 1;
        record.last_at = at;
        Ok(*record)
    }

    async fn lock(&self, key: &str, until: i64) -> Result<(), StoreError> {
        self.inner
            .lock()
            .await
            .failures
            .entry(key.to_owned())
            .or_default()
            .locked_until = Some(until);
        Ok(())
    }

    async fn clear_failures(&self, key: &str) -> Result<(), StoreError> {
        self.inner.lock().await.failures.remove(key);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::conformance;

    #[tokio::test]
    async fn behaves_like_every_user_store() {
        conformance::migration_writes_user_and_credential(&MemoryUsers::new()).await;
        conformance::policies_decide_what_happens_to_an_existing_user(&MemoryUsers::new()).await;
        conformance::two_legacy_accounts_never_merge(&MemoryUsers::new()).await;
        conformance::failures_count_lock_and_clear(&MemoryUsers::new()).await;
    }
}
