//! A batch of migrations inside one SQLite transaction: load the users the batch touches, let
//! [`plan`] decide, then write each table with a few multi-row statements (`VALUES` lists, or
//! a JSON array through `json_each`), so a batch of thousands costs a handful of statements.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value as Json, json};
use sqlx::{QueryBuilder, Sqlite, SqliteConnection};
use uuid::Uuid;

use super::{USER_COLUMNS, user_from_row};
use crate::store::plan::{self, Known, Plan};
use crate::store::{Batch, Checkpoint, Migration, Saved, StoreError};

/// SQLite's default limit on bound parameters in one statement.
const MAX_PARAMETERS: usize = 32_766;

/// Decides and writes a batch on an open transaction; returns one outcome per migration.
pub async fn save(conn: &mut SqliteConnection, batch: Batch<'_>) -> Result<Vec<Saved>, StoreError> {
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

async fn load_known(
    conn: &mut SqliteConnection,
    migrations: &[Migration],
) -> Result<Known, StoreError> {
    let identifiers: BTreeSet<&str> = migrations.iter().map(|m| m.identifier.as_str()).collect();
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {USER_COLUMNS} FROM users WHERE identifier IN (SELECT value FROM json_each(?))"
    ));
    let rows = sqlx::query(sql)
        .bind(json!(identifiers).to_string())
        .fetch_all(&mut *conn)
        .await?;
    let mut known = Known::default();
    for row in rows {
        let user = user_from_row(&row)?;
        known.by_identifier.insert(user.identifier.clone(), user);
    }
    let mut subjects: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for m in migrations {
        subjects
            .entry(&m.legacy.idp)
            .or_default()
            .insert(&m.legacy.subject);
    }
    for (idp, subjects) in subjects {
        load_holders(conn, idp, &subjects, &mut known).await?;
    }
    Ok(known)
}

async fn load_holders(
    conn: &mut SqliteConnection,
    idp: &str,
    subjects: &BTreeSet<&str>,
    known: &mut Known,
) -> Result<(), StoreError> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT id, legacy_subject FROM users WHERE migration_source = ? \
         AND legacy_subject IN (SELECT value FROM json_each(?))",
    )
    .bind(idp)
    .bind(json!(subjects).to_string())
    .fetch_all(&mut *conn)
    .await?;
    for (id, subject) in rows {
        let id = Uuid::parse_str(&id).map_err(|_| StoreError::Corrupt { what: "user id" })?;
        known.holders.insert((idp.to_owned(), subject), id);
    }
    Ok(())
}

