//! Consuming as a member of a consumer group: messages as owned values, and the group's
//! rebalances as values in the same stream, so the caller sees exactly where its partitions
//! came and went.

use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{
    BaseConsumer, CommitMode, Consumer as _, ConsumerContext, ConsumerGroupMetadata, Rebalance,
};
use rdkafka::message::{Message as _, Timestamp};
use rdkafka::TopicPartitionList;

use crate::config::{client_config, Required};
use crate::producer::offsets_list;
use crate::{KafkaError, Settings};

/// One partition of one topic: the pipeline's own type, so that a partition has one name
/// from the poll to the detector's state.
pub use snapback_pipeline::partitioned::PartitionId;

/// A position to commit: `next` is the offset of the next message to read in the partition
/// (the last one processed + 1), as Kafka stores committed offsets.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Offset {
    pub topic: String,
    pub partition: i32,
    pub next: i64,
}

/// One message, owned: it outlives the poll that returned it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub key: Option<Vec<u8>>,
    /// `None` for a message without a value (a tombstone).
    pub payload: Option<Vec<u8>>,
    /// Milliseconds since the Unix epoch (the producer's create time or the broker's append
    /// time, as the topic is configured), when the message has one.
    pub timestamp: Option<i64>,
}

impl Message {
    /// The name this message's records carry in their provenance:
    /// `kafka://TOPIC/PARTITION@OFFSET` ([`crate::decode`]).
    pub fn provenance_name(&self) -> String {
        crate::decode::provenance_name(&self.topic, self.partition, self.offset)
    }

    /// The position after this message, to commit once it is processed.
    pub fn next_offset(&self) -> Offset {
        Offset {
            topic: self.topic.clone(),
            partition: self.partition,
            next: self.offset + 1,
        }
    }
}

/// What one poll brought, in the order it happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Polled {
    Message(Message),
    /// These partitions are now this consumer's; reading starts at the group's committed
    /// offsets (else where `auto.offset.reset` says).
    Assigned(Vec<PartitionId>),
    /// These partitions are being taken away. Reported before they go: no message of them
    /// follows, and offsets sent for them from now on are refused. A transaction holding work
    /// of them that is not committed yet must be aborted; their new owner reads again from
    /// the committed offsets.
    Revoked(Vec<PartitionId>),
    /// The group could not rebalance (the client retries by itself).
    RebalanceFailed(String),
    /// An error the client reported and recovers from by itself (a broker unreachable, a
    /// partition without leader for a while): news, not a failure.
    ClientError(String),
}

/// How a consumer group member is set up.
#[derive(Debug, Clone)]
pub struct ConsumerConfig {
    /// `HOST:PORT[,HOST:PORT...]`.
    pub brokers: String,
    /// The consumer group (`group.id`).
    pub group: String,
    pub topics: Vec<String>,
    /// `false`: the caller commits offsets itself, with [`GroupConsumer::commit`] or in a
    /// transaction (`enable.auto.commit=false`). `true`: the client commits the offsets of
    /// the messages it returned, every `auto.commit.interval.ms`.
    pub auto_commit: bool,
    pub settings: Settings,
}

/// The context that turns librdkafka's callbacks into [`Polled`] values.
#[derive(Default)]
pub(crate) struct Events {
    pending: Mutex<Vec<Polled>>,
}

/// At most this many client errors wait for the caller between two polls.
const ERRORS_KEPT: usize = 100;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Plain values behind it: a panic elsewhere cannot leave them half-written.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn partitions(tpl: &TopicPartitionList) -> Vec<PartitionId> {
    let mut out: Vec<PartitionId> = tpl
        .elements()
        .iter()
        .map(|e| PartitionId {
            topic: e.topic().to_owned(),
            partition: e.partition(),
        })
        .collect();
    out.sort();
    out
}

impl ClientContext for Events {
    fn log(&self, _: RDKafkaLogLevel, _: &str, _: &str) {}

    fn error(&self, error: rdkafka::error::KafkaError, reason: &str) {
        let mut pending = lock(&self.pending);
        let errors = pending
            .iter()
            .filter(|p| matches!(p, Polled::ClientError(_)))
            .count();
        if errors < ERRORS_KEPT {
            pending.push(Polled::ClientError(format!("{error}: {reason}")));
        }
    }
}

