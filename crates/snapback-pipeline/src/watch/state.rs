//! `watch --state DIR`: what a restart needs, in one redb file (`DIR/state.redb`).
//!
//! | table | key → value (JSON) |
//! |---|---|
//! | `meta` | `out_len` (bytes of `--out` committed), `out_path`, `rules` (digest of the rules and config), `watermark` |
//! | `files` | a delivery file read whole → its size, mtime and newest event time |
//! | `streams` | a followed file → bytes and records read, its inode |
//! | `alerts` | alert id → revision, digest, last event time, final |
//! | `records` | time-ordered key → a record of a followed file or stdin that took correlation state: its provenance and raw JSON |
//! | `objects` | a layout partition of a watched store prefix (its URL) → the greatest key seen in it, and the partition's first instant |
//! | `etags` | an object of a store read whole (its URL) → its key, size, ETag (or version), newest event time |
//!
//! Everything of one cycle is written in one transaction, after the cycle's alert revisions
//! were written to `--out` and flushed to disk: a crash before the commit leaves `out_len` at
//! the previous commit, and the restart truncates `--out` to it and produces the same
//! revisions again. The detector's own state (open sequences, retained events) is rebuilt on
//! restart from what produced it: delivery files (still on disk, by design of the layouts)
//! whose events are within reach of an alert that is not final are read again; the records of
//! followed files and stdin that took state are kept in `records` (they may be gone: stdin
//! cannot be read again, a followed file may be rotated away while the watcher is down), and
//! are decoded again from there. Rows leave `records` once the watermark passed them by
//! twice the horizon, as the detector's own retained events do. Rows of `files`, `etags` and
//! `objects` leave when their source says it will never offer them again
//! ([`Unit::Forget`](super::source::Unit::Forget)): a file gone from its directory, an object
//! or cursor of a partition no listing reaches ([`Reach`](super::objects::Reach)); so a
//! watcher running for years holds what its inputs still hold, not all it ever read.

use std::collections::HashMap;
use std::path::Path;

use redb::{Database, ReadableTable, TableDefinition};
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use snapback_correlate::stream::Tracked;

use super::objects::{ObjectDone, PartitionDone};
use crate::PipelineError as Error;

const META: TableDefinition<&str, &str> = TableDefinition::new("meta");
const FILES: TableDefinition<&str, &str> = TableDefinition::new("files");
const STREAMS: TableDefinition<&str, &str> = TableDefinition::new("streams");
const ALERTS: TableDefinition<&str, &str> = TableDefinition::new("alerts");
const RECORDS: TableDefinition<&str, &str> = TableDefinition::new("records");
const OBJECTS: TableDefinition<&str, &str> = TableDefinition::new("objects");
const ETAGS: TableDefinition<&str, &str> = TableDefinition::new("etags");

/// A record of a followed file or stdin that took correlation state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredRecord {
    pub file: String,
    pub record: u64,
    pub offset: u64,
    /// The raw record, as JSON text.
    pub raw: String,
}

/// The key of a stored record: its event time first (milliseconds, offset to stay positive and
/// zero-padded, so that keys sort by time), then where it came from.
pub fn record_key(instant: jiff::Timestamp, file: &str, record: u64) -> String {
    let ms = (instant.as_millisecond() as i128 + (1i128 << 62)).max(0);
    format!("{ms:020}|{file}|{record:020}")
}

/// A delivery file read whole.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileDone {
    pub size: u64,
    pub mtime_ns: i128,
    /// Seconds since the epoch of its newest event (`i64::MIN` when it had none).
    pub newest: i64,
}

/// How far a followed file was read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamPos {
    pub offset: u64,
    pub records: u64,
    pub inode: u64,
}

/// What the last commit held.
#[derive(Debug, Default)]
pub struct Saved {
    pub out_len: u64,
    pub out_path: Option<String>,
    pub rules: Option<String>,
    pub files: HashMap<String, FileDone>,
    pub streams: HashMap<String, StreamPos>,
    pub alerts: HashMap<String, Tracked>,
    /// Store objects read (URL → what was read).
    pub objects: HashMap<String, ObjectDone>,
    /// Layout partitions of watched prefixes (URL → cursor).
    pub partitions: HashMap<String, PartitionDone>,
}

