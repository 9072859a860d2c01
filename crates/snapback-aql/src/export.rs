//! `snapback aql export`: the single-event detections of a rule set as QRadar AQL searches.
//!
//! Each detection's neutral tree ([`snapback_rules::DetectionTree`]) is translated, never its
//! YAML text, so the search means what the native engine matches:
//!
//! - **Log source.** `logsource.product` becomes `LOGSOURCETYPENAME(devicetype) = '…'`
//!   (`aws` → Amazon AWS CloudTrail, `azure` → Microsoft Azure Platform, `gcp` → Google Cloud
//!   Audit Logs), as the native engine only runs a rule on its own cloud's events.
//! - **Fields.** The operation name (`eventName`, `operationName`, `protoPayload.methodName`)
//!   is the default `"Operation"` property. Every other field is a custom event property named
//!   after its JSON path (`"eventSource"`, `"requestParameters.snapshotId"`), scoped to the
//!   rule's cloud: [`Export::properties_toml`] gives the `--properties` file for snapback and
//!   [`CustomProperty::qradar_expression`] the JSON expression a QRadar admin enters.
//! - **Values.** Sigma compares strings case-insensitively: equality is `ILIKE 'v'` (no
//!   wildcard), `contains` `ILIKE '%v%'`, `startswith`/`endswith` likewise, `*`/`?` become
//!   `%`/`_`, `cased` uses LIKE. AQL LIKE has **no escape**, so a literal `%` or `_` cannot be
//!   matched by a pattern: equality then uses `LOWER(x) = 'v'`, and a pattern with one is not
//!   exported. A list is an OR (AND with `all`).
//! - **NULL.** Sigma is two-valued (a missing field does not match, so `not sel` holds);
//!   AQL is three-valued (`NOT (x ILIKE 'v')` is UNKNOWN when x is NULL, and drops the event).
//!   Every predicate under a `not` is therefore guarded: `(x IS NOT NULL AND x ILIKE 'v')`.
//! - **Parentheses everywhere.** IBM does not document AND/OR precedence; every AND and OR
//!   group is parenthesised, so both readings agree (lint finds no AQL-W001).
//!
//! A rule whose logic AQL cannot say exactly (keywords, regular expressions, `snapback.`
//! virtual fields, encoding modifiers, `%`/`_` inside a pattern) is skipped with its reason:
//! no search is better than a wrong one.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;
use snapback_model::Cloud;
use snapback_rules::{
    Condition, DetectionTree, Modifier, RuleSet, Selection, SelectionItem, SigmaValue, StrPart,
};

use crate::keypath::{known_array, KeyPath};
use crate::view::{PropertyDef, PropertyMap, PropertySource};

/// How to export.
#[derive(Debug, Clone)]
pub struct ExportOptions {
    /// Appended to every search (`LAST 24 HOURS`); `None`: no time clause.
    pub time_clause: Option<String>,
}

impl Default for ExportOptions {
    fn default() -> Self {
        ExportOptions {
            time_clause: Some("LAST 24 HOURS".into()),
        }
    }
}

/// A custom event property the exported searches need.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct CustomProperty {
    /// The property name, which is the path.
    pub name: String,
    /// `aws`, `azure` or `gcp`.
    pub cloud: String,
    /// Dotted path in the raw record, with an index for each array (`items[0]`).
    pub path: String,
    /// The arrays the Sigma rule searches element by element and this property reads at
    /// `[0]` only (QRadar's JSON property reads one element): a value in a later element is
    /// not seen.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub first_element_of: Vec<String>,
}

impl CustomProperty {
    /// QRadar's JSON expression for the path (`/"a"/"items"[0]/"b"`).
    pub fn qradar_expression(&self) -> String {
        KeyPath::parse(&self.path).map_or_else(|_| self.path.clone(), |k| k.qradar())
    }

    /// The QRadar log source type the property is scoped to.
    pub fn log_source_type(&self) -> &'static str {
        log_source_type(&self.cloud).unwrap_or("?")
    }
}

