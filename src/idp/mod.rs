//! Connectors to legacy identity providers: one per provider kind, each building its
//! requests, calling, and classifying the provider's answers in one place into the shared
//! outcome vocabulary. Knows nothing of sessions or HTTP handlers.

pub mod answers;
pub mod auth0;
pub mod cognito;
pub mod entra;
pub mod keycloak;
pub mod okta;
pub mod onelogin;
pub mod pingfederate;
pub mod pingone;
pub mod service_token;

pub mod http;
pub mod id_token;
pub mod jwks;

pub mod limits;
pub mod oauth2;
pub mod redirect;

pub mod user_file;

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json};

use crate::config::{Config, Env};
use crate::providers::Provider;
use crate::secret::Secret;

/// A legacy account the provider vouched for.
#[derive(Clone, Debug, PartialEq)]
pub struct Verified {
    /// The account's stable id at the provider.
    pub subject: String,
    /// What the provider said about the user.
    pub claims: Map<String, Json>,
}

impl Verified {
    /// A verified account from its claims: the subject is read from `claim`.
    pub fn from_claims(claims: Map<String, Json>, claim: &str) -> Option<Self> {
        let subject = match claims.get(claim) {
            Some(Json::String(s)) if !s.is_empty() => s.clone(),
            Some(Json::Number(n)) => n.to_string(),
            _ => return None,
        };
        Some(Self { subject, claims })
    }
}

/// The outcomes of a legacy check other than success, as journeys name them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Refusal {
    /// Wrong password, unknown user, or a disabled user the provider does not tell apart.
    InvalidCredentials,
    /// The password was accepted but a second factor is required.
    MfaRequired,
    /// The account is locked.
    Locked,
    /// The password is right but expired or must be changed.
    PasswordExpired,
    /// The account exists but was never confirmed.
    NotConfirmed,
    /// Ferry is being throttled, by the provider or by its own limiter.
    RateLimited,
    /// A one-time or authenticator code is wrong.
    InvalidCode,
    /// The code or the provider's transaction expired.
    Expired,
    /// The provider's budget of code attempts is used up.
    TooManyAttempts,
    /// The user has no factor of the kind asked for (unknown users look the same).
    NotEnrolled,
    /// The provider cannot answer now, or is misconfigured.
    Unavailable,
}

impl Refusal {
    /// Every refusal, for tables and tests.
    pub const ALL: &'static [Refusal] = &[
        Refusal::InvalidCredentials,
        Refusal::MfaRequired,
        Refusal::Locked,
        Refusal::PasswordExpired,
        Refusal::NotConfirmed,
        Refusal::RateLimited,
        Refusal::InvalidCode,
        Refusal::Expired,
        Refusal::TooManyAttempts,
        Refusal::NotEnrolled,
        Refusal::Unavailable,
    ];

    /// The outcome's name in journeys.
    pub fn outcome(self) -> &'static str {
        match self {
            Refusal::InvalidCredentials => "invalid_credentials",
            Refusal::MfaRequired => "mfa_required",
            Refusal::Locked => "locked",
            Refusal::PasswordExpired => "password_expired",
            Refusal::NotConfirmed => "not_confirmed",
            Refusal::RateLimited => "rate_limited",
            Refusal::InvalidCode => "invalid_code",
            Refusal::Expired => "expired",
            Refusal::TooManyAttempts => "too_many_attempts",
            Refusal::NotEnrolled => "not_enrolled",
            Refusal::Unavailable => "unavailable",
        }
    }
}

/// A kind of second factor or one-time-code channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FactorKind {
    /// A code sent by email.
    Email,
    /// A code sent by SMS.
    Sms,
    /// An authenticator-app code (RFC 6238).
    Totp,
    /// Anything else (push, voice, WebAuthn…), which Ferry cannot drive.
    Other,
}

impl FactorKind {
    /// The kind's name.
    pub fn name(self) -> &'static str {
        match self {
            FactorKind::Email => "email",
            FactorKind::Sms => "sms",
            FactorKind::Totp => "totp",
            FactorKind::Other => "other",
        }
    }
}

