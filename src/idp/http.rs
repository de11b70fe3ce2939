//! The HTTP client every connector shares, and the first of the three ways a call can fail:
//! the provider could not be reached, or its answer could not be read.

use std::time::Duration;

use serde::de::DeserializeOwned;

/// The largest answer body Ferry reads from a provider.
pub const MAX_BODY: usize = 1024 * 1024;

/// A call that did not produce a usable answer.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// The provider could not be reached: connection refused, DNS, TLS, timeout.
    #[error("the provider could not be reached")]
    Unreachable(#[source] reqwest::Error),
    /// The provider answered, but not in a form Ferry can read.
    #[error("the provider's answer could not be read: {detail}")]
    Unreadable {
        /// The URL called.
        url: String,
        /// The HTTP status.
        status: u16,
        /// What was wrong; for debug logs only, never for users.
        detail: String,
    },
}

/// A client for calls to legacy providers: no redirects followed, a total timeout per call.
pub fn client(timeout: Duration) -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(5)))
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("ferry/", env!("CARGO_PKG_VERSION")))
        .build()
}

/// An answer read in full (up to [`MAX_BODY`]).
#[derive(Debug)]
pub struct Answer {
    /// The HTTP status.
    pub status: u16,
    /// The `Retry-After` header in seconds, if any.
    pub retry_after: Option<u64>,
    /// The body.
    pub body: Vec<u8>,
    /// The URL called.
    pub url: String,
}

impl Answer {
    /// The body as JSON, or why not.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, HttpError> {
        serde_json::from_slice(&self.body)
            .map_err(|e| self.unreadable(format!("invalid JSON: {e}")))
    }

    /// An error saying this answer could not be read.
    pub fn unreadable(&self, detail: impl Into<String>) -> HttpError {
        HttpError::Unreadable {
            url: self.url.clone(),
            status: self.status,
            detail: detail.into(),
        }
    }
}

/// Sends a request and reads the whole answer.
pub async fn send(request: reqwest::RequestBuilder) -> Result<Answer, HttpError> {
    let mut response = request.send().await.map_err(HttpError::Unreachable)?;
    let status = response.status().as_u16();
    let url = response.url().to_string();
    let retry_after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok());
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(HttpError::Unreachable)? {
        if body.len() + chunk.len() > MAX_BODY {
            let detail = format!("the body is larger than {MAX_BODY} bytes");
            return Err(HttpError::Unreadable {
                url,
                status,
                detail,
            });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Answer {
        status,
        retry_after,
        body,
        url,
    })
}

/// GETs a JSON document, requiring a 200.
pub async fn get_json<T: DeserializeOwned>(
    client: &reqwest::Client,
    url: &str,
) -> Result<T, HttpError> {
    let answer = send(client.get(url).header("accept", "application/json")).await?;
    if answer.status != 200 {
        return Err(answer.unreadable(format!("expected 200, got {}", answer.status)));
    }
    answer.json()
}

/// Whether a URL may be called: `https`, or `http` to a loopback address.
pub fn transport_allowed(url: &reqwest::Url) -> bool {
    match url.scheme() {
        "https" => true,
        "http" => match url.host() {
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            Some(url::Host::Domain(name)) => name == "localhost",
            None => false,
        },
        _ => false,
    }
}
