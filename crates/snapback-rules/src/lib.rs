//! Sigma rules for snapback: loading, single-event matching, and the built-in T1578.004 pack.
//!
//! ```no_run
//! use snapback_rules::RuleSet;
//! # fn events() -> Vec<snapback_model::Event> { Vec::new() }
//! let rules = RuleSet::load(true, &[]);
//! for p in &rules.problems { eprintln!("{p}"); }
//! for e in events() {
//!     for i in rules.matches(&e) {
//!         println!("{} matched {}", e.operation, rules.detections[i].title);
//!     }
//! }
//! ```
//!
//! **Why a facade.** Parsing and matching are done by `rsigma-parser`/`rsigma-eval`, which
//! change their API between minor releases. Every `rsigma_*` name lives in one private module
//! (`sigma`); the rest of the crate and every caller see only the plain types below
//! ([`RuleSet`], [`Detection`], [`Correlation`], [`Filter`]) and indices into their vectors.
//! Correlation is *not* done by rsigma (its engine assumes arrival order): this crate only
//! parses correlation rules into [`Correlation`] for the correlate part.
//!
//! **Field paths.** One resolver (`path`) serves matching and [`RuleSet::field_values`], so a
//! selection and a group-by always read a field the same way: dotted paths into the raw
//! record; arrays fan out (a numeric segment indexes); keys that contain dots (Azure claim
//! URIs) match whole; a JSON *string* met with path left over is parsed and walked (Azure's
//! string-encoded `properties.requestbody` matches like an object). Azure's three schemas are
//! bridged (`operationName`, `resultType`, `properties.*` ↔ `Properties_d.*`), and virtual
//! fields expose the normalised event: `snapback.cloud`, `.operation`, `.action`, `.outcome`,
//! `.actor.{principal,name,role,invoked_by,app_id,delegated_by}`, `.request.<path>`,
//! `.response.<path>`, `.azure.{resource_id,resource_group,subscription}`,
//! `.resources.<kind>`. Sigma's case-insensitive string matching is kept.
//!
//! **Metadata.** What an alert means lives beside the detection, in a top-level `snapback:`
//! key of each YAML rule ([`Meta`]: role, risk 0–100, alert type, why that risk, an
//! investigation guide). Rules without it (SigmaHQ, users') are [`Role::Standalone`] with a
//! risk derived from their level. Nothing that fails to load is dropped silently: each
//! becomes a [`LoadProblem`] with file, line and reason.

// `unsafe` is denied but in the hit search's AVX2 and AVX-512 kernel (`prefilter/kernel.rs`),
// where loading 32 or 64 bytes and calling a function compiled for those features need it;
// each use says why it holds.
#![deny(unsafe_code)]

mod meta;
pub mod nesting;
mod path;
mod prefilter;
mod sigma;
mod source;
mod tree;

pub use prefilter::Prefilter;
pub use tree::{
    Condition, DetectionTree, LogSourceSpec, Modifier, Selection, SelectionItem, SigmaValue,
    StrPart,
};

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;
use snapback_model::Event;

use source::{modifier_line, parse_source, yaml_files, Located, Source};

include!(concat!(env!("OUT_DIR"), "/builtin_rules.rs"));

/// Severity level of a rule, as Sigma defines it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Informational,
    Low,
    Medium,
    High,
    Critical,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Informational => "informational",
            Level::Low => "low",
            Level::Medium => "medium",
            Level::High => "high",
            Level::Critical => "critical",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a match of the rule means on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// A single event that is itself a revert: alert.
    Revert,
    /// Part of correlations only; no alert alone.
    Step,
    /// A kill-chain precursor (exfiltrate, move, blind); no alert alone, escalates a revert.
    Precursor,
    /// A rule without snapback metadata (SigmaHQ, user rules): alert alone, risk from level.
    Standalone,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Revert => "revert",
            Role::Step => "step",
            Role::Precursor => "precursor",
            Role::Standalone => "standalone",
        }
    }
}

