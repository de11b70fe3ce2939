//! `ferry lint` as a user runs it: exit codes, locations, formats.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    reason = "tests fail by panicking"
)]

use std::path::Path;
use std::process::Command;

fn ferry(args: &[&str]) -> (i32, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_ferry"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run ferry");
    let text = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    (output.status.code().unwrap_or(-1), text)
}

fn broken_copy(dir: &Path) -> String {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("journeys/jit-password.yaml"),
    )
    .expect("journey");
    let broken = text.replace("on: { submitted: lookup }", "on: { submitted: lookpu }");
    let path = dir.join("broken.yaml");
    std::fs::write(&path, broken).expect("write");
    path.display().to_string()
}

#[test]
fn the_bundled_journeys_lint_clean() {
    let (code, output) = ferry(&["lint", "journeys/"]);
    assert_eq!(code, 0, "{output}");
    assert!(output.contains("0 errors, 0 warnings"), "{output}");
}

#[test]
fn an_unknown_step_exits_1_and_names_line_and_column() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = broken_copy(dir.path());

    let (code, output) = ferry(&["lint", &path]);

    assert_eq!(code, 1, "{output}");
    assert!(output.contains("J101"), "{output}");
    assert!(output.contains(&format!("{path}:22:22")), "{output}");
    assert!(output.contains("did you mean `lookup`?"), "{output}");
}

#[test]
fn json_output_carries_code_and_exact_span() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = broken_copy(dir.path());

    let (code, output) = ferry(&["lint", "--format", "json", &path]);

    assert_eq!(code, 1);
    let report: serde_json::Value = serde_json::from_str(&output).expect("JSON");
    let first = &report["diagnostics"][0];
    assert_eq!(first["code"], "J101");
    assert_eq!(
        (first["line"].as_u64(), first["column"].as_u64()),
        (Some(22), Some(22))
    );
    assert_eq!(first["end_column"], 28);
    assert_eq!(report["summary"]["errors"], 1);
}

#[test]
fn a_missing_path_is_a_tool_failure() {
    let (code, output) = ferry(&["lint", "no/such/file.yaml"]);
    assert_eq!(code, 2, "{output}");
    assert!(output.contains("cannot read"), "{output}");
}
