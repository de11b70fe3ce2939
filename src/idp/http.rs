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
    /// The provider did not answer within the time allowed.
    #[error("the provider did not answer in time")]
    OutOfTime,
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
    /// Seconds the provider asked Ferry to wait: `Retry-After`, or Okta's
    /// `X-Rate-Limit-Reset` on a 429.
    pub retry_after: Option<u64>,
    /// The answer's headers.
    pub headers: reqwest::header::HeaderMap,
    /// The body.
    pub body: Vec<u8>,
    /// The URL called.
    pub url: String,
}

impl Answer {
    /// A header's value as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

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
    let headers = response.headers().clone();
    let retry_after = wait_asked(status, &headers);
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
        headers,
        body,
        url,
    })
}

/// The wait a provider asks for: `Retry-After` in seconds, or on a 429 Okta's
/// `X-Rate-Limit-Reset` (the epoch second the window reopens).
fn wait_asked(status: u16, headers: &reqwest::header::HeaderMap) -> Option<u64> {
    let number = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
    };
    if let Some(seconds) = number("retry-after") {
        return Some(seconds);
    }
    let reset = number("x-rate-limit-reset").filter(|_| status == 429)?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    Some(reset.saturating_sub(now))
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

/// A setting that cannot work.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// A URL is not a URL.
    #[error("`{field}` is not a valid URL")]
    BadUrl {
        /// The setting.
        field: &'static str,
    },
    /// Plain HTTP to a host that is not loopback.
    #[error("`{field}` must use https (plain http is allowed only to loopback addresses)")]
    Insecure {
        /// The setting.
        field: &'static str,
    },
    /// A setting the chosen options need is missing.
    #[error("`{field}` is required when {when}")]
    Missing {
        /// The setting.
        field: &'static str,
        /// Which options need it.
        when: &'static str,
    },
    /// A value the provider cannot work with.
    #[error("`{field}`: {reason}")]
    Invalid {
        /// The setting.
        field: &'static str,
        /// Why.
        reason: &'static str,
    },
    /// The HTTP client could not be set up.
    #[error("the HTTP client could not be set up")]
    Client(#[source] reqwest::Error),
}

/// Checks a URL setting: parseable, and `https` unless it points at loopback. Returns it
/// without a trailing slash, ready to have paths appended.
pub fn check_url(field: &'static str, value: &str) -> Result<String, SetupError> {
    let url = reqwest::Url::parse(value).map_err(|_| SetupError::BadUrl { field })?;
    if transport_allowed(&url) {
        Ok(value.trim_end_matches('/').to_owned())
    } else {
        Err(SetupError::Insecure { field })
    }
}

/// A path segment, percent-encoded (for user names and ids placed in a URL path).
pub fn segment(text: &str) -> String {
    const SAFE: &[u8] = b"-._~";
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || SAFE.contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
