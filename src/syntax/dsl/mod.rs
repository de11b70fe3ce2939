//! The DSL spelling of a journey: `grammar/journey.pest` read with pest, and the parse turned
//! into the same document tree the YAML reader builds, so the schema, the lowering into the
//! AST and the rules are shared. Comments are kept beside the tree for the formatter. Uses
//! nothing of Ferry's but diagnostics; never reaches the network, a store or the runtime.

mod errors;
mod tree;

use pest::Parser as _;

use super::source::{SourceFile, Span};
use super::yaml::Node;
use crate::diag::Diagnostic;

mod grammar {
    /// The pest parser generated from `grammar/journey.pest`.
    #[derive(pest_derive::Parser)]
    #[grammar = "../grammar/journey.pest"]
    pub struct Grammar;
}

use grammar::{Grammar, Rule};

/// A `#` comment, kept so the formatter and the converters can write it back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Comment {
    /// Where it was written, `#` included.
    pub span: Span,
    /// The text after `#`, without the line break.
    pub text: String,
    /// Whether code precedes it on its line.
    pub trailing: bool,
}

/// A DSL file read: the document tree and the comments.
#[derive(Clone, Debug, PartialEq)]
pub struct Document {
    /// The journey as a document tree, shaped like the YAML spelling's.
    pub root: Node,
    /// The comments, in source order.
    pub comments: Vec<Comment>,
}

/// Parses a DSL file into its document tree. Every problem comes back as a diagnostic with
/// the exact span: syntax (`J004`), an unclosed string (`J005`), a key written twice
/// (`J006`) or an unknown step kind (`J003`).
pub fn parse(file: &SourceFile) -> Result<Document, Vec<Diagnostic>> {
    errors::check_size_and_depth(file.text()).map_err(|d| vec![d])?;
    let pairs = Grammar::parse(Rule::file, file.text())
        .map_err(|e| vec![errors::translate(file.text(), &e)])?;
    let comments = pairs
        .clone()
        .flatten()
        .filter(|p| p.as_rule() == Rule::COMMENT)
        .map(|p| comment(file.text(), &p))
        .collect();
    let root = tree::build(pairs)?;
    Ok(Document { root, comments })
}

fn comment(text: &str, pair: &pest::iterators::Pair<'_, Rule>) -> Comment {
    let span = pair.as_span();
    let line_start = text[..span.start()].rfind('\n').map_or(0, |i| i + 1);
    let before = &text[line_start..span.start()];
    Comment {
        span: Span::new(span.start(), span.end()),
        text: pair.as_str()[1..].trim_end().to_owned(),
        trailing: !before.trim().is_empty(),
    }
}

#[cfg(test)]
mod tests;
