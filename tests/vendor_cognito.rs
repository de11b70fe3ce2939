//! Cognito through HTTP fixtures, for what neither emulator implements: the choice-based
//! `USER_AUTH` flow with EMAIL_OTP and SMS_OTP codes, and the refusals only AWS gives
//! (lockout, throttling as HTTP 400, reset required, configuration errors).
//!
//! Shapes: AWS Cognito API reference for InitiateAuth and RespondToAuthChallenge and the
//! developer guide's authentication-flow pages, as summarised in `docs/idp-apis.md` §2.3.
//! The `USER_AUTH` request shape comes from a third-party write-up and the error message of
//! an expired session is not documented: both are marked unconfirmed there.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    reason = "tests fail by panicking"
)]

mod support;

use ferry::idp::cognito::{Cognito, Settings};
use ferry::idp::{Connector, Continuation, FactorKind, Refusal};
use ferry::secret::Secret;
use serde_json::{Value as Json, json};
use support::fixture::{Fixture, Signer};

const ISSUER: &str = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Fixture";
const CLIENT: &str = "fixtureclient";

async fn setup() -> (Fixture, Signer, Cognito) {
    let fixture = Fixture::start().await;
    let signer = Signer::new();
    fixture.always("GET", "/jwks", 200, signer.jwks.clone());
    let settings: Settings = serde_json::from_value(json!({
        "endpoint": fixture.url("/"),
        "client_id": CLIENT,
        "client_secret": "s3cret",
        "issuer": ISSUER,
        "jwks_uri": fixture.url("/jwks"),
    }))
    .unwrap();
    (fixture, signer, Cognito::new(settings).unwrap())
}

fn error(kind: &str, message: &str) -> Json {
    json!({ "__type": kind, "message": message })
}

fn tokens(signer: &Signer, user: &str) -> Json {
    let id_token = signer.id_token(
        ISSUER,
        CLIENT,
        "sub-1234",
        json!({ "cognito:username": user, "email": "alice@example.test" }),
    );
    json!({ "AuthenticationResult": { "IdToken": id_token, "AccessToken": "at", "ExpiresIn": 3600, "TokenType": "Bearer" }, "ChallengeParameters": {} })
}

fn hash(user: &str) -> String {
    support::cognito::secret_hash(user, CLIENT, "s3cret")
}

#[tokio::test]
async fn each_password_refusal_maps_to_its_outcome() {
    let cases = [
        (
            400,
            error("NotAuthorizedException", "Incorrect username or password."),
            Refusal::InvalidCredentials,
        ),
        (
            400,
            error("UserNotFoundException", "User does not exist."),
            Refusal::InvalidCredentials,
        ),
        (
            400,
            error("NotAuthorizedException", "Password attempts exceeded"),
            Refusal::Locked,
        ),
        (
            400,
            error("NotAuthorizedException", "User is disabled."),
            Refusal::InvalidCredentials,
        ),
        (
            400,
            error("UserNotConfirmedException", "User is not confirmed."),
            Refusal::NotConfirmed,
        ),
        (
            400,
            error(
                "PasswordResetRequiredException",
                "Password reset required for the user",
            ),
            Refusal::PasswordExpired,
        ),
        (
            400,
            error("TooManyRequestsException", "Too many requests"),
            Refusal::RateLimited,
        ),
        (
            400,
            error("LimitExceededException", "Attempt limit exceeded"),
            Refusal::RateLimited,
        ),
        (
            400,
            error(
                "NotAuthorizedException",
                "Unable to verify secret hash for client fixtureclient",
            ),
            Refusal::Unavailable,
        ),
        (
            400,
            error(
                "InvalidParameterException",
                "USER_PASSWORD_AUTH flow not enabled for this client",
            ),
            Refusal::Unavailable,
        ),
        (
            400,
            error(
                "com.amazon.coral.service#ResourceNotFoundException",
                "User pool client does not exist.",
            ),
            Refusal::Unavailable,
        ),
        (
            400,
            error("UserLambdaValidationException", "PreAuthentication failed"),
            Refusal::Unavailable,
        ),
        (
            500,
            error("InternalErrorException", "internal"),
            Refusal::Unavailable,
        ),
        (200, json!("not json"), Refusal::Unavailable),
    ];
    for (status, body, expected) in cases {
        let (fixture, _, cognito) = setup().await;
        fixture.on("POST", "/", status, body.clone());

        let outcome = cognito
            .check_password("alice", &Secret::new("pw"))
            .await
            .unwrap_err();

        assert_eq!(outcome.refusal(), expected, "{status} {body}");
        let sent = fixture.one("/");
        assert_eq!(
            sent.header("content-type"),
            Some("application/x-amz-json-1.1")
        );
        assert_eq!(
            sent.header("x-amz-target"),
            Some("AWSCognitoIdentityProviderService.InitiateAuth")
        );
        assert_eq!(
            sent.json(),
            json!({
                "AuthFlow": "USER_PASSWORD_AUTH", "ClientId": CLIENT,
                "AuthParameters": { "USERNAME": "alice", "PASSWORD": "pw", "SECRET_HASH": hash("alice") }
            })
        );
    }
}