/// One factor the provider says the user has.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Factor {
    /// What it is.
    pub kind: FactorKind,
    /// The provider's id for it, when the follow-up call needs one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// A masked destination (`+*******0100`, `a***@example.com`), safe to show the user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

/// Where a multi-step legacy check stands: after a password that needs a second factor, or
/// after a code was sent. The runtime keeps it in the session between requests; its
/// `secrets` (the provider's continuation handles) never reach a log or an answer.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Continuation {
    /// The username the provider knows the user by for the next call.
    pub username: String,
    /// Whether the provider already accepted the user's password in this transaction.
    pub password_verified: bool,
    /// The factors offered.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub factors: Vec<Factor>,
    /// Non-secret ids the next call needs (user id, factor id, challenge name…).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub ids: BTreeMap<String, String>,
    /// The provider's handles (`stateToken`, `mfa_token`, `Session`…): secrets.
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        with = "crate::secret::stored_map"
    )]
    pub secrets: BTreeMap<String, Secret>,
    /// Where a code was sent, masked, to show the user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

impl Continuation {
    /// A continuation for `username`.
    pub fn new(username: impl Into<String>, password_verified: bool) -> Self {
        Self {
            username: username.into(),
            password_verified,
            ..Self::default()
        }
    }

    /// A non-secret id, by name.
    pub fn id(&self, name: &str) -> Option<&str> {
        self.ids.get(name).map(String::as_str)
    }

    /// A secret handle, by name.
    pub fn secret(&self, name: &str) -> Option<&Secret> {
        self.secrets.get(name)
    }

    /// Sets a non-secret id.
    pub fn with_id(mut self, name: &str, value: impl Into<String>) -> Self {
        self.ids.insert(name.to_owned(), value.into());
        self
    }

    /// Sets a secret handle.
    pub fn with_secret(mut self, name: &str, value: impl Into<String>) -> Self {
        self.secrets.insert(name.to_owned(), Secret::new(value));
        self
    }

    /// The first offered factor of a kind.
    pub fn factor(&self, kind: FactorKind) -> Option<&Factor> {
        self.factors.iter().find(|f| f.kind == kind)
    }
}

