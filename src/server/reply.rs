//! Answers and refusals as HTTP responses: JSON bodies, and errors with a stable code and a
//! message that never carries a provider's body, a secret or a session id.

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use serde::Serialize;
use serde_json::{Value as Json, json};

/// The response type of every handler.
pub type Reply = Response<Full<Bytes>>;

/// The largest request body accepted.
pub const MAX_BODY: usize = 64 * 1024;

/// A JSON response.
pub fn json<T: Serialize>(status: StatusCode, body: &T) -> Reply {
    let bytes = serde_json::to_vec(body).unwrap_or_else(|_| b"{}".to_vec());
    let mut response = Response::new(Full::new(Bytes::from(bytes)));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// A `200` text response of the given content type.
pub fn text(content_type: &'static str, body: String) -> Reply {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// An error response: `{"error": {"code": …, "message": …}}`.
pub fn error(status: StatusCode, code: &str, message: impl std::fmt::Display) -> Reply {
    json(
        status,
        &json!({ "error": { "code": code, "message": message.to_string() } }),
    )
}

/// Reads a JSON request body: at most [`MAX_BODY`] bytes, `application/json`, an object.
/// An empty body reads as `{}`.
pub async fn read_json(request: http::Request<Incoming>) -> Result<Json, Reply> {
    let is_json = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';')
                .next()
                .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"))
        });
    let body = Limited::new(request.into_body(), MAX_BODY)
        .collect()
        .await
        .map_err(unread)?
        .to_bytes();
    if body.is_empty() {
        return Ok(json!({}));
    }
    if !is_json {
        return Err(error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the body as application/json",
        ));
    }
    let value: Json = serde_json::from_slice(&body).map_err(|e| {
        error(
            StatusCode::BAD_REQUEST,
            "bad_json",
            format_args!("the body is not valid JSON: {e}"),
        )
    })?;
    if !value.is_object() {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "bad_json",
            "the body must be a JSON object",
        ));
    }
    Ok(value)
}

/// Reads a form body (`application/x-www-form-urlencoded`, at most [`MAX_BODY`] bytes) as
/// text, as a provider's `form_post` sends it.
pub async fn read_form(request: http::Request<Incoming>) -> Result<String, Reply> {
    let is_form = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';').next().is_some_and(|t| {
                t.trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            })
        });
    if !is_form {
        return Err(error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the body as application/x-www-form-urlencoded",
        ));
    }
    let body = Limited::new(request.into_body(), MAX_BODY)
        .collect()
        .await
        .map_err(unread)?
        .to_bytes();
    String::from_utf8(body.to_vec())
        .map_err(|_| error(StatusCode::BAD_REQUEST, "bad_body", "the form is not UTF-8"))
}

fn unread(e: Box<dyn std::error::Error + Send + Sync>) -> Reply {
    if e.downcast_ref::<http_body_util::LengthLimitError>()
        .is_some()
    {
        return error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format_args!("the body is larger than {MAX_BODY} bytes"),
        );
    }
    error(
        StatusCode::BAD_REQUEST,
        "bad_body",
        "the body could not be read",
    )
}
