//! The DSL beside YAML: the bundled journeys in both spellings, conversion both ways, the
//! formatter, `ferry graph`, and `ferry lint` on DSL files.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    reason = "tests fail by panicking"
)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use ferry::compile::{compile_source, ir::JourneyDef};
use ferry::lint;
use ferry::syntax::Spelling;
use ferry::syntax::print;
use ferry::syntax::source::SourceFile;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn journeys(extension: &str) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(root().join("journeys"))
        .expect("journeys/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == extension))
        .collect();
    paths.sort();
    paths
}

fn def_of(file: &Arc<SourceFile>) -> JourneyDef {
    match compile_source(file) {
        Ok(compiled) => compiled.journey.def.clone(),
        Err(d) => panic!("{} does not compile: {d:#?}", file.name()),
    }
}

fn read(path: &Path) -> Arc<SourceFile> {
    SourceFile::read(path).expect("read")
}

fn ferry(args: &[&str]) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_ferry"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("run ferry");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn every_bundled_journey_has_both_spellings_with_equal_ir() {
    let yaml = journeys("yaml");
    assert!(yaml.len() >= 5, "{yaml:?}");
    assert_eq!(yaml.len(), journeys("journey").len());
    for path in yaml {
        let dsl = path.with_extension("journey");
        assert!(dsl.exists(), "{} has no DSL spelling", path.display());
        assert_eq!(
            def_of(&read(&path)),
            def_of(&read(&dsl)),
            "{}",
            path.display()
        );
    }
}

#[test]
fn bundled_dsl_journeys_are_formatted() {
    for path in journeys("journey") {
        let file = read(&path);
        let formatted = print::format_dsl(&file).expect("parses");
        assert_eq!(
            formatted,
            file.text(),
            "{} is not formatted",
            path.display()
        );
    }
}

#[test]
fn converting_either_way_keeps_the_ir() {
    for path in journeys("yaml").into_iter().chain(journeys("journey")) {
        let file = read(&path);
        let expected = def_of(&file);
        for (to, name) in [(Spelling::Dsl, "x.journey"), (Spelling::Yaml, "x.yaml")] {
            let converted = print::convert(&file, to).expect("converts");
            let back = SourceFile::new(name, converted.text);
            assert_eq!(def_of(&back), expected, "{} as {name}", path.display());
        }
    }
}

#[test]
fn dsl_comments_survive_into_yaml_and_back() {
    let file = read(&root().join("journeys/jit-password.journey"));
    let yaml = print::convert(&file, Spelling::Yaml).expect("converts");
    assert_eq!(yaml.dropped_comments, 0);
    let first = file.text().lines().next().expect("a first line");
    assert!(first.starts_with("# "), "{first}");
    assert!(yaml.text.contains(first), "{}", yaml.text);

    let text = "journey c\nstart: a # where it begins\n\n# the only step\n\
                step a = complete\n\n# the end\n";
    let file = SourceFile::new("c.journey", text);
    let yaml = print::convert(&file, Spelling::Yaml)
        .expect("converts")
        .text;
    assert!(yaml.contains("start: a # where it begins\n"), "{yaml}");
    assert!(yaml.contains("  # the only step\n  a:\n"), "{yaml}");
    assert!(yaml.ends_with("# the end\n"), "{yaml}");
    assert_eq!(print::format_dsl(&file).expect("formats"), text);
}

#[test]
fn yaml_comments_are_reported_as_dropped() {
    let file = read(&root().join("journeys/jit-password.yaml"));
    let converted = print::convert(&file, Spelling::Dsl).expect("converts");
    assert_eq!(converted.dropped_comments, 7);
    assert!(!converted.text.contains('#'), "{}", converted.text);

    let (code, stdout, stderr) = ferry(&["fmt", "--to", "dsl", "journeys/jit-password.yaml"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.starts_with("journey jit-password\n"), "{stdout}");
    assert!(stderr.contains("7 comment lines"), "{stderr}");
}

#[test]
fn fmt_rewrites_and_check_reports() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("messy.journey");
    let messy = "journey   messy\n  start :ask\nstep ask=prompt( fields:{code:otp} ) \
                 submitted->done   # why\nstep done = complete()\n";
    std::fs::write(&path, messy).expect("write");
    let path_text = path.display().to_string();

    let (code, stdout, _) = ferry(&["fmt", "--check", &path_text]);
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("not formatted"), "{stdout}");
    assert_eq!(std::fs::read_to_string(&path).expect("read"), messy);

    let (code, _, stderr) = ferry(&["fmt", &path_text]);
    assert_eq!(code, 0, "{stderr}");
    let formatted = std::fs::read_to_string(&path).expect("read");
    assert_eq!(
        formatted,
        "journey messy\nstart: ask\n\nstep ask = prompt(fields: { code: otp }) # why\n  \
         submitted -> done\n\nstep done = complete\n"
    );
    let (code, stdout, _) = ferry(&["fmt", "--check", &path_text]);
    assert_eq!(code, 0, "{stdout}");
}

