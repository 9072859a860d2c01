//! The loop of `snapback consume`: a group consumer feeding a stream per input partition
//! ([`Partitioned`]), and one Kafka transaction per commit interval holding every
//! partition's alert revisions (alerts topic, keyed by alert id), its changelog rows (the
//! changelog partition numbered as the input's) and the offsets after the messages read
//! (consume-transform-produce). A `read_committed` reader of the alerts topic therefore sees
//! each revision once: a transaction that does not commit leaves neither its alerts, its
//! changelog rows nor its offsets, and the partition's next owner starts from the state the
//! last committed one recorded.
//!
//! A partition that becomes this consumer's is rebuilt before any of its messages is
//! processed: its changelog partition is read to its end (what was emitted, the newest event
//! seen), and its input is read again, without emitting, from the first message timestamped
//! at or after that time minus twice the horizon up to the committed offset.

use std::collections::HashMap;
use std::io::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context};
use jiff::{SignedDuration, Timestamp};
use snapback_correlate::stream::Emission;
use snapback_correlate::Tuning;
use snapback_ingest::{Event, Summary};
use snapback_kafka::{
    account_key, ConsumerConfig, GroupConsumer, KafkaError, Message, Offset, PartitionId,
    PartitionReader, Polled, Settings, TransactionalProducer, TxnFailure, Until,
};
use snapback_output::{text, LineFormat};
use snapback_pipeline::partitioned::{Changelog, PartitionCycle, Partitioned};
use snapback_rules::RuleSet;

use crate::cmd_consume::{AlertsFormat, ConsumeFigures};

/// Everything the loop is told.
pub struct GroupSetup<'a> {
    pub brokers: &'a str,
    pub topics: &'a [String],
    pub group: &'a str,
    pub alerts_topic: Option<&'a str>,
    pub alerts_format: AlertsFormat,
    pub changelog_topic: &'a str,
    pub transactional_id: String,
    pub consumer: Settings,
    pub producer: Settings,
    pub reader: Settings,
    pub lateness: SignedDuration,
    pub commit_every: Duration,
    pub exit_when_idle: Option<Duration>,
    pub quiet: bool,
}

/// How long a blocking call to the cluster may take (a transaction, committed offsets, a
/// partition read that stalls). Above `transaction.timeout.ms`: a new owner may wait for the
/// broker to abort a killed consumer's transaction.
const WAIT: Duration = Duration::from_secs(60);

/// At most this many key mismatches are said word for word; the others are counted.
const MISMATCHES_SHOWN: u64 = 5;

/// Fault injection for tests on a real broker: the first N final transactions (those of an
/// ending under `--exit-when-idle`) are aborted after their messages were sent, as a
/// rebalance that fences their offsets would have them. Documented in docs/decisions.md ("A
/// member ends only once its last transaction commits").
const FAULT_ABORT_FINAL: &str = "SNAPBACK_FAULT_ABORT_FINAL_TRANSACTIONS";

/// A consumer group member with its partitions' streams and its transactional producer.
pub struct Group<'r> {
    consumer: GroupConsumer,
    txn: TransactionalProducer,
    reader: PartitionReader,
    parts: Partitioned<'r>,
    horizon: SignedDuration,
    alerts_topic: Option<String>,
    alerts_format: AlertsFormat,
    changelog_topic: String,
    commit_every: Duration,
    exit_when_idle: Option<Duration>,
    quiet: bool,
    /// The offsets the last committed transaction recorded.
    committed: HashMap<PartitionId, i64>,
    last_commit: Instant,
    last_activity: Instant,
    /// Whether the group has given this member its first assignment (even an empty one):
    /// before that, no time counts as idle, however long joining takes.
    joined: bool,
    started: Instant,
    summary: Summary,
    figures: ConsumeFigures,
    /// Final transactions still to abort ([`FAULT_ABORT_FINAL`]).
    abort_final: u32,
}

