//! Keycloak through HTTP fixtures: the direct access grant, its `totp` parameter, the
//! lockout that looks like a wrong password, and "Account is not fully set up".
//!
//! Shapes: Keycloak's direct-grant authenticators (`ValidateUsername`, `ValidatePassword`,
//! `ValidateOTP`) and token endpoint, as summarised in `docs/idp-apis.md` §2.5. Unconfirmed
//! there: the brute-force defaults, and whether releases after 26 still mask a lockout.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    reason = "tests fail by panicking"
)]

mod support;

use ferry::idp::keycloak::{Keycloak, Settings};
use ferry::idp::{Connector, LegacyError, Refusal, TotpCheck};
use ferry::secret::Secret;
use serde_json::{Value as Json, json};
use support::fixture::{Fixture, Signer};

const TOKEN: &str = "/realms/legacy/protocol/openid-connect/token";

async fn setup(extra: Json) -> (Fixture, Signer, Keycloak) {
    let fixture = Fixture::start().await;
    let signer = Signer::new();
    fixture.always(
        "GET",
        "/realms/legacy/protocol/openid-connect/certs",
        200,
        signer.jwks.clone(),
    );
    let mut settings = json!({ "base_url": fixture.base, "realm": "legacy", "client_id": "ferry", "client_secret": "cs" });
    if let (Some(map), Json::Object(more)) = (settings.as_object_mut(), extra) {
        map.extend(more);
    }
    let settings: Settings = serde_json::from_value(settings).unwrap();
    (fixture, signer, Keycloak::new(settings).unwrap())
}

fn tokens(fixture: &Fixture, signer: &Signer) -> Json {
    let issuer = format!("{}/realms/legacy", fixture.base);
    let id_token = signer.id_token(
        &issuer,
        "ferry",
        "f:1234",
        json!({ "preferred_username": "alice", "email": "alice@example.com" }),
    );
    json!({ "access_token": "at", "expires_in": 300, "refresh_expires_in": 1800, "refresh_token": "rt", "token_type": "Bearer", "id_token": id_token, "not-before-policy": 0, "session_state": "s", "scope": "openid profile email" })
}

fn error(code: &str, description: &str) -> Json {
    json!({ "error": code, "error_description": description })
}

async fn totp(keycloak: &Keycloak, code: &str) -> Result<ferry::idp::Verified, LegacyError> {
    let (password, code) = (Secret::new("pw"), Secret::new(code));
    keycloak
        .check_totp(TotpCheck {
            username: "alice",
            password: Some(&password),
            after: None,
            code: &code,
        })
        .await
}

#[tokio::test]
async fn the_direct_grant_as_documented() {
    let (fixture, signer, keycloak) = setup(json!({})).await;
    fixture.on("POST", TOKEN, 200, tokens(&fixture, &signer));

    let verified = keycloak
        .check_password("alice", &Secret::new("pw"))
        .await
        .expect("success");

    assert_eq!(verified.subject, "f:1234");
    let form = fixture.one(TOKEN).form();
    assert_eq!(form["grant_type"], "password");
    assert_eq!(
        (form["username"].as_str(), form["password"].as_str()),
        ("alice", "pw")
    );
    assert_eq!(
        (form["client_id"].as_str(), form["client_secret"].as_str()),
        ("ferry", "cs")
    );
    assert!(!form.contains_key("totp"));
}