/// Which calls a rule counts, by their outcome (`snapback: outcome:`).
///
/// Sigma itself knows nothing of outcomes: a rule matches a record whatever the call's result.
/// The built-in pack's policy is that a failed call or a dry run reverts nothing, so its rules
/// (role revert, step or precursor) count only calls that went through; every other rule
/// (SigmaHQ's, yours) keeps Sigma's semantics and counts every record it matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OutcomePolicy {
    /// Failed calls and dry runs never count; an accepted call (Azure `Started`/`Accepted`,
    /// a GCP first entry) counts and is confirmed by its operation's success record. The
    /// default for roles revert, step and precursor.
    Succeeded,
    /// Every matched record counts, as in Sigma. The default for standalone rules.
    Any,
}

impl OutcomePolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            OutcomePolicy::Succeeded => "succeeded",
            OutcomePolicy::Any => "any",
        }
    }

    /// The policy a rule of `role` has when its metadata does not say.
    pub fn default_for(role: Role) -> OutcomePolicy {
        match role {
            Role::Standalone => OutcomePolicy::Any,
            Role::Revert | Role::Step | Role::Precursor => OutcomePolicy::Succeeded,
        }
    }
}

/// What to check next and how to respond, specific to a rule.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Guide {
    pub check: Vec<String>,
    pub respond: Vec<String>,
}

/// The `snapback:` block of a rule, or its defaults.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Meta {
    pub role: Role,
    /// 0–100.
    pub risk: u8,
    pub alert_type: String,
    /// Why the rule carries this risk.
    pub risk_reason: String,
    pub guide: Guide,
    /// Which calls the rule counts ([`OutcomePolicy`]).
    pub outcome: OutcomePolicy,
    /// Detection rules (names or ids): a match of this rule does not count when a record of
    /// the same multi-record operation (Azure `correlationId`, GCP `operation.id`) matched one
    /// of them. It makes a record-level absence (`properties.requestbody` missing from the
    /// Success record) an operation-level one. Detections only; resolved in
    /// [`Detection::unless_operation`].
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unless_operation_matches: Vec<String>,
}

/// A detection rule: matches single events.
#[derive(Debug, Clone, Serialize)]
pub struct Detection {
    pub id: String,
    pub name: Option<String>,
    pub title: String,
    pub description: String,
    pub level: Level,
    /// Sigma tags, e.g. `attack.t1578.004`, `attack.defense-evasion`.
    pub tags: Vec<String>,
    /// `builtin:rules/aws/x.yml` or the user's path.
    pub origin: String,
    pub meta: Meta,
    /// [`Meta::unless_operation_matches`] resolved to detection indices.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unless_operation: Vec<usize>,
}

/// The aggregation of a correlation rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CorrelationKind {
    Temporal,
    TemporalOrdered,
    EventCount { gte: u64 },
    ValueCount { field: String, gte: u64 },
}

impl CorrelationKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            CorrelationKind::Temporal => "temporal",
            CorrelationKind::TemporalOrdered => "temporal_ordered",
            CorrelationKind::EventCount { .. } => "event_count",
            CorrelationKind::ValueCount { .. } => "value_count",
        }
    }
}

/// A correlation rule, its references resolved to detection indices.
#[derive(Debug, Clone, Serialize)]
pub struct Correlation {
    pub id: String,
    pub name: Option<String>,
    pub title: String,
    pub description: String,
    pub level: Level,
    pub tags: Vec<String>,
    pub kind: CorrelationKind,
    /// Detection indices, in the order the rule lists them.
    pub rules: Vec<usize>,
    pub group_by: Vec<String>,
    /// alias → (detection index → field path).
    pub aliases: BTreeMap<String, BTreeMap<usize, String>>,
    pub timespan: Duration,
    pub origin: String,
    pub meta: Meta,
}

impl Correlation {
    /// The field path to read for `group` in events of detection `rule`: the alias mapping
    /// when `group` is an alias, else `group` itself.
    pub fn group_field<'a>(&'a self, group: &'a str, rule: usize) -> Option<&'a str> {
        match self.aliases.get(group) {
            Some(map) => map.get(&rule).map(String::as_str),
            None => Some(group),
        }
    }
}

