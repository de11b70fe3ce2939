//! Behaviour every [`UserStore`] must show, run against each implementation by its tests.

use serde_json::{Map, Value as Json};

use super::{
    Batch, Checkpoint, ConflictKind, ConflictPolicy, CredentialKind, Failures, LegacyAccount,
    Migration, NewCredential, PromptState, Saved, StoredCredential, User, UserStore,
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
        credentials: vec![NewCredential {
            kind: CredentialKind::Password,
            secret: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaA".into(),
            replace: true,
        }],
        roles: None,
        groups: None,
        completes: true,
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
    // A lock still running, or a count without a lock that is recent, is not restarted.
    store
        .restart_stale("account:a", 98, i64::MAX)
        .await
        .unwrap();
    assert_eq!(store.failures("account:a").await.unwrap().count, 2);
    store.add_failure("send:x", 50).await.unwrap();
    store.restart_stale("send:x", 60, 50).await.unwrap();
    assert_eq!(store.failures("send:x").await.unwrap().count, 1);
    // An ended lock, or an idle count, starts again.
    store.restart_stale("send:x", 60, 51).await.unwrap();
    assert_eq!(store.failures("send:x").await.unwrap(), Failures::default());
    store
        .restart_stale("account:a", 99, i64::MIN)
        .await
        .unwrap();
    assert_eq!(
        store.failures("account:a").await.unwrap(),
        Failures::default()
    );
    store.add_failure("account:a", 100).await.unwrap();
    store.clear_failures("account:a").await.unwrap();
    assert_eq!(
        store.failures("account:a").await.unwrap(),
        Failures::default()
    );
}

/// A batch follows the same rules in order, a dry run writes nothing, roles and groups are
/// replaced under `update` and kept under `keep`, an imported hash fills only a gap, and the
/// checkpoint is stored with the batch.
pub async fn batches_follow_the_rules_in_order(store: &dyn UserStore) {
    let mut imported = migration("dora", "u4", ConflictPolicy::Update);
    imported.credentials[0].replace = false;
    imported.credentials[0].secret = "$2b$04$imported".into();
    imported.roles = Some(vec!["b".into(), "a".into()]);
    imported.groups = Some(vec!["/g".into()]);
    let duplicate = migration("dora", "u4", ConflictPolicy::Fail);
    let checkpoint = Checkpoint {
        import: "drill".into(),
        source: "f".into(),
        position: 2,
        finished: false,
    };
    let batch = [imported.clone(), duplicate];
    let dry = Batch {
        migrations: &batch,
        checkpoint: Some(&checkpoint),
        dry_run: true,
    };
    let outcomes = store.save_batch(dry).await.unwrap();
    assert!(matches!(outcomes[0], Saved::Created(_)));
    assert_eq!(
        outcomes[1],
        Saved::Conflict(ConflictKind::Exists),
        "the batch sees itself"
    );
    assert_eq!(
        store.count_users().await.unwrap(),
        0,
        "a dry run writes nothing"
    );
    assert_eq!(store.checkpoint("drill").await.unwrap(), None);

    let real = Batch {
        migrations: &batch,
        checkpoint: Some(&checkpoint),
        dry_run: false,
    };
    let outcomes = store.save_batch(real).await.unwrap();
    let Saved::Created(user) = &outcomes[0] else {
        panic!("{outcomes:?}")
    };
    assert_eq!(store.checkpoint("drill").await.unwrap(), Some(checkpoint));
    let m = store.memberships(user.id).await.unwrap();
    assert_eq!(
        (m.roles, m.groups),
        (vec!["a".to_owned(), "b".to_owned()], vec!["/g".to_owned()])
    );

    let login = migration("dora", "u4", ConflictPolicy::Keep);
    store.save_migration(&login).await.unwrap();
    let local = store.password_hash(user.id).await.unwrap();
    assert_eq!(
        local.as_deref(),
        Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaA")
    );
    let mut again = imported.clone();
    again.roles = Some(vec!["c".into()]);
    store.save_migration(&again).await.unwrap();
    assert_eq!(
        store.password_hash(user.id).await.unwrap(),
        local,
        "an import never overwrites"
    );
    assert_eq!(
        store.memberships(user.id).await.unwrap().roles,
        vec!["c".to_owned()]
    );
    again.policy = ConflictPolicy::Keep;
    again.roles = Some(vec!["d".into()]);
    store.save_migration(&again).await.unwrap();
    assert_eq!(
        store.memberships(user.id).await.unwrap().roles,
        vec!["c".to_owned()]
    );
}