async fn write_users(conn: &mut SqliteConnection, plan: &Plan) -> Result<(), StoreError> {
    let (new, old): (Vec<_>, Vec<_>) = plan.writes.iter().partition(|w| w.new);
    let rows = |writes: Vec<&plan::Write>| -> Result<Json, StoreError> {
        writes
            .iter()
            .map(|w| {
                let legacy = w.user.legacy.as_ref();
                Ok(json!({
                    "id": w.user.id.to_string(),
                    "identifier": w.user.identifier,
                    "attributes": attributes_text(&w.user.attributes)?,
                    "idp": legacy.map(|l| &l.idp),
                    "provider": legacy.map(|l| &l.provider),
                    "subject": legacy.map(|l| &l.subject),
                    "migrated_at": w.user.migrated_at,
                    "at": w.at,
                    "updated_at": w.updated_at,
                }))
            })
            .collect()
    };
    insert_users(conn, &new).await?;
    if !old.is_empty() {
        sqlx::query(
            "UPDATE users SET attributes = u.attributes, migration_source = u.idp, \
             legacy_provider = u.provider, legacy_subject = u.subject, \
             migrated_at = u.migrated_at, updated_at = u.updated_at \
             FROM (SELECT value ->> 'id' AS id, value ->> 'attributes' AS attributes, \
             value ->> 'idp' AS idp, value ->> 'provider' AS provider, \
             value ->> 'subject' AS subject, value ->> 'migrated_at' AS migrated_at, \
             value ->> 'updated_at' AS updated_at FROM json_each(?)) AS u \
             WHERE users.id = u.id",
        )
        .bind(rows(old)?.to_string())
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

async fn insert_users(conn: &mut SqliteConnection, new: &[&plan::Write]) -> Result<(), StoreError> {
    for chunk in new.chunks(MAX_PARAMETERS / 9) {
        let texts = chunk
            .iter()
            .map(|w| attributes_text(&w.user.attributes))
            .collect::<Result<Vec<_>, _>>()?;
        let mut q: QueryBuilder<Sqlite> = QueryBuilder::new(
            "INSERT INTO users (id, identifier, attributes, migration_source, legacy_provider, \
             legacy_subject, migrated_at, created_at, updated_at) ",
        );
        q.push_values(chunk.iter().zip(texts), |mut row, (w, attributes)| {
            let legacy = w.user.legacy.as_ref();
            row.push_bind(w.user.id.to_string())
                .push_bind(w.user.identifier.as_str())
                .push_bind(attributes)
                .push_bind(legacy.map(|l| l.idp.as_str()))
                .push_bind(legacy.map(|l| l.provider.as_str()))
                .push_bind(legacy.map(|l| l.subject.as_str()))
                .push_bind(w.user.migrated_at)
                .push_bind(w.at)
                .push_bind(w.updated_at);
        });
        q.build().execute(&mut *conn).await?;
    }
    Ok(())
}

/// The attributes as the `attributes` column holds them: a JSON object's text.
/// (Serialised from the borrowed map: a `Json::Object` would need an owned copy of it.)
fn attributes_text(attributes: &serde_json::Map<String, Json>) -> Result<String, StoreError> {
    serde_json::to_string(attributes).map_err(|_| StoreError::Corrupt {
        what: "user attributes",
    })
}

async fn write_credentials(
    conn: &mut SqliteConnection,
    plan: &Plan,
    at: i64,
) -> Result<(), StoreError> {
    for kind in ["password", "totp"] {
        for replace in [false, true] {
            let rows: Vec<_> = plan
                .credentials
                .iter()
                .filter(|(_, c)| c.kind.name() == kind && c.replace == replace)
                .collect();
            let on_conflict = if replace {
                "DO UPDATE SET secret = excluded.secret, updated_at = excluded.updated_at"
            } else {
                "DO NOTHING"
            };
            for chunk in rows.chunks(MAX_PARAMETERS / 5) {
                let mut q: QueryBuilder<Sqlite> = QueryBuilder::new(
                    "INSERT INTO credentials (user_id, kind, secret, created_at, updated_at) ",
                );
                q.push_values(chunk, |mut row, (user, c)| {
                    row.push_bind(user.to_string())
                        .push_bind(kind)
                        .push_bind(c.secret.as_str())
                        .push_bind(at)
                        .push_bind(at);
                });
                q.push(format!(
                    " ON CONFLICT (user_id) WHERE kind = '{kind}' {on_conflict}"
                ));
                q.build().execute(&mut *conn).await?;
            }
        }
    }
    Ok(())
}

async fn write_memberships(conn: &mut SqliteConnection, plan: &Plan) -> Result<(), StoreError> {
    let tables = [
        ("user_roles", "role", &plan.roles),
        ("user_groups", "group_name", &plan.groups),
    ];
    for (table, column, sets) in tables {
        if sets.is_empty() {
            continue;
        }
        let users: Vec<String> = sets.iter().map(|(u, _)| u.to_string()).collect();
        let pairs: Vec<Json> = sets
            .iter()
            .flat_map(|(u, names)| names.iter().map(move |n| json!([u.to_string(), n])))
            .collect();
        let delete = sqlx::AssertSqlSafe(format!(
            "DELETE FROM {table} WHERE user_id IN (SELECT value FROM json_each(?))"
        ));
        sqlx::query(delete)
            .bind(json!(users).to_string())
            .execute(&mut *conn)
            .await?;
        let insert = sqlx::AssertSqlSafe(format!(
            "INSERT OR IGNORE INTO {table} (user_id, {column}) \
             SELECT value ->> 0, value ->> 1 FROM json_each(?)"
        ));
        sqlx::query(insert)
            .bind(Json::Array(pairs).to_string())
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

async fn write_log(
    conn: &mut SqliteConnection,
    plan: &Plan,
    migrations: &[Migration],
) -> Result<(), StoreError> {
    if plan.log.is_empty() {
        return Ok(());
    }
    let rows: Vec<_> = plan
        .log
        .iter()
        .filter_map(|entry| Some((entry, migrations.get(entry.index)?)))
        .collect();
    for chunk in rows.chunks(MAX_PARAMETERS / 8) {
        let mut q: QueryBuilder<Sqlite> = QueryBuilder::new(
            "INSERT INTO migration_log (user_id, at, event, method, journey, idp, provider, \
             legacy_subject) ",
        );
        q.push_values(chunk, |mut row, (entry, m)| {
            row.push_bind(entry.user.to_string())
                .push_bind(m.at)
                .push_bind(entry.event)
                .push_bind(m.method.as_str())
                .push_bind(m.journey.as_str())
                .push_bind(m.legacy.idp.as_str())
                .push_bind(m.legacy.provider.as_str())
                .push_bind(m.legacy.subject.as_str());
        });
        q.build().execute(&mut *conn).await?;
    }
    Ok(())
}

/// Records where an import stands.
pub async fn write_checkpoint(
    conn: &mut SqliteConnection,
    checkpoint: &Checkpoint,
    at: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO imports (name, source, position, started_at, updated_at, finished_at) \
         VALUES (?1, ?2, ?3, ?4, ?4, CASE WHEN ?5 THEN ?4 END) \
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
