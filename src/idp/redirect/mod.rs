//! The relying party behind the `legacy_redirect` step: discovery with caching, the
//! authorization request (code flow, PKCE S256, `state` and `nonce`), and the callback's
//! checks: RFC 9207 `iss`, the code exchange with the configured client authentication, the
//! ID token per OpenID Connect Core §3.1.3.7, userinfo's `sub`, and each preset's own rules.
//! Knows nothing of sessions: the runtime keeps [`PendingRedirect`] and finds it again.

pub mod apple;
pub mod exchange;
pub mod settings;
#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json};
use sha2::{Digest, Sha256};
use tokio::sync::Mutex;

use super::Verified;
use super::http::{self, HttpError, SetupError};
use super::id_token::IdTokenError;
use super::jwks::JwksCache;
use crate::clock::{SharedClock, SystemClock};
use crate::providers::Provider;
use crate::secret::Secret;
pub use settings::{ClientAuth, ResponseMode, Settings};
use settings::{Plan, Protocol};

/// How long a discovery document is trusted before it is fetched again.
const DISCOVERY_MAX_AGE: Duration = Duration::from_secs(3600);

/// The parts of a discovery document Ferry uses.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct Metadata {
    /// The issuer it describes.
    pub issuer: String,
    /// Where users are sent.
    pub authorization_endpoint: Option<String>,
    /// Where codes are exchanged.
    pub token_endpoint: Option<String>,
    /// The signing keys.
    pub jwks_uri: Option<String>,
    /// Userinfo.
    pub userinfo_endpoint: Option<String>,
    /// RFC 9207: the provider puts `iss` in every authorization response.
    #[serde(default)]
    pub authorization_response_iss_parameter_supported: bool,
}

/// What the session keeps while the user is away at the provider. Stored with the session
/// (the only place the nonce and verifier are written out), never logged or answered.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PendingRedirect {
    /// The IDP's name.
    pub idp: String,
    /// SHA-256 of `state`, hex; the state itself travels only in the URL.
    pub state_hash: String,
    /// The nonce sent.
    #[serde(with = "crate::secret::stored")]
    pub nonce: Secret,
    /// The PKCE verifier.
    #[serde(with = "crate::secret::stored")]
    pub verifier: Secret,
    /// The authorization URL the user is sent to.
    pub url: String,
}

/// A started redirect: where to send the user, and what to keep.
#[derive(Debug)]
pub struct Begun {
    /// The `state` value, to index the session by.
    pub state: Secret,
    /// What the session keeps.
    pub pending: PendingRedirect,
}

/// What the provider sent back to the callback.
#[derive(Clone, Debug, Default)]
pub struct CallbackParams {
    /// `state`.
    pub state: Option<Secret>,
    /// The authorization code.
    pub code: Option<Secret>,
    /// An error code instead of a code.
    pub error: Option<String>,
    /// RFC 9207 `iss`.
    pub iss: Option<String>,
    /// Apple's first-login `user` JSON (form_post).
    pub user: Option<String>,
}

impl CallbackParams {
    /// Reads the parameters from `application/x-www-form-urlencoded` text (a query string
    /// or a posted form). A parameter given twice is refused as unreadable.
    pub fn parse(text: &str) -> Option<Self> {
        let mut out = Self::default();
        let mut seen = std::collections::HashSet::new();
        for (key, value) in url::form_urlencoded::parse(text.as_bytes()) {
            if !seen.insert(key.clone().into_owned()) {
                return None;
            }
            let value = value.into_owned();
            match key.as_ref() {
                "state" => out.state = Some(Secret::new(value)),
                "code" => out.code = Some(Secret::new(value)),
                "error" => out.error = Some(value),
                "iss" => out.iss = Some(value),
                "user" => out.user = Some(value),
                _ => {}
            }
        }
        Some(out)
    }
}

