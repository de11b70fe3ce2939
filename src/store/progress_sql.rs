//! Migration progress read with SQL, the same for SQLite and PostgreSQL: users by source
//! and state, the migration log by method, and the imports' checkpoints. [`progress_reader`]
//! writes the reader for one sqlx pool type.

/// Users and migrated users per legacy IDP (`''` for none).
pub const BY_SOURCE: &str = "SELECT COALESCE(migration_source, '') AS source, COUNT(*) AS users, \
     COUNT(migrated_at) AS migrated FROM users GROUP BY 1 ORDER BY 1";

/// Users created, by method.
pub const BY_METHOD: &str = "SELECT method, COUNT(*) AS n FROM migration_log \
     WHERE event = 'created' GROUP BY method ORDER BY method";

/// Users created since `$1`, and the time of the last log entry.
pub const RECENT: &str = "SELECT (SELECT COUNT(*) FROM migration_log WHERE event = 'created' \
     AND at >= $1) AS created, (SELECT MAX(at) FROM migration_log) AS last_at";

/// The imports, oldest first.
pub const IMPORTS: &str =
    "SELECT name, source, position, finished_at FROM imports ORDER BY started_at, name";

/// A count as the store returns it (never negative).
pub fn count(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

/// Writes `pub async fn read(pool, since) -> Result<Progress, StoreError>` for a pool type.
macro_rules! progress_reader {
    ($pool:ty) => {
        /// Reads the progress; `since` bounds the count of recent creations.
        pub async fn read(
            pool: &$pool,
            since: i64,
        ) -> Result<$crate::store::Progress, $crate::store::StoreError> {
            use sqlx::Row;
            use $crate::store::progress_sql::{BY_METHOD, BY_SOURCE, IMPORTS, RECENT, count};
            use $crate::store::{Checkpoint, Progress, SourceProgress, StoreError};

            let sources = sqlx::query(BY_SOURCE).fetch_all(pool).await?;
            let by_source = sources
                .iter()
                .map(|row| {
                    Ok(SourceProgress {
                        source: row.try_get("source")?,
                        users: count(row.try_get("users")?),
                        migrated: count(row.try_get("migrated")?),
                    })
                })
                .collect::<Result<Vec<_>, StoreError>>()?;
            let methods = sqlx::query(BY_METHOD).fetch_all(pool).await?;
            let created_by = methods
                .iter()
                .map(|row| Ok((row.try_get("method")?, count(row.try_get("n")?))))
                .collect::<Result<_, StoreError>>()?;
            let recent = sqlx::query(RECENT).bind(since).fetch_one(pool).await?;
            let imports = sqlx::query(IMPORTS)
                .fetch_all(pool)
                .await?
                .iter()
                .map(|row| {
                    let finished: Option<i64> = row.try_get("finished_at")?;
                    Ok(Checkpoint {
                        import: row.try_get("name")?,
                        source: row.try_get("source")?,
                        position: count(row.try_get("position")?),
                        finished: finished.is_some(),
                    })
                })
                .collect::<Result<Vec<_>, StoreError>>()?;
            let users = by_source.iter().map(|s| s.users).sum();
            let migrated = by_source.iter().map(|s| s.migrated).sum();
            Ok(Progress {
                users,
                migrated,
                pending: users - migrated,
                by_source,
                created_by,
                created_since: count(recent.try_get("created")?),
                last_at: recent.try_get("last_at")?,
                imports,
            })
        }
    };
}

pub(crate) use progress_reader;
