//! Subcommands. Each returns the process exit code: 0 clean, 1 findings or a refused
//! request, 2 when the tool itself fails.

mod fmt;
mod graph;
mod hash;
mod import;
mod lint;
mod providers;
mod serve;
mod status;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Ferry moves users off one identity provider onto another while they keep logging in.
#[derive(Debug, Parser)]
#[command(name = "ferry", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Format DSL journeys, or convert a journey between YAML and the DSL.
    Fmt(fmt::Args),
    /// Draw a journey's state machine as Mermaid or Graphviz DOT.
    Graph(graph::Args),
    /// Check a hash-format description against a known password before an import.
    Hash(hash::Args),
    /// Stream a provider's export into the user store: users, hashes, roles and groups.
    Import(import::Args),
    /// Check journey files: schema, names, outcomes, expressions, provider methods, flow and
    /// security rules; or explain a rule.
    Lint(lint::Args),
    /// Print which provider supports which migration method.
    Providers(providers::Args),
    /// Serve the journeys over HTTP.
    Serve(serve::Args),
    /// Summarise how far the migration has come, from the user store.
    Status(status::Args),
}

/// The error type of a failed command: the tool itself failed (exit status 2).
pub type Failure = Box<dyn std::error::Error + Send + Sync>;

/// Runs one command.
pub fn run(cli: Cli) -> Result<ExitCode, Failure> {
    match cli.command {
        Command::Fmt(args) => fmt::run(args),
        Command::Graph(args) => graph::run(args),
        Command::Hash(args) => hash::run(args),
        Command::Import(args) => import::run(args),
        Command::Lint(args) => lint::run(args),
        Command::Providers(args) => providers::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Status(args) => status::run(args),
    }
}

/// The configuration at `path`, else `./ferry.yaml` if present, else the embedded defaults.
fn load_config(path: Option<&std::path::Path>) -> Result<ferry::config::Config, Failure> {
    use ferry::config::{Config, ProcessEnv};
    match path {
        Some(path) => Ok(Config::load(path, &ProcessEnv)?),
        None if std::path::Path::new("ferry.yaml").exists() => {
            Ok(Config::load("ferry.yaml".as_ref(), &ProcessEnv)?)
        }
        None => Ok(Config::embedded()),
    }
}
