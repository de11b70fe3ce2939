//! Property tests: for generated journeys, IR -> DSL -> IR and IR -> YAML -> IR are
//! identities, and formatting DSL is idempotent. Journeys are generated as JSON (which is
//! YAML), compiled, printed in each spelling, read back and compiled again.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    reason = "tests fail by panicking"
)]

use std::sync::Arc;

use ferry::compile::{ir::JourneyDef, lower};
use ferry::syntax::Spelling;
use ferry::syntax::print;
use ferry::syntax::source::SourceFile;
use proptest::prelude::*;
use serde_json::{Map, Value, json};

/// Expressions valid at any step of a generated journey (its first prompt asks for
/// `identifier`, `password` and `code`).
const EXPRESSIONS: &[&str] = &[
    "input.identifier",
    "input.password",
    "claims.email | lower",
    "claims.first ~ \" \" ~ claims.last",
    "user.migrated",
    "input.code is defined and input.code != ''",
    "claims[\"cognito:username\"]",
    "legacy.subject",
    "(input.identifier | length) > 3",
    "{'a': 1}['a'] == 1",
];

/// Text for titles, messages and descriptions: anything printable, and the awkward cases.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "\\PC{0,24}",
        Just("true".to_owned()),
        Just("12".to_owned()),
        Just("a: b # c".to_owned()),
        Just("{{ x }}".to_owned()),
        Just("line\nbreak \"quoted\" back\\slash".to_owned()),
        "[a-z][a-z_.]{0,10}",
    ]
}

fn expression() -> impl Strategy<Value = String> {
    proptest::sample::select(EXPRESSIONS).prop_map(str::to_owned)
}

#[derive(Clone, Debug)]
enum Kind {
    FindUser(String),
    CheckPassword(String),
    LegacyPassword(String, String),
    SaveUser(
        String,
        Vec<(String, String)>,
        Option<String>,
        Option<&'static str>,
    ),
    Branch(Vec<(String, String)>),
}

fn kind() -> impl Strategy<Value = Kind> {
    let attributes = proptest::collection::vec(("[a-z][a-z0-9_]{0,6}", expression()), 0..4);
    let policy = proptest::option::of(proptest::sample::select(&["update", "keep", "fail"][..]));
    prop_oneof![
        expression().prop_map(Kind::FindUser),
        expression().prop_map(Kind::CheckPassword),
        (expression(), expression()).prop_map(|(u, p)| Kind::LegacyPassword(u, p)),
        (
            expression(),
            attributes,
            proptest::option::of(expression()),
            policy
        )
            .prop_map(|(i, a, p, c)| Kind::SaveUser(i, a, p, c)),
        proptest::collection::vec(("c[a-z0-9_]{0,6}", expression()), 1..4).prop_map(Kind::Branch),
    ]
}

fn outcomes(kind: &Kind) -> Vec<String> {
    let fixed: &[&str] = match kind {
        Kind::FindUser(_) => &["found", "not_found"],
        Kind::CheckPassword(_) => &["success", "failure", "not_enrolled", "locked"],
        Kind::LegacyPassword(..) => &["success", "invalid_credentials", "locked", "unavailable"],
        Kind::SaveUser(..) => &["created", "updated", "conflict"],
        Kind::Branch(cases) => return cases.iter().map(|(n, _)| n.clone()).collect(),
    };
    fixed.iter().map(|s| (*s).to_owned()).collect()
}

fn settings(kind: &Kind) -> (&'static str, Value) {
    match kind {
        Kind::FindUser(e) => ("find_user", json!({ "identifier": e })),
        Kind::CheckPassword(e) => ("check_password", json!({ "password": e })),
        Kind::LegacyPassword(u, p) => (
            "legacy_password",
            json!({ "idp": "legacy", "username": u, "password": p }),
        ),
        Kind::SaveUser(identifier, attributes, password, policy) => {
            let mut map = Map::new();
            map.insert("identifier".into(), json!(identifier));
            if !attributes.is_empty() {
                let attributes: Map<String, Value> = attributes
                    .iter()
                    .map(|(k, v)| (k.clone(), json!(v)))
                    .collect();
                map.insert("attributes".into(), Value::Object(attributes));
            }
            if let Some(p) = password {
                map.insert("password".into(), json!(p));
            }
            if let Some(c) = policy {
                map.insert("on_conflict".into(), json!(c));
            }
            ("save_user", Value::Object(map))
        }
        Kind::Branch(cases) => (
            "branch",
            Value::Object(cases.iter().map(|(k, v)| (k.clone(), json!(v))).collect()),
        ),
    }
}

#[derive(Clone, Debug)]
struct Generated {
    description: Option<String>,
    title: Option<String>,
    message: Option<String>,
    identifiers: Option<(bool, bool, bool)>,
    steps: Vec<(Kind, Option<String>, Vec<usize>)>,
}

