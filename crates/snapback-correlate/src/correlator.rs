//! The correlate stage: one type per Sigma correlation kind, behind one trait.
//!
//! A [`Correlator`] holds the open sequences of one correlation rule and is fed that rule's
//! matched events in event-time order (the order stage's job, or the batch sort); it reports
//! each sequence that completes. It keeps its state between calls, so the same code serves a
//! batch run (everything fed, then read) and a stream (fed as the watermark releases events,
//! with [`Correlator::expire`] dropping sequences whose window the watermark has closed).
//!
//! The semantics (ARCHITECTURE.md, asserted in `tests/correlation.rs`): a window is measured
//! from a sequence's first event and both ends are inclusive; each group key (one per value of
//! a fanned-out array) has its own sequences; in an ordered sequence a repeated opener replaces
//! one still waiting for its second step; beyond the open-sequence cap the oldest go first.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use snapback_rules::{CorrelationKind, RuleSet};

use crate::{Matched, Partial, Step};

/// A sequence that completed: its group key and its steps.
pub(crate) type Completed = (String, Vec<Step>);

/// The open sequences of one correlation rule.
pub(crate) trait Correlator {
    /// One event at time `t` that may take the (sorted, distinct) positions `pos` of the
    /// sequences under `key`. Returns how many sequences it opened.
    fn observe(
        &mut self,
        key: &str,
        pos: &[usize],
        m: &Arc<Matched>,
        t: Timestamp,
        out: &mut Vec<Completed>,
    ) -> u64;

    /// The open sequences, which every kind keeps the same way.
    fn sequences(&mut self) -> &mut Open;

    /// Sequences open now.
    fn open(&mut self) -> usize {
        self.sequences().count
    }

    /// Drop the sequences with the oldest start until `target` are open; returns how many went.
    fn evict(&mut self, target: usize) -> u64 {
        self.sequences().evict(target)
    }

    /// Drop the sequences whose window ended before `watermark`: no event they could still
    /// take can arrive in order. A pass calls it at its end with its newest event's time, to
    /// count the sequences still open.
    fn expire(&mut self, watermark: Timestamp) {
        self.sequences().expire(watermark)
    }
}

/// The correlator for correlation rule `c`.
pub(crate) fn for_rule(rules: &RuleSet, c: usize) -> Box<dyn Correlator> {
    let corr = &rules.correlations[c];
    let open = Open {
        span: SignedDuration::try_from(corr.timespan).unwrap_or(SignedDuration::MAX),
        by_key: HashMap::new(),
        count: 0,
    };
    let rules = corr.rules.clone();
    match &corr.kind {
        CorrelationKind::TemporalOrdered => Box::new(Ordered { open, rules }),
        CorrelationKind::Temporal => Box::new(Unordered { open, rules }),
        CorrelationKind::EventCount { gte } => Box::new(Counting {
            open,
            rules,
            gte: *gte,
            distinct_of: None,
        }),
        CorrelationKind::ValueCount { gte, .. } => Box::new(Counting {
            open,
            rules,
            gte: *gte,
            distinct_of: Some(c),
        }),
    }
}

/// Open sequences by group key, with their count and the window they must fit in.
pub(crate) struct Open {
    span: SignedDuration,
    by_key: HashMap<String, Vec<Partial>>,
    count: usize,
}

impl Open {
    /// The sequences under `key` that `t` still fits the window of (the others are dropped).
    fn live(&mut self, key: &str, t: Timestamp) -> &mut Vec<Partial> {
        let span = self.span;
        let partials = self.by_key.entry(key.to_owned()).or_default();
        let before = partials.len();
        partials.retain(|p| t.duration_since(p.start) <= span);
        self.count -= before - partials.len();
        partials
    }

