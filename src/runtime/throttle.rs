//! Brute-force protection, on by default: failed local logins are counted per account and per
//! client address in the user store, answered with growing delays, and locked out after a
//! bounded number of consecutive failures (NIST SP 800-63B §5.2.2 allows at most 100 per
//! account). A success clears the account's count; the client's runs on until its lock. One-time codes sent are limited the same way, per
//! account and per client, across sessions.

use std::time::Duration;

use crate::authn::settings::SendLimits;
use crate::config::{ThrottleLimits, ThrottleSettings};
use crate::store::{Failures, StoreError, UserStore};

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

    /// The keys wrong one-time codes (sent or TOTP) are counted under: apart from the login
    /// keys, so a right password, which clears those, does not clear a run of wrong codes.
    pub fn codes(identifier: &str, client: Option<std::net::IpAddr>) -> Self {
        Self {
            account: format!("codes:account:{identifier}"),
            client: client.map(|ip| format!("codes:client:{ip}")),
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

/// Counts an attempt before it is checked, and says whether and when it may be checked.
/// Counting first keeps parallel attempts from overshooting the lock: each checked attempt
/// holds its own number, and one numbered past `lock_after` is refused unchecked. A lock that
/// has ended starts the count again.
pub async fn attempt(
    store: &dyn UserStore,
    settings: &ThrottleSettings,
    keys: &Keys,
    now: i64,
) -> Result<Gate, StoreError> {
    let mut wait = Duration::ZERO;
    for (key, limits) in keys.each(settings) {
        let mut before = store.failures(key).await?;
        match before.locked_until {
            Some(until) if until > now => return Ok(Gate::Locked(until)),
            Some(_) => {
                store.restart_stale(key, now, i64::MIN).await?;
                before = Failures::default();
            }
            None => {}
        }
        let due = before
            .last_at
            .saturating_add(delay(limits, before.count).as_millis() as i64);
        wait = wait.max(Duration::from_millis(due.saturating_sub(now).max(0) as u64));
    }
    for (key, limits) in keys.each(settings) {
        let counted = store.add_failure(key, now).await?;
        if counted.count > limits.lock_after {
            let until = now.saturating_add((limits.lock_seconds as i64).saturating_mul(1000));
            store.lock(key, until).await?;
            return Ok(Gate::Locked(until));
        }
    }
    Ok(Gate::Open(wait))
}

/// After a failed check that [`attempt`] counted: locks the keys whose count reached their
/// limit; returns the lock's end if one was locked.
pub async fn failed(
    store: &dyn UserStore,
    settings: &ThrottleSettings,
    keys: &Keys,
    now: i64,
) -> Result<Option<i64>, StoreError> {
    let mut locked = None;
    for (key, limits) in keys.each(settings) {
        let failures = store.failures(key).await?;
        if failures.count >= limits.lock_after {
            let until = now.saturating_add((limits.lock_seconds as i64).saturating_mul(1000));
            store.lock(key, until).await?;
            locked = locked.max(Some(until));
        }
    }
    Ok(locked)
}

/// Clears the account's count after a success. The client's count stays: a guesser who
/// signs in to an account of their own between guesses at others must not reset it. It
/// starts again when its lock ends.
pub async fn succeeded(
    store: &dyn UserStore,
    _settings: &ThrottleSettings,
    keys: &Keys,
) -> Result<(), StoreError> {
    store.clear_failures(&keys.account).await
}

/// Takes one code from the send limits of the account and the client: `Ok(false)`, counting
/// nothing, when either limit is spent. A key's count starts again once a window has passed
/// since its last code, and a spent limit holds for a window. The keys are the login keys
/// with `send:` in front, so sends and failures are counted apart.
pub async fn take_send(
    store: &dyn UserStore,
    limits: &SendLimits,
    keys: &Keys,
    now: i64,
) -> Result<bool, StoreError> {
    let window = i64::try_from(limits.window_seconds)
        .unwrap_or(i64::MAX)
        .saturating_mul(1000);
    let keyed: Vec<(String, u32)> =
        std::iter::once((format!("send:{}", keys.account), limits.account))
            .chain(
                keys.client
                    .as_ref()
                    .map(|c| (format!("send:{c}"), limits.client)),
            )
            .collect();
    for (key, limit) in &keyed {
        if *limit == 0 {
            return Ok(false);
        }
        let sent = store.failures(key).await?;
        if sent.locked_until.is_some_and(|until| until > now) {
            return Ok(false);
        }
        store
            .restart_stale(key, now, now.saturating_sub(window).saturating_add(1))
            .await?;
    }
    // Counted before sending, so parallel sends cannot pass the limit: one numbered past it
    // is refused.
    for (key, limit) in &keyed {
        let sent = store.add_failure(key, now).await?;
        if sent.count >= *limit {
            store.lock(key, now.saturating_add(window)).await?;
        }
        if sent.count > *limit {
            return Ok(false);
        }
    }
    Ok(true)
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
    async fn codes_sent_are_limited_per_account_and_client_for_a_window() {
        let store = MemoryUsers::new();
        let limits = SendLimits {
            account: 3,
            client: 5,
            window_seconds: 60,
        };
        let alice = Keys::new("alice", "10.0.0.1".parse().ok());
        for at in 0..3 {
            assert!(take_send(&store, &limits, &alice, at).await.unwrap());
        }
        assert!(!take_send(&store, &limits, &alice, 10).await.unwrap());
        assert!(!take_send(&store, &limits, &alice, 59_999).await.unwrap());
        // Another account from the same address: two more, then the client's limit holds.
        let bob = Keys::new("bob", "10.0.0.1".parse().ok());
        assert!(take_send(&store, &limits, &bob, 20).await.unwrap());
        assert!(take_send(&store, &limits, &bob, 21).await.unwrap());
        assert!(!take_send(&store, &limits, &bob, 22).await.unwrap());
        let elsewhere = Keys::new("carol", "10.0.0.2".parse().ok());
        assert!(take_send(&store, &limits, &elsewhere, 23).await.unwrap());
        // A window after the locks (alice's at 2, the address's at 21), codes flow again.
        assert!(!take_send(&store, &limits, &alice, 60_010).await.unwrap());
        assert!(take_send(&store, &limits, &alice, 60_030).await.unwrap());
        // Sends are counted apart from login failures.
        assert_eq!(store.failures("account:alice").await.unwrap().count, 0);
    }

    /// One failed login: counted, checked (wrongly), then the lock decided.
    async fn fail(store: &MemoryUsers, keys: &Keys, at: i64) -> Option<i64> {
        let gate = attempt(store, &settings(), keys, at).await.unwrap();
        assert!(matches!(gate, Gate::Open(_)), "{gate:?}");
        failed(store, &settings(), keys, at).await.unwrap()
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
            assert_eq!(fail(&store, &keys, at).await, None);
        }
        assert_eq!(
            gate(&store, &settings, &keys, 2).await.unwrap(),
            Gate::Open(Duration::from_millis(100))
        );
        assert_eq!(
            attempt(&store, &settings, &keys, 500).await.unwrap(),
            Gate::Open(Duration::ZERO)
        );
        assert_eq!(failed(&store, &settings, &keys, 500).await.unwrap(), None);
        assert_eq!(fail(&store, &keys, 501).await, None);
        assert_eq!(fail(&store, &keys, 502).await, Some(60_502));
        let gated = gate(&store, &settings, &keys, 1_000).await.unwrap();
        let attempted = attempt(&store, &settings, &keys, 1_000).await.unwrap();
        assert_eq!(
            (gated, attempted),
            (Gate::Locked(60_502), Gate::Locked(60_502))
        );
        let other = Keys::new("bob", "10.0.0.2".parse().ok());
        assert_eq!(
            gate(&store, &settings, &other, 1_000).await.unwrap(),
            Gate::Open(Duration::ZERO)
        );
        // Once the lock ends the count starts again; a success clears it.
        assert!(matches!(
            attempt(&store, &settings, &keys, 60_502).await.unwrap(),
            Gate::Open(_)
        ));
        assert_eq!(store.failures("account:alice").await.unwrap().count, 1);
        succeeded(&store, &settings, &keys).await.unwrap();
        assert_eq!(store.failures("account:alice").await.unwrap().count, 0);
        // The client's count runs on: a success on one account does not clear it.
        let client = store.failures("client:10.0.0.1").await.unwrap();
        assert_eq!(client.count, 6);
        assert!(matches!(
            gate(&store, &settings, &keys, 60_600).await.unwrap(),
            Gate::Open(wait) if wait > Duration::ZERO
        ));
    }

    #[tokio::test]
    async fn attempts_in_flight_at_once_cannot_pass_the_lock() {
        let store = MemoryUsers::new();
        let settings = settings();
        let keys = Keys::new("carol", None);
        // Five attempts counted before any of them is checked, as parallel requests would be.
        for at in 0..5 {
            let gate = attempt(&store, &settings, &keys, at).await.unwrap();
            assert!(matches!(gate, Gate::Open(_)), "attempt {at}: {gate:?}");
        }
        assert_eq!(
            attempt(&store, &settings, &keys, 5).await.unwrap(),
            Gate::Locked(60_005),
            "the sixth is not checked"
        );
    }
}
