//! Detection as input arrives (`snapback watch`): the order stage in front of the detector,
//! retention by event time, and alert revisions.
//!
//! A [`Watcher`] takes events in arrival order. The [order stage](crate::order) holds them
//! until the watermark (newest event time minus the lateness) passes them and hands them to
//! the [`Detector`] in event-time order; events that arrive behind the watermark are counted as
//! late, never dropped silently. [`Watcher::alerts`] gives the alerts of what the detector
//! holds now, computed by the same code as `scan`, so the final alerts of a stream are the
//! alerts `scan` finds in the same records.
//!
//! **Retention.** An alert can span at most the [`horizon`](Watcher::horizon): the longest
//! correlation window plus the precursor window (24 h). An alert is **final** once the
//! watermark has passed its last event by the horizon: nothing still to come can change it.
//! Matched events are kept for twice the horizon, so every alert that contains one is final
//! before it goes.
//!
//! **Revisions.** [`Revisions`] remembers, per alert id, the revision last emitted and a
//! digest of its content. An alert is emitted when it is new or its content changed (a late
//! precursor escalated it, its success record confirmed it, a merged alert joined it), with
//! the revision one higher; an alert that was emitted, is not final and is no longer found
//! (merged into a higher-ranked alert) is **retracted**. The ids are stable across revisions
//! (`Alert::compute_id`), so a receiver keeps the highest revision of each id.
//!
//! The cost of this first streaming detector: each [`Watcher::alerts`] correlates everything
//! retained again (docs/architecture.md, step 6, replaces it with incremental stages).

use std::collections::HashMap;

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use snapback_model::Event;

use crate::order::{Admitted, Lateness, Order, OrderKey, Ordered};
use crate::{record_digest, Alert, DetectOptions, Detector, Prepared, Tuning};
use snapback_rules::RuleSet;

/// An event waiting in the order stage, with what the detector needs of it.
pub struct Pending {
    event: Event,
    prepared: Prepared,
    id: u128,
}

impl Ordered for Pending {
    fn key(&self) -> OrderKey {
        OrderKey {
            time: self.event.time.instant,
            file: self.event.provenance.file.clone(),
            offset: self.event.provenance.offset,
        }
    }

    fn record_id(&self) -> u128 {
        self.id
    }

    fn scope(&self) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        self.event.cloud.hash(&mut h);
        self.event.account.hash(&mut h);
        h.finish()
    }
}

/// Counts of a stream, beside the detector's.
#[derive(Debug, Clone, Default, Serialize)]
pub struct StreamStats {
    pub events_in: u64,
    /// Events that arrived behind the watermark: counted, not correlated.
    pub late_events: u64,
    pub duplicates: u64,
    /// Events released early because the reorder buffer was full.
    pub forced_releases: u64,
    pub buffered: u64,
    pub retained: u64,
    /// Matched records that took no state (failed or dry-run calls no rule can use).
    pub unusable: u64,
    /// Sequences open after the last [`Watcher::alerts`]: started, not complete, window not
    /// closed at the newest event released.
    pub open_sequences: u64,
}

/// How long after its first event an alert can still change under `rules` and `options`: the
/// longest correlation window plus the precursor window.
pub fn horizon(rules: &RuleSet, options: &DetectOptions) -> SignedDuration {
    let longest = rules
        .correlations
        .iter()
        .map(|c| SignedDuration::try_from(c.timespan).unwrap_or(SignedDuration::ZERO))
        .max()
        .unwrap_or(SignedDuration::ZERO);
    options.precursor_window + longest
}

/// The streaming detector.
pub struct Watcher<'r> {
    detector: Detector<'r>,
    order: Order<Pending>,
    horizon: SignedDuration,
    late: u64,
    released: Vec<Pending>,
}

impl<'r> Watcher<'r> {
    pub fn new(
        rules: &'r RuleSet,
        tuning: &'r Tuning,
        options: DetectOptions,
        lateness: Lateness,
    ) -> Self {
        let horizon = horizon(rules, &options);
        let buffer = options.max_retained_events;
        Watcher {
            detector: Detector::new(rules, tuning, options),
            order: Order::new(lateness, buffer),
            horizon,
            late: 0,
            released: Vec::new(),
        }
    }

    /// How long after its first event an alert can still change.
    pub fn horizon(&self) -> SignedDuration {
        self.horizon
    }

    /// The watermark (`None` before the first event, or under unbounded lateness).
    pub fn watermark(&self) -> Option<Timestamp> {
        self.order.watermark()
    }

