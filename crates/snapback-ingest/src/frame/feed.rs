//! The framer's byte machine: whole records cut on the fast path where it applies, every
//! other byte one at a time, and what happens when a record turns out broken.

use std::io::BufRead;

use super::resync::{self, Context, Seek, NOT_INDENT};
use super::{names_container, show_byte, Frame, Framer, Mode, CONTAINER_KEYS, MAX_REPLAYS};
use crate::RecordFilter;

/// What became of a byte given to the byte machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Step {
    Next,
    /// The record broke here; `again`: this byte was not taken, and is looked at again.
    Broke {
        again: bool,
    },
}

/// How a record broke.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Break {
    /// The byte that showed it is not part of the broken record: it is looked at again.
    pub again: bool,
    /// That byte starts a line.
    pub line_start: bool,
    /// A top-level array that was never one (a line of `[[[` in JSON lines): reading goes on
    /// at the top level, not inside it.
    pub drop_array: bool,
}

impl<R: BufRead> Framer<R> {
    /// Frame one read's worth of input (and, first, whatever a broken record left to read
    /// again).
    pub(super) fn feed(&mut self, chunk: &[u8], filter: Option<&RecordFilter<'_>>) {
        let mut i = 0;
        loop {
            if !self.replay.is_empty() {
                let bytes = std::mem::take(&mut self.replay);
                let stop = self.feed_from(&bytes, 0, filter);
                // Broken again inside them: that record's bytes first, then the rest of these.
                self.replay.extend_from_slice(&bytes[stop..]);
                continue;
            }
            if i >= chunk.len() {
                return;
            }
            i = self.feed_from(chunk, i, filter);
        }
    }

    /// Frame `input` from `i` on. Returns where it stopped: its end, or earlier when bytes
    /// were set aside to be framed first ([`Framer::replay`]).
    fn feed_from(
        &mut self,
        input: &[u8],
        mut i: usize,
        filter: Option<&RecordFilter<'_>>,
    ) -> usize {
        while i < input.len() {
            if self.seek.is_some() {
                i = self.seek_in(input, i);
                if !self.replay.is_empty() {
                    return i;
                }
                continue;
            }
            let b = input[i];
            if self.fast
                && (b == b'{' || b == b'[')
                && !self.in_string
                && !self.in_record
                && self.skip_bom == 0
            {
                if let Some(next) = self.fast_record(input, i, filter) {
                    i = next;
                    continue;
                }
            }
            let at = self.offset;
            self.offset += 1;
            i += 1;
            let line_start = self.at_line_start;
            self.at_line_start = b == b'\n';
            if let Step::Broke { again } = self.feed_byte(b, at, line_start) {
                if again {
                    i -= 1;
                    self.at_line_start = line_start;
                }
                if !self.replay.is_empty() {
                    return i;
                }
            }
        }
        i
    }

    /// A whole record cut on the fast path ([`crate::structural::scan_value`]) from
    /// `input[i]` (`{` or `[`, outside any record). Returns where framing goes on, or `None`
    /// to leave the record to the byte machine.
    fn fast_record(
        &mut self,
        input: &[u8],
        i: usize,
        filter: Option<&RecordFilter<'_>>,
    ) -> Option<usize> {
        let b = input[i];
        let top = match self.mode {
            Mode::Top if b == b'{' && !self.expect_container_array => true,
            Mode::TopArray | Mode::ContainerArray => false,
            _ => return None,
        };
        let keys = filter.is_some().then_some(&mut self.keys);
        let end = crate::structural::scan_value(input, i, top, names_container, keys)?;
        if input[end] != b + 2 {
            return Some(self.unbalanced_fast(input, i, end));
        }
        let len = end + 1 - i;
        let at = self.offset;
        if self.want_opening {
            self.note_opening_of(Some(&input[i..=end]));
        }
        // Only an object can be an audit record: anything else goes to the decoder, which
        // says what it is.
        let frame = if len > self.limit {
            Frame::TooLarge {
                offset: at,
                size: len as u64,
            }
        } else if b == b'{'
            && filter.is_some_and(|f| {
                let keys = self.keys.plain.then_some(crate::KeyList {
                    ends: &self.keys.ends,
                    all: self.keys.all,
                });
                !f(&input[i..=end], keys)
            })
        {
            Frame::Filtered { offset: at }
        } else {
            self.peak_buffered = self.peak_buffered.max(len);
            Frame::Record {
                bytes: input[i..=end].to_vec(),
                offset: at,
            }
        };
        self.push_frame(frame);
        // The separator after the record, taken here as the byte machine would take it: a
        // line feed (JSON lines), a comma between the elements of an array.
        let next = match input.get(end + 1) {
            Some(b'\n') => {
                self.at_line_start = true;
                self.gap_indent = 0;
                end + 2
            }
            Some(b',') if !top => {
                self.at_line_start = false;
                self.gap_indent = NOT_INDENT;
                end + 2
            }
            _ => {
                self.at_line_start = false;
                self.gap_indent = NOT_INDENT;
                end + 1
            }
        };
        self.offset = at + (next - i) as u64;
        Some(next)
    }

