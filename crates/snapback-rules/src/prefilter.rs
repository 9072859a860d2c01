//! The literal prefilter: which raw records no detection rule can match, decided from their
//! bytes, so that they are never parsed.
//!
//! Most records of a busy trail are calls no rule is about (`Describe*`, S3 `GetObject`, KMS
//! `Decrypt`). Each detection's condition is reduced to a necessary condition on literal
//! values ([`necessary`]), and a record none of whose rules' conditions can hold is skipped.
//!
//! **Conservative by construction.** The prefilter says *skip* only when it is sure:
//!
//! - Compiling: a rule's condition becomes a conjunction of clauses, each a disjunction of
//!   atoms, every clause necessary for a match. An atom is a key and a value pattern: the
//!   operation key (`eventName`, Azure `operationName`, GCP `protoPayload.methodName`), another
//!   field (by the last segment of its path, the key that holds the value wherever the path
//!   leads), or anywhere in the record (keywords). `and` keeps its sides' clauses (only the
//!   narrowest when one side pins an operation name, as the pack's rules do), `or` needs every
//!   side pinned and joins one clause of each, `not`, `exists`, CIDR ranges, numeric
//!   comparisons, other modifiers, floats, nulls and virtual fields (`snapback.`, Azure's
//!   `resultType`, answered from other keys) pin nothing. A regular expression pins the
//!   longest literal every match of it contains. One detection that pins nothing turns the
//!   prefilter off. Values are compared ASCII-case-insensitively (Sigma's default; `cased`
//!   only narrows); a pattern may be looser than the rule's (a wildcard value becomes a
//!   substring), never stricter.
//! - Testing bytes ([`Prefilter::may_match`]): every occurrence of a key's name in the record
//!   is examined, at any depth, overlapping ones too, and every literal searched anywhere. An
//!   atom holds when an occurrence's value matches it, and also whenever the bytes could hide
//!   one the scan cannot read: a value that is not a plain string (a number, an object such as
//!   Azure REST's `operationName.value`, a string with escapes), a key inside a JSON-encoded
//!   string (`\"eventName\"`, as in CloudTrail Event history), a backslash anywhere (for
//!   literals searched anywhere). A `\u` escape anywhere (a key can be spelt with escapes) or
//!   a lower-cased marker key that makes the decoder restore key spelling (`eventname`,
//!   Panther exports) lets the record through outright.
//! - Testing keys ([`Prefilter::may_match_keys`]): records cut on the framer's fast path come
//!   with the list of where their keys end (`snapback_ingest::key_ends`, gathered from the same
//!   bit masks that find the record's end), but only when the record has no backslash and every
//!   colon follows a key's closing quote, so that the list names every key as written. The
//!   list holds the keys that end in `d` or `e` (the operation keys and the markers), so it is
//!   used only when the rules pin operation names alone; otherwise, or without a list, the
//!   byte search decides. Both paths give the same answer on every record of the corpus.
//!
//! The records of one Azure or Google Cloud operation (Start, Accept, Success; first and last
//! entry) share its operation name, so the record that confirms an accepted call passes
//! whenever the call itself does. `tests/prefilter.rs` feeds every record of the corpus and the
//! examples through both paths, with the pack and with SigmaHQ's cloud rules, and checks that
//! no record a rule matches is skipped.

use std::cell::RefCell;
use std::collections::HashMap;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

mod hits;
use snapback_model::{KeyList, KeySpec};

use crate::{
    Condition, DetectionTree, Modifier, RuleSet, Selection, SelectionItem, SigmaValue, StrPart,
};

/// An operation key: the field that names the call in each cloud's records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum OpKey {
    /// CloudTrail `eventName`.
    CloudTrail,
    /// Azure `operationName` (resource logs; REST `operationName.value`; Log Analytics
    /// `OperationNameValue`/`OperationName` answer for it too).
    Azure,
    /// Google Cloud `protoPayload.methodName`.
    Gcp,
}

