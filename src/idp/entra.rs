//! Microsoft Entra ID: the password grant (ROPC) on a tenant's v2.0 token endpoint with its
//! AADSTS error codes mapped, and, for External ID tenants, email codes through the native
//! authentication API (`initiate`, `challenge`, `token` with `grant_type=oob`). Entra has no
//! API to continue a password that needs MFA: `mfa_required` comes without a continuation,
//! and journeys send such users to an OIDC redirect or a failure. Facts:
//! `docs/idp-apis.md` §2.4 and §4.

use std::sync::Arc;

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::Value as Json;

use super::answers;
use super::http::{Answer, SetupError, check_url};
use super::limits::{LimitSettings, Retry, presets};
use super::oauth2::{self, ClientAuth, PasswordGrant};
use super::{Connector, Continuation, FactorKind, LegacyError, Refusal, Verified};
use crate::clock::{SharedClock, SystemClock};
use crate::secret::Secret;

/// The connector's settings in ferry.yaml.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// `entra`; checked against the journey's declaration.
    pub provider: Option<String>,
    /// The authority host: `https://login.microsoftonline.com` (national clouds differ).
    pub authority: String,
    /// The tenant id or a verified domain; never `common` or `consumers`.
    pub tenant: String,
    /// The application (client) id.
    pub client_id: String,
    /// Its secret, as a `${NAME}` reference; none for a public client.
    pub client_secret: Option<Secret>,
    /// Scopes.
    #[serde(default = "default_scopes")]
    pub scopes: Vec<String>,
    /// The ID token issuer; default `{authority}/{tenant}/v2.0` (give the tenant-id form
    /// when `tenant` is a domain).
    pub issuer: Option<String>,
    /// Native authentication for email codes, in External ID tenants only.
    pub native_auth: Option<NativeAuth>,
    /// Overrides of the client-side limits.
    pub limits: Option<LimitSettings>,
}

/// The native authentication API of an External ID tenant.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NativeAuth {
    /// `https://{subdomain}.ciamlogin.com/{subdomain}.onmicrosoft.com`.
    pub base_url: String,
    /// The ID token issuer: `https://{tenantId}.ciamlogin.com/{tenantId}/v2.0`.
    pub issuer: String,
    /// The keys; default `{base_url}/discovery/v2.0/keys`.
    pub jwks_uri: Option<String>,
}

fn default_scopes() -> Vec<String> {
    vec!["openid".into(), "profile".into(), "email".into()]
}

/// An Entra ID tenant's app registration.
#[derive(Debug)]
pub struct Entra {
    ropc: PasswordGrant,
    native: Option<(String, PasswordGrant)>,
}

#[derive(Debug, Default, Deserialize)]
struct ErrorBody {
    error: Option<String>,
    #[serde(default)]
    error_codes: Vec<u64>,
    suberror: Option<String>,
}

impl Entra {
    /// A connector on the system clock.
    pub fn new(settings: Settings) -> Result<Self, SetupError> {
        Self::with_clock(settings, Arc::new(SystemClock))
    }

    /// A connector on a given clock.
    pub fn with_clock(settings: Settings, clock: SharedClock) -> Result<Self, SetupError> {
        let authority = check_url("authority", &settings.authority)?;
        if matches!(settings.tenant.as_str(), "common" | "consumers") {
            return Err(SetupError::Invalid {
                field: "tenant",
                reason: "the password grant needs a tenant id, a tenant domain or `organizations`",
            });
        }
        let tenant = format!("{authority}/{}", settings.tenant);
        let mut ropc = oauth2::Settings::for_vendor(
            format!("{tenant}/oauth2/v2.0/token"),
            settings.client_id.clone(),
            settings
                .issuer
                .clone()
                .unwrap_or_else(|| format!("{tenant}/v2.0")),
            format!("{tenant}/discovery/v2.0/keys"),
        );
        ropc.client_secret = settings.client_secret.clone();
        ropc.client_auth = match ropc.client_secret {
            Some(_) => ClientAuth::Post,
            None => ClientAuth::None,
        };
        ropc.scopes = settings.scopes.clone();
        ropc.limits = settings.limits.clone();
        let native = match &settings.native_auth {
            Some(n) => Some(native(n, &settings, clock.clone())?),
            None => None,
        };
        Ok(Self {
            ropc: PasswordGrant::with_limits(ropc, clock, presets::ENTRA)?,
            native,
        })
    }

    fn native(&self) -> Result<&(String, PasswordGrant), LegacyError> {
        self.native.as_ref().ok_or(LegacyError::NotOffered(
            "email codes without `native_auth` (External ID tenants only)",
        ))
    }

    /// A native-auth step (`initiate`, `challenge`): a form post whose answer carries a new
    /// continuation token.
    async fn native_step(&self, path: &str, form: &[(&str, &str)]) -> Result<Json, LegacyError> {
        let (base, grant) = self.native()?;
        let request = grant
            .caller()
            .client()
            .post(format!("{base}/oauth2/v2.0/{path}"))
            .header("accept", "application/json")
            .form(form);
        let answer = grant.caller().send(request, Retry::Never).await?;
        if answer.status != 200 {
            return Err(classify(&answer, Stage::Code));
        }
        let body: Json = answer.json()?;
        if body["challenge_type"] == "redirect" {
            // The user flow wants the browser for this user: Ferry cannot go on here.
            return Err(LegacyError::refused_with(
                Refusal::Unavailable,
                Some("redirect"),
            ));
        }
        Ok(body)
    }
}

