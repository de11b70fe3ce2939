//! PingOne: a worker application's token (client credentials), then the admin password
//! check (`POST /users/{id}/password` with the password-check media type) for passwords,
//! and PingOne MFA device authentications (`deviceAuthentications`, then `otp.check`) for
//! email, SMS and TOTP codes of enrolled devices. PingOne has no password grant. Facts:
//! `docs/idp-apis.md` §2.7.

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::{Value as Json, json};

use super::http::{Answer, SetupError, check_url};
use super::limits::{Caller, LimitSettings, Retry, presets};
use super::service_token::{self, ServiceToken};
use super::{Connector, Continuation, FactorKind, LegacyError, Refusal, TotpCheck, Verified};
use crate::secret::Secret;

const PASSWORD_CHECK: &str = "application/vnd.pingidentity.password.check+json";
const DEVICE_SELECT: &str = "application/vnd.pingidentity.device.select+json";
const OTP_CHECK: &str = "application/vnd.pingidentity.otp.check+json";

/// The connector's settings in ferry.yaml.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// `pingone`; checked against the journey's declaration.
    pub provider: Option<String>,
    /// The auth host: `https://auth.pingone.{tld}` (or a custom domain).
    pub auth_base_url: String,
    /// The management API: `https://api.pingone.{tld}/v1`.
    pub api_base_url: String,
    /// The environment id.
    pub environment_id: String,
    /// The worker application's client id.
    pub client_id: String,
    /// Its secret, as a `${NAME}` reference.
    pub client_secret: Secret,
    /// The MFA policy to use for device authentications, if not the default.
    pub mfa_policy_id: Option<String>,
    /// Overrides of the client-side limits.
    pub limits: Option<LimitSettings>,
}

/// A PingOne environment.
#[derive(Debug)]
pub struct PingOne {
    auth: String,
    api: String,
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

impl PingOne {
    /// A connector.
    pub fn new(settings: Settings) -> Result<Self, SetupError> {
        let env = &settings.environment_id;
        let auth = format!(
            "{}/{env}",
            check_url("auth_base_url", &settings.auth_base_url)?
        );
        let api = format!(
            "{}/environments/{env}",
            check_url("api_base_url", &settings.api_base_url)?
        );
        let limits = presets::PINGONE.with(settings.limits.as_ref())?;
        Ok(Self {
            auth,
            api,
            settings,
            caller: Caller::new(limits)?,
            token: ServiceToken::default(),
        })
    }

    // --- requests and calls ---------------------------------------------------------------

    async fn worker_token(&self) -> Result<Secret, LegacyError> {
        self.token
            .get(|| async {
                let request = self
                    .caller
                    .client()
                    .post(format!("{}/as/token", self.auth))
                    .basic_auth(
                        &self.settings.client_id,
                        Some(self.settings.client_secret.expose()),
                    )
                    .form(&[("grant_type", "client_credentials")]);
                service_token::parse(&self.caller.send(request, Retry::Never).await?)
            })
            .await
    }

    async fn call(
        &self,
        method: reqwest::Method,
        url: String,
        body: Option<(&str, Json)>,
        stage: Stage,
    ) -> Result<Json, LegacyError> {
        let token = self.worker_token().await?;
        let mut request = self
            .caller
            .client()
            .request(method.clone(), url)
            .bearer_auth(token.expose())
            .header("accept", "application/json");
        if let Some((media_type, body)) = body {
            request = request
                .header("content-type", media_type)
                .body(body.to_string());
        }
        let retry = if method == reqwest::Method::GET {
            Retry::Idempotent
        } else {
            Retry::Never
        };
        let answer = self.caller.send(request, retry).await?;
        self.classify(&answer, stage).await
    }

    // --- classify: every PingOne answer is read here ----------------------------------------

