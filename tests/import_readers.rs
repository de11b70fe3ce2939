//! Each export reader on a sample written in its vendor's documented shape
//! (`tests/fixtures/import/README.md`): users, attributes, hashes that verify with the known
//! passwords, roles and groups, and a report line for everything not imported as it stood.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    reason = "tests fail by panicking"
)]

mod support;

use ferry::authn::hashes;
use ferry::import::auth0_hashes::HashIndex;
use ferry::import::{Options, Summary};
use ferry::store::{SqliteUsers, User, UserStore};
use serde_json::Value as Json;
use support::import::{fixtures, mapping, run};

struct Imported {
    _dir: tempfile::TempDir,
    store: SqliteUsers,
    summary: Summary,
    report: Vec<Json>,
}

async fn import(mapping_file: &str, export: &str, hashes: Option<&str>) -> Imported {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteUsers::open(&dir.path().join("users.db"))
        .await
        .unwrap();
    let index = match hashes {
        Some(file) => Some(HashIndex::build(&fixtures().join(file)).await.unwrap()),
        None => None,
    };
    let ran = run(
        &store,
        &mapping(mapping_file),
        &fixtures().join(export),
        index.as_ref(),
        Options::default(),
        &dir.path().join("report.jsonl"),
    )
    .await;
    let summary = ran.outcome.expect("import");
    Imported {
        _dir: dir,
        store,
        summary,
        report: ran.report,
    }
}

impl Imported {
    async fn user(&self, identifier: &str) -> User {
        self.store
            .find(identifier)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("no user `{identifier}`"))
    }

    async fn verifies(&self, identifier: &str, password: &str) -> bool {
        let user = self.user(identifier).await;
        let stored = self.store.password_hash(user.id).await.unwrap();
        let stored = stored.unwrap_or_else(|| panic!("`{identifier}` has no password"));
        let right = hashes::verify(password.as_bytes(), &stored).unwrap();
        let wrong = hashes::verify(b"not the password", &stored).unwrap();
        right && !wrong
    }

    async fn has_password(&self, identifier: &str) -> bool {
        let user = self.user(identifier).await;
        self.store.password_hash(user.id).await.unwrap().is_some()
    }

    fn reasons_at(&self, line: u64) -> Vec<String> {
        self.report
            .iter()
            .filter(|e| e["line"] == line)
            .map(|e| {
                format!(
                    "{}: {}",
                    e["status"].as_str().unwrap(),
                    e["reason"].as_str().unwrap()
                )
            })
            .collect()
    }
}

#[tokio::test]
async fn auth0_users_join_their_hashes_and_social_users_come_without() {
    let got = import(
        "auth0.mapping.yaml",
        "auth0-users.ndjson",
        Some("auth0-hashes.ndjson"),
    )
    .await;
    assert_eq!((got.summary.created, got.summary.rejected), (4, 1));
    assert!(got.verifies("alice@example.com", "alice-pass-1").await);
    assert!(
        got.verifies("carol@example.com", "carol-pass-3").await,
        "joined on alt_id"
    );
    assert!(
        !got.has_password("bob@gmail.example").await,
        "social users have no hash"
    );
    assert!(!got.has_password("dan@example.com").await);

    let alice = got.user("alice@example.com").await;
    assert_eq!(alice.attributes["email"], "alice@example.com");
    assert_eq!(alice.attributes["country"], "NZ");
    assert_eq!(
        alice.legacy.unwrap().subject,
        "auth0|5f7c8ec7c33c6c004bbafe82"
    );
    assert!(alice.migrated_at.is_some());
    assert!(
        got.user("dan@example.com").await.migrated_at.is_none(),
        "migrates at login"
    );
    let roles = got
        .store
        .memberships(got.user("alice@example.com").await.id)
        .await
        .unwrap();
    assert_eq!(roles.roles, vec!["admin", "billing"]);

    assert_eq!(got.reasons_at(3).len(), 1, "{:?}", got.report);
    assert!(got.reasons_at(3)[0].starts_with("rejected: the line is not valid JSON"));
    assert!(
        got.reasons_at(4)[0].contains("bcrypt with cost 8"),
        "{:?}",
        got.report
    );
    assert!(
        got.reasons_at(5)[0].contains("no hash for this user"),
        "{:?}",
        got.report
    );
}