#[test]
fn fmt_refuses_yaml_without_to() {
    let (code, _, stderr) = ferry(&["fmt", "journeys/jit-password.yaml"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("--to dsl"), "{stderr}");
}

#[test]
fn graph_draws_the_state_machine() {
    let (code, stdout, stderr) = ferry(&["graph", "journeys/jit-password.journey"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.starts_with("flowchart TD\n"), "{stdout}");
    assert!(
        stdout.contains("s0[/\"ask<br/><i>prompt</i>\"/]"),
        "{stdout}"
    );
    assert!(stdout.contains("s1 -->|found| s2"), "{stdout}");
    assert!(stdout.contains(":::complete"), "{stdout}");

    let (code, stdout, _) = ferry(&["graph", "--format", "dot", "journeys/jit-password.yaml"]);
    assert_eq!(code, 0);
    assert!(
        stdout.contains("s0 -> s1 [label=\"submitted\"];"),
        "{stdout}"
    );
}

#[test]
fn lint_gives_dsl_and_yaml_the_same_codes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let yaml = std::fs::read_to_string(root().join("journeys/jit-password.yaml")).expect("yaml");
    let dsl = std::fs::read_to_string(root().join("journeys/jit-password.journey")).expect("dsl");
    let yaml = yaml.replace("submitted: lookup", "submitted: lookpu");
    let dsl = dsl.replace("submitted -> lookup", "submitted -> lookpu");
    std::fs::write(dir.path().join("a.yaml"), yaml).expect("write");
    std::fs::write(dir.path().join("a.journey"), dsl).expect("write");

    let report = lint::lint_paths(&[dir.path().to_path_buf()]).expect("lint");
    let codes: Vec<Vec<&str>> = report
        .files
        .iter()
        .map(|f| f.diagnostics.iter().map(|d| d.code.id()).collect())
        .collect();
    assert_eq!(codes.len(), 2);
    assert_eq!(codes[0], codes[1]);
    assert_eq!(codes[0].first(), Some(&"J101"), "{codes:?}");
}

async fn engine_over(files: &[(&str, &str)]) -> ferry::runtime::Engine {
    use ferry::store::{MemorySessions, MemoryUsers};
    let dir = tempfile::tempdir().expect("temp dir");
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).expect("write");
    }
    let config_text = format!("journeys: [{}]\n", dir.path().display());
    let config = ferry::config::Config::parse(
        SourceFile::new("ferry.yaml", config_text),
        dir.path().into(),
        &std::collections::HashMap::new(),
    )
    .expect("config");
    let (engine, rejected) = ferry::runtime::Engine::builder(config)
        .users(Arc::new(MemoryUsers::new()))
        .sessions(Arc::new(MemorySessions::new()))
        .build()
        .await
        .expect("engine");
    assert!(rejected.is_empty(), "{rejected:?}");
    engine
}

const SHORT_YAML: &str = "journey: short\nstart: ask\nsteps:\n  ask:\n    \
    prompt: { fields: { code: otp } }\n    on: { submitted: no }\n  no:\n    \
    fail: { reason: denied }\n";
const SHORT_DSL: &str = "journey short\nstart: ask\n\n\
    step ask = prompt(fields: { code: otp })\n  submitted -> no\n\nstep no = fail(denied)\n";

#[tokio::test]
async fn one_journey_in_both_spellings_is_served_once() {
    let engine = engine_over(&[("short.yaml", SHORT_YAML), ("short.journey", SHORT_DSL)]).await;
    let journeys: Vec<_> = engine.journeys().collect();
    assert_eq!(journeys.len(), 1);
    assert_eq!(journeys[0].id, "short");
    assert!(journeys[0].is_ready(), "{:?}", journeys[0].problems);
}

#[tokio::test]
async fn two_different_journeys_with_one_id_still_conflict() {
    let other = SHORT_DSL.replace("fail(denied)", "fail(locked)");
    let engine = engine_over(&[("short.yaml", SHORT_YAML), ("short.journey", &other)]).await;
    let problems: Vec<String> = engine.journeys().flat_map(|j| j.problems.clone()).collect();
    assert!(
        problems
            .iter()
            .any(|p| p.contains("another file also defines journey `short`")),
        "{problems:?}"
    );
}

#[test]
fn a_journey_named_like_a_value_formats_to_text_that_reads_back() {
    // Found by the fuzzer: the header took `false` as a name, the printer wrote it as the
    // expression `{{ false }}`, which a header cannot hold. Lines end in CR alone.
    let text = "journey\rfalse\rAM\r:ccccM\rc\r:MAcc\r";
    let file = SourceFile::new("fuzz.journey", text);
    let formatted = print::format_dsl(&file).expect("formats");
    assert!(formatted.starts_with("journey false\n"), "{formatted}");
    let again = SourceFile::new("again.journey", formatted.clone());
    let twice = print::format_dsl(&again).expect("reads back");
    assert_eq!(twice, formatted);
}
