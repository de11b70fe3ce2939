//! Behaviour every [`UserStore`] must show, run against each implementation by its tests.

use serde_json::{Map, Value as Json};

use super::{
    ConflictKind, ConflictPolicy, Failures, LegacyAccount, Migration, Saved, User, UserStore,
};

/// A migration of `identifier` from legacy account `subject`.
pub fn migration(identifier: &str, subject: &str, policy: ConflictPolicy) -> Migration {
    let mut attributes = Map::new();
    attributes.insert(
        "email".into(),
        Json::from(format!("{identifier}@example.com")),
    );
    Migration {
        identifier: identifier.into(),
        attributes,
        legacy: LegacyAccount {
            idp: "legacy".into(),
            provider: "user_file".into(),
            subject: subject.into(),
        },
        password_hash: Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaA".into()),
        policy,
        journey: "jit".into(),
        method: "password".into(),
        at: 1_000,
    }
}

/// A new user comes back from `find` with its password hash.
pub async fn migration_writes_user_and_credential(store: &dyn UserStore) -> User {
    let saved = store
        .save_migration(&migration("alice", "u1", ConflictPolicy::Update))
        .await
        .unwrap();
    let Saved::Created(user) = saved else {
        panic!("expected a new user, got {saved:?}")
    };
    assert_eq!(store.find("alice").await.unwrap(), Some(user.clone()));
    assert!(store.password_hash(user.id).await.unwrap().is_some());
    user
}

/// `keep` leaves attributes, `update` replaces them, `fail` refuses; one user throughout.
pub async fn policies_decide_what_happens_to_an_existing_user(store: &dyn UserStore) {
    store
        .save_migration(&migration("bob", "u2", ConflictPolicy::Update))
        .await
        .unwrap();
    let mut again = migration("bob", "u2", ConflictPolicy::Keep);
    again
        .attributes
        .insert("email".into(), Json::from("new@example.com"));
    let Saved::Updated(kept) = store.save_migration(&again).await.unwrap() else {
        panic!("keep")
    };
    assert_eq!(kept.attributes["email"], "bob@example.com");
    again.policy = ConflictPolicy::Update;
    let Saved::Updated(updated) = store.save_migration(&again).await.unwrap() else {
        panic!("update")
    };
    assert_eq!(updated.attributes["email"], "new@example.com");
    again.policy = ConflictPolicy::Fail;
    assert_eq!(
        store.save_migration(&again).await.unwrap(),
        Saved::Conflict(ConflictKind::Exists)
    );
    assert_eq!(store.count_users().await.unwrap(), 1);
}

/// An identifier tied to one legacy account never takes another, and vice versa.
pub async fn two_legacy_accounts_never_merge(store: &dyn UserStore) {
    store
        .save_migration(&migration("carol", "u3", ConflictPolicy::Update))
        .await
        .unwrap();
    let other = migration("carol", "someone-else", ConflictPolicy::Update);
    assert_eq!(
        store.save_migration(&other).await.unwrap(),
        Saved::Conflict(ConflictKind::OtherLegacyAccount)
    );
    let same_account = migration("carol2", "u3", ConflictPolicy::Update);
    assert_eq!(
        store.save_migration(&same_account).await.unwrap(),
        Saved::Conflict(ConflictKind::AccountTaken)
    );
    assert_eq!(store.count_users().await.unwrap(), 1);
}

/// Failures count up per key, a lock is kept, and clearing forgets both.
pub async fn failures_count_lock_and_clear(store: &dyn UserStore) {
    assert_eq!(
        store.failures("account:a").await.unwrap(),
        Failures::default()
    );
    store.add_failure("account:a", 10).await.unwrap();
    let second = store.add_failure("account:a", 20).await.unwrap();
    assert_eq!((second.count, second.last_at), (2, 20));
    store.lock("account:a", 99).await.unwrap();
    assert_eq!(
        store.failures("account:a").await.unwrap().locked_until,
        Some(99)
    );
    assert_eq!(
        store.failures("client:1.2.3.4").await.unwrap().count,
        0,
        "keys are separate"
    );
    store.clear_failures("account:a").await.unwrap();
    assert_eq!(
        store.failures("account:a").await.unwrap(),
        Failures::default()
    );
}