impl ConsumerContext for Events {
    fn pre_rebalance(&self, _: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        let event = match rebalance {
            Rebalance::Revoke(tpl) => Polled::Revoked(partitions(tpl)),
            Rebalance::Error(e) => Polled::RebalanceFailed(e.to_string()),
            Rebalance::Assign(_) => return,
        };
        lock(&self.pending).push(event);
    }

    fn post_rebalance(&self, _: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Assign(tpl) = rebalance {
            lock(&self.pending).push(Polled::Assigned(partitions(tpl)));
        }
    }
}

/// The consumer group's identity for one transaction ([`GroupConsumer::group_metadata`]):
/// with it the broker refuses offsets from a member that lost its partitions.
pub struct GroupMetadata(ConsumerGroupMetadata);

impl GroupMetadata {
    pub(crate) fn inner(&self) -> &ConsumerGroupMetadata {
        &self.0
    }
}

/// A member of a consumer group, reading with `isolation.level=read_committed`: messages of
/// aborted transactions are never returned, and none of an open transaction until it commits.
pub struct GroupConsumer {
    inner: BaseConsumer<Events>,
}

impl GroupConsumer {
    /// Join `config.group` and subscribe to `config.topics`. Nothing is assigned until the
    /// first [`poll`](GroupConsumer::poll)s.
    ///
    /// Defaults a `--kafka` setting may override: `auto.offset.reset=earliest` (a new group
    /// reads what the topic holds, not only what arrives after it joined). Required:
    /// `group.id`, `isolation.level=read_committed`, `enable.auto.commit` as asked.
    pub fn new(config: &ConsumerConfig) -> Result<GroupConsumer, KafkaError> {
        let auto = if config.auto_commit { "true" } else { "false" };
        let required = [
            Required {
                key: "group.id",
                value: &config.group,
                why: "the group is given by its own flag",
            },
            Required {
                key: "isolation.level",
                value: "read_committed",
                why: "only committed transactions are input; alerts are read exactly once only so",
            },
            Required {
                key: "enable.auto.commit",
                value: auto,
                why: "offsets are committed with the work they cover",
            },
        ];
        let defaults = [
            ("auto.offset.reset", "earliest"),
            ("enable.partition.eof", "false"),
        ];
        let c = client_config(&config.brokers, &defaults, &config.settings, &required)?;
        let inner: BaseConsumer<Events> =
            c.create_with_context(Events::default())
                .map_err(|e| KafkaError::Client {
                    role: "consumer",
                    message: e.to_string(),
                })?;
        let topics: Vec<&str> = config.topics.iter().map(String::as_str).collect();
        inner
            .subscribe(&topics)
            .map_err(|e| KafkaError::consumer("subscribe", e))?;
        Ok(GroupConsumer { inner })
    }

    /// Up to `max` messages, with the rebalances and client errors that came with them, in
    /// order. Waits up to `wait` for the first message, then takes only what is already
    /// fetched. An empty result means nothing arrived within `wait`. `Err` only for a fatal
    /// error: the consumer must then be created anew.
    pub fn poll(&self, max: usize, wait: Duration) -> Result<Vec<Polled>, KafkaError> {
        let deadline = Instant::now() + wait;
        let mut out = Vec::new();
        let mut messages = 0;
        while messages < max {
            let timeout = match messages {
                0 => deadline.saturating_duration_since(Instant::now()),
                _ => Duration::ZERO,
            };
            let next = self.inner.poll(timeout);
            out.append(&mut lock(&self.inner.context().pending));
            match next {
                Some(Ok(m)) => {
                    messages += 1;
                    out.push(Polled::Message(owned(&m)));
                }
                Some(Err(rdkafka::error::KafkaError::PartitionEOF(_))) => {}
                Some(Err(e)) => out.push(Polled::ClientError(e.to_string())),
                None if messages > 0 || Instant::now() >= deadline => break,
                None => {}
            }
            if let Some((code, message)) = self.inner.client().fatal_error() {
                return Err(KafkaError::Fatal {
                    message: format!("{code:?}: {message}"),
                });
            }
        }
        Ok(out)
    }

    /// Commit `offsets` for the group now, waiting for the broker (with
    /// `auto_commit: false`, outside a transaction).
    pub fn commit(&self, offsets: &[Offset]) -> Result<(), KafkaError> {
        let tpl = offsets_list(offsets)?;
        self.inner
            .commit(&tpl, CommitMode::Sync)
            .map_err(|e| KafkaError::consumer("commit", e))
    }