impl OpKey {
    /// The key for a rule's field name, when it is an operation key.
    pub(crate) fn for_field(name: &str) -> Option<OpKey> {
        match name {
            "eventName" => Some(OpKey::CloudTrail),
            "operationName" => Some(OpKey::Azure),
            "protoPayload.methodName" => Some(OpKey::Gcp),
            _ => None,
        }
    }
}

/// Where an atom's value is looked for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Key {
    Op(OpKey),
    /// Another field, by the last segment of its path: the value is held by a key of that
    /// name, or (a flattened record) a key whose name ends with `.` and it. Field paths are
    /// matched case-sensitively (`snapback_model::walk_path`).
    Field(String),
    /// Anywhere in the record: a keyword.
    Anywhere,
}

/// How a literal is compared with a value (lower-cased both).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Pattern {
    Exact(String),
    Prefix(String),
    Suffix(String),
    Contains(String),
}

/// One of these holds.
pub(crate) type Clause = Vec<(Key, Pattern)>;

/// A necessary condition for a detection to match, from its [`DetectionTree`]: every clause
/// holds. `None` when nothing the prefilter can test is necessary.
pub(crate) fn necessary(tree: &DetectionTree) -> Option<Vec<Clause>> {
    condition(tree, &tree.condition)
}

fn only_op(cnf: &[Clause]) -> bool {
    cnf.iter().flatten().all(|(k, _)| matches!(k, Key::Op(_)))
}

/// Every side holds: all their clauses are necessary. When a side pins an operation name,
/// the narrowest such side alone (the operation is the rarest thing in a record, and the
/// framer's key list then suffices).
fn all_of(sides: Vec<Vec<Clause>>) -> Option<Vec<Clause>> {
    let width = |c: &Vec<Clause>| c.iter().map(Vec::len).sum::<usize>();
    if let Some(op) = sides.iter().filter(|s| only_op(s)).min_by_key(|s| width(s)) {
        return Some(op.clone());
    }
    let all: Vec<Clause> = sides.into_iter().flatten().collect();
    (!all.is_empty()).then_some(all)
}

/// One side holds: every side must be pinned, and one necessary clause of each, joined, is
/// necessary (operation clauses preferred, then the narrowest).
fn any_of(sides: impl Iterator<Item = Option<Vec<Clause>>>) -> Option<Vec<Clause>> {
    let mut out = Vec::new();
    let mut seen = false;
    for s in sides {
        let s = s?;
        let best = s
            .iter()
            .min_by_key(|c| (!only_op(std::slice::from_ref(*c)), c.len()))?;
        out.extend(best.iter().cloned());
        seen = true;
    }
    seen.then(|| vec![out])
}

fn condition(tree: &DetectionTree, c: &Condition) -> Option<Vec<Clause>> {
    match c {
        Condition::And(cs) => all_of(cs.iter().filter_map(|c| condition(tree, c)).collect()),
        Condition::Or(cs) => any_of(cs.iter().map(|c| condition(tree, c))),
        Condition::Not(_) => None,
        Condition::Selection(name) => selection(tree.selections.get(name)?),
    }
}

fn selection(s: &Selection) -> Option<Vec<Clause>> {
    match s {
        Selection::AllOf(items) => all_of(items.iter().filter_map(item).map(|c| vec![c]).collect()),
        Selection::AnyOf(subs) => any_of(subs.iter().map(selection)),
        Selection::Keywords(values) => {
            let clause: Option<Clause> = values
                .iter()
                .map(|v| Some((Key::Anywhere, Pattern::Contains(loose(v)?))))
                .collect();
            clause.filter(|c| !c.is_empty()).map(|c| vec![c])
        }
    }
}

