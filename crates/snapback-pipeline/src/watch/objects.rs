//! Watching a prefix of a cloud store (`s3://`, `az://`, `gs://`) for new objects.
//!
//! The pipeline knows a store only through [`ObjectSource`] (the binary implements it over
//! `snapback-objstore`, which owns every client name): a pruned walk of the prefix, a listing
//! of one layout partition after a key, a key's partition, and ingest's
//! [`RemoteInput`] to read objects exactly as `scan` reads them.
//!
//! Why the polling is as it is:
//!
//! - **Start**: one pruned walk. With a state, it starts one day before the newest partition
//!   the state knows (plus the layout's own day of delivery margin), so a restart over a
//!   ten-year bucket lists days, not years; objects whose ETag the state holds are not read.
//! - **Every poll**: the [`RELISTED`] newest partitions of each root (an account's region, a
//!   subscription, a log) are listed after their cursor ([`Cursors`]). Two, because the
//!   clouds file an object under the period of its *delivery*: at a period's turn, uploads in
//!   flight land in the older partition after the first key of the newer one was seen, and
//!   every root (region) turns on its own. Older partitions receive nothing in practice.
//! - **The cursor lags by [`SETTLE`]**: a listing starts after the greatest key whose object,
//!   and every object before it in its partition, was last modified [`SETTLE`] ago. Keys of
//!   one period arrive nearly, not exactly, in key order (CloudTrail's names end in a random
//!   part; two deliveries of one minute race), and an Azure `PT1H.json` is appended to during
//!   its hour: its ETag changes and it must be listed again. ETags, not cursors, say what was
//!   read: an object listed again with the same ETag is not fetched.
//! - **New partitions and new roots** (the next day, a new region) are found by a pruned walk
//!   from the newest partition known, every [`WALK_EVERY`] polls (every poll while none is
//!   known: a prefix watched before anything was delivered).

use std::collections::{BTreeMap, HashMap};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex};

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use snapback_ingest::{RemoteInput, RemoteObject, RemoteProblem};

use super::source::{sleep, Pace, Unit};

/// Partitions of each root listed after their cursor every poll.
pub const RELISTED: usize = 2;
/// How long after its last modification an object's key is taken as settled in its partition.
pub const SETTLE: SignedDuration = SignedDuration::from_mins(15);
/// Polls between two walks that look for new partitions and roots.
pub const WALK_EVERY: u64 = 10;
/// How far before where walks start a partition must begin for its objects to be forgotten
/// ([`Cursors::reach`]): a day of margin beyond the day walks already look back.
pub const FORGET_AFTER: SignedDuration = SignedDuration::from_hours(24);

/// One object a listing found, with its last modification (the cursor's lag needs it).
#[derive(Debug, Clone)]
pub struct Listed {
    pub object: RemoteObject,
    pub modified: Option<Timestamp>,
}

/// A key's layout partition: the folder of its finest date part, its root (the folders above
/// the first date part) and the first instant it covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partition {
    pub prefix: String,
    pub root: String,
    pub start: Timestamp,
}

/// A store prefix as `watch` polls it. Implemented over `snapback-objstore` by the binary.
pub trait ObjectSource: RemoteInput {
    /// The prefix's key (what objects' keys start with).
    fn prefix(&self) -> &str;
    /// The URL of `key` in this store: provenance and the state's keys.
    fn url_of(&self, key: &str) -> String;
    /// Every object under the prefix whose layout dates may hold events at or after `since`
    /// (everything without it), and the folders that could not be listed.
    fn walk(&self, since: Option<Timestamp>) -> (Vec<Listed>, Vec<RemoteProblem>);
    /// The objects under `prefix` whose keys sort after `after`, in key order.
    fn list_after(&self, prefix: &str, after: Option<&str>) -> Result<Vec<Listed>, RemoteProblem>;
    /// The layout partition of `key`, when it holds a whole date of the layout.
    fn partition(&self, key: &str) -> Option<Partition>;
}

/// An object read whole (`etags` table): what it was, and its newest event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectDone {
    pub key: String,
    pub size: u64,
    /// What says it is the same object: its ETag (else its version, else its size).
    pub tag: String,
    pub etag: Option<String>,
    pub version: Option<String>,
    /// Seconds since the epoch of its newest event (`i64::MIN` when it had none).
    pub newest: i64,
}

