//! Front ends: journey files read into the AST, with spans. Uses nothing of Ferry's but
//! diagnostics; never reaches the network, a store or the runtime.

pub mod ast;
pub mod schema;
pub mod source;
pub mod yaml;
mod yaml_journey;

use std::sync::Arc;

use crate::diag::Diagnostic;
use source::SourceFile;

/// The largest journey file Ferry reads: far beyond any real journey, small enough to bound work.
pub const MAX_SOURCE_BYTES: usize = 4 * 1024 * 1024;

/// Which spelling a file uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Spelling {
    /// `*.yaml` or `*.yml`.
    Yaml,
}

impl Spelling {
    /// The spelling of a path, by extension.
    pub fn of(path: &std::path::Path) -> Option<Spelling> {
        match path.extension()?.to_str()? {
            "yaml" | "yml" => Some(Spelling::Yaml),
            _ => None,
        }
    }
}

/// Reads a journey in its YAML spelling: YAML syntax, then the schema, then lowering.
pub fn parse_yaml(file: &Arc<SourceFile>) -> Result<ast::Journey, Vec<Diagnostic>> {
    if file.text().len() > MAX_SOURCE_BYTES {
        let message = format!("the file is larger than {} MiB", MAX_SOURCE_BYTES >> 20);
        let span = source::Span::point(0);
        return Err(vec![Diagnostic::new(
            crate::diag::Code::YamlSyntax,
            span,
            message,
        )]);
    }
    let root = yaml::parse(file).map_err(|d| vec![d])?;
    let errors = schema::validate(&root);
    if !errors.is_empty() {
        return Err(errors);
    }
    yaml_journey::lower(file, &root)
}
