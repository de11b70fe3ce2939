//! Each check of the OpenID Foundation's basic relying-party plan, plus expiry, a replayed
//! `state` and `alg: none`, against a small provider that serves the bad token over HTTP:
//! every one fails closed, with its own `cause`, and leaves no user row.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    reason = "tests fail by panicking"
)]

mod support;

use serde_json::{Value as Json, json};
use support::bad_op::{BadOp, Token};
use support::ferry::Ferry;

const CLIENT: &str = "ferry";

fn config(op: &BadOp, redirect_uri: &str) -> String {
    format!(
        "journeys: [journeys/jit-oidc.yaml]\nidps:\n  legacy_oidc:\n    provider: oidc\n    redirect:\n      issuer: {}\n      client_id: {CLIENT}\n      client_secret: ${{SECRET}}\n      redirect_uri: {redirect_uri}\n      clock_skew_seconds: 30\n",
        op.issuer
    )
}

async fn setup() -> (BadOp, Ferry) {
    let op = BadOp::start().await;
    let listener = Ferry::reserve().await;
    let redirect_uri = format!("{}/v1/callback", Ferry::base_of(&listener));
    let env = vec![("SECRET".to_owned(), "s3cret".to_owned())];
    let ferry = Ferry::start_on(listener, &config(&op, &redirect_uri), &env).await;
    (op, ferry)
}

/// A session waiting at the redirect: its `state` and `nonce`.
async fn redirected(ferry: &Ferry) -> (String, String) {
    let (_, started) = ferry.start_session("jit-oidc").await;
    let session = started["session"].as_str().unwrap().to_owned();
    let (_, waiting) = ferry
        .submit(&session, json!({ "identifier": "carol@example.test" }))
        .await;
    let url = reqwest::Url::parse(waiting["step"]["redirect_url"].as_str().unwrap()).unwrap();
    let param = |name: &str| {
        url.query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
            .unwrap()
    };
    (param("state"), param("nonce"))
}

async fn callback(ferry: &Ferry, query: &[(&str, &str)]) -> (u16, Json) {
    let response = reqwest::Client::new()
        .get(format!("{}/v1/callback", ferry.base))
        .query(query)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Json::Null))
}

/// Runs one login whose ID token is made by `spoil` from good claims; returns the answer.
async fn login_with(op: &BadOp, ferry: &Ferry, spoil: impl Fn(&mut Token)) -> (u16, Json) {
    let (state, nonce) = redirected(ferry).await;
    let mut token = Token {
        claims: op.claims(CLIENT, &nonce),
        alg: "ES256",
        kid: Some("k1".into()),
        signer: 0,
    };
    spoil(&mut token);
    op.next_token(token);
    callback(
        ferry,
        &[("code", "c0de"), ("state", &state), ("iss", &op.issuer)],
    )
    .await
}

fn remove(token: &mut Token, claim: &str) {
    token.claims.as_object_mut().unwrap().remove(claim);
}

#[tokio::test]
async fn every_bad_id_token_fails_closed_with_its_own_cause() {
    let (op, ferry) = setup().await;
    type Spoil = Box<dyn Fn(&mut Token)>;
    let cases: Vec<(&str, Spoil)> = vec![
        (
            "wrong_issuer",
            Box::new(|t| t.claims["iss"] = json!("http://127.0.0.1:1")),
        ),
        ("missing_subject", Box::new(|t| remove(t, "sub"))),
        (
            "wrong_audience",
            Box::new(|t| t.claims["aud"] = json!("someone-else")),
        ),
        ("bad_issued_at", Box::new(|t| remove(t, "iat"))),
        (
            "expired",
            Box::new(|t| t.claims["exp"] = json!(1_000_000_000)),
        ),
        (
            "nonce_mismatch",
            Box::new(|t| t.claims["nonce"] = json!("another-nonce")),
        ),
        ("bad_signature", Box::new(|t| t.signer = 1)),
        ("unsigned_id_token", Box::new(|t| t.alg = "none")),
        ("algorithm_not_allowed", Box::new(|t| t.alg = "HS256")),
        ("unknown_key", Box::new(|t| t.kid = Some("k9".into()))),
        (
            "wrong_authorized_party",
            Box::new(|t| t.claims["azp"] = json!("other")),
        ),
    ];
    let mut seen = std::collections::BTreeSet::new();
    for (cause, spoil) in cases {
        let (status, body) = login_with(&op, &ferry, spoil).await;
        assert_eq!(status, 503, "{cause}: {body}");
        assert_eq!(body["status"], "failed", "{cause}: {body}");
        assert_eq!(body["cause"], cause, "{body}");
        assert!(body.get("token").is_none());
        assert!(seen.insert(cause));
    }
    assert_eq!(ferry.user_rows().await, 0);
}

