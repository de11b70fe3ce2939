//! Okta through HTTP fixtures: the Authn API's transaction states and error codes, factor
//! verification inside the transaction (SMS, email, TOTP), the Factors API for codes as a
//! first factor, and the password grant.
//!
//! Shapes: Okta's Authentication API and Factors API references and its error-code
//! catalogue (okta-developer-docs), as summarised in `docs/idp-apis.md` §2.1. Unconfirmed
//! there: what suspended users get from Authn (expected: the generic E0000004), and that an
//! expired SMS/email code is also E0000068.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    reason = "tests fail by panicking"
)]

mod support;

use ferry::idp::okta::{Okta, Settings};
use ferry::idp::{Connector, FactorKind, LegacyError, Refusal, TotpCheck, Verified};
use ferry::secret::Secret;
use serde_json::{Value as Json, json};
use support::fixture::{Fixture, Signer};

async fn setup(extra: Json) -> (Fixture, Okta) {
    let fixture = Fixture::start().await;
    let mut settings = json!({ "base_url": fixture.base, "api_token": "ssws-token" });
    if let (Some(map), Json::Object(more)) = (settings.as_object_mut(), extra) {
        map.extend(more);
    }
    let settings: Settings = serde_json::from_value(settings).unwrap();
    (fixture, Okta::new(settings).unwrap())
}

fn user() -> Json {
    json!({ "id": "00u1", "profile": { "login": "alice@example.com", "firstName": "Alice", "lastName": "Liddell" } })
}

fn transaction(status: &str) -> Json {
    json!({ "status": status, "stateToken": "st-1", "expiresAt": "2026-12-04T17:00:00.000Z", "_embedded": { "user": user() } })
}

fn mfa_required() -> Json {
    json!({
        "status": "MFA_REQUIRED", "stateToken": "st-1",
        "_embedded": { "user": user(), "factors": [
            { "id": "sms1", "factorType": "sms", "provider": "OKTA", "profile": { "phoneNumber": "+1 XXX-XXX-0100" } },
            { "id": "emf1", "factorType": "email", "provider": "OKTA", "profile": { "email": "a...e@example.com" } },
            { "id": "ost1", "factorType": "token:software:totp", "provider": "GOOGLE", "profile": { "credentialId": "alice@example.com" } },
            { "id": "opf1", "factorType": "push", "provider": "OKTA", "profile": {} }
        ]}
    })
}

fn error(code: &str) -> Json {
    json!({ "errorCode": code, "errorSummary": "summary", "errorLink": code, "errorId": "oae1", "errorCauses": [] })
}

async fn password(okta: &Okta, pw: &str) -> Result<Verified, LegacyError> {
    okta.check_password("alice@example.com", &Secret::new(pw))
        .await
}

#[tokio::test]
async fn authn_sends_the_documented_request() {
    let (fixture, okta) = setup(json!({})).await;
    fixture.on("POST", "/api/v1/authn", 200, transaction("SUCCESS"));

    let verified = password(&okta, "pw").await.expect("success");

    assert_eq!(verified.subject, "00u1");
    assert_eq!(verified.claims["login"], "alice@example.com");
    let sent = fixture.one("/api/v1/authn");
    assert_eq!(sent.method, "POST");
    assert_eq!(sent.header("authorization"), Some("SSWS ssws-token"));
    assert_eq!(sent.header("content-type"), Some("application/json"));
    assert_eq!(
        sent.json(),
        json!({
            "username": "alice@example.com", "password": "pw",
            "options": { "multiOptionalFactorEnroll": false, "warnBeforePasswordExpired": false }
        })
    );
}

#[tokio::test]
async fn the_end_user_address_is_forwarded_only_when_asked() {
    let (fixture, okta) = setup(json!({ "forward_client_ip": true })).await;
    let (_, quiet) = setup(json!({ "base_url": fixture.base })).await;
    fixture.on("POST", "/api/v1/authn", 401, error("E0000004"));
    fixture.on("POST", "/api/v1/authn", 401, error("E0000004"));
    let ip = Some("203.0.113.7".parse().unwrap());

    okta.check_password_for("alice", &Secret::new("pw"), ip)
        .await
        .unwrap_err();
    quiet
        .check_password_for("alice", &Secret::new("pw"), ip)
        .await
        .unwrap_err();

    let sent = fixture.requests_to("/api/v1/authn");
    assert_eq!(sent[0].header("x-forwarded-for"), Some("203.0.113.7"));
    assert_eq!(sent[1].header("x-forwarded-for"), None);
}

