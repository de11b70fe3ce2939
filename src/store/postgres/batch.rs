//! A batch of migrations inside one PostgreSQL transaction: lock what the batch touches, load
//! those users, let [`plan`] decide, then write each table with one statement over arrays
//! (`unnest`), so a batch of thousands costs a handful of round trips.
//!
//! Nodes write concurrently, so deciding and writing must not interleave for one identifier
//! or legacy account: a batch first takes transaction-scoped advisory locks on each
//! identifier and account it names (sorted, so two batches cannot deadlock), under a shared
//! lock on the whole store; a large batch (an import's) takes the whole-store lock alone,
//! exclusively, instead of thousands of small ones. Locks are per schema, so deployments in
//! separate schemas of one database do not wait on each other.

use std::collections::BTreeSet;

use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::{USER_COLUMNS, user_from_row};
use crate::store::plan::{self, Known, Plan};
use crate::store::{Batch, Checkpoint, CredentialKind, Migration, Saved, StoreError};

/// Batches with more migrations than this lock the whole store instead of each key.
const KEY_LOCKS_UP_TO: usize = 64;

/// Tries a batch this many times when PostgreSQL reports a deadlock or a serialization or
/// uniqueness failure, which a retry with fresh reads resolves.
const ATTEMPTS: usize = 3;

/// SQLSTATEs worth one more try: unique_violation, serialization_failure, deadlock_detected.
const RETRYABLE: [&str; 3] = ["23505", "40001", "40P01"];

/// Saves a batch in one transaction, retrying transient conflicts with other writers.
pub async fn save_with_retries(pool: &PgPool, batch: Batch<'_>) -> Result<Vec<Saved>, StoreError> {
    let mut attempt = 1;
    loop {
        match save_once(pool, batch).await {
            Err(StoreError::Database(e)) if attempt < ATTEMPTS && retryable(&e) => attempt += 1,
            other => return other,
        }
    }
}

fn retryable(error: &sqlx::Error) -> bool {
    error
        .as_database_error()
        .and_then(|e| e.code())
        .is_some_and(|code| RETRYABLE.contains(&code.as_ref()))
}

async fn save_once(pool: &PgPool, batch: Batch<'_>) -> Result<Vec<Saved>, StoreError> {
    let mut tx = pool.begin().await?;
    let outcomes = save(&mut tx, batch).await?;
    let wrote = outcomes.iter().any(|s| !matches!(s, Saved::Conflict(_)));
    if batch.dry_run || !(wrote || batch.checkpoint.is_some()) {
        tx.rollback().await?;
    } else {
        tx.commit().await?;
    }
    Ok(outcomes)
}

/// Decides and writes a batch on an open transaction; returns one outcome per migration.
async fn save(conn: &mut PgConnection, batch: Batch<'_>) -> Result<Vec<Saved>, StoreError> {
    lock(conn, batch.migrations).await?;
    let known = load_known(conn, batch.migrations).await?;
    let plan = plan::plan(batch.migrations, known, Uuid::now_v7);
    write_users(conn, &plan).await?;
    let at = batch.migrations.last().map_or(0, |m| m.at);
    write_credentials(conn, &plan, at).await?;
    write_memberships(conn, &plan).await?;
    write_log(conn, &plan, batch.migrations).await?;
    if let Some(checkpoint) = batch.checkpoint {
        write_checkpoint(conn, checkpoint, at).await?;
    }
    Ok(plan.outcomes)
}