/// The tag that says an object is the one read before.
pub fn tag_of(o: &RemoteObject) -> String {
    match (&o.etag, &o.version) {
        (Some(e), _) => format!("etag:{e}"),
        (None, Some(v)) => format!("version:{v}"),
        (None, None) => format!("size:{}", o.size),
    }
}

impl ObjectDone {
    pub fn of(o: &RemoteObject, newest: i64) -> ObjectDone {
        ObjectDone {
            key: o.key.to_string(),
            size: o.size,
            tag: tag_of(o),
            etag: o.etag.as_deref().map(str::to_owned),
            version: o.version.as_deref().map(str::to_owned),
            newest,
        }
    }

    /// The object as ingest reads it, pinned to the version read.
    pub fn object(&self, url: &str) -> RemoteObject {
        RemoteObject {
            name: url.into(),
            key: self.key.as_str().into(),
            size: self.size,
            etag: self.etag.as_deref().map(Into::into),
            version: self.version.as_deref().map(Into::into),
        }
    }
}

/// A partition's cursor (`objects` table): the greatest key seen in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionDone {
    pub last: String,
    /// Seconds since the epoch of the first instant it covers.
    pub start: i64,
}

#[derive(Debug, Clone)]
struct Cursor {
    root: String,
    start: Timestamp,
    last: String,
    /// Listings start after this key: it and every key before it settled.
    floor: Option<String>,
    /// Keys after `floor` seen, with their last modification.
    recent: BTreeMap<String, Option<Timestamp>>,
}

/// The cursors of one watched prefix, per layout partition.
#[derive(Debug, Default)]
pub struct Cursors {
    parts: BTreeMap<String, Cursor>,
}

impl Cursors {
    /// Note a listed object of `partition`.
    pub fn note(&mut self, partition: &Partition, key: &str, modified: Option<Timestamp>) {
        let c = self
            .parts
            .entry(partition.prefix.clone())
            .or_insert_with(|| Cursor {
                root: partition.root.clone(),
                start: partition.start,
                last: String::new(),
                floor: None,
                recent: BTreeMap::new(),
            });
        if key > c.last.as_str() {
            c.last = key.to_owned();
        }
        if c.floor.as_deref().is_none_or(|f| key > f) {
            c.recent.insert(key.to_owned(), modified);
        }
    }

    /// Move each partition's floor over the keys that settled by `now`.
    pub fn settle(&mut self, now: Timestamp) {
        let settled = now.checked_sub(SETTLE).unwrap_or(Timestamp::MIN);
        for c in self.parts.values_mut() {
            while let Some((k, m)) = c.recent.first_key_value() {
                if m.is_some_and(|m| m >= settled) {
                    break;
                }
                c.floor = Some(k.clone());
                c.recent.pop_first();
            }
        }
    }

    /// What to list this poll: the [`RELISTED`] newest partitions of each root, each after
    /// its floor.
    pub fn relist(&self) -> Vec<(String, Option<String>)> {
        let mut by_root: HashMap<&str, Vec<(&Timestamp, &String, &Cursor)>> = HashMap::new();
        for (p, c) in &self.parts {
            by_root
                .entry(c.root.as_str())
                .or_default()
                .push((&c.start, p, c));
        }
        let mut out = Vec::new();
        for mut parts in by_root.into_values() {
            parts.sort_by(|a, b| b.0.cmp(a.0).then(b.1.cmp(a.1)));
            for (_, p, c) in parts.into_iter().take(RELISTED) {
                out.push((p.clone(), c.floor.clone()));
            }
        }
        out.sort();
        out
    }

    /// Where a walk for new partitions starts: a day before the newest partition known.
    pub fn walk_since(&self) -> Option<Timestamp> {
        let newest = self.parts.values().map(|c| c.start).max()?;
        newest.checked_sub(SignedDuration::from_hours(24)).ok()
    }

