//! Regressions found by the `frame` fuzz target (docs/fuzzing.md): the frames of an input must
//! not depend on where the reads of a pipe or a decompressor cut it, nor on the fast path.

use std::io::{self, BufRead, Read};

use snapback_ingest::frame::{Frame, Framer};

/// A reader that gives at most `step` bytes per read, as a pipe may.
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
        out.push(match f {
            Ok(Frame::Record { bytes, offset }) => {
                format!("record {offset} {}", String::from_utf8_lossy(&bytes))
            }
            Ok(other) => format!("{other:?}"),
            Err(e) => format!("io {e}"),
        });
    }
    out
}

/// The frames of `input` read in one piece, in pieces of every size, and from memory, with the
/// fast path on and off, are all the same.
fn assert_cut_anywhere_same(input: &[u8]) {
    let mut whole = Framer::new(input, 4096);
    whole.set_fast(false);
    let expected = frames(whole);
    for step in 1..=input.len().max(1) {
        for fast in [true, false] {
            let mut f = Framer::new(
                Trickle {
                    data: input,
                    pos: 0,
                    step,
                },
                4096,
            );
            f.set_fast(fast);
            assert_eq!(
                frames(f),
                expected,
                "input {:?}, reads of {step} bytes, fast path {fast}",
                String::from_utf8_lossy(input)
            );
        }
    }
    let mut mem = Framer::new(io::empty(), 4096);
    mem.in_memory(input.to_vec(), input.len());
    assert_eq!(frames(mem), expected, "in memory: {input:?}");
}

/// The fuzzer's input: white space, the first two bytes of a byte-order mark, then not its
/// third. Read a byte at a time, the two bytes were consumed as the start of a mark and lost:
/// the broken record was reported at the byte after them (offset 5, `E`) instead of at them
/// (offset 3, 0xEF).
#[test]
fn fuzz_frame_partial_bom_cut_by_reads() {
    let input = b"\n  \xef\xbbE\xbf{\"b\":[\xc2,";
    assert_cut_anywhere_same(input);
    let f = Framer::new(
        Trickle {
            data: input,
            pos: 0,
            step: 1,
        },
        4096,
    );
    let got = frames(f);
    assert!(got[0].contains("offset: 3"), "{got:?}");
}

/// The class: a mark's first bytes at the start of the stream (after any run of white space and
/// whole marks), followed by the end of the input, something else, or a record, cut by reads
/// of every size.
#[test]
fn fuzz_frame_partial_bom_at_the_start_any_cut() {
    let leads: [&[u8]; 5] = [b"", b"\n", b"  ", b"\r\n\t", b"\xef\xbb\xbf\n"];
    let partial: [&[u8]; 2] = [b"\xef", b"\xef\xbb"];
    let tails: [&[u8]; 6] = [
        b"",
        b"E",
        b"{\"a\":1}\n",
        b"\n{\"a\":1}\n",
        b"\xef\xbb\xbf{\"a\":1}",
        b"[{\"a\":1}]",
    ];
    for lead in leads {
        for p in partial {
            for tail in tails {
                assert_cut_anywhere_same(&[lead, p, tail].concat());
            }
        }
    }
}

/// The fuzzer's input: a byte that is not white space between a container's key and its `:`.
/// The fast path framed the whole object as one record (which the decoder then reports as
/// invalid JSON); the byte machine ignored the byte, took the object for a container and framed
/// the record inside it. Now both take it for one (broken) record.
#[test]
fn fuzz_frame_junk_between_container_key_and_colon() {
    let input = b"\xef\xbb\xbf\n{\"Records\"\xa2:[{\"x\":\"\\ud800\"}]}";
    assert_cut_anywhere_same(input);
    let got = frames(Framer::new(&input[..], 4096));
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(got[0].starts_with("record 4 {\"Records\""), "{got:?}");
}

/// The class: every container key, any junk byte after it, before or after white space; and,
/// for contrast, white space alone, which keeps the container.
#[test]
fn fuzz_frame_junk_between_container_key_and_colon_any_key() {
    for key in ["Records", "records", "value", "logEvents"] {
        for junk in ["\u{a2}", "x", "1", "\"\"", "}", "]", " x", "x "] {
            let text = format!("{{\"{key}\"{junk}:[{{\"a\":1}},{{\"b\":2}}]}}\n{{\"c\":3}}\n");
            assert_cut_anywhere_same(text.as_bytes());
        }
        let text = format!("{{\"{key}\" \t:\n[{{\"a\":1}},{{\"b\":2}}]}}\n");
        assert_cut_anywhere_same(text.as_bytes());
        let got = frames(Framer::new(text.as_bytes(), 4096));
        assert_eq!(got.len(), 2, "a container: {got:?}");
    }
}
