//! `ferry graph JOURNEY [--format mermaid|dot]`

use std::path::PathBuf;
use std::process::ExitCode;

use ferry::compile;
use ferry::diag::{self, ColorChoice};
use ferry::graph;
use ferry::syntax::source::SourceFile;

use super::Failure;

/// Arguments of `ferry graph`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The journey file, in either spelling.
    journey: PathBuf,
    /// The picture's language.
    #[arg(long, value_enum, default_value_t = Format::Mermaid)]
    format: Format,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Format {
    /// A Mermaid flowchart, as GitHub and many editors draw it.
    Mermaid,
    /// Graphviz DOT (`ferry graph j.journey --format dot | dot -Tsvg`).
    Dot,
}

/// Compiles the journey and prints its state machine; exits 1 if it does not compile.
pub fn run(args: Args) -> Result<ExitCode, Failure> {
    let file = SourceFile::read(&args.journey)
        .map_err(|e| format!("cannot read `{}`: {e}", args.journey.display()))?;
    let compiled = match compile::compile_source(&file) {
        Ok(compiled) => compiled,
        Err(diagnostics) => {
            print!(
                "{}",
                diag::render_human(&file, &diagnostics, ColorChoice::Never)
            );
            return Ok(ExitCode::from(1));
        }
    };
    let def = &compiled.journey.def;
    print!(
        "{}",
        match args.format {
            Format::Mermaid => graph::mermaid(def),
            Format::Dot => graph::dot(def),
        }
    );
    Ok(ExitCode::SUCCESS)
}
