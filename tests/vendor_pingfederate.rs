//! PingFederate through HTTP fixtures: the password grant on `/as/token.oauth2`.
//!
//! Shapes: PingFederate's OAuth grant-type parameter list and endpoint pages, as summarised
//! in `docs/idp-apis.md` §2.7. Unconfirmed there: the error descriptions, and how a
//! directory lockout or expiry surfaces through a Password Credential Validator (the
//! fixture assumes `invalid_grant`, which is what the connector reports as wrong
//! credentials unless a deployment adds `answers` rules).

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    reason = "tests fail by panicking"
)]

mod support;

use ferry::idp::pingfederate::{PingFederate, Settings};
use ferry::idp::{Connector, Refusal};
use ferry::secret::Secret;
use serde_json::json;
use support::fixture::{Fixture, Signer};

#[tokio::test]
async fn the_password_grant_and_its_refusals() {
    let fixture = Fixture::start().await;
    let signer = Signer::new();
    fixture.always("GET", "/pf/JWKS", 200, signer.jwks.clone());
    let settings: Settings = serde_json::from_value(json!({
        "base_url": fixture.base, "client_id": "ferry", "client_secret": "cs",
        "answers": [{ "status": 400, "error": "access_denied", "outcome": "locked" }]
    }))
    .unwrap();
    let ping = PingFederate::new(settings).unwrap();
    let id_token = signer.id_token(&fixture.base, "ferry", "uid=alice", json!({}));
    fixture.on("POST", "/as/token.oauth2", 200, json!({ "access_token": "at", "token_type": "Bearer", "expires_in": 7200, "id_token": id_token }));
    for (status, body) in [
        (
            400,
            json!({ "error": "invalid_grant", "error_description": "Invalid resource owner credentials" }),
        ),
        (
            400,
            json!({ "error": "invalid_grant", "error_description": "Invalid resource owner credentials" }),
        ),
        (
            400,
            json!({ "error": "access_denied", "error_description": "account locked" }),
        ),
        (
            401,
            json!({ "error": "invalid_client", "error_description": "Invalid client or client credentials" }),
        ),
        (
            400,
            json!({ "error": "unauthorized_client", "error_description": "grant_type is not allowed" }),
        ),
        (503, json!("")),
    ] {
        fixture.on("POST", "/as/token.oauth2", status, body);
    }

    let verified = ping
        .check_password("alice", &Secret::new("pw"))
        .await
        .expect("success");
    let mut outcomes = Vec::new();
    for user in ["alice", "nobody", "alice", "alice", "alice", "alice"] {
        outcomes.push(
            ping.check_password(user, &Secret::new("x"))
                .await
                .unwrap_err()
                .refusal(),
        );
    }

    assert_eq!(verified.subject, "uid=alice");
    assert_eq!(
        outcomes,
        [
            Refusal::InvalidCredentials,
            Refusal::InvalidCredentials,
            Refusal::Locked,
            Refusal::Unavailable,
            Refusal::Unavailable,
            Refusal::Unavailable,
        ]
    );
    let sent = &fixture.requests_to("/as/token.oauth2")[0];
    assert!(sent.header("authorization").unwrap().starts_with("Basic "));
    let form = sent.form();
    assert_eq!(form["grant_type"], "password");
    assert_eq!(form["username"], "alice");
    assert_eq!(form["scope"], "openid profile email");
}