    /// Drop sequences until `target` are open, fairly ([`crate::fair`]: charged to the actor
    /// of each sequence's first step, the one holding most loses its oldest start first).
    fn evict(&mut self, target: usize) -> u64 {
        if self.count <= target {
            return 0;
        }
        let mut keys: Vec<&String> = self.by_key.keys().collect();
        keys.sort();
        let mut at: Vec<(&String, usize)> = Vec::with_capacity(self.count);
        let mut charged = Vec::with_capacity(self.count);
        for k in keys {
            for (j, p) in self.by_key[k].iter().enumerate() {
                let who = p.steps.first().map(|s| crate::fair::flood_key(&s.m.event));
                charged.push((who, p.start));
                at.push((k, j));
            }
        }
        let mut going: Vec<(String, usize)> = crate::fair::victims(&charged, self.count - target)
            .into_iter()
            .map(|i| (at[i].0.clone(), at[i].1))
            .collect();
        // Highest index first within a key, so that removing one leaves the others' indices.
        going.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
        let evicted = going.len();
        for (key, j) in going {
            if let Some(ps) = self.by_key.get_mut(&key) {
                ps.remove(j);
            }
        }
        self.count -= evicted;
        self.by_key.retain(|_, ps| !ps.is_empty());
        evicted as u64
    }

    #[allow(dead_code)] // see Correlator::expire
    fn expire(&mut self, watermark: Timestamp) {
        let span = self.span;
        let mut gone = 0;
        self.by_key.retain(|_, ps| {
            let before = ps.len();
            ps.retain(|p| watermark.duration_since(p.start) <= span);
            gone += before - ps.len();
            !ps.is_empty()
        });
        self.count -= gone;
    }
}

fn step(m: &Arc<Matched>, rule: usize) -> Step {
    Step { m: m.clone(), rule }
}

/// `temporal_ordered`: the rules in their order, within the window.
struct Ordered {
    open: Open,
    rules: Vec<usize>,
}

impl Correlator for Ordered {
    fn observe(
        &mut self,
        key: &str,
        pos: &[usize],
        m: &Arc<Matched>,
        t: Timestamp,
        out: &mut Vec<Completed>,
    ) -> u64 {
        let n = self.rules.len();
        let partials = self.open.live(key, t);
        for &i in pos.iter().rev().filter(|&&i| i > 0) {
            // The most recent opener that waits for this step.
            let best = partials
                .iter_mut()
                .enumerate()
                .filter(|(_, p)| p.steps.len() == i && t >= p.last)
                .max_by_key(|(_, p)| p.start)
                .map(|(j, _)| j);
            if let Some(j) = best {
                let p = &mut partials[j];
                p.steps.push(step(m, self.rules[i]));
                p.last = t;
                if p.steps.len() == n {
                    let done = partials.remove(j);
                    self.open.count -= 1;
                    out.push((key.to_owned(), done.steps));
                }
                return 0;
            }
        }
        if !pos.contains(&0) || n < 2 {
            return 0;
        }
        // A new opener replaces one that is still waiting for its second step.
        let before = partials.len();
        partials.retain(|p| p.steps.len() > 1);
        let replaced = before - partials.len();
        partials.push(Partial {
            steps: vec![step(m, self.rules[0])],
            have: Vec::new(),
            start: t,
            last: t,
        });
        self.open.count = self.open.count - replaced + 1;
        1
    }

    fn sequences(&mut self) -> &mut Open {
        &mut self.open
    }
}

/// `temporal`: every rule, in any order, within the window.
struct Unordered {
    open: Open,
    rules: Vec<usize>,
}

