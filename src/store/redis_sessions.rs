//! The scale-out session store: sessions in Redis, shared by every `ferry serve` node, so a
//! request (or a provider's callback) may land on any of them. Each session is one hash
//! under a key derived from its id; taking and giving back a session are Lua scripts, which
//! Redis runs atomically, so two nodes can never hold one session at once.
//!
//! Expiry is Redis's own: each key carries a TTL up to the session's expiry, and the scripts
//! also refuse a session whose expiry has passed by the engine's clock. Nothing is left for
//! [`SessionStore::sweep`] to do, so it always answers 0.

use std::time::Duration;

use async_trait::async_trait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use sha2::{Digest, Sha256};

use super::{AcquireError, LEASE_MS, LeaseToken, SessionStore, StoreError, Stored};
use crate::clock::SharedClock;

/// The longest TTL given to a key, so a session with a far-off expiry still leaves Redis.
const MAX_TTL_MS: i64 = 366 * 24 * 3_600 * 1_000;

/// How long one Redis command may take before the store counts as down.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(5);

/// How long connecting may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The key prefix when none is configured.
pub const DEFAULT_PREFIX: &str = "ferry:";

/// Replaces whatever the key holds with a fresh, unleased session.
/// KEYS[1] the session; ARGV: data, expiry (ms), TTL (ms).
const CREATE: &str = r"
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'data', ARGV[1], 'exp', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
";

/// Takes the session unless it is missing, expired, or held by a lease younger than the
/// limit. KEYS[1] the session; ARGV: now (ms), new lease token, lease limit (ms).
/// Answers {0} not found, {1} busy, {2, data, expiry} taken.
const ACQUIRE: &str = r"
local s = redis.call('HMGET', KEYS[1], 'data', 'exp', 'lease', 'taken')
if not s[1] then return {0, '', ''} end
local now = tonumber(ARGV[1])
if tonumber(s[2]) <= now then
  redis.call('DEL', KEYS[1])
  return {0, '', ''}
end
if s[3] and now - tonumber(s[4]) < tonumber(ARGV[3]) then return {1, '', ''} end
redis.call('HSET', KEYS[1], 'lease', ARGV[2], 'taken', ARGV[1])
return {2, s[1], s[2]}
";

/// Gives the session back under a lease that still matches: with its new state and TTL, or
/// ended (ARGV[2] = '0'). KEYS[1] the session; ARGV: lease token, keep ('1' or '0'), data,
/// expiry (ms), TTL (ms). Answers 1 if anything changed.
const RELEASE: &str = r"
if redis.call('HGET', KEYS[1], 'lease') ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
if ARGV[2] == '1' then
  redis.call('HSET', KEYS[1], 'data', ARGV[3], 'exp', ARGV[4])
  redis.call('PEXPIRE', KEYS[1], ARGV[5])
end
return 1
";

/// Sessions in Redis under a key prefix; any number of nodes may share one prefix.
#[derive(Clone)]
pub struct RedisSessions {
    connection: ConnectionManager,
    prefix: String,
    clock: SharedClock,
    create: redis::Script,
    acquire: redis::Script,
    release: redis::Script,
}

impl std::fmt::Debug for RedisSessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisSessions")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl RedisSessions {
    /// Connects to a `redis://` URL. Keys start with `prefix`; TTLs are counted by `clock`,
    /// the engine's, so sessions expire when the engine says they do.
    pub async fn connect(url: &str, prefix: &str, clock: SharedClock) -> Result<Self, StoreError> {
        let client = redis::Client::open(url)?;
        let config = ConnectionManagerConfig::new()
            .set_response_timeout(Some(RESPONSE_TIMEOUT))
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_number_of_retries(2);
        let connection = ConnectionManager::new_with_config(client, config).await?;
        Ok(Self {
            connection,
            prefix: prefix.to_owned(),
            clock,
            create: redis::Script::new(CREATE),
            acquire: redis::Script::new(ACQUIRE),
            release: redis::Script::new(RELEASE),
        })
    }

    /// Whether a URL names a Redis server this build can reach (`redis://`; TLS, `rediss://`,
    /// is not built in).
    pub fn handles(url: &str) -> bool {
        url.starts_with("redis://")
    }

    /// The key prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The key of a session: its id hashed, so a key listing reveals no usable session id.
    fn key(&self, id: &str) -> String {
        let digest = Sha256::digest(id.as_bytes());
        format!("{}session:{}", self.prefix, hex::encode(digest))
    }

    /// Milliseconds from now until `expires_at`, within what Redis accepts; `None` if past.
    fn ttl(&self, expires_at: i64) -> Option<i64> {
        let left = expires_at.saturating_sub(self.clock.now_ms());
        (left > 0).then_some(left.min(MAX_TTL_MS))
    }
}

#[async_trait]
impl SessionStore for RedisSessions {
    async fn create(&self, id: &str, session: Stored) -> Result<(), StoreError> {
        let key = self.key(id);
        let mut connection = self.connection.clone();
        let Some(ttl) = self.ttl(session.expires_at) else {
            redis::cmd("DEL")
                .arg(&key)
                .exec_async(&mut connection)
                .await?;
            return Ok(());
        };
        let _: i64 = self
            .create
            .key(&key)
            .arg(session.data)
            .arg(session.expires_at)
            .arg(ttl)
            .invoke_async(&mut connection)
            .await?;
        Ok(())
    }

