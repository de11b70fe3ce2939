//! The canonical DSL form of a journey's document tree: `journey`, the settings, the IDPs,
//! then the steps, a blank line between steps, two-space indentation, entries inline while
//! they fit in 100 columns and no comment sits among them.

use super::{Cursor, WIDTH, comment_line, float_text, is_name};
use crate::syntax::ast::STEP_KEYWORDS;
use crate::syntax::dsl::Document;
use crate::syntax::schema;
use crate::syntax::source::SourceFile;
use crate::syntax::yaml::{Key, Node, Value};

/// Writes a journey's document tree as canonical DSL, with its comments.
pub fn to_dsl(file: &SourceFile, document: &Document) -> String {
    let mut printer = Printer {
        cursor: Cursor::new(file, &document.comments),
        out: String::new(),
    };
    printer.journey(&document.root);
    printer.out
}

struct Printer<'a> {
    cursor: Cursor<'a>,
    out: String,
}

impl Printer<'_> {
    fn journey(&mut self, root: &Node) {
        let entries = root.as_map().unwrap_or_default();
        if let Some((key, id)) = entries.iter().find(|(k, _)| k.name == "journey") {
            self.leading(key.span.start, 0);
            // The header takes a name, even one that reads as a value elsewhere (`false`).
            let line = match &id.value {
                Value::String(name) if is_name(name) => format!("journey {name}"),
                _ => format!("journey {}", scalar(id)),
            };
            self.line(&line, id.span.end);
        }
        for (key, value) in entries {
            if !matches!(key.name.as_str(), "journey" | "idps" | "steps") {
                self.leading(key.span.start, 0);
                self.setting(0, key, value);
            }
        }
        for (name, idp) in section(root, "idps") {
            self.gap();
            self.leading(name.span.start, 0);
            self.idp(name, idp);
        }
        for (name, step) in section(root, "steps") {
            self.blank();
            self.leading(name.span.start, 0);
            self.step(name, step);
        }
        let rest = self.cursor.rest();
        if !rest.is_empty() {
            self.blank();
        }
        for comment in rest {
            comment_line(&mut self.out, 0, comment);
        }
    }

    fn idp(&mut self, name: &Key, idp: &Node) {
        let entries = idp.as_map().unwrap_or_default();
        let provider = idp.get("provider").map_or_else(String::new, scalar);
        let rest: Vec<(Key, Node)> = entries
            .iter()
            .filter(|(k, _)| k.name != "provider")
            .cloned()
            .collect();
        let head = format!("idp {} = {provider}", name.name);
        let arguments = self.arguments(&head, &rest, idp);
        self.line(&format!("{head}{arguments}"), idp.span.end);
    }

    fn step(&mut self, name: &Key, step: &Node) {
        let entries = step.as_map().unwrap_or_default();
        let kind = entries
            .iter()
            .position(|(k, _)| STEP_KEYWORDS.contains(&k.name.as_str()))
            .or_else(|| {
                entries
                    .iter()
                    .position(|(k, _)| !matches!(k.name.as_str(), "on" | "description"))
            });
        let head = match kind.and_then(|i| entries.get(i)) {
            Some((kind, settings)) => {
                let head = format!("step {} = {}", name.name, kind.name);
                let arguments = self.settings(&head, &kind.name, settings);
                let end = settings.span.end.max(kind.span.end);
                (format!("{head}{arguments}"), end)
            }
            None => (format!("step {}", name.name), name.span.end),
        };
        self.line(&head.0, head.1);
        for (i, (key, value)) in entries.iter().enumerate() {
            if Some(i) != kind && key.name != "on" {
                self.leading(key.span.start, 2);
                self.setting(2, key, value);
            }
        }
        for (outcome, target) in section(step, "on") {
            self.leading(outcome.span.start, 2);
            let line = format!("  {} -> {}", outcome.name, scalar(target));
            self.line(&line, target.span.end);
        }
    }

    /// A kind's settings after its name: nothing, `(key: value, ...)` or `(value)`, the
    /// latter also for the one setting a kind requires when it is the only one, a scalar.
    fn settings(&mut self, head: &str, kind: &str, settings: &Node) -> String {
        match &settings.value {
            Value::Null => String::new(),
            Value::Map(entries) => match entries.as_slice() {
                [(key, value)]
                    if Some(key.name.as_str()) == schema::positional_key(kind)
                        && !matches!(value.value, Value::Map(_) | Value::Seq(_))
                        && !self.cursor.inside(settings.span) =>
                {
                    format!("({})", scalar(value))
                }
                _ => self.arguments(head, entries, settings),
            },
            _ => format!("({})", self.value(settings, 0, head.len() + 2)),
        }
    }

    fn arguments(&mut self, head: &str, entries: &[(Key, Node)], node: &Node) -> String {
        if entries.is_empty() {
            return String::new();
        }
        if !self.cursor.inside(node.span) {
            let inline = entries
                .iter()
                .map(|(k, v)| Some(format!("{}: {}", key(&k.name), inline(v)?)))
                .collect::<Option<Vec<_>>>()
                .map(|parts| format!("({})", parts.join(", ")));
            if let Some(text) = inline.filter(|t| head.len() + t.len() <= WIDTH) {
                return text;
            }
        }
        let mut text = String::from("(\n");
        self.block_entries(&mut text, entries, 2);
        let closing = self.cursor.leading(node.span.end);
        for comment in closing {
            comment_line(&mut text, 2, comment);
        }
        text.push(')');
        text
    }

    fn setting(&mut self, indent: usize, key_: &Key, value: &Node) {
        let head = format!("{}{}: ", " ".repeat(indent), key(&key_.name));
        let text = self.value(value, indent, head.len());
        self.line(&format!("{head}{text}"), value.span.end);
    }

    /// A value starting at column `column`, continuing lines at `indent`.
    fn value(&mut self, node: &Node, indent: usize, column: usize) -> String {
        if !self.cursor.inside(node.span)
            && let Some(text) = inline(node).filter(|t| column + t.len() <= WIDTH)
        {
            return text;
        }
        let (open, close) = match &node.value {
            Value::Map(_) => ("{\n", '}'),
            Value::Seq(_) => ("[\n", ']'),
            _ => return inline(node).unwrap_or_default(),
        };
        let mut text = String::from(open);
        match &node.value {
            Value::Map(entries) => self.block_entries(&mut text, entries, indent + 2),
            Value::Seq(items) => {
                for item in items {
                    for comment in self.cursor.leading(item.span.start) {
                        comment_line(&mut text, indent + 2, comment);
                    }
                    text.push_str(&" ".repeat(indent + 2));
                    let item_text = self.value(item, indent + 2, indent + 2);
                    text.push_str(&item_text);
                    self.trailing_into(&mut text, item.span.end);
                    text.push('\n');
                }
            }
            _ => {}
        }
        for comment in self.cursor.leading(node.span.end) {
            comment_line(&mut text, indent + 2, comment);
        }
        text.push_str(&" ".repeat(indent));
        text.push(close);
        text
    }

    fn block_entries(&mut self, text: &mut String, entries: &[(Key, Node)], indent: usize) {
        for (k, v) in entries {
            for comment in self.cursor.leading(k.span.start) {
                comment_line(text, indent, comment);
            }
            let head = format!("{}{}: ", " ".repeat(indent), key(&k.name));
            let value = self.value(v, indent, head.len());
            text.push_str(&head);
            text.push_str(&value);
            self.trailing_into(text, v.span.end);
            text.push('\n');
        }
    }

    fn trailing_into(&mut self, text: &mut String, offset: usize) {
        if let Some(comment) = self.cursor.trailing(offset) {
            text.push_str(" #");
            text.push_str(&comment.text);
        }
    }

    fn leading(&mut self, offset: usize, indent: usize) {
        for comment in self.cursor.leading(offset) {
            comment_line(&mut self.out, indent, comment);
        }
    }

    /// Writes a line, with the comment that trailed `end` in the source.
    fn line(&mut self, text: &str, end: usize) {
        self.out.push_str(text);
        let mut tail = String::new();
        self.trailing_into(&mut tail, end);
        self.out.push_str(&tail);
        self.out.push('\n');
    }

    /// One blank line, unless the output is empty or already ends with one.
    fn blank(&mut self) {
        if !self.out.is_empty() && !self.out.ends_with("\n\n") {
            self.out.push('\n');
        }
    }

    /// A blank line before the first IDP, none between IDPs.
    fn gap(&mut self) {
        let after_idp = self
            .out
            .lines()
            .last()
            .is_some_and(|l| l.starts_with("idp "));
        if !after_idp {
            self.blank();
        }
    }
}

