//! PingOne through HTTP fixtures: the worker token, the admin password check, and PingOne
//! MFA device authentications for email, SMS and TOTP codes.
//!
//! Shapes: PingOne Platform API docs (password check, read password state, MFA device
//! authentications, error codes), as summarised in `docs/idp-apis.md` §2.7. Unconfirmed
//! there, and so chosen by these fixtures: the error code of a wrong password (an
//! `INVALID_DATA` 400 here), the password-check answer's fields beyond `status`, the OTP
//! error details (`INVALID_OTP`, `OTP_LIMIT_EXCEEDED`), the body naming the device of a
//! device authentication (`device.id`), and whether a worker token may create one.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    reason = "tests fail by panicking"
)]

mod support;

use ferry::idp::pingone::{PingOne, Settings};
use ferry::idp::{Connector, FactorKind, Refusal, TotpCheck};
use ferry::secret::Secret;
use serde_json::{Value as Json, json};
use support::fixture::Fixture;

const ENV: &str = "env-1";

async fn setup() -> (Fixture, PingOne) {
    let fixture = Fixture::start().await;
    fixture.always(
        "POST",
        &format!("/auth/{ENV}/as/token"),
        200,
        json!({ "access_token": "worker", "token_type": "Bearer", "expires_in": 3600 }),
    );
    let settings: Settings = serde_json::from_value(json!({
        "auth_base_url": fixture.url("/auth"), "api_base_url": fixture.url("/v1"), "environment_id": ENV,
        "client_id": "worker-app", "client_secret": "ws"
    }))
    .unwrap();
    (fixture, PingOne::new(settings).unwrap())
}

fn users_path() -> String {
    format!("/v1/environments/{ENV}/users")
}

fn found() -> Json {
    json!({ "_embedded": { "users": [{ "id": "u-1", "username": "alice", "email": "alice@acme.test", "_links": {} }] }, "count": 1 })
}

fn error(status_code: &str, detail: &str) -> Json {
    json!({ "id": "e1", "code": status_code, "message": "msg", "details": [{ "code": detail, "target": "password", "message": "detail" }] })
}

#[tokio::test]
async fn the_password_check_as_documented() {
    let (fixture, ping) = setup().await;
    fixture.on("GET", &users_path(), 200, found());
    fixture.on(
        "POST",
        &format!("{}/u-1/password", users_path()),
        200,
        json!({ "status": "OK", "lastChangedAt": "2026-01-01T00:00:00Z" }),
    );

    let verified = ping
        .check_password("alice", &Secret::new("pw"))
        .await
        .expect("success");

    assert_eq!(verified.subject, "u-1");
    assert!(!verified.claims.contains_key("_links"));
    assert_eq!(
        fixture.one(&users_path()).query_pairs()["filter"],
        "username eq \"alice\""
    );
    let check = fixture.one(&format!("{}/u-1/password", users_path()));
    assert_eq!(
        check.header("content-type"),
        Some("application/vnd.pingidentity.password.check+json")
    );
    assert_eq!(check.header("authorization"), Some("Bearer worker"));
    assert_eq!(check.json(), json!({ "password": "pw" }));
    let token = fixture.one(&format!("/auth/{ENV}/as/token"));
    assert_eq!(token.form()["grant_type"], "client_credentials");
}

#[tokio::test]
async fn each_password_answer_maps_to_its_outcome() {
    let cases = [
        (
            200,
            json!({ "status": "MUST_CHANGE_PASSWORD" }),
            Refusal::PasswordExpired,
            true,
        ),
        (
            200,
            json!({ "status": "PASSWORD_EXPIRED" }),
            Refusal::PasswordExpired,
            true,
        ),
        (
            400,
            error("INVALID_DATA", "INVALID_VALUE"),
            Refusal::InvalidCredentials,
            false,
        ),
        (
            400,
            error("INVALID_DATA", "PASSWORD_LOCKED_OUT"),
            Refusal::Locked,
            false,
        ),
        (
            400,
            error("INVALID_DATA", "NO_PASSWORD"),
            Refusal::InvalidCredentials,
            false,
        ),
        (
            429,
            error("REQUEST_LIMITED", "REQUEST_LIMITED"),
            Refusal::RateLimited,
            false,
        ),
        (
            401,
            error("ACCESS_FAILED", "ACCESS_FAILED"),
            Refusal::Unavailable,
            false,
        ),
        (
            500,
            error("UNEXPECTED_ERROR", "UNEXPECTED_ERROR"),
            Refusal::Unavailable,
            false,
        ),
    ];
    for (status, body, expected, proven) in cases {
        let (fixture, ping) = setup().await;
        fixture.on("GET", &users_path(), 200, found());
        fixture.on(
            "POST",
            &format!("{}/u-1/password", users_path()),
            status,
            body.clone(),
        );

        let outcome = ping
            .check_password("alice", &Secret::new("pw"))
            .await
            .unwrap_err();

        assert_eq!(outcome.refusal(), expected, "{status} {body}");
        assert_eq!(outcome.password_verified(), proven, "{body}");
    }
}

