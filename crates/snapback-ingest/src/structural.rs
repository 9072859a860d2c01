//! The framer's fast path, 64 bytes at a time: where a record ends, found from bit masks of
//! the bytes that matter (quotes, backslashes, brackets, line breaks, colons) instead of one
//! byte at a time.
//!
//! This is the first stage of simdjson (Langdale and Lemire, "Parsing gigabytes of JSON per
//! second", 2019) cut down to what framing needs: the escaped characters come from the
//! backslash mask, the inside of strings from a prefix XOR over the unescaped quotes, and the
//! brackets outside strings are then walked bit by bit to track the depth.
//!
//! [`scan_value`] answers exactly what the byte-at-a-time fast path of `frame.rs`
//! (`scan_value_bytes`) answers, or `None` (leave the record to the byte-at-a-time framer) in
//! two more cases that well-formed records never show: a carriage return outside strings, and a
//! backslash outside strings. `None` is always safe: the slow path frames the same bytes.
//!
//! The masks of a block are computed with AVX2 where the processor has it (detected at run
//! time), else with SSE2, which every x86_64 processor has. That needs `unsafe` for the
//! unaligned loads and for calling the AVX2 function; it is the only `unsafe` in the crate
//! apart from the libdeflate calls of `gzip.rs` (docs/decisions.md). Elsewhere a portable loop
//! computes the same masks; [`classify_portable`] is also the reference both are tested
//! against.

/// Bit `i` of each mask is set when byte `i` of the block is of that class.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Masks {
    pub quote: u64,
    pub backslash: u64,
    /// `{` or `[`.
    pub open: u64,
    /// `}` or `]`.
    pub close: u64,
    /// `\n` or `\r`.
    pub newline: u64,
    pub colon: u64,
    /// `d` or `e` (0x64, 0x65: they differ in bit 0 only): the last letter of the keys a
    /// record filter asks about (see [`Keys`]).
    pub de: u64,
    /// The rest only for top-level values (`TOP`): the letters that end the names of
    /// containers (`Records`, `records`, `value`, `logEvents`), folded in pairs so that one
    /// compare finds two letters: `d` or `t`, `c` or `s`, `e` or `u`.
    pub dt: u64,
    pub cs: u64,
    pub eu: u64,
}

/// The masks of one 64-byte block, portably.
#[cfg(any(test, not(target_arch = "x86_64")))]
pub(crate) fn classify_portable<const TOP: bool>(block: &[u8; 64]) -> Masks {
    let mut m = Masks::default();
    for (i, &b) in block.iter().enumerate() {
        let bit = 1u64 << i;
        match b {
            b'"' => m.quote |= bit,
            b'\\' => m.backslash |= bit,
            b'{' | b'[' => m.open |= bit,
            b'}' | b']' => m.close |= bit,
            b'\n' | b'\r' => m.newline |= bit,
            b':' => m.colon |= bit,
            _ => {}
        }
        if b == b'd' || b == b'e' {
            m.de |= bit;
        }
        if TOP {
            match b {
                b'd' | b't' => m.dt |= bit,
                b'c' | b's' => m.cs |= bit,
                b'e' | b'u' => m.eu |= bit,
                _ => {}
            }
        }
    }
    m
}

/// Add one lane (16 or 32 bytes, starting at bit `shift` of the block) to `m`. `eq(set, c)` is
/// the lane's bitmask of the bytes `b` with `b | set == c` (`set` 0: the bytes equal to `c`).
///
/// `[` is 0x5b and `{` 0x7b, `]` 0x5d and `}` 0x7d: setting bit 5 folds each pair, and no
/// other byte folds onto 0x7b or 0x7d. Likewise bit 0 folds `d` onto `e`, and bit 4 folds `d`
/// onto `t`, `c` onto `s` and `e` onto `u`.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn add_lane<const TOP: bool>(m: &mut Masks, shift: u32, eq: impl Fn(u8, u8) -> u64) {
    m.quote |= eq(0, b'"') << shift;
    m.backslash |= eq(0, b'\\') << shift;
    m.open |= eq(0x20, b'{') << shift;
    m.close |= eq(0x20, b'}') << shift;
    m.newline |= (eq(0, b'\n') | eq(0, b'\r')) << shift;
    m.colon |= eq(0, b':') << shift;
    m.de |= eq(1, b'e') << shift;
    if TOP {
        m.dt |= eq(0x10, b't') << shift;
        m.cs |= eq(0x10, b's') << shift;
        m.eu |= eq(0x10, b'u') << shift;
    }
}

