//! The real PostgreSQL server the store tests run against, when `FERRY_TEST_POSTGRES_URL`
//! names it. Each test gets its own schema, removed when it ends, so tests run in parallel
//! and reruns never collide.
//! Without the variable a test prints why it is skipped and passes; with `CI` set it fails.

use std::fmt::Write as _;

/// The server's URL from `var`, or `None` (after printing why) when it is not set.
fn server(var: &str, what: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var_os("CI").is_some() => {
            panic!("{var} must name a {what} server when CI is set")
        }
        _ => {
            eprintln!("SKIPPED: {var} is not set, so this {what} test does not run here");
            None
        }
    }
}

/// A name no other test run uses.
fn unique(prefix: &str) -> String {
    let mut name = format!("{prefix}_{}_", std::process::id());
    for byte in rand::random::<[u8; 6]>() {
        let _ = write!(name, "{byte:02x}");
    }
    name
}

/// A schema of its own in the test database; dropped with everything in it on drop.
pub struct PgSchema {
    admin: String,
    name: String,
    /// A URL whose connections use only this schema.
    pub url: String,
}

impl PgSchema {
    /// A fresh schema, or `None` when no server is configured.
    pub async fn create() -> Option<Self> {
        let admin = server("FERRY_TEST_POSTGRES_URL", "PostgreSQL")?;
        let name = unique("ferry_test");
        let pool = sqlx::PgPool::connect(&admin).await.unwrap();
        let sql = sqlx::AssertSqlSafe(format!("CREATE SCHEMA {name}"));
        sqlx::query(sql).execute(&pool).await.unwrap();
        pool.close().await;
        let joiner = if admin.contains('?') { '&' } else { '?' };
        let url = format!("{admin}{joiner}options[search_path]={name}");
        Some(Self { admin, name, url })
    }
}

impl Drop for PgSchema {
    fn drop(&mut self) {
        let (admin, name) = (self.admin.clone(), self.name.clone());
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                let pool = sqlx::PgPool::connect(&admin).await.unwrap();
                let sql = sqlx::AssertSqlSafe(format!("DROP SCHEMA IF EXISTS {name} CASCADE"));
                sqlx::query(sql).execute(&pool).await.unwrap();
                pool.close().await;
            });
        });
        let _ = dropped.join();
    }
}
