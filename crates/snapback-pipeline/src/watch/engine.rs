//! [`Stream`]: the detecting half of a continuous run, whatever feeds it. It takes input as
//! units (delivery files read whole, batches of lines or messages with their place in their
//! source), puts their events through the same preparation as `scan` into the streaming
//! detector, and, once per cycle, says which alert revisions to emit and what a checkpoint
//! must hold. It does no output and keeps no store: `watch` ([`super::Watch`]) writes its
//! cycles to sinks and to redb, a Kafka consumer to a transaction.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use jiff::{SignedDuration, Timestamp};
use serde::Serialize;
use snapback_correlate::order::Lateness;
use snapback_correlate::stream::{Emission, Revisions, StreamStats, Tracked, Watcher};
use snapback_correlate::{DetectOptions, Detector, Tuning};
use snapback_ingest::{
    Diagnostic, Event, IngestOptions, Input, ParallelOptions, RemoteInput, RemoteObject,
    RemoteProblem, Severity, Summary,
};
use snapback_rules::RuleSet;

use super::objects::{ObjectDone, ObjectSource, PartitionDone};
use super::state::{record_key, Commit, FileDone, StoredRecord, StreamPos};
use crate::prepare;

/// What a diagnostic goes to (the terminal, for `watch`).
pub type OnDiagnostic<'r> = Box<dyn FnMut(&Diagnostic) + 'r>;

/// One cycle's result: the revisions to emit, then the checkpoint that covers them.
pub struct Cycle {
    pub emissions: Vec<Emission>,
    /// What a checkpoint must record for this cycle (its `out_len` is the sink's to set).
    pub commit: Commit,
}

/// The running figures: `watch`'s status line and `--metrics` file.
#[derive(Debug, Clone, Serialize)]
pub struct Figures {
    pub files: u64,
    pub events: u64,
    pub events_per_second: f64,
    pub watermark: Option<String>,
    pub watermark_lag_seconds: Option<i64>,
    pub late_events: u64,
    pub duplicates: u64,
    pub unusable_events: u64,
    pub buffered_events: u64,
    pub retained_events: u64,
    pub open_sequences: u64,
    pub alert_revisions: u64,
    pub retractions: u64,
}

/// The streaming detector with its intake and its revisions.
pub struct Stream<'r> {
    rules: &'r RuleSet,
    watcher: Watcher<'r>,
    revisions: Revisions,
    /// What the next checkpoint must record, gathered since the last cycle.
    pending: Commit,
    summary: Summary,
    /// How records are read: limits, and `--since` (events before it are counted as outside
    /// the window, not correlated).
    ingest: IngestOptions,
    /// Keep the records of lines and messages that took state, for a checkpoint.
    store_records: bool,
    on_diagnostic: OnDiagnostic<'r>,
    started: Instant,
    files: u64,
    emitted: u64,
    retracted: u64,
}

impl<'r> Stream<'r> {
    /// A stream under `rules` and `tuning`; `emitted` is what earlier runs emitted (from a
    /// checkpoint), so that their alerts are revised and not emitted anew. With
    /// `store_records`, the records of lines and messages that take state are handed to each
    /// cycle's commit, since their source may not be readable again.
    pub fn new(
        rules: &'r RuleSet,
        tuning: &'r Tuning,
        lateness: Lateness,
        emitted: HashMap<String, Tracked>,
        store_records: bool,
        on_diagnostic: OnDiagnostic<'r>,
    ) -> Self {
        let options = tuning.detect_options(DetectOptions::default());
        Stream {
            rules,
            watcher: Watcher::new(rules, tuning, options, lateness),
            revisions: Revisions::restore(emitted),
            pending: Commit::default(),
            summary: Summary::default(),
            ingest: IngestOptions::default(),
            store_records,
            on_diagnostic,
            started: Instant::now(),
            files: 0,
            emitted: 0,
            retracted: 0,
        }
    }

    /// Use only events inside `window` (`watch --since`); the others are counted in
    /// `Summary::outside_window`.
    pub fn set_window(&mut self, window: snapback_ingest::TimeWindow) {
        self.ingest.window = window;
    }

    /// How long after its first event an alert can still change.
    pub fn horizon(&self) -> SignedDuration {
        self.watcher.horizon()
    }

    pub fn watermark(&self) -> Option<Timestamp> {
        self.watcher.watermark()
    }

