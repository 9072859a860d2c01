//! Event-time correlation, kill-chain escalation and tuning: from matched events to alerts.
//!
//! ```no_run
//! use snapback_correlate::{Detector, DetectOptions, Tuning};
//! use snapback_rules::RuleSet;
//! let rules = RuleSet::load(true, &[]);
//! let tuning = Tuning::default();
//! let mut detector = Detector::new(&rules, &tuning, DetectOptions::default());
//! // for event in events { detector.observe(event); }
//! let report = detector.finish();
//! for alert in &report.alerts { println!("{} {}", alert.risk_score, alert.title); }
//! ```
//!
//! Sigma leaves the semantics of correlation open; we decide them here, and the tests assert
//! them (see ARCHITECTURE.md):
//!
//! - **Event time.** Matched events are ordered by their own time (then by file and record, so
//!   that ties are stable), never by file or arrival order. Offline, the whole input is seen
//!   before anything is correlated, so results do not depend on the order of files.
//! - **Arrays fan out.** Each value of a group-by field opens its own sequence: a
//!   `StopInstances` on three instances opens three.
//! - **Windows** are measured from the first event of a sequence; both ends are inclusive.
//!   When a step's opener repeats before the sequence goes on, the latest opener is kept.
//! - **Duplicates** (the same event id in the same cloud and account) count once.
//! - **Outcome** is a rule's metadata ([`OutcomePolicy`]). Under the pack's `succeeded`,
//!   failed calls and dry runs never open, advance or complete a sequence; an accepted call
//!   (Azure `Start`/`Accept`, a GCP first entry) counts, and the record of the same operation
//!   (Azure `correlationId`, GCP `operation.id`) that reports success confirms it. A sequence
//!   whose completing call is only accepted still alerts, `confirmed: false` and 10 lower.
//!   Under `any` (rules without the pack's metadata) every matched record counts, as in Sigma.
//! - **One operation, one answer.** A detection whose `snapback.unless_operation_matches`
//!   names rules does not count on a record when a record of the same operation matched one
//!   of them (a write "without a logged body" is not one when its Start record has the body).
//! - **Kill chain.** A revert alert is escalated to critical when, within 24 hours before it,
//!   a precursor (exfiltration, movement, blinding) touched one of its entities or was made by
//!   one of its principals in the same account; the precursor joins the evidence.
//! - **One act, one alert.** An alert that shares a revert step and a resource with a
//!   higher-ranked alert is merged into it and named in its reasons.
//! - **Suppression** never drops an alert: it is kept, marked with who suppressed it and why,
//!   and counted.
//! - **Capped state.** Offline, matched events are kept until [`Detector::finish`], but slim:
//!   what correlation needs from the raw record (group keys, value-count values, suppressing
//!   filters) is computed when the event is observed, and the raw record, request and response
//!   are dropped. Three caps bound the state ([`DetectOptions`]): matched events retained
//!   (100,000 by default, about 2.5 KB each), multi-record operations remembered (200,000)
//!   and open sequences (1,000,000). Under the caps, results are exact and independent of file
//!   order. Beyond one, state goes fairly ([`fair`]: the principal holding most loses its
//!   oldest first; failed operations before any), down to 90% of the cap so the work is paid
//!   once per tenth of it, and the count is reported. Failed and dry-run calls that no rule
//!   can use take no state at all (`DetectStats::events_unusable`), and are counted
//!   ([`DetectStats`]: `events_evicted`, `operations_evicted`, `sequences_evicted`; `scan`
//!   prints them). Before matched events are evicted, the alerts they take part in are
//!   found from everything retained at that moment and kept (alerts with the same id count
//!   once), so a chain whose events were retained together is still reported; what can be
//!   missed is a chain whose steps were never retained at the same time (its first step
//!   evicted before its last arrived), and a record delivered again after its state was
//!   evicted is not recognised as a duplicate. A count or sequence whose window spans an
//!   eviction can also be reported twice, as found then and as found at the end (SigmaHQ's
//!   rules on the 256 MiB bench tree with a cap of 1,000: 4,878 alerts instead of 4,856);
//!   when in doubt, the detector errs towards reporting.

#![forbid(unsafe_code)]