/// Why a redirect did not end in a verified account. [`RedirectError::outcome`] says which
/// step outcome it leads to; [`RedirectError::cause`] names the check, for logs and answers.
#[derive(Debug, thiserror::Error)]
pub enum RedirectError {
    /// The provider said the user cancelled or was refused.
    #[error("the provider denied the sign-in (`{0}`)")]
    Denied(String),
    /// The provider answered the authorization with another error.
    #[error("the provider answered with an error (`{0}`)")]
    ProviderError(String),
    /// No code in the callback.
    #[error("the callback has no code")]
    MissingCode,
    /// RFC 9207: `iss` in the response is another issuer's, or missing where promised.
    #[error("the authorization response's issuer is wrong or missing")]
    ResponseIssuer,
    /// The discovery document describes another issuer.
    #[error("the discovery document names another issuer")]
    DiscoveryIssuer,
    /// The token endpoint refused the code.
    #[error("the token endpoint refused the code")]
    TokenRefused {
        /// The provider's `error`, if it gave one.
        code: Option<String>,
    },
    /// The token response has no ID token.
    #[error("the token response has no ID token")]
    NoIdToken,
    /// The ID token failed a check.
    #[error(transparent)]
    IdToken(#[from] IdTokenError),
    /// Userinfo is about another user than the ID token.
    #[error("userinfo is about another subject than the ID token")]
    UserinfoSubject,
    /// Google: the account is not in the required Workspace domain.
    #[error("the account is not in the required hosted domain")]
    HostedDomain,
    /// Entra ID: the user's tenant is not allowed.
    #[error("the user's tenant is not allowed")]
    TenantNotAllowed,
    /// Cognito: the token is not an ID token.
    #[error("the token is not an ID token (`token_use`)")]
    TokenUse,
    /// Meta: the access token is not valid for this app.
    #[error("the access token is not valid for this app")]
    ForeignToken,
    /// The provider's answer has no usable account key.
    #[error("the provider's answer has no account key")]
    NoSubject,
    /// The provider could not be reached or answered unreadably.
    #[error(transparent)]
    Http(#[from] HttpError),
    /// Ferry could not build its own request (a key that cannot sign).
    #[error("the client credentials cannot be used: {0}")]
    Credentials(String),
}

impl RedirectError {
    /// The step outcome: `denied`, `unavailable` or `error`.
    pub fn outcome(&self) -> &'static str {
        match self {
            RedirectError::Denied(_) => "denied",
            RedirectError::Http(_) | RedirectError::IdToken(IdTokenError::Jwks(_)) => "unavailable",
            _ => "error",
        }
    }

    /// A stable name for the check that failed.
    pub fn cause(&self) -> &'static str {
        match self {
            RedirectError::Denied(_) => "denied",
            RedirectError::ProviderError(_) => "provider_error",
            RedirectError::MissingCode => "missing_code",
            RedirectError::ResponseIssuer => "response_issuer",
            RedirectError::DiscoveryIssuer => "discovery_issuer",
            RedirectError::TokenRefused { .. } => "token_refused",
            RedirectError::NoIdToken => "no_id_token",
            RedirectError::IdToken(e) => id_token_cause(e),
            RedirectError::UserinfoSubject => "userinfo_subject_mismatch",
            RedirectError::HostedDomain => "hosted_domain",
            RedirectError::TenantNotAllowed => "tenant_not_allowed",
            RedirectError::TokenUse => "token_use",
            RedirectError::ForeignToken => "foreign_token",
            RedirectError::NoSubject => "missing_subject",
            RedirectError::Http(_) => "unreachable",
            RedirectError::Credentials(_) => "client_credentials",
        }
    }
}

fn id_token_cause(e: &IdTokenError) -> &'static str {
    match e {
        IdTokenError::Malformed(_) => "malformed_id_token",
        IdTokenError::Unsigned => "unsigned_id_token",
        IdTokenError::AlgorithmNotAllowed(_) => "algorithm_not_allowed",
        IdTokenError::UnknownKey(_) => "unknown_key",
        IdTokenError::AmbiguousKey => "ambiguous_key",
        IdTokenError::BadKey(_) => "unusable_key",
        IdTokenError::BadSignature => "bad_signature",
        IdTokenError::WrongIssuer => "wrong_issuer",
        IdTokenError::WrongAudience => "wrong_audience",
        IdTokenError::WrongAuthorizedParty => "wrong_authorized_party",
        IdTokenError::Expired => "expired",
        IdTokenError::BadIssuedAt => "bad_issued_at",
        IdTokenError::MissingSubject => "missing_subject",
        IdTokenError::NonceMismatch => "nonce_mismatch",
        IdTokenError::Jwks(_) => "jwks_unreachable",
    }
}

