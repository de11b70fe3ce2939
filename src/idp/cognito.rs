//! AWS Cognito user pools, through the unauthenticated `InitiateAuth` and
//! `RespondToAuthChallenge` calls of the AWS JSON protocol (no SigV4): the password with
//! `USER_PASSWORD_AUTH` and `SECRET_HASH`, the SMS_MFA, EMAIL_OTP and SOFTWARE_TOKEN_MFA
//! challenges after it, and email or SMS codes as a first factor through the choice-based
//! `USER_AUTH` flow. Claims come from the ID token, verified against the pool's JWKS.
//! Facts: `docs/idp-apis.md` §2.3 and §4.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use aws_lc_rs::hmac;
use base64::Engine as _;
use serde::Deserialize;
use serde_json::{Value as Json, json};

use super::http::{Answer, SetupError, check_url};
use super::id_token::{self, Expected};
use super::jwks::JwksCache;
use super::limits::{Caller, LimitSettings, Retry, presets};
use super::{
    Connector, Continuation, Factor, FactorKind, LegacyError, Refusal, TotpCheck, Verified,
};
use crate::clock::{SharedClock, SystemClock};
use crate::secret::Secret;

/// The connector's settings in ferry.yaml.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// `cognito`; checked against the journey's declaration.
    pub provider: Option<String>,
    /// The user-pools API: `https://cognito-idp.{region}.amazonaws.com/`.
    pub endpoint: String,
    /// The app client id.
    pub client_id: String,
    /// The app client secret, as a `${NAME}` reference, when the client has one.
    pub client_secret: Option<Secret>,
    /// The ID token issuer: `https://cognito-idp.{region}.amazonaws.com/{userPoolId}`.
    pub issuer: String,
    /// The pool's keys; default `{issuer}/.well-known/jwks.json`.
    pub jwks_uri: Option<String>,
    /// What a disabled user's refusal becomes: `invalid_credentials` (default, the same
    /// answer as a wrong password) or `locked`.
    #[serde(default = "default_disabled")]
    pub disabled_user: Refusal,
    /// Clock skew tolerated when checking token times.
    #[serde(default = "default_skew")]
    pub clock_skew_seconds: i64,
    /// Overrides of the client-side limits.
    pub limits: Option<LimitSettings>,
}

fn default_disabled() -> Refusal {
    Refusal::InvalidCredentials
}

fn default_skew() -> i64 {
    60
}

/// A Cognito user pool app client.
#[derive(Debug)]
pub struct Cognito {
    settings: Settings,
    endpoint: String,
    caller: Caller,
    jwks: JwksCache,
    clock: SharedClock,
}

/// Which call an answer came from: a missing resource means a bad client id on the first,
/// a used-up session on the second.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Call {
    Initiate,
    Respond,
}