/// Takes the batch's advisory locks, held until the transaction ends.
async fn lock(conn: &mut PgConnection, migrations: &[Migration]) -> Result<(), StoreError> {
    const WHOLE: &str = "hashtextextended(coalesce(current_schema(), '') || ':ferry-users', 0)";
    if migrations.len() > KEY_LOCKS_UP_TO {
        let sql = sqlx::AssertSqlSafe(format!("SELECT pg_advisory_xact_lock({WHOLE})"));
        sqlx::query(sql).execute(&mut *conn).await?;
        return Ok(());
    }
    let sql = sqlx::AssertSqlSafe(format!("SELECT pg_advisory_xact_lock_shared({WHOLE})"));
    sqlx::query(sql).execute(&mut *conn).await?;
    sqlx::query(
        "SELECT pg_advisory_xact_lock(h) FROM (SELECT DISTINCT \
         hashtextextended(coalesce(current_schema(), '') || ':' || k, 0) AS h \
         FROM unnest($1::text[]) AS k) AS keys ORDER BY h",
    )
    .bind(lock_keys(migrations))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// One key per identifier and per legacy account the batch names.
fn lock_keys(migrations: &[Migration]) -> Vec<String> {
    let mut keys = BTreeSet::new();
    for m in migrations {
        keys.insert(format!("identifier:{}", m.identifier));
        let account = serde_json::json!([m.legacy.idp, m.legacy.subject]);
        keys.insert(format!("account:{account}"));
    }
    keys.into_iter().collect()
}

async fn load_known(
    conn: &mut PgConnection,
    migrations: &[Migration],
) -> Result<Known, StoreError> {
    let identifiers: Vec<&str> = migrations.iter().map(|m| m.identifier.as_str()).collect();
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {USER_COLUMNS} FROM users WHERE identifier = ANY($1::text[])"
    ));
    let rows = sqlx::query(sql)
        .bind(identifiers)
        .fetch_all(&mut *conn)
        .await?;
    let mut known = Known::default();
    for row in rows {
        let user = user_from_row(&row)?;
        known.by_identifier.insert(user.identifier.clone(), user);
    }
    let idps: Vec<&str> = migrations.iter().map(|m| m.legacy.idp.as_str()).collect();
    let subjects: Vec<&str> = migrations
        .iter()
        .map(|m| m.legacy.subject.as_str())
        .collect();
    let holders: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT id::text, migration_source, legacy_subject FROM users \
         WHERE (migration_source, legacy_subject) IN \
         (SELECT * FROM unnest($1::text[], $2::text[]))",
    )
    .bind(idps)
    .bind(subjects)
    .fetch_all(&mut *conn)
    .await?;
    for (id, idp, subject) in holders {
        let id = Uuid::parse_str(&id).map_err(|_| StoreError::Corrupt { what: "user id" })?;
        known.holders.insert((idp, subject), id);
    }
    Ok(known)
}

/// The user rows of a plan, column by column, as the `unnest` statements bind them.
#[derive(Default)]
struct UserColumns {
    ids: Vec<String>,
    identifiers: Vec<String>,
    attributes: Vec<String>,
    idps: Vec<Option<String>>,
    providers: Vec<Option<String>>,
    subjects: Vec<Option<String>>,
    migrated_at: Vec<Option<i64>>,
    at: Vec<i64>,
    updated_at: Vec<i64>,
}

impl UserColumns {
    fn of(writes: &[&plan::Write]) -> Result<Self, StoreError> {
        let mut c = Self::default();
        for w in writes {
            let legacy = w.user.legacy.as_ref();
            c.ids.push(w.user.id.to_string());
            c.identifiers.push(w.user.identifier.clone());
            c.attributes.push(attributes_text(&w.user.attributes)?);
            c.idps.push(legacy.map(|l| l.idp.clone()));
            c.providers.push(legacy.map(|l| l.provider.clone()));
            c.subjects.push(legacy.map(|l| l.subject.clone()));
            c.migrated_at.push(w.user.migrated_at);
            c.at.push(w.at);
            c.updated_at.push(w.updated_at);
        }
        Ok(c)
    }
}

