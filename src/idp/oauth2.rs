//! The generic OAuth 2.0 password-grant connector (RFC 6749 §4.3): client authentication by
//! HTTP Basic or in the body, scopes, claims from an ID token verified against the provider's
//! JWKS or from userinfo, and refusals mapped by the IDP's answer table. The vendor
//! connectors that speak the same grant (Keycloak, Entra ID, PingFederate, Okta, Auth0) reuse
//! its request building and claim reading, with their own classification of refusals.

use std::time::Duration;

use async_trait::async_trait;
use base64::Engine as _;
use serde::Deserialize;
use serde_json::{Map, Value as Json};

use super::answers::{self, Rule};
pub use super::http::SetupError;
use super::http::{Answer, HttpError, check_url};
use super::id_token::{self, Expected};
use super::jwks::JwksCache;
use super::limits::{Caller, LimitSettings, Limits, Retry, presets};
use super::{Connector, LegacyError, Verified};
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
    /// Overrides of the client-side limits.
    #[serde(default)]
    pub limits: Option<LimitSettings>,
}

impl Settings {
    /// Settings for a vendor connector that speaks the grant: claims from an ID token.
    pub fn for_vendor(
        token_endpoint: String,
        client_id: String,
        issuer: String,
        jwks_uri: String,
    ) -> Self {
        Self {
            provider: None,
            token_endpoint,
            client_id,
            client_secret: None,
            client_auth: ClientAuth::None,
            scopes: vec!["openid".into()],
            claims: ClaimsSource::IdToken,
            issuer: Some(issuer),
            jwks_uri: Some(jwks_uri),
            userinfo_endpoint: None,
            subject_claim: default_subject_claim(),
            timeout_seconds: default_timeout(),
            clock_skew_seconds: default_skew(),
            answers: Vec::new(),
            limits: None,
        }
    }
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

/// A password-grant connector.
#[derive(Debug)]
pub struct PasswordGrant {
    settings: Settings,
    caller: Caller,
    jwks: Option<JwksCache>,
    clock: SharedClock,
}

/// The part of a token response Ferry reads.
#[derive(Deserialize)]
pub struct TokenResponse {
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
        Self::with_limits(settings, clock, presets::GENERIC)
    }

    /// A connector with a vendor's preset limits (overridden by the settings' `limits`).
    pub fn with_limits(
        settings: Settings,
        clock: SharedClock,
        preset: Limits,
    ) -> Result<Self, SetupError> {
        check_url("token_endpoint", &settings.token_endpoint)?;
        if settings.client_auth != ClientAuth::None && settings.client_secret.is_none() {
            return Err(SetupError::Missing {
                field: "client_secret",
                when: "client_auth is basic or post",
            });
        }
        let mut preset = preset;
        preset.timeout = Duration::from_secs(settings.timeout_seconds);
        preset.budget = preset.budget.max(preset.timeout);
        let caller = Caller::new(preset.with(settings.limits.as_ref())?)?;
        let client = caller.client().clone();
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
                Some(JwksCache::new(uri, client))
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
            caller,
            jwks,
            clock,
        })
    }

    /// The settings in force.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The caller, for a vendor's other requests.
    pub fn caller(&self) -> &Caller {
        &self.caller
    }

    /// Posts a grant to the token endpoint: `form` plus the scopes and client
    /// authentication. Never repeated.
    pub async fn grant(&self, form: &[(&str, &str)]) -> Result<Answer, LegacyError> {
        self.grant_with(form, None).await
    }

    /// [`PasswordGrant::grant`] with one more header (a vendor's end-user address header).
    pub async fn grant_with(
        &self,
        form: &[(&str, &str)],
        header: Option<(&'static str, String)>,
    ) -> Result<Answer, LegacyError> {
        let mut request = self.token_request(form);
        if let Some((name, value)) = header {
            request = request.header(name, value);
        }
        self.caller.send(request, Retry::Never).await
    }

    /// The password grant's form.
    pub fn password_form<'a>(username: &'a str, password: &'a Secret) -> Vec<(&'a str, &'a str)> {
        vec![
            ("grant_type", "password"),
            ("username", username),
            ("password", password.expose()),
        ]
    }

    /// The account a successful token response vouches for.
    pub async fn verified(&self, answer: &Answer) -> Result<Verified, LegacyError> {
        let tokens: TokenResponse = answer.json()?;
        let claims = self.claims(tokens, answer).await?;
        let subject = self.subject(&claims, answer)?;
        Ok(Verified { subject, claims })
    }

    fn token_request(&self, form: &[(&str, &str)]) -> reqwest::RequestBuilder {
        let mut form = form.to_vec();
        let s = &self.settings;
        let scope = s.scopes.join(" ");
        if !scope.is_empty() && !form.iter().any(|(k, _)| *k == "scope") {
            form.push(("scope", &scope));
        }
        let secret = s.client_secret.as_ref().map_or("", Secret::expose);
        let request = self
            .caller
            .client()
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
            .caller
            .client()
            .get(uri)
            .bearer_auth(access_token)
            .header("accept", "application/json");
        let answer = self.caller.send(request, Retry::Idempotent).await?;
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
impl Connector for PasswordGrant {
    async fn check_password(
        &self,
        username: &str,
        password: &Secret,
    ) -> Result<Verified, LegacyError> {
        let answer = self.grant(&Self::password_form(username, password)).await?;

        if answer.status != 200 {
            return Err(answers::classify(&self.settings.answers, &answer));
        }
        self.verified(&answer).await
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