impl Correlator for Unordered {
    fn observe(
        &mut self,
        key: &str,
        pos: &[usize],
        m: &Arc<Matched>,
        t: Timestamp,
        out: &mut Vec<Completed>,
    ) -> u64 {
        let n = self.rules.len();
        let i = pos[0];
        let rule = self.rules[i];
        let partials = self.open.live(key, t);
        let mut opened = 0;
        match partials.iter_mut().find(|p| !p.have[i]) {
            Some(p) => {
                p.have[i] = true;
                p.steps.push(step(m, rule));
                p.last = t;
            }
            None => {
                let mut have = vec![false; n];
                have[i] = true;
                partials.push(Partial {
                    steps: vec![step(m, rule)],
                    have,
                    start: t,
                    last: t,
                });
                opened = 1;
            }
        }
        let done = partials
            .iter()
            .position(|p| p.have.iter().all(|h| *h))
            .map(|j| partials.remove(j));
        self.open.count += opened as usize;
        if let Some(done) = done {
            self.open.count -= 1;
            out.push((key.to_owned(), done.steps));
        }
        opened
    }

    fn sequences(&mut self) -> &mut Open {
        &mut self.open
    }
}

/// `event_count` and `value_count`: enough events (or distinct values of a field, read from
/// correlation `distinct_of`'s values) within the window.
struct Counting {
    open: Open,
    rules: Vec<usize>,
    gte: u64,
    distinct_of: Option<usize>,
}

impl Correlator for Counting {
    fn observe(
        &mut self,
        key: &str,
        pos: &[usize],
        m: &Arc<Matched>,
        t: Timestamp,
        out: &mut Vec<Completed>,
    ) -> u64 {
        let rule = self.rules[pos[0]];
        let partials = self.open.live(key, t);
        let mut opened = 0;
        if partials.is_empty() {
            partials.push(Partial {
                steps: Vec::new(),
                have: Vec::new(),
                start: t,
                last: t,
            });
            opened = 1;
        }
        let p = &mut partials[0];
        p.steps.push(step(m, rule));
        p.last = t;
        let count = match self.distinct_of {
            Some(c) => {
                let mut distinct = HashSet::new();
                for s in &p.steps {
                    for v in s.m.values(c) {
                        distinct.insert(v);
                    }
                }
                distinct.len() as u64
            }
            None => p.steps.len() as u64,
        };
        let done = if count >= self.gte {
            Some(partials.remove(0))
        } else {
            None
        };
        self.open.count += opened as usize;
        if let Some(done) = done {
            self.open.count -= 1;
            out.push((key.to_owned(), done.steps));
        }
        opened
    }

    fn sequences(&mut self) -> &mut Open {
        &mut self.open
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn partial(start: &str) -> Partial {
        let t: Timestamp = start.parse().unwrap();
        Partial {
            steps: Vec::new(),
            have: Vec::new(),
            start: t,
            last: t,
        }
    }

    /// Sequences under "a" that start at 09:00 and 09:30, and one under "b" at `b`; 1 h window.
    fn three_open(b: &str) -> Open {
        let mut open = Open {
            span: SignedDuration::from_hours(1),
            by_key: HashMap::new(),
            count: 3,
        };
        open.by_key.insert(
            "a".into(),
            vec![
                partial("2026-01-01T09:00:00Z"),
                partial("2026-01-01T09:30:00Z"),
            ],
        );
        open.by_key.insert("b".into(), vec![partial(b)]);
        open
    }

    #[test]
    fn expiry_drops_sequences_whose_window_the_watermark_closed_and_keeps_the_edge() {
        let mut open = three_open("2026-01-01T08:59:59Z");
        // 10:00 - 09:00 is the window exactly: still open (both ends inclusive).
        open.expire("2026-01-01T10:00:00Z".parse().unwrap());
        assert_eq!(open.count, 2);
        assert_eq!(open.by_key["a"].len(), 2);
        assert!(!open.by_key.contains_key("b"));
        open.expire("2026-01-01T10:00:01Z".parse().unwrap());
        assert_eq!(open.count, 1);
    }

    #[test]
    fn eviction_takes_the_oldest_starts_first() {
        let mut open = three_open("2026-01-01T09:10:00Z");
        assert_eq!(open.evict(1), 2);
        assert_eq!(
            open.by_key["a"][0].start.to_string(),
            "2026-01-01T09:30:00Z"
        );
        assert!(!open.by_key.contains_key("b"));
    }
}