/// One cycle's changes.
#[derive(Default)]
pub struct Commit {
    pub out_len: u64,
    pub files: Vec<(String, FileDone)>,
    pub objects: Vec<(String, ObjectDone)>,
    pub partitions: Vec<(String, PartitionDone)>,
    pub streams: Vec<(String, StreamPos)>,
    pub alerts: Vec<(String, Option<Tracked>)>,
    pub watermark: Option<String>,
    /// Records of followed files and stdin that took state ([`record_key`] → record).
    pub records: Vec<(String, StoredRecord)>,
    /// Forget stored records whose key sorts before this one.
    pub forget_records_before: Option<String>,
    /// Rows no source will offer again ([`Unit::Forget`](super::source::Unit::Forget)),
    /// removed after this commit's own rows are written: delivery files, store objects
    /// (`etags`) and partition cursors (`objects`).
    pub forget_files: Vec<String>,
    pub forget_objects: Vec<String>,
    pub forget_partitions: Vec<String>,
}

pub struct State {
    db: Database,
}

fn json<T: Serialize>(v: &T) -> Result<String, Error> {
    serde_json::to_string(v).map_err(|e| Error::Corrupt {
        table: "(encoding)".into(),
        key: String::new(),
        reason: e.to_string(),
    })
}

fn parse<T: DeserializeOwned>(table: &str, key: &str, v: &str) -> Result<T, Error> {
    serde_json::from_str(v).map_err(|e| Error::Corrupt {
        table: table.into(),
        key: key.into(),
        reason: e.to_string(),
    })
}

impl State {
    /// Open (or create) `dir/state.redb`. redb refuses a second process on the same file.
    pub fn open(dir: &Path) -> Result<State, Error> {
        std::fs::create_dir_all(dir).map_err(|e| Error::Io {
            what: format!("creating the state directory {}", dir.display()),
            source: e,
        })?;
        let path = dir.join("state.redb");
        let db = Database::create(&path).map_err(|e| Error::StateOpen {
            path: path.clone(),
            source: Box::new(e.into()),
        })?;
        let txn = db.begin_write()?;
        for t in [META, FILES, STREAMS, ALERTS, RECORDS, OBJECTS, ETAGS] {
            txn.open_table(t)?;
        }
        txn.commit()?;
        Ok(State { db })
    }

    pub fn load(&self) -> Result<Saved, Error> {
        let txn = self.db.begin_read()?;
        let mut saved = Saved::default();
        let meta = txn.open_table(META)?;
        if let Some(v) = meta.get("out_len")? {
            saved.out_len = parse("meta", "out_len", v.value())?;
        }
        saved.out_path = meta.get("out_path")?.map(|v| v.value().to_owned());
        saved.rules = meta.get("rules")?.map(|v| v.value().to_owned());
        for row in txn.open_table(FILES)?.iter()? {
            let (k, v) = row?;
            let done = parse("files", k.value(), v.value())?;
            saved.files.insert(k.value().to_owned(), done);
        }
        for row in txn.open_table(STREAMS)?.iter()? {
            let (k, v) = row?;
            let pos = parse("streams", k.value(), v.value())?;
            saved.streams.insert(k.value().to_owned(), pos);
        }
        for row in txn.open_table(ALERTS)?.iter()? {
            let (k, v) = row?;
            let t = parse("alerts", k.value(), v.value())?;
            saved.alerts.insert(k.value().to_owned(), t);
        }
        for row in txn.open_table(ETAGS)?.iter()? {
            let (k, v) = row?;
            let o = parse("etags", k.value(), v.value())?;
            saved.objects.insert(k.value().to_owned(), o);
        }
        for row in txn.open_table(OBJECTS)?.iter()? {
            let (k, v) = row?;
            let p = parse("objects", k.value(), v.value())?;
            saved.partitions.insert(k.value().to_owned(), p);
        }
        Ok(saved)
    }

    /// Every stored record, in event-time order.
    pub fn stored_records(&self) -> Result<Vec<StoredRecord>, Error> {
        let txn = self.db.begin_read()?;
        let mut out = Vec::new();
        for row in txn.open_table(RECORDS)?.iter()? {
            let (k, v) = row?;
            out.push(parse("records", k.value(), v.value())?);
        }
        Ok(out)
    }

