//! `ferry serve`

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use ferry::clock::SystemClock;
use ferry::config::{Config, ProcessEnv};
use ferry::diag::{self, ColorChoice};
use ferry::runtime::Engine;
use ferry::server::{self, AppState, Signer};

use super::Failure;

/// Arguments of `ferry serve`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The configuration file; without it, `./ferry.yaml` if present, else embedded defaults.
    #[arg(long, short)]
    config: Option<PathBuf>,
    /// Listen on this address instead of the configured one.
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// Serve these journey files or folders instead of the configured ones.
    #[arg(long)]
    journeys: Vec<PathBuf>,
    /// Log as JSON lines instead of text.
    #[arg(long)]
    log_json: bool,
}

/// Loads everything, reports what is ready, and serves until Ctrl-C or SIGTERM.
pub fn run(args: Args) -> Result<ExitCode, Failure> {
    init_logging(args.log_json);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(serve(args))
}

async fn serve(args: Args) -> Result<ExitCode, Failure> {
    let mut config = load_config(args.config.as_deref())?;
    if let Some(listen) = args.listen {
        config.settings.listen = listen;
    }
    if !args.journeys.is_empty() {
        config.settings.journeys = args
            .journeys
            .iter()
            .map(|p| std::env::current_dir().unwrap_or_default().join(p))
            .collect();
    }
    let data_dir = config.resolve(&config.settings.data_dir);
    let key_file = config
        .settings
        .token
        .key_file
        .as_deref()
        .map(|p| config.resolve(p));
    let signer = Signer::load_or_generate(&config.settings.token, key_file, &data_dir)?;
    let listen = config.settings.listen;
    let trusted_proxy_hops = config.settings.trusted_proxy_hops;

    let (engine, rejected) = Engine::builder(config)
        .env(Arc::new(ProcessEnv))
        .build()
        .await?;
    for (file, diagnostics) in &rejected {
        eprint!(
            "{}",
            diag::render_human(file, diagnostics, ColorChoice::Never)
        );
    }
    report(&engine);

    let listener = tokio::net::TcpListener::bind(listen).await?;
    eprintln!("ferry listening on http://{}", listener.local_addr()?);
    let state = Arc::new(AppState {
        engine: Arc::new(engine),
        signer,
        clock: Arc::new(SystemClock),
        trusted_proxy_hops,
    });
    server::serve(listener, state, shutdown_signal()).await?;
    eprintln!("ferry stopped");
    Ok(ExitCode::SUCCESS)
}

fn load_config(path: Option<&std::path::Path>) -> Result<Config, Failure> {
    match path {
        Some(path) => Ok(Config::load(path, &ProcessEnv)?),
        None if std::path::Path::new("ferry.yaml").exists() => {
            Ok(Config::load("ferry.yaml".as_ref(), &ProcessEnv)?)
        }
        None => Ok(Config::embedded()),
    }
}

fn report(engine: &Engine) {
    for journey in engine.journeys() {
        if journey.is_ready() {
            eprintln!("journey `{}` ready ({})", journey.id, journey.file);
            continue;
        }
        eprintln!("journey `{}` NOT READY ({}):", journey.id, journey.file);
        for problem in &journey.problems {
            eprintln!("  - {problem}");
        }
    }
}

fn init_logging(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}
