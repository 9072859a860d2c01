//! The literal prefilter: which raw records no detection rule can match, decided from their
//! bytes, so that they are never parsed.
//!
//! Most records of a busy trail are calls no rule is about (`Describe*`, S3 `GetObject`, KMS
//! `Decrypt`). A rule that pins the operation field (`eventName`, Azure `operationName`, GCP
//! `protoPayload.methodName`) to literal values can only match a record holding one of them,
//! so a record whose operation names are all outside the union of those values is skipped.
//!
//! **Conservative by construction.** The prefilter says *skip* only when it is sure:
//!
//! - Compiling: a rule's condition is reduced to a necessary condition on the operation keys
//!   ([`necessary`]): `and` keeps any pinned side, `or` needs every side pinned, `not`, keywords,
//!   regular expressions, wildcards, other fields and other modifiers pin nothing. One detection
//!   that pins nothing (a user rule on `userAgent`, say) turns the prefilter off altogether.
//!   Values are compared ASCII-case-insensitively (Sigma's default; `|cased` only narrows).
//! - Testing bytes ([`Prefilter::may_match`]): every occurrence of an operation key's name in the
//!   record is examined, at any depth. A record passes when one holds a matching value, and also
//!   whenever the bytes could hide a key the scan cannot read: a `\u` escape anywhere (a key can
//!   be spelt with escapes), a key inside a JSON-encoded string (`\"eventName\"`, as in
//!   CloudTrail Event history), a value that is not a plain string (a number, an object such as
//!   Azure REST's `operationName.value`, a string with escapes), or a lower-cased marker key that
//!   makes the decoder restore key spelling (`eventname`, Panther exports).
//!
//! - Testing keys ([`Prefilter::may_match_keys`]): records cut on the framer's fast path come
//!   with the list of where their keys end (`snapback_ingest::key_ends`, gathered from the same
//!   bit masks that find the record's end), but only when the record has no backslash and every
//!   colon follows a key's closing quote, so that the list names every key as written. Then
//!   only the listed keys are examined, with the same rules as above; otherwise the byte
//!   search decides. Both paths give the same answer on every record of the corpus.
//!
//! The records of one Azure or Google Cloud operation (Start, Accept, Success; first and last
//! entry) share its operation name, so the record that confirms an accepted call passes
//! whenever the call itself does. `tests/prefilter.rs` feeds every record of the corpus and the
//! examples through both paths and compares.

use std::collections::HashSet;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use snapback_ingest::decode::LOWER_CASE_MARKERS;

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

/// How a literal is compared with a value (lower-cased both).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Pattern {
    Exact(String),
    Prefix(String),
    Suffix(String),
    Contains(String),
}

/// A necessary condition for a detection to match, from its [`DetectionTree`]: one of these
/// (key, pattern) pairs must be in the record. `None` when nothing the prefilter can test is
/// necessary.
pub(crate) fn necessary(tree: &DetectionTree) -> Option<Vec<(OpKey, Pattern)>> {
    condition(tree, &tree.condition)
}

fn condition(tree: &DetectionTree, c: &Condition) -> Option<Vec<(OpKey, Pattern)>> {
    match c {
        // Every side must hold: the narrowest pinned side is necessary.
        Condition::And(cs) => cs
            .iter()
            .filter_map(|c| condition(tree, c))
            .min_by_key(Vec::len),
        // One side holds: every side must be pinned, and their union is necessary.
        Condition::Or(cs) => any(cs.iter().map(|c| condition(tree, c))),
        Condition::Not(_) => None,
        Condition::Selection(name) => selection(tree.selections.get(name)?),
    }
}

fn any(
    sides: impl Iterator<Item = Option<Vec<(OpKey, Pattern)>>>,
) -> Option<Vec<(OpKey, Pattern)>> {
    let mut out = Vec::new();
    let mut seen = false;
    for s in sides {
        out.extend(s?);
        seen = true;
    }
    seen.then_some(out)
}

fn selection(s: &Selection) -> Option<Vec<(OpKey, Pattern)>> {
    match s {
        Selection::AllOf(items) => items.iter().filter_map(item).min_by_key(Vec::len),
        Selection::AnyOf(subs) => any(subs.iter().map(selection)),
        Selection::Keywords(_) => None,
    }
}

