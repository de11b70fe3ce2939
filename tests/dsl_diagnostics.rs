//! Rendered diagnostics for broken DSL files, one file per error class, as snapshots: each
//! file in `tests/fixtures/dsl-errors/` is linted and its rendering compared with
//! `tests/snapshots/`. A new error class is a new fixture file.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    reason = "tests fail by panicking"
)]

use std::path::Path;

use ferry::diag::{ColorChoice, render_human};
use ferry::lint;
use ferry::syntax::source::SourceFile;

/// Each fixture's first diagnostic: code, line and column.
const EXPECTED: &[(&str, &str, usize, usize)] = &[
    ("bad-expression", "J201", 8, 57),
    ("duplicate-key", "J006", 10, 3),
    ("duplicate-step", "J106", 10, 6),
    ("missing-arrow", "J004", 9, 3),
    ("missing-paren", "J004", 9, 9),
    ("unclosed-template", "J005", 8, 37),
    ("unknown-kind", "J003", 8, 15),
    ("unterminated-string", "J005", 8, 41),
];

#[test]
fn broken_dsl_files_render_their_diagnostics() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/dsl-errors");
    let mut seen = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .expect("fixtures")
        .map(|e| e.expect("entry").path())
        .collect();
    entries.sort();
    for path in entries {
        let stem = path
            .file_stem()
            .expect("stem")
            .to_string_lossy()
            .into_owned();
        let text = std::fs::read_to_string(&path).expect("read");
        let file = SourceFile::new(format!("dsl-errors/{stem}.journey"), text);
        let report = lint::lint_file(file.clone());
        let first = report
            .diagnostics
            .first()
            .unwrap_or_else(|| panic!("{stem} passed"));
        let at = file.line_col(first.span.start);
        let expected = EXPECTED.iter().find(|e| e.0 == stem);
        let expected = expected.unwrap_or_else(|| panic!("add {stem} to EXPECTED"));
        assert_eq!(
            (first.code.id(), at.line, at.column),
            (expected.1, expected.2, expected.3),
            "{stem}"
        );
        let rendered = render_human(&file, &report.diagnostics, ColorChoice::Never);
        insta::assert_snapshot!(stem.clone(), rendered);
        seen.push(stem);
    }
    assert_eq!(seen.len(), EXPECTED.len(), "{seen:?}");
}
