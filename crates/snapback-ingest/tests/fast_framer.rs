//! The framer's fast path (whole records cut in one tight loop) gives exactly the frames of the
//! byte-at-a-time path: on the corpus, the examples, hand-made edge cases and random input, with
//! buffer sizes that cut records at every possible place.

use std::io::{BufReader, Read};
use std::path::Path;

use proptest::prelude::*;
use snapback_ingest::frame::{Frame, Framer};

fn frames(bytes: &[u8], fast: bool, buffer: usize, limit: usize) -> Vec<String> {
    let mut f = Framer::new(BufReader::with_capacity(buffer, bytes), limit);
    frames_of(&mut f, fast)
}

/// A reader that hands over at most `step` bytes a read (after a first read of up to four,
/// enough for the start's byte-order-mark check), as a pipe or a decompressor may: the
/// framer's reads (1 MiB) then end anywhere in a record. (A `BufReader` alone does not do
/// this: it passes a read larger than its buffer straight to the slice, which fills it.)
struct Trickle<'a> {
    rest: &'a [u8],
    step: usize,
    first: bool,
}

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let step = if self.first {
            self.step.max(4)
        } else {
            self.step
        };
        self.first = false;
        let n = self.rest.len().min(step).min(buf.len());
        buf[..n].copy_from_slice(&self.rest[..n]);
        self.rest = &self.rest[n..];
        Ok(n)
    }
}

/// [`frames`] read `step` bytes at a time, without the start (whose first line is only what
/// the first read gave).
fn frames_trickled(bytes: &[u8], fast: bool, step: usize, limit: usize) -> Vec<String> {
    let reader = Trickle {
        rest: bytes,
        step,
        first: true,
    };
    let mut f = Framer::new(BufReader::with_capacity(16, reader), limit);
    frames_of(&mut f, fast).split_off(1)
}

/// [`frames`] of input given whole (`Framer::in_memory`), as a gzip file inflated whole is:
/// in a buffer longer than the input, whose tail must be ignored.
fn frames_in_memory(bytes: &[u8], fast: bool, limit: usize) -> Vec<String> {
    let mut f = Framer::new(&[][..], limit);
    let mut buffer = bytes.to_vec();
    buffer.extend_from_slice(b"{\"not\":\"input\"}\n");
    let size = buffer.len();
    f.in_memory(buffer, bytes.len());
    let out = frames_of(&mut f, fast);
    // The buffer comes back whole, once.
    assert_eq!(f.take_memory().map(|b| b.len()), Some(size));
    assert_eq!(f.take_memory(), None);
    out
}

fn frames_of<R: std::io::BufRead>(f: &mut Framer<R>, fast: bool) -> Vec<String> {
    f.set_fast(fast);
    let start = format!("{:?} bom={}", f.start().map_err(|e| e.to_string()), f.bom);
    let mut out = vec![start];
    let mut index = 0u64;
    while let Some(fr) = f.next_frame() {
        for b in f.take_line_boms(index) {
            out.push(format!("bom {b}"));
        }
        index += 1;
        out.push(match fr {
            Ok(Frame::Record { bytes, offset }) => {
                format!("record {offset} {}", String::from_utf8_lossy(&bytes))
            }
            Ok(other) => format!("{other:?}"),
            Err(e) => format!("error {e}"),
        });
    }
    for b in f.take_line_boms(u64::MAX) {
        out.push(format!("bom {b}"));
    }
    out.push(format!("offset {}", f.offset()));
    out
}

fn same(bytes: &[u8]) {
    for limit in [usize::MAX, 40] {
        let read = frames(bytes, false, 1 << 20, limit);
        for fast in [true, false] {
            assert_eq!(
                frames_in_memory(bytes, fast, limit),
                read,
                "in memory, fast {fast}, limit {limit}, input {:?}",
                String::from_utf8_lossy(&bytes[..bytes.len().min(300)])
            );
        }
    }
    for step in [1, 5, 64] {
        for fast in [true, false] {
            assert_eq!(
                frames_trickled(bytes, fast, step, usize::MAX),
                frames(bytes, false, 1 << 20, usize::MAX).split_off(1),
                "read {step} bytes at a time, fast {fast}, input {:?}",
                String::from_utf8_lossy(&bytes[..bytes.len().min(300)])
            );
        }
    }
    for buffer in [1, 7, 64, 4096, 1 << 20] {
        for limit in [usize::MAX, 40] {
            assert_eq!(
                frames(bytes, true, buffer, limit),
                frames(bytes, false, buffer, limit),
                "buffer {buffer}, limit {limit}, input {:?}",
                String::from_utf8_lossy(&bytes[..bytes.len().min(300)])
            );
        }
    }
}

