//! Testing records against the compiled prefilter: the byte search over a record
//! ([`Prefilter::may_match`]), the search by the framer's key list
//! ([`Prefilter::may_match_keys`]), the hit search over a buffer ([`Prefilter::next_hit`]),
//! what follows a key name ([`occurrence`]), and the tally of atoms one record satisfies.
//!
//! It owns the per-record path, the one a scan spends its time in, apart from the compiler
//! ([`super::compile`]) that builds what it reads once per rule set: the code that must be
//! fast and conservative (let a record through whenever its bytes could hide a match) is read
//! in one place.

use std::cell::RefCell;

use snapback_model::KeyList;

use super::compile::{op_key_slot, tail_bit, AnySearcher, Compiled, Found, Wanted};
use super::Prefilter;

impl Wanted {
    /// The atoms `value` (lower-cased already) satisfies.
    pub(super) fn matching(&self, value: &[u8], mut hit: impl FnMut(usize)) {
        if let Some(atoms) = self.exact.get(value) {
            atoms.iter().copied().for_each(&mut hit);
        }
        for (p, a) in &self.prefix {
            if value.starts_with(p) {
                hit(*a);
            }
        }
        for (p, a) in &self.suffix {
            if value.ends_with(p) {
                hit(*a);
            }
        }
        for (p, a) in &self.contains {
            if holds(value, p) {
                hit(*a);
            }
        }
    }
}

/// Whether `needle` (not empty) occurs in `hay`. Values are short (a user agent, an ARN), so
/// finding the first byte and comparing beats building a substring searcher per call, which
/// was a quarter of a scan with SigmaHQ's rules.
fn holds(hay: &[u8], needle: &[u8]) -> bool {
    let Some((&first, _)) = needle.split_first() else {
        return true;
    };
    let mut at = 0;
    while let Some(i) = memchr::memchr(first, &hay[at..]) {
        if hay[at + i..].starts_with(needle) {
            return true;
        }
        at += i + 1;
    }
    false
}

impl AnySearcher {
    fn is_match(&self, text: &[u8]) -> bool {
        match self {
            AnySearcher::Packed(s) => s.find(text).is_some(),
            AnySearcher::Automaton(a) => a.is_match(text),
        }
    }
}

thread_local! {
    /// The atoms satisfied so far in the record being tested.
    static SATISFIED: RefCell<Vec<u64>> = const { RefCell::new(Vec::new()) };
    /// The record being tested, lower-cased, for the literals searched anywhere.
    static LOWERED: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Atoms satisfied in one record; `done` once some rule may match.
struct Tally<'a> {
    c: &'a Compiled,
    /// Empty when every rule has one clause (then any atom satisfied settles it).
    bits: &'a mut [u64],
    done: bool,
}

impl Tally<'_> {
    fn hit(&mut self, atom: usize) {
        if let Some(w) = self.bits.get_mut(atom / 64) {
            *w |= 1 << (atom % 64);
        }
        self.done |= self.c.lone[atom];
    }

    /// An occurrence of the key in `slot` whose name ends just before `rest`.
    fn occurrence(&mut self, slot: usize, rest: &[u8]) {
        let c = self.c;
        let wanted = &c.slots[slot];
        match occurrence(rest) {
            Occurrence::NotAKey => {}
            Occurrence::Value(v) if wanted.may_hold(v) => {
                wanted.matching(&lower(v), |a| self.hit(a))
            }
            Occurrence::Value(_) => {}
            Occurrence::Unsure => wanted.all.iter().for_each(|&a| self.hit(a)),
        }
    }

    /// The literals searched anywhere in `record`.
    fn anywhere(&mut self, record: &[u8]) {
        let c = self.c;
        let Some((search, literals)) = &c.anywhere else {
            return;
        };
        if memchr::memchr(b'\\', record).is_some() {
            // A literal may be spelt with escapes.
            literals.iter().for_each(|(_, a)| self.hit(*a));
            return;
        }
        LOWERED.with_borrow_mut(|lowered| {
            lowered.clear();
            lowered.extend(record.iter().map(u8::to_ascii_lowercase));
            if search.is_match(&lowered[..]) {
                // Matches that do not overlap can hide one that does: with any match at all,
                // each literal is looked for on its own (rare: few records hold a keyword).
                for (finder, a) in literals {
                    if finder.find(lowered).is_some() {
                        self.hit(*a);
                    }
                }
            }
        });
    }

    fn any_rule(&self) -> bool {
        self.done
            || self.c.multi.iter().any(|clauses| {
                clauses.iter().all(|clause| {
                    clause
                        .iter()
                        .any(|&a| self.bits[a / 64] >> (a % 64) & 1 != 0)
                })
            })
    }
}

