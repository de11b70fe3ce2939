//! The real PostgreSQL and Redis servers the store tests run against, when
//! `FERRY_TEST_POSTGRES_URL` / `FERRY_TEST_REDIS_URL` name them. Each test gets its own schema
//! or key prefix, removed when it ends, so tests run in parallel and reruns never collide.
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

/// A key prefix of its own on the test Redis server; its keys are deleted on drop.
pub struct RedisPrefix {
    /// The server's URL.
    pub url: String,
    /// The prefix.
    pub prefix: String,
}

impl RedisPrefix {
    /// A fresh prefix, or `None` when no server is configured.
    pub fn create() -> Option<Self> {
        let url = server("FERRY_TEST_REDIS_URL", "Redis")?;
        let prefix = format!("{}:", unique("ferry-test"));
        Some(Self { url, prefix })
    }

    /// How many keys live under the prefix.
    pub fn keys(&self) -> usize {
        let client = redis::Client::open(self.url.as_str()).unwrap();
        let mut connection = client.get_connection().unwrap();
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg(format!("{}*", self.prefix))
            .query(&mut connection)
            .unwrap();
        keys.len()
    }
}

impl Drop for RedisPrefix {
    fn drop(&mut self) {
        let Ok(client) = redis::Client::open(self.url.as_str()) else {
            return;
        };
        let Ok(mut connection) = client.get_connection() else {
            return;
        };
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg(format!("{}*", self.prefix))
            .query(&mut connection)
            .unwrap_or_default();
        if !keys.is_empty() {
            let _: Result<i64, _> = redis::cmd("DEL").arg(keys).query(&mut connection);
        }
    }
}
