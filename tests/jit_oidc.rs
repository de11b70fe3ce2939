//! The OIDC redirect JIT journey over HTTP against a real OpenID provider (panva's
//! oidc-provider) started by the harness: start → redirect URL → the provider's login →
//! callback → user created → completion token; then a login that never reaches the
//! provider. Client authentication by Basic, by post and by `private_key_jwt`; `form_post`.

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
use support::ferry::{Ferry, shipped_config};
use support::oidc_provider::{ALICE, Account, BOB, Browser, Landing, OidcProvider};

const JOURNEY: &str = "jit-oidc";
const SECRET: &str = "ferry-oidc-secret";

fn client(redirect_uri: &str, auth: &str) -> Json {
    json!({
        "client_id": "ferry", "client_secret": SECRET, "token_endpoint_auth_method": auth,
        "redirect_uris": [redirect_uri], "grant_types": ["authorization_code"],
        "response_types": ["code"]
    })
}

fn env(provider: &OidcProvider, redirect_uri: &str) -> Vec<(String, String)> {
    vec![
        ("LEGACY_OIDC_ISSUER".into(), provider.issuer.clone()),
        ("LEGACY_OIDC_CLIENT_ID".into(), "ferry".into()),
        ("LEGACY_OIDC_CLIENT_SECRET".into(), SECRET.into()),
        ("LEGACY_OIDC_REDIRECT_URI".into(), redirect_uri.into()),
    ]
}

/// A provider with one client and a Ferry whose callback it knows, on `config`.
async fn setup_with(
    auth: &str,
    clients: Option<Json>,
    config: &str,
) -> Option<(OidcProvider, Ferry)> {
    let listener = Ferry::reserve().await;
    let redirect_uri = format!("{}/v1/callback", Ferry::base_of(&listener));
    let clients = clients.unwrap_or_else(|| json!([client(&redirect_uri, auth)]));
    let provider = OidcProvider::start(clients).await?;
    let ferry = Ferry::start_on(listener, config, &env(&provider, &redirect_uri)).await;
    Some((provider, ferry))
}

async fn setup() -> Option<(OidcProvider, Ferry)> {
    setup_with("client_secret_basic", None, &shipped_config()).await
}

/// Starts the journey for `account` and returns the session and the redirect URL.
async fn to_provider(ferry: &Ferry, account: Account) -> (String, String) {
    let (status, started) = ferry.start_session(JOURNEY).await;
    assert_eq!(status, 201, "{started}");
    let session = started["session"].as_str().unwrap().to_owned();
    let (status, waiting) = ferry
        .submit(&session, json!({ "identifier": account.email }))
        .await;
    assert_eq!(status, 200, "{waiting}");
    assert_eq!(waiting["step"]["kind"], "legacy_redirect", "{waiting}");
    let url = waiting["step"]["redirect_url"].as_str().unwrap().to_owned();
    (session, url)
}

async fn call_back(url: &str) -> (u16, Json) {
    let response = reqwest::get(url).await.expect("callback");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Json::Null))
}

async fn signed_in_callback(url: &str, account: Account) -> String {
    match Browser::default()
        .sign_in(url, account.login, account.password, false)
        .await
    {
        Landing::Redirect(callback) => callback,
        other => panic!("expected a redirect back, got {other:?}"),
    }
}

