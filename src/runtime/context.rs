//! The expression context of a step: `input`, `claims`, `user` (with `authenticators`, the
//! kinds of local credential the user has), `legacy` and `mfa` (a
//! password step's pending second factor: `idp`, `password_verified`, `factors`), built from
//! the session plus this request's secret fields.

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
        u.insert("roles".into(), serde_json::json!(user.roles));
        u.insert("groups".into(), serde_json::json!(user.groups));
        u.insert(
            "authenticators".into(),
            serde_json::json!(user.authenticators),
        );
        root.insert("user".into(), Json::Object(u));
    }
    if let Some(pending) = &session.mfa {
        let c = &pending.continuation;
        let factors: Vec<&str> = c.factors.iter().map(|f| f.kind.name()).collect();
        let mfa = serde_json::json!({ "idp": pending.idp, "password_verified": c.password_verified, "factors": factors });
        root.insert("mfa".into(), mfa);
    }
    if let Some(legacy) = &session.legacy {
        let l = serde_json::json!({ "idp": legacy.idp, "provider": legacy.provider, "subject": legacy.subject });
        root.insert("legacy".into(), l);
    }
    Value::from(Serde(Json::Object(root)))
}
