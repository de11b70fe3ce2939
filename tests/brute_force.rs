//! Brute-force protection on local logins: failures counted per account and per client,
//! a bounded lockout that even the right password cannot pass until it ends, other accounts
//! untouched, and an unknown user costing the same hashing work as a known one.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    reason = "tests fail by panicking"
)]

mod support;

use serde_json::json;
use support::ferry::{Ferry, shipped_config};

/// The shipped configuration with cheap hashing, no delays and a one-second lock, so a test
/// can make 101 attempts and see the lock end.
fn config() -> String {
    shipped_config()
        + "
passwords: { memory_kib: 64, iterations: 1, parallelism: 1 }
throttle:
  account: { free_failures: 1000, lock_after: 100, lock_seconds: 1 }
  client: { free_failures: 1000, lock_after: 1000 }
"
}

#[tokio::test]
async fn a_hundred_failures_lock_the_account_and_only_that_account() {
    let ferry = Ferry::start(&config(), &[]).await;
    for (user, password) in [("alice", "wonderland-42"), ("erin", "argon-42")] {
        let (status, body) = ferry.login("jit-password", user, password).await;
        assert_eq!(status, 200, "migrating {user}: {body}");
    }

    for attempt in 1..=100 {
        let (status, body) = ferry.login("jit-password", "alice", "guess").await;
        assert_eq!(
            (status, body["reason"].as_str()),
            (401, Some("invalid_credentials")),
            "attempt {attempt}"
        );
    }
    let (status, locked) = ferry.login("jit-password", "alice", "guess").await;
    assert_eq!(
        (status, locked["reason"].as_str()),
        (403, Some("locked")),
        "{locked}"
    );
    assert_eq!(locked["retry_after"], 1);
    let (status, still) = ferry.login("jit-password", "alice", "wonderland-42").await;
    assert_eq!(
        (status, still["reason"].as_str()),
        (403, Some("locked")),
        "the right password waits for the lock"
    );
    let (status, other) = ferry.login("jit-password", "erin", "argon-42").await;
    assert_eq!(status, 200, "another account is unaffected: {other}");
    let count = ferry
        .scalar("SELECT count FROM login_failures WHERE key = 'account:alice'")
        .await;
    assert_eq!(count, 100, "the failures are persisted");

    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    let (status, after) = ferry.login("jit-password", "alice", "wonderland-42").await;
    assert_eq!(status, 200, "the lock ended: {after}");
    assert_eq!(
        ferry
            .scalar("SELECT COUNT(*) FROM login_failures WHERE key = 'account:alice'")
            .await,
        0
    );
}

#[tokio::test]
async fn the_lock_is_visible_in_the_retry_after_header() {
    let ferry = Ferry::start(&config(), &[]).await;
    ferry.login("jit-password", "alice", "wonderland-42").await;
    for _ in 0..100 {
        ferry.login("jit-password", "alice", "nope").await;
    }
    let (_, started) = ferry.start_session("jit-password").await;
    let url = format!(
        "{}/v1/sessions/{}",
        ferry.base,
        started["session"].as_str().unwrap()
    );
    let response = reqwest::Client::new()
        .post(url)
        .json(&json!({ "input": { "identifier": "alice", "password": "nope" } }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 403);
    assert_eq!(
        response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("1")
    );
}

#[tokio::test]
async fn behind_a_trusted_proxy_failures_count_per_forwarded_client() {
    let text = config().replace(
        "client: { free_failures: 1000, lock_after: 1000 }",
        "client: { free_failures: 1000, lock_after: 3 }",
    ) + "trusted_proxy_hops: 1\n";
    let ferry = Ferry::start(&text, &[]).await;
    ferry.login("jit-password", "alice", "wonderland-42").await;
    let attempt = |from: &'static str, password: &'static str| {
        let base = ferry.base.clone();
        async move {
            let client = reqwest::Client::new();
            let started: serde_json::Value = client
                .post(format!("{base}/v1/journeys/jit-password/sessions"))
                .header("x-forwarded-for", from)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let response = client
                .post(format!(
                    "{base}/v1/sessions/{}",
                    started["session"].as_str().unwrap()
                ))
                .header("x-forwarded-for", from)
                .json(&json!({ "input": { "identifier": "alice", "password": password } }))
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            let body: serde_json::Value = response.json().await.unwrap();
            (status, body["reason"].as_str().map(str::to_owned))
        }
    };
    for _ in 0..3 {
        attempt("203.0.113.7", "wrong").await;
    }
    assert_eq!(
        attempt("203.0.113.7", "wonderland-42").await,
        (403, Some("locked".into())),
        "that client is locked"
    );
    assert_eq!(
        attempt("198.51.100.9", "wonderland-42").await.0,
        200,
        "another client is not"
    );
}

#[tokio::test]
async fn guesses_sent_on_to_the_legacy_idp_are_counted_too() {
    let text = config().replace(
        "account: { free_failures: 1000, lock_after: 100, lock_seconds: 1 }",
        "account: { free_failures: 1000, lock_after: 5, lock_seconds: 1 }",
    );
    let ferry = Ferry::start(&text, &[]).await;
    // erin is in the legacy file and not migrated: every check goes to the legacy IDP.
    for attempt in 1..=5 {
        let (status, body) = ferry.login("jit-password", "erin", "guess").await;
        assert_eq!(status, 401, "attempt {attempt}: {body}");
    }
    let (status, locked) = ferry.login("jit-password", "erin", "argon-42").await;
    assert_eq!(
        (status, locked["reason"].as_str()),
        (403, Some("locked")),
        "the right password waits too: {locked}"
    );
    assert_eq!(
        ferry.user_rows().await,
        0,
        "nobody was migrated while locked"
    );
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    let (status, body) = ferry.login("jit-password", "erin", "argon-42").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        ferry
            .scalar("SELECT COUNT(*) FROM login_failures WHERE key = 'account:erin'")
            .await,
        0,
        "a right password clears the account's count"
    );
}
