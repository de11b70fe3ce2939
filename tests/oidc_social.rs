//! Apple and Meta over HTTP against a loopback stand-in: Apple's generated ES256 client
//! secret, `form_post` with the first-login `user` JSON and string booleans; Meta's OAuth
//! code exchange, `debug_token` and Graph profile, for a user without an email.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    reason = "tests fail by panicking"
)]

mod support;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value as Json, json};
use support::bad_op::{BadOp, Token};
use support::ferry::Ferry;

/// Saves whoever signs in, keyed on the legacy account, with the name when there is one.
const JOURNEY: &str = r#"
journey: social
idps:
  legacy: { provider: PROVIDER }
start: legacy
steps:
  legacy:
    legacy_redirect: { idp: legacy }
    on: { success: save, else: failed }
  save:
    save_user:
      identifier: legacy.subject
      attributes:
        name: claims.name
        email: claims.email if claims.email_verified is true
    on: { created: done, updated: done, else: failed }
  done:
    complete: {}
  failed:
    fail: { reason: unavailable }
"#;

async fn ferry_for(
    provider: &str,
    redirect: &str,
    env: Vec<(String, String)>,
) -> (tempfile::TempDir, Ferry) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("social.yaml"),
        JOURNEY.replace("PROVIDER", provider),
    )
    .unwrap();
    let listener = Ferry::reserve().await;
    let redirect_uri = format!("{}/v1/callback", Ferry::base_of(&listener));
    let config = format!(
        "journeys: [{}]\nidps:\n  legacy:\n    provider: {provider}\n    redirect:\n      redirect_uri: {redirect_uri}\n{redirect}",
        dir.path().display()
    );
    let ferry = Ferry::start_on(listener, &config, &env).await;
    (dir, ferry)
}

async fn redirect_url(ferry: &Ferry) -> (String, reqwest::Url) {
    let (status, started) = ferry.start_session("social").await;
    assert_eq!(status, 201, "{started}");
    let url = started["step"]["redirect_url"].as_str().unwrap();
    (
        started["session"].as_str().unwrap().to_owned(),
        reqwest::Url::parse(url).unwrap(),
    )
}