/// Why a legacy check did not succeed: the provider said no (with its code), could not be
/// reached, or answered something Ferry could not read. Only the first carries an outcome
/// other than `unavailable`.
#[derive(Debug, thiserror::Error)]
pub enum LegacyError {
    /// The provider answered and refused.
    #[error("the provider refused: {}", refusal.outcome())]
    Refused {
        /// The outcome.
        refusal: Refusal,
        /// The provider's own error code, for logs.
        provider_code: Option<String>,
        /// Seconds the provider asked Ferry to wait, if it said.
        retry_after: Option<u64>,
        /// Whether the provider had accepted the password before refusing.
        password_verified: bool,
        /// How to go on, when the refusal is `mfa_required` and the provider allows it.
        continuation: Option<Box<Continuation>>,
    },
    /// The call failed or its answer could not be read.
    #[error(transparent)]
    Http(#[from] http::HttpError),
    /// A token or document from the provider failed validation.
    #[error("the provider's ID token was refused")]
    IdToken(#[from] id_token::IdTokenError),
    /// Ferry's own limiter refused to call the provider now.
    #[error("the provider's rate limit would be exceeded")]
    Throttled {
        /// Seconds until a call may be made, if known.
        retry_after: Option<u64>,
    },
    /// The connector does not do what was asked.
    #[error("the connector does not offer {0}")]
    NotOffered(&'static str),
    /// Ferry's own settings for this provider are unusable.
    #[error("the connector is misconfigured: {0}")]
    Misconfigured(String),
}

impl LegacyError {
    /// The journey outcome this error leads to. Never success.
    pub fn refusal(&self) -> Refusal {
        match self {
            LegacyError::Refused { refusal, .. } => *refusal,
            LegacyError::Throttled { .. } => Refusal::RateLimited,
            _ => Refusal::Unavailable,
        }
    }

    /// A refusal without provider detail.
    pub fn refused(refusal: Refusal) -> Self {
        Self::refused_with(refusal, None::<String>)
    }

    /// A refusal with the provider's code.
    pub fn refused_with(refusal: Refusal, code: Option<impl Into<String>>) -> Self {
        LegacyError::Refused {
            refusal,
            provider_code: code.map(Into::into),
            retry_after: None,
            password_verified: false,
            continuation: None,
        }
    }

    /// A refusal that came after the provider accepted the password.
    pub fn after_password(refusal: Refusal, code: impl Into<String>) -> Self {
        LegacyError::Refused {
            refusal,
            provider_code: Some(code.into()),
            retry_after: None,
            password_verified: true,
            continuation: None,
        }
    }

    /// `mfa_required`, with how to go on.
    pub fn mfa_required(code: impl Into<String>, continuation: Continuation) -> Self {
        LegacyError::Refused {
            refusal: Refusal::MfaRequired,
            provider_code: Some(code.into()),
            retry_after: None,
            password_verified: continuation.password_verified,
            continuation: Some(Box::new(continuation)),
        }
    }

    /// Sets the wait the provider asked for.
    pub fn retry_after(mut self, seconds: Option<u64>) -> Self {
        if let LegacyError::Refused { retry_after, .. } = &mut self {
            *retry_after = seconds;
        }
        self
    }

    /// The provider's error code, if it gave one.
    pub fn provider_code(&self) -> Option<&str> {
        match self {
            LegacyError::Refused { provider_code, .. } => provider_code.as_deref(),
            _ => None,
        }
    }

    /// Whether the provider accepted the password before refusing.
    pub fn password_verified(&self) -> bool {
        matches!(
            self,
            LegacyError::Refused {
                password_verified: true,
                ..
            }
        )
    }

    /// Takes the continuation out of an `mfa_required` refusal.
    pub fn take_continuation(&mut self) -> Option<Continuation> {
        match self {
            LegacyError::Refused { continuation, .. } => continuation.take().map(|c| *c),
            _ => None,
        }
    }
}

/// A code to check with an authenticator app: for the user, optionally with the password
/// (Keycloak checks both in one request) or after a password step's continuation.
#[derive(Clone, Copy, Debug)]
pub struct TotpCheck<'a> {
    /// The username.
    pub username: &'a str,
    /// The password, when the provider checks both at once.
    pub password: Option<&'a Secret>,
    /// The continuation of a password step that answered `mfa_required`.
    pub after: Option<&'a Continuation>,
    /// The code.
    pub code: &'a Secret,
}

/// One legacy provider: checks passwords and, where the provider's API allows it, sends and
/// checks one-time codes and authenticator codes. The provider's answers are mapped in one
/// place per connector. Methods a connector does not override refuse with
/// [`LegacyError::NotOffered`], which journeys see as `unavailable`; the compiler keeps
/// journeys from asking for them (see [`crate::providers`]).
#[async_trait]
pub trait Connector: Send + Sync + std::fmt::Debug {
    /// Verifies a password.
    async fn check_password(
        &self,
        username: &str,
        password: &Secret,
    ) -> Result<Verified, LegacyError>;

    /// Verifies a password on behalf of an end user at `client`: connectors whose provider
    /// counts failures per end-user address (and trusts Ferry to say it, when configured)
    /// pass the address on; the others ignore it.
    async fn check_password_for(
        &self,
        username: &str,
        password: &Secret,
        client: Option<std::net::IpAddr>,
    ) -> Result<Verified, LegacyError> {
        let _ = client;
        self.check_password(username, password).await
    }

    /// Has the provider send a code by email or SMS, to the user or within a password
    /// step's continuation. Returns what the check of the code needs.
    async fn send_code(
        &self,
        channel: FactorKind,
        username: &str,
        after: Option<&Continuation>,
    ) -> Result<Continuation, LegacyError> {
        let _ = (channel, username, after);
        Err(LegacyError::NotOffered("email or SMS codes"))
    }

    /// Checks a code sent by [`Connector::send_code`].
    async fn verify_code(
        &self,
        pending: &Continuation,
        code: &Secret,
    ) -> Result<Verified, LegacyError> {
        let _ = (pending, code);
        Err(LegacyError::NotOffered("email or SMS codes"))
    }

    /// Checks an authenticator-app code.
    async fn check_totp(&self, check: TotpCheck<'_>) -> Result<Verified, LegacyError> {
        let _ = check;
        Err(LegacyError::NotOffered("authenticator codes"))
    }
}

/// The connectors a deployment has, by IDP name, and why the others could not be built.
#[derive(Debug, Default)]
pub struct Connectors {
    /// Ready connectors.
    pub ready: BTreeMap<String, Arc<dyn Connector>>,
    /// IDP names that could not be set up, with the reason.
    pub broken: BTreeMap<String, String>,
}

/// Builds the connector for one IDP from its settings in ferry.yaml.
pub async fn build(
    config: &Config,
    env: &dyn Env,
    name: &str,
    provider: Provider,
) -> Result<Arc<dyn Connector>, String> {
    if config.idp(name).is_none() {
        return Err(format!(
            "no settings for IDP `{name}` under `idps` in the configuration"
        ));
    }
    check_declared_provider(config, name, provider)?;
    let text = |e: &dyn std::fmt::Display| e.to_string();
    macro_rules! vendor {
        ($connector:ty) => {{
            let settings = config.idp_settings(name, env).map_err(|e| text(&e))?;
            let connector = <$connector>::new(settings).map_err(|e| text(&e))?;
            Ok(Arc::new(connector) as Arc<dyn Connector>)
        }};
    }
    match provider {
        Provider::UserFile => {
            let settings = config.idp_settings(name, env).map_err(|e| text(&e))?;
            let connector = user_file::UserFile::load(config, settings)
                .await
                .map_err(|e| text(&e))?;
            Ok(Arc::new(connector))
        }
        Provider::OAuth2 => {
            let settings = config.idp_settings(name, env).map_err(|e| text(&e))?;
            Ok(Arc::new(
                oauth2::PasswordGrant::new(settings).map_err(|e| text(&e))?,
            ))
        }
        Provider::Cognito => vendor!(cognito::Cognito),
        Provider::Okta => vendor!(okta::Okta),
        Provider::Auth0 => vendor!(auth0::Auth0),
        Provider::Entra => vendor!(entra::Entra),
        Provider::Keycloak => vendor!(keycloak::Keycloak),
        Provider::OneLogin => vendor!(onelogin::OneLogin),
        Provider::PingOne => vendor!(pingone::PingOne),
        Provider::PingFederate => vendor!(pingfederate::PingFederate),
        other => Err(format!(
            "`{}` offers only OIDC redirects, which Ferry has no connector for yet",
            other.name()
        )),
    }
}

fn check_declared_provider(config: &Config, name: &str, provider: Provider) -> Result<(), String> {
    let declared = config
        .idp(name)
        .and_then(|n| n.get("provider"))
        .and_then(|n| n.as_str());
    match declared {
        Some(p) if p != provider.name() => Err(format!(
            "IDP `{name}` is `{p}` in the configuration but `{}` in the journey",
            provider.name()
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continuation_secrets_stay_out_of_debug_but_survive_the_session_store() {
        let c = Continuation::new("alice", true)
            .with_id("factor", "f1")
            .with_secret("state_token", "st-very-secret");
        assert!(!format!("{c:?}").contains("st-very-secret"));
        let stored = serde_json::to_string(&c).unwrap();
        let back: Continuation = serde_json::from_str(&stored).unwrap();
        assert_eq!(back, c);
        assert_eq!(
            back.secret("state_token").map(Secret::expose),
            Some("st-very-secret")
        );
    }

    #[test]
    fn only_refusals_carry_an_outcome_other_than_unavailable() {
        assert_eq!(
            LegacyError::refused(Refusal::Locked).refusal(),
            Refusal::Locked
        );
        assert_eq!(
            LegacyError::Throttled { retry_after: None }.refusal(),
            Refusal::RateLimited
        );
        assert_eq!(LegacyError::NotOffered("x").refusal(), Refusal::Unavailable);
        assert_eq!(
            LegacyError::Misconfigured("x".into()).refusal(),
            Refusal::Unavailable
        );
    }
}
