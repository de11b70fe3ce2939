//! Auth0 through HTTP fixtures: the password-realm grant and its refusals, the MFA API
//! after a password (OTP and SMS/email out-of-band), and passwordless email and SMS codes.
//!
//! Shapes: Auth0's Authentication API reference (resource owner password, MFA, passwordless
//! pages in auth0/docs-v2) and the Auth0.swift error classification, as summarised in
//! `docs/idp-apis.md` §2.2. Unconfirmed there: the fields of the passwordless start answer,
//! the wording of an expired passwordless code, and the `access_denied` mapping.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    reason = "tests fail by panicking"
)]

mod support;

use ferry::idp::auth0::{Auth0, Settings};
use ferry::idp::{Connector, FactorKind, Refusal, TotpCheck};
use ferry::secret::Secret;
use serde_json::{Value as Json, json};
use support::fixture::{Fixture, Signer};

async fn setup() -> (Fixture, Signer, Auth0) {
    let fixture = Fixture::start().await;
    let signer = Signer::new();
    fixture.always("GET", "/.well-known/jwks.json", 200, signer.jwks.clone());
    let settings: Settings = serde_json::from_value(json!({
        "base_url": fixture.base, "client_id": "app1", "client_secret": "cs", "realm": "Username-Password-Authentication"
    }))
    .unwrap();
    (fixture, signer, Auth0::new(settings).unwrap())
}

fn tokens(fixture: &Fixture, signer: &Signer, sub: &str) -> Json {
    let id_token = signer.id_token(
        &format!("{}/", fixture.base),
        "app1",
        sub,
        json!({ "email": "alice@example.com", "email_verified": true }),
    );
    json!({ "access_token": "at", "token_type": "Bearer", "expires_in": 86400, "id_token": id_token })
}

fn error(code: &str, description: &str) -> Json {
    json!({ "error": code, "error_description": description })
}

fn mfa_required() -> Json {
    json!({ "error": "mfa_required", "error_description": "Multifactor authentication required", "mfa_token": "mfa-tok",
            "mfa_requirements": { "challenge": [{ "type": "otp" }, { "type": "phone" }] } })
}

fn authenticators() -> Json {
    json!([
        { "id": "totp|dev_1", "authenticator_type": "otp", "active": true },
        { "id": "sms|dev_2", "authenticator_type": "oob", "oob_channel": "sms", "name": "XXXXXXXX0100", "active": true },
        { "id": "email|dev_3", "authenticator_type": "oob", "oob_channel": "email", "name": "a***@example.com", "active": false }
    ])
}

#[tokio::test]
async fn the_password_realm_grant_as_documented() {
    let (fixture, signer, auth0) = setup().await;
    fixture.on(
        "POST",
        "/oauth/token",
        200,
        tokens(&fixture, &signer, "auth0|123"),
    );

    let verified = auth0
        .check_password("alice@example.com", &Secret::new("pw"))
        .await
        .expect("success");

    assert_eq!(verified.subject, "auth0|123");
    let form = fixture.one("/oauth/token").form();
    assert_eq!(
        form["grant_type"],
        "http://auth0.com/oauth/grant-type/password-realm"
    );
    assert_eq!(form["realm"], "Username-Password-Authentication");
    assert_eq!(form["username"], "alice@example.com");
    assert_eq!(form["password"], "pw");
    assert_eq!(form["client_id"], "app1");
    assert_eq!(form["client_secret"], "cs");
    assert_eq!(form["scope"], "openid profile email");
}

#[tokio::test]
async fn the_end_user_address_is_forwarded_only_when_asked() {
    let (fixture, _, auth0) = setup().await;
    let settings: Settings = serde_json::from_value(json!({
        "base_url": fixture.base, "client_id": "app1", "client_secret": "cs", "realm": "db",
        "forward_client_ip": true
    }))
    .unwrap();
    let forwarding = Auth0::new(settings).unwrap();
    let refusal = error("invalid_grant", "Wrong email or password.");
    fixture.on("POST", "/oauth/token", 403, refusal.clone());
    fixture.on("POST", "/oauth/token", 403, refusal);
    let ip = Some("203.0.113.7".parse().unwrap());

    forwarding
        .check_password_for("alice", &Secret::new("pw"), ip)
        .await
        .unwrap_err();
    auth0
        .check_password_for("alice", &Secret::new("pw"), ip)
        .await
        .unwrap_err();

    let sent = fixture.requests_to("/oauth/token");
    assert_eq!(sent[0].header("auth0-forwarded-for"), Some("203.0.113.7"));
    assert_eq!(sent[1].header("auth0-forwarded-for"), None);
}

