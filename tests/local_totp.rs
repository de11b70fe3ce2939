//! Local TOTP and registration prompts through the engine, on a clock the test moves: a
//! deferred prompt skipped twice then required, enrolment only after a first valid code, the
//! seed stored encrypted, codes checked ±1 step, replays refused, `every_days` and `until`
//! deferrals, and no registration before the user proved a credential.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    reason = "tests fail by panicking"
)]

mod support;

use std::collections::HashMap;
use std::sync::Arc;

use ferry::clock::ManualClock;
use ferry::config::Config;
use ferry::runtime::{Client, Engine, SessionId};
use ferry::store::{
    ConflictPolicy, CredentialKind, LegacyAccount, MemoryUsers, Migration, NewCredential, UserStore,
};
use ferry::syntax::source::SourceFile;
use serde_json::{Value as Json, json};
use support::totp::code_at;

/// 2026-12-04T12:00:10Z: ten seconds into a TOTP step.
const START_MS: i64 = 1_796_385_610_000;
const DAY_MS: i64 = 86_400_000;
const KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";

fn journey(policy: &str) -> String {
    format!(
        "
journey: local
start: ask
steps:
  ask:
    prompt: {{ fields: {{ identifier: text, password: password }} }}
    on: {{ submitted: lookup }}
  lookup:
    find_user: {{ identifier: input.identifier }}
    on: {{ found: check, not_found: check }}
  check:
    check_password: {{ password: input.password }}
    on: {{ success: has_totp, failure: wrong, not_enrolled: wrong, locked: wrong }}
  has_totp:
    branch: {{ enrolled: \"'totp' in user.authenticators\" }}
    on: {{ enrolled: ask_code, else: enrol }}
  ask_code:
    prompt: {{ fields: {{ code: otp }} }}
    on: {{ submitted: check_code }}
  check_code:
    check_totp: {{ code: input.code }}
    on: {{ success: done, failure: wrong, not_enrolled: enrol, locked: wrong }}
  enrol:
    register_authenticator: {{ offer: [totp], policy: {policy}, prompt: mfa }}
    on: {{ registered: done, skipped: done, deferred: done }}
  done:
    complete: {{}}
  wrong:
    fail: {{ reason: invalid_credentials }}
"
    )
}

struct Setup {
    _dir: tempfile::TempDir,
    engine: Engine,
    users: Arc<MemoryUsers>,
    clock: ManualClock,
}

async fn setup(policy: &str) -> Setup {
    setup_journey(&journey(policy), true).await
}

async fn setup_journey(journey: &str, with_key: bool) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("local.yaml"), journey).unwrap();
    let key = if with_key {
        "authenticators:\n  encryption_key: ${TOTP_KEY}\n  totp: { issuer: Ferry Test }\n"
    } else {
        ""
    };
    let text = format!(
        "journeys: [{}]\npasswords: {{ memory_kib: 64, iterations: 1 }}\n{key}",
        dir.path().display()
    );
    let env = HashMap::from([("TOTP_KEY".to_owned(), KEY.to_owned())]);
    let config = Config::parse(SourceFile::new("ferry.yaml", text), dir.path().into(), &env)
        .expect("configuration");
    let users = Arc::new(MemoryUsers::new());
    let clock = ManualClock::at(START_MS);
    let (engine, rejected) = Engine::builder(config)
        .users(users.clone())
        .clock(Arc::new(clock.clone()))
        .build()
        .await
        .unwrap();
    assert!(rejected.is_empty(), "{rejected:?}");
    let hash = engine
        .passwords()
        .hash(&ferry::secret::Secret::new("right"))
        .await
        .unwrap();
    users.save_migration(&migration(hash)).await.unwrap();
    Setup {
        _dir: dir,
        engine,
        users,
        clock,
    }
}