fn param(url: &reqwest::Url, name: &str) -> String {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

fn p256_pem() -> String {
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
    let pkcs8 =
        EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
            .unwrap();
    pem::encode(&pem::Pem::new("PRIVATE KEY", pkcs8.as_ref().to_vec()))
}

#[tokio::test]
async fn apple_posts_the_first_login_name_and_gets_a_generated_client_secret() {
    let op = BadOp::start().await;
    let redirect = format!(
        "      issuer: {}\n      client_id: com.example.web\n      team_id: TEAM123456\n      key_id: KEY1234567\n      private_key: ${{APPLE_KEY}}\n",
        op.issuer
    );
    let env = vec![("APPLE_KEY".to_owned(), p256_pem())];
    let (_dir, ferry) = ferry_for("apple", &redirect, env).await;
    let (session, url) = redirect_url(&ferry).await;
    assert_eq!(param(&url, "response_mode"), "form_post");
    assert_eq!(param(&url, "scope"), "openid name email");
    let mut claims = op.claims("com.example.web", &param(&url, "nonce"));
    claims["sub"] = json!("001234.5678abcd");
    claims["email_verified"] = json!("true");
    claims["is_private_email"] = json!("true");
    claims["email"] = json!("x1y2@privaterelay.appleid.com");
    claims.as_object_mut().unwrap().remove("name");
    op.next_token(Token {
        claims,
        alg: "ES256",
        kid: Some("k1".into()),
        signer: 0,
    });

    let user = r#"{"name":{"firstName":"Ada","lastName":"Lovelace"},"email":"x1y2@privaterelay.appleid.com"}"#;
    let form = [
        ("state", param(&url, "state")),
        ("code", "c0de".to_owned()),
        ("user", user.to_owned()),
        ("iss", op.issuer.clone()),
    ];
    let response = reqwest::Client::new()
        .post(format!("{}/v1/callback", ferry.base))
        .form(&form)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let body: Json = response.json().await.unwrap();

    assert_eq!(status, 200, "{body}");
    assert_ne!(
        body["session"], session,
        "the callback's answer names the rotated session"
    );
    assert_eq!(body["status"], "completed");
    let attributes: Json =
        serde_json::from_str(&ferry.text("SELECT attributes FROM users").await.unwrap()).unwrap();
    assert_eq!(attributes["name"], "Ada Lovelace");
    assert_eq!(
        attributes["email"], "x1y2@privaterelay.appleid.com",
        "a string true counts"
    );
    let sent = op.scenario.lock().unwrap().token_form.clone().unwrap();
    let secret = url::form_urlencoded::parse(sent.as_bytes())
        .find(|(k, _)| k == "client_secret")
        .map(|(_, v)| v.into_owned())
        .expect("a client secret");
    let parts: Vec<&str> = secret.split('.').collect();
    let header: Json = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
    let payload: Json = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    assert_eq!(header["alg"], "ES256");
    assert_eq!(header["kid"], "KEY1234567");
    assert_eq!(payload["iss"], "TEAM123456");
    assert_eq!(payload["sub"], "com.example.web");
    assert_eq!(payload["aud"], "https://appleid.apple.com");
    let lifetime = payload["exp"].as_i64().unwrap() - payload["iat"].as_i64().unwrap();
    assert!(lifetime <= 15_777_000, "{lifetime}");
}

#[tokio::test]
async fn meta_signs_in_a_user_without_an_email_through_the_graph() {
    let op = BadOp::start().await;
    let redirect = format!(
        "      client_id: \"1234567890\"\n      client_secret: ${{META_SECRET}}\n      graph_url: {0}\n      dialog_url: {0}\n",
        op.issuer
    );
    let env = vec![("META_SECRET".to_owned(), "app-secret".to_owned())];
    let (_dir, ferry) = ferry_for("meta", &redirect, env).await;
    let (_, url) = redirect_url(&ferry).await;
    assert_eq!(url.path(), "/v21.0/dialog/oauth");
    assert_eq!(param(&url, "scope"), "email,public_profile");
    assert_eq!(
        param(&url, "nonce"),
        "",
        "no OpenID nonce in the OAuth flow"
    );

    let query = [("code", "c0de".to_owned()), ("state", param(&url, "state"))];
    let response = reqwest::Client::new()
        .get(format!("{}/v1/callback", ferry.base))
        .query(&query)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let body: Json = response.json().await.unwrap();

    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "completed");
    assert_eq!(body["user"]["identifier"], "10158000000000001");
    let attributes: Json =
        serde_json::from_str(&ferry.text("SELECT attributes FROM users").await.unwrap()).unwrap();
    assert_eq!(attributes, json!({ "name": "Sam Doe" }));
}

#[tokio::test]
async fn meta_refuses_a_token_of_another_app() {
    let op = BadOp::start().await;
    op.scenario.lock().unwrap().graph_app = "999".into();
    let redirect = format!(
        "      client_id: \"1234567890\"\n      client_secret: ${{META_SECRET}}\n      graph_url: {0}\n      dialog_url: {0}\n",
        op.issuer
    );
    let env = vec![("META_SECRET".to_owned(), "app-secret".to_owned())];
    let (_dir, ferry) = ferry_for("meta", &redirect, env).await;
    let (_, url) = redirect_url(&ferry).await;
    let query = [("code", "c0de".to_owned()), ("state", param(&url, "state"))];
    let response = reqwest::Client::new()
        .get(format!("{}/v1/callback", ferry.base))
        .query(&query)
        .send()
        .await
        .unwrap();
    let body: Json = response.json().await.unwrap();
    assert_eq!(body["status"], "failed", "{body}");
    assert_eq!(body["cause"], "foreign_token");
    assert_eq!(ferry.user_rows().await, 0);
}
