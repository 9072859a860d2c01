//! Compiling the prefilter: from each detection's necessary condition ([`super::reduce`]) to
//! [`Compiled`], what records are tested with: the atoms numbered and sorted by key into
//! slots of wanted values ([`Wanted`]), the key searcher's patterns (operation keys, fields,
//! forcing patterns), the quick noes for key names (`shapes`, `tails`), the searcher for
//! literals searched anywhere, and the specialised hit search ([`super::hits`]).
//!
//! It owns the structures records are tested with and how they are built, once per rule set;
//! the per-record work that reads them is [`super::matcher`]'s.

use std::collections::HashMap;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

use super::hits;
use super::reduce::{necessary, Clause, Key, OpKey, Pattern};
use super::Prefilter;
use crate::RuleSet;

/// A fast hasher for short keys and values (names of a few dozen bytes): multiply and rotate
/// a word at a time. Not for untrusted keys in a long-lived map; here the keys come from the
/// rules.
#[derive(Default, Clone, Copy)]
pub(super) struct ShortHasher(u64);

impl std::hash::Hasher for ShortHasher {
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x517c_c1b7_2722_0a95;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let w = u64::from_le_bytes(c.try_into().unwrap_or_default());
            self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(K);
        }
        for &b in chunks.remainder() {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(K);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

pub(super) type ShortMap<K, V> = HashMap<K, V, std::hash::BuildHasherDefault<ShortHasher>>;

/// Which atoms' values some rule may match, for one key: value patterns → atom numbers.
#[derive(Debug, Default)]
pub(super) struct Wanted {
    pub(super) exact: ShortMap<Box<[u8]>, Vec<usize>>,
    pub(super) prefix: Vec<(Box<[u8]>, usize)>,
    pub(super) suffix: Vec<(Box<[u8]>, usize)>,
    pub(super) contains: Vec<(Box<[u8]>, usize)>,
    /// Every atom of this key (an occurrence that cannot be read satisfies them all).
    pub(super) all: Vec<usize>,
    /// A first test of a value against `exact` ([`Wanted::may_hold`]): one bit for each
    /// exact value's length with its first and last bytes, lower-cased.
    quick: [u64; 16],
    /// Some pattern is not exact: every value must be looked at.
    open: bool,
    /// A quicker first test, for a value spelt `":"value"` ([`Wanted::turns_away`]): one bit
    /// for each exact value's [`first_word`] (4,096 bits).
    first: [u128; 32],
    /// Some exact value holds a quote or a backslash: `first` cannot say no.
    first_open: bool,
}

fn lowered(s: &str) -> Box<[u8]> {
    s.to_ascii_lowercase().into_bytes().into_boxed_slice()
}

impl Wanted {
    pub(super) fn add(&mut self, p: &Pattern, atom: usize) {
        match p {
            Pattern::Exact(s) => {
                let v = lowered(s);
                match quick_bit(&v) {
                    Some(b) => self.quick[b / 64] |= 1 << (b % 64),
                    None => self.open = true,
                }
                if v.iter().any(|&b| b == b'"' || b == b'\\') {
                    self.first_open = true;
                } else {
                    let mut spelt = [0u8; 9];
                    let n = v.len().min(8);
                    spelt[..n].copy_from_slice(&v[..n]);
                    spelt[n] = b'"';
                    let bytes: [u8; 8] = spelt[..8].try_into().unwrap_or_default();
                    if let Some(w) = first_word(bytes) {
                        let b = first_bit(w);
                        self.first[b / 128] |= 1 << (b % 128);
                    }
                }
                self.exact.entry(v).or_default().push(atom);
            }
            Pattern::Prefix(s) => self.prefix.push((lowered(s), atom)),
            Pattern::Suffix(s) => self.suffix.push((lowered(s), atom)),
            Pattern::Contains(s) => self.contains.push((lowered(s), atom)),
        }
        self.open |= !matches!(p, Pattern::Exact(_));
        self.all.push(atom);
    }

    /// Whether `value` (as read, not lower-cased) may satisfy an atom: `false` only when every
    /// pattern of this key is exact and no exact value has the length and the first and last
    /// bytes that `value` has, lower-cased. Most operation names of a CloudTrail record are
    /// turned away here, without lower-casing and hashing the whole name.
    pub(super) fn may_hold(&self, value: &[u8]) -> bool {
        if self.open {
            return true;
        }
        let Some(b) = quick_bit(value) else {
            return true;
        };
        self.quick[b / 64] & (1 << (b % 64)) != 0
    }

    /// Whether the occurrence of this key followed by `rest` is surely not a hit, told from
    /// the value's first eight bytes without finding its end: `true` only for a value spelt
    /// `":"…` (compact JSON, as the clouds write it) whose first word ([`first_word`]) no
    /// exact value of this key has, when every pattern of the key is exact. `false` means
    /// "look" ([`Compiled::key_hit`] decides). Over CloudTrail this turns away the
    /// `eventName` of almost every record, once a record, without a call.
    pub(super) fn turns_away(&self, rest: &[u8]) -> bool {
        if self.open || self.first_open || self.exact.is_empty() {
            return false;
        }
        let Some(bytes) = rest.get(3..11) else {
            return false;
        };
        if rest[..3] != *b"\":\"" {
            return false;
        }
        let Some(w) = first_word(bytes.try_into().unwrap_or_default()) else {
            return false;
        };
        let b = first_bit(w);
        self.first[b / 128] & (1 << (b % 128)) == 0
    }
}

/// A value's first word, from its first eight bytes as read: the bytes up to its closing quote
/// (kept) or all eight, each ORed with `0x20` (which lower-cases ASCII letters, and is done to
/// the wanted values too), the bytes after the quote zero. `None` when a backslash comes
/// before the quote (an escape may spell anything after it).
fn first_word(bytes: [u8; 8]) -> Option<u64> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let w = u64::from_le_bytes(bytes);
    // The bytes equal to `b`: the high bit of each (exact for the lowest such byte, which is
    // all that is used).
    let equal = |b: u8| {
        let x = w ^ (ONES * u64::from(b));
        x.wrapping_sub(ONES) & !x & HIGHS
    };
    let quote = equal(b'"');
    let slash = equal(b'\\');
    let quote_at = if quote == 0 {
        64
    } else {
        quote.trailing_zeros()
    };
    if slash != 0 && slash.trailing_zeros() < quote_at {
        return None;
    }
    let folded = w | (ONES * 0x20);
    Some(if quote_at >= 64 {
        folded
    } else {
        // Keep the bytes through the quote's (its high bit is at `quote_at`).
        let keep = quote_at + 1;
        folded & (u64::MAX >> (64 - keep))
    })
}

