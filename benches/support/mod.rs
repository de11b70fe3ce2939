//! Pieces the benchmarks share: an engine on in-memory stores with journeys given as text.

#![allow(dead_code, reason = "each benchmark uses a different part")]
#![allow(clippy::expect_used, reason = "a benchmark fails by panicking")]

use std::sync::Arc;

use async_trait::async_trait;
use ferry::config::{Config, PasswordSettings};
use ferry::idp::{Connector, LegacyError, Verified};
use ferry::runtime::Engine;
use ferry::secret::Secret;
use ferry::store::{MemorySessions, MemoryUsers};
use ferry::syntax::source::SourceFile;

/// A connector that accepts every password at once: the legacy IDP's time is not measured.
#[derive(Debug)]
pub struct Instant;

#[async_trait]
impl Connector for Instant {
    async fn check_password(
        &self,
        username: &str,
        _password: &Secret,
    ) -> Result<Verified, LegacyError> {
        let mut claims = serde_json::Map::new();
        claims.insert(
            "email".into(),
            serde_json::Value::String(format!("{username}@example.com")),
        );
        Ok(Verified {
            subject: username.to_owned(),
            claims,
        })
    }
}

/// An engine over journeys written to a temporary folder, in-memory stores, cheap hashing.
pub async fn engine(journeys: &[(&str, String)]) -> (tempfile::TempDir, Engine) {
    let dir = tempfile::tempdir().expect("temp dir");
    for (name, text) in journeys {
        std::fs::write(dir.path().join(name), text).expect("write journey");
    }
    let config_text = format!("journeys: [{}]\n", dir.path().display());
    let mut config = Config::parse(
        SourceFile::new("ferry.yaml", config_text),
        dir.path().into(),
        &std::collections::HashMap::new(),
    )
    .expect("config");
    config.settings.passwords = PasswordSettings {
        memory_kib: 8,
        iterations: 1,
        parallelism: 1,
        max_concurrent: 4,
        ..PasswordSettings::default()
    };
    config.settings.sessions.max_steps_per_request = 1_000;
    let (engine, rejected) = Engine::builder(config)
        .users(Arc::new(MemoryUsers::new()))
        .sessions(Arc::new(MemorySessions::new()))
        .connector("legacy", Arc::new(Instant))
        .build()
        .await
        .expect("engine");
    assert!(
        rejected.is_empty(),
        "journeys did not compile: {rejected:?}"
    );
    assert!(
        engine.journeys().all(|j| j.is_ready()),
        "a journey is not ready"
    );
    (dir, engine)
}

/// A journey: a prompt, then `n` branch steps in a row, then a fail step.
pub fn branch_chain(n: usize) -> String {
    let mut text = String::from(
        "journey: chain\nstart: ask\nsteps:\n  ask:\n    prompt: { fields: { word: text } }\n    on: { submitted: b0 }\n",
    );
    for i in 0..n {
        let next = if i + 1 == n {
            "end".to_owned()
        } else {
            format!("b{}", i + 1)
        };
        text.push_str(&format!(
            "  b{i}:\n    branch: {{ go: \"input.word == 'go'\" }}\n    on: {{ go: {next}, else: end }}\n"
        ));
    }
    text.push_str("  end:\n    fail: { reason: denied }\n");
    text
}

/// A journey: a prompt, a legacy password check on an instant connector, a branch, an end.
pub fn legacy_check() -> String {
    "journey: legacy-check
idps: { legacy: { provider: oauth2 } }
start: ask
steps:
  ask:
    prompt: { fields: { identifier: text, password: password } }
    on: { submitted: check }
  check:
    legacy_password: { idp: legacy, username: input.identifier, password: input.password }
    on: { success: route, else: end }
  route:
    branch: { known: \"claims.email is defined\" }
    on: { known: end, else: end }
  end:
    fail: { reason: denied }
"
    .to_owned()
}
