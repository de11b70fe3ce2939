//! Auth0: the password-realm grant on `/oauth/token`; after a password that needs MFA, the
//! MFA API (`mfa_token`, OTP and out-of-band challenges); and passwordless email or SMS
//! codes (`/passwordless/start` and the passwordless OTP grant). A passwordless code proves
//! control of the address, not that a legacy database account exists: the verified claims
//! say so (`auth0_connection`), and journeys link the two by the verified email or phone.
//! Facts: `docs/idp-apis.md` §2.2 and §4.

use std::sync::Arc;

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::{Value as Json, json};

use super::http::{Answer, SetupError, check_url};
use super::limits::{LimitSettings, Retry, presets};
use super::oauth2::{self, ClientAuth, PasswordGrant};
use super::{
    Connector, Continuation, Factor, FactorKind, LegacyError, Refusal, TotpCheck, Verified,
};
use crate::clock::{SharedClock, SystemClock};
use crate::secret::Secret;

const PASSWORD_REALM: &str = "http://auth0.com/oauth/grant-type/password-realm";
const MFA_OTP: &str = "http://auth0.com/oauth/grant-type/mfa-otp";
const MFA_OOB: &str = "http://auth0.com/oauth/grant-type/mfa-oob";
const PASSWORDLESS_OTP: &str = "http://auth0.com/oauth/grant-type/passwordless/otp";

/// The connector's settings in ferry.yaml.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// `auth0`; checked against the journey's declaration.
    pub provider: Option<String>,
    /// The tenant: `https://{tenant}.{region}.auth0.com` or a custom domain.
    pub base_url: String,
    /// The application's client id.
    pub client_id: String,
    /// Its secret, as a `${NAME}` reference (regular web applications).
    pub client_secret: Option<Secret>,
    /// The database connection passwords are checked in (`realm`).
    pub realm: String,
    /// An API audience, if tokens should be for one.
    pub audience: Option<String>,
    /// Scopes.
    #[serde(default = "default_scopes")]
    pub scopes: Vec<String>,
    /// The passwordless email connection.
    #[serde(default = "default_email")]
    pub email_connection: String,
    /// The passwordless SMS connection.
    #[serde(default = "default_sms")]
    pub sms_connection: String,
    /// The ID token issuer; default `{base_url}/` (Auth0's issuer ends with a slash).
    pub issuer: Option<String>,
    /// Send the end user's address as `auth0-forwarded-for`, so that brute-force protection
    /// counts per user rather than blocking Ferry's own address. Auth0 honours it only for a
    /// confidential application with "Trust Token Endpoint IP Header" on.
    #[serde(default)]
    pub forward_client_ip: bool,
    /// Overrides of the client-side limits.
    pub limits: Option<LimitSettings>,
}

fn default_scopes() -> Vec<String> {
    vec!["openid".into(), "profile".into(), "email".into()]
}

fn default_email() -> String {
    "email".into()
}

fn default_sms() -> String {
    "sms".into()
}

/// An Auth0 tenant.
#[derive(Debug)]
pub struct Auth0 {
    base: String,
    settings: Settings,
    grant: PasswordGrant,
}

#[derive(Debug, Default, Deserialize)]
struct ErrorBody {
    error: Option<String>,
    error_description: Option<String>,
    mfa_token: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Authenticator {
    id: String,
    authenticator_type: String,
    oob_channel: Option<String>,
    #[serde(default = "yes")]
    active: bool,
    name: Option<String>,
}

fn yes() -> bool {
    true
}

/// Which exchange an answer came from: the same `invalid_grant` means a wrong password on
/// the first and a wrong code on the others.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Exchange {
    Password,
    Code,
    Start,
}

impl Auth0 {
    /// A connector on the system clock.
    pub fn new(settings: Settings) -> Result<Self, SetupError> {
        Self::with_clock(settings, Arc::new(SystemClock))
    }

    /// A connector on a given clock.
    pub fn with_clock(settings: Settings, clock: SharedClock) -> Result<Self, SetupError> {
        let base = check_url("base_url", &settings.base_url)?;
        let issuer = settings
            .issuer
            .clone()
            .unwrap_or_else(|| format!("{base}/"));
        let mut grant = oauth2::Settings::for_vendor(
            format!("{base}/oauth/token"),
            settings.client_id.clone(),
            issuer,
            format!("{base}/.well-known/jwks.json"),
        );
        grant.client_secret = settings.client_secret.clone();
        grant.client_auth = match grant.client_secret {
            Some(_) => ClientAuth::Post,
            None => ClientAuth::None,
        };
        grant.scopes = settings.scopes.clone();
        grant.limits = settings.limits.clone();
        let grant = PasswordGrant::with_limits(grant, clock, presets::AUTH0)?;
        Ok(Self {
            base,
            settings,
            grant,
        })
    }

    // --- requests -------------------------------------------------------------------------