/// A successful answer: tokens, or a challenge.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct AuthAnswer {
    authentication_result: Option<AuthResult>,
    challenge_name: Option<String>,
    session: Option<String>,
    #[serde(default)]
    challenge_parameters: BTreeMap<String, String>,
    #[serde(default)]
    available_challenges: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct AuthResult {
    id_token: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct ErrorBody {
    #[serde(rename = "__type")]
    kind: Option<String>,
    #[serde(alias = "Message")]
    message: Option<String>,
}

impl Cognito {
    /// A connector on the system clock.
    pub fn new(settings: Settings) -> Result<Self, SetupError> {
        Self::with_clock(settings, Arc::new(SystemClock))
    }

    /// A connector on a given clock.
    pub fn with_clock(settings: Settings, clock: SharedClock) -> Result<Self, SetupError> {
        let endpoint = check_url("endpoint", &settings.endpoint)?;
        let jwks_uri = settings.jwks_uri.clone().unwrap_or_else(|| {
            format!(
                "{}/.well-known/jwks.json",
                settings.issuer.trim_end_matches('/')
            )
        });
        let jwks_uri = check_url("jwks_uri", &jwks_uri)?;
        let caller = Caller::new(presets::COGNITO.with(settings.limits.as_ref())?)?;
        let jwks = JwksCache::new(jwks_uri, caller.client().clone());
        Ok(Self {
            endpoint: format!("{endpoint}/"),
            settings,
            caller,
            jwks,
            clock,
        })
    }

    // --- requests -------------------------------------------------------------------------

    fn request(&self, action: &str, body: &Json) -> reqwest::RequestBuilder {
        self.caller
            .client()
            .post(&self.endpoint)
            .header("content-type", "application/x-amz-json-1.1")
            .header(
                "x-amz-target",
                format!("AWSCognitoIdentityProviderService.{action}"),
            )
            .body(body.to_string())
    }

    fn initiate(&self, flow: &str, username: &str, mut parameters: Json) -> Json {
        parameters["USERNAME"] = json!(username);
        if let Some(hash) = self.secret_hash(username) {
            parameters["SECRET_HASH"] = json!(hash);
        }
        json!({
            "AuthFlow": flow,
            "ClientId": self.settings.client_id,
            "AuthParameters": parameters,
        })
    }

    fn respond(&self, pending: &Continuation, challenge: &str, mut responses: Json) -> Json {
        responses["USERNAME"] = json!(pending.username);
        if let Some(hash) = self.secret_hash(&pending.username) {
            responses["SECRET_HASH"] = json!(hash);
        }
        let session = pending.secret("session").map_or("", Secret::expose);
        json!({
            "ClientId": self.settings.client_id,
            "ChallengeName": challenge,
            "Session": session,
            "ChallengeResponses": responses,
        })
    }

    /// Base64(HMAC-SHA256(client secret, username + client id)), for clients with a secret.
    fn secret_hash(&self, username: &str) -> Option<String> {
        let secret = self.settings.client_secret.as_ref()?;
        let key = hmac::Key::new(hmac::HMAC_SHA256, secret.expose().as_bytes());
        let message = format!("{username}{}", self.settings.client_id);
        let tag = hmac::sign(&key, message.as_bytes());
        Some(base64::engine::general_purpose::STANDARD.encode(tag.as_ref()))
    }

    // --- call -----------------------------------------------------------------------------

    async fn call(&self, action: &str, body: &Json, call: Call) -> Result<AuthAnswer, LegacyError> {
        let answer = self
            .caller
            .send(self.request(action, body), Retry::Never)
            .await?;
        self.classify(&answer, call)
    }

    // --- classify: every Cognito answer is read here ----------------------------------------

    fn classify(&self, answer: &Answer, call: Call) -> Result<AuthAnswer, LegacyError> {
        if answer.status == 200 {
            return Ok(answer.json()?);
        }
        if answer.status >= 500 {
            return Err(LegacyError::refused_with(
                Refusal::Unavailable,
                Some(answer.status.to_string()),
            ));
        }
        let body: ErrorBody = serde_json::from_slice(&answer.body).unwrap_or_default();
        let kind = body
            .kind
            .or_else(|| answer.header("x-amzn-errortype").map(str::to_owned))
            .map(|k| error_name(&k).to_owned())
            .ok_or_else(|| answer.unreadable("no error type in the answer"))?;
        let message = body.message.unwrap_or_default().to_ascii_lowercase();
        let refusal = self.refusal(&kind, &message, call);
        if refusal == Refusal::RateLimited {
            // Cognito throttles with HTTP 400: hold further calls for a moment.
            let wait = answer.retry_after.unwrap_or(1);
            self.caller.back_off(std::time::Duration::from_secs(wait));
        }
        Err(LegacyError::refused_with(refusal, Some(kind)).retry_after(answer.retry_after))
    }

    fn refusal(&self, kind: &str, message: &str, call: Call) -> Refusal {
        match kind {
            "NotAuthorizedException" => self.not_authorized(message),
            // cognito-local refuses a wrong password with InvalidPasswordException.
            "UserNotFoundException" | "InvalidPasswordException" => Refusal::InvalidCredentials,
            "UserNotConfirmedException" => Refusal::NotConfirmed,
            "PasswordResetRequiredException" => Refusal::PasswordExpired,
            "TooManyRequestsException" | "LimitExceededException" => Refusal::RateLimited,
            "CodeMismatchException" => Refusal::InvalidCode,
            "ExpiredCodeException" => Refusal::Expired,
            "TooManyFailedAttemptsException" => Refusal::TooManyAttempts,
            "SoftwareTokenMfaNotFoundException" | "MFAMethodNotFoundException" => {
                Refusal::NotEnrolled
            }
            // On a challenge answer, a session Cognito no longer knows.
            "ResourceNotFoundException" if call == Call::Respond => Refusal::Expired,
            _ => Refusal::Unavailable,
        }
    }

    fn not_authorized(&self, message: &str) -> Refusal {
        if message.contains("password attempts exceeded") {
            Refusal::Locked
        } else if message.contains("user is disabled") {
            self.settings.disabled_user
        } else if message.contains("secret hash") {
            Refusal::Unavailable
        } else if message.contains("session") {
            Refusal::Expired
        } else {
            Refusal::InvalidCredentials
        }
    }

    /// Where an answer leads: tokens are checked; a challenge after a proven password is
    /// `mfa_required` or `password_expired`; anything else Ferry cannot follow.
    async fn conclude(
        &self,
        answer: AuthAnswer,
        username: &str,
        password_verified: bool,
    ) -> Result<Verified, LegacyError> {
        if let Some(result) = answer.authentication_result {
            return self.verified(result).await;
        }
        let name = answer.challenge_name.clone().unwrap_or_default();
        match name.as_str() {
            "SMS_MFA" | "EMAIL_OTP" | "SOFTWARE_TOKEN_MFA" | "SELECT_MFA_TYPE" | "MFA_SETUP" => {
                let continuation = continuation(answer, username, password_verified);
                Err(LegacyError::mfa_required(name, continuation))
            }
            "NEW_PASSWORD_REQUIRED" if password_verified => {
                Err(LegacyError::after_password(Refusal::PasswordExpired, name))
            }
            _ => Err(LegacyError::refused_with(Refusal::Unavailable, Some(name))),
        }
    }

    async fn verified(&self, result: AuthResult) -> Result<Verified, LegacyError> {
        let token = result
            .id_token
            .ok_or_else(|| LegacyError::Misconfigured("Cognito returned no ID token".into()))?;
        let issuers = [self.settings.issuer.clone()];
        let expected = Expected {
            issuers: &issuers,
            client_id: &self.settings.client_id,
            nonce: None,
            now: self.clock.now_secs(),
            skew: self.settings.clock_skew_seconds,
        };
        let claims = id_token::validate(&token, &self.jwks, &expected).await?;
        Verified::from_claims(claims, "sub")
            .ok_or_else(|| LegacyError::Misconfigured("the ID token has no `sub`".into()))
    }

    /// Answers SELECT_MFA_TYPE (or USER_AUTH's SELECT_CHALLENGE) with the factor wanted.
    async fn choose(
        &self,
        pending: &Continuation,
        select: &str,
        answer: &str,
    ) -> Result<AuthAnswer, LegacyError> {
        let body = self.respond(pending, select, json!({ "ANSWER": answer }));
        self.call("RespondToAuthChallenge", &body, Call::Respond)
            .await
    }

    /// A challenge that delivered a code, as the continuation its check needs.
    fn code_sent(
        &self,
        answer: AuthAnswer,
        expected: &str,
        username: &str,
        password_verified: bool,
    ) -> Result<Continuation, LegacyError> {
        match answer.challenge_name.as_deref() {
            Some(name) if name == expected => Ok(continuation(answer, username, password_verified)),
            Some(other) => Err(LegacyError::refused_with(
                Refusal::Unavailable,
                Some(other.to_owned()),
            )),
            None => Err(LegacyError::Misconfigured(
                "Cognito signed the user in without the code".into(),
            )),
        }
    }
}

/// `com.amazonaws…#NotAuthorizedException` or `NotAuthorizedException:http://…` → the name.
fn error_name(raw: &str) -> &str {
    let name = raw.rsplit('#').next().unwrap_or(raw);
    name.split(':').next().unwrap_or(name)
}

fn continuation(answer: AuthAnswer, username: &str, password_verified: bool) -> Continuation {
    let p = &answer.challenge_parameters;
    let name = answer.challenge_name.clone().unwrap_or_default();
    let user = p.get("USER_ID_FOR_SRP").map_or(username, String::as_str);
    let hint = p.get("CODE_DELIVERY_DESTINATION").cloned();
    let mut c = Continuation::new(user, password_verified).with_id("challenge", &name);
    c.hint = hint.clone();
    c.factors = match name.as_str() {
        "SELECT_MFA_TYPE" => choices(p.get("MFAS_CAN_CHOOSE")),
        "SELECT_CHALLENGE" => answer
            .available_challenges
            .iter()
            .filter_map(|c| factor_of(c))
            .collect(),
        one => factor_of(one).into_iter().collect(),
    };
    for factor in &mut c.factors {
        factor.hint = factor.hint.take().or_else(|| hint.clone());
    }
    if let Some(session) = answer.session {
        c = c.with_secret("session", session);
    }
    c
}

fn choices(list: Option<&String>) -> Vec<Factor> {
    let names: Vec<String> = list
        .and_then(|l| serde_json::from_str(l).ok())
        .unwrap_or_default();
    names.iter().filter_map(|n| factor_of(n)).collect()
}

fn factor_of(challenge: &str) -> Option<Factor> {
    let kind = match challenge {
        "SMS_MFA" | "SMS_OTP" => FactorKind::Sms,
        "EMAIL_OTP" => FactorKind::Email,
        "SOFTWARE_TOKEN_MFA" => FactorKind::Totp,
        _ => return None,
    };
    Some(Factor {
        kind,
        id: Some(challenge.to_owned()),
        hint: None,
    })
}

/// The challenge name and response key of a code, by challenge.
fn code_key(challenge: &str) -> Option<&'static str> {
    Some(match challenge {
        "SMS_MFA" => "SMS_MFA_CODE",
        "SMS_OTP" => "SMS_OTP_CODE",
        "EMAIL_OTP" => "EMAIL_OTP_CODE",
        "SOFTWARE_TOKEN_MFA" => "SOFTWARE_TOKEN_MFA_CODE",
        _ => return None,
    })
}

