//! OneLogin: an API credential's token (client credentials), then the login API
//! (`/api/1/login/auth`) for the password and its `verify_factor` for the MFA that follows,
//! and the MFA API v2 (`/api/2/mfa/users/{id}/verifications`) for email, SMS and TOTP codes
//! of enrolled devices as a first factor. Facts: `docs/idp-apis.md` §2.6 and §4.

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::{Value as Json, json};

use super::http::{Answer, SetupError, check_url, segment};
use super::limits::{Caller, LimitSettings, Retry, presets};
use super::service_token::{self, ServiceToken};
use super::{
    Connector, Continuation, Factor, FactorKind, LegacyError, Refusal, TotpCheck, Verified,
};
use crate::secret::Secret;

/// The connector's settings in ferry.yaml.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// `onelogin`; checked against the journey's declaration.
    pub provider: Option<String>,
    /// The account: `https://{subdomain}.onelogin.com`.
    pub base_url: String,
    /// The subdomain, sent with each login.
    pub subdomain: String,
    /// The API credential's client id.
    pub client_id: String,
    /// Its secret, as a `${NAME}` reference.
    pub client_secret: Secret,
    /// Overrides of the client-side limits.
    pub limits: Option<LimitSettings>,
}

/// A OneLogin account.
#[derive(Debug)]
pub struct OneLogin {
    base: String,
    settings: Settings,
    caller: Caller,
    token: ServiceToken,
}

/// Which exchange an answer came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    Password,
    Code,
    Lookup,
}

impl OneLogin {
    /// A connector.
    pub fn new(settings: Settings) -> Result<Self, SetupError> {
        let base = check_url("base_url", &settings.base_url)?;
        let limits = presets::ONELOGIN.with(settings.limits.as_ref())?;
        Ok(Self {
            base,
            settings,
            caller: Caller::new(limits)?,
            token: ServiceToken::default(),
        })
    }

    // --- requests and calls ---------------------------------------------------------------

    async fn api_token(&self) -> Result<Secret, LegacyError> {
        self.token
            .get(|| async {
                let request = self
                    .caller
                    .client()
                    .post(format!("{}/auth/oauth2/v2/token", self.base))
                    .basic_auth(
                        &self.settings.client_id,
                        Some(self.settings.client_secret.expose()),
                    )
                    .json(&json!({ "grant_type": "client_credentials" }));
                service_token::parse(&self.caller.send(request, Retry::Never).await?)
            })
            .await
    }

    /// A v1 call (`Authorization: bearer:{token}`).
    async fn v1(&self, path: &str, body: &Json, stage: Stage) -> Result<Json, LegacyError> {
        let token = self.api_token().await?;
        let request = self
            .caller
            .client()
            .post(format!("{}{path}", self.base))
            .header("authorization", format!("bearer:{}", token.expose()))
            .json(body);
        let answer = self.caller.send(request, Retry::Never).await?;
        self.classify(&answer, stage).await
    }

    /// A v2 call (`Authorization: Bearer {token}`).
    async fn v2(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Json>,
        stage: Stage,
    ) -> Result<Json, LegacyError> {
        let token = self.api_token().await?;
        let mut request = self
            .caller
            .client()
            .request(method.clone(), format!("{}{path}", self.base))
            .bearer_auth(token.expose());
        if let Some(body) = body {
            request = request.json(body);
        }
        let retry = if method == reqwest::Method::GET {
            Retry::Idempotent
        } else {
            Retry::Never
        };
        let answer = self.caller.send(request, retry).await?;
        self.classify(&answer, stage).await
    }

    // --- classify: every OneLogin answer is read here ---------------------------------------

    async fn classify(&self, answer: &Answer, stage: Stage) -> Result<Json, LegacyError> {
        let body: Json = if answer.body.is_empty() {
            Json::Null
        } else {
            answer.json()?
        };
        let flagged = body["status"]["error"].as_bool() == Some(true);
        if (200..300).contains(&answer.status) && !flagged {
            return Ok(body);
        }
        let message = body["status"]["message"]
            .as_str()
            .or_else(|| body["message"].as_str())
            .unwrap_or_default()
            .to_ascii_lowercase();
        let refusal = match (answer.status, stage) {
            (429, _) => Refusal::RateLimited,
            (500..=599, _) => Refusal::Unavailable,
            (401, Stage::Lookup) | (403, _) => {
                self.token.forget().await;
                Refusal::Unavailable
            }
            (404, Stage::Lookup) => Refusal::NotEnrolled,
            (_, Stage::Code) if message.contains("expired") => Refusal::Expired,
            (404, Stage::Code) => Refusal::Expired,
            (400 | 401, Stage::Code) => Refusal::InvalidCode,
            (400 | 401, Stage::Password) => Refusal::InvalidCredentials,
            _ => Refusal::Unavailable,
        };
        let code = body["status"]["type"]
            .as_str()
            .or_else(|| body["name"].as_str())
            .map_or_else(|| answer.status.to_string(), str::to_owned);
        Err(LegacyError::refused_with(refusal, Some(code)).retry_after(answer.retry_after))
    }

