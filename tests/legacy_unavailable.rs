//! A legacy IDP that cannot be reached gives the `unavailable` outcome, never success.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    reason = "tests fail by panicking"
)]

mod support;

use support::ferry::{Ferry, shipped_config};
use support::free_port;

#[tokio::test]
async fn an_unreachable_legacy_idp_is_unavailable_and_creates_no_user() {
    let closed = format!("http://127.0.0.1:{}", free_port());
    let env = vec![
        (
            "LEGACY_OAUTH_TOKEN_ENDPOINT".to_owned(),
            format!("{closed}/token"),
        ),
        ("LEGACY_OAUTH_CLIENT_ID".to_owned(), "ferry".to_owned()),
        ("LEGACY_OAUTH_CLIENT_SECRET".to_owned(), "secret".to_owned()),
        ("LEGACY_OAUTH_ISSUER".to_owned(), closed.clone()),
        ("LEGACY_OAUTH_JWKS_URI".to_owned(), format!("{closed}/jwks")),
    ];
    let ferry = Ferry::start(&shipped_config(), &env).await;

    let (status, body) = ferry
        .login("jit-password-oauth", "alice", "alice-Passw0rd")
        .await;

    assert_eq!(status, 503, "{body}");
    assert_eq!(body["status"], "failed");
    assert_eq!(body["reason"], "unavailable");
    assert_eq!(
        body["message"],
        "Sign-in is unavailable right now; try again later."
    );
    assert!(body.get("token").is_none());
    assert_eq!(ferry.user_rows().await, 0);
}
