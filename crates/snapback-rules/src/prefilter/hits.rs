//! The hit search of reading by hits ([`Prefilter::next_hit`](super::Prefilter::next_hit)),
//! specialised: the key names (operation keys, fields, the quoted lower-case marker keys) in
//! one vectorised searcher (Teddy) whose patterns are all names of several bytes, each from
//! a fingerprint that rarely starts anything else ([`fingerprint_at`]), and the two-byte
//! forcing pattern `\u` in a `memmem` pass of its own.
//!
//! One searcher over all of them had to fingerprint every pattern by its first two bytes (the
//! length of `\u`): over CloudTrail that is a candidate at almost every `"e`, `ev`, `op`, `me`
//! and `"i`, each verified, and it took 42 % of a scan of JSON lines. Without `\u`, Teddy
//! fingerprints four bytes. `\u` is searched only up to the first key hit (a hit there comes
//! first anyway), so over a run of calls whose `from` moves past each hit returned (as
//! `snapback_ingest`'s reader calls it) each byte is searched once by each pass.
//!
//! What is found is at least what one searcher found, and the first of it is returned: the
//! first `\u`, forcing marker, or searched key whose value some rule wants or cannot be read.
//! Every occurrence of every name is tried (not only leftmost-longest ones, which could hide a
//! name inside a longer one), so a record the byte search passes holds a hit; a name another
//! one hides can only add a hit, never lose one.
//!
//! Where AVX2 runs, both passes are one: [`super::kernel`] finds the same fingerprints and
//! every backslash in one pass and hands each candidate over where it stands
//! (`first_by_kernel`), so a record's `eventName` no longer ends a search call. The two
//! passes above remain the search without AVX2 and with `SNAPBACK_NO_HIT_KERNEL=1`.

use aho_corasick::packed;
use memchr::memmem;

use super::compile::{Compiled, Found};
use super::kernel::Kernel;
use super::matcher::{occurrence, Occurrence};

/// The two searchers, built from [`Compiled::keys`]'s patterns.
#[derive(Debug)]
pub(super) struct HitSearcher {
    /// The tail of each name from its fingerprint on ([`fingerprint_at`]), distinct.
    tails: packed::Searcher,
    /// Each name: its bytes, where its tail starts, what it is.
    names: Vec<(Box<[u8]>, usize, Found)>,
    /// For each pattern of `tails`, the names that may end in a tail starting where it does
    /// (their tail is it, or a prefix or an extension of it: the search reports one).
    by_tail: Vec<Vec<usize>>,
    /// The longest part of a name before its tail.
    max_shift: usize,
    escape: memmem::Finder<'static>,
    /// The one-pass candidate kernel over the same tails and `\u` ([`Kernel`]); `None` when a
    /// name holds a backslash (a `\u` could then start inside a name), without AVX2 (the
    /// library's searchers are faster than its scalar form), or when turned off.
    kernel: Option<Kernel>,
}

/// The forcing pattern searched on its own.
pub(super) const ESCAPE: &str = "\\u";

/// Where the fingerprint of a name starts: Teddy tells candidates apart by a pattern's first
/// four bytes, and over CloudTrail every key starting `"eve`/`even` (seven a record) is one for
/// `eventName` and the lower-cased markers. The operation keys and the markers are searched
/// from four bytes that rarely start anything else (`ntName`, `onName`, `odName`, `tname"`,
/// `tsource"`, …) and checked backwards; any other name (a rule's field) from its start.
fn fingerprint_at(name: &str) -> usize {
    const AT: [(&str, usize); 11] = [
        ("eventName", 3),
        ("operationName", 7),
        ("OperationName", 7),
        ("OperationNameValue", 7),
        ("methodName", 4),
        ("\"eventname\"", 5),
        ("\"eventsource\"", 5),
        ("\"eventtime\"", 5),
        ("\"protopayload\"", 4),
        ("\"logname\"", 3),
        ("\"insertid\"", 5),
    ];
    AT.iter().find(|(n, _)| *n == name).map_or(0, |&(_, at)| at)
}

