//! Framing: cutting a byte stream into JSON records without parsing them.
//!
//! The clouds deliver records in several containers: a `{"Records":[…]}` object (CloudTrail S3),
//! `{"records":[…]}` (Azure Event Hubs), `{"value":[…]}` (Azure REST pages), a top-level array,
//! JSON lines, or pretty-printed objects one after another. The framer recognises all of them
//! from the bytes as they stream past, so that memory is bounded by the largest record and
//! not by the size of a file: it tracks only string state and nesting depth, copies the bytes
//! of one record at a time, and hands them on to be parsed.
//!
//! Broken input never stops it. What the framer can tell without parsing makes a record
//! broken: a raw line break inside a string (illegal in JSON), an object that starts at column
//! 0 while another is still open (a truncated line of JSON lines), brackets that do not balance
//! (a record opened with `{` and closed by the array's `]`), a byte that cannot start a value
//! where a record should be, the input ending inside a record. The broken record and the bytes
//! after it up to the next place a record starts ([`resync`]) become one [`Frame::Broken`],
//! and framing goes on there, in the same layout (inside the same `Records` array).

use std::io::{self, BufRead};

use crate::{KeySpec, RecordFilter};

mod feed;
#[cfg(test)]
pub(crate) mod reference;
mod resync;
mod start;

use resync::{Seek, NOT_INDENT};

/// Where the keys of one whole record (an object or array, nothing around it) end: the offset
/// of the closing quote of every object key that ends in `d` or `e` (and perhaps of some
/// others), at any depth, in order. `None` when the record has a backslash, a colon outside
/// strings that does not follow a closing quote, a line break, or does not end at its last
/// byte: then the list might not name every key as written. Records cut on the framer's fast
/// path come with this list at no extra cost.
pub fn key_ends(record: &[u8]) -> Option<Vec<u32>> {
    ends_of_keys(record, false)
}

/// [`key_ends`] of every key, whatever its last letter (what the framer lists when
/// [`Framer::set_keys`] is given a key it would miss).
pub fn all_key_ends(record: &[u8]) -> Option<Vec<u32>> {
    ends_of_keys(record, true)
}

fn ends_of_keys(record: &[u8], all: bool) -> Option<Vec<u32>> {
    if !matches!(record.first(), Some(b'{' | b'[')) {
        return None;
    }
    let mut keys = crate::structural::Keys {
        all,
        ..Default::default()
    };
    let end = crate::structural::scan_value(record, 0, false, |_| false, Some(&mut keys))?;
    (end + 1 == record.len() && keys.plain).then_some(keys.ends)
}

/// One framed item.
#[derive(Debug)]
pub enum Frame {
    /// The bytes of one record (an object, or any other JSON value found where records are).
    Record { bytes: Vec<u8>, offset: u64 },
    /// A stretch of bytes that is not a complete record.
    Broken { offset: u64, reason: String },
    /// A record larger than the limit; its bytes were skipped, not kept.
    TooLarge { offset: u64, size: u64 },
    /// A record the filter of [`Framer::next_frame_filtered`] rejected; its bytes were not
    /// copied.
    Filtered { offset: u64 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Between top-level values.
    Top,
    /// Inside a top-level array whose elements are records.
    TopArray,
    /// Inside a top-level object: it may turn out to be a record or a container.
    TopObject,
    /// Inside the records array of a container object (`Records`, `records`, `value`).
    ContainerArray,
    /// After the records array of a container, until the container closes.
    ContainerTail,
    /// A top-level value that is not an object or array (a JSON lines line holding a number, a
    /// string, or garbage): framed up to the end of its line, so that the decoder can say what
    /// it is.
    TopLine,
}

/// What the framer found at the very start of the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Start {
    Json,
    /// The stream does not start with a JSON value; `first_line` is its first line (up to 200
    /// bytes) so the caller can say what kind of text it is.
    Text {
        first_line: String,
    },
    Empty,
}

