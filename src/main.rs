//! The `ferry` command: argument parsing, output and exit codes. Everything else lives in
//! the library.

mod cli;

use std::process::ExitCode;

use clap::Parser;

/// mimalloc: an import or a busy server allocates and frees small values by the million,
/// where it spends markedly less time than the system allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    match cli::run(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            let mut source = std::error::Error::source(e.as_ref());
            while let Some(cause) = source {
                eprintln!("  caused by: {cause}");
                source = cause.source();
            }
            ExitCode::from(2)
        }
    }
}
