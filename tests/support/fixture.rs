//! A vendor fixture: a small HTTP server on loopback that answers canned responses, in
//! order, per method and path, and records every request Ferry sends, so a test can assert
//! both. Also an Ed25519 key that signs ID tokens and publishes its JWKS, for the vendors
//! whose success answer is an ID token.

use std::collections::{BTreeMap, VecDeque};
use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::{Value as Json, json};
use tokio::sync::oneshot;

/// A request the fixture received.
#[derive(Clone, Debug)]
pub struct Recorded {
    /// `GET`, `POST`…
    pub method: String,
    /// The path, without the query.
    pub path: String,
    /// The query string, if any.
    pub query: Option<String>,
    /// The headers.
    pub headers: http::HeaderMap,
    /// The body as text.
    pub body: String,
}

impl Recorded {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body as a form.
    pub fn form(&self) -> BTreeMap<String, String> {
        url::form_urlencoded::parse(self.body.as_bytes())
            .into_owned()
            .collect()
    }

    /// The body as JSON.
    pub fn json(&self) -> Json {
        serde_json::from_str(&self.body).expect("a JSON request body")
    }

    /// The query as pairs.
    pub fn query_pairs(&self) -> BTreeMap<String, String> {
        url::form_urlencoded::parse(self.query.as_deref().unwrap_or("").as_bytes())
            .into_owned()
            .collect()
    }
}

#[derive(Clone, Debug)]
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

#[derive(Debug, Default)]
struct State {
    once: BTreeMap<(String, String), VecDeque<Reply>>,
    always: BTreeMap<(String, String), Reply>,
    requests: Vec<Recorded>,
}

/// A running fixture server; stopped when dropped.
pub struct Fixture {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    state: Arc<Mutex<State>>,
    stop: Option<oneshot::Sender<()>>,
}

impl Fixture {
    /// Starts an empty fixture on a free loopback port.
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("address"));
        let state = Arc::new(Mutex::new(State::default()));
        let (stop, mut stopped) = oneshot::channel::<()>();
        let shared = state.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = &mut stopped => return,
                    accepted = listener.accept() => {
                        let Ok((stream, _)) = accepted else { continue };
                        let state = shared.clone();
                        tokio::spawn(async move {
                            let service = service_fn(move |r| answer(state.clone(), r));
                            let _ = hyper::server::conn::http1::Builder::new()
                                .serve_connection(TokioIo::new(stream), service)
                                .await;
                        });
                    }
                }
            }
        });
        Self {
            base,
            state,
            stop: Some(stop),
        }
    }

    /// A full URL on the fixture.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Queues one answer for `METHOD path`; answers are given in the order queued.
    pub fn on(&self, method: &str, path: &str, status: u16, body: Json) {
        self.on_with(method, path, status, &[], body);
    }

    /// Queues one answer with headers.
    pub fn on_with(
        &self,
        method: &str,
        path: &str,
        status: u16,
        headers: &[(&str, &str)],
        body: Json,
    ) {
        let reply = reply(status, headers, body);
        let mut state = self.state.lock().expect("fixture state");
        state
            .once
            .entry((method.to_owned(), path.to_owned()))
            .or_default()
            .push_back(reply);
    }

    /// Answers `METHOD path` the same way every time (key sets, token endpoints).
    pub fn always(&self, method: &str, path: &str, status: u16, body: Json) {
        let mut state = self.state.lock().expect("fixture state");
        state.always.insert(
            (method.to_owned(), path.to_owned()),
            reply(status, &[], body),
        );
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.state.lock().expect("fixture state").requests.clone()
    }

    /// The requests to one path.
    pub fn requests_to(&self, path: &str) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(|r| r.path == path)
            .collect()
    }

    /// The only request to a path; fails the test when there were none or several.
    pub fn one(&self, path: &str) -> Recorded {
        let mut found = self.requests_to(path);
        assert_eq!(found.len(), 1, "requests to {path}: {found:?}");
        found.remove(0)
    }

    /// Forgets the requests recorded so far.
    pub fn clear(&self) {
        self.state.lock().expect("fixture state").requests.clear();
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

fn reply(status: u16, headers: &[(&str, &str)], body: Json) -> Reply {
    let body = match body {
        Json::Null => String::new(),
        Json::String(text) => text,
        other => other.to_string(),
    };
    Reply {
        status,
        headers: headers
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        body,
    }
}

async fn answer(
    state: Arc<Mutex<State>>,
    request: http::Request<hyper::body::Incoming>,
) -> Result<http::Response<Full<Bytes>>, Infallible> {
    let (parts, body) = request.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let recorded = Recorded {
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().map(str::to_owned),
        headers: parts.headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    let key = (recorded.method.clone(), recorded.path.clone());
    let reply = {
        let mut state = state.lock().expect("fixture state");
        state.requests.push(recorded);
        let queued = state.once.get_mut(&key).and_then(VecDeque::pop_front);
        queued.or_else(|| state.always.get(&key).cloned())
    };
    let reply = reply.unwrap_or_else(|| Reply {
        status: 599,
        headers: Vec::new(),
        body: format!(
            "{{\"fixture\":\"no answer queued for {} {}\"}}",
            key.0, key.1
        ),
    });
    let mut response = http::Response::new(Full::new(Bytes::from(reply.body)));
    *response.status_mut() = http::StatusCode::from_u16(reply.status).unwrap_or_default();
    let headers = response.headers_mut();
    headers.insert(
        "content-type",
        http::HeaderValue::from_static("application/json"),
    );
    for (name, value) in reply.headers {
        headers.insert(
            http::HeaderName::from_bytes(name.as_bytes()).expect("header name"),
            http::HeaderValue::from_str(&value).expect("header value"),
        );
    }
    Ok(response)
}

/// An Ed25519 signing key for ID tokens, and its JWKS.
pub struct Signer {
    key: jsonwebtoken::EncodingKey,
    /// The JWKS publishing the public key.
    pub jwks: Json,
}

impl Signer {
    /// A fresh key with kid `fixture-key`.
    pub fn new() -> Self {
        use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).expect("generate a key");
        let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).expect("read the key");
        let x = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(pair.public_key().as_ref());
        Self {
            key: jsonwebtoken::EncodingKey::from_ed_der(pkcs8.as_ref()),
            jwks: json!({ "keys": [{
                "kty": "OKP", "crv": "Ed25519", "x": x, "kid": "fixture-key",
                "alg": "EdDSA", "use": "sig"
            }]}),
        }
    }

    /// An ID token for `aud`, from `iss`, about `sub`, with extra claims, valid for an hour.
    pub fn id_token(&self, iss: &str, aud: &str, sub: &str, extra: Json) -> String {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("time")
            .as_secs();
        let mut claims =
            json!({ "iss": iss, "aud": aud, "sub": sub, "iat": now, "exp": now + 3600 });
        if let (Some(map), Json::Object(more)) = (claims.as_object_mut(), extra) {
            map.extend(more);
        }
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::EdDSA);
        header.kid = Some("fixture-key".into());
        jsonwebtoken::encode(&header, &claims, &self.key).expect("sign")
    }
}
