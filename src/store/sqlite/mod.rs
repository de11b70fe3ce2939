//! The embedded user store: SQLite through sqlx, schema applied by embedded migrations.
//! Migrations are written in batches ([`batch`]) whose rules come from [`super::plan`].

mod authenticators;
mod batch;
mod progress;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Map, Value as Json};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow};
use sqlx::{Row, SqliteConnection, SqlitePool};
use uuid::Uuid;

use super::{
    Batch, Checkpoint, CredentialKind, Failures, LegacyAccount, Memberships, Migration, Progress,
    PromptState, Saved, StoreError, StoredCredential, User, UserStore,
};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// Users in a SQLite database file.
#[derive(Clone, Debug)]
pub struct SqliteUsers {
    pool: SqlitePool,
}

const USER_COLUMNS: &str =
    "id, identifier, attributes, migration_source, legacy_provider, legacy_subject, migrated_at";

impl SqliteUsers {
    /// Opens (creating if needed) the database file and brings its schema up to date.
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        Self::with_options(options, 4).await
    }

    /// Opens a database from a `sqlite:` URL.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        Self::with_options(options, if in_memory { 1 } else { 4 }).await
    }

    async fn with_options(
        options: SqliteConnectOptions,
        connections: u32,
    ) -> Result<Self, StoreError> {
        let pool = SqlitePoolOptions::new()
            .max_connections(connections)
            .connect_with(options)
            .await?;
        MIGRATOR.run(&pool).await?;
        Ok(Self { pool })
    }

    /// The pool, for tests and tools that read the tables directly.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