    /// [`fast_record`](Self::fast_record) found a record closed by the other kind of bracket:
    /// broken, as [`break_off`](Self::break_off) would have it. Returns where framing goes on.
    #[cold]
    fn unbalanced_fast(&mut self, input: &[u8], i: usize, end: usize) -> usize {
        let at = self.offset;
        let len = (end + 1 - i) as u64;
        let held = len as usize <= self.limit && self.may_replay(at, at + len);
        let opening = resync::signature(&input[i..=end]);
        let reason = unbalanced(input[i], input[end]);
        self.start_seek(
            (at, at + len),
            reason,
            opening.as_deref(),
            self.gap_indent,
            Break::default(),
        );
        if held {
            self.offset = at + 1;
            i + 1
        } else {
            self.offset = at + len;
            end + 1
        }
    }

    /// One byte, outside the fast path.
    fn feed_byte(&mut self, b: u8, at: u64, line_start: bool) -> Step {
        if self.in_string {
            return self.string_byte(b, at, line_start);
        }
        if self.mode == Mode::TopLine && b == b'\n' {
            self.end_record();
            self.mode = Mode::Top;
            return Step::Next;
        }
        if b.is_ascii_whitespace() {
            self.push_byte(b);
            if !self.in_record {
                self.gap_indent = match b {
                    b'\n' => 0,
                    b' ' | b'\t' if self.gap_indent != NOT_INDENT => self.gap_indent + 1,
                    _ => NOT_INDENT,
                };
            }
            return Step::Next;
        }
        if b == b'{'
            && line_start
            && self.in_record
            && !self.scalar_record
            && matches!(
                self.mode,
                Mode::TopObject | Mode::TopArray | Mode::ContainerArray
            )
        {
            // A new object at column 0 while a record is open: that record was cut off (a
            // truncated line of JSON lines). A top-level "array" whose open element is itself
            // an array was a stray line of brackets: reading goes on at the top level.
            let drop_array = self.mode == Mode::TopArray && self.record_open == b'[';
            let reason =
                "record is cut off (a new record starts on the next line before it closes)";
            return self.break_off(
                at,
                reason.into(),
                Break {
                    again: true,
                    line_start,
                    drop_array,
                },
            );
        }
        match self.mode {
            Mode::Top => self.top_byte(b, at, line_start),
            Mode::TopLine => {
                self.push_byte(b);
                Step::Next
            }
            Mode::TopArray => self.array_byte(b, at, 1, Mode::Top),
            Mode::ContainerArray => self.array_byte(b, at, 2, Mode::ContainerTail),
            Mode::TopObject | Mode::ContainerTail => self.object_byte(b, at),
        }
    }