    fn client_json(&self, mut body: Json) -> Json {
        body["client_id"] = json!(self.settings.client_id);
        if let Some(secret) = &self.settings.client_secret {
            body["client_secret"] = json!(secret.expose());
        }
        body
    }

    async fn token(
        &self,
        form: &[(&str, &str)],
        exchange: Exchange,
    ) -> Result<Verified, LegacyError> {
        self.token_for(form, exchange, None).await
    }

    async fn token_for(
        &self,
        form: &[(&str, &str)],
        exchange: Exchange,
        client: Option<std::net::IpAddr>,
    ) -> Result<Verified, LegacyError> {
        let mut form = form.to_vec();
        if let Some(audience) = &self.settings.audience {
            form.push(("audience", audience));
        }
        let header = client
            .filter(|_| self.settings.forward_client_ip)
            .map(|ip| ("auth0-forwarded-for", ip.to_string()));
        let answer = self.grant.grant_with(&form, header).await?;
        if answer.status != 200 {
            return Err(classify(&answer, exchange));
        }
        self.grant.verified(&answer).await
    }

    async fn post_json(
        &self,
        path: &str,
        body: Json,
        exchange: Exchange,
    ) -> Result<Json, LegacyError> {
        let request = self
            .grant
            .caller()
            .client()
            .post(format!("{}{path}", self.base))
            .header("accept", "application/json")
            .json(&self.client_json(body));
        let answer = self.grant.caller().send(request, Retry::Never).await?;
        if answer.status != 200 {
            return Err(classify(&answer, exchange));
        }
        Ok(answer.json()?)
    }

    /// The user's MFA authenticators, listed with the `mfa_token`. When the list cannot be
    /// had the refusal still stands; the continuation just offers no factors.
    async fn authenticators(&self, mfa_token: &str) -> Vec<Factor> {
        let request = self
            .grant
            .caller()
            .client()
            .get(format!("{}/mfa/authenticators", self.base))
            .bearer_auth(mfa_token)
            .header("accept", "application/json");
        let Ok(answer) = self.grant.caller().send(request, Retry::Idempotent).await else {
            return Vec::new();
        };
        let list: Vec<Authenticator> = if answer.status == 200 {
            answer.json().unwrap_or_default()
        } else {
            Vec::new()
        };
        list.into_iter().filter(|a| a.active).map(factor).collect()
    }

    async fn mfa_required(&self, error: LegacyError, username: &str) -> LegacyError {
        let LegacyError::Refused {
            continuation: Some(pending),
            ..
        } = &error
        else {
            return error;
        };
        let token = pending.secret("mfa_token").map_or("", Secret::expose);
        let mut pending = (**pending).clone();
        pending.username = username.to_owned();
        pending.factors = self.authenticators(token).await;
        LegacyError::mfa_required("mfa_required", pending)
    }
}

fn factor(a: Authenticator) -> Factor {
    let kind = match (a.authenticator_type.as_str(), a.oob_channel.as_deref()) {
        ("otp", _) => FactorKind::Totp,
        ("oob", Some("sms")) => FactorKind::Sms,
        ("oob", Some("email")) => FactorKind::Email,
        _ => FactorKind::Other,
    };
    Factor {
        kind,
        id: Some(a.id),
        hint: a.name,
    }
}

// --- classify: every Auth0 refusal is read here -------------------------------------------

fn classify(answer: &Answer, exchange: Exchange) -> LegacyError {
    let body: ErrorBody = serde_json::from_slice(&answer.body).unwrap_or_default();
    let code = body.error.clone();
    let description = body
        .error_description
        .unwrap_or_default()
        .to_ascii_lowercase();
    if let (Some("mfa_required"), Some(token)) = (code.as_deref(), body.mfa_token) {
        let pending = Continuation::new("", true).with_secret("mfa_token", token);
        return LegacyError::mfa_required("mfa_required", pending);
    }
    let refusal = refusal(answer.status, code.as_deref(), &description, exchange);
    let code = code.unwrap_or_else(|| answer.status.to_string());
    let error = LegacyError::refused_with(refusal, Some(code));
    error.retry_after(answer.retry_after)
}

fn refusal(status: u16, code: Option<&str>, description: &str, exchange: Exchange) -> Refusal {
    use Exchange::{Code, Password, Start};
    match (code, exchange) {
        (Some("invalid_grant"), Password) if description.contains("blocked") => Refusal::Locked,
        (Some("invalid_grant" | "invalid_user_password"), Password) => Refusal::InvalidCredentials,
        (Some("invalid_grant"), Code) if description.contains("expired") => Refusal::Expired,
        (Some("invalid_grant"), Code) if description.contains("malformed") => Refusal::Unavailable,
        (Some("invalid_grant" | "mfa_invalid_code"), Code) => Refusal::InvalidCode,
        (Some("expired_token"), _) => Refusal::Expired,
        (Some("unauthorized" | "blocked_user"), Password) => Refusal::Locked,
        (Some("too_many_attempts"), Password) if description.contains("suspicious") => {
            Refusal::RateLimited
        }
        (Some("too_many_attempts"), Password) => Refusal::Locked,
        (Some("too_many_attempts"), _) => Refusal::TooManyAttempts,
        (Some("password_leaked"), Password) => Refusal::PasswordExpired,
        (Some("unsupported_challenge_type" | "association_required"), _) => Refusal::NotEnrolled,
        (Some("bad.email" | "bad.phone_number"), Start) => Refusal::NotEnrolled,
        (Some("too_many_requests"), _) => Refusal::RateLimited,
        _ if status == 429 => Refusal::RateLimited,
        _ => Refusal::Unavailable,
    }
}

