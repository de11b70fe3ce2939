//! Connector overhead per call (criterion): Ferry's request building, sending through the
//! limiter, reading and classifying, against a loopback server that answers a canned
//! response at once. `baseline` is a bare reqwest POST to the same server with the same
//! answer; a connector's overhead is its time minus the baseline.
//!
//! - `cognito/refused`: InitiateAuth answered `NotAuthorizedException` (classification only).
//! - `cognito/mfa_required`: a SOFTWARE_TOKEN_MFA challenge turned into a continuation.
//! - `okta/success`: an Authn `SUCCESS` transaction read into claims.
//! - `keycloak/success`: a direct grant whose ID token (EdDSA) is verified against a cached
//!   JWKS.

#![allow(clippy::expect_used, reason = "a benchmark fails by panicking")]

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, RwLock};

use base64::Engine as _;
use bytes::Bytes;
use criterion::{Criterion, criterion_group, criterion_main};
use ferry::idp::Connector;
use ferry::secret::Secret;
use http_body_util::{BodyExt, Full};
use serde_json::{Value as Json, json};

type Answers = Arc<RwLock<HashMap<&'static str, (u16, String)>>>;

/// Serves one canned body per path, at once; the answers can be filled in after the port is
/// known.
async fn serve() -> (String, Answers) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    let answers: Answers = Arc::default();
    let shared = answers.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let answers = shared.clone();
            tokio::spawn(async move {
                let service =
                    hyper::service::service_fn(move |r: http::Request<hyper::body::Incoming>| {
                        let answers = answers.clone();
                        async move {
                            let path = r.uri().path().to_owned();
                            let _ = r.into_body().collect().await;
                            let found =
                                answers.read().expect("answers").get(path.as_str()).cloned();
                            let (status, body) = found.unwrap_or((404, String::new()));
                            let mut response = http::Response::new(Full::new(Bytes::from(body)));
                            *response.status_mut() =
                                http::StatusCode::from_u16(status).expect("status");
                            Ok::<_, Infallible>(response)
                        }
                    });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (base, answers)
}

fn fast() -> Json {
    json!({ "requests_per_second": 1.0e9, "burst": 1_000_000 })
}

fn signed(issuer: &str) -> (String, Json) {
    use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).expect("key");
    let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).expect("key");
    let x = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(pair.public_key().as_ref());
    let jwks =
        json!({ "keys": [{ "kty": "OKP", "crv": "Ed25519", "x": x, "kid": "k", "alg": "EdDSA" }] });
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::EdDSA);
    header.kid = Some("k".into());
    let claims = json!({ "iss": issuer, "aud": "ferry", "sub": "u1", "iat": 1_700_000_000u64, "exp": 4_000_000_000u64, "email": "a@example.com" });
    let key = jsonwebtoken::EncodingKey::from_ed_der(pkcs8.as_ref());
    (
        jsonwebtoken::encode(&header, &claims, &key).expect("sign"),
        jwks,
    )
}

fn connectors(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let (base, answers) = runtime.block_on(serve());
    let (id_token, jwks) = signed(&format!("{base}/realms/r"));
    let canned = [
        (
            "/cognito-refused/",
            400,
            json!({ "__type": "NotAuthorizedException", "message": "Incorrect username or password." }),
        ),
        (
            "/cognito-mfa/",
            200,
            json!({ "ChallengeName": "SOFTWARE_TOKEN_MFA", "Session": "s", "ChallengeParameters": {} }),
        ),
        (
            "/api/v1/authn",
            200,
            json!({ "status": "SUCCESS", "sessionToken": "t", "_embedded": { "user": { "id": "00u1", "profile": { "login": "a@example.com", "firstName": "A", "lastName": "B" } } } }),
        ),
        (
            "/realms/r/protocol/openid-connect/token",
            200,
            json!({ "access_token": "at", "token_type": "Bearer", "expires_in": 300, "id_token": id_token }),
        ),
        ("/realms/r/protocol/openid-connect/certs", 200, jwks),
    ];
    for (path, status, body) in canned {
        answers
            .write()
            .expect("answers")
            .insert(path, (status, body.to_string()));
    }
    let password = Secret::new("pw");

    let cognito = |path: &str| {
        let settings = json!({ "endpoint": format!("{base}{path}"), "client_id": "c", "issuer": "https://x", "jwks_uri": format!("{base}/jwks"), "limits": fast() });
        ferry::idp::cognito::Cognito::new(serde_json::from_value(settings).expect("settings"))
            .expect("cognito")
    };
    let refused = cognito("/cognito-refused/");
    let mfa = cognito("/cognito-mfa/");
    let okta = ferry::idp::okta::Okta::new(
        serde_json::from_value(json!({ "base_url": base, "limits": fast() })).expect("settings"),
    )
    .expect("okta");
    let keycloak = ferry::idp::keycloak::Keycloak::new(
        serde_json::from_value(
            json!({ "base_url": base, "realm": "r", "client_id": "ferry", "limits": fast() }),
        )
        .expect("settings"),
    )
    .expect("keycloak");
    let raw = reqwest::Client::new();
    let raw_url = format!("{base}/cognito-refused/");

    c.bench_function("baseline", |b| {
        b.to_async(&runtime).iter(|| async {
            let answer = raw.post(&raw_url).body("{}").send().await.expect("send");
            answer.bytes().await.expect("body")
        })
    });
    c.bench_function("cognito/refused", |b| {
        b.to_async(&runtime).iter(|| async {
            refused
                .check_password("alice", &password)
                .await
                .expect_err("refused")
        })
    });
    c.bench_function("cognito/mfa_required", |b| {
        b.to_async(&runtime).iter(|| async {
            mfa.check_password("alice", &password)
                .await
                .expect_err("mfa")
        })
    });
    c.bench_function("okta/success", |b| {
        b.to_async(&runtime).iter(|| async {
            okta.check_password("alice", &password)
                .await
                .expect("success")
        })
    });
    c.bench_function("keycloak/success", |b| {
        b.to_async(&runtime).iter(|| async {
            keycloak
                .check_password("alice", &password)
                .await
                .expect("success")
        })
    });
}

criterion_group!(benches, connectors);
criterion_main!(benches);
