//! An import killed halfway resumes where its last batch committed: every user once, every
//! rejected line reported once; running it again changes nothing.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    reason = "tests fail by panicking"
)]

mod support;

use std::io::Write;
use std::path::Path;

use ferry::import::{ImportError, ImportMapping, Options};
use ferry::store::{PostgresUsers, SqliteUsers, UserStore};
use serde_json::json;
use support::import::run;

const USERS: u64 = 2_500;
/// Every 700th line is broken, so rejections land on both sides of the kill.
const BROKEN_EVERY: u64 = 700;

fn write_export(path: &Path) -> u64 {
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut broken = 0;
    for i in 1..=USERS {
        if i % BROKEN_EVERY == 0 {
            writeln!(file, "{{\"uid\": {i}, \"login\": ").unwrap();
            broken += 1;
            continue;
        }
        let line = json!({"uid": i, "login": format!("User{i}@Example.com"),
            "hash": "$2b$04$SRFtYvL4ocjAtucLXgWPke25n3FEwigCpUnXORujchcfAyZoHSqf."});
        writeln!(file, "{line}").unwrap();
    }
    broken
}

fn mapping() -> std::sync::Arc<ImportMapping> {
    let file = serde_json::from_value(json!({
        "source": "jsonl", "idp": "legacy", "identifier": "claims.login",
        "subject": "claims.uid", "attributes": {"email": "claims.login | lower"},
        "password": {"hash": "claims.hash"}
    }))
    .unwrap();
    std::sync::Arc::new(ImportMapping::compile(file).unwrap())
}

fn options(stop_after: Option<u64>) -> Options {
    Options {
        name: "drill".into(),
        batch_size: 200,
        stop_after,
        ..Options::default()
    }
}

async fn scalar(store: &SqliteUsers, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(store.pool())
        .await
        .unwrap()
}

/// A store under test with its tables, for counting rows in them.
#[derive(Clone, Copy)]
enum Tables<'a> {
    Sqlite(&'a SqliteUsers),
    Postgres(&'a PostgresUsers),
}

impl Tables<'_> {
    fn users(&self) -> &dyn UserStore {
        match self {
            Tables::Sqlite(s) => *s,
            Tables::Postgres(s) => *s,
        }
    }

    async fn count(self, sql: &'static str) -> i64 {
        match self {
            Tables::Sqlite(s) => scalar(s, sql).await,
            Tables::Postgres(s) => sqlx::query_scalar(sql).fetch_one(s.pool()).await.unwrap(),
        }
    }
}

#[tokio::test]
async fn a_killed_import_resumes_and_every_user_arrives_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteUsers::open(&dir.path().join("users.db"))
        .await
        .unwrap();
    kill_and_resume(Tables::Sqlite(&store), dir.path()).await;
}

/// The same on PostgreSQL, where each batch of 200 holds the whole-store lock.
#[tokio::test]
async fn on_postgresql_a_killed_import_resumes_and_every_user_arrives_once() {
    let Some(schema) = support::stores::PgSchema::create().await else {
        return;
    };
    let store = PostgresUsers::connect(&schema.url).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    kill_and_resume(Tables::Postgres(&store), dir.path()).await;
}

async fn kill_and_resume(tables: Tables<'_>, dir: &Path) {
    let export = dir.join("users.jsonl");
    let broken = write_export(&export);
    let report = dir.join("report.jsonl");
    let store = tables.users();
    let mapping = mapping();

    let first = run(
        store,
        &mapping,
        &export,
        None,
        options(Some(1_234)),
        &report,
    )
    .await;
    let Err(ImportError::Interrupted { position, .. }) = first.outcome else {
        panic!(
            "expected an interruption, got {:?}",
            first.outcome.map(|s| s.read)
        );
    };
    assert_eq!(
        position, 1_200,
        "six batches of 200 committed; the seventh was lost"
    );
    assert_eq!(
        store.count_users().await.unwrap(),
        1_200 - 1,
        "line 700 is broken"
    );
    let checkpoint = store.checkpoint("drill").await.unwrap().unwrap();
    assert_eq!((checkpoint.position, checkpoint.finished), (1_200, false));

    let second = run(store, &mapping, &export, None, options(None), &report).await;
    let summary = second.outcome.unwrap();
    assert_eq!((summary.resumed_from, summary.read), (1_200, USERS - 1_200));
    assert!(summary.finished);

    let expected = (USERS - broken) as i64;
    assert_eq!(store.count_users().await.unwrap() as i64, expected);
    assert_eq!(
        tables
            .count("SELECT COUNT(DISTINCT legacy_subject) FROM users")
            .await,
        expected
    );
    assert_eq!(
        tables
            .count("SELECT COUNT(*) FROM migration_log WHERE event = 'created'")
            .await,
        expected,
        "each user created once"
    );
    assert_eq!(
        tables.count("SELECT COUNT(*) FROM credentials").await,
        expected
    );
    let mut rejected: Vec<u64> = second
        .report
        .iter()
        .filter(|e| e["status"] == "rejected")
        .map(|e| e["line"].as_u64().unwrap())
        .collect();
    rejected.sort_unstable();
    assert_eq!(
        rejected,
        vec![700, 1_400, 2_100],
        "each broken line reported once"
    );
    let flagged = second
        .report
        .iter()
        .filter(|e| e["status"] == "flagged")
        .count();
    assert_eq!(
        flagged as i64, expected,
        "each weak (cost 4) hash flagged once"
    );
}

#[tokio::test]
async fn running_a_finished_import_again_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let export = dir.path().join("users.jsonl");
    let broken = write_export(&export);
    let report = dir.path().join("report.jsonl");
    let store = SqliteUsers::open(&dir.path().join("users.db"))
        .await
        .unwrap();
    let mapping = mapping();

    run(&store, &mapping, &export, None, options(None), &report)
        .await
        .outcome
        .unwrap();
    let before: Vec<(String, String)> =
        sqlx::query_as("SELECT id, attributes FROM users ORDER BY id")
            .fetch_all(store.pool())
            .await
            .unwrap();
    let again = run(&store, &mapping, &export, None, options(None), &report).await;
    let summary = again.outcome.unwrap();
    assert_eq!((summary.created, summary.updated), (0, USERS - broken));
    let after: Vec<(String, String)> =
        sqlx::query_as("SELECT id, attributes FROM users ORDER BY id")
            .fetch_all(store.pool())
            .await
            .unwrap();
    assert_eq!(before, after);
}

#[tokio::test]
async fn a_checkpoint_is_not_resumed_on_another_file() {
    let dir = tempfile::tempdir().unwrap();
    let export = dir.path().join("users.jsonl");
    write_export(&export);
    let report = dir.path().join("report.jsonl");
    let store = SqliteUsers::open(&dir.path().join("users.db"))
        .await
        .unwrap();
    let mapping = mapping();
    let first = run(&store, &mapping, &export, None, options(Some(500)), &report).await;
    assert!(matches!(
        first.outcome,
        Err(ImportError::Interrupted { .. })
    ));

    std::fs::write(&export, "{\"uid\": 1, \"login\": \"other@example.com\"}\n").unwrap();
    let second = run(&store, &mapping, &export, None, options(None), &report).await;
    assert!(
        matches!(
            second.outcome,
            Err(ImportError::OtherSource { position: 400, .. })
        ),
        "{:?}",
        second.outcome.err()
    );
}