fn item(i: &SelectionItem) -> Option<Vec<(OpKey, Pattern)>> {
    let key = OpKey::for_field(i.field.as_deref()?)?;
    let mut kind = None;
    for m in &i.modifiers {
        match m {
            // `cased` only narrows a case-insensitive comparison; `all` of the values must
            // match, so any one of them is necessary (the union is wider still).
            Modifier::Cased | Modifier::All => {}
            Modifier::Contains | Modifier::StartsWith | Modifier::EndsWith if kind.is_none() => {
                kind = Some(m.clone())
            }
            _ => return None,
        }
    }
    if i.values.is_empty() {
        return None;
    }
    i.values
        .iter()
        .map(|v| {
            let SigmaValue::Str(parts) = v else {
                return None;
            };
            let (lead, text, trail) = match parts.as_slice() {
                [StrPart::Text(t)] => (false, t, false),
                [StrPart::AnyRun, StrPart::Text(t)] => (true, t, false),
                [StrPart::Text(t), StrPart::AnyRun] => (false, t, true),
                [StrPart::AnyRun, StrPart::Text(t), StrPart::AnyRun] => (true, t, true),
                _ => return None,
            };
            let t = text.clone();
            Some((
                key,
                match (kind.as_ref(), lead, trail) {
                    (None, false, false) => Pattern::Exact(t),
                    (None, false, true) | (Some(Modifier::StartsWith), false, _) => {
                        Pattern::Prefix(t)
                    }
                    (None, true, false) | (Some(Modifier::EndsWith), _, false) => {
                        Pattern::Suffix(t)
                    }
                    _ => Pattern::Contains(t),
                },
            ))
        })
        .collect()
}

/// Values of one key that some rule may match.
#[derive(Debug, Default)]
struct Wanted {
    exact: HashSet<Box<[u8]>>,
    prefix: Vec<Box<[u8]>>,
    suffix: Vec<Box<[u8]>>,
    contains: Vec<Box<[u8]>>,
}

impl Wanted {
    fn add(&mut self, p: &Pattern) {
        let b = |s: &str| s.to_ascii_lowercase().into_bytes().into_boxed_slice();
        match p {
            Pattern::Exact(s) => {
                self.exact.insert(b(s));
            }
            Pattern::Prefix(s) => self.prefix.push(b(s)),
            Pattern::Suffix(s) => self.suffix.push(b(s)),
            Pattern::Contains(s) => self.contains.push(b(s)),
        }
    }

    /// `value` must be lower-cased already.
    fn matches(&self, value: &[u8]) -> bool {
        self.exact.contains(value)
            || self.prefix.iter().any(|p| value.starts_with(p))
            || self.suffix.iter().any(|p| value.ends_with(p))
            || self
                .contains
                .iter()
                .any(|p| memchr::memmem::find(value, p).is_some())
    }
}

/// Patterns searched in one pass; the first four are operation keys, the rest force a pass:
/// a key or value may be spelt with `\u` escapes, and a lower-cased marker key
/// (`snapback_ingest::decode::LOWER_CASE_MARKERS`, quoted) makes the decoder restore key
/// spelling.
fn needles() -> Vec<String> {
    [
        "eventName",
        "operationName",
        "OperationName",
        "methodName",
        "\\u",
    ]
    .into_iter()
    .map(str::to_owned)
    .chain(LOWER_CASE_MARKERS.iter().map(|m| format!("\"{m}\"")))
    .collect()
}

/// The compiled prefilter. Cheap to share between threads.
#[derive(Debug)]
pub struct Prefilter {
    /// `None`: some rule pins nothing, every record passes.
    searcher: Option<AhoCorasick>,
    keys: [Wanted; 3],
    /// Which keys any rule pins: a record is tested on these only.
    pinned: [bool; 3],
    /// Why the prefilter is off, when it is.
    pub(crate) disabled_by: Option<String>,
}

fn slot(k: OpKey) -> usize {
    match k {
        OpKey::CloudTrail => 0,
        OpKey::Azure => 1,
        OpKey::Gcp => 2,
    }
}