/// The key of a rule's field: `None` for fields not read from one key of the raw record.
fn key_of(field: &str) -> Option<Key> {
    if let Some(op) = OpKey::for_field(field) {
        return Some(Key::Op(op));
    }
    // Virtual fields, and Azure's `resultType` (answered from `status.value` and others; see
    // `path::resolve`).
    if field.starts_with("snapback.") || field == "resultType" {
        return None;
    }
    let last = field.rsplit('.').next()?;
    // A numeric segment indexes an array: no key holds the value.
    if last.is_empty() || last.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(Key::Field(last.to_owned()))
}

/// A literal every value a Sigma value matches contains (the longest run of text).
fn loose(v: &SigmaValue) -> Option<String> {
    match v {
        SigmaValue::Str(parts) => parts
            .iter()
            .filter_map(|p| match p {
                StrPart::Text(t) if !t.is_empty() => Some(t),
                _ => None,
            })
            .max_by_key(|t| t.len())
            .cloned(),
        SigmaValue::Int(i) => Some(i.to_string()),
        SigmaValue::Bool(b) => Some(b.to_string()),
        SigmaValue::Float(_) | SigmaValue::Null => None,
    }
}

/// The text of a value written as a regular expression (wildcards were split out of it).
fn regex_text(v: &SigmaValue) -> Option<String> {
    let SigmaValue::Str(parts) = v else {
        return None;
    };
    Some(
        parts
            .iter()
            .map(|p| match p {
                StrPart::Text(t) => t.as_str(),
                StrPart::AnyRun => "*",
                StrPart::AnyChar => "?",
            })
            .collect(),
    )
}

/// The longest literal that every match of `hir` contains, if any.
fn required_literal(hir: &regex_syntax::hir::Hir) -> Option<String> {
    use regex_syntax::hir::HirKind;
    let text = |b: &[u8]| String::from_utf8(b.to_vec()).ok();
    match hir.kind() {
        HirKind::Literal(l) => text(&l.0),
        HirKind::Capture(c) => required_literal(&c.sub),
        HirKind::Repetition(r) if r.min >= 1 => required_literal(&r.sub),
        HirKind::Concat(parts) => {
            let mut best: Option<String> = None;
            let mut run = String::new();
            let keep = |c: Option<String>, best: &mut Option<String>| {
                if let Some(c) = c.filter(|c| best.as_ref().is_none_or(|b| c.len() > b.len())) {
                    *best = Some(c);
                }
            };
            for p in parts {
                match p.kind() {
                    HirKind::Literal(l) => match text(&l.0) {
                        Some(t) => run.push_str(&t),
                        None => keep(Some(std::mem::take(&mut run)), &mut best),
                    },
                    _ => {
                        keep(Some(std::mem::take(&mut run)), &mut best);
                        keep(required_literal(p), &mut best);
                    }
                }
            }
            keep(Some(run), &mut best);
            best.filter(|b| !b.is_empty())
        }
        _ => None,
    }
}