impl HitSearcher {
    /// From the key searcher's patterns and what each is; `None` when the vectorised searcher
    /// does not build here (the caller keeps the one automaton then).
    pub(super) fn new(patterns: &[String], found: &[Found]) -> Option<HitSearcher> {
        if patterns.iter().filter(|p| *p == ESCAPE).count() != 1 {
            return None;
        }
        let names: Vec<(Box<[u8]>, usize, Found)> = patterns
            .iter()
            .zip(found)
            .filter(|(p, _)| p.as_str() != ESCAPE)
            .map(|(p, f)| (p.as_bytes().into(), fingerprint_at(p), *f))
            .collect();
        let mut tails: Vec<&[u8]> = names.iter().map(|(n, at, _)| &n[*at..]).collect();
        tails.sort_unstable();
        tails.dedup();
        if tails.is_empty() || tails.iter().any(|t| t.is_empty()) {
            return None;
        }
        let by_tail = tails
            .iter()
            .map(|t| {
                let tail_of = |(n, at, _): &(Box<[u8]>, usize, Found)| n[*at..].to_vec();
                (0..names.len())
                    .filter(|&i| {
                        let other = tail_of(&names[i]);
                        t.starts_with(&other) || other.starts_with(t)
                    })
                    .collect()
            })
            .collect();
        let tails = packed::Config::new()
            .match_kind(packed::MatchKind::LeftmostFirst)
            .builder()
            .extend(tails)
            .build()?;
        let kernel = names
            .iter()
            .all(|(n, _, _)| !n.contains(&b'\\'))
            .then(|| {
                let fps: Vec<&[u8]> = names.iter().map(|(n, at, _)| &n[*at..]).collect();
                Kernel::new(&fps)
            })
            .flatten()
            .filter(Kernel::vectorised);
        Some(HitSearcher {
            kernel,
            tails,
            by_tail,
            max_shift: names.iter().map(|(_, at, _)| *at).max().unwrap_or(0),
            names,
            escape: memmem::Finder::new(ESCAPE.as_bytes()).into_owned(),
        })
    }

    /// Search without the kernel, with `aho-corasick`'s Teddy and `memmem` (to compare).
    pub(super) fn without_kernel(&mut self) {
        self.kernel = None;
    }

    /// The first hit in `hay`.
    pub(super) fn first(&self, c: &Compiled, hay: &[u8]) -> Option<usize> {
        if let Some(k) = &self.kernel {
            return self.first_by_kernel(k, c, hay);
        }
        let key = self.first_name(c, hay);
        // A `\u` starting before the key hit (its two bytes up to the hit's first byte).
        let bound = key.map_or(hay.len(), |k| (k + 1).min(hay.len()));
        match self.escape.find(&hay[..bound]) {
            Some(e) => Some(e),
            None => key,
        }
    }

    /// The first place a forcing marker, or a searched key whose value some rule wants or
    /// cannot be read, starts. Every place a tail starts is tried (the search restarts one
    /// byte after each), with every name that ends in it there; once one is found, tails up to
    /// `max_shift` bytes later may still belong to a name starting earlier.
    fn first_name(&self, c: &Compiled, hay: &[u8]) -> Option<usize> {
        let mut best: Option<usize> = None;
        let mut at = 0;
        while at < hay.len() {
            let Some(m) = self
                .tails
                .find_in(hay, aho_corasick::Span::from(at..hay.len()))
            else {
                break;
            };
            let q = m.start();
            if best.is_some_and(|b| q > b + self.max_shift) {
                break;
            }
            for &i in &self.by_tail[m.pattern().as_usize()] {
                self.try_name(c, hay, q, i, &mut best);
            }
            at = q + 1;
        }
        best
    }
}