/// The masks of one 64-byte block, with SSE2.
#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
pub(crate) fn classify<const TOP: bool>(block: &[u8; 64]) -> Masks {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8,
    };
    let mut m = Masks::default();
    // SAFETY: SSE2 is part of the x86_64 baseline, so these instructions exist on every
    // processor this code is built for (the intrinsics are `unsafe` only for that reason);
    // `block` is 64 bytes long, so the 16 bytes loaded at `16 * k` (k < 4) are in bounds, and
    // `_mm_loadu_si128` has no alignment requirement.
    unsafe {
        for k in 0..4 {
            let v = _mm_loadu_si128(block.as_ptr().add(16 * k).cast::<__m128i>());
            add_lane::<TOP>(&mut m, 16 * k as u32, |set, c| {
                let w = if set == 0 {
                    v
                } else {
                    _mm_or_si128(v, _mm_set1_epi8(set as i8))
                };
                (_mm_movemask_epi8(_mm_cmpeq_epi8(w, _mm_set1_epi8(c as i8))) as u32 & 0xffff)
                    as u64
            });
        }
    }
    m
}

/// The masks of one 64-byte block, with AVX2: the same as [`classify`], 32 bytes at a time.
///
/// # Safety
///
/// The processor must have AVX2 (`is_x86_feature_detected!("avx2")`).
#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
#[target_feature(enable = "avx2")]
unsafe fn classify_avx2<const TOP: bool>(block: &[u8; 64]) -> Masks {
    use std::arch::x86_64::{
        __m256i, _mm256_cmpeq_epi8, _mm256_loadu_si256, _mm256_movemask_epi8, _mm256_or_si256,
        _mm256_set1_epi8,
    };
    let mut m = Masks::default();
    for k in 0..2 {
        // SAFETY: `block` is 64 bytes long, so the 32 bytes at `32 * k` (k < 2) are in bounds,
        // and `_mm256_loadu_si256` has no alignment requirement.
        let v = unsafe { _mm256_loadu_si256(block.as_ptr().add(32 * k).cast::<__m256i>()) };
        add_lane::<TOP>(&mut m, 32 * k as u32, |set, c| {
            let w = if set == 0 {
                v
            } else {
                _mm256_or_si256(v, _mm256_set1_epi8(set as i8))
            };
            _mm256_movemask_epi8(_mm256_cmpeq_epi8(w, _mm256_set1_epi8(c as i8))) as u32 as u64
        });
    }
    m
}

/// Whether [`classify_avx2`] may run here.
#[cfg(target_arch = "x86_64")]
fn has_avx2() -> bool {
    std::arch::is_x86_feature_detected!("avx2")
}

#[cfg(not(target_arch = "x86_64"))]
fn has_avx2() -> bool {
    false
}

/// [`classify`], with AVX2 when `avx2` (which must come from [`has_avx2`]).
#[inline(always)]
#[allow(unsafe_code)]
fn classify_with<const TOP: bool>(block: &[u8; 64], avx2: bool) -> Masks {
    #[cfg(target_arch = "x86_64")]
    if avx2 {
        // SAFETY: `avx2` is only true when the processor has AVX2 (`has_avx2`).
        return unsafe { classify_avx2::<TOP>(block) };
    }
    let _ = avx2;
    classify::<TOP>(block)
}

#[cfg(not(target_arch = "x86_64"))]
pub(crate) fn classify<const TOP: bool>(block: &[u8; 64]) -> Masks {
    classify_portable::<TOP>(block)
}

/// Bit `i` of the result is the XOR of bits `0..=i` of `x`: over the unescaped quotes, the
/// bytes from an opening quote up to (not including) its closing quote.
fn prefix_xor(mut x: u64) -> u64 {
    x ^= x << 1;
    x ^= x << 2;
    x ^= x << 4;
    x ^= x << 8;
    x ^= x << 16;
    x ^= x << 32;
    x
}