    /// Take an event (prepared on any thread by [`Detector::prepare`]). Returns `false` when
    /// it arrived late.
    pub fn observe_prepared(&mut self, event: Event, prepared: Prepared) -> bool {
        // Admission (issue 13 item 7): a record that takes no state is counted by the
        // detector at once and never waits in the reorder buffer.
        if !prepared.takes_state(&event) {
            self.detector.observe_prepared(event, prepared);
            return true;
        }
        let id = record_digest(event.cloud, &event.account, &event.event_id);
        match self.order.admit(Pending {
            event,
            prepared,
            id,
        }) {
            Admitted::Late(_) => {
                self.late += 1;
                false
            }
            Admitted::Buffered | Admitted::Duplicate => true,
        }
    }

    /// The input ended (`watch --once`): everything is released and every alert is final.
    pub fn end_of_input(&mut self) {
        self.order.end_of_input();
    }

    /// Hand what the watermark passed to the detector, and forget what no alert can need.
    pub fn release(&mut self) {
        self.order.release(&mut self.released);
        for p in self.released.drain(..) {
            self.detector.observe_prepared(p.event, p.prepared);
        }
        if let Some(w) = self.order.watermark() {
            if w < Timestamp::MAX {
                let keep_from = w.checked_sub(self.horizon * 2).unwrap_or(Timestamp::MIN);
                self.detector.expire_before(keep_from);
            }
        }
    }

    /// The alerts of everything released so far, ranked and merged as `scan` ranks them.
    pub fn alerts(&mut self) -> Vec<Alert> {
        self.detector.snapshot()
    }

    /// The time of the last event handed to the detector.
    pub fn released_through(&self) -> Option<Timestamp> {
        self.order.released_through()
    }

    /// Whether `alert` can no longer change: the watermark passed its last event by the
    /// horizon.
    pub fn is_final(&self, alert: &Alert) -> bool {
        self.order.watermark().is_some_and(|w| {
            w == Timestamp::MAX
                || alert
                    .last_instant
                    .checked_add(self.horizon)
                    .is_ok_and(|end| end < w)
        })
    }

    pub fn stats(&self) -> StreamStats {
        let o = self.order.stats();
        StreamStats {
            events_in: o.admitted + o.duplicates + o.late + self.detector.stats.events_unusable,
            late_events: self.late,
            duplicates: o.duplicates + self.detector.stats.duplicates,
            forced_releases: o.forced_releases,
            buffered: self.order.buffered() as u64,
            retained: self.detector.retained_events() as u64,
            unusable: self.detector.stats.events_unusable,
            open_sequences: self.detector.open_sequences as u64,
        }
    }
}

impl Detector<'_> {
    /// The alerts of what is retained now, without ending the run; the run's counts are left
    /// as they were.
    pub(crate) fn snapshot(&mut self) -> Vec<Alert> {
        let stats = self.stats.clone();
        let alerts = self.ranked_by_scope();
        self.stats = stats;
        alerts
    }

    /// Forget matched events, operations and early alerts older than `t`.
    pub(crate) fn expire_before(&mut self, t: Timestamp) {
        let mut gone = Vec::new();
        let scopes = &mut self.scopes;
        self.matched.retain(|m| {
            let keep = m.event.time.instant >= t;
            if !keep {
                gone.push(m.id);
                scopes.touch(crate::scoped::event_scope(&m.event));
            }
            keep
        });
        for id in gone {
            self.seen.remove(&id);
        }
        let mut gone_ops = Vec::new();
        self.operations.retain(|_, op| {
            let keep = op.newest >= t;
            if !keep {
                gone_ops.extend(op.ids.iter().copied());
                scopes.touch(crate::scoped::scope_of(op.charged.0, &op.charged.1));
            }
            keep
        });
        for id in gone_ops {
            self.seen.remove(&id);
        }
        self.early.retain(|_, a| a.last_instant >= t);
    }
}

/// What was last emitted for one alert id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tracked {
    pub revision: u32,
    /// SHA-256 (first 16 bytes, hex) of the alert as JSON.
    pub digest: String,
    /// Seconds since the epoch of the alert's last event: finality and forgetting go by it.
    pub last_seconds: i64,
    /// Final alerts never change again; they are remembered so that a restart that reads
    /// their records again does not emit them twice.
    pub is_final: bool,
    /// The event ids of the evidence last emitted: a revision names what is new.
    #[serde(default)]
    pub evidence: Vec<String>,
}

/// One line for the sinks.
#[derive(Debug, Clone)]
pub enum Emission {
    /// A new alert (revision 1) or a changed one; `changed` holds the event ids of the
    /// evidence this revision adds (empty for revision 1, or when only scores or marks moved).
    Alert {
        alert: Box<Alert>,
        revision: u32,
        changed: Vec<String>,
    },
    /// An alert that was emitted and is no longer found (merged into a higher-ranked alert
    /// whose evidence now holds its events, or withdrawn).
    Retracted { alert_id: String, revision: u32 },
}

