//! `ferry lint`: finds journey files, runs the front ends and every rule, and renders the
//! findings for people or tools. Never reaches the network, a store or the runtime.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;

use crate::compile;
use crate::diag::{self, ColorChoice, Diagnostic, Severity};
use crate::syntax::Spelling;
use crate::syntax::source::SourceFile;

/// Findings for one file.
#[derive(Debug)]
pub struct FileReport {
    /// The file.
    pub file: Arc<SourceFile>,
    /// What was found, in source order.
    pub diagnostics: Vec<Diagnostic>,
}

/// Findings for every file linted.
#[derive(Debug, Default)]
pub struct Report {
    /// One entry per file, in the order found.
    pub files: Vec<FileReport>,
}

/// Why linting could not run.
#[derive(Debug, thiserror::Error)]
pub enum LintError {
    /// A path given could not be read.
    #[error("cannot read `{path}`")]
    Read {
        /// The path.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A path given is neither a journey file nor a folder.
    #[error("`{0}` is not a journey file (`.yaml`, `.yml`, `.journey`) or a folder")]
    NotAJourney(PathBuf),
}

impl Report {
    /// How many findings have a severity.
    pub fn count(&self, severity: Severity) -> usize {
        self.files
            .iter()
            .flat_map(|f| &f.diagnostics)
            .filter(|d| d.severity == severity)
            .count()
    }

    /// Compiler-style text for people.
    pub fn human(&self, color: ColorChoice) -> String {
        let mut out: String = self
            .files
            .iter()
            .map(|f| diag::render_human(&f.file, &f.diagnostics, color))
            .collect();
        let (errors, warnings) = (self.count(Severity::Error), self.count(Severity::Warning));
        out.push_str(&format!(
            "{} file{} checked: {errors} error{}, {warnings} warning{}\n",
            self.files.len(),
            plural(self.files.len()),
            plural(errors),
            plural(warnings)
        ));
        out
    }

    /// JSON for tools: `{ "diagnostics": [...], "summary": {...} }`.
    pub fn json(&self) -> serde_json::Value {
        #[derive(Serialize)]
        struct Summary {
            files: usize,
            errors: usize,
            warnings: usize,
        }
        let diagnostics: Vec<_> = self
            .files
            .iter()
            .flat_map(|f| diag::render_json(&f.file, &f.diagnostics))
            .collect();
        let summary = Summary {
            files: self.files.len(),
            errors: self.count(Severity::Error),
            warnings: self.count(Severity::Warning),
        };
        serde_json::json!({ "diagnostics": diagnostics, "summary": summary })
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// Lints every journey file under the given paths (folders are searched recursively).
pub fn lint_paths(paths: &[PathBuf]) -> Result<Report, LintError> {
    let mut files = Vec::new();
    for path in paths {
        collect(path, true, &mut files)?;
    }
    let mut report = Report::default();
    for path in files {
        let file = SourceFile::read(&path).map_err(|source| LintError::Read {
            path: path.clone(),
            source,
        })?;
        report.files.push(lint_file(file));
    }
    Ok(report)
}

/// Lints one journey source.
pub fn lint_file(file: Arc<SourceFile>) -> FileReport {
    let diagnostics = match compile::compile_source(&file) {
        Ok(compiled) => compiled.warnings,
        Err(diagnostics) => diagnostics,
    };
    FileReport { file, diagnostics }
}

fn collect(path: &Path, explicit: bool, out: &mut Vec<PathBuf>) -> Result<(), LintError> {
    let meta = std::fs::metadata(path).map_err(|source| LintError::Read {
        path: path.into(),
        source,
    })?;
    if meta.is_dir() {
        let read = std::fs::read_dir(path).map_err(|source| LintError::Read {
            path: path.into(),
            source,
        })?;
        let mut entries = read
            .map(|e| e.map(|e| e.path()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|source| LintError::Read {
                path: path.into(),
                source,
            })?;
        entries.sort();
        for entry in entries {
            collect(&entry, false, out)?;
        }
        return Ok(());
    }
    match Spelling::of(path) {
        Some(_) => out.push(path.to_path_buf()),
        None if explicit => return Err(LintError::NotAJourney(path.into())),
        None => {}
    }
    Ok(())
}
