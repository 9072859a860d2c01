//! Detection over partitioned input (a Kafka consumer group, #14): one [`Stream`] per input
//! partition, since the producer keys records so that everything one sequence can link lands
//! in one partition (by account), and a partition moves between consumers as a whole.
//!
//! [`Partitioned`] knows nothing of Kafka: it is told which partitions it owns
//! ([`assign`](Partitioned::assign), [`revoke`](Partitioned::revoke)), gets each message's
//! bytes with its offset, and per cycle returns, per partition, the revisions to emit, the
//! changelog rows to write and the offset to commit, which the consumer puts in one
//! transaction.
//!
//! **Rebuilding a partition** (a restart, or a partition that moved here): its changelog rows
//! ([`Changelog`]) give what was emitted (per alert id: revision, digest, finality) and the
//! newest event time seen; the consumer re-reads the partition from the first message whose
//! timestamp is at or after that time minus twice the horizon (a message is never timestamped
//! before the events it carries, so every event an alert that is not final can hold is among
//! them) up to the committed offset, *without emitting*; the first cycle after that emits only
//! what differs from the changelog, as `watch` does after a restart.
//!
//! **One changelog partition, several input topics.** The changelog partition is numbered
//! as the input partition; a consumer reading two topics writes both topics' partition `n`
//! to changelog partition `n`, so every changelog key starts with its input topic and `/`
//! (a character Kafka topic names cannot hold): `cloudtrail/alert/sb-…`, `cloudtrail/newest`.

use std::collections::{BTreeMap, HashMap};

use jiff::{SignedDuration, Timestamp};
use snapback_correlate::order::Lateness;
use snapback_correlate::stream::{Emission, Tracked};
use snapback_correlate::{DetectOptions, Tuning};
use snapback_ingest::Diagnostic;
use snapback_rules::RuleSet;

use crate::watch::Stream;

/// An input partition: topic and partition number.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PartitionId {
    pub topic: String,
    pub partition: i32,
}

impl std::fmt::Display for PartitionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.topic, self.partition)
    }
}

/// The provenance name of a message: `kafka://TOPIC/PARTITION@OFFSET` (a record inside an
/// envelope adds its index, as a file's records do).
pub fn message_name(id: &PartitionId, offset: i64) -> String {
    format!("kafka://{}/{}@{offset}", id.topic, id.partition)
}

/// A partition's changelog: what a consumer that takes the partition over needs besides its
/// input. Rows are keyed so that a compacted topic keeps the latest of each.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Changelog {
    /// Per alert id, what was last emitted.
    pub emitted: HashMap<String, Tracked>,
    /// The newest event time seen (the watermark plus the lateness).
    pub newest: Option<Timestamp>,
}

/// One changelog row: key and value (`None`: a tombstone, the alert is forgotten).
pub type ChangelogRow = (String, Option<String>);

const ALERT_PREFIX: &str = "alert/";
const NEWEST_KEY: &str = "newest";

impl Changelog {
    /// Fold rows read back from the changelog (oldest first) into what they say now. A row
    /// that does not parse is skipped and named in the returned list.
    pub fn apply(&mut self, rows: impl IntoIterator<Item = ChangelogRow>) -> Vec<String> {
        let mut bad = Vec::new();
        for (key, value) in rows {
            if let Some(id) = key.strip_prefix(ALERT_PREFIX) {
                match value.map(|v| serde_json::from_str::<Tracked>(&v)) {
                    None => {
                        self.emitted.remove(id);
                    }
                    Some(Ok(t)) => {
                        self.emitted.insert(id.to_owned(), t);
                    }
                    Some(Err(_)) => bad.push(key),
                }
            } else if key == NEWEST_KEY {
                match value.and_then(|v| v.parse().ok()) {
                    Some(t) => self.newest = Some(t),
                    None => bad.push(key),
                }
            } else {
                bad.push(key);
            }
        }
        bad
    }

    /// Fold the rows of input topic `topic` read back from a changelog partition (oldest
    /// first; rows of other topics sharing the partition are passed over). Returns the keys of
    /// rows that did not parse, as [`Self::apply`].
    pub fn apply_topic(
        &mut self,
        topic: &str,
        rows: impl IntoIterator<Item = ChangelogRow>,
    ) -> Vec<String> {
        let prefix = format!("{topic}/");
        let own = rows
            .into_iter()
            .filter_map(|(k, v)| k.strip_prefix(&prefix).map(|rest| (rest.to_owned(), v)));
        self.apply(own)
            .into_iter()
            .map(|k| format!("{prefix}{k}"))
            .collect()
    }

