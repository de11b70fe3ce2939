//! A small OpenID provider that misbehaves on request: its discovery document, key set,
//! token and userinfo endpoints are real HTTP on loopback, but the ID token it hands out is
//! whatever the test describes (wrong issuer, no `kid`, `alg: none`, a bad signature…).

use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value as Json, json};

/// One signing key.
pub struct Key {
    /// Its `kid`.
    pub kid: String,
    encoding: EncodingKey,
    /// Its public JWK.
    pub jwk: Json,
}

impl Key {
    /// A fresh P-256 key.
    pub fn generate(kid: &str) -> Self {
        let pkcs8 =
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
                .expect("generate a key");
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref())
            .expect("read the key");
        let point = pair.public_key().as_ref();
        let jwk = json!({
            "kty": "EC", "crv": "P-256", "kid": kid, "use": "sig", "alg": "ES256",
            "x": URL_SAFE_NO_PAD.encode(&point[1..33]), "y": URL_SAFE_NO_PAD.encode(&point[33..65]),
        });
        Self {
            kid: kid.to_owned(),
            encoding: EncodingKey::from_ec_der(pkcs8.as_ref()),
            jwk,
        }
    }
}

/// How the next ID token is made.
#[derive(Clone, Debug)]
pub struct Token {
    /// Its claims.
    pub claims: Json,
    /// `alg`: `ES256`, `HS256` or `none`.
    pub alg: &'static str,
    /// The `kid` in the header, if any.
    pub kid: Option<String>,
    /// Which key signs it (index into the provider's keys).
    pub signer: usize,
}

/// What the provider serves.
pub struct Scenario {
    /// Every key it has.
    pub keys: Vec<Key>,
    /// The indexes of the keys it publishes.
    pub published: Vec<usize>,
    /// The next ID token.
    pub token: Option<Token>,
    /// The `sub` userinfo answers with; `None`: the ID token's.
    pub userinfo_sub: Option<String>,
    /// Key set fetches so far.
    pub jwks_fetches: usize,
    /// The last token request's form body.
    pub token_form: Option<String>,
    /// Meta: the Graph profile `/me` answers with, and the app `debug_token` vouches for.
    pub graph_me: Json,
    /// Meta: the app id `debug_token` reports.
    pub graph_app: String,
}

/// A running misbehaving provider; stops with the test's runtime.
pub struct BadOp {
    /// Its issuer, `http://127.0.0.1:PORT`.
    pub issuer: String,
    /// What it serves; change it between logins.
    pub scenario: Arc<Mutex<Scenario>>,
}

impl BadOp {
    /// Starts a provider with two keys (`k1`, `k2`), publishing the first.
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let issuer = format!("http://{}", listener.local_addr().expect("address"));
        let scenario = Arc::new(Mutex::new(Scenario {
            keys: vec![Key::generate("k1"), Key::generate("k2")],
            published: vec![0],
            token: None,
            userinfo_sub: None,
            jwks_fetches: 0,
            token_form: None,
            graph_me: json!({ "id": "10158000000000001", "name": "Sam Doe" }),
            graph_app: "1234567890".into(),
        }));
        let shared = (issuer.clone(), scenario.clone());
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let shared = shared.clone();
                let service = service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                    let shared = shared.clone();
                    async move {
                        let (parts, body) = request.into_parts();
                        let body = body
                            .collect()
                            .await
                            .map(|b| b.to_bytes())
                            .unwrap_or_default();
                        let body = String::from_utf8_lossy(&body).into_owned();
                        Ok::<_, Infallible>(answer(&shared.0, &shared.1, &parts, body))
                    }
                });
                tokio::spawn(
                    hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service),
                );
            }
        });
        Self { issuer, scenario }
    }

    /// Good claims for `client_id` and `nonce`, issued now; tests spoil one thing.
    pub fn claims(&self, client_id: &str, nonce: &str) -> Json {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_secs() as i64;
        json!({
            "iss": self.issuer, "sub": "legacy-user-1", "aud": client_id, "exp": now + 300,
            "iat": now, "nonce": nonce, "email": "carol@example.test", "email_verified": true,
            "name": "Carol Jones"
        })
    }

    /// Sets the next ID token.
    pub fn next_token(&self, token: Token) {
        self.scenario.lock().expect("scenario").token = Some(token);
    }
}

type Reply = hyper::Response<Full<Bytes>>;

fn answer(
    issuer: &str,
    scenario: &Mutex<Scenario>,
    request: &http::request::Parts,
    body: String,
) -> Reply {
    let mut scenario = scenario.lock().expect("scenario");
    match request.uri.path() {
        "/.well-known/openid-configuration" => json_reply(&json!({
            "issuer": issuer,
            "authorization_endpoint": format!("{issuer}/authorize"),
            "token_endpoint": format!("{issuer}/token"),
            "jwks_uri": format!("{issuer}/jwks"),
            "userinfo_endpoint": format!("{issuer}/userinfo"),
            "authorization_response_iss_parameter_supported": true,
        })),
        "/jwks" => {
            scenario.jwks_fetches += 1;
            let keys: Vec<Json> = scenario
                .published
                .iter()
                .map(|i| scenario.keys[*i].jwk.clone())
                .collect();
            json_reply(&json!({ "keys": keys }))
        }
        "/token" => {
            scenario.token_form = Some(body);
            let token = scenario.token.as_ref().map(|t| sign(&scenario.keys, t));
            json_reply(&json!({
                "access_token": "opaque-access-token", "token_type": "Bearer",
                "expires_in": 300, "id_token": token,
            }))
        }
        "/userinfo" => {
            let from_token = scenario.token.as_ref().map(|t| t.claims["sub"].clone());
            let sub = match &scenario.userinfo_sub {
                Some(sub) => Json::String(sub.clone()),
                None => from_token.unwrap_or(Json::Null),
            };
            json_reply(&json!({ "sub": sub, "email": "carol@example.test" }))
        }
        "/v21.0/oauth/access_token" => json_reply(&json!({
            "access_token": "meta-user-token", "token_type": "bearer", "expires_in": 5000
        })),
        "/debug_token" => json_reply(&json!({ "data": {
            "app_id": scenario.graph_app, "is_valid": true,
            "user_id": scenario.graph_me["id"], "scopes": ["public_profile"]
        } })),
        "/v21.0/me" => json_reply(&scenario.graph_me),
        _ => {
            let mut reply = json_reply(&json!({ "error": "not_found" }));
            *reply.status_mut() = hyper::StatusCode::NOT_FOUND;
            reply
        }
    }
}

fn json_reply(body: &Json) -> Reply {
    let mut reply = hyper::Response::new(Full::new(Bytes::from(body.to_string())));
    reply.headers_mut().insert(
        "content-type",
        hyper::header::HeaderValue::from_static("application/json"),
    );
    reply
}

fn sign(keys: &[Key], token: &Token) -> String {
    match token.alg {
        "none" => {
            let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
            let claims = URL_SAFE_NO_PAD.encode(token.claims.to_string());
            format!("{header}.{claims}.")
        }
        "HS256" => {
            let mut header = Header::new(Algorithm::HS256);
            header.kid.clone_from(&token.kid);
            let key =
                EncodingKey::from_secret(b"a shared secret nobody should accept").expect("key");
            jsonwebtoken::encode(&header, &token.claims, &key).expect("sign")
        }
        _ => {
            let mut header = Header::new(Algorithm::ES256);
            header.kid.clone_from(&token.kid);
            jsonwebtoken::encode(&header, &token.claims, &keys[token.signer].encoding)
                .expect("sign")
        }
    }
}
