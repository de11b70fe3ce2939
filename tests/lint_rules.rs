//! The rule registry checked against itself: every rule documents what it flags, why, a
//! failing example and the fixed form; every documented example yields exactly the stated
//! findings; and a fixture per rule, with cases that fire and cases that stay quiet, is
//! snapshot-tested.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    reason = "tests fail by panicking"
)]

use std::path::{Path, PathBuf};

use ferry::config::Config;
use ferry::diag::{Code, ColorChoice};
use ferry::lint::{self, Report};
use ferry::rules::{Deployment, LintSettings, Options, REGISTRY};
use ferry::syntax::Spelling;
use ferry::syntax::source::SourceFile;

const SECTIONS: &[&str] = &[
    "## What it flags",
    "## Why it matters",
    "## Example",
    "## Fixed",
];

/// One fenced block of a rule's documentation: its info string and text.
struct Block {
    info: String,
    text: String,
}

fn section<'a>(doc: &'a str, heading: &str) -> &'a str {
    let start = doc.find(heading).map_or(doc.len(), |i| i + heading.len());
    let body = &doc[start..];
    &body[..body.find("\n## ").unwrap_or(body.len())]
}

fn blocks(section: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut lines = section.lines();
    while let Some(line) = lines.next() {
        let Some(info) = line.strip_prefix("```") else {
            continue;
        };
        let text: Vec<&str> = lines.by_ref().take_while(|l| *l != "```").collect();
        out.push(Block {
            info: info.trim().to_owned(),
            text: text.join("\n") + "\n",
        });
    }
    out
}

fn expected(section: &str) -> Option<Vec<Code>> {
    let line = section.lines().find_map(|l| l.strip_prefix("Expected: "))?;
    let mut codes: Vec<Code> = line
        .split(',')
        .map(|c| Code::parse(c.trim()).unwrap_or_else(|| panic!("unknown code `{c}`")))
        .collect();
    codes.sort();
    Some(codes)
}

fn options_for(config: Option<&str>) -> Options {
    let Some(text) = config else {
        return Options::default();
    };
    let env = std::collections::HashMap::<String, String>::new();
    let config = Config::parse(
        SourceFile::new("ferry.yaml", text),
        PathBuf::from("."),
        &env,
    )
    .expect("example configuration");
    let deployment = Deployment::from_config(&config);
    Options::new(&config.settings.lint, Some(deployment)).expect("lint settings")
}

/// Lints the journey of a documentation section; `None` when its spelling has no front end.
fn lint_section(section: &str) -> Option<Vec<Code>> {
    let blocks = blocks(section);
    let journey = blocks
        .iter()
        .find(|b| !b.info.ends_with("ferry.yaml"))
        .expect("a journey block");
    let config = blocks.iter().find(|b| b.info.ends_with("ferry.yaml"));
    let ext = if journey.info.is_empty() {
        "yaml"
    } else {
        &journey.info
    };
    let name = format!("example.{ext}");
    Spelling::of(Path::new(&name))?;
    let file = SourceFile::new(name, journey.text.clone());
    let options = options_for(config.map(|b| b.text.as_str()));
    let report = lint::lint_file_with(file, &options);
    let mut codes: Vec<Code> = report
        .diagnostics
        .iter()
        .filter(|d| d.is_open())
        .map(|d| d.code)
        .collect();
    codes.sort();
    Some(codes)
}

#[test]
fn every_rule_documents_what_why_example_and_fix() {
    for rule in REGISTRY {
        for heading in SECTIONS {
            assert!(
                rule.doc.contains(heading),
                "{} lacks {heading}",
                rule.code.id()
            );
        }
        let example = section(rule.doc, "## Example");
        let codes = expected(example)
            .unwrap_or_else(|| panic!("{}: the example states no `Expected:`", rule.code.id()));
        assert!(
            codes.contains(&rule.code),
            "{}: example must show the rule",
            rule.code.id()
        );
        assert!(!rule.summary.is_empty());
    }
}

#[test]
fn every_documented_example_yields_exactly_the_stated_findings() {
    let mut checked = 0;
    for rule in REGISTRY {
        let id = rule.code.id();
        let example = section(rule.doc, "## Example");
        let found = lint_section(example).unwrap_or_else(|| panic!("{id}: no front end"));
        assert_eq!(Some(found), expected(example), "{id}: example");
        let fixed = lint_section(section(rule.doc, "## Fixed")).expect("fixed form");
        assert_eq!(
            fixed,
            Vec::<Code>::new(),
            "{id}: the fixed form must lint clean"
        );
        checked += 1;
    }
    assert_eq!(checked, REGISTRY.len());
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/lint")
}

fn fixture_report(path: &Path) -> Report {
    // Relative to the package root (where cargo runs tests), so snapshots name it the same
    // way on every machine.
    let config_path = Path::new("tests/lint").join(
        path.with_extension("ferry.yaml")
            .file_name()
            .expect("fixture name"),
    );
    let options = if config_path.is_file() {
        lint::options_from_config(
            &config_path,
            &std::collections::HashMap::<String, String>::new(),
        )
        .expect("fixture configuration")
    } else {
        Options::new(&LintSettings::default(), None).expect("options")
    };
    let name = format!("tests/lint/{}", path.file_name().unwrap().to_string_lossy());
    let file = SourceFile::new(name, std::fs::read_to_string(path).expect("fixture"));
    Report {
        files: vec![lint::lint_file_with(file, &options)],
    }
}

fn journey_fixtures() -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(fixtures())
        .expect("tests/lint")
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            let journey = name.ends_with(".yaml") || name.ends_with(".journey");
            journey && !name.ends_with(".ferry.yaml")
        })
        .collect();
    paths.sort();
    paths
}

#[test]
fn every_rule_has_a_fixture_that_fires_it() {
    let paths = journey_fixtures();
    for rule in REGISTRY {
        let id = rule.code.id();
        let stem = format!("{id}-{}", rule.code.name());
        let path = paths
            .iter()
            .find(|p| p.file_stem().unwrap().to_string_lossy() == stem)
            .unwrap_or_else(|| panic!("no fixture tests/lint/{stem}.yaml or .journey"));
        let report = fixture_report(path);
        let fired = report.files[0]
            .diagnostics
            .iter()
            .filter(|d| d.code == rule.code);
        assert!(fired.count() > 0, "{stem} never fires {id}");
    }
}

#[test]
fn fixtures_render_as_snapshotted() {
    for path in journey_fixtures() {
        let report = fixture_report(&path);
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        let mut settings = insta::Settings::clone_current();
        settings.set_snapshot_path("lint/snapshots");
        settings.set_prepend_module_to_snapshot(false);
        settings.bind(|| insta::assert_snapshot!(stem, report.human(ColorChoice::Never)));
    }
}
