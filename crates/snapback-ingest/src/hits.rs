//! Reading by hits: the filter's literals are searched over the raw bytes first, and only the
//! records around a hit are framed; the bytes between hits are never looked at again.
//!
//! `rg` reads JSON lines at several GB/s on one core because it searches the whole buffer for
//! its pattern's literals and looks at lines only around a hit. A [`HitSearch`] (from
//! `snapback_rules::Prefilter::next_hit`) finds, over many records at once, the places a record
//! the prefilter would pass must hold (an operation key whose value a rule wants or that cannot
//! be read, a `\u` escape, a lower-cased marker key), so every record it would pass holds a
//! hit, and the records around hits are the only ones that need framing.
//!
//! **Where a record starts.** Without framing every byte the depth is not known, so a record
//! is found by what the framer itself relies on:
//!
//! - *JSON lines.* The line around a hit must start with `{` at column 0, and framing that line
//!   alone (a framer continuing at a clean line start) must give no broken record. The framer
//!   starts a record at every `{` at column 0 whatever came before (a record still open then
//!   was cut off: the "column 0" rule of `frame/feed.rs`), so those frames are the ones reading
//!   the whole input gives.
//! - *The `Records` layout on one line* (`{"Records":[…]}` or `{"records":[…]}`, as CloudTrail
//!   and Event Hubs write them): the record around a hit starts at the last opening, before
//!   the hit, of the kind the array's first record has (`{"eventVersion":`), after `[` or `,`,
//!   and must close at or after the hit, before `,` or `]`. That is how the framer finds where
//!   records start again after a broken one. An object nested in an array inside a record that
//!   opens the same way and holds a hit is taken for a record of its own (an extra event; a
//!   record a rule matches still holds its own hit, which is framed).
//!
//! Anything else around a hit (a pretty-printed record, a line that frames broken, a `[`
//! layout, a line longer than the record limit) and the unit is read as usual from its start:
//! nothing is handed on before the whole unit has been looked at.
//!
//! **What changes.** A record between hits is neither framed nor counted: the summary counts
//! the bytes not framed ([`crate::Summary::unframed_bytes`]). A record is cited by its byte
//! offset, exact (the offset of its first byte in the decompressed file); its index is not known
//! ([`UNNUMBERED`]), and diagnostics of records read this way carry no index. A record broken
//! between hits is not diagnosed (it cannot match a rule); `--strict` and `--report` turn the
//! prefilter off and with it this path, and see every problem.

use std::io::Read;
use std::sync::Arc;

use crate::frame::{names_container, Frame, Framer};
use crate::{KeySpec, Reader, RecordFilter};

/// Where, at or after the given index of the buffer, the next hit starts (`None`: none). A
/// record that holds no hit is one the filter would reject.
pub type HitSearch<'a> = dyn Fn(&[u8], usize) -> Option<usize> + Sync + 'a;

/// The record index of an event or diagnostic read by hits: not known (the records between
/// hits were not counted). Such records are cited by byte offset.
pub const UNNUMBERED: u64 = u64::MAX;

/// Plain input is read this much at a time (whole lines of it framed around hits).
pub(crate) const WINDOW: usize = 4 << 20;

thread_local! {
    /// The window of [`Reader::read_plain_by_hits`], kept by each reading thread.
    static WINDOW_BUF: std::cell::Cell<Vec<u8>> = const { std::cell::Cell::new(Vec::new()) };
}

/// What reading a buffer by hits found, not yet handed on.
#[derive(Default)]
pub(crate) struct Found {
    frames: Vec<Frame>,
    /// Bytes framed around hits (lines, or records of a `Records` line).
    framed: u64,
    /// The last line framed clean from a `{` at column 0 (the framer stands at its starting
    /// state after it).
    clean_end: bool,
}

/// The searcher and what framing a record around a hit needs.
struct Hits<'a> {
    search: &'a HitSearch<'a>,
    filter: Option<&'a RecordFilter<'a>>,
    keys: &'a KeySpec,
    fast: bool,
    limit: usize,
}

