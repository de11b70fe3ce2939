//! The scale-out user store: PostgreSQL through sqlx, shared by every `ferry serve` node and
//! `ferry import`. Same tables and rules as the SQLite store ([`super::plan`] decides every
//! batch); the schema comes from the embedded migrations in `migrations/postgres/`.

mod authenticators;
mod batch;
mod progress;

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Map, Value as Json};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgRow};
use sqlx::{PgPool, Row};
use uuid::Uuid;

use super::{
    Batch, Checkpoint, CredentialKind, Failures, LegacyAccount, Memberships, Migration,
    PromptState, Saved, StoreError, StoredCredential, User, UserStore,
};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// Connections each process keeps open at most.
const MAX_CONNECTIONS: u32 = 10;

/// How long a request waits for a free connection before the store counts as down.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// Users in a PostgreSQL database, shared by every node that points at it.
#[derive(Clone, Debug)]
pub struct PostgresUsers {
    pool: PgPool,
}

/// The user columns every read selects, as text where Rust reads text.
const USER_COLUMNS: &str = "id::text AS id, identifier, attributes::text AS attributes, \
     migration_source, legacy_provider, legacy_subject, migrated_at";

impl PostgresUsers {
    /// Connects to a `postgres://` or `postgresql://` URL and brings the schema up to date.
    /// The URL may choose the schema (`?options[search_path]=ferry`).
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let options = PgConnectOptions::from_str(url)?;
        Self::connect_with(options).await
    }

    /// Connects with ready-made options and brings the schema up to date.
    pub async fn connect_with(options: PgConnectOptions) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options)
            .await?;
        MIGRATOR.run(&pool).await?;
        Ok(Self { pool })
    }

    /// The pool, for tests and tools that read the tables directly.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Whether a URL names a PostgreSQL database.
    pub fn handles(url: &str) -> bool {
        url.starts_with("postgres://") || url.starts_with("postgresql://")
    }
}