fn journey() -> impl Strategy<Value = Generated> {
    let step = (
        kind(),
        proptest::option::of(text()),
        proptest::collection::vec(0usize..100, 4),
    );
    (
        proptest::option::of(text()),
        proptest::option::of(text()),
        proptest::option::of(text()),
        proptest::option::of((any::<bool>(), any::<bool>(), any::<bool>())),
        proptest::collection::vec(step, 0..8),
    )
        .prop_map(
            |(description, title, message, identifiers, steps)| Generated {
                description,
                title,
                message,
                identifiers,
                steps,
            },
        )
}

/// The generated journey as JSON text: a prompt, the generated steps, then `done` and `no`.
fn to_json(g: &Generated) -> String {
    let names: Vec<String> = (0..g.steps.len()).map(|i| format!("s{i}")).collect();
    let mut targets = names.clone();
    targets.extend(["done".to_owned(), "no".to_owned()]);
    let mut steps = Map::new();
    let mut prompt = json!({ "fields": {
        "identifier": "text", "password": { "type": "password", "label": "Password" },
        "code": { "type": "otp", "optional": true }
    }});
    if let Some(title) = &g.title {
        prompt["title"] = json!(title);
    }
    let first = targets.first().cloned().unwrap_or_default();
    steps.insert(
        "ask".into(),
        json!({ "prompt": prompt, "on": { "submitted": first } }),
    );
    for (i, (kind, description, picks)) in g.steps.iter().enumerate() {
        let (keyword, value) = settings(kind);
        let mut on = Map::new();
        for (outcome, pick) in outcomes(kind).into_iter().zip(picks) {
            on.insert(outcome, json!(targets[pick % targets.len()]));
        }
        on.insert("else".into(), json!(if i % 2 == 0 { "done" } else { "no" }));
        let mut step = Map::new();
        if let Some(d) = description {
            step.insert("description".into(), json!(d));
        }
        step.insert(keyword.into(), value);
        step.insert("on".into(), Value::Object(on));
        steps.insert(names[i].clone(), Value::Object(step));
    }
    steps.insert("done".into(), json!({ "complete": {} }));
    let mut fail = json!({ "reason": "denied" });
    if let Some(message) = &g.message {
        fail["message"] = json!(message);
    }
    steps.insert("no".into(), json!({ "fail": fail }));
    let mut root = Map::new();
    root.insert("journey".into(), json!("generated"));
    if let Some(d) = &g.description {
        root.insert("description".into(), json!(d));
    }
    if let Some((trim, nfc, lowercase)) = g.identifiers {
        root.insert(
            "identifiers".into(),
            json!({ "trim": trim, "nfc": nfc, "lowercase": lowercase }),
        );
    }
    root.insert(
        "idps".into(),
        json!({ "legacy": { "provider": "user_file" } }),
    );
    root.insert("start".into(), json!("ask"));
    root.insert("steps".into(), Value::Object(steps));
    serde_json::to_string_pretty(&Value::Object(root)).expect("JSON")
}

/// The IR of a file, lowered without the lint rules: generated journeys are wired at random,
/// so they may well complete or save without a credential check (`J508`, `J501`), which is
/// no concern of a round trip.
fn def(file: &Arc<SourceFile>) -> Result<JourneyDef, String> {
    let failed =
        |d: Vec<ferry::diag::Diagnostic>| format!("{}:\n{}\n{d:#?}", file.name(), file.text());
    let journey = ferry::syntax::parse(file).map_err(failed)?;
    lower(&journey).map_err(|d| failed(vec![d]))
}

fn converted(file: &Arc<SourceFile>, to: Spelling, name: &str) -> Arc<SourceFile> {
    let text = print::convert(file, to).expect("converts").text;
    SourceFile::new(name, text)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn both_spellings_round_trip_to_the_same_ir(g in journey()) {
        let source = SourceFile::new("generated.yaml", to_json(&g));
        let expected = def(&source).map_err(TestCaseError::fail)?;

        let dsl = converted(&source, Spelling::Dsl, "generated.journey");
        prop_assert_eq!(def(&dsl).map_err(TestCaseError::fail)?, expected.clone());

        let yaml = converted(&source, Spelling::Yaml, "again.yaml");
        prop_assert_eq!(def(&yaml).map_err(TestCaseError::fail)?, expected.clone());

        let yaml_from_dsl = converted(&dsl, Spelling::Yaml, "from-dsl.yaml");
        prop_assert_eq!(def(&yaml_from_dsl).map_err(TestCaseError::fail)?, expected);

        let formatted = print::format_dsl(&dsl).expect("formats");
        prop_assert_eq!(&formatted, dsl.text());
        let twice = print::format_dsl(&SourceFile::new("f.journey", formatted.clone()));
        prop_assert_eq!(twice.expect("formats"), formatted);
    }
}