#[async_trait]
impl Connector for Cognito {
    async fn check_password(
        &self,
        username: &str,
        password: &Secret,
    ) -> Result<Verified, LegacyError> {
        let parameters = json!({ "PASSWORD": password.expose() });
        let body = self.initiate("USER_PASSWORD_AUTH", username, parameters);

        let answer = self.call("InitiateAuth", &body, Call::Initiate).await?;

        self.conclude(answer, username, true).await
    }

    async fn send_code(
        &self,
        channel: FactorKind,
        username: &str,
        after: Option<&Continuation>,
    ) -> Result<Continuation, LegacyError> {
        let (mfa, first) = match channel {
            FactorKind::Sms => ("SMS_MFA", "SMS_OTP"),
            FactorKind::Email => ("EMAIL_OTP", "EMAIL_OTP"),
            _ => return Err(LegacyError::NotOffered("this code channel")),
        };
        let Some(pending) = after else {
            return self.first_factor(first, username).await;
        };
        match pending.id("challenge") {
            Some(name) if name == mfa => Ok(pending.clone()),
            Some("SELECT_MFA_TYPE") if pending.factor(channel).is_some() => {
                let answer = self.choose(pending, "SELECT_MFA_TYPE", mfa).await?;
                self.code_sent(answer, mfa, &pending.username, pending.password_verified)
            }
            other => Err(LegacyError::refused_with(
                Refusal::NotEnrolled,
                other.map(str::to_owned),
            )),
        }
    }

