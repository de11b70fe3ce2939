//! pest's errors translated into Ferry diagnostics: the grammar's rule names become what a
//! journey author would call them, and the commonest mistakes get a message of their own.

use pest::error::{Error, ErrorVariant, InputLocation};

use super::Rule;
use crate::diag::{Code, Diagnostic, closest};
use crate::syntax::MAX_SOURCE_BYTES;
use crate::syntax::source::Span;

/// Brackets nested deeper than this are refused before parsing: no journey needs it, and
/// it keeps the parser's recursion bounded.
const MAX_DEPTH: usize = 48;

/// Refuses files too large or too deeply nested to parse safely, and strings or templates
/// left open at the end of their line (found here, before parsing, so the diagnostic points
/// at the opening quote rather than wherever the parser gave up).
pub fn check_size_and_depth(text: &str) -> Result<(), Diagnostic> {
    if text.len() > MAX_SOURCE_BYTES {
        let message = format!("the file is larger than {} MiB", MAX_SOURCE_BYTES >> 20);
        return Err(Diagnostic::new(Code::DslSyntax, Span::point(0), message));
    }
    let mut depth = 0usize;
    let mut at = 0;
    let bytes = text.as_bytes();
    while let Some(&b) = bytes.get(at) {
        at = match b {
            b'"' => string_end(text, at)?,
            b'{' if bytes.get(at + 1) == Some(&b'{') => template_end(text, at)?,
            b'#' => line_end(text, at),
            b'(' | b'[' | b'{' => {
                depth += 1;
                at + 1
            }
            b')' | b']' | b'}' => {
                depth = depth.saturating_sub(1);
                at + 1
            }
            _ => at + 1,
        };
        if depth > MAX_DEPTH {
            let span = Span::new(at - 1, at);
            return Err(
                Diagnostic::new(Code::DslSyntax, span, "the journey is nested too deeply")
                    .with_help(format!("journeys never need more than {MAX_DEPTH} levels")),
            );
        }
    }
    Ok(())
}

fn line_end(text: &str, from: usize) -> usize {
    text[from..].find('\n').map_or(text.len(), |i| from + i)
}

/// The offset after the string that opens at `from`.
fn string_end(text: &str, from: usize) -> Result<usize, Diagnostic> {
    let bytes = text.as_bytes();
    let mut at = from + 1;
    while let Some(&b) = bytes.get(at) {
        match b {
            b'\\' if bytes.get(at + 1).is_some_and(|n| *n != b'\n') => at += 2,
            b'"' => return Ok(at + 1),
            b'\n' | b'\r' => break,
            _ => at += 1,
        }
    }
    let span = Span::new(from, line_end(text, from).min(at).max(from + 1));
    Err(
        Diagnostic::new(Code::Unterminated, span, "this string is not closed")
            .with_label("`\"` expected before the end of this line")
            .with_help(
                "end the string with `\"` on the line it starts; write `\\n` for a line break",
            ),
    )
}

/// The offset after the template that opens at `from`.
fn template_end(text: &str, from: usize) -> Result<usize, Diagnostic> {
    let end = line_end(text, from);
    match text[from + 2..end].find("}}") {
        Some(i) => Ok(from + 2 + i + 2),
        None => {
            let span = Span::new(from, end.max(from + 2));
            Err(
                Diagnostic::new(Code::Unterminated, span, "this template is not closed")
                    .with_label("`}}` expected before the end of this line")
                    .with_help("end the expression with `}}` on the line it starts"),
            )
        }
    }
}

/// Translates a pest error into a diagnostic with the span of the offending token.
pub fn translate(text: &str, error: &Error<Rule>) -> Diagnostic {
    let at = match error.location {
        InputLocation::Pos(p) => p,
        InputLocation::Span((s, _)) => s,
    };
    if let Some(d) = no_header(text) {
        return d;
    }
    let span = token_at(text, at);
    let found = describe(text, span);
    let positives = match &error.variant {
        ErrorVariant::ParsingError { positives, .. } => positives.clone(),
        ErrorVariant::CustomError { message } => {
            return Diagnostic::new(Code::DslSyntax, span, message.clone());
        }
    };
    if positives.contains(&Rule::arrow)
        && let Some(d) = missing_arrow(text, span, &found)
    {
        return d;
    }
    if text.get(at..).is_some_and(|rest| rest.starts_with("->")) {
        return Diagnostic::new(Code::DslSyntax, Span::new(at, at + 2), "unexpected `->`")
            .with_help(
                "transitions follow a step's settings; check that every `(` and `{` before \
                 this line is closed",
            );
    }
    let mut expected: Vec<&str> = positives.iter().map(|r| term(*r)).collect();
    expected.sort_unstable();
    expected.dedup();
    let message = format!("expected {}, found {found}", or_list(&expected));
    let diagnostic = Diagnostic::new(Code::DslSyntax, span, message);
    help(text, at, &positives, diagnostic)
}

