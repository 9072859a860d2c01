//! Per-scope caching of a streaming detector's alerts: a `watch` cycle correlates again only
//! the `(cloud, account)` scopes whose state changed since the last cycle.
//!
//! Correlation never links two scopes: group keys start with the cloud and account, single-event
//! alerts group by them, precursors escalate only alerts of their own account, and an
//! operation's records (which decide outcomes and void matches) share its account. So the
//! alerts of a scope are a function of that scope's retained state alone, and a cycle can take
//! the cached alerts of every untouched scope. Ranking and merging (`fold`, which compares acts
//! across all alerts) still run over all of them, as `scan` runs them: they are linear in
//! alerts, not events.
//!
//! A scope is dirty when an event of it changed the detector's state (a matched event retained,
//! an operation's outcome recorded) or its retained events expired. Evicting at a cap marks
//! every scope dirty (rare, and what goes there is chosen across scopes).
//!
//! `Detector::finish` (`scan`) does not use this: it makes one pass over everything.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use snapback_model::{Cloud, Event};

use crate::{Alert, Detector, Matched};

/// A scope's hash (cloud, account).
pub(crate) type Scope = u64;

pub(crate) fn scope_of(cloud: Cloud, account: &str) -> Scope {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    cloud.hash(&mut h);
    account.hash(&mut h);
    h.finish()
}

pub(crate) fn event_scope(e: &Event) -> Scope {
    scope_of(e.cloud, &e.account)
}

/// What the last cycles found per scope.
#[derive(Default)]
pub(crate) struct ScopeCache {
    /// Alerts (before ranking and merging) and open sequences, per scope.
    found: HashMap<Scope, (Vec<Alert>, usize)>,
    dirty: std::collections::HashSet<Scope>,
    /// Every scope must be correlated again (nothing cached yet, or an eviction).
    all_dirty: bool,
    /// Whether a snapshot has filled the cache.
    filled: bool,
}

impl ScopeCache {
    pub(crate) fn touch(&mut self, scope: Scope) {
        if self.filled && !self.all_dirty {
            self.dirty.insert(scope);
        }
    }

    pub(crate) fn touch_all(&mut self) {
        self.all_dirty = true;
        self.dirty.clear();
    }
}

impl Detector<'_> {
    /// The alerts of what is retained now, correlating again only dirty scopes; ranked and
    /// merged as `scan` ranks and merges them.
    pub(crate) fn ranked_by_scope(&mut self) -> Vec<Alert> {
        let redo_all = !self.scopes.filled || self.scopes.all_dirty;
        let all = std::mem::take(&mut self.matched);
        let mut groups: HashMap<Scope, Vec<Arc<Matched>>> = HashMap::new();
        for m in &all {
            let s = event_scope(&m.event);
            if redo_all || self.scopes.dirty.contains(&s) {
                groups.entry(s).or_default().push(m.clone());
            }
        }
        if redo_all {
            self.scopes.found.clear();
        } else {
            for s in &self.scopes.dirty {
                self.scopes.found.remove(s);
            }
        }
        for (scope, matched) in groups {
            self.matched = matched;
            let alerts = self.alerts_now(None);
            self.scopes
                .found
                .insert(scope, (alerts, self.open_sequences));
        }
        self.matched = all;
        self.scopes.dirty.clear();
        self.scopes.all_dirty = false;
        self.scopes.filled = true;
        self.open_sequences = self.scopes.found.values().map(|(_, open)| open).sum();
        let alerts: Vec<Alert> = self
            .scopes
            .found
            .values()
            .flat_map(|(a, _)| a.iter().cloned())
            .collect();
        self.rank_and_fold(alerts)
    }
}
