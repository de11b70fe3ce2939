//! `ferry lint PATH...` and `ferry lint --explain CODE`

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use ferry::config::ProcessEnv;
use ferry::diag::{Code, ColorChoice};
use ferry::lint;
use ferry::rules::{self, Options};

use super::Failure;

/// The configuration read when `--config` is not given, if it exists.
const DEFAULT_CONFIG: &str = "ferry.yaml";

/// Arguments of `ferry lint`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Journey files or folders to check (folders are searched recursively).
    #[arg(required_unless_present = "explain")]
    paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
    /// Also fail (exit 1) on warnings.
    #[arg(long, value_enum)]
    deny: Option<Deny>,
    /// Print a rule's documentation (code such as `J504`, or name such as `password-grant`).
    #[arg(long, value_name = "CODE", conflicts_with = "paths")]
    explain: Option<String>,
    /// The configuration with rule levels, acknowledgements and IDP settings
    /// [default: ./ferry.yaml, if it exists].
    #[arg(long, value_name = "PATH")]
    config: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Format {
    /// Compiler-style text; colour only on a terminal.
    Human,
    /// One JSON document with every diagnostic and a summary.
    Json,
    /// A SARIF 2.1.0 log, for code-scanning tools.
    Sarif,
    /// GitHub Actions workflow annotations.
    Github,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Deny {
    /// Warnings fail the run like errors.
    Warnings,
}

/// Why `--explain` could not answer.
#[derive(Debug, thiserror::Error)]
#[error("no rule is called `{0}`; rules are named by code (`J504`) or name (`password-grant`)")]
struct UnknownRule(String);

/// Lints, prints, and exits 1 if an error (or, with `--deny warnings`, a warning) was found.
pub fn run(args: Args) -> Result<ExitCode, Failure> {
    if let Some(code) = &args.explain {
        return explain(code);
    }
    let options = options(args.config.as_deref())?;
    let report = lint::lint_paths_with(&args.paths, &options)?;
    match args.format {
        Format::Human => {
            let color = if std::io::stdout().is_terminal() {
                ColorChoice::Always
            } else {
                ColorChoice::Never
            };
            print!("{}", report.human(color));
        }
        Format::Json => println!("{}", serde_json::to_string_pretty(&report.json())?),
        Format::Sarif => println!("{}", serde_json::to_string_pretty(&report.sarif())?),
        Format::Github => print!("{}", report.github()),
    }
    let failed = report.failed(args.deny == Some(Deny::Warnings));
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn options(config: Option<&Path>) -> Result<Options, Failure> {
    let path = match config {
        Some(path) => path,
        None if Path::new(DEFAULT_CONFIG).is_file() => Path::new(DEFAULT_CONFIG),
        None => return Ok(Options::default()),
    };
    Ok(lint::options_from_config(path, &ProcessEnv)?)
}

fn explain(name: &str) -> Result<ExitCode, Failure> {
    let rule = Code::parse(name)
        .and_then(rules::rule)
        .ok_or_else(|| UnknownRule(name.to_owned()))?;
    let code = rule.code;
    println!("{} ({}): {}", code.id(), code.name(), rule.summary);
    println!(
        "default severity: {}; {}\n",
        code.default_severity().as_str(),
        if rule.configurable {
            "configurable and acknowledgeable"
        } else {
            "fixed (the compiler depends on it)"
        }
    );
    print!("{}", rule.doc);
    Ok(ExitCode::SUCCESS)
}