/// A file whose first word is not `journey`.
fn no_header(text: &str) -> Option<Diagnostic> {
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let content = line.trim_start();
        if content.is_empty() || content.starts_with('#') {
            offset += line.len();
            continue;
        }
        let at = offset + line.len() - content.len();
        let word = token_at(text, at);
        if text.get(word.start..word.end) == Some("journey") {
            return None;
        }
        let found = describe(text, word);
        return Some(
            Diagnostic::new(
                Code::DslSyntax,
                word,
                format!("expected `journey NAME`, found {found}"),
            )
            .with_help("a journey file starts with `journey NAME`, such as `journey jit-password`"),
        );
    }
    let end = Span::point(text.len());
    Some(
        Diagnostic::new(Code::DslSyntax, end, "the file is empty")
            .with_help("a journey file starts with `journey NAME`, such as `journey jit-password`"),
    )
}

/// `found check_local` in a step: the outcome and its target without `->`.
fn missing_arrow(text: &str, span: Span, found: &str) -> Option<Diagnostic> {
    let next = text.get(span.start..span.end)?;
    let is_name = next.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_');
    let before = text.get(..span.start)?.trim_end();
    let outcome_start = before
        .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
        .map_or(0, |i| i + 1);
    let outcome = before.get(outcome_start..)?;
    if !is_name || outcome.is_empty() {
        return None;
    }
    Some(
        Diagnostic::new(
            Code::DslSyntax,
            Span::new(outcome_start, span.end),
            format!("missing `->` between the outcome `{outcome}` and {found}"),
        )
        .with_label("an outcome and its next step are joined by `->`")
        .with_help(format!(
            "write `{outcome} -> {next}`, or `{outcome}: value` for a setting"
        )),
    )
}

fn help(text: &str, at: usize, positives: &[Rule], diagnostic: Diagnostic) -> Diagnostic {
    let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let first_word: String = text[line_start..]
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    if let Some(best) = closest(&first_word, ["journey", "idp", "step"]) {
        return diagnostic.with_help(format!("did you mean `{best}`?"));
    }
    if at == 0 || positives.contains(&Rule::kw_journey) {
        return diagnostic.with_help("a journey file starts with `journey NAME`");
    }
    if positives.contains(&Rule::close_paren) {
        return diagnostic.with_help("settings are `(key: value, ...)`; close them with `)`");
    }
    if positives.contains(&Rule::equals) {
        return diagnostic.with_help("write `step NAME = KIND(...)` or `idp NAME = PROVIDER`");
    }
    diagnostic
}

/// What a rule is called in a message.
fn term(rule: Rule) -> &'static str {
    match rule {
        Rule::kw_journey | Rule::header => "`journey NAME`",
        Rule::kw_idp | Rule::idp => "`idp`",
        Rule::kw_step | Rule::step => "`step`",
        Rule::setting | Rule::step_setting | Rule::entries | Rule::entry => "`key: value`",
        Rule::key => "a key",
        Rule::transition | Rule::outcome => "an outcome (`outcome -> step`)",
        Rule::name | Rule::kind | Rule::provider | Rule::target => "a name",
        Rule::arguments | Rule::open_paren => "`(`",
        Rule::arrow => "`->`",
        Rule::equals => "`=`",
        Rule::colon => "`:`",
        Rule::comma => "`,`",
        Rule::close_paren => "`)`",
        Rule::open_brace => "`{`",
        Rule::close_brace => "`}`",
        Rule::open_bracket => "`[`",
        Rule::close_bracket => "`]`",
        Rule::EOI => "the end of the file",
        _ => "a value",
    }
}

fn or_list(items: &[&str]) -> String {
    match items {
        [] => "something else".into(),
        [one] => (*one).into(),
        [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
    }
}

/// The span of the token starting at `at`: a word, or one character; empty at the end.
fn token_at(text: &str, at: usize) -> Span {
    let rest = text.get(at..).unwrap_or_default();
    let word = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.'))
        .unwrap_or(rest.len());
    if word > 0 {
        return Span::new(at, at + word);
    }
    let len = rest.chars().next().map_or(0, char::len_utf8);
    Span::new(at, at + len)
}

fn describe(text: &str, span: Span) -> String {
    match text.get(span.start..span.end) {
        None | Some("") => "the end of the file".into(),
        Some("\n") | Some("\r") => "the end of the line".into(),
        Some(token) => format!("`{token}`"),
    }
}