#[async_trait]
impl UserStore for SqliteUsers {
    async fn find(&self, identifier: &str) -> Result<Option<User>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS} FROM users WHERE identifier = ?"
        ));
        let row = sqlx::query(sql)
            .bind(identifier)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| user_from_row(&r)).transpose()
    }

    async fn password_hash(&self, user: Uuid) -> Result<Option<String>, StoreError> {
        let sql = "SELECT secret FROM credentials WHERE user_id = ? AND kind = 'password'";
        let hash = sqlx::query_scalar(sql)
            .bind(user.to_string())
            .fetch_optional(&self.pool)
            .await?;
        Ok(hash)
    }

    async fn set_password_hash(&self, user: Uuid, hash: &str, at: i64) -> Result<(), StoreError> {
        let mut conn = self.pool.acquire().await?;
        upsert_password(&mut conn, &user.to_string(), hash, at).await
    }

    async fn save_migration(&self, migration: &Migration) -> Result<Saved, StoreError> {
        let batch = Batch {
            migrations: std::slice::from_ref(migration),
            checkpoint: None,
            dry_run: false,
        };
        let mut saved = self.save_batch(batch).await?;
        saved.pop().ok_or(StoreError::Corrupt {
            what: "batch outcome",
        })
    }

    async fn save_batch(&self, batch: Batch<'_>) -> Result<Vec<Saved>, StoreError> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let outcomes = batch::save(&mut tx, batch).await?;
        let wrote = outcomes.iter().any(|s| !matches!(s, Saved::Conflict(_)));
        if batch.dry_run || !(wrote || batch.checkpoint.is_some()) {
            tx.rollback().await?;
        } else {
            tx.commit().await?;
        }
        Ok(outcomes)
    }

    async fn count_users(&self) -> Result<u64, StoreError> {
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
            .fetch_one(&self.pool)
            .await?;
        Ok(count.max(0) as u64)
    }

    async fn progress(&self, since: i64) -> Result<Progress, StoreError> {
        progress::read(&self.pool, since).await
    }

    async fn failures(&self, key: &str) -> Result<Failures, StoreError> {
        let sql = "SELECT count, last_at, locked_until FROM login_failures WHERE key = ?";
        let row = sqlx::query(sql)
            .bind(key)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| failures_from_row(&r))
            .transpose()
            .map(Option::unwrap_or_default)
    }

    async fn add_failure(&self, key: &str, at: i64) -> Result<Failures, StoreError> {
        let sql = "INSERT INTO login_failures (key, count, last_at) VALUES (?, 1, ?) \
                   ON CONFLICT (key) DO UPDATE SET count = count + 1, last_at = excluded.last_at \
                   RETURNING count, last_at, locked_until";
        let row = sqlx::query(sql)
            .bind(key)
            .bind(at)
            .fetch_one(&self.pool)
            .await?;
        failures_from_row(&row)
    }

    async fn lock(&self, key: &str, until: i64) -> Result<(), StoreError> {
        let sql = "INSERT INTO login_failures (key, count, last_at, locked_until) VALUES (?, 0, 0, ?) \
                   ON CONFLICT (key) DO UPDATE SET locked_until = excluded.locked_until";
        sqlx::query(sql)
            .bind(key)
            .bind(until)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn clear_failures(&self, key: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM login_failures WHERE key = ?")
            .bind(key)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn restart_stale(&self, key: &str, now: i64, idle_before: i64) -> Result<(), StoreError> {
        let sql = "DELETE FROM login_failures WHERE key = ? AND (locked_until <= ? \
                   OR (locked_until IS NULL AND last_at < ?))";
        sqlx::query(sql)
            .bind(key)
            .bind(now)
            .bind(idle_before)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn checkpoint(&self, import: &str) -> Result<Option<Checkpoint>, StoreError> {
        let row = sqlx::query("SELECT source, position, finished_at FROM imports WHERE name = ?")
            .bind(import)
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let position: i64 = row.try_get("position")?;
        let finished: Option<i64> = row.try_get("finished_at")?;
        Ok(Some(Checkpoint {
            import: import.to_owned(),
            source: row.try_get("source")?,
            position: position.max(0) as u64,
            finished: finished.is_some(),
        }))
    }

    async fn set_checkpoint(&self, checkpoint: &Checkpoint, at: i64) -> Result<(), StoreError> {
        let mut conn = self.pool.acquire().await?;
        batch::write_checkpoint(&mut conn, checkpoint, at).await
    }

    async fn memberships(&self, user: Uuid) -> Result<Memberships, StoreError> {
        let id = user.to_string();
        let roles =
            sqlx::query_scalar("SELECT role FROM user_roles WHERE user_id = ? ORDER BY role")
                .bind(&id)
                .fetch_all(&self.pool)
                .await?;
        let groups = sqlx::query_scalar(
            "SELECT group_name FROM user_groups WHERE user_id = ? ORDER BY group_name",
        )
        .bind(&id)
        .fetch_all(&self.pool)
        .await?;
        Ok(Memberships { roles, groups })
    }

    async fn credential(
        &self,
        user: Uuid,
        kind: CredentialKind,
    ) -> Result<Option<StoredCredential>, StoreError> {
        authenticators::credential(&self.pool, user, kind).await
    }

    async fn credential_kinds(&self, user: Uuid) -> Result<Vec<CredentialKind>, StoreError> {
        authenticators::kinds(&self.pool, user).await
    }

    async fn set_credential(
        &self,
        user: Uuid,
        kind: CredentialKind,
        credential: &StoredCredential,
        at: i64,
    ) -> Result<(), StoreError> {
        authenticators::set(&self.pool, user, kind, credential, at).await
    }

    async fn use_credential(
        &self,
        user: Uuid,
        kind: CredentialKind,
        counter: i64,
    ) -> Result<bool, StoreError> {
        authenticators::use_counter(&self.pool, user, kind, counter).await
    }

    async fn prompt_states(&self, user: Uuid) -> Result<Vec<PromptState>, StoreError> {
        authenticators::prompt_states(&self.pool, user).await
    }

    async fn save_prompt_state(&self, user: Uuid, state: &PromptState) -> Result<(), StoreError> {
        authenticators::save_prompt_state(&self.pool, user, state).await
    }
}

fn failures_from_row(row: &SqliteRow) -> Result<Failures, StoreError> {
    let count: i64 = row.try_get("count")?;
    Ok(Failures {
        count: u32::try_from(count).unwrap_or(u32::MAX),
        last_at: row.try_get("last_at")?,
        locked_until: row.try_get("locked_until")?,
    })
}

async fn upsert_password(
    conn: &mut SqliteConnection,
    user_id: &str,
    hash: &str,
    at: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO credentials (user_id, kind, secret, created_at, updated_at) \
         VALUES (?, 'password', ?, ?, ?) \
         ON CONFLICT (user_id) WHERE kind = 'password' DO UPDATE SET secret = excluded.secret, \
         updated_at = excluded.updated_at",
    )
    .bind(user_id)
    .bind(hash)
    .bind(at)
    .bind(at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

fn user_from_row(row: &SqliteRow) -> Result<User, StoreError> {
    let corrupt = |what| StoreError::Corrupt { what };
    let id: String = row.try_get("id")?;
    let attributes: String = row.try_get("attributes")?;
    let attributes: Map<String, Json> =
        serde_json::from_str(&attributes).map_err(|_| corrupt("user's attributes"))?;
    let source: Option<String> = row.try_get("migration_source")?;
    let provider: Option<String> = row.try_get("legacy_provider")?;
    let subject: Option<String> = row.try_get("legacy_subject")?;
    let legacy = match (source, provider, subject) {
        (Some(idp), Some(provider), Some(subject)) => Some(LegacyAccount {
            idp,
            provider,
            subject,
        }),
        _ => None,
    };
    Ok(User {
        id: Uuid::parse_str(&id).map_err(|_| corrupt("user id"))?,
        identifier: row.try_get("identifier")?,
        attributes,
        legacy,
        migrated_at: row.try_get("migrated_at")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::conformance;

    async fn store() -> (tempfile::TempDir, SqliteUsers) {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteUsers::open(&dir.path().join("users.db"))
            .await
            .unwrap();
        (dir, store)
    }

    #[tokio::test]
    async fn a_migration_writes_user_credential_and_log_together() {
        let (_dir, store) = store().await;
        let user = conformance::migration_writes_user_and_credential(&store).await;
        let logged: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM migration_log WHERE user_id = ?")
                .bind(user.id.to_string())
                .fetch_one(store.pool())
                .await
                .unwrap();
        assert_eq!(logged, 1);
    }

    #[tokio::test]
    async fn policies_decide_what_happens_to_an_existing_user() {
        let (_dir, store) = store().await;
        conformance::policies_decide_what_happens_to_an_existing_user(&store).await;
    }

    #[tokio::test]
    async fn two_legacy_accounts_never_merge() {
        let (_dir, store) = store().await;
        conformance::two_legacy_accounts_never_merge(&store).await;
    }

    #[tokio::test]
    async fn batches_follow_the_rules_in_order() {
        let (_dir, store) = store().await;
        conformance::batches_follow_the_rules_in_order(&store).await;
    }

    #[tokio::test]
    async fn failures_count_lock_and_clear() {
        let (_dir, store) = store().await;
        conformance::failures_count_lock_and_clear(&store).await;
    }

    #[tokio::test]
    async fn credentials_count_uses_and_prompts_keep_their_state() {
        let (_dir, store) = store().await;
        conformance::credential_uses_only_move_forward(&store).await;
        let (_other, store) = super::tests::store().await;
        conformance::prompt_states_are_kept_per_user_and_prompt(&store).await;
    }

    #[tokio::test]
    async fn progress_counts_users_methods_and_imports() {
        let (_dir, store) = store().await;
        conformance::progress_counts_users_methods_and_imports(&store).await;
    }
}