/// A TOTP credential is stored beside the password; a use counter only moves forward, and
/// replacing the credential resets it.
pub async fn credential_uses_only_move_forward(store: &dyn UserStore) {
    let user = migration_writes_user_and_credential(store).await;
    assert!(
        store
            .credential(user.id, CredentialKind::Totp)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        !store
            .use_credential(user.id, CredentialKind::Totp, 1)
            .await
            .unwrap()
    );
    let seed = StoredCredential {
        secret: "sealed:v1:k1:x".into(),
        last_used: Some(10),
    };
    store
        .set_credential(user.id, CredentialKind::Totp, &seed, 5)
        .await
        .unwrap();
    assert_eq!(
        store.credential_kinds(user.id).await.unwrap(),
        vec![CredentialKind::Password, CredentialKind::Totp]
    );
    assert!(
        !store
            .use_credential(user.id, CredentialKind::Totp, 10)
            .await
            .unwrap()
    );
    assert!(
        store
            .use_credential(user.id, CredentialKind::Totp, 11)
            .await
            .unwrap()
    );
    assert!(
        !store
            .use_credential(user.id, CredentialKind::Totp, 11)
            .await
            .unwrap()
    );
    let stored = store
        .credential(user.id, CredentialKind::Totp)
        .await
        .unwrap();
    assert_eq!(stored.map(|c| c.last_used), Some(Some(11)));
    let fresh = StoredCredential {
        secret: "sealed:v1:k1:y".into(),
        last_used: None,
    };
    store
        .set_credential(user.id, CredentialKind::Totp, &fresh, 6)
        .await
        .unwrap();
    assert_eq!(
        store
            .credential(user.id, CredentialKind::Totp)
            .await
            .unwrap(),
        Some(fresh)
    );
    assert!(
        store.password_hash(user.id).await.unwrap().is_some(),
        "the password stays"
    );
}

/// Prompt states are written whole and read back per user, sorted by prompt.
pub async fn prompt_states_are_kept_per_user_and_prompt(store: &dyn UserStore) {
    let user = migration_writes_user_and_credential(store).await;
    assert!(store.prompt_states(user.id).await.unwrap().is_empty());
    let mut state = PromptState {
        prompt: "mfa".into(),
        skips: 1,
        first_asked_at: Some(1),
        last_asked_at: Some(2),
        last_skipped_at: Some(2),
        registered_at: None,
    };
    store.save_prompt_state(user.id, &state).await.unwrap();
    state.skips = 2;
    store.save_prompt_state(user.id, &state).await.unwrap();
    let other = PromptState {
        prompt: "backup".into(),
        ..PromptState::default()
    };
    store.save_prompt_state(user.id, &other).await.unwrap();
    assert_eq!(
        store.prompt_states(user.id).await.unwrap(),
        vec![other, state]
    );
}

/// Progress counts users by source and state, creations by method and time, and imports.
pub async fn progress_counts_users_methods_and_imports(store: &dyn UserStore) {
    let empty = store.progress(0).await.unwrap();
    assert_eq!((empty.users, empty.migrated, empty.last_at), (0, 0, None));

    store
        .save_migration(&migration("alice", "u1", ConflictPolicy::Update))
        .await
        .unwrap();
    let mut coded = migration("bob", "u2", ConflictPolicy::Update);
    coded.method = "email_otp".into();
    coded.at = 5_000;
    store.save_migration(&coded).await.unwrap();
    // An imported user without a password, from another IDP, waiting for a first login.
    let mut waiting = migration("carol", "c1", ConflictPolicy::Update);
    waiting.legacy.idp = "okta".into();
    waiting.credentials.clear();
    waiting.completes = false;
    waiting.method = "import".into();
    waiting.at = 9_000;
    let checkpoint = Checkpoint {
        import: "okta-export".into(),
        source: "fingerprint".into(),
        position: 1,
        finished: true,
    };
    let batch = Batch {
        migrations: std::slice::from_ref(&waiting),
        checkpoint: Some(&checkpoint),
        dry_run: false,
    };
    store.save_batch(batch).await.unwrap();
    // A second login of alice updates her; it creates nobody.
    let mut again = migration("alice", "u1", ConflictPolicy::Update);
    again.at = 10_000;
    store.save_migration(&again).await.unwrap();

    let progress = store.progress(5_000).await.unwrap();
    assert_eq!(
        (progress.users, progress.migrated, progress.pending),
        (3, 2, 1)
    );
    let sources: Vec<_> = progress
        .by_source
        .iter()
        .map(|s| (s.source.as_str(), s.users, s.migrated))
        .collect();
    assert_eq!(sources, vec![("legacy", 2, 2), ("okta", 1, 0)]);
    let created: Vec<_> = progress
        .created_by
        .iter()
        .map(|(method, n)| (method.as_str(), *n))
        .collect();
    assert_eq!(
        created,
        vec![("email_otp", 1), ("import", 1), ("password", 1)]
    );
    assert_eq!(progress.created_since, 2, "bob and carol, not alice");
    assert_eq!(progress.last_at, Some(10_000));
    assert_eq!(progress.imports, vec![checkpoint]);
}