fn item(i: &SelectionItem) -> Option<Clause> {
    let key = key_of(i.field.as_deref()?)?;
    let mut kind = None;
    let mut regex = false;
    for m in &i.modifiers {
        match m {
            // `cased` only narrows a case-insensitive comparison; `all` of the values must
            // match, so any one of them is necessary (the union is wider still).
            Modifier::Cased | Modifier::All => {}
            Modifier::Contains | Modifier::StartsWith | Modifier::EndsWith if kind.is_none() => {
                kind = Some(m.clone())
            }
            Modifier::Re if !regex => regex = true,
            _ => return None,
        }
    }
    if i.values.is_empty() || (regex && kind.is_some()) {
        return None;
    }
    i.values
        .iter()
        .map(|v| {
            if regex {
                let hir = regex_syntax::parse(&regex_text(v)?).ok()?;
                return Some((key.clone(), Pattern::Contains(required_literal(&hir)?)));
            }
            let precise = match v {
                SigmaValue::Str(parts) => match parts.as_slice() {
                    [StrPart::Text(t)] => Some((false, t, false)),
                    [StrPart::AnyRun, StrPart::Text(t)] => Some((true, t, false)),
                    [StrPart::Text(t), StrPart::AnyRun] => Some((false, t, true)),
                    [StrPart::AnyRun, StrPart::Text(t), StrPart::AnyRun] => Some((true, t, true)),
                    _ => None,
                },
                _ => None,
            };
            let pattern = match precise {
                Some((lead, t, trail)) => {
                    let t = t.clone();
                    match (kind.as_ref(), lead, trail) {
                        (None, false, false) => Pattern::Exact(t),
                        (None, false, true) | (Some(Modifier::StartsWith), false, _) => {
                            Pattern::Prefix(t)
                        }
                        (None, true, false) | (Some(Modifier::EndsWith), _, false) => {
                            Pattern::Suffix(t)
                        }
                        _ => Pattern::Contains(t),
                    }
                }
                // Any other value: a literal it must contain. Operation keys keep to the
                // precise shapes, so that their rules stay as narrow as before.
                None if matches!(key, Key::Op(_)) => return None,
                None => Pattern::Contains(loose(v)?),
            };
            Some((key.clone(), pattern))
        })
        .collect()
}

/// A fast hasher for short keys and values (names of a few dozen bytes): multiply and rotate
/// a word at a time. Not for untrusted keys in a long-lived map; here the keys come from the
/// rules.
#[derive(Default, Clone, Copy)]
struct ShortHasher(u64);

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

type ShortMap<K, V> = HashMap<K, V, std::hash::BuildHasherDefault<ShortHasher>>;

/// Which atoms' values some rule may match, for one key: value patterns → atom numbers.
#[derive(Debug, Default)]
struct Wanted {
    exact: ShortMap<Box<[u8]>, Vec<usize>>,
    prefix: Vec<(Box<[u8]>, usize)>,
    suffix: Vec<(Box<[u8]>, usize)>,
    contains: Vec<(Box<[u8]>, usize)>,
    /// Every atom of this key (an occurrence that cannot be read satisfies them all).
    all: Vec<usize>,
}

fn lowered(s: &str) -> Box<[u8]> {
    s.to_ascii_lowercase().into_bytes().into_boxed_slice()
}

impl Wanted {
    fn add(&mut self, p: &Pattern, atom: usize) {
        match p {
            Pattern::Exact(s) => self.exact.entry(lowered(s)).or_default().push(atom),
            Pattern::Prefix(s) => self.prefix.push((lowered(s), atom)),
            Pattern::Suffix(s) => self.suffix.push((lowered(s), atom)),
            Pattern::Contains(s) => self.contains.push((lowered(s), atom)),
        }
        self.all.push(atom);
    }

