//! The facade over `rsigma-parser` and `rsigma-eval`: the only module that names them.
//!
//! rsigma breaks its API between minor releases, so everything it offers is translated here
//! into this crate's own plain types ([`Doc`]) and a [`Matcher`] that answers with indices.
//! Upgrading rsigma means editing this file only.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashMap;

use rsigma_eval::event::{Event as SigmaEvent, EventValue};
use rsigma_eval::Engine;
use rsigma_parser::{
    CorrelationCondition, CorrelationRule, CorrelationType, FilterRule, FilterRuleTarget,
    LogSource, SigmaRule,
};
use serde_json::Value;
use snapback_model::Event;

use crate::path::{self, Found};
use crate::{tree, CorrelationKind, Level};

/// The custom attribute that carries a rule's index into the matcher, so that a match can be
/// mapped back to our `Vec` without comparing titles or ids.
const INDEX_ATTR: &str = "snapback.__index";

/// One parsed Sigma document, in this crate's terms.
pub(crate) struct Doc {
    pub title: String,
    pub id: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub level: Option<Level>,
    pub tags: Vec<String>,
    /// The `snapback:` metadata block, as JSON.
    pub snapback: Option<Value>,
    /// Taken by the loader.
    pub body: Option<Body>,
}

pub(crate) enum Body {
    Detection(Compilable),
    Correlation {
        kind: Result<CorrelationKind, String>,
        rules: Vec<String>,
        group_by: Vec<String>,
        /// alias → [(rule reference, field)], sorted by rule reference.
        aliases: Vec<(String, Vec<(String, String)>)>,
        timespan_secs: u64,
    },
    Filter {
        /// `None`: the filter applies to every rule.
        targets: Option<Vec<String>>,
        selection: Compilable,
    },
}

/// A detection (or a filter's selection) ready to compile; opaque outside this module.
pub(crate) struct Compilable(Box<SigmaRule>);

/// What parsing one YAML text gave.
pub(crate) struct Parsed {
    pub docs: Vec<Doc>,
    /// Documents that could not be parsed, with rsigma's reason.
    pub errors: Vec<String>,
}

/// Parse one YAML text (one or more documents).
pub(crate) fn parse(text: &str) -> Parsed {
    let collection = match rsigma_parser::parse_sigma_yaml(text) {
        Ok(c) => c,
        Err(e) => {
            return Parsed {
                docs: Vec::new(),
                errors: vec![e.to_string()],
            }
        }
    };
    let mut docs = Vec::new();
    for r in collection.rules {
        docs.push(rule_doc(r));
    }
    for c in collection.correlations {
        docs.push(correlation_doc(c));
    }
    for f in collection.filters {
        docs.push(filter_doc(f));
    }
    Parsed {
        docs,
        errors: collection.errors,
    }
}

fn level(l: Option<rsigma_parser::Level>) -> Option<Level> {
    l.map(|l| match l {
        rsigma_parser::Level::Informational => Level::Informational,
        rsigma_parser::Level::Low => Level::Low,
        rsigma_parser::Level::Medium => Level::Medium,
        rsigma_parser::Level::High => Level::High,
        rsigma_parser::Level::Critical => Level::Critical,
    })
}

fn snapback_attr<V: serde::Serialize>(attrs: &HashMap<String, V>) -> Option<Value> {
    attrs
        .get("snapback")
        .map(|v| serde_json::to_value(v).unwrap_or(Value::Null))
}

fn rule_doc(r: SigmaRule) -> Doc {
    Doc {
        title: r.title.clone(),
        id: r.id.clone(),
        name: r.name.clone(),
        description: r.description.clone(),
        level: level(r.level),
        tags: r.tags.clone(),
        snapback: snapback_attr(&r.custom_attributes),
        body: Some(Body::Detection(Compilable(Box::new(r)))),
    }
}

