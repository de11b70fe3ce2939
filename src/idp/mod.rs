//! Connectors to legacy identity providers: one per provider kind, each classifying the
//! provider's answers in one place into the shared outcome vocabulary. Knows nothing of
//! sessions or HTTP handlers.

pub mod answers;
pub mod http;
pub mod id_token;
pub mod jwks;
pub mod oauth2;
pub mod user_file;

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
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

/// The outcomes of a legacy check other than success, as journeys name them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Deserialize)]
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
    /// Ferry is being throttled.
    RateLimited,
    /// The provider cannot answer now, or is misconfigured.
    Unavailable,
}

impl Refusal {
    /// The outcome's name in journeys.
    pub fn outcome(self) -> &'static str {
        match self {
            Refusal::InvalidCredentials => "invalid_credentials",
            Refusal::MfaRequired => "mfa_required",
            Refusal::Locked => "locked",
            Refusal::PasswordExpired => "password_expired",
            Refusal::NotConfirmed => "not_confirmed",
            Refusal::RateLimited => "rate_limited",
            Refusal::Unavailable => "unavailable",
        }
    }
}

/// Why a legacy check did not succeed: the provider said no, could not be reached, or
/// answered something Ferry could not read. The last two are always `unavailable`.
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
    },
    /// The call failed or its answer could not be read.
    #[error(transparent)]
    Http(#[from] http::HttpError),
    /// A token or document from the provider failed validation.
    #[error("the provider's ID token was refused")]
    IdToken(#[from] id_token::IdTokenError),
    /// Ferry's own settings for this provider are unusable.
    #[error("the connector is misconfigured: {0}")]
    Misconfigured(String),
}

impl LegacyError {
    /// The journey outcome this error leads to. Never success.
    pub fn refusal(&self) -> Refusal {
        match self {
            LegacyError::Refused { refusal, .. } => *refusal,
            _ => Refusal::Unavailable,
        }
    }

    /// A refusal without provider detail.
    pub fn refused(refusal: Refusal) -> Self {
        LegacyError::Refused {
            refusal,
            provider_code: None,
            retry_after: None,
        }
    }
}

/// Checks a username and password with a legacy provider.
#[async_trait]
pub trait PasswordCheck: Send + Sync + std::fmt::Debug {
    /// Verifies the password; the provider's answers are mapped in one place per connector.
    async fn check_password(
        &self,
        username: &str,
        password: &Secret,
    ) -> Result<Verified, LegacyError>;
}

/// The connectors a deployment has, by IDP name, and why the others could not be built.
#[derive(Debug, Default)]
pub struct Connectors {
    /// Ready connectors.
    pub ready: BTreeMap<String, Arc<dyn PasswordCheck>>,
    /// IDP names that could not be set up, with the reason.
    pub broken: BTreeMap<String, String>,
}

/// Builds the connector for one IDP from its settings in ferry.yaml.
pub async fn build(
    config: &Config,
    env: &dyn Env,
    name: &str,
    provider: Provider,
) -> Result<Arc<dyn PasswordCheck>, String> {
    if config.idp(name).is_none() {
        return Err(format!(
            "no settings for IDP `{name}` under `idps` in the configuration"
        ));
    }
    check_declared_provider(config, name, provider)?;
    match provider {
        Provider::UserFile => {
            let settings = config.idp_settings(name, env).map_err(|e| e.to_string())?;
            let connector = user_file::UserFile::load(config, settings)
                .await
                .map_err(|e| e.to_string())?;
            Ok(Arc::new(connector))
        }
        Provider::OAuth2 => {
            let settings = config.idp_settings(name, env).map_err(|e| e.to_string())?;
            Ok(Arc::new(
                oauth2::PasswordGrant::new(settings).map_err(|e| e.to_string())?,
            ))
        }
        other => Err(format!(
            "Ferry has no password connector for `{}` yet; use provider `oauth2` if it offers the password grant",
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
