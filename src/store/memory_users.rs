//! Users held in process memory, for tests, benchmarks and embedders that keep users
//! elsewhere. Same rules as the SQLite store, from the same planner ([`plan`]): one user per
//! identifier and per legacy account.

use std::collections::{BTreeMap, HashMap};

use async_trait::async_trait;
use tokio::sync::Mutex;
use uuid::Uuid;

use super::plan::{self, Known, Plan};
use super::{
    Batch, Checkpoint, CredentialKind, Failures, Memberships, Migration, Progress, PromptState,
    Saved, SourceProgress, StoreError, StoredCredential, User, UserStore,
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
    totps: HashMap<Uuid, String>,
    passkeys: HashMap<Uuid, String>,
    emails: HashMap<Uuid, String>,
    phones: HashMap<Uuid, String>,
    roles: HashMap<Uuid, Vec<String>>,
    groups: HashMap<Uuid, Vec<String>>,
    log: Vec<Logged>,
    failures: HashMap<String, Failures>,
    checkpoints: HashMap<String, Checkpoint>,
    last_used: HashMap<(Uuid, CredentialKind), i64>,
    prompts: HashMap<Uuid, BTreeMap<String, PromptState>>,
}

/// A migration log entry: `created` or `updated`, the method, and when.
#[derive(Debug)]
struct Logged {
    event: &'static str,
    method: String,
    at: i64,
}

impl Inner {
    fn credentials(&mut self, kind: CredentialKind) -> &mut HashMap<Uuid, String> {
        match kind {
            CredentialKind::Password => &mut self.passwords,
            CredentialKind::Totp => &mut self.totps,
            CredentialKind::Passkey => &mut self.passkeys,
            CredentialKind::Email => &mut self.emails,
            CredentialKind::Sms => &mut self.phones,
        }
    }

    /// The users a batch touches, as the planner needs them.
    fn known(&self, migrations: &[Migration]) -> Known {
        let mut known = Known::default();
        for m in migrations {
            if let Some(user) = self.users.get(&m.identifier) {
                known
                    .by_identifier
                    .insert(user.identifier.clone(), user.clone());
            }
        }
        let wanted: std::collections::HashSet<_> = migrations
            .iter()
            .map(|m| (m.legacy.idp.as_str(), m.legacy.subject.as_str()))
            .collect();
        for user in self.users.values() {
            let Some(l) = &user.legacy else { continue };
            if wanted.contains(&(l.idp.as_str(), l.subject.as_str())) {
                known
                    .holders
                    .insert((l.idp.clone(), l.subject.clone()), user.id);
            }
        }
        known
    }

