//! `ferry import MAPPING EXPORT`: streams an export into the user store with a progress bar
//! on a terminal and a summary at the end; rejected records go to the report file.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use ferry::clock::SystemClock;
use ferry::config::ProcessEnv;
use ferry::import::auth0_hashes::HashIndex;
use ferry::import::report::Report;
use ferry::import::{Import, ImportError, ImportMapping, Options, Progress, SourceKind, Summary};
use indicatif::{ProgressBar, ProgressStyle};

use super::Failure;

/// Arguments of `ferry import`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The export file (JSON, JSON Lines or CSV, as the mapping's `source` expects).
    export: PathBuf,
    /// The mapping file: source, IDP name, identifier, attributes, conflict policy, hash format.
    #[arg(long, short)]
    mapping: PathBuf,
    /// Auth0's password-hash export (NDJSON), joined to the users by id.
    #[arg(long)]
    hashes: Option<PathBuf>,
    /// The configuration naming the user store; default `./ferry.yaml` if present.
    #[arg(long, short)]
    config: Option<PathBuf>,
    /// The import's name, which keys its checkpoint; default: the export's file name.
    #[arg(long)]
    name: Option<String>,
    /// Records per transaction.
    #[arg(long, default_value_t = 1000)]
    batch_size: usize,
    /// Decide everything and report it, but write nothing.
    #[arg(long)]
    dry_run: bool,
    /// Ignore the checkpoint of an unfinished run and start from the first record.
    #[arg(long)]
    restart: bool,
    /// Where report lines go (JSON Lines); default `<name>.report.jsonl`.
    #[arg(long)]
    report: Option<PathBuf>,
    /// Stop abruptly after this many records, as a crash would, to rehearse a resume.
    #[arg(long)]
    stop_after: Option<u64>,
}

/// Runs the import; exit 0 when every record was imported, 1 when some were rejected or in
/// conflict, 2 when the import failed or was stopped.
pub fn run(args: Args) -> Result<ExitCode, Failure> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(import(args))
}

async fn import(args: Args) -> Result<ExitCode, Failure> {
    let config = super::load_config(args.config.as_deref())?;
    let mapping = Arc::new(ImportMapping::load(&args.mapping, &ProcessEnv)?);
    let store = ferry::runtime::open_users(&config).await?;
    let hashes = match (&args.hashes, mapping.source) {
        (Some(path), SourceKind::Auth0) => Some(HashIndex::build(path).await?),
        (Some(_), _) => return Err("--hashes is for Auth0's password-hash export".into()),
        (None, _) => None,
    };
    let name = args.name.clone().unwrap_or_else(|| file_name(&args.export));
    let report_path = args
        .report
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("{name}.report.jsonl")));
    let mut report = open_report(&report_path, args.restart)?;
    if let Some(index) = &hashes {
        note_skipped_hashes(index, &mut report)?;
    }

    let authenticators = &config.settings.authenticators;
    let sealer = match authenticators.encryption_key.as_ref() {
        Some(key) if !key.is_empty() => {
            Some(ferry::authn::Sealer::new(key, &authenticators.key_id)?)
        }
        _ => None,
    };

    let cancel = Arc::new(AtomicBool::new(false));
    watch_ctrl_c(cancel.clone());
    let bar = Bar::new(&args.export);
    let clock = SystemClock;
    let job = Import {
        mapping: mapping.clone(),
        store: store.as_ref(),
        input: args.export.clone(),
        hashes: hashes.as_ref(),
        options: Options {
            name,
            batch_size: args.batch_size,
            dry_run: args.dry_run,
            restart: args.restart,
            stop_after: args.stop_after,
        },
        clock: &clock,
        cancel,
        progress: Some(&bar),
        sealer: sealer.as_ref(),
    };
    let outcome = job.run(&mut report).await;
    bar.0.finish_and_clear();
    finish(outcome, &report_path, report.entries)
}

fn finish(
    outcome: Result<Summary, ImportError>,
    report_path: &Path,
    entries: u64,
) -> Result<ExitCode, Failure> {
    let summary = match outcome {
        Ok(summary) => summary,
        Err(ImportError::Interrupted { position, summary }) => {
            eprint!("{}", summary.render());
            eprintln!("stopped after record {position}; run the same command again to resume");
            return Ok(ExitCode::from(2));
        }
        Err(e) => return Err(e.into()),
    };
    eprint!("{}", summary.render());
    if entries > 0 {
        eprintln!("  {entries} report lines in {}", report_path.display());
    }
    Ok(if summary.rejected + summary.conflicts > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map_or_else(|| "import".to_owned(), |n| n.to_string_lossy().into_owned())
}

/// A resumed run appends to the report of the run it continues.
fn open_report(path: &Path, restart: bool) -> Result<Report, Failure> {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(!restart)
        .write(true)
        .truncate(restart)
        .open(path)?;
    Ok(Report::new(Some(Box::new(std::io::BufWriter::new(file)))))
}

fn note_skipped_hashes(index: &HashIndex, report: &mut Report) -> Result<(), Failure> {
    for (line, reason) in &index.skipped {
        let entry = ferry::import::report::Entry {
            line: *line,
            status: ferry::import::report::Status::Rejected,
            identifier: None,
            reason: format!("password-hash export: {reason}"),
        };
        report.write(&entry)?;
    }
    Ok(())
}

fn watch_ctrl_c(cancel: Arc<AtomicBool>) {
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            cancel.store(true, Ordering::Relaxed);
        }
    });
}

/// The progress bar: bytes of the export for the bar and the estimate, records and their
/// rate in the message. Drawn only on a terminal.
struct Bar(ProgressBar);

impl Bar {
    fn new(export: &Path) -> Self {
        let total = std::fs::metadata(export).map_or(0, |m| m.len());
        let bar = if std::io::stderr().is_terminal() {
            ProgressBar::new(total)
        } else {
            ProgressBar::hidden()
        };
        let style = ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} {percent:>3}% {msg} eta {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        bar.enable_steady_tick(Duration::from_millis(200));
        Self(bar)
    }
}

impl Progress for Bar {
    fn update(&self, bytes: u64, records: u64) {
        self.0.set_position(bytes);
        let seconds = self.0.elapsed().as_secs_f64().max(0.001);
        let rate = records as f64 / seconds;
        self.0
            .set_message(format!("{records} records, {rate:.0}/s"));
    }
}
