//! The hit search of reading by hits ([`Prefilter::next_hit`](super::Prefilter::next_hit)),
//! specialised: the key names (operation keys, fields, the quoted lower-case marker keys) in
//! one vectorised searcher (Teddy) whose patterns are all names of several bytes, and the
//! two-byte forcing pattern `\u` in a `memmem` pass of its own.
//!
//! One searcher over all of them had to fingerprint every pattern by its first two bytes (the
//! length of `\u`): over CloudTrail that is a candidate at almost every `"e`, `ev`, `op`, `me`
//! and `"i`, each verified, and it took 42 % of a scan of JSON lines. Without `\u`, Teddy
//! fingerprints four bytes. `\u` is searched only up to the first key hit (a hit there comes
//! first anyway), so over a run of calls whose `from` moves past each hit returned (as
//! `snapback_ingest`'s reader calls it) each byte is searched once by each pass.
//!
//! What is found is the same: a position holds a hit exactly when it did with one searcher
//! (the first `\u`, a forcing marker, or a searched key whose value some rule wants or cannot
//! be read), and the first of them is returned. Removing `\u` from the key names' searcher
//! cannot hide a key: no key or marker name holds a backslash, so no `\u` overlaps one except
//! by ending where it starts, and then the `\u` is the earlier hit.

use aho_corasick::packed;
use memchr::memmem;

use super::{occurrence, Compiled, Found, Occurrence};

/// The two searchers, built from [`Compiled::keys`]'s patterns.
#[derive(Debug)]
pub(super) struct HitSearcher {
    /// Key and marker names, leftmost-longest as [`Compiled::keys`].
    names: packed::Searcher,
    /// What each pattern of `names` is.
    found: Vec<Found>,
    escape: memmem::Finder<'static>,
}

/// The forcing pattern searched on its own.
pub(super) const ESCAPE: &str = "\\u";

impl HitSearcher {
    /// From the key searcher's patterns and what each is; `None` when the vectorised searcher
    /// does not build here (the caller keeps the one automaton then).
    pub(super) fn new(patterns: &[String], found: &[Found]) -> Option<HitSearcher> {
        let (names, found): (Vec<&String>, Vec<Found>) = patterns
            .iter()
            .zip(found)
            .filter(|(p, _)| p.as_str() != ESCAPE)
            .map(|(p, f)| (p, *f))
            .unzip();
        if names.is_empty() || patterns.iter().filter(|p| *p == ESCAPE).count() != 1 {
            return None;
        }
        let names = packed::Config::new()
            .match_kind(packed::MatchKind::LeftmostLongest)
            .builder()
            .extend(names)
            .build()?;
        Some(HitSearcher {
            names,
            found,
            escape: memmem::Finder::new(ESCAPE.as_bytes()).into_owned(),
        })
    }

    /// The first hit in `hay`.
    pub(super) fn first(&self, c: &Compiled, hay: &[u8]) -> Option<usize> {
        let key = self.first_name(c, hay);
        // A `\u` starting before the key hit (its two bytes up to the hit's first byte).
        let bound = key.map_or(hay.len(), |k| (k + 1).min(hay.len()));
        match self.escape.find(&hay[..bound]) {
            Some(e) => Some(e),
            None => key,
        }
    }

    /// The first forcing marker, or searched key whose value some rule wants or cannot be
    /// read.
    fn first_name(&self, c: &Compiled, hay: &[u8]) -> Option<usize> {
        for m in self.names.find_iter(hay) {
            match self.found[m.pattern().as_usize()] {
                Found::Force => return Some(m.start()),
                Found::Key(slot) if c.key_hit(slot, &hay[m.end()..]) => return Some(m.start()),
                Found::Key(_) => {}
            }
        }
        None
    }
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
                let mut any = false;
                // Lower-cased on the stack (operation names are short): no allocation per
                // record.
                let mut small = [0u8; 64];
                if let Some(dst) = small.get_mut(..v.len()) {
                    dst.copy_from_slice(v);
                    dst.make_ascii_lowercase();
                    wanted.matching(dst, |_| any = true);
                } else {
                    wanted.matching(&v.to_ascii_lowercase(), |_| any = true);
                }
                any
            }
        }
    }
}
