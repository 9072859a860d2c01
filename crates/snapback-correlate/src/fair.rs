//! Fair eviction: state beyond a cap is taken from whoever holds most of it (issue 13 item 7).
//!
//! Every piece of correlation state (a retained matched event, an open sequence, a remembered
//! operation) is charged to the principal whose record made it: its [`FloodKey`], the cloud,
//! account and actor of that record. When a cap is reached, eviction takes one piece at a
//! time from the key charged with most, its oldest first. A principal who floods the detector
//! with calls therefore evicts its own state first, and the state of anyone else survives
//! until the flooder holds no more than they do. Oldest-first eviction, which this replaces,
//! let one principal push out everyone's state, including the stop that a later start would
//! have completed into an alert.
//!
//! What this does not hold against: an attacker who controls many principals (one flood per
//! principal, each the size of the victim's state). Each of them then holds no more than the
//! victim, and eviction goes by age among equals. Admission ([`crate::Detector`] keeps no
//! failed or dry-run call that no rule can use) removes the cheapest flood altogether; the
//! caps themselves are sized (docs/architecture.md §2.9) so that reaching them takes traffic
//! that is itself a signal.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};

use jiff::Timestamp;
use snapback_model::{Cloud, Event};

/// Who a piece of state is charged to.
pub(crate) type FloodKey = (Cloud, String, String);

/// The flood key of the record that made a piece of state: its cloud, account and actor.
pub(crate) fn flood_key(e: &Event) -> FloodKey {
    (e.cloud, e.account.clone(), e.actor.display().to_owned())
}

/// The indices of `items` (each a key and an age) to evict so that `excess` go: one at a time
/// from the key holding most, that key's oldest first; between keys holding as many, the one
/// whose oldest is older. Deterministic for the same items in the same order.
pub(crate) fn victims<K: Ord>(items: &[(K, Timestamp)], excess: usize) -> Vec<usize> {
    let mut groups: BTreeMap<&K, Vec<usize>> = BTreeMap::new();
    for (i, (k, _)) in items.iter().enumerate() {
        groups.entry(k).or_default().push(i);
    }
    let mut groups: Vec<Vec<usize>> = groups.into_values().collect();
    for g in &mut groups {
        // Newest first, so that the oldest is popped from the end.
        g.sort_by_key(|&i| Reverse((items[i].1, i)));
    }
    let mut heap: BinaryHeap<(usize, Reverse<Timestamp>, Reverse<usize>)> = groups
        .iter()
        .enumerate()
        .filter_map(|(g, v)| {
            v.last()
                .map(|&i| (v.len(), Reverse(items[i].1), Reverse(g)))
        })
        .collect();
    let mut out = Vec::with_capacity(excess.min(items.len()));
    while out.len() < excess {
        let Some((_, _, Reverse(g))) = heap.pop() else {
            break;
        };
        let group = &mut groups[g];
        if let Some(i) = group.pop() {
            out.push(i);
        }
        if let Some(&next) = group.last() {
            heap.push((group.len(), Reverse(items[next].1), Reverse(g)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: i64) -> Timestamp {
        Timestamp::from_second(1_700_000_000 + s).unwrap()
    }

    #[test]
    fn the_key_holding_most_loses_its_oldest_first() {
        // "victim" holds the oldest item; "flood" holds ten newer ones.
        let mut items = vec![("victim", t(0))];
        items.extend((1..=10).map(|s| ("flood", t(s))));
        let v = victims(&items, 9);
        assert_eq!(v, (1..=9).collect::<Vec<_>>());
        // Evicting ten leaves one each; the eleventh goes by age among equals.
        let v = victims(&items, 11);
        assert_eq!(v.len(), 11);
        assert_eq!(
            v[9], 0,
            "among equal holders the older item goes first: {v:?}"
        );
    }

    #[test]
    fn more_than_there_is_evicts_everything_once() {
        let items = vec![("a", t(3)), ("b", t(1)), ("a", t(2))];
        let mut v = victims(&items, 10);
        v.sort_unstable();
        assert_eq!(v, vec![0, 1, 2]);
        assert!(victims(&items, 0).is_empty());
    }
}