/// The revisions emitted, by alert id.
#[derive(Debug, Default)]
pub struct Revisions {
    pub by_id: HashMap<String, Tracked>,
    /// Ids whose entry changed since [`take_dirty`](Self::take_dirty).
    dirty: std::collections::HashSet<String>,
}

impl Revisions {
    /// Start from the entries a previous run saved.
    pub fn restore(by_id: HashMap<String, Tracked>) -> Self {
        Revisions {
            by_id,
            dirty: Default::default(),
        }
    }

    /// The entries changed since the last call, to be saved (`None`: forgotten).
    pub fn take_dirty(&mut self) -> Vec<(String, Option<Tracked>)> {
        let mut out: Vec<(String, Option<Tracked>)> = self
            .dirty
            .drain()
            .map(|id| {
                let t = self.by_id.get(&id).cloned();
                (id, t)
            })
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    /// What to emit for the alerts found now; the entries that change are marked dirty.
    pub fn diff(&mut self, alerts: &[Alert], watcher: &Watcher<'_>) -> Vec<Emission> {
        let mut out = Vec::new();
        let mut found = std::collections::HashSet::new();
        for a in alerts {
            found.insert(a.alert_id.as_str());
            let is_final = watcher.is_final(a);
            let digest = digest(a);
            let before: Vec<String> = self
                .by_id
                .get(&a.alert_id)
                .map(|t| t.evidence.clone())
                .unwrap_or_default();
            let revision = match self.by_id.get(&a.alert_id) {
                Some(t) if t.is_final || t.digest == digest => {
                    if is_final && !t.is_final {
                        if let Some(t) = self.by_id.get_mut(&a.alert_id) {
                            t.is_final = true;
                        }
                        self.dirty.insert(a.alert_id.clone());
                    }
                    continue;
                }
                Some(t) => t.revision + 1,
                None => 1,
            };
            self.dirty.insert(a.alert_id.clone());
            self.by_id.insert(
                a.alert_id.clone(),
                Tracked {
                    revision,
                    digest,
                    last_seconds: a.last_instant.as_second(),
                    is_final,
                    evidence: a.evidence.iter().map(|e| e.event_id.clone()).collect(),
                },
            );
            let changed = match revision {
                1 => Vec::new(),
                _ => a
                    .evidence
                    .iter()
                    .map(|e| e.event_id.clone())
                    .filter(|id| !before.contains(id))
                    .collect(),
            };
            out.push(Emission::Alert {
                alert: Box::new(a.clone()),
                revision,
                changed,
            });
        }
        let horizon = watcher.horizon();
        let gone: Vec<String> = self
            .by_id
            .iter()
            .filter(|(id, t)| !t.is_final && !found.contains(id.as_str()))
            .map(|(id, _)| id.clone())
            .collect();
        for id in gone {
            let Some(t) = self.by_id.get_mut(&id) else {
                continue;
            };
            // Only an alert whose events were all released in this run can be missed for a
            // reason: before that (a restart still reading, a watermark not there yet) it may
            // simply not be found yet.
            if watcher
                .released_through()
                .is_none_or(|r| r.as_second() < t.last_seconds)
            {
                continue;
            }
            let last = Timestamp::from_second(t.last_seconds).unwrap_or(Timestamp::MIN);
            let final_now = watcher
                .watermark()
                .is_some_and(|w| last.checked_add(horizon).is_ok_and(|end| end < w));
            self.dirty.insert(id.clone());
            if final_now {
                t.is_final = true;
                continue;
            }
            t.revision += 1;
            t.is_final = true;
            t.digest = String::new();
            out.push(Emission::Retracted {
                alert_id: id,
                revision: t.revision,
            });
        }
        out
    }

    /// Forget final alerts whose last event is older than `before` (their records are no
    /// longer read again on a restart).
    pub fn forget_before(&mut self, before: Timestamp) -> Vec<String> {
        let cut = before.as_second();
        let gone: Vec<String> = self
            .by_id
            .iter()
            .filter(|(_, t)| t.is_final && t.last_seconds < cut)
            .map(|(id, _)| id.clone())
            .collect();
        for id in &gone {
            self.by_id.remove(id);
            self.dirty.insert(id.clone());
        }
        gone
    }
}

fn digest(a: &Alert) -> String {
    let json = serde_json::to_vec(a).unwrap_or_default();
    let d = Sha256::digest(&json);
    d[..16].iter().map(|b| format!("{b:02x}")).collect()
}
