//! Reducing a detection's condition to what the prefilter can test: a necessary condition on
//! literal values, as clauses of atoms (a key and a value pattern), from the rule's
//! [`DetectionTree`].
//!
//! It owns the rule side of the prefilter, and only it: what an atom is ([`Key`],
//! [`Pattern`]), and how `and`, `or`, `not`, selections, keywords, modifiers and regular
//! expressions narrow or widen it (see the parent module for the rules of the reduction). It
//! knows nothing of bytes: [`compile`](super::compile) turns its clauses into searchers, so
//! that what a rule requires can be read and tested apart from how records are searched.

use crate::{Condition, DetectionTree, Modifier, Selection, SelectionItem, SigmaValue, StrPart};

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