    fn apply(&mut self, plan: &Plan, migrations: &[Migration]) {
        for write in &plan.writes {
            self.users
                .insert(write.user.identifier.clone(), write.user.clone());
        }
        for (user, credential) in &plan.credentials {
            let map = self.credentials(credential.kind);
            if credential.replace || !map.contains_key(user) {
                map.insert(*user, credential.secret.clone());
                self.last_used.remove(&(*user, credential.kind));
            }
        }
        for (user, roles) in &plan.roles {
            self.roles.insert(*user, roles.clone());
        }
        for (user, groups) in &plan.groups {
            self.groups.insert(*user, groups.clone());
        }
        self.log.extend(plan.log.iter().filter_map(|entry| {
            let m = migrations.get(entry.index)?;
            Some(Logged {
                event: entry.event,
                method: m.method.clone(),
                at: m.at,
            })
        }));
    }
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
        let batch = Batch {
            migrations: std::slice::from_ref(m),
            checkpoint: None,
            dry_run: false,
        };
        let mut saved = self.save_batch(batch).await?;
        saved.pop().ok_or(StoreError::Corrupt {
            what: "batch outcome",
        })
    }

    async fn save_batch(&self, batch: Batch<'_>) -> Result<Vec<Saved>, StoreError> {
        let mut inner = self.inner.lock().await;
        let known = inner.known(batch.migrations);
        let plan = plan::plan(batch.migrations, known, Uuid::now_v7);
        if batch.dry_run {
            return Ok(plan.outcomes);
        }
        inner.apply(&plan, batch.migrations);
        if let Some(checkpoint) = batch.checkpoint {
            inner
                .checkpoints
                .insert(checkpoint.import.clone(), checkpoint.clone());
        }
        Ok(plan.outcomes)
    }

    async fn checkpoint(&self, import: &str) -> Result<Option<Checkpoint>, StoreError> {
        Ok(self.inner.lock().await.checkpoints.get(import).cloned())
    }

    async fn set_checkpoint(&self, checkpoint: &Checkpoint, _at: i64) -> Result<(), StoreError> {
        self.inner
            .lock()
            .await
            .checkpoints
            .insert(checkpoint.import.clone(), checkpoint.clone());
        Ok(())
    }

    async fn memberships(&self, user: Uuid) -> Result<Memberships, StoreError> {
        let inner = self.inner.lock().await;
        let sorted = |map: &HashMap<Uuid, Vec<String>>| {
            let mut names = map.get(&user).cloned().unwrap_or_default();
            names.sort();
            names
        };
        Ok(Memberships {
            roles: sorted(&inner.roles),
            groups: sorted(&inner.groups),
        })
    }

    async fn count_users(&self) -> Result<u64, StoreError> {
        Ok(self.inner.lock().await.users.len() as u64)
    }

    async fn progress(&self, since: i64) -> Result<Progress, StoreError> {
        let inner = self.inner.lock().await;
        let mut sources: BTreeMap<String, SourceProgress> = BTreeMap::new();
        for user in inner.users.values() {
            let source = user.legacy.as_ref().map_or("", |l| l.idp.as_str());
            let entry = sources
                .entry(source.to_owned())
                .or_insert_with(|| SourceProgress {
                    source: source.to_owned(),
                    ..SourceProgress::default()
                });
            entry.users += 1;
            entry.migrated += u64::from(user.migrated_at.is_some());
        }
        let mut created_by: BTreeMap<String, u64> = BTreeMap::new();
        let created = inner.log.iter().filter(|l| l.event == "created");
        for logged in created.clone() {
            *created_by.entry(logged.method.clone()).or_default() += 1;
        }
        let mut imports: Vec<Checkpoint> = inner.checkpoints.values().cloned().collect();
        imports.sort_by(|a, b| a.import.cmp(&b.import));
        let by_source: Vec<SourceProgress> = sources.into_values().collect();
        let users = by_source.iter().map(|s| s.users).sum();
        let migrated = by_source.iter().map(|s| s.migrated).sum();
        Ok(Progress {
            users,
            migrated,
            pending: users - migrated,
            by_source,
            created_by,
            created_since: created.filter(|l| l.at >= since).count() as u64,
            last_at: inner.log.iter().map(|l| l.at).max(),
            imports,
        })
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

    async fn restart_stale(&self, key: &str, now: i64, idle_before: i64) -> Result<(), StoreError> {
        let mut inner = self.inner.lock().await;
        let stale = inner
            .failures
            .get(key)
            .is_some_and(|f| match f.locked_until {
                Some(until) => until <= now,
                None => f.last_at < idle_before,
            });
        if stale {
            inner.failures.remove(key);
        }
        Ok(())
    }

    async fn credential(
        &self,
        user: Uuid,
        kind: CredentialKind,
    ) -> Result<Option<StoredCredential>, StoreError> {
        let mut inner = self.inner.lock().await;
        let last_used = inner.last_used.get(&(user, kind)).copied();
        Ok(inner
            .credentials(kind)
            .get(&user)
            .map(|secret| StoredCredential {
                secret: secret.clone(),
                last_used,
            }))
    }

    async fn credential_kinds(&self, user: Uuid) -> Result<Vec<CredentialKind>, StoreError> {
        let mut inner = self.inner.lock().await;
        let mut kinds = Vec::new();
        for kind in CredentialKind::ALL {
            if inner.credentials(*kind).contains_key(&user) {
                kinds.push(*kind);
            }
        }
        Ok(kinds)
    }

    async fn set_credential(
        &self,
        user: Uuid,
        kind: CredentialKind,
        credential: &StoredCredential,
        _at: i64,
    ) -> Result<(), StoreError> {
        let mut inner = self.inner.lock().await;
        inner
            .credentials(kind)
            .insert(user, credential.secret.clone());
        match credential.last_used {
            Some(used) => inner.last_used.insert((user, kind), used),
            None => inner.last_used.remove(&(user, kind)),
        };
        Ok(())
    }

    async fn use_credential(
        &self,
        user: Uuid,
        kind: CredentialKind,
        counter: i64,
    ) -> Result<bool, StoreError> {
        let mut inner = self.inner.lock().await;
        if !inner.credentials(kind).contains_key(&user) {
            return Ok(false);
        }
        let last = inner.last_used.get(&(user, kind)).copied();
        if last.is_some_and(|l| l >= counter) {
            return Ok(false);
        }
        inner.last_used.insert((user, kind), counter);
        Ok(true)
    }

    async fn prompt_states(&self, user: Uuid) -> Result<Vec<PromptState>, StoreError> {
        let inner = self.inner.lock().await;
        Ok(inner
            .prompts
            .get(&user)
            .map(|p| p.values().cloned().collect())
            .unwrap_or_default())
    }

    async fn save_prompt_state(&self, user: Uuid, state: &PromptState) -> Result<(), StoreError> {
        self.inner
            .lock()
            .await
            .prompts
            .entry(user)
            .or_default()
            .insert(state.prompt.clone(), state.clone());
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
        conformance::batches_follow_the_rules_in_order(&MemoryUsers::new()).await;
        conformance::credential_uses_only_move_forward(&MemoryUsers::new()).await;
        conformance::prompt_states_are_kept_per_user_and_prompt(&MemoryUsers::new()).await;
        conformance::progress_counts_users_methods_and_imports(&MemoryUsers::new()).await;
    }
}
