//! Producing: a keyed producer whose deliveries are tallied per partition, and a
//! transactional producer for consume-transform-produce.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::error::RDKafkaErrorCode;
use rdkafka::message::{DeliveryResult, Message as _};
use rdkafka::producer::{BaseRecord, Producer as _, ProducerContext, ThreadedProducer};
use rdkafka::TopicPartitionList;

use crate::config::{client_config, Required};
use crate::consumer::GroupMetadata;
use crate::{KafkaError, Offset, Settings};

/// How many delivery failures are kept word for word; the others are counted.
const FAILURES_KEPT: usize = 20;

/// What the broker acknowledged, or refused, since the last [`Producer::flush`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Deliveries {
    /// Messages acknowledged, by `(topic, partition)`.
    pub acked: BTreeMap<(String, i32), u64>,
    /// Messages the broker refused or that timed out, by reason (librdkafka's error name).
    pub failed: BTreeMap<String, u64>,
    /// The first failures, with their message (topic, key).
    pub failures: Vec<String>,
}

impl Deliveries {
    /// Messages acknowledged, every partition.
    pub fn acked_total(&self) -> u64 {
        self.acked.values().sum()
    }

    /// Messages not delivered, every reason.
    pub fn failed_total(&self) -> u64 {
        self.failed.values().sum()
    }
}

/// The producer's callbacks: deliveries tallied, client errors kept for the caller.
#[derive(Default)]
pub(crate) struct Tally {
    deliveries: Mutex<Deliveries>,
    errors: Mutex<Vec<String>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while a tally was held cannot leave it inconsistent (plain counters).
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl ClientContext for Tally {
    fn log(&self, _: RDKafkaLogLevel, _: &str, _: &str) {}

    fn error(&self, error: rdkafka::error::KafkaError, reason: &str) {
        let mut errors = lock(&self.errors);
        if errors.len() < FAILURES_KEPT {
            errors.push(format!("{error}: {reason}"));
        }
    }
}

impl ProducerContext for Tally {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        let mut d = lock(&self.deliveries);
        match result {
            Ok(m) => {
                *d.acked
                    .entry((m.topic().to_owned(), m.partition()))
                    .or_default() += 1;
            }
            Err((e, m)) => {
                let reason = e
                    .rdkafka_error_code()
                    .map(|c| format!("{c:?}"))
                    .unwrap_or_else(|| e.to_string());
                *d.failed.entry(reason).or_default() += 1;
                if d.failures.len() < FAILURES_KEPT {
                    let key = m.key().map(String::from_utf8_lossy).unwrap_or_default();
                    d.failures
                        .push(format!("topic {} key {key:?}: {e}", m.topic()));
                }
            }
        }
    }
}

/// A producer of keyed messages. Sending queues a message; [`flush`](Producer::flush) waits
/// until every queued message is acknowledged or failed and says which.
///
/// Defaults (a `--kafka` setting overrides them): `enable.idempotence=true`, so a retried
/// send never writes a message twice; `partitioner=murmur2_random`, the Java client's
/// partitioner, so a key lands in the partition a Java producer (Kafka Connect, MSK
/// connectors) would put it in.
pub struct Producer {
    /// Threaded: its own thread serves delivery reports, which a transaction's commit and
    /// abort wait for.
    inner: ThreadedProducer<Tally>,
}

const PRODUCER_DEFAULTS: [(&str, &str); 2] = [
    ("enable.idempotence", "true"),
    ("partitioner", "murmur2_random"),
];

impl Producer {
    /// A producer for the cluster at `brokers` (`HOST:PORT[,HOST:PORT...]`).
    pub fn new(brokers: &str, settings: &Settings) -> Result<Producer, KafkaError> {
        Producer::with_required(brokers, settings, &[])
    }