    /// The atoms `value` (lower-cased already) satisfies.
    fn matching(&self, value: &[u8], mut hit: impl FnMut(usize)) {
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

/// The keys that name the operation, and the slot of [`Compiled::slots`] each is read with
/// (the [`OpKey`]'s: Azure has three spellings).
const OP_KEYS: [(&str, usize); 5] = [
    ("eventName", 0),
    ("operationName", 1),
    ("OperationName", 1),
    ("OperationNameValue", 1),
    ("methodName", 2),
];

/// The slot of an operation key's name, if it is one.
fn op_key_slot(name: &[u8]) -> Option<usize> {
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
enum AnySearcher {
    Packed(aho_corasick::packed::Searcher),
    Automaton(AhoCorasick),
}

impl AnySearcher {
    fn is_match(&self, text: &[u8]) -> bool {
        match self {
            AnySearcher::Packed(s) => s.find(text).is_some(),
            AnySearcher::Automaton(a) => a.is_match(text),
        }
    }
}

/// What a pattern of the key searcher found.
#[derive(Debug, Clone, Copy)]
enum Found {
    /// The name of the key in this slot of [`Compiled::slots`].
    Key(usize),
    Force,
}

/// What the prefilter tests records with, once compiled from the rules.
#[derive(Debug)]
struct Compiled {
    /// Key names (operation keys first, then fields) and forcing patterns, case-sensitive,
    /// leftmost-longest (see [`Prefilter::new`]).
    keys: AhoCorasick,
    /// What each pattern of `keys` is.
    found: Vec<Found>,
    /// Value patterns per key: the three operation keys, then the fields of `keys`.
    slots: Vec<Wanted>,
    /// Literals searched anywhere, case-insensitively: a searcher for any of them (over the
    /// record lower-cased; a case-insensitive searcher cannot use the fast vectorised one),
    /// and each (lower-cased) with the atom it stands for.
    anywhere: Option<(AnySearcher, Vec<(memchr::memmem::Finder<'static>, usize)>)>,
    /// Each rule with more than one clause: its clauses, as atom numbers.
    multi: Vec<Vec<Vec<usize>>>,
    /// Atoms that satisfy a rule alone (it has one clause, which holds them).
    lone: Vec<bool>,
    /// The slot of each field key, by name.
    field_slots: ShortMap<Box<[u8]>, usize>,
    /// A quick no for most keys: bit `min(length, 63)` of entry `last byte` is set for each
    /// key name that means something (operation keys, markers, fields).
    shapes: Box<[u64; 256]>,
    /// A quicker no for almost all keys: the bit of [`tail_bit`] is set for the last four
    /// bytes of each name that means something. `None` when some name is shorter than that.
    tails: Option<Box<[u64; TAIL_WORDS]>>,
    /// The decoders' marker keys ([`Prefilter::for_rules`]).
    markers: Box<[Box<[u8]>]>,
    /// `keys().needs_all()`, computed once.
    needs_all: bool,
    /// The hit search, specialised (`hits.rs`); `None`: `keys` searches hits.
    hits: Option<hits::HitSearcher>,
}

/// Words of [`Compiled::tails`]: one bit per value of [`tail_bit`], 8 KiB, which stays in the
/// first-level cache.
const TAIL_WORDS: usize = 1 << 10;

/// A bit of [`Compiled::tails`] for the last four bytes of a key (a multiplicative hash).
fn tail_bit(tail: [u8; 4]) -> usize {
    (u32::from_le_bytes(tail).wrapping_mul(0x9E37_79B1) >> 16) as usize
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
            Occurrence::Value(v) => wanted.matching(&lower(v), |a| self.hit(a)),
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

/// The compiled prefilter. Cheap to share between threads.
#[derive(Debug)]
pub struct Prefilter {
    /// `None`: some rule pins nothing, every record passes.
    compiled: Option<Compiled>,
    /// Why the prefilter is off, when it is.
    pub(crate) disabled_by: Option<String>,
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
        let mut slots: Vec<Wanted> = (0..3).map(|_| Wanted::default()).collect();
        let mut field_slot: ShortMap<String, usize> = ShortMap::default();
        let mut fields: Vec<String> = Vec::new();
        let mut anywhere: Vec<(String, usize)> = Vec::new();
        let mut atom_of: HashMap<(Key, Pattern), usize> = HashMap::new();
        let mut multi = Vec::new();
        let mut lone = Vec::new();
        for r in rules {
            let cnf = match r {
                Ok(cnf) if !cnf.is_empty() && cnf.iter().all(|c| !c.is_empty()) => cnf,
                Ok(_) => return Prefilter::off("a rule reduced to no condition".into()),
                Err(label) => return Prefilter::off(format!("rule {label} pins nothing")),
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
                        lone.push(false);
                        match key {
                            Key::Op(k) => slots[op_slot(*k)].add(pattern, atom),
                            // A field named like an operation key (Log Analytics'
                            // `OperationName`, `requestParameters.eventName`) is read where
                            // the searches read that key: with the operation key's slot,
                            // whose occurrences are the same keys (and a few more).
                            Key::Field(name) => {
                                let slot = op_key_slot(name.as_bytes()).unwrap_or_else(|| {
                                    *field_slot.entry(name.clone()).or_insert_with(|| {
                                        fields.push(name.clone());
                                        slots.push(Wanted::default());
                                        slots.len() - 1
                                    })
                                });
                                slots[slot].add(pattern, atom);
                            }
                            Key::Anywhere => {
                                let Pattern::Contains(lit) = pattern else {
                                    return Prefilter::off("a keyword is not a substring".into());
                                };
                                anywhere.push((lit.to_ascii_lowercase(), atom));
                            }
                        }
                    }
                    atoms.push(atom);
                }
                clauses.push(atoms);
            }
            if let [only] = clauses.as_slice() {
                only.iter().for_each(|&a| lone[a] = true);
            } else {
                multi.push(clauses);
            }
        }
        let mut shapes = Box::new([0u64; 256]);
        let mut tails = Some(Box::new([0u64; TAIL_WORDS]));
        for name in OP_KEYS
            .iter()
            .map(|&(n, _)| n)
            .chain(markers.iter().copied())
            .chain(fields.iter().map(String::as_str))
        {
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
        let field_slots = field_slot
            .into_iter()
            .map(|(name, slot)| (name.into_bytes().into_boxed_slice(), slot))
            .collect();
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
        // Leftmost-longest: of key names starting at one place the longest is the key there
        // (`types`, not `type`; `OperationNameValue`, not `OperationName`); a name starting earlier hides a later key only if it holds
        // the quote or dot before that key, and only the forcing markers hold a quote.
        let keys = AhoCorasickBuilder::new()
            .match_kind(MatchKind::LeftmostLongest)
            .build(&patterns)
            .ok();
        let hits = hits::HitSearcher::new(&patterns, &found);
        let anywhere = if anywhere.is_empty() {
            Some(None)
        } else {
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
        };
        match (keys, anywhere) {
            (Some(keys), Some(anywhere)) => {
                let mut p = Prefilter {
                    compiled: Some(Compiled {
                        keys,
                        found,
                        field_slots,
                        shapes,
                        tails,
                        slots,
                        anywhere,
                        multi,
                        lone,
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

    /// A prefilter that lets everything through.
    pub fn off(reason: String) -> Prefilter {
        Prefilter {
            compiled: None,
            disabled_by: Some(reason),
        }
    }

    /// Whether every record passes (some rule pins nothing, or the prefilter was turned off).
    pub fn is_off(&self) -> bool {
        self.compiled.is_none()
    }

    /// The keys [`may_match_keys`](Self::may_match_keys) must be given (the key contract,
    /// `snapback_model::KeySpec`): none when the prefilter is off; every key when the rules pin
    /// fields other than operation names; else the operation keys and the decoders' markers.
    pub fn keys(&self) -> KeySpec {
        match &self.compiled {
            None => KeySpec::Nothing,
            Some(c) if !c.field_slots.is_empty() => KeySpec::All,
            Some(c) => KeySpec::names(
                OP_KEYS.iter().map(|&(n, _)| n.to_owned()).chain(
                    c.markers
                        .iter()
                        .map(|m| String::from_utf8_lossy(m).into_owned()),
                ),
            ),
        }
    }

    /// Whether [`may_match_keys`](Self::may_match_keys) needs every key listed
    /// (`snapback_ingest::all_key_ends`): [`keys`](Self::keys) names one the framer's fast
    /// path would not list.
    pub fn wants_all_keys(&self) -> bool {
        self.keys().needs_all()
    }

    /// Why every record passes, when it does.
    pub fn disabled_by(&self) -> Option<&str> {
        self.disabled_by.as_deref()
    }

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
fn occurrence(rest: &[u8]) -> Occurrence<'_> {
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

enum Occurrence<'r> {
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

#[cfg(test)]
mod tests;
