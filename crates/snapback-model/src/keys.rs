//! The framer's key contract: which keys of a record a record filter is told about.
//!
//! A record filter (the rules' prefilter) looks at a record's keys by name. The framer finds
//! where keys end while it frames, for free on its fast path, but only for keys whose last byte
//! its block scan marks (`d` and `e`: [`KeySpec::FAST_LAST_BYTES`]). Which keys the filter
//! needs is the filter's business, and which keys the decoders need to see (their marker keys)
//! the decoders'; neither may rely on a coincidence of last letters. So the one who builds the
//! pipeline unites the two sets into a [`KeySpec`], and the framer lists from it: the fast
//! path when every name ends in a marked byte, every key otherwise ([`KeySpec::needs_all`]).

use std::collections::BTreeSet;

/// Where a record's keys end (the index of each key's closing quote), as the framer hands them
/// to a record filter: every key when `all`, else at least those of the [`KeySpec`] it was
/// given (and perhaps a few others).
#[derive(Debug, Clone, Copy)]
pub struct KeyList<'a> {
    pub ends: &'a [u32],
    pub all: bool,
}

/// The keys a framer must list for the filter and decoders it serves.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum KeySpec {
    /// No key needs listing: the filter, if any, reads the bytes itself.
    #[default]
    Nothing,
    /// These keys, by exact name (and perhaps others).
    Names(BTreeSet<String>),
    /// Every key of the record.
    All,
}

impl KeySpec {
    /// The last bytes of the keys the framer's fast path lists.
    pub const FAST_LAST_BYTES: &'static [u8] = b"de";

    /// The keys named (an empty list asks for nothing).
    pub fn names<S: Into<String>>(names: impl IntoIterator<Item = S>) -> KeySpec {
        let set: BTreeSet<String> = names.into_iter().map(Into::into).collect();
        if set.is_empty() {
            KeySpec::Nothing
        } else {
            KeySpec::Names(set)
        }
    }

    /// Both sets of keys.
    pub fn union(self, other: KeySpec) -> KeySpec {
        match (self, other) {
            (KeySpec::All, _) | (_, KeySpec::All) => KeySpec::All,
            (KeySpec::Nothing, x) | (x, KeySpec::Nothing) => x,
            (KeySpec::Names(mut a), KeySpec::Names(b)) => {
                a.extend(b);
                KeySpec::Names(a)
            }
        }
    }

    /// Whether a list that holds every key the fast path marks holds `name`.
    pub fn fast_path_lists(name: &str) -> bool {
        name.as_bytes()
            .last()
            .is_some_and(|b| Self::FAST_LAST_BYTES.contains(b))
    }

    /// Whether the framer must list every key to list these: [`KeySpec::All`], or a name whose
    /// last byte the fast path does not mark (an empty name included).
    pub fn needs_all(&self) -> bool {
        match self {
            KeySpec::All => true,
            KeySpec::Nothing => false,
            KeySpec::Names(n) => n.iter().any(|k| !Self::fast_path_lists(k)),
        }
    }

    /// Whether a key of this name must be listed.
    pub fn wants(&self, name: &str) -> bool {
        match self {
            KeySpec::All => true,
            KeySpec::Nothing => false,
            KeySpec::Names(n) => n.contains(name),
        }
    }

    /// Whether any key must be listed at all.
    pub fn is_nothing(&self) -> bool {
        *self == KeySpec::Nothing
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_the_fast_path_does_not_mark_asks_for_every_key() {
        let ops = KeySpec::names(["eventName", "operationName", "methodName"]);
        assert!(!ops.needs_all());
        assert!(ops.clone().union(KeySpec::names(["userAgent"])).needs_all());
        assert!(KeySpec::names([""]).needs_all());
        assert!(ops.clone().union(KeySpec::All).needs_all());
        assert_eq!(KeySpec::names(Vec::<String>::new()), KeySpec::Nothing);
        assert_eq!(ops.clone().union(KeySpec::Nothing), ops);
        assert!(ops.wants("eventName") && !ops.wants("eventSource"));
    }
}
