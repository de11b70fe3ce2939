//! Journey diagnostics: one type for every problem found in a journey or configuration file,
//! whichever stage found it, and the renderers that show them to people and to tools.
//!
//! This module knows nothing of journeys; it holds spans, codes and text.

mod codes;
mod render;

pub use codes::Code;
pub use render::{ColorChoice, JsonDiagnostic, render_human, render_json};

use crate::syntax::source::Span;

/// How serious a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing; does not stop anything.
    Warning,
    /// The journey cannot be compiled or served.
    Error,
}

impl Severity {
    /// The lower-case name used in output.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// A span with a short note, shown under the source line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Label {
    /// Where.
    pub span: Span,
    /// What to say there.
    pub message: String,
}

/// One finding, located in one file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// The stable code from the registry.
    pub code: Code,
    /// Error or warning; starts as the code's default.
    pub severity: Severity,
    /// One line, lower-case start, no final period.
    pub message: String,
    /// The exact span of the problem.
    pub span: Span,
    /// The note under the primary span, if any.
    pub label: Option<String>,
    /// Further places worth showing.
    pub secondary: Vec<Label>,
    /// How to fix it, where a fix is known (boxed, to keep diagnostics small).
    pub help: Option<Box<str>>,
    /// Set when the journey's author accepted this finding, with the stated reason.
    pub acknowledged: Option<Box<Acknowledged>>,
}

/// Where an acknowledgement was written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AckSource {
    /// In the journey file itself.
    Journey,
    /// In the `lint` section of `ferry.yaml`.
    Config,
}

/// An accepted finding's reason, and where it was accepted.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Acknowledged {
    /// Why the finding is accepted.
    pub reason: String,
    /// Where the acknowledgement is written.
    pub source: AckSource,
}

impl Diagnostic {
    /// A diagnostic with the code's default severity.
    pub fn new(code: Code, span: Span, message: impl Into<String>) -> Self {
        Self {
            code,
            severity: code.default_severity(),
            message: message.into(),
            span,
            label: None,
            secondary: Vec::new(),
            help: None,
            acknowledged: None,
        }
    }

    /// Adds the note under the primary span.
    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    /// Adds help text.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into().into_boxed_str());
        self
    }

    /// Adds a secondary label.
    pub fn with_secondary(mut self, span: Span, message: impl Into<String>) -> Self {
        self.secondary.push(Label {
            span,
            message: message.into(),
        });
        self
    }

    /// Whether this finding stops compilation: an error nobody acknowledged.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error && self.acknowledged.is_none()
    }

    /// Whether this finding counts: it was not acknowledged.
    pub fn is_open(&self) -> bool {
        self.acknowledged.is_none()
    }
}

/// Suggests the closest candidate to a misspelt name, if one is close enough to be a typo.
pub fn closest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (edit_distance(name, c), c))
        .filter(|&(d, c)| d > 0 && d <= (c.chars().count().max(3) / 3).max(1))
        .min_by_key(|&(d, _)| d)
        .map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (diagonal + usize::from(ca != cb))
                .min(above + 1)
                .min(row[j] + 1);
            diagonal = above;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closest_finds_typos_only() {
        let names = ["prompt", "find_user", "branch"];
        assert_eq!(closest("promt", names), Some("prompt"));
        assert_eq!(closest("brnch", names), Some("branch"));
        assert_eq!(closest("zzzzzz", names), None);
    }
}
