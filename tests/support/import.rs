//! Running `ferry import` in tests: a mapping from the fixtures, a store in a temporary
//! folder, the report read back as JSON.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use ferry::clock::ManualClock;
use ferry::import::auth0_hashes::HashIndex;
use ferry::import::report::Report;
use ferry::import::{Import, ImportError, ImportMapping, Options, Summary};
use ferry::store::UserStore;
use serde_json::Value as Json;

/// The fixtures folder.
pub fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/import")
}

/// The environment the fixture mappings reference.
pub fn env() -> HashMap<String, String> {
    let key =
        "jxspr8Ki0RYycVU8zykbdLGjFQ3McFUH0uiiTvC8pVMXAn210wjLNmdZJzxUECKbm0QsEmYUSDzZvpjeJ9WmXA==";
    HashMap::from([("FIREBASE_SIGNER_KEY".to_owned(), key.to_owned())])
}

/// The key TOTP seeds are sealed with in import tests.
pub fn sealer() -> ferry::authn::Sealer {
    let key = ferry::secret::Secret::new("MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=");
    ferry::authn::Sealer::new(&key, "k1").expect("test key")
}

/// A fixture mapping, compiled.
pub fn mapping(name: &str) -> Arc<ImportMapping> {
    Arc::new(ImportMapping::load(&fixtures().join(name), &env()).expect("mapping"))
}

/// What one run gave.
pub struct Run {
    /// The summary, or the error.
    pub outcome: Result<Summary, ImportError>,
    /// The report's lines.
    pub report: Vec<Json>,
}

/// Runs one import of `export` into `store`, the report going to `report_file`.
pub async fn run(
    store: &dyn UserStore,
    mapping: &Arc<ImportMapping>,
    export: &Path,
    hashes: Option<&HashIndex>,
    options: Options,
    report_file: &Path,
) -> Run {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(report_file)
        .expect("report file");
    let mut report = Report::new(Some(Box::new(file)));
    let clock = ManualClock::at(1_700_000_000_000);
    let job = Import {
        mapping: mapping.clone(),
        store,
        input: export.to_path_buf(),
        hashes,
        options,
        clock: &clock,
        cancel: Arc::new(AtomicBool::new(false)),
        progress: None,
        sealer: Some(&sealer()),
    };
    let outcome = job.run(&mut report).await;
    drop(report);
    let text = std::fs::read_to_string(report_file).unwrap_or_default();
    let report = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("report line"))
        .collect();
    Run { outcome, report }
}
