//! Reading export files record by record in constant memory: JSON documents whose records sit
//! in an array (at the top, or under one key of the top object) are walked element by element
//! through serde's `SeqAccess`; JSON Lines and CSV line by line. Every record carries the line
//! it starts on. Records are pushed to a sink, which may stop the walk.

use std::cell::Cell;
use std::fmt;
use std::io::{BufRead, BufReader, Read};
use std::ops::ControlFlow;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value as Json};

/// One JSON object read from a file, with the line it starts on; or why it is not a record.
pub type Raw = Result<(u64, Map<String, Json>), (u64, String)>;

/// Where a walk is told to stop or go on.
pub type Sink<'a> = dyn FnMut(Raw) -> ControlFlow<()> + 'a;

/// A file that cannot be read to the end.
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    /// Reading failed.
    #[error("cannot read the export")]
    Io(#[from] std::io::Error),
    /// The document is broken; records after this point cannot be read.
    #[error("the export is not valid at line {line}: {reason}")]
    Syntax {
        /// One-based line.
        line: u64,
        /// What the parser said.
        reason: String,
    },
    /// The document has no record array where the reader expects one.
    #[error("the export has no `{0}` array of records")]
    NoRecords(String),
}

/// A reader that counts the lines and bytes that pass through it. serde_json reads an
/// `io::Read` a byte at a time, so the count is exact at any moment of the parse.
pub struct Counting<R> {
    inner: R,
    lines: Rc<Cell<u64>>,
    bytes: Arc<AtomicU64>,
}

impl<R: Read> Counting<R> {
    /// Wraps a reader; `bytes` is shared with whoever shows progress.
    pub fn new(inner: R, bytes: Arc<AtomicU64>) -> Self {
        Self {
            inner,
            lines: Rc::new(Cell::new(0)),
            bytes,
        }
    }
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let read = buf.get(..n).unwrap_or_default();
        let newlines = read.iter().filter(|b| **b == b'\n').count() as u64;
        self.lines.set(self.lines.get() + newlines);
        self.bytes.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Walks the records of a JSON document: the top-level array, or the array under `key` of
/// the top-level object (a Keycloak realm's `users`, a Graph page's `value`, …).
pub fn json_document<R: Read>(
    input: R,
    bytes: Arc<AtomicU64>,
    key: &str,
    sink: &mut Sink<'_>,
) -> Result<(), StreamError> {
    let counting = Counting::new(BufReader::with_capacity(64 * 1024, input), bytes);
    let lines = counting.lines.clone();
    let mut de = serde_json::Deserializer::from_reader(counting);
    let mut walk = Walk {
        lines,
        sink,
        found: false,
        stopped: false,
    };
    let outcome = de::Deserializer::deserialize_any(
        &mut de,
        Document {
            walk: &mut walk,
            key,
        },
    );
    match outcome {
        Ok(()) if walk.stopped => Ok(()),
        Ok(()) if !walk.found => Err(StreamError::NoRecords(key.to_owned())),
        Ok(()) => de.end().map_err(syntax),
        Err(_) if walk.stopped => Ok(()),
        Err(e) if e.is_io() => Err(StreamError::Io(e.into())),
        Err(e) => Err(syntax(e)),
    }
}

fn syntax(e: serde_json::Error) -> StreamError {
    StreamError::Syntax {
        line: e.line() as u64,
        reason: e.to_string(),
    }
}

struct Walk<'s, 'a> {
    lines: Rc<Cell<u64>>,
    sink: &'s mut Sink<'a>,
    found: bool,
    stopped: bool,
}

struct Document<'w, 's, 'a> {
    walk: &'w mut Walk<'s, 'a>,
    key: &'w str,
}

impl<'de> Visitor<'de> for Document<'_, '_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "an array of records or an object with `{}`", self.key)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        self.walk.records(seq)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            if key == self.key {
                map.next_value_seed(Records { walk: self.walk })?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

struct Records<'w, 's, 'a> {
    walk: &'w mut Walk<'s, 'a>,
}

impl<'de> DeserializeSeed<'de> for Records<'_, '_, '_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Records<'_, '_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of records")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        self.walk.records(seq)
    }
}

