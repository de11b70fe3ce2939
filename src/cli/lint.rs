//! `ferry lint PATH...`

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use ferry::diag::{ColorChoice, Severity};
use ferry::lint;

use super::Failure;

/// Arguments of `ferry lint`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Journey files or folders to check (folders are searched recursively).
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Format {
    /// Compiler-style text; colour only on a terminal.
    Human,
    /// One JSON document with every diagnostic and a summary.
    Json,
}

/// Lints, prints, and exits 1 if any error was found.
pub fn run(args: Args) -> Result<ExitCode, Failure> {
    let report = lint::lint_paths(&args.paths)?;
    match args.format {
        Format::Human => {
            let stdout = std::io::stdout();
            let color = if stdout.is_terminal() {
                ColorChoice::Always
            } else {
                ColorChoice::Never
            };
            print!("{}", report.human(color));
        }
        Format::Json => println!("{}", serde_json::to_string_pretty(&report.json())?),
    }
    let failed = report.count(Severity::Error) > 0;
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
