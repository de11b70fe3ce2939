//! `ferry serve`: the HTTP API over the engine (hyper), completion tokens and their JWKS,
//! health. Handlers are thin; everything they do is a call into the runtime.

mod api;
pub mod reply;
pub mod token;

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use http::{Method, Request, StatusCode};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;

use crate::clock::SharedClock;
use crate::idp::redirect::CallbackParams;
use crate::runtime::{Client, Engine};
use reply::Reply;
pub use token::Signer;

/// What every handler shares.
#[derive(Debug)]
pub struct AppState {
    /// The engine.
    pub engine: Arc<Engine>,
    /// The token signer.
    pub signer: Signer,
    /// The clock tokens are dated by.
    pub clock: SharedClock,
    /// Reverse proxies trusted to append the client's address to `X-Forwarded-For`.
    pub trusted_proxy_hops: usize,
}

/// Serves the API on a bound listener until `shutdown` resolves, then lets requests in
/// flight finish.
pub async fn serve(
    listener: TcpListener,
    state: Arc<AppState>,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let graceful = GracefulShutdown::new();
    let sweeper = tokio::spawn(sweep_sessions(state.clone()));
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(pair) => pair,
                    Err(e) => {
                        tracing::warn!(target: "ferry::server", error = %e, "accept failed");
                        continue;
                    }
                };
                serve_connection(stream, peer, state.clone(), &graceful);
            }
            () = &mut shutdown => break,
        }
    }
    sweeper.abort();
    graceful.shutdown().await;
    Ok(())
}

fn serve_connection(
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    state: Arc<AppState>,
    graceful: &GracefulShutdown,
) {
    let service = service_fn(move |request| {
        let state = state.clone();
        async move { Ok::<_, Infallible>(route(&state, request, peer).await) }
    });
    let connection = hyper::server::conn::http1::Builder::new()
        .max_buf_size(64 * 1024)
        .serve_connection(TokioIo::new(stream), service);
    let connection = graceful.watch(connection);
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!(target: "ferry::server", %peer, error = %e, "connection ended with an error");
        }
    });
}

async fn sweep_sessions(state: Arc<AppState>) {
    let mut every = tokio::time::interval(std::time::Duration::from_secs(30));
    loop {
        every.tick().await;
        if let Err(e) = state.engine.sessions().sweep(state.clock.now_ms()).await {
            tracing::warn!(target: "ferry::server", error = %e, "session sweep failed");
        }
    }
}

/// Routes one request.
pub async fn route(state: &AppState, request: Request<Incoming>, peer: SocketAddr) -> Reply {
    let ip = client_address(&request, peer, state.trusted_proxy_hops);
    let client = Client { ip: Some(ip) };
    let path = request.uri().path().to_owned();
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let method = request.method().clone();
    match (segments.as_slice(), method) {
        (["healthz"], Method::GET) => api::health(),
        (["readyz"], Method::GET) => api::ready(state),
        (["metrics"], Method::GET) => api::metrics(state),
        ([".well-known", "jwks.json"], Method::GET) => api::jwks(state),
        (["v1", "journeys"], Method::GET) => api::journeys(state),
        (["v1", "journeys", journey, "sessions"], Method::POST) => {
            api::start(state, journey, &client).await
        }
        (["v1", "sessions", session], Method::GET) => api::show(state, session).await,
        (["v1", "callback"], Method::GET) => {
            let query = request.uri().query().unwrap_or_default();
            api::callback(state, CallbackParams::parse(query), &client).await
        }
        (["v1", "callback"], Method::POST) => match reply::read_form(request).await {
            Ok(body) => api::callback(state, CallbackParams::parse(&body), &client).await,
            Err(refusal) => refusal,
        },
        (["v1", "sessions", session], Method::POST) => {
            let session = (*session).to_owned();
            match reply::read_json(request).await {
                Ok(body) => api::advance(state, &session, body, &client).await,
                Err(refusal) => refusal,
            }
        }
        (known, _) if is_route(known) => reply::error(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "this path does not take that method",
        ),
        _ => reply::error(StatusCode::NOT_FOUND, "not_found", "no such path"),
    }
}

/// The client's address: the connection's, or, behind `hops` trusted proxies, the entry of
/// `X-Forwarded-For` the outermost of them appended. A header too short to hold it is ignored.
fn client_address(request: &Request<Incoming>, peer: SocketAddr, hops: usize) -> std::net::IpAddr {
    if hops == 0 {
        return peer.ip();
    }
    let chain: Vec<&str> = request
        .headers()
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    chain
        .len()
        .checked_sub(hops)
        .and_then(|i| chain.get(i))
        .and_then(|entry| entry.parse().ok())
        .unwrap_or_else(|| peer.ip())
}

fn is_route(segments: &[&str]) -> bool {
    matches!(
        segments,
        ["healthz"]
            | ["readyz"]
            | ["metrics"]
            | [".well-known", "jwks.json"]
            | ["v1", "journeys"]
            | ["v1", "journeys", _, "sessions"]
            | ["v1", "sessions", _]
            | ["v1", "callback"]
    )
}

/// The routes the server answers, as `METHOD /path` with `{name}` placeholders; the OpenAPI
/// description must list each of them.
pub const ROUTES: &[&str] = &[
    "GET /healthz",
    "GET /readyz",
    "GET /metrics",
    "GET /.well-known/jwks.json",
    "GET /v1/journeys",
    "POST /v1/journeys/{journey}/sessions",
    "GET /v1/sessions/{session}",
    "POST /v1/sessions/{session}",
    "GET /v1/callback",
    "POST /v1/callback",
];