/// A discovery document with the key set it names.
#[derive(Debug)]
struct Discovered {
    meta: Metadata,
    jwks: Option<Arc<JwksCache>>,
    at: Instant,
}

/// The relying party for one IDP.
#[derive(Debug)]
pub struct RedirectClient {
    idp: String,
    settings: Settings,
    plan: Plan,
    http: reqwest::Client,
    clock: SharedClock,
    discovered: Mutex<Option<Arc<Discovered>>>,
    apple: Option<apple::ClientSecret>,
    assertion: Option<exchange::AssertionKey>,
}

impl RedirectClient {
    /// A client for IDP `idp` of `provider` from its `redirect` settings.
    pub fn new(idp: &str, provider: Provider, settings: Settings) -> Result<Self, SetupError> {
        let plan = settings.plan(provider)?;
        let http = http::client(Duration::from_secs(settings.timeout_seconds.max(1)))
            .map_err(SetupError::Client)?;
        let apple = match plan.apple {
            true => Some(apple::ClientSecret::new(&settings)?),
            false => None,
        };
        let assertion = match plan.client_auth {
            ClientAuth::PrivateKeyJwt if !plan.apple => {
                Some(exchange::AssertionKey::new(&settings)?)
            }
            _ => None,
        };
        Ok(Self {
            idp: idp.to_owned(),
            settings,
            plan,
            http,
            clock: Arc::new(SystemClock),
            discovered: Mutex::new(None),
            apple,
            assertion,
        })
    }

