//! Matches that do not count because of another record of the same operation
//! (`snapback.unless_operation_matches` of a detection rule).
//!
//! An Azure write is logged as several records (Start, Accept, Success) and a Google Cloud
//! long-running call as a first and a last entry; only one of them carries the request body.
//! A rule about "a VM write whose request body was not logged" is therefore true of the
//! Success record of every write, body or not. The rule names, in `unless_operation_matches`,
//! a rule that matches the records that do carry what it is about; a match counts only when
//! no record of the same operation (the same [`snapback_model::Event::act`]) in the input
//! matched one of those.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use snapback_model::Cloud;
use snapback_rules::RuleSet;

use crate::Matched;

/// `(record digest, detection)` of the matches that do not count. Only events that matched a
/// rule with `unless_operation_matches`, or a rule one names, are looked at.
pub(crate) fn voided(rules: &RuleSet, matched: &[Arc<Matched>]) -> HashSet<(u128, usize)> {
    let mut out = HashSet::new();
    let named: HashSet<usize> = rules
        .detections
        .iter()
        .flat_map(|d| d.unless_operation.iter().copied())
        .collect();
    if named.is_empty() {
        return out;
    }
    let mut by_op: HashMap<(Cloud, String), HashSet<usize>> = HashMap::new();
    for m in matched {
        if m.rules.iter().any(|r| named.contains(r)) {
            by_op
                .entry((m.event.cloud, m.event.act()))
                .or_default()
                .extend(m.rules.iter().copied());
        }
    }
    for m in matched {
        let conditional = m
            .rules
            .iter()
            .copied()
            .filter(|&r| !rules.detections[r].unless_operation.is_empty());
        let mut op_rules = None;
        for r in conditional {
            let rs = op_rules.get_or_insert_with(|| by_op.get(&(m.event.cloud, m.event.act())));
            let unless = &rules.detections[r].unless_operation;
            if rs.is_some_and(|rs| unless.iter().any(|u| rs.contains(u))) {
                out.insert((m.id, r));
            }
        }
    }
    out
}