#[tokio::test]
async fn each_password_refusal_maps_to_its_outcome() {
    let cases = [
        (
            403,
            error("invalid_grant", "Wrong email or password."),
            Refusal::InvalidCredentials,
        ),
        (
            401,
            error("invalid_user_password", "Wrong email or password."),
            Refusal::InvalidCredentials,
        ),
        (
            401,
            error("unauthorized", "user is blocked"),
            Refusal::Locked,
        ),
        (
            403,
            error("blocked_user", "user is blocked"),
            Refusal::Locked,
        ),
        (
            429,
            error(
                "too_many_attempts",
                "Your account has been blocked after multiple consecutive login attempts.",
            ),
            Refusal::Locked,
        ),
        (
            429,
            error(
                "too_many_attempts",
                "We have detected suspicious login behavior and further attempts will be blocked.",
            ),
            Refusal::RateLimited,
        ),
        (
            401,
            error(
                "password_leaked",
                "This login attempt has been blocked because the password you're using was previously disclosed",
            ),
            Refusal::PasswordExpired,
        ),
        (
            403,
            error(
                "unauthorized_client",
                "Grant type 'password' not allowed for the client.",
            ),
            Refusal::Unavailable,
        ),
        (
            401,
            error("invalid_client", "Client authentication failed"),
            Refusal::Unavailable,
        ),
        (
            400,
            error(
                "requires_verification",
                "Suspicious request requires verification",
            ),
            Refusal::Unavailable,
        ),
        (
            403,
            error(
                "access_denied",
                "Please verify your email before logging in.",
            ),
            Refusal::Unavailable,
        ),
        (
            429,
            error("too_many_requests", "Global limit has been reached"),
            Refusal::RateLimited,
        ),
        (503, json!(""), Refusal::Unavailable),
    ];
    for (status, body, expected) in cases {
        let (fixture, _, auth0) = setup().await;
        fixture.on("POST", "/oauth/token", status, body.clone());

        let outcome = auth0
            .check_password("alice", &Secret::new("pw"))
            .await
            .unwrap_err();

        assert_eq!(outcome.refusal(), expected, "{status} {body}");
    }
}

#[tokio::test]
async fn mfa_required_lists_the_active_authenticators_and_totp_continues() {
    let (fixture, signer, auth0) = setup().await;
    fixture.on("POST", "/oauth/token", 403, mfa_required());
    fixture.on("GET", "/mfa/authenticators", 200, authenticators());
    fixture.on(
        "POST",
        "/oauth/token",
        403,
        error("invalid_grant", "Invalid otp_code."),
    );
    fixture.on(
        "POST",
        "/oauth/token",
        200,
        tokens(&fixture, &signer, "auth0|123"),
    );

    let mut required = auth0
        .check_password("alice", &Secret::new("pw"))
        .await
        .unwrap_err();
    let after = required.take_continuation().expect("continuation");
    let check = |code| TotpCheck {
        username: "alice",
        password: None,
        after: Some(&after),
        code,
    };
    let (bad, good) = (Secret::new("000000"), Secret::new("123456"));
    let wrong = auth0.check_totp(check(&bad)).await.unwrap_err();
    let verified = auth0.check_totp(check(&good)).await.expect("success");

    assert_eq!(required.refusal(), Refusal::MfaRequired);
    assert!(required.password_verified());
    let kinds: Vec<FactorKind> = after.factors.iter().map(|f| f.kind).collect();
    assert_eq!(
        kinds,
        [FactorKind::Totp, FactorKind::Sms],
        "inactive ones are left out"
    );
    assert_eq!(
        fixture.one("/mfa/authenticators").header("authorization"),
        Some("Bearer mfa-tok")
    );
    assert_eq!(wrong.refusal(), Refusal::InvalidCode);
    assert_eq!(verified.subject, "auth0|123");
    let form = fixture.requests_to("/oauth/token")[2].form();
    assert_eq!(
        form["grant_type"],
        "http://auth0.com/oauth/grant-type/mfa-otp"
    );
    assert_eq!(form["mfa_token"], "mfa-tok");
    assert_eq!(form["otp"], "123456");
}

#[tokio::test]
async fn an_sms_challenge_after_the_password() {
    let (fixture, signer, auth0) = setup().await;
    fixture.on("POST", "/oauth/token", 403, mfa_required());
    fixture.on("GET", "/mfa/authenticators", 200, authenticators());
    fixture.on(
        "POST",
        "/mfa/challenge",
        200,
        json!({ "challenge_type": "oob", "oob_code": "oob-1", "binding_method": "prompt" }),
    );
    fixture.on(
        "POST",
        "/oauth/token",
        200,
        tokens(&fixture, &signer, "auth0|123"),
    );

    let after = auth0
        .check_password("alice", &Secret::new("pw"))
        .await
        .unwrap_err()
        .take_continuation()
        .unwrap();
    let pending = auth0
        .send_code(FactorKind::Sms, "alice", Some(&after))
        .await
        .expect("sent");
    auth0
        .verify_code(&pending, &Secret::new("654321"))
        .await
        .expect("success");

    assert_eq!(
        fixture.one("/mfa/challenge").json(),
        json!({
            "mfa_token": "mfa-tok", "challenge_type": "oob", "authenticator_id": "sms|dev_2", "client_id": "app1", "client_secret": "cs"
        })
    );
    let form = fixture.requests_to("/oauth/token")[1].form();
    assert_eq!(
        form["grant_type"],
        "http://auth0.com/oauth/grant-type/mfa-oob"
    );
    assert_eq!(form["oob_code"], "oob-1");
    assert_eq!(form["binding_code"], "654321");
    let email = auth0
        .send_code(FactorKind::Email, "alice", Some(&after))
        .await
        .unwrap_err();
    assert_eq!(
        email.refusal(),
        Refusal::NotEnrolled,
        "the email authenticator is inactive"
    );
}

