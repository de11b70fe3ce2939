//! The OIDC redirect's costs in Ferry (criterion).
//!
//! - `id_token/rs256`, `id_token/es256`: one ID token validated per call (claims per OIDC
//!   Core §3.1.3.7 and the signature against a cached key set), RSA-2048 and P-256.
//! - `redirect/login`: one whole first login on the engine: start, identifier, the redirect
//!   begun (discovery cached), the callback (code exchange, ID token, userinfo), save-user,
//!   completion; against a loopback provider that answers at once.
//! - `redirect/peer_baseline`: the provider's share of that login: the same token and
//!   userinfo requests made directly with reqwest, the token signed as the provider does.
//!   Ferry's overhead per login is `redirect/login` minus this.

#![allow(
    clippy::expect_used,
    clippy::panic,
    reason = "a benchmark fails by panicking"
)]

#[allow(dead_code, reason = "the benchmark uses part of the test provider")]
#[path = "../tests/support/bad_op.rs"]
mod bad_op;

use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use ferry::config::Config;
use ferry::idp::id_token::{self, Expected};
use ferry::idp::jwks::JwksCache;
use ferry::idp::redirect::CallbackParams;
use ferry::runtime::{Client, Engine, State};
use ferry::secret::Secret;
use ferry::store::{MemorySessions, MemoryUsers};
use ferry::syntax::source::SourceFile;
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;

fn rsa_key() -> EncodingKey {
    use aws_lc_rs::encoding::AsDer;
    let pair = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).expect("rsa");
    let der = AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(&pair).expect("pkcs8");
    let pem = pem::encode(&pem::Pem::new("PRIVATE KEY", der.as_ref().to_vec()));
    EncodingKey::from_rsa_pem(pem.as_bytes()).expect("rsa key")
}

fn ec_key() -> EncodingKey {
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
    let pkcs8 =
        EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
            .expect("p-256");
    EncodingKey::from_ec_der(pkcs8.as_ref())
}

fn id_token(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let mut group = c.benchmark_group("id_token");
    for (name, algorithm, key) in [
        ("rs256", Algorithm::RS256, rsa_key()),
        ("es256", Algorithm::ES256, ec_key()),
    ] {
        let mut jwk = Jwk::from_encoding_key(&key, algorithm).expect("jwk");
        jwk.common.key_id = Some("k".into());
        let jwks = JwksCache::seeded(
            "http://127.0.0.1:9/jwks",
            reqwest::Client::new(),
            JwkSet { keys: vec![jwk] },
        );
        let now = 1_800_000_000;
        let claims = json!({ "iss": "https://idp.example", "aud": "ferry", "sub": "u1",
                             "iat": now, "exp": now + 300, "nonce": "n" });
        let mut header = Header::new(algorithm);
        header.kid = Some("k".into());
        let token = jsonwebtoken::encode(&header, &claims, &key).expect("sign");
        let issuers = vec!["https://idp.example".to_owned()];
        let expected = Expected {
            issuers: &issuers,
            client_id: "ferry",
            nonce: Some("n"),
            now,
            skew: 60,
        };
        group.bench_function(name, |b| {
            b.to_async(&runtime).iter(|| async {
                id_token::validate(&token, &jwks, &expected)
                    .await
                    .expect("valid")
            });
        });
    }
    group.finish();
}

const JOURNEY: &str = r#"
journey: bench-oidc
idps:
  legacy: { provider: oidc }
start: ask
steps:
  ask:
    prompt: { fields: { identifier: email } }
    on: { submitted: legacy }
  legacy:
    legacy_redirect: { idp: legacy }
    on: { success: save, else: failed }
  save:
    save_user: { identifier: legacy.subject, attributes: { email: claims.email } }
    on: { created: done, updated: done, else: failed }
  done:
    complete: {}
  failed:
    fail: { reason: unavailable }
"#;

async fn engine(op: &bad_op::BadOp) -> (tempfile::TempDir, Engine) {
    let dir = tempfile::tempdir().expect("dir");
    std::fs::write(dir.path().join("bench-oidc.yaml"), JOURNEY).expect("journey");
    let text = format!(
        "journeys: [{}]\nidps:\n  legacy:\n    provider: oidc\n    redirect:\n      issuer: {}\n      client_id: ferry\n      client_secret: ${{SECRET}}\n      redirect_uri: http://127.0.0.1:8080/v1/callback\n",
        dir.path().display(),
        op.issuer
    );
    let env: std::collections::HashMap<String, String> =
        [("SECRET".to_owned(), "s".to_owned())].into();
    let config = Config::parse(SourceFile::new("ferry.yaml", text), dir.path().into(), &env)
        .expect("config");
    let (engine, _) = Engine::builder(config)
        .env(Arc::new(env))
        .users(Arc::new(MemoryUsers::new()))
        .sessions(Arc::new(MemorySessions::new()))
        .build()
        .await
        .expect("engine");
    (dir, engine)
}

/// One first login; the provider signs the token for this login's nonce.
async fn login(engine: &Engine, op: &bad_op::BadOp, n: u64) {
    let client = Client::default();
    let started = engine.start("bench-oidc", &client).await.expect("start");
    let id = started.session;
    let waiting = engine
        .advance(
            &id,
            &json!({ "identifier": format!("u{n}@example.test") }),
            &client,
        )
        .await
        .expect("identifier");
    let State::Waiting { step } = waiting.state else {
        panic!("not waiting");
    };
    let url = reqwest::Url::parse(&step.redirect_url.expect("url")).expect("url");
    let param = |k: &str| {
        url.query_pairs()
            .find(|(q, _)| q == k)
            .map(|(_, v)| v.into_owned())
    };
    let mut claims = op.claims("ferry", &param("nonce").expect("nonce"));
    claims["sub"] = json!(format!("user-{n}"));
    op.next_token(bad_op::Token {
        claims,
        alg: "ES256",
        kid: Some("k1".into()),
        signer: 0,
    });
    let callback = CallbackParams {
        state: param("state").map(Secret::new),
        code: Some(Secret::new("c")),
        iss: Some(op.issuer.clone()),
        ..CallbackParams::default()
    };
    let done = engine.callback(&callback, &client).await.expect("callback");
    assert!(matches!(done.state, State::Completed { .. }), "{done:?}");
}

fn redirect(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let op = runtime.block_on(bad_op::BadOp::start());
    let (_dir, engine) = runtime.block_on(engine(&op));
    let mut group = c.benchmark_group("redirect");
    let mut n = 0u64;
    group.bench_function("login", |b| {
        b.to_async(&runtime).iter(|| {
            n += 1;
            login(&engine, &op, n)
        });
    });
    let http = reqwest::Client::new();
    group.bench_function("peer_baseline", |b| {
        b.to_async(&runtime).iter(|| async {
            op.next_token(bad_op::Token {
                claims: op.claims("ferry", "n"),
                alg: "ES256",
                kid: Some("k1".into()),
                signer: 0,
            });
            let token = http
                .post(format!("{}/token", op.issuer))
                .form(&[("grant_type", "authorization_code"), ("code", "c")])
                .send()
                .await
                .expect("token");
            let _ = token.bytes().await.expect("body");
            let info = http
                .get(format!("{}/userinfo", op.issuer))
                .bearer_auth("opaque-access-token")
                .send()
                .await
                .expect("userinfo");
            let _ = info.bytes().await.expect("body");
        });
    });
    group.finish();
}

criterion_group!(benches, id_token, redirect);
criterion_main!(benches);
