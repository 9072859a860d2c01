//! Identifiers derived from the seed and a label, never from a clock or an OS random source.
//!
//! Each identifier is a pure function of `(seed, label)`, so adding a record to the scenario never
//! shifts the identifiers of the others, and the same seed always yields the same files.

/// The source of every identifier in a scenario.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Ids {
    seed: u64,
}

/// SplitMix64: small, well-mixed, and stable across platforms and Rust versions.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// FNV-1a, to turn a label into a stream offset.
fn fnv1a(label: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in label.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

const HEX: &[u8] = b"0123456789abcdef";
const UPPER_ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const MIXED_ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const LOWER_ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";

impl Ids {
    pub(crate) fn new(seed: u64) -> Self {
        Ids { seed }
    }

    fn stream(&self, label: &str) -> SplitMix {
        let mut s = SplitMix(self.seed ^ fnv1a(label));
        s.next();
        s
    }

    fn pick(&self, label: &str, alphabet: &[u8], n: usize) -> String {
        let mut s = self.stream(label);
        (0..n)
            .map(|_| char::from(alphabet[s.below(alphabet.len() as u64) as usize]))
            .collect()
    }

    /// Lower-case hex, `n` digits.
    pub(crate) fn hex(&self, label: &str, n: usize) -> String {
        self.pick(label, HEX, n)
    }

    /// An EC2-style id: `prefix-` and 17 hex digits (`i-0a1b…`, `vol-…`, `snap-…`, `ami-…`).
    pub(crate) fn ec2(&self, prefix: &str, label: &str) -> String {
        format!("{prefix}-0{}", self.hex(label, 16))
    }

    /// A random-looking (version 4) UUID.
    pub(crate) fn uuid(&self, label: &str) -> String {
        let h = self.hex(label, 32);
        let variant = ['8', '9', 'a', 'b'][usize::from(h.as_bytes()[16]) % 4];
        format!(
            "{}-{}-4{}-{}{}-{}",
            &h[0..8],
            &h[8..12],
            &h[13..16],
            variant,
            &h[17..20],
            &h[20..32]
        )
    }

    /// Upper-case letters and digits (AWS access key and principal id tails).
    pub(crate) fn upper(&self, label: &str, n: usize) -> String {
        self.pick(label, UPPER_ALNUM, n)
    }

    /// Mixed-case letters and digits (the CloudTrail file name's unique string).
    pub(crate) fn mixed(&self, label: &str, n: usize) -> String {
        self.pick(label, MIXED_ALNUM, n)
    }

    /// Lower-case letters and digits (GCP insertId).
    pub(crate) fn lower(&self, label: &str, n: usize) -> String {
        self.pick(label, LOWER_ALNUM, n)
    }

    /// Decimal digits, the first one not zero (GCP numeric resource ids).
    pub(crate) fn digits(&self, label: &str, n: usize) -> String {
        let mut s = self.stream(label);
        (0..n)
            .map(|i| {
                let d = if i == 0 { 1 + s.below(9) } else { s.below(10) };
                char::from(b'0' + d as u8)
            })
            .collect()
    }

    /// A number in `0..n`.
    pub(crate) fn below(&self, label: &str, n: u64) -> u64 {
        self.stream(label).below(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_depend_on_seed_and_label_only() {
        let a = Ids::new(7);
        assert_eq!(a.uuid("x"), Ids::new(7).uuid("x"));
        assert_ne!(a.uuid("x"), a.uuid("y"));
        assert_ne!(a.uuid("x"), Ids::new(8).uuid("x"));
    }

    #[test]
    fn shapes_match_the_clouds() {
        let ids = Ids::new(1);
        let u = ids.uuid("e");
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
        assert!(ids.ec2("i", "a").starts_with("i-0"));
        assert_eq!(ids.ec2("vol", "a").len(), "vol-".len() + 17);
        assert!(!ids.digits("n", 19).starts_with('0'));
    }
}