#[async_trait]
impl Connector for Auth0 {
    async fn check_password(
        &self,
        username: &str,
        password: &Secret,
    ) -> Result<Verified, LegacyError> {
        self.check_password_for(username, password, None).await
    }

    async fn check_password_for(
        &self,
        username: &str,
        password: &Secret,
        client: Option<std::net::IpAddr>,
    ) -> Result<Verified, LegacyError> {
        let form = [
            ("grant_type", PASSWORD_REALM),
            ("realm", self.settings.realm.as_str()),
            ("username", username),
            ("password", password.expose()),
        ];

        let result = self.token_for(&form, Exchange::Password, client).await;

        match result {
            Err(e) if e.refusal() == Refusal::MfaRequired => {
                Err(self.mfa_required(e, username).await)
            }
            other => other,
        }
    }

    async fn send_code(
        &self,
        channel: FactorKind,
        username: &str,
        after: Option<&Continuation>,
    ) -> Result<Continuation, LegacyError> {
        let Some(pending) = after else {
            return self.passwordless_start(channel, username).await;
        };
        let authenticator = pending
            .factor(channel)
            .and_then(|f| f.id.clone())
            .ok_or_else(|| {
                LegacyError::refused_with(Refusal::NotEnrolled, Some("no authenticator"))
            })?;
        let token = pending.secret("mfa_token").map_or("", Secret::expose);
        let body = json!({ "mfa_token": token, "challenge_type": "oob", "authenticator_id": authenticator });

        let answer = self
            .post_json("/mfa/challenge", body, Exchange::Code)
            .await?;

        let oob = answer["oob_code"]
            .as_str()
            .ok_or_else(|| LegacyError::Misconfigured("no oob_code in Auth0's challenge".into()))?;
        let mut next = pending
            .clone()
            .with_id("mode", "mfa")
            .with_secret("oob_code", oob);
        next.hint = pending.factor(channel).and_then(|f| f.hint.clone());
        Ok(next)
    }

    async fn verify_code(
        &self,
        pending: &Continuation,
        code: &Secret,
    ) -> Result<Verified, LegacyError> {
        if pending.id("mode") == Some("passwordless") {
            let realm = pending.id("realm").unwrap_or_default();
            let form = [
                ("grant_type", PASSWORDLESS_OTP),
                ("realm", realm),
                ("username", pending.username.as_str()),
                ("otp", code.expose()),
            ];
            let mut verified = self.token(&form, Exchange::Code).await?;
            verified
                .claims
                .insert("auth0_connection".into(), json!(realm));
            return Ok(verified);
        }
        let form = [
            ("grant_type", MFA_OOB),
            (
                "mfa_token",
                pending.secret("mfa_token").map_or("", Secret::expose),
            ),
            (
                "oob_code",
                pending.secret("oob_code").map_or("", Secret::expose),
            ),
            ("binding_code", code.expose()),
        ];
        self.token(&form, Exchange::Code).await
    }

    async fn check_totp(&self, check: TotpCheck<'_>) -> Result<Verified, LegacyError> {
        let Some(pending) = check.after else {
            return Err(LegacyError::NotOffered(
                "authenticator codes except after an Auth0 password step",
            ));
        };
        if !pending.factors.is_empty() && pending.factor(FactorKind::Totp).is_none() {
            return Err(LegacyError::refused_with(
                Refusal::NotEnrolled,
                Some("no otp authenticator"),
            ));
        }
        let form = [
            ("grant_type", MFA_OTP),
            (
                "mfa_token",
                pending.secret("mfa_token").map_or("", Secret::expose),
            ),
            ("otp", check.code.expose()),
        ];
        self.token(&form, Exchange::Code).await
    }
}

impl Auth0 {
    async fn passwordless_start(
        &self,
        channel: FactorKind,
        username: &str,
    ) -> Result<Continuation, LegacyError> {
        let (connection, field) = match channel {
            FactorKind::Email => (&self.settings.email_connection, "email"),
            FactorKind::Sms => (&self.settings.sms_connection, "phone_number"),
            _ => return Err(LegacyError::NotOffered("this code channel")),
        };
        let body = json!({ "connection": connection, field: username, "send": "code" });

        self.post_json("/passwordless/start", body, Exchange::Start)
            .await?;

        Ok(Continuation::new(username, false)
            .with_id("mode", "passwordless")
            .with_id("realm", connection.as_str()))
    }
}