    async fn acquire(&self, id: &str, now: i64) -> Result<(LeaseToken, Stored), AcquireError> {
        let token: u64 = rand::random();
        let mut connection = self.connection.clone();
        let (status, data, expires_at): (i64, Vec<u8>, String) = self
            .acquire
            .key(self.key(id))
            .arg(now)
            .arg(token.to_string())
            .arg(LEASE_MS)
            .invoke_async(&mut connection)
            .await
            .map_err(StoreError::from)?;
        match status {
            0 => Err(AcquireError::NotFound),
            1 => Err(AcquireError::Busy),
            _ => {
                let expires_at = expires_at.parse().map_err(|_| StoreError::Corrupt {
                    what: "session expiry",
                })?;
                Ok((LeaseToken(token), Stored { data, expires_at }))
            }
        }
    }

    async fn release(
        &self,
        id: &str,
        lease: LeaseToken,
        session: Option<Stored>,
    ) -> Result<(), StoreError> {
        let kept = session.and_then(|s| Some((self.ttl(s.expires_at)?, s)));
        let mut invocation = self.release.key(self.key(id));
        invocation.arg(lease.0.to_string());
        match kept {
            Some((ttl, s)) => invocation.arg("1").arg(s.data).arg(s.expires_at).arg(ttl),
            None => invocation.arg("0"),
        };
        let mut connection = self.connection.clone();
        let _: i64 = invocation.invoke_async(&mut connection).await?;
        Ok(())
    }

    /// Redis removes expired sessions itself (each key has a TTL), so there is nothing to
    /// sweep: always 0.
    async fn sweep(&self, _now: i64) -> Result<usize, StoreError> {
        Ok(0)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::clock::ManualClock;
    use crate::store::session_conformance as conformance;
    use crate::store::testing::RedisPrefix;

    async fn store(space: &RedisPrefix) -> RedisSessions {
        let clock = Arc::new(ManualClock::at(0));
        RedisSessions::connect(&space.url, &space.prefix, clock)
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn one_holder_at_a_time() {
        let Some(space) = RedisPrefix::create() else {
            return;
        };
        conformance::one_holder_at_a_time(&store(&space).await).await;
    }

    #[tokio::test]
    async fn expired_and_ended_sessions_are_gone() {
        let Some(space) = RedisPrefix::create() else {
            return;
        };
        conformance::expired_and_ended_sessions_are_gone(&store(&space).await).await;
    }

    #[tokio::test]
    async fn a_stale_lease_cannot_overwrite() {
        let Some(space) = RedisPrefix::create() else {
            return;
        };
        conformance::a_stale_lease_cannot_overwrite(&store(&space).await).await;
    }

    #[tokio::test]
    async fn create_replaces() {
        let Some(space) = RedisPrefix::create() else {
            return;
        };
        conformance::create_replaces(&store(&space).await).await;
    }

    #[tokio::test]
    async fn two_nodes_never_hold_one_session_together() {
        let Some(space) = RedisPrefix::create() else {
            return;
        };
        let nodes: Vec<Arc<dyn SessionStore>> =
            vec![Arc::new(store(&space).await), Arc::new(store(&space).await)];
        conformance::racing_acquires_have_one_winner(&nodes).await;
    }

    #[tokio::test]
    async fn keys_carry_a_ttl_and_hide_the_session_id() {
        let Some(space) = RedisPrefix::create() else {
            return;
        };
        let store = store(&space).await;
        let session = Stored {
            data: b"x".to_vec(),
            expires_at: 60_000,
        };
        store.create("secret-session-id", session).await.unwrap();
        let client = redis::Client::open(space.url.as_str()).unwrap();
        let mut connection = client.get_connection().unwrap();
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg(format!("{}*", space.prefix))
            .query(&mut connection)
            .unwrap();
        assert_eq!(keys.len(), 1);
        assert!(!keys[0].contains("secret-session-id"), "{}", keys[0]);
        let ttl: i64 = redis::cmd("PTTL")
            .arg(&keys[0])
            .query(&mut connection)
            .unwrap();
        assert!((50_000..=60_000).contains(&ttl), "ttl {ttl}");
        assert_eq!(
            store.sweep(i64::MAX).await.unwrap(),
            0,
            "Redis expires keys itself"
        );
    }

    #[tokio::test]
    async fn prefixes_keep_deployments_apart() {
        let (Some(a), Some(b)) = (RedisPrefix::create(), RedisPrefix::create()) else {
            return;
        };
        let (a_store, b_store) = (store(&a).await, store(&b).await);
        let session = Stored {
            data: b"x".to_vec(),
            expires_at: 60_000,
        };
        a_store.create("s", session).await.unwrap();
        assert!(matches!(
            b_store.acquire("s", 1).await,
            Err(AcquireError::NotFound)
        ));
        assert_eq!((a.keys(), b.keys()), (1, 0));
    }
}