    /// The group's committed offsets of `partitions` (`None`: nothing committed).
    pub fn committed(
        &self,
        partitions: &[PartitionId],
        timeout: Duration,
    ) -> Result<Vec<(PartitionId, Option<i64>)>, KafkaError> {
        let mut tpl = TopicPartitionList::with_capacity(partitions.len());
        for p in partitions {
            tpl.add_partition(&p.topic, p.partition);
        }
        let got = self
            .inner
            .committed_offsets(tpl, timeout)
            .map_err(|e| KafkaError::consumer("committed offsets", e))?;
        Ok(got
            .elements()
            .iter()
            .map(|e| {
                let id = PartitionId {
                    topic: e.topic().to_owned(),
                    partition: e.partition(),
                };
                (id, e.offset().to_raw().filter(|o| *o >= 0))
            })
            .collect())
    }

    /// Go back to the group's committed offsets on every assigned partition (the start of
    /// the partition where nothing is committed): what a consumer does after aborting a
    /// transaction, so that the aborted work is done again.
    pub fn rewind(&self, timeout: Duration) -> Result<(), KafkaError> {
        let assigned = self
            .inner
            .assignment()
            .map_err(|e| KafkaError::consumer("assignment", e))?;
        if assigned.count() == 0 {
            return Ok(());
        }
        let mut tpl = self
            .inner
            .committed_offsets(assigned, timeout)
            .map_err(|e| KafkaError::consumer("committed offsets", e))?;
        let nothing_committed: Vec<(String, i32)> = tpl
            .elements()
            .iter()
            .filter(|e| e.offset().to_raw().is_none_or(|o| o < 0))
            .map(|e| (e.topic().to_owned(), e.partition()))
            .collect();
        for (topic, partition) in nothing_committed {
            tpl.set_partition_offset(&topic, partition, rdkafka::Offset::Beginning)
                .map_err(|e| KafkaError::consumer("rewind", e))?;
        }
        self.inner
            .seek_partitions(tpl, timeout)
            .map_err(|e| KafkaError::consumer("seek", e))?
            .elements()
            .iter()
            .find_map(|e| e.error().err())
            .map_or(Ok(()), |e| Err(KafkaError::consumer("seek", e)))
    }

    /// The partitions assigned now.
    pub fn assignment(&self) -> Result<Vec<PartitionId>, KafkaError> {
        self.inner
            .assignment()
            .map(|tpl| partitions(&tpl))
            .map_err(|e| KafkaError::consumer("assignment", e))
    }

    /// The group's identity for [`TransactionalProducer::send_offsets`]; `None` before the
    /// consumer joined its group.
    ///
    /// [`TransactionalProducer::send_offsets`]: crate::TransactionalProducer::send_offsets
    pub fn group_metadata(&self) -> Option<GroupMetadata> {
        self.inner.group_metadata().map(GroupMetadata)
    }

    /// The consumer's lag per assigned partition: the high watermark less the position
    /// (`None` where the position is not known yet).
    pub fn lag(&self, timeout: Duration) -> Result<Vec<(PartitionId, Option<i64>)>, KafkaError> {
        let position = self
            .inner
            .position()
            .map_err(|e| KafkaError::consumer("position", e))?;
        let mut out = Vec::new();
        for e in position.elements() {
            let (_, high) = self
                .inner
                .fetch_watermarks(e.topic(), e.partition(), timeout)
                .map_err(|err| KafkaError::consumer("watermarks", err))?;
            let id = PartitionId {
                topic: e.topic().to_owned(),
                partition: e.partition(),
            };
            let lag = e.offset().to_raw().filter(|o| *o >= 0).map(|p| high - p);
            out.push((id, lag));
        }
        Ok(out)
    }
}

pub(crate) fn owned(m: &rdkafka::message::BorrowedMessage<'_>) -> Message {
    Message {
        topic: m.topic().to_owned(),
        partition: m.partition(),
        offset: m.offset(),
        key: m.key().map(<[u8]>::to_vec),
        payload: m.payload().map(<[u8]>::to_vec),
        timestamp: match m.timestamp() {
            Timestamp::NotAvailable => None,
            Timestamp::CreateTime(t) | Timestamp::LogAppendTime(t) => Some(t),
        },
    }
}
