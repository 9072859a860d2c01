//! The pipeline's errors: what stops a run (state that cannot be read or written, a sink that
//! refuses, an input that cannot be opened). Bad records are not errors: they are diagnostics,
//! counted in the summary, and the run goes on.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error("opening {} (is another `snapback watch` using it?): {source}", path.display())]
    StateOpen {
        path: PathBuf,
        source: Box<redb::Error>,
    },
    #[error("the watch state: {0}")]
    State(Box<redb::Error>),
    #[error("state table {table}, key {key}: corrupt ({reason})")]
    Corrupt {
        table: String,
        key: String,
        reason: String,
    },
    #[error("{what}: {source}")]
    Io {
        what: String,
        source: std::io::Error,
    },
    #[error(
        "the state in {} was made with other rules or another config; use a new --state directory",
        dir.display()
    )]
    RulesChanged { dir: PathBuf },
    #[error("writing alerts: {0}")]
    Sink(Box<dyn std::error::Error + Send + Sync>),
}

macro_rules! from_redb {
    ($($t:ty),*) => {$(
        impl From<$t> for PipelineError {
            fn from(e: $t) -> Self {
                PipelineError::State(Box::new(e.into()))
            }
        }
    )*};
}
from_redb!(
    redb::Error,
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError
);
