//! The order stage: event-time order, a watermark, a reorder buffer and duplicate detection.
//!
//! Events arrive in file or network order; correlation must see them in event-time order, or a
//! `StartInstances` delivered before the `StopInstances` that preceded it would not close a
//! stop/start. [`Order`] buffers what arrives and releases it in [`Ordered::key`] order once the
//! **watermark** (the largest event time seen minus the allowed lateness) has passed it:
//!
//! - `Lateness::Bounded(d)` (`watch`, `consume`): an event is released once the watermark
//!   reaches its time. One that arrives behind what was already released (the state that could
//!   have used it has moved on) is **late**: it is not released (it would reach correlation out
//!   of order) but counted and handed back to the caller, never dropped silently. Events that
//!   arrive together, before a release, are put in order whatever their spread.
//! - `Lateness::Unbounded` (`scan`): nothing is released until [`Order::end_of_input`]; then
//!   everything goes, in order. File order never matters.
//!
//! Events with the same record id are **duplicates** (a record delivered twice) and count once.
//! An id is remembered until what was released is past its event time: a copy that arrives
//! after that is behind the released events anyway, and counted late.
//!
//! The buffer is **bounded**: beyond `max_buffered`, the oldest tenth is released early (the
//! watermark is forced forward), counted in [`OrderStats::forced_releases`]; events that later
//! arrive behind it are late. Nothing is thrown away to stay under the cap.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};

/// How long after an event's time it may still arrive and be put in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lateness {
    Bounded(SignedDuration),
    /// Until the end of input (`scan`).
    Unbounded,
}

/// What the order stage needs of an item: its place in event-time order and its identity.
pub trait Ordered {
    /// Event time, then the record's position (file, record index): ties are stable.
    fn key(&self) -> OrderKey;
    /// A digest of (cloud, account, event id): two items with the same id are one record.
    fn record_id(&self) -> u128;
    /// What order matters within: correlation never links events of different clouds or
    /// accounts, so one account's delivery running behind another's is not lateness.
    fn scope(&self) -> u64 {
        0
    }
}

/// The total order of events: event time, then file, then the record's byte offset in it
/// (its place in the file, known however the file was read).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OrderKey {
    pub time: Timestamp,
    pub file: Arc<str>,
    pub offset: u64,
}

/// What [`Order::admit`] did with an item.
#[derive(Debug)]
pub enum Admitted<T> {
    /// Buffered until the watermark passes it.
    Buffered,
    /// A record already admitted: counted, not kept.
    Duplicate,
    /// Behind what was already released: counted and handed back.
    Late(T),
}

/// Counts of the order stage.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrderStats {
    pub admitted: u64,
    pub duplicates: u64,
    pub late: u64,
    pub released: u64,
    /// Items released before the watermark reached them because the buffer was full.
    pub forced_releases: u64,
}

/// The order stage. `T` is what flows on: an event with what correlation needs of it.
pub struct Order<T> {
    lateness: Lateness,
    max_buffered: usize,
    /// The largest event time admitted.
    max_seen: Option<Timestamp>,
    buffer: BTreeMap<OrderKey, T>,
    /// The last key released, and the last by scope: an arrival at or before its scope's is
    /// late.
    released_to: Option<OrderKey>,
    released_by_scope: HashMap<u64, OrderKey>,
    /// Record ids and the event time each is kept for, with a time index for expiry.
    ids: HashMap<u128, Timestamp>,
    ids_by_time: BTreeSet<(Timestamp, u128)>,
    ended: bool,
    stats: OrderStats,
}

impl<T: Ordered> Order<T> {
    pub fn new(lateness: Lateness, max_buffered: usize) -> Self {
        Order {
            lateness,
            max_buffered: max_buffered.max(1),
            max_seen: None,
            buffer: BTreeMap::new(),
            released_to: None,
            released_by_scope: HashMap::new(),
            ids: HashMap::new(),
            ids_by_time: BTreeSet::new(),
            ended: false,
            stats: OrderStats::default(),
        }
    }

