//! Journey files checked against `schemas/journey.schema.json`, with every schema error
//! translated into a Ferry diagnostic that points at the exact key or value.

use std::sync::LazyLock;

use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::paths::LocationSegment;
use jsonschema::{ValidationError, Validator};
use serde_json::Value as Json;

use super::source::Span;
use super::yaml::Node;
use crate::diag::{Code, Diagnostic, closest};

/// The journey schema's text, as shipped in `schemas/`.
pub const JOURNEY_SCHEMA: &str = include_str!("../../schemas/journey.schema.json");

static SCHEMA: LazyLock<Result<(Json, Validator), String>> = LazyLock::new(|| {
    let schema: Json = serde_json::from_str(JOURNEY_SCHEMA).map_err(|e| e.to_string())?;
    let validator = jsonschema::validator_for(&schema).map_err(|e| e.to_string())?;
    Ok((schema, validator))
});

/// Validates a parsed journey document; an empty list means it has the right shape.
pub fn validate(root: &Node) -> Vec<Diagnostic> {
    let (schema, validator) = match &*SCHEMA {
        Ok(loaded) => (&loaded.0, &loaded.1),
        Err(e) => {
            let message = format!("the journey schema shipped with Ferry cannot be loaded: {e}");
            return vec![Diagnostic::new(Code::Schema, Span::default(), message)];
        }
    };
    let instance = root.to_json();
    let mut out: Vec<Diagnostic> = validator
        .iter_errors(&instance)
        .flat_map(|e| translate(root, schema, &e))
        .collect();
    out.sort_by_key(|d| (d.span.start, d.span.end));
    out.dedup_by(|a, b| a.span == b.span && a.message == b.message);
    out
}

/// Where an instance path lands: the node, and the key it sits under if any.
struct Place<'a> {
    node: &'a Node,
    key: Option<Span>,
}

fn locate<'a>(root: &'a Node, error: &ValidationError<'_>) -> Place<'a> {
    let mut place = Place {
        node: root,
        key: None,
    };
    for segment in error.instance_path().segments() {
        let next = match segment {
            LocationSegment::Property(name) => place.node.as_map().and_then(|entries| {
                entries
                    .iter()
                    .find(|(k, _)| k.name == name)
                    .map(|(k, v)| (Some(k.span), v))
            }),
            LocationSegment::Index(i) => match &place.node.value {
                super::yaml::Value::Seq(items) => items.get(i).map(|v| (None, v)),
                _ => None,
            },
        };
        match next {
            Some((key, node)) => place = Place { node, key },
            None => break,
        }
    }
    place
}

fn translate(root: &Node, schema: &Json, error: &ValidationError<'_>) -> Vec<Diagnostic> {
    let place = locate(root, error);
    let at = place.node.span;
    match error.kind() {
        ValidationErrorKind::AdditionalProperties { unexpected } => {
            let allowed = allowed_keys(schema, error);
            unexpected
                .iter()
                .map(|key| unknown_key(place.node, key, &allowed))
                .collect()
        }
        ValidationErrorKind::Required { property } => {
            let name = property.as_str().unwrap_or_default();
            let span = place.key.unwrap_or(at);
            vec![
                Diagnostic::new(Code::Schema, span, format!("missing `{name}`"))
                    .with_label(format!("`{name}` is required here")),
            ]
        }
        ValidationErrorKind::Enum { options } => vec![not_one_of(place.node, options)],
        ValidationErrorKind::Type { kind } => {
            let message = format!(
                "expected {}, found {}",
                type_names(kind),
                place.node.type_name()
            );
            vec![Diagnostic::new(Code::Schema, at, message)]
        }
        ValidationErrorKind::Pattern { .. } => vec![bad_name(place.node)],
        ValidationErrorKind::PropertyNames { error: inner } => {
            let name = inner.instance().as_str().unwrap_or_default().to_owned();
            let span = place.node.key(&name).map_or(at, |k| k.span);
            vec![
                Diagnostic::new(Code::Schema, span, format!("`{name}` is not a valid name"))
                    .with_help("names start with a letter and use letters, digits, `_` and `-`"),
            ]
        }
        ValidationErrorKind::OneOfNotValid { .. }
        | ValidationErrorKind::OneOfMultipleValid { .. } => {
            vec![one_of(place, error)]
        }
        _ => vec![Diagnostic::new(
            Code::Schema,
            at,
            lower_first(&error.to_string()),
        )],
    }
}

