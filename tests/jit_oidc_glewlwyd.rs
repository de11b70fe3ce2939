//! The OIDC redirect migration over HTTP against Glewlwyd (Debian's package, started by the
//! harness): start → redirect URL → Glewlwyd's login → callback → user created → token;
//! then a login that does not reach Glewlwyd, which is stopped by then.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    reason = "tests fail by panicking"
)]

mod support;

use serde_json::{Value as Json, json};
use support::ferry::Ferry;
use support::glewlwyd::{ALICE, CLIENT_ID, CLIENT_SECRET, Glewlwyd};

/// jit-oidc keyed on Glewlwyd's `preferred_username` (its ID tokens carry no
/// `email_verified`, and its emails are set by administrators).
const JOURNEY: &str = r#"
journey: jit-oidc-glewlwyd
idps:
  legacy: { provider: oidc }
start: ask
steps:
  ask:
    prompt: { fields: { identifier: text } }
    on: { submitted: lookup }
  lookup:
    find_user: { identifier: input.identifier }
    on: { found: ask_password, not_found: legacy }
  ask_password:
    prompt: { fields: { password: password } }
    on: { submitted: check_local }
  check_local:
    check_password: { password: input.password }
    on: { success: done, else: wrong }
  legacy:
    legacy_redirect: { idp: legacy }
    on: { success: choose_password, else: wrong }
  choose_password:
    prompt: { fields: { new_password: password } }
    on: { submitted: save }
  save:
    save_user:
      identifier: claims.preferred_username
      attributes: { email: claims.email | lower, name: claims.name }
      password: input.new_password
    on: { created: done, else: wrong }
  done:
    complete: {}
  wrong:
    fail: { reason: invalid_credentials }
"#;

fn config(glewlwyd: &Glewlwyd, journeys: &std::path::Path, redirect_uri: &str) -> String {
    format!(
        "journeys: [{}]\nidps:\n  legacy:\n    provider: oidc\n    redirect:\n      issuer: {}\n      client_id: {CLIENT_ID}\n      client_secret: ${{SECRET}}\n      redirect_uri: {redirect_uri}\n      scopes: [openid]\n",
        journeys.display(),
        glewlwyd.issuer()
    )
}

#[tokio::test]
async fn a_redirect_through_glewlwyd_migrates_the_user_and_later_logins_stay_local() {
    let Some(mut glewlwyd) = Glewlwyd::start().await else {
        return;
    };
    let listener = Ferry::reserve().await;
    let redirect_uri = format!("{}/v1/callback", Ferry::base_of(&listener));
    glewlwyd.allow_redirect_uri(&redirect_uri).await;
    let journeys = tempfile::tempdir().unwrap();
    std::fs::write(journeys.path().join("jit-oidc-glewlwyd.yaml"), JOURNEY).unwrap();
    let env = vec![("SECRET".to_owned(), CLIENT_SECRET.to_owned())];
    let ferry = Ferry::start_on(
        listener,
        &config(&glewlwyd, journeys.path(), &redirect_uri),
        &env,
    )
    .await;

    let (_, started) = ferry.start_session("jit-oidc-glewlwyd").await;
    let session = started["session"].as_str().unwrap().to_owned();
    let (_, waiting) = ferry
        .submit(&session, json!({ "identifier": ALICE.username }))
        .await;
    let url = waiting["step"]["redirect_url"]
        .as_str()
        .expect("redirect url");
    assert!(
        url.starts_with(&format!("{}/api/oidc/auth?", glewlwyd.base)),
        "{url}"
    );
    let callback = glewlwyd.authorize(url, &ALICE).await;
    assert!(callback.starts_with(&redirect_uri), "{callback}");

    let answer = reqwest::get(&callback).await.unwrap();
    let status = answer.status().as_u16();
    let body: Json = answer.json().await.unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["step"]["id"], "choose_password", "{body}");
    let rotated = body["session"].as_str().unwrap();
    assert_ne!(
        rotated, session,
        "the callback moves the session to a new id"
    );
    let (status, done) = ferry
        .submit(rotated, json!({ "new_password": "alice-local-passw0rd" }))
        .await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["status"], "completed");
    assert_eq!(done["user"]["identifier"], "alice");
    let attributes = ferry.text("SELECT attributes FROM users").await.unwrap();
    let attributes: Json = serde_json::from_str(&attributes).unwrap();
    assert_eq!(attributes["email"], "alice.liddell@ferry.test");
    assert_eq!(attributes["name"], "Alice Liddell");

    glewlwyd.stop();
    let (_, started) = ferry.start_session("jit-oidc-glewlwyd").await;
    let session = started["session"].as_str().unwrap();
    let (_, asked) = ferry
        .submit(session, json!({ "identifier": "alice" }))
        .await;
    assert_eq!(asked["step"]["id"], "ask_password", "{asked}");
    let (status, done) = ferry
        .submit(session, json!({ "password": "alice-local-passw0rd" }))
        .await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["status"], "completed");
    assert_eq!(ferry.user_rows().await, 1);
}
