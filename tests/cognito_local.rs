//! The Cognito connector against cognito-local, the emulator that makes real SMS codes and
//! per-user TOTP secrets: the SMS_MFA challenge answered with the code read from its
//! database, TOTP with a per-user secret, and the password outcomes in its dialect (a wrong
//! password is `InvalidPasswordException` there).

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    reason = "tests fail by panicking"
)]

mod support;

use ferry::idp::cognito::{Cognito, Settings};
use ferry::idp::{Connector, FactorKind, Refusal, TotpCheck};
use ferry::secret::Secret;
use support::cognito::{Emulator, Kind, Pool};

const PASSWORD: &str = "Erin-Passw0rd!";

async fn setup() -> Option<(Emulator, Pool)> {
    let emulator = Emulator::start(Kind::CognitoLocal).await?;
    let pool = emulator.pool(false).await;
    Some((emulator, pool))
}

fn connector(emulator: &Emulator, pool: &Pool) -> Cognito {
    let settings: Settings = serde_json::from_value(emulator.settings(pool)).expect("settings");
    Cognito::new(settings).expect("connector")
}

#[tokio::test]
async fn password_outcomes_in_cognito_local_dialect() {
    let Some((emulator, pool)) = setup().await else {
        return;
    };
    emulator.user(&pool, "alice", Some(PASSWORD)).await;
    emulator
        .unconfirmed_user(&pool, "bob", "Bob-Passw0rd!")
        .await;
    let cognito = connector(&emulator, &pool);

    let verified = cognito
        .check_password("alice", &Secret::new(PASSWORD))
        .await
        .expect("signed in");
    let wrong = cognito
        .check_password("alice", &Secret::new("nope"))
        .await
        .unwrap_err();
    let unknown = cognito
        .check_password("nobody", &Secret::new("nope"))
        .await
        .unwrap_err();
    let unconfirmed = cognito
        .check_password("bob", &Secret::new("Bob-Passw0rd!"))
        .await
        .unwrap_err();

    assert_eq!(
        verified.claims["iss"],
        format!("{}/{}", emulator.base, pool.id)
    );
    assert_eq!(verified.claims["email"], "alice@example.test");
    assert_eq!(wrong.refusal(), Refusal::InvalidCredentials);
    assert_eq!(wrong.provider_code(), Some("InvalidPasswordException"));
    assert_eq!(unknown.refusal(), Refusal::InvalidCredentials);
    assert_eq!(unconfirmed.refusal(), Refusal::NotConfirmed);
}

#[tokio::test]
async fn the_sms_challenge_is_answered_with_the_code_cognito_local_made() {
    let Some((mut emulator, pool)) = setup().await else {
        return;
    };
    emulator.user(&pool, "erin", Some(PASSWORD)).await;
    emulator.enable_sms_mfa(&pool, "erin").await;
    let cognito = connector(&emulator, &pool);

    let mut required = cognito
        .check_password("erin", &Secret::new(PASSWORD))
        .await
        .unwrap_err();
    assert_eq!(required.refusal(), Refusal::MfaRequired);
    let continuation = required.take_continuation().expect("continuation");
    assert_eq!(continuation.factors[0].kind, FactorKind::Sms);
    assert_eq!(continuation.hint.as_deref(), Some("+15555550100"));

    let pending = cognito
        .send_code(FactorKind::Sms, "erin", Some(&continuation))
        .await
        .expect("the code was sent with the challenge");
    let wrong = cognito
        .verify_code(&pending, &Secret::new("000000"))
        .await
        .unwrap_err();
    let code = emulator.sms_code(&pool, "erin").await;
    let verified = cognito
        .verify_code(&pending, &Secret::new(code))
        .await
        .expect("signed in");

    assert_eq!(wrong.refusal(), Refusal::InvalidCode);
    assert_eq!(verified.claims["cognito:username"], "erin");
}

#[tokio::test]
async fn totp_with_a_per_user_secret() {
    let Some((emulator, pool)) = setup().await else {
        return;
    };
    emulator.user(&pool, "frank", Some(PASSWORD)).await;
    let secret = emulator.enrol_totp(&pool, "frank", PASSWORD).await;
    let cognito = connector(&emulator, &pool);

    let mut required = cognito
        .check_password("frank", &Secret::new(PASSWORD))
        .await
        .unwrap_err();
    let continuation = required.take_continuation().expect("continuation");
    let code = Secret::new(support::totp::fresh_code(&secret).await);
    let check = TotpCheck {
        username: "frank",
        password: None,
        after: Some(&continuation),
        code: &code,
    };

    let verified = cognito.check_totp(check).await.expect("signed in");

    assert_eq!(secret.len(), 32, "cognito-local makes a secret per user");
    assert_eq!(verified.claims["cognito:username"], "frank");
}
