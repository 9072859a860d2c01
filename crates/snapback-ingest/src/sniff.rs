//! Looking at the first bytes of an input without losing them, and saying what it is.
//!
//! Every kind of source (a regular file, a pipe or FIFO, `/dev/stdin`, stdin, an archive
//! member, a decompressed stream) is looked at through [`Peek`]: the bytes looked at are kept
//! and handed on first, so nothing is ever sought back (a pipe cannot be), and a source whose
//! reads come a few bytes at a time is read until enough are there. [`sniff`] then says what
//! the bytes are, by their magic numbers only, never by a file name.

use std::io::{self, Read};

/// How many bytes [`sniff`] wants to see (a tar header's magic is at 257).
pub(crate) const SNIFF_BYTES: usize = 264;

/// A reader whose first bytes can be looked at before they are read. A read error met while
/// looking is kept, and returned by the read that reaches it, after the bytes before it: the
/// framer reports it where it happened, as it would have without the look.
pub(crate) struct Peek<R> {
    head: Vec<u8>,
    pos: usize,
    error: Option<io::Error>,
    inner: R,
}

impl<R: Read> Peek<R> {
    pub(crate) fn new(inner: R) -> Self {
        Peek {
            head: Vec::new(),
            pos: 0,
            error: None,
            inner,
        }
    }

    /// The next `n` bytes, without reading them: fewer when the input ends sooner or a read
    /// fails. Reads as often as it takes (a pipe may hand over one byte at a time).
    pub(crate) fn peek(&mut self, n: usize) -> &[u8] {
        if self.pos > 0 {
            self.head.drain(..self.pos);
            self.pos = 0;
        }
        while self.head.len() < n && self.error.is_none() {
            let have = self.head.len();
            self.head.resize(n, 0);
            let got = self.inner.read(&mut self.head[have..]);
            match got {
                Ok(0) => {
                    self.head.truncate(have);
                    break;
                }
                Ok(k) => self.head.truncate(have + k),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => self.head.truncate(have),
                Err(e) => {
                    self.head.truncate(have);
                    self.error = Some(e);
                }
            }
        }
        &self.head[..n.min(self.head.len())]
    }

    /// Drop the next `n` bytes, which [`peek`](Self::peek) has shown.
    pub(crate) fn skip(&mut self, n: usize) {
        self.pos = (self.pos + n).min(self.head.len());
    }

    /// The bytes looked at and not read yet, and the reader after them (a read error met
    /// while looking is dropped: reading on meets it again).
    pub(crate) fn into_parts(mut self) -> (Vec<u8>, R) {
        self.head.drain(..self.pos);
        (self.head, self.inner)
    }
}

impl<R: Read> Read for Peek<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos < self.head.len() {
            let n = (self.head.len() - self.pos).min(buf.len());
            buf[..n].copy_from_slice(&self.head[self.pos..self.pos + n]);
            self.pos += n;
            if self.pos == self.head.len() {
                self.head = Vec::new();
                self.pos = 0;
            }
            return Ok(n);
        }
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        self.inner.read(buf)
    }
}

/// What an input is, from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Gzip,
    Zip,
    /// UTF-16 text; `bom` when it starts with a byte-order mark (2 bytes).
    Utf16 {
        big_endian: bool,
        bom: bool,
    },
    /// A format snapback does not read (named): compressed or archived another way, UTF-32.
    Unsupported(&'static str),
    /// Anything else: handed to the framer, which tells JSON from text.
    Plain,
}

/// Magic numbers of formats snapback cannot open, and their names.
const UNSUPPORTED: [(&[u8], &str); 7] = [
    (&[0xFD, b'7', b'z', b'X', b'Z', 0], "xz"),
    (&[0x28, 0xB5, 0x2F, 0xFD], "zstd"),
    (&[b'7', b'z', 0xBC, 0xAF, 0x27, 0x1C], "7z"),
    (&[0x04, 0x22, 0x4D, 0x18], "lz4"),
    (b"Rar!\x1a\x07", "rar"),
    (&[0xFF, 0xFE, 0, 0], "UTF-32 (little-endian) text"),
    (&[0, 0, 0xFE, 0xFF], "UTF-32 (big-endian) text"),
];

/// What `head` (the first [`SNIFF_BYTES`] of an input, or all of it when shorter) is.
pub(crate) fn sniff(head: &[u8]) -> Kind {
    if head.starts_with(&[0x1f, 0x8b]) {
        return Kind::Gzip;
    }
    // A local file header, or the end of the central directory of an archive with no files.
    if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") {
        return Kind::Zip;
    }
    if let Some((_, name)) = UNSUPPORTED.iter().find(|(m, _)| head.starts_with(m)) {
        return Kind::Unsupported(name);
    }
    if head.len() >= 4 && head.starts_with(b"BZh") && head[3].is_ascii_digit() {
        return Kind::Unsupported("bzip2");
    }
    if head.len() >= 262 && &head[257..262] == b"ustar" {
        return Kind::Unsupported("tar");
    }
    if head.starts_with(&[0xFF, 0xFE]) {
        return Kind::Utf16 {
            big_endian: false,
            bom: true,
        };
    }
    if head.starts_with(&[0xFE, 0xFF]) {
        return Kind::Utf16 {
            big_endian: true,
            bom: true,
        };
    }
    match utf16_without_mark(head) {
        Some(big_endian) => Kind::Utf16 {
            big_endian,
            bom: false,
        },
        None => Kind::Plain,
    }
}