impl Prefilter {
    /// Run `test` with a cleared tally of the compiled prefilter.
    fn tally(c: &Compiled, test: impl FnOnce(&mut Tally<'_>) -> bool) -> bool {
        if c.multi.is_empty() {
            return test(&mut Tally {
                c,
                bits: &mut [],
                done: false,
            });
        }
        SATISFIED.with_borrow_mut(|bits| {
            bits.clear();
            bits.resize(c.lone.len().div_ceil(64), 0);
            let mut t = Tally {
                c,
                bits,
                done: false,
            };
            test(&mut t)
        })
    }

    /// `false` only when no detection rule can match any event decoded from `record` (the raw
    /// bytes of one framed record).
    pub fn may_match(&self, record: &[u8]) -> bool {
        let Some(c) = &self.compiled else {
            return true;
        };
        Prefilter::tally(c, |t| {
            for m in c.keys.find_iter(record) {
                let slot = match c.found[m.pattern().as_usize()] {
                    Found::Force => return true,
                    Found::Key(slot) => slot,
                };
                t.occurrence(slot, &record[m.end()..]);
                if t.done {
                    return true;
                }
            }
            t.anywhere(record);
            t.any_rule()
        })
    }

    /// Whether [`next_hit`](Self::next_hit) can stand for [`may_match`](Self::may_match) over
    /// a whole buffer: every rule is one clause of atoms read at keys (no keyword searched
    /// anywhere, no rule needing two clauses in one record), so a record passes exactly when
    /// one of its bytes starts a hit. `false` when the prefilter is off.
    pub fn searches_hits(&self) -> bool {
        self.compiled
            .as_ref()
            .is_some_and(|c| c.multi.is_empty() && c.anywhere.is_none())
    }

    /// The first place at or after `from` in `buf` (many records, not framed) where a record
    /// holding it may match a rule: a forcing pattern (a `\u` escape, a lower-cased marker
    /// key) or an occurrence of a searched key whose value some rule wants or that cannot be
    /// read (not a plain string, escaped). These are the occurrences
    /// [`may_match`](Self::may_match) passes a record for, found over the buffer: a record
    /// [`may_match`](Self::may_match) passes holds one (a key name holds no bracket, comma or
    /// line break, so no match runs across two records). `None` also when
    /// [`searches_hits`](Self::searches_hits) is false: the caller must not skip by hits then.
    pub fn next_hit(&self, buf: &[u8], from: usize) -> Option<usize> {
        let c = self.compiled.as_ref().filter(|_| self.searches_hits())?;
        let hay = buf.get(from..)?;
        if let Some(h) = &c.hits {
            return h.first(c, hay).map(|p| from + p);
        }
        c.keys
            .find_iter(hay)
            .find(|m| match c.found[m.pattern().as_usize()] {
                Found::Force => true,
                Found::Key(slot) => c.key_hit(slot, &hay[m.end()..]),
            })
            .map(|m| from + m.start())
    }

    /// [`may_match`](Self::may_match), given where the record's keys end
    /// (`snapback_ingest::key_ends`, which the framer's fast path provides for free): only the
    /// keys are looked at, by name, not every byte (literals searched anywhere still are).
    /// The list is only given for records without a backslash, whose keys are all spelt
    /// plainly; without it, the byte search decides.
    pub fn may_match_keys(&self, record: &[u8], keys: Option<KeyList<'_>>) -> bool {
        let Some(c) = &self.compiled else {
            return true;
        };
        // The list names the keys asked about: every key, or those the fast path lists when
        // they are all [`keys`](Self::keys) names.
        let Some(ends) = keys.filter(|k| k.all || !c.needs_all).map(|k| k.ends) else {
            return self.may_match(record);
        };
        Prefilter::tally(c, |t| {
            for &end in ends {
                let end = end as usize;
                if end >= record.len() || record[end] != b'"' {
                    return true;
                }
                let Some(slot) = c.slot_of_key(&record[..end]) else {
                    continue;
                };
                let Some(slot) = slot else {
                    return true;
                };
                t.occurrence(slot, &record[end..]);
                if t.done {
                    return true;
                }
            }
            t.anywhere(record);
            t.any_rule()
        })
    }
}

impl Compiled {
    /// What the key whose name ends where `k` ends is to the prefilter (in a plain record,
    /// whose keys hold no escaped quote): `None`, nothing; `Some(None)`, a marker that forces
    /// a pass; `Some(Some(slot))`, a searched key. A key also answers for its last dotted
    /// segment (a flattened record's `protoPayload.methodName`). Names are compared from
    /// their end, so that most keys are dismissed by their last byte.
    fn slot_of_key(&self, k: &[u8]) -> Option<Option<usize>> {
        let &last = k.last()?;
        if self.shapes[last as usize] == 0 {
            return None;
        }
        // Most keys that end like a name that means something (`eventTime`, `principalId`)
        // differ from all of them in their last four bytes; a key of at least four bytes whose
        // tail has no bit set is not one of them. (`k` runs from the record's start, so it is
        // this long whenever the key is.)
        if let (Some(t), Some(&tail)) = (&self.tails, k.last_chunk::<4>()) {
            let bit = tail_bit(tail);
            if t[bit / 64] >> (bit % 64) & 1 == 0 {
                return None;
            }
        }
        // The last segment: back to the quote or dot before it (keys are short, so a plain
        // loop beats a vectorised search's setup).
        let start = k.iter().rposition(|&b| b == b'"' || b == b'.')? + 1;
        let name = &k[start..];
        if self.shapes[last as usize] >> name.len().min(63) & 1 == 0 {
            return None;
        }
        // Lower-cased marker keys (whole keys) make the decoder restore key spelling.
        if k[start - 1] == b'"' && self.markers.iter().any(|m| name == &m[..]) {
            return Some(None);
        }
        op_key_slot(name)
            .or_else(|| self.field_slots.get(name).copied())
            .map(Some)
    }
}

/// What follows a key name: `rest` starts right after it.
pub(super) fn occurrence(rest: &[u8]) -> Occurrence<'_> {
    match rest.first() {
        Some(b'"') => {}
        // `\"eventName\"`: a key inside a JSON-encoded string; `\` anything else: unsure.
        Some(b'\\') => return Occurrence::Unsure,
        // A longer name (`eventNames`), or text: not this key.
        _ => return Occurrence::NotAKey,
    }
    let mut i = 1;
    while rest.get(i).is_some_and(u8::is_ascii_whitespace) {
        i += 1;
    }
    if rest.get(i) != Some(&b':') {
        // A string value that happens to read `eventName`, not a key.
        return Occurrence::NotAKey;
    }
    i += 1;
    while rest.get(i).is_some_and(u8::is_ascii_whitespace) {
        i += 1;
    }
    if rest.get(i) != Some(&b'"') {
        // A number, an object (Azure REST), an array, null: let the parser decide.
        return Occurrence::Unsure;
    }
    let value = &rest[i + 1..];
    match memchr::memchr2(b'"', b'\\', value) {
        Some(end) if value[end] == b'"' => Occurrence::Value(&value[..end]),
        _ => Occurrence::Unsure,
    }
}

pub(super) enum Occurrence<'r> {
    NotAKey,
    Value(&'r [u8]),
    Unsure,
}

fn lower(v: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    if v.iter().any(u8::is_ascii_uppercase) {
        std::borrow::Cow::Owned(v.to_ascii_lowercase())
    } else {
        std::borrow::Cow::Borrowed(v)
    }
}
