//! The expression context of a step: `input`, `claims`, `user` and `legacy`, built from the
//! session plus this request's secret fields; and conversions between MiniJinja and JSON.

use std::collections::HashMap;

use minijinja::Value;
use minijinja::value::Serde;
use serde_json::{Map, Value as Json};

use super::session::Session;
use crate::secret::Secret;

/// Builds the context value expressions are evaluated against.
pub fn build(session: &Session, secrets: &HashMap<String, Secret>) -> Value {
    let mut input = session.input.clone();
    for (name, secret) in secrets {
        input.insert(name.clone(), Json::String(secret.expose().to_owned()));
    }
    let mut root = Map::new();
    root.insert("input".into(), Json::Object(input));
    root.insert("claims".into(), Json::Object(session.claims.clone()));
    if let Some(user) = &session.user {
        let mut u = Map::new();
        u.insert("id".into(), Json::String(user.id.to_string()));
        u.insert("identifier".into(), Json::String(user.identifier.clone()));
        u.insert("migrated".into(), Json::Bool(user.migrated));
        u.insert("attributes".into(), Json::Object(user.attributes.clone()));
        root.insert("user".into(), Json::Object(u));
    }
    if let Some(legacy) = &session.legacy {
        let l = serde_json::json!({ "idp": legacy.idp, "provider": legacy.provider, "subject": legacy.subject });
        root.insert("legacy".into(), l);
    }
    Value::from(Serde(Json::Object(root)))
}

/// A MiniJinja value as JSON; `None` for undefined and none, which mean "nothing".
pub fn to_json(value: &Value) -> Option<Json> {
    if value.is_undefined() || value.is_none() {
        return None;
    }
    serde_json::to_value(value).ok()
}