    /// The watermark: the largest event time seen minus the lateness; `None` before any event
    /// and, under `Unbounded`, until the end of input (then [`Timestamp::MAX`]).
    pub fn watermark(&self) -> Option<Timestamp> {
        if self.ended {
            return Some(Timestamp::MAX);
        }
        match self.lateness {
            Lateness::Unbounded => None,
            Lateness::Bounded(d) => self
                .max_seen
                .map(|t| t.checked_sub(d).unwrap_or(Timestamp::MIN)),
        }
    }

    /// Take one item.
    pub fn admit(&mut self, item: T) -> Admitted<T> {
        let key = item.key();
        let id = item.record_id();
        if self.ids.contains_key(&id) {
            self.stats.duplicates += 1;
            return Admitted::Duplicate;
        }
        // Behind what was released of its scope, it would reach correlation out of order.
        let scope = item.scope();
        if self
            .released_by_scope
            .get(&scope)
            .is_some_and(|r| key <= *r)
        {
            self.stats.late += 1;
            return Admitted::Late(item);
        }
        self.stats.admitted += 1;
        self.max_seen = Some(self.max_seen.map_or(key.time, |m| m.max(key.time)));
        self.ids.insert(id, key.time);
        self.ids_by_time.insert((key.time, id));
        self.buffer.insert(key, item);
        Admitted::Buffered
    }

    /// Release, in order, everything the watermark has passed, and everything beyond the
    /// buffer's cap (oldest first, down to 90% of it).
    pub fn release(&mut self, out: &mut Vec<T>) {
        if let Some(w) = self.watermark() {
            while let Some(entry) = self.buffer.first_entry() {
                if entry.key().time > w {
                    break;
                }
                let item = entry.remove();
                self.mark_released(&item);
                out.push(item);
                self.stats.released += 1;
            }
        }
        if self.buffer.len() > self.max_buffered {
            let target = self.max_buffered - self.max_buffered / 10;
            while self.buffer.len() > target {
                let Some((_, item)) = self.buffer.pop_first() else {
                    break;
                };
                self.mark_released(&item);
                out.push(item);
                self.stats.released += 1;
                self.stats.forced_releases += 1;
            }
        }
        self.expire_ids();
    }

    /// The input ended: the watermark goes to the end of time.
    pub fn end_of_input(&mut self) {
        self.ended = true;
    }

    fn mark_released(&mut self, item: &T) {
        let key = item.key();
        self.released_by_scope.insert(item.scope(), key.clone());
        self.released_to = Some(key);
    }

    /// The time of the last item released: everything up to it went on, in order.
    pub fn released_through(&self) -> Option<Timestamp> {
        self.released_to.as_ref().map(|r| r.time)
    }

    /// Items waiting for the watermark.
    pub fn buffered(&self) -> usize {
        self.buffer.len()
    }

    /// Record ids remembered for duplicate detection.
    pub fn remembered_ids(&self) -> usize {
        self.ids.len()
    }

    pub fn stats(&self) -> &OrderStats {
        &self.stats
    }

