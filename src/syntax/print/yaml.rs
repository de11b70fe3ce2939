//! The canonical YAML form of a journey's document tree: block mappings, flow style for a
//! mapping or list of scalars that fits on its line, plain scalars where YAML reads them back
//! as the same string, a blank line between steps, and the comments the DSL reader kept.

use super::{Cursor, WIDTH, comment_line, float_text};
use crate::syntax::dsl::Document;
use crate::syntax::source::SourceFile;
use crate::syntax::yaml::{Key, Node, Value};

/// The first line of every journey written as YAML: editors find the schema through it.
const SCHEMA_LINE: &str = "# yaml-language-server: $schema=../schemas/journey.schema.json\n";

/// Writes a journey's document tree as canonical YAML, with its comments.
pub fn to_yaml(file: &SourceFile, document: &Document) -> String {
    let mut printer = Printer {
        cursor: Cursor::new(file, &document.comments),
        out: String::from(SCHEMA_LINE),
    };
    let entries = document.root.as_map().unwrap_or_default();
    printer.entries(entries, 0, false);
    for comment in printer.cursor.rest() {
        comment_line(&mut printer.out, 0, comment);
    }
    printer.out
}

struct Printer<'a> {
    cursor: Cursor<'a>,
    out: String,
}

impl Printer<'_> {
    fn entries(&mut self, entries: &[(Key, Node)], indent: usize, spaced: bool) {
        for (i, (key, value)) in entries.iter().enumerate() {
            if spaced && i > 0 {
                self.out.push('\n');
            }
            if !key.span.is_empty() {
                for comment in self.cursor.leading(key.span.start) {
                    comment_line(&mut self.out, indent, comment);
                }
            }
            let head = format!("{}{}:", " ".repeat(indent), scalar_text(&key.name));
            self.entry(&head, value, indent, key.name == "steps" && indent == 0);
        }
    }

    fn entry(&mut self, head: &str, value: &Node, indent: usize, spaced: bool) {
        let scalar = !matches!(value.value, Value::Map(_) | Value::Seq(_));
        let fits = |f: &String| scalar || head.len() + 1 + f.len() <= WIDTH;
        if let Some(flow) = self.flow(value).filter(fits) {
            self.out.push_str(head);
            self.out.push(' ');
            self.out.push_str(&flow);
            self.trailing(value.span.end);
            return;
        }
        self.out.push_str(head);
        self.trailing(value.span.start);
        match &value.value {
            Value::Map(entries) => self.entries(entries, indent + 2, spaced),
            Value::Seq(items) => self.items(items, indent + 2),
            _ => {}
        }
    }

    fn items(&mut self, items: &[Node], indent: usize) {
        for item in items {
            for comment in self.cursor.leading(item.span.start) {
                comment_line(&mut self.out, indent, comment);
            }
            let pad = " ".repeat(indent);
            match (&item.value, self.flow(item)) {
                (Value::Map(_) | Value::Seq(_), Some(flow)) if indent + 2 + flow.len() > WIDTH => {
                    self.items_block(item, indent);
                }
                (_, Some(flow)) => {
                    self.out.push_str(&format!("{pad}- {flow}"));
                    self.trailing(item.span.end);
                }
                _ => self.items_block(item, indent),
            }
        }
    }

    /// A list item that is a mapping or a list, in block style.
    fn items_block(&mut self, item: &Node, indent: usize) {
        let pad = " ".repeat(indent);
        match &item.value {
            Value::Map(entries) if !entries.is_empty() => {
                let start = self.out.len();
                self.entries(entries, indent + 2, false);
                self.out
                    .replace_range(start..start + indent + 2, &format!("{pad}- "));
            }
            _ => {
                self.out.push_str(&format!("{pad}-"));
                self.trailing(item.span.start);
                if let Value::Seq(inner) = &item.value {
                    self.items(inner, indent + 2);
                }
            }
        }
    }

    /// A scalar, or a mapping or list of scalars in flow style, when no comment is inside.
    fn flow(&self, node: &Node) -> Option<String> {
        if self.cursor.inside(node.span) {
            return None;
        }
        Some(match &node.value {
            Value::Map(entries) if entries.is_empty() => "{}".into(),
            Value::Seq(items) if items.is_empty() => "[]".into(),
            Value::Map(entries) => {
                let parts = entries
                    .iter()
                    .map(|(k, v)| Some(format!("{}: {}", scalar_text(&k.name), flat(v)?)))
                    .collect::<Option<Vec<_>>>()?;
                format!("{{ {} }}", parts.join(", "))
            }
            Value::Seq(items) => {
                let parts = items.iter().map(flat).collect::<Option<Vec<_>>>()?;
                format!("[{}]", parts.join(", "))
            }
            _ => scalar(node),
        })
    }

    fn trailing(&mut self, offset: usize) {
        if let Some(comment) = self.cursor.trailing(offset) {
            self.out.push_str(" #");
            self.out.push_str(&comment.text);
        }
        self.out.push('\n');
    }
}

/// A scalar inside flow style; `None` for a mapping or list.
fn flat(node: &Node) -> Option<String> {
    match &node.value {
        Value::Map(_) | Value::Seq(_) => None,
        _ => Some(scalar(node)),
    }
}

fn scalar(node: &Node) -> String {
    match &node.value {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => float_text(*f).unwrap_or_else(|| match f {
            f if f.is_nan() => ".nan".into(),
            f if *f > 0.0 => ".inf".into(),
            _ => "-.inf".into(),
        }),
        Value::String(s) => scalar_text(s),
        Value::Map(_) | Value::Seq(_) => String::new(),
    }
}

/// A string as a plain scalar when YAML reads it back as the same string, else quoted.
fn scalar_text(text: &str) -> String {
    if is_plain(text) {
        return text.to_owned();
    }
    serde_json::to_string(text).unwrap_or_else(|_| format!("{text:?}"))
}

fn is_plain(text: &str) -> bool {
    let starts_well = text
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    let lower = text.to_ascii_lowercase();
    let reserved = matches!(lower.as_str(), "true" | "false" | "null");
    let safe_chars = text.chars().all(|c| {
        !c.is_control() && !matches!(c, ',' | '[' | ']' | '{' | '}' | '#' | '&' | '*' | ':')
    });
    starts_well && !reserved && safe_chars && !text.ends_with([' ', ':']) && !text.contains('\t')
}