fn unknown_key(node: &Node, key: &str, allowed: &[String]) -> Diagnostic {
    let span = node.key(key).map_or(node.span, |k| k.span);
    let diagnostic = Diagnostic::new(Code::Schema, span, format!("unknown key `{key}`"));
    if let Some(best) = closest(key, allowed.iter().map(String::as_str)) {
        return diagnostic.with_help(format!("did you mean `{best}`?"));
    }
    if allowed.is_empty() {
        return diagnostic;
    }
    diagnostic.with_help(format!("allowed here: {}", quoted_list(allowed.iter())))
}

fn not_one_of(node: &Node, options: &Json) -> Diagnostic {
    let names: Vec<String> = options
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let found = node
        .as_str()
        .map_or_else(|| node.type_name().to_owned(), |s| format!("`{s}`"));
    let diagnostic = Diagnostic::new(
        Code::Schema,
        node.span,
        format!("{found} is not allowed here"),
    );
    match node
        .as_str()
        .and_then(|s| closest(s, names.iter().map(String::as_str)))
    {
        Some(best) => diagnostic.with_help(format!("did you mean `{best}`?")),
        None => diagnostic.with_help(format!("expected one of {}", quoted_list(names.iter()))),
    }
}

fn bad_name(node: &Node) -> Diagnostic {
    let text = node.as_str().unwrap_or_default();
    Diagnostic::new(
        Code::Schema,
        node.span,
        format!("`{text}` is not a valid name"),
    )
    .with_help("names start with a letter and use letters, digits, `_` and `-` (at most 63)")
}

fn one_of(place: Place<'_>, error: &ValidationError<'_>) -> Diagnostic {
    let schema_path = error.schema_path().as_str().to_owned();
    let span = place.node.span;
    if schema_path.contains("/complete/") {
        return Diagnostic::new(Code::Schema, span, "`complete` takes no settings")
            .with_help("write `complete: {}`");
    }
    if schema_path.contains("/field/") {
        return Diagnostic::new(
            Code::Schema,
            span,
            "a field is a type name or a mapping with `type`",
        )
        .with_help(
            "write `password: password`, or `password: { type: password, label: Password }`",
        );
    }
    Diagnostic::new(Code::Schema, span, lower_first(&error.to_string()))
}

/// The property names the schema allows at the failing object.
fn allowed_keys(schema: &Json, error: &ValidationError<'_>) -> Vec<String> {
    let path = error.schema_path().as_str();
    let parent = path.strip_suffix("/additionalProperties").unwrap_or(path);
    schema
        .pointer(parent)
        .and_then(|s| s.get("properties"))
        .and_then(Json::as_object)
        .map(|props| props.keys().cloned().collect())
        .unwrap_or_default()
}

fn type_names(kind: &TypeKind) -> String {
    let name = |t: &jsonschema::types::JsonType| match t.to_string().as_str() {
        "object" => "a mapping".to_owned(),
        "array" => "a list".to_owned(),
        "null" => "nothing".to_owned(),
        other => format!("a {other}"),
    };
    match kind {
        TypeKind::Single(t) => name(t),
        TypeKind::Multiple(set) => set
            .iter()
            .map(|t| name(&t))
            .collect::<Vec<_>>()
            .join(" or "),
    }
}

fn quoted_list<'a>(items: impl Iterator<Item = &'a String>) -> String {
    items
        .map(|s| format!("`{s}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn lower_first(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map_or_else(String::new, |c| c.to_lowercase().chain(chars).collect())
}

/// Whether `key` is a journey-level key that a step cannot have (`start`, `identifiers`).
pub fn is_journey_only_key(key: &str) -> bool {
    let Ok((schema, _)) = SCHEMA.as_ref() else {
        return false;
    };
    let step = step_definition(schema);
    let on_journey = schema.pointer(&format!("/properties/{key}")).is_some();
    let on_step = step.and_then(|s| s.get("properties")?.get(key)).is_some();
    on_journey && !on_step
}

fn step_definition(schema: &Json) -> Option<&Json> {
    let reference = schema
        .pointer("/properties/steps/additionalProperties/$ref")
        .and_then(Json::as_str)?;
    schema.pointer(reference.strip_prefix('#')?)
}

/// The one setting a step kind requires, when it requires exactly one: the DSL lets it be
/// written without its key (`find_user(input.identifier)`). Read from the schema, so a kind
/// added there gets the same shorthand.
pub fn positional_key(kind: &str) -> Option<&'static str> {
    let (schema, _) = SCHEMA.as_ref().ok()?;
    let reference = step_definition(schema)?
        .get("properties")?
        .get(kind)?
        .get("$ref")?
        .as_str()?;
    let definition = schema.pointer(reference.strip_prefix('#')?)?;
    match definition.get("required")?.as_array()?.as_slice() {
        [only] => only.as_str(),
        _ => None,
    }
}