impl Prefilter {
    /// The prefilter of a rule set: off when a detection pins no operation name (or its logic
    /// cannot be read as a tree).
    pub fn for_rules(rules: &RuleSet) -> Prefilter {
        let pins: Vec<Result<Vec<(OpKey, Pattern)>, String>> = (0..rules.detections.len())
            .map(|i| {
                let label = || rules.detections[i].id.clone();
                match rules.detection_tree(i) {
                    Ok(tree) => necessary(&tree).ok_or_else(label),
                    Err(_) => Err(label()),
                }
            })
            .collect();
        Prefilter::new(&pins)
    }

    /// A prefilter from each detection's necessary condition (`Err(rule label)` for a rule that
    /// pins nothing).
    pub(crate) fn new(rules: &[Result<Vec<(OpKey, Pattern)>, String>]) -> Prefilter {
        let mut keys: [Wanted; 3] = Default::default();
        let mut pinned = [false; 3];
        for r in rules {
            match r {
                Ok(pairs) => {
                    for (k, p) in pairs {
                        keys[slot(*k)].add(p);
                        pinned[slot(*k)] = true;
                    }
                }
                Err(label) => {
                    return Prefilter::off(format!("rule {label} pins no operation name"))
                }
            }
        }
        let searcher = AhoCorasickBuilder::new()
            .match_kind(MatchKind::LeftmostFirst)
            .build(needles())
            .ok();
        match searcher {
            Some(s) => Prefilter {
                searcher: Some(s),
                keys,
                pinned,
                disabled_by: None,
            },
            None => Prefilter::off("the searcher did not build".into()),
        }
    }

    /// A prefilter that lets everything through.
    pub fn off(reason: String) -> Prefilter {
        Prefilter {
            searcher: None,
            keys: Default::default(),
            pinned: [false; 3],
            disabled_by: Some(reason),
        }
    }

    /// Whether every record passes (some rule pins nothing, or the prefilter was turned off).
    pub fn is_off(&self) -> bool {
        self.searcher.is_none()
    }

    /// Why every record passes, when it does.
    pub fn disabled_by(&self) -> Option<&str> {
        self.disabled_by.as_deref()
    }

    /// `false` only when no detection rule can match any event decoded from `record` (the raw
    /// bytes of one framed record).
    pub fn may_match(&self, record: &[u8]) -> bool {
        let Some(searcher) = &self.searcher else {
            return true;
        };
        for m in searcher.find_iter(record) {
            let key = match m.pattern().as_usize() {
                0 => OpKey::CloudTrail,
                1 | 2 => OpKey::Azure,
                3 => OpKey::Gcp,
                _ => return true,
            };
            let mut at = m.end();
            if m.pattern().as_usize() == 2 && record[at..].starts_with(b"Value") {
                at += 5;
            }
            if self.passes(key, &record[at..]) {
                return true;
            }
        }
        false
    }

    /// [`may_match`](Self::may_match), given where the record's keys end
    /// (`snapback_ingest::key_ends`, which the framer's fast path provides for free): only the
    /// keys are looked at, not every byte. The list is only given for records without a
    /// backslash, whose keys are all spelt plainly; without it, the byte search decides.
    pub fn may_match_keys(&self, record: &[u8], key_ends: Option<&[u32]>) -> bool {
        let Some(ends) = key_ends else {
            return self.may_match(record);
        };
        if self.searcher.is_none() {
            return true;
        }
        for &end in ends {
            let end = end as usize;
            if end >= record.len() || record[end] != b'"' {
                return true;
            }
            // A plain record has no escaped quote: a key is the bytes between the quote
            // before it and `end`. Dispatch on the last two letters, then check the whole.
            let k = &record[..end];
            let is = |name: &[u8]| {
                k.len() > name.len() && k.ends_with(name) && k[k.len() - name.len() - 1] == b'"'
            };
            // Lower-cased marker keys make the decoder restore key spelling (all end in `d`
            // or `e`, so the key list has them).
            if LOWER_CASE_MARKERS.iter().any(|m| is(m.as_bytes())) {
                return true;
            }
            let key = match k.len().checked_sub(2).map(|i| &k[i..]) {
                Some(b"me") => {
                    if is(b"eventName") {
                        OpKey::CloudTrail
                    } else if is(b"operationName") || is(b"OperationName") {
                        OpKey::Azure
                    } else if is(b"methodName") {
                        OpKey::Gcp
                    } else {
                        continue;
                    }
                }
                Some(b"ue") if is(b"OperationNameValue") => OpKey::Azure,
                _ => continue,
            };
            if self.passes(key, &record[end..]) {
                return true;
            }
        }
        false
    }