    fn string_byte(&mut self, b: u8, at: u64, line_start: bool) -> Step {
        if b == b'\n' || b == b'\r' {
            let reason = "line break inside a string: the record is cut off or is not JSON";
            let how = Break {
                again: true,
                line_start,
                drop_array: false,
            };
            return self.break_off(at, reason.into(), how);
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
        Step::Next
    }

    /// A byte between top-level values.
    fn top_byte(&mut self, b: u8, at: u64, line_start: bool) -> Step {
        match b {
            b'[' => {
                self.mode = Mode::TopArray;
                self.depth = 1;
                self.begin_array(at);
            }
            b'{' => {
                self.mode = Mode::TopObject;
                self.depth = 1;
                self.begin_record(at, b);
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
                return self.unexpected(b, at, "where a JSON record should start");
            }
            b'"' | b'-' | b'0'..=b'9' | b't' | b'f' | b'n' => {
                // A value that is not an object or array: frame the line and let the decoder
                // say what it is (a number, a string, or not JSON after all).
                self.mode = Mode::TopLine;
                self.begin_record(at, b);
                self.push_byte(b);
                if b == b'"' {
                    self.in_string = true;
                }
            }
            _ => return self.unexpected(b, at, "where a JSON record should start"),
        }
        Step::Next
    }

    /// A byte of a top-level object (a record, or a container until its records array), or
    /// of a container after its records array.
    fn object_byte(&mut self, b: u8, at: u64) -> Step {
        self.push_byte(b);
        let top_object = self.mode == Mode::TopObject;
        match b {
            b'"' => {
                self.in_string = true;
                if self.depth == 1 && top_object {
                    self.last_key.clear();
                    self.key_capture = true;
                }
            }
            b':' if self.depth == 1 && top_object => {
                self.expect_container_array = CONTAINER_KEYS.contains(&self.last_key.as_slice());
            }
            b'[' if self.depth == 1 && top_object && self.expect_container_array => {
                // The object is a container: its records stream out one by one.
                self.in_record = false;
                self.buf.clear();
                self.mode = Mode::ContainerArray;
                self.depth = 2;
                self.expect_container_array = false;
                self.begin_array(at);
            }
            b'{' | b'[' => {
                self.depth += 1;
                self.expect_container_array = false;
            }
            b'}' | b']' => {
                self.depth = self.depth.saturating_sub(1);
                if self.depth == 0 {
                    if top_object {
                        if b != b'}' {
                            return self.break_off(at, unbalanced(b'{', b), Break::default());
                        }
                        self.end_record();
                    }
                    self.mode = Mode::Top;
                    self.in_record = false;
                }
            }
            _ => {
                if self.depth == 1 {
                    self.expect_container_array = false;
                    // Anything but white space between a key and its `:` (not JSON) means
                    // the key is no container's: the fast path's `names_container` reads it
                    // so, and both paths must frame alike (found by the frame fuzz target).
                    self.last_key.clear();
                }
            }
        }
        Step::Next
    }

    /// A byte inside an array of records; `array_depth` is the depth inside the array.
    fn array_byte(&mut self, b: u8, at: u64, array_depth: u32, after: Mode) -> Step {
        if !self.in_record {
            return self.between_records(b, at, array_depth, after);
        }
        if self.scalar_record {
            match b {
                b',' | b']' => {
                    self.scalar_record = false;
                    self.end_record();
                    if b == b']' {
                        self.depth -= 1;
                        self.mode = after;
                    }
                }
                b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'+' | b'-' | b'.' => self.push_byte(b),
                _ => {
                    let reason = format!(
                        "unexpected byte {} in a value where a record should be",
                        show_byte(b)
                    );
                    let how = Break {
                        again: true,
                        ..Break::default()
                    };
                    return self.break_off(at, reason, how);
                }
            }
            return Step::Next;
        }
        self.push_byte(b);
        match b {
            b'"' => self.in_string = true,
            b'{' | b'[' => self.depth += 1,
            b'}' | b']' => {
                self.depth -= 1;
                if self.depth == array_depth {
                    if b != self.record_open + 2 {
                        let reason = unbalanced(self.record_open, b);
                        return self.break_off(at, reason, Break::default());
                    }
                    self.end_record();
                }
            }
            _ => {}
        }
        Step::Next
    }

    /// A byte between the elements of an array of records.
    fn between_records(&mut self, b: u8, at: u64, array_depth: u32, after: Mode) -> Step {
        match b {
            b',' => {}
            b']' => {
                self.depth -= 1;
                self.mode = after;
            }
            b'{' | b'[' => {
                self.begin_record(at, b);
                self.depth += 1;
                self.record_depth = array_depth;
                self.push_byte(b);
            }
            b'"' => {
                self.begin_record(at, b);
                self.push_byte(b);
                self.in_string = true;
                self.scalar_record = true;
            }
            b'-' | b'0'..=b'9' | b't' | b'f' | b'n' => {
                // A scalar element: framed up to the next separator, for the decoder.
                self.begin_record(at, b);
                self.push_byte(b);
                self.scalar_record = true;
            }
            _ => return self.unexpected(b, at, "where a record should start"),
        }
        self.gap_indent = NOT_INDENT;
        Step::Next
    }

    #[cold]
    fn unexpected(&mut self, b: u8, at: u64, place: &str) -> Step {
        let reason = format!("unexpected byte {} {place}", show_byte(b));
        self.break_off(at, reason, Break::default())
    }

    /// The record being framed (or, outside one, the byte at `at`) is broken. What it holds
    /// after its first byte, up to `at` (and `at` itself unless `how.again`), is looked at
    /// again for where the next record starts, then the input from there on; everything up to
    /// that place is one [`Frame::Broken`].
    #[cold]
    pub(super) fn break_off(&mut self, at: u64, reason: String, how: Break) -> Step {
        let end = if how.again { at } else { at + 1 };
        let mut start = if self.in_record { self.buf_start } else { at };
        if how.drop_array && self.frames == self.top_array.1 {
            // Nothing of the "array" was framed: the broken stretch starts at its `[`.
            start = self.top_array.0;
        }
        let whole = self.in_record && !self.overflow;
        let held = whole && self.buf.len() as u64 == end - start && self.may_replay(start, end);
        let opening = if whole {
            resync::signature(&self.buf)
        } else {
            None
        };
        let indent = if self.in_record {
            self.record_indent
        } else {
            self.gap_indent
        };
        let replay = if held {
            self.buf[1..].to_vec()
        } else {
            Vec::new()
        };
        let how = Break {
            line_start: how.line_start && how.again && !held,
            ..how
        };
        self.start_seek((start, end), reason, opening.as_deref(), indent, how);
        if held {
            self.replay = replay;
            self.offset = start + 1;
        } else {
            self.offset = end;
        }
        Step::Broke { again: how.again }
    }

    /// Look for the next record start (a [`Seek`]) after a broken stretch from `start`,
    /// found broken at `detected`, in the layout around it; the framer stands between that
    /// layout's records.
    fn start_seek(
        &mut self,
        (start, detected): (u64, u64),
        reason: String,
        opening: Option<&[u8]>,
        indent: u32,
        how: Break,
    ) {
        let ctx = match self.mode {
            Mode::TopArray if !how.drop_array => Context::TopArray,
            Mode::ContainerArray => Context::ContainerArray,
            _ => Context::Top,
        };
        let (start, detected, reason) = match self.held_broken.take() {
            // Where reading resumed inside the broken record broke too: one stretch.
            Some((held, _)) => (held.start, held.detected, held.reason),
            None => (start, detected, reason),
        };
        let known = |n: u32| (n != NOT_INDENT).then_some(n);
        let (array_opening, indent) = match ctx {
            // JSON lines and objects one after another start at column 0.
            Context::Top => (None, None),
            _ => (
                self.array_opening.as_deref(),
                known(self.array_indent).or(known(indent)),
            ),
        };
        self.seek = Some(Seek::new(
            (start, detected),
            reason,
            [opening, array_opening],
            (indent, ctx == Context::Top),
            how.line_start,
        ));
        self.reset_to_top();
        match ctx {
            Context::Top => {}
            Context::TopArray => {
                self.mode = Mode::TopArray;
                self.depth = 1;
            }
            Context::ContainerArray => {
                self.mode = Mode::ContainerArray;
                self.depth = 2;
            }
        }
    }

    /// Whether the bytes `start..end` of a broken record may be read again: not when they
    /// start inside bytes already read again [`MAX_REPLAYS`] times in a row. A stretch that
    /// starts after everything read again so far resets the count, so no byte is read again
    /// more than that many times: the work stays linear in the input, whatever it holds.
    fn may_replay(&mut self, start: u64, end: u64) -> bool {
        self.replays = if start < self.replay_until {
            self.replays + 1
        } else {
            1
        };
        if self.replays > MAX_REPLAYS {
            return false;
        }
        self.replay_until = self.replay_until.max(end);
        self.replayed += end - start;
        true
    }

    /// Look for the next record start in `input` from `i`; when found, the broken stretch
    /// ends there. Returns where framing goes on.
    #[cold]
    fn seek_in(&mut self, input: &[u8], i: usize) -> usize {
        let Some(seek) = self.seek.as_mut() else {
            return i;
        };
        let Some(found) = seek.find(&input[i..]) else {
            self.offset += (input.len() - i) as u64;
            return input.len();
        };
        self.offset += found.at as u64;
        // A record opening that began in earlier input: the record starts there.
        self.offset -= found.carried.len() as u64;
        if let Some(seek) = self.seek.take() {
            let resumed = self.offset;
            if resumed < self.replay_until {
                // Inside the broken record's own bytes: a record, or a fragment of it.
                self.held_broken = Some((seek, resumed));
            } else {
                self.push_frame(Frame::Broken {
                    offset: seek.start,
                    reason: seek.detail(Some(resumed), resumed),
                });
            }
        }
        self.at_line_start = false;
        self.gap_indent = found.indent;
        self.replay = found.carried;
        i + found.at
    }
}

/// What is wrong with a record opened by `open` and closed by `close`.
fn unbalanced(open: u8, close: u8) -> String {
    format!(
        "brackets do not balance: the record opens with {} and ends with {} (cut short, or a bracket missing)",
        show_byte(open),
        show_byte(close)
    )
}
