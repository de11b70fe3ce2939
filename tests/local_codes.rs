//! One-time codes Ferry sends itself: email through a real SMTP sink (aiosmtpd, started by
//! the harness) with the code read from the delivered mail, and SMS through an HTTP gateway
//! of the test's own whose request shape comes from the configuration. Codes are single-use,
//! expire, and are attempt-limited; a resend does not reset the attempt count.

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
use serde_json::{Map, Value as Json, json};
use support::fixture::Fixture;
use support::smtp::{SmtpSink, code_in};

const JOURNEY: &str = "
journey: codes
start: ask
steps:
  ask:
    prompt: { fields: { identifier: text, password: password, channel: text } }
    on: { submitted: lookup }
  lookup:
    find_user: { identifier: input.identifier }
    on: { found: check, not_found: check }
  check:
    check_password: { password: input.password }
    on: { success: which, failure: wrong, not_enrolled: wrong, locked: wrong }
  which:
    branch: { sms: \"input.channel == 'sms'\" }
    on: { sms: by_sms, else: by_email }
  by_email:
    local_otp: { channel: email, title: Check your email }
    on: { success: done, expired: expired, too_many_attempts: too_many, not_enrolled: wrong,
          unavailable: down }
  by_sms:
    local_otp: { channel: sms }
    on: { success: done, expired: expired, too_many_attempts: too_many, not_enrolled: wrong,
          unavailable: down }
  done:
    complete: {}
  wrong:
    fail: { reason: invalid_credentials }
  expired:
    fail: { reason: invalid_code, message: The code has expired. }
  too_many:
    fail: { reason: rate_limited, message: Too many wrong codes. }
  down:
    fail: { reason: unavailable }
";

/// Email settings for the SMS tests, which never send email.
const UNUSED_EMAIL: &str =
    "  email: { host: 127.0.0.1, port: 9, security: none, from: x@ferry.test }\n";

struct Setup {
    _dir: tempfile::TempDir,
    engine: Engine,
    clock: ManualClock,
}

async fn setup(delivery: &str) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("codes.yaml"), JOURNEY).unwrap();
    let text = format!(
        "journeys: [{}]\npasswords: {{ memory_kib: 64, iterations: 1 }}\nauthenticators:\n{delivery}",
        dir.path().display()
    );
    let env = HashMap::from([("SMS_TOKEN".to_owned(), "t0ken".to_owned())]);
    let config = Config::parse(SourceFile::new("ferry.yaml", text), dir.path().into(), &env)
        .expect("configuration");
    let users = Arc::new(MemoryUsers::new());
    let clock = ManualClock::at(1_800_000_000_000);
    let (engine, rejected) = Engine::builder(config)
        .users(users.clone())
        .env(Arc::new(env))
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
    let mut attributes = Map::new();
    attributes.insert("email".into(), json!("alice@example.test"));
    attributes.insert("phone_number".into(), json!("+15550100"));
    let migration = Migration {
        identifier: "alice".into(),
        attributes,
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
    };
    users.save_migration(&migration).await.unwrap();
    Setup {
        _dir: dir,
        engine,
        clock,
    }
}

/// Email through a sink on `port`; SMS to a gateway these tests never reach.
fn email_settings(port: u16) -> String {
    format!(
        "  email: {{ host: 127.0.0.1, port: {port}, security: none, from: Ferry <noreply@ferry.test> }}\n  sms: {{ url: \"http://127.0.0.1:9/unused\", json: {{ to: x }} }}\n"
    )
}

impl Setup {
    async fn login(&self, channel: &str) -> (SessionId, Json) {
        let client = Client::default();
        let started = self.engine.start("codes", &client).await.unwrap();
        let id = started.session.clone();
        let input = json!({ "identifier": "alice", "password": "right", "channel": channel });
        let answer = self.engine.advance(&id, &input, &client).await.unwrap();
        (id, serde_json::to_value(&answer).unwrap())
    }

    async fn send(&self, id: &SessionId, input: Json) -> Result<Json, String> {
        match self.engine.advance(id, &input, &Client::default()).await {
            Ok(answer) => Ok(serde_json::to_value(&answer).unwrap()),
            Err(e) => Err(e.to_string()),
        }
    }
}

fn other_than(code: &str) -> String {
    if code == "000000" {
        "111111".into()
    } else {
        "000000".into()
    }
}

