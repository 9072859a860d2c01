//! Reading one partition outside any consumer group: a consumer that is *assigned* a
//! partition at an offset (never subscribed, never committing). `consume` uses it when a
//! partition becomes its own: to read the partition's changelog to its end, and to read the
//! input partition again, from a timestamp up to the group's committed offset, to rebuild the
//! detector's state. The group consumer is left at the committed offset meanwhile, so the
//! rebuild never races librdkafka's own fetch start after an assignment.

use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer as _};
use rdkafka::TopicPartitionList;

use crate::config::{client_config, Required};
use crate::consumer::owned;
use crate::{KafkaError, Message, PartitionId, Settings};

/// An assign-only consumer reading `read_committed`: messages of aborted transactions are
/// skipped and reading stops at the last stable offset (no open transaction is read past).
pub struct PartitionReader {
    inner: BaseConsumer,
}

/// Where a read stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Until {
    /// The end of the partition as the broker says it now (for `read_committed`, the last
    /// stable offset).
    End,
    /// Before this offset (the group's committed offset).
    Offset(i64),
}

impl PartitionReader {
    /// A reader for the cluster at `brokers`, with the user's settings (TLS, SASL).
    pub fn new(brokers: &str, settings: &Settings) -> Result<PartitionReader, KafkaError> {
        let required = [
            Required {
                key: "isolation.level",
                value: "read_committed",
                why: "state is rebuilt from committed transactions only",
            },
            Required {
                key: "enable.auto.commit",
                value: "false",
                why: "a partition reader commits nothing",
            },
            Required {
                key: "enable.partition.eof",
                value: "true",
                why: "the reader must know when it reached the end",
            },
        ];
        // librdkafka wants a group id for any consumer; this one never joins or commits.
        // A fetch at the end of a partition waits `fetch.wait.max.ms` (500 ms) for data
        // before the broker answers, and the end is known only from that answer: a reader
        // that stops at the end wants it short.
        let defaults = [
            ("group.id", "snapback-partition-reader"),
            ("auto.offset.reset", "earliest"),
            ("fetch.wait.max.ms", "20"),
        ];
        let mut user = settings.clone();
        // The group's own settings mean nothing to a reader outside the group.
        for k in [
            "group.id",
            "group.instance.id",
            "partition.assignment.strategy",
        ] {
            user.remove(k);
        }
        let inner = client_config(brokers, &defaults, &user, &required)?
            .create()
            .map_err(|e| KafkaError::Client {
                role: "partition reader",
                message: e.to_string(),
            })?;
        Ok(PartitionReader { inner })
    }

    /// The offset of the first message of `id` timestamped at or after `ms` (milliseconds
    /// since the epoch); `None` when every message is older.
    pub fn offset_for_time(
        &self,
        id: &PartitionId,
        ms: i64,
        timeout: Duration,
    ) -> Result<Option<i64>, KafkaError> {
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset(&id.topic, id.partition, rdkafka::Offset::Offset(ms))
            .map_err(|e| KafkaError::consumer("offsets for times", e))?;
        // A broker just restarted answers with a stale leader epoch for a moment: ask again
        // (up to 10 times, 0.5 s apart) before giving up.
        let mut tries = 0;
        let got = loop {
            match self.inner.offsets_for_times(tpl.clone(), timeout) {
                Ok(got) => break got,
                Err(_) if tries < 10 => {
                    tries += 1;
                    std::thread::sleep(Duration::from_millis(500));
                }
                Err(e) => return Err(KafkaError::consumer("offsets for times", e)),
            }
        };
        Ok(got
            .elements()
            .first()
            .and_then(|e| e.offset().to_raw())
            .filter(|o| *o >= 0))
    }

    /// The partition's first offset and its end (for `read_committed`, the last stable
    /// offset).
    pub fn watermarks(
        &self,
        id: &PartitionId,
        timeout: Duration,
    ) -> Result<(i64, i64), KafkaError> {
        self.inner
            .fetch_watermarks(&id.topic, id.partition, timeout)
            .map_err(|e| KafkaError::consumer("watermarks", e))
    }

    /// Read `id` from offset `from` (or its first offset when that is gone) up to `until`,
    /// giving each message to `on_message`. `stall` bounds the wait for the next message.
    /// Returns the number of messages read.
    pub fn read(
        &self,
        id: &PartitionId,
        from: i64,
        until: Until,
        stall: Duration,
        on_message: &mut dyn FnMut(Message),
    ) -> Result<u64, KafkaError> {
        if let Until::Offset(u) = until {
            if from >= u {
                return Ok(0);
            }
        }
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset(&id.topic, id.partition, rdkafka::Offset::Offset(from))
            .map_err(|e| KafkaError::consumer("assign", e))?;
        self.inner
            .assign(&tpl)
            .map_err(|e| KafkaError::consumer("assign", e))?;
        let result = self.read_assigned(id, until, stall, on_message);
        let _ = self.inner.unassign();
        result
    }

    fn read_assigned(
        &self,
        id: &PartitionId,
        until: Until,
        stall: Duration,
        on_message: &mut dyn FnMut(Message),
    ) -> Result<u64, KafkaError> {
        let mut read = 0;
        let mut last = Instant::now();
        loop {
            match self.inner.poll(Duration::from_millis(200)) {
                Some(Ok(m)) => {
                    let m = owned(&m);
                    // Only `id`'s: never a message left from an earlier read.
                    if m.topic != id.topic || m.partition != id.partition {
                        continue;
                    }
                    last = Instant::now();
                    let stop_before = matches!(until, Until::Offset(u) if m.offset >= u);
                    if stop_before {
                        return Ok(read);
                    }
                    let offset = m.offset;
                    on_message(m);
                    read += 1;
                    if matches!(until, Until::Offset(u) if offset + 1 >= u) {
                        return Ok(read);
                    }
                }
                Some(Err(rdkafka::error::KafkaError::PartitionEOF(p))) if p == id.partition => {
                    return Ok(read)
                }
                Some(Err(rdkafka::error::KafkaError::PartitionEOF(_))) => {}
                // The broker away for a moment (restarting): librdkafka reconnects; `stall`
                // bounds the wait.
                Some(Err(e))
                    if matches!(
                        e.rdkafka_error_code(),
                        Some(
                            rdkafka::types::RDKafkaErrorCode::BrokerTransportFailure
                                | rdkafka::types::RDKafkaErrorCode::AllBrokersDown
                        )
                    ) => {}
                Some(Err(e)) => return Err(KafkaError::consumer("reading a partition", e)),
                None if last.elapsed() > stall => {
                    return Err(KafkaError::Consumer {
                        op: "reading a partition",
                        message: format!("{id}: nothing arrived for {stall:?} before its end"),
                    })
                }
                None => {}
            }
        }
    }
}
