//! SARIF 2.1.0 output: one run, the whole rule table as the driver's rules, one result per
//! finding; acknowledged findings carry a suppression with the stated reason.

use serde_json::{Value, json};

use super::Report;
use crate::diag::{AckSource, Diagnostic, Severity};
use crate::rules::{REGISTRY, Rule};
use crate::syntax::source::SourceFile;

/// Where the SARIF 2.1.0 schema is published.
pub const SCHEMA_URI: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// Renders a report as one SARIF log.
pub fn render(report: &Report) -> Value {
    let rules: Vec<Value> = REGISTRY.iter().map(|r| rule(r)).collect();
    let results: Vec<Value> = report.all().map(|(file, d)| result(file, d)).collect();
    json!({
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "ferry",
                    "version": env!("CARGO_PKG_VERSION"),
                    "rules": rules,
                }
            },
            "columnKind": "unicodeCodePoints",
            "results": results,
        }]
    })
}

fn rule(r: &Rule) -> Value {
    json!({
        "id": r.code.id(),
        "name": r.code.name(),
        "shortDescription": { "text": r.summary },
        "fullDescription": { "text": section(r.doc, "## What it flags") },
        "help": { "text": r.doc, "markdown": r.doc },
        "defaultConfiguration": { "level": level(r.code.default_severity()) },
    })
}

/// The text of one `## ` section of a rule's documentation.
fn section<'a>(doc: &'a str, heading: &str) -> &'a str {
    let Some(start) = doc.find(heading) else {
        return doc.trim();
    };
    let body = &doc[start + heading.len()..];
    body[..body.find("\n## ").unwrap_or(body.len())].trim()
}

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}

fn result(file: &SourceFile, d: &Diagnostic) -> Value {
    let index = REGISTRY.iter().position(|r| r.code == d.code);
    let mut text = d.message.clone();
    if let Some(help) = &d.help {
        text.push_str("\nhelp: ");
        text.push_str(help);
    }
    let mut result = json!({
        "ruleId": d.code.id(),
        "level": level(d.severity),
        "message": { "text": text },
        "locations": [location(file, d.span, d.label.as_deref())],
    });
    if let Some(i) = index {
        result["ruleIndex"] = json!(i);
    }
    if !d.secondary.is_empty() {
        let related: Vec<Value> = d
            .secondary
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let mut loc = location(file, l.span, Some(&l.message));
                loc["id"] = json!(i);
                loc
            })
            .collect();
        result["relatedLocations"] = json!(related);
    }
    if let Some(ack) = &d.acknowledged {
        let kind = match ack.source {
            AckSource::Journey => "inSource",
            AckSource::Config => "external",
        };
        result["suppressions"] = json!([{ "kind": kind, "justification": ack.reason }]);
    }
    result
}

fn location(file: &SourceFile, span: crate::syntax::source::Span, note: Option<&str>) -> Value {
    let start = file.line_col(span.start);
    let end = file.line_col(span.end);
    let mut loc = json!({
        "physicalLocation": {
            "artifactLocation": { "uri": uri(file.name()) },
            "region": {
                "startLine": start.line,
                "startColumn": start.column,
                "endLine": end.line,
                "endColumn": end.column,
            }
        }
    });
    if let Some(note) = note {
        loc["message"] = json!({ "text": note });
    }
    loc
}

/// A file name as a URI reference: relative paths stay relative (code scanning resolves
/// them against the repository), absolute ones become `file://` URIs.
fn uri(name: &str) -> String {
    let path = std::path::Path::new(name);
    if path.is_absolute()
        && let Ok(url) = url::Url::from_file_path(path)
    {
        return url.to_string();
    }
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        match c {
            '\\' => out.push('/'),
            c if c.is_ascii_alphanumeric() || "-._~/!$&'()*+,;=:@".contains(c) => out.push(c),
            c => {
                let mut buf = [0; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    out.push_str(&format!("%{b:02X}"));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_names_stay_relative_and_are_escaped() {
        assert_eq!(uri("journeys/a b.yaml"), "journeys/a%20b.yaml");
        assert_eq!(uri("/tmp/x.yaml"), "file:///tmp/x.yaml");
    }

    #[test]
    fn sections_are_cut_at_the_next_heading() {
        let doc = "## What it flags\nA thing.\n\n## Why it matters\nBecause.";
        assert_eq!(section(doc, "## What it flags"), "A thing.");
    }
}