#[tokio::test]
async fn each_mfa_refusal_maps_to_its_outcome() {
    let cases = [
        (
            403,
            error("invalid_grant", "Invalid otp_code."),
            Refusal::InvalidCode,
        ),
        (
            403,
            error("expired_token", "mfa_token is expired"),
            Refusal::Expired,
        ),
        (
            403,
            error("invalid_grant", "Malformed mfa_token"),
            Refusal::Unavailable,
        ),
        (
            429,
            error("too_many_attempts", "Too many failed attempts"),
            Refusal::TooManyAttempts,
        ),
        (
            403,
            error(
                "unsupported_challenge_type",
                "User is not enrolled with otp",
            ),
            Refusal::NotEnrolled,
        ),
    ];
    for (status, body, expected) in cases {
        let (fixture, _, auth0) = setup().await;
        fixture.on("POST", "/oauth/token", 403, mfa_required());
        fixture.on("GET", "/mfa/authenticators", 200, authenticators());
        fixture.on("POST", "/oauth/token", status, body.clone());
        let after = auth0
            .check_password("alice", &Secret::new("pw"))
            .await
            .unwrap_err()
            .take_continuation()
            .unwrap();

        let code = Secret::new("123456");
        let outcome = auth0
            .check_totp(TotpCheck {
                username: "alice",
                password: None,
                after: Some(&after),
                code: &code,
            })
            .await
            .unwrap_err();

        assert_eq!(outcome.refusal(), expected, "{body}");
    }
}

#[tokio::test]
async fn a_passwordless_email_code_proves_the_address_and_says_so() {
    let (fixture, signer, auth0) = setup().await;
    fixture.on(
        "POST",
        "/passwordless/start",
        200,
        json!({ "_id": "abc", "email": "alice@example.com", "email_verified": false }),
    );
    fixture.on(
        "POST",
        "/oauth/token",
        200,
        tokens(&fixture, &signer, "email|abc"),
    );

    let pending = auth0
        .send_code(FactorKind::Email, "alice@example.com", None)
        .await
        .expect("sent");
    let verified = auth0
        .verify_code(&pending, &Secret::new("123456"))
        .await
        .expect("success");

    assert_eq!(
        fixture.one("/passwordless/start").json(),
        json!({
            "connection": "email", "email": "alice@example.com", "send": "code", "client_id": "app1", "client_secret": "cs"
        })
    );
    let form = fixture.one("/oauth/token").form();
    assert_eq!(
        form["grant_type"],
        "http://auth0.com/oauth/grant-type/passwordless/otp"
    );
    assert_eq!(form["realm"], "email");
    assert_eq!(form["username"], "alice@example.com");
    assert_eq!(form["otp"], "123456");
    assert_eq!(
        verified.subject, "email|abc",
        "a passwordless identity, not the database user"
    );
    assert_eq!(verified.claims["auth0_connection"], "email");
}

#[tokio::test]
async fn each_passwordless_refusal_maps_to_its_outcome() {
    let (fixture, _, auth0) = setup().await;
    fixture.on(
        "POST",
        "/passwordless/start",
        400,
        error("bad.phone_number", "The phone number must be in E.164"),
    );
    fixture.on(
        "POST",
        "/passwordless/start",
        400,
        error("sms_provider_error", "provider failed"),
    );
    fixture.on(
        "POST",
        "/passwordless/start",
        429,
        error("too_many_requests", "limit"),
    );

    for expected in [
        Refusal::NotEnrolled,
        Refusal::Unavailable,
        Refusal::RateLimited,
    ] {
        let outcome = auth0
            .send_code(FactorKind::Sms, "0100", None)
            .await
            .unwrap_err();
        assert_eq!(outcome.refusal(), expected);
    }
    for (description, expected) in [
        (
            "Wrong phone number or verification code.",
            Refusal::InvalidCode,
        ),
        ("The verification code has expired.", Refusal::Expired),
    ] {
        fixture.on(
            "POST",
            "/passwordless/start",
            200,
            json!({ "phone_number": "+15555550100" }),
        );
        fixture.on(
            "POST",
            "/oauth/token",
            403,
            error("invalid_grant", description),
        );
        let pending = auth0
            .send_code(FactorKind::Sms, "+15555550100", None)
            .await
            .expect("sent");
        let outcome = auth0
            .verify_code(&pending, &Secret::new("1"))
            .await
            .unwrap_err();
        assert_eq!(outcome.refusal(), expected, "{description}");
    }
}
