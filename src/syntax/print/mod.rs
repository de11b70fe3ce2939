//! Printers: a journey's document tree written back as canonical DSL or YAML, with the
//! comments the reader kept. Both work on the tree, not on step kinds, so a kind added to the
//! schema prints in both spellings unchanged. Never reach the network, a store or the runtime.

mod dsl;
mod yaml;

pub use dsl::to_dsl;
pub use yaml::to_yaml;

use super::dsl::Comment;
use super::source::{SourceFile, Span};

/// Lines are kept to this many columns where the content allows.
const WIDTH: usize = 100;

/// Comments waiting to be written, in source order.
struct Cursor<'a> {
    file: &'a SourceFile,
    comments: &'a [Comment],
    next: usize,
}

impl<'a> Cursor<'a> {
    fn new(file: &'a SourceFile, comments: &'a [Comment]) -> Self {
        Self {
            file,
            comments,
            next: 0,
        }
    }

    /// The comments written before `offset` and not yet printed.
    fn leading(&mut self, offset: usize) -> &'a [Comment] {
        let from = self.next;
        while self
            .comments
            .get(self.next)
            .is_some_and(|c| c.span.start < offset)
        {
            self.next += 1;
        }
        &self.comments[from..self.next]
    }

    /// The comment at the end of the source line where `offset` is, if it is next.
    fn trailing(&mut self, offset: usize) -> Option<&'a Comment> {
        let comment = self.comments.get(self.next)?;
        let same_line =
            self.file.line_col(comment.span.start).line == self.file.line_col(offset).line;
        if comment.trailing && same_line && comment.span.start >= offset {
            self.next += 1;
            return Some(comment);
        }
        None
    }

    /// Whether a comment not yet printed lies inside `span`.
    fn inside(&self, span: Span) -> bool {
        self.comments[self.next..]
            .iter()
            .any(|c| c.span.start >= span.start && c.span.start < span.end)
    }

    /// Every comment not yet printed.
    fn rest(&mut self) -> &'a [Comment] {
        let from = self.next;
        self.next = self.comments.len();
        &self.comments[from..]
    }
}

/// Whether `text` is a name: a letter or `_`, then letters, digits, `_` or `-`.
fn is_name(text: &str) -> bool {
    let mut chars = text.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// A float as both spellings read it back: always with a decimal point, never an exponent.
fn float_text(value: f64) -> Option<String> {
    if !value.is_finite() {
        return None;
    }
    let text = value.to_string();
    Some(if text.contains('.') {
        text
    } else {
        format!("{text}.0")
    })
}

/// A comment line at an indentation.
fn comment_line(out: &mut String, indent: usize, comment: &Comment) {
    out.push_str(&" ".repeat(indent));
    out.push('#');
    out.push_str(&comment.text);
    out.push('\n');
}

/// A journey written in another spelling, or reformatted.
#[derive(Debug)]
pub struct Converted {
    /// The new text.
    pub text: String,
    /// How many comments of the source could not be kept.
    pub dropped_comments: usize,
}

/// Writes a journey file in the spelling asked for. The source must read as a journey (its
/// syntax, the schema and the lowering pass); the rules are not needed. Comments survive from
/// the DSL; the YAML reader keeps none, so converting from YAML reports how many it dropped.
pub fn convert(
    file: &std::sync::Arc<SourceFile>,
    to: super::Spelling,
) -> Result<Converted, Vec<crate::diag::Diagnostic>> {
    let document = super::read_document(file)?;
    let dropped_comments = match super::Spelling::of_file(file) {
        super::Spelling::Yaml => yaml_comments(file.text()),
        super::Spelling::Dsl => 0,
    };
    let text = match to {
        super::Spelling::Yaml => to_yaml(file, &document),
        super::Spelling::Dsl => to_dsl(file, &document),
    };
    Ok(Converted {
        text,
        dropped_comments,
    })
}

/// Formats a DSL file canonically, keeping every comment. Needs only the DSL's syntax, so a
/// journey that the schema or the rules refuse can still be formatted.
pub fn format_dsl(file: &SourceFile) -> Result<String, Vec<crate::diag::Diagnostic>> {
    let document = super::dsl::parse(file)?;
    Ok(to_dsl(file, &document))
}

/// Counts the comments in YAML text: `#` at the start of a line or after white space,
/// outside quotes. (The YAML reader drops them, so they are counted from the text.)
pub fn yaml_comments(text: &str) -> usize {
    text.lines().filter(|line| has_yaml_comment(line)).count()
}

fn has_yaml_comment(line: &str) -> bool {
    let mut quote = None;
    let mut previous = ' ';
    for c in line.chars() {
        match (quote, c) {
            (None, '#') if previous.is_whitespace() => return true,
            (None, '"' | '\'') if previous.is_whitespace() || previous == ':' => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            _ => {}
        }
        previous = c;
    }
    false
}
