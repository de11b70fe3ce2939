//! The reference password JIT journey on the generic OAuth 2.0 password grant, over HTTP,
//! against a real Glewlwyd started by the test harness.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    reason = "tests fail by panicking"
)]

mod support;

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{DecodingKey, Validation};
use serde_json::{Value as Json, json};
use support::ferry::{Ferry, shipped_config, without_session};
use support::glewlwyd::{ALICE, BOB, CAROL, Glewlwyd};

const JOURNEY: &str = "jit-password-oauth";

async fn setup() -> Option<(Glewlwyd, Ferry)> {
    let glewlwyd = Glewlwyd::start().await?;
    let ferry = Ferry::start(&shipped_config(), &glewlwyd.env()).await;
    Some((glewlwyd, ferry))
}

async fn verify_token(ferry: &Ferry, token: &str) -> Json {
    let (_, jwks) = ferry.get("/.well-known/jwks.json").await;
    let set: JwkSet = serde_json::from_value(jwks).expect("a JWK set");
    let header = jsonwebtoken::decode_header(token).expect("token header");
    let jwk = set
        .find(header.kid.as_deref().expect("kid"))
        .expect("the token's key is published");
    let mut validation = Validation::new(header.alg);
    validation.set_audience(&["ferry"]);
    validation.set_issuer(&["http://127.0.0.1:8080"]);
    let key = DecodingKey::from_jwk(jwk).expect("decoding key");
    jsonwebtoken::decode::<Json>(token, &key, &validation)
        .expect("token verifies")
        .claims
}

#[tokio::test]
async fn first_login_migrates_the_user_and_the_token_verifies() {
    let Some((_glewlwyd, ferry)) = setup().await else {
        return;
    };

    let (status, body) = ferry.login(JOURNEY, ALICE.username, ALICE.password).await;

    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "completed");
    let claims = verify_token(&ferry, body["token"].as_str().expect("token")).await;
    assert_eq!(claims["sub"], body["user"]["id"]);
    assert_eq!(claims["amr"], json!(["pwd"]));
    assert!(claims["exp"].as_i64() > claims["iat"].as_i64());
    assert_eq!(ferry.user_rows().await, 1);
    let attributes = ferry
        .text("SELECT attributes FROM users WHERE identifier = 'alice'")
        .await
        .expect("alice");
    let attributes: Json = serde_json::from_str(&attributes).expect("JSON attributes");
    assert_eq!(
        attributes["email"], "alice.liddell@ferry.test",
        "the email arrives lower-cased"
    );
    assert_eq!(attributes["name"], "Alice Liddell");
    let hash = ferry
        .text("SELECT secret FROM credentials WHERE kind = 'password'")
        .await
        .expect("a hash");
    assert!(
        hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{hash}"
    );
    let logged = ferry
        .scalar(
            "SELECT COUNT(*) FROM migration_log WHERE event = 'created' AND idp = 'legacy_oauth'",
        )
        .await;
    assert_eq!(logged, 1);
    let subject = ferry
        .text("SELECT legacy_subject FROM users")
        .await
        .expect("legacy subject");
    assert!(
        !subject.is_empty() && subject != "alice",
        "the legacy subject is Glewlwyd's opaque sub"
    );
}

#[tokio::test]
async fn second_login_is_local_with_the_legacy_idp_stopped() {
    let Some((mut glewlwyd, ferry)) = setup().await else {
        return;
    };
    let (status, first) = ferry.login(JOURNEY, ALICE.username, ALICE.password).await;
    assert_eq!(status, 200, "{first}");

    glewlwyd.stop();
    let (status, second) = ferry.login(JOURNEY, "  ALICE ", ALICE.password).await;

    assert_eq!(status, 200, "{second}");
    assert_eq!(second["user"]["id"], first["user"]["id"]);
    assert_eq!(ferry.user_rows().await, 1);
    let (status, wrong) = ferry
        .login(JOURNEY, ALICE.username, "not-her-password")
        .await;
    assert_eq!(
        (status, wrong["reason"].as_str()),
        (401, Some("invalid_credentials"))
    );
}

#[tokio::test]
async fn wrong_password_at_first_login_leaves_no_user() {
    let Some((_glewlwyd, ferry)) = setup().await else {
        return;
    };

    let (status, body) = ferry.login(JOURNEY, CAROL.username, "wrong-password").await;

    assert_eq!(status, 401, "{body}");
    assert_eq!(body["status"], "failed");
    assert_eq!(body["reason"], "invalid_credentials");
    assert!(body.get("token").is_none());
    assert_eq!(ferry.user_rows().await, 0);
    assert_eq!(ferry.scalar("SELECT COUNT(*) FROM credentials").await, 0);
}

#[tokio::test]
async fn unknown_user_and_wrong_password_get_the_same_answer() {
    let Some((_glewlwyd, ferry)) = setup().await else {
        return;
    };

    let (unknown_status, unknown) = ferry.login(JOURNEY, "nobody-here", "whatever").await;
    let (wrong_status, wrong) = ferry.login(JOURNEY, CAROL.username, "whatever").await;

    assert_eq!(unknown_status, wrong_status);
    assert_ne!(unknown["session"], wrong["session"]);
    assert_eq!(without_session(unknown), without_session(wrong));
    assert_eq!(ferry.user_rows().await, 0);
}

#[tokio::test]
async fn a_disabled_legacy_user_is_refused_like_a_wrong_password() {
    let Some((_glewlwyd, ferry)) = setup().await else {
        return;
    };

    let (disabled_status, disabled) = ferry.login(JOURNEY, BOB.username, BOB.password).await;
    let (wrong_status, wrong) = ferry.login(JOURNEY, CAROL.username, "wrong").await;

    assert_eq!(disabled_status, 401);
    assert_eq!(
        (disabled_status, without_session(disabled)),
        (wrong_status, without_session(wrong))
    );
    assert_eq!(ferry.user_rows().await, 0);
}

#[tokio::test]
async fn two_first_logins_at_once_create_one_user() {
    let Some((_glewlwyd, ferry)) = setup().await else {
        return;
    };

    let (a, b) = tokio::join!(
        ferry.login(JOURNEY, ALICE.username, ALICE.password),
        ferry.login(JOURNEY, ALICE.username, ALICE.password)
    );

    assert_eq!(a.0, 200, "{}", a.1);
    assert_eq!(b.0, 200, "{}", b.1);
    assert_eq!(a.1["user"]["id"], b.1["user"]["id"]);
    assert_eq!(ferry.user_rows().await, 1);
    assert_eq!(ferry.scalar("SELECT COUNT(*) FROM credentials").await, 1);
}
