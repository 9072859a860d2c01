//! The ceiling of `snapback scan` over gzip against decompression alone, for `benches/`: how
//! close to the decoder's own speed any scan can get that must (a) find the records a rule may
//! match and (b) know each record's number, as every event's provenance (`file#record`) and the
//! summary's count of records not parsed do.
//!
//! On one core, with the compressed files already in memory (no file reads), every `.gz` under
//! the given paths is inflated with [`snapback_ingest::gzip::gunzip_whole`] (the decoder `scan`
//! and the `gunzip` example use), and then, on the inflated bytes while they are still in the
//! cache, one of:
//!
//! - `keys`: the narrowest search a filter could make: `memchr::memmem` for `"eventName":"`
//!   (CloudTrail's operation key alone; a conservative filter must also look for the other
//!   clouds' keys, escapes and lower-cased keys, so this is less than it needs);
//! - `records`: a hand-written AVX2 structural pass in the manner of simdjson's first stage
//!   (quotes, backslash runs, brackets, strings by carry-less multiplication, depth by
//!   population counts, and the exact walk only in the blocks where a record can start) that
//!   counts the records of each `{"Records":[…]}` file and nothing more;
//! - `both`;
//! - `framer`: snapback's own framer (fast path), with a filter that passes nothing, which is
//!   what the scan does to a record no rule can match.
//!
//! Each is timed best of five, and the ratio `inflate / (inflate + work)` printed: no scan that
//! does that work can beat it. Run with
//! `cargo run --release -p snapback-ingest --example gz_ceiling -- /tmp/snapback-bench/gz`.

#![allow(unsafe_code)]

use std::io::Cursor;
use std::time::Instant;

use snapback_ingest::frame::{Frame, Framer};
use snapback_ingest::{gzip, KeyList};

