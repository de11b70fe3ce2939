//! The generic OAuth 2.0 password-grant connector (RFC 6749 §4.3): client authentication by
//! HTTP Basic or in the body, scopes, claims from an ID token verified against the provider's
//! JWKS or from userinfo, and refusals mapped by the IDP's answer table.

use std::time::Duration;

use async_trait::async_trait;
use base64::Engine as _;
use serde::Deserialize;
use serde_json::{Map, Value as Json};

use super::answers::{self, Rule};
use super::http::{self, Answer, HttpError};
use super::id_token::{self, Expected};
use super::jwks::JwksCache;
use super::{LegacyError, PasswordCheck, Verified};
use crate::clock::{SharedClock, SystemClock};
use crate::secret::Secret;

/// How the client authenticates at the token endpoint.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ClientAuth {
    /// `client_secret_basic`: an `Authorization: Basic` header.
    #[default]
    Basic,
    /// `client_secret_post`: `client_id` and `client_secret` in the body.
    Post,
    /// A public client: `client_id` in the body, no secret.
    None,
}

/// Where the user's claims come from after a successful grant.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ClaimsSource {
    /// The ID token in the token response, verified against the JWKS.
    #[default]
    IdToken,
    /// The userinfo endpoint, called with the access token.
    Userinfo,
}

/// The connector's settings in ferry.yaml.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// `oauth2`; checked against the journey's declaration.
    pub provider: Option<String>,
    /// The token endpoint.
    pub token_endpoint: String,
    /// The client id.
    pub client_id: String,
    /// The client secret, as a `${NAME}` reference.
    pub client_secret: Option<Secret>,
    /// How the client authenticates.
    #[serde(default)]
    pub client_auth: ClientAuth,
    /// Scopes requested.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Where claims come from.
    #[serde(default)]
    pub claims: ClaimsSource,
    /// The ID token's expected issuer.
    pub issuer: Option<String>,
    /// Where the provider's signing keys are.
    pub jwks_uri: Option<String>,
    /// The userinfo endpoint.
    pub userinfo_endpoint: Option<String>,
    /// The claim holding the user's stable id.
    #[serde(default = "default_subject_claim")]
    pub subject_claim: String,
    /// Total time allowed per call.
    #[serde(default = "default_timeout")]
    pub timeout_seconds: u64,
    /// Clock skew tolerated when checking token times.
    #[serde(default = "default_skew")]
    pub clock_skew_seconds: i64,
    /// Rules mapping this provider's refusals to outcomes, tried before the RFC 6749 defaults.
    #[serde(default)]
    pub answers: Vec<Rule>,
}

fn default_subject_claim() -> String {
    "sub".into()
}

fn default_timeout() -> u64 {
    10
}

fn default_skew() -> i64 {
    60
}

/// Settings that cannot work.
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
    /// The HTTP client could not be built.
    #[error("the HTTP client could not be set up")]
    Client(#[source] reqwest::Error),
}

/// A password-grant connector.
#[derive(Debug)]
pub struct PasswordGrant {
    settings: Settings,
    client: reqwest::Client,
    jwks: Option<JwksCache>,
    clock: SharedClock,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    id_token: Option<String>,
}

impl PasswordGrant {
    /// A connector on the system clock.
    pub fn new(settings: Settings) -> Result<Self, SetupError> {
        Self::with_clock(settings, std::sync::Arc::new(SystemClock))
    }

    /// A connector on a given clock.
    pub fn with_clock(settings: Settings, clock: SharedClock) -> Result<Self, SetupError> {
        check_url("token_endpoint", &settings.token_endpoint)?;
        if settings.client_auth != ClientAuth::None && settings.client_secret.is_none() {
            return Err(SetupError::Missing {
                field: "client_secret",
                when: "client_auth is basic or post",
            });
        }
        let client = http::client(Duration::from_secs(settings.timeout_seconds))
            .map_err(SetupError::Client)?;
        let jwks = match settings.claims {
            ClaimsSource::IdToken => {
                let when = "claims come from the ID token";
                let uri = settings.jwks_uri.as_deref().ok_or(SetupError::Missing {
                    field: "jwks_uri",
                    when,
                })?;
                settings.issuer.as_ref().ok_or(SetupError::Missing {
                    field: "issuer",
                    when,
                })?;
                check_url("jwks_uri", uri)?;
                Some(JwksCache::new(uri, client.clone()))
            }
            ClaimsSource::Userinfo => {
                let when = "claims come from userinfo";
                let uri = settings.userinfo_endpoint.as_deref();
                check_url(
                    "userinfo_endpoint",
                    uri.ok_or(SetupError::Missing {
                        field: "userinfo_endpoint",
                        when,
                    })?,
                )?;
                None
            }
        };
        Ok(Self {
            settings,
            client,
            jwks,
            clock,
        })
    }

