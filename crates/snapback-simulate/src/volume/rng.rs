//! The seeded stream every volume writer draws from, and the timestamp text they share.
//!
//! Why its own generator and not [`crate::ids`]: that one hashes a label for every identifier,
//! which suits 79 authored records; a volume draws millions of values, so each file gets one
//! cheap stream seeded from `(seed, stream, file index)`, drawn in a fixed order. Every file stays
//! a pure function of the seed and its index, so files can be rendered in parallel, in any order.

use std::fmt::Write as _;

/// SplitMix64, as in `ids.rs`, seeded per file so that files are independent.
pub(super) struct Rng(u64);

impl Rng {
    pub(super) fn new(seed: u64, stream: u64, index: u64) -> Self {
        let mut r = Rng(seed ^ stream.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ index.rotate_left(29));
        r.next();
        r.next();
        r
    }
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub(super) fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    /// The index of a weighted choice among `weights`, which sum to `total`: one draw.
    pub(super) fn pick(&mut self, total: u64, weights: impl IntoIterator<Item = u64>) -> usize {
        let mut pick = self.below(total);
        for (i, w) in weights.into_iter().enumerate() {
            if pick < w {
                return i;
            }
            pick -= w;
        }
        0
    }
    pub(super) fn hex(&mut self, out: &mut String, n: usize) {
        const HEX: &[u8] = b"0123456789abcdef";
        let mut v = self.next();
        for i in 0..n {
            if i % 16 == 15 {
                v = self.next();
            }
            out.push(char::from(HEX[(v & 15) as usize]));
            v >>= 4;
        }
    }
    pub(super) fn upper(&mut self, out: &mut String, n: usize) {
        const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
        for _ in 0..n {
            out.push(char::from(A[self.below(32) as usize]));
        }
    }
    pub(super) fn uuid(&mut self) -> String {
        let mut h = String::with_capacity(32);
        self.hex(&mut h, 32);
        format!(
            "{}-{}-4{}-{}{}-{}",
            &h[0..8],
            &h[8..12],
            &h[13..16],
            ['8', '9', 'a', 'b'][(self.next() % 4) as usize],
            &h[17..20],
            &h[20..32]
        )
    }
    pub(super) fn ec2(&mut self, prefix: &str) -> String {
        let mut s = format!("{prefix}-0");
        self.hex(&mut s, 16);
        s
    }
}

/// RFC 3339 with whole seconds (CloudTrail), from milliseconds.
pub(super) fn utc(ms: i64, frac_digits: usize, frac: u64) -> String {
    let ts = jiff::Timestamp::from_millisecond(ms).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    let dt = ts.to_zoned(jiff::tz::TimeZone::UTC).datetime();
    let mut s = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        dt.year(),
        dt.month(),
        dt.day(),
        dt.hour(),
        dt.minute(),
        dt.second()
    );
    if frac_digits > 0 {
        let _ = write!(
            s,
            ".{:03}{:0width$}",
            ms.rem_euclid(1000),
            frac % 10u64.pow(frac_digits as u32 - 3),
            width = frac_digits - 3
        );
    }
    s.push('Z');
    s
}

pub(super) fn date_parts(ms: i64) -> (i16, i8, i8, i8, i8) {
    let ts = jiff::Timestamp::from_millisecond(ms).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    let dt = ts.to_zoned(jiff::tz::TimeZone::UTC).datetime();
    (dt.year(), dt.month(), dt.day(), dt.hour(), dt.minute())
}
