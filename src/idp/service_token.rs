//! A provider's API token for Ferry itself (OAuth client credentials), fetched when first
//! needed and reused until shortly before it expires. OneLogin and PingOne need one to reach
//! their login and MFA APIs.

use std::time::{Duration, Instant};

use tokio::sync::Mutex;

use super::LegacyError;
use crate::secret::Secret;

/// A cached token.
#[derive(Debug, Default)]
pub struct ServiceToken {
    cached: Mutex<Option<(Secret, Instant)>>,
}

impl ServiceToken {
    /// The cached token, or a new one from `fetch` (which returns the token and its
    /// lifetime in seconds).
    pub async fn get<F, Fut>(&self, fetch: F) -> Result<Secret, LegacyError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<(Secret, u64), LegacyError>>,
    {
        let mut cached = self.cached.lock().await;
        if let Some((token, until)) = cached.as_ref()
            && Instant::now() < *until
        {
            return Ok(token.clone());
        }
        let (token, lifetime) = fetch().await?;
        let margin = lifetime.saturating_sub(60).max(lifetime / 2);
        *cached = Some((token.clone(), Instant::now() + Duration::from_secs(margin)));
        Ok(token)
    }

    /// Forgets the token, after the provider refused it.
    pub async fn forget(&self) {
        *self.cached.lock().await = None;
    }
}

/// Reads `{ access_token, expires_in }` from a client-credentials answer.
pub fn parse(answer: &super::http::Answer) -> Result<(Secret, u64), LegacyError> {
    if answer.status != 200 {
        return Err(LegacyError::refused_with(
            super::Refusal::Unavailable,
            Some(format!("service token {}", answer.status)),
        ));
    }
    let body: serde_json::Value = answer.json()?;
    let token = body["access_token"]
        .as_str()
        .ok_or_else(|| answer.unreadable("no access_token for Ferry's API client"))?;
    Ok((
        Secret::new(token),
        body["expires_in"].as_u64().unwrap_or(300),
    ))
}
