//! The embedded session store: sessions in a concurrent map, with expiry and one lease at a time.

use async_trait::async_trait;
use dashmap::DashMap;
use dashmap::mapref::entry::Entry as MapEntry;

use super::{AcquireError, LeaseToken, SessionStore, StoreError, Stored};

/// A lease older than this is treated as abandoned (its request died mid-advance).
const LEASE_MS: i64 = 120_000;

/// Sessions kept in process memory; they do not survive a restart.
#[derive(Debug, Default)]
pub struct MemorySessions {
    map: DashMap<Box<str>, Entry>,
}

#[derive(Debug)]
struct Entry {
    data: Box<[u8]>,
    expires_at: i64,
    lease: Option<(u64, i64)>,
}

impl MemorySessions {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many sessions are held, expired or not.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether no session is held.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

#[async_trait]
impl SessionStore for MemorySessions {
    async fn create(&self, id: &str, session: Stored) -> Result<(), StoreError> {
        let entry = Entry {
            data: session.data.into(),
            expires_at: session.expires_at,
            lease: None,
        };
        self.map.insert(id.into(), entry);
        Ok(())
    }

    async fn acquire(&self, id: &str, now: i64) -> Result<(LeaseToken, Stored), AcquireError> {
        let MapEntry::Occupied(mut slot) = self.map.entry(id.into()) else {
            return Err(AcquireError::NotFound);
        };
        if slot.get().expires_at <= now {
            slot.remove();
            return Err(AcquireError::NotFound);
        }
        let entry = slot.get_mut();
        if matches!(entry.lease, Some((_, taken_at)) if now - taken_at < LEASE_MS) {
            return Err(AcquireError::Busy);
        }
        let token: u64 = rand::random();
        entry.lease = Some((token, now));
        let stored = Stored {
            data: entry.data.to_vec(),
            expires_at: entry.expires_at,
        };
        Ok((LeaseToken(token), stored))
    }

    async fn release(
        &self,
        id: &str,
        lease: LeaseToken,
        session: Option<Stored>,
    ) -> Result<(), StoreError> {
        let MapEntry::Occupied(mut slot) = self.map.entry(id.into()) else {
            return Ok(());
        };
        if slot.get().lease.map(|(token, _)| token) != Some(lease.0) {
            return Ok(());
        }
        match session {
            Some(s) => {
                *slot.get_mut() = Entry {
                    data: s.data.into(),
                    expires_at: s.expires_at,
                    lease: None,
                }
            }
            None => {
                slot.remove();
            }
        }
        Ok(())
    }

    async fn sweep(&self, now: i64) -> Result<usize, StoreError> {
        let before = self.map.len();
        self.map.retain(|_, e| e.expires_at > now);
        Ok(before.saturating_sub(self.map.len()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(data: &str, expires_at: i64) -> Stored {
        Stored {
            data: data.as_bytes().to_vec(),
            expires_at,
        }
    }

    #[tokio::test]
    async fn one_holder_at_a_time() {
        let store = MemorySessions::new();
        store.create("s", stored("a", 1_000)).await.unwrap();
        let (lease, got) = store.acquire("s", 10).await.unwrap();
        assert_eq!(got.data, b"a");
        assert!(matches!(
            store.acquire("s", 11).await,
            Err(AcquireError::Busy)
        ));
        store
            .release("s", lease, Some(stored("b", 1_000)))
            .await
            .unwrap();
        let (_, got) = store.acquire("s", 12).await.unwrap();
        assert_eq!(got.data, b"b");
    }

    #[tokio::test]
    async fn expired_sessions_are_gone() {
        let store = MemorySessions::new();
        store.create("s", stored("a", 100)).await.unwrap();
        assert!(matches!(
            store.acquire("s", 100).await,
            Err(AcquireError::NotFound)
        ));
        store.create("t", stored("a", 100)).await.unwrap();
        assert_eq!(store.sweep(200).await.unwrap(), 1);
        assert!(store.is_empty());
    }

    #[tokio::test]
    async fn a_stale_lease_cannot_overwrite() {
        let store = MemorySessions::new();
        store.create("s", stored("a", i64::MAX)).await.unwrap();
        let (stale, _) = store.acquire("s", 0).await.unwrap();
        let (fresh, _) = store.acquire("s", LEASE_MS + 1).await.unwrap();
        store.release("s", stale, None).await.unwrap();
        store
            .release("s", fresh, Some(stored("c", i64::MAX)))
            .await
            .unwrap();
        let (_, got) = store.acquire("s", LEASE_MS + 2).await.unwrap();
        assert_eq!(got.data, b"c");
    }
}