    async fn classify(&self, answer: &Answer, stage: Stage) -> Result<Json, LegacyError> {
        if (200..300).contains(&answer.status) {
            return Ok(answer.json()?);
        }
        let body: Json = serde_json::from_slice(&answer.body).unwrap_or(Json::Null);
        let codes: Vec<String> = std::iter::once(&body["code"])
            .chain(
                body["details"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|d| &d["code"]),
            )
            .filter_map(Json::as_str)
            .map(str::to_owned)
            .collect();
        let has = |needle: &str| codes.iter().any(|c| c.contains(needle));
        let refusal = match (answer.status, stage) {
            (429, _) => Refusal::RateLimited,
            _ if has("REQUEST_LIMITED") => Refusal::RateLimited,
            (500..=599, _) => Refusal::Unavailable,
            (401, _) => {
                self.token.forget().await;
                Refusal::Unavailable
            }
            _ if has("PASSWORD_LOCKED_OUT") => Refusal::Locked,
            (_, Stage::Password) if has("NO_PASSWORD") => Refusal::InvalidCredentials,
            (400 | 404, Stage::Password) => Refusal::InvalidCredentials,
            (_, Stage::Code) if has("LIMIT_EXCEEDED") || has("BLOCKED") => Refusal::TooManyAttempts,
            (_, Stage::Code) if has("EXPIRED") => Refusal::Expired,
            (404, Stage::Code) => Refusal::Expired,
            (400, Stage::Code) => Refusal::InvalidCode,
            (404, Stage::Lookup) => Refusal::NotEnrolled,
            _ => Refusal::Unavailable,
        };
        let code = codes.join(",");
        let code = if code.is_empty() {
            answer.status.to_string()
        } else {
            code
        };
        Err(LegacyError::refused_with(refusal, Some(code)).retry_after(answer.retry_after))
    }

    // --- steps ------------------------------------------------------------------------------

    /// The user record, found by username. A name that cannot be put into the filter safely
    /// is treated as unknown.
    async fn user(&self, username: &str) -> Result<Option<Json>, LegacyError> {
        if username.contains(['"', '\\']) || username.chars().any(char::is_control) {
            return Ok(None);
        }
        let mut url = reqwest::Url::parse(&format!("{}/users", self.api))
            .map_err(|_| LegacyError::Misconfigured("bad api_base_url".into()))?;
        url.query_pairs_mut()
            .append_pair("filter", &format!("username eq \"{username}\""));
        let found = self
            .call(reqwest::Method::GET, url.to_string(), None, Stage::Lookup)
            .await?;
        Ok(found["_embedded"]["users"]
            .as_array()
            .and_then(|u| u.first())
            .cloned())
    }

    async fn start_device_authentication(
        &self,
        kind: FactorKind,
        username: &str,
    ) -> Result<Continuation, LegacyError> {
        let not_enrolled =
            || LegacyError::refused_with(Refusal::NotEnrolled, Some("no such device"));
        let user = self.user(username).await?.ok_or_else(not_enrolled)?;
        let user_id = user["id"].as_str().unwrap_or_default().to_owned();
        let devices = self
            .call(
                reqwest::Method::GET,
                format!("{}/users/{user_id}/devices", self.api),
                None,
                Stage::Lookup,
            )
            .await?;
        let device = devices["_embedded"]["devices"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|d| {
                device_kind(d) == Some(kind) && d["status"].as_str().is_none_or(|s| s == "ACTIVE")
            })
            .cloned()
            .ok_or_else(not_enrolled)?;
        let device_id = device["id"].as_str().unwrap_or_default().to_owned();
        let mut body = json!({ "user": { "id": user_id }, "device": { "id": device_id } });
        if let Some(policy) = &self.settings.mfa_policy_id {
            body["policy"] = json!({ "id": policy });
        }

        let mut started = self
            .call(
                reqwest::Method::POST,
                format!("{}/deviceAuthentications", self.auth),
                Some(("application/json", body)),
                Stage::Code,
            )
            .await?;

        let id = started["id"].as_str().unwrap_or_default().to_owned();
        if started["status"] == "DEVICE_SELECTION_REQUIRED" {
            let select = json!({ "device": { "id": device_id } });
            started = self
                .call(
                    reqwest::Method::POST,
                    format!("{}/deviceAuthentications/{id}", self.auth),
                    Some((DEVICE_SELECT, select)),
                    Stage::Code,
                )
                .await?;
        }
        if started["status"] != "OTP_REQUIRED" || id.is_empty() {
            let status = started["status"].as_str().unwrap_or("no status").to_owned();
            return Err(LegacyError::refused_with(
                Refusal::Unavailable,
                Some(status),
            ));
        }
        let mut pending = Continuation::new(username, false)
            .with_id("user_id", user_id)
            .with_secret("device_authentication", id);
        pending.hint = device["email"]
            .as_str()
            .or_else(|| device["phone"].as_str())
            .map(str::to_owned);
        Ok(pending)
    }