    /// What listings still reach; `None` before anything was listed.
    pub fn reach(&self) -> Option<Reach> {
        let line = self.walk_since()?.checked_sub(FORGET_AFTER).ok()?;
        let listed = self.relist().into_iter().map(|(p, _)| p).collect();
        Some(Reach { line, listed })
    }

    /// Forget the cursors of the partitions `reach` does not reach: their prefixes.
    pub fn forget_unreached(&mut self, reach: &Reach) -> Vec<String> {
        let gone: Vec<String> = self
            .parts
            .iter()
            .filter(|(p, c)| !reach.reaches(p, c.start))
            .map(|(p, _)| p.clone())
            .collect();
        for p in &gone {
            self.parts.remove(p);
        }
        gone
    }

    pub fn is_empty(&self) -> bool {
        self.parts.is_empty()
    }

    /// Each partition's cursor, for the state.
    pub fn done(&self) -> impl Iterator<Item = (&str, PartitionDone)> {
        self.parts.iter().map(|(p, c)| {
            let done = PartitionDone {
                last: c.last.clone(),
                start: c.start.as_second(),
            };
            (p.as_str(), done)
        })
    }
}

/// Which partitions a listing can still reach: those among the [`RELISTED`] newest of their
/// root, and those starting no more than [`FORGET_AFTER`] before where walks start (a
/// restart's walk starts there too). The objects read in any other partition (and its
/// cursor) are forgotten: a watcher running for years keeps a few days of ETags, not every
/// object it ever read. Should a listing ever offer such an object again, it is read again:
/// its events are duplicates the detector drops, or late events it counts.
#[derive(Debug)]
pub struct Reach {
    line: Timestamp,
    listed: std::collections::HashSet<String>,
}

impl Reach {
    pub fn reaches(&self, prefix: &str, start: Timestamp) -> bool {
        start >= self.line || self.listed.contains(prefix)
    }
}

/// What a prefix's watcher starts from: the objects read (URL → what was read) and the
/// partitions' cursors (partition key → cursor) of earlier runs.
#[derive(Debug, Default, Clone)]
pub struct Resumed {
    pub read: HashMap<String, Seen>,
    pub partitions: Vec<(String, PartitionDone)>,
}

/// An object read (or sent to be read): the tag read, and its key (which says its partition).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub tag: String,
    pub key: String,
}

/// Objects whose reading failed in the loop: forgotten by their watcher, so that a later
/// listing offers them again (a throttled object is read once the store lets it).
pub type Retry = Arc<Mutex<Vec<String>>>;

/// Poll `source` until stopped (or once under `--once`), sending each batch of objects not
/// read before as one unit, with the cursors it moved.
pub fn watch_prefix(
    source: Arc<dyn ObjectSource>,
    resumed: Resumed,
    pace: Pace,
    tx: Sender<Unit>,
    retry: Retry,
) {
    let saved_parts = resumed
        .partitions
        .iter()
        .map(|(url, p)| (url.clone(), p.start))
        .collect();
    let mut poller = Poller {
        saved_parts,
        read: resumed.read,
        cursors: Cursors::default(),
        source,
    };
    // With a state, the first walk starts a day before the newest partition it knows.
    let since = resumed
        .partitions
        .iter()
        .map(|(_, p)| p.start)
        .max()
        .and_then(|s| Timestamp::from_second(s - 24 * 3600).ok());
    let mut polls: u64 = 0;
    let mut walk = Some(since);
    loop {
        if let Ok(mut failed) = retry.lock() {
            for url in failed.drain(..) {
                poller.read.remove(&url);
            }
        }
        let (listed, problems) = match walk {
            Some(since) => poller.source.walk(since),
            None => poller.relist(),
        };
        let walked = walk.is_some();
        let unit = poller.take(listed, problems);
        if !unit_is_empty(&unit) && tx.send(unit).is_err() {
            return;
        }
        if walked {
            if let Some(forget) = poller.forget_unreachable() {
                if tx.send(forget).is_err() {
                    return;
                }
            }
        }
        if pace.once {
            let _ = tx.send(Unit::Ended);
            return;
        }
        if !sleep(&pace) {
            return;
        }
        polls += 1;
        walk = (poller.cursors.is_empty() || polls.is_multiple_of(WALK_EVERY))
            .then(|| poller.cursors.walk_since());
    }
}