    /// Where re-reading the partition must start: the newest event time seen minus twice the
    /// horizon (`None`: from the committed offset, nothing was seen).
    pub fn replay_from(&self, horizon: SignedDuration) -> Option<Timestamp> {
        self.newest
            .map(|t| t.checked_sub(horizon * 2).unwrap_or(Timestamp::MIN))
    }
}

/// What one partition's cycle gives the consumer to put in its transaction.
pub struct PartitionCycle {
    pub id: PartitionId,
    pub emissions: Vec<Emission>,
    /// Changelog rows to write (to the changelog partition numbered as the input's), keys
    /// prefixed by the input topic ([`Changelog::apply_topic`] reads them back).
    pub changelog: Vec<ChangelogRow>,
    /// The offset to commit: one past the last message read.
    pub next_offset: Option<i64>,
}

struct Owned<'r> {
    stream: Stream<'r>,
    /// One past the last message read.
    next_offset: Option<i64>,
    /// Messages below this offset are being read again to rebuild state: no cycle until
    /// the partition has caught up with it.
    rebuilding_until: Option<i64>,
    newest: Option<Timestamp>,
}

/// Where every partition's diagnostics go (shared by their streams).
type SharedDiagnostics<'r> = std::rc::Rc<std::cell::RefCell<dyn FnMut(&Diagnostic) + 'r>>;

/// A stream per owned partition.
pub struct Partitioned<'r> {
    rules: &'r RuleSet,
    tuning: &'r Tuning,
    lateness: SignedDuration,
    owned: BTreeMap<PartitionId, Owned<'r>>,
    diagnostics: SharedDiagnostics<'r>,
    /// Messages skipped before decoding (empty, not JSON), by reason.
    skipped: BTreeMap<&'static str, u64>,
}

/// Why a message cannot hold audit records, before decoding it: empty (or a tombstone), or
/// not JSON (reading files, text is another log; on a topic of audit records it is an error).
fn unreadable(payload: &[u8]) -> Option<(&'static str, String)> {
    let Some(first) = payload.iter().find(|b| !b.is_ascii_whitespace()) else {
        return Some((
            "empty-message",
            "the message has no value (a tombstone) or an empty one".to_owned(),
        ));
    };
    let gzip = payload.starts_with(&[0x1f, 0x8b]);
    if gzip || matches!(first, b'{' | b'[') {
        return None;
    }
    let start = String::from_utf8_lossy(&payload[..payload.len().min(24)]).into_owned();
    Some((
        "not-json",
        format!(
            "the message is not JSON ({} bytes, starting {start:?})",
            payload.len()
        ),
    ))
}

impl<'r> Partitioned<'r> {
    pub fn new(
        rules: &'r RuleSet,
        tuning: &'r Tuning,
        lateness: SignedDuration,
        on_diagnostic: impl FnMut(&Diagnostic) + 'r,
    ) -> Self {
        Partitioned {
            rules,
            tuning,
            lateness,
            owned: BTreeMap::new(),
            diagnostics: std::rc::Rc::new(std::cell::RefCell::new(on_diagnostic)),
            skipped: BTreeMap::new(),
        }
    }

    /// How far back a rebuild reads (twice this before the newest event seen).
    pub fn horizon(&self) -> SignedDuration {
        let options = self.tuning.detect_options(DetectOptions::default());
        snapback_correlate::stream::horizon(self.rules, &options)
    }

    /// Take `id` over, with what its changelog says was emitted; `committed` is the group's
    /// committed offset for it (messages before it are read again without emitting).
    pub fn assign(&mut self, id: PartitionId, changelog: Changelog, committed: Option<i64>) {
        let sink = self.diagnostics.clone();
        let stream = Stream::new(
            self.rules,
            self.tuning,
            Lateness::Bounded(self.lateness),
            changelog.emitted,
            false,
            Box::new(move |d| (sink.borrow_mut())(d)),
        );
        self.owned.insert(
            id,
            Owned {
                stream,
                next_offset: committed,
                rebuilding_until: committed,
                newest: changelog.newest,
            },
        );
    }

    /// Give `id` up (its state goes; its next owner rebuilds it).
    pub fn revoke(&mut self, id: &PartitionId) -> bool {
        self.owned.remove(id).is_some()
    }

