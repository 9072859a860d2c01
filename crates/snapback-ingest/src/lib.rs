//! Reading the audit logs of AWS, Azure and Google Cloud into one [`Event`] model.
//!
//! ```no_run
//! use snapback_ingest::{read_inputs, Input, IngestOptions};
//! let summary = read_inputs(
//!     &[Input::Path("AWSLogs".into())],
//!     &IngestOptions::default(),
//!     &mut |event| println!("{} {} {}", event.time.instant, event.cloud, event.operation),
//!     &mut |diag| eprintln!("{diag}"),
//! );
//! eprintln!("{summary}");
//! ```
//!
//! The pipeline is three small steps, each unaware of the next: **open** an input (a file, a
//! directory walked in name order, a `.gz` or `.zip`, stdin; compression is recognised by its
//! magic bytes, not its name), **frame** records out of the byte stream ([`frame`]: containers,
//! arrays, JSON lines, pretty-printed JSON, without holding more than one record), and
//! **decode** each record by its shape ([`decode`]). Bad input never stops the run: every
//! problem becomes a [`Diagnostic`] with its file, record index and byte offset, the rest is
//! still read, and the [`Summary`] counts what was skipped and why.

// One module, `structural`, loads 16 bytes at a time with SSE2 (docs/decisions.md).
#![deny(unsafe_code)]

mod aws;
mod azure;
pub mod decode;
mod diagnostics;
pub mod frame;
mod gcp;
pub mod gzip;
mod hits;
mod listing;
mod open;
mod ordered;
mod parallel;
mod remote;
mod repair;
mod sniff;
mod structural;
mod summary;
mod utf16;

use std::fmt;
use std::io::{self, BufRead};
use std::path::PathBuf;
use std::sync::Arc;

pub use decode::{decode_record, decode_record_checked, DecodeWarning, Decoded};
pub use diagnostics::{Diagnostics, DEFAULT_DIAGNOSTICS_PER_REASON};
pub use frame::{all_key_ends, key_ends};
pub use gcp::normalise_method;
pub use hits::{HitSearch, UNNUMBERED};
pub use listing::{list_files, walk, Listed};
pub use parallel::{read_files_parallel, read_inputs_parallel, ParallelOptions, Progress};
pub use remote::{RemoteInput, RemoteObject, RemoteProblem, TimeWindow, WindowError};
pub use snapback_model::event::{self, *};
pub use snapback_model::{arm_segment, normalise_ref, KeyList, KeySpec};
pub use summary::{Summary, INVALID_REASONS};

use frame::{Frame, Framer, Start};

/// Where records come from.
#[derive(Debug, Clone)]
pub enum Input {
    /// A file or a directory (walked recursively, in name order).
    Path(PathBuf),
    /// Standard input.
    Stdin,
    /// Objects of a cloud store (`s3://`, `az://`, `gs://`), listed and opened by
    /// `snapback-objstore`.
    Remote(Arc<dyn RemoteInput>),
}

impl Input {
    /// `-` is stdin; anything else a path.
    pub fn parse(arg: &str) -> Input {
        if arg == "-" {
            Input::Stdin
        } else {
            Input::Path(arg.into())
        }
    }

    /// What the input is called: its path, `-`, or the URL named.
    pub fn name(&self) -> String {
        match self {
            Input::Stdin => "-".to_owned(),
            Input::Path(p) => p.display().to_string(),
            Input::Remote(r) => r.name().to_owned(),
        }
    }
}

/// Knobs for reading.
#[derive(Debug, Clone)]
pub struct IngestOptions {
    /// Records larger than this are skipped with a diagnostic (default 16 MiB; CloudTrail
    /// caps a record's request and response at 100 KB each).
    pub max_record_bytes: usize,
    /// How many archive layers are opened one inside another (a `.zip` inside a `.zip`, a
    /// `.zip` inside a `.gz`, a `.gz` member of a `.zip`: each layer counts); deeper input is
    /// an `archive-too-deep` error (default 4).
    pub max_archive_depth: u32,
    /// The most bytes of zip archives that cannot seek (inside another archive, on a pipe or
    /// stdin) held in memory at once, to read them through their central directory; a larger
    /// one is read as it streams, from its local headers (default 256 MiB). Members are never
    /// held: they are streamed.
    pub max_archive_bytes: usize,
    /// How many diagnostics of each reason a read hands to its `on_diag` (default
    /// [`DEFAULT_DIAGNOSTICS_PER_REASON`]); the others are counted in
    /// [`Summary::diagnostics_not_shown`], so that memory stays bounded however much of the
    /// input is broken. `usize::MAX` hands on every one.
    pub max_diagnostics_per_reason: usize,
    /// `--since`/`--until`: events outside are counted, not handed on (default: unbounded).
    pub window: TimeWindow,
}

