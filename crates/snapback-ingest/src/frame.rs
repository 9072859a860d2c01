//! Framing: cutting a byte stream into JSON records without parsing them.
//!
//! The clouds deliver records in several containers: a `{"Records":[…]}` object (CloudTrail S3),
//! `{"records":[…]}` (Azure Event Hubs), `{"value":[…]}` (Azure REST pages), a top-level array,
//! JSON lines, or pretty-printed objects one after another. The framer recognises all of them
//! from the bytes as they stream past, so that memory is bounded by the largest record and
//! not by the size of a file: it tracks only string state and nesting depth, copies the bytes
//! of one record at a time, and hands them on to be parsed.
//!
//! Broken input never stops it. A raw line break inside a string (illegal in JSON), an object
//! that starts at column 0 while another is still open (a truncated line of JSON lines), or a
//! byte that cannot start a value each become a [`Frame::Broken`] and the framer resynchronises
//! at the next line.

use std::io::{self, BufRead};

use crate::RecordFilter;

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
/// [`Framer::set_all_keys`] asks it to).
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
    pending: std::collections::VecDeque<Frame>,
    done: bool,
    skip_line: bool,
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
}

/// What input is, from its first byte that is not white space on (`rest` is not empty): JSON,
/// or text, named by its first line.
fn start_of(rest: &[u8]) -> Start {
    if rest[0] == b'{' || rest[0] == b'[' {
        return Start::Json;
    }
    let line: Vec<u8> = rest
        .iter()
        .take_while(|&&b| b != b'\n')
        .take(200)
        .copied()
        .collect();
    Start::Text {
        first_line: String::from_utf8_lossy(&line).into_owned(),
    }
}

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
            pending: Default::default(),
            done: false,
            skip_line: false,
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
        }
    }

    /// List every key of a record for the filter ([`all_key_ends`]), not only those that end
    /// in `d` or `e` ([`key_ends`]).
    pub fn set_all_keys(&mut self, all: bool) {
        self.keys.all = all;
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
            && !self.skip_line
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

    /// Look at the start of the stream: JSON, text, or nothing. Consumes a byte-order mark.
    pub fn start(&mut self) -> io::Result<Start> {
        self.started = true;
        if let Some(m) = self.memory {
            return Ok(self.start_in_memory(m));
        }
        let buf = self.reader.fill_buf()?;
        if buf.starts_with(&[0xEF, 0xBB, 0xBF]) {
            self.bom = true;
            self.reader.consume(3);
            self.offset += 3;
        }
        loop {
            let buf = self.reader.fill_buf()?;
            if buf.is_empty() {
                return Ok(Start::Empty);
            }
            let ws = buf.iter().take_while(|b| b.is_ascii_whitespace()).count();
            if ws == buf.len() {
                let n = buf.len();
                self.reader.consume(n);
                self.offset += n as u64;
                continue;
            }
            return Ok(start_of(&buf[ws..]));
        }
    }

    /// [`start`](Self::start) over input given whole: what reading it would find.
    fn start_in_memory(&mut self, mut m: Memory) -> Start {
        let all = &self.scratch[..m.len];
        if all[m.pos..].starts_with(&[0xEF, 0xBB, 0xBF]) {
            self.bom = true;
            m.pos += 3;
            self.offset += 3;
        }
        let buf = &all[m.pos..];
        let ws = buf.iter().take_while(|b| b.is_ascii_whitespace()).count();
        let start = if ws == buf.len() {
            // Read to its end, as the reader would be.
            m.pos += ws;
            self.offset += ws as u64;
            Start::Empty
        } else {
            start_of(&buf[ws..])
        };
        self.memory = Some(m);
        start
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
                    self.finish_at_eof();
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
                    self.finish_at_eof();
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
                self.finish_at_eof();
                continue;
            }
            self.feed(&chunk[..n], filter);
            self.scratch = chunk;
        }
    }

    fn finish_at_eof(&mut self) {
        if self.mode == Mode::TopLine && !self.in_string {
            // The last line of JSON lines needs no line break.
            self.end_record();
            self.reset_to_top();
            return;
        }
        if self.in_record || self.mode != Mode::Top {
            let what = if self.in_record {
                "record"
            } else {
                "container"
            };
            let start = if self.in_record {
                self.buf_start
            } else {
                self.offset
            };
            self.push_frame(Frame::Broken {
                offset: start,
                reason: format!(
                    "input ends inside a {what} (unterminated {}; the file may be truncated)",
                    if self.in_string {
                        "string"
                    } else {
                        "object or array"
                    }
                ),
            });
            self.reset_to_top();
        }
    }

    fn push_frame(&mut self, frame: Frame) {
        self.frames += 1;
        self.pending.push_back(frame);
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

    fn begin_record(&mut self, at: u64) {
        self.in_record = true;
        self.buf.clear();
        self.buf_start = at;
        self.overflow = false;
        self.overflow_size = 0;
        self.record_depth = self.depth;
    }

    fn end_record(&mut self) {
        self.in_record = false;
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

    /// Break off the current item and skip to the next line.
    fn broken(&mut self, at: u64, reason: String) {
        let offset = if self.in_record { self.buf_start } else { at };
        self.push_frame(Frame::Broken { offset, reason });
        self.reset_to_top();
        self.skip_line = true;
    }

    fn feed(&mut self, chunk: &[u8], filter: Option<&RecordFilter<'_>>) {
        let mut i = 0;
        while i < chunk.len() {
            let b = chunk[i];
            if self.fast
                && (b == b'{' || b == b'[')
                && !self.in_string
                && !self.in_record
                && !self.skip_line
                && self.skip_bom == 0
            {
                let top = match self.mode {
                    Mode::Top if b == b'{' && !self.expect_container_array => Some(true),
                    Mode::TopArray | Mode::ContainerArray => Some(false),
                    _ => None,
                };
                if let Some(top) = top {
                    let keys = filter.is_some().then_some(&mut self.keys);
                    if let Some(end) =
                        crate::structural::scan_value(chunk, i, top, names_container, keys)
                    {
                        let len = end + 1 - i;
                        let at = self.offset;
                        let frame = if len > self.limit {
                            Frame::TooLarge {
                                offset: at,
                                size: len as u64,
                            }
                        } else if filter.is_some_and(|f| {
                            let keys = self.keys.plain.then_some(crate::KeyList {
                                ends: &self.keys.ends,
                                all: self.keys.all,
                            });
                            !f(&chunk[i..=end], keys)
                        }) {
                            Frame::Filtered { offset: at }
                        } else {
                            self.peak_buffered = self.peak_buffered.max(len);
                            Frame::Record {
                                bytes: chunk[i..=end].to_vec(),
                                offset: at,
                            }
                        };
                        self.push_frame(frame);
                        self.offset += len as u64;
                        self.at_line_start = false;
                        i = end + 1;
                        continue;
                    }
                }
            }
            let at = self.offset;
            self.offset += 1;
            i += 1;
            let line_start = self.at_line_start;
            self.at_line_start = b == b'\n';
            if self.skip_line {
                if b == b'\n' {
                    self.skip_line = false;
                }
                continue;
            }
            if self.in_string {
                if b == b'\n' || b == b'\r' {
                    self.broken(
                        at,
                        "line break inside a string: the record is cut off or is not JSON".into(),
                    );
                    self.skip_line = false;
                    self.at_line_start = b == b'\n';
                    continue;
                }
                self.push_byte(b);
                if self.key_capture && !self.escape && b != b'"' && self.last_key.len() < 16 {
                    self.last_key.push(b);
                }
                if self.escape {
                    self.escape = false;
                } else if b == b'\\' {
                    self.escape = true;
                } else if b == b'"' {
                    self.in_string = false;
                    self.key_capture = false;
                }
                continue;
            }
            if self.mode == Mode::TopLine && b == b'\n' {
                self.end_record();
                self.mode = Mode::Top;
                continue;
            }
            if b.is_ascii_whitespace() {
                self.push_byte(b);
                continue;
            }
            match self.mode {
                Mode::Top => match b {
                    b'[' => {
                        self.mode = Mode::TopArray;
                        self.depth = 1;
                    }
                    b'{' => {
                        self.mode = Mode::TopObject;
                        self.depth = 1;
                        self.begin_record(at);
                        self.record_depth = 1;
                        self.push_byte(b);
                        self.last_key.clear();
                    }
                    0xEF if line_start && self.skip_bom == 0 => {
                        // A byte-order mark at the start of a line (concatenated files).
                        self.skip_bom = 2;
                        self.line_boms.push((self.frames, at));
                    }
                    0xBB if self.skip_bom == 2 => self.skip_bom = 1,
                    0xBF if self.skip_bom == 1 => {
                        self.skip_bom = 0;
                        self.bom = true;
                    }
                    _ if self.skip_bom > 0 => {
                        self.skip_bom = 0;
                        self.line_boms.pop();
                        self.broken(
                            at,
                            format!(
                                "unexpected byte {} where a JSON record should start",
                                show_byte(b)
                            ),
                        );
                    }
                    _ => {
                        // Not an object or array: frame the line and let the decoder say what
                        // it is (a number, a string, or not JSON at all).
                        self.mode = Mode::TopLine;
                        self.begin_record(at);
                        self.push_byte(b);
                        if b == b'"' {
                            self.in_string = true;
                        }
                    }
                },
                Mode::TopLine => self.push_byte(b),
                Mode::TopArray => self.feed_array_byte(b, at, 1, Mode::Top),
                Mode::ContainerArray => self.feed_array_byte(b, at, 2, Mode::ContainerTail),
                Mode::TopObject | Mode::ContainerTail => {
                    if b == b'{' && line_start && self.mode == Mode::TopObject && self.depth > 0 {
                        // A new top-level object at column 0 while one is open: the previous
                        // line of JSON lines was cut off.
                        self.push_frame(Frame::Broken {
                            offset: self.buf_start,
                            reason: "record is cut off (a new record starts on the next line before it closes)".into(),
                        });
                        self.reset_to_top();
                        self.mode = Mode::TopObject;
                        self.depth = 1;
                        self.begin_record(at);
                        self.push_byte(b);
                        self.last_key.clear();
                        continue;
                    }
                    self.push_byte(b);
                    match b {
                        b'"' => {
                            self.in_string = true;
                            if self.depth == 1 && self.mode == Mode::TopObject {
                                self.last_key.clear();
                                self.key_capture = true;
                            }
                        }
                        b':' if self.depth == 1 && self.mode == Mode::TopObject => {
                            self.expect_container_array =
                                CONTAINER_KEYS.contains(&self.last_key.as_slice());
                        }
                        b'[' if self.depth == 1
                            && self.mode == Mode::TopObject
                            && self.expect_container_array =>
                        {
                            // The object is a container: its records stream out one by one.
                            self.in_record = false;
                            self.buf.clear();
                            self.mode = Mode::ContainerArray;
                            self.depth = 2;
                            self.expect_container_array = false;
                        }
                        b'{' | b'[' => {
                            self.depth += 1;
                            self.expect_container_array = false;
                        }
                        b'}' | b']' => {
                            self.depth = self.depth.saturating_sub(1);
                            if self.depth == 0 {
                                if self.mode == Mode::TopObject {
                                    self.end_record();
                                }
                                self.mode = Mode::Top;
                                self.in_record = false;
                            }
                        }
                        _ => {
                            if self.depth == 1 {
                                self.expect_container_array = false;
                            }
                        }
                    }
                }
            }
        }
    }

    /// A byte inside an array of records; `array_depth` is the depth inside the array.
    fn feed_array_byte(&mut self, b: u8, at: u64, array_depth: u32, after: Mode) {
        if !self.in_record {
            match b {
                b',' => {}
                b']' => {
                    self.depth -= 1;
                    self.mode = after;
                    if after == Mode::ContainerTail {
                        // Resume tracking the container object at depth 1.
                        self.in_record = false;
                    }
                }
                b'{' | b'[' => {
                    self.begin_record(at);
                    self.depth += 1;
                    self.record_depth = array_depth;
                    self.push_byte(b);
                }
                b'"' => {
                    self.begin_record(at);
                    self.push_byte(b);
                    self.in_string = true;
                    self.scalar_record = true;
                }
                _ => {
                    // A scalar element: frame it up to the next separator.
                    self.begin_record(at);
                    self.push_byte(b);
                    self.scalar_record = true;
                }
            }
            return;
        }
        if self.scalar_record {
            if b == b',' || b == b']' {
                self.scalar_record = false;
                self.end_record();
                if b == b']' {
                    self.depth -= 1;
                    self.mode = after;
                }
            } else {
                self.push_byte(b);
            }
            return;
        }
        self.push_byte(b);
        match b {
            b'"' => self.in_string = true,
            b'{' | b'[' => self.depth += 1,
            b'}' | b']' => {
                self.depth -= 1;
                if self.depth == array_depth {
                    self.end_record();
                }
            }
            _ => {}
        }
    }
}

/// Byte classes for [`scan_value_bytes`]: 0 ordinary, 1 quote, 2 open, 3 close, 4 line feed.
#[cfg(test)]
const CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    t[b'"' as usize] = 1;
    t[b'{' as usize] = 2;
    t[b'[' as usize] = 2;
    t[b'}' as usize] = 3;
    t[b']' as usize] = 3;
    t[b'\n' as usize] = 4;
    t
};

