//! Source files and byte spans, with line and column lookup for diagnostics.

use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A half-open byte range `start..end` in one source file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Span {
    /// First byte of the range.
    pub start: usize,
    /// One past the last byte of the range.
    pub end: usize,
}

impl Span {
    /// A span from `start` to `end`; `end` is clamped so it is never before `start`.
    pub fn new(start: usize, end: usize) -> Self {
        Self {
            start,
            end: end.max(start),
        }
    }

    /// The empty span at `at`.
    pub fn point(at: usize) -> Self {
        Self { start: at, end: at }
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.end - self.start
    }

    /// Whether the span covers no byte.
    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }

    /// A sub-span given relative to this span's start, kept inside this span.
    pub fn sub(&self, start: usize, end: usize) -> Self {
        let start = (self.start + start).min(self.end);
        Span::new(start, (self.start + end).min(self.end))
    }
}

/// A value with the span it was read from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Spanned<T> {
    /// The value.
    pub value: T,
    /// Where it was written.
    pub span: Span,
}

impl<T> Spanned<T> {
    /// Pairs a value with its span.
    pub fn new(value: T, span: Span) -> Self {
        Self { value, span }
    }
}

/// One-based line and column of a byte offset; the column counts characters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct LineCol {
    /// Line number, from 1.
    pub line: usize,
    /// Column number in characters, from 1.
    pub column: usize,
}

/// The text of one journey or configuration file, shared by everything that points into it.
#[derive(Debug)]
pub struct SourceFile {
    name: String,
    path: Option<PathBuf>,
    text: String,
    line_starts: Vec<usize>,
}

impl SourceFile {
    /// A source with a display name (usually the path as given) and its text.
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Arc<Self> {
        let text = text.into();
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Arc::new(Self {
            name: name.into(),
            path: None,
            text,
            line_starts,
        })
    }

    /// Reads a file from disk.
    pub fn read(path: &Path) -> std::io::Result<Arc<Self>> {
        let text = std::fs::read_to_string(path)?;
        let mut file = Self::new(path.display().to_string(), text);
        if let Some(inner) = Arc::get_mut(&mut file) {
            inner.path = Some(path.to_path_buf());
        }
        Ok(file)
    }

    /// The name shown in diagnostics.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The path the file was read from, if it came from disk.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The whole text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The text under a span, or the empty string if the span is out of range.
    pub fn slice(&self, span: Span) -> &str {
        self.text.get(span.start..span.end).unwrap_or("")
    }

    /// Line and column of a byte offset.
    pub fn line_col(&self, offset: usize) -> LineCol {
        let offset = offset.min(self.text.len());
        let line = self.line_starts.partition_point(|&start| start <= offset) - 1;
        let start = self.line_starts[line];
        let column = self
            .text
            .get(start..offset)
            .map_or(0, |s| s.chars().count());
        LineCol {
            line: line + 1,
            column: column + 1,
        }
    }

    /// Byte offset of a one-based line and zero-based character column.
    pub fn offset_of(&self, line: usize, char_col: usize) -> usize {
        let Some(&start) = self.line_starts.get(line.saturating_sub(1)) else {
            return self.text.len();
        };
        let rest = &self.text[start..];
        let line_end = rest.find('\n').unwrap_or(rest.len());
        rest[..line_end]
            .char_indices()
            .nth(char_col)
            .map_or(start + line_end, |(i, _)| start + i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_count_characters() {
        let file = SourceFile::new("t.yaml", "a: 1\nnäme: x\n");
        assert_eq!(file.line_col(0), LineCol { line: 1, column: 1 });
        let x = file.text().find('x').unwrap_or_default();
        assert_eq!(file.line_col(x), LineCol { line: 2, column: 7 });
        assert_eq!(file.offset_of(2, 6), x);
    }

    #[test]
    fn sub_span_stays_inside() {
        let span = Span::new(10, 20);
        assert_eq!(span.sub(2, 50), Span::new(12, 20));
    }
}