/// Streams [`Frame`]s out of a reader.
pub struct Framer<R> {
    reader: R,
    limit: usize,
    /// Bytes consumed so far.
    offset: u64,
    mode: Mode,
    depth: u32,
    in_string: bool,
    escape: bool,
    at_line_start: bool,
    /// Bytes of the current item (record, or top-level object that may be a container).
    buf: Vec<u8>,
    buf_start: u64,
    /// Bytes of the current item dropped because it grew past the limit.
    overflow: bool,
    overflow_size: u64,
    /// Depth at which the current record started (1 in TopArray/TopObject, 2 in a container).
    record_depth: u32,
    in_record: bool,
    /// Key-tracking inside a top-level object, to recognise containers.
    last_key: Vec<u8>,
    key_capture: bool,
    expect_container_array: bool,
    started: bool,
    pub bom: bool,
    /// Byte-order marks removed by [`Framer::start`], and the offset of the first.
    start_boms: u32,
    first_bom: u64,
    pending: std::collections::VecDeque<Frame>,
    done: bool,
    skip_bom: u8,
    scalar_record: bool,
    /// Byte-order marks removed at the start of a line (concatenated files), not yet taken by
    /// [`Framer::take_line_boms`]: the index of the frame that follows each, and its offset.
    line_boms: Vec<(u64, u64)>,
    /// Frames pushed so far.
    frames: u64,
    /// The largest number of bytes held for one record at any time (for tests of the memory
    /// bound).
    peak_buffered: usize,
    /// Cut whole records out of the buffer in one tight loop where that gives the same frames
    /// ([`crate::structural::scan_value`]); off only to compare against the byte-at-a-time path.
    fast: bool,
    scratch: Vec<u8>,
    /// The input is the first `len` bytes of `scratch`, given by [`Framer::in_memory`] (the
    /// reader is not read), framed from `pos` on.
    memory: Option<Memory>,
    eof_clean: bool,
    /// Key ends of the record last cut on the fast path, for the filter.
    keys: crate::structural::Keys,
    /// The first byte of the record being framed: the byte that closes it must match.
    record_open: u8,
    /// Spaces or tabs between records since the last line feed, or [`NOT_INDENT`]: the
    /// indentation of the next record, when it is first on its line.
    gap_indent: u32,
    /// [`gap_indent`](Self::gap_indent) before the record being framed.
    record_indent: u32,
    /// Where the current top-level array started, and the frames pushed before it.
    top_array: (u64, u64),
    /// The opening of the first record of the current array (`{"eventVersion":`) and its
    /// indentation: where the array's records start, for [`Seek`]. `want_opening` until taken.
    array_opening: Option<Vec<u8>>,
    array_indent: u32,
    want_opening: bool,
    /// Looking for where records start again after a broken one.
    seek: Option<Seek>,
    /// Bytes to frame before the rest of the input: those of a broken record after its first
    /// byte (looked at again for where the next record starts), or the part of a record
    /// opening found across two reads.
    replay: Vec<u8>,
    /// How far bytes were read again, and how many times the bytes up to there were: a bound
    /// on the work hostile input can cause ([`MAX_REPLAYS`]).
    replay_until: u64,
    replays: u32,
    /// Bytes set aside to be read again so far ([`Framer::replayed`]).
    replayed: u64,
    /// A broken stretch whose end was found inside bytes read again, and where reading
    /// resumed: pushed with the next frame, or, when the record there breaks too before any
    /// frame, one stretch with it (a fragment of the same broken record).
    held_broken: Option<(Seek, u64)>,
}

/// How many times the same bytes are read again after broken records before the framer only
/// looks ahead.
pub const MAX_REPLAYS: u32 = 8;

/// Where the framer stands in input it was given whole ([`Framer::in_memory`]).
#[derive(Debug, Clone, Copy)]
struct Memory {
    pos: usize,
    len: usize,
}

/// How much the framer reads at a time.
const CHUNK: usize = 1 << 20;

thread_local! {
    /// The read buffer of the last framer dropped on this thread, for the next one: a scan
    /// opens one framer per file, and zeroing a fresh megabyte for each small file costs more
    /// than framing it.
    static SPARE: std::cell::Cell<Vec<u8>> = const { std::cell::Cell::new(Vec::new()) };
}

impl<R> Drop for Framer<R> {
    fn drop(&mut self) {
        let buf = std::mem::take(&mut self.scratch);
        if buf.len() == CHUNK {
            SPARE.with(|s| s.set(buf));
        }
    }
}

const CONTAINER_KEYS: [&[u8]; 4] = [b"Records", b"records", b"value", b"logEvents"];

