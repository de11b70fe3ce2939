//! Okta: the Authentication API (`/api/v1/authn`) for the password and, inside its
//! transaction, the email, SMS and TOTP factors; the Factors API for codes as a first factor
//! (an API token verifies only factors the user already enrolled); or the password grant on
//! an authorization server. Facts: `docs/idp-apis.md` §2.1 and §4.

use std::sync::Arc;

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::{Map, Value as Json, json};

use super::http::{Answer, SetupError, check_url, segment};
use super::limits::{Caller, LimitSettings, Retry, presets};
use super::oauth2::{self, ClientAuth, PasswordGrant};
use super::{
    Connector, Continuation, Factor, FactorKind, LegacyError, Refusal, TotpCheck, Verified,
};
use crate::clock::{SharedClock, SystemClock};
use crate::secret::Secret;

/// Which API checks passwords.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum PasswordApi {
    /// `POST /api/v1/authn`: reports MFA, expiry and lockout, and continues into factors.
    #[default]
    Authn,
    /// The resource owner password grant on an authorization server.
    Token,
}

/// The connector's settings in ferry.yaml.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// `okta`; checked against the journey's declaration.
    pub provider: Option<String>,
    /// The org: `https://{yourOktaDomain}`.
    pub base_url: String,
    /// An API token (`SSWS`), as a `${NAME}` reference: makes Authn calls trusted and is
    /// required for codes as a first factor (Factors API).
    pub api_token: Option<Secret>,
    /// Which API checks passwords.
    #[serde(default)]
    pub password_api: PasswordApi,
    /// With `password_api: token`: the authorization server id (`default`, or `org` for the
    /// org server).
    #[serde(default = "default_server")]
    pub authorization_server: String,
    /// With `password_api: token`: the native app's client id.
    pub client_id: Option<String>,
    /// With `password_api: token`: its secret, as a `${NAME}` reference.
    pub client_secret: Option<Secret>,
    /// With `password_api: token`: scopes.
    #[serde(default = "default_scopes")]
    pub scopes: Vec<String>,
    /// Send the end user's address as `X-Forwarded-For` on Authn calls. Okta honours it
    /// only with an API token and Ferry's egress address registered as a gateway IP.
    #[serde(default)]
    pub forward_client_ip: bool,
    /// Overrides of the client-side limits.
    pub limits: Option<LimitSettings>,
}

fn default_server() -> String {
    "default".into()
}

fn default_scopes() -> Vec<String> {
    vec!["openid".into(), "profile".into(), "email".into()]
}

/// An Okta org.
#[derive(Debug)]
pub struct Okta {
    base: String,
    api_token: Option<Secret>,
    forward_client_ip: bool,
    caller: Caller,
    grant: Option<PasswordGrant>,
}

/// An Authn transaction answer.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Transaction {
    status: Option<String>,
    state_token: Option<String>,
    #[serde(default, rename = "_embedded")]
    embedded: Embedded,
}