/// Bytes that end a run inside a string: quote, backslash, line breaks.
#[cfg(test)]
const STRING_STOP: [bool; 256] = {
    let mut t = [false; 256];
    t[b'"' as usize] = true;
    t[b'\\' as usize] = true;
    t[b'\n' as usize] = true;
    t[b'\r' as usize] = true;
    t
};

/// The fast path, a byte at a time (the reference for [`crate::structural::scan_value`],
/// which the framer uses): the index of the byte that closes the object or array opening at
/// `chunk[start]`, when the byte-at-a-time framer would frame exactly `chunk[start..=end]` as
/// one record from this state, and `None` whenever it might not (the value runs past the
/// buffer; a line break in a string, which is a broken record; a line feed outside strings,
/// where the slow framer may resynchronise; a top-level key that names a container). `top` is
/// true for a top-level object, false for an element of an array.
#[cfg(test)]
pub(crate) fn scan_value_bytes(chunk: &[u8], start: usize, top: bool) -> Option<usize> {
    let n = chunk.len();
    let mut depth = 0u32;
    let mut i = start;
    while i < n {
        match CLASS[chunk[i] as usize] {
            0 => {
                if top && depth == 1 && chunk[i] == b':' && names_container(&chunk[start..i]) {
                    return None;
                }
                i += 1;
            }
            1 => {
                i += 1;
                loop {
                    while i < n && !STRING_STOP[chunk[i] as usize] {
                        i += 1;
                    }
                    match chunk.get(i) {
                        Some(b'"') => {
                            i += 1;
                            break;
                        }
                        Some(b'\\') => match chunk.get(i + 1) {
                            Some(b'\n' | b'\r') | None => return None,
                            Some(_) => i += 2,
                        },
                        _ => return None,
                    }
                }
            }
            2 => {
                depth += 1;
                i += 1;
            }
            3 => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
                i += 1;
            }
            _ => {
                // A line feed outside strings: the byte-at-a-time framer resynchronises on
                // lines after broken input, so a record spanning lines is left to it (one-line
                // records, the CloudTrail and JSON-lines layouts, stay on the fast path).
                return None;
            }
        }
    }
    None
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
