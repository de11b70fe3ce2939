//! GitHub Actions workflow commands: one `::error` or `::warning` annotation per open
//! finding and a `::notice` per acknowledged one, escaped as the runner expects.

use super::Report;
use crate::diag::Severity;

/// Renders every finding as a workflow command line.
pub fn render(report: &Report) -> String {
    let mut out = String::new();
    for (file, d) in report.all() {
        let start = file.line_col(d.span.start);
        let end = file.line_col(d.span.end);
        let command = match (&d.acknowledged, d.severity) {
            (Some(_), _) => "notice",
            (None, Severity::Error) => "error",
            (None, Severity::Warning) => "warning",
        };
        let title = match d.acknowledged {
            Some(_) => format!("{} {} (acknowledged)", d.code.id(), d.code.name()),
            None => format!("{} {}", d.code.id(), d.code.name()),
        };
        let mut message = d.message.clone();
        if let Some(ack) = &d.acknowledged {
            message.push_str("\nacknowledged: ");
            message.push_str(&ack.reason);
        } else if let Some(help) = &d.help {
            message.push_str("\nhelp: ");
            message.push_str(help);
        }
        out.push_str(&format!(
            "::{command} file={},line={},endLine={},col={},endColumn={},title={}::{}\n",
            property(file.name()),
            start.line,
            end.line,
            start.column,
            end.column,
            property(&title),
            data(&message)
        ));
    }
    out
}

/// Escapes a command's message.
fn data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a command's property value.
fn property(text: &str) -> String {
    data(text).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_and_properties_are_escaped() {
        assert_eq!(data("50% done\nnext"), "50%25 done%0Anext");
        assert_eq!(property("a:b,c"), "a%3Ab%2Cc");
    }
}