/// A Sigma filter: suppresses matches of the rules it targets when its selection matches.
#[derive(Debug, Clone, Serialize)]
pub struct Filter {
    pub id: String,
    pub title: String,
    /// The suppression reason shown to users.
    pub description: String,
    /// Rule ids or names, as written. Empty when `any` is true.
    pub targets: Vec<String>,
    /// The filter targets every rule (`rules: any` or none listed).
    pub any: bool,
    pub origin: String,
}

impl Filter {
    /// Whether the filter applies to a rule with this id, name and title.
    pub fn targets_rule(&self, id: &str, name: Option<&str>, title: &str) -> bool {
        self.any
            || self
                .targets
                .iter()
                .any(|t| t == id || Some(t.as_str()) == name || t == title)
    }
}

/// Which filters' conditions hold for one event, each evaluated once, when a rule it targets is
/// first asked about ([`RuleSet::suppressing_given`]). Start a new one for each event.
#[derive(Debug, Default)]
pub struct FiltersHolding(Vec<Option<bool>>);

impl FiltersHolding {
    pub fn new() -> Self {
        FiltersHolding(Vec::new())
    }
}

/// A rule reference for [`RuleSet::suppressing_filters`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RuleRef {
    Detection(usize),
    Correlation(usize),
}

/// A rule (or file) that did not load, or a rule that loaded with something wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LoadProblem {
    pub file: String,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// The rule's id, name or title, when known.
    pub rule: Option<String>,
    pub message: String,
}

impl fmt::Display for LoadProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.file)?;
        if let Some(l) = self.line {
            write!(f, ":{l}")?;
        }
        if let Some(r) = &self.rule {
            write!(f, " [{r}]")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// The loaded rules: detections, correlations, filters, and what did not load.
pub struct RuleSet {
    pub detections: Vec<Detection>,
    pub correlations: Vec<Correlation>,
    pub filters: Vec<Filter>,
    pub problems: Vec<LoadProblem>,
    detection_matcher: sigma::Matcher,
    filter_matcher: sigma::Matcher,
}

impl fmt::Debug for RuleSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RuleSet")
            .field("detections", &self.detections.len())
            .field("correlations", &self.correlations.len())
            .field("filters", &self.filters.len())
            .field("problems", &self.problems)
            .finish()
    }
}

impl RuleSet {
    /// The built-in pack (embedded) plus the rules under `dirs` (files or directories, walked
    /// recursively for `.yml`/`.yaml`). Every rule that does not load becomes a
    /// [`LoadProblem`]; nothing panics and nothing is dropped silently.
    pub fn load(builtin: bool, dirs: &[PathBuf]) -> RuleSet {
        let mut sources = Vec::new();
        let mut problems = Vec::new();
        if builtin {
            for (path, text) in BUILTIN_RULES {
                sources.push(Source {
                    file: (*path).to_owned(),
                    origin: format!("builtin:{path}"),
                    text: Cow::Borrowed(text),
                });
            }
        }
        for dir in dirs {
            let mut files = Vec::new();
            if let Err(e) = yaml_files(dir, &mut files) {
                problems.push(LoadProblem {
                    file: dir.display().to_string(),
                    line: None,
                    rule: None,
                    message: format!("cannot read rules: {e}"),
                });
            }
            files.sort();
            for f in files {
                let shown = f.display().to_string();
                match source::read_rule_file(&f) {
                    Ok(text) => sources.push(Source {
                        file: shown.clone(),
                        origin: shown,
                        text: Cow::Owned(text),
                    }),
                    Err(message) => problems.push(LoadProblem {
                        file: shown,
                        line: None,
                        rule: None,
                        message,
                    }),
                }
            }
        }
        Self::build(&sources, problems)
    }

    /// Load the built-in pack only.
    pub fn builtin() -> RuleSet {
        Self::load(true, &[])
    }

    /// Problems of the rules in `dir` (default: the built-in pack). The built-in pack is
    /// always loaded too, so that user rules may reference its rules by name.
    pub fn lint(dir: Option<&Path>) -> Vec<LoadProblem> {
        let dirs: Vec<PathBuf> = dir.map(Path::to_path_buf).into_iter().collect();
        Self::load(true, &dirs).problems
    }