impl Hits<'_> {
    /// The records around the hits of `buf` (whole lines: it ends at a line feed or at the end
    /// of the input; its first byte is at `base` in the stream, at a line start), into `out`.
    /// `None`: some hit is where a record cannot be told from the bytes around it.
    fn scan(&self, buf: &[u8], base: u64, out: &mut Found) -> Option<()> {
        let mut from = 0;
        while let Some(p) = (self.search)(buf, from) {
            // `from` is a line start (0, or just past a line feed), so the line around the hit
            // starts after it: the bytes before `from` are not searched again (a one-line
            // `Records` file would be, whole, for its first hit).
            if p < from {
                return None;
            }
            let start = memchr::memrchr(b'\n', &buf[from..p]).map_or(from, |i| from + i + 1);
            let end = memchr::memchr(b'\n', &buf[p..]).map_or(buf.len(), |i| p + i + 1);
            match container_body(&buf[start..end]) {
                Some((open, close)) => {
                    let body = (start + open, start + close);
                    self.container(&buf[..end], body, p, base, out)?
                }
                None => {
                    self.line(&buf[start..end], base + start as u64, &mut out.frames)?;
                    out.framed += (end - start) as u64;
                }
            }
            from = end;
        }
        Some(())
    }

    /// Frame one line that starts with `{` on its own, as the framer would at a clean line
    /// start; `None` when a frame is broken.
    fn line(&self, line: &[u8], at: u64, frames: &mut Vec<Frame>) -> Option<()> {
        if line.first() != Some(&b'{') {
            return None;
        }
        let mut framer = Framer::continuing(line, self.limit, at);
        framer.set_fast(self.fast);
        framer.set_keys(self.keys);
        while let Some(frame) = framer.next_frame_filtered(self.filter) {
            match frame.ok()? {
                Frame::Broken { .. } => return None,
                f => frames.push(f),
            }
        }
        framer.take_line_boms(u64::MAX).is_empty().then_some(())
    }

    /// The records around the hits, from `p` on, of a `Records` line ending at `buf.len()`
    /// whose array's records lie in `body` (its first record's start, its `]`).
    fn container(
        &self,
        buf: &[u8],
        body: (usize, usize),
        mut p: usize,
        base: u64,
        out: &mut Found,
    ) -> Option<()> {
        let (first, close) = body;
        let sig = opening(&buf[first..close])?;
        let mut lo = first;
        loop {
            if p < first || p >= close {
                return None;
            }
            let s = lo + memchr::memmem::rfind(&buf[lo..p], sig)?;
            let before = buf[..s].iter().rposition(|b| !b.is_ascii_whitespace())?;
            if !matches!(buf[before], b'[' | b',') || before + 1 < first {
                return None;
            }
            let e = crate::structural::scan_value(buf, s, false, names_container, None)?;
            let after = e + 1 + buf[e + 1..].iter().position(|b| !b.is_ascii_whitespace())?;
            let closes = match buf[after] {
                b',' => after < close,
                b']' => after == close,
                _ => false,
            };
            if buf[e] != b'}' || e < p || !closes {
                return None;
            }
            out.frames.push(self.record(&buf[s..=e], base + s as u64));
            out.framed += (e + 1 - s) as u64;
            lo = e + 1;
            match (self.search)(buf, lo) {
                Some(q) if q < buf.len() => p = q,
                _ => return Some(()),
            }
        }
    }

    /// The frame of one record cut out of a `Records` line.
    fn record(&self, bytes: &[u8], offset: u64) -> Frame {
        if bytes.len() > self.limit {
            Frame::TooLarge {
                offset,
                size: bytes.len() as u64,
            }
        } else if self.filter.is_some_and(|f| !f(bytes, None)) {
            Frame::Filtered { offset }
        } else {
            Frame::Record {
                bytes: bytes.to_vec(),
                offset,
            }
        }
    }

    /// Read `src` a window at a time into `buf` (kept from one file to the next: only what it
    /// grows by is zeroed; its first `filled` bytes already read) and find the records around the hits of each window's whole lines.
    /// The stream offset after the last byte read; `None`: read it as usual.
    fn windows(
        &self,
        mut src: impl Read,
        buf: &mut Vec<u8>,
        mut filled: usize,
        start: u64,
        chunk: bool,
        found: &mut Found,
    ) -> Option<u64> {
        let mut have = 0;
        let mut base = start;
        loop {
            // The first window may be partly read already (`filled` bytes, even more than a
            // window: then all of them are taken).
            let want = WINDOW.max(filled);
            if buf.len() < have + want {
                buf.resize(have + want, 0);
            }
            let n = filled + read_full(&mut src, &mut buf[have + filled..have + want]).ok()?;
            filled = 0;
            let filled = have + n;
            // Only the bytes read now: the window holds the thread's last file after them.
            if base == 0 && have == 0 && buf[..filled].first() != Some(&b'{') {
                return None;
            }
            let eof = n < want;
            // The last line feed is only looked for when more is to come: a file's last
            // window is cut at its end (CloudTrail's one-line files end without one, and
            // looking would read the whole window backwards).
            // The bytes kept from before (`have`) hold no line feed: only the new ones are
            // looked at, so a long line read over many windows is not searched again each time.
            let last_lf = |buf: &[u8]| memchr::memrchr(b'\n', &buf[have..filled]).map(|i| have + i);
            let cut = match (eof, (!eof).then(|| last_lf(buf))) {
                (true, _) => filled,
                (false, Some(Some(i))) => i + 1,
                (false, _) if filled > self.limit => return None,
                (false, _) => {
                    have = filled;
                    continue;
                }
            };
            self.scan(&buf[..cut], base, found)?;
            base += cut as u64;
            if eof {
                found.clean_end = chunk && self.ends_clean(&buf[..cut]);
                return Some(base);
            }
            buf.copy_within(cut..filled, 0);
            have = filled - cut;
        }
    }

    /// Whether the last line of `buf` (whole lines) starts with `{` and frames clean alone:
    /// the framer then stands at its starting state after it.
    fn ends_clean(&self, buf: &[u8]) -> bool {
        let Some(body) = buf.strip_suffix(b"\n") else {
            return false;
        };
        let start = memchr::memrchr(b'\n', body).map_or(0, |i| i + 1);
        let mut scratch = Vec::new();
        self.line(&buf[start..], 0, &mut scratch).is_some()
    }
}