/// The bit of [`Wanted::first`] for a first word.
fn first_bit(w: u64) -> usize {
    (w.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 52) as usize
}

/// The bit of [`Wanted::may_hold`] for a value: its length and its first and last bytes,
/// lower-cased, hashed to 10 bits (`None` for an empty value).
fn quick_bit(value: &[u8]) -> Option<usize> {
    let (first, last) = (value.first()?, value.last()?);
    let h = value.len() as u64
        | u64::from(first.to_ascii_lowercase()) << 32
        | u64::from(last.to_ascii_lowercase()) << 40;
    Some((h.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 54) as usize)
}

/// The keys that name the operation, and the slot of [`Compiled::slots`] each is read with
/// (the [`OpKey`]'s: Azure has three spellings).
pub(super) const OP_KEYS: [(&str, usize); 5] = [
    ("eventName", 0),
    ("operationName", 1),
    ("OperationName", 1),
    ("OperationNameValue", 1),
    ("methodName", 2),
];

/// The slot of an operation key's name, if it is one.
pub(super) fn op_key_slot(name: &[u8]) -> Option<usize> {
    OP_KEYS
        .iter()
        .find(|(n, _)| n.as_bytes() == name)
        .map(|&(_, slot)| slot)
}

/// Patterns that force a pass: a key or value may be spelt with `\u` escapes, and a decoder's
/// marker key (quoted; `snapback_ingest::decode::LOWER_CASE_MARKERS`: a lower-cased export)
/// makes the decoder restore key spelling.
fn forcing(markers: &[&str]) -> Vec<String> {
    std::iter::once(hits::ESCAPE.to_owned())
        .chain(markers.iter().map(|m| format!("\"{m}\"")))
        .collect()
}