fn param(url: &str, name: &str) -> Option<String> {
    reqwest::Url::parse(url)
        .ok()?
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

#[tokio::test]
async fn a_redirect_migrates_the_user_and_later_logins_stay_local() {
    let Some((provider, ferry)) = setup().await else {
        return;
    };

    let (session, url) = to_provider(&ferry, ALICE).await;
    assert_eq!(
        param(&url, "code_challenge_method").as_deref(),
        Some("S256")
    );
    assert_eq!(param(&url, "client_id").as_deref(), Some("ferry"));
    assert!(param(&url, "nonce").is_some_and(|n| n.len() >= 43));
    let callback = signed_in_callback(&url, ALICE).await;
    assert!(
        callback.starts_with(&format!("{}/v1/callback?", ferry.base)),
        "{callback}"
    );
    assert_eq!(
        param(&callback, "iss").as_deref(),
        Some(provider.issuer.as_str())
    );

    let (status, body) = call_back(&callback).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["step"]["id"], "choose_password", "{body}");
    // The callback moves the session to a new id that only its answer carries: the party
    // that started the login and sent the user to the provider cannot go on with it.
    let rotated = body["session"].as_str().unwrap().to_owned();
    assert_ne!(rotated, session);
    let (status, stale) = ferry
        .submit(&session, json!({ "new_password": "an-attackers-passw0rd" }))
        .await;
    assert_eq!(status, 404, "{stale}");
    assert_eq!(ferry.user_rows().await, 0);
    let (status, done) = ferry
        .submit(&rotated, json!({ "new_password": "a-new-local-passw0rd" }))
        .await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["status"], "completed");
    assert!(
        done["token"]
            .as_str()
            .is_some_and(|t| t.split('.').count() == 3)
    );
    assert_eq!(done["user"]["identifier"], ALICE.email);
    assert_eq!(ferry.user_rows().await, 1);
    let attributes = ferry
        .text("SELECT attributes FROM users")
        .await
        .expect("attributes");
    let attributes: Json = serde_json::from_str(&attributes).unwrap();
    assert_eq!(attributes["name"], "Alice Liddell");
    assert_eq!(attributes["given_name"], "Alice");
    let subject = ferry.text("SELECT legacy_subject FROM users").await;
    assert_eq!(subject.as_deref(), Some(ALICE.sub));
    let method = ferry.text("SELECT method FROM migration_log").await;
    assert_eq!(method.as_deref(), Some("oidc"));

    // The same callback again: its state was used, so it is refused and changes nothing.
    let (status, again) = call_back(&callback).await;
    assert_eq!(status, 400, "{again}");
    assert_eq!(again["error"]["code"], "invalid_state");
    assert_eq!(ferry.user_rows().await, 1);

    // The provider is gone; the next login is local.
    drop(provider);
    let (status, started) = ferry.start_session(JOURNEY).await;
    assert_eq!(status, 201);
    let session = started["session"].as_str().unwrap();
    let (_, asked) = ferry
        .submit(session, json!({ "identifier": ALICE.email }))
        .await;
    assert_eq!(asked["step"]["id"], "ask_password", "{asked}");
    let (status, done) = ferry
        .submit(session, json!({ "password": "a-new-local-passw0rd" }))
        .await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["status"], "completed");
    assert_eq!(done["user"]["identifier"], ALICE.email);
    assert_eq!(ferry.user_rows().await, 1);
}

#[tokio::test]
async fn an_unverified_email_is_refused_by_the_journey_and_no_user_is_made() {
    let Some((_provider, ferry)) = setup().await else {
        return;
    };
    let (_, url) = to_provider(&ferry, BOB).await;
    let callback = signed_in_callback(&url, BOB).await;

    let (status, body) = call_back(&callback).await;

    assert_eq!(status, 403, "{body}");
    assert_eq!(body["reason"], "denied");
    assert_eq!(
        body["message"],
        "The previous provider has not verified this email."
    );
    assert_eq!(ferry.user_rows().await, 0);
}

#[tokio::test]
async fn a_cancelled_sign_in_is_denied() {
    let Some((_provider, ferry)) = setup().await else {
        return;
    };
    let (_, url) = to_provider(&ferry, ALICE).await;
    let landing = Browser::default().sign_in(&url, "", "", true).await;
    let Landing::Redirect(callback) = landing else {
        panic!("{landing:?}");
    };
    assert_eq!(param(&callback, "error").as_deref(), Some("access_denied"));

    let (status, body) = call_back(&callback).await;

    assert_eq!(status, 403, "{body}");
    assert_eq!(body["reason"], "denied");
    assert_eq!(body["cause"], "denied");
    assert_eq!(ferry.user_rows().await, 0);
}

#[tokio::test]
async fn input_posted_to_a_waiting_redirect_is_refused() {
    let Some((_provider, ferry)) = setup().await else {
        return;
    };
    let (session, _) = to_provider(&ferry, ALICE).await;
    let (status, body) = ferry.submit(&session, json!({ "code": "x" })).await;
    assert_eq!(status, 422, "{body}");
    let (status, shown) = ferry.get(&format!("/v1/sessions/{session}")).await;
    assert_eq!(status, 200);
    assert_eq!(shown["step"]["kind"], "legacy_redirect");
}

fn config_with(extra: &str) -> String {
    shipped_config().replace(
        "      client_auth: client_secret_basic\n",
        &format!("{extra}\n"),
    )
}

#[tokio::test]
async fn client_secret_post_authenticates_the_code_exchange() {
    let config = config_with("      client_auth: client_secret_post");
    let Some((_provider, ferry)) = setup_with("client_secret_post", None, &config).await else {
        return;
    };
    let (session, url) = to_provider(&ferry, ALICE).await;
    let (status, body) = call_back(&signed_in_callback(&url, ALICE).await).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["session"].is_string());
    assert_ne!(body["session"], session);
    assert_eq!(body["step"]["id"], "choose_password");
}