/// `{"Records":[` or `{"records":[` opening a line that closes with `]}` (white space after it
/// aside): where the array's body starts, and the index of its `]`.
fn container_body(line: &[u8]) -> Option<(usize, usize)> {
    let open = [&b"{\"Records\":["[..], &b"{\"records\":["[..]]
        .into_iter()
        .find(|o| line.starts_with(o))?
        .len();
    let end = line.len()
        - line
            .iter()
            .rev()
            .take_while(|b| b.is_ascii_whitespace())
            .count();
    (end >= open + 2 && &line[end - 2..end] == b"]}").then_some((open, end - 2))
}

/// The opening of the first record of an array body (`{"eventVersion":`): `{"`, a key with no
/// backslash, `":`.
fn opening(body: &[u8]) -> Option<&[u8]> {
    let rest = body.strip_prefix(b"{\"")?;
    let q = memchr::memchr2(b'"', b'\\', rest)?;
    (rest[q] == b'"' && q > 0 && rest.get(q + 1) == Some(&b':')).then(|| &body[..q + 4])
}

/// The calling thread's window, at least [`WINDOW`] bytes long: zeroed once when the thread
/// first reads, not once per file (a file of 470 KB zeroing 8 MiB spent half the time of a
/// tree of such files in `memset`). Give it back with [`put_window`].
pub(crate) fn take_window() -> Vec<u8> {
    let mut buf = WINDOW_BUF.with(|c| c.take());
    if buf.len() < WINDOW {
        buf.resize(WINDOW, 0);
    }
    buf
}