#[tokio::test]
async fn the_error_type_may_come_only_in_the_header() {
    let (fixture, _, cognito) = setup().await;
    fixture.on_with("POST", "/", 400, &[("x-amzn-errortype", "UserNotFoundException:http://internal.amazon.com/coral/com.amazonaws.cognito.identity.idp.model/")], json!({}));

    let outcome = cognito
        .check_password("alice", &Secret::new("pw"))
        .await
        .unwrap_err();

    assert_eq!(outcome.refusal(), Refusal::InvalidCredentials);
    assert_eq!(outcome.provider_code(), Some("UserNotFoundException"));
}

async fn email_code_sent(fixture: &Fixture, cognito: &Cognito) -> Continuation {
    fixture.on("POST", "/", 200, json!({
        "ChallengeName": "EMAIL_OTP", "Session": "session-1",
        "ChallengeParameters": { "CODE_DELIVERY_DELIVERY_MEDIUM": "EMAIL", "CODE_DELIVERY_DESTINATION": "a***@e***" }
    }));
    cognito
        .send_code(FactorKind::Email, "alice", None)
        .await
        .expect("code sent")
}

#[tokio::test]
async fn user_auth_sends_an_email_code_and_the_code_signs_in() {
    let (fixture, signer, cognito) = setup().await;
    let pending = email_code_sent(&fixture, &cognito).await;
    fixture.clear();
    fixture.on("POST", "/", 200, tokens(&signer, "alice"));

    let verified = cognito
        .verify_code(&pending, &Secret::new("12345678"))
        .await
        .expect("signed in");

    assert_eq!(verified.subject, "sub-1234");
    assert!(
        !pending.password_verified,
        "a first-factor code proves no password"
    );
    assert_eq!(pending.hint.as_deref(), Some("a***@e***"));
    let sent = fixture.one("/");
    assert_eq!(
        sent.header("x-amz-target"),
        Some("AWSCognitoIdentityProviderService.RespondToAuthChallenge")
    );
    assert_eq!(
        sent.json(),
        json!({
            "ClientId": CLIENT, "ChallengeName": "EMAIL_OTP", "Session": "session-1",
            "ChallengeResponses": { "USERNAME": "alice", "EMAIL_OTP_CODE": "12345678", "SECRET_HASH": hash("alice") }
        })
    );
}

#[tokio::test]
async fn user_auth_asks_for_the_preferred_challenge() {
    let (fixture, _, cognito) = setup().await;

    email_code_sent(&fixture, &cognito).await;

    assert_eq!(
        fixture.one("/").json(),
        json!({
            "AuthFlow": "USER_AUTH", "ClientId": CLIENT,
            "AuthParameters": { "USERNAME": "alice", "PREFERRED_CHALLENGE": "EMAIL_OTP", "SECRET_HASH": hash("alice") }
        })
    );
}

#[tokio::test]
async fn each_code_refusal_maps_to_its_outcome() {
    let cases = [
        (
            error("CodeMismatchException", "Invalid code received for user"),
            Refusal::InvalidCode,
        ),
        (
            error(
                "ExpiredCodeException",
                "Invalid code provided, please request a code again.",
            ),
            Refusal::Expired,
        ),
        (
            error(
                "NotAuthorizedException",
                "Invalid session for the user, session is expired.",
            ),
            Refusal::Expired,
        ),
        (
            error("TooManyFailedAttemptsException", "Too many failed attempts"),
            Refusal::TooManyAttempts,
        ),
        (
            error("ResourceNotFoundException", "session-1"),
            Refusal::Expired,
        ),
        (
            error("TooManyRequestsException", "Rate exceeded"),
            Refusal::RateLimited,
        ),
    ];
    for (body, expected) in cases {
        let (fixture, _, cognito) = setup().await;
        let pending = email_code_sent(&fixture, &cognito).await;
        fixture.on("POST", "/", 400, body.clone());

        let outcome = cognito
            .verify_code(&pending, &Secret::new("000000"))
            .await
            .unwrap_err();

        assert_eq!(outcome.refusal(), expected, "{body}");
    }
}

