//! A provider's signing keys: fetched from its JWKS URI, cached, and fetched again once when
//! a token names a key the cache does not hold.

use std::sync::Arc;
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{Jwk, JwkSet};
use tokio::sync::Mutex;

use super::http::{self, HttpError};

/// The shortest time between two fetches, so unknown `kid`s cannot make Ferry hammer the IDP.
const MIN_REFETCH: Duration = Duration::from_secs(5);

/// How long a fetched key set is trusted before it is fetched again.
const MAX_AGE: Duration = Duration::from_secs(3600);

/// The keys of one JWKS URI.
#[derive(Debug)]
pub struct JwksCache {
    uri: String,
    client: reqwest::Client,
    state: Mutex<Option<(Arc<JwkSet>, Instant)>>,
}

/// Which key a token's header selects.
#[derive(Debug)]
pub enum KeyLookup {
    /// The key.
    Found(Box<Jwk>),
    /// No key has the token's `kid`, even after fetching again.
    UnknownKid(String),
    /// The token has no `kid` and the set holds several keys.
    Ambiguous,
    /// The set holds no key at all.
    Empty,
}

impl JwksCache {
    /// A cache for `uri`, empty until first used.
    pub fn new(uri: impl Into<String>, client: reqwest::Client) -> Self {
        Self {
            uri: uri.into(),
            client,
            state: Mutex::new(None),
        }
    }

    /// A cache already holding `set`, as if just fetched from `uri` (benchmarks, tests).
    pub fn seeded(uri: impl Into<String>, client: reqwest::Client, set: JwkSet) -> Self {
        Self {
            uri: uri.into(),
            client,
            state: Mutex::new(Some((Arc::new(set), Instant::now()))),
        }
    }

    /// The key set's URI.
    pub fn uri(&self) -> &str {
        &self.uri
    }

    /// The key a token header names, fetching the set if needed and once more if the `kid`
    /// is unknown.
    pub async fn key(&self, kid: Option<&str>) -> Result<KeyLookup, HttpError> {
        let set = self.current(false).await?;
        let found = select(&set, kid);
        if !matches!(found, KeyLookup::UnknownKid(_)) {
            return Ok(found);
        }
        let refreshed = self.current(true).await?;
        Ok(select(&refreshed, kid))
    }

    async fn current(&self, refresh: bool) -> Result<Arc<JwkSet>, HttpError> {
        let mut state = self.state.lock().await;
        if let Some((set, at)) = state.as_ref() {
            let fresh = at.elapsed() < MAX_AGE;
            if (fresh && !refresh) || at.elapsed() < MIN_REFETCH {
                return Ok(set.clone());
            }
        }
        let set: JwkSet = http::get_json(&self.client, &self.uri).await?;
        let set = Arc::new(set);
        *state = Some((set.clone(), Instant::now()));
        Ok(set)
    }
}

fn select(set: &JwkSet, kid: Option<&str>) -> KeyLookup {
    match kid {
        Some(kid) => match set.find(kid) {
            Some(key) => KeyLookup::Found(Box::new(key.clone())),
            None => KeyLookup::UnknownKid(kid.to_owned()),
        },
        None => match set.keys.as_slice() {
            [] => KeyLookup::Empty,
            [only] => KeyLookup::Found(Box::new(only.clone())),
            _ => KeyLookup::Ambiguous,
        },
    }
}