    /// Record which `--out` file and which rules this state belongs to.
    pub fn set_identity(&self, out_path: Option<&str>, rules: &str) -> Result<(), Error> {
        let txn = self.db.begin_write()?;
        {
            let mut meta = txn.open_table(META)?;
            if let Some(p) = out_path {
                meta.insert("out_path", p)?;
            }
            meta.insert("rules", rules)?;
        }
        txn.commit()?;
        Ok(())
    }

    /// One cycle, durably.
    pub fn commit(&self, c: &Commit) -> Result<(), Error> {
        let txn = self.db.begin_write()?;
        {
            let mut meta = txn.open_table(META)?;
            meta.insert("out_len", json(&c.out_len)?.as_str())?;
            if let Some(w) = &c.watermark {
                meta.insert("watermark", w.as_str())?;
            }
            let mut files = txn.open_table(FILES)?;
            for (k, v) in &c.files {
                files.insert(k.as_str(), json(v)?.as_str())?;
            }
            for k in &c.forget_files {
                files.remove(k.as_str())?;
            }
            let mut etags = txn.open_table(ETAGS)?;
            for (k, v) in &c.objects {
                etags.insert(k.as_str(), json(v)?.as_str())?;
            }
            for k in &c.forget_objects {
                etags.remove(k.as_str())?;
            }
            let mut objects = txn.open_table(OBJECTS)?;
            for (k, v) in &c.partitions {
                objects.insert(k.as_str(), json(v)?.as_str())?;
            }
            for k in &c.forget_partitions {
                objects.remove(k.as_str())?;
            }
            let mut streams = txn.open_table(STREAMS)?;
            for (k, v) in &c.streams {
                streams.insert(k.as_str(), json(v)?.as_str())?;
            }
            let mut records = txn.open_table(RECORDS)?;
            for (k, v) in &c.records {
                records.insert(k.as_str(), json(v)?.as_str())?;
            }
            if let Some(before) = &c.forget_records_before {
                records.retain_in::<&str, _>(..before.as_str(), |_, _| false)?;
            }
            let mut alerts = txn.open_table(ALERTS)?;
            for (k, v) in &c.alerts {
                match v {
                    Some(t) => {
                        alerts.insert(k.as_str(), json(t)?.as_str())?;
                    }
                    None => {
                        alerts.remove(k.as_str())?;
                    }
                }
            }
        }
        txn.commit()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forgotten_files_objects_and_partitions_leave_the_state() {
        let dir = tempfile::tempdir().unwrap();
        let state = State::open(dir.path()).unwrap();
        let file = FileDone {
            size: 1,
            mtime_ns: 2,
            newest: 3,
        };
        let object = ObjectDone {
            key: "k".into(),
            size: 1,
            tag: "etag:\"e\"".into(),
            etag: Some("\"e\"".into()),
            version: None,
            newest: 3,
        };
        let part = PartitionDone {
            last: "k".into(),
            start: 0,
        };
        let mut c = Commit::default();
        for n in ["a", "b"] {
            c.files.push((format!("/d/{n}"), file.clone()));
            c.objects.push((format!("s3://b/{n}"), object.clone()));
            c.partitions.push((format!("s3://b/{n}/"), part.clone()));
        }
        state.commit(&c).unwrap();
        let forget = Commit {
            forget_files: vec!["/d/a".into()],
            forget_objects: vec!["s3://b/a".into()],
            forget_partitions: vec!["s3://b/a/".into()],
            ..Commit::default()
        };
        state.commit(&forget).unwrap();
        drop(state);
        let saved = State::open(dir.path()).unwrap().load().unwrap();
        let keys = |m: Vec<&String>| {
            let mut m: Vec<String> = m.into_iter().cloned().collect();
            m.sort();
            m
        };
        assert_eq!(keys(saved.files.keys().collect()), vec!["/d/b"]);
        assert_eq!(keys(saved.objects.keys().collect()), vec!["s3://b/b"]);
        assert_eq!(keys(saved.partitions.keys().collect()), vec!["s3://b/b/"]);
    }
}
