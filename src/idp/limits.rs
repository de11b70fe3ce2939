//! Client-side limits per provider: a timeout per call, a time budget for the whole exchange
//! (waits and retries included), retries only for idempotent calls, the provider's
//! `Retry-After` honoured, and a token-bucket rate limiter preset to the provider's published
//! limits. Every connector sends through a [`Caller`]; nothing here decides an outcome beyond
//! "throttled" and "out of time".

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde::Deserialize;

use super::LegacyError;
use super::http::{self, Answer, HttpError, SetupError};

/// Overrides of a provider's preset limits, under `limits:` in an IDP's settings.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LimitSettings {
    /// The longest one HTTP call may take.
    pub timeout_seconds: Option<u64>,
    /// The longest one exchange may take, waiting for the limiter and retries included.
    pub budget_seconds: Option<u64>,
    /// Sustained calls per second to this provider from this Ferry process.
    pub requests_per_second: Option<f64>,
    /// Calls that may be made at once after a quiet spell.
    pub burst: Option<u32>,
    /// Extra tries for idempotent calls (lookups, key sets); password and code checks are
    /// never repeated.
    pub retries: Option<u32>,
}

/// The limits a connector runs with.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Limits {
    /// Per HTTP call.
    pub timeout: Duration,
    /// Per exchange.
    pub budget: Duration,
    /// Calls per second.
    pub rate: f64,
    /// Bucket size.
    pub burst: u32,
    /// Extra tries for idempotent calls.
    pub retries: u32,
}

impl Limits {
    /// A preset: `rate` calls per second with bursts of `burst`, 10 s per call, 20 s per
    /// exchange, one retry for idempotent calls.
    pub const fn preset(rate: f64, burst: u32) -> Self {
        Self {
            timeout: Duration::from_secs(10),
            budget: Duration::from_secs(20),
            rate,
            burst,
            retries: 1,
        }
    }

    /// The preset with a deployment's overrides applied.
    pub fn with(self, settings: Option<&LimitSettings>) -> Result<Self, SetupError> {
        let Some(s) = settings else { return Ok(self) };
        let mut limits = self;
        if let Some(t) = s.timeout_seconds {
            limits.timeout = Duration::from_secs(t);
        }
        if let Some(b) = s.budget_seconds {
            limits.budget = Duration::from_secs(b);
        }
        limits.rate = s.requests_per_second.unwrap_or(limits.rate);
        limits.burst = s.burst.unwrap_or(limits.burst);
        limits.retries = s.retries.unwrap_or(limits.retries);
        limits.check()?;
        Ok(limits)
    }

    fn check(&self) -> Result<(), SetupError> {
        let invalid = |field, reason| Err(SetupError::Invalid { field, reason });
        if self.timeout.is_zero() {
            return invalid("limits.timeout_seconds", "must be at least 1");
        }
        if self.budget < self.timeout {
            return invalid("limits.budget_seconds", "must be at least timeout_seconds");
        }
        if !(self.rate.is_finite() && self.rate > 0.0) {
            return invalid("limits.requests_per_second", "must be a positive number");
        }
        if self.burst == 0 {
            return invalid("limits.burst", "must be at least 1");
        }
        Ok(())
    }
}

/// The presets, from each provider's published limits (`README.md` lists their sources).
/// They are per Ferry process; several nodes share the provider's budget, so lower them
/// there.
pub mod presets {
    use super::Limits;

    /// Okta: 600 requests a minute to `/api/v1/authn` for an org by default, and 4 a second
    /// per user name.
    pub const OKTA: Limits = Limits::preset(10.0, 20);
    /// Auth0: 25 a second sustained for the Authentication API on the self-service plans.
    pub const AUTH0: Limits = Limits::preset(25.0, 25);
    /// Cognito: the UserAuthentication category's default quota per account and region
    /// (120 a second), shared with every other client of the account.
    pub const COGNITO: Limits = Limits::preset(120.0, 120);
    /// Entra ID publishes no fixed figure for the token endpoint; a conservative default.
    pub const ENTRA: Limits = Limits::preset(20.0, 20);
    /// Keycloak is self-hosted and has no limit of its own; a default that spares it.
    pub const KEYCLOAK: Limits = Limits::preset(50.0, 50);
    /// OneLogin: no per-endpoint figure was confirmed; a conservative default.
    pub const ONELOGIN: Limits = Limits::preset(10.0, 10);
    /// PingOne: no per-endpoint figure was confirmed; a conservative default.
    pub const PINGONE: Limits = Limits::preset(20.0, 20);
    /// PingFederate is self-hosted; a default that spares it.
    pub const PINGFEDERATE: Limits = Limits::preset(50.0, 50);
    /// Any other OAuth 2.0 server.
    pub const GENERIC: Limits = Limits::preset(50.0, 50);
}

/// Whether a call may be repeated when it fails.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Retry {
    /// Never: it checks a credential or sends a code, and a repeat would count twice.
    Never,
    /// A lookup: repeated on a transport failure, a 5xx, or a 429 whose wait fits the budget.
    Idempotent,
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    last: Instant,
    blocked_until: Option<Instant>,
}

/// Sends a connector's calls within its limits.
#[derive(Debug)]
pub struct Caller {
    client: reqwest::Client,
    limits: Limits,
    bucket: Mutex<Bucket>,
}

impl Caller {
    /// A caller with its own HTTP client.
    pub fn new(limits: Limits) -> Result<Self, SetupError> {
        let client = http::client(limits.timeout).map_err(SetupError::Client)?;
        Ok(Self {
            client,
            limits,
            bucket: Mutex::new(Bucket {
                tokens: f64::from(limits.burst),
                last: Instant::now(),
                blocked_until: None,
            }),
        })
    }