#[tokio::test]
async fn an_email_code_from_the_delivered_mail_signs_in_and_resends_keep_the_attempt_count() {
    let Some(sink) = SmtpSink::start().await else {
        return;
    };
    let s = setup(&email_settings(sink.port)).await;
    let (id, waiting) = s.login("email").await;
    assert_eq!(waiting["step"]["kind"], "local_otp", "{waiting}");
    assert_eq!(waiting["step"]["sent_to"], "a***@example.test");
    assert_eq!(waiting["step"]["otp"]["attempts_left"], 5);
    let first = sink.wait_for(1).await;
    assert!(first[0].contains("To: alice@example.test"), "{}", first[0]);
    let code = code_in(&first[0]);

    let wrong = s
        .send(&id, json!({ "code": other_than(&code) }))
        .await
        .unwrap();
    assert_eq!(wrong["step"]["otp"]["attempts_left"], 4, "{wrong}");
    let resent = s.send(&id, json!({ "action": "resend" })).await.unwrap();
    assert_eq!(
        resent["step"]["otp"]["attempts_left"], 4,
        "a resend does not reset the count"
    );
    assert_eq!(resent["step"]["otp"]["resends_left"], 1);
    let second = sink.wait_for(2).await;
    let new_code = code_in(&second[1]);
    if new_code != code {
        let old = s.send(&id, json!({ "code": code })).await.unwrap();
        assert_eq!(
            old["step"]["otp"]["attempts_left"], 3,
            "the first code was replaced"
        );
    }
    let done = s.send(&id, json!({ "code": new_code })).await.unwrap();
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(done["amr"], json!(["pwd", "otp"]));
    let again = s.send(&id, json!({ "code": new_code })).await.unwrap_err();
    assert!(again.contains("does not exist"), "single use: {again}");
}

#[tokio::test]
async fn codes_expire_and_wrong_codes_run_out() {
    let Some(sink) = SmtpSink::start().await else {
        return;
    };
    let s = setup(&email_settings(sink.port)).await;
    let (id, _) = s.login("email").await;
    let code = code_in(&sink.wait_for(1).await[0]);
    s.clock.advance(300_000);
    let expired = s.send(&id, json!({ "code": code })).await.unwrap();
    assert_eq!(expired["message"], "The code has expired.", "{expired}");

    let (id, _) = s.login("email").await;
    let code = code_in(&sink.wait_for(2).await[1]);
    for left in (1..=4).rev() {
        let wrong = s
            .send(&id, json!({ "code": other_than(&code) }))
            .await
            .unwrap();
        assert_eq!(wrong["step"]["otp"]["attempts_left"], left);
    }
    let last = s
        .send(&id, json!({ "code": other_than(&code) }))
        .await
        .unwrap();
    assert_eq!(last["message"], "Too many wrong codes.", "{last}");
    for _ in 0..2 {
        let (id, _) = s.login("email").await;
        s.send(&id, json!({ "action": "resend" })).await.unwrap();
        s.send(&id, json!({ "action": "resend" })).await.unwrap();
        let refused = s
            .send(&id, json!({ "action": "resend" }))
            .await
            .unwrap_err();
        assert_eq!(refused, "no more codes can be sent in this session");
    }
}

#[tokio::test]
async fn an_sms_code_goes_through_the_gateway_in_the_configured_shape() {
    let gateway = Fixture::start().await;
    gateway.always("POST", "/v1/messages", 202, json!({ "queued": true }));
    let settings = format!(
        "  sms:\n    url: {}\n    headers:\n      Authorization: Bearer ${{SMS_TOKEN}}\n    json: {{ to: \"{{{{ to }}}}\", text: \"{{{{ message }}}}\", sender: Ferry }}\n    message: \"Your code is {{{{ code }}}}\"\n{}",
        gateway.url("/v1/messages"),
        UNUSED_EMAIL
    );
    let s = setup(&settings).await;
    let (id, waiting) = s.login("sms").await;
    assert_eq!(waiting["step"]["sent_to"], "*****0100", "{waiting}");
    let sent = gateway.one("/v1/messages");
    assert_eq!(sent.header("authorization"), Some("Bearer t0ken"));
    let body = sent.json();
    assert_eq!(
        (&body["to"], &body["sender"]),
        (&json!("+15550100"), &json!("Ferry"))
    );
    let code = code_in(body["text"].as_str().unwrap());
    assert_eq!(code.len(), 6);
    let done = s.send(&id, json!({ "code": code })).await.unwrap();
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(done["amr"], json!(["pwd", "sms"]));
}

#[tokio::test]
async fn a_gateway_error_is_unavailable_and_nothing_is_proven() {
    let gateway = Fixture::start().await;
    gateway.always("POST", "/send", 500, json!({ "error": "down" }));
    let settings = format!(
        "  sms: {{ url: \"{}\", form: {{ to: \"{{{{ to }}}}\", body: \"{{{{ message }}}}\" }} }}\n{}",
        gateway.url("/send"),
        UNUSED_EMAIL
    );
    let s = setup(&settings).await;
    let (_, answer) = s.login("sms").await;
    assert_eq!(answer["reason"], "unavailable", "{answer}");
    let form = gateway.one("/send").form();
    assert_eq!(form["to"], "+15550100");
}