impl HitSearcher {
    /// [`first`](Self::first) in one pass of the kernel: its candidates come in order, so the
    /// first `\u` seen before any name hit is the first hit (no name holds a backslash, so a
    /// name seen later starts after it); after a name hit, candidates up to `max_shift` bytes
    /// on may still be names starting before it.
    fn first_by_kernel(&self, k: &Kernel, c: &Compiled, hay: &[u8]) -> Option<usize> {
        let mut best: Option<usize> = None;
        k.candidates(hay, 0, |q, admitted| {
            if best.is_some_and(|b| q > b + self.max_shift) {
                return false;
            }
            if admitted == 0 {
                // A backslash (no name holds one, so no bucket admits it).
                if best.is_none() && hay.get(q + 1) == Some(&b'u') {
                    best = Some(q);
                    return false;
                }
                return true;
            }
            for i in k.names(admitted) {
                self.try_name(c, hay, q, i, &mut best);
            }
            true
        });
        best
    }

    /// Whether name `i`, its tail at `q`, is there and a hit starting before `best`; if so
    /// `best` becomes where it starts.
    fn try_name(&self, c: &Compiled, hay: &[u8], q: usize, i: usize, best: &mut Option<usize>) {
        let (name, shift, found) = &self.names[i];
        let Some(start) = q.checked_sub(*shift) else {
            return;
        };
        if best.is_some_and(|b| start >= b) || !starts_with(&hay[start..], name) {
            return;
        }
        let hit = match *found {
            Found::Force => true,
            Found::Key(slot) => {
                let rest = &hay[start + name.len()..];
                !c.slots[slot].turns_away(rest) && c.key_hit(slot, rest)
            }
        };
        if hit {
            *best = Some(start);
        }
    }
}

/// `hay.starts_with(name)` for the short names searched, without a call to `memcmp` for
/// each candidate (a slice comparison calls it, for the tail too): eight bytes at a time, the
/// last eight overlapping the chunk before, so that no byte is compared alone.
fn starts_with(hay: &[u8], name: &[u8]) -> bool {
    let n = name.len();
    let Some(h) = hay.get(..n) else {
        return false;
    };
    let word = |b: &[u8], at: usize| {
        let mut w = [0u8; 8];
        w.copy_from_slice(&b[at..at + 8]);
        u64::from_ne_bytes(w)
    };
    if n < 8 {
        return h.iter().zip(name).all(|(a, b)| a == b);
    }
    let mut at = 0;
    while at + 8 <= n {
        if word(h, at) != word(name, at) {
            return false;
        }
        at += 8;
    }
    at == n || word(h, n - 8) == word(name, n - 8)
}

impl Compiled {
    /// Whether an occurrence of the key of `slot`, followed by `rest`, is a hit: a value some
    /// rule wants, or one that cannot be read here (not a plain string, escaped).
    pub(super) fn key_hit(&self, slot: usize, rest: &[u8]) -> bool {
        let wanted = &self.slots[slot];
        match occurrence(rest) {
            Occurrence::NotAKey => false,
            Occurrence::Unsure => !wanted.all.is_empty(),
            Occurrence::Value(v) => {
                if !wanted.may_hold(v) {
                    return false;
                }
                let mut any = false;
                // Lower-cased on the stack (operation names are short): no allocation per
                // record.
                let mut small = [0u8; 64];
                if let Some(dst) = small.get_mut(..v.len()) {
                    for (d, s) in dst.iter_mut().zip(v) {
                        *d = s.to_ascii_lowercase();
                    }
                    wanted.matching(dst, |_| any = true);
                } else {
                    wanted.matching(&v.to_ascii_lowercase(), |_| any = true);
                }
                any
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::starts_with;

    #[test]
    fn starts_with_agrees_with_the_slice_method_at_every_length_and_difference() {
        let text: Vec<u8> = (0..40u8).map(|i| b'a' + i % 26).collect();
        for n in 0..=24 {
            let name = &text[..n];
            for hay_len in [0, n.saturating_sub(1), n, n + 5] {
                let hay = &text[..hay_len.min(text.len())];
                assert_eq!(
                    starts_with(hay, name),
                    hay.starts_with(name),
                    "n {n} hay {hay_len}"
                );
            }
            for at in 0..n {
                let mut other = text.clone();
                other[at] ^= 0x20;
                assert!(!starts_with(&other, name), "n {n}, a difference at {at}");
            }
        }
    }
}