    async fn check_otp(
        &self,
        pending: &Continuation,
        code: &Secret,
    ) -> Result<Verified, LegacyError> {
        let id = pending
            .secret("device_authentication")
            .map_or("", Secret::expose);
        let body = json!({ "otp": code.expose() });

        let answer = self
            .call(
                reqwest::Method::POST,
                format!("{}/deviceAuthentications/{id}", self.auth),
                Some((OTP_CHECK, body)),
                Stage::Code,
            )
            .await?;

        if answer["status"] != "COMPLETED" {
            let status = answer["status"].as_str().unwrap_or("no status").to_owned();
            return Err(LegacyError::refused_with(
                Refusal::InvalidCode,
                Some(status),
            ));
        }
        let user_id = pending.id("user_id").unwrap_or_default();
        let user = self
            .call(
                reqwest::Method::GET,
                format!("{}/users/{user_id}", self.api),
                None,
                Stage::Lookup,
            )
            .await?;
        verified(&user)
    }
}

fn device_kind(device: &Json) -> Option<FactorKind> {
    Some(match device["type"].as_str()? {
        "EMAIL" => FactorKind::Email,
        "SMS" => FactorKind::Sms,
        "TOTP" => FactorKind::Totp,
        _ => FactorKind::Other,
    })
}

fn verified(user: &Json) -> Result<Verified, LegacyError> {
    let mut claims = user.as_object().cloned().unwrap_or_default();
    claims.remove("_links");
    if let Some(id) = claims.get("id").cloned() {
        claims.insert("sub".into(), id);
    }
    Verified::from_claims(claims, "sub")
        .ok_or_else(|| LegacyError::Misconfigured("PingOne's user record has no id".into()))
}

#[async_trait]
impl Connector for PingOne {
    async fn check_password(
        &self,
        username: &str,
        password: &Secret,
    ) -> Result<Verified, LegacyError> {
        let Some(user) = self.user(username).await? else {
            return Err(LegacyError::refused_with(
                Refusal::InvalidCredentials,
                Some("no such user"),
            ));
        };
        let id = user["id"].as_str().unwrap_or_default();
        let url = format!("{}/users/{id}/password", self.api);
        let body = json!({ "password": password.expose() });

        let answer = self
            .call(
                reqwest::Method::POST,
                url,
                Some((PASSWORD_CHECK, body)),
                Stage::Password,
            )
            .await?;

        match answer["status"].as_str() {
            Some("OK") => verified(&user),
            Some(s @ ("MUST_CHANGE_PASSWORD" | "PASSWORD_EXPIRED")) => {
                Err(LegacyError::after_password(Refusal::PasswordExpired, s))
            }
            other => Err(LegacyError::refused_with(
                Refusal::Unavailable,
                Some(other.unwrap_or("no status").to_owned()),
            )),
        }
    }

    async fn send_code(
        &self,
        channel: FactorKind,
        username: &str,
        after: Option<&Continuation>,
    ) -> Result<Continuation, LegacyError> {
        if after.is_some() || !matches!(channel, FactorKind::Email | FactorKind::Sms) {
            return Err(LegacyError::NotOffered(
                "PingOne codes other than an enrolled email or SMS device",
            ));
        }
        self.start_device_authentication(channel, username).await
    }

    async fn verify_code(
        &self,
        pending: &Continuation,
        code: &Secret,
    ) -> Result<Verified, LegacyError> {
        self.check_otp(pending, code).await
    }

    async fn check_totp(&self, check: TotpCheck<'_>) -> Result<Verified, LegacyError> {
        let pending = self
            .start_device_authentication(FactorKind::Totp, check.username)
            .await?;
        self.check_otp(&pending, check.code).await
    }
}
