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
          locked: locked, rate_limited: limited, unavailable: down }
  by_sms:
    local_otp: { channel: sms }
    on: { success: done, expired: expired, too_many_attempts: too_many, not_enrolled: wrong,
          locked: locked, rate_limited: limited, unavailable: down }
  done:
    complete: {}
  wrong:
    fail: { reason: invalid_credentials }
  locked:
    fail: { reason: locked }
  limited:
    fail: { reason: rate_limited, message: Too many codes were sent. }
  expired:
    fail: { reason: invalid_code, message: The code has expired. }
  too_many:
    fail: { reason: rate_limited, message: Too many wrong codes. }
  down:
    fail: { reason: unavailable }
";

/// A user known by identifier who signs in with a code sent to their address and is then
/// asked for a password, an email address or a phone number.
const ENROL: &str = "
journey: enrol
start: ask
steps:
  ask:
    prompt: { fields: { identifier: text, channel: text } }
    on: { submitted: lookup }
  lookup:
    find_user: { identifier: input.identifier }
    on: { found: which, not_found: wrong }
  which:
    branch: { sms: \"input.channel == 'sms'\" }
    on: { sms: by_sms, else: code }
  code:
    local_otp: { channel: email }
    on: { success: enrol, else: wrong }
  by_sms:
    local_otp: { channel: sms }
    on: { success: enrol, else: wrong }
  enrol:
    register_authenticator: { offer: [password, email, sms], policy: required }
    on: { registered: done, skipped: done, deferred: done }
  done:
    complete: {}
  wrong:
    fail: { reason: invalid_credentials }
";

/// Email settings for the SMS tests, which never send email.
const UNUSED_EMAIL: &str =
    "  email: { host: 127.0.0.1, port: 9, security: none, from: x@ferry.test }\n";

struct Setup {
    _dir: tempfile::TempDir,
    engine: Arc<Engine>,
    clock: ManualClock,
    users: Arc<MemoryUsers>,
}

async fn setup(delivery: &str) -> Setup {
    setup_with(delivery, "").await
}

/// As [`setup`], with more top-level configuration (`throttle`, say).
async fn setup_with(delivery: &str, top: &str) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("codes.yaml"), JOURNEY).unwrap();
    std::fs::write(dir.path().join("enrol.yaml"), ENROL).unwrap();
    std::fs::write(dir.path().join("blocked.txt"), "correcthorse\nPassw0rd!\n").unwrap();
    let text = format!(
        "journeys: [{}]\npasswords: {{ memory_kib: 64, iterations: 1, blocklist: blocked.txt }}\n{top}authenticators:\n{delivery}",
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
    let people = [
        ("alice", Some(hash.clone()), Some("+15550100")),
        ("bob", Some(hash), None),
        ("carol", None, None),
    ];
    for (n, (name, password, phone)) in people.into_iter().enumerate() {
        let mut attributes = Map::new();
        attributes.insert("email".into(), json!(format!("{name}@example.test")));
        if let Some(phone) = phone {
            attributes.insert("phone_number".into(), json!(phone));
        }
        let credentials = password
            .map(|secret| NewCredential {
                kind: CredentialKind::Password,
                secret,
                replace: true,
            })
            .into_iter()
            .collect();
        let migration = Migration {
            identifier: name.into(),
            attributes,
            legacy: LegacyAccount {
                idp: "legacy".into(),
                provider: "user_file".into(),
                subject: n.to_string(),
            },
            credentials,
            roles: None,
            groups: None,
            completes: true,
            policy: ConflictPolicy::Update,
            journey: "setup".into(),
            method: "password".into(),
            at: 0,
        };
        users.save_migration(&migration).await.unwrap();
    }
    Setup {
        _dir: dir,
        engine: Arc::new(engine),
        clock,
        users,
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
        self.login_as("alice", channel).await
    }

    async fn login_as(&self, user: &str, channel: &str) -> (SessionId, Json) {
        let client = Client::default();
        let started = self.engine.start("codes", &client).await.unwrap();
        let id = started.session.clone();
        let input = json!({ "identifier": user, "password": "right", "channel": channel });
        let answer = self.engine.advance(&id, &input, &client).await.unwrap();
        (id, serde_json::to_value(&answer).unwrap())
    }

    /// Starts the `enrol` journey for `user`: a code goes to their email address.
    async fn enrol(&self, user: &str) -> SessionId {
        self.enrol_by(user, "email").await.0
    }

    /// Starts the `enrol` journey for `user` with a code by `channel`.
    async fn enrol_by(&self, user: &str, channel: &str) -> (SessionId, Json) {
        let client = Client::default();
        let started = self.engine.start("enrol", &client).await.unwrap();
        let id = started.session.clone();
        let input = json!({ "identifier": user, "channel": channel });
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

/// Throttling for the lockout tests: no delays, accounts locked after twelve failures for a
/// minute, and send limits out of the way.
const LOCK_AFTER_TWELVE: &str = "throttle:\n  account: { free_failures: 1000, lock_after: 12, lock_seconds: 60 }\n  client: { free_failures: 1000, lock_after: 1000 }\n";

fn no_send_limit(port: u16) -> String {
    email_settings(port) + "  codes: { send_limits: { account: 1000, client: 1000 } }\n"
}

#[tokio::test]
async fn wrong_codes_across_sessions_lock_the_account_and_a_right_password_does_not_reset_them() {
    let Some(sink) = SmtpSink::start().await else {
        return;
    };
    let s = setup_with(&no_send_limit(sink.port), LOCK_AFTER_TWELVE).await;
    let mut sent = 0;
    let mut wrong = 0;
    // Two sessions of five wrong codes each: each ends as too many attempts, and each new
    // session starts with the right password.
    for _ in 0..2 {
        let (id, _) = s.login("email").await;
        sent += 1;
        let code = code_in(&sink.wait_for(sent).await[sent - 1]);
        for _ in 0..5 {
            let answer = s.send(&id, json!({ "code": other_than(&code) })).await;
            wrong += 1;
            assert!(answer.is_ok(), "{answer:?}");
        }
    }
    assert_eq!(wrong, 10);
    let (id, _) = s.login("email").await;
    sent += 1;
    let code = code_in(&sink.wait_for(sent).await[sent - 1]);
    let eleventh = s
        .send(&id, json!({ "code": other_than(&code) }))
        .await
        .unwrap();
    assert_eq!(eleventh["step"]["otp"]["attempts_left"], 4, "{eleventh}");
    let twelfth = s
        .send(&id, json!({ "code": other_than(&code) }))
        .await
        .unwrap();
    assert_eq!(
        (twelfth["status"].as_str(), twelfth["reason"].as_str()),
        (Some("failed"), Some("locked")),
        "the twelfth wrong code locks: {twelfth}"
    );
    assert_eq!(twelfth["retry_after"], 60, "{twelfth}");

    // Locked: the right password leads to the code step, which sends nothing.
    let (_, locked) = s.login("email").await;
    assert_eq!(locked["reason"], "locked", "{locked}");
    assert_eq!(
        sink.messages().len(),
        sent,
        "no code is sent to a locked account"
    );
    // Another account is untouched.
    let (id, bob) = s.login_as("bob", "email").await;
    assert_eq!(bob["step"]["kind"], "local_otp", "{bob}");
    sent += 1;
    let code = code_in(&sink.wait_for(sent).await[sent - 1]);
    let done = s.send(&id, json!({ "code": code })).await.unwrap();
    assert_eq!(done["status"], "completed", "{done}");

    // After the lock, the right code signs alice in and clears the count.
    s.clock.advance(60_000);
    let (id, _) = s.login("email").await;
    sent += 1;
    let code = code_in(&sink.wait_for(sent).await[sent - 1]);
    let done = s.send(&id, json!({ "code": code })).await.unwrap();
    assert_eq!(done["status"], "completed", "{done}");
    let alice = s.users.find("alice").await.unwrap().unwrap();
    let count = s.users.failures("codes:account:alice").await.unwrap();
    assert_eq!((count.count, alice.identifier.as_str()), (0, "alice"));
}

#[tokio::test]
async fn codes_sent_to_one_account_are_limited_across_sessions() {
    let Some(sink) = SmtpSink::start().await else {
        return;
    };
    let limits = email_settings(sink.port)
        + "  codes: { send_limits: { account: 3, client: 100, window_seconds: 600 } }\n";
    let s = setup(&limits).await;
    let (first, _) = s.login("email").await;
    s.login("email").await;
    sink.wait_for(2).await;
    let resent = s.send(&first, json!({ "action": "resend" })).await.unwrap();
    assert_eq!(resent["step"]["otp"]["resends_left"], 1, "{resent}");
    sink.wait_for(3).await;
    let refused = s
        .send(&first, json!({ "action": "resend" }))
        .await
        .unwrap_err();
    assert_eq!(refused, "too many codes were sent; try again later");
    let (_, limited) = s.login("email").await;
    assert_eq!(
        (limited["reason"].as_str(), limited["message"].as_str()),
        (Some("rate_limited"), Some("Too many codes were sent.")),
        "{limited}"
    );
    assert_eq!(sink.messages().len(), 3, "nothing more was sent");
    // The code already sent still works while the limit holds.
    let code = code_in(&sink.messages()[2]);
    let done = s.send(&first, json!({ "code": code })).await.unwrap();
    assert_eq!(done["status"], "completed", "{done}");

    s.clock.advance(600_000);
    let (_, again) = s.login("email").await;
    assert_eq!(
        again["step"]["kind"], "local_otp",
        "a window later: {again}"
    );
    sink.wait_for(4).await;
}

#[tokio::test]
async fn a_user_registers_a_password_that_the_rules_accept() {
    let Some(sink) = SmtpSink::start().await else {
        return;
    };
    let s = setup(&email_settings(sink.port)).await;
    let id = s.enrol("carol").await;
    let code = code_in(&sink.wait_for(1).await[0]);
    let prompt = s.send(&id, json!({ "code": code })).await.unwrap();
    assert_eq!(prompt["step"]["kind"], "register_authenticator", "{prompt}");
    assert_eq!(
        prompt["step"]["register"]["offer"],
        json!(["password", "email", "sms"])
    );
    assert_eq!(prompt["step"]["register"]["can_skip"], false);

    let chose = s.send(&id, json!({ "method": "password" })).await.unwrap();
    assert_eq!(
        chose["step"]["register"]["password"],
        json!({ "min_length": 8, "max_length": 128 })
    );
    let field = &chose["step"]["fields"][0];
    assert_eq!(
        (&field["name"], &field["type"]),
        (&json!("password"), &json!("password")),
        "{chose}"
    );
    let refusals = [
        (
            "short".to_owned(),
            "the password needs at least 8 characters",
        ),
        (
            "x".repeat(129),
            "the password may have at most 128 characters",
        ),
        (
            "PASSW0RD!".to_owned(),
            "this password is too common or has appeared in a breach; choose another",
        ),
    ];
    for (password, why) in refusals {
        let refused = s
            .send(&id, json!({ "password": password }))
            .await
            .unwrap_err();
        assert_eq!(refused, why, "{password}");
    }
    let carol = s.users.find("carol").await.unwrap().unwrap();
    assert_eq!(
        s.users.password_hash(carol.id).await.unwrap(),
        None,
        "nothing kept yet"
    );

    let done = s
        .send(&id, json!({ "password": "a long and unusual phrase" }))
        .await
        .unwrap();
    assert_eq!(done["status"], "completed", "{done}");
    let hash = s.users.password_hash(carol.id).await.unwrap().unwrap();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    let verified = s
        .engine
        .passwords()
        .verify(
            &ferry::secret::Secret::new("a long and unusual phrase"),
            &hash,
        )
        .await
        .unwrap();
    assert!(verified.matches);
    let states = s.users.prompt_states(carol.id).await.unwrap();
    assert!(states[0].registered_at.is_some(), "{states:?}");

    // The next login passes the prompt: carol has one of the offered authenticators.
    let id = s.enrol("carol").await;
    let code = code_in(&sink.wait_for(2).await[1]);
    let done = s.send(&id, json!({ "code": code })).await.unwrap();
    assert_eq!(done["status"], "completed", "{done}");
}

#[tokio::test]
async fn an_email_address_on_file_is_registered_once_its_code_comes_back() {
    let Some(sink) = SmtpSink::start().await else {
        return;
    };
    let s = setup(&email_settings(sink.port)).await;
    let id = s.enrol("carol").await;
    let code = code_in(&sink.wait_for(1).await[0]);
    s.send(&id, json!({ "code": code })).await.unwrap();

    let sent = s.send(&id, json!({ "method": "email" })).await.unwrap();
    let register = &sent["step"]["register"];
    assert_eq!(register["sent_to"], "c***@example.test", "{sent}");
    assert_eq!(register["code"]["attempts_left"], 5);
    let mail = &sink.wait_for(2).await[1];
    assert!(mail.contains("To: carol@example.test"), "{mail}");
    let code = code_in(mail);
    let wrong = s
        .send(&id, json!({ "code": other_than(&code) }))
        .await
        .unwrap();
    assert_eq!(
        wrong["step"]["register"]["code"]["attempts_left"], 4,
        "{wrong}"
    );
    let carol = s.users.find("carol").await.unwrap().unwrap();
    let none = s.users.credential(carol.id, CredentialKind::Email).await;
    assert!(none.unwrap().is_none(), "nothing kept before the code");

    let done = s.send(&id, json!({ "code": code })).await.unwrap();
    assert_eq!(done["status"], "completed", "{done}");
    let kept = s
        .users
        .credential(carol.id, CredentialKind::Email)
        .await
        .unwrap()
        .unwrap();
    let kept: Json = serde_json::from_str(&kept.secret).unwrap();
    assert_eq!(kept, json!({ "address": "carol@example.test" }));
}

#[tokio::test]
async fn a_typed_phone_number_is_registered_and_later_codes_go_to_it() {
    let Some(sink) = SmtpSink::start().await else {
        return;
    };
    let gateway = Fixture::start().await;
    gateway.always("POST", "/sms", 202, json!({ "queued": true }));
    let settings = format!(
        "  email: {{ host: 127.0.0.1, port: {}, security: none, from: noreply@ferry.test }}\n  sms: {{ url: \"{}\", json: {{ to: \"{{{{ to }}}}\", text: \"{{{{ message }}}}\" }} }}\n",
        sink.port,
        gateway.url("/sms")
    );
    let s = setup(&settings).await;
    let id = s.enrol("carol").await;
    let code = code_in(&sink.wait_for(1).await[0]);
    s.send(&id, json!({ "code": code })).await.unwrap();
    let waiting = s.send(&id, json!({ "method": "sms" })).await.unwrap();
    let field = &waiting["step"]["fields"][0];
    assert_eq!(
        (&field["name"], &field["optional"]),
        (&json!("address"), &json!(false)),
        "carol has no phone on file: {waiting}"
    );
    assert!(gateway.requests_to("/sms").is_empty());
    for bad in ["5550123", "+0123456789", "+1 555 0123", "+1234567"] {
        let refused = s.send(&id, json!({ "address": bad })).await.unwrap_err();
        assert!(refused.contains("E.164"), "{bad}: {refused}");
    }
    let sent = s
        .send(&id, json!({ "address": "+447700900123" }))
        .await
        .unwrap();
    assert_eq!(sent["step"]["sent_to"], "*********0123", "{sent}");
    let text = gateway.one("/sms").json();
    assert_eq!(text["to"], "+447700900123");
    let code = code_in(text["text"].as_str().unwrap());
    let done = s.send(&id, json!({ "code": code })).await.unwrap();
    assert_eq!(done["status"], "completed", "{done}");

    let carol = s.users.find("carol").await.unwrap().unwrap();
    let kept = s
        .users
        .credential(carol.id, CredentialKind::Sms)
        .await
        .unwrap()
        .unwrap();
    let kept: Json = serde_json::from_str(&kept.secret).unwrap();
    assert_eq!(kept, json!({ "address": "+447700900123" }));

    // Her next login texts the number she proved, and the prompt passes: she has an SMS
    // authenticator now.
    gateway.clear();
    let (id, waiting) = s.enrol_by("carol", "sms").await;
    assert_eq!(waiting["step"]["sent_to"], "*********0123", "{waiting}");
    let text = gateway.one("/sms").json();
    assert_eq!(text["to"], "+447700900123");
    let code = code_in(text["text"].as_str().unwrap());
    let done = s.send(&id, json!({ "code": code })).await.unwrap();
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(done["amr"], json!(["sms"]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_logins_cannot_pass_the_send_limit() {
    let Some(sink) = SmtpSink::start().await else {
        return;
    };
    let limits = email_settings(sink.port)
        + "  codes: { send_limits: { account: 5, client: 100, window_seconds: 600 } }\n";
    let s = setup(&limits).await;
    let mut sessions = Vec::new();
    for _ in 0..30 {
        let started = s.engine.start("codes", &Client::default()).await.unwrap();
        sessions.push(started.session);
    }
    let mut tasks = tokio::task::JoinSet::new();
    for id in sessions {
        let engine = s.engine.clone();
        tasks.spawn(async move {
            let input = json!({ "identifier": "alice", "password": "right", "channel": "email" });
            let answer = engine
                .advance(&id, &input, &Client::default())
                .await
                .unwrap();
            serde_json::to_value(&answer).unwrap()
        });
    }
    let answers = tasks.join_all().await;
    let waiting = answers.iter().filter(|a| a["status"] == "waiting").count();
    let limited = answers
        .iter()
        .filter(|a| a["reason"] == "rate_limited")
        .count();
    assert_eq!((waiting, limited), (5, 25), "{answers:?}");
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(sink.messages().len(), 5, "five codes went out");
}

#[tokio::test]
async fn choosing_again_does_not_reset_a_registration_prompts_code_limits() {
    let Some(sink) = SmtpSink::start().await else {
        return;
    };
    let s = setup(&email_settings(sink.port)).await;
    let id = s.enrol("carol").await;
    let code = code_in(&sink.wait_for(1).await[0]);
    s.send(&id, json!({ "code": code })).await.unwrap();

    let early = s.send(&id, json!({ "code": "123456" })).await.unwrap_err();
    assert!(early.contains("choose an authenticator"), "{early}");
    s.send(&id, json!({ "method": "sms" })).await.unwrap();
    let no_code = s.send(&id, json!({ "code": "123456" })).await.unwrap_err();
    assert!(
        no_code.starts_with("no code has been sent yet"),
        "{no_code}"
    );
    for quoted in ["\"x y\"@example.test", "Carol <carol@example.test>"] {
        let answer = json!({ "method": "email", "address": quoted });
        let refused = s.send(&id, answer).await.unwrap_err();
        assert_eq!(refused, "`address` is not an email address", "{quoted}");
    }
    // Three codes for the whole prompt (`max_sends`), however the user asks for them.
    for sent in 2..=4 {
        let answer = s.send(&id, json!({ "method": "email" })).await.unwrap();
        assert_eq!(answer["step"]["register"]["sent_to"], "c***@example.test");
        sink.wait_for(sent).await;
    }
    let refused = s.send(&id, json!({ "method": "email" })).await.unwrap_err();
    assert_eq!(refused, "no more codes can be sent in this session");
    assert_eq!(sink.messages().len(), 4);
}
