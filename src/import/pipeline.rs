//! The import pipeline: a reader thread streams records from the export, reads and maps each
//! one, and passes them through a bounded channel; batches are joined (Auth0 hashes, mapped
//! after the join) and written in one transaction each, with the checkpoint of the last record
//! consumed. An interrupted run resumes after the last committed batch; a dry run decides
//! everything and writes nothing.

use std::io::Read;
use std::ops::ControlFlow;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use serde_json::Map;
use sha2::{Digest as _, Sha256};
use tokio::sync::mpsc;

use super::auth0_hashes::HashIndex;
use super::readers::Layout;
use super::report::{Entry, Report, Status, Summary};
use super::spec::{ImportMapping, Mapped};
use super::stream::{self, Raw, StreamError};
use super::{Password, Record};
use crate::authn::hashes::format::RawHash;
use crate::clock::Clock;
use crate::store::{
    Batch, Checkpoint, ConflictKind, CredentialKind, LegacyAccount, Migration, NewCredential,
    Saved, StoreError, UserStore,
};

/// Records sent from the reader thread at a time.
const CHUNK: usize = 512;

/// How a run behaves.
#[derive(Clone, Debug)]
pub struct Options {
    /// The import's name: its checkpoint's key.
    pub name: String,
    /// Records per transaction.
    pub batch_size: usize,
    /// Decide everything, write nothing.
    pub dry_run: bool,
    /// Ignore a checkpoint and start from the first record.
    pub restart: bool,
    /// Stop abruptly after this many records of this run, leaving the pending batch
    /// uncommitted, as a crash would (for tests and drills).
    pub stop_after: Option<u64>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            name: "import".into(),
            batch_size: 1_000,
            dry_run: false,
            restart: false,
            stop_after: None,
        }
    }
}

/// Told how far the import got after each batch.
pub trait Progress: Send + Sync {
    /// Bytes of the export read so far and records consumed in this run.
    fn update(&self, bytes: u64, records: u64);
}