fn migration(hash: String) -> Migration {
    Migration {
        identifier: "alice".into(),
        attributes: Default::default(),
        legacy: LegacyAccount {
            idp: "legacy".into(),
            provider: "user_file".into(),
            subject: "1".into(),
        },
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
    }
}

impl Setup {
    /// Starts a login and submits the password; returns the session and the answer.
    async fn login(&self, password: &str) -> (SessionId, Json) {
        let client = Client::default();
        let started = self.engine.start("local", &client).await.unwrap();
        let id = started.session.clone();
        let input = json!({ "identifier": "alice", "password": password });
        let answer = self.engine.advance(&id, &input, &client).await.unwrap();
        (id, serde_json::to_value(&answer).unwrap())
    }

    async fn send(&self, id: &SessionId, input: Json) -> Result<Json, String> {
        match self.engine.advance(id, &input, &Client::default()).await {
            Ok(answer) => Ok(serde_json::to_value(&answer).unwrap()),
            Err(e) => Err(e.to_string()),
        }
    }

    fn now_secs(&self) -> u64 {
        (ferry::clock::Clock::now_ms(&self.clock) / 1000) as u64
    }

    async fn user_id(&self) -> uuid::Uuid {
        self.users.find("alice").await.unwrap().unwrap().id
    }

    /// Logs in, skips the prompt, and returns the prompt as it was shown.
    async fn login_and_skip(&self) -> Json {
        let (id, shown) = self.login("right").await;
        assert_eq!(shown["step"]["kind"], "register_authenticator", "{shown}");
        let done = self.send(&id, json!({ "action": "skip" })).await.unwrap();
        assert_eq!(done["status"], "completed", "{done}");
        shown
    }
}

#[tokio::test]
async fn a_deferred_prompt_is_skipped_twice_then_required_and_enrols_with_a_real_code() {
    let s = setup("{ deferred: { max_skips: 2 } }").await;
    let first = s.login_and_skip().await;
    let register = &first["step"]["register"];
    assert_eq!(register["policy"], "deferred");
    assert_eq!(
        (register["can_skip"].clone(), register["skips_left"].clone()),
        (json!(true), json!(2))
    );
    let uri = register["totp"]["otpauth_uri"].as_str().unwrap();
    assert!(
        uri.starts_with("otpauth://totp/Ferry%20Test%3Aalice?secret="),
        "{uri}"
    );
    assert!(
        register["totp"]["qr_svg"]
            .as_str()
            .unwrap()
            .starts_with("<?xml")
    );
    let second = s.login_and_skip().await;
    assert_eq!(second["step"]["register"]["skips_left"], 1);
    assert_eq!(second["step"]["register"]["state"]["skips"], 1);

    let (id, third) = s.login("right").await;
    let register = &third["step"]["register"];
    assert_eq!(register["can_skip"], false, "{third}");
    assert_eq!(register["skips_left"], 0);
    let fields: Vec<&str> = third["step"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["code"], "no skip is offered");
    let refused = s.send(&id, json!({ "action": "skip" })).await.unwrap_err();
    assert_eq!(refused, "this prompt cannot be skipped");
    let states = s.users.prompt_states(s.user_id().await).await.unwrap();
    assert_eq!(states[0].skips, 2, "{states:?}");

    let secret = register["totp"]["secret"].as_str().unwrap().to_owned();
    assert!(
        s.users
            .credential(s.user_id().await, CredentialKind::Totp)
            .await
            .unwrap()
            .is_none(),
        "nothing is stored before a first valid code"
    );
    let wrong = s.send(&id, json!({ "code": "000000" })).await.unwrap();
    assert_eq!(wrong["status"], "waiting");
    assert!(wrong["step"]["register"]["error"].is_string(), "{wrong}");
    let code = code_at(&secret, s.now_secs());
    let done = s.send(&id, json!({ "code": code })).await.unwrap();
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(done["amr"], json!(["pwd"]), "enrolling is not signing in");

    let stored = s
        .users
        .credential(s.user_id().await, CredentialKind::Totp)
        .await
        .unwrap()
        .unwrap();
    assert!(
        stored.secret.starts_with("sealed:v1:k1:"),
        "encrypted at rest"
    );
    assert!(!stored.secret.contains(&secret));
    let states = s.users.prompt_states(s.user_id().await).await.unwrap();
    assert_eq!(states[0].registered_at, Some(START_MS));

    let (id, asked) = s.login("right").await;
    assert_eq!(asked["step"]["id"], "ask_code", "{asked}");
    let replay = s.send(&id, json!({ "code": code })).await.unwrap();
    assert_eq!(
        replay["reason"], "invalid_credentials",
        "the enrolment code is used"
    );

    s.clock.advance(30_000);
    let (id, _) = s.login("right").await;
    let next = code_at(&secret, s.now_secs());
    let ok = s.send(&id, json!({ "code": next })).await.unwrap();
    assert_eq!(ok["status"], "completed", "{ok}");
    assert_eq!(ok["amr"], json!(["pwd", "otp"]));
    let (id, _) = s.login("right").await;
    let again = s.send(&id, json!({ "code": next })).await.unwrap();
    assert_eq!(
        again["reason"], "invalid_credentials",
        "a replay is refused"
    );
}