    /// Forget ids whose copies can only arrive late now: those older than what was released
    /// (by the lateness, under a bounded one, since another scope may run that far behind).
    fn expire_ids(&mut self) {
        let Some(mut released) = self.released_to.as_ref().map(|r| r.time) else {
            return;
        };
        if let Lateness::Bounded(d) = self.lateness {
            released = released.checked_sub(d).unwrap_or(Timestamp::MIN);
        }
        while let Some(&(t, id)) = self.ids_by_time.first() {
            if t >= released {
                break;
            }
            self.ids_by_time.pop_first();
            self.ids.remove(&id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, PartialEq)]
    struct Item {
        t: &'static str,
        file: &'static str,
        record: u64,
        id: u128,
    }

    impl Ordered for Item {
        fn key(&self) -> OrderKey {
            OrderKey {
                time: self.t.parse().unwrap(),
                file: self.file.into(),
                offset: self.record,
            }
        }
        fn record_id(&self) -> u128 {
            self.id
        }
    }

    fn item(t: &'static str, record: u64, id: u128) -> Item {
        Item {
            t,
            file: "f",
            record,
            id,
        }
    }

    fn minutes(n: i64) -> Lateness {
        Lateness::Bounded(SignedDuration::from_mins(n))
    }

    fn ids(v: &[Item]) -> Vec<u128> {
        v.iter().map(|i| i.id).collect()
    }

    #[test]
    fn releases_in_event_time_order_once_the_watermark_passes() {
        let mut o = Order::new(minutes(15), 100);
        let mut out = Vec::new();
        o.admit(item("2026-01-01T10:10:00Z", 0, 2));
        o.admit(item("2026-01-01T10:00:00Z", 1, 1));
        o.release(&mut out);
        assert!(out.is_empty(), "watermark 09:55 passes nothing");
        o.admit(item("2026-01-01T10:25:00Z", 2, 3));
        o.release(&mut out);
        // Watermark 10:10: both earlier events, in time order; the edge is inclusive.
        assert_eq!(ids(&out), [1, 2]);
        assert_eq!(o.watermark(), Some("2026-01-01T10:10:00Z".parse().unwrap()));
        o.end_of_input();
        o.release(&mut out);
        assert_eq!(ids(&out), [1, 2, 3]);
    }

    #[test]
    fn an_event_behind_what_was_released_is_late_and_handed_back() {
        let mut o = Order::new(minutes(15), 100);
        let mut out = Vec::new();
        o.admit(item("2026-01-01T10:00:00Z", 0, 1));
        o.admit(item("2026-01-01T10:30:00Z", 1, 2));
        o.release(&mut out);
        assert_eq!(ids(&out), [1]);
        // Within the lateness of the newest event but behind the released one: late.
        match o.admit(item("2026-01-01T09:59:59Z", 2, 3)) {
            Admitted::Late(i) => assert_eq!(i.id, 3),
            other => panic!("{other:?}"),
        }
        // After the released one, within the lateness: put in order.
        assert!(matches!(
            o.admit(item("2026-01-01T10:20:00Z", 3, 4)),
            Admitted::Buffered
        ));
        o.end_of_input();
        o.release(&mut out);
        assert_eq!(ids(&out), [1, 4, 2]);
        assert_eq!(o.stats().late, 1);
    }

    #[test]
    fn unbounded_lateness_releases_nothing_until_the_end() {
        let mut o = Order::new(Lateness::Unbounded, 1_000);
        let mut out = Vec::new();
        for (i, t) in [
            "2026-01-02T00:00:00Z",
            "2026-01-01T00:00:00Z",
            "2025-12-31T00:00:00Z",
        ]
        .into_iter()
        .enumerate()
        {
            o.admit(item(t, i as u64, i as u128));
            o.release(&mut out);
        }
        assert!(out.is_empty());
        o.end_of_input();
        o.release(&mut out);
        assert_eq!(ids(&out), [2, 1, 0]);
    }

    #[test]
    fn a_record_delivered_twice_counts_once() {
        let mut o = Order::new(minutes(15), 100);
        o.admit(item("2026-01-01T10:00:00Z", 0, 7));
        assert!(matches!(
            o.admit(item("2026-01-01T10:00:00Z", 5, 7)),
            Admitted::Duplicate
        ));
        assert_eq!(o.stats().duplicates, 1);
        assert_eq!(o.buffered(), 1);
    }

    #[test]
    fn ids_are_forgotten_once_a_copy_could_only_be_late() {
        let mut o = Order::new(minutes(15), 100);
        let mut out = Vec::new();
        o.admit(item("2026-01-01T10:00:00Z", 0, 1));
        o.admit(item("2026-01-01T10:10:00Z", 1, 2));
        o.admit(item("2026-01-01T10:26:00Z", 2, 3));
        o.release(&mut out);
        assert_eq!(ids(&out), [1, 2]);
        // Released to 10:10: ids from 09:55 on are kept (another scope may run that late).
        assert_eq!(o.remembered_ids(), 3);
        assert!(matches!(
            o.admit(item("2026-01-01T10:00:00Z", 9, 1)),
            Admitted::Duplicate
        ));
        o.admit(item("2026-01-01T10:41:00Z", 3, 4));
        o.release(&mut out);
        assert_eq!(ids(&out), [1, 2, 3]);
        assert_eq!(
            o.remembered_ids(),
            2,
            "released to 10:26: ids before 10:11 forgotten"
        );
        match o.admit(item("2026-01-01T10:00:00Z", 9, 1)) {
            Admitted::Late(_) => {}
            other => panic!("a copy after its id expired is late: {other:?}"),
        }
    }

    #[test]
    fn one_scope_running_behind_another_is_not_late() {
        #[derive(Debug)]
        struct Scoped(Item, u64);
        impl Ordered for Scoped {
            fn key(&self) -> OrderKey {
                self.0.key()
            }
            fn record_id(&self) -> u128 {
                self.0.id
            }
            fn scope(&self) -> u64 {
                self.1
            }
        }
        let mut o = Order::new(minutes(15), 100);
        let mut out = Vec::new();
        o.admit(Scoped(item("2026-01-01T13:00:00Z", 0, 1), 1));
        o.admit(Scoped(item("2026-01-01T13:30:00Z", 1, 2), 1));
        o.release(&mut out);
        assert_eq!(out.len(), 1);
        // The other account's delivery, an hour behind: put in order, not late.
        assert!(matches!(
            o.admit(Scoped(item("2026-01-01T12:50:00Z", 0, 3), 2)),
            Admitted::Buffered
        ));
        // The first account's own past: late.
        assert!(matches!(
            o.admit(Scoped(item("2026-01-01T12:59:00Z", 5, 4), 1)),
            Admitted::Late(_)
        ));
    }

    #[test]
    fn events_that_arrive_together_are_put_in_order_whatever_their_spread() {
        let mut o = Order::new(minutes(15), 100);
        let mut out = Vec::new();
        o.admit(item("2026-01-01T13:00:00Z", 0, 1));
        assert!(matches!(
            o.admit(item("2026-01-01T09:00:00Z", 1, 2)),
            Admitted::Buffered
        ));
        o.release(&mut out);
        assert_eq!(ids(&out), [2]);
    }

    #[test]
    fn a_full_buffer_releases_its_oldest_tenth_early_and_counts_it() {
        let mut o = Order::new(Lateness::Unbounded, 10);
        let mut out = Vec::new();
        let times = [
            "2026-01-01T10:00:00Z",
            "2026-01-01T10:01:00Z",
            "2026-01-01T10:02:00Z",
            "2026-01-01T10:03:00Z",
            "2026-01-01T10:04:00Z",
            "2026-01-01T10:05:00Z",
            "2026-01-01T10:06:00Z",
            "2026-01-01T10:07:00Z",
            "2026-01-01T10:08:00Z",
            "2026-01-01T10:09:00Z",
            "2026-01-01T10:10:00Z",
        ];
        for (i, t) in times.into_iter().enumerate().rev() {
            o.admit(item(t, i as u64, i as u128));
        }
        o.release(&mut out);
        assert_eq!(ids(&out), [0, 1]);
        assert_eq!(o.stats().forced_releases, 2);
        assert!(matches!(
            o.admit(item("2026-01-01T10:00:30Z", 20, 20)),
            Admitted::Late(_)
        ));
    }
}
