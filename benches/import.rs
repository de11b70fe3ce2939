//! `cargo bench --bench import`: generated users into SQLite through the whole import
//! pipeline (read, map, batch, write), at two file sizes. Each size runs in its own process so
//! its peak resident memory (VmHWM) is its own; bcrypt hashes are drawn from four made once,
//! since an import stores hashes and never computes them.
//!
//! `cargo bench --bench import -- 100000 1000000` picks the sizes (default 250000 1000000);
//! `IMPORT_BATCH=5000` sets the records per transaction.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    reason = "a benchmark fails by panicking"
)]

use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use ferry::clock::SystemClock;
use ferry::import::report::Report;
use ferry::import::{Import, ImportMapping, Options};
use ferry::store::{SqliteUsers, UserStore};
use serde_json::json;

/// The allocator of the `ferry` binary, so the figures are the command's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    if let [flag, n] = args.as_slice()
        && flag == "--child"
    {
        child(n.parse().expect("a user count"));
        return;
    }
    let sizes: Vec<u64> = if args.is_empty() {
        vec![250_000, 1_000_000]
    } else {
        args.iter()
            .map(|a| a.parse().expect("a user count"))
            .collect()
    };
    println!(
        "{:>10} {:>10} {:>12} {:>10} {:>14} {:>10}",
        "users", "seconds", "users/s", "CPU s", "peak RSS MiB", "file MiB"
    );
    for n in sizes {
        let out = Command::new(std::env::current_exe().unwrap())
            .args(["--child", &n.to_string()])
            .output()
            .expect("run the child");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        print!("{}", String::from_utf8_lossy(&out.stdout));
    }
}

fn child(n: u64) {
    let dir = tempfile::tempdir().unwrap();
    let export = dir.path().join("users.jsonl");
    generate(&export, n);
    let file_mib = std::fs::metadata(&export).unwrap().len() as f64 / 1048576.0;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let cpu_before = cpu_seconds();
    let (seconds, stored) = runtime.block_on(import(dir.path(), &export));
    let cpu = cpu_seconds() - cpu_before;
    assert_eq!(stored, n, "every generated user stored");
    let peak = vm_hwm_kib() as f64 / 1024.0;
    let rate = n as f64 / seconds;
    println!("{n:>10} {seconds:>10.2} {rate:>12.0} {cpu:>10.2} {peak:>14.1} {file_mib:>10.1}");
}

/// Four bcrypt hashes made once (Python `bcrypt`, cost 10); every user gets one of them.
const HASHES: [&str; 4] = [
    "$2b$10$pdCobmuB46INrwds.HFdHu4HDiZJgmxgbF.6Q035hVRrmbSe5v4Ua",
    "$2b$10$9Hznz1UF0Jniegh0bUdFWuTfiAv5.WkijgIid6466/A3BpJbPAW.O",
    "$2b$10$fXNsqv0Bok7PKUE3RqrzPea.RzZDz5ZNxPgdXQbX3XTDPkOGs0Whq",
    "$2b$10$NY49ZlM0xIWyu1mOjlb3sO0ffkKaSBTiOBeJz152CwAFpNzesh6HS",
];

fn generate(path: &Path, n: u64) {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    for i in 0..n {
        let line = json!({
            "id": i,
            "email": format!("User.{i}@Example.com"),
            "name": format!("User Number {i}"),
            "password_hash": HASHES[(i % 4) as usize],
        });
        writeln!(out, "{line}").unwrap();
    }
    out.flush().unwrap();
}

async fn import(dir: &Path, export: &Path) -> (f64, u64) {
    let store = SqliteUsers::open(&dir.join("ferry.db")).await.unwrap();
    let file = serde_json::from_value(json!({
        "source": "jsonl", "idp": "legacy", "identifier": "claims.email", "subject": "claims.id",
        "attributes": {"email": "claims.email | lower", "name": "claims.name"},
        "password": {"hash": "claims.password_hash"}
    }))
    .unwrap();
    let mapping = Arc::new(ImportMapping::compile(file).unwrap());
    let clock = SystemClock;
    let job = Import {
        mapping,
        store: &store,
        input: export.to_path_buf(),
        hashes: None,
        options: Options {
            batch_size: batch_size(),
            ..Options::default()
        },
        clock: &clock,
        cancel: Arc::new(AtomicBool::new(false)),
        progress: None,
        sealer: None,
    };
    let mut report = Report::new(None);
    let started = Instant::now();
    let summary = job.run(&mut report).await.unwrap();
    let seconds = started.elapsed().as_secs_f64();
    assert_eq!(summary.created, store.count_users().await.unwrap());
    (seconds, summary.created)
}

/// Records per transaction: `IMPORT_BATCH` if set, else the import's default.
fn batch_size() -> usize {
    std::env::var("IMPORT_BATCH")
        .ok()
        .and_then(|b| b.parse().ok())
        .unwrap_or(Options::default().batch_size)
}

/// CPU time (user and system, all threads) the process has used, from /proc/self/stat.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of the line (11 and 12 counted from the state
    // field after the name), in ticks of 1/100 s.
    (ticks(11) + ticks(12)) / 100.0
}

/// The process's peak resident set, from /proc/self/status.
fn vm_hwm_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}