mod alerting;
mod correlator;
mod fair;
mod keys;
mod operation;
pub mod order;
mod passes;
mod scoped;
pub mod stream;
mod tune;
pub mod tuning;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use snapback_model::{Cloud, Event, Outcome};
use snapback_rules::{CorrelationKind, RuleRef, RuleSet};

pub use snapback_model::alert::{
    self, Alert, Entity, Evidence, EvidenceRole, Guide, Severity, Suppression,
};
pub use snapback_rules::{OutcomePolicy, Role};

// The stages, in the order data flows through them (docs/architecture.md §2.5): `order`
// (watermark, reorder buffer, dedup; used by `stream`), the observe path in this file
// (admission, slim retained events, operations, fair eviction), `passes` driving one
// `correlator` per correlation rule, `alerting` (draft, escalate, confirm, fold), `tune`
// (filters, allowlists, windows), and `stream` (the `Watcher` that puts `order` in front).
pub use tuning::{StateLimits, Tuning};

/// Knobs of the detector.
#[derive(Debug, Clone)]
pub struct DetectOptions {
    /// How far before a revert a precursor may be to escalate it.
    pub precursor_window: SignedDuration,
    /// The most open sequences kept at once; the oldest are evicted beyond it, and counted.
    pub max_open_sequences: usize,
    /// The most matched events retained until [`Detector::finish`] (each a few hundred bytes
    /// once its raw record is dropped); the oldest by event time are evicted beyond it, and
    /// counted in [`DetectStats::events_evicted`].
    pub max_retained_events: usize,
    /// The most multi-record operations (Azure `correlationId`, GCP `operation.id`) whose
    /// outcome and records are remembered; the oldest are evicted beyond it, and counted in
    /// [`DetectStats::operations_evicted`].
    pub max_operations: usize,
}

impl Default for DetectOptions {
    fn default() -> Self {
        DetectOptions {
            precursor_window: SignedDuration::from_hours(24),
            max_open_sequences: 1_000_000,
            max_retained_events: 100_000,
            max_operations: 200_000,
        }
    }
}

/// Counts of a detection run.
#[derive(Debug, Clone, Default)]
pub struct DetectStats {
    pub events_seen: u64,
    pub events_matched: u64,
    pub duplicates: u64,
    pub sequences_opened: u64,
    pub sequences_evicted: u64,
    /// Matched events dropped, oldest first, beyond [`DetectOptions::max_retained_events`].
    pub events_evicted: u64,
    /// Operations forgotten beyond [`DetectOptions::max_operations`]: failed ones first, then
    /// fairly ([`fair`]).
    pub operations_evicted: u64,
    /// Matched records that took no state (issue 13 item 7): failed or dry-run calls that no
    /// rule they matched can use (every such rule, and every correlation over it, counts only
    /// calls that went through). Not in `events_matched`, which counts the records that took
    /// state; every delivery counts, since recognising a re-delivery would take state.
    pub events_unusable: u64,
    pub alerts: u64,
    pub suppressed: u64,
    /// Alerts merged into a higher-ranked alert over the same act.
    pub folded: u64,
    pub by_severity: BTreeMap<Severity, u64>,
    pub suppressed_by_reason: BTreeMap<String, u64>,
}

/// The result: alerts ordered by risk, highest first (suppressed ones included, marked).
#[derive(Debug, Default)]
pub struct Report {
    pub alerts: Vec<Alert>,
    pub stats: DetectStats,
}

/// A matched event and the detection rules it matched, with everything correlation needs
/// from its raw record computed when it was observed: the event itself is kept without its
/// raw record, request and response (several KB each).
struct Matched {
    event: Event,
    rules: Vec<usize>,
    /// Digest of (cloud, account, event id): its entry in `Detector::seen`.
    id: u128,
    derived: Derived,
}

/// What correlation and suppression need from a matched event's raw record
/// ([`Detector::derive`]).
struct Derived {
    /// Group keys ([`keys::group_keys`]) by correlation and rule, for every correlation
    /// that includes one of the event's rules: an index into `key_sets` (correlations that
    /// group by the same fields share one set).
    keys: Vec<(usize, usize, usize)>,
    key_sets: Vec<Vec<String>>,
    /// The values of a `value_count` correlation's field, by correlation.
    values: Vec<(usize, Vec<String>)>,
    /// The first filter that suppresses the event for a rule (its detections, correlations
    /// that include them); a rule that is absent has none.
    filters: Vec<(RuleRef, usize)>,
}

