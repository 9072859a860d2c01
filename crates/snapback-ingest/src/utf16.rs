//! UTF-16 text decoded to UTF-8 as it streams (Windows tools export JSON so: PowerShell's
//! `Out-File` before version 6, `Export-Csv -Encoding Unicode`). The framer then reads UTF-8,
//! and its offsets are of the UTF-8 stream, as a gzip file's are of the inflated one.

use std::cell::Cell;
use std::io::{self, Read};
use std::rc::Rc;

/// Code units that were not UTF-16 (a surrogate without its other half, an odd last byte),
/// replaced with U+FFFD: how many, and where the first replacement is in the UTF-8 output.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Replaced {
    pub count: u64,
    pub first_at: u64,
}

/// Decodes UTF-16 (without its byte-order mark) from `inner` into UTF-8.
pub(crate) struct Utf16Reader<R> {
    inner: R,
    big_endian: bool,
    raw: Vec<u8>,
    /// Bytes of `raw` carried over: an odd byte at the end of the last read.
    carried: usize,
    /// A high surrogate at the end of the last read, waiting for its low half.
    high: Option<u16>,
    out: Vec<u8>,
    pos: usize,
    /// UTF-8 bytes handed out before `out`.
    emitted: u64,
    eof: bool,
    replaced: Rc<Cell<Replaced>>,
}

const RAW: usize = 64 * 1024;

impl<R: Read> Utf16Reader<R> {
    /// The reader, and where it counts what it replaced.
    pub(crate) fn new(inner: R, big_endian: bool) -> (Self, Rc<Cell<Replaced>>) {
        let replaced = Rc::new(Cell::new(Replaced::default()));
        let reader = Utf16Reader {
            inner,
            big_endian,
            raw: vec![0; RAW],
            carried: 0,
            high: None,
            out: Vec::new(),
            pos: 0,
            emitted: 0,
            eof: false,
            replaced: replaced.clone(),
        };
        (reader, replaced)
    }

    fn replacement(&mut self) {
        let mut r = self.replaced.get();
        if r.count == 0 {
            r.first_at = self.emitted + self.out.len() as u64;
        }
        r.count += 1;
        self.replaced.set(r);
        self.push(char::REPLACEMENT_CHARACTER);
    }

    fn push(&mut self, c: char) {
        let mut utf8 = [0; 4];
        self.out
            .extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
    }

    fn unit(&mut self, u: u16) {
        if let Some(high) = self.high.take() {
            if (0xDC00..0xE000).contains(&u) {
                let c = 0x10000 + ((u32::from(high) - 0xD800) << 10) + (u32::from(u) - 0xDC00);
                match char::from_u32(c) {
                    Some(c) => self.push(c),
                    None => self.replacement(),
                }
                return;
            }
            self.replacement();
        }
        match u {
            0xD800..=0xDBFF => self.high = Some(u),
            0xDC00..=0xDFFF => self.replacement(),
            _ => match char::from_u32(u32::from(u)) {
                Some(c) => self.push(c),
                None => self.replacement(),
            },
        }
    }

    /// Decode the next read of `inner` into `out`; false at the end of the input.
    fn decode_more(&mut self) -> io::Result<bool> {
        if self.eof {
            return Ok(false);
        }
        let n = loop {
            match self.inner.read(&mut self.raw[self.carried..]) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        };
        if n == 0 {
            self.eof = true;
            if self.high.take().is_some() {
                self.replacement();
            }
            if self.carried > 0 {
                self.carried = 0;
                self.replacement();
            }
            return Ok(true);
        }
        let total = self.carried + n;
        let whole = total - total % 2;
        for i in (0..whole).step_by(2) {
            let pair = [self.raw[i], self.raw[i + 1]];
            let u = match self.big_endian {
                true => u16::from_be_bytes(pair),
                false => u16::from_le_bytes(pair),
            };
            self.unit(u);
        }
        self.carried = total - whole;
        if self.carried > 0 {
            self.raw[0] = self.raw[whole];
        }
        Ok(true)
    }
}

impl<R: Read> Read for Utf16Reader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.out.len() {
            self.emitted += self.out.len() as u64;
            self.out.clear();
            self.pos = 0;
            if !self.decode_more()? {
                return Ok(0);
            }
        }
        let n = (self.out.len() - self.pos).min(buf.len());
        buf[..n].copy_from_slice(&self.out[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(bytes: &[u8], big_endian: bool, step: usize) -> (String, Replaced) {
        struct Steps<'a>(&'a [u8], usize);
        impl Read for Steps<'_> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                let n = self.0.len().min(buf.len()).min(self.1);
                buf[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let (mut r, replaced) = Utf16Reader::new(Steps(bytes, step), big_endian);
        let mut s = String::new();
        r.read_to_string(&mut s).unwrap();
        (s, replaced.get())
    }

    #[test]
    fn both_byte_orders_pairs_across_reads_and_lone_halves() {
        let text = "{\"userAgent\":\"caf\u{e9} \u{1F600}\"}\n";
        let le: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
        let be: Vec<u8> = text.encode_utf16().flat_map(u16::to_be_bytes).collect();
        for step in [1, 3, 4096] {
            assert_eq!(decode(&le, false, step).0, text);
            assert_eq!(decode(&be, true, step).0, text);
            assert_eq!(decode(&le, false, step).1.count, 0);
        }
        // A lone high surrogate, a lone low one, an odd last byte.
        let mut bad: Vec<u8> = "a".encode_utf16().flat_map(u16::to_le_bytes).collect();
        bad.extend([0x00, 0xD8, b'b', 0, 0x00, 0xDC, b'c']);
        let (s, r) = decode(&bad, false, 1);
        assert_eq!(s, "a\u{FFFD}b\u{FFFD}\u{FFFD}");
        assert_eq!(
            r,
            Replaced {
                count: 3,
                first_at: 1
            }
        );
    }
}