/// Whether `head` is UTF-16 JSON without a byte-order mark: white space, then `{` or `[` and
/// another ASCII character, each with a zero byte beside it (never in UTF-8 JSON, where a raw
/// NUL is not allowed). `Some(big_endian)`.
fn utf16_without_mark(head: &[u8]) -> Option<bool> {
    for big_endian in [false, true] {
        let ascii = |u: &[u8]| {
            let (c, zero) = if big_endian {
                (u[1], u[0])
            } else {
                (u[0], u[1])
            };
            (zero == 0 && c != 0 && c.is_ascii()).then_some(c)
        };
        let mut chars = head
            .chunks_exact(2)
            .map(ascii)
            .skip_while(|c| c.is_some_and(|c| c.is_ascii_whitespace()));
        if let (Some(Some(b'{' | b'[')), Some(Some(_))) = (chars.next(), chars.next()) {
            return Some(big_endian);
        }
    }
    None
}

/// Whether decoded text (its first bytes) starts as JSON: its first byte that is not white
/// space or a UTF-8 byte-order mark is `{` or `[`, or there is none yet.
pub(crate) fn starts_as_json(head: &[u8]) -> bool {
    let mut rest = head;
    loop {
        match rest {
            [b, tail @ ..] if b.is_ascii_whitespace() => rest = tail,
            [0xEF, 0xBB, 0xBF, tail @ ..] => rest = tail,
            [b'{' | b'[', ..] | [] => return true,
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hands over one byte a read, as a slow pipe may.
    struct OneByte<'a>(&'a [u8]);

    impl Read for OneByte<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.0.len().min(buf.len()).min(1);
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn peek_reads_until_enough_and_loses_nothing() {
        let mut p = Peek::new(OneByte(b"\x1f\x8b rest of it"));
        assert_eq!(p.peek(4), b"\x1f\x8b r");
        assert_eq!(p.peek(2), b"\x1f\x8b");
        p.skip(1);
        assert_eq!(p.peek(3), b"\x8b r");
        let mut all = Vec::new();
        p.read_to_end(&mut all).unwrap();
        assert_eq!(all, b"\x8b rest of it");
        let mut short = Peek::new(OneByte(b"ab"));
        assert_eq!(short.peek(SNIFF_BYTES), b"ab");
        let (head, _) = short.into_parts();
        assert_eq!(head, b"ab");
    }

    /// Fails after handing over its bytes.
    struct Fails<'a>(&'a [u8]);

    impl Read for Fails<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.0.is_empty() {
                return Err(io::Error::other("cut"));
            }
            let n = self.0.len().min(buf.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn a_read_error_met_while_looking_comes_after_the_bytes_before_it() {
        let mut p = Peek::new(Fails(b"{\"a\""));
        assert_eq!(p.peek(SNIFF_BYTES), b"{\"a\"");
        let mut buf = [0; 16];
        assert_eq!(p.read(&mut buf).unwrap(), 4);
        assert_eq!(p.read(&mut buf).unwrap_err().to_string(), "cut");
    }

    #[test]
    fn kinds_by_magic() {
        assert_eq!(sniff(b"\x1f\x8b\x08\0"), Kind::Gzip);
        assert_eq!(sniff(b"PK\x03\x04...."), Kind::Zip);
        assert_eq!(sniff(b"PK\x05\x06"), Kind::Zip);
        assert_eq!(sniff(b"BZh91AY&SY"), Kind::Unsupported("bzip2"));
        assert_eq!(sniff(b"\x28\xB5\x2F\xFD.."), Kind::Unsupported("zstd"));
        assert_eq!(
            sniff(b"\xFF\xFE{\0"),
            Kind::Utf16 {
                big_endian: false,
                bom: true
            }
        );
        assert_eq!(
            sniff(b"\xFE\xFF\0{"),
            Kind::Utf16 {
                big_endian: true,
                bom: true
            }
        );
        assert_eq!(
            sniff(b"\xFF\xFE\0\0{\0\0\0"),
            Kind::Unsupported("UTF-32 (little-endian) text")
        );
        assert_eq!(
            sniff(b"\n\0{\0\"\0"),
            Kind::Utf16 {
                big_endian: false,
                bom: false
            }
        );
        assert_eq!(
            sniff(b"\0[\0{"),
            Kind::Utf16 {
                big_endian: true,
                bom: false
            }
        );
        let mut tar = vec![b'a'; 300];
        tar[257..262].copy_from_slice(b"ustar");
        assert_eq!(sniff(&tar), Kind::Unsupported("tar"));
        for plain in [
            &b"{\"a\":1}"[..],
            b"",
            b"{",
            b"\xEF\xBB\xBF{",
            b"version account-id",
        ] {
            assert_eq!(sniff(plain), Kind::Plain, "{plain:?}");
        }
    }
}