    /// Whether the occurrence of `key` whose name ends just before `rest` lets the record
    /// through: its value is one a rule may match, or it cannot be read.
    fn passes(&self, key: OpKey, rest: &[u8]) -> bool {
        match self.occurrence(key, rest) {
            Occurrence::NotAKey => false,
            Occurrence::Value(v) => {
                self.pinned[slot(key)] && self.keys[slot(key)].matches(&lower(v))
            }
            Occurrence::Unsure => true,
        }
    }

    /// What follows a key name: `rest` starts right after it.
    fn occurrence<'r>(&self, _key: OpKey, rest: &'r [u8]) -> Occurrence<'r> {
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
mod tests {
    use super::*;

    fn item(field: &str, mods: Vec<Modifier>, values: &[&[StrPart]]) -> Selection {
        Selection::AllOf(vec![SelectionItem {
            field: Some(field.into()),
            modifiers: mods,
            values: values.iter().map(|v| SigmaValue::Str(v.to_vec())).collect(),
        }])
    }
    fn text(s: &str) -> StrPart {
        StrPart::Text(s.into())
    }
    fn tree(sel: &[(&str, Selection)], condition: Condition) -> DetectionTree {
        DetectionTree {
            logsource: Default::default(),
            selections: sel
                .iter()
                .map(|(n, s)| (n.to_string(), s.clone()))
                .collect(),
            condition,
        }
    }
    fn sel(n: &str) -> Condition {
        Condition::Selection(n.into())
    }
    fn exact(s: &str) -> Pattern {
        Pattern::Exact(s.into())
    }

    #[test]
    fn necessary_conditions() {
        let stop = item("eventName", vec![], &[&[text("StopInstances")]]);
        let agent = item("userAgent", vec![Modifier::Contains], &[&[text("curl")]]);
        let sels = [("stop", stop), ("agent", agent)];
        let n = |c: Condition| necessary(&tree(&sels, c));
        assert_eq!(
            n(Condition::And(vec![sel("agent"), sel("stop")])),
            Some(vec![(OpKey::CloudTrail, exact("StopInstances"))])
        );
        assert_eq!(n(Condition::Or(vec![sel("agent"), sel("stop")])), None);
        assert_eq!(n(Condition::Not(Box::new(sel("stop")))), None);
        assert_eq!(
            n(Condition::And(vec![
                Condition::Not(Box::new(sel("stop"))),
                sel("agent")
            ])),
            None
        );
        assert_eq!(n(sel("agent")), None);
        assert_eq!(n(sel("missing")), None);
        // modifiers and wildcards
        let one = |s: Selection| necessary(&tree(&[("s", s)], sel("s")));
        assert_eq!(
            one(item(
                "protoPayload.methodName",
                vec![Modifier::EndsWith],
                &[&[text(".stop")]]
            )),
            Some(vec![(OpKey::Gcp, Pattern::Suffix(".stop".into()))])
        );
        assert_eq!(
            one(item(
                "operationName",
                vec![],
                &[&[text("Microsoft.Compute/"), StrPart::AnyRun]]
            )),
            Some(vec![(
                OpKey::Azure,
                Pattern::Prefix("Microsoft.Compute/".into())
            )])
        );
        assert_eq!(
            one(item("eventName", vec![Modifier::Re], &[&[text("Stop.*")]])),
            None
        );
        assert_eq!(
            one(item(
                "eventName",
                vec![],
                &[&[text("Stop"), StrPart::AnyChar]]
            )),
            None
        );
        assert_eq!(
            one(Selection::Keywords(vec![SigmaValue::Str(vec![text(
                "StopInstances"
            )])])),
            None
        );
    }

