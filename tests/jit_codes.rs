//! Journeys with legacy codes, end to end over HTTP: the shipped TOTP journey against a
//! Keycloak fixture (password and code in one direct grant), the shipped email-code
//! journey against an Okta fixture, an Entra journey whose password step answers
//! `mfa_required`, and the shipped SMS journey against cognito-local with the real code
//! it sends. Every failed check leaves no user row behind.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    reason = "tests fail by panicking"
)]

mod support;

use serde_json::{Value as Json, json};
use support::cognito::{Emulator, Kind};
use support::ferry::{Ferry, shipped_config};
use support::fixture::{Fixture, Signer};

const KC_TOKEN: &str = "/realms/legacy/protocol/openid-connect/token";

fn env(pairs: &[(&str, String)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

async fn keycloak() -> (Fixture, Signer, Ferry) {
    let fixture = Fixture::start().await;
    let signer = Signer::new();
    fixture.always(
        "GET",
        "/realms/legacy/protocol/openid-connect/certs",
        200,
        signer.jwks.clone(),
    );
    let ferry = Ferry::start(
        &shipped_config(),
        &env(&[
            ("LEGACY_KEYCLOAK_URL", fixture.base.clone()),
            ("LEGACY_KEYCLOAK_REALM", "legacy".into()),
            ("LEGACY_KEYCLOAK_CLIENT_ID", "ferry".into()),
            ("LEGACY_KEYCLOAK_CLIENT_SECRET", "cs".into()),
        ]),
    )
    .await;
    (fixture, signer, ferry)
}

fn keycloak_tokens(fixture: &Fixture, signer: &Signer) -> Json {
    let issuer = format!("{}/realms/legacy", fixture.base);
    let id_token = signer.id_token(
        &issuer,
        "ferry",
        "kc-alice",
        json!({ "email": "Alice@Example.com", "name": "Alice" }),
    );
    json!({ "access_token": "at", "token_type": "Bearer", "expires_in": 300, "id_token": id_token })
}

async fn login(ferry: &Ferry, journey: &str, input: Json) -> (u16, Json) {
    let (status, started) = ferry.start_session(journey).await;
    assert_eq!(status, 201, "{started}");
    ferry
        .submit(started["session"].as_str().unwrap(), input)
        .await
}

#[tokio::test]
async fn keycloak_password_and_totp_migrate_the_user_and_later_logins_are_local() {
    let (fixture, signer, ferry) = keycloak().await;
    fixture.on("POST", KC_TOKEN, 200, keycloak_tokens(&fixture, &signer));

    let input = json!({ "identifier": "alice", "password": "pw", "code": "123456" });
    let (status, body) = login(&ferry, "jit-totp", input).await;

    assert_eq!(status, 200, "{body}");
    assert_eq!(body["amr"], json!(["pwd", "otp"]));
    let form = fixture.one(KC_TOKEN).form();
    assert_eq!(
        (form["totp"].as_str(), form["password"].as_str()),
        ("123456", "pw")
    );
    assert_eq!(ferry.user_rows().await, 1);
    assert_eq!(
        ferry
            .scalar("SELECT COUNT(*) FROM credentials WHERE kind = 'password'")
            .await,
        1
    );
    assert_eq!(
        ferry
            .text("SELECT method FROM migration_log")
            .await
            .as_deref(),
        Some("totp")
    );

    let (status, again) = login(
        &ferry,
        "jit-totp",
        json!({ "identifier": "alice", "password": "pw" }),
    )
    .await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(
        fixture.requests_to(KC_TOKEN).len(),
        1,
        "the second login never reached Keycloak"
    );
}

#[tokio::test]
async fn keycloak_wrong_code_and_unknown_user_fail_alike_and_leave_no_user() {
    let (fixture, _, ferry) = keycloak().await;
    let refusal =
        json!({ "error": "invalid_grant", "error_description": "Invalid user credentials" });
    fixture.on("POST", KC_TOKEN, 401, refusal.clone());
    fixture.on("POST", KC_TOKEN, 400, refusal);

    let (wrong_status, wrong) = login(
        &ferry,
        "jit-totp",
        json!({ "identifier": "alice", "password": "pw", "code": "000000" }),
    )
    .await;
    let (unknown_status, unknown) = login(
        &ferry,
        "jit-totp",
        json!({ "identifier": "nobody", "password": "pw", "code": "000000" }),
    )
    .await;

    assert_eq!(
        (wrong_status, wrong["reason"].as_str()),
        (401, Some("invalid_credentials"))
    );
    assert_eq!(
        support::ferry::without_session(wrong),
        support::ferry::without_session(unknown)
    );
    assert_eq!(unknown_status, 401);
    assert_eq!(ferry.user_rows().await, 0);
}

#[tokio::test]
async fn keycloak_account_not_fully_set_up_ends_in_its_own_failure() {
    let (fixture, _, ferry) = keycloak().await;
    fixture.on(
        "POST",
        KC_TOKEN,
        400,
        json!({ "error": "invalid_grant", "error_description": "Account is not fully set up" }),
    );

    let (status, body) = login(
        &ferry,
        "jit-totp",
        json!({ "identifier": "alice", "password": "pw" }),
    )
    .await;

    assert_eq!(
        (status, body["reason"].as_str()),
        (403, Some("not_confirmed"))
    );
    assert_eq!(ferry.user_rows().await, 0);
}

#[tokio::test]
async fn okta_email_code_journey_waits_for_the_code_then_migrates() {
    let fixture = Fixture::start().await;
    let ferry = Ferry::start(
        &shipped_config(),
        &env(&[
            ("LEGACY_OKTA_URL", fixture.base.clone()),
            ("LEGACY_OKTA_API_TOKEN", "ssws".into()),
        ]),
    )
    .await;
    fixture.on(
        "GET",
        "/api/v1/users/alice%40example.com",
        200,
        json!({ "id": "00u1", "status": "ACTIVE" }),
    );
    fixture.on("GET", "/api/v1/users/00u1/factors", 200, json!([{ "id": "emf1", "factorType": "email", "status": "ACTIVE", "profile": { "email": "a...e@example.com" } }]));
    fixture.on(
        "POST",
        "/api/v1/users/00u1/factors/emf1/verify",
        200,
        json!({ "factorResult": "CHALLENGE" }),
    );
    fixture.on(
        "POST",
        "/api/v1/users/00u1/factors/emf1/verify",
        403,
        json!({ "errorCode": "E0000068", "errorSummary": "Invalid Passcode/Answer" }),
    );

    let (_, started) = ferry.start_session("jit-email-otp").await;
    let session = started["session"].as_str().unwrap().to_owned();
    let (status, waiting) = ferry
        .submit(&session, json!({ "identifier": "alice@example.com" }))
        .await;
    assert_eq!(status, 200, "{waiting}");
    assert_eq!(waiting["status"], "waiting");
    assert_eq!(waiting["step"]["kind"], "legacy_otp");
    assert_eq!(
        waiting["step"]["fields"],
        json!([{ "name": "code", "type": "otp", "label": "Code", "optional": false }])
    );
    assert_eq!(waiting["step"]["sent_to"], "a...e@example.com");
    assert!(
        !waiting.to_string().contains("00u1"),
        "no provider ids in the answer"
    );

    let (status, failed) = ferry.submit(&session, json!({ "code": "000000" })).await;
    assert_eq!(
        (status, failed["reason"].as_str()),
        (401, Some("invalid_code"))
    );
    assert_eq!(ferry.user_rows().await, 0);

    fixture.on(
        "GET",
        "/api/v1/users/alice%40example.com",
        200,
        json!({ "id": "00u1", "status": "ACTIVE" }),
    );
    fixture.on(
        "GET",
        "/api/v1/users/00u1/factors",
        200,
        json!([{ "id": "emf1", "factorType": "email", "status": "ACTIVE", "profile": {} }]),
    );
    fixture.on(
        "POST",
        "/api/v1/users/00u1/factors/emf1/verify",
        200,
        json!({ "factorResult": "CHALLENGE" }),
    );
    fixture.on(
        "POST",
        "/api/v1/users/00u1/factors/emf1/verify",
        200,
        json!({ "factorResult": "SUCCESS" }),
    );
    fixture.on("GET", "/api/v1/users/00u1", 200, json!({ "id": "00u1", "profile": { "email": "Alice@Example.com", "firstName": "Alice", "lastName": "Liddell", "login": "alice@example.com" } }));
    let (_, started) = ferry.start_session("jit-email-otp").await;
    let session = started["session"].as_str().unwrap().to_owned();
    ferry
        .submit(&session, json!({ "identifier": "alice@example.com" }))
        .await;
    let (status, done) = ferry.submit(&session, json!({ "code": "123456" })).await;

    assert_eq!(status, 200, "{done}");
    assert_eq!(done["amr"], json!(["otp"]));
    assert_eq!(ferry.user_rows().await, 1);
    assert_eq!(
        ferry
            .text("SELECT method FROM migration_log")
            .await
            .as_deref(),
        Some("email_otp")
    );
    assert_eq!(
        ferry.scalar("SELECT COUNT(*) FROM credentials").await,
        0,
        "a code leaves no local password"
    );
}

#[tokio::test]
async fn entra_mfa_required_ends_in_the_mfa_required_failure() {
    let fixture = Fixture::start().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("entra.yaml"),
        r#"
journey: jit-entra
idps:
  entra: { provider: entra }
start: ask
steps:
  ask:
    prompt: { fields: { identifier: text, password: password } }
    on: { submitted: check }
  check:
    legacy_password: { idp: entra, username: input.identifier, password: input.password }
    on: { success: save, mfa_required: needs_mfa, invalid_credentials: wrong, else: down }
  save:
    save_user: { identifier: input.identifier, password: input.password }
    on: { created: done, updated: done, conflict: down }
  done:
    complete: {}
  needs_mfa:
    fail: { reason: mfa_required, message: Sign in with Microsoft to go on. }
  wrong:
    fail: { reason: invalid_credentials }
  down:
    fail: { reason: unavailable }
"#,
    )
    .unwrap();
    let config = format!(
        "journeys: [{}]\nidps:\n  entra:\n    provider: entra\n    authority: {}\n    tenant: contoso.onmicrosoft.com\n    client_id: app\n    issuer: https://login.microsoftonline.com/tid/v2.0\n",
        dir.path().display(),
        fixture.base
    );
    let ferry = Ferry::start(&config, &[]).await;
    fixture.on("POST", "/contoso.onmicrosoft.com/oauth2/v2.0/token", 400, json!({
        "error": "interaction_required", "error_description": "AADSTS50076: Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication.",
        "error_codes": [50076], "suberror": "basic_action"
    }));

    let (status, body) = login(
        &ferry,
        "jit-entra",
        json!({ "identifier": "alice@contoso.com", "password": "pw" }),
    )
    .await;

    assert_eq!(
        (status, body["reason"].as_str()),
        (403, Some("mfa_required"))
    );
    assert_eq!(body["message"], "Sign in with Microsoft to go on.");
    assert!(
        !body.to_string().contains("AADSTS"),
        "the provider's text never reaches the user"
    );
    assert_eq!(ferry.user_rows().await, 0);
}

#[tokio::test]
async fn cognito_sms_mfa_journey_with_the_code_cognito_local_sent() {
    let Some(mut emulator) = Emulator::start(Kind::CognitoLocal).await else {
        return;
    };
    let pool = emulator.pool(false).await;
    emulator.user(&pool, "erin", Some("Erin-Passw0rd!")).await;
    emulator.enable_sms_mfa(&pool, "erin").await;
    let ferry = Ferry::start(
        &shipped_config(),
        &env(&[
            ("LEGACY_COGNITO_ENDPOINT", format!("{}/", emulator.base)),
            ("LEGACY_COGNITO_CLIENT_ID", pool.client_id.clone()),
            ("LEGACY_COGNITO_ISSUER", emulator.issuer(&pool)),
            ("LEGACY_COGNITO_JWKS_URI", emulator.jwks_uri(&pool)),
        ]),
    )
    .await;

    let (_, started) = ferry.start_session("jit-sms-otp").await;
    let session = started["session"].as_str().unwrap().to_owned();
    let (status, waiting) = ferry
        .submit(
            &session,
            json!({ "identifier": "erin", "password": "Erin-Passw0rd!" }),
        )
        .await;
    assert_eq!(
        (status, waiting["step"]["id"].as_str()),
        (200, Some("sms_code")),
        "{waiting}"
    );
    assert_eq!(waiting["step"]["sent_to"], "+15555550100");

    let (status, wrong) = ferry.submit(&session, json!({ "code": "000000" })).await;
    assert_eq!(
        (status, wrong["reason"].as_str()),
        (401, Some("invalid_code"))
    );
    assert_eq!(ferry.user_rows().await, 0, "a wrong code leaves no user");

    let (_, started) = ferry.start_session("jit-sms-otp").await;
    let session = started["session"].as_str().unwrap().to_owned();
    ferry
        .submit(
            &session,
            json!({ "identifier": "erin", "password": "Erin-Passw0rd!" }),
        )
        .await;
    let code = emulator.sms_code(&pool, "erin").await;
    let (status, done) = ferry.submit(&session, json!({ "code": code })).await;

    assert_eq!(status, 200, "{done}");
    assert_eq!(done["amr"], json!(["pwd", "sms"]));
    assert_eq!(done["user"]["identifier"], "erin");
    assert_eq!(ferry.user_rows().await, 1);
    assert_eq!(
        ferry
            .text("SELECT method FROM migration_log")
            .await
            .as_deref(),
        Some("sms_otp")
    );
}

#[tokio::test]
async fn cognito_totp_after_the_password_over_http_with_moto() {
    let Some(moto) = Emulator::start(Kind::Moto).await else {
        return;
    };
    let pool = moto.pool(true).await;
    moto.user(&pool, "tess", Some("Tess-Passw0rd!")).await;
    let secret = moto.enrol_totp(&pool, "tess", "Tess-Passw0rd!").await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("totp.yaml"),
        r#"
journey: jit-cognito-totp
idps:
  pool: { provider: cognito }
start: ask
steps:
  ask:
    prompt: { fields: { identifier: text, password: password } }
    on: { submitted: check }
  check:
    legacy_password: { idp: pool, username: input.identifier, password: input.password }
    on: { mfa_required: which, invalid_credentials: wrong, else: down }
  which:
    branch: { totp: "mfa.password_verified and 'totp' in mfa.factors" }
    on: { totp: ask_code, else: down }
  ask_code:
    prompt: { title: Authenticator code, fields: { code: otp } }
    on: { submitted: check_code }
  check_code:
    legacy_totp: { idp: pool, username: input.identifier, code: input.code }
    on: { success: save, invalid_code: wrong_code, else: down }
  save:
    save_user: { identifier: input.identifier, attributes: { email: claims.email } }
    on: { created: done, updated: done, conflict: down }
  done:
    complete: {}
  wrong:
    fail: { reason: invalid_credentials }
  wrong_code:
    fail: { reason: invalid_code }
  down:
    fail: { reason: unavailable }
"#,
    )
    .unwrap();
    let mut idp = moto.settings(&pool);
    idp["client_secret"] = "${POOL_SECRET}".into();
    let config = format!(
        "journeys: [{}]\nidps:\n  pool: {}\n",
        dir.path().display(),
        idp
    );
    let secret_env = env(&[("POOL_SECRET", pool.client_secret.clone().unwrap())]);
    let ferry = Ferry::start(&config, &secret_env).await;
    let (status, journeys) = ferry.get("/v1/journeys").await;
    assert_eq!(
        (status, &journeys["journeys"][0]["ready"]),
        (200, &json!(true)),
        "{journeys}"
    );

    let (_, started) = ferry.start_session("jit-cognito-totp").await;
    let session = started["session"].as_str().unwrap().to_owned();
    let (_, waiting) = ferry
        .submit(
            &session,
            json!({ "identifier": "tess", "password": "Tess-Passw0rd!" }),
        )
        .await;
    assert_eq!(waiting["step"]["id"], "ask_code", "{waiting}");
    let (status, wrong) = ferry.submit(&session, json!({ "code": "000000" })).await;
    assert_eq!(
        (status, wrong["reason"].as_str()),
        (401, Some("invalid_code"))
    );
    assert_eq!(ferry.user_rows().await, 0);

    let (_, started) = ferry.start_session("jit-cognito-totp").await;
    let session = started["session"].as_str().unwrap().to_owned();
    ferry
        .submit(
            &session,
            json!({ "identifier": "tess", "password": "Tess-Passw0rd!" }),
        )
        .await;
    let code = support::totp::fresh_code(&secret).await;
    let (status, done) = ferry.submit(&session, json!({ "code": code })).await;

    assert_eq!(status, 200, "{done}");
    assert_eq!(done["amr"], json!(["pwd", "otp"]));
    assert_eq!(ferry.user_rows().await, 1);
    assert_eq!(
        ferry
            .text("SELECT method FROM migration_log")
            .await
            .as_deref(),
        Some("totp")
    );
}