fn correlation_doc(c: CorrelationRule) -> Doc {
    let threshold = |c: &CorrelationRule| -> Result<(u64, Option<String>), String> {
        match &c.condition {
            CorrelationCondition::Threshold {
                predicates, field, ..
            } => {
                let mut gte = None;
                for (op, n) in predicates {
                    match op {
                        rsigma_parser::ConditionOperator::Gte => gte = Some(*n),
                        rsigma_parser::ConditionOperator::Gt => gte = Some(n + 1),
                        other => {
                            return Err(format!(
                                "condition operator {other:?} is not supported (use gte or gt)"
                            ))
                        }
                    }
                }
                let gte = gte.ok_or("condition needs gte or gt")?;
                Ok((gte, field.as_ref().and_then(|f| f.first().cloned())))
            }
            CorrelationCondition::Extended(_) => {
                Err("an expression condition is only supported for temporal types".into())
            }
        }
    };
    let kind = match c.correlation_type {
        CorrelationType::Temporal => Ok(CorrelationKind::Temporal),
        CorrelationType::TemporalOrdered => Ok(CorrelationKind::TemporalOrdered),
        CorrelationType::EventCount => {
            threshold(&c).map(|(gte, _)| CorrelationKind::EventCount { gte })
        }
        CorrelationType::ValueCount => threshold(&c).and_then(|(gte, field)| {
            field
                .map(|field| CorrelationKind::ValueCount { field, gte })
                .ok_or_else(|| "value_count needs condition.field".to_string())
        }),
        other => Err(format!(
            "correlation type {} is not supported by snapback",
            other.as_str()
        )),
    };
    let mut aliases: Vec<(String, Vec<(String, String)>)> = c
        .aliases
        .iter()
        .map(|a| {
            let mut m: Vec<(String, String)> = a
                .mapping
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            m.sort();
            (a.alias.clone(), m)
        })
        .collect();
    aliases.sort();
    Doc {
        title: c.title.clone(),
        id: c.id.clone(),
        name: c.name.clone(),
        description: c.description.clone(),
        level: level(c.level),
        tags: c.tags.clone(),
        snapback: snapback_attr(&c.custom_attributes),
        body: Some(Body::Correlation {
            kind,
            rules: c.rules.clone(),
            group_by: c.group_by.clone(),
            aliases,
            timespan_secs: c.timespan.seconds,
        }),
    }
}

fn filter_doc(f: FilterRule) -> Doc {
    let targets = match &f.rules {
        FilterRuleTarget::Any => None,
        FilterRuleTarget::Specific(list) => Some(list.clone()),
    };
    // A filter's selection compiles like a detection rule of its own, so that it can be
    // evaluated apart from the rules it targets (rsigma would splice it into them).
    let selection = SigmaRule {
        title: f.title.clone(),
        logsource: f.logsource.clone().unwrap_or_default(),
        detection: f.detection.clone(),
        sigma_version: f.sigma_version,
        id: f.id.clone(),
        name: f.name.clone(),
        related: Vec::new(),
        taxonomy: None,
        status: None,
        description: f.description.clone(),
        license: None,
        author: None,
        references: Vec::new(),
        date: None,
        modified: None,
        fields: Vec::new(),
        falsepositives: Vec::new(),
        level: None,
        tags: Vec::new(),
        scope: Vec::new(),
        custom_attributes: HashMap::new(),
    };
    Doc {
        title: f.title.clone(),
        id: f.id.clone(),
        name: f.name.clone(),
        description: f.description.clone(),
        level: level(f.level),
        tags: f.tags.clone(),
        snapback: snapback_attr(&f.custom_attributes),
        body: Some(Body::Filter {
            targets,
            selection: Compilable(Box::new(selection)),
        }),
    }
}

/// Compiled detections, evaluated through rsigma's engine (and its candidate index).
pub(crate) struct Matcher {
    engine: Engine,
    /// Skip rules whose `logsource.product` names another cloud. Off for filters: a filter
    /// suppresses when its condition is false, so a pruned filter would suppress everything.
    prune: bool,
    /// For each of our indices, where its rule is in the engine's list (set by
    /// [`seal`](Self::seal)), so that one rule can be evaluated alone ([`holds`](Self::holds)).
    position: Vec<usize>,
}

impl Matcher {
    pub(crate) fn new(prune: bool) -> Self {
        Matcher {
            engine: Engine::new(),
            prune,
            position: Vec::new(),
        }
    }

