//! The one error type of this crate. Every variant says which operation failed and what the
//! client or broker said; transaction failures also say what the caller may do next.

use std::fmt;
use std::time::Duration;

/// What a failed transaction operation leaves the caller to do (librdkafka's error flags).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxnFailure {
    /// The same call may be tried again.
    Retriable,
    /// The transaction must be aborted ([`TransactionalProducer::abort`]); the producer stays
    /// usable. The consumer must then go back to the group's committed offsets.
    ///
    /// [`TransactionalProducer::abort`]: crate::TransactionalProducer::abort
    Abortable,
    /// The producer is unusable (fenced by a newer instance with the same `transactional.id`,
    /// or the broker refused it): drop it and create a new one.
    Fatal,
    /// None of the above was flagged.
    Other,
}

impl fmt::Display for TxnFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TxnFailure::Retriable => "retriable",
            TxnFailure::Abortable => "abort the transaction",
            TxnFailure::Fatal => "fatal: create a new producer",
            TxnFailure::Other => "not retriable",
        })
    }
}

/// Everything that can go wrong talking to Kafka.
#[derive(Debug, thiserror::Error)]
pub enum KafkaError {
    /// A `--kafka` setting that is not `KEY=VALUE`.
    #[error("--kafka {given:?}: expected KEY=VALUE (a librdkafka setting, e.g. security.protocol=SASL_SSL)")]
    BadSetting { given: String },
    /// A `--kafka` setting that contradicts one snapback's guarantee depends on.
    #[error("--kafka {key}={given}: snapback needs {key}={needed} here ({why})")]
    ConflictingSetting {
        key: String,
        given: String,
        needed: String,
        why: &'static str,
    },
    /// librdkafka refused the configuration or could not create the client (an unknown
    /// property, a bad value, TLS files that do not load).
    #[error("creating the Kafka {role}: {message}")]
    Client { role: &'static str, message: String },
    /// A topic name librdkafka cannot take (it holds a NUL byte).
    #[error("topic name {topic:?} is not valid: {message}")]
    BadTopic { topic: String, message: String },
    /// A message could not be queued for sending.
    #[error("sending to topic {topic}: {message}")]
    Send { topic: String, message: String },
    /// Messages were queued but not all were acknowledged in time.
    #[error("{pending} message(s) still not acknowledged by the broker after {after:?}")]
    FlushTimeout { pending: usize, after: Duration },
    /// A transaction operation failed.
    #[error("transaction {op}: {message} ({kind})")]
    Transaction {
        op: &'static str,
        kind: TxnFailure,
        message: String,
    },
    /// A consumer operation (subscribe, commit, committed offsets, seek) failed.
    #[error("{op}: {message}")]
    Consumer { op: &'static str, message: String },
    /// The client hit an error it cannot recover from; it must be created anew.
    #[error("fatal Kafka client error: {message}")]
    Fatal { message: String },
    /// Creating a topic failed.
    #[error("creating topic {topic}: {message}")]
    CreateTopic { topic: String, message: String },
    /// Reading cluster metadata failed.
    #[error("reading metadata of topic {topic}: {message}")]
    Metadata { topic: String, message: String },
}

impl KafkaError {
    /// Classify an rdkafka error from a transaction call.
    pub(crate) fn transaction(op: &'static str, e: rdkafka::error::KafkaError) -> KafkaError {
        let kind = match &e {
            rdkafka::error::KafkaError::Transaction(t) if t.is_fatal() => TxnFailure::Fatal,
            rdkafka::error::KafkaError::Transaction(t) if t.txn_requires_abort() => {
                TxnFailure::Abortable
            }
            rdkafka::error::KafkaError::Transaction(t) if t.is_retriable() => TxnFailure::Retriable,
            _ => TxnFailure::Other,
        };
        KafkaError::Transaction {
            op,
            kind,
            message: e.to_string(),
        }
    }

    pub(crate) fn consumer(op: &'static str, e: rdkafka::error::KafkaError) -> KafkaError {
        KafkaError::Consumer {
            op,
            message: e.to_string(),
        }
    }

    /// For a transaction failure, what the caller may do next.
    pub fn txn_failure(&self) -> Option<TxnFailure> {
        match self {
            KafkaError::Transaction { kind, .. } => Some(*kind),
            _ => None,
        }
    }
}
