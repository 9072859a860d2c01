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

/// A libdeflate decompressor, owned. The C library is called directly (`libdeflate-sys`):
/// the `libdeflater` wrapper does not offer the call that says how much input a member took
/// (`libdeflate_gzip_decompress_ex`), without which the whole-file test needed a second CRC-32
/// of the output.
struct Decompressor(std::ptr::NonNull<libdeflate_sys::libdeflate_decompressor>);

#[allow(unsafe_code)]
impl Decompressor {
    fn new() -> Option<Self> {
        // SAFETY: takes no arguments; returns a new decompressor, or null when out of memory.
        std::ptr::NonNull::new(unsafe { libdeflate_sys::libdeflate_alloc_decompressor() })
            .map(Decompressor)
    }

    /// Inflate the gzip member at the start of `gz` into `out`: `(input bytes the member
    /// took, output bytes)`, or `None` when it is not a good member (libdeflate checks the
    /// member's CRC-32 and size against its own trailer) or needs more room than `out`.
    fn gunzip(&mut self, gz: &[u8], out: &mut [u8]) -> Option<(usize, usize)> {
        let (mut used, mut n) = (0usize, 0usize);
        // SAFETY: `self.0` is a live decompressor, used by one thread at a time (`&mut self`);
        // the input and output pointers and lengths come from live slices, and libdeflate
        // reads at most `gz.len()` bytes of one and writes at most `out.len()` of the other;
        // the two results are written to locals.
        let result = unsafe {
            libdeflate_sys::libdeflate_gzip_decompress_ex(
                self.0.as_ptr(),
                gz.as_ptr().cast(),
                gz.len(),
                out.as_mut_ptr().cast(),
                out.len(),
                &mut used,
                &mut n,
            )
        };
        (result == libdeflate_sys::libdeflate_result_LIBDEFLATE_SUCCESS).then_some((used, n))
    }
}

#[allow(unsafe_code)]
impl Drop for Decompressor {
    fn drop(&mut self) {
        // SAFETY: allocated by `libdeflate_alloc_decompressor` and freed only here, once.
        unsafe { libdeflate_sys::libdeflate_free_decompressor(self.0.as_ptr()) }
    }
}

thread_local! {
    static DECOMPRESSOR: RefCell<Option<Decompressor>> = RefCell::new(Decompressor::new());
}

/// Inflate `gz`, one whole gzip member, into `out` (resized to fit); the number of bytes, or
/// `None` when the input is not exactly one good member of at most [`WHOLE_MAX_OUTPUT`]
/// bytes (the caller then streams it).
///
/// The output's size is taken from the file's last trailer. libdeflate checks the member's
/// CRC-32 and size against the member's own trailer and says how much input it took; the
/// member is the whole file only when it took all of it (a file of several members, or with
/// bytes after its member, is streamed instead).
pub fn gunzip_whole(gz: &[u8], out: &mut Vec<u8>) -> Option<usize> {
    if gz.len() < 18 || gz[..2] != [0x1f, 0x8b] {
        return None;
    }
    let size = u32::from_le_bytes(gz[gz.len() - 4..].try_into().ok()?) as usize;
    if size > WHOLE_MAX_OUTPUT {
        return None;
    }
    if out.len() < size {
        out.resize(size, 0);
    }
    let (used, n) = DECOMPRESSOR.with(|d| d.borrow_mut().as_mut()?.gunzip(gz, &mut out[..size]))?;
    (used == gz.len() && n == size).then_some(n)
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
        // Two members with the same contents: the second's trailer matches the first's output,
        // but the first does not take the whole input, so the file is streamed (both read).
        let twice = [one.clone(), one.clone()].concat();
        assert_eq!(gunzip_whole(&twice, &mut out), None);
        assert_eq!(stream(&twice), [text.clone(), text.clone()].concat());
        // Bytes after the member: streamed too (and diagnosed there).
        let mut padded = one.clone();
        padded.extend(&one[one.len() - 8..]);
        assert_eq!(gunzip_whole(&padded, &mut out), None);
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
