//! Entra ID through HTTP fixtures: the password grant with its AADSTS codes, and email
//! codes through the native authentication API of an External ID tenant.
//!
//! Shapes: Microsoft's ROPC page, AADSTS error-code reference and native authentication
//! API reference (MicrosoftDocs/entra-docs), as summarised in `docs/idp-apis.md` §2.4.
//! Unconfirmed there: AADSTS7000218 and 90002, the 8-digit code length, SMS in native auth.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    reason = "tests fail by panicking"
)]

mod support;

use ferry::idp::entra::{Entra, Settings};
use ferry::idp::{Connector, FactorKind, LegacyError, Refusal};
use ferry::secret::Secret;
use serde_json::{Value as Json, json};
use support::fixture::{Fixture, Signer};

const TENANT: &str = "9a5c8e2b-0000-4000-8000-000000000001";
const NATIVE: &str = "/contoso.onmicrosoft.com";

async fn setup() -> (Fixture, Signer, Entra) {
    let fixture = Fixture::start().await;
    let signer = Signer::new();
    fixture.always(
        "GET",
        &format!("/{TENANT}/discovery/v2.0/keys"),
        200,
        signer.jwks.clone(),
    );
    fixture.always(
        "GET",
        &format!("{NATIVE}/discovery/v2.0/keys"),
        200,
        signer.jwks.clone(),
    );
    let settings: Settings = serde_json::from_value(json!({
        "authority": fixture.base, "tenant": TENANT, "client_id": "app-1",
        "native_auth": { "base_url": fixture.url(NATIVE), "issuer": format!("https://{TENANT}.ciamlogin.com/{TENANT}/v2.0") }
    }))
    .unwrap();
    (fixture, signer, Entra::new(settings).unwrap())
}

fn aadsts(error: &str, code: u64) -> Json {
    json!({
        "error": error, "error_description": format!("AADSTS{code}: description. Trace ID: t Correlation ID: c Timestamp: 2026-12-04 17:00:00Z"),
        "error_codes": [code], "timestamp": "2026-12-04 17:00:00Z", "trace_id": "t", "correlation_id": "c",
        "error_uri": format!("https://login.microsoftonline.com/error?code={code}")
    })
}

fn token_path() -> String {
    format!("/{TENANT}/oauth2/v2.0/token")
}

#[tokio::test]
async fn the_password_grant_as_documented() {
    let (fixture, signer, entra) = setup().await;
    let id_token = signer.id_token(
        &format!("{}/{TENANT}/v2.0", fixture.base),
        "app-1",
        "pairwise-sub",
        json!({ "oid": "oid-1", "tid": TENANT, "preferred_username": "alice@contoso.com" }),
    );
    fixture.on("POST", &token_path(), 200, json!({ "token_type": "Bearer", "scope": "openid profile email", "expires_in": 3600, "access_token": "at", "id_token": id_token }));

    let verified = entra
        .check_password("alice@contoso.com", &Secret::new("pw"))
        .await
        .expect("success");

    assert_eq!(verified.claims["oid"], "oid-1");
    let form = fixture.one(&token_path()).form();
    assert_eq!(form["grant_type"], "password");
    assert_eq!(form["client_id"], "app-1");
    assert_eq!(form["username"], "alice@contoso.com");
    assert_eq!(form["scope"], "openid profile email");
    assert!(
        !form.contains_key("client_secret"),
        "a public client sends no secret"
    );
}

#[tokio::test]
async fn each_aadsts_code_maps_to_its_outcome() {
    let cases = [
        ("invalid_grant", 50126, Refusal::InvalidCredentials, false),
        ("invalid_grant", 50034, Refusal::InvalidCredentials, false),
        ("interaction_required", 50076, Refusal::MfaRequired, true),
        ("interaction_required", 50079, Refusal::MfaRequired, true),
        ("invalid_grant", 50072, Refusal::MfaRequired, true),
        ("interaction_required", 50158, Refusal::MfaRequired, true),
        ("invalid_grant", 53003, Refusal::Unavailable, false),
        ("invalid_grant", 530035, Refusal::Unavailable, false),
        ("invalid_grant", 50053, Refusal::Locked, false),
        ("invalid_grant", 50055, Refusal::PasswordExpired, true),
        ("invalid_grant", 50144, Refusal::PasswordExpired, true),
        ("invalid_grant", 50135, Refusal::PasswordExpired, false),
        ("invalid_grant", 50057, Refusal::Locked, false),
        ("invalid_grant", 50056, Refusal::InvalidCredentials, false),
        ("invalid_grant", 65001, Refusal::Unavailable, false),
        ("unauthorized_client", 700016, Refusal::Unavailable, false),
        ("invalid_client", 7000215, Refusal::Unavailable, false),
        ("invalid_client", 700025, Refusal::Unavailable, false),
        ("invalid_request", 90002, Refusal::Unavailable, false),
        ("invalid_grant", 50196, Refusal::RateLimited, false),
        ("invalid_grant", 99999, Refusal::InvalidCredentials, false),
    ];
    for (error, code, expected, proven) in cases {
        let (fixture, _, entra) = setup().await;
        fixture.on("POST", &token_path(), 400, aadsts(error, code));

        let outcome = entra
            .check_password("alice@contoso.com", &Secret::new("pw"))
            .await
            .unwrap_err();

        assert_eq!(outcome.refusal(), expected, "AADSTS{code}");
        assert_eq!(outcome.password_verified(), proven, "AADSTS{code}");
        assert_eq!(
            outcome.provider_code(),
            Some(format!("AADSTS{code}").as_str())
        );
    }
}

