//! The two front ends measured (criterion).
//!
//! `front_end/*`: a 200-step journey read, checked by every rule and compiled, in YAML and in
//! the DSL, against parsing the same YAML into a plain `serde_json::Value` (serde-saphyr). The
//! goal is full compile + lint under 3x the bare parse.
//!
//! `lint_1000_files`: one `ferry lint` process over 1,000 journey files (the bundled journeys
//! in both spellings, copied); the goal is under 1 s on one core (lint is single-threaded).

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    reason = "a benchmark fails by panicking"
)]

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ferry::lint::lint_file;
use ferry::syntax::source::SourceFile;
use ferry::syntax::{Spelling, print};

/// A journey of `n` steps after its prompt: lookups, local checks, branches and saves in
/// turn, each leading on to the next, every other outcome to a fail step.
fn long_journey(n: usize) -> String {
    let mut text = String::from(
        "journey: long\nidps:\n  legacy: { provider: user_file }\nstart: ask\nsteps:\n  ask:\n    \
         prompt: { fields: { identifier: text, password: password } }\n    \
         on: { submitted: s0 }\n",
    );
    for i in 0..n {
        let next = if i + 1 == n {
            "done".to_owned()
        } else {
            format!("s{}", i + 1)
        };
        let (kind, outcome) = match i % 4 {
            0 => (
                "find_user: { identifier: input.identifier | lower }",
                "found",
            ),
            1 => ("check_password: { password: input.password }", "success"),
            2 => ("branch: { long: (input.identifier | length) > 3 }", "long"),
            _ => (
                "legacy_password: { idp: legacy, username: input.identifier, \
                 password: input.password }",
                "success",
            ),
        };
        let _ = write!(
            text,
            "  s{i}:\n    {kind}\n    on: {{ {outcome}: {next}, else: no }}\n"
        );
    }
    text.push_str("  done:\n    complete: {}\n  no:\n    fail: { reason: denied }\n");
    text
}

fn front_end(c: &mut Criterion) {
    let yaml = long_journey(200);
    let yaml_file = SourceFile::new("long.yaml", yaml.clone());
    let dsl = print::convert(&yaml_file, Spelling::Dsl)
        .expect("converts")
        .text;
    assert!(lint_file(yaml_file).diagnostics.is_empty());

    let mut group = c.benchmark_group("front_end");
    group.throughput(Throughput::Bytes(yaml.len() as u64));
    group.bench_function("yaml_to_serde_value", |b| {
        b.iter(|| serde_saphyr::from_str::<serde_json::Value>(&yaml).expect("parses"))
    });
    group.bench_function("yaml_compile_lint", |b| {
        b.iter(|| lint_file(SourceFile::new("long.yaml", yaml.clone())))
    });
    group.throughput(Throughput::Bytes(dsl.len() as u64));
    group.bench_function("dsl_compile_lint", |b| {
        b.iter(|| lint_file(SourceFile::new("long.journey", dsl.clone())))
    });
    group.finish();
}

fn lint_1000_files(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let journeys = Path::new(env!("CARGO_MANIFEST_DIR")).join("journeys");
    let mut sources: Vec<_> = std::fs::read_dir(&journeys)
        .expect("journeys/")
        .map(|e| e.expect("entry").path())
        .collect();
    sources.sort();
    for i in 0..1000 {
        let source = &sources[i % sources.len()];
        let extension = source.extension().unwrap().to_string_lossy();
        std::fs::copy(source, dir.path().join(format!("j{i:04}.{extension}"))).expect("copy");
    }
    let mut group = c.benchmark_group("lint");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(20));
    group.bench_function("1000_files_one_process", |b| {
        b.iter(|| {
            let status = Command::new(env!("CARGO_BIN_EXE_ferry"))
                .arg("lint")
                .arg(dir.path())
                .stdout(std::process::Stdio::null())
                .status()
                .expect("run ferry lint");
            assert!(status.success());
        })
    });
    group.finish();
}

criterion_group!(benches, front_end, lint_1000_files);
criterion_main!(benches);