#[tokio::test]
async fn a_choice_without_the_wanted_factor_is_not_enrolled() {
    let (fixture, _, cognito) = setup().await;
    fixture.on(
        "POST",
        "/",
        200,
        json!({
            "ChallengeName": "SELECT_CHALLENGE", "Session": "s", "ChallengeParameters": {},
            "AvailableChallenges": ["PASSWORD", "PASSWORD_SRP", "WEB_AUTHN"]
        }),
    );

    let outcome = cognito
        .send_code(FactorKind::Sms, "alice", None)
        .await
        .unwrap_err();

    assert_eq!(outcome.refusal(), Refusal::NotEnrolled);
}

#[tokio::test]
async fn a_choice_with_the_wanted_factor_is_answered_and_the_sms_code_follows() {
    let (fixture, signer, cognito) = setup().await;
    fixture.on(
        "POST",
        "/",
        200,
        json!({
            "ChallengeName": "SELECT_CHALLENGE", "Session": "s1", "ChallengeParameters": {},
            "AvailableChallenges": ["PASSWORD", "SMS_OTP"]
        }),
    );
    fixture.on("POST", "/", 200, json!({
        "ChallengeName": "SMS_OTP", "Session": "s2",
        "ChallengeParameters": { "CODE_DELIVERY_DELIVERY_MEDIUM": "SMS", "CODE_DELIVERY_DESTINATION": "+*******0100" }
    }));
    fixture.on("POST", "/", 200, tokens(&signer, "alice"));

    let pending = cognito
        .send_code(FactorKind::Sms, "alice", None)
        .await
        .expect("sent");
    cognito
        .verify_code(&pending, &Secret::new("123456"))
        .await
        .expect("signed in");

    let sent = fixture.requests_to("/");
    assert_eq!(sent.len(), 3);
    assert_eq!(sent[1].json()["ChallengeName"], "SELECT_CHALLENGE");
    assert_eq!(sent[1].json()["ChallengeResponses"]["ANSWER"], "SMS_OTP");
    assert_eq!(sent[1].json()["Session"], "s1");
    assert_eq!(
        sent[2].json()["ChallengeResponses"]["SMS_OTP_CODE"],
        "123456"
    );
    assert_eq!(sent[2].json()["Session"], "s2");
}

#[tokio::test]
async fn an_email_mfa_challenge_after_the_password_carries_on_to_the_code() {
    let (fixture, signer, cognito) = setup().await;
    fixture.on("POST", "/", 200, json!({
        "ChallengeName": "EMAIL_OTP", "Session": "s1",
        "ChallengeParameters": { "CODE_DELIVERY_DESTINATION": "a***@e***", "USER_ID_FOR_SRP": "alice-internal" }
    }));
    fixture.on("POST", "/", 200, tokens(&signer, "alice"));

    let mut required = cognito
        .check_password("alice@example.test", &Secret::new("pw"))
        .await
        .unwrap_err();
    let after = required.take_continuation().expect("continuation");
    let pending = cognito
        .send_code(FactorKind::Email, "alice@example.test", Some(&after))
        .await
        .expect("already sent");
    cognito
        .verify_code(&pending, &Secret::new("87654321"))
        .await
        .expect("signed in");

    assert_eq!(required.refusal(), Refusal::MfaRequired);
    assert!(pending.password_verified);
    let answer = &fixture.requests_to("/")[1].json();
    assert_eq!(
        answer["ChallengeResponses"]["USERNAME"], "alice-internal",
        "the pool's own username"
    );
    assert_eq!(
        answer["ChallengeResponses"]["SECRET_HASH"],
        hash("alice-internal")
    );
    assert_eq!(
        fixture.requests_to("/").len(),
        2,
        "no call to send what was already sent"
    );
}

#[tokio::test]
async fn throttling_answered_with_retry_after_blocks_the_next_call_without_calling() {
    let (fixture, _, cognito) = setup().await;
    fixture.on_with(
        "POST",
        "/",
        400,
        &[("retry-after", "30")],
        error("TooManyRequestsException", "Rate exceeded"),
    );

    let first = cognito
        .check_password("alice", &Secret::new("pw"))
        .await
        .unwrap_err();
    let second = cognito
        .check_password("alice", &Secret::new("pw"))
        .await
        .unwrap_err();

    assert_eq!(first.refusal(), Refusal::RateLimited);
    assert_eq!(second.refusal(), Refusal::RateLimited);
    assert!(
        matches!(second, ferry::idp::LegacyError::Throttled { retry_after: Some(s) } if s >= 25)
    );
    assert_eq!(
        fixture.requests_to("/").len(),
        1,
        "the second check never reached Cognito"
    );
}