impl Default for IngestOptions {
    fn default() -> Self {
        IngestOptions {
            max_record_bytes: 16 * 1024 * 1024,
            max_archive_depth: 4,
            max_archive_bytes: 256 * 1024 * 1024,
            max_diagnostics_per_reason: DEFAULT_DIAGNOSTICS_PER_REASON,
            window: TimeWindow::default(),
        }
    }
}

/// How bad a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// The input was read, but something was repaired (a byte-order mark removed, invalid
    /// UTF-8 replaced).
    Warning,
    /// A record or a file was skipped.
    Error,
}

/// One problem with the input, and where it is.
#[derive(Debug, Clone)]
pub struct Diagnostic {
    pub severity: Severity,
    pub file: Arc<str>,
    /// Zero-based record index in the file, when the problem is in a record.
    pub record: Option<u64>,
    /// Byte offset in the (decompressed) stream.
    pub offset: Option<u64>,
    /// A short stable key for the summary's counts, e.g. `invalid-json`.
    pub reason: &'static str,
    /// What exactly is wrong.
    pub detail: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = match self.severity {
            Severity::Warning => "warning",
            Severity::Error => "error",
        };
        write!(f, "{level}: {}", self.file)?;
        if let Some(r) = self.record {
            write!(f, " record {r}")?;
        }
        if let Some(o) = self.offset {
            write!(f, " (byte {o})")?;
        }
        write!(f, ": {}: {}", self.reason, self.detail)
    }
}

/// Read every input, calling `on_event` for each event and `on_diag` for each problem (the
/// first [`IngestOptions::max_diagnostics_per_reason`] of each reason; the summary counts the
/// others).
pub fn read_inputs(
    inputs: &[Input],
    options: &IngestOptions,
    on_event: &mut dyn FnMut(Event),
    on_diag: &mut dyn FnMut(&Diagnostic),
) -> Summary {
    gated(options, on_diag, |summary, on_diag| {
        for input in inputs {
            match input {
                Input::Stdin => {
                    let mut reader = Reader::new(options, summary, on_event, on_diag);
                    reader.read_stdin();
                }
                Input::Path(path) => {
                    for listed in walk(path) {
                        match listed {
                            Listed::File { path: file, .. } => {
                                let mut reader = Reader::new(options, summary, on_event, on_diag);
                                reader.read_file(&file);
                            }
                            Listed::Problem(d) => listing::count(summary, &d, on_diag),
                        }
                    }
                }
                Input::Remote(remote) => {
                    let objects = remote::list(remote.as_ref(), summary, on_diag);
                    let ahead = remote.in_flight().max(1);
                    for (i, object) in objects.iter().enumerate() {
                        if i % ahead == 0 {
                            remote.prefetch(&objects[i..objects.len().min(i + ahead)]);
                        }
                        let mut reader = Reader::new(options, summary, on_event, on_diag);
                        reader.read_object(remote.as_ref(), object);
                    }
                }
            }
        }
    })
}

/// Run `read` with `on_diag` behind a gate that passes the first
/// [`IngestOptions::max_diagnostics_per_reason`] diagnostics of each reason; the summary it
/// returns counts the others (issue 13 item 9). Every reading entry point goes through it.
pub(crate) fn gated(
    options: &IngestOptions,
    on_diag: &mut dyn FnMut(&Diagnostic),
    read: impl FnOnce(&mut Summary, &mut dyn FnMut(&Diagnostic)),
) -> Summary {
    let mut summary = Summary::default();
    let mut gate = Diagnostics::new(options.max_diagnostics_per_reason);
    read(&mut summary, &mut |d| {
        if gate.admit(d) {
            on_diag(d);
        }
    });
    summary.count_not_shown(gate.not_kept());
    summary
}

