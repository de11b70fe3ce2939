//! `schemas/journey.schema.json` as editors see it: every field carries a description and
//! examples, and the examples themselves are valid where they stand.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    reason = "tests fail by panicking"
)]

use serde_json::Value;

fn schema() -> Value {
    serde_json::from_str(ferry::syntax::schema::JOURNEY_SCHEMA).expect("schema JSON")
}

/// The definition a `$ref` points at, if the node is a reference.
fn target<'a>(root: &'a Value, node: &Value) -> Option<&'a Value> {
    let name = node.get("$ref")?.as_str()?.strip_prefix("#/$defs/")?;
    root["$defs"].get(name)
}

fn has(root: &Value, node: &Value, key: &str) -> bool {
    node.get(key).is_some() || target(root, node).is_some_and(|t| t.get(key).is_some())
}

/// Every field schema: the values of each `properties`, and each object-typed
/// `additionalProperties`, with a path for messages.
fn fields<'a>(node: &'a Value, path: &str, out: &mut Vec<(String, &'a Value)>) {
    if let Some(props) = node.get("properties").and_then(Value::as_object) {
        for (name, field) in props {
            let at = format!("{path}.{name}");
            out.push((at.clone(), field));
            fields(field, &at, out);
        }
    }
    if let Some(extra) = node.get("additionalProperties").filter(|v| v.is_object()) {
        out.push((format!("{path}.*"), extra));
        fields(extra, &format!("{path}.*"), out);
    }
    for alternative in node
        .get("oneOf")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        fields(alternative, path, out);
    }
}

#[test]
fn every_field_has_a_description_and_examples() {
    let root = schema();
    let mut all = Vec::new();
    fields(&root, "", &mut all);
    for (name, def) in root["$defs"].as_object().expect("$defs") {
        all.push((format!("$defs.{name}"), def));
        fields(def, &format!("$defs.{name}"), &mut all);
    }
    assert!(all.len() > 60, "only {} fields found", all.len());
    let missing: Vec<String> = all
        .iter()
        .filter(|(_, node)| !has(&root, node, "description") || !has(&root, node, "examples"))
        .map(|(path, _)| path.clone())
        .collect();
    assert!(
        missing.is_empty(),
        "fields without a description or examples: {missing:#?}"
    );
}

#[test]
fn every_definitions_examples_are_valid_against_it() {
    let root = schema();
    for (name, def) in root["$defs"].as_object().expect("$defs") {
        let mut wrapped = def.clone();
        wrapped["$defs"] = root["$defs"].clone();
        let validator = jsonschema::validator_for(&wrapped).expect("definition compiles");
        for example in def["examples"].as_array().expect("examples") {
            let errors: Vec<String> = validator
                .iter_errors(example)
                .map(|e| e.to_string())
                .collect();
            assert!(
                errors.is_empty(),
                "$defs.{name} example {example}: {errors:?}"
            );
        }
    }
}
