//! Migration progress in SQLite.

crate::store::progress_sql::progress_reader!(sqlx::SqlitePool);
