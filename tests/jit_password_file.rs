//! The demo journey on the bundled legacy user file, over HTTP: what the README's curl lines do.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    reason = "tests fail by panicking"
)]

mod support;

use serde_json::json;
use support::ferry::{Ferry, shipped_config, without_session};

const JOURNEY: &str = "jit-password";

#[tokio::test]
async fn the_sample_user_migrates_once_then_logs_in_locally() {
    let ferry = Ferry::start(&shipped_config(), &[]).await;

    let (status, first) = ferry.login(JOURNEY, "Alice", "wonderland-42").await;
    assert_eq!(status, 200, "{first}");
    let (status, second) = ferry.login(JOURNEY, "alice", "wonderland-42").await;
    assert_eq!(status, 200, "{second}");

    assert_eq!(first["user"], second["user"]);
    assert_eq!(first["user"]["identifier"], "alice");
    assert_eq!(
        ferry.scalar("SELECT COUNT(*) FROM migration_log").await,
        1,
        "only the first login migrates"
    );
    let attributes = ferry
        .text("SELECT attributes FROM users")
        .await
        .unwrap_or_default();
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&attributes).unwrap_or_default()["email"],
        "alice.liddell@example.com"
    );
}

#[tokio::test]
async fn legacy_account_states_map_to_their_outcomes() {
    let ferry = Ferry::start(&shipped_config(), &[]).await;
    let cases = [
        ("bob", "builder-42", 401, "invalid_credentials"),
        ("carol", "singer-42", 403, "locked"),
        ("carol", "wrong", 401, "invalid_credentials"),
        ("dave", "expired-42", 403, "password_expired"),
    ];
    for (user, password, status, reason) in cases {
        let (got, body) = ferry.login(JOURNEY, user, password).await;
        assert_eq!(
            (got, body["reason"].as_str()),
            (status, Some(reason)),
            "{user}: {body}"
        );
    }
    assert_eq!(ferry.user_rows().await, 0);
}

#[tokio::test]
async fn argon2_hashes_in_the_file_verify_too() {
    let ferry = Ferry::start(&shipped_config(), &[]).await;
    let (status, body) = ferry.login(JOURNEY, "erin", "argon-42").await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn unknown_and_wrong_are_indistinguishable() {
    let ferry = Ferry::start(&shipped_config(), &[]).await;
    let (a_status, a) = ferry.login(JOURNEY, "mallory", "wonderland-42").await;
    let (b_status, b) = ferry.login(JOURNEY, "alice", "wonderland-43").await;
    assert_eq!(
        (a_status, without_session(a)),
        (b_status, without_session(b))
    );
}

#[tokio::test]
async fn bad_input_is_refused_and_the_session_waits_on() {
    let ferry = Ferry::start(&shipped_config(), &[]).await;
    let (_, started) = ferry.start_session(JOURNEY).await;
    let session = started["session"].as_str().unwrap_or_default().to_owned();

    let (status, body) = ferry
        .submit(&session, json!({ "identifier": "alice" }))
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (422, Some("invalid_input")),
        "{body}"
    );
    let (status, body) = ferry
        .submit(
            &session,
            json!({ "identifier": "alice", "password": "x", "admin": "1" }),
        )
        .await;
    assert_eq!(status, 422, "{body}");

    let (status, waiting) = ferry.get(&format!("/v1/sessions/{session}")).await;
    assert_eq!(
        (status, waiting["status"].as_str()),
        (200, Some("waiting")),
        "{waiting}"
    );
    let (status, done) = ferry
        .submit(
            &session,
            json!({ "identifier": "alice", "password": "wonderland-42" }),
        )
        .await;
    assert_eq!(status, 200, "{done}");
    let (status, _) = ferry.get(&format!("/v1/sessions/{session}")).await;
    assert_eq!(status, 404, "an ended session is gone");
}

#[tokio::test]
async fn requests_outside_the_api_get_clear_errors() {
    let ferry = Ferry::start(&shipped_config(), &[]).await;
    let client = reqwest::Client::new();
    let unknown = ferry.start_session("no-such-journey").await;
    assert_eq!(
        (unknown.0, unknown.1["error"]["code"].as_str()),
        (404, Some("unknown_journey"))
    );
    let not_ready = ferry.start_session("jit-password-oauth").await;
    assert_eq!(
        (not_ready.0, not_ready.1["error"]["code"].as_str()),
        (503, Some("journey_not_ready"))
    );
    let bad_session = ferry.submit("not-a-session", json!({})).await;
    assert_eq!(bad_session.0, 404);
    let garbage = client
        .post(format!("{}/v1/sessions/{}", ferry.base, "A".repeat(32)))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .map(|r| r.status().as_u16());
    assert_eq!(garbage.ok(), Some(400));
    let huge = client
        .post(format!("{}/v1/sessions/{}", ferry.base, "A".repeat(32)))
        .header("content-type", "application/json")
        .body(vec![b' '; 100_000])
        .send()
        .await
        .map(|r| r.status().as_u16());
    assert_eq!(huge.ok(), Some(413));
    let (status, health) = ferry.get("/healthz").await;
    assert_eq!((status, health["status"].as_str()), (200, Some("ok")));
    let (status, _) = ferry.get("/nope").await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn metrics_count_journeys_legacy_calls_and_migrations() {
    let ferry = Ferry::start(&shipped_config(), &[]).await;
    assert_eq!(ferry.login(JOURNEY, "alice", "wonderland-42").await.0, 200);
    assert_eq!(ferry.login(JOURNEY, "alice", "wonderland-42").await.0, 200);
    assert_eq!(ferry.login(JOURNEY, "bob", "wrong").await.0, 401);

    let response = reqwest::get(format!("{}/metrics", ferry.base))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let kind = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(kind.starts_with("application/openmetrics-text"), "{kind}");
    let text = response.text().await.unwrap();
    for line in [
        "ferry_journeys_started_total{journey=\"jit-password\"} 3",
        "ferry_journeys_completed_total{journey=\"jit-password\"} 2",
        "ferry_journeys_failed_total{journey=\"jit-password\",step=\"wrong_credentials\",reason=\"invalid_credentials\"} 1",
        "ferry_users_migrated_total{journey=\"jit-password\",method=\"password\"} 1",
        // The second login is local: two legacy calls, one of them refused.
        "ferry_legacy_call_duration_seconds_count{idp=\"users_file\",provider=\"user_file\",method=\"password\",outcome=\"success\"} 1",
        "ferry_legacy_call_duration_seconds_count{idp=\"users_file\",provider=\"user_file\",method=\"password\",outcome=\"invalid_credentials\"} 1",
    ] {
        assert!(text.contains(line), "{line} is not in\n{text}");
    }
    for secret in ["alice", "wonderland", "bob"] {
        assert!(!text.contains(secret), "no user data in labels: {secret}");
    }
}
