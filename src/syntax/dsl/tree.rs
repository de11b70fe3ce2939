//! The pest parse of a DSL file turned into the document tree the YAML reader builds:
//! `idp` declarations become `idps`, `step` declarations become `steps`, a step's kind and
//! settings become its kind key, and its transitions become `on`.

use std::collections::HashMap;

use pest::iterators::{Pair, Pairs};

use super::Rule;
use crate::diag::{Code, Diagnostic, closest};
use crate::syntax::ast::STEP_KEYWORDS;
use crate::syntax::schema;
use crate::syntax::source::Span;
use crate::syntax::yaml::{Key, Node, Value};

type Entries = Vec<(Key, Node)>;

/// Builds the root node from a successful parse of `file`.
pub fn build(mut pairs: Pairs<'_, Rule>) -> Result<Node, Vec<Diagnostic>> {
    let mut cx = Builder::default();
    let root = pairs.next().map(|file| cx.file(file));
    match root {
        Some(root) if cx.errors.is_empty() => Ok(root),
        _ => Err(cx.errors),
    }
}

#[derive(Default)]
struct Builder {
    errors: Vec<Diagnostic>,
}

impl Builder {
    fn file(&mut self, file: Pair<'_, Rule>) -> Node {
        let mut root = Entries::new();
        let mut idps = Section::default();
        let mut steps = Section::default();
        let mut span = span_of(&file);
        for pair in file.into_inner() {
            match pair.as_rule() {
                Rule::header => {
                    span = span_of(&pair);
                    let keyword = pair.clone().into_inner().next().map(|k| span_of(&k));
                    if let Some(name) = inner(&pair, Rule::name) {
                        let key = Key {
                            name: "journey".into(),
                            span: keyword.unwrap_or(span),
                        };
                        root.push((key, string_node(&name)));
                    }
                }
                Rule::setting => root.push(self.entry(pair)),
                Rule::idp => idps.push(&pair, self.idp(pair.clone())),
                Rule::step => steps.push(&pair, self.step(pair.clone())),
                _ => {}
            }
        }
        idps.finish("idps", &mut root);
        steps.finish("steps", &mut root);
        self.unique(&root);
        Node {
            span,
            value: Value::Map(root),
        }
    }

    fn idp(&mut self, pair: Pair<'_, Rule>) -> (Key, Node) {
        let span = span_of(&pair);
        let mut name = None;
        let mut entries = Entries::new();
        for part in pair.into_inner() {
            match part.as_rule() {
                Rule::name => name = Some(key_of(&part)),
                Rule::provider => {
                    let key = Key {
                        name: "provider".into(),
                        span: span_of(&part),
                    };
                    entries.push((key, string_node(&part)));
                }
                Rule::arguments => match self.arguments(part) {
                    Node {
                        value: Value::Map(more),
                        ..
                    } => entries.extend(more),
                    other => self.errors.push(
                        Diagnostic::new(Code::DslSyntax, other.span, "expected `key: value`")
                            .with_help("an IDP's settings are `(key: value, ...)`"),
                    ),
                },
                _ => {}
            }
        }
        self.unique(&entries);
        let name = name.unwrap_or_else(|| Key {
            name: String::new(),
            span,
        });
        let value = Value::Map(entries);
        (name, Node { span, value })
    }

    fn step(&mut self, pair: Pair<'_, Rule>) -> (Key, Node) {
        let span = span_of(&pair);
        let mut name = None;
        let mut entries = Entries::new();
        let mut on = Section::default();
        for part in pair.into_inner() {
            match part.as_rule() {
                Rule::name => name = Some(key_of(&part)),
                Rule::kind => {
                    let kind = key_of(&part);
                    self.known_kind(&kind);
                    let empty = Node {
                        span: Span::point(kind.span.end),
                        value: Value::Map(Vec::new()),
                    };
                    entries.push((kind, empty));
                }
                Rule::arguments => {
                    let settings = self.arguments(part);
                    if let Some((kind, node)) = entries.first_mut() {
                        *node = positional(&kind.name, settings);
                    }
                }
                Rule::step_setting => {
                    let (key, value) = self.entry(part);
                    if schema::is_journey_only_key(&key.name) {
                        self.errors.push(misplaced(&key));
                    }
                    entries.push((key, value));
                }
                Rule::transition => on.push(&part, transition(&part)),
                _ => {}
            }
        }
        on.finish("on", &mut entries);
        self.unique(&entries);
        let name = name.unwrap_or_else(|| Key {
            name: String::new(),
            span,
        });
        (
            name,
            Node {
                span,
                value: Value::Map(entries),
            },
        )
    }