async fn write_users(conn: &mut PgConnection, plan: &Plan) -> Result<(), StoreError> {
    let (new, old): (Vec<_>, Vec<_>) = plan.writes.iter().partition(|w| w.new);
    if !new.is_empty() {
        let c = UserColumns::of(&new)?;
        sqlx::query(
            "INSERT INTO users (id, identifier, attributes, migration_source, legacy_provider, \
             legacy_subject, migrated_at, created_at, updated_at) \
             SELECT id::uuid, identifier, attributes::jsonb, idp, provider, subject, \
             migrated_at, at, updated_at FROM unnest($1::text[], $2::text[], $3::text[], \
             $4::text[], $5::text[], $6::text[], $7::bigint[], $8::bigint[], $9::bigint[]) \
             AS u (id, identifier, attributes, idp, provider, subject, migrated_at, at, \
             updated_at)",
        )
        .bind(c.ids)
        .bind(c.identifiers)
        .bind(c.attributes)
        .bind(c.idps)
        .bind(c.providers)
        .bind(c.subjects)
        .bind(c.migrated_at)
        .bind(c.at)
        .bind(c.updated_at)
        .execute(&mut *conn)
        .await?;
    }
    if !old.is_empty() {
        let c = UserColumns::of(&old)?;
        sqlx::query(
            "UPDATE users SET attributes = u.attributes::jsonb, migration_source = u.idp, \
             legacy_provider = u.provider, legacy_subject = u.subject, \
             migrated_at = u.migrated_at, updated_at = u.updated_at \
             FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], \
             $6::bigint[], $7::bigint[]) \
             AS u (id, attributes, idp, provider, subject, migrated_at, updated_at) \
             WHERE users.id = u.id::uuid",
        )
        .bind(c.ids)
        .bind(c.attributes)
        .bind(c.idps)
        .bind(c.providers)
        .bind(c.subjects)
        .bind(c.migrated_at)
        .bind(c.updated_at)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// The attributes as a JSON object's text, cast to jsonb by the statement.
fn attributes_text(
    attributes: &serde_json::Map<String, serde_json::Value>,
) -> Result<String, StoreError> {
    serde_json::to_string(attributes).map_err(|_| StoreError::Corrupt {
        what: "user attributes",
    })
}

/// One statement per kind and mode: a replacing credential overwrites, a gap-filling one
/// (an imported hash) is written only where the user has none of that kind.
async fn write_credentials(
    conn: &mut PgConnection,
    plan: &Plan,
    at: i64,
) -> Result<(), StoreError> {
    for kind in CredentialKind::ALL {
        for replace in [false, true] {
            let (users, secrets): (Vec<String>, Vec<String>) = plan
                .credentials
                .iter()
                .filter(|(_, c)| c.kind == *kind && c.replace == replace)
                .map(|(user, c)| (user.to_string(), c.secret.clone()))
                .unzip();
            if users.is_empty() {
                continue;
            }
            let on_conflict = if replace {
                "DO UPDATE SET secret = excluded.secret, updated_at = excluded.updated_at"
            } else {
                "DO NOTHING"
            };
            let sql = sqlx::AssertSqlSafe(format!(
                "INSERT INTO credentials (user_id, kind, secret, created_at, updated_at) \
                 SELECT u::uuid, $3, s, $4, $4 FROM unnest($1::text[], $2::text[]) AS c (u, s) \
                 ON CONFLICT (user_id, kind) {on_conflict}"
            ));
            sqlx::query(sql)
                .bind(users)
                .bind(secrets)
                .bind(kind.name())
                .bind(at)
                .execute(&mut *conn)
                .await?;
        }
    }
    Ok(())
}

async fn write_memberships(conn: &mut PgConnection, plan: &Plan) -> Result<(), StoreError> {
    let tables = [
        ("user_roles", "role", &plan.roles),
        ("user_groups", "group_name", &plan.groups),
    ];
    for (table, column, sets) in tables {
        if sets.is_empty() {
            continue;
        }
        let users: Vec<String> = sets.iter().map(|(u, _)| u.to_string()).collect();
        let (members, names): (Vec<String>, Vec<String>) = sets
            .iter()
            .flat_map(|(u, names)| names.iter().map(move |n| (u.to_string(), n.clone())))
            .unzip();
        let delete = sqlx::AssertSqlSafe(format!(
            "DELETE FROM {table} WHERE user_id = ANY($1::text[]::uuid[])"
        ));
        sqlx::query(delete).bind(users).execute(&mut *conn).await?;
        let insert = sqlx::AssertSqlSafe(format!(
            "INSERT INTO {table} (user_id, {column}) \
             SELECT u::uuid, n FROM unnest($1::text[], $2::text[]) AS m (u, n) \
             ON CONFLICT DO NOTHING"
        ));
        sqlx::query(insert)
            .bind(members)
            .bind(names)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

async fn write_log(
    conn: &mut PgConnection,
    plan: &Plan,
    migrations: &[Migration],
) -> Result<(), StoreError> {
    let mut users = Vec::new();
    let mut at = Vec::new();
    let mut events = Vec::new();
    let mut methods = Vec::new();
    let mut journeys = Vec::new();
    let mut idps = Vec::new();
    let mut providers = Vec::new();
    let mut subjects = Vec::new();
    for entry in &plan.log {
        let Some(m) = migrations.get(entry.index) else {
            continue;
        };
        users.push(entry.user.to_string());
        at.push(m.at);
        events.push(entry.event);
        methods.push(m.method.as_str());
        journeys.push(m.journey.as_str());
        idps.push(m.legacy.idp.as_str());
        providers.push(m.legacy.provider.as_str());
        subjects.push(m.legacy.subject.as_str());
    }
    if users.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO migration_log (user_id, at, event, method, journey, idp, provider, \
         legacy_subject) \
         SELECT u::uuid, a, e, m, j, i, p, s FROM unnest($1::text[], $2::bigint[], \
         $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[]) \
         AS l (u, a, e, m, j, i, p, s)",
    )
    .bind(users)
    .bind(at)
    .bind(events)
    .bind(methods)
    .bind(journeys)
    .bind(idps)
    .bind(providers)
    .bind(subjects)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Records where an import stands.
pub async fn write_checkpoint(
    conn: &mut PgConnection,
    checkpoint: &Checkpoint,
    at: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO imports (name, source, position, started_at, updated_at, finished_at) \
         VALUES ($1, $2, $3, $4, $4, CASE WHEN $5 THEN $4 END) \
         ON CONFLICT (name) DO UPDATE SET source = excluded.source, \
         position = excluded.position, updated_at = excluded.updated_at, \
         finished_at = excluded.finished_at",
    )
    .bind(&checkpoint.import)
    .bind(&checkpoint.source)
    .bind(i64::try_from(checkpoint.position).unwrap_or(i64::MAX))
    .bind(at)
    .bind(checkpoint.finished)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