/// The index of the byte that closes the object or array opening at `chunk[start]` (which
/// must be `{` or `[` outside any string), or `None` when the byte-at-a-time framer might not
/// frame `chunk[start..=end]` as one record: the value runs past the chunk; a line break (in a
/// string or not), a backslash outside strings, or, when `top`, a key at depth 1 that could
/// name a container (`container` answers for the bytes before its colon).
pub(crate) fn scan_value(
    chunk: &[u8],
    start: usize,
    top: bool,
    container: impl Fn(&[u8]) -> bool,
    keys: Option<&mut Keys>,
) -> Option<usize> {
    #[cfg(target_arch = "x86_64")]
    if has_avx2_clmul() {
        // SAFETY: the processor has the features `scan_avx2` is compiled for.
        #[allow(unsafe_code)]
        return unsafe {
            if top {
                scan_avx2::<true>(chunk, start, container, keys)
            } else {
                scan_avx2::<false>(chunk, start, container, keys)
            }
        };
    }
    if top {
        scan_plain::<true>(chunk, start, container, keys)
    } else {
        scan_plain::<false>(chunk, start, container, keys)
    }
}

/// [`scan`] with no processor feature beyond those it detects for itself: the masks by
/// [`classify_with`], the prefix XOR by shifts.
fn scan_plain<const TOP: bool>(
    chunk: &[u8],
    start: usize,
    container: impl Fn(&[u8]) -> bool,
    keys: Option<&mut Keys>,
) -> Option<usize> {
    // SAFETY: with `FAST` false, `scan` calls nothing that needs a feature it has not detected.
    #[allow(unsafe_code)]
    unsafe {
        scan::<TOP, false>(chunk, start, container, keys)
    }
}

/// Whether [`scan_avx2`] may run here.
#[cfg(target_arch = "x86_64")]
fn has_avx2_clmul() -> bool {
    std::arch::is_x86_feature_detected!("avx2")
        && std::arch::is_x86_feature_detected!("pclmulqdq")
        && std::arch::is_x86_feature_detected!("popcnt")
}

/// [`scan`] compiled for AVX2, PCLMULQDQ and POPCNT as a whole: the masks, the prefix XOR (one
/// carry-less multiplication) and the population counts are then inlined instructions, not
/// calls or bit tricks.
///
/// # Safety
///
/// The processor must have AVX2, PCLMULQDQ and POPCNT ([`has_avx2_clmul`]).
#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
#[target_feature(enable = "avx2,pclmulqdq,popcnt")]
unsafe fn scan_avx2<const TOP: bool>(
    chunk: &[u8],
    start: usize,
    container: impl Fn(&[u8]) -> bool,
    keys: Option<&mut Keys>,
) -> Option<usize> {
    // SAFETY: this function runs only where the processor has what `FAST` uses.
    unsafe { scan::<TOP, true>(chunk, start, container, keys) }
}

/// [`prefix_xor`] by carry-less multiplication by all ones.
///
/// # Safety
///
/// The processor must have PCLMULQDQ.
#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
#[target_feature(enable = "pclmulqdq")]
#[inline]
unsafe fn prefix_xor_clmul(x: u64) -> u64 {
    use std::arch::x86_64::{
        _mm_clmulepi64_si128, _mm_cvtsi128_si64, _mm_set1_epi8, _mm_set_epi64x,
    };
    _mm_cvtsi128_si64(_mm_clmulepi64_si128(
        _mm_set_epi64x(0, x as i64),
        _mm_set1_epi8(-1),
        0,
    )) as u64
}

/// Where the keys of a record end, gathered by [`scan_value`] on the way: the offset (from the
/// record's first byte) of the closing quote of every object key that ends in `d` or `e`, at
/// any depth, in order (and perhaps of a few other keys). Those are the keys record filters
/// ask about: the operation keys (`eventName`, `operationName`, `OperationNameValue`,
/// `methodName`) and the lower-cased marker keys (`protopayload`, `insertid`, …); taking
/// only them keeps the list short.
/// With `all` set (by whoever asks), every key is listed, whatever its last letter.
/// `plain` says whether the list can be trusted to name every key as written: the record has
/// no backslash (so no escaped quote, `\u` escape or JSON text inside a string) and every colon
/// outside strings comes right after a closing quote.
#[derive(Debug, Default)]
pub struct Keys {
    pub ends: Vec<u32>,
    pub plain: bool,
    pub all: bool,
}

impl Keys {
    fn reset(&mut self) {
        self.ends.clear();
        self.plain = true;
    }
}