#[tokio::test]
async fn a_userinfo_answer_about_someone_else_fails_closed() {
    let (op, ferry) = setup().await;
    op.scenario.lock().unwrap().userinfo_sub = Some("legacy-user-2".into());
    let (status, body) = login_with(&op, &ferry, |_| {}).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["cause"], "userinfo_subject_mismatch");
    assert_eq!(ferry.user_rows().await, 0);
}

#[tokio::test]
async fn no_kid_is_fine_with_one_key_and_refused_with_several() {
    let (op, ferry) = setup().await;
    let (status, body) = login_with(&op, &ferry, |t| t.kid = None).await;
    assert_eq!(status, 200, "one key, no kid: {body}");
    assert_eq!(body["step"]["id"], "choose_password");

    let (op2, ferry2) = setup().await;
    op2.scenario.lock().unwrap().published = vec![0, 1];
    let (status, body) = login_with(&op2, &ferry2, |t| t.kid = None).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["cause"], "ambiguous_key");
    assert_eq!(ferry2.user_rows().await, 0);
    drop(op);
}

#[tokio::test]
async fn a_rotated_key_is_fetched_once_on_its_unknown_kid() {
    let (op, ferry) = setup().await;
    let (status, body) = login_with(&op, &ferry, |_| {}).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(op.scenario.lock().unwrap().jwks_fetches, 1);
    // Ferry refetches at most every 5 s, so an attacker's unknown kids cannot hammer the IDP.
    tokio::time::sleep(std::time::Duration::from_millis(5_200)).await;
    op.scenario.lock().unwrap().published = vec![1];

    let (status, body) = login_with(&op, &ferry, |t| {
        t.kid = Some("k2".into());
        t.signer = 1;
    })
    .await;

    assert_eq!(status, 200, "{body}");
    assert_eq!(body["step"]["id"], "choose_password");
    assert_eq!(op.scenario.lock().unwrap().jwks_fetches, 2);
}

#[tokio::test]
async fn a_replayed_or_unknown_state_is_refused_and_changes_nothing() {
    let (op, ferry) = setup().await;
    let (state, nonce) = redirected(&ferry).await;
    op.next_token(Token {
        claims: op.claims(CLIENT, &nonce),
        alg: "ES256",
        kid: Some("k1".into()),
        signer: 0,
    });
    let query = [
        ("code", "c0de"),
        ("state", state.as_str()),
        ("iss", op.issuer.as_str()),
    ];
    let (status, first) = callback(&ferry, &query).await;
    assert_eq!(status, 200, "{first}");

    let (status, replayed) = callback(&ferry, &query).await;
    assert_eq!(status, 400, "{replayed}");
    assert_eq!(replayed["error"]["code"], "invalid_state");
    let (status, unknown) = callback(&ferry, &[("code", "c0de"), ("state", "made-up")]).await;
    assert_eq!(status, 400, "{unknown}");
    let (status, none) = callback(&ferry, &[("code", "c0de")]).await;
    assert_eq!(status, 400, "{none}");
    assert_eq!(ferry.user_rows().await, 0);
}

#[tokio::test]
async fn a_response_from_another_issuer_is_refused() {
    let (op, ferry) = setup().await;
    let (state, nonce) = redirected(&ferry).await;
    op.next_token(Token {
        claims: op.claims(CLIENT, &nonce),
        alg: "ES256",
        kid: Some("k1".into()),
        signer: 0,
    });
    // RFC 9207: the provider promises `iss`, so a response without it is refused too.
    let (status, body) = callback(&ferry, &[("code", "c0de"), ("state", &state)]).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["cause"], "response_issuer");

    let (state, _) = redirected(&ferry).await;
    let query = [
        ("code", "c0de"),
        ("state", state.as_str()),
        ("iss", "http://evil.test"),
    ];
    let (status, body) = callback(&ferry, &query).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["cause"], "response_issuer");
    assert_eq!(ferry.user_rows().await, 0);
}