    async fn verify_code(
        &self,
        pending: &Continuation,
        code: &Secret,
    ) -> Result<Verified, LegacyError> {
        let challenge = pending.id("challenge").unwrap_or_default();
        let key = code_key(challenge).ok_or(LegacyError::NotOffered(
            "a code check outside a Cognito code challenge",
        ))?;
        let body = self.respond(pending, challenge, json!({ key: code.expose() }));

        let answer = self
            .call("RespondToAuthChallenge", &body, Call::Respond)
            .await?;

        self.conclude(answer, &pending.username, pending.password_verified)
            .await
    }

    async fn check_totp(&self, check: TotpCheck<'_>) -> Result<Verified, LegacyError> {
        let Some(pending) = check.after else {
            return Err(LegacyError::NotOffered(
                "authenticator codes except after a Cognito password step",
            ));
        };
        let pending = match pending.id("challenge") {
            Some("SOFTWARE_TOKEN_MFA") => pending.clone(),
            Some("SELECT_MFA_TYPE") if pending.factor(FactorKind::Totp).is_some() => {
                let answer = self
                    .choose(pending, "SELECT_MFA_TYPE", "SOFTWARE_TOKEN_MFA")
                    .await?;
                let (user, proven) = (pending.username.clone(), pending.password_verified);
                self.code_sent(answer, "SOFTWARE_TOKEN_MFA", &user, proven)?
            }
            other => {
                return Err(LegacyError::refused_with(
                    Refusal::NotEnrolled,
                    other.map(str::to_owned),
                ));
            }
        };
        self.verify_code(&pending, check.code).await
    }
}

