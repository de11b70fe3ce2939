//! The embedded session store: sessions in a concurrent map, with expiry and one lease at a time.

use async_trait::async_trait;
use dashmap::DashMap;
use dashmap::mapref::entry::Entry as MapEntry;

use super::{AcquireError, LEASE_MS, LeaseToken, SessionStore, StoreError, Stored};

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
    use std::sync::Arc;

    use super::*;
    use crate::store::session_conformance as conformance;

    #[tokio::test]
    async fn one_holder_at_a_time() {
        conformance::one_holder_at_a_time(&MemorySessions::new()).await;
    }

    #[tokio::test]
    async fn expired_and_ended_sessions_are_gone() {
        conformance::expired_and_ended_sessions_are_gone(&MemorySessions::new()).await;
    }

    #[tokio::test]
    async fn a_stale_lease_cannot_overwrite() {
        conformance::a_stale_lease_cannot_overwrite(&MemorySessions::new()).await;
    }

    #[tokio::test]
    async fn create_replaces() {
        conformance::create_replaces(&MemorySessions::new()).await;
    }

    #[tokio::test]
    async fn racing_acquires_have_one_winner() {
        let store: Arc<dyn SessionStore> = Arc::new(MemorySessions::new());
        conformance::racing_acquires_have_one_winner(&[store]).await;
    }

    #[tokio::test]
    async fn sweep_counts_what_it_removed() {
        let store = MemorySessions::new();
        let stored = |expires_at| Stored {
            data: b"a".to_vec(),
            expires_at,
        };
        store.create("s", stored(100)).await.unwrap();
        store.create("t", stored(300)).await.unwrap();
        assert_eq!(store.sweep(200).await.unwrap(), 1);
        assert_eq!(store.len(), 1);
    }
}