    pub fn stats(&self) -> StreamStats {
        self.watcher.stats()
    }

    /// What was read: files, records, skipped, diagnostics.
    pub fn summary(&self) -> &Summary {
        &self.summary
    }

    /// Alert revisions and retractions emitted by this run.
    pub fn emitted(&self) -> (u64, u64) {
        (self.emitted, self.retracted)
    }

    /// Read delivery files into the detector, as `scan` reads them (on every core, through
    /// the plan's prefilter); the newest event time (seconds) of each file that had an event
    /// the detector keeps. Nothing is recorded for a checkpoint ([`Self::files_done`] does).
    pub fn read_files(
        &mut self,
        paths: &[PathBuf],
        parallel: &ParallelOptions<'_>,
    ) -> HashMap<String, i64> {
        let mut newest: HashMap<String, i64> = HashMap::new();
        let watcher = &mut self.watcher;
        let on_diagnostic = &mut self.on_diagnostic;
        let s = snapback_ingest::read_files_parallel(
            paths,
            &self.ingest,
            parallel,
            &prepare(self.rules),
            &mut |e, prepared| {
                // An archive member is `archive.zip!member`: the file is the archive.
                let file = e.provenance.file.split('!').next().unwrap_or_default();
                let t = e.time.instant.as_second();
                let n = newest.entry(file.to_owned()).or_insert(t);
                *n = (*n).max(t);
                watcher.observe_prepared(e, prepared);
            },
            &mut |d| on_diagnostic(d),
        );
        self.summary.merge(s);
        newest
    }

    /// Read a batch of complete delivery files (path, size, mtime) and record them as done.
    pub fn files_done(&mut self, files: Vec<(PathBuf, u64, i128)>, parallel: &ParallelOptions<'_>) {
        if files.is_empty() {
            return;
        }
        let paths: Vec<PathBuf> = files.iter().map(|(p, ..)| p.clone()).collect();
        let newest = self.read_files(&paths, parallel);
        self.files += files.len() as u64;
        for (path, size, mtime_ns) in files {
            let name = path.display().to_string();
            let newest = newest.get(name.as_str()).copied().unwrap_or(i64::MIN);
            self.pending.files.push((
                name,
                FileDone {
                    size,
                    mtime_ns,
                    newest,
                },
            ));
        }
    }

    /// Read objects of a watched store prefix into the detector, as `scan` reads them (the
    /// same reader: streamed, on every core, the object URL as provenance); the newest event
    /// time (seconds) of each object that had one the detector keeps, and the objects whose
    /// reading failed for a passing reason (throttled, cut off; every failure is a located
    /// diagnostic).
    /// Nothing is recorded for a checkpoint ([`Self::objects_done`] does).
    pub fn read_objects(
        &mut self,
        source: &Arc<dyn ObjectSource>,
        objects: Vec<RemoteObject>,
        parallel: &ParallelOptions<'_>,
    ) -> (HashMap<String, i64>, HashSet<String>) {
        let mut newest: HashMap<String, i64> = HashMap::new();
        let mut failed = HashSet::new();
        if objects.is_empty() {
            return (newest, failed);
        }
        let names: HashSet<Arc<str>> = objects.iter().map(|o| o.name.clone()).collect();
        let picked = Input::Remote(Arc::new(Picked {
            source: source.clone(),
            objects,
        }));
        let watcher = &mut self.watcher;
        let on_diagnostic = &mut self.on_diagnostic;
        let s = snapback_ingest::read_inputs_parallel(
            std::slice::from_ref(&picked),
            &self.ingest,
            parallel,
            &prepare(self.rules),
            &mut |e, prepared| {
                let object = e.provenance.file.split('!').next().unwrap_or_default();
                let t = e.time.instant.as_second();
                let n = newest.entry(object.to_owned()).or_insert(t);
                *n = (*n).max(t);
                watcher.observe_prepared(e, prepared);
            },
            &mut |d| {
                // Throttled past the retries, or cut off: worth another try. A denied, missing
                // or replaced object is done (its new version has a new ETag).
                let transient = matches!(d.reason, "object-throttled" | "object-unreadable");
                if transient && names.contains(&d.file) {
                    failed.insert(d.file.to_string());
                }
                on_diagnostic(d)
            },
            &mut |_| {},
        );
        self.summary.merge(s);
        (newest, failed)
    }