fn main() {
    let mut files: Vec<Vec<u8>> = Vec::new();
    for arg in std::env::args().skip(1) {
        for e in walkdir::WalkDir::new(&arg).sort_by_file_name() {
            let e = e.expect("readable directory");
            if e.file_type().is_file() && e.path().extension().is_some_and(|x| x == "gz") {
                files.push(std::fs::read(e.path()).expect("readable file"));
            }
        }
    }
    if files.is_empty() {
        eprintln!("gz_ceiling: no .gz files under the given paths");
        std::process::exit(2);
    }
    let Some(records) = record_pass() else {
        eprintln!("gz_ceiling: needs an x86_64 processor with AVX2 and PCLMULQDQ");
        std::process::exit(2);
    };
    // The pass must count what the framer frames, escapes and brackets in strings included,
    // across block edges.
    let mut sample = br#"{"Records":[{"a":"x\\\"{[","b":{"c":[1,{"d":"}"}]}},"#.to_vec();
    sample.extend(b" ".repeat(50));
    sample.extend(br#"{"e":"\\"},{"f":"]]\"\\\"}"},[{}]]}"#);
    serde_json::from_slice::<serde_json::Value>(&sample).expect("the sample is JSON");
    let framed = count_frames(&sample);
    assert_eq!(
        (records(&sample), framed),
        (4, 4),
        "the structural pass miscounts"
    );
    let key = memchr::memmem::Finder::new(b"\"eventName\":\"");
    let mut out = Vec::new();
    let mut bytes = 0u64;
    let mut time = |work: &dyn Fn(&[u8]) -> u64| {
        let mut best = f64::INFINITY;
        let mut counted = 0;
        for _ in 0..5 {
            let started = Instant::now();
            let (mut n, mut c) = (0u64, 0u64);
            for gz in &files {
                let k = gzip::gunzip_whole(gz, &mut out).expect("one whole gzip member");
                n += k as u64;
                c += work(&out[..k]);
            }
            best = best.min(started.elapsed().as_secs_f64());
            (bytes, counted) = (n, c);
        }
        (best, counted)
    };
    let (inflate, _) = time(&|_| 0);
    let (keys, hits) = time(&|b| key.find_iter(b).count() as u64);
    let (recs, count) = time(&|b| records(b));
    let (both, _) = time(&|b| key.find_iter(b).count() as u64 + records(b));
    let (framer, framed) = time(&count_frames);
    println!(
        "{} files, {:.1} MB inflated, one core; best of 5",
        files.len(),
        bytes as f64 / 1e6
    );
    println!("step\tseconds\tGB/s\tceiling (inflate / (inflate + work))\tcount");
    let row = |name: &str, t: f64, count: Option<u64>| {
        println!(
            "{name}\t{t:.3}\t{:.2}\t{:.2}\t{}",
            bytes as f64 / t / 1e9,
            inflate / t,
            count.map_or(String::new(), |c| c.to_string())
        )
    };
    row("inflate", inflate, None);
    row("inflate+keys", keys, Some(hits));
    row("inflate+records", recs, Some(count));
    row("inflate+keys+records", both, None);
    row("inflate+framer", framer, Some(framed));
}

/// The records snapback's framer frames in `b`, with a filter that passes none.
fn count_frames(b: &[u8]) -> u64 {
    let reject = |_: &[u8], _: Option<KeyList<'_>>| false;
    let mut f = Framer::new(Cursor::new(b), 64 << 20);
    let mut n = 0;
    while let Some(Ok(frame)) = f.next_frame_filtered(Some(&reject)) {
        n += matches!(frame, Frame::Filtered { .. } | Frame::Record { .. }) as u64;
    }
    n
}

/// The structural pass, if this processor can run it.
fn record_pass() -> Option<fn(&[u8]) -> u64> {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2")
        && std::arch::is_x86_feature_detected!("pclmulqdq")
        && std::arch::is_x86_feature_detected!("popcnt")
    {
        // SAFETY: the features `count_records` is compiled for are present.
        return Some(|b| unsafe { count_records(b) });
    }
    None
}

/// The number of objects and arrays at depth 2 (the records of `{"Records":[…]}`) in `b`; a
/// scalar record (which the framer also counts) is not counted, none of CloudTrail's is one.
///
/// # Safety
///
/// The processor must have AVX2, PCLMULQDQ and POPCNT.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,pclmulqdq,popcnt")]
unsafe fn count_records(b: &[u8]) -> u64 {
    use std::arch::x86_64::*;
    let quote = _mm256_set1_epi8(b'"' as i8);
    let backslash = _mm256_set1_epi8(b'\\' as i8);
    // `{` and `[` are `[` once bit 5 is cleared; `}` and `]` are `]`.
    let fold = _mm256_set1_epi8(0xDFu8 as i8);
    let open = _mm256_set1_epi8(b'[' as i8);
    let close = _mm256_set1_epi8(b']' as i8);
    let mut depth: i64 = 0;
    let mut in_string: u64 = 0; // all ones when a string runs on from the previous block
    let mut escape_carry: u64 = 0;
    let mut records = 0u64;
    let mut tail = [b' '; 64];
    let mut at = 0;
    while at < b.len() {
        let block: &[u8] = if at + 64 <= b.len() {
            &b[at..at + 64]
        } else {
            tail[..b.len() - at].copy_from_slice(&b[at..]);
            tail[b.len() - at..].fill(b' ');
            &tail
        };
        // SAFETY: `block` is 64 bytes long; unaligned loads.
        let (lo, hi) = unsafe {
            (
                _mm256_loadu_si256(block.as_ptr().cast()),
                _mm256_loadu_si256(block.as_ptr().add(32).cast()),
            )
        };
        let mask = |lo: __m256i, hi: __m256i, c: __m256i| {
            (_mm256_movemask_epi8(_mm256_cmpeq_epi8(lo, c)) as u32 as u64)
                | ((_mm256_movemask_epi8(_mm256_cmpeq_epi8(hi, c)) as u32 as u64) << 32)
        };
        let mut quotes = mask(lo, hi, quote);
        let slashes = mask(lo, hi, backslash);
        let (flo, fhi) = (_mm256_and_si256(lo, fold), _mm256_and_si256(hi, fold));
        let opens = mask(flo, fhi, open);
        let closes = mask(flo, fhi, close);
        if slashes | escape_carry != 0 {
            // The bytes escaped by an odd run of backslashes (simdjson's method).
            const EVEN: u64 = 0x5555_5555_5555_5555;
            let starts = slashes & !(slashes << 1);
            let even_start_mask = EVEN ^ escape_carry;
            let even_carries = slashes.wrapping_add(starts & even_start_mask);
            let (odd_carries, overflow) = slashes.overflowing_add(starts & !even_start_mask);
            let odd_carries = odd_carries | escape_carry;
            escape_carry = overflow as u64;
            let escaped = (even_carries & !slashes & !EVEN) | (odd_carries & !slashes & EVEN);
            quotes &= !escaped;
        }
        if opens | closes == 0 {
            in_string ^= 0u64.wrapping_sub((quotes.count_ones() & 1) as u64);
        } else {
            let strings = _mm_cvtsi128_si64(_mm_clmulepi64_si128(
                _mm_set_epi64x(0, quotes as i64),
                _mm_set1_epi8(-1),
                0,
            )) as u64
                ^ in_string;
            in_string = 0u64.wrapping_sub(strings >> 63);
            let (o, c) = (opens & !strings, closes & !strings);
            if depth - c.count_ones() as i64 <= 2 {
                // A record may start here: walk the brackets in order.
                let mut all = o | c;
                while all != 0 {
                    let bit = all & all.wrapping_neg();
                    if o & bit != 0 {
                        records += (depth == 2) as u64;
                        depth += 1;
                    } else {
                        depth -= 1;
                    }
                    all ^= bit;
                }
            } else {
                depth += o.count_ones() as i64 - c.count_ones() as i64;
            }
        }
        at += 64;
    }
    records
}