/// The scan. With `FAST`, the masks are computed with AVX2 and the prefix XOR with PCLMULQDQ,
/// unconditionally, so that, inlined into [`scan_avx2`], they compile to those instructions.
///
/// # Safety
///
/// With `FAST`, the processor must have AVX2, PCLMULQDQ and POPCNT ([`has_avx2_clmul`]).
/// Without it, nothing is required ([`scan_plain`]).
#[inline(always)]
#[allow(unsafe_code)]
unsafe fn scan<const TOP: bool, const FAST: bool>(
    chunk: &[u8],
    start: usize,
    container: impl Fn(&[u8]) -> bool,
    mut keys: Option<&mut Keys>,
) -> Option<usize> {
    if let Some(k) = keys.as_deref_mut() {
        k.reset();
    }
    // The last byte of the previous block was a closing quote.
    let mut closing_before = 0u64;
    // Asked only where it is used: the fast compilation computes its masks with AVX2 anyway.
    let avx2 = !FAST && has_avx2();
    let mut depth: u32 = 0;
    // All ones when the previous block ended inside a string.
    let mut in_string = 0u64;
    // The previous block ended with a backslash that escapes the first byte of this one.
    let mut escape_next = false;
    let mut base = start;
    let mut pad = [b' '; 64];
    while base < chunk.len() {
        let rest = &chunk[base..];
        let (block, valid) = match rest.first_chunk::<64>() {
            Some(b) => (b, u64::MAX),
            None => {
                // The last, short block (once per chunk): the rest of `pad` stays blank.
                pad[..rest.len()].copy_from_slice(rest);
                (&pad, (1u64 << rest.len()) - 1)
            }
        };
        #[cfg(target_arch = "x86_64")]
        let m = if FAST {
            // SAFETY: with `FAST` the caller ensures AVX2 (this function's contract).
            unsafe { classify_avx2::<TOP>(block) }
        } else {
            classify_with::<TOP>(block, avx2)
        };
        #[cfg(not(target_arch = "x86_64"))]
        let m = classify_with::<TOP>(block, avx2);
        // Escapes: walk the backslashes (rare in audit records) in order; one that is not
        // itself escaped escapes the next byte.
        let mut escaped = escape_next as u64;
        escape_next = false;
        let mut escapers = 0u64;
        let mut bs = m.backslash & valid;
        while bs != 0 {
            let p = bs.trailing_zeros();
            bs &= bs - 1;
            if escaped >> p & 1 == 0 {
                escapers |= 1 << p;
                if p == 63 {
                    escape_next = true;
                } else {
                    escaped |= 1 << (p + 1);
                }
            }
        }
        let quotes = m.quote & !escaped & valid;
        #[cfg(target_arch = "x86_64")]
        let strings = if FAST {
            // SAFETY: with `FAST` the caller ensures PCLMULQDQ (this function's contract).
            unsafe { prefix_xor_clmul(quotes) }
        } else {
            prefix_xor(quotes)
        } ^ in_string;
        #[cfg(not(target_arch = "x86_64"))]
        let strings = prefix_xor(quotes) ^ in_string;
        in_string = 0u64.wrapping_sub(strings >> 63);
        let outside = !strings & valid;
        if let Some(k) = keys.as_deref_mut() {
            // A closing quote is outside the string mask (the opening one is inside); a colon
            // right after one ends a key. Positions past the record's end are dropped below.
            let closing = quotes & outside;
            let after_closing = closing << 1 | closing_before;
            closing_before = closing >> 63;
            let colons = m.colon & outside;
            if colons & !after_closing != 0 || m.backslash & valid != 0 {
                k.plain = false;
            }
            // The key's last letter is two bytes before the colon; near the start of a block
            // it is in the previous one, so those colons are taken whatever the letter.
            let letters = if k.all { u64::MAX } else { m.de << 2 | 0b11 };
            let mut ends = colons & after_closing & letters;
            while ends != 0 {
                let p = ends.trailing_zeros() as usize;
                ends &= ends - 1;
                k.ends.push((base + p - 1 - start) as u32);
            }
        }
        let trouble = (m.newline | (escapers & !strings)) & valid;
        let opens = m.open & outside;
        let closes = m.close & outside;
        // Colons that may follow a container's name: after a quote whose key ends in `ds`,
        // `ts` or `ue` (folded: a superset), after anything but a quote (whitespace), and the
        // first three of a block, whose key began in the previous one.
        let colons = if TOP {
            let after_quote = m.quote << 1;
            let named = after_quote & ((m.dt << 3 & m.cs << 2) | (m.eu << 3 & m.eu << 2));
            m.colon & outside & (!after_quote | named | 0b111)
        } else {
            0
        };
        if colons == 0 && depth > closes.count_ones() {
            // The value cannot end in this block, and no key here needs a look.
            if trouble != 0 {
                return None;
            }
            depth = depth + opens.count_ones() - closes.count_ones();
            base += 64;
            continue;
        }
        let first_trouble = trouble.trailing_zeros();
        let mut bits = opens | closes | colons;
        while bits != 0 {
            let p = bits.trailing_zeros();
            bits &= bits - 1;
            if p > first_trouble {
                return None;
            }
            let bit = 1u64 << p;
            if opens & bit != 0 {
                depth += 1;
            } else if closes & bit != 0 {
                depth -= 1;
                if depth == 0 {
                    let end = base + p as usize;
                    if let Some(k) = keys {
                        while k.ends.last().is_some_and(|&e| e as usize > end - start) {
                            k.ends.pop();
                        }
                    }
                    return Some(end);
                }
            } else if depth == 1 && container(&chunk[start..base + p as usize]) {
                return None;
            }
        }
        if trouble != 0 {
            return None;
        }
        base += 64;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn block(bytes: &[u8]) -> [u8; 64] {
        let mut b = [b' '; 64];
        let n = bytes.len().min(64);
        b[..n].copy_from_slice(&bytes[..n]);
        b
    }

    #[test]
    fn masks_of_a_block() {
        let m = classify::<true>(&block(br#"{"a":["\\"]}"#));
        assert_eq!(m.open, 0b1 | 0b10_0000);
        assert_eq!(m.quote, 0b10 | 0b1000 | 0b100_0000 | 0b10_0000_0000);
        assert_eq!(m.backslash, 0b1_1000_0000);
        assert_eq!(m.close, 0b100_0000_0000 | 0b1000_0000_0000);
        assert_eq!(m.colon, 0b1_0000);
        assert_eq!(classify::<false>(&block(b"\r\n")).newline, 0b11);
        // Bytes that differ from a bracket only in bit 5 are not brackets.
        let m = classify::<true>(&block(b"\x1b\x1d;=\xdb\xfb"));
        assert_eq!((m.open, m.close), (0, 0));
    }

    #[test]
    fn prefix_xor_marks_strings() {
        assert_eq!(prefix_xor(0b1001), 0b0111);
        assert_eq!(prefix_xor(1 << 63), 1 << 63);
        assert_eq!(prefix_xor(1), u64::MAX);
    }

    fn no_container(_: &[u8]) -> bool {
        false
    }

    #[test]
    fn ends_across_blocks_and_escapes() {
        let long = format!(
            "{{\"a\":\"{}\\\\\",\"b\":{{\"c\":\"}}\\\"\"}}}}\n",
            "x".repeat(100)
        );
        let end = long.len() - 2;
        assert_eq!(
            scan_value(long.as_bytes(), 0, true, no_container, None),
            Some(end)
        );
        // A backslash that ends a block escapes the first byte of the next.
        let mut s = String::from("[\"");
        s.push_str(&"y".repeat(61));
        s.push_str("\\\"]\"]");
        assert_eq!(s.as_bytes()[63], b'\\');
        assert_eq!(
            scan_value(s.as_bytes(), 0, false, no_container, None),
            Some(s.len() - 1)
        );
        // A line break before the end: left to the slow path; after the end: no matter.
        assert_eq!(
            scan_value(b"{\"a\":\n1}", 0, true, no_container, None),
            None
        );
        assert_eq!(
            scan_value(b"{\"a\":1}\n\n", 0, true, no_container, None),
            Some(6)
        );
        // Runs past the chunk.
        assert_eq!(
            scan_value(b"{\"a\":[1,2]", 0, true, no_container, None),
            None
        );
        // A backslash outside strings.
        assert_eq!(
            scan_value(b"{\\\"a\":1}", 0, true, no_container, None),
            None
        );
        // A key at depth 1 that may name a container; at depth 2 it is not asked about.
        let asked = |b: &[u8]| b.ends_with(b"\"Records\"");
        assert_eq!(scan_value(b"{\"Records\":[]}", 0, true, asked, None), None);
        assert_eq!(
            scan_value(b"{\"x\":{\"Records\":[]}}", 0, true, asked, None),
            Some(19)
        );
        assert_eq!(
            scan_value(b"{\"Records\":[]}", 0, false, asked, None),
            Some(13)
        );
    }

    #[test]
    fn key_ends_of_a_record() {
        let ends = |r: &str| crate::frame::key_ends(r.as_bytes());
        // Keys that end in `d` or `e`, at any depth, across blocks; not values, not other keys.
        let pad = "x".repeat(70);
        let r = format!(
            r#"{{"eventName":"e","pax":"{pad}","userIdentity":{{"principalId":"d"}},"v":["e","de"]}}"#
        );
        let names = |ends: Vec<u32>| -> Vec<String> {
            ends.iter()
                .map(|&e| {
                    let open = r[..e as usize].rfind('"').unwrap();
                    r[open + 1..e as usize].to_owned()
                })
                .collect()
        };
        assert_eq!(names(ends(&r).unwrap()), ["eventName", "principalId"]);
        // Asked for all of them, every key, whatever its last letter.
        assert_eq!(
            names(crate::frame::all_key_ends(r.as_bytes()).unwrap()),
            ["eventName", "pax", "userIdentity", "principalId", "v"]
        );
        // No list where it could miss a key: a backslash, a colon after whitespace, a record
        // that does not end at its last byte.
        assert_eq!(ends(r#"{"eventName":"a"b"}"#), None);
        assert_eq!(ends(r#"{"eventName" :"a"}"#), None);
        assert_eq!(ends(r#"{"eventName":"a"} "#), None);
        assert_eq!(ends(r#"{"eventName":"a""#), None);
        assert_eq!(ends(r#"{}"#), Some(vec![]));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1000))]

        #[test]
        fn sse2_and_portable_masks_agree(bytes in proptest::collection::vec(any::<u8>(), 64)) {
            let b: [u8; 64] = bytes.try_into().unwrap();
            prop_assert_eq!(classify::<true>(&b), classify_portable::<true>(&b));
            prop_assert_eq!(classify::<false>(&b), classify_portable::<false>(&b));
            if has_avx2() {
                prop_assert_eq!(classify_with::<true>(&b, true), classify_portable::<true>(&b));
                prop_assert_eq!(classify_with::<false>(&b, true), classify_portable::<false>(&b));
            }
        }

        #[test]
        fn agrees_with_the_byte_at_a_time_scan(
            parts in proptest::collection::vec(
                prop_oneof![
                    Just("{"), Just("}"), Just("["), Just("]"), Just("\""), Just("\\"),
                    Just(":"), Just(","), Just("a"), Just("Records"), Just("\n"), Just("\r"),
                    Just(" "), Just("\\\""), Just("\\\\"), Just("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"),
                    Just("\"value\":"), Just("\"logEvents\" :"), Just("\"records\":"),
                    Just("\"Records\"\t:"), Just("\"ds\":"), Just("\"ue\":"),
                ],
                1..120,
            ),
            top in any::<bool>(),
        ) {
            let mut s = String::from(if top { "{" } else { "[" });
            for p in &parts {
                s.push_str(p);
            }
            let bytes = s.as_bytes();
            let fast = scan_value(bytes, 0, top, crate::frame::names_container, None);
            let slow = crate::frame::reference::scan_value_bytes(bytes, 0, top);
            // The scan compiled for AVX2 and PCLMULQDQ (taken here when the processor has
            // them) and the other one give the same end and the same key lists.
            for all in [false, true] {
                let (mut k1, mut k2) = (Keys { all, ..Keys::default() }, Keys { all, ..Keys::default() });
                let one = scan_value(bytes, 0, top, crate::frame::names_container, Some(&mut k1));
                let two = if top {
                    scan_plain::<true>(bytes, 0, crate::frame::names_container, Some(&mut k2))
                } else {
                    scan_plain::<false>(bytes, 0, crate::frame::names_container, Some(&mut k2))
                };
                prop_assert_eq!(one, fast);
                prop_assert_eq!(one, two);
                prop_assert_eq!(&k1.ends, &k2.ends);
                prop_assert_eq!(k1.plain, k2.plain);
            }
            // The same end, or None where the slow scan may frame it (a carriage return or a
            // backslash outside strings).
            match fast {
                Some(_) => prop_assert_eq!(fast, slow),
                None => if slow.is_some() {
                    let region = &bytes[..=slow.unwrap()];
                    prop_assert!(region.contains(&b'\r') || region.contains(&b'\\'),
                        "fast None, slow {:?} on {:?}", slow, s);
                },
            }
        }
    }
}
