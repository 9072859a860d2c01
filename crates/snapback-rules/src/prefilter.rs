//! The literal prefilter: which raw records no detection rule can match, decided from their
//! bytes, so that they are never parsed.
//!
//! Most records of a busy trail are calls no rule is about (`Describe*`, S3 `GetObject`, KMS
//! `Decrypt`). Each detection's condition is reduced to a necessary condition on literal
//! values ([`necessary`](reduce::necessary)), and a record none of whose rules' conditions can hold is skipped.
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
//!
//! This file owns the [`Prefilter`] type, its constructor of last resort ([`Prefilter::off`])
//! and what it says about itself (the keys it wants, why it is off). The work is split by
//! when it runs, so that each part can be read on its own: `reduce` turns a rule's condition
//! into clauses (rule side, no bytes), `compile` builds the searchers from them once per rule
//! set ([`Prefilter::for_rules`]), `matcher` tests records with them (the per-record path),
//! and `hits` is the specialised hit search over a buffer.

mod compile;
mod hits;
mod kernel;
mod matcher;
mod reduce;

use snapback_model::KeySpec;

use compile::{Compiled, OP_KEYS};

/// The compiled prefilter. Cheap to share between threads.
#[derive(Debug)]
pub struct Prefilter {
    /// `None`: some rule pins nothing, every record passes.
    compiled: Option<Compiled>,
    /// Why the prefilter is off, when it is.
    pub(crate) disabled_by: Option<String>,
}

impl Prefilter {
    /// Search hits ([`next_hit`](Self::next_hit)) without the one-pass kernel, with the
    /// library's searchers (`SNAPBACK_NO_HIT_KERNEL=1`, to compare): the same hits.
    pub fn without_hit_kernel(mut self) -> Prefilter {
        if let Some(h) = self.compiled.as_mut().and_then(|c| c.hits.as_mut()) {
            h.without_kernel();
        }
        self
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
}

#[cfg(test)]
mod tests;
