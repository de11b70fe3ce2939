//! Renderers: compiler-style text for people, JSON for tools.

use std::fmt;

use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource, SourceSpan};
use serde::Serialize;

use super::{Diagnostic, Severity};
use crate::syntax::source::SourceFile;

/// Whether human output may use colour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColorChoice {
    /// ANSI colours and unicode drawing.
    Always,
    /// Plain text with unicode drawing.
    Never,
}

/// Renders diagnostics of one file the way a compiler would.
pub fn render_human(file: &SourceFile, diagnostics: &[Diagnostic], color: ColorChoice) -> String {
    let theme = match color {
        ColorChoice::Always => GraphicalTheme::unicode(),
        ColorChoice::Never => GraphicalTheme::unicode_nocolor(),
    };
    let handler = GraphicalReportHandler::new_themed(theme).with_width(100);
    let source = NamedSource::new(file.name(), file.text().to_owned());
    let mut out = String::new();
    for diagnostic in diagnostics {
        let view = View {
            diagnostic,
            source: &source,
        };
        if handler.render_report(&mut out, &view).is_err() {
            // Rendering into a String cannot fail; fall back to the one-line form if it does.
            out.push_str(&one_line(file, diagnostic));
        }
        out.push('\n');
    }
    out
}

/// The `file:line:col: severity[code]: message` form, one line per diagnostic.
pub fn one_line(file: &SourceFile, diagnostic: &Diagnostic) -> String {
    let at = file.line_col(diagnostic.span.start);
    format!(
        "{}:{}:{}: {}[{}]: {}\n",
        file.name(),
        at.line,
        at.column,
        diagnostic.severity.as_str(),
        diagnostic.code.id(),
        diagnostic.message
    )
}

/// One diagnostic as tools read it.
#[derive(Debug, Serialize)]
pub struct JsonDiagnostic<'a> {
    /// File name as given.
    pub file: &'a str,
    /// Stable code, such as `J101`.
    pub code: &'static str,
    /// The rule's name.
    pub name: &'static str,
    /// `error` or `warning`.
    pub severity: Severity,
    /// The message.
    pub message: &'a str,
    /// One-based start line.
    pub line: usize,
    /// One-based start column, in characters.
    pub column: usize,
    /// One-based end line.
    pub end_line: usize,
    /// One-based end column (exclusive), in characters.
    pub end_column: usize,
    /// Byte offsets of the span.
    pub offset: [usize; 2],
    /// The note under the span.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<&'a str>,
    /// How to fix it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<&'a str>,
    /// Why the finding is accepted, and where that is written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acknowledged: Option<&'a super::Acknowledged>,
}

/// Converts one file's diagnostics into their JSON form.
pub fn render_json<'a>(
    file: &'a SourceFile,
    diagnostics: &'a [Diagnostic],
) -> Vec<JsonDiagnostic<'a>> {
    diagnostics
        .iter()
        .map(|d| {
            let start = file.line_col(d.span.start);
            let end = file.line_col(d.span.end);
            JsonDiagnostic {
                file: file.name(),
                code: d.code.id(),
                name: d.code.name(),
                severity: d.severity,
                message: &d.message,
                line: start.line,
                column: start.column,
                end_line: end.line,
                end_column: end.column,
                offset: [d.span.start, d.span.end],
                label: d.label.as_deref(),
                help: d.help.as_deref(),
                acknowledged: d.acknowledged.as_deref(),
            }
        })
        .collect()
}

struct View<'a> {
    diagnostic: &'a Diagnostic,
    source: &'a NamedSource<String>,
}

impl fmt::Debug for View<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.diagnostic.message)
    }
}

impl fmt::Display for View<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.diagnostic.message)
    }
}

impl std::error::Error for View<'_> {}

impl miette::Diagnostic for View<'_> {
    fn code<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        let code = self.diagnostic.code;
        Some(Box::new(format!("{}({})", code.id(), code.name())))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.diagnostic.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        })
    }

    fn help<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        self.diagnostic
            .help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(self.source)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let d = self.diagnostic;
        let primary = LabeledSpan::new_primary_with_span(d.label.clone(), source_span(d.span));
        let secondary = d
            .secondary
            .iter()
            .map(|l| LabeledSpan::new_with_span(Some(l.message.clone()), source_span(l.span)));
        Some(Box::new(std::iter::once(primary).chain(secondary)))
    }
}

fn source_span(span: crate::syntax::source::Span) -> SourceSpan {
    SourceSpan::new(span.start.into(), span.len())
}
