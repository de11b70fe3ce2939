//! Keycloak: the direct access grant (OAuth password grant) on a realm's token endpoint,
//! with the `totp` parameter when the realm's direct-grant flow checks an OTP. Keycloak
//! answers a lockout exactly like a wrong password, and "Account is not fully set up" to a
//! right password whose account has pending required actions. Facts: `docs/idp-apis.md`
//! §2.5 and §4.

use std::sync::Arc;

use async_trait::async_trait;
use serde::Deserialize;

use super::answers;
use super::http::{Answer, SetupError, check_url};
use super::limits::{LimitSettings, presets};
use super::oauth2::{self, ClientAuth, PasswordGrant};
use super::{Connector, LegacyError, Refusal, TotpCheck, Verified};
use crate::clock::{SharedClock, SystemClock};
use crate::secret::Secret;

/// The connector's settings in ferry.yaml.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// `keycloak`; checked against the journey's declaration.
    pub provider: Option<String>,
    /// The server: `https://{host}` (Keycloak 17+) or `https://{host}/auth` (older).
    pub base_url: String,
    /// The realm.
    pub realm: String,
    /// The client id (with "Direct access grants" on).
    pub client_id: String,
    /// Its secret, as a `${NAME}` reference, for a confidential client.
    pub client_secret: Option<Secret>,
    /// Scopes.
    #[serde(default = "default_scopes")]
    pub scopes: Vec<String>,
    /// What "Account is not fully set up" becomes, the password being right: `not_confirmed`
    /// (default) or `password_expired`. Keycloak does not say which required action is
    /// pending.
    #[serde(default = "default_not_set_up")]
    pub not_fully_set_up: Refusal,
    /// Overrides of the client-side limits.
    pub limits: Option<LimitSettings>,
}

fn default_scopes() -> Vec<String> {
    vec!["openid".into(), "profile".into(), "email".into()]
}

fn default_not_set_up() -> Refusal {
    Refusal::NotConfirmed
}

/// A Keycloak realm's client.
#[derive(Debug)]
pub struct Keycloak {
    grant: PasswordGrant,
    not_fully_set_up: Refusal,
}

#[derive(Debug, Default, Deserialize)]
struct ErrorBody {
    error: Option<String>,
    error_description: Option<String>,
}

impl Keycloak {
    /// A connector on the system clock.
    pub fn new(settings: Settings) -> Result<Self, SetupError> {
        Self::with_clock(settings, Arc::new(SystemClock))
    }

    /// A connector on a given clock.
    pub fn with_clock(settings: Settings, clock: SharedClock) -> Result<Self, SetupError> {
        let base = check_url("base_url", &settings.base_url)?;
        if !matches!(
            settings.not_fully_set_up,
            Refusal::NotConfirmed | Refusal::PasswordExpired
        ) {
            return Err(SetupError::Invalid {
                field: "not_fully_set_up",
                reason: "must be not_confirmed or password_expired",
            });
        }
        let issuer = format!("{base}/realms/{}", settings.realm);
        let mut grant = oauth2::Settings::for_vendor(
            format!("{issuer}/protocol/openid-connect/token"),
            settings.client_id.clone(),
            issuer.clone(),
            format!("{issuer}/protocol/openid-connect/certs"),
        );
        grant.client_secret = settings.client_secret.clone();
        grant.client_auth = match grant.client_secret {
            Some(_) => ClientAuth::Post,
            None => ClientAuth::None,
        };
        grant.scopes = settings.scopes.clone();
        grant.limits = settings.limits.clone();
        Ok(Self {
            grant: PasswordGrant::with_limits(grant, clock, presets::KEYCLOAK)?,
            not_fully_set_up: settings.not_fully_set_up,
        })
    }

    async fn direct_grant(
        &self,
        username: &str,
        password: &Secret,
        totp: Option<&Secret>,
    ) -> Result<Verified, LegacyError> {
        let mut form = PasswordGrant::password_form(username, password);
        if let Some(code) = totp {
            form.push(("totp", code.expose()));
        }

        let answer = self.grant.grant(&form).await?;

        if answer.status != 200 {
            return Err(self.classify(&answer, totp.is_some()));
        }
        self.grant.verified(&answer).await
    }

    /// Every Keycloak refusal is read here. Unknown user (400) and wrong password (401) are
    /// one outcome; with a code sent, "Invalid user credentials" means the code (or the
    /// password: Keycloak does not tell which).
    fn classify(&self, answer: &Answer, with_code: bool) -> LegacyError {
        let body: ErrorBody = serde_json::from_slice(&answer.body).unwrap_or_default();
        let description = body
            .error_description
            .unwrap_or_default()
            .to_ascii_lowercase();
        let refusal = match body.error.as_deref() {
            Some("invalid_grant") if description.contains("not fully set up") => {
                return LegacyError::after_password(self.not_fully_set_up, "not_fully_set_up");
            }
            Some("invalid_grant") if description.contains("disabled") => Refusal::Locked,
            Some("invalid_grant") if with_code => Refusal::InvalidCode,
            Some("invalid_grant") => Refusal::InvalidCredentials,
            code => match answers::default_refusal(answer.status, code) {
                Some(refusal) => refusal,
                None => return answers::classify(&[], answer),
            },
        };
        let code = body.error.unwrap_or_else(|| answer.status.to_string());
        LegacyError::refused_with(refusal, Some(code)).retry_after(answer.retry_after)
    }
}

#[async_trait]
impl Connector for Keycloak {
    async fn check_password(
        &self,
        username: &str,
        password: &Secret,
    ) -> Result<Verified, LegacyError> {
        self.direct_grant(username, password, None).await
    }

    async fn check_totp(&self, check: TotpCheck<'_>) -> Result<Verified, LegacyError> {
        let Some(password) = check.password else {
            return Err(LegacyError::NotOffered(
                "authenticator codes without the password (Keycloak checks both at once)",
            ));
        };
        self.direct_grant(check.username, password, Some(check.code))
            .await
    }
}
