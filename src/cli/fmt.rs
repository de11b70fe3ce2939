//! `ferry fmt PATH...` and `ferry fmt --to yaml|dsl FILE`

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use ferry::diag::{self, ColorChoice};
use ferry::syntax::Spelling;
use ferry::syntax::print;
use ferry::syntax::source::SourceFile;

use super::Failure;

/// Arguments of `ferry fmt`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// DSL journey files (`.journey`) or folders to format in place; with `--to`, one
    /// journey file in either spelling.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Change nothing; list the files that are not formatted and exit 1 if there are any.
    #[arg(long, conflicts_with = "to")]
    check: bool,
    /// Print the journey in this spelling on standard output instead.
    #[arg(long, value_enum)]
    to: Option<Target>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Target {
    /// The YAML spelling.
    Yaml,
    /// The DSL spelling (`.journey`).
    Dsl,
}

/// Formats, checks or converts.
pub fn run(args: Args) -> Result<ExitCode, Failure> {
    match args.to {
        Some(target) => convert(&args.paths, target),
        None => format_all(&args.paths, args.check),
    }
}

fn convert(paths: &[PathBuf], target: Target) -> Result<ExitCode, Failure> {
    let [path] = paths else {
        return Err("`--to` converts one file at a time".into());
    };
    let file = read(path)?;
    let to = match target {
        Target::Yaml => Spelling::Yaml,
        Target::Dsl => Spelling::Dsl,
    };
    match print::convert(&file, to) {
        Ok(converted) => {
            print!("{}", converted.text);
            if converted.dropped_comments > 0 {
                eprintln!(
                    "note: {} comment line{} of `{}` {} dropped: the YAML reader does not \
                     keep comments",
                    converted.dropped_comments,
                    if converted.dropped_comments == 1 {
                        ""
                    } else {
                        "s"
                    },
                    file.name(),
                    if converted.dropped_comments == 1 {
                        "was"
                    } else {
                        "were"
                    },
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(diagnostics) => {
            print!(
                "{}",
                diag::render_human(&file, &diagnostics, ColorChoice::Never)
            );
            Ok(ExitCode::from(1))
        }
    }
}

fn format_all(paths: &[PathBuf], check: bool) -> Result<ExitCode, Failure> {
    let mut files = Vec::new();
    for path in paths {
        collect(path, true, &mut files)?;
    }
    let mut failed = false;
    for path in files {
        let file = read(&path)?;
        let formatted = match print::format_dsl(&file) {
            Ok(text) => text,
            Err(diagnostics) => {
                print!(
                    "{}",
                    diag::render_human(&file, &diagnostics, ColorChoice::Never)
                );
                failed = true;
                continue;
            }
        };
        if formatted == file.text() {
            continue;
        }
        if check {
            println!("not formatted: {}", path.display());
            failed = true;
        } else {
            std::fs::write(&path, formatted)
                .map_err(|e| format!("cannot write `{}`: {e}", path.display()))?;
            println!("formatted: {}", path.display());
        }
    }
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn read(path: &Path) -> Result<std::sync::Arc<SourceFile>, Failure> {
    SourceFile::read(path).map_err(|e| format!("cannot read `{}`: {e}", path.display()).into())
}

fn collect(path: &Path, explicit: bool, out: &mut Vec<PathBuf>) -> Result<(), Failure> {
    if path.is_dir() {
        let mut entries = std::fs::read_dir(path)
            .and_then(|read| {
                read.map(|e| e.map(|e| e.path()))
                    .collect::<Result<Vec<_>, _>>()
            })
            .map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
        entries.sort();
        for entry in entries {
            collect(&entry, false, out)?;
        }
        return Ok(());
    }
    match Spelling::of(path) {
        Some(Spelling::Dsl) => out.push(path.to_path_buf()),
        _ if explicit => {
            let message = format!(
                "`{}` is not a DSL journey (`.journey`); `ferry fmt --to dsl` converts YAML",
                path.display()
            );
            return Err(message.into());
        }
        _ => {}
    }
    Ok(())
}
