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

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write");
    path.display().to_string()
}

/// A journey with one warning (J504, the password grant) and nothing else.
const GRANT: &str = "journey: grant
idps:
  legacy: { provider: keycloak }
start: ask
steps:
  ask:
    prompt: { fields: { identifier: text, password: password } }
    on: { submitted: check }
  check:
    legacy_password: { idp: legacy, username: input.identifier, password: input.password }
    on: { success: save, else: denied }
  save:
    save_user: { identifier: input.identifier }
    on: { created: done, updated: done, conflict: denied }
  done:
    complete: {}
  denied:
    fail: { reason: invalid_credentials }
";

#[test]
fn warnings_pass_unless_denied() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = write(dir.path(), "grant.yaml", GRANT);

    let (code, output) = ferry(&["lint", &path]);
    assert_eq!(code, 0, "{output}");
    assert!(output.contains("0 errors, 1 warning"), "{output}");

    let (code, output) = ferry(&["lint", "--deny", "warnings", &path]);
    assert_eq!(code, 1, "{output}");
}

#[test]
fn an_inline_acknowledgement_keeps_the_finding_visible_but_passing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let text = GRANT.replace(
        "start: ask",
        "acknowledge:\n  password-grant: Keycloak is retired in June.\nstart: ask",
    );
    let path = write(dir.path(), "grant.yaml", &text);

    let (code, output) = ferry(&["lint", "--deny", "warnings", "--format", "json", &path]);

    assert_eq!(code, 0, "{output}");
    let report: serde_json::Value = serde_json::from_str(&output).expect("JSON");
    assert_eq!(report["diagnostics"].as_array().map(Vec::len), Some(0));
    let acked = &report["acknowledged"][0];
    assert_eq!(acked["code"], "J504");
    assert_eq!(
        acked["acknowledged"]["reason"],
        "Keycloak is retired in June."
    );
    assert_eq!(acked["acknowledged"]["source"], "journey");
    assert_eq!(report["summary"]["acknowledged"], 1);

    let (code, output) = ferry(&["lint", &path]);
    assert_eq!(code, 0, "{output}");
    let line = format!(
        "{path}:12:5: acknowledged[J504]: step `check` checks the password with the OAuth 2.0 \
         password grant of `keycloak` (reason: Keycloak is retired in June.)"
    );
    assert!(output.contains(&line), "{output}");
    assert!(
        output.contains("0 errors, 0 warnings (1 acknowledged)"),
        "{output}"
    );

    let (code, output) = ferry(&["lint", "--format", "github", &path]);
    assert_eq!(code, 0, "{output}");
    assert!(output.starts_with("::notice file="), "{output}");
    assert!(
        output.contains("acknowledged: Keycloak is retired in June."),
        "{output}"
    );
}

#[test]
fn ferry_yaml_sets_levels_and_acknowledges_per_journey() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = write(dir.path(), "grant.yaml", GRANT);
    let error = write(
        dir.path(),
        "error.yaml",
        "lint:\n  rules: { password-grant: error }\n",
    );
    let off = write(dir.path(), "off.yaml", "lint:\n  rules: { J504: off }\n");
    let acked = write(
        dir.path(),
        "acked.yaml",
        "lint:\n  acknowledge:\n    grant: { J504: Only until the cut-over. }\n",
    );

    let (code, output) = ferry(&["lint", "--config", &error, &path]);
    assert_eq!(code, 1, "{output}");
    assert!(output.contains("1 error, 0 warnings"), "{output}");

    let (code, output) = ferry(&["lint", "--config", &off, "--deny", "warnings", &path]);
    assert_eq!(code, 0, "{output}");
    assert!(output.contains("0 errors, 0 warnings\n"), "{output}");

    let (code, output) = ferry(&["lint", "--config", &acked, "--format", "sarif", &path]);
    assert_eq!(code, 0, "{output}");
    let sarif: serde_json::Value = serde_json::from_str(&output).expect("SARIF");
    let result = &sarif["runs"][0]["results"][0];
    assert_eq!(result["ruleId"], "J504");
    assert_eq!(result["suppressions"][0]["kind"], "external");
    assert_eq!(
        result["suppressions"][0]["justification"],
        "Only until the cut-over."
    );
}

#[test]
fn a_configuration_whose_secrets_are_not_set_still_lints() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = write(dir.path(), "grant.yaml", GRANT);
    let config = write(
        dir.path(),
        "ferry.yaml",
        "passwords:\n  pepper: ${FERRY_TEST_UNSET_PEPPER}\nauthenticators:\n  encryption_key: ${FERRY_TEST_UNSET_KEY}\nlint:\n  rules: { password-grant: off }\n",
    );

    let (code, output) = ferry(&["lint", "--config", &config, "--deny", "warnings", &path]);

    assert_eq!(code, 0, "lint needs no secret: {output}");
}