#[tokio::test]
async fn each_refusal_maps_to_its_outcome() {
    let cases = [
        (
            401,
            error("invalid_grant", "Invalid user credentials"),
            Refusal::InvalidCredentials,
            false,
        ),
        (
            400,
            error("invalid_grant", "Invalid user credentials"),
            Refusal::InvalidCredentials,
            false,
        ),
        (
            400,
            error("invalid_grant", "Account disabled"),
            Refusal::Locked,
            false,
        ),
        (
            400,
            error("invalid_grant", "Account temporarily disabled"),
            Refusal::Locked,
            false,
        ),
        (
            400,
            error("invalid_grant", "Account is not fully set up"),
            Refusal::NotConfirmed,
            true,
        ),
        (
            400,
            error(
                "unauthorized_client",
                "Client not allowed for direct access grants",
            ),
            Refusal::Unavailable,
            false,
        ),
        (
            401,
            error(
                "invalid_client",
                "Invalid client or Invalid client credentials",
            ),
            Refusal::Unavailable,
            false,
        ),
        (
            401,
            error("invalid_request", "Missing parameter: username"),
            Refusal::Unavailable,
            false,
        ),
        (429, json!(""), Refusal::RateLimited, false),
        (
            502,
            json!("<html>bad gateway</html>"),
            Refusal::Unavailable,
            false,
        ),
        (403, json!(""), Refusal::Unavailable, false),
    ];
    for (status, body, expected, proven) in cases {
        let (fixture, _, keycloak) = setup(json!({})).await;
        fixture.on("POST", TOKEN, status, body.clone());

        let outcome = keycloak
            .check_password("alice", &Secret::new("pw"))
            .await
            .unwrap_err();

        assert_eq!(outcome.refusal(), expected, "{status} {body}");
        assert_eq!(outcome.password_verified(), proven, "{body}");
    }
}

#[tokio::test]
async fn an_unknown_user_a_locked_user_and_a_wrong_password_are_one_outcome() {
    let (fixture, _, keycloak) = setup(json!({})).await;
    // Unknown user (400), brute-force lockout (400, masked), wrong password (401).
    fixture.on(
        "POST",
        TOKEN,
        400,
        error("invalid_grant", "Invalid user credentials"),
    );
    fixture.on(
        "POST",
        TOKEN,
        400,
        error("invalid_grant", "Invalid user credentials"),
    );
    fixture.on(
        "POST",
        TOKEN,
        401,
        error("invalid_grant", "Invalid user credentials"),
    );

    let mut outcomes = Vec::new();
    for _ in 0..3 {
        outcomes.push(
            keycloak
                .check_password("x", &Secret::new("y"))
                .await
                .unwrap_err()
                .refusal(),
        );
    }

    assert_eq!(outcomes, [Refusal::InvalidCredentials; 3]);
}

#[tokio::test]
async fn not_fully_set_up_may_be_read_as_an_expired_password() {
    let (fixture, _, keycloak) = setup(json!({ "not_fully_set_up": "password_expired" })).await;
    fixture.on(
        "POST",
        TOKEN,
        400,
        error("invalid_grant", "Account is not fully set up"),
    );

    let outcome = keycloak
        .check_password("alice", &Secret::new("pw"))
        .await
        .unwrap_err();

    assert_eq!(outcome.refusal(), Refusal::PasswordExpired);
    assert!(outcome.password_verified());
}

#[tokio::test]
async fn totp_goes_with_the_password_in_one_grant() {
    let (fixture, signer, keycloak) = setup(json!({})).await;
    fixture.on(
        "POST",
        TOKEN,
        401,
        error("invalid_grant", "Invalid user credentials"),
    );
    fixture.on("POST", TOKEN, 200, tokens(&fixture, &signer));

    let wrong = totp(&keycloak, "000000").await.unwrap_err();
    let verified = totp(&keycloak, "123456").await.expect("success");

    assert_eq!(wrong.refusal(), Refusal::InvalidCode);
    assert_eq!(verified.claims["preferred_username"], "alice");
    let form = fixture.requests_to(TOKEN)[1].form();
    assert_eq!(form["totp"], "123456");
    assert_eq!(form["password"], "pw");
}

#[tokio::test]
async fn totp_without_the_password_is_not_offered() {
    let (fixture, _, keycloak) = setup(json!({})).await;
    let code = Secret::new("123456");

    let outcome = keycloak
        .check_totp(TotpCheck {
            username: "alice",
            password: None,
            after: None,
            code: &code,
        })
        .await
        .unwrap_err();

    assert!(matches!(outcome, LegacyError::NotOffered(_)));
    assert!(fixture.requests().is_empty());
}