    fn known_kind(&mut self, kind: &Key) {
        if STEP_KEYWORDS.contains(&kind.name.as_str()) {
            return;
        }
        let message = format!("unknown step kind `{}`", kind.name);
        let diagnostic = Diagnostic::new(Code::StepKind, kind.span, message);
        let help = match closest(&kind.name, STEP_KEYWORDS.iter().copied()) {
            Some(best) => format!("did you mean `{best}`?"),
            None => format!("the kinds are: {}", STEP_KEYWORDS.join(", ")),
        };
        self.errors.push(diagnostic.with_help(help));
    }

    fn arguments(&mut self, pair: Pair<'_, Rule>) -> Node {
        let span = span_of(&pair);
        let content = pair
            .into_inner()
            .find(|p| !matches!(p.as_rule(), Rule::open_paren | Rule::close_paren));
        match content {
            Some(p) if p.as_rule() == Rule::entries => Node {
                span,
                value: Value::Map(self.entries(p)),
            },
            Some(p) => self.value(p),
            None => Node {
                span,
                value: Value::Map(Vec::new()),
            },
        }
    }

    fn entries(&mut self, pair: Pair<'_, Rule>) -> Entries {
        let entries: Entries = pair
            .into_inner()
            .filter(|p| p.as_rule() == Rule::entry)
            .map(|p| self.entry(p))
            .collect();
        self.unique(&entries);
        entries
    }

    /// A `key: value` pair: a setting, a step setting or a map entry.
    fn entry(&mut self, pair: Pair<'_, Rule>) -> (Key, Node) {
        let span = span_of(&pair);
        let mut key = Key {
            name: String::new(),
            span,
        };
        let mut value = Node {
            span,
            value: Value::Null,
        };
        for part in pair.into_inner() {
            match part.as_rule() {
                Rule::key => key = self.key(part),
                Rule::colon | Rule::COMMENT => {}
                _ => value = self.value(part),
            }
        }
        (key, value)
    }

    fn key(&mut self, pair: Pair<'_, Rule>) -> Key {
        let span = span_of(&pair);
        let name = match pair.into_inner().next() {
            Some(p) if p.as_rule() == Rule::string => self.unescape(&p),
            Some(p) => p.as_str().to_owned(),
            None => String::new(),
        };
        Key { name, span }
    }

    fn value(&mut self, pair: Pair<'_, Rule>) -> Node {
        let span = span_of(&pair);
        let value = match pair.as_rule() {
            Rule::template => return template(&pair),
            Rule::string => Value::String(self.unescape(&pair)),
            Rule::word => Value::String(pair.as_str().to_owned()),
            Rule::number => number(pair.as_str()),
            Rule::boolean => Value::Bool(pair.as_str() == "true"),
            Rule::null => Value::Null,
            Rule::list => Value::Seq(
                pair.into_inner()
                    .filter(|p| is_value(p.as_rule()))
                    .map(|p| self.value(p))
                    .collect(),
            ),
            Rule::map => Value::Map(
                pair.into_inner()
                    .find(|p| p.as_rule() == Rule::entries)
                    .map(|p| self.entries(p))
                    .unwrap_or_default(),
            ),
            _ => Value::Null,
        };
        Node { span, value }
    }

    fn unescape(&mut self, pair: &Pair<'_, Rule>) -> String {
        let raw = pair.as_str();
        let body = raw.get(1..raw.len().saturating_sub(1)).unwrap_or_default();
        let mut out = String::with_capacity(body.len());
        let mut chars = body.chars();
        while let Some(c) = chars.next() {
            if c != '\\' {
                out.push(c);
                continue;
            }
            match chars.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some('r') => out.push('\r'),
                Some('u') => {
                    let hex: String = chars.by_ref().skip(1).take_while(|c| *c != '}').collect();
                    match u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                        Some(c) => out.push(c),
                        None => self.errors.push(bad_escape(pair, &hex)),
                    }
                }
                Some(other) => out.push(other),
                None => {}
            }
        }
        out
    }

    /// Reports every key written twice among `entries`.
    fn unique(&mut self, entries: &[(Key, Node)]) {
        let mut first: HashMap<&str, Span> = HashMap::new();
        for (key, _) in entries {
            match first.get(key.name.as_str()) {
                Some(earlier) => self.errors.push(
                    Diagnostic::new(
                        Code::DuplicateKey,
                        key.span,
                        format!("`{}` is written twice", key.name),
                    )
                    .with_secondary(*earlier, "first written here")
                    .with_help("keep one of the two"),
                ),
                None => {
                    first.insert(&key.name, key.span);
                }
            }
        }
    }
}