impl<R: BufRead> Framer<R> {
    pub fn new(reader: R, limit: usize) -> Self {
        Framer {
            reader,
            limit,
            offset: 0,
            mode: Mode::Top,
            depth: 0,
            in_string: false,
            escape: false,
            at_line_start: true,
            buf: Vec::new(),
            buf_start: 0,
            overflow: false,
            overflow_size: 0,
            record_depth: 0,
            in_record: false,
            last_key: Vec::new(),
            key_capture: false,
            expect_container_array: false,
            started: false,
            bom: false,
            start_boms: 0,
            first_bom: 0,
            pending: Default::default(),
            done: false,
            skip_bom: 0,
            scalar_record: false,
            line_boms: Vec::new(),
            frames: 0,
            peak_buffered: 0,
            fast: true,
            scratch: SPARE.with(|s| s.take()),
            memory: None,
            keys: Default::default(),
            eof_clean: false,
            record_open: 0,
            gap_indent: NOT_INDENT,
            record_indent: NOT_INDENT,
            top_array: (0, 0),
            array_opening: None,
            array_indent: NOT_INDENT,
            want_opening: false,
            seek: None,
            replay: Vec::new(),
            replay_until: 0,
            replays: 0,
            replayed: 0,
            held_broken: None,
        }
    }

    /// List the keys `spec` names for the filter: those that end in `d` or `e`
    /// ([`key_ends`], the fast path marks those bytes) when that lists them all, every key
    /// ([`all_key_ends`]) otherwise.
    pub fn set_keys(&mut self, spec: &KeySpec) {
        self.keys.all = spec.needs_all();
    }

    /// Turn the fast path off (or on): the frames are the same either way, which tests and
    /// `SNAPBACK_NO_FAST_FRAMER=1` check.
    pub fn set_fast(&mut self, fast: bool) {
        self.fast = fast;
    }

    /// Frame the first `len` bytes of `bytes` (input already in memory: a gzip file inflated
    /// whole) instead of reading: the same frames, offsets and diagnostics as reading them
    /// through `reader` would give, without copying them into the read buffer first. The
    /// reader is not read. [`Framer::take_memory`] gives the buffer back.
    pub fn in_memory(&mut self, bytes: Vec<u8>, len: usize) {
        let spare = std::mem::replace(&mut self.scratch, bytes);
        if spare.len() == CHUNK {
            SPARE.with(|s| s.set(spare));
        }
        self.memory = Some(Memory {
            pos: 0,
            len: len.min(self.scratch.len()),
        });
    }

    /// The buffer given to [`Framer::in_memory`], if it was.
    pub fn take_memory(&mut self) -> Option<Vec<u8>> {
        self.memory.take()?;
        Some(std::mem::take(&mut self.scratch))
    }

    /// A framer that continues a stream at a clean record boundary (a line start between
    /// records of JSON lines) `offset` bytes in: no start-of-stream checks, offsets counted
    /// from `offset`. Frames of a chunk are numbered from zero.
    pub fn continuing(reader: R, limit: usize, offset: u64) -> Self {
        let mut f = Framer::new(reader, limit);
        f.started = true;
        f.offset = offset;
        f
    }

    /// Whether the input ended with the framer between top-level records at the start of a
    /// line: where a JSON lines stream can be cut into chunks framed independently.
    pub fn ended_clean(&self) -> bool {
        self.eof_clean
    }

    fn clean_here(&self) -> bool {
        self.mode == Mode::Top
            && self.depth == 0
            && !self.in_string
            && !self.in_record
            && self.seek.is_none()
            && self.replay.is_empty()
            && self.held_broken.is_none()
            && self.skip_bom == 0
            && !self.expect_container_array
            && self.at_line_start
            && self
                .line_boms
                .iter()
                .all(|(before, _)| *before < self.frames)
    }

    /// Offsets of the byte-order marks removed inside the stream before frame number `frame`
    /// (zero-based) started, and not taken yet.
    pub fn take_line_boms(&mut self, frame: u64) -> Vec<u64> {
        let (due, later): (Vec<_>, Vec<_>) = self
            .line_boms
            .iter()
            .partition(|(before, _)| *before <= frame);
        self.line_boms = later;
        due.into_iter().map(|(_, at)| at).collect()
    }

