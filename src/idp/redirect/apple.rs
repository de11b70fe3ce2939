//! Sign in with Apple: the client secret is an ES256 JWT Ferry makes from the team's `.p8`
//! key, valid for at most 15,777,000 seconds and remade well before that; the user's name
//! arrives only once, as a `user` JSON posted with the first authorization; and
//! `email_verified` / `is_private_email` sometimes arrive as the strings `"true"`/`"false"`.

use std::sync::Mutex;

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Map, Value as Json, json};

use super::RedirectError;
use super::settings::Settings;
use crate::idp::http::SetupError;
use crate::secret::Secret;

/// Apple's limit on a client secret's lifetime, in seconds (about six months).
pub const MAX_LIFETIME: i64 = 15_777_000;

/// The lifetime Ferry gives its client secrets: 180 days, under Apple's limit.
pub const LIFETIME: i64 = 180 * 86_400;

/// A secret is remade once less than this is left of it: a week.
pub const RENEW_BEFORE: i64 = 7 * 86_400;

/// The audience Apple requires in client secrets.
pub const AUDIENCE: &str = "https://appleid.apple.com";

/// The generated client secret, remade before it expires.
pub struct ClientSecret {
    key: EncodingKey,
    key_id: String,
    team_id: String,
    client_id: String,
    current: Mutex<Option<(Secret, i64)>>,
}

impl std::fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientSecret")
            .field("key_id", &self.key_id)
            .field("team_id", &self.team_id)
            .finish_non_exhaustive()
    }
}

impl ClientSecret {
    /// From `private_key` (the `.p8` PEM), `key_id`, `team_id` and `client_id`.
    pub fn new(settings: &Settings) -> Result<Self, SetupError> {
        let missing = |field| SetupError::Missing {
            field,
            when: "the provider is Apple",
        };
        let pem = settings
            .private_key
            .as_ref()
            .ok_or(missing("private_key"))?;
        let (key, algorithm) = super::exchange::signing_key(pem)?;
        if algorithm != Algorithm::ES256 {
            return Err(SetupError::Invalid {
                field: "private_key",
                reason: "Apple's key is a P-256 (ES256) key",
            });
        }
        Ok(Self {
            key,
            key_id: settings.key_id.clone().ok_or(missing("key_id"))?,
            team_id: settings.team_id.clone().ok_or(missing("team_id"))?,
            client_id: settings.client_id.clone(),
            current: Mutex::new(None),
        })
    }

    /// The secret to send at `now` (seconds): the current one, or a new one when the
    /// current has less than [`RENEW_BEFORE`] left.
    pub fn current(&self, now: i64) -> Result<Secret, RedirectError> {
        let mut slot = self
            .current
            .lock()
            .map_err(|_| RedirectError::Credentials("the client secret lock is poisoned".into()))?;
        if let Some((secret, exp)) = slot.as_ref()
            && exp - now > RENEW_BEFORE
        {
            return Ok(secret.clone());
        }
        let secret = self.make(now)?;
        *slot = Some((secret.clone(), now + LIFETIME));
        Ok(secret)
    }

    fn make(&self, now: i64) -> Result<Secret, RedirectError> {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(self.key_id.clone());
        let claims = json!({
            "iss": self.team_id, "iat": now, "exp": now + LIFETIME,
            "aud": AUDIENCE, "sub": self.client_id,
        });
        jsonwebtoken::encode(&header, &claims, &self.key)
            .map(Secret::new)
            .map_err(|e| RedirectError::Credentials(e.to_string()))
    }
}

/// Apple's claims made regular: string booleans become booleans, and the first login's
/// `user` JSON (`name.firstName`, `name.lastName`) becomes `given_name`, `family_name` and
/// `name` when the token has none. The `user` email is ignored: the token's is verified.
pub fn normalise(claims: &mut Map<String, Json>, user: Option<&str>) {
    for name in ["email_verified", "is_private_email"] {
        let fixed = match claims.get(name) {
            Some(Json::String(s)) if s.eq_ignore_ascii_case("true") => Some(true),
            Some(Json::String(s)) if s.eq_ignore_ascii_case("false") => Some(false),
            _ => None,
        };
        if let Some(value) = fixed {
            claims.insert(name.into(), Json::Bool(value));
        }
    }
    let Some(user) = user.and_then(|u| serde_json::from_str::<Json>(u).ok()) else {
        return;
    };
    let part = |key: &str| {
        user["name"][key]
            .as_str()
            .map(str::trim)
            .filter(|s| !s.is_empty() && s.len() <= 256)
            .map(str::to_owned)
    };
    let (first, last) = (part("firstName"), part("lastName"));
    if let Some(first) = &first {
        claims
            .entry("given_name")
            .or_insert_with(|| Json::String(first.clone()));
    }
    if let Some(last) = &last {
        claims
            .entry("family_name")
            .or_insert_with(|| Json::String(last.clone()));
    }
    let full: Vec<String> = [first, last].into_iter().flatten().collect();
    if !full.is_empty() {
        claims
            .entry("name")
            .or_insert_with(|| Json::String(full.join(" ")));
    }
}
