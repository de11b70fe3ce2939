//! A full first-login journey over HTTP on loopback against Glewlwyd: median latency, and how
//! much of it is Glewlwyd's own token call and Ferry's argon2id hashing. Prints the figures.
//! Needs Glewlwyd (Debian's package); prints why and exits if it is absent.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    reason = "a benchmark fails by panicking"
)]

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use ferry::authn::Passwords;
use ferry::config::PasswordSettings;
use ferry::secret::Secret;
use support::ferry::{Ferry, shipped_config};
use support::glewlwyd::{ALICE, CLIENT_ID, CLIENT_SECRET, Glewlwyd};

const RUNS: usize = 50;

#[tokio::main]
async fn main() {
    let Some(glewlwyd) = Glewlwyd::start().await else {
        return;
    };
    let ferry = Ferry::start(&shipped_config(), &glewlwyd.env()).await;

    let first_login = measure(|| async {
        forget_users(&ferry).await;
        let started = Instant::now();
        let (status, body) = ferry
            .login("jit-password-oauth", ALICE.username, ALICE.password)
            .await;
        let elapsed = started.elapsed();
        assert_eq!(status, 200, "{body}");
        elapsed
    })
    .await;

    let client = reqwest::Client::new();
    let token_call = measure(|| async {
        let started = Instant::now();
        let answer = client
            .post(glewlwyd.token_endpoint())
            .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
            .form(&[
                ("grant_type", "password"),
                ("username", ALICE.username),
                ("password", ALICE.password),
                ("scope", "openid"),
            ])
            .send()
            .await
            .expect("token call");
        let _ = answer.bytes().await;
        started.elapsed()
    })
    .await;

    let passwords = Passwords::new(&PasswordSettings::default()).expect("argon2 settings");
    let hashing = measure(|| async {
        let started = Instant::now();
        passwords
            .hash(&Secret::new(ALICE.password))
            .await
            .expect("hash");
        started.elapsed()
    })
    .await;

    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "first login over HTTP (start + submit), median of {RUNS}: {:.1} ms (p90 {:.1} ms)",
        ms(first_login.0),
        ms(first_login.1)
    );
    println!(
        "  Glewlwyd's own token call, median:            {:.1} ms",
        ms(token_call.0)
    );
    println!(
        "  Ferry's argon2id hash (default parameters):   {:.1} ms",
        ms(hashing.0)
    );
    let rest = ms(first_login.0) - ms(token_call.0) - ms(hashing.0);
    println!("  everything else (HTTP, engine, JWKS cache, SQLite, token signing): {rest:.1} ms");
    println!(
        "  Glewlwyd's share of the median: {:.0}%",
        100.0 * ms(token_call.0) / ms(first_login.0)
    );
}

/// Median and 90th percentile of `RUNS` runs, after three warm-up runs.
async fn measure<F, Fut>(mut run: F) -> (Duration, Duration)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Duration>,
{
    for _ in 0..3 {
        run().await;
    }
    let mut times = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        times.push(run().await);
    }
    times.sort();
    (times[RUNS / 2], times[RUNS * 9 / 10])
}

/// Removes every local user, so the next login is a first login again.
async fn forget_users(ferry: &Ferry) {
    let url = format!("sqlite://{}", ferry.data.path().join("ferry.db").display());
    let pool = sqlx::SqlitePool::connect(&url)
        .await
        .expect("open ferry.db");
    for table in [
        "DELETE FROM credentials",
        "DELETE FROM migration_log",
        "DELETE FROM users",
    ] {
        sqlx::query(table).execute(&pool).await.expect("delete");
    }
    pool.close().await;
}
