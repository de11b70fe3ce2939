//! Behaviour every [`SessionStore`] must show, run against each implementation by its tests.
//! Times are the engine's clock in ms; stores that count TTLs with a clock are given one that
//! shows 0, so the expiries below are that far in the future.

use std::sync::Arc;

use super::{AcquireError, LEASE_MS, SessionStore, Stored};

/// Far enough ahead that nothing expires during a test.
const LATER: i64 = 3_600_000;

fn stored(data: &str, expires_at: i64) -> Stored {
    Stored {
        data: data.as_bytes().to_vec(),
        expires_at,
    }
}

/// A held session is busy for everyone else until released; its new state is kept.
pub async fn one_holder_at_a_time(store: &dyn SessionStore) {
    store.create("s", stored("a", LATER)).await.unwrap();
    let (lease, got) = store.acquire("s", 10).await.unwrap();
    assert_eq!((got.data.as_slice(), got.expires_at), (&b"a"[..], LATER));
    assert!(matches!(
        store.acquire("s", 11).await,
        Err(AcquireError::Busy)
    ));
    store
        .release("s", lease, Some(stored("b", LATER)))
        .await
        .unwrap();
    let (_, got) = store.acquire("s", 12).await.unwrap();
    assert_eq!(got.data, b"b");
}

/// Unknown ids, expired sessions and ended ones are not found.
pub async fn expired_and_ended_sessions_are_gone(store: &dyn SessionStore) {
    assert!(matches!(
        store.acquire("nobody", 0).await,
        Err(AcquireError::NotFound)
    ));
    store.create("s", stored("a", 100)).await.unwrap();
    assert!(matches!(
        store.acquire("s", 100).await,
        Err(AcquireError::NotFound)
    ));
    store.create("t", stored("a", LATER)).await.unwrap();
    let (lease, _) = store.acquire("t", 1).await.unwrap();
    store.release("t", lease, None).await.unwrap();
    assert!(matches!(
        store.acquire("t", 2).await,
        Err(AcquireError::NotFound)
    ));
    store.create("u", stored("a", 100)).await.unwrap();
    store.sweep(200).await.unwrap();
    assert!(matches!(
        store.acquire("u", 200).await,
        Err(AcquireError::NotFound)
    ));
}

/// A lease taken over after the limit cannot overwrite or end the session afterwards.
pub async fn a_stale_lease_cannot_overwrite(store: &dyn SessionStore) {
    store.create("s", stored("a", LATER)).await.unwrap();
    let (stale, _) = store.acquire("s", 0).await.unwrap();
    assert!(matches!(
        store.acquire("s", LEASE_MS - 1).await,
        Err(AcquireError::Busy)
    ));
    let (fresh, _) = store.acquire("s", LEASE_MS + 1).await.unwrap();
    store.release("s", stale, None).await.unwrap();
    store
        .release("s", stale, Some(stored("x", LATER)))
        .await
        .unwrap();
    store
        .release("s", fresh, Some(stored("c", LATER)))
        .await
        .unwrap();
    let (_, got) = store.acquire("s", LEASE_MS + 2).await.unwrap();
    assert_eq!(got.data, b"c");
}

/// Creating under an existing id replaces the session and any lease on it.
pub async fn create_replaces(store: &dyn SessionStore) {
    store.create("s", stored("a", LATER)).await.unwrap();
    let (old, _) = store.acquire("s", 1).await.unwrap();
    store.create("s", stored("b", LATER)).await.unwrap();
    store
        .release("s", old, Some(stored("x", LATER)))
        .await
        .unwrap();
    let (_, got) = store.acquire("s", 2).await.unwrap();
    assert_eq!(got.data, b"b");
}

/// Of many requests racing for one session (on one node or several: each store in
/// `nodes` is a view of the same sessions), exactly one takes it.
pub async fn racing_acquires_have_one_winner(nodes: &[Arc<dyn SessionStore>]) {
    nodes[0].create("race", stored("a", LATER)).await.unwrap();
    let mut racers = tokio::task::JoinSet::new();
    for i in 0..16 {
        let store = nodes[i % nodes.len()].clone();
        racers.spawn(async move { store.acquire("race", 5).await.is_ok() });
    }
    let winners = racers
        .join_all()
        .await
        .into_iter()
        .filter(|won| *won)
        .count();
    assert_eq!(winners, 1);
}