#[derive(Debug, Default, Deserialize)]
struct Embedded {
    user: Option<Json>,
    #[serde(default)]
    factors: Vec<OktaFactor>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct OktaFactor {
    id: String,
    factor_type: String,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    profile: Map<String, Json>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ErrorBody {
    error_code: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct FactorResult {
    factor_result: Option<String>,
}

impl Okta {
    /// A connector on the system clock.
    pub fn new(settings: Settings) -> Result<Self, SetupError> {
        Self::with_clock(settings, Arc::new(SystemClock))
    }

    /// A connector on a given clock.
    pub fn with_clock(settings: Settings, clock: SharedClock) -> Result<Self, SetupError> {
        let base = check_url("base_url", &settings.base_url)?;
        let limits = presets::OKTA.with(settings.limits.as_ref())?;
        let grant = match settings.password_api {
            PasswordApi::Authn => None,
            PasswordApi::Token => Some(token_grant(&settings, &base, clock)?),
        };
        Ok(Self {
            caller: Caller::new(limits)?,
            api_token: settings.api_token,
            forward_client_ip: settings.forward_client_ip,
            base,
            grant,
        })
    }

    // --- requests -------------------------------------------------------------------------

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let request = self
            .caller
            .client()
            .request(method, format!("{}{path}", self.base))
            .header("accept", "application/json");
        match &self.api_token {
            Some(token) => request.header("authorization", format!("SSWS {}", token.expose())),
            None => request,
        }
    }

    fn post(&self, path: &str, body: &Json) -> reqwest::RequestBuilder {
        self.request(reqwest::Method::POST, path).json(body)
    }

    fn admin_token(&self) -> Result<(), LegacyError> {
        match self.api_token {
            Some(_) => Ok(()),
            None => Err(LegacyError::NotOffered(
                "codes as a first factor without an Okta API token",
            )),
        }
    }

    // --- calls ----------------------------------------------------------------------------

    async fn authn(&self, path: &str, body: &Json) -> Result<Transaction, LegacyError> {
        self.authn_for(path, body, None).await
    }

    async fn authn_for(
        &self,
        path: &str,
        body: &Json,
        client: Option<std::net::IpAddr>,
    ) -> Result<Transaction, LegacyError> {
        let mut request = self.post(path, body);
        if let Some(ip) = client.filter(|_| self.forward_client_ip) {
            request = request.header("x-forwarded-for", ip.to_string());
        }
        let answer = self.caller.send(request, Retry::Never).await?;
        classify(&answer)?;
        Ok(answer.json()?)
    }

    async fn get(&self, path: &str) -> Result<Answer, LegacyError> {
        let answer = self
            .caller
            .send(self.request(reqwest::Method::GET, path), Retry::Idempotent)
            .await?;
        classify(&answer)?;
        Ok(answer)
    }

    /// The active factors of a user found by login, through the admin API. An unknown or
    /// inactive user has none, so it looks like a user without the factor.
    async fn enrolled(&self, login: &str) -> Result<(String, Vec<OktaFactor>), LegacyError> {
        self.admin_token()?;
        let user = match self.get(&format!("/api/v1/users/{}", segment(login))).await {
            Ok(answer) => answer.json::<Json>()?,
            Err(e) if e.provider_code() == Some("E0000007") => {
                return Err(not_enrolled("E0000007"));
            }
            Err(e) => return Err(e),
        };
        let id = user["id"].as_str().unwrap_or_default().to_owned();
        if id.is_empty() || !matches!(user["status"].as_str(), Some("ACTIVE" | "PASSWORD_EXPIRED"))
        {
            return Err(not_enrolled("user not active"));
        }
        let factors: Vec<OktaFactor> = self
            .get(&format!("/api/v1/users/{id}/factors"))
            .await?
            .json()?;
        let active = factors
            .into_iter()
            .filter(|f| f.status.as_deref().is_none_or(|s| s == "ACTIVE"))
            .collect();
        Ok((id, active))
    }

    async fn factor_verify(
        &self,
        user: &str,
        factor: &str,
        body: &Json,
    ) -> Result<String, LegacyError> {
        let path = format!("/api/v1/users/{user}/factors/{factor}/verify");
        let answer = self
            .caller
            .send(self.post(&path, body), Retry::Never)
            .await?;
        classify(&answer)?;
        let result: FactorResult = answer.json()?;
        Ok(result.factor_result.unwrap_or_default())
    }

    async fn user_claims(&self, user: &str) -> Result<Verified, LegacyError> {
        let user: Json = self.get(&format!("/api/v1/users/{user}")).await?.json()?;
        verified(Some(&user)).ok_or_else(|| missing("the user record has no id"))
    }

    /// Sends the code of an enrolled email or SMS factor through the Factors API.
    async fn send_first_factor(
        &self,
        kind: FactorKind,
        username: &str,
    ) -> Result<Continuation, LegacyError> {
        let (user, factors) = self.enrolled(username).await?;
        let factor = factors
            .iter()
            .find(|f| factor_kind(&f.factor_type) == kind)
            .ok_or_else(|| not_enrolled("no such factor"))?;

        let result = self.factor_verify(&user, &factor.id, &json!({})).await?;

        if result != "CHALLENGE" {
            return Err(factor_refusal(&result));
        }
        let mut pending = Continuation::new(username, false)
            .with_id("mode", "factors")
            .with_id("user_id", user)
            .with_id("factor_id", &factor.id);
        pending.hint = hint(&factor.profile);
        Ok(pending)
    }

    /// Checks a code with the Factors API.
    async fn verify_first_factor(
        &self,
        user: &str,
        factor: &str,
        code: &Secret,
    ) -> Result<Verified, LegacyError> {
        let result = self
            .factor_verify(user, factor, &json!({ "passCode": code.expose() }))
            .await?;
        if result != "SUCCESS" {
            return Err(factor_refusal(&result));
        }
        self.user_claims(user).await
    }

    /// A factor verify inside an Authn transaction.
    async fn transaction_verify(
        &self,
        pending: &Continuation,
        factor: &str,
        code: Option<&Secret>,
    ) -> Result<Transaction, LegacyError> {
        let state = pending
            .secret("state_token")
            .ok_or_else(|| missing("no state token"))?;
        let mut body = json!({ "stateToken": state.expose() });
        if let Some(code) = code {
            body["passCode"] = json!(code.expose());
        }
        self.authn(&format!("/api/v1/authn/factors/{factor}/verify"), &body)
            .await
    }
}

fn token_grant(
    settings: &Settings,
    base: &str,
    clock: SharedClock,
) -> Result<PasswordGrant, SetupError> {
    let client_id = settings.client_id.clone().ok_or(SetupError::Missing {
        field: "client_id",
        when: "password_api is token",
    })?;
    let issuer = match settings.authorization_server.as_str() {
        "org" => base.to_owned(),
        server => format!("{base}/oauth2/{server}"),
    };
    let prefix = match settings.authorization_server.as_str() {
        "org" => format!("{base}/oauth2"),
        _ => issuer.clone(),
    };
    let mut grant = oauth2::Settings::for_vendor(
        format!("{prefix}/v1/token"),
        client_id,
        issuer,
        format!("{prefix}/v1/keys"),
    );
    grant.client_secret = settings.client_secret.clone();
    grant.client_auth = match grant.client_secret {
        Some(_) => ClientAuth::Basic,
        None => ClientAuth::None,
    };
    grant.scopes = settings.scopes.clone();
    grant.limits = settings.limits.clone();
    PasswordGrant::with_limits(grant, clock, presets::OKTA)
}

// --- classify: every Okta answer is read here ---------------------------------------------

/// Refusals of `/api/v1/*` calls, by Okta error code.
fn classify(answer: &Answer) -> Result<(), LegacyError> {
    if (200..300).contains(&answer.status) {
        return Ok(());
    }
    let body: ErrorBody = serde_json::from_slice(&answer.body).unwrap_or_default();
    let code = body.error_code;
    let refusal = match (answer.status, code.as_deref()) {
        (_, Some("E0000004")) => Refusal::InvalidCredentials,
        (_, Some("E0000011")) => Refusal::Expired,
        (_, Some("E0000068")) => Refusal::InvalidCode,
        (_, Some("E0000069")) => Refusal::TooManyAttempts,
        (429, _) | (_, Some("E0000047" | "E0000109" | "E0000118" | "E0000133")) => {
            Refusal::RateLimited
        }
        (_, Some(_)) => Refusal::Unavailable,
        (400..=599, None) => Refusal::Unavailable,
        _ => {
            return Err(answer
                .unreadable("an answer that is neither success nor an error")
                .into());
        }
    };
    let code = code.or_else(|| Some(answer.status.to_string()));
    Err(LegacyError::refused_with(refusal, code).retry_after(answer.retry_after))
}

/// Where an Authn transaction stands.
fn conclude(transaction: Transaction, username: &str) -> Result<Verified, LegacyError> {
    let status = transaction.status.clone().unwrap_or_default();
    match status.as_str() {
        "SUCCESS" | "PASSWORD_WARN" => verified(transaction.embedded.user.as_ref())
            .ok_or_else(|| missing("no user in a SUCCESS transaction")),
        "MFA_REQUIRED" | "MFA_ENROLL" | "MFA_ENROLL_ACTIVATE" => {
            let pending = continuation(transaction, username);
            Err(LegacyError::mfa_required(status, pending))
        }
        "PASSWORD_EXPIRED" => Err(LegacyError::after_password(
            Refusal::PasswordExpired,
            status,
        )),
        "LOCKED_OUT" => Err(LegacyError::refused_with(Refusal::Locked, Some(status))),
        _ => Err(LegacyError::refused_with(
            Refusal::Unavailable,
            Some(status),
        )),
    }
}

fn continuation(transaction: Transaction, username: &str) -> Continuation {
    let user_id = transaction
        .embedded
        .user
        .as_ref()
        .and_then(|u| u["id"].as_str())
        .map(str::to_owned);
    let mut pending = Continuation::new(username, true).with_id("mode", "authn");
    if let Some(id) = user_id {
        pending = pending.with_id("user_id", id);
    }
    pending.factors = transaction
        .embedded
        .factors
        .iter()
        .map(|f| Factor {
            kind: factor_kind(&f.factor_type),
            id: Some(f.id.clone()),
            hint: hint(&f.profile),
        })
        .collect();
    match transaction.state_token {
        Some(token) => pending.with_secret("state_token", token),
        None => pending,
    }
}

/// A `factorResult` other than the one hoped for.
fn factor_refusal(result: &str) -> LegacyError {
    let refusal = match result {
        "REJECTED" | "FAILED" | "PASSCODE_REPLAYED" => Refusal::InvalidCode,
        "TIMEOUT" | "TIME_WINDOW_EXCEEDED" => Refusal::Expired,
        _ => Refusal::Unavailable,
    };
    LegacyError::refused_with(refusal, Some(result))
}

fn factor_kind(okta: &str) -> FactorKind {
    match okta {
        "email" => FactorKind::Email,
        "sms" => FactorKind::Sms,
        "token:software:totp" => FactorKind::Totp,
        _ => FactorKind::Other,
    }
}

fn hint(profile: &Map<String, Json>) -> Option<String> {
    ["phoneNumber", "email"]
        .iter()
        .find_map(|k| profile.get(*k).and_then(Json::as_str))
        .map(str::to_owned)
}

/// An Okta user object (`id`, `profile {…}`) as claims: `sub` plus the profile.
fn verified(user: Option<&Json>) -> Option<Verified> {
    let user = user?;
    let mut claims = user["profile"].as_object().cloned().unwrap_or_default();
    claims.insert("sub".into(), user["id"].clone());
    Verified::from_claims(claims, "sub")
}

fn not_enrolled(code: &str) -> LegacyError {
    LegacyError::refused_with(Refusal::NotEnrolled, Some(code))
}

fn missing(what: &str) -> LegacyError {
    LegacyError::Misconfigured(format!("Okta's answer is incomplete: {what}"))
}

#[async_trait]
impl Connector for Okta {
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
        if let Some(grant) = &self.grant {
            return grant.check_password(username, password).await;
        }
        let body = json!({
            "username": username,
            "password": password.expose(),
            "options": { "multiOptionalFactorEnroll": false, "warnBeforePasswordExpired": false }
        });

        let transaction = self.authn_for("/api/v1/authn", &body, client).await?;

        conclude(transaction, username)
    }

    async fn send_code(
        &self,
        channel: FactorKind,
        username: &str,
        after: Option<&Continuation>,
    ) -> Result<Continuation, LegacyError> {
        let Some(pending) = after else {
            return self.send_first_factor(channel, username).await;
        };
        let factor = pending
            .factor(channel)
            .and_then(|f| f.id.clone())
            .ok_or_else(|| not_enrolled("no such factor in the transaction"))?;

        let transaction = self.transaction_verify(pending, &factor, None).await?;

        if transaction.status.as_deref() != Some("MFA_CHALLENGE") {
            return Err(conclude(transaction, username).err().unwrap_or_else(|| {
                LegacyError::refused_with(Refusal::Unavailable, Some("SUCCESS without a code"))
            }));
        }
        let mut next = pending.clone().with_id("factor_id", &factor);
        next.hint = pending.factor(channel).and_then(|f| f.hint.clone());
        if let Some(token) = transaction.state_token {
            next = next.with_secret("state_token", token);
        }
        Ok(next)
    }

    async fn verify_code(
        &self,
        pending: &Continuation,
        code: &Secret,
    ) -> Result<Verified, LegacyError> {
        let factor = pending
            .id("factor_id")
            .ok_or_else(|| missing("no factor id"))?;
        if pending.id("mode") == Some("factors") {
            let user = pending.id("user_id").ok_or_else(|| missing("no user id"))?;
            return self.verify_first_factor(user, factor, code).await;
        }
        let transaction = self.transaction_verify(pending, factor, Some(code)).await?;
        conclude(transaction, &pending.username)
    }

    async fn check_totp(&self, check: TotpCheck<'_>) -> Result<Verified, LegacyError> {
        match check.after {
            Some(pending) => {
                let factor = pending
                    .factor(FactorKind::Totp)
                    .and_then(|f| f.id.clone())
                    .ok_or_else(|| not_enrolled("no TOTP factor in the transaction"))?;
                let transaction = self
                    .transaction_verify(pending, &factor, Some(check.code))
                    .await?;
                conclude(transaction, &pending.username)
            }
            None => {
                let (user, factors) = self.enrolled(check.username).await?;
                let factor = factors
                    .iter()
                    .find(|f| factor_kind(&f.factor_type) == FactorKind::Totp)
                    .ok_or_else(|| not_enrolled("no TOTP factor"))?;
                self.verify_first_factor(&user, &factor.id, check.code)
                    .await
            }
        }
    }
}