fn op_slot(k: OpKey) -> usize {
    match k {
        OpKey::CloudTrail => 0,
        OpKey::Azure => 1,
        OpKey::Gcp => 2,
    }
}

/// A searcher for literals in lower-cased text: the vectorised one (Teddy) where it builds.
#[derive(Debug)]
pub(super) enum AnySearcher {
    Packed(aho_corasick::packed::Searcher),
    Automaton(AhoCorasick),
}

/// What [`Compiled::anywhere`] holds when some literal is searched anywhere.
pub(super) type Anywhere = (AnySearcher, Vec<(memchr::memmem::Finder<'static>, usize)>);

/// What a pattern of the key searcher found.
#[derive(Debug, Clone, Copy)]
pub(super) enum Found {
    /// The name of the key in this slot of [`Compiled::slots`].
    Key(usize),
    Force,
}

/// What the prefilter tests records with, once compiled from the rules.
#[derive(Debug)]
pub(super) struct Compiled {
    /// Key names (operation keys first, then fields) and forcing patterns, case-sensitive,
    /// leftmost-longest (see [`Prefilter::new`]).
    pub(super) keys: AhoCorasick,
    /// What each pattern of `keys` is.
    pub(super) found: Vec<Found>,
    /// Value patterns per key: the three operation keys, then the fields of `keys`.
    pub(super) slots: Vec<Wanted>,
    /// Literals searched anywhere, case-insensitively: a searcher for any of them (over the
    /// record lower-cased; a case-insensitive searcher cannot use the fast vectorised one),
    /// and each (lower-cased) with the atom it stands for.
    pub(super) anywhere: Option<Anywhere>,
    /// Each rule with more than one clause: its clauses, as atom numbers.
    pub(super) multi: Vec<Vec<Vec<usize>>>,
    /// Atoms that satisfy a rule alone (it has one clause, which holds them).
    pub(super) lone: Vec<bool>,
    /// The slot of each field key, by name.
    pub(super) field_slots: ShortMap<Box<[u8]>, usize>,
    /// A quick no for most keys: bit `min(length, 63)` of entry `last byte` is set for each
    /// key name that means something (operation keys, markers, fields).
    pub(super) shapes: Box<[u64; 256]>,
    /// A quicker no for almost all keys: the bit of [`tail_bit`] is set for the last four
    /// bytes of each name that means something. `None` when some name is shorter than that.
    pub(super) tails: Option<Box<[u64; TAIL_WORDS]>>,
    /// The decoders' marker keys ([`Prefilter::for_rules`]).
    pub(super) markers: Box<[Box<[u8]>]>,
    /// `keys().needs_all()`, computed once.
    pub(super) needs_all: bool,
    /// The hit search, specialised (`hits.rs`); `None`: `keys` searches hits.
    pub(super) hits: Option<hits::HitSearcher>,
}

/// Words of [`Compiled::tails`]: one bit per value of [`tail_bit`], 8 KiB, which stays in the
/// first-level cache.
const TAIL_WORDS: usize = 1 << 10;

/// A bit of [`Compiled::tails`] for the last four bytes of a key (a multiplicative hash).
pub(super) fn tail_bit(tail: [u8; 4]) -> usize {
    (u32::from_le_bytes(tail).wrapping_mul(0x9E37_79B1) >> 16) as usize
}

impl Prefilter {
    /// The prefilter of a rule set: off when a detection pins nothing (or its logic cannot be
    /// read as a tree).
    ///
    /// `markers` are the decoders' marker keys (`snapback_ingest::decode::LOWER_CASE_MARKERS`):
    /// a record that holds one is let through, because its decoder rewrites its keys. They
    /// come in as an argument so that this crate knows nothing of decoding (the key contract,
    /// docs/architecture.md §2.4), and [`keys`](Self::keys) names them for the framer.
    pub fn for_rules(rules: &RuleSet, markers: &[&str]) -> Prefilter {
        let pins: Vec<Result<Vec<Clause>, String>> = (0..rules.detections.len())
            .map(|i| {
                let label = || rules.detections[i].id.clone();
                match rules.detection_tree(i) {
                    Ok(tree) => necessary(&tree).ok_or_else(label),
                    Err(_) => Err(label()),
                }
            })
            .collect();
        Prefilter::new(&pins, markers)
    }

    /// A prefilter from each detection's necessary condition (`Err(rule label)` for a rule that
    /// pins nothing).
    pub(crate) fn new(rules: &[Result<Vec<Clause>, String>], markers: &[&str]) -> Prefilter {
        let atoms = match Atoms::of(rules) {
            Ok(atoms) => atoms,
            Err(reason) => return Prefilter::off(reason),
        };
        let (shapes, tails) = key_shapes(
            OP_KEYS
                .iter()
                .map(|&(n, _)| n)
                .chain(markers.iter().copied())
                .chain(atoms.fields.iter().map(String::as_str)),
        );
        let field_slots = atoms
            .field_slot
            .into_iter()
            .map(|(name, slot)| (name.into_bytes().into_boxed_slice(), slot))
            .collect();
        let (patterns, found) = key_patterns(&atoms.fields, markers);
        // Leftmost-longest: of key names starting at one place the longest is the key there
        // (`types`, not `type`; `OperationNameValue`, not `OperationName`); a name starting earlier hides a later key only if it holds
        // the quote or dot before that key, and only the forcing markers hold a quote.
        let keys = AhoCorasickBuilder::new()
            .match_kind(MatchKind::LeftmostLongest)
            .build(&patterns)
            .ok();
        let hits = hits::HitSearcher::new(&patterns, &found);
        let anywhere = anywhere_searcher(&atoms.anywhere);
        match (keys, anywhere) {
            (Some(keys), Some(anywhere)) => {
                let mut p = Prefilter {
                    compiled: Some(Compiled {
                        keys,
                        found,
                        field_slots,
                        shapes,
                        tails,
                        slots: atoms.slots,
                        anywhere,
                        multi: atoms.multi,
                        lone: atoms.lone,
                        markers: markers
                            .iter()
                            .map(|m| m.as_bytes().to_vec().into_boxed_slice())
                            .collect(),
                        needs_all: false,
                        hits,
                    }),
                    disabled_by: None,
                };
                let needs_all = p.keys().needs_all();
                if let Some(c) = p.compiled.as_mut() {
                    c.needs_all = needs_all;
                }
                p
            }
            _ => Prefilter::off("the searcher did not build".into()),
        }
    }
}

/// The rules' atoms, numbered and sorted by where they are read: what [`Prefilter::new`]
/// compiles into searchers.
struct Atoms {
    /// Value patterns per key: the three operation keys, then the fields, in order.
    slots: Vec<Wanted>,
    /// The slot of each field key, by name.
    field_slot: ShortMap<String, usize>,
    /// The field keys, in the order of their slots.
    fields: Vec<String>,
    /// Literals searched anywhere (lower-cased), each with its atom.
    anywhere: Vec<(String, usize)>,
    /// Each rule with more than one clause: its clauses, as atom numbers.
    multi: Vec<Vec<Vec<usize>>>,
    /// Atoms that satisfy a rule alone.
    lone: Vec<bool>,
}

impl Atoms {
    /// Every rule's clauses, each distinct atom numbered once; `Err(why)` when the prefilter
    /// must be off.
    fn of(rules: &[Result<Vec<Clause>, String>]) -> Result<Atoms, String> {
        let mut out = Atoms {
            slots: (0..3).map(|_| Wanted::default()).collect(),
            field_slot: ShortMap::default(),
            fields: Vec::new(),
            anywhere: Vec::new(),
            multi: Vec::new(),
            lone: Vec::new(),
        };
        let mut atom_of: HashMap<(Key, Pattern), usize> = HashMap::new();
        for r in rules {
            let cnf = match r {
                Ok(cnf) if !cnf.is_empty() && cnf.iter().all(|c| !c.is_empty()) => cnf,
                Ok(_) => return Err("a rule reduced to no condition".into()),
                Err(label) => return Err(format!("rule {label} pins nothing")),
            };
            let mut clauses = Vec::new();
            for clause in cnf {
                let mut atoms = Vec::new();
                for (key, pattern) in clause {
                    let next = atom_of.len();
                    let atom = *atom_of
                        .entry((key.clone(), pattern.clone()))
                        .or_insert(next);
                    if atom == next {
                        out.lone.push(false);
                        out.add(key, pattern, atom)?;
                    }
                    atoms.push(atom);
                }
                clauses.push(atoms);
            }
            if let [only] = clauses.as_slice() {
                only.iter().for_each(|&a| out.lone[a] = true);
            } else {
                out.multi.push(clauses);
            }
        }
        Ok(out)
    }

    /// A new atom, filed where its key is read.
    fn add(&mut self, key: &Key, pattern: &Pattern, atom: usize) -> Result<(), String> {
        match key {
            Key::Op(k) => self.slots[op_slot(*k)].add(pattern, atom),
            // A field named like an operation key (Log Analytics' `OperationName`,
            // `requestParameters.eventName`) is read where the searches read that key: with the
            // operation key's slot, whose occurrences are the same keys (and a few more).
            Key::Field(name) => {
                let slot = op_key_slot(name.as_bytes()).unwrap_or_else(|| {
                    *self.field_slot.entry(name.clone()).or_insert_with(|| {
                        self.fields.push(name.clone());
                        self.slots.push(Wanted::default());
                        self.slots.len() - 1
                    })
                });
                self.slots[slot].add(pattern, atom);
            }
            Key::Anywhere => {
                let Pattern::Contains(lit) = pattern else {
                    return Err("a keyword is not a substring".into());
                };
                self.anywhere.push((lit.to_ascii_lowercase(), atom));
            }
        }
        Ok(())
    }
}

/// [`Compiled::shapes`] and [`Compiled::tails`] for the names that mean something.
fn key_shapes<'n>(
    names: impl Iterator<Item = &'n str>,
) -> (Box<[u64; 256]>, Option<Box<[u64; TAIL_WORDS]>>) {
    let mut shapes = Box::new([0u64; 256]);
    let mut tails = Some(Box::new([0u64; TAIL_WORDS]));
    for name in names {
        if let Some(&b) = name.as_bytes().last() {
            shapes[b as usize] |= 1 << name.len().min(63);
        }
        match (name.as_bytes().last_chunk::<4>(), tails.as_mut()) {
            (Some(&tail), Some(t)) => {
                let bit = tail_bit(tail);
                t[bit / 64] |= 1 << (bit % 64);
            }
            // A name shorter than four bytes: keys are not sifted by their tails.
            _ => tails = None,
        }
    }
    (shapes, tails)
}

/// The key searcher's patterns (operation keys, then fields, then forcing patterns) and what
/// each is.
fn key_patterns(fields: &[String], markers: &[&str]) -> (Vec<String>, Vec<Found>) {
    let mut patterns: Vec<String> = Vec::new();
    let mut found = Vec::new();
    for &(n, slot) in &OP_KEYS {
        patterns.push(n.to_owned());
        found.push(Found::Key(slot));
    }
    for (i, f) in fields.iter().enumerate() {
        patterns.push(f.clone());
        found.push(Found::Key(3 + i));
    }
    for f in forcing(markers) {
        patterns.push(f);
        found.push(Found::Force);
    }
    (patterns, found)
}

/// [`Compiled::anywhere`] for literals searched anywhere (lower-cased, each with its atom):
/// `Some(None)` when there are none, `None` when the searcher does not build.
fn anywhere_searcher(anywhere: &[(String, usize)]) -> Option<Option<Anywhere>> {
    if anywhere.is_empty() {
        return Some(None);
    }
    let literals = || anywhere.iter().map(|(l, _)| l);
    aho_corasick::packed::Config::new()
        .builder()
        .extend(literals())
        .build()
        .map(AnySearcher::Packed)
        .or_else(|| {
            AhoCorasickBuilder::new()
                .match_kind(MatchKind::LeftmostFirst)
                .build(literals())
                .ok()
                .map(AnySearcher::Automaton)
        })
        .map(|a| {
            let literals = anywhere
                .iter()
                .map(|(l, atom)| (memchr::memmem::Finder::new(l).into_owned(), *atom))
                .collect();
            Some((a, literals))
        })
}