impl<'r> Group<'r> {
    pub fn new(
        setup: &GroupSetup<'_>,
        rules: &'r RuleSet,
        tuning: &'r Tuning,
    ) -> anyhow::Result<Group<'r>> {
        // Created first: its initialisation fences a predecessor with the same id and aborts
        // its open transaction before this member reads anything.
        let txn = TransactionalProducer::new(
            setup.brokers,
            &setup.transactional_id,
            &setup.producer,
            WAIT,
        )
        .context("snapback consume: starting the transactional producer")?;
        let consumer = GroupConsumer::new(&ConsumerConfig {
            brokers: setup.brokers.to_owned(),
            group: setup.group.to_owned(),
            topics: setup.topics.to_vec(),
            auto_commit: false,
            settings: setup.consumer.clone(),
        })?;
        let reader = PartitionReader::new(setup.brokers, &setup.reader)?;
        let quiet = setup.quiet;
        let parts = Partitioned::new(rules, tuning, setup.lateness, move |d| {
            if !quiet {
                crate::terminal::diagnostic(d);
            }
        });
        let horizon = parts.horizon();
        let now = Instant::now();
        Ok(Group {
            consumer,
            txn,
            reader,
            parts,
            horizon,
            alerts_topic: setup.alerts_topic.map(str::to_owned),
            alerts_format: setup.alerts_format,
            changelog_topic: setup.changelog_topic.to_owned(),
            commit_every: setup.commit_every,
            exit_when_idle: setup.exit_when_idle,
            quiet,
            committed: HashMap::new(),
            last_commit: now,
            last_activity: now,
            joined: false,
            started: now,
            summary: Summary::default(),
            figures: ConsumeFigures::default(),
            abort_final: std::env::var(FAULT_ABORT_FINAL)
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(0),
        })
    }

    /// Poll, process, commit every interval, until `stop` (commit what is read) or, with
    /// `--exit-when-idle`, until idle (end the input of the owned partitions and commit).
    pub fn run(
        &mut self,
        stop: &AtomicBool,
        on_figures: &mut dyn FnMut(&ConsumeFigures),
    ) -> anyhow::Result<()> {
        let mut last_figures = Instant::now();
        loop {
            if stop.load(Ordering::Relaxed) {
                // An aborted last transaction loses nothing: its offsets were not committed
                // either, and the partitions' next owner reads its messages again.
                return self.commit(false).map(|_| ());
            }
            let polled = self.consumer.poll(1000, Duration::from_millis(200))?;
            for p in polled {
                self.polled(p)?;
            }
            if self.last_commit.elapsed() >= self.commit_every {
                self.commit(false)?;
            }
            if last_figures.elapsed() >= Duration::from_secs(1) {
                last_figures = Instant::now();
                self.refresh_figures();
                on_figures(&self.figures);
                if self.idle() {
                    if self.commit(true)? {
                        return Ok(());
                    }
                    // The final transaction was aborted (a rebalance fenced its offsets, as
                    // when the other members end at the same time): its flushed alerts were
                    // not committed, and leaving now would leave them to no one. The state
                    // was rebuilt from what is committed; end again once idle.
                    self.last_activity = Instant::now();
                    self.info(
                        "the final transaction was aborted; staying in the group to end again",
                    );
                }
            }
        }
    }

    fn polled(&mut self, p: Polled) -> anyhow::Result<()> {
        match p {
            Polled::Message(m) => self.message(m),
            Polled::Assigned(ids) => {
                self.joined = true;
                self.figures.rebalances += 1;
                self.last_activity = Instant::now();
                for id in ids {
                    self.take_over(id)?;
                }
            }
            Polled::Revoked(ids) => {
                // Gone before this was polled: work of them not committed yet is dropped,
                // their next owner reads it again from the committed offsets.
                self.figures.rebalances += 1;
                self.last_activity = Instant::now();
                for id in ids {
                    self.give_up(&id);
                }
            }
            Polled::RebalanceFailed(e) | Polled::ClientError(e) => self.warn(&e),
        }
        Ok(())
    }

    /// What happens to the group's partitions, for whoever runs the member (not `--quiet`).
    fn info(&self, what: &str) {
        if !self.quiet {
            eprintln!("snapback consume: {}", text::terminal(what));
        }
    }

    fn warn(&self, what: &str) {
        if !self.quiet {
            eprintln!("snapback consume: warning: {}", text::terminal(what));
        }
    }

    fn message(&mut self, m: Message) {
        let id = PartitionId {
            topic: m.topic.clone(),
            partition: m.partition,
        };
        // Not owned (fetched before a revoke), or read already (fetched before a rewind).
        if !self.parts.owns(&id) || self.parts.next_offset(&id).is_some_and(|n| m.offset < n) {
            return;
        }
        self.last_activity = Instant::now();
        self.figures.messages += 1;
        let key = m.key.as_deref().map(String::from_utf8_lossy);
        let name = m.provenance_name();
        let (mut events, mut mismatches) = (0, 0);
        let mut check = |e: &Event| {
            events += 1;
            if key.as_deref() != Some(account_key(e).as_str()) {
                mismatches += 1;
                if !self.quiet && self.figures.key_mismatches + mismatches <= MISMATCHES_SHOWN {
                    eprintln!(
                        "snapback consume: warning: {}: message key {:?} is not the record's account {:?}: records of one account in other partitions are not linked to it",
                        text::terminal(&name),
                        text::terminal(key.as_deref().unwrap_or("(none)")),
                        text::terminal(&account_key(e)),
                    );
                }
            }
        };
        let payload = m.payload.as_deref().unwrap_or_default();
        self.parts
            .message_inspecting(&id, m.offset, payload, &mut check);
        self.figures.events += events;
        self.figures.key_mismatches += mismatches;
    }

    /// Make `id` this consumer's: its state from the changelog and its input read again.
    fn take_over(&mut self, id: PartitionId) -> anyhow::Result<()> {
        let started = Instant::now();
        let committed = self
            .consumer
            .committed(std::slice::from_ref(&id), WAIT)?
            .into_iter()
            .find_map(|(p, o)| (p == id).then_some(o).flatten());
        let log = self.read_changelog(&id)?;
        let from = match (log.replay_from(self.horizon), committed) {
            (Some(t), Some(c)) => {
                let at = self.reader.offset_for_time(&id, t.as_millisecond(), WAIT)?;
                let (low, _) = self.reader.watermarks(&id, WAIT)?;
                Some(at.unwrap_or(c).min(c).max(low))
            }
            _ => None,
        };
        let before = log.emitted.len();
        self.parts.assign(id.clone(), log, committed);
        let mut again = 0;
        if let (Some(from), Some(c)) = (from, committed) {
            let parts = &mut self.parts;
            again = self
                .reader
                .read(&id, from, Until::Offset(c), WAIT, &mut |m| {
                    let payload = m.payload.as_deref().unwrap_or_default();
                    parts.message(&id, m.offset, payload);
                })?;
        }
        // Read to the committed offset (or nothing was to be read: retention removed it,
        // or nothing was committed).
        self.parts.caught_up(&id);
        if let Some(c) = committed {
            self.committed.insert(id.clone(), c);
        }
        self.figures.rebuilds += 1;
        self.figures.rebuild_messages += again;
        let took = started.elapsed().as_secs_f64();
        self.info(&format!(
            "partition {id} taken over: committed offset {}, {} alerts emitted before, \
             {again} messages read again from offset {} in {took:.2} s",
            committed.map_or("none".to_owned(), |c| c.to_string()),
            before,
            from.map_or("none".to_owned(), |f| f.to_string()),
        ));
        self.figures.last_rebuild_seconds = Some(took);
        let longest = self.figures.longest_rebuild_seconds.get_or_insert(took);
        *longest = longest.max(took);
        Ok(())
    }

    /// The rows of `id`'s topic in the changelog partition numbered as `id`.
    fn read_changelog(&self, id: &PartitionId) -> anyhow::Result<Changelog> {
        let cl = PartitionId {
            topic: self.changelog_topic.clone(),
            partition: id.partition,
        };
        let (low, _) = self.reader.watermarks(&cl, WAIT)?;
        let mut rows = Vec::new();
        self.reader.read(&cl, low, Until::End, WAIT, &mut |m| {
            let key = String::from_utf8_lossy(m.key.as_deref().unwrap_or_default()).into_owned();
            let value = m
                .payload
                .as_deref()
                .map(|v| String::from_utf8_lossy(v).into_owned());
            rows.push((key, value));
        })?;
        let mut log = Changelog::default();
        for bad in log.apply_topic(&id.topic, rows) {
            self.warn(&format!(
                "changelog {cl}: row {bad:?} does not parse; skipped"
            ));
        }
        Ok(log)
    }

    /// One cycle of every partition, committed in one transaction. `end`: the input of the
    /// owned partitions ends (every window flushed). False when the transaction was aborted
    /// (and the partitions rebuilt from what is committed): nothing of the cycle holds.
    fn commit(&mut self, end: bool) -> anyhow::Result<bool> {
        self.last_commit = Instant::now();
        // Asked before the cycle: a cycle marks its revisions emitted, so a cycle that is
        // not put in a transaction would lose them.
        let Some(meta) = self.consumer.group_metadata() else {
            return Err(anyhow!(
                "snapback consume: the consumer has no group metadata to commit offsets with"
            ));
        };
        let cycles = self.parts.cycle(end);
        let moved = |c: &PartitionCycle| {
            !c.emissions.is_empty()
                || !c.changelog.is_empty()
                || c.next_offset
                    .is_some_and(|n| self.committed.get(&c.id) != Some(&n))
        };
        if !cycles.iter().any(moved) {
            return Ok(true);
        }
        match self.transact(&cycles, &meta, end) {
            Ok(sent) => {
                self.figures.transactions += 1;
                self.figures.alerts_emitted += sent;
                for c in &cycles {
                    if let Some(n) = c.next_offset {
                        self.committed.insert(c.id.clone(), n);
                    }
                }
                Ok(true)
            }
            Err(e) => self.aborted(e).map(|()| false),
        }
    }

    /// begin; alerts and changelog rows; offsets; commit. The number of revisions sent.
    fn transact(
        &mut self,
        cycles: &[PartitionCycle],
        meta: &snapback_kafka::GroupMetadata,
        end: bool,
    ) -> Result<u64, KafkaError> {
        self.txn.begin()?;
        let mut sent = 0;
        let mut offsets = Vec::new();
        for c in cycles {
            for e in &c.emissions {
                let Some((key, payload)) = encode(e, self.alerts_format) else {
                    continue;
                };
                match &self.alerts_topic {
                    Some(t) => self.txn.send(t, key.as_bytes(), &payload)?,
                    None => print_line(&payload),
                }
                sent += 1;
            }
            for (key, value) in &c.changelog {
                let value = value.as_deref().map(str::as_bytes);
                self.txn.send_to(
                    &self.changelog_topic,
                    Some(c.id.partition),
                    key.as_bytes(),
                    value,
                )?;
            }
            if let Some(next) = c.next_offset {
                offsets.push(Offset {
                    topic: c.id.topic.clone(),
                    partition: c.id.partition,
                    next,
                });
            }
        }
        if !offsets.is_empty() {
            self.txn.send_offsets(&offsets, meta)?;
        }
        if end && self.abort_final > 0 {
            self.abort_final -= 1;
            return Err(KafkaError::Transaction {
                op: "committing the final transaction",
                kind: TxnFailure::Abortable,
                message: format!("aborted on purpose ({FAULT_ABORT_FINAL})"),
            });
        }
        self.txn.commit()?;
        Ok(sent)
    }

    /// A transaction that failed: fatal (fenced) ends the run; otherwise abort it and
    /// rebuild every owned partition, whose streams hold what the transaction held.
    fn aborted(&mut self, e: KafkaError) -> anyhow::Result<()> {
        let fenced = |e: KafkaError| {
            Err(anyhow!(e)).context(
                "snapback consume: the transactional producer was fenced or failed for good \
                 (another process started with the same --state and transactional id, or the \
                 broker refused it); nothing of the open transaction was committed",
            )
        };
        if is_fatal(&e) {
            return fenced(e);
        }
        if let Err(f) = self.txn.check_fatal() {
            return fenced(f);
        }
        // A message that could not be queued (too large, say) is not the transaction's
        // failure: abort it and stop, rather than rebuild and fail again on the same alert.
        let retry = matches!(e, KafkaError::Transaction { .. });
        if retry {
            self.warn(&format!(
                "{e}; aborting it and rebuilding the partitions' state"
            ));
        }
        match self.txn.abort() {
            Err(a) if is_fatal(&a) => return fenced(a),
            Err(a) => return Err(anyhow!(a)).context("snapback consume: aborting a transaction"),
            Ok(()) => self.figures.aborted_transactions += 1,
        }
        if !retry {
            return Err(anyhow!(e)).context("snapback consume: a transaction could not be written");
        }
        self.rebuild_all()
    }

    /// Drop `id`'s stream, keeping what it read for the summary.
    fn give_up(&mut self, id: &PartitionId) {
        if let Some((_, s)) = self.parts.streams().find(|(p, _)| *p == id) {
            self.summary.merge(s.summary().clone());
        }
        if self.parts.revoke(id) {
            self.info(&format!("partition {id} given up"));
        }
        self.committed.remove(id);
    }

    fn rebuild_all(&mut self) -> anyhow::Result<()> {
        let owned: Vec<PartitionId> = self.parts.partitions().cloned().collect();
        for id in &owned {
            self.give_up(id);
        }
        self.consumer.rewind(WAIT)?;
        for id in owned {
            self.take_over(id)?;
        }
        Ok(())
    }

    /// Joined, nothing arrived for the idle time and every owned partition is read to its end.
    /// (A member still joining is not idle: it used to exit with nothing read when joining
    /// took longer than `--exit-when-idle`.)
    fn idle(&self) -> bool {
        self.exit_when_idle.is_some_and(|d| {
            self.joined && self.last_activity.elapsed() >= d && self.figures.lag == 0
        })
    }

    fn refresh_figures(&mut self) {
        let mut lag = 0;
        for id in self.parts.partitions() {
            let Ok((low, high)) = self.reader.watermarks(id, Duration::from_secs(5)) else {
                lag += 1;
                continue;
            };
            let next = self.parts.next_offset(id).unwrap_or(low);
            lag += (high - next).max(0);
        }
        let mut watermark: Option<Timestamp> = None;
        let (mut open, mut late) = (0, 0);
        for (_, s) in self.parts.streams() {
            open += s.stats().open_sequences;
            late += s.stats().late_events;
            if let Some(w) = s.watermark().filter(|w| *w < Timestamp::MAX) {
                watermark = Some(watermark.map_or(w, |m| m.min(w)));
            }
        }
        let secs = self.started.elapsed().as_secs_f64().max(1e-9);
        let summary = self.summary();
        let f = &mut self.figures;
        f.skipped_records = summary.skipped_total();
        f.not_audit_records = summary.not_audit.values().sum();
        f.partitions = self.parts.partitions().count();
        f.lag = lag;
        f.open_sequences = open;
        f.late_events = late;
        f.watermark = watermark.map(|w| w.to_string());
        f.events_per_second = (f.events as f64 / secs).round();
    }

    pub fn figures(&mut self) -> ConsumeFigures {
        self.refresh_figures();
        self.figures.clone()
    }

    /// What the streams now owned read (records, skipped, diagnostics).
    pub fn summary(&self) -> Summary {
        let mut s = self.summary.clone();
        for (_, stream) in self.parts.streams() {
            s.merge(stream.summary().clone());
        }
        for (reason, n) in self.parts.skipped() {
            *s.skipped.entry(reason).or_default() += n;
        }
        s
    }
}

