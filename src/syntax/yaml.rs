//! The YAML reader: saphyr's marked tree turned into an owned tree with a byte span on every
//! node, keys included, plus its JSON form for schema validation.

use saphyr::{LoadableYamlNode, MarkedYaml, Scalar, YamlData};
use serde_json::Value as Json;

use super::source::{SourceFile, Span};
use crate::diag::{Code, Diagnostic};

/// Nesting deeper than this is refused: no journey needs it, and it keeps recursion bounded.
const MAX_DEPTH: usize = 48;

/// A YAML node with the span of its text.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// Where the node was written.
    pub span: Span,
    /// What it holds.
    pub value: Value,
}

/// The value of a node, typed by the YAML 1.2 core schema.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// `~`, `null` or nothing.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A floating-point number.
    Float(f64),
    /// Any other scalar.
    String(String),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in source order; keys are scalars kept as text.
    Map(Vec<(Key, Node)>),
}

/// A mapping key with its span.
#[derive(Clone, Debug, PartialEq)]
pub struct Key {
    /// The key as text.
    pub name: String,
    /// Where it was written.
    pub span: Span,
}

impl Node {
    /// The string value, if this node is a string scalar.
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The entries, if this node is a mapping.
    pub fn as_map(&self) -> Option<&[(Key, Node)]> {
        match &self.value {
            Value::Map(entries) => Some(entries),
            _ => None,
        }
    }

    /// The entry for `key`, if this node is a mapping that has it.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_map()?
            .iter()
            .find(|(k, _)| k.name == key)
            .map(|(_, v)| v)
    }

    /// The key of the entry named `key`, if this node is a mapping that has it.
    pub fn key(&self, key: &str) -> Option<&Key> {
        self.as_map()?
            .iter()
            .find(|(k, _)| k.name == key)
            .map(|(k, _)| k)
    }

    /// The node's JSON form, as the schema sees it.
    pub fn to_json(&self) -> Json {
        match &self.value {
            Value::Null => Json::Null,
            Value::Bool(b) => Json::Bool(*b),
            Value::Int(i) => Json::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f).map_or(Json::Null, Json::Number),
            Value::String(s) => Json::String(s.clone()),
            Value::Seq(items) => Json::Array(items.iter().map(Node::to_json).collect()),
            Value::Map(entries) => Json::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.name.clone(), v.to_json()))
                    .collect(),
            ),
        }
    }

    /// A short name for the node's type, for messages.
    pub fn type_name(&self) -> &'static str {
        match self.value {
            Value::Null => "nothing",
            Value::Bool(_) => "a boolean",
            Value::Int(_) | Value::Float(_) => "a number",
            Value::String(_) => "a string",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }
}

/// Parses one YAML document. An empty file is an empty mapping's absence: `Null`.
pub fn parse(file: &SourceFile) -> Result<Node, Diagnostic> {
    let docs = MarkedYaml::load_from_str(file.text()).map_err(|e| scan_error(file, &e))?;
    if docs.len() > 1 {
        let span = docs.get(1).map_or(Span::default(), |d| span_of(file, d));
        return Err(
            Diagnostic::new(Code::YamlSyntax, span, "a journey file holds one document")
                .with_help("remove the `---` separator and the second document"),
        );
    }
    match docs.first() {
        Some(doc) => convert(file, doc, 0),
        None => Ok(Node {
            span: Span::default(),
            value: Value::Null,
        }),
    }
}

fn scan_error(file: &SourceFile, e: &saphyr::ScanError) -> Diagnostic {
    let mark = e.marker();
    let at = file.offset_of(mark.line(), mark.col());
    let end = file.text()[at..]
        .chars()
        .next()
        .map_or(at, |c| at + c.len_utf8());
    let info = e.info();
    let diagnostic = Diagnostic::new(
        Code::YamlSyntax,
        Span::new(at, end),
        format!("invalid YAML: {info}"),
    );
    if info.contains("duplicated key") {
        return diagnostic
            .with_help("each key may appear once in a mapping; rename or merge the two");
    }
    diagnostic
}

fn span_of(file: &SourceFile, node: &MarkedYaml<'_>) -> Span {
    let start = file.offset_of(node.span.start.line(), node.span.start.col());
    let end = file.offset_of(node.span.end.line(), node.span.end.col());
    Span::new(start, end)
}

