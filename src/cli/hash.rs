//! `ferry hash test`: checks a hash-format description against a known password and hash
//! before an import. The password is read from standard input, never from the command line.

use std::io::BufRead;
use std::path::PathBuf;
use std::process::ExitCode;

use ferry::authn::hashes::format::{HashFormat, RawHash};
use ferry::authn::hashes::{self, verify_parsed};
use ferry::config::ProcessEnv;

use super::Failure;

/// Arguments of `ferry hash`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Reads a hash through a format description and checks a password (from stdin) against it.
    Test(TestArgs),
}

#[derive(Debug, clap::Args)]
struct TestArgs {
    /// The format description (YAML); without it, the hash must be a layout Ferry recognises.
    #[arg(long, short)]
    format: Option<PathBuf>,
    /// The hash field as the export writes it.
    #[arg(long)]
    hash: String,
    /// The salt field, when the export keeps it apart.
    #[arg(long)]
    salt: Option<String>,
    /// The record's own iteration count or cost.
    #[arg(long)]
    iterations: Option<u32>,
}

/// Exit 0 when the password verifies, 1 when it does not, 2 when the description or hash
/// cannot be used.
pub fn run(args: Args) -> Result<ExitCode, Failure> {
    let Command::Test(args) = args.command;
    let format: HashFormat = match &args.format {
        Some(path) => ferry::config::read_yaml(path, &ProcessEnv)?,
        None => HashFormat::default(),
    };
    let raw = RawHash {
        hash: args.hash,
        salt: args.salt,
        iterations: args.iterations,
    };
    let parsed = format.read(&raw)?;
    let password = read_password()?;
    let matches = verify_parsed(password.as_bytes(), &parsed)?;
    println!("stored as: {}", parsed.canonical());
    if let Some(weak) = hashes::weakness(&parsed) {
        println!("weak: {weak}");
    }
    if matches {
        println!("match: the password verifies against this hash");
        Ok(ExitCode::SUCCESS)
    } else {
        println!("no match: the password does not verify; check the description");
        Ok(ExitCode::from(1))
    }
}

fn read_password() -> Result<String, Failure> {
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line
        .strip_suffix('\n')
        .map_or(line.as_str(), |l| l.strip_suffix('\r').unwrap_or(l))
        .to_owned())
}