    // --- the MFA API v2 -------------------------------------------------------------------

    /// The user's id and devices; an unknown user has none.
    async fn devices(&self, username: &str) -> Result<(String, Vec<Factor>), LegacyError> {
        let key = if username.contains('@') {
            "email"
        } else {
            "username"
        };
        let path = format!("/api/2/users?{key}={}", segment(username));
        let users = self
            .v2(reqwest::Method::GET, &path, None, Stage::Lookup)
            .await?;
        let id = first(&users)["id"]
            .as_u64()
            .map(|n| n.to_string())
            .or_else(|| first(&users)["id"].as_str().map(str::to_owned))
            .ok_or_else(|| LegacyError::refused_with(Refusal::NotEnrolled, Some("no such user")))?;
        let path = format!("/api/2/mfa/users/{id}/devices");
        let devices = self
            .v2(reqwest::Method::GET, &path, None, Stage::Lookup)
            .await?;
        let factors = list(&devices)
            .iter()
            .map(|d| device(d, "auth_factor_name"))
            .collect();
        Ok((id, factors))
    }

    async fn start_verification(
        &self,
        kind: FactorKind,
        username: &str,
    ) -> Result<Continuation, LegacyError> {
        let (user, factors) = self.devices(username).await?;
        let device = factors
            .iter()
            .find(|f| f.kind == kind)
            .and_then(|f| f.id.clone())
            .ok_or_else(|| {
                LegacyError::refused_with(Refusal::NotEnrolled, Some("no such device"))
            })?;
        let path = format!("/api/2/mfa/users/{user}/verifications");

        let started = self
            .v2(
                reqwest::Method::POST,
                &path,
                Some(&json!({ "device_id": device })),
                Stage::Code,
            )
            .await?;

        let verification = started["id"]
            .as_str()
            .map(str::to_owned)
            .or_else(|| started["id"].as_u64().map(|n| n.to_string()))
            .ok_or_else(|| LegacyError::Misconfigured("no verification id from OneLogin".into()))?;
        Ok(Continuation::new(username, false)
            .with_id("mode", "v2")
            .with_id("user_id", user)
            .with_id("device_id", device)
            .with_id("verification_id", verification))
    }

    async fn finish_verification(
        &self,
        pending: &Continuation,
        code: &Secret,
    ) -> Result<Verified, LegacyError> {
        let user = pending.id("user_id").unwrap_or_default();
        let path = format!(
            "/api/2/mfa/users/{user}/verifications/{}",
            pending.id("verification_id").unwrap_or_default()
        );
        let body = json!({ "otp": code.expose(), "device_id": pending.id("device_id") });

        self.v2(reqwest::Method::PUT, &path, Some(&body), Stage::Code)
            .await?;

        let record = self
            .v2(
                reqwest::Method::GET,
                &format!("/api/2/users/{user}"),
                None,
                Stage::Lookup,
            )
            .await?;
        verified(&record)
    }

    /// `verify_factor` inside a login transaction; without a code it triggers the SMS or
    /// email.
    async fn verify_factor(
        &self,
        pending: &Continuation,
        device: &str,
        code: Option<&Secret>,
    ) -> Result<Json, LegacyError> {
        let mut body = json!({
            "device_id": device,
            "state_token": pending.secret("state_token").map_or("", Secret::expose),
        });
        if let Some(code) = code {
            body["otp_token"] = json!(code.expose());
        }
        self.v1("/api/1/login/verify_factor", &body, Stage::Code)
            .await
    }
}

/// OneLogin wraps results in `data`, as an array or an object.
fn first(body: &Json) -> &Json {
    match &body["data"] {
        Json::Array(items) => items.first().unwrap_or(&Json::Null),
        Json::Null => match body {
            Json::Array(items) => items.first().unwrap_or(&Json::Null),
            _ => body,
        },
        data => data,
    }
}