#[test]
fn configuring_a_rule_the_compiler_needs_is_a_tool_failure() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = write(dir.path(), "grant.yaml", GRANT);
    let config = write(
        dir.path(),
        "ferry.yaml",
        "lint:\n  rules: { unknown-step: off }\n",
    );

    let (code, output) = ferry(&["lint", "--config", &config, &path]);

    assert_eq!(code, 2, "{output}");
    assert!(
        output.contains("`unknown-step` cannot be configured"),
        "{output}"
    );
}

#[test]
fn sarif_output_validates_against_the_sarif_2_1_0_schema() {
    let dir = tempfile::tempdir().expect("temp dir");
    let broken = broken_copy(dir.path());
    let acked = GRANT.replace(
        "start: ask",
        "acknowledge:\n  password-grant: Keycloak is retired in June.\nstart: ask",
    );
    let grant = write(dir.path(), "grant.yaml", &acked);

    let (code, output) = ferry(&["lint", "--format", "sarif", &broken, &grant]);

    assert_eq!(code, 1, "{output}");
    let sarif: serde_json::Value = serde_json::from_str(&output).expect("SARIF");
    let schema_text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sarif-schema-2.1.0.json"),
    )
    .expect("schema");
    // The official schema's `run.language` pattern has a bare `]`, a literal in ECMA-262 but
    // refused by the meta-schema's `regex` format check; escaping it keeps its meaning.
    let schema_text = schema_text.replace("[a-zA-Z]{2}]?$", "[a-zA-Z]{2}\\\\]?$");
    let schema: serde_json::Value = serde_json::from_str(&schema_text).expect("schema JSON");
    let validator = jsonschema::validator_for(&schema).expect("schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(&sarif)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    let mut wrong = sarif.clone();
    wrong["runs"][0]["results"][0]["level"] = "fatal".into();
    assert!(
        !validator.is_valid(&wrong),
        "the schema must refuse an unknown level"
    );

    let run = &sarif["runs"][0];
    assert_eq!(sarif["version"], "2.1.0");
    let results = run["results"].as_array().expect("results");
    let unknown = results
        .iter()
        .find(|r| r["ruleId"] == "J101")
        .expect("J101");
    let region = &unknown["locations"][0]["physicalLocation"]["region"];
    assert_eq!(
        (region["startLine"].as_u64(), region["startColumn"].as_u64()),
        (Some(22), Some(22))
    );
    assert_eq!(unknown["level"], "error");
    let index = unknown["ruleIndex"].as_u64().expect("rule index") as usize;
    assert_eq!(run["tool"]["driver"]["rules"][index]["id"], "J101");
    let grant = results
        .iter()
        .find(|r| r["ruleId"] == "J504")
        .expect("J504");
    assert_eq!(grant["suppressions"][0]["kind"], "inSource");
}

#[test]
fn github_format_prints_workflow_annotations() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = broken_copy(dir.path());

    let (code, output) = ferry(&["lint", "--format", "github", &path]);

    assert_eq!(code, 1, "{output}");
    let line = output.lines().next().expect("one annotation");
    let prefix = format!("::error file={path},line=22,endLine=22,col=22,endColumn=28,");
    assert!(line.starts_with(&prefix), "{line}");
    assert!(
        line.contains("title=J101 unknown-step::unknown step `lookpu`%0Ahelp: "),
        "{line}"
    );
}

#[test]
fn explain_prints_a_rules_documentation() {
    let (code, output) = ferry(&["lint", "--explain", "password-grant"]);
    assert_eq!(code, 0, "{output}");
    assert!(output.starts_with("J504 (password-grant):"), "{output}");
    assert!(output.contains("RFC 9700"), "{output}");
    assert!(output.contains("## Fixed"), "{output}");

    let (code, output) = ferry(&["lint", "--explain", "J999"]);
    assert_eq!(code, 2, "{output}");
    assert!(output.contains("no rule is called `J999`"), "{output}");
}

#[test]
fn ferry_yaml_levels_apply_when_serving_too() {
    let dir = tempfile::tempdir().expect("temp dir");
    write(dir.path(), "grant.yaml", GRANT);
    let load = |lint: &str| {
        let text = format!("journeys: [.]\n{lint}");
        let config = ferry::config::Config::parse(
            ferry::syntax::source::SourceFile::new("ferry.yaml", text),
            dir.path().to_path_buf(),
            &std::collections::HashMap::<String, String>::new(),
        )
        .expect("config");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(
            ferry::runtime::EngineBuilder::new(config)
                .users(std::sync::Arc::new(ferry::store::MemoryUsers::new()))
                .build(),
        )
    };

    let (_, rejected) = load("").expect("loads");
    assert!(rejected.is_empty(), "a warning does not refuse a journey");

    let (_, rejected) = load("lint: { rules: { password-grant: error } }\n").expect("loads");
    assert_eq!(rejected.len(), 1);
    assert_eq!(rejected[0].1[0].code.id(), "J504");

    let Err(err) = load("lint: { rules: { unknown-step: off } }\n") else {
        panic!("a `lint` section naming a fixed rule must stop the start");
    };
    assert!(err.to_string().contains("`lint` settings"), "{err}");
}