#[tokio::test]
async fn codes_one_step_either_side_pass_and_two_steps_away_fail() {
    let s = setup("required").await;
    let (id, shown) = s.login("right").await;
    let secret = shown["step"]["register"]["totp"]["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(shown["step"]["register"]["can_skip"], false);
    let now = s.now_secs();
    let done = s
        .send(&id, json!({ "code": code_at(&secret, now - 30) }))
        .await
        .unwrap();
    assert_eq!(done["status"], "completed", "the previous step passes");

    s.clock.advance(60_000);
    for (offset, passes) in [(-60i64, false), (60, false), (30, true)] {
        let (id, _) = s.login("right").await;
        let at = (s.now_secs() as i64 + offset) as u64;
        let answer = s
            .send(&id, json!({ "code": code_at(&secret, at) }))
            .await
            .unwrap();
        assert_eq!(
            answer["status"] == "completed",
            passes,
            "offset {offset}: {answer}"
        );
    }
}

#[tokio::test]
async fn a_prompt_left_open_cannot_replace_an_app_set_up_since() {
    let s = setup("required").await;
    let (first, early) = s.login("right").await;
    let (second, late) = s.login("right").await;
    let secret_of = |shown: &Json| {
        shown["step"]["register"]["totp"]["secret"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let (early_secret, late_secret) = (secret_of(&early), secret_of(&late));
    assert_ne!(early_secret, late_secret);
    let now = s.now_secs();
    let done = s
        .send(&second, json!({ "code": code_at(&late_secret, now) }))
        .await
        .unwrap();
    assert_eq!(done["status"], "completed", "{done}");
    let user = s.user_id().await;
    let kept = async || {
        let stored = s.users.credential(user, CredentialKind::Totp).await;
        stored.unwrap().unwrap().secret
    };
    let stored = kept().await;
    // The prompt opened earlier is answered later with its own app's code: it ends, and the
    // app set up in between stays.
    let stale = s
        .send(&first, json!({ "code": code_at(&early_secret, now) }))
        .await
        .unwrap();
    assert_eq!(stale["status"], "completed", "{stale}");
    assert_eq!(kept().await, stored, "the first registration stays");
    s.clock.advance(30_000);
    let (id, asked) = s.login("right").await;
    assert_eq!(asked["step"]["kind"], "prompt", "{asked}");
    let later = s.now_secs();
    let signed_in = s
        .send(&id, json!({ "code": code_at(&late_secret, later) }))
        .await
        .unwrap();
    assert_eq!(signed_in["amr"], json!(["pwd", "otp"]), "{signed_in}");
}

#[tokio::test]
async fn an_every_days_deferral_rests_then_asks_again() {
    let s = setup("{ deferred: { every_days: 7 } }").await;
    s.login_and_skip().await;
    let (_, rested) = s.login("right").await;
    assert_eq!(
        rested["status"], "completed",
        "not shown within 7 days: {rested}"
    );
    s.clock.advance(7 * DAY_MS + 1);
    let shown = s.login_and_skip().await;
    assert_eq!(shown["step"]["register"]["state"]["skips"], 1);
    assert_eq!(shown["step"]["register"]["can_skip"], true);
}

#[tokio::test]
async fn an_until_deferral_becomes_required_at_its_date() {
    let s = setup("{ deferred: { until: 2026-12-06 } }").await;
    let first = s.login_and_skip().await;
    assert_eq!(
        first["step"]["register"]["skippable_until"],
        START_MS - START_MS % DAY_MS + 2 * DAY_MS
    );
    s.clock.advance(2 * DAY_MS);
    let (id, shown) = s.login("right").await;
    assert_eq!(shown["step"]["register"]["can_skip"], false, "{shown}");
    let refused = s.send(&id, json!({ "action": "skip" })).await.unwrap_err();
    assert_eq!(refused, "this prompt cannot be skipped");
}

#[tokio::test]
async fn an_imported_plain_seed_verifies_and_is_sealed_after_use() {
    let s = setup("required").await;
    let user = s.user_id().await;
    let imported = json!({"key": "MTIzNDU2Nzg5MDEyMzQ1Njc4OTA=", "digits": 6, "period": 30,
        "algorithm": "SHA1"});
    let plain = ferry::store::StoredCredential {
        secret: imported.to_string(),
        last_used: None,
    };
    s.users
        .set_credential(user, CredentialKind::Totp, &plain, 0)
        .await
        .unwrap();
    let (id, asked) = s.login("right").await;
    assert_eq!(asked["step"]["id"], "ask_code", "{asked}");
    // "12345678901234567890" in base32.
    let code = code_at("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", s.now_secs());
    let done = s.send(&id, json!({ "code": code })).await.unwrap();
    assert_eq!(done["status"], "completed", "{done}");
    let stored = s
        .users
        .credential(user, CredentialKind::Totp)
        .await
        .unwrap()
        .unwrap();
    assert!(stored.secret.starts_with("sealed:v1:"), "{}", stored.secret);
    assert!(stored.last_used.is_some());
}

#[tokio::test]
async fn registration_before_any_proof_fails_the_session() {
    let text = "
journey: local
acknowledge:
  complete-unverified: This journey is wrong on purpose, to show the engine's own guard.
  register-unproven: The same.
start: ask
steps:
  ask:
    prompt: { fields: { identifier: text } }
    on: { submitted: lookup }
  lookup:
    find_user: { identifier: input.identifier }
    on: { found: enrol, not_found: wrong }
  enrol:
    register_authenticator: { offer: [totp], policy: optional }
    on: { registered: done, skipped: done, deferred: done }
  done:
    complete: {}
  wrong:
    fail: { reason: invalid_credentials }
";
    let s = setup_journey(text, true).await;
    let client = Client::default();
    let started = s.engine.start("local", &client).await.unwrap();
    let answer = s
        .engine
        .advance(&started.session, &json!({ "identifier": "alice" }), &client)
        .await
        .unwrap();
    let answer = serde_json::to_value(&answer).unwrap();
    assert_eq!(answer["reason"], "journey_error", "{answer}");
}

#[tokio::test]
async fn without_an_encryption_key_totp_journeys_are_not_ready() {
    let s = setup_journey(&journey("required"), false).await;
    let status = s.engine.journeys().next().unwrap();
    assert!(!status.is_ready());
    assert!(
        status.problems[0].contains("authenticators.encryption_key"),
        "{:?}",
        status.problems
    );
}