    /// The most bytes held for one record at any time so far: never more than the limit,
    /// however large a record is.
    pub fn peak_buffered(&self) -> usize {
        self.peak_buffered
    }

    /// Bytes consumed so far (of the decompressed stream).
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Bytes of broken records looked at again so far (for where the next record starts):
    /// at most [`MAX_REPLAYS`] times the input, whatever it holds.
    pub fn replayed(&self) -> u64 {
        self.replayed
    }

    /// The next frame, or `None` at the end of the stream. An I/O error (a truncated gzip
    /// member, say) ends the stream and is returned once.
    pub fn next_frame(&mut self) -> Option<io::Result<Frame>> {
        self.next_frame_filtered(None)
    }

    /// [`next_frame`](Self::next_frame), where records that `filter` rejects may come as
    /// [`Frame::Filtered`] without their bytes (records cut on the fast path; others come
    /// whole, for the caller to test).
    pub fn next_frame_filtered(
        &mut self,
        filter: Option<&RecordFilter<'_>>,
    ) -> Option<io::Result<Frame>> {
        if !self.started {
            if let Err(e) = self.start() {
                self.done = true;
                return Some(Err(e));
            }
        }
        loop {
            if let Some(f) = self.pending.pop_front() {
                return Some(Ok(f));
            }
            if self.done {
                return None;
            }
            if let Some(m) = self.memory.as_mut() {
                // Input given whole: framed where it is, a read's worth at a time (so that
                // the frames are those reading would give).
                if m.pos < m.len {
                    let (from, to) = (m.pos, m.len.min(m.pos + CHUNK));
                    m.pos = to;
                    let chunk = std::mem::take(&mut self.scratch);
                    self.feed(&chunk[from..to], filter);
                    self.scratch = chunk;
                } else {
                    self.done = true;
                    self.eof_clean = self.clean_here();
                    self.finish_at_eof(filter);
                }
                continue;
            }
            // Read straight into our own buffer: a BufReader with an empty buffer hands a large
            // read through, so the bytes are copied once.
            // `scratch` keeps its length between reads, so it is zeroed once, not per read.
            let mut chunk = std::mem::take(&mut self.scratch);
            if chunk.len() < CHUNK {
                chunk.resize(CHUNK, 0);
            }
            let n = match self.reader.read(&mut chunk) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {
                    self.scratch = chunk;
                    continue;
                }
                Err(e) => {
                    // A truncated or corrupt compressed stream: report the record it cut off,
                    // then the error itself.
                    self.scratch = chunk;
                    self.done = true;
                    self.finish_at_eof(filter);
                    self.push_frame(Frame::Broken {
                        offset: self.offset,
                        reason: format!("read error: {e}"),
                    });
                    continue;
                }
            };
            if n == 0 {
                self.scratch = chunk;
                self.done = true;
                self.eof_clean = self.clean_here();
                self.finish_at_eof(filter);
                continue;
            }
            self.feed(&chunk[..n], filter);
            self.scratch = chunk;
        }
    }

    /// The input has ended: a record or container still open is broken; so is a broken
    /// stretch still looking for the next record.
    fn finish_at_eof(&mut self, filter: Option<&RecordFilter<'_>>) {
        loop {
            if let Some(seek) = self.seek.take() {
                let detail = seek.detail(None, self.offset);
                self.push_frame(Frame::Broken {
                    offset: seek.start,
                    reason: detail,
                });
                // The broken stretch runs to the end, whatever it left open.
                self.reset_to_top();
                return;
            }
            if self.mode == Mode::TopLine && !self.in_string {
                // The last line of JSON lines needs no line break.
                self.end_record();
                self.reset_to_top();
                return;
            }
            if self.in_record {
                let what = if self.in_string {
                    "string"
                } else {
                    "object or array"
                };
                // Whether reading resumes after it is told by `Seek::detail`.
                let reason = format!(
                    "record never closes (unterminated {what}): cut off, or the file is truncated"
                );
                let how = feed::Break {
                    again: true,
                    ..Default::default()
                };
                self.break_off(self.offset, reason, how);
                // The records its bytes may hold, then the end again.
                self.feed(&[], filter);
                continue;
            }
            self.flush_broken();
            if self.mode != Mode::Top {
                self.push_frame(Frame::Broken {
                    offset: self.offset,
                    reason: "input ends inside a container (unterminated object or array; the file may be truncated)".into(),
                });
                self.reset_to_top();
            }
            return;
        }
    }

    fn push_frame(&mut self, frame: Frame) {
        if self.held_broken.is_some() {
            self.flush_broken();
        }
        self.frames += 1;
        self.pending.push_back(frame);
    }

    /// Push the broken stretch held back ([`Framer::held_broken`]), if any.
    #[cold]
    #[inline(never)]
    fn flush_broken(&mut self) {
        if let Some((seek, resumed)) = self.held_broken.take() {
            self.frames += 1;
            self.pending.push_back(Frame::Broken {
                offset: seek.start,
                reason: seek.detail(Some(resumed), resumed),
            });
        }
    }

    fn reset_to_top(&mut self) {
        self.mode = Mode::Top;
        self.depth = 0;
        self.in_string = false;
        self.escape = false;
        self.in_record = false;
        self.buf.clear();
        self.overflow = false;
        self.overflow_size = 0;
        self.key_capture = false;
        self.expect_container_array = false;
        // A scalar array element cut off by a line break must not make the next record one.
        self.scalar_record = false;
    }

    fn push_byte(&mut self, b: u8) {
        if !self.in_record {
            return;
        }
        if self.overflow {
            self.overflow_size += 1;
            return;
        }
        if self.buf.len() >= self.limit {
            self.overflow = true;
            self.overflow_size = self.buf.len() as u64 + 1;
            self.buf = Vec::new();
            return;
        }
        self.buf.push(b);
        self.peak_buffered = self.peak_buffered.max(self.buf.capacity());
    }

    fn begin_record(&mut self, at: u64, open: u8) {
        self.in_record = true;
        self.buf.clear();
        self.buf_start = at;
        self.overflow = false;
        self.overflow_size = 0;
        self.record_depth = self.depth;
        self.record_open = open;
        self.record_indent = self.gap_indent;
    }

    fn end_record(&mut self) {
        self.in_record = false;
        if self.want_opening && !self.overflow {
            self.note_opening_of(None);
        }
        let frame = if self.overflow {
            Frame::TooLarge {
                offset: self.buf_start,
                size: self.overflow_size,
            }
        } else {
            Frame::Record {
                bytes: std::mem::take(&mut self.buf),
                offset: self.buf_start,
            }
        };
        self.overflow = false;
        self.push_frame(frame);
    }

    /// Keep the opening of the first record of an array framed whole (`record`, or the
    /// record held in `buf`), a place where its records start.
    #[cold]
    fn note_opening_of(&mut self, record: Option<&[u8]>) {
        let (bytes, indent) = match record {
            Some(r) => (r, self.gap_indent),
            None => (&self.buf[..], self.record_indent),
        };
        if let Some(opening) = resync::signature(bytes) {
            self.array_opening = Some(opening);
            self.array_indent = indent;
            self.want_opening = false;
        }
    }

    /// A new array of records begins at `at`: its records' opening is not known yet.
    fn begin_array(&mut self, at: u64) {
        self.array_opening = None;
        self.array_indent = NOT_INDENT;
        self.want_opening = true;
        self.gap_indent = NOT_INDENT;
        if self.mode == Mode::TopArray {
            self.top_array = (at, self.frames);
        }
    }
}

/// Whether the key just before a `:` could be a container key: the byte-at-a-time framer
/// takes the object for a container when the string before the `:` (whitespace aside) reads
/// exactly one of their names; this answers yes whenever the bytes end with `NAME"`.
pub(crate) fn names_container(before: &[u8]) -> bool {
    let mut end = before.len();
    while end > 0 && before[end - 1].is_ascii_whitespace() {
        end -= 1;
    }
    let b = &before[..end];
    b.len() >= 2
        && b[b.len() - 1] == b'"'
        && matches!(b[b.len() - 2], b's' | b'e')
        && CONTAINER_KEYS
            .iter()
            .any(|k| b.len() > k.len() && &b[b.len() - 1 - k.len()..b.len() - 1] == *k)
}

fn show_byte(b: u8) -> String {
    if b.is_ascii_graphic() {
        format!("'{}'", b as char)
    } else {
        format!("0x{b:02x}")
    }
}