#[tokio::test]
async fn an_unknown_user_is_refused_like_a_wrong_password() {
    let (fixture, ping) = setup().await;
    fixture.on(
        "GET",
        &users_path(),
        200,
        json!({ "_embedded": { "users": [] }, "count": 0 }),
    );
    fixture.on("GET", &users_path(), 200, found());
    fixture.on(
        "POST",
        &format!("{}/u-1/password", users_path()),
        400,
        error("INVALID_DATA", "INVALID_VALUE"),
    );

    let unknown = ping
        .check_password("nobody", &Secret::new("pw"))
        .await
        .unwrap_err();
    let wrong = ping
        .check_password("alice", &Secret::new("pw"))
        .await
        .unwrap_err();
    let injected = ping
        .check_password("a\" or username pr", &Secret::new("pw"))
        .await
        .unwrap_err();

    assert_eq!(unknown.refusal(), Refusal::InvalidCredentials);
    assert_eq!(wrong.refusal(), Refusal::InvalidCredentials);
    assert_eq!(injected.refusal(), Refusal::InvalidCredentials);
    assert_eq!(
        fixture.requests_to(&users_path()).len(),
        2,
        "a quote in the name never reaches the filter"
    );
}

async fn device_setup(fixture: &Fixture, status: &str) {
    fixture.on("GET", &users_path(), 200, found());
    fixture.on(
        "GET",
        &format!("{}/u-1/devices", users_path()),
        200,
        json!({ "_embedded": { "devices": [
        { "id": "d-sms", "type": "SMS", "status": "ACTIVE", "phone": "+1*******0100" },
        { "id": "d-mail", "type": "EMAIL", "status": "ACTIVE", "email": "a***@acme.test" },
        { "id": "d-totp", "type": "TOTP", "status": "ACTIVE" }
    ] } }),
    );
    fixture.on(
        "POST",
        &format!("/auth/{ENV}/deviceAuthentications"),
        200,
        json!({ "id": "da-1", "status": status }),
    );
}

#[tokio::test]
async fn an_sms_code_through_a_device_authentication() {
    let (fixture, ping) = setup().await;
    device_setup(&fixture, "DEVICE_SELECTION_REQUIRED").await;
    fixture.on(
        "POST",
        &format!("/auth/{ENV}/deviceAuthentications/da-1"),
        200,
        json!({ "id": "da-1", "status": "OTP_REQUIRED" }),
    );
    fixture.on(
        "POST",
        &format!("/auth/{ENV}/deviceAuthentications/da-1"),
        200,
        json!({ "id": "da-1", "status": "COMPLETED" }),
    );
    fixture.on(
        "GET",
        &format!("{}/u-1", users_path()),
        200,
        json!({ "id": "u-1", "username": "alice" }),
    );

    let pending = ping
        .send_code(FactorKind::Sms, "alice", None)
        .await
        .expect("sent");
    let verified = ping
        .verify_code(&pending, &Secret::new("123456"))
        .await
        .expect("success");

    assert_eq!(verified.subject, "u-1");
    assert_eq!(pending.hint.as_deref(), Some("+1*******0100"));
    assert_eq!(
        fixture
            .one(&format!("/auth/{ENV}/deviceAuthentications"))
            .json(),
        json!({ "user": { "id": "u-1" }, "device": { "id": "d-sms" } })
    );
    let steps = fixture.requests_to(&format!("/auth/{ENV}/deviceAuthentications/da-1"));
    assert_eq!(
        steps[0].header("content-type"),
        Some("application/vnd.pingidentity.device.select+json")
    );
    assert_eq!(
        steps[1].header("content-type"),
        Some("application/vnd.pingidentity.otp.check+json")
    );
    assert_eq!(steps[1].json(), json!({ "otp": "123456" }));
}

#[tokio::test]
async fn each_otp_refusal_maps_to_its_outcome() {
    for (status, body, expected) in [
        (
            400,
            error("INVALID_DATA", "INVALID_OTP"),
            Refusal::InvalidCode,
        ),
        (
            400,
            error("INVALID_DATA", "OTP_LIMIT_EXCEEDED"),
            Refusal::TooManyAttempts,
        ),
        (404, error("NOT_FOUND", "NOT_FOUND"), Refusal::Expired),
        (400, error("INVALID_DATA", "OTP_EXPIRED"), Refusal::Expired),
    ] {
        let (fixture, ping) = setup().await;
        device_setup(&fixture, "OTP_REQUIRED").await;
        fixture.on(
            "POST",
            &format!("/auth/{ENV}/deviceAuthentications/da-1"),
            status,
            body.clone(),
        );

        let code = Secret::new("123456");
        let outcome = ping
            .check_totp(TotpCheck {
                username: "alice",
                password: None,
                after: None,
                code: &code,
            })
            .await
            .unwrap_err();

        assert_eq!(outcome.refusal(), expected, "{body}");
        assert_eq!(
            fixture
                .one(&format!("/auth/{ENV}/deviceAuthentications"))
                .json()["device"]["id"],
            "d-totp"
        );
    }
}

#[tokio::test]
async fn an_unknown_user_and_a_user_without_the_device_are_both_not_enrolled() {
    let (fixture, ping) = setup().await;
    fixture.on(
        "GET",
        &users_path(),
        200,
        json!({ "_embedded": { "users": [] } }),
    );
    fixture.on("GET", &users_path(), 200, found());
    fixture.on(
        "GET",
        &format!("{}/u-1/devices", users_path()),
        200,
        json!({ "_embedded": { "devices": [{ "id": "d", "type": "TOTP", "status": "ACTIVE" }] } }),
    );

    let unknown = ping
        .send_code(FactorKind::Email, "nobody", None)
        .await
        .unwrap_err();
    let without = ping
        .send_code(FactorKind::Email, "alice", None)
        .await
        .unwrap_err();

    assert_eq!(unknown.refusal(), Refusal::NotEnrolled);
    assert_eq!(without.refusal(), Refusal::NotEnrolled);
}
