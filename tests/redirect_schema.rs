//! `schemas/redirect.schema.json` documents each preset's settings: its examples are valid
//! against it and are plans Ferry accepts; a block that mixes presets is invalid for both.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    reason = "tests fail by panicking"
)]

use ferry::idp::redirect::Settings;
use ferry::providers::Provider;
use serde_json::{Value as Json, json};

fn schema() -> Json {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/schemas/redirect.schema.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn every_example_is_valid_and_plans() {
    let schema = schema();
    let validator = jsonschema::validator_for(&schema).expect("a valid schema");
    let examples = schema["examples"].as_array().unwrap();
    assert!(examples.len() >= 4);
    for example in examples {
        assert!(validator.is_valid(example), "{example}");
        let provider = Provider::parse(example["provider"].as_str().unwrap()).unwrap();
        let mut block = example["redirect"].clone();
        if provider == Provider::Apple {
            // The schema example names the key by reference; a plan needs the key itself.
            block["private_key"] = json!("not used by plan()");
        }
        let settings: Settings = serde_json::from_value(block).unwrap();
        settings.plan(provider).expect("the example plans");
    }
}

#[test]
fn a_block_mixing_presets_or_missing_a_setting_is_invalid() {
    let schema = schema();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let mixed = json!({ "provider": "okta", "redirect": {
        "domain": "acme.okta.com", "realm": "x", "client_id": "c",
        "redirect_uri": "https://l.example/v1/callback" } });
    assert!(!validator.is_valid(&mixed));
    let missing = json!({ "provider": "keycloak", "redirect": {
        "realm": "x", "client_id": "c", "redirect_uri": "https://l.example/v1/callback" } });
    assert!(!validator.is_valid(&missing));
    let secret_value = json!({ "provider": "oidc", "redirect": {
        "issuer": "https://idp.example", "client_id": "c", "client_secret": "hunter2",
        "redirect_uri": "https://l.example/v1/callback" } });
    assert!(!validator.is_valid(&secret_value));
}