fn list(body: &Json) -> Vec<Json> {
    match body {
        Json::Array(items) => items.clone(),
        _ => match &body["data"] {
            Json::Array(items) => items.clone(),
            _ => Vec::new(),
        },
    }
}

fn device(d: &Json, name_field: &str) -> Factor {
    let name = d[name_field]
        .as_str()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let kind = if name.contains("sms") {
        FactorKind::Sms
    } else if name.contains("email") {
        FactorKind::Email
    } else if name.contains("authenticator") || name.contains("protect") || name.contains("otp") {
        FactorKind::Totp
    } else {
        FactorKind::Other
    };
    let id = d["device_id"]
        .as_u64()
        .map(|n| n.to_string())
        .or_else(|| d["device_id"].as_str().map(str::to_owned));
    Factor {
        kind,
        id,
        hint: d["user_display_name"].as_str().map(str::to_owned),
    }
}

fn verified(body: &Json) -> Result<Verified, LegacyError> {
    let record = first(body);
    let user = if record["user"].is_object() {
        &record["user"]
    } else {
        record
    };
    let mut claims = user.as_object().cloned().unwrap_or_default();
    if let Some(id) = claims.get("id").cloned() {
        claims.insert("sub".into(), id);
    }
    Verified::from_claims(claims, "sub")
        .ok_or_else(|| LegacyError::Misconfigured("OneLogin's answer names no user".into()))
}

/// A login answer: signed in, or MFA with a state token and devices.
fn conclude_login(body: &Json, username: &str) -> Result<Verified, LegacyError> {
    let record = first(body);
    let Some(state) = record["state_token"].as_str() else {
        return verified(body);
    };
    let mut pending = Continuation::new(username, true)
        .with_id("mode", "login")
        .with_secret("state_token", state);
    if let Some(id) = record["user"]["id"].as_u64() {
        pending = pending.with_id("user_id", id.to_string());
    }
    pending.factors = record["devices"]
        .as_array()
        .map(|d| d.iter().map(|d| device(d, "device_type")).collect())
        .unwrap_or_default();
    Err(LegacyError::mfa_required("mfa_required", pending))
}

#[async_trait]
impl Connector for OneLogin {
    async fn check_password(
        &self,
        username: &str,
        password: &Secret,
    ) -> Result<Verified, LegacyError> {
        let body = json!({
            "username_or_email": username,
            "password": password.expose(),
            "subdomain": self.settings.subdomain,
        });

        let answer = self.v1("/api/1/login/auth", &body, Stage::Password).await?;

        conclude_login(&answer, username)
    }

    async fn send_code(
        &self,
        channel: FactorKind,
        username: &str,
        after: Option<&Continuation>,
    ) -> Result<Continuation, LegacyError> {
        if !matches!(channel, FactorKind::Email | FactorKind::Sms) {
            return Err(LegacyError::NotOffered("this code channel"));
        }
        let Some(pending) = after else {
            return self.start_verification(channel, username).await;
        };
        let factor = pending.factor(channel).cloned().ok_or_else(|| {
            LegacyError::refused_with(Refusal::NotEnrolled, Some("no such device"))
        })?;
        let device = factor.id.clone().unwrap_or_default();

        self.verify_factor(pending, &device, None).await?;

        let mut next = pending.clone().with_id("device_id", device);
        next.hint = factor.hint;
        Ok(next)
    }

    async fn verify_code(
        &self,
        pending: &Continuation,
        code: &Secret,
    ) -> Result<Verified, LegacyError> {
        if pending.id("mode") == Some("v2") {
            return self.finish_verification(pending, code).await;
        }
        let device = pending.id("device_id").unwrap_or_default();
        let answer = self.verify_factor(pending, device, Some(code)).await?;
        verified(&answer)
    }

    async fn check_totp(&self, check: TotpCheck<'_>) -> Result<Verified, LegacyError> {
        match check.after {
            Some(pending) => {
                let device = pending
                    .factor(FactorKind::Totp)
                    .and_then(|f| f.id.clone())
                    .ok_or_else(|| {
                        LegacyError::refused_with(Refusal::NotEnrolled, Some("no OTP device"))
                    })?;
                let answer = self
                    .verify_factor(pending, &device, Some(check.code))
                    .await?;
                verified(&answer)
            }
            None => {
                let pending = self
                    .start_verification(FactorKind::Totp, check.username)
                    .await?;
                self.finish_verification(&pending, check.code).await
            }
        }
    }
}