fn section<'n>(node: &'n Node, name: &str) -> &'n [(Key, Node)] {
    node.get(name).and_then(Node::as_map).unwrap_or_default()
}

/// A value on one line, or `None` for a non-empty map or list holding a map or list.
fn inline(node: &Node) -> Option<String> {
    Some(match &node.value {
        Value::Map(entries) if entries.is_empty() => "{}".into(),
        Value::Map(entries) => {
            let parts = entries
                .iter()
                .map(|(k, v)| Some(format!("{}: {}", key(&k.name), inline(v)?)))
                .collect::<Option<Vec<_>>>()?;
            format!("{{ {} }}", parts.join(", "))
        }
        Value::Seq(items) => {
            let parts = items.iter().map(inline).collect::<Option<Vec<_>>>()?;
            format!("[{}]", parts.join(", "))
        }
        _ => scalar(node),
    })
}

/// A scalar: a bare word where it reads back the same, `{{ expression }}` for an expression,
/// a quoted string otherwise.
fn scalar(node: &Node) -> String {
    match &node.value {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => float_text(*f).unwrap_or_else(|| quote(&f.to_string())),
        Value::String(s) if is_word(s) => s.clone(),
        Value::String(s) if is_expression(s) => format!("{{{{ {s} }}}}"),
        Value::String(s) => quote(s),
        Value::Seq(_) | Value::Map(_) => inline(node).unwrap_or_default(),
    }
}

fn key(name: &str) -> String {
    if is_name(name) {
        name.to_owned()
    } else {
        quote(name)
    }
}

/// A name or a dotted path that the grammar reads back as the same string.
fn is_word(text: &str) -> bool {
    let first = text.split('.').next().unwrap_or_default();
    text.split('.').all(is_name) && !matches!(first, "true" | "false" | "null")
}

/// Text that reads as a MiniJinja expression and fits between `{{` and `}}`.
fn is_expression(text: &str) -> bool {
    let plain = !text.is_empty()
        && text.trim() == text
        && !text.contains("}}")
        && !text.contains(['\n', '\r']);
    plain
        && minijinja::Environment::new()
            .compile_expression(text)
            .is_ok()
}

/// A double-quoted string with the DSL's escapes.
fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