#[tokio::test]
async fn a_wrong_client_secret_is_an_error_not_a_sign_in() {
    let listener = Ferry::reserve().await;
    let redirect_uri = format!("{}/v1/callback", Ferry::base_of(&listener));
    let registered = client(&redirect_uri, "client_secret_basic");
    let Some(provider) = OidcProvider::start(json!([registered])).await else {
        return;
    };
    let mut vars = env(&provider, &redirect_uri);
    vars.retain(|(k, _)| k != "LEGACY_OIDC_CLIENT_SECRET");
    vars.push(("LEGACY_OIDC_CLIENT_SECRET".into(), "not-the-secret".into()));
    let ferry = Ferry::start_on(listener, &shipped_config(), &vars).await;

    let (_, url) = to_provider(&ferry, ALICE).await;
    let (status, body) = call_back(&signed_in_callback(&url, ALICE).await).await;

    assert_eq!(status, 503, "{body}");
    assert_eq!(body["cause"], "token_refused");
    assert_eq!(ferry.user_rows().await, 0);
}

#[tokio::test]
async fn private_key_jwt_authenticates_the_code_exchange() {
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _};
    let pkcs8 =
        EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
            .unwrap();
    let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref()).unwrap();
    let point = pair.public_key().as_ref();
    let jwk = json!({
        "kty": "EC", "crv": "P-256", "kid": "ferry-key", "alg": "ES256", "use": "sig",
        "x": URL_SAFE_NO_PAD.encode(&point[1..33]), "y": URL_SAFE_NO_PAD.encode(&point[33..65]),
    });
    let pem = pem::encode(&pem::Pem::new("PRIVATE KEY", pkcs8.as_ref().to_vec()));

    let listener = Ferry::reserve().await;
    let redirect_uri = format!("{}/v1/callback", Ferry::base_of(&listener));
    let mut registered = client(&redirect_uri, "private_key_jwt");
    registered["jwks"] = json!({ "keys": [jwk] });
    registered["token_endpoint_auth_signing_alg"] = json!("ES256");
    registered.as_object_mut().unwrap().remove("client_secret");
    let Some(provider) = OidcProvider::start(json!([registered])).await else {
        return;
    };
    let config = shipped_config().replace(
        "      client_secret: ${LEGACY_OIDC_CLIENT_SECRET}\n      client_auth: client_secret_basic\n",
        "      client_auth: private_key_jwt\n      private_key: ${LEGACY_OIDC_KEY}\n      key_id: ferry-key\n",
    );
    let mut vars = env(&provider, &redirect_uri);
    vars.push(("LEGACY_OIDC_KEY".into(), pem));
    let ferry = Ferry::start_on(listener, &config, &vars).await;

    let (session, url) = to_provider(&ferry, ALICE).await;
    let (status, body) = call_back(&signed_in_callback(&url, ALICE).await).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["session"].is_string());
    assert_ne!(body["session"], session);
    assert_eq!(body["step"]["id"], "choose_password");
}

#[tokio::test]
async fn form_post_callbacks_resume_the_session() {
    let config =
        config_with("      client_auth: client_secret_basic\n      response_mode: form_post");
    let Some((_provider, ferry)) = setup_with("client_secret_basic", None, &config).await else {
        return;
    };
    let (session, url) = to_provider(&ferry, ALICE).await;
    assert_eq!(param(&url, "response_mode").as_deref(), Some("form_post"));
    let landing = Browser::default()
        .sign_in(&url, ALICE.login, ALICE.password, false)
        .await;
    let Landing::Form { action, fields } = landing else {
        panic!("expected a form_post page, got {landing:?}");
    };
    assert_eq!(action, format!("{}/v1/callback", ferry.base));

    let response = reqwest::Client::new()
        .post(&action)
        .form(&fields)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let body: Json = response.json().await.unwrap();

    assert_eq!(status, 200, "{body}");
    assert!(body["session"].is_string());
    assert_ne!(body["session"], session);
    assert_eq!(body["step"]["id"], "choose_password");
}

#[tokio::test]
async fn the_google_journey_is_ready_once_configured_and_the_others_are_not_held_up() {
    // Building the relying party reaches no one: discovery waits for the first redirect.
    let env: Vec<(String, String)> = [
        ("LEGACY_GOOGLE_CLIENT_ID", "1234.apps.googleusercontent.com"),
        ("LEGACY_GOOGLE_CLIENT_SECRET", "s"),
        (
            "LEGACY_GOOGLE_REDIRECT_URI",
            "http://127.0.0.1:8080/v1/callback",
        ),
        ("LEGACY_GOOGLE_DOMAIN", "example.com"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let ferry = Ferry::start(&shipped_config(), &env).await;
    let (status, listed) = ferry.get("/v1/journeys").await;
    assert_eq!(status, 200);
    let ready = |id: &str| {
        listed["journeys"]
            .as_array()
            .unwrap()
            .iter()
            .find(|j| j["id"] == id)
            .map(|j| j["ready"].clone())
    };
    assert_eq!(ready("jit-oidc-google"), Some(json!(true)), "{listed}");
    assert_eq!(
        ready("jit-oidc"),
        Some(json!(false)),
        "no LEGACY_OIDC_* set"
    );
    assert_eq!(ready("jit-password"), Some(json!(true)));
}