impl Matched {
    fn keys(&self, c: usize, rule: usize) -> &[String] {
        let d = &self.derived;
        d.keys
            .iter()
            .find(|(kc, kr, _)| *kc == c && *kr == rule)
            .map(|&(_, _, k)| d.key_sets[k].as_slice())
            .unwrap_or(&[])
    }

    fn values(&self, c: usize) -> &[String] {
        self.derived
            .values
            .iter()
            .find(|(vc, _)| *vc == c)
            .map(|(_, v)| v.as_slice())
            .unwrap_or(&[])
    }

    fn filter(&self, rule_ref: RuleRef) -> Option<usize> {
        self.derived
            .filters
            .iter()
            .find(|(r, _)| *r == rule_ref)
            .map(|&(_, f)| f)
    }
}

/// The final word on an operation that spans records, and a light record of each (the
/// records themselves are not kept: most belong to operations no rule matched).
#[derive(Clone)]
struct OperationResult {
    outcome: Outcome,
    time: Timestamp,
    /// The latest event time of any of its records: eviction goes by it.
    newest: Timestamp,
    evidence: Vec<Evidence>,
    /// Digests (`Detector::seen`) of its records that no rule matched: forgotten with it.
    ids: Vec<u128>,
    /// Who it is charged to ([`fair::flood_key`] of its first record).
    charged: fair::FloodKey,
}

/// An event's matches and what correlation needs from its raw record: see
/// [`Detector::prepare`].
pub struct Prepared {
    rules: Vec<usize>,
    derived: Option<Derived>,
    /// Whether a rule it matched can use the record with its outcome ([`Detector::usable`]).
    usable: bool,
}

impl Prepared {
    /// Whether the record takes any state: it matched a rule that can use it, or it is a
    /// record of a multi-record operation, whose outcome it may decide.
    pub fn takes_state(&self, event: &Event) -> bool {
        (self.usable && !self.rules.is_empty()) || Detector::needs_operation(event)
    }
}

thread_local! {
    /// The raw record left in a prepared event: one shared `null` per thread.
    static NO_RAW: Arc<serde_json::Value> = Arc::new(serde_json::Value::Null);
}

/// Collects events, then correlates them in event-time order.
pub struct Detector<'r> {
    rules: &'r RuleSet,
    tuning: &'r Tuning,
    options: DetectOptions,
    matched: Vec<Arc<Matched>>,
    /// Alerts found among matched events just before they were evicted, by id.
    early: BTreeMap<String, Alert>,
    /// Digests of (cloud, account, event id) of the records held (retained matched events and
    /// the records of remembered operations), to count a record delivered twice once. An
    /// entry goes when the state that holds its record is evicted.
    seen: HashSet<u128>,
    /// By cloud and [`Event::act`]: Azure gives every operation of one request (a
    /// deployment's resource writes) the same `correlationId`, so the id alone does not name
    /// one operation.
    operations: HashMap<(Cloud, String), OperationResult>,
    /// `(record digest, detection)` of the matches that do not count, because a record of the
    /// same operation matched a rule their rule names in `unless_operation_matches`
    /// ([`operation::voided`]); computed before each correlation pass.
    voided: HashSet<(u128, usize)>,
    stats: DetectStats,
    /// Sequences the last correlation pass left open that a later event could still extend
    /// (their window had not closed at the newest event retained): `watch`'s status figure.
    open_sequences: usize,
    /// A streaming detector's alerts per `(cloud, account)` scope ([`scoped`]).
    scopes: scoped::ScopeCache,
}

/// One step of a sequence: the matched event and the rule it matched.
#[derive(Clone)]
struct Step {
    m: Arc<Matched>,
    rule: usize,
}

struct Partial {
    steps: Vec<Step>,
    /// For ordered sequences: the index of the next rule. For unordered: which rules are in.
    have: Vec<bool>,
    start: Timestamp,
    last: Timestamp,
}

/// An alert under construction, with its events still at hand for filters.
struct Draft {
    alert: Alert,
    rule_ref: RuleRef,
    steps: Vec<Step>,
    /// The correlation's group key (empty for single-event alerts): part of the alert id,
    /// so that the sequences of one fanned-out call are distinct alerts.
    key: String,
}