#[tokio::test]
async fn keycloak_pbkdf2_argon2_totp_roles_and_groups() {
    let got = import("keycloak.mapping.yaml", "keycloak-realm.json", None).await;
    assert_eq!((got.summary.created, got.summary.rejected), (4, 0));
    assert!(got.verifies("kim", "kim-pass-1").await);
    assert!(got.verifies("lee", "lee-pass-2").await);
    assert!(got.verifies("ann", "ann-pass-3").await);
    assert!(
        !got.has_password("max").await,
        "federated users have no local password"
    );

    let kim = got.user("kim").await;
    assert_eq!(kim.attributes["first_name"], "Kim");
    assert!(!got.user("max").await.attributes.contains_key("first_name"));
    let m = got.store.memberships(kim.id).await.unwrap();
    assert_eq!(
        m.roles,
        vec!["account:manage-account", "default-roles-acme", "user"]
    );
    assert_eq!(m.groups, vec!["/staff"]);
    let seed: String = sqlx::query_scalar("SELECT secret FROM credentials WHERE kind = 'totp'")
        .fetch_one(got.store.pool())
        .await
        .unwrap();
    assert!(
        seed.starts_with("sealed:v1:k1:"),
        "stored encrypted: {seed}"
    );
    let seed = support::import::sealer().open("totp", &seed).unwrap();
    let seed: Json = serde_json::from_str(seed.expose()).unwrap();
    // The key is the secret string's own bytes, base64: b"JBSWY3DPEHPK3PXPJBSW".
    assert_eq!(
        seed["key"],
        "SkJTV1kzRFBFSFBLM1BYUEpCU1c=".trim_end_matches('=')
    );
    assert_eq!(
        (seed["digits"].as_u64(), seed["period"].as_u64()),
        (Some(6), Some(30))
    );

    let kim_line = 23; // the `{` of kim's object in the realm file
    assert!(
        got.reasons_at(kim_line)
            .iter()
            .any(|r| r.contains("pbkdf2-sha256 with 27500 iterations")),
        "{:?}",
        got.report
    );
    assert_eq!(
        got.summary.weak, 1,
        "argon2 7 MiB x 5 and pbkdf2-sha512 x 210000 pass"
    );
}

#[tokio::test]
async fn firebase_modified_scrypt_with_the_project_parameters() {
    let got = import("firebase.mapping.yaml", "firebase-users.json", None).await;
    assert_eq!(got.summary.created, 2);
    assert!(got.verifies("user1@example.com", "user1password").await);
    assert!(!got.has_password("social@example.com").await);
    let user = got.user("user1@example.com").await;
    assert_eq!(user.legacy.unwrap().subject, "Ww4O3Wk2gVXKgqzMA2i6Ruot0a13");
    assert_eq!(user.attributes["name"], "User One");
}

#[tokio::test]
async fn okta_cognito_and_entra_users_arrive_without_passwords() {
    let okta = import("okta.mapping.yaml", "okta-users.json", None).await;
    assert_eq!(
        (okta.summary.created, okta.summary.without_password),
        (2, 2)
    );
    let gwen = okta.user("gwen@example.com").await;
    assert_eq!(gwen.attributes["name"], "Gwen Stacy");
    assert_eq!(gwen.legacy.unwrap().subject, "00ub0oNGTSWTBKOLGLNS");
    assert!(gwen.migrated_at.is_none());

    let cognito = import("cognito.mapping.yaml", "cognito-users.json", None).await;
    assert_eq!(cognito.summary.created, 2);
    let zoe = cognito.user("zoe@example.com").await;
    assert_eq!(
        zoe.legacy.unwrap().subject,
        "9b1c1c1c-aaaa-4bbb-8ccc-000000000001"
    );
    assert_eq!(zoe.attributes["name"], "Zoe Cognito");

    let entra = import("entra.mapping.yaml", "entra-users.json", None).await;
    assert_eq!(entra.summary.created, 2);
    let alex = entra.user("alexw@contoso.example").await;
    assert_eq!(
        alex.legacy.unwrap().subject,
        "6e7b768e-07e2-4810-8459-485f84f8f204"
    );
    assert!(
        !alex.attributes.contains_key("mail"),
        "null drops the attribute"
    );
}

#[tokio::test]
async fn csv_with_a_declarative_hash_format_and_a_short_row() {
    let got = import("csv.mapping.yaml", "users.csv", None).await;
    assert_eq!((got.summary.created, got.summary.rejected), (2, 1));
    assert!(got.verifies("nina@example.com", "nina-pass-1").await);
    assert!(
        got.verifies("omar@example.com", "omar-pass-2").await,
        "rounds from the row"
    );
    let nina = got.user("nina@example.com").await;
    let m = got.store.memberships(nina.id).await.unwrap();
    assert_eq!(m.groups, vec!["dev", "ops"]);
    assert!(
        got.reasons_at(3)[0].contains("number of cells"),
        "{:?}",
        got.report
    );
}

#[tokio::test]
async fn json_lines_with_django_strings_and_a_record_without_identifier() {
    let got = import("jsonl.mapping.yaml", "users.jsonl", None).await;
    assert_eq!((got.summary.created, got.summary.rejected), (3, 1));
    assert!(got.verifies("pia", "pia-pass-1").await);
    assert!(got.verifies("quin", "quin-pass-2").await);
    assert!(!got.has_password("ray").await);
    assert_eq!(got.user("pia").await.legacy.unwrap().subject, "101");
    assert!(
        got.reasons_at(2)[0].contains("single salted md5"),
        "{:?}",
        got.report
    );
    assert!(
        got.reasons_at(4)[0].starts_with("rejected:"),
        "{:?}",
        got.report
    );
}

#[tokio::test]
async fn a_dry_run_reports_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteUsers::open(&dir.path().join("users.db"))
        .await
        .unwrap();
    let options = Options {
        dry_run: true,
        ..Options::default()
    };
    let ran = run(
        &store,
        &mapping("keycloak.mapping.yaml"),
        &fixtures().join("keycloak-realm.json"),
        None,
        options,
        &dir.path().join("report.jsonl"),
    )
    .await;
    let summary = ran.outcome.unwrap();
    assert_eq!((summary.created, summary.dry_run), (4, true));
    assert_eq!(store.count_users().await.unwrap(), 0);
    assert_eq!(store.checkpoint("import").await.unwrap(), None);
    assert!(!ran.report.is_empty(), "the weak hash is still reported");
}