/// One detection's export.
#[derive(Debug, Clone, Serialize)]
pub struct ExportedRule {
    pub id: String,
    pub name: Option<String>,
    pub title: String,
    pub role: String,
    pub level: String,
    pub risk: u8,
    pub origin: String,
    /// The WHERE condition alone (without the time clause).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
    /// The whole search.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aql: Option<String>,
    /// Why there is no search.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
    /// Custom properties the search reads (besides the default `Operation`).
    pub properties: Vec<CustomProperty>,
    /// Filters (tuning) that snapback applies to this rule and the search does not.
    pub filters_not_exported: Vec<String>,
}

/// Every detection's export.
#[derive(Debug, Clone, Serialize)]
pub struct Export {
    pub rules: Vec<ExportedRule>,
}

/// Roles in output order: what alerts first, then what escalates, then the building blocks.
const ROLE_ORDER: [&str; 4] = ["revert", "standalone", "precursor", "step"];

/// Export every detection of `rules`, reverts first, then precursors, then steps.
pub fn export(rules: &RuleSet, options: &ExportOptions) -> Export {
    let mut out = Vec::new();
    for i in 0..rules.detections.len() {
        let d = &rules.detections[i];
        let translated = rules
            .detection_tree(i)
            .and_then(|t| translate(&t).map(|(c, props)| (t, c, props)));
        let filters = rules
            .filters
            .iter()
            .filter(|f| f.targets_rule(&d.id, d.name.as_deref(), &d.title))
            .map(|f| f.title.clone())
            .collect();
        let name = d.name.clone().unwrap_or_else(|| d.id.clone());
        let mut rule = ExportedRule {
            id: d.id.clone(),
            name: d.name.clone(),
            title: d.title.clone(),
            role: d.meta.role.as_str().to_string(),
            level: d.level.as_str().to_string(),
            risk: d.meta.risk,
            origin: d.origin.clone(),
            condition: None,
            aql: None,
            skipped: None,
            properties: Vec::new(),
            filters_not_exported: filters,
        };
        match translated {
            Ok((_, condition, props)) => {
                let mut aql = format!(
                    "SELECT DATEFORMAT(devicetime, 'yyyy-MM-dd HH:mm:ss') AS 'EventTime', \
                     LOGSOURCENAME(logsourceid) AS 'LogSource', username, sourceip, \
                     \"Operation\", {} AS 'RiskScore', {} AS 'SnapbackRule' \
                     FROM events WHERE {condition}",
                    d.meta.risk,
                    quote(&name)
                );
                if let Some(t) = &options.time_clause {
                    aql.push(' ');
                    aql.push_str(t);
                }
                rule.condition = Some(condition);
                rule.aql = Some(aql);
                rule.properties = props;
            }
            Err(reason) => rule.skipped = Some(reason),
        }
        out.push(rule);
    }
    out.sort_by_key(|r| ROLE_ORDER.iter().position(|x| *x == r.role).unwrap_or(9));
    Export { rules: out }
}

impl Export {
    /// Every custom property any exported search reads, deduplicated and sorted.
    pub fn properties(&self) -> Vec<CustomProperty> {
        let mut all: Vec<CustomProperty> = self
            .rules
            .iter()
            .flat_map(|r| r.properties.iter().cloned())
            .collect();
        all.sort();
        all.dedup();
        all
    }

    /// The default mapping plus the export's properties: what the searches read offline.
    pub fn property_map(&self) -> PropertyMap {
        let mut map = PropertyMap::default();
        let mut by_name: BTreeMap<String, PropertyDef> = BTreeMap::new();
        for p in self.properties() {
            let def = by_name
                .entry(p.name.clone())
                .or_insert_with(|| PropertyDef {
                    name: p.name.clone(),
                    aws: None,
                    azure: None,
                    gcp: None,
                });
            let src = Some(PropertySource::Path(p.path.clone()));
            match p.cloud.as_str() {
                "aws" => def.aws = src,
                "azure" => def.azure = src,
                _ => def.gcp = src,
            }
        }
        for def in by_name.into_values() {
            map.insert(def);
        }
        map
    }