    /// Compile one rule under our index; the reason when it does not compile.
    pub(crate) fn add(&mut self, index: usize, rule: Compilable) -> Result<(), String> {
        let mut rule = rule.0;
        rule.custom_attributes.clear();
        // The attribute type is rsigma's YAML value; build it through serde.
        let value = serde_json::from_value(Value::from(index as u64))
            .map_err(|e| format!("internal: {e}"))?;
        rule.custom_attributes.insert(INDEX_ATTR.to_owned(), value);
        // One rule at a time, folded into the engine's indexes incrementally: `add_rules` with
        // one rule rebuilt every index for each, which made loading quadratic (SigmaHQ's 247
        // rules took 0.3 s, mostly building automata again). [`seal`](Self::seal) builds the
        // indexes once over all of them when loading ends.
        self.engine.add_rule(&rule).map_err(|e| e.to_string())
    }

    /// Build the engine's candidate indexes once over every rule added. Added one at a time,
    /// a rule whose witness is a substring or keyword cannot join automata already built, so
    /// rsigma evaluates it on every event until its next rebuild (when the rule count doubles):
    /// with SigmaHQ's rules, over a hundred rules ran on every event. Adding no rules in a
    /// batch is rsigma's public way to rebuild.
    pub(crate) fn seal(&mut self) {
        self.engine.extend_compiled_rules(std::iter::empty());
        for (at, rule) in self.engine.rules().iter().enumerate() {
            let Some(index) = rule
                .custom_attributes
                .get(INDEX_ATTR)
                .and_then(|v| v.as_u64())
            else {
                continue;
            };
            let index = index as usize;
            if self.position.len() <= index {
                self.position.resize(index + 1, usize::MAX);
            }
            self.position[index] = at;
        }
    }

    /// Whether the condition of each rule of `indices` holds for the event, each rule
    /// evaluated alone, the event's fields looked up once for all of them. A filter's
    /// condition is mostly `not selection`, which no candidate index can skip, so
    /// [`matches`](Self::matches) evaluated every filter on every event; here only those asked
    /// about are (the filters that target the rules the event matched). An index not
    /// compiled does not hold.
    pub(crate) fn holds(&self, indices: &[usize], e: &Event) -> Vec<bool> {
        let view = View(e, RefCell::default());
        let rules = self.engine.rules();
        // The condition alone, as `rsigma_eval::evaluate_rule` decides it, without the result
        // that call builds when it holds (a second pass for details, the fields matched, the
        // rule's title and tags cloned): a filter's `not selection` holds for almost every
        // event, so that result was built and dropped for each.
        let mut selections = Vec::new();
        indices
            .iter()
            .map(|&i| {
                let rule = self.position.get(i).and_then(|&at| rules.get(at));
                rule.is_some_and(|r| {
                    r.conditions.iter().any(|c| {
                        selections.clear();
                        rsigma_eval::compiler::eval_condition(
                            c,
                            &r.detections,
                            &view,
                            &mut selections,
                        )
                    })
                })
            })
            .collect()
    }

    /// Indices of the rules that match, ascending.
    pub(crate) fn matches(&self, e: &Event) -> Vec<usize> {
        let view = View(e, RefCell::default());
        let results = if self.prune {
            let logsource = LogSource {
                product: Some(e.cloud.as_str().to_owned()),
                ..LogSource::default()
            };
            self.engine.evaluate_pruned(&view, &logsource)
        } else {
            self.engine.evaluate(&view)
        };
        let mut out: Vec<usize> = results
            .iter()
            .filter_map(|r| r.header.custom_attributes.get(INDEX_ATTR)?.as_u64())
            .map(|i| i as usize)
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }
}

