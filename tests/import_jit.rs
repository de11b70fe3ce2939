//! Imports and logins meet: a user migrated at login and then imported is one user, with
//! attributes per the conflict policy; an imported hash of any format verifies at login and
//! is upgraded to argon2id. Runs the shipped `jit-password` journey over HTTP.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    reason = "tests fail by panicking"
)]

mod support;

use ferry::import::{ImportMapping, Options};
use serde_json::{Value as Json, json};
use support::ferry::{Ferry, repo, shipped_config};
use support::import::run;

const JOURNEY: &str = "jit-password";

/// The journey's own save-user mapping, as an import mapping of the same legacy file and IDP.
fn legacy_file_mapping(policy: &str, name: &str) -> std::sync::Arc<ImportMapping> {
    let file = serde_json::from_value(json!({
        "source": "user_file", "idp": "users_file", "provider": "user_file",
        "identifier": "claims.username", "on_conflict": policy,
        "attributes": {"email": "claims.email | lower", "name": name}
    }))
    .unwrap();
    std::sync::Arc::new(ImportMapping::compile(file).unwrap())
}

async fn import(
    ferry: &Ferry,
    mapping: &std::sync::Arc<ImportMapping>,
    export: &std::path::Path,
) -> ferry::import::Summary {
    let report = ferry.data.path().join("report.jsonl");
    let options = Options {
        restart: true,
        ..Options::default()
    };
    let store = ferry.engine.users().as_ref();
    run(store, mapping, export, None, options, &report)
        .await
        .outcome
        .unwrap()
}

async fn attributes(ferry: &Ferry) -> Json {
    let text = ferry
        .text("SELECT attributes FROM users WHERE identifier = 'alice'")
        .await;
    serde_json::from_str(&text.unwrap()).unwrap()
}

