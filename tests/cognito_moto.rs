//! The Cognito connector against moto (AWS's own error names): password outcomes, a
//! disabled user, a temporary password, and a TOTP challenge answered with a real RFC 6238
//! code, with SECRET_HASH checked by moto on the challenge answer.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    reason = "tests fail by panicking"
)]

mod support;

use ferry::idp::cognito::{Cognito, Settings};
use ferry::idp::{Connector, FactorKind, LegacyError, Refusal, TotpCheck};
use ferry::secret::Secret;
use serde_json::Value as Json;
use support::cognito::{Emulator, Kind, Pool, TEMPORARY_PASSWORD};

const PASSWORD: &str = "Alice-Passw0rd!";

async fn setup(with_secret: bool) -> Option<(Emulator, Pool, Cognito)> {
    let moto = Emulator::start(Kind::Moto).await?;
    let pool = moto.pool(with_secret).await;
    let connector = connector(moto.settings(&pool));
    Some((moto, pool, connector))
}

fn connector(settings: Json) -> Cognito {
    let settings: Settings = serde_json::from_value(settings).expect("settings");
    Cognito::new(settings).expect("connector")
}

fn refusal(result: Result<ferry::idp::Verified, LegacyError>) -> (Refusal, LegacyError) {
    let error = result.expect_err("a refusal");
    (error.refusal(), error)
}

#[tokio::test]
async fn a_right_password_gives_the_verified_id_token_claims() {
    let Some((moto, pool, cognito)) = setup(true).await else {
        return;
    };
    moto.user(&pool, "alice", Some(PASSWORD)).await;

    let verified = cognito
        .check_password("alice", &Secret::new(PASSWORD))
        .await
        .expect("signed in");

    assert_eq!(verified.claims["cognito:username"], "alice");
    assert_eq!(verified.claims["email"], "alice@example.test");
    assert_eq!(
        Some(&Json::String(verified.subject.clone())),
        verified.claims.get("sub")
    );
    assert!(!verified.subject.is_empty());
}

#[tokio::test]
async fn wrong_password_and_unknown_user_are_the_same_outcome() {
    let Some((moto, pool, cognito)) = setup(false).await else {
        return;
    };
    moto.user(&pool, "alice", Some(PASSWORD)).await;

    let (wrong, wrong_error) = refusal(cognito.check_password("alice", &Secret::new("nope")).await);
    let (unknown, unknown_error) =
        refusal(cognito.check_password("nobody", &Secret::new("nope")).await);

    assert_eq!(wrong, Refusal::InvalidCredentials);
    assert_eq!(unknown, Refusal::InvalidCredentials);
    assert_eq!(wrong_error.provider_code(), Some("NotAuthorizedException"));
    assert_eq!(unknown_error.provider_code(), Some("UserNotFoundException"));
    assert!(!wrong_error.password_verified());
}

#[tokio::test]
async fn an_unconfirmed_user_is_not_confirmed_and_the_password_is_not_taken_as_proven() {
    let Some((moto, pool, cognito)) = setup(false).await else {
        return;
    };
    moto.unconfirmed_user(&pool, "bob", "Bob-Passw0rd!").await;

    let (outcome, error) = refusal(
        cognito
            .check_password("bob", &Secret::new("Bob-Passw0rd!"))
            .await,
    );

    assert_eq!(outcome, Refusal::NotConfirmed);
    assert!(!error.password_verified());
    let (wrong, _) = refusal(cognito.check_password("bob", &Secret::new("nope")).await);
    assert_eq!(wrong, Refusal::InvalidCredentials);
}

#[tokio::test]
async fn a_disabled_user_looks_like_a_wrong_password_unless_set_to_locked() {
    let Some((moto, pool, cognito)) = setup(false).await else {
        return;
    };
    moto.user(&pool, "carol", Some(PASSWORD)).await;
    moto.disable(&pool, "carol").await;

    let (masked, _) = refusal(
        cognito
            .check_password("carol", &Secret::new(PASSWORD))
            .await,
    );
    let mut settings = moto.settings(&pool);
    settings["disabled_user"] = "locked".into();
    let (told, _) = refusal(
        connector(settings)
            .check_password("carol", &Secret::new(PASSWORD))
            .await,
    );

    assert_eq!(masked, Refusal::InvalidCredentials);
    assert_eq!(told, Refusal::Locked);
}

#[tokio::test]
async fn a_temporary_password_is_password_expired_with_the_password_proven() {
    let Some((moto, pool, cognito)) = setup(false).await else {
        return;
    };
    moto.user(&pool, "dave", None).await;

    let (outcome, error) = refusal(
        cognito
            .check_password("dave", &Secret::new(TEMPORARY_PASSWORD))
            .await,
    );

    assert_eq!(outcome, Refusal::PasswordExpired);
    assert_eq!(error.provider_code(), Some("NEW_PASSWORD_REQUIRED"));
    assert!(error.password_verified());
    let (wrong, _) = refusal(cognito.check_password("dave", &Secret::new("nope")).await);
    assert_eq!(wrong, Refusal::InvalidCredentials);
}

#[tokio::test]
async fn the_totp_challenge_is_answered_with_a_real_code() {
    let Some((moto, pool, cognito)) = setup(true).await else {
        return;
    };
    moto.user(&pool, "erin", Some(PASSWORD)).await;
    let secret = moto.enrol_totp(&pool, "erin", PASSWORD).await;

    let (outcome, mut error) =
        refusal(cognito.check_password("erin", &Secret::new(PASSWORD)).await);
    assert_eq!(outcome, Refusal::MfaRequired);
    assert!(error.password_verified());
    let continuation = error.take_continuation().expect("a continuation");
    assert_eq!(continuation.factors[0].kind, FactorKind::Totp);
    assert!(continuation.secret("session").is_some());

    let wrong = Secret::new("000000");
    let check = |code| TotpCheck {
        username: "erin",
        password: None,
        after: Some(&continuation),
        code,
    };
    let (bad, _) = refusal(cognito.check_totp(check(&wrong)).await);
    assert_eq!(bad, Refusal::InvalidCode);
    let right = Secret::new(support::totp::fresh_code(&secret).await);
    let verified = cognito.check_totp(check(&right)).await.expect("signed in");
    assert_eq!(verified.claims["cognito:username"], "erin");

    // moto's sessions are single use: the same continuation is now expired.
    let (again, _) = refusal(cognito.check_totp(check(&right)).await);
    assert_eq!(again, Refusal::Expired);
}

#[tokio::test]
async fn a_wrong_client_secret_is_caught_where_moto_checks_it() {
    let Some((moto, pool, _)) = setup(true).await else {
        return;
    };
    moto.user(&pool, "erin", Some(PASSWORD)).await;
    let secret = moto.enrol_totp(&pool, "erin", PASSWORD).await;
    let mut settings = moto.settings(&pool);
    settings["client_secret"] = "not-the-secret".into();
    let wrong_secret = connector(settings);

    let mut error = wrong_secret
        .check_password("erin", &Secret::new(PASSWORD))
        .await
        .expect_err("mfa required");
    let continuation = error.take_continuation().expect("continuation");
    let code = Secret::new(support::totp::fresh_code(&secret).await);
    let result = wrong_secret
        .check_totp(TotpCheck {
            username: "erin",
            password: None,
            after: Some(&continuation),
            code: &code,
        })
        .await;

    assert!(result.is_err(), "a bad SECRET_HASH never signs anyone in");
}