    fn with_required(
        brokers: &str,
        settings: &Settings,
        required: &[Required<'_>],
    ) -> Result<Producer, KafkaError> {
        let config = client_config(brokers, &PRODUCER_DEFAULTS, settings, required)?;
        let inner =
            config
                .create_with_context(Tally::default())
                .map_err(|e| KafkaError::Client {
                    role: "producer",
                    message: e.to_string(),
                })?;
        Ok(Producer { inner })
    }

    /// Queue one message. When librdkafka's queue is full this serves deliveries until there
    /// is room, so it blocks only while the broker is behind.
    pub fn send(&self, topic: &str, key: &[u8], payload: &[u8]) -> Result<(), KafkaError> {
        self.send_to(topic, None, key, Some(payload))
    }

    /// Queue one message to `partition` (`None`: the partitioner's choice by key); a `None`
    /// payload is a tombstone (a compacted topic then forgets the key).
    pub fn send_to(
        &self,
        topic: &str,
        partition: Option<i32>,
        key: &[u8],
        payload: Option<&[u8]>,
    ) -> Result<(), KafkaError> {
        let mut record: BaseRecord<'_, [u8], [u8]> = BaseRecord::to(topic).key(key);
        if let Some(p) = payload {
            record = record.payload(p);
        }
        if let Some(p) = partition {
            record = record.partition(p);
        }
        loop {
            match self.inner.send(record) {
                Ok(()) => return Ok(()),
                Err((e, back)) if e.rdkafka_error_code() == Some(RDKafkaErrorCode::QueueFull) => {
                    record = back;
                    self.inner.poll(Duration::from_millis(100));
                }
                Err((e, _)) => {
                    return Err(KafkaError::Send {
                        topic: topic.to_owned(),
                        message: e.to_string(),
                    })
                }
            }
            self.check_fatal()?;
        }
    }

    /// Wait up to `timeout` for every queued message, and take the tally of deliveries since
    /// the last flush.
    pub fn flush(&self, timeout: Duration) -> Result<Deliveries, KafkaError> {
        if self.inner.flush(timeout).is_err() {
            return Err(KafkaError::FlushTimeout {
                pending: usize::try_from(self.inner.in_flight_count()).unwrap_or(0),
                after: timeout,
            });
        }
        self.check_fatal()?;
        Ok(self.take_deliveries())
    }

    /// The deliveries tallied so far, leaving the tally empty.
    pub fn take_deliveries(&self) -> Deliveries {
        std::mem::take(&mut *lock(&self.inner.context().deliveries))
    }

    /// Errors the client reported since the last call (a broker unreachable, authentication
    /// refused): librdkafka goes on retrying after them, so they are news, not failures.
    pub fn take_errors(&self) -> Vec<String> {
        std::mem::take(&mut *lock(&self.inner.context().errors))
    }

    fn check_fatal(&self) -> Result<(), KafkaError> {
        match self.inner.client().fatal_error() {
            Some((code, message)) => Err(KafkaError::Fatal {
                message: format!("{code:?}: {message}"),
            }),
            None => Ok(()),
        }
    }
}

/// A producer whose messages, and the consumer offsets sent with them, become visible to
/// `read_committed` readers all together at [`commit`](TransactionalProducer::commit), or
/// never ([`abort`](TransactionalProducer::abort)).
///
/// One `transactional.id` per input partition set owner: a second producer created with the
/// same id fences the first (its next call fails with [`TxnFailure::Fatal`]), which is how a
/// consumer that lost its partitions is kept from committing over the new owner.
///
/// [`TxnFailure::Fatal`]: crate::TxnFailure::Fatal
pub struct TransactionalProducer {
    producer: Producer,
    timeout: Duration,
}

impl TransactionalProducer {
    /// Create the producer and initialise its transactions (waits for the transaction
    /// coordinator, fencing an older producer with the same `transactional_id`). `timeout`
    /// bounds this and every later blocking call.
    pub fn new(
        brokers: &str,
        transactional_id: &str,
        settings: &Settings,
        timeout: Duration,
    ) -> Result<TransactionalProducer, KafkaError> {
        let required = [
            Required {
                key: "transactional.id",
                value: transactional_id,
                why: "snapback names its transactional producers",
            },
            Required {
                key: "enable.idempotence",
                value: "true",
                why: "transactions need an idempotent producer",
            },
        ];
        let producer = Producer::with_required(brokers, settings, &required)?;
        producer
            .inner
            .init_transactions(timeout)
            .map_err(|e| KafkaError::transaction("init", e))?;
        Ok(TransactionalProducer { producer, timeout })
    }

    /// Start a transaction.
    pub fn begin(&self) -> Result<(), KafkaError> {
        self.producer
            .inner
            .begin_transaction()
            .map_err(|e| KafkaError::transaction("begin", e))
    }

    /// Queue one message in the open transaction.
    pub fn send(&self, topic: &str, key: &[u8], payload: &[u8]) -> Result<(), KafkaError> {
        self.producer.send(topic, key, payload)
    }

    /// Queue one message in the open transaction to `partition`, or a tombstone
    /// ([`Producer::send_to`]).
    pub fn send_to(
        &self,
        topic: &str,
        partition: Option<i32>,
        key: &[u8],
        payload: Option<&[u8]>,
    ) -> Result<(), KafkaError> {
        self.producer.send_to(topic, partition, key, payload)
    }

    /// Make committing `offsets` for the consumer `group` part of the open transaction (the
    /// offsets of the next messages to read, [`Offset`]).
    pub fn send_offsets(
        &self,
        offsets: &[Offset],
        group: &GroupMetadata,
    ) -> Result<(), KafkaError> {
        let tpl = offsets_list(offsets)?;
        self.producer
            .inner
            .send_offsets_to_transaction(&tpl, group.inner(), self.timeout)
            .map_err(|e| KafkaError::transaction("send_offsets", e))
    }

    /// Commit the open transaction: flushes its messages first; on success they and its
    /// offsets are visible to `read_committed` readers. Returns the deliveries tallied.
    pub fn commit(&self) -> Result<Deliveries, KafkaError> {
        self.producer
            .inner
            .commit_transaction(self.timeout)
            .map_err(|e| KafkaError::transaction("commit", e))?;
        Ok(self.producer.take_deliveries())
    }

    /// Abort the open transaction: its messages are never shown to `read_committed` readers
    /// and its offsets are not committed.
    pub fn abort(&self) -> Result<(), KafkaError> {
        self.producer
            .inner
            .abort_transaction(self.timeout)
            .map_err(|e| KafkaError::transaction("abort", e))?;
        self.producer.take_deliveries();
        Ok(())
    }

    /// Errors the client reported since the last call ([`Producer::take_errors`]).
    pub fn take_errors(&self) -> Vec<String> {
        self.producer.take_errors()
    }

    /// `Err(KafkaError::Fatal)` once the producer can do nothing more (fenced by a newer one
    /// with its `transactional.id`, or refused for good): a failed send says only that it
    /// failed.
    pub fn check_fatal(&self) -> Result<(), KafkaError> {
        self.producer.check_fatal()
    }
}

/// Offsets as librdkafka's list.
pub(crate) fn offsets_list(offsets: &[Offset]) -> Result<TopicPartitionList, KafkaError> {
    let mut tpl = TopicPartitionList::with_capacity(offsets.len());
    for o in offsets {
        tpl.add_partition_offset(&o.topic, o.partition, rdkafka::Offset::Offset(o.next))
            .map_err(|e| KafkaError::BadTopic {
                topic: o.topic.clone(),
                message: e.to_string(),
            })?;
    }
    Ok(tpl)
}