#[tokio::test]
async fn a_user_migrated_at_login_then_imported_stays_one_user() {
    let ferry = Ferry::start(&shipped_config(), &[]).await;
    let (status, body) = ferry.login(JOURNEY, "Alice", "wonderland-42").await;
    assert_eq!(status, 200, "{body}");
    let after_login = attributes(&ferry).await;
    let jit_hash = ferry.text("SELECT secret FROM credentials").await.unwrap();

    let export = repo().join("samples/legacy-users.jsonl");
    let same = import(
        &ferry,
        &legacy_file_mapping("update", "claims.name"),
        &export,
    )
    .await;
    assert_eq!(
        (same.created, same.updated, same.rejected),
        (1, 1, 3),
        "erin new; bob, carol, dave refused"
    );
    assert_eq!(
        ferry
            .scalar("SELECT COUNT(*) FROM users WHERE identifier = 'alice'")
            .await,
        1
    );
    assert_eq!(
        attributes(&ferry).await,
        after_login,
        "the same mapping gives the same user"
    );
    let hash = ferry.text("SELECT secret FROM credentials c JOIN users u ON u.id = c.user_id WHERE u.identifier = 'alice'").await;
    assert_eq!(
        hash.as_deref(),
        Some(jit_hash.as_str()),
        "the newer local hash is kept"
    );

    let keep = import(
        &ferry,
        &legacy_file_mapping("keep", "claims.name | upper"),
        &export,
    )
    .await;
    assert_eq!(keep.updated, 2);
    assert_eq!(
        attributes(&ferry).await["name"],
        "Alice Liddell",
        "keep leaves attributes"
    );

    import(
        &ferry,
        &legacy_file_mapping("update", "claims.name | upper"),
        &export,
    )
    .await;
    assert_eq!(
        attributes(&ferry).await["name"],
        "ALICE LIDDELL",
        "update replaces them"
    );

    let fail = import(&ferry, &legacy_file_mapping("fail", "claims.name"), &export).await;
    assert_eq!((fail.conflicts, fail.created, fail.updated), (2, 0, 0));
    assert_eq!(ferry.user_rows().await, 2);

    let (status, body) = ferry.login(JOURNEY, "alice", "wonderland-42").await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn an_imported_user_logs_in_locally_and_is_upgraded_to_argon2id() {
    let ferry = Ferry::start(&shipped_config(), &[]).await;
    // A Django PBKDF2 string (hashlib.pbkdf2_hmac, 1000 rounds) for `frank-pass-1`, and
    // alice's bcrypt hash from the sample file.
    let export = ferry.data.path().join("users.jsonl");
    let lines = [
        json!({"username": "frank", "id": 2001, "email": "Frank@Example.com", "name": "Frank",
               "password_hash": "pbkdf2_sha256$1000$frankslt$yycxAbLacwfvwtSO5ObsDABgG9Rg8QllYdPF6bfRLWE="}),
        json!({"username": "alice", "id": 1001, "email": "Alice.Liddell@Example.COM", "name": "Alice Liddell",
               "password_hash": "$2b$10$pdCobmuB46INrwds.HFdHu4HDiZJgmxgbF.6Q035hVRrmbSe5v4Ua"}),
    ];
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(&export, text).unwrap();
    let summary = import(
        &ferry,
        &legacy_file_mapping("update", "claims.name"),
        &export,
    )
    .await;
    assert_eq!(
        (summary.created, summary.weak),
        (2, 1),
        "1000 rounds is weak"
    );

    for (user, password) in [("frank", "frank-pass-1"), ("alice", "wonderland-42")] {
        let (status, body) = ferry.login(JOURNEY, user, password).await;
        assert_eq!(status, 200, "{user}: {body}");
        let (status, _) = ferry.login(JOURNEY, user, "wrong").await;
        assert_eq!(status, 401);
    }
    let upgraded = ferry
        .scalar("SELECT COUNT(*) FROM credentials WHERE secret LIKE '$argon2id$%'")
        .await;
    assert_eq!(upgraded, 2, "both hashes rehashed after the first success");
    assert_eq!(
        ferry.scalar("SELECT COUNT(*) FROM migration_log").await,
        2,
        "logins did not migrate again"
    );
}

#[tokio::test]
async fn imported_roles_reach_the_journey_context() {
    let journeys = tempfile::tempdir().unwrap();
    let journey = r#"
journey: roles-gate
start: ask
steps:
  ask:
    prompt:
      fields:
        identifier: { type: text }
        password: { type: password }
    on: { submitted: lookup }
  lookup:
    find_user: { identifier: input.identifier }
    on: { found: check, not_found: denied }
  check:
    check_password: { password: input.password }
    on: { success: gate, else: denied }
  gate:
    branch:
      reader: "'reader' in user.roles and '/staff' in user.groups"
    on: { reader: done, else: denied }
  done:
    complete: {}
  denied:
    fail: { reason: denied }
"#;
    std::fs::write(journeys.path().join("roles-gate.yaml"), journey).unwrap();
    let config = format!("journeys: [{}]\n", journeys.path().display());
    let ferry = Ferry::start(&config, &[]).await;

    let export = ferry.data.path().join("users.jsonl");
    let line = json!({"username": "rita", "id": 7, "roles": ["reader"], "teams": ["/staff"],
        "password_hash": "$2b$04$SRFtYvL4ocjAtucLXgWPke25n3FEwigCpUnXORujchcfAyZoHSqf."});
    std::fs::write(&export, format!("{line}\nrita2\n")).unwrap();
    let file = serde_json::from_value(json!({
        "source": "user_file", "idp": "users_file", "roles": "claims.roles",
        "groups": "claims.teams"
    }))
    .unwrap();
    let mapping = std::sync::Arc::new(ImportMapping::compile(file).unwrap());
    let summary = import(&ferry, &mapping, &export).await;
    assert_eq!((summary.created, summary.rejected), (1, 1));

    let (status, body) = ferry
        .login("roles-gate", "rita", "correct horse battery staple")
        .await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn status_reports_users_by_source_and_how_they_came() {
    let ferry = Ferry::start(&shipped_config(), &[]).await;
    let (status, body) = ferry.login(JOURNEY, "alice", "wonderland-42").await;
    assert_eq!(status, 200, "{body}");
    let summary = import(
        &ferry,
        &legacy_file_mapping("keep", "claims.name"),
        &repo().join("samples/legacy-users.jsonl"),
    )
    .await;

    let config = ferry.data.path().join("status.yaml");
    std::fs::write(
        &config,
        format!("data_dir: {}\n", ferry.data.path().display()),
    )
    .unwrap();
    let run = |format: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_ferry"))
            .args(["status", "--format", format, "--config"])
            .arg(&config)
            .output()
            .unwrap()
    };
    let json = run("json");
    assert!(json.status.success(), "{json:?}");
    let progress: Json = serde_json::from_slice(&json.stdout).unwrap();
    // alice came by her login; erin by the import (the other records are refused or alice).
    assert_eq!((summary.created, summary.updated), (1, 1));
    assert_eq!(
        (
            &progress["users"],
            &progress["migrated"],
            &progress["pending"]
        ),
        (&json!(2), &json!(2), &json!(0))
    );
    assert_eq!(
        progress["by_source"],
        json!([{ "source": "users_file", "users": 2, "migrated": 2 }])
    );
    assert_eq!(
        progress["created_by"],
        json!({ "import": 1, "password": 1 })
    );
    assert_eq!(progress["imports"][0]["position"], 5);
    assert_eq!(progress["imports"][0]["finished"], true);
    let human = run("human");
    let text = String::from_utf8(human.stdout).unwrap();
    assert!(
        text.starts_with("2 users: 2 migrated (100.0%), 0 waiting for a first login\n"),
        "{text}"
    );
    assert!(
        text.contains("  users_file  2 users  2 migrated  100.0%\n"),
        "{text}"
    );
}
