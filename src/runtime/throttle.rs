//! Brute-force protection, on by default: failed local logins are counted per account and per
//! client address in the user store, answered with growing delays, and locked out after a
//! bounded number of consecutive failures (NIST SP 800-63B §5.2.2 allows at most 100 per
//! account). A success clears both counts.

use std::time::Duration;

use crate::config::{ThrottleLimits, ThrottleSettings};
use crate::store::{StoreError, UserStore};

/// What the throttle says before a password is checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Gate {
    /// Check it, after waiting this long.
    Open(Duration),
    /// Do not check it: locked until this time (ms since the epoch).
    Locked(i64),
}

/// The throttling keys of one login attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Keys {
    /// `account:<normalised identifier>`, whether or not the account exists.
    pub account: String,
    /// `client:<address>`, when the address is known.
    pub client: Option<String>,
}

impl Keys {
    /// The keys for an identifier and a client address.
    pub fn new(identifier: &str, client: Option<std::net::IpAddr>) -> Self {
        Self {
            account: format!("account:{identifier}"),
            client: client.map(|ip| format!("client:{ip}")),
        }
    }

    fn each<'a>(
        &'a self,
        settings: &'a ThrottleSettings,
    ) -> impl Iterator<Item = (&'a str, &'a ThrottleLimits)> {
        std::iter::once((self.account.as_str(), &settings.account))
            .chain(self.client.as_deref().map(|c| (c, &settings.client)))
    }
}

/// Decides whether and when an attempt may be checked.
pub async fn gate(
    store: &dyn UserStore,
    settings: &ThrottleSettings,
    keys: &Keys,
    now: i64,
) -> Result<Gate, StoreError> {
    let mut wait = Duration::ZERO;
    for (key, limits) in keys.each(settings) {
        let failures = store.failures(key).await?;
        if let Some(until) = failures.locked_until.filter(|&until| until > now) {
            return Ok(Gate::Locked(until));
        }
        let due = failures
            .last_at
            .saturating_add(delay(limits, failures.count).as_millis() as i64);
        wait = wait.max(Duration::from_millis(due.saturating_sub(now).max(0) as u64));
    }
    Ok(Gate::Open(wait))
}

/// Counts a failure; returns the lock's end if this failure locks a key.
pub async fn failed(
    store: &dyn UserStore,
    settings: &ThrottleSettings,
    keys: &Keys,
    now: i64,
) -> Result<Option<i64>, StoreError> {
    let mut locked = None;
    for (key, limits) in keys.each(settings) {
        let failures = store.add_failure(key, now).await?;
        if failures.count >= limits.lock_after {
            let until = now.saturating_add((limits.lock_seconds as i64).saturating_mul(1000));
            store.lock(key, until).await?;
            locked = locked.max(Some(until));
        }
    }
    Ok(locked)
}

/// Clears both keys after a success.
pub async fn succeeded(
    store: &dyn UserStore,
    settings: &ThrottleSettings,
    keys: &Keys,
) -> Result<(), StoreError> {
    for (key, _) in keys.each(settings) {
        store.clear_failures(key).await?;
    }
    Ok(())
}

/// The wait before the next attempt after `count` consecutive failures: none for the first
/// `free_failures`, then doubling from `base_delay_ms` up to `max_delay_ms`.
pub fn delay(limits: &ThrottleLimits, count: u32) -> Duration {
    if count < limits.free_failures.max(1) {
        return Duration::ZERO;
    }
    let doublings = (count - limits.free_failures.max(1)).min(32);
    let ms = limits
        .base_delay_ms
        .saturating_mul(1u64 << doublings)
        .min(limits.max_delay_ms);
    Duration::from_millis(ms)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryUsers;

    fn settings() -> ThrottleSettings {
        let limits = ThrottleLimits {
            free_failures: 2,
            base_delay_ms: 100,
            max_delay_ms: 1_000,
            lock_after: 5,
            lock_seconds: 60,
        };
        ThrottleSettings {
            account: limits.clone(),
            client: ThrottleLimits {
                lock_after: 50,
                ..limits
            },
        }
    }

    #[test]
    fn delays_grow_then_stop_growing() {
        let limits = settings().account;
        let waits: Vec<u64> = (0..8)
            .map(|n| delay(&limits, n).as_millis() as u64)
            .collect();
        assert_eq!(waits, vec![0, 0, 100, 200, 400, 800, 1_000, 1_000]);
    }

    #[tokio::test]
    async fn failures_delay_then_lock_and_a_success_clears() {
        let store = MemoryUsers::new();
        let settings = settings();
        let keys = Keys::new("alice", "10.0.0.1".parse().ok());
        assert_eq!(
            gate(&store, &settings, &keys, 0).await.unwrap(),
            Gate::Open(Duration::ZERO)
        );
        for at in 1..=2 {
            assert_eq!(failed(&store, &settings, &keys, at).await.unwrap(), None);
        }
        assert_eq!(
            gate(&store, &settings, &keys, 2).await.unwrap(),
            Gate::Open(Duration::from_millis(100))
        );
        assert_eq!(
            gate(&store, &settings, &keys, 500).await.unwrap(),
            Gate::Open(Duration::ZERO)
        );
        for at in 3..=4 {
            failed(&store, &settings, &keys, at).await.unwrap();
        }
        assert_eq!(
            failed(&store, &settings, &keys, 5).await.unwrap(),
            Some(60_005)
        );
        assert_eq!(
            gate(&store, &settings, &keys, 1_000).await.unwrap(),
            Gate::Locked(60_005)
        );
        let other = Keys::new("bob", "10.0.0.2".parse().ok());
        assert_eq!(
            gate(&store, &settings, &other, 1_000).await.unwrap(),
            Gate::Open(Duration::ZERO)
        );
        succeeded(&store, &settings, &keys).await.unwrap();
        assert_eq!(
            gate(&store, &settings, &keys, 1_000).await.unwrap(),
            Gate::Open(Duration::ZERO)
        );
    }
}