/// A failure after which the producer can do nothing more (fenced, or refused for good).
fn is_fatal(e: &KafkaError) -> bool {
    matches!(e, KafkaError::Fatal { .. }) || e.txn_failure() == Some(TxnFailure::Fatal)
}

/// The key and value of one emission's message (`None`: the format has no retractions).
fn encode(e: &Emission, format: AlertsFormat) -> Option<(String, Vec<u8>)> {
    match (e, format) {
        (
            Emission::Alert {
                alert,
                revision,
                changed,
            },
            AlertsFormat::Jsonl,
        ) => {
            let line = snapback_output::revision_json(alert, *revision, changed).ok()?;
            Some((alert.alert_id.clone(), line.into_bytes()))
        }
        (Emission::Retracted { alert_id, revision }, AlertsFormat::Jsonl) => Some((
            alert_id.clone(),
            snapback_output::retraction_json(alert_id, *revision).into_bytes(),
        )),
        (Emission::Alert { alert, .. }, f) => {
            let name = match f {
                AlertsFormat::Ocsf => "ocsf",
                AlertsFormat::Leef => "leef",
                _ => "cef",
            };
            let mut out = Vec::new();
            snapback_output::write_lines(LineFormat::parse(name)?, &[alert], &mut out).ok()?;
            while out.last() == Some(&b'\n') {
                out.pop();
            }
            Some((alert.alert_id.clone(), out))
        }
        (Emission::Retracted { .. }, _) => None,
    }
}

