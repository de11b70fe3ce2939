//! The `authenticators` section of `ferry.yaml`: the key that encrypts stored credentials
//! and the parameters of new TOTP secrets.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value as Json;

use super::totp::Algorithm;
use crate::secret::Secret;

/// Settings for local authenticators other than passwords.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthenticatorSettings {
    /// The AES-256-GCM key that encrypts TOTP seeds at rest: 32 bytes in base64, as a
    /// `${NAME}` reference. Without it, journeys with TOTP steps are not ready.
    pub encryption_key: Option<Secret>,
    /// The key's id, written into every sealed value so a rotated key is recognised.
    pub key_id: String,
    /// New TOTP secrets.
    pub totp: TotpSettings,
    /// One-time codes Ferry sends itself (`local_otp` steps).
    pub codes: CodeSettings,
    /// How email codes are sent; without it, email `local_otp` steps are not ready.
    pub email: Option<EmailSettings>,
    /// How SMS codes are sent; without it, SMS `local_otp` steps are not ready.
    pub sms: Option<SmsSettings>,
    /// The WebAuthn relying party; without it, passkey steps are not ready.
    pub passkeys: Option<PasskeySettings>,
}

/// The WebAuthn relying party passkeys are bound to.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasskeySettings {
    /// The relying party id: the site's domain (`example.com`); `localhost` for tests.
    pub rp_id: String,
    /// The origin the browser reports (`https://login.example.com`).
    pub origin: String,
    /// The name authenticators show.
    #[serde(default = "default_rp_name")]
    pub rp_name: String,
}

fn default_rp_name() -> String {
    "Ferry".into()
}

impl Default for AuthenticatorSettings {
    fn default() -> Self {
        Self {
            encryption_key: None,
            key_id: "k1".into(),
            totp: TotpSettings::default(),
            codes: CodeSettings::default(),
            email: None,
            sms: None,
            passkeys: None,
        }
    }
}

/// Limits of the one-time codes Ferry sends.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CodeSettings {
    /// Digits per code.
    pub digits: u32,
    /// How long a code is valid, in seconds.
    pub ttl_seconds: u64,
    /// Wrong codes allowed per step, across resends.
    pub max_attempts: u32,
    /// Codes sent per step, the first included.
    pub max_sends: u32,
    /// Codes sent to one account and from one client address, across sessions.
    pub send_limits: SendLimits,
}

/// How many codes one account, and one client address, may be sent before sending stops for
/// a while; counted in the user store, so every node and every session shares the count.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct SendLimits {
    /// Codes per account (identifier) within one window.
    pub account: u32,
    /// Codes per client address within one window.
    pub client: u32,
    /// The window in seconds: it starts again once this long has passed since the last code
    /// sent, and a spent limit holds for this long.
    pub window_seconds: u64,
}

impl Default for SendLimits {
    fn default() -> Self {
        Self {
            account: 10,
            client: 50,
            window_seconds: 3_600,
        }
    }
}

impl Default for CodeSettings {
    fn default() -> Self {
        Self {
            digits: 6,
            ttl_seconds: 300,
            max_attempts: 5,
            max_sends: 3,
            send_limits: SendLimits::default(),
        }
    }
}

/// How the SMTP connection is secured.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SmtpSecurity {
    /// TLS from the first byte (port 465).
    #[default]
    Tls,
    /// STARTTLS, required (port 587).
    Starttls,
    /// None: allowed only to a loopback address, for tests.
    None,
}

/// Email codes by SMTP.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailSettings {
    /// The SMTP server's host name or address.
    pub host: String,
    /// Its port; default by `security`: 465, 587, or 25.
    pub port: Option<u16>,
    /// How the connection is secured.
    #[serde(default)]
    pub security: SmtpSecurity,
    /// SMTP AUTH user.
    pub username: Option<String>,
    /// SMTP AUTH password, as a `${NAME}` reference.
    pub password: Option<Secret>,
    /// The sender, such as `Ferry <noreply@example.com>`.
    pub from: String,
    /// The subject.
    #[serde(default = "default_subject")]
    pub subject: String,
    /// The text; `{{ code }}` and `{{ minutes }}` are replaced.
    #[serde(default = "default_message")]
    pub body: String,
    /// Longest a delivery may take, in seconds.
    #[serde(default = "default_timeout")]
    pub timeout_seconds: u64,
}

/// SMS codes through an HTTP gateway whose request shape is configured.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmsSettings {
    /// The gateway's URL; `{{ to }}` is replaced (URL-encoded).
    pub url: String,
    /// Extra headers, such as `Authorization: Bearer ${SMS_TOKEN}`.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// A JSON body; in its strings `{{ to }}`, `{{ code }}`, `{{ message }}` and
    /// `{{ minutes }}` are replaced.
    pub json: Option<Json>,
    /// A form body, with the same replacements; give `json` or `form`.
    pub form: Option<BTreeMap<String, String>>,
    /// The text of `{{ message }}`; `{{ code }}` and `{{ minutes }}` are replaced.
    #[serde(default = "default_message")]
    pub message: String,
    /// Longest a delivery may take, in seconds.
    #[serde(default = "default_timeout")]
    pub timeout_seconds: u64,
}

fn default_subject() -> String {
    "Your sign-in code".into()
}

fn default_message() -> String {
    "Your sign-in code is {{ code }}. It expires in {{ minutes }} minutes.".into()
}

fn default_timeout() -> u64 {
    10
}

/// Parameters of TOTP secrets Ferry generates.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TotpSettings {
    /// The issuer shown by authenticator apps.
    pub issuer: String,
    /// Digits per code.
    pub digits: u32,
    /// Seconds per code.
    pub period: u64,
    /// The HMAC: `SHA1` (what most apps support), `SHA256` or `SHA512`.
    pub algorithm: Algorithm,
}

impl Default for TotpSettings {
    fn default() -> Self {
        Self {
            issuer: "Ferry".into(),
            digits: 6,
            period: 30,
            algorithm: Algorithm::Sha1,
        }
    }
}