    /// Paths and texts of the embedded pack.
    pub fn builtin_files() -> impl Iterator<Item = (&'static str, &'static str)> {
        BUILTIN_RULES.iter().copied()
    }

    fn build(sources: &[Source<'_>], mut problems: Vec<LoadProblem>) -> RuleSet {
        let mut docs: Vec<Located<'_>> = Vec::new();
        for s in sources {
            parse_source(s, &mut docs, &mut problems);
        }
        let mut set = RuleSet {
            detections: Vec::new(),
            correlations: Vec::new(),
            filters: Vec::new(),
            problems: Vec::new(),
            detection_matcher: sigma::Matcher::new(true),
            filter_matcher: sigma::Matcher::new(false),
        };
        let mut ids: HashMap<String, String> = HashMap::new();
        let mut by_ref: HashMap<String, usize> = HashMap::new();
        let mut correlations = Vec::new();
        let mut pending_unless = Vec::new();
        for mut d in docs {
            let Some(id) = d.doc.id.clone() else {
                problems.push(d.problem(None, "missing `id` (a UUID): the rule is not loaded"));
                continue;
            };
            if let Some(first) = ids.get(&id) {
                let line = d.line_of("id:");
                problems.push(d.problem(
                    line,
                    format!(
                        "duplicate id {id} (first loaded from {first}): the rule is not loaded"
                    ),
                ));
                continue;
            }
            if d.doc.title.trim().is_empty() {
                problems.push(d.problem(None, "empty `title`: the rule is not loaded"));
                continue;
            }
            let level = d.doc.level.unwrap_or(Level::Medium);
            let meta = match meta::parse(d.doc.snapback.as_ref(), level) {
                Ok(m) => m,
                Err(e) => {
                    let line = d
                        .line_of(&format!("{}:", e.key))
                        .or_else(|| d.line_of("snapback:"));
                    problems
                        .push(d.problem(line, format!("{}: the rule is not loaded", e.message)));
                    continue;
                }
            };
            let Some(body) = d.doc.body.take() else {
                continue;
            };
            match body {
                sigma::Body::Detection(rule) => {
                    let index = set.detections.len();
                    if let Err(e) = set.detection_matcher.add(index, rule) {
                        let line = modifier_line(&d, &e);
                        problems.push(d.problem(line, format!("does not compile: {e}")));
                        continue;
                    }
                    ids.insert(id.clone(), d.file.clone());
                    by_ref.insert(id.clone(), index);
                    if let Some(n) = &d.doc.name {
                        by_ref.entry(n.clone()).or_insert(index);
                    }
                    set.detections.push(Detection {
                        id,
                        name: d.doc.name.clone(),
                        title: d.doc.title.clone(),
                        description: d.doc.description.clone().unwrap_or_default(),
                        level,
                        tags: d.doc.tags.clone(),
                        origin: d.origin.clone(),
                        meta,
                        unless_operation: Vec::new(),
                    });
                    if !set.detections[index]
                        .meta
                        .unless_operation_matches
                        .is_empty()
                    {
                        let line = d.line_of("unless_operation_matches:");
                        pending_unless.push((index, d.problem(line, "")));
                    }
                }
                sigma::Body::Filter { targets, selection } => {
                    let index = set.filters.len();
                    if let Err(e) = set.filter_matcher.add(index, selection) {
                        let line = modifier_line(&d, &e);
                        problems.push(d.problem(line, format!("filter does not compile: {e}")));
                        continue;
                    }
                    ids.insert(id.clone(), d.file.clone());
                    let desc = d.doc.description.clone().unwrap_or_default();
                    if desc.trim().is_empty() {
                        problems.push(d.problem(
                            None,
                            "filter has no `description`: it is the suppression reason users see",
                        ));
                    }
                    if let Some(l) = d.line_of("condition:") {
                        let cond = d.text.lines().nth(l - d.start).unwrap_or("");
                        if !cond.contains("not ") {
                            problems.push(d.problem(
                                Some(l),
                                "filter condition does not negate its selection: Sigma ANDs a filter's condition with the rule, so write `condition: not selection` to drop the automation",
                            ));
                        }
                    }
                    set.filters.push(Filter {
                        id,
                        title: d.doc.title.clone(),
                        description: desc,
                        any: targets.is_none(),
                        targets: targets.unwrap_or_default(),
                        origin: d.origin.clone(),
                    });
                    // Targets are checked once every rule is known.
                    correlations.push((d, None));
                }
                body @ sigma::Body::Correlation { .. } => {
                    ids.insert(id.clone(), d.file.clone());
                    correlations.push((d, Some((id, level, meta, body))));
                }
            }
        }
        problems.extend(meta::resolve_unless(
            &mut set.detections,
            &by_ref,
            pending_unless,
        ));
        let mut filter_docs = Vec::new();
        for (d, c) in correlations {
            let Some((id, level, meta, body)) = c else {
                filter_docs.push(d);
                continue;
            };
            if !meta.unless_operation_matches.is_empty() {
                problems.push(d.problem(
                    d.line_of("unless_operation_matches:"),
                    "snapback.unless_operation_matches applies to detection rules only: ignored",
                ));
            }
            let sigma::Body::Correlation {
                kind,
                rules,
                group_by,
                aliases,
                timespan_secs,
            } = body
            else {
                continue;
            };
            let kind = match kind {
                Ok(k) => k,
                Err(e) => {
                    let line = d.line_of("correlation:");
                    problems.push(d.problem(line, format!("{e}: the rule is not loaded")));
                    continue;
                }
            };
            let mut resolved = Vec::new();
            let mut bad = false;
            for r in &rules {
                match by_ref.get(r) {
                    Some(&i) => resolved.push(i),
                    None => {
                        let line = d.line_of(&format!("- {r}")).or_else(|| d.line_of(r));
                        problems.push(d.problem(
                            line,
                            format!(
                                "correlation references unknown rule `{r}` (no detection rule has this name or id): the rule is not loaded"
                            ),
                        ));
                        bad = true;
                    }
                }
            }
            if rules.is_empty() {
                problems.push(d.problem(d.line_of("rules:"), "correlation lists no `rules`"));
                bad = true;
            }
            let mut alias_map: BTreeMap<String, BTreeMap<usize, String>> = BTreeMap::new();
            for (alias, mapping) in aliases {
                let entry = alias_map.entry(alias.clone()).or_default();
                for (r, field) in mapping {
                    let target = by_ref.get(&r).copied().filter(|i| resolved.contains(i));
                    match target {
                        Some(i)
                            if rules.contains(&r)
                                || rules.iter().any(|x| by_ref.get(x) == Some(&i)) =>
                        {
                            entry.insert(i, field);
                        }
                        _ => {
                            let line = d.line_of(&format!("{r}:"));
                            problems.push(d.problem(
                                line,
                                format!(
                                    "alias `{alias}` maps rule `{r}`, which is not in this correlation's `rules`: the rule is not loaded"
                                ),
                            ));
                            bad = true;
                        }
                    }
                }
            }
            for g in &group_by {
                if let Some(map) = alias_map.get(g) {
                    for i in &resolved {
                        if !map.contains_key(i) {
                            problems.push(d.problem(
                                d.line_of(&format!("{g}:")),
                                format!(
                                    "alias `{g}` has no field for rule `{}`",
                                    rules_label(&set.detections[*i])
                                ),
                            ));
                            bad = true;
                        }
                    }
                }
            }
            if bad {
                continue;
            }
            set.correlations.push(Correlation {
                id,
                name: d.doc.name.clone(),
                title: d.doc.title.clone(),
                description: d.doc.description.clone().unwrap_or_default(),
                level,
                tags: d.doc.tags.clone(),
                kind,
                rules: resolved,
                group_by,
                aliases: alias_map,
                timespan: Duration::from_secs(timespan_secs),
                origin: d.origin.clone(),
                meta,
            });
        }
        // A filter that names a rule nobody defines suppresses nothing: say so.
        for d in filter_docs {
            let Some(f) = set
                .filters
                .iter()
                .find(|f| Some(&f.id) == d.doc.id.as_ref())
            else {
                continue;
            };
            for t in &f.targets {
                let known = set
                    .detections
                    .iter()
                    .any(|r| &r.id == t || r.name.as_ref() == Some(t) || &r.title == t)
                    || set
                        .correlations
                        .iter()
                        .any(|r| &r.id == t || r.name.as_ref() == Some(t) || &r.title == t);
                if !known {
                    problems.push(
                        d.problem(d.line_of(t), format!("filter targets unknown rule `{t}`")),
                    );
                }
            }
        }
        set.problems = problems;
        set.detection_matcher.seal();
        set.filter_matcher.seal();
        set
    }

    /// Indices into `detections` of every detection rule matching the event (filters not
    /// applied), ascending.
    pub fn matches(&self, e: &Event) -> Vec<usize> {
        self.detection_matcher.matches(e)
    }

    /// Indices into `filters` of the filters that target the given rule (by id, name or
    /// title) and whose condition is false for the event, i.e. that remove it from the rule.
    pub fn suppressing_filters(&self, e: &Event, rule_ref: RuleRef) -> Vec<usize> {
        self.suppressing_given(&mut FiltersHolding::new(), e, rule_ref)
    }

    /// [`suppressing_filters`](Self::suppressing_filters) for one event and many rules: the
    /// filters' conditions are evaluated on the event once, on the first rule a filter
    /// targets, and `holding` keeps the answer for the others.
    pub fn suppressing_given(
        &self,
        holding: &mut FiltersHolding,
        e: &Event,
        rule_ref: RuleRef,
    ) -> Vec<usize> {
        let (id, name, title) = match rule_ref {
            RuleRef::Detection(i) => match self.detections.get(i) {
                Some(r) => (&r.id, r.name.as_deref(), &r.title),
                None => return Vec::new(),
            },
            RuleRef::Correlation(i) => match self.correlations.get(i) {
                Some(r) => (&r.id, r.name.as_deref(), &r.title),
                None => return Vec::new(),
            },
        };
        let targeting: Vec<usize> = (0..self.filters.len())
            .filter(|&i| self.filters[i].targets_rule(id, name, title))
            .collect();
        if targeting.is_empty() {
            return Vec::new();
        }
        // Sigma filter semantics: a filter's condition is ANDed to the rules it targets
        // (`condition: not selection` keeps what is not automation), so a filter suppresses
        // the events for which its condition is false. Only the filters targeting this rule
        // are evaluated, each once an event.
        let known = &mut holding.0;
        known.resize(self.filters.len(), None);
        let unknown: Vec<usize> = targeting
            .iter()
            .copied()
            .filter(|&i| known[i].is_none())
            .collect();
        if !unknown.is_empty() {
            let answers = self.filter_matcher.holds(&unknown, e);
            for (&i, holds) in unknown.iter().zip(answers) {
                known[i] = Some(holds);
            }
        }
        targeting
            .into_iter()
            .filter(|&i| known[i] == Some(false))
            .collect()
    }

    /// String values at a field path, with the path semantics of matching; arrays fan out.
    /// Identifiers are normalised so that references compare equal: Azure resource ids are
    /// lower-cased, Google Cloud URLs are reduced to `projects/…`.
    pub fn field_values(e: &Event, path: &str) -> Vec<String> {
        path::key_values(e, path)
    }

    /// The detection with this id or name.
    pub fn detection(&self, id_or_name: &str) -> Option<usize> {
        self.detections
            .iter()
            .position(|d| d.id == id_or_name || d.name.as_deref() == Some(id_or_name))
    }

    /// The correlation with this id or name.
    pub fn correlation(&self, id_or_name: &str) -> Option<usize> {
        self.correlations
            .iter()
            .position(|d| d.id == id_or_name || d.name.as_deref() == Some(id_or_name))
    }

    /// The filter with this id or title.
    pub fn filter(&self, id_or_title: &str) -> Option<usize> {
        self.filters
            .iter()
            .position(|d| d.id == id_or_title || d.title == id_or_title)
    }
}

fn rules_label(d: &Detection) -> &str {
    d.name.as_deref().unwrap_or(&d.id)
}