/// Read records held in memory (a batch of complete JSON lines that a live stream delivered),
/// named `name` in provenance. Record indices and byte offsets count from the batch's start;
/// a caller that reads a stream in batches adds where the batch began.
pub fn read_bytes(
    name: &str,
    bytes: &[u8],
    options: &IngestOptions,
    on_event: &mut dyn FnMut(Event),
    on_diag: &mut dyn FnMut(&Diagnostic),
) -> Summary {
    gated(options, on_diag, |summary, on_diag| {
        let mut reader = Reader::new(options, summary, on_event, on_diag);
        reader.read_named(name.into(), Box::new(bytes));
    })
}

struct Reader<'a> {
    options: &'a IngestOptions,
    summary: &'a mut Summary,
    on_event: &'a mut dyn FnMut(Event),
    on_diag: &'a mut dyn FnMut(&Diagnostic),
    /// Records for which this says false are counted in `Summary::prefiltered`, not parsed.
    filter: Option<&'a RecordFilter<'a>>,
    /// The framer's fast path.
    fast: bool,
    /// The keys the filter needs listed ([`KeySpec`]).
    keys: &'a KeySpec,
    /// Reading a chunk of a JSON lines file that starts at this offset (not the file's start).
    continuing: Option<u64>,
    /// Set by `read_records`: records framed, how the stream started, and whether the framer
    /// stood at a clean line start when the input ended.
    framed: u64,
    started_json: bool,
    clean_end: bool,
    /// Bytes of archives that cannot seek held in memory now (`IngestOptions::max_archive_bytes`).
    archive_held: usize,
    /// Frame only around the hits of this search (`hits.rs`), where the layout allows.
    hits: Option<&'a HitSearch<'a>>,
    /// Some input was read by hits: its records carry no index ([`UNNUMBERED`]).
    by_hits: bool,
    /// Handing on records read by hits now: diagnostics carry no record index.
    unnumbered: bool,
}

/// A test on one record's raw bytes; `false` means no rule can match it (see
/// `snapback_rules::Prefilter`), so it is counted and never parsed. The second argument, when
/// given, lists where the record's keys end ([`frame::key_ends`]).
pub type RecordFilter<'a> = dyn Fn(&[u8], Option<KeyList<'_>>) -> bool + Sync + 'a;

impl<'a> Reader<'a> {
    fn new(
        options: &'a IngestOptions,
        summary: &'a mut Summary,
        on_event: &'a mut dyn FnMut(Event),
        on_diag: &'a mut dyn FnMut(&Diagnostic),
    ) -> Self {
        Reader {
            options,
            summary,
            on_event,
            on_diag,
            filter: None,
            fast: true,
            keys: &KeySpec::Nothing,
            continuing: None,
            framed: 0,
            started_json: false,
            clean_end: false,
            archive_held: 0,
            hits: None,
            by_hits: false,
            unnumbered: false,
        }
    }
}

