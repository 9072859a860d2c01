//! Reading again after a broken record: where the next record starts.
//!
//! When the framer finds that the record it is framing is broken (a line break inside a
//! string, a new record at the start of a line before this one closed, brackets that do not
//! balance, a byte that cannot start a value, the input ending inside it), everything from
//! the broken record's first byte up to the next place a record starts is one broken stretch:
//! one [`Frame::Broken`](super::Frame::Broken), one diagnostic. A [`Seek`] finds that place,
//! looking at the bytes themselves and not at the framer's string and depth state, which the
//! broken record has made wrong (a cut inside a string inverts which bytes are inside strings
//! for the rest of the input). A record starts at:
//!
//! - the **opening of a record** seen in this context: the first bytes of the broken record
//!   up to the colon after its first key (`{"eventVersion":`), and, inside an array, those of
//!   the array's first record. Writers put the keys of every record in the same order, so this
//!   finds the next record of a one-line `{"Records":[…]}` file;
//! - a **`{` first on its line** after as many spaces or tabs as the records of this context
//!   (the indentation of the array's records inside a pretty-printed array); at the top level,
//!   any byte that can start a JSON value at column 0 (in JSON lines every line is a record,
//!   and pretty-printers indent every line of an object but its braces).
//!
//! The framer looks for them in the bytes of the broken record after its first byte (which it
//! still holds, up to the record size limit) and then in the input that follows.

/// Where a broken record was, and so where reading goes on: the layout around it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Context {
    /// Between top-level values: JSON lines, objects one after another.
    Top,
    /// Inside a top-level array of records.
    TopArray,
    /// Inside the records array of a container object.
    ContainerArray,
}

/// Marks "not only whitespace since the last line feed" in indentation counts.
pub(super) const NOT_INDENT: u32 = u32::MAX;

/// The longest record opening looked for.
const MAX_SIGNATURE: usize = 64;

/// The opening of a record up to the colon after its first key (`{"eventVersion":`, or
/// `{\n  "time" :` when pretty-printed), or `None` when it does not open so: the key holds a
/// quote, backslash, brace or control byte, or the opening is longer than 64 bytes.
pub(super) fn signature(record: &[u8]) -> Option<Vec<u8>> {
    let head = &record[..record.len().min(MAX_SIGNATURE)];
    let mut i = 1;
    let blank = |b: u8| matches!(b, b' ' | b'\t' | b'\n' | b'\r');
    if head.first() != Some(&b'{') {
        return None;
    }
    while head.get(i).is_some_and(|&b| blank(b)) {
        i += 1;
    }
    if head.get(i) != Some(&b'"') {
        return None;
    }
    i += 1;
    let key = i;
    while let Some(&b) = head.get(i) {
        match b {
            b'"' => break,
            b'\\' | b'{' | 0..=0x1f => return None,
            _ => i += 1,
        }
    }
    if i == key || head.get(i) != Some(&b'"') {
        return None;
    }
    i += 1;
    while head.get(i).is_some_and(|&b| blank(b)) {
        i += 1;
    }
    (head.get(i) == Some(&b':')).then(|| head[..=i].to_vec())
}

/// Whether `b` can start a JSON value.
pub(super) fn starts_value(b: u8) -> bool {
    matches!(
        b,
        b'{' | b'[' | b'"' | b'-' | b'0'..=b'9' | b't' | b'f' | b'n'
    )
}

/// How far a record opening ([`signature`]) has matched the bytes seen so far.
#[derive(Debug)]
struct Matcher {
    bytes: Vec<u8>,
    matched: usize,
}

/// A record start found by [`Seek::find`].
#[derive(Debug)]
pub(super) struct Found {
    /// Index in the input given to `find` where framing goes on.
    pub at: usize,
    /// The first bytes of the record when it started before that input (a record opening
    /// split between two reads): they are framed first.
    pub carried: Vec<u8>,
    /// The record's indentation, when it is first on its line; else [`NOT_INDENT`].
    pub indent: u32,
}

/// Looking for the next record start after a broken record.
#[derive(Debug)]
pub(super) struct Seek {
    /// Offset of the broken stretch's first byte.
    pub start: u64,
    /// Offset where the framer found it broken.
    pub detected: u64,
    /// What is wrong with it.
    pub reason: String,
    signatures: Vec<Matcher>,
    /// A `{` first on its line after this many spaces or tabs starts a record.
    indent: Option<u32>,
    /// At the top level: any byte that can start a JSON value, first on its line at column
    /// 0, starts a record.
    top: bool,
    /// Spaces or tabs since the last line feed, or [`NOT_INDENT`].
    line_ws: u32,
}

impl Seek {
    /// A seek for records that open like `openings` or, when `indent` is given, start a
    /// line after that much indentation; `top`: at the top level (`indent` is then 0).
    /// `at_line_start`: the first byte it will be given starts a line.
    pub fn new(
        (start, detected): (u64, u64),
        reason: String,
        openings: [Option<&[u8]>; 2],
        (indent, top): (Option<u32>, bool),
        at_line_start: bool,
    ) -> Seek {
        let mut signatures: Vec<Matcher> = Vec::new();
        for bytes in openings.into_iter().flatten() {
            if signatures.iter().all(|m| m.bytes != bytes) {
                signatures.push(Matcher {
                    bytes: bytes.to_vec(),
                    matched: 0,
                });
            }
        }
        Seek {
            start,
            detected,
            reason,
            signatures,
            indent: if top { Some(0) } else { indent },
            top,
            line_ws: if at_line_start { 0 } else { NOT_INDENT },
        }
    }

