//! Passkeys through the engine with webauthn-rs's software authenticator: a signed-in user
//! registers a passkey at a required prompt, later logins check it with a WebAuthn
//! authentication ceremony, and a replayed assertion is refused.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    reason = "tests fail by panicking"
)]

use std::collections::HashMap;
use std::sync::Arc;

use ferry::config::Config;
use ferry::runtime::{Client, Engine, SessionId};
use ferry::store::{
    ConflictPolicy, CredentialKind, LegacyAccount, MemoryUsers, Migration, NewCredential, UserStore,
};
use ferry::syntax::source::SourceFile;
use serde_json::{Value as Json, json};
use webauthn_authenticator_rs::WebauthnAuthenticator;
use webauthn_authenticator_rs::softpasskey::SoftPasskey;
use webauthn_rs::prelude::{CreationChallengeResponse, RequestChallengeResponse};

const ORIGIN: &str = "http://localhost:8080";

const JOURNEY: &str = "
journey: passkeys
start: ask
steps:
  ask:
    prompt: { fields: { identifier: text, password: password } }
    on: { submitted: lookup }
  lookup:
    find_user: { identifier: input.identifier }
    on: { found: check, not_found: check }
  check:
    check_password: { password: input.password }
    on: { success: has_passkey, failure: wrong, not_enrolled: wrong, locked: wrong }
  has_passkey:
    branch: { yes: \"'passkey' in user.authenticators\" }
    on: { yes: passkey, else: enrol }
  passkey:
    check_passkey: { title: Use your passkey }
    on: { success: done, failure: wrong, not_enrolled: enrol, locked: wrong }
  enrol:
    register_authenticator: { offer: [passkey], policy: required }
    on: { registered: done, skipped: done, deferred: done }
  done:
    complete: {}
  wrong:
    fail: { reason: invalid_credentials }
";

async fn engine() -> (tempfile::TempDir, Engine, Arc<MemoryUsers>) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("passkeys.yaml"), JOURNEY).unwrap();
    let text = format!(
        "journeys: [{}]\npasswords: {{ memory_kib: 64, iterations: 1 }}\nauthenticators:\n  passkeys: {{ rp_id: localhost, origin: \"{ORIGIN}\" }}\n",
        dir.path().display()
    );
    let env = HashMap::<String, String>::new();
    let config = Config::parse(SourceFile::new("ferry.yaml", text), dir.path().into(), &env)
        .expect("configuration");
    let users = Arc::new(MemoryUsers::new());
    let (engine, rejected) = Engine::builder(config)
        .users(users.clone())
        .build()
        .await
        .unwrap();
    assert!(rejected.is_empty(), "{rejected:?}");
    let hash = engine
        .passwords()
        .hash(&ferry::secret::Secret::new("right"))
        .await
        .unwrap();
    let migration = Migration {
        identifier: "alice".into(),
        attributes: Default::default(),
        legacy: LegacyAccount {
            idp: "legacy".into(),
            provider: "user_file".into(),
            subject: "1".into(),
        },
        credentials: vec![NewCredential {
            kind: CredentialKind::Password,
            secret: hash,
            replace: true,
        }],
        roles: None,
        groups: None,
        completes: true,
        policy: ConflictPolicy::Update,
        journey: "setup".into(),
        method: "password".into(),
        at: 0,
    };
    users.save_migration(&migration).await.unwrap();
    (dir, engine, users)
}

async fn login(engine: &Engine) -> (SessionId, Json) {
    let client = Client::default();
    let started = engine.start("passkeys", &client).await.unwrap();
    let id = started.session.clone();
    let input = json!({ "identifier": "alice", "password": "right" });
    let answer = engine.advance(&id, &input, &client).await.unwrap();
    (id, serde_json::to_value(&answer).unwrap())
}

async fn send(engine: &Engine, id: &SessionId, input: Json) -> Json {
    let answer = engine
        .advance(id, &input, &Client::default())
        .await
        .unwrap();
    serde_json::to_value(&answer).unwrap()
}

#[tokio::test]
async fn a_passkey_is_registered_then_signs_in_and_an_old_assertion_is_refused() {
    let (_dir, engine, users) = engine().await;
    let origin = url::Url::parse(ORIGIN).unwrap();
    let mut authenticator = SoftPasskey::new(true);

    let (id, prompt) = login(&engine).await;
    assert_eq!(prompt["step"]["kind"], "register_authenticator", "{prompt}");
    let options: CreationChallengeResponse =
        serde_json::from_value(prompt["step"]["register"]["passkey"]["options"].clone()).unwrap();
    let created = authenticator
        .do_registration(origin.clone(), options)
        .unwrap();
    let done = send(&engine, &id, json!({ "credential": created })).await;
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(done["amr"], json!(["pwd"]), "registering is not signing in");
    let user = users.find("alice").await.unwrap().unwrap();
    let stored = users
        .credential(user.id, CredentialKind::Passkey)
        .await
        .unwrap()
        .unwrap();
    let stored: Json = serde_json::from_str(&stored.secret).unwrap();
    assert_eq!(stored.as_array().map(Vec::len), Some(1));

    let (id, challenge) = login(&engine).await;
    assert_eq!(challenge["step"]["kind"], "check_passkey", "{challenge}");
    let options: RequestChallengeResponse =
        serde_json::from_value(challenge["step"]["passkey"]["options"].clone()).unwrap();
    let assertion = authenticator
        .do_authentication(origin.clone(), options)
        .unwrap();
    let signed_in = send(&engine, &id, json!({ "credential": assertion.clone() })).await;
    assert_eq!(signed_in["status"], "completed", "{signed_in}");
    assert_eq!(signed_in["amr"], json!(["pwd", "hwk"]));

    let (id, _) = login(&engine).await;
    let replayed = send(&engine, &id, json!({ "credential": assertion })).await;
    assert_eq!(
        replayed["reason"], "invalid_credentials",
        "an assertion for another challenge: {replayed}"
    );
}

#[tokio::test]
async fn a_bad_registration_answer_keeps_the_prompt_waiting() {
    let (_dir, engine, _users) = engine().await;
    let (id, _) = login(&engine).await;
    let answer = send(&engine, &id, json!({ "credential": { "id": "nope" } })).await;
    assert_eq!(answer["status"], "waiting", "{answer}");
    assert!(answer["step"]["register"]["error"].is_string(), "{answer}");
}
