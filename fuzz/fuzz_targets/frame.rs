//! Framing: any bytes, framed from a reader that hands them over in small uneven pieces and
//! from memory, with the fast path on and off. Nothing may panic; both paths must agree on the
//! frames (the framer's documented contract), and every record's key listing must not panic.
#![no_main]

use std::io::{self, BufRead, Read};

use libfuzzer_sys::fuzz_target;
use snapback_ingest::frame::{Frame, Framer};
use snapback_ingest::{all_key_ends, key_ends};

/// A reader that gives at most `step` bytes per fill, to move chunk boundaries around.
struct Trickle<'a> {
    data: &'a [u8],
    pos: usize,
    step: usize,
}

impl Read for Trickle<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let avail = self.fill_buf()?;
        let n = avail.len().min(out.len());
        out[..n].copy_from_slice(&avail[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for Trickle<'_> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        let end = self.data.len().min(self.pos + self.step);
        Ok(&self.data[self.pos..end])
    }
    fn consume(&mut self, n: usize) {
        self.pos += n;
    }
}

fn frames<R: BufRead>(mut framer: Framer<R>) -> Vec<String> {
    let mut out = Vec::new();
    while let Some(f) = framer.next_frame() {
        match f {
            Ok(Frame::Record { bytes, offset }) => {
                let _ = key_ends(&bytes);
                let _ = all_key_ends(&bytes);
                out.push(format!("record {offset} {}", bytes.len()));
            }
            Ok(other) => out.push(format!("{other:?}")),
            Err(e) => out.push(format!("io {e}")),
        }
        if out.len() > 100_000 {
            break;
        }
    }
    let _ = framer.ended_clean();
    out
}

fuzz_target!(|data: &[u8]| {
    if data.is_empty() {
        return;
    }
    // The first byte picks the record size limit and the trickle step; the rest is the input.
    let (ctl, input) = (data[0], &data[1..]);
    let limit = 64 + usize::from(ctl & 0x0f) * 256;
    let step = 1 + usize::from(ctl >> 4) * 7;

    let fast = frames(Framer::new(
        Trickle { data: input, pos: 0, step },
        limit,
    ));
    let mut slow_framer = Framer::new(input, limit);
    slow_framer.set_fast(false);
    let slow = frames(slow_framer);
    assert_eq!(fast, slow, "fast and slow framing disagree");

    let mut mem = Framer::new(io::empty(), limit);
    mem.in_memory(input.to_vec(), input.len());
    let _ = frames(mem);
});