#[async_trait]
impl UserStore for PostgresUsers {
    async fn find(&self, identifier: &str) -> Result<Option<User>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS} FROM users WHERE identifier = $1"
        ));
        let row = sqlx::query(sql)
            .bind(identifier)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| user_from_row(&r)).transpose()
    }

    async fn password_hash(&self, user: Uuid) -> Result<Option<String>, StoreError> {
        let sql = "SELECT secret FROM credentials WHERE user_id = $1::uuid AND kind = 'password'";
        let hash = sqlx::query_scalar(sql)
            .bind(user.to_string())
            .fetch_optional(&self.pool)
            .await?;
        Ok(hash)
    }

    async fn set_password_hash(&self, user: Uuid, hash: &str, at: i64) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO credentials (user_id, kind, secret, created_at, updated_at) \
             VALUES ($1::uuid, 'password', $2, $3, $3) \
             ON CONFLICT (user_id, kind) DO UPDATE SET secret = excluded.secret, \
             updated_at = excluded.updated_at",
        )
        .bind(user.to_string())
        .bind(hash)
        .bind(at)
        .execute(&self.pool)
        .await?;
        Ok(())
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
        batch::save_with_retries(&self.pool, batch).await
    }

    async fn count_users(&self) -> Result<u64, StoreError> {
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
            .fetch_one(&self.pool)
            .await?;
        Ok(count.max(0) as u64)
    }

    async fn failures(&self, key: &str) -> Result<Failures, StoreError> {
        let sql = "SELECT count, last_at, locked_until FROM login_failures WHERE key = $1";
        let row = sqlx::query(sql)
            .bind(key)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| failures_from_row(&r))
            .transpose()
            .map(Option::unwrap_or_default)
    }

    async fn progress(&self, since: i64) -> Result<super::Progress, StoreError> {
        progress::read(&self.pool, since).await
    }

    async fn add_failure(&self, key: &str, at: i64) -> Result<Failures, StoreError> {
        let sql = "INSERT INTO login_failures (key, count, last_at) VALUES ($1, 1, $2) \
                   ON CONFLICT (key) DO UPDATE SET count = login_failures.count + 1, \
                   last_at = excluded.last_at \
                   RETURNING count, last_at, locked_until";
        let row = sqlx::query(sql)
            .bind(key)
            .bind(at)
            .fetch_one(&self.pool)
            .await?;
        failures_from_row(&row)
    }

    async fn lock(&self, key: &str, until: i64) -> Result<(), StoreError> {
        let sql = "INSERT INTO login_failures (key, count, last_at, locked_until) \
                   VALUES ($1, 0, 0, $2) \
                   ON CONFLICT (key) DO UPDATE SET locked_until = excluded.locked_until";
        sqlx::query(sql)
            .bind(key)
            .bind(until)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn clear_failures(&self, key: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM login_failures WHERE key = $1")
            .bind(key)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn restart_stale(&self, key: &str, now: i64, idle_before: i64) -> Result<(), StoreError> {
        let sql = "DELETE FROM login_failures WHERE key = $1 AND (locked_until <= $2 \
                   OR (locked_until IS NULL AND last_at < $3))";
        sqlx::query(sql)
            .bind(key)
            .bind(now)
            .bind(idle_before)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn checkpoint(&self, import: &str) -> Result<Option<Checkpoint>, StoreError> {
        let sql = "SELECT source, position, finished_at FROM imports WHERE name = $1";
        let row = sqlx::query(sql)
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
        let roles = sqlx::query_scalar(
            "SELECT role FROM user_roles WHERE user_id = $1::uuid ORDER BY role COLLATE \"C\"",
        )
        .bind(&id)
        .fetch_all(&self.pool)
        .await?;
        let groups = sqlx::query_scalar(
            "SELECT group_name FROM user_groups WHERE user_id = $1::uuid \
             ORDER BY group_name COLLATE \"C\"",
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

fn failures_from_row(row: &PgRow) -> Result<Failures, StoreError> {
    let count: i64 = row.try_get("count")?;
    Ok(Failures {
        count: u32::try_from(count).unwrap_or(u32::MAX),
        last_at: row.try_get("last_at")?,
        locked_until: row.try_get("locked_until")?,
    })
}

fn user_from_row(row: &PgRow) -> Result<User, StoreError> {
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
    use std::sync::Arc;

    use super::*;
    use crate::store::conformance::{self, migration};
    use crate::store::testing::PgSchema;
    use crate::store::{ConflictKind, ConflictPolicy};

    async fn store(schema: &PgSchema) -> PostgresUsers {
        PostgresUsers::connect(&schema.url).await.unwrap()
    }

    async fn log_rows(store: &PostgresUsers) -> i64 {
        sqlx::query_scalar("SELECT COUNT(*) FROM migration_log")
            .fetch_one(store.pool())
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn a_migration_writes_user_credential_and_log_together() {
        let Some(schema) = PgSchema::create().await else {
            return;
        };
        let store = store(&schema).await;
        conformance::migration_writes_user_and_credential(&store).await;
        assert_eq!(log_rows(&store).await, 1);
    }

    #[tokio::test]
    async fn policies_decide_what_happens_to_an_existing_user() {
        let Some(schema) = PgSchema::create().await else {
            return;
        };
        conformance::policies_decide_what_happens_to_an_existing_user(&store(&schema).await).await;
    }

    #[tokio::test]
    async fn two_legacy_accounts_never_merge() {
        let Some(schema) = PgSchema::create().await else {
            return;
        };
        conformance::two_legacy_accounts_never_merge(&store(&schema).await).await;
    }

    #[tokio::test]
    async fn batches_follow_the_rules_in_order() {
        let Some(schema) = PgSchema::create().await else {
            return;
        };
        conformance::batches_follow_the_rules_in_order(&store(&schema).await).await;
    }

    #[tokio::test]
    async fn failures_count_lock_and_clear() {
        let Some(schema) = PgSchema::create().await else {
            return;
        };
        conformance::failures_count_lock_and_clear(&store(&schema).await).await;
    }

    #[tokio::test]
    async fn credentials_count_uses_and_prompts_keep_their_state() {
        let Some(schema) = PgSchema::create().await else {
            return;
        };
        conformance::credential_uses_only_move_forward(&store(&schema).await).await;
        let Some(other) = PgSchema::create().await else {
            return;
        };
        conformance::prompt_states_are_kept_per_user_and_prompt(&store(&other).await).await;
    }

    #[tokio::test]
    async fn progress_counts_users_methods_and_imports() {
        let Some(schema) = PgSchema::create().await else {
            return;
        };
        conformance::progress_counts_users_methods_and_imports(&store(&schema).await).await;
    }

    #[tokio::test]
    async fn migrating_twice_is_harmless() {
        let Some(schema) = PgSchema::create().await else {
            return;
        };
        let first = store(&schema).await;
        first
            .save_migration(&migration("ann", "a1", ConflictPolicy::Update))
            .await
            .unwrap();
        let again = store(&schema).await;
        assert_eq!(again.count_users().await.unwrap(), 1);
    }

    /// Two nodes (two pools) racing first logins of one user: exactly one creates it, the
    /// others find it and update it; a second identifier racing for the same legacy account
    /// gets nothing.
    #[tokio::test]
    async fn racing_first_logins_on_two_nodes_create_one_user() {
        let Some(schema) = PgSchema::create().await else {
            return;
        };
        let nodes = [
            Arc::new(store(&schema).await),
            Arc::new(store(&schema).await),
        ];
        let mut logins = tokio::task::JoinSet::new();
        for i in 0..12 {
            let node = nodes[i % 2].clone();
            let identifier = if i % 3 == 2 { "zoe.alias" } else { "zoe" };
            let m = migration(identifier, "z1", ConflictPolicy::Update);
            logins.spawn(async move { node.save_migration(&m).await.unwrap() });
        }
        let saved = logins.join_all().await;
        let created: Vec<_> = saved
            .iter()
            .filter_map(|s| match s {
                Saved::Created(user) => Some(user.identifier.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(created.len(), 1, "{saved:?}");
        let winner = &created[0];
        for s in &saved {
            match s {
                Saved::Created(_) => {}
                Saved::Updated(user) => assert_eq!(&user.identifier, winner),
                Saved::Conflict(kind) => {
                    assert_eq!(*kind, ConflictKind::AccountTaken, "{saved:?}")
                }
            }
        }
        assert_eq!(nodes[0].count_users().await.unwrap(), 1);
        let written = saved
            .iter()
            .filter(|s| !matches!(s, Saved::Conflict(_)))
            .count();
        assert_eq!(log_rows(&nodes[1]).await, written as i64);
    }

    /// A batch whose last write fails leaves no trace: no user, no log row, no checkpoint.
    #[tokio::test]
    async fn a_failing_batch_writes_nothing() {
        let Some(schema) = PgSchema::create().await else {
            return;
        };
        let store = store(&schema).await;
        sqlx::query("ALTER TABLE migration_log ADD CONSTRAINT no_boom CHECK (journey <> 'boom')")
            .execute(store.pool())
            .await
            .unwrap();
        let mut bad = migration("bea", "b2", ConflictPolicy::Update);
        bad.journey = "boom".into();
        let batch = [migration("abe", "b1", ConflictPolicy::Update), bad];
        let checkpoint = Checkpoint {
            import: "drill".into(),
            source: "f".into(),
            position: 2,
            finished: false,
        };
        let result = store
            .save_batch(Batch {
                migrations: &batch,
                checkpoint: Some(&checkpoint),
                dry_run: false,
            })
            .await;
        assert!(matches!(result, Err(StoreError::Database(_))), "{result:?}");
        assert_eq!(store.count_users().await.unwrap(), 0);
        assert_eq!(log_rows(&store).await, 0);
        assert_eq!(store.checkpoint("drill").await.unwrap(), None);
    }

    /// An import-sized batch locks the whole store; logins on another node wait for it and
    /// then see its users.
    #[tokio::test]
    async fn a_large_batch_and_a_login_on_another_node_agree() {
        let Some(schema) = PgSchema::create().await else {
            return;
        };
        let (importer, node) = (store(&schema).await, store(&schema).await);
        let batch: Vec<Migration> = (0..200)
            .map(|i| migration(&format!("user{i}"), &format!("s{i}"), ConflictPolicy::Keep))
            .collect();
        let import = importer.save_batch(Batch {
            migrations: &batch,
            checkpoint: None,
            dry_run: false,
        });
        let user7 = migration("user7", "s7", ConflictPolicy::Update);
        let login = node.save_migration(&user7);
        let (imported, login) = tokio::join!(import, login);
        let imported = imported.unwrap();
        let created = imported
            .iter()
            .filter(|s| matches!(s, Saved::Created(_)))
            .count();
        let login = login.unwrap();
        match login {
            Saved::Created(_) => assert_eq!(created, 199),
            Saved::Updated(_) => assert_eq!(created, 200),
            Saved::Conflict(_) => panic!("{login:?}"),
        }
        assert_eq!(node.count_users().await.unwrap(), 200);
    }
}