    /// The `--properties` file (TOML) that makes `snapback aql run` read the exported
    /// searches' custom properties.
    pub fn properties_toml(&self) -> String {
        let mut out = String::from(
            "# Custom event properties read by `snapback aql export` searches.\n\
             # Use with: snapback aql run --properties FILE ...\n\
             # In QRadar, create each as a JSON custom event property (expression in the comment),\n\
             # scoped to its log source type, with \"parse in advance\" on.\n",
        );
        if let Some(op) = PropertyMap::default().get("Operation") {
            out.push_str("# \"Operation\" (every search reads it) is built in to snapback, so it has no entry here;\n# in QRadar create it too:\n");
            for line in crate::custom::extraction_lines(op) {
                let _ = writeln!(out, "#   {line}");
            }
        }
        out.push_str("[properties]\n");
        let mut by_name: BTreeMap<String, Vec<CustomProperty>> = BTreeMap::new();
        for p in self.properties() {
            by_name.entry(p.name.clone()).or_default().push(p);
        }
        for (name, ps) in by_name {
            let exprs: Vec<String> = ps
                .iter()
                .map(|p| format!("{}: {}", p.log_source_type(), p.qradar_expression()))
                .collect();
            let _ = writeln!(out, "# {}", exprs.join("; "));
            let clouds: Vec<String> = ps
                .iter()
                .map(|p| format!("{} = {}", p.cloud, toml_str(&p.path)))
                .collect();
            let _ = writeln!(out, "{} = {{ {} }}", toml_str(&name), clouds.join(", "));
        }
        out
    }

    /// The human-readable export: a header listing the custom properties, then one block per
    /// rule (`--` comment lines, then the search on one line).
    pub fn render_aql(&self) -> String {
        let mut out = String::new();
        let exported = self.rules.iter().filter(|r| r.aql.is_some()).count();
        let _ = writeln!(
            out,
            "-- snapback aql export: {exported} searches for {} single-event detections of the rule pack.",
            self.rules.len()
        );
        out.push_str(
            "-- Lines starting with -- are comments for you, not AQL: paste each search alone.\n\
             -- Every AND/OR group is parenthesised (IBM does not document their precedence).\n\
             -- Custom event properties to create in QRadar (Admin > Custom Event Properties,\n\
             -- JSON expression, scoped to the log source type, \"parse in advance\" on):\n\
             --   Operation: Amazon AWS CloudTrail /\"eventName\"; Microsoft Azure Platform /\"operationName\";\n\
             --              Google Cloud Audit Logs /\"protoPayload\"/\"methodName\"\n",
        );
        for p in self.properties() {
            let _ = writeln!(
                out,
                "--   \"{}\": {} {}",
                p.name,
                p.log_source_type(),
                p.qradar_expression()
            );
        }
        out.push_str(
            "-- A JSON property reads one element of an array, by its index (IBM, \"JSON keypath\n\
             -- expressions\"): where a rule searches every element, the search reads [0], and its\n\
             -- block says so (`aql run` reads the paths the same way).\n\
             -- Test offline: snapback aql export --format toml > props.toml;\n\
             --   snapback aql export --rule NAME | snapback aql run --query - --properties props.toml LOGS\n",
        );
        for r in &self.rules {
            out.push('\n');
            let _ = writeln!(
                out,
                "-- rule: {} ({})",
                r.name.as_deref().unwrap_or(&r.id),
                r.id
            );
            let _ = writeln!(out, "-- title: {}", r.title);
            let _ = writeln!(
                out,
                "-- role: {}, level {}, risk {}; {}",
                r.role,
                r.level,
                r.risk,
                deploy_hint(&r.role)
            );
            let arrays: Vec<&String> = r
                .properties
                .iter()
                .flat_map(|p| &p.first_element_of)
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect();
            if !arrays.is_empty() {
                let list: Vec<&str> = arrays.iter().map(|a| a.as_str()).collect();
                let _ = writeln!(
                    out,
                    "-- arrays: reads only the first element ([0]) of {}; the rule searches every element, so a value in a later one is missed",
                    list.join(", ")
                );
            }
            if !r.filters_not_exported.is_empty() {
                let _ = writeln!(
                    out,
                    "-- tuning: snapback also suppresses known automation here ({}); add your own exclusions",
                    r.filters_not_exported.join(", ")
                );
            }
            match (&r.aql, &r.skipped) {
                (Some(aql), _) => {
                    let _ = writeln!(out, "{aql}");
                }
                (None, Some(reason)) => {
                    let _ = writeln!(out, "-- SKIPPED: {reason}");
                }
                (None, None) => {}
            }
        }
        out
    }

