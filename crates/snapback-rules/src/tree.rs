//! A neutral, rsigma-free view of a detection's `detection:` section, for converters (the AQL
//! export) that must translate a rule rather than run it.
//!
//! The tree is what the rule says, not how rsigma evaluates it: selections keep their field
//! paths, modifiers and values as written (wildcards split out), and the condition refers to
//! selections by name, with `1 of x_*` / `all of them` already expanded to the names they
//! cover (in name order). Anything rsigma parses that has no place here (array object-scope
//! blocks, `N of` with N > 1) makes [`RuleSet::detection_tree`] fail with a reason, so a
//! converter never translates half a rule.

use std::collections::BTreeMap;

use crate::{sigma, RuleSet, BUILTIN_RULES};

/// A detection's logic: a condition over named selections, plus its `logsource`.
#[derive(Debug, Clone, PartialEq)]
pub struct DetectionTree {
    pub logsource: LogSourceSpec,
    pub selections: BTreeMap<String, Selection>,
    pub condition: Condition,
}

/// The rule's `logsource`, as written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogSourceSpec {
    pub product: Option<String>,
    pub service: Option<String>,
    pub category: Option<String>,
}

/// A boolean combination of selections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    And(Vec<Condition>),
    Or(Vec<Condition>),
    Not(Box<Condition>),
    /// A selection by name.
    Selection(String),
}

/// One named selection.
#[derive(Debug, Clone, PartialEq)]
pub enum Selection {
    /// Every item holds (a YAML mapping).
    AllOf(Vec<SelectionItem>),
    /// Any of the sub-selections holds (a YAML list of mappings).
    AnyOf(Vec<Selection>),
    /// Keyword search over every string of the event.
    Keywords(Vec<SigmaValue>),
}

/// `field|mod1|mod2: [values]`: any value matches (every value, with `all`).
#[derive(Debug, Clone, PartialEq)]
pub struct SelectionItem {
    /// Dotted path in the raw record (or a `snapback.` virtual field); `None` for keywords.
    pub field: Option<String>,
    pub modifiers: Vec<Modifier>,
    pub values: Vec<SigmaValue>,
}

/// A Sigma value modifier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Modifier {
    Contains,
    StartsWith,
    EndsWith,
    All,
    Re,
    Cidr,
    Cased,
    Exists,
    /// Any other modifier, by its Sigma name (`base64`, `gt`, `windash`, …).
    Other(String),
}

/// A value to match.
#[derive(Debug, Clone, PartialEq)]
pub enum SigmaValue {
    /// A string, split into literal text and wildcards.
    Str(Vec<StrPart>),
    Int(i64),
    Float(f64),
    Bool(bool),
    Null,
}

/// A piece of a Sigma string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StrPart {
    Text(String),
    /// `*`: any run of characters.
    AnyRun,
    /// `?`: one character.
    AnyChar,
}

impl RuleSet {
    /// The detection logic of detection `i`, re-read from its rule file (the built-in pack is
    /// embedded). Errors say why the rule has no tree: an unknown index, an unreadable file,
    /// or a construct the tree does not represent.
    pub fn detection_tree(&self, i: usize) -> Result<DetectionTree, String> {
        let d = self
            .detections
            .get(i)
            .ok_or_else(|| format!("no detection {i}"))?;
        let text = match d.origin.strip_prefix("builtin:") {
            Some(path) => BUILTIN_RULES
                .iter()
                .find(|(p, _)| *p == path)
                .map(|(_, t)| (*t).to_owned())
                .ok_or_else(|| format!("built-in file {path} not found"))?,
            None => std::fs::read_to_string(&d.origin)
                .map_err(|e| format!("cannot read {}: {e}", d.origin))?,
        };
        let parsed = sigma::parse(&text);
        for doc in parsed.docs {
            // Loaded detections always have an id.
            if doc.id.as_deref() != Some(d.id.as_str()) {
                continue;
            }
            if let Some(sigma::Body::Detection(c)) = &doc.body {
                return c.tree();
            }
        }
        Err(format!("detection `{}` not found in {}", d.id, d.origin))
    }
}