/// Declarations collected under one synthetic key (`idps`, `steps`, `on`). Names written
/// twice are kept: rule J106 reports them with both places.
#[derive(Default)]
struct Section {
    entries: Entries,
    span: Option<Span>,
}

impl Section {
    fn push(&mut self, pair: &Pair<'_, Rule>, entry: (Key, Node)) {
        let span = span_of(pair);
        self.span = Some(match self.span {
            Some(s) => Span::new(s.start, span.end),
            None => span,
        });
        self.entries.push(entry);
    }

    /// Adds the section under its key. The key is not written in the DSL, so its span is
    /// empty, at the start of the first declaration: printers put no comment before it.
    fn finish(self, name: &str, into: &mut Entries) {
        let Some(span) = self.span else { return };
        let key = Key {
            name: name.into(),
            span: Span::point(span.start),
        };
        let value = Value::Map(self.entries);
        into.push((key, Node { span, value }));
    }
}

/// `find_user(input.identifier)`: a single value given to a kind that requires one setting
/// is that setting.
fn positional(kind: &str, settings: Node) -> Node {
    let single = !matches!(settings.value, Value::Map(_));
    match schema::positional_key(kind) {
        Some(name) if single => {
            let span = settings.span;
            let key = Key {
                name: name.to_owned(),
                span,
            };
            Node {
                span,
                value: Value::Map(vec![(key, settings)]),
            }
        }
        _ => settings,
    }
}

fn transition(pair: &Pair<'_, Rule>) -> (Key, Node) {
    let outcome = inner(pair, Rule::outcome).map(|p| key_of(&p));
    let target = inner(pair, Rule::target).map(|p| string_node(&p));
    let span = span_of(pair);
    (
        outcome.unwrap_or(Key {
            name: String::new(),
            span,
        }),
        target.unwrap_or(Node {
            span,
            value: Value::Null,
        }),
    )
}

/// `{{ expression }}`: the expression's text, with the span of exactly that text.
fn template(pair: &Pair<'_, Rule>) -> Node {
    let body = inner(pair, Rule::template_body);
    let (text, start) = body.map_or(("", span_of(pair).start), |b| {
        (b.as_str(), b.as_span().start())
    });
    let lead = text.len() - text.trim_start().len();
    let trimmed = text.trim();
    let from = start + lead;
    Node {
        span: Span::new(from, from + trimmed.len()),
        value: Value::String(trimmed.to_owned()),
    }
}

fn number(text: &str) -> Value {
    if let Ok(i) = text.parse::<i64>() {
        return Value::Int(i);
    }
    text.parse::<f64>().map_or(Value::Null, Value::Float)
}

fn misplaced(key: &Key) -> Diagnostic {
    Diagnostic::new(
        Code::DslSyntax,
        key.span,
        format!("`{}` is a setting of the journey, not of a step", key.name),
    )
    .with_help("move it up with the journey's settings, before the first `idp` or `step`")
}

fn bad_escape(pair: &Pair<'_, Rule>, hex: &str) -> Diagnostic {
    Diagnostic::new(
        Code::DslSyntax,
        span_of(pair),
        format!("`\\u{{{hex}}}` is not a character"),
    )
    .with_help("write a Unicode scalar value in hexadecimal, such as `\\u{e9}`")
}

fn is_value(rule: Rule) -> bool {
    !matches!(
        rule,
        Rule::comma | Rule::open_bracket | Rule::close_bracket | Rule::COMMENT
    )
}

fn inner<'i>(pair: &Pair<'i, Rule>, rule: Rule) -> Option<Pair<'i, Rule>> {
    pair.clone().into_inner().find(|p| p.as_rule() == rule)
}

fn span_of(pair: &Pair<'_, Rule>) -> Span {
    let span = pair.as_span();
    Span::new(span.start(), span.end())
}

fn key_of(pair: &Pair<'_, Rule>) -> Key {
    Key {
        name: pair.as_str().to_owned(),
        span: span_of(pair),
    }
}

fn string_node(pair: &Pair<'_, Rule>) -> Node {
    Node {
        span: span_of(pair),
        value: Value::String(pair.as_str().to_owned()),
    }
}