/// Why an import stopped.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The export cannot be opened.
    #[error("cannot open the export `{path}`")]
    Open {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The export cannot be read to the end; what came before was imported.
    #[error("the export `{path}` cannot be read past record {position}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Records committed.
        position: u64,
        /// Why.
        #[source]
        source: StreamError,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The checkpoint belongs to a different file.
    #[error(
        "import `{name}` stopped at record {position} of a different file; pass --restart to start over or choose another --name"
    )]
    OtherSource {
        /// The import.
        name: String,
        /// Where it stopped.
        position: u64,
    },
    /// The Auth0 hash index failed.
    #[error("the password-hash lookup failed")]
    Hashes(#[source] sqlx::Error),
    /// The report cannot be written.
    #[error("cannot write the import report")]
    Report(#[source] std::io::Error),
    /// Stopped on request (Ctrl-C or a record limit); resume with the same command.
    #[error("import stopped after record {position}; run it again to resume")]
    Interrupted {
        /// Records committed.
        position: u64,
        /// The counts so far.
        summary: Box<Summary>,
    },
    /// The reader thread died.
    #[error("the export reader stopped unexpectedly")]
    Task(#[from] tokio::task::JoinError),
}

/// One import run.
pub struct Import<'a> {
    /// The compiled mapping, shared with the reader thread.
    pub mapping: Arc<ImportMapping>,
    /// Where users go.
    pub store: &'a dyn UserStore,
    /// The export.
    pub input: PathBuf,
    /// Auth0's password hashes, when given.
    pub hashes: Option<&'a HashIndex>,
    /// How to run.
    pub options: Options,
    /// The clock stamping each user.
    pub clock: &'a dyn Clock,
    /// Set to stop at the next record.
    pub cancel: Arc<AtomicBool>,
    /// Told how far it got.
    pub progress: Option<&'a dyn Progress>,
    /// Encrypts TOTP seeds before they are stored; without it, records with a seed are
    /// rejected rather than stored in the clear.
    pub sealer: Option<&'a crate::authn::Sealer>,
}

impl std::fmt::Debug for Import<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Import")
            .field("input", &self.input)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

/// The records of one batch, with the position after its last one.
struct Pending {
    staged: Vec<Staged>,
    position: u64,
}

/// A record as the reader thread leaves it.
#[derive(Debug)]
enum Staged {
    /// Mapped, ready to write.
    Ready(u64, Box<Mapped>),
    /// Waiting for its password from the hash export, then mapping.
    Join(Box<Record>),
    /// Not importable.
    Rejected(u64, String),
}

impl Import<'_> {
    /// Runs the import to the end of the file, writing report lines as batches commit.
    pub async fn run(&self, report: &mut Report) -> Result<Summary, ImportError> {
        let source = fingerprint(&self.input)?;
        let skip = self.resume_point(&source).await?;
        let mut summary = Summary {
            resumed_from: skip,
            dry_run: self.options.dry_run,
            ..Summary::default()
        };
        let bytes = Arc::new(AtomicU64::new(0));
        let (tx, mut rx) = mpsc::channel::<Vec<Staged>>(8);
        let reader = self.spawn_reader(skip, bytes.clone(), tx);

        let batch_size = self.options.batch_size.max(1);
        let mut pending = Pending {
            staged: Vec::with_capacity(batch_size),
            position: skip,
        };
        while let Some(chunk) = rx.recv().await {
            for staged in chunk {
                if self.should_stop(summary.read) {
                    drop(rx);
                    let _ = reader.await;
                    let committed = pending.position - pending.staged.len() as u64;
                    return Err(self.interrupted(committed, summary));
                }
                summary.read += 1;
                pending.position += 1;
                pending.staged.push(staged);
                if pending.staged.len() >= batch_size {
                    self.flush(&mut pending, &source, false, &mut summary, report)
                        .await?;
                    self.tell(&bytes, summary.read);
                }
            }
        }
        let read = reader.await?;
        if let Err(source_error) = read {
            self.flush(&mut pending, &source, false, &mut summary, report)
                .await?;
            return Err(ImportError::Read {
                path: self.input.clone(),
                position: pending.position,
                source: source_error,
            });
        }
        self.flush(&mut pending, &source, true, &mut summary, report)
            .await?;
        self.tell(&bytes, summary.read);
        summary.finished = true;
        Ok(summary)
    }

    fn should_stop(&self, read: u64) -> bool {
        self.cancel.load(Ordering::Relaxed) || self.options.stop_after.is_some_and(|n| read >= n)
    }

    fn interrupted(&self, position: u64, summary: Summary) -> ImportError {
        ImportError::Interrupted {
            position,
            summary: Box::new(summary),
        }
    }

    fn tell(&self, bytes: &AtomicU64, records: u64) {
        if let Some(progress) = self.progress {
            progress.update(bytes.load(Ordering::Relaxed), records);
        }
    }

    /// Where to start: after the committed records of an unfinished run of the same file.
    async fn resume_point(&self, source: &str) -> Result<u64, ImportError> {
        if self.options.restart {
            return Ok(0);
        }
        match self.store.checkpoint(&self.options.name).await? {
            Some(c) if c.finished => Ok(0),
            Some(c) if c.source == source => Ok(c.position),
            Some(c) => Err(ImportError::OtherSource {
                name: c.import,
                position: c.position,
            }),
            None => Ok(0),
        }
    }

    fn spawn_reader(
        &self,
        skip: u64,
        bytes: Arc<AtomicU64>,
        tx: mpsc::Sender<Vec<Staged>>,
    ) -> tokio::task::JoinHandle<Result<(), StreamError>> {
        let path = self.input.clone();
        let lines = path
            .extension()
            .is_some_and(|e| e == "jsonl" || e == "ndjson");
        let mapping = self.mapping.clone();
        let joins = self.hashes.is_some();
        tokio::task::spawn_blocking(move || {
            let file = std::fs::File::open(&path)?;
            let layout = mapping.source.layout(lines);
            let stage = |raw: Raw| stage(&mapping, joins, raw);
            read_all(file, layout, bytes, skip, &stage, &tx)
        })
    }

    /// Writes the pending records; `last` marks the import finished.
    async fn flush(
        &self,
        pending: &mut Pending,
        source: &str,
        last: bool,
        summary: &mut Summary,
        report: &mut Report,
    ) -> Result<(), ImportError> {
        let staged = self
            .join_hashes(std::mem::take(&mut pending.staged))
            .await?;
        let mut lines = Vec::with_capacity(staged.len());
        let mut migrations = Vec::with_capacity(staged.len());
        let at = self.clock.now_ms();
        for item in staged {
            match item {
                Staged::Ready(line, mapped) => {
                    let mut mapped = *mapped;
                    if let Err(reason) = self.seal_totp(&mut mapped) {
                        reject(report, summary, line, None, reason)?;
                        continue;
                    }
                    let flags = std::mem::take(&mut mapped.flags);
                    lines.push((line, flags, mapped.password.is_some()));
                    migrations.push(self.migration(mapped, at));
                }
                Staged::Rejected(line, reason) => reject(report, summary, line, None, reason)?,
                Staged::Join(record) => {
                    let reason = "the record was not joined to the hash export".to_owned();
                    reject(report, summary, record.line, None, reason)?;
                }
            }
        }
        let checkpoint = Checkpoint {
            import: self.options.name.clone(),
            source: source.to_owned(),
            position: pending.position,
            finished: last,
        };
        let batch = Batch {
            migrations: &migrations,
            checkpoint: (!self.options.dry_run).then_some(&checkpoint),
            dry_run: self.options.dry_run,
        };
        let outcomes = self.store.save_batch(batch).await?;
        for ((outcome, (line, flags, has_password)), m) in
            outcomes.iter().zip(lines).zip(&migrations)
        {
            count(
                report,
                summary,
                outcome,
                line,
                &m.identifier,
                &flags,
                has_password,
            )?;
        }
        report.flush().map_err(ImportError::Report)
    }

    /// Auth0: fills each database user's password from the hash export, then maps it.
    async fn join_hashes(&self, mut staged: Vec<Staged>) -> Result<Vec<Staged>, ImportError> {
        let Some(index) = self.hashes else {
            return Ok(staged);
        };
        let keys: Vec<&str> = staged
            .iter()
            .filter_map(|s| match s {
                Staged::Join(record) => record.join_key.as_deref(),
                _ => None,
            })
            .collect();
        let found = index.lookup(&keys).await.map_err(ImportError::Hashes)?;
        for item in &mut staged {
            let Staged::Join(record) = item else {
                continue;
            };
            let mut record = std::mem::replace(record, Box::new(Record::new(0, Map::new())));
            match record.join_key.as_ref().and_then(|k| found.get(k)) {
                Some(hash) => {
                    record.password = Some(Password::Raw(RawHash {
                        hash: hash.clone(),
                        salt: None,
                        iterations: None,
                    }));
                }
                None => record
                    .notes
                    .push("the password-hash export has no hash for this user".into()),
            }
            *item = map_record(&self.mapping, *record);
        }
        Ok(staged)
    }

    /// Replaces a record's TOTP seed by its sealed form, as local enrolment stores it.
    fn seal_totp(&self, mapped: &mut Mapped) -> Result<(), String> {
        let Some(seed) = mapped.totp.take() else {
            return Ok(());
        };
        let sealer = self.sealer.ok_or(
            "the record has a TOTP seed, and seeds are stored encrypted: set \
             `authenticators.encryption_key` in ferry.yaml",
        )?;
        crate::authn::totp::Seed::parse(&seed).map_err(|e| e.to_string())?;
        let sealed = sealer
            .seal(crate::runtime::TOTP_SEAL, &crate::secret::Secret::new(seed))
            .map_err(|e| e.to_string())?;
        mapped.totp = Some(sealed);
        Ok(())
    }

    fn migration(&self, mapped: Mapped, at: i64) -> Migration {
        let mut credentials = Vec::new();
        let completes = mapped.password.is_some();
        if let Some(password) = mapped.password {
            credentials.push(NewCredential {
                kind: CredentialKind::Password,
                secret: password.canonical(),
                replace: false,
            });
        }
        if let Some(seed) = mapped.totp {
            credentials.push(NewCredential {
                kind: CredentialKind::Totp,
                secret: seed,
                replace: false,
            });
        }
        Migration {
            identifier: mapped.user.identifier,
            attributes: mapped.user.attributes,
            legacy: LegacyAccount {
                idp: self.mapping.idp.clone(),
                provider: self.mapping.provider.clone(),
                subject: mapped.subject,
            },
            credentials,
            roles: mapped.roles,
            groups: mapped.groups,
            completes,
            policy: self.mapping.policy,
            journey: format!("import:{}", self.options.name),
            method: "import".into(),
            at,
        }
    }
}