#[tokio::test]
async fn each_authn_answer_maps_to_its_outcome() {
    let cases: Vec<(u16, Json, Option<Refusal>, bool)> = vec![
        (200, transaction("SUCCESS"), None, false),
        (200, transaction("PASSWORD_WARN"), None, false),
        (200, mfa_required(), Some(Refusal::MfaRequired), true),
        (
            200,
            transaction("MFA_ENROLL"),
            Some(Refusal::MfaRequired),
            true,
        ),
        (
            200,
            transaction("PASSWORD_EXPIRED"),
            Some(Refusal::PasswordExpired),
            true,
        ),
        (200, transaction("LOCKED_OUT"), Some(Refusal::Locked), false),
        (
            200,
            transaction("RECOVERY"),
            Some(Refusal::Unavailable),
            false,
        ),
        (
            200,
            transaction("MFA_CHALLENGE"),
            Some(Refusal::Unavailable),
            false,
        ),
        (
            401,
            error("E0000004"),
            Some(Refusal::InvalidCredentials),
            false,
        ),
        (429, error("E0000047"), Some(Refusal::RateLimited), false),
        (403, error("E0000079"), Some(Refusal::Unavailable), false),
        (500, json!(""), Some(Refusal::Unavailable), false),
        (200, json!("<html>"), Some(Refusal::Unavailable), false),
    ];
    for (status, body, expected, proven) in cases {
        let (fixture, okta) = setup(json!({})).await;
        fixture.on("POST", "/api/v1/authn", status, body.clone());

        let result = password(&okta, "pw").await;

        match expected {
            None => assert!(result.is_ok(), "{body}"),
            Some(refusal) => {
                let error = result.unwrap_err();
                assert_eq!(error.refusal(), refusal, "{status} {body}");
                assert_eq!(error.password_verified(), proven, "{body}");
            }
        }
    }
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_user_are_the_same_answer() {
    let (fixture, okta) = setup(json!({})).await;
    fixture.on("POST", "/api/v1/authn", 401, error("E0000004"));
    fixture.on("POST", "/api/v1/authn", 401, error("E0000004"));

    let wrong = password(&okta, "wrong").await.unwrap_err();
    let unknown = okta
        .check_password("nobody", &Secret::new("x"))
        .await
        .unwrap_err();

    assert_eq!(wrong.refusal(), Refusal::InvalidCredentials);
    assert_eq!(wrong.refusal(), unknown.refusal());
}

#[tokio::test]
async fn the_rate_limit_reset_header_holds_further_calls() {
    let (fixture, okta) = setup(json!({})).await;
    let reset = (std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 60)
        .to_string();
    fixture.on_with(
        "POST",
        "/api/v1/authn",
        429,
        &[("x-rate-limit-reset", &reset)],
        error("E0000047"),
    );

    let first = password(&okta, "pw").await.unwrap_err();
    let second = password(&okta, "pw").await.unwrap_err();

    assert_eq!(first.refusal(), Refusal::RateLimited);
    assert!(
        matches!(second, LegacyError::Throttled { .. }),
        "{second:?}"
    );
    assert_eq!(fixture.requests_to("/api/v1/authn").len(), 1);
}

#[tokio::test]
async fn mfa_required_lists_the_factors_and_keeps_the_state_token_secret() {
    let (fixture, okta) = setup(json!({})).await;
    fixture.on("POST", "/api/v1/authn", 200, mfa_required());

    let mut error = password(&okta, "pw").await.unwrap_err();
    let pending = error.take_continuation().expect("continuation");

    let kinds: Vec<FactorKind> = pending.factors.iter().map(|f| f.kind).collect();
    assert_eq!(
        kinds,
        [
            FactorKind::Sms,
            FactorKind::Email,
            FactorKind::Totp,
            FactorKind::Other
        ]
    );
    assert_eq!(
        pending.secret("state_token").map(Secret::expose),
        Some("st-1")
    );
    assert!(!format!("{pending:?}").contains("st-1"));
    assert_eq!(pending.id("user_id"), Some("00u1"));
}

#[tokio::test]
async fn an_sms_code_inside_the_transaction() {
    let (fixture, okta) = setup(json!({})).await;
    fixture.on("POST", "/api/v1/authn", 200, mfa_required());
    fixture.on(
        "POST",
        "/api/v1/authn/factors/sms1/verify",
        200,
        json!({ "status": "MFA_CHALLENGE", "stateToken": "st-2", "_embedded": { "user": user() } }),
    );
    fixture.on(
        "POST",
        "/api/v1/authn/factors/sms1/verify",
        403,
        error("E0000068"),
    );
    fixture.on(
        "POST",
        "/api/v1/authn/factors/sms1/verify",
        200,
        transaction("SUCCESS"),
    );

    let after = password(&okta, "pw")
        .await
        .unwrap_err()
        .take_continuation()
        .unwrap();
    let pending = okta
        .send_code(FactorKind::Sms, "alice@example.com", Some(&after))
        .await
        .expect("sent");
    let wrong = okta
        .verify_code(&pending, &Secret::new("000000"))
        .await
        .unwrap_err();
    let verified = okta
        .verify_code(&pending, &Secret::new("123456"))
        .await
        .expect("success");

    assert_eq!(wrong.refusal(), Refusal::InvalidCode);
    assert_eq!(verified.subject, "00u1");
    assert_eq!(pending.hint.as_deref(), Some("+1 XXX-XXX-0100"));
    let sent = fixture.requests_to("/api/v1/authn/factors/sms1/verify");
    assert_eq!(
        sent[0].json(),
        json!({ "stateToken": "st-1" }),
        "the first call only sends the code"
    );
    assert_eq!(
        sent[2].json(),
        json!({ "stateToken": "st-2", "passCode": "123456" })
    );
}

#[tokio::test]
async fn each_factor_refusal_maps_to_its_outcome() {
    for (status, code, expected) in [
        (403, "E0000068", Refusal::InvalidCode),
        (401, "E0000011", Refusal::Expired),
        (403, "E0000069", Refusal::TooManyAttempts),
        (429, "E0000109", Refusal::RateLimited),
    ] {
        let (fixture, okta) = setup(json!({})).await;
        fixture.on("POST", "/api/v1/authn", 200, mfa_required());
        fixture.on(
            "POST",
            "/api/v1/authn/factors/ost1/verify",
            status,
            error(code),
        );
        let after = password(&okta, "pw")
            .await
            .unwrap_err()
            .take_continuation()
            .unwrap();

        let code_secret = Secret::new("123456");
        let outcome = okta
            .check_totp(TotpCheck {
                username: "alice@example.com",
                password: None,
                after: Some(&after),
                code: &code_secret,
            })
            .await
            .unwrap_err();

        assert_eq!(outcome.refusal(), expected, "{code}");
    }
}

#[tokio::test]
async fn an_email_code_as_first_factor_through_the_factors_api() {
    let (fixture, okta) = setup(json!({})).await;
    fixture.on(
        "GET",
        "/api/v1/users/alice%40example.com",
        200,
        json!({ "id": "00u1", "status": "ACTIVE" }),
    );
    fixture.on("GET", "/api/v1/users/00u1/factors", 200, json!([
        { "id": "sms1", "factorType": "sms", "status": "ACTIVE", "profile": { "phoneNumber": "+15555550100" } },
        { "id": "emf1", "factorType": "email", "status": "ACTIVE", "profile": { "email": "alice@example.com" } }
    ]));
    fixture.on(
        "POST",
        "/api/v1/users/00u1/factors/emf1/verify",
        200,
        json!({ "factorResult": "CHALLENGE", "profile": { "email": "alice@example.com" } }),
    );
    fixture.on(
        "POST",
        "/api/v1/users/00u1/factors/emf1/verify",
        200,
        json!({ "factorResult": "SUCCESS" }),
    );
    fixture.on("GET", "/api/v1/users/00u1", 200, user());

    let pending = okta
        .send_code(FactorKind::Email, "alice@example.com", None)
        .await
        .expect("sent");
    let verified = okta
        .verify_code(&pending, &Secret::new("246810"))
        .await
        .expect("success");

    assert_eq!(verified.subject, "00u1");
    assert!(!pending.password_verified);
    let sent = fixture.requests_to("/api/v1/users/00u1/factors/emf1/verify");
    assert_eq!(sent[0].json(), json!({}));
    assert_eq!(sent[1].json(), json!({ "passCode": "246810" }));
    assert_eq!(sent[1].header("authorization"), Some("SSWS ssws-token"));
}

#[tokio::test]
async fn an_unknown_user_and_a_user_without_the_factor_are_both_not_enrolled() {
    let (fixture, okta) = setup(json!({})).await;
    fixture.on("GET", "/api/v1/users/nobody", 404, error("E0000007"));
    fixture.on(
        "GET",
        "/api/v1/users/alice",
        200,
        json!({ "id": "00u1", "status": "ACTIVE" }),
    );
    fixture.on("GET", "/api/v1/users/00u1/factors", 200, json!([{ "id": "ost1", "factorType": "token:software:totp", "status": "ACTIVE", "profile": {} }]));

    let unknown = okta
        .send_code(FactorKind::Sms, "nobody", None)
        .await
        .unwrap_err();
    let without = okta
        .send_code(FactorKind::Sms, "alice", None)
        .await
        .unwrap_err();

    assert_eq!(unknown.refusal(), Refusal::NotEnrolled);
    assert_eq!(without.refusal(), Refusal::NotEnrolled);
}

#[tokio::test]
async fn each_factor_result_maps_to_its_outcome() {
    for (result, expected) in [
        ("REJECTED", Refusal::InvalidCode),
        ("PASSCODE_REPLAYED", Refusal::InvalidCode),
        ("TIMEOUT", Refusal::Expired),
        ("WAITING", Refusal::Unavailable),
    ] {
        let (fixture, okta) = setup(json!({})).await;
        fixture.on(
            "GET",
            "/api/v1/users/alice",
            200,
            json!({ "id": "00u1", "status": "ACTIVE" }),
        );
        fixture.on("GET", "/api/v1/users/00u1/factors", 200, json!([{ "id": "ost1", "factorType": "token:software:totp", "status": "ACTIVE", "profile": {} }]));
        fixture.on(
            "POST",
            "/api/v1/users/00u1/factors/ost1/verify",
            200,
            json!({ "factorResult": result }),
        );

        let code = Secret::new("123456");
        let outcome = okta
            .check_totp(TotpCheck {
                username: "alice",
                password: None,
                after: None,
                code: &code,
            })
            .await
            .unwrap_err();

        assert_eq!(outcome.refusal(), expected, "{result}");
    }
}

#[tokio::test]
async fn codes_as_first_factor_need_an_api_token() {
    let fixture = Fixture::start().await;
    let settings: Settings = serde_json::from_value(json!({ "base_url": fixture.base })).unwrap();
    let okta = Okta::new(settings).unwrap();

    let outcome = okta
        .send_code(FactorKind::Email, "alice", None)
        .await
        .unwrap_err();

    assert!(matches!(outcome, LegacyError::NotOffered(_)));
    assert_eq!(outcome.refusal(), Refusal::Unavailable);
    assert!(fixture.requests().is_empty());
}

#[tokio::test]
async fn the_password_grant_on_an_authorization_server() {
    let (fixture, okta) =
        setup(json!({ "password_api": "token", "client_id": "0oa1", "client_secret": "cs" })).await;
    let signer = Signer::new();
    let issuer = format!("{}/oauth2/default", fixture.base);
    fixture.always("GET", "/oauth2/default/v1/keys", 200, signer.jwks.clone());
    let id_token = signer.id_token(
        &issuer,
        "0oa1",
        "00u1",
        json!({ "email": "alice@example.com" }),
    );
    fixture.on("POST", "/oauth2/default/v1/token", 200, json!({ "token_type": "Bearer", "expires_in": 3600, "access_token": "at", "id_token": id_token }));
    fixture.on("POST", "/oauth2/default/v1/token", 400, json!({ "error": "invalid_grant", "error_description": "The credentials provided were invalid." }));

    let verified = password(&okta, "pw").await.expect("success");
    let wrong = password(&okta, "wrong").await.unwrap_err();

    assert_eq!(verified.subject, "00u1");
    assert_eq!(wrong.refusal(), Refusal::InvalidCredentials);
    let sent = &fixture.requests_to("/oauth2/default/v1/token")[0];
    assert!(sent.header("authorization").unwrap().starts_with("Basic "));
    let form = sent.form();
    assert_eq!(form["grant_type"], "password");
    assert_eq!(form["username"], "alice@example.com");
    assert_eq!(form["scope"], "openid profile email");
}
