//! The import report: one JSON line per record that was not imported as it stood (rejected,
//! a conflict, or imported with a flag such as a weak hash), with its line and the reason;
//! and the summary counts. Nothing is dropped without a line here.

use std::io::Write;

use serde::Serialize;

/// What happened to a record worth reporting.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Not imported: unreadable or unmappable.
    Rejected,
    /// Not imported: the conflict policy or another legacy account said no.
    Conflict,
    /// Imported, with something to know.
    Flagged,
}

/// One report line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Entry {
    /// The line the record starts on in the export.
    pub line: u64,
    /// What happened.
    pub status: Status,
    /// The identifier, when the record got that far.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identifier: Option<String>,
    /// Why.
    pub reason: String,
}

/// The counts of one run.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Records read in this run (after the resume point).
    pub read: u64,
    /// Records skipped because an earlier run committed them.
    pub resumed_from: u64,
    /// Users created.
    pub created: u64,
    /// Users updated.
    pub updated: u64,
    /// Records refused by the conflict rules.
    pub conflicts: u64,
    /// Records rejected.
    pub rejected: u64,
    /// Users imported with a password hash.
    pub with_password: u64,
    /// Users imported without one (they migrate at login).
    pub without_password: u64,
    /// Users whose hash is weak.
    pub weak: u64,
    /// Whether nothing was written.
    pub dry_run: bool,
    /// Whether the run reached the end of the file.
    pub finished: bool,
}

/// Where report lines go.
pub struct Report {
    out: Option<Box<dyn Write + Send>>,
    /// Lines written so far.
    pub entries: u64,
}

impl std::fmt::Debug for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Report")
            .field("entries", &self.entries)
            .finish()
    }
}

impl Report {
    /// A report written to `out`, or only counted.
    pub fn new(out: Option<Box<dyn Write + Send>>) -> Self {
        Self { out, entries: 0 }
    }

    /// Writes one entry.
    pub fn write(&mut self, entry: &Entry) -> std::io::Result<()> {
        self.entries += 1;
        let Some(out) = self.out.as_mut() else {
            return Ok(());
        };
        serde_json::to_writer(&mut *out, entry)?;
        out.write_all(b"\n")
    }

    /// Flushes what is buffered.
    pub fn flush(&mut self) -> std::io::Result<()> {
        match self.out.as_mut() {
            Some(out) => out.flush(),
            None => Ok(()),
        }
    }
}

impl Summary {
    /// A few lines for people.
    pub fn render(&self) -> String {
        let mode = if self.dry_run {
            " (dry run: nothing written)"
        } else {
            ""
        };
        let end = if self.finished {
            "finished"
        } else {
            "stopped before the end"
        };
        let mut text = format!("import {end}{mode}\n");
        if self.resumed_from > 0 {
            text.push_str(&format!("  resumed after record {}\n", self.resumed_from));
        }
        for (label, n) in [
            ("records read", self.read),
            ("users created", self.created),
            ("users updated", self.updated),
            ("conflicts", self.conflicts),
            ("rejected", self.rejected),
            ("with a password hash", self.with_password),
            (
                "without a password (migrate at login)",
                self.without_password,
            ),
            ("weak hashes", self.weak),
        ] {
            text.push_str(&format!("  {label:<40} {n}\n"));
        }
        text
    }
}
