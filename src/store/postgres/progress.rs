//! Migration progress in PostgreSQL.

crate::store::progress_sql::progress_reader!(sqlx::PgPool);
