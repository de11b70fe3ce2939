//! The shared stores of a scale-out deployment, for tests: a PostgreSQL schema and a Redis key
//! prefix of the test's own on the servers `FERRY_TEST_POSTGRES_URL` and
//! `FERRY_TEST_REDIS_URL` name, removed when the test ends, so tests run in parallel and CI
//! reruns never collide. Without a variable the test is skipped, or fails when `CI` is set.

use std::fmt::Write as _;

use super::peer_absent;

/// The server's URL from `var`; `None` (skipped, or a failure under CI) when unset.
fn server(var: &str, what: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            peer_absent(what, &format!("{var} is not set"));
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

/// A schema of the test's own; dropped with its tables when the test ends.
pub struct PgSchema {
    admin: String,
    name: String,
    /// A URL whose connections see only this schema.
    pub url: String,
}

impl PgSchema {
    /// A fresh schema, or `None` when no server is configured.
    pub async fn create() -> Option<Self> {
        let admin = server("FERRY_TEST_POSTGRES_URL", "PostgreSQL")?;
        let name = unique("ferry_test");
        let pool = sqlx::PgPool::connect(&admin)
            .await
            .expect("connect to PostgreSQL");
        let sql = sqlx::AssertSqlSafe(format!("CREATE SCHEMA {name}"));
        sqlx::query(sql)
            .execute(&pool)
            .await
            .expect("create schema");
        pool.close().await;
        let joiner = if admin.contains('?') { '&' } else { '?' };
        let url = format!("{admin}{joiner}options[search_path]={name}");
        Some(Self { admin, name, url })
    }

    /// Runs a query that returns one integer, in this schema.
    pub async fn scalar(&self, sql: &'static str) -> i64 {
        let pool = sqlx::PgPool::connect(&self.url).await.expect("connect");
        let value = sqlx::query_scalar(sql)
            .fetch_one(&pool)
            .await
            .expect("query");
        pool.close().await;
        value
    }
}

impl Drop for PgSchema {
    fn drop(&mut self) {
        let (admin, name) = (self.admin.clone(), self.name.clone());
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async {
                let pool = sqlx::PgPool::connect(&admin).await.expect("connect");
                let sql = sqlx::AssertSqlSafe(format!("DROP SCHEMA IF EXISTS {name} CASCADE"));
                sqlx::query(sql).execute(&pool).await.expect("drop schema");
                pool.close().await;
            });
        });
        let _ = dropped.join();
    }
}

/// A key prefix of the test's own; its keys are deleted when the test ends.
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

    /// The keys under the prefix.
    pub fn keys(&self) -> Vec<String> {
        let client = redis::Client::open(self.url.as_str()).expect("redis URL");
        let mut connection = client.get_connection().expect("connect to Redis");
        redis::cmd("KEYS")
            .arg(format!("{}*", self.prefix))
            .query(&mut connection)
            .expect("KEYS")
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