    fn pack() -> Prefilter {
        Prefilter::new(&[
            Ok(vec![(OpKey::CloudTrail, exact("StopInstances"))]),
            Ok(vec![(
                OpKey::Azure,
                exact("Microsoft.Compute/virtualMachines/start/action"),
            )]),
            Ok(vec![(
                OpKey::Gcp,
                Pattern::Suffix("compute.instances.stop".into()),
            )]),
        ])
    }

    #[test]
    fn skips_only_what_no_rule_can_match() {
        let p = pack();
        let cases: &[(&str, bool)] = &[
            (
                r#"{"eventName":"DescribeInstances","eventSource":"ec2.amazonaws.com"}"#,
                false,
            ),
            (r#"{"eventName":"StopInstances"}"#, true),
            (r#"{"eventName" : "stopinstances"}"#, true),
            (
                r#"{"a":{"eventName":"StopInstances"},"eventName":"X"}"#,
                true,
            ),
            (r#"{"eventName":"Stop\u0049nstances"}"#, true),
            (r#"{"event\u004eame":"StopInstances"}"#, true),
            (
                r#"{"eventName":"X","CloudTrailEvent":"{\"eventName\":\"StopInstances\"}"}"#,
                true,
            ),
            (r#"{"eventName":5}"#, true),
            (r#"{"eventname":"StopInstances","eventsource":"ec2"}"#, true),
            (r#"{"eventNames":"StopInstances","eventName":"Y"}"#, false),
            (r#"{"note":"eventName","eventName":"Y"}"#, false),
            (
                r#"{"operationName":"MICROSOFT.COMPUTE/VIRTUALMACHINES/START/ACTION"}"#,
                true,
            ),
            (
                r#"{"operationName":"MICROSOFT.STORAGE/STORAGEACCOUNTS/LISTKEYS/ACTION"}"#,
                false,
            ),
            (r#"{"operationName":{"value":"Microsoft.Storage/x"}}"#, true),
            (
                r#"{"OperationNameValue":"Microsoft.Compute/virtualMachines/start/action"}"#,
                true,
            ),
            (
                r#"{"OperationNameValue":"Microsoft.Storage/x","OperationName":"List keys"}"#,
                false,
            ),
            (
                r#"{"protoPayload":{"methodName":"v1.compute.instances.stop"}}"#,
                true,
            ),
            (
                r#"{"protoPayload":{"methodName":"storage.objects.get"}}"#,
                false,
            ),
            (r#"{"nothing":"here"}"#, false),
            (r#"{"eventName":"#, true),
        ];
        let mut with_keys = 0;
        for (record, want) in cases {
            assert_eq!(p.may_match(record.as_bytes()), *want, "{record}");
            // The same answer from the key list, where the record has one.
            let ends = snapback_ingest::key_ends(record.as_bytes());
            with_keys += usize::from(ends.is_some());
            assert_eq!(
                p.may_match_keys(record.as_bytes(), ends.as_deref()),
                *want,
                "{record} with key ends {ends:?}"
            );
        }
        assert!(with_keys >= 12, "only {with_keys} cases had a key list");
        // The framer lists only keys that end in `d` or `e`; the key path relies on it for
        // the marker keys too.
        for m in LOWER_CASE_MARKERS {
            assert!(m.ends_with('d') || m.ends_with('e'), "{m}");
            let record = format!(r#"{{"{m}":"x","eventName":"DescribeInstances"}}"#);
            let ends = snapback_ingest::key_ends(record.as_bytes());
            assert!(
                p.may_match_keys(record.as_bytes(), ends.as_deref()),
                "{record}"
            );
            assert!(p.may_match(record.as_bytes()), "{record}");
        }
    }

    #[test]
    fn an_unpinned_rule_turns_it_off() {
        let p = Prefilter::new(&[
            Ok(vec![(OpKey::CloudTrail, exact("StopInstances"))]),
            Err("user-agent-rule".into()),
        ]);
        assert!(p.is_off());
        assert!(p.may_match(br#"{"eventName":"DescribeInstances"}"#));
        assert!(p.disabled_by().unwrap().contains("user-agent-rule"));
    }
}