/// Our event as rsigma sees it: field lookup through [`path::resolve`], each field looked up
/// once. The rules of a set ask for few fields, most of them many times (over CloudTrail the
/// built-in pack asked 75 times an event for 12 fields, `eventSource` 19 times), and a lookup
/// walks the record's maps by key comparisons.
struct View<'a>(&'a Event, RefCell<Vec<(Box<str>, Option<EventValue<'a>>)>>);

fn to_event_value(f: Found<'_>) -> EventValue<'_> {
    match f {
        Found::Node(v) => EventValue::from(v),
        Found::Parsed(v) => owned(&v),
        Found::Text(t) => EventValue::Str(t),
    }
}

fn owned(v: &Value) -> EventValue<'static> {
    match v {
        Value::String(s) => EventValue::Str(Cow::Owned(s.clone())),
        Value::Number(n) => match n.as_i64() {
            Some(i) => EventValue::Int(i),
            None => EventValue::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::Bool(b) => EventValue::Bool(*b),
        Value::Null => EventValue::Null,
        Value::Array(a) => EventValue::Array(a.iter().map(owned).collect()),
        Value::Object(m) => EventValue::Map(
            m.iter()
                .map(|(k, v)| (Cow::Owned(k.clone()), owned(v)))
                .collect(),
        ),
    }
}

impl SigmaEvent for View<'_> {
    fn get_field(&self, name: &str) -> Option<EventValue<'_>> {
        if let Some((_, v)) = self.1.borrow().iter().find(|(n, _)| **n == *name) {
            return v.clone();
        }
        let mut found = path::resolve(self.0, name);
        let value = match found.len() {
            0 => None,
            1 => found.pop().map(to_event_value),
            _ => Some(EventValue::Array(
                found.into_iter().map(to_event_value).collect(),
            )),
        };
        self.1.borrow_mut().push((name.into(), value.clone()));
        value
    }

    fn any_string_value(&self, pred: &dyn Fn(&str) -> bool) -> bool {
        fn any(v: &Value, pred: &dyn Fn(&str) -> bool, depth: usize) -> bool {
            match v {
                Value::String(s) => pred(s),
                Value::Array(a) if depth > 0 => a.iter().any(|x| any(x, pred, depth - 1)),
                Value::Object(m) if depth > 0 => m.values().any(|x| any(x, pred, depth - 1)),
                _ => false,
            }
        }
        any(&self.0.raw, pred, 64)
    }

    fn all_string_values(&self) -> Vec<Cow<'_, str>> {
        let mut out = Vec::new();
        visit_strings(&self.0.raw, &mut |s| out.push(Cow::Borrowed(s)), 64);
        out
    }

    fn visit_string_values(&self, visit: &mut dyn FnMut(&str)) {
        visit_strings(&self.0.raw, visit, 64);
    }

    fn to_json(&self) -> Value {
        (*self.0.raw).clone()
    }
}

fn visit_strings<'a>(v: &'a Value, f: &mut dyn FnMut(&'a str), depth: usize) {
    match v {
        Value::String(s) => f(s),
        Value::Array(a) if depth > 0 => a.iter().for_each(|x| visit_strings(x, f, depth - 1)),
        Value::Object(m) if depth > 0 => m.values().for_each(|x| visit_strings(x, f, depth - 1)),
        _ => {}
    }
}

// ---------------------------------------------------------------------------------------------
// The neutral detection tree (see `tree.rs`): the only place that reads rsigma's detection AST.

impl Compilable {
    /// The rule's detection section as a [`tree::DetectionTree`].
    pub(crate) fn tree(&self) -> Result<tree::DetectionTree, String> {
        let r = &self.0;
        let mut selections = std::collections::BTreeMap::new();
        for (name, d) in &r.detection.named {
            selections.insert(
                name.clone(),
                selection(d).map_err(|e| format!("{name}: {e}"))?,
            );
        }
        let names: Vec<String> = selections.keys().cloned().collect();
        let condition = match r.detection.conditions.as_slice() {
            [c] => condition(c, &names)?,
            [] => return Err("the rule has no condition".into()),
            many => tree::Condition::Or(
                many.iter()
                    .map(|c| condition(c, &names))
                    .collect::<Result<_, _>>()?,
            ),
        };
        Ok(tree::DetectionTree {
            logsource: tree::LogSourceSpec {
                product: r.logsource.product.clone(),
                service: r.logsource.service.clone(),
                category: r.logsource.category.clone(),
            },
            selections,
            condition,
        })
    }
}