    /// The same client dated by another clock (tests, benchmarks).
    pub fn with_clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }

    /// The resolved plan (for `ferry providers` and tests).
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// Starts a redirect: fresh `state`, `nonce` and PKCE verifier, and the URL to send the
    /// user to.
    pub async fn begin(&self) -> Result<Begun, RedirectError> {
        let discovered = self.discovered().await?;
        let endpoint = self
            .plan
            .endpoints
            .authorization
            .clone()
            .or_else(|| discovered.meta.authorization_endpoint.clone())
            .ok_or_else(|| missing_endpoint("authorization_endpoint"))?;
        let (state, nonce, verifier) = (random(), random(), random());
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.expose().as_bytes()));
        let url = self.authorization_url(&endpoint, &state, &nonce, &challenge)?;
        let pending = PendingRedirect {
            idp: self.idp.clone(),
            state_hash: state_hash(state.expose()),
            nonce,
            verifier,
            url,
        };
        Ok(Begun { state, pending })
    }

    fn authorization_url(
        &self,
        endpoint: &str,
        state: &Secret,
        nonce: &Secret,
        challenge: &str,
    ) -> Result<String, RedirectError> {
        let mut url = reqwest::Url::parse(endpoint)
            .map_err(|_| missing_endpoint("a valid authorization_endpoint"))?;
        let meta = matches!(self.plan.protocol, Protocol::MetaGraph { .. });
        let scope = self.plan.scopes.join(if meta { "," } else { " " });
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("response_type", "code")
                .append_pair("client_id", &self.settings.client_id)
                .append_pair("redirect_uri", &self.settings.redirect_uri)
                .append_pair("scope", &scope)
                .append_pair("state", state.expose())
                .append_pair("code_challenge", challenge)
                .append_pair("code_challenge_method", "S256");
            if !meta {
                q.append_pair("nonce", nonce.expose());
            }
            if self.plan.response_mode == ResponseMode::FormPost {
                q.append_pair("response_mode", "form_post");
            }
            if let Some(hd) = &self.plan.hosted_domain {
                q.append_pair("hd", hd);
            }
            for (k, v) in &self.settings.extra_params {
                q.append_pair(k, v);
            }
        }
        Ok(url.into())
    }

    /// Ends a redirect with what came back to the callback: the checks, the code exchange,
    /// the ID token, userinfo; the verified account or why not.
    pub async fn finish(
        &self,
        pending: &PendingRedirect,
        callback: &CallbackParams,
    ) -> Result<Verified, RedirectError> {
        if let Some(error) = &callback.error {
            return Err(classify(error));
        }
        let discovered = self.discovered().await?;
        self.check_response_issuer(&discovered.meta, callback.iss.as_deref())?;
        let code = callback.code.as_ref().ok_or(RedirectError::MissingCode)?;
        let cx = exchange::Exchange {
            rp: self,
            discovered: &discovered,
            pending,
        };
        match &self.plan.protocol {
            Protocol::Oidc => cx.oidc(code, callback.user.as_deref()).await,
            Protocol::MetaGraph { graph, graph_root } => cx.meta(code, graph, graph_root).await,
        }
    }

    fn check_response_issuer(
        &self,
        meta: &Metadata,
        iss: Option<&str>,
    ) -> Result<(), RedirectError> {
        match iss {
            None if meta.authorization_response_iss_parameter_supported => {
                Err(RedirectError::ResponseIssuer)
            }
            None => Ok(()),
            Some(iss) if self.issuer_allowed(meta, iss) => Ok(()),
            Some(_) => Err(RedirectError::ResponseIssuer),
        }
    }

    fn issuer_allowed(&self, meta: &Metadata, iss: &str) -> bool {
        match &self.plan.issuer {
            settings::IssuerRule::Exact(list) => list.iter().any(|i| i == iss),
            settings::IssuerRule::EntraTemplate { .. } => {
                let (prefix, suffix) = meta
                    .issuer
                    .split_once("{tenantid}")
                    .unwrap_or((&meta.issuer, ""));
                iss == meta.issuer
                    || (iss.starts_with(prefix) && iss.ends_with(suffix) && !prefix.is_empty())
            }
        }
    }

    async fn discovered(&self) -> Result<Arc<Discovered>, RedirectError> {
        let mut slot = self.discovered.lock().await;
        if let Some(d) = slot.as_ref().filter(|d| d.at.elapsed() < DISCOVERY_MAX_AGE) {
            return Ok(d.clone());
        }
        let meta = match &self.plan.discovery_url {
            Some(url) => {
                let meta: Metadata = http::get_json(&self.http, url).await?;
                if let Some(expected) = &self.plan.discovery_issuer
                    && meta.issuer != *expected
                {
                    return Err(RedirectError::DiscoveryIssuer);
                }
                meta
            }
            None => Metadata::default(),
        };
        let jwks_uri = self.plan.endpoints.jwks.clone().or(meta.jwks_uri.clone());
        let jwks = match (jwks_uri, slot.as_ref().and_then(|d| d.jwks.clone())) {
            (Some(uri), Some(old)) if old.uri() == uri => Some(old),
            (Some(uri), _) => Some(Arc::new(JwksCache::new(uri, self.http.clone()))),
            (None, _) => None,
        };
        let fresh = Arc::new(Discovered {
            meta,
            jwks,
            at: Instant::now(),
        });
        *slot = Some(fresh.clone());
        Ok(fresh)
    }
}

/// The callback's `error` as an outcome: the user's or the policy's refusal is `denied`.
fn classify(error: &str) -> RedirectError {
    const DENIED: &[&str] = &[
        "access_denied",
        "user_cancelled_authorize",
        "login_required",
        "interaction_required",
        "consent_required",
        "account_selection_required",
    ];
    let code: String = error.chars().take(64).collect();
    if DENIED.contains(&error) {
        RedirectError::Denied(code)
    } else {
        RedirectError::ProviderError(code)
    }
}

fn missing_endpoint(what: &str) -> RedirectError {
    RedirectError::Http(HttpError::Unreadable {
        url: String::new(),
        status: 0,
        detail: format!("the provider's metadata has no {what}"),
    })
}

/// 256 random bits, base64url.
fn random() -> Secret {
    Secret::new(URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>()))
}

/// The index key of a `state`: hex SHA-256, so the store never holds the state itself.
pub fn state_hash(state: &str) -> String {
    Sha256::digest(state.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Claims as a map, with a helper to read strings.
pub(crate) fn claim_str<'a>(claims: &'a Map<String, Json>, name: &str) -> Option<&'a str> {
    claims.get(name).and_then(Json::as_str)
}
