//! `ferry lint`: finds journey files, runs the front ends and every rule, and renders the
//! findings for people or tools (compiler-style text, JSON, SARIF 2.1.0, GitHub workflow
//! annotations). Never reaches the network, a store or the runtime.

mod github;
mod sarif;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;

use crate::compile;
use crate::config::{Config, ConfigError, Env};
use crate::diag::{self, ColorChoice, Diagnostic, Severity};
use crate::rules::{Deployment, Options, OptionsError};
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
    /// The configuration could not be read.
    #[error("cannot use the configuration")]
    Config(#[from] ConfigError),
    /// The configuration's `lint` section is wrong.
    #[error("{file}: {source}")]
    Options {
        /// The configuration file.
        file: String,
        /// What is wrong.
        #[source]
        source: OptionsError,
    },
}

/// Reads the rule options from a configuration file: levels, acknowledgements, and the IDP
/// facts some rules check. `${NAME}` references in IDP settings are not resolved.
pub fn options_from_config(path: &Path, env: &dyn Env) -> Result<Options, LintError> {
    let config = Config::load(path, &Unresolved(env))?;
    let deployment = Deployment::from_config(&config);
    Options::new(&config.settings.lint, Some(deployment)).map_err(|source| LintError::Options {
        file: path.display().to_string(),
        source,
    })
}

/// The environment as lint sees it: a variable that is not set reads as empty, since lint
/// uses no secret and must run where the deployment's secrets are not (an editor, CI).
struct Unresolved<'a>(&'a dyn Env);

impl Env for Unresolved<'_> {
    fn get(&self, name: &str) -> Option<String> {
        Some(self.0.get(name).unwrap_or_default())
    }
}

impl Report {
    /// How many open (not acknowledged) findings have a severity.
    pub fn count(&self, severity: Severity) -> usize {
        self.open().filter(|(_, d)| d.severity == severity).count()
    }

    /// How many findings were acknowledged.
    pub fn acknowledged(&self) -> usize {
        self.all().filter(|(_, d)| !d.is_open()).count()
    }

    /// Every finding with its file.
    pub fn all(&self) -> impl Iterator<Item = (&SourceFile, &Diagnostic)> {
        self.files
            .iter()
            .flat_map(|f| f.diagnostics.iter().map(move |d| (&*f.file, d)))
    }

    /// The findings nobody acknowledged, with their files.
    pub fn open(&self) -> impl Iterator<Item = (&SourceFile, &Diagnostic)> {
        self.all().filter(|(_, d)| d.is_open())
    }

    /// Whether the run found something that fails it: an error, or with `deny_warnings` a
    /// warning. Acknowledged findings never fail a run.
    pub fn failed(&self, deny_warnings: bool) -> bool {
        self.count(Severity::Error) > 0 || (deny_warnings && self.count(Severity::Warning) > 0)
    }

    /// SARIF 2.1.0 for code-scanning tools; acknowledged findings carry a suppression.
    pub fn sarif(&self) -> serde_json::Value {
        sarif::render(self)
    }

    /// GitHub Actions workflow commands: an annotation per finding, acknowledged ones as
    /// notices with their reason.
    pub fn github(&self) -> String {
        github::render(self)
    }

    /// Compiler-style text for people.
    pub fn human(&self, color: ColorChoice) -> String {
        let mut out = String::new();
        for f in &self.files {
            let open: Vec<Diagnostic> = f
                .diagnostics
                .iter()
                .filter(|d| d.is_open())
                .cloned()
                .collect();
            out.push_str(&diag::render_human(&f.file, &open, color));
        }
        for (file, d) in self.all().filter(|(_, d)| !d.is_open()) {
            out.push_str(&acknowledged_line(file, d));
        }
        let (errors, warnings) = (self.count(Severity::Error), self.count(Severity::Warning));
        out.push_str(&format!(
            "{} file{} checked: {errors} error{}, {warnings} warning{}",
            self.files.len(),
            plural(self.files.len()),
            plural(errors),
            plural(warnings)
        ));
        match self.acknowledged() {
            0 => out.push('\n'),
            n => out.push_str(&format!(" ({n} acknowledged)\n")),
        }
        out
    }

    /// JSON for tools: `{ "diagnostics": [...], "acknowledged": [...], "summary": {...} }`;
    /// acknowledged findings are listed apart, each with its reason.
    pub fn json(&self) -> serde_json::Value {
        #[derive(Serialize)]
        struct Summary {
            files: usize,
            errors: usize,
            warnings: usize,
            acknowledged: usize,
        }
        let (open, acked): (Vec<_>, Vec<_>) = self
            .files
            .iter()
            .flat_map(|f| diag::render_json(&f.file, &f.diagnostics))
            .partition(|d| d.acknowledged.is_none());
        let summary = Summary {
            files: self.files.len(),
            errors: self.count(Severity::Error),
            warnings: self.count(Severity::Warning),
            acknowledged: self.acknowledged(),
        };
        serde_json::json!({ "diagnostics": open, "acknowledged": acked, "summary": summary })
    }
}

/// `file:line:col: acknowledged[J504]: message (reason: ...)`: accepted findings stay
/// visible, one line each, under the open ones.
fn acknowledged_line(file: &SourceFile, d: &Diagnostic) -> String {
    let at = file.line_col(d.span.start);
    let reason = d.acknowledged.as_ref().map_or("", |a| a.reason.as_str());
    format!(
        "{}:{}:{}: acknowledged[{}]: {} (reason: {reason})\n",
        file.name(),
        at.line,
        at.column,
        d.code.id(),
        d.message
    )
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// Lints every journey file under the given paths (folders are searched recursively), with
/// default severities and the journeys' own acknowledgements.
pub fn lint_paths(paths: &[PathBuf]) -> Result<Report, LintError> {
    lint_paths_with(paths, &Options::default())
}

/// [`lint_paths`] with rule levels, acknowledgements and IDP facts from configuration.
pub fn lint_paths_with(paths: &[PathBuf], options: &Options) -> Result<Report, LintError> {
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
        report.files.push(lint_file_with(file, options));
    }
    Ok(report)
}

/// Lints one journey source with default severities.
pub fn lint_file(file: Arc<SourceFile>) -> FileReport {
    lint_file_with(file, &Options::default())
}

/// Lints one journey source with rule levels, acknowledgements and IDP facts.
pub fn lint_file_with(file: Arc<SourceFile>, options: &Options) -> FileReport {
    let diagnostics = match crate::syntax::parse(&file) {
        Ok(journey) => compile::check_with(&journey, options),
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
