//! PingFederate: the OAuth password grant on `/as/token.oauth2`, through a Password
//! Credential Validator. Its OTP options live in browser adapters with no headless API
//! Ferry could use, so this connector checks passwords only. Facts: `docs/idp-apis.md`
//! §2.7.

use std::sync::Arc;

use async_trait::async_trait;
use serde::Deserialize;

use super::answers::{self, Rule};
use super::http::{SetupError, check_url};
use super::limits::{LimitSettings, presets};
use super::oauth2::{self, ClientAuth, PasswordGrant};
use super::{Connector, LegacyError, Verified};
use crate::clock::{SharedClock, SystemClock};
use crate::secret::Secret;

/// The connector's settings in ferry.yaml.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// `pingfederate`; checked against the journey's declaration.
    pub provider: Option<String>,
    /// The server: `https://{pfHost}:{port}`.
    pub base_url: String,
    /// The OAuth client id.
    pub client_id: String,
    /// Its secret, as a `${NAME}` reference.
    pub client_secret: Option<Secret>,
    /// How the client authenticates (`basic`, `post`, `none`); default `basic` with a secret.
    pub client_auth: Option<ClientAuth>,
    /// Scopes.
    #[serde(default = "default_scopes")]
    pub scopes: Vec<String>,
    /// The ID token issuer; default the base URL.
    pub issuer: Option<String>,
    /// The keys; default `{base_url}/pf/JWKS`.
    pub jwks_uri: Option<String>,
    /// Rules for refusals the defaults get wrong (how LDAP lockout or expiry surfaces
    /// through a validator is not documented).
    #[serde(default)]
    pub answers: Vec<Rule>,
    /// Overrides of the client-side limits.
    pub limits: Option<LimitSettings>,
}

fn default_scopes() -> Vec<String> {
    vec!["openid".into(), "profile".into(), "email".into()]
}

/// A PingFederate OAuth client.
#[derive(Debug)]
pub struct PingFederate {
    grant: PasswordGrant,
    answers: Vec<Rule>,
}

impl PingFederate {
    /// A connector on the system clock.
    pub fn new(settings: Settings) -> Result<Self, SetupError> {
        Self::with_clock(settings, Arc::new(SystemClock))
    }

    /// A connector on a given clock.
    pub fn with_clock(settings: Settings, clock: SharedClock) -> Result<Self, SetupError> {
        let base = check_url("base_url", &settings.base_url)?;
        let mut grant = oauth2::Settings::for_vendor(
            format!("{base}/as/token.oauth2"),
            settings.client_id.clone(),
            settings.issuer.clone().unwrap_or_else(|| base.clone()),
            settings
                .jwks_uri
                .clone()
                .unwrap_or_else(|| format!("{base}/pf/JWKS")),
        );
        grant.client_auth = settings
            .client_auth
            .unwrap_or(match settings.client_secret {
                Some(_) => ClientAuth::Basic,
                None => ClientAuth::None,
            });
        grant.client_secret = settings.client_secret;
        grant.scopes = settings.scopes;
        grant.limits = settings.limits;
        Ok(Self {
            grant: PasswordGrant::with_limits(grant, clock, presets::PINGFEDERATE)?,
            answers: settings.answers,
        })
    }
}

#[async_trait]
impl Connector for PingFederate {
    async fn check_password(
        &self,
        username: &str,
        password: &Secret,
    ) -> Result<Verified, LegacyError> {
        let answer = self
            .grant
            .grant(&PasswordGrant::password_form(username, password))
            .await?;

        if answer.status != 200 {
            return Err(answers::classify(&self.answers, &answer));
        }
        self.grant.verified(&answer).await
    }
}