fn print_line(payload: &[u8]) {
    let mut o = std::io::stdout().lock();
    let _ = o.write_all(payload);
    let _ = o.write_all(b"\n");
    let _ = o.flush();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(name: &str, time: &str, id: &str) -> Vec<u8> {
        serde_json::json!({
            "eventVersion": "1.09", "eventTime": time, "eventSource": "ec2.amazonaws.com",
            "eventName": name, "awsRegion": "us-east-1", "eventID": id,
            "userIdentity": {"type": "IAMUser", "accountId": "111122223333",
                             "arn": "arn:aws:iam::111122223333:user/mallory"},
            "recipientAccountId": "111122223333", "eventType": "AwsApiCall",
            "requestParameters": {"instancesSet": {"items": [{"instanceId": "i-0victim"}]}}
        })
        .to_string()
        .into_bytes()
    }

    /// A stop then a start of one instance, through the partitioned streams: one alert.
    fn one_alert() -> Emission {
        let rules = RuleSet::load(true, &[]);
        let tuning = Tuning::default();
        let mut parts = Partitioned::new(&rules, &tuning, SignedDuration::ZERO, |_| {});
        let id = PartitionId {
            topic: "audit".into(),
            partition: 0,
        };
        parts.assign(id.clone(), Changelog::default(), None);
        parts.message(
            &id,
            0,
            &record("StopInstances", "2026-11-20T09:00:00Z", "a"),
        );
        parts.message(
            &id,
            1,
            &record("StartInstances", "2026-11-20T09:05:00Z", "b"),
        );
        let mut cycles = parts.cycle(true);
        assert_eq!(cycles.len(), 1);
        let mut emissions = std::mem::take(&mut cycles[0].emissions);
        assert_eq!(emissions.len(), 1, "one stop/start alert");
        emissions.remove(0)
    }

    #[test]
    fn alert_messages_are_keyed_by_alert_id_in_every_format() {
        let e = one_alert();
        let Emission::Alert { alert, .. } = &e else {
            panic!("{e:?}")
        };
        let (key, json) = encode(&e, AlertsFormat::Jsonl).unwrap();
        assert_eq!(key, alert.alert_id);
        let v: serde_json::Value = serde_json::from_slice(&json).unwrap();
        assert_eq!(v["alert_id"], alert.alert_id.as_str());
        assert!(v.get("revision").is_none(), "revision 1 is not written");
        let (key, cef) = encode(&e, AlertsFormat::Cef).unwrap();
        assert_eq!(key, alert.alert_id);
        assert!(
            cef.starts_with(b"CEF:0|"),
            "{}",
            String::from_utf8_lossy(&cef)
        );
        assert!(!cef.ends_with(b"\n"), "one message per alert, no line end");
        let (_, leef) = encode(&e, AlertsFormat::Leef).unwrap();
        assert!(
            leef.starts_with(b"LEEF:2.0|"),
            "{}",
            String::from_utf8_lossy(&leef)
        );
        let (_, ocsf) = encode(&e, AlertsFormat::Ocsf).unwrap();
        assert!(serde_json::from_slice::<serde_json::Value>(&ocsf).is_ok());
    }

    #[test]
    fn a_retraction_is_a_jsonl_message_and_nothing_in_the_siem_formats() {
        let r = Emission::Retracted {
            alert_id: "sb-1".into(),
            revision: 3,
        };
        let (key, json) = encode(&r, AlertsFormat::Jsonl).unwrap();
        assert_eq!(key, "sb-1");
        assert_eq!(
            String::from_utf8(json).unwrap(),
            r#"{"revision":3,"alert_id":"sb-1","retracted":true}"#
        );
        for f in [AlertsFormat::Ocsf, AlertsFormat::Leef, AlertsFormat::Cef] {
            assert!(encode(&r, f).is_none(), "{f:?}");
        }
    }
}
