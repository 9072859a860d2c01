//! Whole-member gzip decoding with libdeflate, the fastest decoder measured (STACK.md: 1,590
//! MB/s of output on one core, against zlib-rs's 921), for the small files CloudTrail delivers:
//! the compressed file is read whole and inflated in one call into a buffer of the size its
//! trailer states. Anything else (a large file, several members, a truncated or corrupt
//! stream) is left to the streaming decoder (flate2 with zlib-rs), which also gives the
//! diagnostics for broken input; the two give the same bytes.

use std::cell::RefCell;

/// Compressed files up to this size are read whole.
pub const WHOLE_MAX_COMPRESSED: u64 = 8 << 20;
/// ...when their trailer promises at most this much output.
pub const WHOLE_MAX_OUTPUT: usize = 64 << 20;

thread_local! {
    static DECOMPRESSOR: RefCell<libdeflater::Decompressor> =
        RefCell::new(libdeflater::Decompressor::new());
}

/// Inflate `gz`, one whole gzip member, into `out` (resized to fit); the number of bytes, or
/// `None` when the input is not exactly one good member of at most [`WHOLE_MAX_OUTPUT`]
/// bytes (the caller then streams it).
///
/// libdeflate reads one member and does not say where it ended, so the member is taken as the
/// whole file only when its output has the size and CRC-32 of the file's last trailer: a
/// file of several members passes that test only if the first has the very contents of the
/// last.
pub fn gunzip_whole(gz: &[u8], out: &mut Vec<u8>) -> Option<usize> {
    if gz.len() < 18 || gz[..2] != [0x1f, 0x8b] {
        return None;
    }
    let trailer = &gz[gz.len() - 8..];
    let crc = u32::from_le_bytes(trailer[..4].try_into().ok()?);
    let size = u32::from_le_bytes(trailer[4..].try_into().ok()?) as usize;
    if size > WHOLE_MAX_OUTPUT {
        return None;
    }
    if out.len() < size {
        out.resize(size, 0);
    }
    let n = DECOMPRESSOR
        .with(|d| d.borrow_mut().gzip_decompress(gz, &mut out[..size]))
        .ok()?;
    (n == size && libdeflater::crc32(&out[..n]) == crc).then_some(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    fn gz(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn stream(gz: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let _ = flate2::read::MultiGzDecoder::new(gz).read_to_end(&mut out);
        out
    }

    #[test]
    fn whole_members_and_what_is_left_to_the_stream() {
        let text = b"{\"Records\":[{\"eventName\":\"StopInstances\"}]}\n".repeat(1000);
        let one = gz(&text);
        let mut out = Vec::new();
        let n = gunzip_whole(&one, &mut out).unwrap();
        assert_eq!(&out[..n], &text[..]);
        assert_eq!(stream(&one), text);
        // Two members: the trailer is the second's, so the first does not pass for the file.
        let mut two = one.clone();
        two.extend(gz(b"{\"more\":1}\n"));
        assert_eq!(gunzip_whole(&two, &mut out), None);
        // Truncated, corrupt, empty, not gzip: streamed (and diagnosed) instead.
        assert_eq!(gunzip_whole(&one[..one.len() - 5], &mut out), None);
        let mut bad = one.clone();
        let mid = bad.len() / 2;
        bad[mid] ^= 0xff;
        assert_eq!(gunzip_whole(&bad, &mut out), None);
        assert_eq!(gunzip_whole(b"", &mut out), None);
        assert_eq!(gunzip_whole(&text, &mut out), None);
        // An empty member is fine.
        assert_eq!(gunzip_whole(&gz(b""), &mut out), Some(0));
    }
}
