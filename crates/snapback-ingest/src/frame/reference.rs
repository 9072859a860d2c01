//! The framer's fast path a byte at a time: the reference that
//! [`crate::structural::scan_value`] is tested against.

use super::names_container;

/// Byte classes for [`scan_value_bytes`]: 0 ordinary, 1 quote, 2 open, 3 close, 4 line feed.
const CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    t[b'"' as usize] = 1;
    t[b'{' as usize] = 2;
    t[b'[' as usize] = 2;
    t[b'}' as usize] = 3;
    t[b']' as usize] = 3;
    t[b'\n' as usize] = 4;
    t
};

/// Bytes that end a run inside a string: quote, backslash, line breaks.
const STRING_STOP: [bool; 256] = {
    let mut t = [false; 256];
    t[b'"' as usize] = true;
    t[b'\\' as usize] = true;
    t[b'\n' as usize] = true;
    t[b'\r' as usize] = true;
    t
};

/// The fast path, a byte at a time (the reference for [`crate::structural::scan_value`],
/// which the framer uses): the index of the byte that closes the object or array opening at
/// `chunk[start]`, when the byte-at-a-time framer would frame exactly `chunk[start..=end]` as
/// one record from this state, and `None` whenever it might not (the value runs past the
/// buffer; a line break in a string, which is a broken record; a line feed outside strings,
/// where the slow framer may resynchronise; a top-level key that names a container). `top` is
/// true for a top-level object, false for an element of an array.
pub(crate) fn scan_value_bytes(chunk: &[u8], start: usize, top: bool) -> Option<usize> {
    let n = chunk.len();
    let mut depth = 0u32;
    let mut i = start;
    while i < n {
        match CLASS[chunk[i] as usize] {
            0 => {
                if top && depth == 1 && chunk[i] == b':' && names_container(&chunk[start..i]) {
                    return None;
                }
                i += 1;
            }
            1 => {
                i += 1;
                loop {
                    while i < n && !STRING_STOP[chunk[i] as usize] {
                        i += 1;
                    }
                    match chunk.get(i) {
                        Some(b'"') => {
                            i += 1;
                            break;
                        }
                        Some(b'\\') => match chunk.get(i + 1) {
                            Some(b'\n' | b'\r') | None => return None,
                            Some(_) => i += 2,
                        },
                        _ => return None,
                    }
                }
            }
            2 => {
                depth += 1;
                i += 1;
            }
            3 => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
                i += 1;
            }
            _ => {
                // A line feed outside strings: the byte-at-a-time framer resynchronises on
                // lines after broken input, so a record spanning lines is left to it (one-line
                // records, the CloudTrail and JSON-lines layouts, stay on the fast path).
                return None;
            }
        }
    }
    None
}
