//! `ferry lint` over 1,000 journeys of 50 steps each, in one call (criterion). The goal is
//! under one second on one core. Each journey chains ten sign-in blocks of five steps
//! (prompt, lookup, local check, legacy check, save) with branches between them, so every
//! rule, the flow analyses included, has real work to do.

#![allow(clippy::expect_used, reason = "a benchmark fails by panicking")]

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use ferry::diag::Severity;
use ferry::rules::Options;

const JOURNEYS: usize = 1_000;
const BLOCKS: usize = 10;

/// One journey of `5 * BLOCKS` steps plus two endings, linting clean.
fn journey(n: usize) -> String {
    let mut out = format!(
        "journey: bench-{n}\nidps:\n  legacy: {{ provider: user_file }}\nstart: ask0\nsteps:\n"
    );
    for b in 0..BLOCKS {
        let next = if b + 1 == BLOCKS {
            "denied".to_owned()
        } else {
            format!("ask{}", b + 1)
        };
        write!(
            out,
            "  ask{b}:
    prompt: {{ title: Sign in, fields: {{ identifier: email, password: password }} }}
    on: {{ submitted: lookup{b} }}
  lookup{b}:
    find_user: {{ identifier: input.identifier | trim }}
    on: {{ found: local{b}, not_found: legacy{b} }}
  local{b}:
    check_password: {{ password: input.password }}
    on: {{ success: done, failure: {next}, not_enrolled: legacy{b}, locked: denied }}
  legacy{b}:
    legacy_password: {{ idp: legacy, username: input.identifier, password: input.password }}
    on: {{ success: save{b}, invalid_credentials: {next}, else: denied }}
  save{b}:
    save_user:
      identifier: input.identifier
      attributes: {{ email: claims.email | lower, name: claims.name }}
      password: input.password
    on: {{ created: done, updated: done, conflict: denied }}
"
        )
        .expect("write");
    }
    out.push_str(
        "  done:\n    complete: {}\n  denied:\n    fail: { reason: invalid_credentials }\n",
    );
    out
}

fn folder() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    for n in 0..JOURNEYS {
        std::fs::write(dir.path().join(format!("j{n:04}.yaml")), journey(n)).expect("write");
    }
    let path = dir.path().to_path_buf();
    (dir, path)
}

fn lint(c: &mut Criterion) {
    let (_dir, path) = folder();
    let options = Options::default();
    let paths = vec![path];
    let report = ferry::lint::lint_paths_with(&paths, &options).expect("lint");
    assert_eq!(report.files.len(), JOURNEYS);
    let findings = report.count(Severity::Error) + report.count(Severity::Warning);
    assert_eq!(
        findings,
        0,
        "{}",
        report.human(ferry::diag::ColorChoice::Never)
    );

    let mut group = c.benchmark_group("lint");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(20));
    group.bench_function("1000_journeys_x_50_steps", |b| {
        b.iter(|| ferry::lint::lint_paths_with(&paths, &options).expect("lint"))
    });
    // Wall time above depends on what else the machine runs; CPU time is what one core
    // spends, read from /proc (10 ms ticks, small against a ~1 s call).
    group.bench_function("1000_journeys_x_50_steps/cpu_time", |b| {
        b.iter_custom(|iterations| {
            let before = cpu_seconds();
            for _ in 0..iterations {
                ferry::lint::lint_paths_with(&paths, &options).expect("lint");
            }
            Duration::from_secs_f64(cpu_seconds() - before)
        })
    });
    group.finish();
}

/// CPU time (user and system) this process has used, from /proc/self/stat.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after_name = stat.rsplit(')').next().unwrap_or_default();
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime: fields 14 and 15 of the line, 11 and 12 counted from the state.
    (ticks(11) + ticks(12)) / 100.0
}

criterion_group!(benches, lint);
criterion_main!(benches);