impl Cognito {
    /// USER_AUTH with a preferred email or SMS code: Cognito sends it at once, or offers a
    /// choice that Ferry answers when the factor is among it.
    async fn first_factor(
        &self,
        wanted: &str,
        username: &str,
    ) -> Result<Continuation, LegacyError> {
        let body = self.initiate(
            "USER_AUTH",
            username,
            json!({ "PREFERRED_CHALLENGE": wanted }),
        );
        let answer = self.call("InitiateAuth", &body, Call::Initiate).await?;
        if answer.challenge_name.as_deref() != Some("SELECT_CHALLENGE") {
            return self.code_sent(answer, wanted, username, false);
        }
        if !answer.available_challenges.iter().any(|c| c == wanted) {
            return Err(LegacyError::refused_with(
                Refusal::NotEnrolled,
                Some("SELECT_CHALLENGE"),
            ));
        }
        let pending = continuation(answer, username, false);
        let chosen = self.choose(&pending, "SELECT_CHALLENGE", wanted).await?;
        self.code_sent(chosen, wanted, &pending.username, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn connector(secret: Option<&str>) -> Cognito {
        let settings: Settings = serde_json::from_value(json!({
            "endpoint": "http://127.0.0.1:9/",
            "client_id": "client",
            "client_secret": secret,
            "issuer": "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_x",
            "jwks_uri": "http://127.0.0.1:9/jwks",
        }))
        .unwrap();
        Cognito::new(settings).unwrap()
    }

    #[test]
    fn secret_hash_is_hmac_sha256_of_username_and_client_id() {
        // Reference value: printf 'aliceclient' | openssl dgst -sha256 -hmac s3cret -binary | base64
        let hash = connector(Some("s3cret")).secret_hash("alice").unwrap();
        assert_eq!(hash, "zIm1iOpDWkme0iQzPHrgGNVuF8AjB5f8u4LHtREhz4c=");
        assert_eq!(connector(None).secret_hash("alice"), None);
    }

    #[test]
    fn error_names_lose_their_prefixes() {
        assert_eq!(
            error_name("com.amazon.coral.service#NotAuthorizedException"),
            "NotAuthorizedException"
        );
        assert_eq!(
            error_name("NotAuthorizedException:http://internal.amazon.com/coral/"),
            "NotAuthorizedException"
        );
    }

    #[test]
    fn a_plain_http_endpoint_off_loopback_is_refused() {
        let settings: Settings = serde_json::from_value(json!({
            "endpoint": "http://cognito-idp.eu-west-1.amazonaws.com/",
            "client_id": "c", "issuer": "https://x", "jwks_uri": "http://127.0.0.1:9/jwks",
        }))
        .unwrap();
        assert!(matches!(
            Cognito::new(settings),
            Err(SetupError::Insecure { field: "endpoint" })
        ));
    }
}