    /// One JSON object per rule.
    pub fn render_jsonl(&self) -> String {
        let mut out = String::new();
        for r in &self.rules {
            out.push_str(&serde_json::to_string(r).unwrap_or_default());
            out.push('\n');
        }
        out
    }
}

fn deploy_hint(role: &str) -> &'static str {
    match role {
        "revert" | "standalone" => {
            "deploy: an event rule (\"when the event matches this AQL filter query\") that creates an offense, or a saved search"
        }
        "precursor" => {
            "deploy: a building block or a low-magnitude rule; on its own it is not a revert, but it escalates one on the same resource or principal"
        }
        _ => {
            "deploy: a building block for a correlation (snapback links it to other steps by resource id); alone it is routine"
        }
    }
}

fn log_source_type(product: &str) -> Option<&'static str> {
    match product {
        "aws" => Some("Amazon AWS CloudTrail"),
        "azure" => Some("Microsoft Azure Platform"),
        "gcp" => Some("Google Cloud Audit Logs"),
        _ => None,
    }
}

fn cloud_of(product: &str) -> Cloud {
    match product {
        "azure" => Cloud::Azure,
        "gcp" => Cloud::Gcp,
        _ => Cloud::Aws,
    }
}

/// A Sigma field path (dotted; arrays searched element by element) as the path of a QRadar
/// JSON property, which needs an index for every array (IBM, "JSON keypath expressions"): a
/// number becomes `[n]`, and a field known to hold an array ([`known_array`]) gets `[0]`, the
/// first element, when no number follows it (at the end of the path only if `index_last`).
/// `requestParameters.blockDeviceMapping.items.ebs.snapshotId` →
/// `requestParameters.blockDeviceMapping.items[0].ebs.snapshotId`. Also gives the arrays that
/// got `[0]`, in QRadar's spelling.
pub fn indexed_path(cloud: Cloud, sigma_path: &str, index_last: bool) -> (String, Vec<String>) {
    let segs: Vec<&str> = sigma_path.split('.').collect();
    let number = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let mut out = String::new();
    let mut first_element_of = Vec::new();
    for (i, seg) in segs.iter().enumerate() {
        if number(seg) && i > 0 {
            let _ = write!(out, "[{seg}]");
            continue;
        }
        if !out.is_empty() {
            out.push('.');
        }
        out.push_str(seg);
        let next_is_number = segs.get(i + 1).is_some_and(|n| number(n));
        let last = i + 1 == segs.len();
        if !next_is_number && (index_last || !last) && known_array(Some(cloud), seg).is_some() {
            first_element_of
                .push(KeyPath::parse(&out).map_or_else(|_| out.clone(), |k| k.qradar()));
            out.push_str("[0]");
        }
    }
    (out, first_element_of)
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

fn toml_str(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

/// The WHERE condition for a tree, and the custom properties it reads.
pub fn translate(tree: &DetectionTree) -> Result<(String, Vec<CustomProperty>), String> {
    let product = tree
        .logsource
        .product
        .as_deref()
        .ok_or("the rule has no logsource.product, so no QRadar log source type")?;
    let lst = log_source_type(product).ok_or_else(|| {
        format!("logsource.product `{product}` has no QRadar log source type here")
    })?;
    let mut t = Translator {
        cloud: product,
        tree,
        props: Vec::new(),
    };
    let cond = t.condition(&tree.condition, false)?;
    let mut props = t.props;
    props.sort();
    props.dedup();
    Ok((
        format!(
            "(LOGSOURCETYPENAME(devicetype) = {} AND {cond})",
            quote(lst)
        ),
        props,
    ))
}

struct Translator<'a> {
    cloud: &'a str,
    tree: &'a DetectionTree,
    props: Vec<CustomProperty>,
}

fn join(parts: Vec<String>, op: &str) -> String {
    if parts.len() == 1 {
        return parts.into_iter().next().unwrap_or_default();
    }
    format!("({})", parts.join(&format!(" {op} ")))
}

impl Translator<'_> {
    /// `negated`: under a NOT, where predicates must not be UNKNOWN.
    fn condition(&mut self, c: &Condition, negated: bool) -> Result<String, String> {
        Ok(match c {
            Condition::And(xs) => join(
                xs.iter()
                    .map(|x| self.condition(x, negated))
                    .collect::<Result<_, _>>()?,
                "AND",
            ),
            Condition::Or(xs) => join(
                xs.iter()
                    .map(|x| self.condition(x, negated))
                    .collect::<Result<_, _>>()?,
                "OR",
            ),
            Condition::Not(x) => format!("(NOT {})", self.condition(x, true)?),
            Condition::Selection(name) => {
                let s = self
                    .tree
                    .selections
                    .get(name)
                    .ok_or_else(|| format!("unknown selection `{name}`"))?;
                self.selection(s, negated)
                    .map_err(|e| format!("selection `{name}`: {e}"))?
            }
        })
    }

    fn selection(&mut self, s: &Selection, negated: bool) -> Result<String, String> {
        Ok(match s {
            Selection::AllOf(items) => join(
                items
                    .iter()
                    .map(|i| self.item(i, negated))
                    .collect::<Result<_, _>>()?,
                "AND",
            ),
            Selection::AnyOf(subs) => join(
                subs.iter()
                    .map(|x| self.selection(x, negated))
                    .collect::<Result<_, _>>()?,
                "OR",
            ),
            Selection::Keywords(_) => {
                return Err(
                    "keyword search (values without a field) has no exact AQL equivalent".into(),
                )
            }
        })
    }

    /// The property for a Sigma field. `whole`: the predicate is about the field itself
    /// (`exists`), so an array it ends at is not indexed.
    fn field(&mut self, path: &str, whole: bool) -> Result<String, String> {
        if path.starts_with("snapback.") {
            return Err(format!(
                "`{path}` is a snapback virtual field, computed from the normalised event; QRadar has no such property"
            ));
        }
        let operation = matches!(
            (self.cloud, path),
            ("aws", "eventName") | ("azure", "operationName") | ("gcp", "protoPayload.methodName")
        );
        if operation {
            return Ok("\"Operation\"".into());
        }
        let lower = path.to_ascii_lowercase();
        if self.cloud == "azure"
            && (lower.starts_with("properties.requestbody.")
                || lower.starts_with("properties.responsebody."))
        {
            return Err(format!(
                "`{path}`: Azure logs the request and response bodies as JSON-encoded strings; a QRadar JSON property cannot walk into a string (snapback's matcher parses it)"
            ));
        }
        if path.contains(['"', '[', ']']) || path.is_empty() || path.split('.').any(str::is_empty) {
            return Err(format!("field `{path}` cannot be a property name"));
        }
        let (indexed, first_element_of) = indexed_path(cloud_of(self.cloud), path, !whole);
        self.props.push(CustomProperty {
            name: indexed.clone(),
            cloud: self.cloud.to_string(),
            path: indexed.clone(),
            first_element_of,
        });
        Ok(format!("\"{indexed}\""))
    }

    fn item(&mut self, item: &SelectionItem, negated: bool) -> Result<String, String> {
        let path = item
            .field
            .as_deref()
            .ok_or("keyword search (values without a field) has no exact AQL equivalent")?;
        let mut affix = None;
        let (mut all, mut cased, mut exists, mut cidr) = (false, false, false, false);
        for m in &item.modifiers {
            match m {
                Modifier::Contains | Modifier::StartsWith | Modifier::EndsWith => {
                    if affix.replace(m.clone()).is_some() {
                        return Err(format!("`{path}` has two of contains/startswith/endswith"));
                    }
                }
                Modifier::All => all = true,
                Modifier::Cased => cased = true,
                Modifier::Exists => exists = true,
                Modifier::Cidr => cidr = true,
                Modifier::Re => {
                    return Err(format!(
                        "`{path}|re`: Sigma's regular expressions search anywhere in the value with Rust's syntax, AQL MATCHES must match the whole value with Java's; not translated"
                    ))
                }
                Modifier::Other(o) => {
                    return Err(format!("modifier `{o}` on `{path}` has no AQL equivalent"))
                }
            }
        }
        let x = self.field(path, exists)?;
        let guard = |p: String| {
            if negated {
                format!("({x} IS NOT NULL AND {p})")
            } else {
                p
            }
        };
        let mut preds = Vec::new();
        for v in &item.values {
            let p = if exists {
                match v {
                    SigmaValue::Bool(true) => format!("{x} IS NOT NULL"),
                    SigmaValue::Bool(false) => format!("{x} IS NULL"),
                    _ => return Err(format!("`{path}|exists` needs true or false")),
                }
            } else if cidr {
                match v {
                    SigmaValue::Str(parts) => match parts.as_slice() {
                        [StrPart::Text(net)] => guard(format!("INCIDR({}, {x})", quote(net))),
                        _ => return Err(format!("`{path}|cidr` value is not a network")),
                    },
                    _ => return Err(format!("`{path}|cidr` value is not a network")),
                }
            } else {
                match v {
                    SigmaValue::Null => format!("{x} IS NULL"),
                    SigmaValue::Bool(b) => guard(format!("{x} = '{b}'")),
                    SigmaValue::Int(n) => guard(format!("{x} = {n}")),
                    SigmaValue::Float(f) => guard(format!("{x} = {f}")),
                    SigmaValue::Str(parts) => {
                        guard(string_predicate(&x, parts, affix.as_ref(), cased, path)?)
                    }
                }
            };
            preds.push(p);
        }
        if preds.is_empty() {
            return Err(format!("`{path}` has no values"));
        }
        Ok(join(preds, if all { "AND" } else { "OR" }))
    }
}