    /// The first record start in `input` (or one that began in earlier input and ends in
    /// this one), or `None` when all of it belongs to the broken stretch.
    pub fn find(&mut self, input: &[u8]) -> Option<Found> {
        for (p, &b) in input.iter().enumerate() {
            let starts = b == b'{' || (self.top && starts_value(b));
            if starts && self.indent == Some(self.line_ws) {
                return Some(Found {
                    at: p,
                    carried: Vec::new(),
                    indent: self.line_ws,
                });
            }
            self.line_ws = match b {
                b'\n' => 0,
                b' ' | b'\t' if self.line_ws != NOT_INDENT => self.line_ws + 1,
                _ => NOT_INDENT,
            };
            for m in &mut self.signatures {
                // The opening has one `{`, its first byte, so a failed match restarts there.
                if b == m.bytes[m.matched] {
                    m.matched += 1;
                } else {
                    m.matched = usize::from(b == b'{');
                }
                if m.matched == m.bytes.len() {
                    let (len, end) = (m.bytes.len(), p + 1);
                    return Some(if end >= len {
                        Found {
                            at: end - len,
                            carried: Vec::new(),
                            indent: NOT_INDENT,
                        }
                    } else {
                        Found {
                            at: 0,
                            carried: m.bytes[..len - end].to_vec(),
                            indent: NOT_INDENT,
                        }
                    });
                }
            }
        }
        None
    }

    /// The diagnostic's text when reading goes on at `resumed` (`None`: the input ended
    /// first, at `end`).
    pub fn detail(&self, resumed: Option<u64>, end: u64) -> String {
        match resumed {
            // Not where it was found broken (a new record at column 0): resumed elsewhere,
            // after it or inside the broken record's bytes.
            Some(at) if at != self.detected => format!(
                "{}; {} bytes skipped, reading resumed at byte {at}",
                self.reason,
                at - self.start
            ),
            Some(_) => self.reason.clone(),
            None if end > self.detected => format!(
                "{}; no record starts in the {} bytes after it (skipped to the end of the input)",
                self.reason,
                end - self.detected
            ),
            None => self.reason.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openings_of_records() {
        let sig = |s: &str| signature(s.as_bytes()).map(|v| String::from_utf8(v).unwrap());
        assert_eq!(
            sig(r#"{"eventVersion":"1.09"}"#).as_deref(),
            Some(r#"{"eventVersion":"#)
        );
        assert_eq!(
            sig("{\n  \"time\" : 1}").as_deref(),
            Some("{\n  \"time\" :")
        );
        for none in [
            r#"["a"]"#,
            r#"{}"#,
            r#"{"":1}"#,
            r#"{"a\"b":1}"#,
            r#"{"a{":1}"#,
            r#"{"a""#,
            r#"{"a" 1}"#,
        ] {
            assert_eq!(sig(none), None, "{none}");
        }
        let long = format!("{{\"{}\":1}}", "k".repeat(70));
        assert_eq!(sig(&long), None);
    }

    fn seek(openings: [Option<&[u8]>; 2], indent: Option<u32>) -> Seek {
        Seek::new((0, 0), "broken".into(), openings, (indent, false), false)
    }

    #[test]
    fn finds_an_opening_or_a_line_start() {
        let open: &[u8] = br#"{"eventVersion":"#;
        let mut s = seek([Some(open), None], None);
        let input = br#"ser","x":{"a":1},{"eventVersion":"1"}"#;
        let found = s.find(input).unwrap();
        assert_eq!((found.at, found.carried.len()), (17, 0));
        // Split between two inputs: the part before comes back to be framed first.
        let mut s = seek([Some(open), None], None);
        assert!(s.find(br#"xx{"eventVe"#).is_none());
        let found = s.find(br#"rsion":1}"#).unwrap();
        assert_eq!(found.at, 0);
        assert_eq!(found.carried, br#"{"eventVe"#);
        // A `{` first on its line at the records' indentation; not deeper, not after text.
        let mut s = seek([None, None], Some(2));
        let input = b"x\n    {\n a {\n  {\"b\":1}";
        assert_eq!(s.find(input).unwrap().at, input.len() - 7);
        // Nothing: all of it is skipped.
        let mut s = seek([Some(open), None], Some(0));
        assert!(s.find(b" {\"eventVersion\" :1}\n [").is_none());
        // At the top level, any value first on its line, at column 0.
        let mut s = Seek::new((0, 0), String::new(), [None, None], (None, true), false);
        assert_eq!(s.find(b"x\n  {\n}\n#\n42\n").unwrap().at, 10);
    }

    #[test]
    fn diagnostic_text() {
        let mut s = seek([None, None], None);
        s.start = 10;
        s.detected = 20;
        assert_eq!(
            s.detail(Some(50), 50),
            "broken; 40 bytes skipped, reading resumed at byte 50"
        );
        assert_eq!(s.detail(Some(20), 20), "broken");
        assert_eq!(
            s.detail(Some(15), 20),
            "broken; 5 bytes skipped, reading resumed at byte 15"
        );
        assert_eq!(
            s.detail(None, 25),
            "broken; no record starts in the 5 bytes after it (skipped to the end of the input)"
        );
        assert_eq!(s.detail(None, 20), "broken");
    }
}