#[test]
fn edge_cases() {
    let cases: &[&str] = &[
        "{\"a\":1}\n{\"b\":[1,2,{\"c\":\"}\"}]}\n",
        "{\"Records\":[{\"a\":1},{\"b\":\"x\\\"y\"}]}",
        "{\"x\":1, \"records\" : [{\"a\":1}]}\n",
        "{\"value\":\"Records\"}\n{\"a\":[1]}\n",
        "{\"Records\":\"x\"}\n{[1]}\n",
        "{\"a\":\"line\nbreak\"}\n{\"b\":2}\n",
        "{\"a\":\"cr\rx\"}\n{\"b\":2}\n",
        "{\"a\":1}{\"b\":2}\n",
        "{\"a\":\n1}\n",
        "{\"a\":{\n}\n{\"b\":1}\n",
        "[{\"a\":1},[2],\"s\",3]\n",
        "\u{feff}{\"a\":1}\n\u{feff}{\"b\":2}\n",
        "{\"a\":\"\\\\\"}\n",
        "{\"a\":\"\\\n\"}\n",
        "{\"logEvents\":[{\"message\":\"{}\"}],\"x\":[1]}",
        "{\"a\":1}\r\n{\"b\":2}\r\n",
        "  {\"a\":1}  \n",
        "",
        "   \n\t",
        "\u{feff}",
        "\u{feff}  \n",
        "\u{feff}hello\nworld",
        "not json\n{\"a\":1}\n",
        "{\"a\":[}\n",
        "{\"a\":1}}\n{\"b\":2}\n",
        "{\"Records\":[{\"a\":1}]} {\"b\":1}",
        "{\"xRecords\":[1],\"Records\" :\n [ {\"a\":1} ]}",
        // A string element cut off by a line break, then an array element.
        "{]\n[\"\n[[]",
        // Broken records, and reading on after them (one broken stretch each).
        "{\"Records\":[{\"a\":1},{\"a\":{\"b\":2},{\"a\":3}]}",
        "{\"Records\":[{\"a\":1},{\"a\":\"cu{\"a\":3},{\"a\":4}]}",
        "{\"Records\":[{\"a\":1},[[[,{\"a\":3}]}",
        "{\"Records\":[{\"a\":1},#garbage,{\"a\":3},tru{\"a\":4}]}",
        "{\"Records\":[{\"a\":1},{\"a\":1}},{\"a\":3}]}",
        "{\"a\":1}\n[[[\n{\"a\":3}\n{\"a\":4}\n",
        "{\"a\":1}\n{\"a\":\"cu{\"a\":3}\n{\"a\":4}\n",
        "{\"a\":1}}\n#!\n{\"a\":4}\n",
        "[\n  {\n    \"a\": \"x\ny\",\n    \"b\": {\n      \"c\": 1\n    }\n  },\n  {\n    \"a\": 2\n  }\n]\n",
        "{\n  \"a\": \"x{\n  \"a\": 1\n}\n",
        "[{\"a\":1},{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":",
    ];
    for c in cases {
        same(c.as_bytes());
    }
}

fn visit(dir: &Path, f: &mut dyn FnMut(&Path)) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut paths: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    paths.sort();
    for p in paths {
        if p.is_dir() {
            visit(&p, f);
        } else {
            f(&p);
        }
    }
}

fn contents(path: &Path) -> Vec<u8> {
    let raw = std::fs::read(path).unwrap_or_default();
    if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        let _ = flate2::read::MultiGzDecoder::new(&raw[..]).read_to_end(&mut out);
        out
    } else {
        raw
    }
}

#[test]
fn corpus_and_examples_frame_the_same() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut n = 0;
    for dir in [
        root.join("examples"),
        root.join("tests/fixtures"),
        root.join("../shared/corpus"),
    ] {
        visit(&dir, &mut |p| {
            let bytes = contents(p);
            if bytes.len() > 4 << 20 {
                return;
            }
            for buffer in [61, 1 << 18] {
                assert_eq!(
                    frames(&bytes, true, buffer, 16 << 20),
                    frames(&bytes, false, buffer, 16 << 20),
                    "{}",
                    p.display()
                );
            }
            n += 1;
        });
    }
    assert!(n > 10, "only {n} files found");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]
    #[test]
    fn random_json_like_bytes(parts in proptest::collection::vec(
        prop_oneof![
            Just("{".to_string()), Just("}".to_string()), Just("[".to_string()), Just("]".to_string()),
            Just("\"".to_string()), Just("\\".to_string()), Just("\n".to_string()), Just("\r".to_string()),
            Just(":".to_string()), Just(",".to_string()), Just(" ".to_string()), Just("\"Records\"".to_string()),
            Just("\"value\":".to_string()), Just("{\"a\":\"b\"}".to_string()), Just("\u{feff}".to_string()),
            "[a-z0-9]{0,4}",
        ], 0..60)) {
        let s: String = parts.concat();
        same(s.as_bytes());
    }
}