    pub fn owns(&self, id: &PartitionId) -> bool {
        self.owned.contains_key(id)
    }

    pub fn partitions(&self) -> impl Iterator<Item = &PartitionId> {
        self.owned.keys()
    }

    /// A message of `id` at `offset`. Returns false when the partition is not owned (a
    /// message fetched before a revoke).
    pub fn message(&mut self, id: &PartitionId, offset: i64, payload: &[u8]) -> bool {
        self.message_inspecting(id, offset, payload, &mut |_| {})
    }

    /// [`Self::message`], showing each decoded event to `inspect` (a consumer compares the
    /// message key with the record's account).
    pub fn message_inspecting(
        &mut self,
        id: &PartitionId,
        offset: i64,
        payload: &[u8],
        inspect: &mut dyn FnMut(&snapback_ingest::Event),
    ) -> bool {
        let Some(p) = self.owned.get_mut(id) else {
            return false;
        };
        let name = message_name(id, offset);
        if let Some((reason, detail)) = unreadable(payload) {
            // Reported once: not again while a rebuild reads it a second time.
            if p.rebuilding_until.is_none_or(|until| offset >= until) {
                *self.skipped.entry(reason).or_default() += 1;
                let d = Diagnostic {
                    severity: snapback_ingest::Severity::Error,
                    file: name.into(),
                    record: None,
                    offset: Some(0),
                    reason,
                    detail,
                };
                (self.diagnostics.borrow_mut())(&d);
            }
        } else {
            p.stream
                .read_bytes_inspecting(&name, payload, 0, 0, inspect);
        }
        if p.rebuilding_until.is_none_or(|until| offset >= until) {
            p.next_offset = Some(offset + 1);
        }
        if p.rebuilding_until.is_some_and(|until| offset + 1 >= until) {
            p.rebuilding_until = None;
        }
        true
    }

    /// Messages skipped before decoding (empty, not JSON), by reason, all partitions.
    pub fn skipped(&self) -> &BTreeMap<&'static str, u64> {
        &self.skipped
    }

    /// One past the last message of `id` read (its committed offset before any): the
    /// offset a commit now would record.
    pub fn next_offset(&self, id: &PartitionId) -> Option<i64> {
        self.owned.get(id).and_then(|p| p.next_offset)
    }

    /// Whether `id` is still reading again what it had committed.
    pub fn rebuilding(&self, id: &PartitionId) -> bool {
        self.owned
            .get(id)
            .is_some_and(|p| p.rebuilding_until.is_some())
    }

    /// Mark `id` caught up: nothing below its committed offset is left to read again (the
    /// partition's start was reached, or retention removed the rest).
    pub fn caught_up(&mut self, id: &PartitionId) {
        if let Some(p) = self.owned.get_mut(id) {
            p.rebuilding_until = None;
        }
    }

    /// One cycle of every owned partition that is not rebuilding; `end` ends the input
    /// (flushes every window).
    pub fn cycle(&mut self, end: bool) -> Vec<PartitionCycle> {
        let mut out = Vec::new();
        for (id, p) in &mut self.owned {
            if p.rebuilding_until.is_some() {
                continue;
            }
            if end {
                p.stream.end_of_input();
            }
            let c = p.stream.cycle();
            let mut changelog: Vec<ChangelogRow> = c
                .commit
                .alerts
                .into_iter()
                .map(|(alert_id, t)| {
                    let value = t.map(|t| serde_json::to_string(&t).unwrap_or_default());
                    (format!("{}/{ALERT_PREFIX}{alert_id}", id.topic), value)
                })
                .collect();
            let newest = p
                .stream
                .watermark()
                .filter(|w| *w < Timestamp::MAX)
                .map(|w| w.checked_add(self.lateness).unwrap_or(w));
            if newest.is_some() && newest != p.newest {
                p.newest = newest;
                let key = format!("{}/{NEWEST_KEY}", id.topic);
                changelog.extend(newest.map(|t| (key, Some(t.to_string()))));
            }
            out.push(PartitionCycle {
                id: id.clone(),
                emissions: c.emissions,
                changelog,
                next_offset: p.next_offset,
            });
        }
        out
    }

    /// The streams, for figures and summaries.
    pub fn streams(&self) -> impl Iterator<Item = (&PartitionId, &Stream<'r>)> {
        self.owned.iter().map(|(id, p)| (id, &p.stream))
    }
}