impl<'r> Detector<'r> {
    pub fn new(rules: &'r RuleSet, tuning: &'r Tuning, options: DetectOptions) -> Self {
        Detector {
            rules,
            tuning,
            options,
            matched: Vec::new(),
            early: BTreeMap::new(),
            seen: HashSet::new(),
            operations: HashMap::new(),
            voided: HashSet::new(),
            stats: DetectStats::default(),
            open_sequences: 0,
            scopes: scoped::ScopeCache::default(),
        }
    }

    /// Look at one event. Events that no rule matches are not kept, except for the outcome
    /// of the multi-record operation they belong to.
    pub fn observe(&mut self, event: Event) {
        let rules = self.rules.matches(&event);
        self.observe_matched(event, rules);
    }

    /// Whether [`observe`](Self::observe) keeps anything of an event that matched `rules`:
    /// callers that match on other threads may drop the rest before handing events over.
    pub fn keeps(event: &Event, rules: &[usize]) -> bool {
        !rules.is_empty() || Self::needs_operation(event)
    }

    fn needs_operation(event: &Event) -> bool {
        matches!(event.cloud, Cloud::Azure | Cloud::Gcp) && event.correlation_id.is_some()
    }

    /// [`observe`](Self::observe) with the event's matches already computed by
    /// `RuleSet::matches` (on worker threads, say); the outcome is the same.
    pub fn observe_matched(&mut self, mut event: Event, rules: Vec<usize>) {
        let prepared = Self::prepare(self.rules, &mut event, rules);
        self.observe_prepared(event, prepared);
    }

    /// The part of [`observe_matched`](Self::observe_matched) that needs only the rules, on
    /// any thread: everything correlation and suppression will want from the event's raw
    /// record is computed, then the raw record, and what correlation never reads, are dropped
    /// from `event`, so that events waiting to be observed (a batch read in parallel) hold
    /// little. `matched` is the event's `RuleSet::matches`.
    pub fn prepare(rules: &RuleSet, event: &mut Event, matched: Vec<usize>) -> Prepared {
        if matched.is_empty() {
            return Prepared {
                rules: matched,
                derived: None,
                usable: false,
            };
        }
        let usable = Self::usable(rules, event, &matched);
        let derived = usable.then(|| Self::derive(rules, event, &matched));
        // Only `Actor::display` of the actor is read.
        event.raw = NO_RAW.with(Arc::clone);
        event.request = None;
        event.response = None;
        event.service = String::new();
        event.time.text = String::new();
        let actor = std::mem::take(&mut event.actor);
        event.actor.principal = actor.principal.or(actor.name);
        Prepared {
            rules: matched,
            derived,
            usable,
        }
    }

    /// Whether anything a rule in `matched` does can use `e` (issue 13 item 7, admission): a
    /// failed or dry-run call can, only for a rule (or a correlation over it) whose outcome
    /// policy is `any`, or as a record of its operation that voids other matches
    /// (`unless_operation_matches` names its rule). Under the pack's default policy the
    /// 110,000 failed `StopInstances` of a flood are not kept, and cannot push out the stop
    /// that a later start completes. An accepted or undecided record always can: its
    /// operation's final record may still say it went through.
    fn usable(rules: &RuleSet, e: &Event, matched: &[usize]) -> bool {
        if !matches!(e.outcome, Outcome::Failure { .. } | Outcome::DryRun) {
            return true;
        }
        matched.iter().any(|&r| {
            rules.detections[r].meta.outcome == OutcomePolicy::Any
                || rules
                    .detections
                    .iter()
                    .any(|d| d.unless_operation.contains(&r))
                || rules
                    .correlations
                    .iter()
                    .any(|c| c.rules.contains(&r) && c.meta.outcome == OutcomePolicy::Any)
        })
    }