fn convert(file: &SourceFile, node: &MarkedYaml<'_>, depth: usize) -> Result<Node, Diagnostic> {
    let span = span_of(file, node);
    if depth > MAX_DEPTH {
        return Err(
            Diagnostic::new(Code::YamlSyntax, span, "the document is nested too deeply")
                .with_help(format!("journeys never need more than {MAX_DEPTH} levels")),
        );
    }
    let value = match &node.data {
        YamlData::Value(scalar) => scalar_value(scalar),
        YamlData::Representation(text, _, _) => Value::String(text.to_string()),
        YamlData::Sequence(items) => Value::Seq(
            items
                .iter()
                .map(|i| convert(file, i, depth + 1))
                .collect::<Result<_, _>>()?,
        ),
        YamlData::Mapping(map) => Value::Map(
            map.iter()
                .map(|(k, v)| Ok((key(file, k)?, convert(file, v, depth + 1)?)))
                .collect::<Result<_, Diagnostic>>()?,
        ),
        YamlData::Tagged(_, inner) => return convert(file, inner, depth + 1),
        YamlData::Alias(_) | YamlData::BadValue => {
            return Err(
                Diagnostic::new(Code::YamlSyntax, span, "this value cannot be read")
                    .with_help("check the tag or alias on this value"),
            );
        }
    };
    Ok(Node { span, value })
}

fn scalar_value(scalar: &Scalar<'_>) -> Value {
    match scalar {
        Scalar::Null => Value::Null,
        Scalar::Boolean(b) => Value::Bool(*b),
        Scalar::Integer(i) => Value::Int(*i),
        Scalar::FloatingPoint(f) => Value::Float(f.into_inner()),
        Scalar::String(s) => Value::String(s.to_string()),
    }
}

fn key(file: &SourceFile, node: &MarkedYaml<'_>) -> Result<Key, Diagnostic> {
    let span = span_of(file, node);
    let name = match &node.data {
        YamlData::Value(Scalar::String(s)) => s.to_string(),
        YamlData::Value(Scalar::Integer(i)) => i.to_string(),
        YamlData::Value(Scalar::Boolean(b)) => b.to_string(),
        YamlData::Representation(text, _, _) => text.to_string(),
        _ => {
            return Err(Diagnostic::new(
                Code::YamlSyntax,
                span,
                "mapping keys must be plain names",
            )
            .with_help("use a word such as `steps` or `ask` as the key"));
        }
    };
    Ok(Key { name, span })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &str) -> (std::sync::Arc<SourceFile>, Result<Node, Diagnostic>) {
        let file = SourceFile::new("t.yaml", text);
        let node = parse(&file);
        (file, node)
    }

    #[test]
    fn keys_and_values_carry_exact_spans() {
        let (file, node) = parsed("journey: demo\nsteps:\n  ask:\n    prompt: {}\n");
        let node = node.unwrap_or_else(|d| panic!("{d:?}"));
        let steps = node
            .get("steps")
            .and_then(|s| s.as_map())
            .unwrap_or_default();
        let (key, _) = &steps[0];
        assert_eq!(file.slice(key.span), "ask");
        let journey = node.get("journey").map(|n| n.span).unwrap_or_default();
        assert_eq!(file.slice(journey), "demo");
    }

    #[test]
    fn duplicate_keys_are_an_error_with_position() {
        let (file, node) = parsed("steps:\n  a: 1\n  a: 2\n");
        let diagnostic = node.err().unwrap_or_else(|| panic!("duplicate accepted"));
        assert_eq!(diagnostic.code, Code::YamlSyntax);
        assert_eq!(file.line_col(diagnostic.span.start).line, 3);
    }

    #[test]
    fn scalars_are_typed() {
        let (_, node) = parsed("a: 1\nb: true\nc: '1'\nd: ~\n");
        let node = node.unwrap_or_else(|d| panic!("{d:?}"));
        assert_eq!(node.get("a").map(|n| &n.value), Some(&Value::Int(1)));
        assert_eq!(node.get("b").map(|n| &n.value), Some(&Value::Bool(true)));
        assert_eq!(
            node.get("c").map(|n| &n.value),
            Some(&Value::String("1".into()))
        );
        assert_eq!(node.get("d").map(|n| &n.value), Some(&Value::Null));
    }

    #[test]
    fn deep_nesting_is_refused_without_overflow() {
        let text = format!("{}{}", "[".repeat(500), "]".repeat(500));
        let (_, node) = parsed(&text);
        assert!(node.is_err());
    }
}
