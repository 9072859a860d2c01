//! snapback on Kafka: the one crate that names `rdkafka` (librdkafka, built from its bundled
//! source), like the rsigma facade for Sigma. Nothing outside it sees a librdkafka type: it
//! hands out owned messages, rebalances as values, typed errors, and takes `KEY=VALUE`
//! settings through to librdkafka unchanged.
//!
//! What it owns, and why here:
//! - [`Producer`]: keyed messages, deliveries tallied per partition (`snapback replay`).
//! - [`TransactionalProducer`]: messages and consumer offsets committed together, so that a
//!   `read_committed` reader sees the output of each input message exactly once whatever
//!   crashes (consume-transform-produce, as Kafka Streams does it).
//! - [`GroupConsumer`]: a consumer group member reading `read_committed`, committing its
//!   offsets itself or in a transaction, whose rebalances arrive as [`Polled`] values in the
//!   order they happened: the caller owns per-partition state and must see exactly when a
//!   partition came or went, not have it done behind its back.
//! - [`decode_message`]: a message's payload into audit events through `snapback-ingest`'s
//!   reader, the same one `scan` uses, with provenance `kafka://TOPIC/PARTITION@OFFSET#i`.
//! - [`KeyBy`]: the message key that keeps what one sequence can link in one partition.
//! - [`PartitionReader`]: one partition read outside the group, to its end or up to an
//!   offset, from an offset or a timestamp: a consumer's changelog, and the input it reads
//!   again to rebuild a partition's state after taking it over.
//! - [`create_topic`], [`partition_count`]: topics for tests and for a consumer's own topics.
//!
//! ```no_run
//! use std::time::Duration;
//! use snapback_kafka::{ConsumerConfig, GroupConsumer, Polled, Settings};
//! let consumer = GroupConsumer::new(&ConsumerConfig {
//!     brokers: "127.0.0.1:9092".into(),
//!     group: "snapback".into(),
//!     topics: vec!["cloudtrail".into()],
//!     auto_commit: false,
//!     settings: Settings::parse(["security.protocol=PLAINTEXT"])?,
//! })?;
//! for polled in consumer.poll(500, Duration::from_secs(1))? {
//!     match polled {
//!         Polled::Message(m) => println!("{}", m.provenance_name()),
//!         Polled::Assigned(p) | Polled::Revoked(p) => println!("rebalance: {p:?}"),
//!         Polled::RebalanceFailed(e) | Polled::ClientError(e) => eprintln!("{e}"),
//!     }
//! }
//! # Ok::<(), snapback_kafka::KafkaError>(())
//! ```

#![forbid(unsafe_code)]

mod admin;
mod config;
mod consumer;
pub mod decode;
mod error;
mod key;
mod producer;
mod reader;

pub use admin::{create_topic, partition_count, TopicCreated, TopicSpec};
pub use config::Settings;
pub use consumer::{
    ConsumerConfig, GroupConsumer, GroupMetadata, Message, Offset, PartitionId, Polled,
};
pub use decode::{decode_message, provenance_name};
pub use error::{KafkaError, TxnFailure};
pub use key::{account_key, KeyBy};
pub use producer::{Deliveries, Producer, TransactionalProducer};
pub use reader::{PartitionReader, Until};
