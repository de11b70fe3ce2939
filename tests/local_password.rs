//! Local password checks through the engine: an unknown user costs exactly the hashing work a
//! known one does (counted, not timed), and is refused the same way.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    reason = "tests fail by panicking"
)]

use std::collections::HashMap;
use std::sync::Arc;

use ferry::config::Config;
use ferry::runtime::{Client, Engine, State};
use ferry::store::{
    ConflictPolicy, CredentialKind, LegacyAccount, MemoryUsers, Migration, NewCredential, UserStore,
};
use ferry::syntax::source::SourceFile;
use serde_json::json;

const JOURNEY: &str = "
journey: local
start: ask
steps:
  ask:
    prompt: { fields: { identifier: text, password: password } }
    on: { submitted: lookup }
  lookup:
    find_user: { identifier: input.identifier }
    on: { found: check, not_found: check }
  check:
    check_password: { password: input.password }
    on: { success: done, failure: wrong, not_enrolled: wrong, locked: wrong }
  done:
    complete: {}
  wrong:
    fail: { reason: invalid_credentials }
";

async fn engine() -> (tempfile::TempDir, Engine, Arc<MemoryUsers>) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("local.yaml"), JOURNEY).unwrap();
    let text = format!(
        "journeys: [{}]\npasswords: {{ memory_kib: 64, iterations: 1 }}\n",
        dir.path().display()
    );
    let config = Config::parse(
        SourceFile::new("ferry.yaml", text),
        dir.path().into(),
        &HashMap::<String, String>::new(),
    )
    .unwrap();
    let users = Arc::new(MemoryUsers::new());
    let (engine, rejected) = Engine::builder(config)
        .users(users.clone())
        .build()
        .await
        .unwrap();
    assert!(rejected.is_empty());
    (dir, engine, users)
}

async fn login(engine: &Engine, identifier: &str, password: &str) -> State {
    let client = Client::default();
    let started = engine.start("local", &client).await.unwrap();
    let input = json!({ "identifier": identifier, "password": password });
    engine
        .advance(&started.session, &input, &client)
        .await
        .unwrap()
        .state
}

#[tokio::test]
async fn an_unknown_user_costs_one_hash_like_a_known_one() {
    let (_dir, engine, users) = engine().await;
    let hash = engine
        .passwords()
        .hash(&ferry::secret::Secret::new("right"))
        .await
        .unwrap();
    let legacy = LegacyAccount {
        idp: "legacy".into(),
        provider: "user_file".into(),
        subject: "1".into(),
    };
    let migration = Migration {
        identifier: "known".into(),
        attributes: Default::default(),
        legacy,
        credentials: vec![NewCredential {
            kind: CredentialKind::Password,
            secret: hash,
            replace: true,
        }],
        roles: None,
        groups: None,
        completes: true,
        policy: ConflictPolicy::Update,
        journey: "setup".into(),
        method: "password".into(),
        at: 0,
    };
    users.save_migration(&migration).await.unwrap();

    let before = engine.passwords().verifications();
    let known = login(&engine, "known", "wrong").await;
    let after_known = engine.passwords().verifications();
    let unknown = login(&engine, "nobody", "wrong").await;
    let after_unknown = engine.passwords().verifications();

    assert_eq!(after_known - before, 1);
    assert_eq!(after_unknown - after_known, 1);
    let refused = |s: &State| matches!(s, State::Failed { message, .. } if message == "The identifier or password is wrong.");
    assert!(
        refused(&known) && refused(&unknown),
        "{known:?} {unknown:?}"
    );
    assert!(matches!(
        login(&engine, "known", "right").await,
        State::Completed { .. }
    ));
}