impl Reader<'_> {
    /// A file that could not be read at all: counted, and said why.
    fn file_failed(&mut self, file: &Arc<str>, reason: &'static str, detail: String) {
        self.summary.files_failed += 1;
        self.diag(Severity::Error, file, None, None, reason, detail);
    }

    /// A file (or archive member, or layer) not read for what its bytes at `offset` are.
    fn file_failed_at(
        &mut self,
        file: &Arc<str>,
        offset: u64,
        reason: &'static str,
        detail: String,
    ) {
        self.summary.files_failed += 1;
        self.diag(Severity::Error, file, None, Some(offset), reason, detail);
    }

    fn diag(
        &mut self,
        severity: Severity,
        file: &Arc<str>,
        record: Option<u64>,
        offset: Option<u64>,
        reason: &'static str,
        detail: String,
    ) {
        if severity == Severity::Warning {
            self.summary.warnings += 1;
        }
        (self.on_diag)(&Diagnostic {
            severity,
            file: file.clone(),
            record: record.filter(|_| !self.unnumbered),
            offset,
            reason,
            detail,
        });
    }

    fn read_records<R: BufRead>(&mut self, name: Arc<str>, reader: R, io_reason: &'static str) {
        self.read_records_with(name, reader, io_reason, None);
    }

    /// [`read_records`](Self::read_records), or, with `memory` (a buffer and how many of its
    /// bytes are the input), the input already in memory (`Framer::in_memory`; the reader is
    /// not read). Gives the buffer back.
    fn read_records_with<R: BufRead>(
        &mut self,
        name: Arc<str>,
        reader: R,
        io_reason: &'static str,
        memory: Option<(Vec<u8>, usize)>,
    ) -> Option<Vec<u8>> {
        let mut framer = match self.continuing {
            Some(at) => Framer::continuing(reader, self.options.max_record_bytes, at),
            None => {
                self.summary.files_read += 1;
                Framer::new(reader, self.options.max_record_bytes)
            }
        };
        framer.set_fast(self.fast);
        framer.set_keys(self.keys);
        if let Some((bytes, len)) = memory {
            framer.in_memory(bytes, len);
        }
        let start = match self.continuing {
            Some(_) => Ok(Start::Json),
            None => framer.start(),
        };
        self.started_json = matches!(start, Ok(Start::Json));
        if !self.starts_records(&name, start, framer.start_boms(), io_reason) {
            return framer.take_memory();
        }
        let mut index: u64 = 0;
        let filter = self.filter;
        while let Some(item) = framer.next_frame_filtered(filter) {
            let frame = match item {
                Ok(f) => f,
                Err(e) => {
                    self.summary.files_failed += 1;
                    self.diag(
                        Severity::Error,
                        &name,
                        Some(index),
                        None,
                        io_reason,
                        format!("{e}; records before this point were read"),
                    );
                    break;
                }
            };
            let record = index;
            index += 1;
            for at in framer.take_line_boms(record) {
                self.diag(
                    Severity::Warning,
                    &name,
                    Some(record),
                    Some(at),
                    "byte-order-mark",
                    "a UTF-8 byte-order mark at the start of a line was removed".into(),
                );
            }
            self.take_frame(&name, record, frame, io_reason);
        }
        self.clean_end = framer.ended_clean();
        for at in framer.take_line_boms(u64::MAX) {
            self.diag(
                Severity::Warning,
                &name,
                None,
                Some(at),
                "byte-order-mark",
                "a UTF-8 byte-order mark at the start of a line was removed".into(),
            );
        }
        self.framed = index;
        self.summary.bytes_read += framer.offset() - self.continuing.unwrap_or(0);
        framer.take_memory()
    }

    /// What the start of a file says: whether it holds records to frame (JSON), or was
    /// counted already (empty, text, unreadable). Byte-order marks (how many, where the first
    /// began: [`Framer::start_boms`]) are reported.
    fn starts_records(
        &mut self,
        name: &Arc<str>,
        start: io::Result<Start>,
        (boms, first_bom): (u32, u64),
        io_reason: &'static str,
    ) -> bool {
        let bom = boms > 0;
        match start {
            Ok(Start::Json) => {}
            Ok(Start::Empty) => {
                self.summary.files_failed += 1;
                let detail = if bom {
                    "the file holds only a byte-order mark".to_owned()
                } else {
                    "the file is empty".to_owned()
                };
                self.diag(Severity::Error, name, None, Some(0), "empty-file", detail);
                return false;
            }
            Ok(Start::Text { first_line }) => {
                let kind = text_kind(&first_line);
                *self.summary.not_audit.entry(kind.to_owned()).or_default() += 1;
                return false;
            }
            Err(e) => {
                self.summary.files_failed += 1;
                self.diag(
                    Severity::Error,
                    name,
                    None,
                    Some(0),
                    io_reason,
                    e.to_string(),
                );
                return false;
            }
        }
        if bom && self.continuing.is_none() {
            let detail = match boms {
                1 => "a UTF-8 byte-order mark was removed".to_owned(),
                n => format!(
                    "{n} UTF-8 byte-order marks at the start of the file (with the white space \
                     between them) were removed"
                ),
            };
            self.diag(
                Severity::Warning,
                name,
                None,
                Some(first_bom),
                "byte-order-mark",
                detail,
            );
        }
        true
    }

    /// One frame of a file: decoded, counted as not parsed, or a diagnostic.
    fn take_frame(&mut self, name: &Arc<str>, record: u64, frame: Frame, io_reason: &'static str) {
        match frame {
            Frame::Record { bytes, offset } => self.decode_bytes(name, record, offset, bytes),
            Frame::Filtered { .. } => self.summary.prefiltered += 1,
            Frame::Broken { offset, reason } => {
                // A read error fails the file (counted once, there); a broken stretch of
                // bytes is a skipped record.
                let key = if reason.starts_with("read error") {
                    self.summary.files_failed += 1;
                    io_reason
                } else {
                    *self.summary.skipped.entry("invalid-json").or_default() += 1;
                    "invalid-json"
                };
                self.diag(
                    Severity::Error,
                    name,
                    Some(record),
                    Some(offset),
                    key,
                    if key == io_reason {
                        format!("{reason}; records before this point were read")
                    } else {
                        reason
                    },
                );
            }
            Frame::TooLarge { offset, size } => {
                *self.summary.skipped.entry("record-too-large").or_default() += 1;
                self.diag(
                    Severity::Error,
                    name,
                    Some(record),
                    Some(offset),
                    "record-too-large",
                    format!(
                        "record of {size} bytes or more exceeds the limit of {} bytes; skipped",
                        self.options.max_record_bytes
                    ),
                );
            }
        }
    }

    fn decode_bytes(&mut self, name: &Arc<str>, record: u64, offset: u64, bytes: Vec<u8>) {
        // Only an object can be an audit record: anything else is decoded, and the decoder
        // says what it is (a number, an array, not JSON at all).
        if let Some(filter) = self.filter.filter(|_| bytes.first() == Some(&b'{')) {
            if !filter(&bytes, None) {
                self.summary.prefiltered += 1;
                return;
            }
        }
        let value = match repair::parse_record(&bytes) {
            Ok((value, repairs)) => {
                for repair in repairs {
                    let (reason, detail) = repair.describe();
                    self.diag(
                        Severity::Warning,
                        name,
                        Some(record),
                        Some(offset),
                        reason,
                        detail,
                    );
                }
                value
            }
            Err(unparsed) => {
                *self.summary.skipped.entry("invalid-json").or_default() += 1;
                let at = match unparsed.after_utf8_repair {
                    true => offset + unparsed.error.column() as u64,
                    false => offset,
                };
                self.diag(
                    Severity::Error,
                    name,
                    Some(record),
                    Some(at),
                    "invalid-json",
                    unparsed.error.to_string(),
                );
                return;
            }
        };
        let provenance = Provenance {
            file: name.clone(),
            record,
            offset,
        };
        let (decoded, warnings) = decode_record_checked(value, &provenance);
        for warning in warnings {
            self.diag(
                Severity::Warning,
                name,
                Some(record),
                Some(offset),
                warning.reason,
                warning.detail,
            );
        }
        for decoded in decoded {
            match decoded {
                Decoded::Event(e) if !self.options.window.contains(e.time.instant) => {
                    self.summary.outside_window += 1;
                }
                Decoded::Event(e) => {
                    self.summary.events += 1;
                    self.summary.see_time(e.time.instant);
                    (self.on_event)(*e);
                }
                Decoded::NotAudit(kind) => {
                    *self.summary.not_audit.entry(kind.to_owned()).or_default() += 1;
                }
                Decoded::Invalid(reason) => {
                    let key = invalid_key(&reason);
                    *self.summary.skipped.entry(key).or_default() += 1;
                    self.diag(
                        Severity::Error,
                        name,
                        Some(record),
                        Some(offset),
                        key,
                        reason,
                    );
                }
            }
        }
    }
}

fn invalid_key(reason: &str) -> &'static str {
    if reason.contains("event time") {
        "bad-time"
    } else if reason.starts_with("record is") {
        "wrong-json-type"
    } else if reason.starts_with("unrecognised") {
        "unknown-format"
    } else {
        "bad-field"
    }
}

/// What kind of text file a non-JSON input is, from its first line.
fn text_kind(first_line: &str) -> &'static str {
    let l = first_line.trim();
    if l.starts_with("version account-id interface-id") || l.contains(" eni-") {
        "vpc-flow-log (text)"
    } else if l.starts_with("http ") || l.starts_with("https ") || l.starts_with("h2 ") {
        "load-balancer-log (text)"
    } else if l.contains("] ") && l.split(' ').next().is_some_and(|w| w.len() == 64) {
        "s3-access-log (text)"
    } else if l.contains(',') {
        "csv (text)"
    } else {
        "not-json (text)"
    }
}