/// One string value as an AQL predicate over `x`.
fn string_predicate(
    x: &str,
    parts: &[StrPart],
    affix: Option<&Modifier>,
    cased: bool,
    path: &str,
) -> Result<String, String> {
    let (lead, trail) = match affix {
        Some(Modifier::Contains) => (true, true),
        Some(Modifier::StartsWith) => (false, true),
        Some(Modifier::EndsWith) => (true, false),
        _ => (false, false),
    };
    let wildcards = lead || trail || parts.iter().any(|p| !matches!(p, StrPart::Text(_)));
    let literal: String = parts
        .iter()
        .filter_map(|p| match p {
            StrPart::Text(t) => Some(t.as_str()),
            _ => None,
        })
        .collect();
    let like_special = literal.contains('%') || literal.contains('_');
    if !wildcards {
        return Ok(match (like_special, cased) {
            (_, true) => format!("{x} = {}", quote(&literal)),
            (true, false) => format!("LOWER({x}) = {}", quote(&literal.to_lowercase())),
            (false, false) => format!("{x} ILIKE {}", quote(&literal)),
        });
    }
    if like_special {
        return Err(format!(
            "the pattern for `{path}` contains a literal `%` or `_`, which AQL LIKE cannot escape (it would match more than the rule)"
        ));
    }
    let mut pattern = String::new();
    if lead {
        pattern.push('%');
    }
    for p in parts {
        match p {
            StrPart::Text(t) => pattern.push_str(t),
            StrPart::AnyRun => pattern.push('%'),
            StrPart::AnyChar => pattern.push('_'),
        }
    }
    if trail {
        pattern.push('%');
    }
    // `%%` means the same as `%`; keep patterns short.
    while pattern.contains("%%") {
        pattern = pattern.replace("%%", "%");
    }
    Ok(format!(
        "{x} {} {}",
        if cased { "LIKE" } else { "ILIKE" },
        quote(&pattern)
    ))
}