/// Reads and maps one record on the reader thread; records waiting for a hash-export join
/// are mapped after it.
fn stage(mapping: &ImportMapping, joins: bool, raw: Raw) -> Staged {
    let read = raw.and_then(|(line, o)| mapping.source.record(line, o).map_err(|r| (line, r)));
    let record = match read {
        Ok(record) => record,
        Err((line, reason)) => return Staged::Rejected(line, reason),
    };
    if joins && record.join_key.is_some() {
        return Staged::Join(Box::new(record));
    }
    map_record(mapping, record)
}

fn map_record(mapping: &ImportMapping, record: Record) -> Staged {
    let line = record.line;
    match mapping.apply(record) {
        Ok(mapped) => Staged::Ready(line, Box::new(mapped)),
        Err(reason) => Staged::Rejected(line, reason),
    }
}

/// Streams the whole file into the channel in chunks, skipping records already committed.
fn read_all(
    file: std::fs::File,
    layout: Layout,
    bytes: Arc<AtomicU64>,
    skip: u64,
    stage: &dyn Fn(Raw) -> Staged,
    tx: &mpsc::Sender<Vec<Staged>>,
) -> Result<(), StreamError> {
    let mut seen = 0u64;
    let mut chunk = Vec::with_capacity(CHUNK);
    let mut sink = |raw: Raw| {
        seen += 1;
        if seen <= skip {
            return ControlFlow::Continue(());
        }
        chunk.push(stage(raw));
        if chunk.len() >= CHUNK && tx.blocking_send(std::mem::take(&mut chunk)).is_err() {
            return ControlFlow::Break(());
        }
        ControlFlow::Continue(())
    };
    let input: Box<dyn Read> = Box::new(file);
    match layout {
        Layout::Document(key) => stream::json_document(input, bytes, key, &mut sink)?,
        Layout::Lines => stream::json_lines(input, bytes, &mut sink)?,
        Layout::Csv => stream::csv_rows(input, bytes, &mut sink)?,
    }
    if !chunk.is_empty() {
        let _ = tx.blocking_send(chunk);
    }
    Ok(())
}