fn unit_is_empty(u: &Unit) -> bool {
    matches!(u, Unit::Objects { objects, problems, .. } if objects.is_empty() && problems.is_empty())
}

struct Poller {
    source: Arc<dyn ObjectSource>,
    /// Object URL → the tag read (or sent to be read), and its key.
    read: HashMap<String, Seen>,
    /// Earlier runs' partition cursors (URL, first second covered), until forgotten.
    saved_parts: Vec<(String, i64)>,
    cursors: Cursors,
}

impl Poller {
    fn relist(&mut self) -> (Vec<Listed>, Vec<RemoteProblem>) {
        self.cursors.settle(Timestamp::now());
        let (mut listed, mut problems) = (Vec::new(), Vec::new());
        for (prefix, after) in self.cursors.relist() {
            match self.source.list_after(&prefix, after.as_deref()) {
                Ok(l) => listed.extend(l),
                Err(p) => problems.push(p),
            }
        }
        (listed, problems)
    }

    /// Forget the partitions no listing reaches any more ([`Reach`]), and the objects read
    /// in them (this run's and earlier runs'): what the state must drop (object URLs,
    /// partition URLs), if anything. An object whose key names no partition is kept.
    fn forget_unreachable(&mut self) -> Option<Unit> {
        let reach = self.cursors.reach()?;
        let mut partitions: Vec<String> = self
            .cursors
            .forget_unreached(&reach)
            .iter()
            .map(|p| self.source.url_of(p))
            .collect();
        // Earlier runs' cursors (by URL) this run has not listed.
        let listed: std::collections::HashSet<String> =
            reach.listed.iter().map(|p| self.source.url_of(p)).collect();
        self.saved_parts.retain(|(url, start)| {
            let keep = *start >= reach.line.as_second() || listed.contains(url);
            if !keep {
                partitions.push(url.clone());
            }
            keep
        });
        let source = &self.source;
        let mut objects: Vec<String> = self
            .read
            .iter()
            .filter(|(_, s)| {
                source
                    .partition(&s.key)
                    .is_some_and(|p| !reach.reaches(&p.prefix, p.start))
            })
            .map(|(url, _)| url.clone())
            .collect();
        for url in &objects {
            self.read.remove(url);
        }
        if objects.is_empty() && partitions.is_empty() {
            return None;
        }
        objects.sort();
        partitions.sort();
        partitions.dedup();
        Some(Unit::Forget {
            files: Vec::new(),
            objects,
            partitions,
        })
    }