fn native(
    n: &NativeAuth,
    s: &Settings,
    clock: SharedClock,
) -> Result<(String, PasswordGrant), SetupError> {
    let base = check_url("native_auth.base_url", &n.base_url)?;
    let jwks = n
        .jwks_uri
        .clone()
        .unwrap_or_else(|| format!("{base}/discovery/v2.0/keys"));
    let mut grant = oauth2::Settings::for_vendor(
        format!("{base}/oauth2/v2.0/token"),
        s.client_id.clone(),
        n.issuer.clone(),
        jwks,
    );
    grant.scopes = s.scopes.clone();
    grant.limits = s.limits.clone();
    Ok((
        base,
        PasswordGrant::with_limits(grant, clock, presets::ENTRA)?,
    ))
}

/// Which exchange an answer came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    Password,
    Code,
}

// --- classify: every Entra refusal is read here -------------------------------------------

fn classify(answer: &Answer, stage: Stage) -> LegacyError {
    let body: ErrorBody = serde_json::from_slice(&answer.body).unwrap_or_default();
    let aadsts = body.error_codes.first().copied();
    let code = aadsts
        .map(|c| format!("AADSTS{c}"))
        .or_else(|| body.suberror.clone())
        .or_else(|| body.error.clone())
        .unwrap_or_else(|| answer.status.to_string());
    let by_code = aadsts.and_then(refusal_for_code);
    let by_error = || refusal_for_error(&body, stage, answer.status);
    match by_code.or_else(by_error) {
        Some((refusal, true)) => LegacyError::after_password(refusal, code),
        Some((refusal, false)) => {
            LegacyError::refused_with(refusal, Some(code)).retry_after(answer.retry_after)
        }
        None => answers::classify(&[], answer),
    }
}

/// AADSTS codes: the outcome, and whether the password had been accepted.
fn refusal_for_code(code: u64) -> Option<(Refusal, bool)> {
    Some(match code {
        50126 | 50034 | 50056 => (Refusal::InvalidCredentials, false),
        50076 | 50079 | 50072 | 50158 => (Refusal::MfaRequired, true),
        50053 | 50057 => (Refusal::Locked, false),
        50055 | 50144 => (Refusal::PasswordExpired, true),
        50135 => (Refusal::PasswordExpired, false),
        50196 => (Refusal::RateLimited, false),
        53003 | 530035 | 65001 | 700016 | 700011 | 7000215 | 7000218 | 70002 | 700025 | 90002 => {
            (Refusal::Unavailable, false)
        }
        _ => return None,
    })
}

/// Native-auth sub-errors and the RFC 6749 defaults.
fn refusal_for_error(body: &ErrorBody, stage: Stage, status: u16) -> Option<(Refusal, bool)> {
    let refusal = match (body.error.as_deref(), body.suberror.as_deref(), stage) {
        (_, Some("invalid_oob_value"), _) => Refusal::InvalidCode,
        (Some("expired_token"), _, _) => Refusal::Expired,
        (Some("user_not_found"), _, Stage::Code) => Refusal::NotEnrolled,
        (Some("user_not_found"), _, Stage::Password) => Refusal::InvalidCredentials,
        (Some("unsupported_challenge_type"), _, _) => Refusal::Unavailable,
        (Some("invalid_grant"), _, Stage::Code) => Refusal::InvalidCode,
        (code, _, _) => answers::default_refusal(status, code)?,
    };
    Some((refusal, false))
}

#[async_trait]
impl Connector for Entra {
    async fn check_password(
        &self,
        username: &str,
        password: &Secret,
    ) -> Result<Verified, LegacyError> {
        let answer = self
            .ropc
            .grant(&PasswordGrant::password_form(username, password))
            .await?;

        if answer.status != 200 {
            return Err(classify(&answer, Stage::Password));
        }
        self.ropc.verified(&answer).await
    }

    async fn send_code(
        &self,
        channel: FactorKind,
        username: &str,
        after: Option<&Continuation>,
    ) -> Result<Continuation, LegacyError> {
        if channel != FactorKind::Email || after.is_some() {
            return Err(LegacyError::NotOffered(
                "Entra codes other than an email code as first factor",
            ));
        }
        let client_id = self.native()?.1.settings().client_id.clone();
        let started = self
            .native_step(
                "initiate",
                &[
                    ("client_id", &client_id),
                    ("username", username),
                    ("challenge_type", "oob redirect"),
                ],
            )
            .await?;
        let token = continuation_token(&started)?;

        let challenged = self
            .native_step(
                "challenge",
                &[
                    ("client_id", &client_id),
                    ("continuation_token", &token),
                    ("challenge_type", "oob redirect"),
                ],
            )
            .await?;

        if challenged["challenge_type"] != "oob" {
            return Err(LegacyError::refused_with(
                Refusal::NotEnrolled,
                Some("no oob challenge"),
            ));
        }
        let mut pending = Continuation::new(username, false)
            .with_secret("continuation_token", continuation_token(&challenged)?);
        pending.hint = challenged["challenge_target_label"]
            .as_str()
            .map(str::to_owned);
        Ok(pending)
    }

    async fn verify_code(
        &self,
        pending: &Continuation,
        code: &Secret,
    ) -> Result<Verified, LegacyError> {
        let (_, grant) = self.native()?;
        let token = pending
            .secret("continuation_token")
            .map_or("", Secret::expose);
        let form = [
            ("grant_type", "oob"),
            ("continuation_token", token),
            ("oob", code.expose()),
        ];

        let answer = grant.grant(&form).await?;

        if answer.status != 200 {
            return Err(classify(&answer, Stage::Code));
        }
        grant.verified(&answer).await
    }
}

fn continuation_token(body: &Json) -> Result<String, LegacyError> {
    body["continuation_token"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| LegacyError::Misconfigured("no continuation_token from Entra".into()))
}
