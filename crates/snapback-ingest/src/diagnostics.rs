//! Diagnostics in bounded memory: the first N of each reason, the rest counted.
//!
//! A file of ten million broken records gives ten million diagnostics of one reason; kept
//! whole they took 2–4 GB (about 210 bytes each) and printed ten million lines. The reader
//! hands on the first [`IngestOptions::max_diagnostics_per_reason`](crate::IngestOptions) of
//! each reason (100 by default) and counts the others in
//! [`Summary::diagnostics_not_shown`](crate::Summary), by reason. The records themselves are
//! counted as before (`Summary::skipped`): only the lines that say so are capped.

use std::collections::BTreeMap;

use crate::Diagnostic;

/// How many diagnostics of each reason a read hands on by default.
pub const DEFAULT_DIAGNOSTICS_PER_REASON: usize = 100;

/// The first `per_reason` diagnostics of each reason, in order; the others only counted.
/// Memory is bounded by `per_reason` times the number of reasons (a fixed set of
/// `&'static str`), however many diagnostics are pushed.
#[derive(Debug, Clone)]
pub struct Diagnostics {
    per_reason: usize,
    seen: BTreeMap<&'static str, u64>,
    kept: Vec<Diagnostic>,
    not_kept: BTreeMap<&'static str, u64>,
}

impl Diagnostics {
    pub fn new(per_reason: usize) -> Self {
        Diagnostics {
            per_reason,
            seen: BTreeMap::new(),
            kept: Vec::new(),
            not_kept: BTreeMap::new(),
        }
    }

    /// Count `d`; true when it is among the first `per_reason` of its reason (it should be
    /// shown), false when it was only counted.
    pub fn admit(&mut self, d: &Diagnostic) -> bool {
        let seen = self.seen.entry(d.reason).or_default();
        *seen += 1;
        if *seen <= self.per_reason as u64 {
            true
        } else {
            *self.not_kept.entry(d.reason).or_default() += 1;
            false
        }
    }

    /// [`admit`](Self::admit) `d`, and keep it when admitted.
    pub fn push(&mut self, d: &Diagnostic) {
        if self.admit(d) {
            self.kept.push(d.clone());
        }
    }

    /// The diagnostics kept, in the order they were pushed.
    pub fn kept(&self) -> &[Diagnostic] {
        &self.kept
    }

    /// The diagnostics kept, and the counts by reason of those that were not.
    pub fn into_parts(self) -> (Vec<Diagnostic>, BTreeMap<&'static str, u64>) {
        (self.kept, self.not_kept)
    }

    /// How many diagnostics of each reason were counted and not kept.
    pub fn not_kept(&self) -> &BTreeMap<&'static str, u64> {
        &self.not_kept
    }

    /// How many diagnostics were counted, kept or not.
    pub fn total(&self) -> u64 {
        self.seen.values().sum()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::Severity;

    fn diag(reason: &'static str, record: u64) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            file: Arc::from("f.json"),
            record: Some(record),
            offset: None,
            reason,
            detail: "x".repeat(150),
        }
    }

    #[test]
    fn item9_a_collector_fed_millions_keeps_the_first_of_each_reason() {
        let mut d = Diagnostics::new(100);
        for i in 0..3_000_000u64 {
            d.push(&diag("invalid-json", i));
            if i % 1000 == 0 {
                d.push(&diag("bad-time", i));
            }
        }
        assert_eq!(d.kept().len(), 200);
        assert_eq!(d.total(), 3_003_000);
        let kept: Vec<u64> = d.kept().iter().filter_map(|k| k.record).take(3).collect();
        assert_eq!(kept, [0, 0, 1], "the first ones, in order");
        assert_eq!(
            d.not_kept()
                .iter()
                .map(|(k, v)| (*k, *v))
                .collect::<Vec<_>>(),
            [("bad-time", 2_900), ("invalid-json", 2_999_900)]
        );
    }

    #[test]
    fn item9_admit_counts_without_keeping() {
        let mut d = Diagnostics::new(2);
        let admitted: Vec<bool> = (0..4).map(|i| d.admit(&diag("a", i))).collect();
        assert_eq!(admitted, [true, true, false, false]);
        assert!(d.kept().is_empty());
        assert_eq!(d.not_kept().get("a"), Some(&2));
    }
}
