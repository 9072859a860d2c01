//! The start of a stream: the run of white space and UTF-8 byte-order marks before its first
//! value (any number of marks, white space before them, marks cut in two by the reads of a
//! pipe), and what the first value says the input is.

use std::io::{self, BufRead};

use super::{Framer, Memory, Start};

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

/// The last white space byte of `bytes` (marks and white space).
fn last_space(bytes: &[u8]) -> Option<u8> {
    bytes
        .iter()
        .rev()
        .find(|b| b.is_ascii_whitespace())
        .copied()
}

/// A UTF-8 byte-order mark.
const BOM: [u8; 3] = [0xEF, 0xBB, 0xBF];

/// The run of white space and byte-order marks at the start of one read.
#[derive(Debug, Default)]
struct Lead {
    /// Whole marks in the read (one completed from the last read's `carry` included).
    marks: u32,
    /// Just after the first and the last whole mark (0 when there is none).
    first_mark_end: Option<usize>,
    marks_end: usize,
    /// The first byte that is neither white space nor a mark; `None` when the read holds
    /// nothing else (perhaps ending with a mark's first bytes: `carry` of them).
    stop: Option<usize>,
    carry: usize,
    /// The last read ended with a mark's first bytes, and this one does not go on with it.
    broken_mark: bool,
}

impl Lead {
    /// The lead of `buf`, the last read having ended with `carry` bytes of a mark.
    fn of(buf: &[u8], carry: usize) -> Lead {
        let mut lead = Lead::default();
        let mut i = 0;
        if carry > 0 {
            let rest = &BOM[carry..];
            let k = buf.iter().zip(rest).take_while(|(a, b)| a == b).count();
            if k == rest.len() {
                i = k;
                lead.mark_at(i);
            } else if k == buf.len() {
                lead.carry = carry + k;
                return lead;
            } else {
                lead.broken_mark = true;
                return lead;
            }
        }
        while i < buf.len() {
            let b = buf[i];
            if b.is_ascii_whitespace() {
                i += 1;
            } else if buf[i..].starts_with(&BOM) {
                i += 3;
                lead.mark_at(i);
            } else if b == BOM[0] && BOM.starts_with(&buf[i..]) {
                lead.carry = buf.len() - i;
                return lead;
            } else {
                lead.stop = Some(i);
                return lead;
            }
        }
        lead
    }

    fn mark_at(&mut self, end: usize) {
        self.marks += 1;
        self.first_mark_end.get_or_insert(end);
        self.marks_end = end;
    }
}

impl<R: BufRead> Framer<R> {
    /// Look at the start of the stream: JSON, text, or nothing. Consumes every UTF-8
    /// byte-order mark in the run of white space and marks the stream starts with (two marks,
    /// a blank line before one; [`Framer::start_boms`] says how many), also when the reads cut
    /// a mark in two (a pipe).
    pub fn start(&mut self) -> io::Result<Start> {
        self.started = true;
        if let Some(m) = self.memory {
            return Ok(self.start_in_memory(m));
        }
        // Bytes of a mark begun at the end of the last read, already consumed.
        let mut carry = 0;
        loop {
            let buf = self.reader.fill_buf()?;
            if buf.is_empty() {
                if carry == 0 {
                    return Ok(Start::Empty);
                }
                self.unread_mark_start(carry);
                return Ok(start_of(&BOM[..carry]));
            }
            let lead = Lead::of(buf, carry);
            if lead.broken_mark {
                // A mark's first bytes, then something else: not JSON.
                let mut first = BOM[..carry].to_vec();
                first.extend_from_slice(&buf[..buf.len().min(200)]);
                let start = start_of(&first);
                self.unread_mark_start(carry);
                return Ok(start);
            }
            // A read that holds nothing else is taken whole; otherwise only up to its last
            // mark, and the framer takes the white space after it (its line state).
            let take = match lead.stop {
                None => buf.len(),
                Some(_) => lead.marks_end,
            };
            let last_space = last_space(&buf[..take]);
            self.note_lead(take, last_space, &lead);
            carry = lead.carry;
            self.reader.consume(take);
            if let Some(stop) = lead.stop {
                let buf = self.reader.fill_buf()?;
                return Ok(start_of(&buf[stop - take..]));
            }
        }
    }

    /// The `carry` bytes of a mark begun at the end of the last read turned out not to be one
    /// (the input ended, or went on with something else): they were consumed, so they are
    /// framed now, at their own offset, as reading them in one piece would have (issue 13,
    /// found by the `frame` fuzz target: where reads cut the input changed the frames).
    fn unread_mark_start(&mut self, carry: usize) {
        self.offset -= carry as u64;
        self.feed(&BOM[..carry], None);
    }

    /// The first `taken` bytes of the start (marks and white space, the last white space byte
    /// `last_space`), taken: the marks counted, the offset and line state moved on.
    fn note_lead(&mut self, taken: usize, last_space: Option<u8>, lead: &Lead) {
        if let Some(end) = lead.first_mark_end.filter(|_| self.start_boms == 0) {
            self.first_bom = (self.offset + end as u64).saturating_sub(3);
        }
        self.bom |= lead.marks > 0;
        self.start_boms += lead.marks;
        if let Some(b) = last_space {
            self.at_line_start = b == b'\n';
        }
        self.offset += taken as u64;
    }

    /// How many UTF-8 byte-order marks [`start`](Self::start) removed, and where the first
    /// began.
    pub fn start_boms(&self) -> (u32, u64) {
        (self.start_boms, self.first_bom)
    }

    /// [`start`](Self::start) over input given whole: what reading it would find.
    fn start_in_memory(&mut self, mut m: Memory) -> Start {
        let all = &self.scratch[m.pos..m.len];
        let lead = Lead::of(all, 0);
        let (take, start) = match lead.stop {
            Some(stop) => (lead.marks_end, start_of(&all[stop..])),
            // A mark's first bytes at the very end: not JSON.
            None if lead.carry > 0 => (lead.marks_end, start_of(&all[all.len() - lead.carry..])),
            // Read to its end, as the reader would be.
            None => (all.len(), Start::Empty),
        };
        let last_space = last_space(&all[..take]);
        self.note_lead(take, last_space, &lead);
        m.pos += take;
        self.memory = Some(m);
        start
    }
}
