//! The shipped `post-migration` journey over HTTP: a first login migrates a user from a real
//! Glewlwyd; the journey asks them to set up an authenticator app; they skip twice, the third
//! time it is required and they enrol with a real code; the next login asks for password and
//! code, both checked by Ferry with Glewlwyd stopped.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    reason = "tests fail by panicking"
)]

mod support;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value as Json, json};
use support::ferry::{Ferry, shipped_config};
use support::glewlwyd::{ALICE, Glewlwyd};
use support::totp::{code_at, fresh_code};

const JOURNEY: &str = "post-migration";
const KEY: &str = "Zm9yLXRlc3RzLW9ubHktMzItYnl0ZXMtc2VjcmV0ISE=";

fn config() -> String {
    shipped_config()
        + "
passwords: { memory_kib: 64, iterations: 1, parallelism: 1 }
authenticators:
  encryption_key: ${FERRY_CREDENTIAL_KEY}
  totp: { issuer: Ferry }
"
}

/// Starts a session and submits Alice's password; returns the session id and the answer.
async fn sign_in(ferry: &Ferry) -> (String, u16, Json) {
    let (status, started) = ferry.start_session(JOURNEY).await;
    assert_eq!(status, 201, "{started}");
    let session = started["session"].as_str().unwrap().to_owned();
    let input = json!({ "identifier": ALICE.username, "password": ALICE.password });
    let (status, answer) = ferry.submit(&session, input).await;
    (session, status, answer)
}

async fn sign_in_and_skip(ferry: &Ferry, skips_left: u64) {
    let (session, status, prompt) = sign_in(ferry).await;
    assert_eq!(status, 200, "{prompt}");
    assert_eq!(prompt["step"]["id"], "enrol", "{prompt}");
    let register = &prompt["step"]["register"];
    assert_eq!(register["can_skip"], true);
    assert_eq!(register["skips_left"], skips_left);
    assert!(
        register["totp"]["otpauth_uri"]
            .as_str()
            .unwrap()
            .starts_with("otpauth://totp/Ferry%3Aalice?secret=")
    );
    assert!(
        register["totp"]["qr_svg"]
            .as_str()
            .unwrap()
            .contains("<svg")
    );
    let (status, done) = ferry.submit(&session, json!({ "action": "skip" })).await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["status"], "completed");
    assert_eq!(done["user"]["authenticators"], json!(["password"]));
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[tokio::test]
async fn a_migrated_user_skips_twice_then_enrols_and_signs_in_with_password_and_code() {
    let Some(mut glewlwyd) = Glewlwyd::start().await else {
        return;
    };
    let mut env = glewlwyd.env();
    env.push(("FERRY_CREDENTIAL_KEY".into(), KEY.into()));
    let ferry = Ferry::start(&config(), &env).await;

    sign_in_and_skip(&ferry, 2).await;
    let migrated = ferry
        .scalar("SELECT COUNT(*) FROM migration_log WHERE idp = 'legacy_oauth'")
        .await;
    assert_eq!(migrated, 1, "the first login migrated alice from Glewlwyd");
    glewlwyd.stop();

    sign_in_and_skip(&ferry, 1).await;
    assert_eq!(
        ferry
            .scalar("SELECT skips FROM authenticator_prompts WHERE prompt = 'authenticator_app'")
            .await,
        2,
        "the prompt state is stored"
    );

    let (session, _, required) = sign_in(&ferry).await;
    let register = &required["step"]["register"];
    assert_eq!(
        (register["can_skip"].clone(), register["skips_left"].clone()),
        (json!(false), json!(0)),
        "{required}"
    );
    assert_eq!(register["state"]["skips"], 2);
    let (status, refused) = ferry.submit(&session, json!({ "action": "skip" })).await;
    assert_eq!(status, 422, "{refused}");
    let secret = register["totp"]["secret"].as_str().unwrap().to_owned();
    let code = fresh_code(&secret).await;
    let (status, enrolled) = ferry.submit(&session, json!({ "code": code })).await;
    assert_eq!(status, 200, "{enrolled}");
    assert_eq!(
        enrolled["amr"],
        json!(["pwd"]),
        "setting the app up is not signing in with it"
    );
    let stored = ferry
        .text("SELECT secret FROM credentials WHERE kind = 'totp'")
        .await
        .unwrap();
    assert!(stored.starts_with("sealed:v1:k1:"), "encrypted at rest");

    let (session, _, asked) = sign_in(&ferry).await;
    assert_eq!(asked["step"]["id"], "ask_code", "{asked}");
    let (status, replay) = ferry.submit(&session, json!({ "code": code })).await;
    assert_eq!(
        (status, replay["reason"].as_str()),
        (401, Some("invalid_code")),
        "the enrolment code cannot be used again: {replay}"
    );

    let wait = 30 - unix_now() % 30;
    tokio::time::sleep(Duration::from_secs(wait)).await;
    let (session, _, _) = sign_in(&ferry).await;
    let next = code_at(&secret, unix_now());
    let (status, done) = ferry.submit(&session, json!({ "code": next })).await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["amr"], json!(["pwd", "otp"]));
    assert_eq!(done["user"]["authenticators"], json!(["password", "totp"]));
    assert_eq!(ferry.user_rows().await, 1);
}