fn reject(
    report: &mut Report,
    summary: &mut Summary,
    line: u64,
    identifier: Option<&str>,
    reason: String,
) -> Result<(), ImportError> {
    summary.rejected += 1;
    let entry = Entry {
        line,
        status: Status::Rejected,
        identifier: identifier.map(str::to_owned),
        reason,
    };
    report.write(&entry).map_err(ImportError::Report)
}

fn count(
    report: &mut Report,
    summary: &mut Summary,
    outcome: &Saved,
    line: u64,
    identifier: &str,
    flags: &[String],
    has_password: bool,
) -> Result<(), ImportError> {
    let entry = |status, reason: String| Entry {
        line,
        status,
        identifier: Some(identifier.to_owned()),
        reason,
    };
    match outcome {
        Saved::Conflict(kind) => {
            summary.conflicts += 1;
            let reason = conflict_reason(*kind).to_owned();
            return report
                .write(&entry(Status::Conflict, reason))
                .map_err(ImportError::Report);
        }
        Saved::Created(_) => summary.created += 1,
        Saved::Updated(_) => summary.updated += 1,
    }
    if has_password {
        summary.with_password += 1;
    } else {
        summary.without_password += 1;
    }
    if flags.iter().any(|f| f.starts_with("weak hash")) {
        summary.weak += 1;
    }
    for flag in flags {
        report
            .write(&entry(Status::Flagged, flag.clone()))
            .map_err(ImportError::Report)?;
    }
    Ok(())
}

fn conflict_reason(kind: ConflictKind) -> &'static str {
    match kind {
        ConflictKind::Exists => "the identifier already has a user and the policy is `fail`",
        ConflictKind::OtherLegacyAccount => "the identifier belongs to another legacy account",
        ConflictKind::AccountTaken => "the legacy account already belongs to another user",
    }
}

/// A fingerprint of the export: its size and a digest of its first mebibyte, so a resumed
/// import reads the same file.
fn fingerprint(path: &std::path::Path) -> Result<String, ImportError> {
    let open = |source| ImportError::Open {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(open)?;
    let size = file.metadata().map_err(open)?.len();
    let mut head = Vec::with_capacity(1 << 20);
    file.take(1 << 20).read_to_end(&mut head).map_err(open)?;
    let digest = Sha256::digest(&head);
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    Ok(format!("{size}:{hex}"))
}