    /// A batch of a watched prefix: its listings that failed (diagnostics), its objects read
    /// and recorded as done (those that failed for a passing reason are not: they are handed
    /// back, to be offered again), and the partitions' cursors.
    pub fn objects_done(
        &mut self,
        source: &Arc<dyn ObjectSource>,
        objects: Vec<RemoteObject>,
        problems: Vec<RemoteProblem>,
        partitions: Vec<(String, PartitionDone)>,
        parallel: &ParallelOptions<'_>,
    ) -> Vec<String> {
        for p in problems {
            *self.summary.remote_failed.entry(p.reason).or_default() += 1;
            (self.on_diagnostic)(&Diagnostic {
                severity: Severity::Error,
                file: p.at,
                record: None,
                offset: None,
                reason: p.reason,
                detail: p.detail,
            });
        }
        let (newest, failed) = self.read_objects(source, objects.clone(), parallel);
        for o in objects {
            let url = o.name.to_string();
            if failed.contains(&url) {
                continue;
            }
            self.files += 1;
            let newest = newest.get(url.as_str()).copied().unwrap_or(i64::MIN);
            self.pending.objects.push((url, ObjectDone::of(&o, newest)));
        }
        self.pending.partitions.extend(partitions);
        failed.into_iter().collect()
    }

    /// Forget, at the next commit, what a source will never offer again (delivery files gone
    /// from their directory; objects and cursors of partitions no listing reaches).
    pub fn forget(&mut self, files: Vec<String>, objects: Vec<String>, partitions: Vec<String>) {
        self.pending.forget_files.extend(files);
        self.pending.forget_objects.extend(objects);
        self.pending.forget_partitions.extend(partitions);
    }

    /// Complete lines of a followed file or stdin, `offset` bytes and `record` records into
    /// it; its position after them goes to the next commit.
    pub fn lines(&mut self, name: String, bytes: &[u8], offset: u64, record: u64, inode: u64) {
        self.read_bytes(&name, bytes, offset, record);
        let records = super::source::count_records(bytes);
        self.pending.streams.retain(|(n, _)| *n != name);
        self.pending.streams.push((
            name,
            StreamPos {
                offset: offset + bytes.len() as u64,
                records: record + records,
                inode,
            },
        ));
    }

    /// Records in `bytes` (any layout `scan` reads: JSON lines, a delivery file's body, one
    /// record or an envelope of many) named `name`, whose provenance starts at `offset` bytes
    /// and `record` records; diagnostics are located the same way. Records that take state
    /// are kept for the next commit when the stream stores records.
    pub fn read_bytes(&mut self, name: &str, bytes: &[u8], offset: u64, record: u64) {
        self.read_bytes_inspecting(name, bytes, offset, record, &mut |_| {});
    }

    /// [`Self::read_bytes`], showing each decoded event to `inspect` first (a Kafka consumer
    /// checks that the message's key is the record's account).
    pub fn read_bytes_inspecting(
        &mut self,
        name: &str,
        bytes: &[u8],
        offset: u64,
        record: u64,
        inspect: &mut dyn FnMut(&Event),
    ) {
        let mut events = Vec::new();
        let on_diagnostic = &mut self.on_diagnostic;
        let s = snapback_ingest::read_bytes(
            name,
            bytes,
            &self.ingest,
            &mut |mut e: Event| {
                e.provenance.record += record;
                e.provenance.offset += offset;
                inspect(&e);
                events.push(e)
            },
            &mut |d: &Diagnostic| {
                let mut d = d.clone();
                d.record = d.record.map(|r| r + record);
                d.offset = d.offset.map(|o| o + offset);
                on_diagnostic(&d)
            },
        );
        self.summary.merge(s);
        let store = self.store_records;
        self.observe(events, store);
    }

    /// Events into the detector; with `store`, the records that take state are also kept for
    /// the next commit, since the input may be gone when a restart needs them.
    fn observe(&mut self, events: Vec<Event>, store: bool) {
        for mut e in events {
            let matched = self.rules.matches(&e);
            if !Detector::keeps(&e, &matched) {
                continue;
            }
            let raw = store.then(|| e.raw_json());
            let prepared = Detector::prepare(self.rules, &mut e, matched);
            if let Some(raw) = raw.filter(|_| prepared.takes_state(&e)) {
                let p = &e.provenance;
                let key = record_key(e.time.instant, &p.file, p.record);
                let row = StoredRecord {
                    file: p.file.to_string(),
                    record: p.record,
                    offset: p.offset,
                    raw,
                };
                self.pending.records.push((key, row));
            }
            self.watcher.observe_prepared(e, prepared);
        }
    }