fn selection(d: &rsigma_parser::Detection) -> Result<tree::Selection, String> {
    use rsigma_parser::Detection as D;
    Ok(match d {
        D::AllOf(items) => tree::Selection::AllOf(items.iter().map(item).collect()),
        D::AnyOf(subs) => {
            tree::Selection::AnyOf(subs.iter().map(selection).collect::<Result<_, _>>()?)
        }
        D::Keywords(values) => tree::Selection::Keywords(values.iter().map(value).collect()),
        D::And(_) | D::ArrayMatch { .. } | D::Conditional { .. } => {
            return Err("array object-scope blocks (`field[any]:`) are not represented".into())
        }
    })
}

fn item(i: &rsigma_parser::DetectionItem) -> tree::SelectionItem {
    use rsigma_parser::Modifier as M;
    let modifiers = i
        .field
        .modifiers
        .iter()
        .map(|m| match m {
            M::Contains => tree::Modifier::Contains,
            M::StartsWith => tree::Modifier::StartsWith,
            M::EndsWith => tree::Modifier::EndsWith,
            M::All => tree::Modifier::All,
            M::Re => tree::Modifier::Re,
            M::Cidr => tree::Modifier::Cidr,
            M::Cased => tree::Modifier::Cased,
            M::Exists => tree::Modifier::Exists,
            other => tree::Modifier::Other(format!("{other:?}").to_lowercase()),
        })
        .collect();
    tree::SelectionItem {
        field: i.field.name.clone(),
        modifiers,
        values: i.values.iter().map(value).collect(),
    }
}

fn value(v: &rsigma_parser::SigmaValue) -> tree::SigmaValue {
    use rsigma_parser::{SigmaValue as V, SpecialChar, StringPart};
    match v {
        V::String(s) => tree::SigmaValue::Str(
            s.parts
                .iter()
                .map(|p| match p {
                    StringPart::Plain(t) => tree::StrPart::Text(t.clone()),
                    StringPart::Special(SpecialChar::WildcardMulti) => tree::StrPart::AnyRun,
                    StringPart::Special(SpecialChar::WildcardSingle) => tree::StrPart::AnyChar,
                })
                .collect(),
        ),
        V::Integer(i) => tree::SigmaValue::Int(*i),
        V::Float(f) => tree::SigmaValue::Float(*f),
        V::Bool(b) => tree::SigmaValue::Bool(*b),
        V::Null => tree::SigmaValue::Null,
    }
}

fn condition(
    c: &rsigma_parser::ConditionExpr,
    names: &[String],
) -> Result<tree::Condition, String> {
    use rsigma_parser::{ConditionExpr as C, Quantifier, SelectorPattern};
    Ok(match c {
        C::And(xs) => tree::Condition::And(
            xs.iter()
                .map(|x| condition(x, names))
                .collect::<Result<_, _>>()?,
        ),
        C::Or(xs) => tree::Condition::Or(
            xs.iter()
                .map(|x| condition(x, names))
                .collect::<Result<_, _>>()?,
        ),
        C::Not(x) => tree::Condition::Not(Box::new(condition(x, names)?)),
        C::Identifier(n) => {
            if !names.contains(n) {
                return Err(format!("condition names unknown selection `{n}`"));
            }
            tree::Condition::Selection(n.clone())
        }
        C::Selector {
            quantifier,
            pattern,
        } => {
            let covered: Vec<tree::Condition> = names
                .iter()
                .filter(|n| match pattern {
                    SelectorPattern::Them => !n.starts_with('_'),
                    SelectorPattern::Pattern(p) => glob(p, n),
                })
                .map(|n| tree::Condition::Selection(n.clone()))
                .collect();
            if covered.is_empty() {
                return Err(format!("`{c}` covers no selection"));
            }
            match quantifier {
                Quantifier::Any => tree::Condition::Or(covered),
                Quantifier::Count(1) => tree::Condition::Or(covered),
                Quantifier::All => tree::Condition::And(covered),
                Quantifier::Count(n) => {
                    return Err(format!("`{n} of …` with n > 1 is not represented"))
                }
            }
        }
    })
}

/// Sigma's selector patterns: `*` any run, otherwise literal.
fn glob(pattern: &str, name: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == name,
        Some((head, rest)) => {
            let Some(tail) = name.strip_prefix(head) else {
                return false;
            };
            (0..=tail.len())
                .filter(|&i| tail.is_char_boundary(i))
                .any(|i| glob(rest, &tail[i..]))
        }
    }
}