    /// Observe an event made ready by [`prepare`](Self::prepare); the outcome is the same as
    /// [`observe_matched`](Self::observe_matched)'s.
    pub fn observe_prepared(&mut self, event: Event, prepared: Prepared) {
        self.stats.events_seen += 1;
        let id = record_digest(event.cloud, &event.account, &event.event_id);
        if self.seen.contains(&id) {
            self.stats.duplicates += 1;
            return;
        }
        let needs_operation = Self::needs_operation(&event);
        let Prepared {
            rules,
            derived,
            usable,
        } = prepared;
        if !rules.is_empty() && !usable {
            self.stats.events_unusable += 1;
        }
        if (rules.is_empty() || !usable) && !needs_operation {
            return;
        }
        self.seen.insert(id);
        self.scopes.touch(scoped::event_scope(&event));
        if needs_operation {
            self.record_operation(&event, derived.is_none().then_some(id));
        }
        if let Some(derived) = derived {
            self.stats.events_matched += 1;
            self.matched.push(Arc::new(Matched {
                event,
                rules,
                id,
                derived,
            }));
            if self.matched.len() > self.options.max_retained_events {
                self.evict_events();
            }
        }
    }

    /// What correlation and suppression need from an event's raw record: group keys, value
    /// counts' values, suppressing filters.
    fn derive(set: &RuleSet, e: &Event, rules: &[usize]) -> Derived {
        let mut keys = Vec::new();
        let mut key_sets: Vec<Vec<String>> = Vec::new();
        let mut values = Vec::new();
        let mut filters: Vec<(RuleRef, usize)> = Vec::new();
        let mut holding = snapback_rules::FiltersHolding::new();
        let mut filter = |rule_ref: RuleRef| {
            if let Some(&f) = set.suppressing_given(&mut holding, e, rule_ref).first() {
                filters.push((rule_ref, f));
            }
        };
        for &r in rules {
            filter(RuleRef::Detection(r));
        }
        for (c, corr) in set.correlations.iter().enumerate() {
            if !rules.iter().any(|r| corr.rules.contains(r)) {
                continue;
            }
            for &r in rules {
                if corr.rules.contains(&r) {
                    let group = keys::group_keys(set, c, r, e);
                    let k = match key_sets.iter().position(|s| *s == group) {
                        Some(k) => k,
                        None => {
                            key_sets.push(group);
                            key_sets.len() - 1
                        }
                    };
                    keys.push((c, r, k));
                }
            }
            if let CorrelationKind::ValueCount { field, .. } = &corr.kind {
                values.push((c, keys::key_values(e, field)));
            }
            filter(RuleRef::Correlation(c));
        }
        Derived {
            keys,
            key_sets,
            values,
            filters,
        }
    }

    /// Beyond the cap, drop matched events down to 90% of the cap (so that the work is paid
    /// once per tenth of the cap), fairly ([`fair`]: the principal holding most loses its
    /// oldest first), and count them.
    fn evict_events(&mut self) {
        let cap = self.options.max_retained_events;
        let target = cap - cap / 10;
        if self.matched.len() <= target {
            return;
        }
        self.scopes.touch_all();
        // Before they go, the alerts they take part in are found from everything retained now
        // and kept: a chain whose events were all retained at once is not lost. This pass
        // counts nothing (the final one does).
        self.matched
            .sort_by(|a, b| Self::event_order(&a.event, &b.event));
        let excess = self.matched.len() - target;
        let charged: Vec<_> = self
            .matched
            .iter()
            .map(|m| (fair::flood_key(&m.event), m.event.time.instant))
            .collect();
        let mut going = vec![false; self.matched.len()];
        for i in fair::victims(&charged, excess) {
            going[i] = true;
        }
        // By event id: ids of different accounts that collide only keep an alert more.
        let leaving: HashSet<String> = self
            .matched
            .iter()
            .zip(&going)
            .filter(|(_, &g)| g)
            .map(|(m, _)| m.event.event_id.clone())
            .collect();
        let stats = self.stats.clone();
        let now = self.alerts_now(Some(&leaving));
        self.stats = stats;
        for a in now {
            if a.evidence.iter().any(|e| leaving.contains(&e.event_id)) {
                self.early.entry(a.alert_id.clone()).or_insert(a);
            }
        }
        let mut going = going.into_iter();
        let seen = &mut self.seen;
        let stats = &mut self.stats;
        self.matched.retain(|m| {
            let go = going.next().unwrap_or(false);
            if go {
                seen.remove(&m.id);
                stats.events_evicted += 1;
            }
            !go
        });
    }

    /// Event time, then file and record: the order correlation sees events in.
    fn event_order(a: &Event, b: &Event) -> std::cmp::Ordering {
        a.cmp(b)
    }