/// Keep a window for the thread's next file (not one grown for a long line).
pub(crate) fn put_window(buf: Vec<u8>) {
    if buf.len() <= 2 * WINDOW {
        WINDOW_BUF.with(|c| c.set(buf));
    }
}

/// Fill `buf` from `src` until full or at its end: the bytes read.
pub(crate) fn read_full(src: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match src.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

impl Reader<'_> {
    fn hits(&self) -> Option<Hits<'_>> {
        Some(Hits {
            search: self.hits?,
            filter: self.filter,
            keys: self.keys,
            fast: self.fast,
            limit: self.options.max_record_bytes,
        })
    }

    /// Read plain input from `src` by hits: a whole file (`start` 0, not `chunk`) or a chunk
    /// of JSON lines from `start` (whose last line is then framed too, to tell whether the
    /// framer would stand at its starting state after it). `false`: nothing was read or
    /// counted; read it as usual.
    pub(crate) fn read_plain_by_hits(
        &mut self,
        name: &Arc<str>,
        src: impl Read,
        start: u64,
        chunk: bool,
    ) -> bool {
        self.read_window_by_hits(name, (take_window(), 0), src, start, chunk)
    }

    /// [`read_plain_by_hits`](Self::read_plain_by_hits) where the first `filled` bytes of the
    /// input are already in `window` (from [`take_window`]; a file's first window, read to
    /// tell what it holds), `src` holding the rest. The window is kept for the next file.
    pub(crate) fn read_window_by_hits(
        &mut self,
        name: &Arc<str>,
        (mut buf, filled): (Vec<u8>, usize),
        src: impl Read,
        start: u64,
        chunk: bool,
    ) -> bool {
        let end = self.hits().and_then(|hits| {
            let mut found = Found::default();
            let end = hits.windows(src, &mut buf, filled, start, chunk, &mut found)?;
            Some((found, end))
        });
        put_window(buf);
        let Some((found, end)) = end else {
            return false;
        };
        self.hand_on_hits(name, found, start, end - start);
        true
    }

    /// Read a whole file already in memory (a gzip file inflated whole) by hits. `false`:
    /// nothing was read or counted; read it as usual.
    pub(crate) fn read_buffer_by_hits(&mut self, name: &Arc<str>, buf: &[u8]) -> bool {
        let Some(hits) = self.hits() else {
            return false;
        };
        let mut found = Found::default();
        if buf.first() != Some(&b'{') || hits.scan(buf, 0, &mut found).is_none() {
            return false;
        }
        self.hand_on_hits(name, found, 0, buf.len() as u64);
        true
    }

    /// Decode and count what a read by hits found, in order: `len` bytes from `start`.
    fn hand_on_hits(&mut self, name: &Arc<str>, found: Found, start: u64, len: u64) {
        if start == 0 {
            self.summary.files_read += 1;
        }
        self.summary.bytes_read += len;
        self.summary.unframed_bytes += len.saturating_sub(found.framed);
        self.started_json = true;
        self.clean_end = found.clean_end;
        self.framed = 0;
        self.by_hits = true;
        self.unnumbered = true;
        for frame in found.frames {
            self.take_frame(name, UNNUMBERED, frame, "read-error");
        }
        self.unnumbered = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_lines_and_their_first_record() {
        let line = b"{\"Records\":[{\"eventVersion\":\"1\"},{\"eventVersion\":\"2\"}]}\n";
        let (open, close) = container_body(line).unwrap();
        assert_eq!(&line[open..open + 16], b"{\"eventVersion\":");
        assert_eq!(line[close], b']');
        assert_eq!(
            opening(&line[open..close]),
            Some(&b"{\"eventVersion\":"[..])
        );
        assert_eq!(container_body(b"{\"Records\":[{}]"), None);
        assert_eq!(container_body(b"{\"Records\": [{}]}"), None);
        assert_eq!(opening(b"{\"a\\\"b\":1}"), None);
        assert_eq!(opening(b"{ \"a\":1}"), None);
    }
}
