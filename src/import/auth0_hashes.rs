//! Auth0's password-hash export joined to its user export in constant memory: the hash file
//! (NDJSON: `_id.$oid`, optional `alt_id`, `passwordHash`) is streamed once into a temporary
//! SQLite index, then looked up one batch of user ids at a time.

use std::collections::HashMap;
use std::ops::ControlFlow;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use serde_json::{Value as Json, json};
use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};

use super::stream::{self, StreamError};

/// Records indexed per insert statement.
const CHUNK: usize = 2_000;

/// Why the hash export cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum HashIndexError {
    /// The file cannot be opened or read to the end.
    #[error("cannot read the password-hash export `{path}`")]
    Read {
        /// The file.
        path: String,
        /// Why.
        #[source]
        source: StreamError,
    },
    /// The temporary index failed.
    #[error("the temporary hash index failed")]
    Index(#[from] sqlx::Error),
    /// The reading task died.
    #[error("the hash export reader stopped")]
    Task(#[from] tokio::task::JoinError),
}

/// Password hashes by Auth0 user id (`auth0|…`).
#[derive(Debug)]
pub struct HashIndex {
    pool: SqlitePool,
    _dir: tempfile::TempDir,
    /// Lines of the hash file that could not be used, with why.
    pub skipped: Vec<(u64, String)>,
}

impl HashIndex {
    /// Streams the hash export into a temporary index.
    pub async fn build(path: &Path) -> Result<Self, HashIndexError> {
        let dir = tempfile::tempdir().map_err(|e| read_error(path, StreamError::Io(e)))?;
        let options = SqliteConnectOptions::new()
            .filename(dir.path().join("hashes.db"))
            .create_if_missing(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await?;
        sqlx::query("CREATE TABLE hashes (id TEXT PRIMARY KEY, hash TEXT NOT NULL) WITHOUT ROWID")
            .execute(&pool)
            .await?;
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<(String, String)>>(4);
        let reader = spawn_reader(path.to_path_buf(), tx);
        while let Some(chunk) = rx.recv().await {
            insert(&pool, &chunk).await?;
        }
        let skipped = reader.await?.map_err(|e| read_error(path, e))?;
        Ok(Self {
            pool,
            _dir: dir,
            skipped,
        })
    }

    /// The hashes of these user ids, where the export has one.
    pub async fn lookup(&self, ids: &[&str]) -> Result<HashMap<String, String>, sqlx::Error> {
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT id, hash FROM hashes WHERE id IN (SELECT value FROM json_each(?))",
        )
        .bind(json!(ids).to_string())
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().collect())
    }
}

fn read_error(path: &Path, source: StreamError) -> HashIndexError {
    HashIndexError::Read {
        path: path.display().to_string(),
        source,
    }
}

type Chunks = tokio::sync::mpsc::Sender<Vec<(String, String)>>;

fn spawn_reader(
    path: std::path::PathBuf,
    tx: Chunks,
) -> tokio::task::JoinHandle<Result<Vec<(u64, String)>, StreamError>> {
    tokio::task::spawn_blocking(move || {
        let file = std::fs::File::open(&path)?;
        let mut chunk = Vec::with_capacity(CHUNK);
        let mut skipped = Vec::new();
        stream::json_lines(file, Arc::new(AtomicU64::new(0)), &mut |raw| {
            match raw.and_then(|(line, o)| entry(line, &o)) {
                Ok(pairs) => chunk.extend(pairs),
                Err(bad) => skipped.push(bad),
            }
            if chunk.len() >= CHUNK && tx.blocking_send(std::mem::take(&mut chunk)).is_err() {
                return ControlFlow::Break(());
            }
            ControlFlow::Continue(())
        })?;
        if !chunk.is_empty() {
            let _ = tx.blocking_send(chunk);
        }
        Ok(skipped)
    })
}

/// The user ids one hash-file line answers for: `auth0|{_id.$oid}` and `auth0|{alt_id}`.
fn entry(
    line: u64,
    object: &serde_json::Map<String, Json>,
) -> Result<Vec<(String, String)>, (u64, String)> {
    let hash = object
        .get("passwordHash")
        .and_then(Json::as_str)
        .filter(|h| !h.is_empty())
        .ok_or((line, "the hash record has no `passwordHash`".to_owned()))?;
    let oid = object
        .get("_id")
        .and_then(|id| id.get("$oid").or(Some(id)))
        .and_then(Json::as_str);
    let alt = object.get("alt_id").and_then(Json::as_str);
    let ids: Vec<(String, String)> = [oid, alt]
        .into_iter()
        .flatten()
        .map(|id| (format!("auth0|{id}"), hash.to_owned()))
        .collect();
    if ids.is_empty() {
        return Err((line, "the hash record has no `_id`".to_owned()));
    }
    Ok(ids)
}

async fn insert(pool: &SqlitePool, chunk: &[(String, String)]) -> Result<(), sqlx::Error> {
    let rows: Vec<Json> = chunk.iter().map(|(id, hash)| json!([id, hash])).collect();
    sqlx::query(
        "INSERT OR REPLACE INTO hashes (id, hash) SELECT value ->> 0, value ->> 1 \
         FROM json_each(?)",
    )
    .bind(Json::Array(rows).to_string())
    .execute(pool)
    .await?;
    Ok(())
}