    /// Stored records (from a checkpoint), decoded again into the detector and not stored
    /// again: they are in the checkpoint already. A row that no longer decodes is skipped.
    pub fn restore(&mut self, rows: Vec<StoredRecord>) {
        let mut events = Vec::new();
        for row in rows {
            let Ok(value) = serde_json::from_str(&row.raw) else {
                continue;
            };
            let prov = snapback_ingest::Provenance {
                file: row.file.as_str().into(),
                record: row.record,
                offset: row.offset,
            };
            events.extend(
                snapback_ingest::decode_record(value, &prov)
                    .into_iter()
                    .filter_map(|d| match d {
                        snapback_ingest::Decoded::Event(e) => Some(*e),
                        _ => None,
                    }),
            );
        }
        self.observe(events, false);
    }

    /// The input ended (`--once`): the watermark goes to the end of time.
    pub fn end_of_input(&mut self) {
        self.watcher.end_of_input();
    }

    /// Release what the watermark passed, find what changed, and say what to commit.
    pub fn cycle(&mut self) -> Cycle {
        self.watcher.release();
        let alerts = self.watcher.alerts();
        let emissions = self.revisions.diff(&alerts, &self.watcher);
        for e in &emissions {
            match e {
                Emission::Alert { .. } => self.emitted += 1,
                Emission::Retracted { .. } => self.retracted += 1,
            }
        }
        let wm = self.watcher.watermark().filter(|w| *w < Timestamp::MAX);
        if let Some(w) = wm {
            let week = SignedDuration::from_hours(24 * 7);
            self.revisions
                .forget_before(w.checked_sub(week).unwrap_or(Timestamp::MIN));
        }
        let mut commit = std::mem::take(&mut self.pending);
        // Stored records leave with the detector's retained events (`Watcher::release`).
        if let Some(w) = wm {
            let keep_from = w
                .checked_sub(self.watcher.horizon() * 2)
                .unwrap_or(Timestamp::MIN);
            commit.forget_records_before = Some(record_key(keep_from, "", 0));
        }
        commit.alerts = self.revisions.take_dirty();
        commit.watermark = self.watcher.watermark().map(|w| w.to_string());
        Cycle { emissions, commit }
    }

    pub fn figures(&self) -> Figures {
        let st = self.watcher.stats();
        let secs = self.started.elapsed().as_secs_f64().max(1e-9);
        let wm = self.watcher.watermark();
        Figures {
            files: self.files,
            events: self.summary.events,
            events_per_second: (self.summary.events as f64 / secs).round(),
            watermark: wm.map(|w| w.to_string()),
            watermark_lag_seconds: wm
                .filter(|w| *w < Timestamp::MAX)
                .map(|w| Timestamp::now().duration_since(w).as_secs()),
            late_events: st.late_events,
            duplicates: st.duplicates,
            unusable_events: st.unusable,
            buffered_events: st.buffered,
            retained_events: st.retained,
            open_sequences: st.open_sequences,
            alert_revisions: self.emitted,
            retractions: self.retracted,
        }
    }
}

/// Some objects of a watched prefix, as an input ingest reads like any store URL.
struct Picked {
    source: Arc<dyn ObjectSource>,
    objects: Vec<RemoteObject>,
}

impl std::fmt::Debug for Picked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Picked")
            .field("source", &self.source.name())
            .field("objects", &self.objects.len())
            .finish()
    }
}

impl RemoteInput for Picked {
    fn name(&self) -> &str {
        self.source.name()
    }

    fn list(&self, _on_problem: &mut dyn FnMut(RemoteProblem)) -> Vec<RemoteObject> {
        self.objects.clone()
    }

    fn prefetch(&self, objects: &[RemoteObject]) {
        self.source.prefetch(objects)
    }

    fn open(&self, object: &RemoteObject) -> Result<Box<dyn std::io::Read + Send>, RemoteProblem> {
        self.source.open(object)
    }

    fn in_flight(&self) -> usize {
        self.source.in_flight()
    }
}