    /// The HTTP client, to build requests with.
    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// The limits in force.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Sends one request: waits for the limiter within the budget, sends with the timeout,
    /// retries only idempotent calls, and remembers a provider's request to wait.
    pub async fn send(
        &self,
        request: reqwest::RequestBuilder,
        retry: Retry,
    ) -> Result<Answer, LegacyError> {
        let deadline = Instant::now() + self.limits.budget;
        let mut once = Some(request);
        let mut attempt = 0;
        loop {
            self.admit(deadline).await?;
            let this = match retry {
                Retry::Never => once.take(),
                Retry::Idempotent => once.as_ref().and_then(reqwest::RequestBuilder::try_clone),
            }
            .ok_or(LegacyError::Misconfigured(
                "a request could not be repeated".into(),
            ))?;

            let result = self.send_once(this, deadline).await;

            let again = retry == Retry::Idempotent && attempt < self.limits.retries;
            let wait = match &result {
                Ok(answer) => self.after_answer(answer),
                Err(_) => Some(Duration::from_millis(200)),
            };
            match (again, wait) {
                (true, Some(wait)) if Instant::now() + wait < deadline => {
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
                _ => return result.map_err(LegacyError::from),
            }
        }
    }

    async fn send_once(
        &self,
        request: reqwest::RequestBuilder,
        deadline: Instant,
    ) -> Result<Answer, HttpError> {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left.min(self.limits.timeout), http::send(request)).await {
            Ok(result) => result,
            Err(_) => Err(HttpError::OutOfTime),
        }
    }

    /// Records a provider's request to wait; returns how long a retry should wait, if the
    /// answer is worth retrying at all.
    fn after_answer(&self, answer: &Answer) -> Option<Duration> {
        if let Some(seconds) = answer.retry_after {
            self.back_off(Duration::from_secs(seconds));
        }
        if answer.status == 429 {
            let wait = Duration::from_secs(answer.retry_after.unwrap_or(1));
            self.back_off(wait);
            return Some(wait);
        }
        (answer.status >= 500).then(|| {
            answer
                .retry_after
                .map_or(Duration::from_millis(200), Duration::from_secs)
        })
    }

    /// Makes no call to this provider for `wait`: for a provider's request to wait, or a
    /// throttling answer that a connector recognised in a status other than 429.
    pub fn back_off(&self, wait: Duration) {
        let mut bucket = self.bucket.lock().unwrap_or_else(PoisonError::into_inner);
        let until = Instant::now() + wait;
        bucket.blocked_until = Some(bucket.blocked_until.map_or(until, |b| b.max(until)));
    }

    /// Waits for the limiter to allow a call, or refuses when the wait would pass the
    /// deadline.
    async fn admit(&self, deadline: Instant) -> Result<(), LegacyError> {
        loop {
            let wait = self.take_token();
            if wait.is_zero() {
                return Ok(());
            }
            if Instant::now() + wait > deadline {
                let retry_after = Some(wait.as_secs().max(1));
                return Err(LegacyError::Throttled { retry_after });
            }
            tokio::time::sleep(wait).await;
        }
    }

    /// Takes a token and returns zero, or returns how long until one is due.
    fn take_token(&self) -> Duration {
        let mut bucket = self.bucket.lock().unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        if let Some(until) = bucket.blocked_until {
            if until > now {
                return until - now;
            }
            bucket.blocked_until = None;
        }
        let refill = now.duration_since(bucket.last).as_secs_f64() * self.limits.rate;
        bucket.tokens = (bucket.tokens + refill).min(f64::from(self.limits.burst));
        bucket.last = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            return Duration::ZERO;
        }
        Duration::from_secs_f64((1.0 - bucket.tokens) / self.limits.rate)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_apply_and_nonsense_is_refused() {
        let settings = LimitSettings {
            requests_per_second: Some(2.0),
            burst: Some(3),
            ..LimitSettings::default()
        };
        let limits = presets::OKTA.with(Some(&settings)).unwrap();
        assert_eq!((limits.rate, limits.burst), (2.0, 3));
        assert_eq!(limits.timeout, presets::OKTA.timeout);
        let zero = LimitSettings {
            requests_per_second: Some(0.0),
            ..LimitSettings::default()
        };
        assert!(presets::OKTA.with(Some(&zero)).is_err());
        let short = LimitSettings {
            timeout_seconds: Some(30),
            budget_seconds: Some(5),
            ..LimitSettings::default()
        };
        assert!(presets::OKTA.with(Some(&short)).is_err());
    }

    #[test]
    fn the_bucket_gives_a_burst_then_spaces_calls() {
        let caller = Caller::new(Limits::preset(10.0, 2)).unwrap();
        assert!(caller.take_token().is_zero());
        assert!(caller.take_token().is_zero());
        let wait = caller.take_token();
        assert!(
            wait > Duration::ZERO && wait <= Duration::from_millis(100),
            "{wait:?}"
        );
    }

    #[tokio::test]
    async fn a_wait_past_the_budget_is_refused_without_calling() {
        let mut limits = Limits::preset(1.0, 1);
        limits.budget = Duration::from_secs(1);
        limits.timeout = Duration::from_secs(1);
        let caller = Caller::new(limits).unwrap();
        caller.back_off(Duration::from_secs(30));
        let request = caller.client().get("http://127.0.0.1:9/never-called");
        let error = caller.send(request, Retry::Idempotent).await.unwrap_err();
        assert!(matches!(error, LegacyError::Throttled { retry_after: Some(s) } if s >= 29));
    }
}