    /// The number of matched events retained now (at most
    /// [`DetectOptions::max_retained_events`]).
    pub fn retained_events(&self) -> usize {
        self.matched.len()
    }

    /// The number of operations remembered now (at most [`DetectOptions::max_operations`]).
    pub fn remembered_operations(&self) -> usize {
        self.operations.len()
    }

    /// `id`: the digest of a record no rule matched, which the operation then holds.
    fn record_operation(&mut self, e: &Event, id: Option<u128>) {
        let entry = self
            .operations
            .entry((e.cloud, e.act()))
            .or_insert_with(|| OperationResult {
                outcome: Outcome::Accepted,
                time: e.time.instant,
                newest: e.time.instant,
                evidence: Vec::new(),
                ids: Vec::new(),
                charged: fair::flood_key(e),
            });
        entry.newest = entry.newest.max(e.time.instant);
        entry.ids.extend(id);
        // The latest final record decides (a retried operation may fail, then succeed).
        let is_final = matches!(
            e.outcome,
            Outcome::Success | Outcome::Failure { .. } | Outcome::DryRun
        );
        let undecided = matches!(entry.outcome, Outcome::Accepted | Outcome::Unknown { .. });
        if is_final && (undecided || e.time.instant >= entry.time) {
            entry.outcome = e.outcome.clone();
            entry.time = e.time.instant;
        }
        if entry.evidence.len() < 8 {
            entry
                .evidence
                .push(Evidence::from_event(e, EvidenceRole::Confirmation, ""));
        }
        if self.operations.len() > self.options.max_operations {
            self.evict_operations();
        }
    }

    /// Beyond the cap, forget operations down to 90% of the cap, and count them: those that
    /// failed first (oldest first: they can only withdraw an alert, never make one), then
    /// fairly among the rest ([`fair`], by their newest record).
    fn evict_operations(&mut self) {
        let cap = self.options.max_operations;
        let target = cap - cap / 10;
        if self.operations.len() <= target {
            return;
        }
        let mut excess = self.operations.len() - target;
        self.scopes.touch_all();
        let failed =
            |op: &OperationResult| matches!(op.outcome, Outcome::Failure { .. } | Outcome::DryRun);
        let mut going: Vec<(Timestamp, (Cloud, String))> = self
            .operations
            .iter()
            .filter(|(_, op)| failed(op))
            .map(|(k, op)| (op.newest, k.clone()))
            .collect();
        going.sort();
        going.truncate(excess);
        excess -= going.len();
        if excess > 0 {
            let mut rest: Vec<(&(Cloud, String), &OperationResult)> = self
                .operations
                .iter()
                .filter(|(_, op)| !failed(op))
                .collect();
            rest.sort_by(|a, b| a.0.cmp(b.0));
            let charged: Vec<_> = rest
                .iter()
                .map(|(_, op)| (&op.charged, op.newest))
                .collect();
            let chosen = fair::victims(&charged, excess);
            going.extend(
                chosen
                    .into_iter()
                    .map(|i| (rest[i].1.newest, rest[i].0.clone())),
            );
        }
        for (_, key) in going {
            if let Some(op) = self.operations.remove(&key) {
                for id in op.ids {
                    self.seen.remove(&id);
                }
                self.stats.operations_evicted += 1;
            }
        }
    }

    /// The outcome of an event's operation: an accepted record takes the final word of its
    /// operation when the input has it.
    fn effective(&self, e: &Event) -> Outcome {
        if matches!(e.outcome, Outcome::Accepted | Outcome::Unknown { .. }) {
            if let Some(op) = self.operations.get(&(e.cloud, e.act())) {
                if !matches!(op.outcome, Outcome::Accepted | Outcome::Unknown { .. }) {
                    return op.outcome.clone();
                }
            }
        }
        e.outcome.clone()
    }

    /// Correlate everything observed and build the report.
    pub fn finish(mut self) -> Report {
        let alerts = self.ranked();
        for a in &alerts {
            match &a.suppressed {
                None => {
                    self.stats.alerts += 1;
                    *self.stats.by_severity.entry(a.severity).or_default() += 1;
                }
                Some(s) => {
                    self.stats.suppressed += 1;
                    *self
                        .stats
                        .suppressed_by_reason
                        .entry(format!("{}: {}", s.by, s.reason))
                        .or_default() += 1;
                }
            }
        }
        Report {
            alerts,
            stats: self.stats,
        }
    }