#[tokio::test]
async fn mfa_required_has_no_continuation_because_entra_has_no_api_for_it() {
    let (fixture, _, entra) = setup().await;
    fixture.on(
        "POST",
        &token_path(),
        400,
        aadsts("interaction_required", 50076),
    );

    let mut outcome = entra
        .check_password("alice@contoso.com", &Secret::new("pw"))
        .await
        .unwrap_err();

    assert_eq!(outcome.refusal(), Refusal::MfaRequired);
    assert!(outcome.take_continuation().is_none());
}

#[tokio::test]
async fn throttling_is_rate_limited_and_common_tenants_are_refused() {
    let (fixture, _, entra) = setup().await;
    fixture.on_with(
        "POST",
        &token_path(),
        429,
        &[("retry-after", "2")],
        json!(""),
    );

    let outcome = entra
        .check_password("a", &Secret::new("b"))
        .await
        .unwrap_err();

    assert_eq!(outcome.refusal(), Refusal::RateLimited);
    let common: Result<Settings, _> = serde_json::from_value(
        json!({ "authority": fixture.base, "tenant": "common", "client_id": "x" }),
    );
    assert!(Entra::new(common.unwrap()).is_err());
}

#[tokio::test]
async fn an_email_code_through_native_authentication() {
    let (fixture, signer, entra) = setup().await;
    fixture.on(
        "POST",
        &format!("{NATIVE}/oauth2/v2.0/initiate"),
        200,
        json!({ "continuation_token": "ct-1" }),
    );
    fixture.on("POST", &format!("{NATIVE}/oauth2/v2.0/challenge"), 200, json!({
        "continuation_token": "ct-2", "challenge_type": "oob", "binding_method": "prompt",
        "challenge_channel": "email", "challenge_target_label": "a***@c***.com", "code_length": 8
    }));
    let id_token = signer.id_token(
        &format!("https://{TENANT}.ciamlogin.com/{TENANT}/v2.0"),
        "app-1",
        "ciam-sub",
        json!({ "email": "alice@contoso.com" }),
    );
    fixture.on("POST", &format!("{NATIVE}/oauth2/v2.0/token"), 200, json!({ "token_type": "Bearer", "expires_in": 3600, "access_token": "at", "id_token": id_token }));

    let pending = entra
        .send_code(FactorKind::Email, "alice@contoso.com", None)
        .await
        .expect("sent");
    let verified = entra
        .verify_code(&pending, &Secret::new("12345678"))
        .await
        .expect("success");

    assert_eq!(verified.subject, "ciam-sub");
    assert_eq!(pending.hint.as_deref(), Some("a***@c***.com"));
    let initiate = fixture
        .one(&format!("{NATIVE}/oauth2/v2.0/initiate"))
        .form();
    assert_eq!(initiate["challenge_type"], "oob redirect");
    assert_eq!(initiate["username"], "alice@contoso.com");
    assert_eq!(
        fixture
            .one(&format!("{NATIVE}/oauth2/v2.0/challenge"))
            .form()["continuation_token"],
        "ct-1"
    );
    let token = fixture.one(&format!("{NATIVE}/oauth2/v2.0/token")).form();
    assert_eq!(
        (
            token["grant_type"].as_str(),
            token["oob"].as_str(),
            token["continuation_token"].as_str()
        ),
        ("oob", "12345678", "ct-2")
    );
}

#[tokio::test]
async fn each_native_auth_refusal_maps_to_its_outcome() {
    let (fixture, _, entra) = setup().await;
    let initiate = format!("{NATIVE}/oauth2/v2.0/initiate");
    fixture.on("POST", &initiate, 400, json!({ "error": "user_not_found", "error_description": "AADSTS50034: user not found", "error_codes": [] }));
    fixture.on(
        "POST",
        &initiate,
        200,
        json!({ "challenge_type": "redirect" }),
    );
    let unknown = entra
        .send_code(FactorKind::Email, "nobody@contoso.com", None)
        .await
        .unwrap_err();
    let browser = entra
        .send_code(FactorKind::Email, "alice@contoso.com", None)
        .await
        .unwrap_err();
    assert_eq!(unknown.refusal(), Refusal::NotEnrolled);
    assert_eq!(browser.refusal(), Refusal::Unavailable);

    for (body, expected) in [
        (
            json!({ "error": "invalid_grant", "suberror": "invalid_oob_value", "error_codes": [50181] }),
            Refusal::InvalidCode,
        ),
        (
            json!({ "error": "expired_token", "error_codes": [552003] }),
            Refusal::Expired,
        ),
        (
            json!({ "error": "invalid_client", "error_codes": [] }),
            Refusal::Unavailable,
        ),
    ] {
        let pending =
            ferry::idp::Continuation::new("alice", false).with_secret("continuation_token", "ct");
        fixture.on(
            "POST",
            &format!("{NATIVE}/oauth2/v2.0/token"),
            400,
            body.clone(),
        );
        let outcome = entra
            .verify_code(&pending, &Secret::new("1"))
            .await
            .unwrap_err();
        assert_eq!(outcome.refusal(), expected, "{body}");
    }
    let sms = entra
        .send_code(FactorKind::Sms, "alice", None)
        .await
        .unwrap_err();
    assert!(matches!(sms, LegacyError::NotOffered(_)));
}