    fn token_request(&self, username: &str, password: &Secret) -> reqwest::RequestBuilder {
        let s = &self.settings;
        let scope = s.scopes.join(" ");
        let mut form: Vec<(&str, &str)> = vec![
            ("grant_type", "password"),
            ("username", username),
            ("password", password.expose()),
        ];
        if !scope.is_empty() {
            form.push(("scope", &scope));
        }
        let secret = s.client_secret.as_ref().map_or("", Secret::expose);
        let request = self
            .client
            .post(&s.token_endpoint)
            .header("accept", "application/json");
        match s.client_auth {
            ClientAuth::Basic => request
                .header("authorization", basic_auth(&s.client_id, secret))
                .form(&form),
            ClientAuth::Post => {
                form.extend([
                    ("client_id", s.client_id.as_str()),
                    ("client_secret", secret),
                ]);
                request.form(&form)
            }
            ClientAuth::None => {
                form.push(("client_id", s.client_id.as_str()));
                request.form(&form)
            }
        }
    }

    async fn claims(
        &self,
        tokens: TokenResponse,
        answer: &Answer,
    ) -> Result<Map<String, Json>, LegacyError> {
        match (&self.jwks, self.settings.claims) {
            (Some(jwks), ClaimsSource::IdToken) => {
                let token = tokens
                    .id_token
                    .ok_or_else(|| answer.unreadable("no id_token in the token response"))?;
                let issuers: Vec<String> = self.settings.issuer.iter().cloned().collect();
                let expected = Expected {
                    issuers: &issuers,
                    client_id: &self.settings.client_id,
                    nonce: None,
                    now: self.clock.now_secs(),
                    skew: self.settings.clock_skew_seconds,
                };
                Ok(id_token::validate(&token, jwks, &expected).await?)
            }
            _ => self.userinfo(&tokens.access_token).await,
        }
    }

    async fn userinfo(&self, access_token: &str) -> Result<Map<String, Json>, LegacyError> {
        let uri = self
            .settings
            .userinfo_endpoint
            .as_deref()
            .unwrap_or_default();
        let request = self
            .client
            .get(uri)
            .bearer_auth(access_token)
            .header("accept", "application/json");
        let answer = http::send(request).await?;
        if answer.status != 200 {
            return Err(answer
                .unreadable(format!("userinfo answered {}", answer.status))
                .into());
        }
        Ok(answer.json()?)
    }

    fn subject(&self, claims: &Map<String, Json>, answer: &Answer) -> Result<String, HttpError> {
        match claims.get(&self.settings.subject_claim) {
            Some(Json::String(s)) if !s.is_empty() => Ok(s.clone()),
            Some(Json::Number(n)) => Ok(n.to_string()),
            _ => Err(answer.unreadable(format!("no `{}` claim", self.settings.subject_claim))),
        }
    }
}

#[async_trait]
impl PasswordCheck for PasswordGrant {
    async fn check_password(
        &self,
        username: &str,
        password: &Secret,
    ) -> Result<Verified, LegacyError> {
        let answer = http::send(self.token_request(username, password)).await?;

        if answer.status != 200 {
            return Err(answers::classify(&self.settings.answers, &answer));
        }
        let tokens: TokenResponse = answer.json()?;

        let claims = self.claims(tokens, &answer).await?;
        let subject = self.subject(&claims, &answer)?;
        Ok(Verified { subject, claims })
    }
}

/// `Authorization: Basic` with both parts form-encoded first, as RFC 6749 §2.3.1 asks.
fn basic_auth(id: &str, secret: &str) -> String {
    let encode = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let pair = format!("{}:{}", encode(id), encode(secret));
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    )
}

fn check_url(field: &'static str, value: &str) -> Result<(), SetupError> {
    let url = reqwest::Url::parse(value).map_err(|_| SetupError::BadUrl { field })?;
    if http::transport_allowed(&url) {
        Ok(())
    } else {
        Err(SetupError::Insecure { field })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(text: &str) -> Settings {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn plain_http_is_refused_except_to_loopback() {
        let remote = settings(
            r#"{"token_endpoint":"http://idp.example.com/token","client_id":"c","client_auth":"none","claims":"userinfo","userinfo_endpoint":"https://idp.example.com/me"}"#,
        );
        assert!(matches!(
            PasswordGrant::new(remote),
            Err(SetupError::Insecure {
                field: "token_endpoint"
            })
        ));
        let local = settings(
            r#"{"token_endpoint":"http://127.0.0.1:9/token","client_id":"c","client_auth":"none","claims":"userinfo","userinfo_endpoint":"http://localhost:9/me"}"#,
        );
        assert!(PasswordGrant::new(local).is_ok());
    }

    #[test]
    fn id_token_claims_need_an_issuer_and_keys() {
        let s = settings(
            r#"{"token_endpoint":"https://idp/token","client_id":"c","client_secret":"x"}"#,
        );
        assert!(matches!(
            PasswordGrant::new(s),
            Err(SetupError::Missing {
                field: "jwks_uri",
                ..
            })
        ));
    }

    #[test]
    fn basic_auth_form_encodes_both_parts() {
        let header = basic_auth("my client", "p@ss:word");
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(&header[6..])
            .unwrap();
        assert_eq!(
            String::from_utf8(decoded).unwrap(),
            "my+client:p%40ss%3Aword"
        );
    }
}