    /// The objects of a listing not read before (in key order), as a unit; cursors moved.
    fn take(&mut self, listed: Vec<Listed>, problems: Vec<RemoteProblem>) -> Unit {
        let mut objects = Vec::new();
        let mut touched = std::collections::BTreeSet::new();
        for l in listed {
            let key = l.object.key.to_string();
            if let Some(p) = self.source.partition(&key) {
                self.cursors.note(&p, &key, l.modified);
                touched.insert(p.prefix);
            }
            let tag = tag_of(&l.object);
            let url = l.object.name.to_string();
            if self.read.get(&url).is_none_or(|s| s.tag != tag) {
                self.read.insert(url, Seen { tag, key });
                objects.push(l.object);
            }
        }
        objects.sort_by(|a, b| a.key.cmp(&b.key));
        let partitions = self
            .cursors
            .done()
            .filter(|(p, _)| touched.contains(*p))
            .map(|(p, d)| (self.source.url_of(p), d))
            .collect();
        Unit::Objects {
            source: self.source.clone(),
            objects,
            problems,
            partitions,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use snapback_ingest::{RemoteInput, RemoteObject, RemoteProblem};

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn part(root: &str, day: &str) -> Partition {
        Partition {
            prefix: format!("{root}2026/03/{day}/"),
            root: root.to_owned(),
            start: t(&format!("2026-03-{day}T00:00:00Z")),
        }
    }

    #[test]
    fn the_two_newest_partitions_of_each_root_are_listed_after_their_settled_key() {
        let mut c = Cursors::default();
        let (east, west) = ("ct/us-east-1/", "ct/us-west-2/");
        for day in ["01", "02", "03"] {
            c.note(&part(east, day), &format!("{east}2026/03/{day}/a"), None);
        }
        c.note(&part(west, "01"), "ct/us-west-2/2026/03/01/a", None);
        let d3 = part(east, "03");
        c.note(
            &d3,
            "ct/us-east-1/2026/03/03/b",
            Some(t("2026-03-03T10:00:00Z")),
        );
        c.note(
            &d3,
            "ct/us-east-1/2026/03/03/c",
            Some(t("2026-03-03T10:20:00Z")),
        );
        // At 10:30, b settled (modified 30 minutes before), c did not: the listing of the
        // newest partition starts after b, so c (maybe appended to) is listed again.
        c.settle(t("2026-03-03T10:30:00Z"));
        assert_eq!(
            c.relist(),
            vec![
                (
                    "ct/us-east-1/2026/03/02/".into(),
                    Some("ct/us-east-1/2026/03/02/a".into())
                ),
                (
                    "ct/us-east-1/2026/03/03/".into(),
                    Some("ct/us-east-1/2026/03/03/b".into())
                ),
                (
                    "ct/us-west-2/2026/03/01/".into(),
                    Some("ct/us-west-2/2026/03/01/a".into())
                ),
            ],
            "the oldest partition of us-east-1 is no longer listed; us-west-2 keeps its only one"
        );
        // Once c settled too, the listing starts after it.
        c.settle(t("2026-03-03T10:36:00Z"));
        assert_eq!(
            c.relist()[1].1.as_deref(),
            Some("ct/us-east-1/2026/03/03/c")
        );
        assert_eq!(c.walk_since(), Some(t("2026-03-02T00:00:00Z")));
    }

    /// A store of keys `ROOT/2026/03/DD/NAME` (roots `east/`, `west/`), listed whole.
    #[derive(Debug)]
    struct Days(Vec<&'static str>);

    impl RemoteInput for Days {
        fn name(&self) -> &str {
            "mem://b/"
        }
        fn list(&self, _: &mut dyn FnMut(RemoteProblem)) -> Vec<RemoteObject> {
            self.0.iter().map(|k| object(k)).collect()
        }
        fn prefetch(&self, _: &[RemoteObject]) {}
        fn open(&self, o: &RemoteObject) -> Result<Box<dyn std::io::Read + Send>, RemoteProblem> {
            unreachable!("{o:?} is never read here")
        }
    }

    fn object(key: &str) -> RemoteObject {
        RemoteObject {
            name: format!("mem://b/{key}").into(),
            key: key.into(),
            size: 1,
            etag: Some("\"e\"".into()),
            version: None,
        }
    }

    impl ObjectSource for Days {
        fn prefix(&self) -> &str {
            ""
        }
        fn url_of(&self, key: &str) -> String {
            format!("mem://b/{key}")
        }
        fn walk(&self, _: Option<Timestamp>) -> (Vec<Listed>, Vec<RemoteProblem>) {
            let listed = self.0.iter().map(|k| Listed {
                object: object(k),
                modified: None,
            });
            (listed.collect(), Vec::new())
        }
        fn list_after(&self, _: &str, _: Option<&str>) -> Result<Vec<Listed>, RemoteProblem> {
            Ok(Vec::new())
        }
        fn partition(&self, key: &str) -> Option<Partition> {
            let (root, rest) = key.split_once('/')?;
            let date = rest.get(..10)?;
            Some(Partition {
                prefix: format!("{root}/{date}/"),
                root: format!("{root}/"),
                start: t(&format!("{}T00:00:00Z", date.replace('/', "-"))),
            })
        }
    }

    #[test]
    fn etags_and_cursors_of_partitions_no_listing_reaches_are_forgotten() {
        let c = |keys: &[&'static str]| {
            let mut c = Cursors::default();
            for k in keys {
                let p = Days(Vec::new()).partition(k).unwrap();
                c.note(&p, k, None);
            }
            c
        };
        // east delivers every day up to the 6th; west stopped on the 2nd.
        let east = [
            "east/2026/03/01/a",
            "east/2026/03/02/a",
            "east/2026/03/03/a",
            "east/2026/03/04/a",
            "east/2026/03/05/a",
            "east/2026/03/06/a",
        ];
        let west = ["west/2026/03/01/a", "west/2026/03/02/a"];
        let mut cursors = c(&[&east[..], &west[..]].concat());
        // Walks start on the 5th (a day before the newest); a day more of margin: the 4th.
        let reach = cursors.reach().unwrap();
        assert!(reach.reaches("east/2026/03/04/", t("2026-03-04T00:00:00Z")));
        assert!(!reach.reaches("east/2026/03/03/", t("2026-03-03T00:00:00Z")));
        assert!(reach.reaches("west/2026/03/01/", t("2026-03-01T00:00:00Z")));
        assert_eq!(
            cursors.forget_unreached(&reach),
            vec!["east/2026/03/01/", "east/2026/03/02/", "east/2026/03/03/"],
            "west's two newest partitions are still listed every poll: kept"
        );
        assert_eq!(cursors.relist().len(), 4, "east 05, 06 and west 01, 02");

        // The poller: objects read this run and in an earlier one, and an earlier run's
        // cursor of a partition this run never listed.
        let source: Arc<dyn ObjectSource> = Arc::new(Days([&east[..], &west[..]].concat()));
        let seen = |k: &str| Seen {
            tag: "etag:\"e\"".into(),
            key: k.into(),
        };
        let mut poller = Poller {
            source: source.clone(),
            read: HashMap::from([(
                "mem://b/east/2026/02/20/old".to_owned(),
                seen("east/2026/02/20/old"),
            )]),
            saved_parts: vec![
                (
                    "mem://b/east/2026/02/20/".into(),
                    t("2026-02-20T00:00:00Z").as_second(),
                ),
                (
                    "mem://b/east/2026/03/06/".into(),
                    t("2026-03-06T00:00:00Z").as_second(),
                ),
            ],
            cursors: Cursors::default(),
        };
        assert!(
            poller.forget_unreachable().is_none(),
            "nothing listed yet: nothing known"
        );
        let (listed, problems) = source.walk(None);
        let Unit::Objects { objects, .. } = poller.take(listed, problems) else {
            panic!("a walk gives objects")
        };
        assert_eq!(objects.len(), 8);
        let Some(Unit::Forget {
            files,
            objects,
            partitions,
        }) = poller.forget_unreachable()
        else {
            panic!("old partitions are forgotten")
        };
        assert!(files.is_empty());
        assert_eq!(
            objects,
            vec![
                "mem://b/east/2026/02/20/old",
                "mem://b/east/2026/03/01/a",
                "mem://b/east/2026/03/02/a",
                "mem://b/east/2026/03/03/a",
            ]
        );
        assert_eq!(
            partitions,
            vec![
                "mem://b/east/2026/02/20/",
                "mem://b/east/2026/03/01/",
                "mem://b/east/2026/03/02/",
                "mem://b/east/2026/03/03/",
            ]
        );
        assert_eq!(
            poller.read.len(),
            5,
            "the 4th to the 6th of east, west's two"
        );
        assert!(poller.forget_unreachable().is_none(), "forgotten once");
        // What is still held is not read again when listed again.
        let (listed, problems) = source.walk(None);
        let Unit::Objects { objects, .. } = poller.take(listed, problems) else {
            panic!("a walk gives objects")
        };
        let keys: Vec<&str> = objects.iter().map(|o| &*o.key).collect();
        assert_eq!(
            keys,
            vec![
                "east/2026/03/01/a",
                "east/2026/03/02/a",
                "east/2026/03/03/a"
            ],
            "only a forgotten object, were a listing to offer it again, is read again"
        );
    }

    #[test]
    fn a_key_that_arrives_late_below_an_unsettled_key_is_still_listed() {
        let mut c = Cursors::default();
        let p = part("r/", "01");
        c.note(&p, "r/2026/03/01/k5", Some(t("2026-03-01T10:00:00Z")));
        c.settle(t("2026-03-01T10:05:00Z"));
        // k5 is recent: the listing starts at the partition's beginning, and a k3 put after
        // k5 was seen is found.
        assert_eq!(c.relist(), vec![("r/2026/03/01/".into(), None)]);
    }
}