impl Walk<'_, '_> {
    fn records<'de, A: SeqAccess<'de>>(&mut self, mut seq: A) -> Result<(), A::Error> {
        self.found = true;
        let lines = self.lines.clone();
        while let Some(element) = seq.next_element_seed(Element { lines: &lines })? {
            if (self.sink)(element).is_break() {
                self.stopped = true;
                return Err(de::Error::custom("stopped"));
            }
        }
        Ok(())
    }
}

struct Element<'l> {
    lines: &'l Rc<Cell<u64>>,
}

impl<'de> DeserializeSeed<'de> for Element<'_> {
    type Value = Raw;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Raw, D::Error> {
        d.deserialize_any(self)
    }
}

impl Element<'_> {
    /// The line of the token just consumed (the `{` of an object).
    fn line(&self) -> u64 {
        self.lines.get() + 1
    }
}

impl<'de> Visitor<'de> for Element<'_> {
    type Value = Raw;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a record object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Raw, A::Error> {
        let line = self.line();
        let mut object = Map::new();
        while let Some((k, v)) = map.next_entry::<String, Json>()? {
            object.insert(k, v);
        }
        Ok(Ok((line, object)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Raw, A::Error> {
        let line = self.line();
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Err((line, "the record is an array, not an object".into())))
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Raw, E> {
        Ok(Err((
            self.line(),
            "the record is a string, not an object".into(),
        )))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Raw, E> {
        Ok(Err((
            self.line(),
            "the record is a number, not an object".into(),
        )))
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Raw, E> {
        Ok(Err((
            self.line(),
            "the record is a number, not an object".into(),
        )))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Raw, E> {
        Ok(Err((
            self.line(),
            "the record is a number, not an object".into(),
        )))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Raw, E> {
        Ok(Err((
            self.line(),
            "the record is a boolean, not an object".into(),
        )))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Raw, E> {
        Ok(Err((
            self.line(),
            "the record is null, not an object".into(),
        )))
    }
}

/// Walks a JSON Lines file: one object per line; blank lines are skipped. A line that is not
/// valid UTF-8 or JSON is reported and the walk goes on.
pub fn json_lines<R: Read>(
    input: R,
    bytes: Arc<AtomicU64>,
    sink: &mut Sink<'_>,
) -> Result<(), StreamError> {
    let mut reader = BufReader::with_capacity(64 * 1024, input);
    let mut line = Vec::new();
    let mut number = 0u64;
    loop {
        line.clear();
        let n = reader.read_until(b'\n', &mut line)?;
        if n == 0 {
            return Ok(());
        }
        bytes.fetch_add(n as u64, Ordering::Relaxed);
        number += 1;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let raw = match serde_json::from_slice::<Json>(&line) {
            Ok(Json::Object(object)) => Ok((number, object)),
            Ok(_) => Err((number, "the line is not a JSON object".into())),
            Err(e) => Err((number, format!("the line is not valid JSON: {e}"))),
        };
        if sink(raw).is_break() {
            return Ok(());
        }
    }
}

/// Walks a CSV file with a header row: each row becomes an object of its cells by column
/// name, all strings.
pub fn csv_rows<R: Read>(
    input: R,
    bytes: Arc<AtomicU64>,
    sink: &mut Sink<'_>,
) -> Result<(), StreamError> {
    let counting = Counting::new(BufReader::with_capacity(64 * 1024, input), bytes);
    let mut reader = csv::ReaderBuilder::new()
        .flexible(false)
        .from_reader(counting);
    let headers = reader.headers().map_err(csv_error)?.clone();
    let mut row = csv::StringRecord::new();
    loop {
        let raw = match reader.read_record(&mut row) {
            Ok(false) => return Ok(()),
            Ok(true) => {
                let line = row.position().map_or(0, csv::Position::line);
                Ok((line, cells(&headers, &row)))
            }
            Err(e) if matches!(e.kind(), csv::ErrorKind::UnequalLengths { .. }) => {
                let line = e.position().map_or(0, csv::Position::line);
                Err((
                    line,
                    "the row has a different number of cells than the header".into(),
                ))
            }
            Err(e) => return Err(csv_error(e)),
        };
        if sink(raw).is_break() {
            return Ok(());
        }
    }
}

fn cells(headers: &csv::StringRecord, row: &csv::StringRecord) -> Map<String, Json> {
    headers
        .iter()
        .zip(row.iter())
        .map(|(h, v)| (h.to_owned(), Json::String(v.to_owned())))
        .collect()
}

fn csv_error(e: csv::Error) -> StreamError {
    let line = e.position().map_or(0, |p| p.line());
    if let csv::ErrorKind::Io(_) = e.kind() {
        return match e.into_kind() {
            csv::ErrorKind::Io(io) => StreamError::Io(io),
            _ => StreamError::Syntax {
                line,
                reason: "unreadable".into(),
            },
        };
    }
    StreamError::Syntax {
        line,
        reason: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(
        walk: impl FnOnce(&mut Sink<'_>) -> Result<(), StreamError>,
    ) -> (Vec<Raw>, Result<(), StreamError>) {
        let mut out = Vec::new();
        let result = walk(&mut |raw| {
            out.push(raw);
            ControlFlow::Continue(())
        });
        (out, result)
    }

    #[test]
    fn records_under_a_key_come_with_their_lines() {
        let text = "{\n \"realm\": \"x\",\n \"users\": [\n  {\"id\": 1},\n  7,\n  {\n   \"id\": 2\n  }\n ],\n \"clients\": []\n}\n";
        let bytes = Arc::new(AtomicU64::new(0));
        let (records, result) =
            collect(|sink| json_document(text.as_bytes(), bytes.clone(), "users", sink));
        result.unwrap();
        let lines: Vec<u64> = records
            .iter()
            .map(|r| match r {
                Ok((l, _)) | Err((l, _)) => *l,
            })
            .collect();
        assert_eq!(lines, vec![4, 5, 6]);
        assert!(records[1].is_err());
        assert_eq!(bytes.load(Ordering::Relaxed), text.len() as u64);
    }

    #[test]
    fn a_top_level_array_and_a_missing_key() {
        let bytes = Arc::new(AtomicU64::new(0));
        let (records, result) = collect(|sink| {
            json_document(&b"[{\"a\":1},{\"a\":2}]"[..], bytes.clone(), "users", sink)
        });
        assert_eq!((records.len(), result.is_ok()), (2, true));
        let (_, result) =
            collect(|sink| json_document(&b"{\"x\": []}"[..], bytes.clone(), "users", sink));
        assert!(matches!(result, Err(StreamError::NoRecords(_))));
        let (records, result) = collect(|sink| {
            json_document(&b"[{\"a\":1},\n{\"a\":"[..], bytes.clone(), "users", sink)
        });
        assert_eq!(records.len(), 1);
        assert!(matches!(result, Err(StreamError::Syntax { line: 2, .. })));
    }

    #[test]
    fn a_sink_can_stop_the_walk() {
        let bytes = Arc::new(AtomicU64::new(0));
        let mut seen = 0;
        let result = json_document(&b"[{},{},{}]"[..], bytes, "users", &mut |_| {
            seen += 1;
            if seen == 2 {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        });
        assert!(result.is_ok());
        assert_eq!(seen, 2);
    }

    #[test]
    fn json_lines_and_csv_report_bad_lines_and_go_on() {
        let bytes = Arc::new(AtomicU64::new(0));
        let (records, result) = collect(|sink| {
            json_lines(
                &b"{\"a\":1}\n\nnope\n[1]\n{\"a\":2}\n\xff\n"[..],
                bytes.clone(),
                sink,
            )
        });
        result.unwrap();
        let summary: Vec<(u64, bool)> = records
            .iter()
            .map(|r| match r {
                Ok((l, _)) => (*l, true),
                Err((l, _)) => (*l, false),
            })
            .collect();
        assert_eq!(
            summary,
            vec![(1, true), (3, false), (4, false), (5, true), (6, false)]
        );
        let text = "user,email\nalice,a@x.io\nbob\n\"carol\",\"c@x.io\"\n";
        let (records, result) = collect(|sink| csv_rows(text.as_bytes(), bytes.clone(), sink));
        result.unwrap();
        assert_eq!(records.len(), 3);
        let Ok((line, row)) = &records[2] else {
            panic!("{records:?}")
        };
        assert_eq!((*line, row["email"].as_str()), (4, Some("c@x.io")));
        assert!(matches!(records[1], Err((3, _))));
    }
}
