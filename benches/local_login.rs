//! `cargo bench --bench local_login`: the cost of a local password login at the default
//! argon2id parameters (19 MiB, 2 passes, 1 lane), and the memory of many at once.
//!
//! 1. One core: argon2id verifications one after another, bare (`Passwords::verify`), then
//!    whole logins through the engine (start, then one answer that runs find_user,
//!    check_password and complete). The hash's share of a login is bare time / login time.
//! 2. 64 logins at once, with the default cap of 4 hashes running: the peak of live heap
//!    bytes above the idle engine (counted by `stats_alloc`, sampled every 0.2 ms), against
//!    the cap's bound of 4 × 19 MiB.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    reason = "a benchmark fails by panicking"
)]

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use ferry::authn::password::Passwords;
use ferry::config::{Config, PasswordSettings};
use ferry::runtime::{Client, Engine};
use ferry::secret::Secret;
use ferry::store::{MemorySessions, MemoryUsers};
use ferry::syntax::source::SourceFile;
use serde_json::json;
use stats_alloc::{INSTRUMENTED_SYSTEM, StatsAlloc};
use std::alloc::System;

/// Counts heap bytes (over the system allocator: the counting wrapper cannot be built over
/// mimalloc in a static on stable).
#[global_allocator]
static ALLOCATOR: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Live heap bytes now.
fn live() -> usize {
    let stats = ALLOCATOR.stats();
    let live = stats.bytes_allocated as i128 + stats.bytes_reallocated as i128
        - stats.bytes_deallocated as i128;
    usize::try_from(live.max(0)).unwrap_or(usize::MAX)
}

const JOURNEY: &str = "journey: local
idps: { legacy: { provider: oauth2 } }
start: ask
steps:
  ask:
    prompt: { fields: { identifier: text, password: password } }
    on: { submitted: lookup }
  lookup:
    find_user: { identifier: input.identifier }
    on: { found: local, not_found: legacy }
  local:
    check_password: { password: input.password }
    on: { success: done, else: refused }
  legacy:
    legacy_password: { idp: legacy, username: input.identifier, password: input.password }
    on: { success: save, else: refused }
  save:
    save_user: { identifier: input.identifier, password: input.password, on_conflict: update }
    on: { created: done, updated: done, conflict: refused }
  done:
    complete: {}
  refused:
    fail: { reason: invalid_credentials }
";

const USERS: usize = 64;
const ROUNDS: usize = 16;
const BLOCKS: usize = 5;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run());
}

async fn run() {
    let settings = PasswordSettings::default();
    println!(
        "argon2id m={} KiB t={} p={}, {} hashes at once, {} waiting",
        settings.memory_kib,
        settings.iterations,
        settings.parallelism,
        settings.max_concurrent,
        settings.max_waiting
    );

    // One core, one after another: bare verifications and whole logins through the engine,
    // in alternating blocks; the fastest block of each counts (the least disturbed).
    let passwords = Passwords::new(&settings).unwrap();
    let secret = Secret::from("correct horse battery staple".to_owned());
    let stored = passwords.hash(&secret).await.unwrap();
    let (_dir, engine) = engine(settings.clone()).await;
    let client = Client::default();
    for i in 0..USERS {
        assert_eq!(login(&engine, &client, i).await, "completed", "first login");
    }
    let (mut bare, mut whole) = (f64::MAX, f64::MAX);
    for _ in 0..BLOCKS {
        let started = Instant::now();
        for _ in 0..ROUNDS {
            assert!(passwords.verify(&secret, &stored).await.unwrap().matches);
        }
        bare = bare.min(started.elapsed().as_secs_f64() / ROUNDS as f64);
        let started = Instant::now();
        for round in 0..ROUNDS {
            assert_eq!(login(&engine, &client, round % USERS).await, "completed");
        }
        whole = whole.min(started.elapsed().as_secs_f64() / ROUNDS as f64);
    }
    println!(
        "one core: {:.1} verifications/s bare ({:.2} ms each); {:.1} local logins/s \
         ({:.2} ms each); the hash is {:.1}% of a login",
        1.0 / bare,
        bare * 1e3,
        1.0 / whole,
        whole * 1e3,
        100.0 * bare / whole
    );

    // 64 logins at once.
    let engine = Arc::new(engine);
    let before = live();
    let peak = Arc::new(AtomicUsize::new(before));
    let done = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (peak, done) = (peak.clone(), done.clone());
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                peak.fetch_max(live(), Ordering::Relaxed);
                std::thread::sleep(Duration::from_micros(200));
            }
        })
    };
    let tasks: Vec<_> = (0..USERS)
        .map(|i| {
            let engine = engine.clone();
            let client = client.clone();
            tokio::spawn(async move { login(&engine, &client, i).await })
        })
        .collect();
    let mut completed = 0;
    for task in tasks {
        if task.await.unwrap() == "completed" {
            completed += 1;
        }
    }
    done.store(true, Ordering::Relaxed);
    sampler.join().unwrap();
    let peak = peak.load(Ordering::Relaxed).saturating_sub(before);
    let bound = settings.max_concurrent * settings.memory_kib as usize * 1024;
    println!(
        "{USERS} logins at once: {completed} completed; peak heap above the idle engine \
         {:.1} MiB; the cap's bound {} × {} KiB = {:.1} MiB; {}",
        peak as f64 / 1048576.0,
        settings.max_concurrent,
        settings.memory_kib,
        bound as f64 / 1048576.0,
        if peak <= bound + bound / 10 {
            "within the bound (+10% for sessions and buffers)"
        } else {
            "OVER the bound"
        }
    );
}

/// One login of user `i`; the answer's status.
async fn login(engine: &Engine, client: &Client, i: usize) -> String {
    let started = engine.start("local", client).await.unwrap();
    let input = json!({ "identifier": format!("user{i}"), "password": format!("pw-{i}") });
    let answer = engine
        .advance(&started.session, &input, client)
        .await
        .unwrap();
    serde_json::to_value(&answer).unwrap()["status"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// An engine on in-memory stores with the given hashing, and an instant legacy connector
/// for the first logins that create the users.
async fn engine(passwords: PasswordSettings) -> (tempfile::TempDir, Engine) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("local.yaml"), JOURNEY).unwrap();
    let text = format!("journeys: [{}]\n", dir.path().display());
    let mut config = Config::parse(
        SourceFile::new("ferry.yaml", text),
        dir.path().into(),
        &std::collections::HashMap::new(),
    )
    .unwrap();
    config.settings.passwords = passwords;
    let (engine, rejected) = Engine::builder(config)
        .users(Arc::new(MemoryUsers::new()))
        .sessions(Arc::new(MemorySessions::new()))
        .connector("legacy", Arc::new(support::Instant))
        .build()
        .await
        .unwrap();
    assert!(rejected.is_empty(), "{rejected:?}");
    (dir, engine)
}