    /// Every alert of what is retained now (and of what was evicted), ranked best first and
    /// merged (one act, one alert); the counts of correlation and merging are added to the
    /// stats.
    fn ranked(&mut self) -> Vec<Alert> {
        let alerts = self.alerts_now(None);
        self.rank_and_fold(alerts)
    }

    /// Alerts found with those found early, ranked, then merged over shared acts.
    fn rank_and_fold(&mut self, mut alerts: Vec<Alert>) -> Vec<Alert> {
        if !self.early.is_empty() {
            let ids: HashSet<String> = alerts.iter().map(|a| a.alert_id.clone()).collect();
            alerts.extend(
                self.early
                    .values()
                    .filter(|a| !ids.contains(&a.alert_id))
                    .cloned(),
            );
        }
        alerts.sort_by(|a, b| {
            b.risk_score
                .cmp(&a.risk_score)
                .then_with(|| b.base_risk.cmp(&a.base_risk))
                .then_with(|| b.evidence.len().cmp(&a.evidence.len()))
                .then_with(|| a.first_instant.cmp(&b.first_instant))
                .then_with(|| a.alert_id.cmp(&b.alert_id))
        });
        self.fold(alerts)
    }

    /// The alerts of the matched events retained now, each once (escalated, suppressed, with
    /// its id), before ranking and merging; with `only`, just those with a step whose event id
    /// is in it.
    fn alerts_now(&mut self, only: Option<&HashSet<String>>) -> Vec<Alert> {
        self.matched
            .sort_by(|a, b| Self::event_order(&a.event, &b.event));
        self.voided = operation::voided(self.rules, &self.matched);
        let mut drafts = Vec::new();
        self.open_sequences = 0;
        self.single_event_alerts(&mut drafts, only);
        for c in 0..self.rules.correlations.len() {
            self.correlate(c, &mut drafts);
        }
        if let Some(only) = only {
            drafts.retain(|d| d.steps.iter().any(|s| only.contains(&s.m.event.event_id)));
        }
        let precursors = self.precursors();
        let mut alerts = Vec::with_capacity(drafts.len());
        let mut ids = HashSet::new();
        for mut d in drafts {
            self.escalate(&mut d, &precursors);
            self.suppress(&mut d);
            d.alert.group_key = d.key.clone();
            d.alert.alert_id = Alert::compute_id(&d.alert.rule_id, &d.key, &d.alert.evidence);
            if !ids.insert(d.alert.alert_id.clone()) {
                continue;
            }
            alerts.push(d.alert);
        }
        alerts
    }

    fn opens(outcome: &Outcome) -> bool {
        matches!(outcome, Outcome::Success | Outcome::Accepted)
    }

    /// Whether a rule with `policy` counts `e`: under the pack's policy only calls that went
    /// through (or were accepted and not since reported failed); under Sigma's, every record.
    fn counts(&self, policy: OutcomePolicy, e: &Event) -> bool {
        policy == OutcomePolicy::Any || Self::opens(&self.effective(e))
    }

    /// Whether `m`'s match of detection `r` counts ([`operation::voided`]).
    fn not_voided(&self, m: &Matched, r: usize) -> bool {
        !self.voided.contains(&(m.id, r))
    }
}

/// A 128-bit digest of a record's identity (cloud, account, event id), so that the duplicate
/// check holds 16 bytes per record rather than its strings. Two SipHash passes with fixed keys
/// and different prefixes; a collision (odds about 2^-90 at a million records) would count a
/// record as a duplicate.
fn record_digest(cloud: Cloud, account: &str, event_id: &str) -> u128 {
    use std::hash::{Hash, Hasher};
    let half = |salt: u8| {
        #[allow(deprecated)]
        let mut h = std::hash::SipHasher::new_with_keys(0x5eed_0001, 0x1578_0004);
        salt.hash(&mut h);
        cloud.hash(&mut h);
        account.hash(&mut h);
        event_id.hash(&mut h);
        h.finish()
    };
    (u128::from(half(0)) << 64) | u128::from(half(1))
}
