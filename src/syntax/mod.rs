//! Front ends: journey files read into the AST, with spans. Uses nothing of Ferry's but
//! diagnostics; never reaches the network, a store or the runtime.

pub mod ast;
pub mod dsl;
pub mod print;
pub mod register;
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
    /// `*.journey`: the DSL of `grammar/journey.pest`.
    Dsl,
}

impl Spelling {
    /// The spelling of a source, by its path or else its name; YAML when neither says.
    pub fn of_file(file: &SourceFile) -> Spelling {
        let name = std::path::Path::new(file.name());
        file.path()
            .and_then(Spelling::of)
            .or_else(|| Spelling::of(name))
            .unwrap_or(Spelling::Yaml)
    }

    /// The spelling of a path, by extension.
    pub fn of(path: &std::path::Path) -> Option<Spelling> {
        match path.extension()?.to_str()? {
            "yaml" | "yml" => Some(Spelling::Yaml),
            "journey" => Some(Spelling::Dsl),
            _ => None,
        }
    }
}

/// Reads a journey in its YAML spelling: YAML syntax, then the schema, then lowering.
pub fn parse_yaml(file: &Arc<SourceFile>) -> Result<ast::Journey, Vec<Diagnostic>> {
    if let Some(too_large) = too_large(file) {
        return Err(vec![too_large]);
    }
    let root = yaml::parse(file).map_err(|d| vec![d])?;
    let errors = schema::validate(&root);
    if !errors.is_empty() {
        return Err(errors);
    }
    yaml_journey::lower(file, &root)
}

/// Reads a journey in its DSL spelling: the grammar, then the same schema and lowering as
/// YAML, so both spellings are checked by one definition.
pub fn parse_dsl(file: &Arc<SourceFile>) -> Result<ast::Journey, Vec<Diagnostic>> {
    let document = dsl::parse(file)?;
    let errors = schema::validate(&document.root);
    if !errors.is_empty() {
        return Err(errors);
    }
    yaml_journey::lower(file, &document.root)
}

/// Reads a journey in the spelling its name says (YAML when the name says nothing).
pub fn parse(file: &Arc<SourceFile>) -> Result<ast::Journey, Vec<Diagnostic>> {
    match Spelling::of_file(file) {
        Spelling::Yaml => parse_yaml(file),
        Spelling::Dsl => parse_dsl(file),
    }
}

/// Reads a journey into its document tree, in either spelling, with the comments the reader
/// keeps (the YAML reader keeps none). Checks the tree against the schema and the lowering,
/// so a converted file is a journey, not merely text.
pub fn read_document(file: &Arc<SourceFile>) -> Result<dsl::Document, Vec<Diagnostic>> {
    let document = match Spelling::of_file(file) {
        Spelling::Yaml => {
            if let Some(too_large) = too_large(file) {
                return Err(vec![too_large]);
            }
            dsl::Document {
                root: yaml::parse(file).map_err(|d| vec![d])?,
                comments: Vec::new(),
            }
        }
        Spelling::Dsl => dsl::parse(file)?,
    };
    let errors = schema::validate(&document.root);
    if !errors.is_empty() {
        return Err(errors);
    }
    yaml_journey::lower(file, &document.root)?;
    Ok(document)
}

fn too_large(file: &SourceFile) -> Option<Diagnostic> {
    if file.text().len() <= MAX_SOURCE_BYTES {
        return None;
    }
    let message = format!("the file is larger than {} MiB", MAX_SOURCE_BYTES >> 20);
    let span = source::Span::point(0);
    Some(Diagnostic::new(
        crate::diag::Code::YamlSyntax,
        span,
        message,
    ))
}
