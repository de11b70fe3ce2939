//! The JSON API's handlers: thin, each a call into the engine and a reply.

use http::{StatusCode, header};
use serde_json::{Value as Json, json};

use super::AppState;
use super::reply::{self, Reply};
use crate::idp::redirect::CallbackParams;
use crate::runtime::{Answer, Client, EngineError, ErrorReason, Failure, SessionId, State};
use crate::syntax::ast::FailReason;

/// `GET /healthz`: the process answers.
pub fn health() -> Reply {
    reply::json(StatusCode::OK, &json!({ "status": "ok" }))
}

/// `GET /readyz`: ready when at least one journey can run.
pub fn ready(state: &AppState) -> Reply {
    let ready = state.engine.journeys().filter(|j| j.is_ready()).count();
    let status = if ready > 0 {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    reply::json(status, &json!({ "ready_journeys": ready }))
}

/// `GET /metrics`: the engine's metrics for Prometheus (OpenMetrics text).
pub fn metrics(state: &AppState) -> Reply {
    let metrics = state.engine.metrics();
    reply::text(crate::metrics::CONTENT_TYPE, metrics.encode())
}

/// `GET /.well-known/jwks.json`.
pub fn jwks(state: &AppState) -> Reply {
    reply::json(StatusCode::OK, &state.signer.jwks())
}

/// `GET /v1/journeys`: ids and readiness (reasons stay in the server's log).
pub fn journeys(state: &AppState) -> Reply {
    let list: Vec<Json> = state
        .engine
        .journeys()
        .map(|j| json!({ "id": j.id, "ready": j.is_ready() }))
        .collect();
    reply::json(StatusCode::OK, &json!({ "journeys": list }))
}

/// `POST /v1/journeys/{id}/sessions`.
pub async fn start(state: &AppState, journey: &str, client: &Client) -> Reply {
    match state.engine.start(journey, client).await {
        Ok(answer) => answered(state, answer, StatusCode::CREATED),
        Err(e) => refused(&e),
    }
}

/// `GET /v1/sessions/{id}`.
pub async fn show(state: &AppState, session: &str) -> Reply {
    let Some(id) = SessionId::parse(session) else {
        return refused(&EngineError::SessionNotFound);
    };
    match state.engine.peek(&id).await {
        Ok(answer) => answered(state, answer, StatusCode::OK),
        Err(e) => refused(&e),
    }
}

/// `POST /v1/sessions/{id}` with `{"input": {...}}`.
pub async fn advance(state: &AppState, session: &str, body: Json, client: &Client) -> Reply {
    let Some(id) = SessionId::parse(session) else {
        return refused(&EngineError::SessionNotFound);
    };
    let input = body.get("input").cloned().unwrap_or(Json::Null);
    match state.engine.advance(&id, &input, client).await {
        Ok(answer) => answered(state, answer, StatusCode::OK),
        Err(e) => refused(&e),
    }
}

/// `GET /v1/callback?code=…&state=…` or `POST /v1/callback` (form_post): the legacy
/// provider sends the user back; the waiting session resumes.
pub async fn callback(state: &AppState, params: Option<CallbackParams>, client: &Client) -> Reply {
    let Some(params) = params else {
        return reply::error(
            StatusCode::BAD_REQUEST,
            "bad_callback",
            "the callback's parameters could not be read",
        );
    };
    match state.engine.callback(&params, client).await {
        Ok(answer) => answered(state, answer, StatusCode::OK),
        Err(e) => refused(&e),
    }
}

fn answered(state: &AppState, answer: Answer, waiting_status: StatusCode) -> Reply {
    let mut body = serde_json::Map::new();
    body.insert(
        "session".into(),
        Json::String(answer.session.expose().to_owned()),
    );
    match serde_json::to_value(&answer) {
        Ok(Json::Object(map)) => body.extend(map),
        _ => {
            return reply::error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "the answer could not be written",
            );
        }
    }
    let status = match &answer.state {
        State::Waiting { .. } => waiting_status,
        State::Completed { user, amr } => {
            let now = state.clock.now_secs();
            let token = match state.signer.sign(user, amr, now) {
                Ok(token) => token,
                Err(e) => {
                    tracing::error!(target: "ferry::server", error = %e, "token signing failed");
                    return reply::error(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "internal",
                        "the token could not be signed",
                    );
                }
            };
            body.insert("token".into(), Json::String(token));
            body.insert("token_type".into(), Json::String("Bearer".into()));
            body.insert("expires_in".into(), Json::from(state.signer.ttl_seconds()));
            body.insert(
                "user".into(),
                json!({
                    "id": user.id,
                    "identifier": user.identifier,
                    "authenticators": user.authenticators,
                }),
            );
            StatusCode::OK
        }
        State::Failed { reason, .. } => failure_status(*reason),
    };
    let mut response = reply::json(status, &body);
    if let State::Failed {
        retry_after: Some(seconds),
        ..
    } = &answer.state
        && let Ok(value) = http::HeaderValue::from_str(&seconds.to_string())
    {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

/// The HTTP status of a failed session.
pub fn failure_status(reason: Failure) -> StatusCode {
    match reason {
        Failure::Journey(FailReason::InvalidCredentials | FailReason::InvalidCode) => {
            StatusCode::UNAUTHORIZED
        }
        Failure::Journey(FailReason::RateLimited) => StatusCode::TOO_MANY_REQUESTS,
        Failure::Journey(FailReason::Unavailable) => StatusCode::SERVICE_UNAVAILABLE,
        Failure::Journey(FailReason::Conflict) => StatusCode::CONFLICT,
        Failure::Journey(
            FailReason::Locked
            | FailReason::Denied
            | FailReason::PasswordExpired
            | FailReason::NotConfirmed
            | FailReason::MfaRequired
            | FailReason::NotEnrolled,
        ) => StatusCode::FORBIDDEN,
        Failure::Error(ErrorReason::JourneyError) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

fn refused(error: &EngineError) -> Reply {
    let (status, code) = match error {
        EngineError::UnknownJourney(_) => (StatusCode::NOT_FOUND, "unknown_journey"),
        EngineError::NotReady { .. } => (StatusCode::SERVICE_UNAVAILABLE, "journey_not_ready"),
        EngineError::SessionNotFound => (StatusCode::NOT_FOUND, "session_not_found"),
        EngineError::SessionBusy => (StatusCode::CONFLICT, "session_busy"),
        EngineError::Input(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_input"),
        EngineError::Busy => (StatusCode::SERVICE_UNAVAILABLE, "busy"),
        EngineError::UnknownState => (StatusCode::BAD_REQUEST, "invalid_state"),
        EngineError::Store(e) => {
            tracing::error!(target: "ferry::server", error = %e, "store failed");
            (StatusCode::SERVICE_UNAVAILABLE, "store_unavailable")
        }
    };
    if let EngineError::NotReady { journey, reasons } = error {
        tracing::warn!(target: "ferry::server", journey = %journey, reasons = ?reasons, "journey not ready");
    }
    let mut response = reply::error(status, code, error);
    if status == StatusCode::SERVICE_UNAVAILABLE {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, http::HeaderValue::from_static("5"));
    }
    response
}
