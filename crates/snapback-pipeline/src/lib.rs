//! The one library pipeline that `scan`, `demo` and `watch` drive (docs/architecture.md §2.7):
//! bytes → frame → prefilter → decode → `Event` → match and prepare (on the reading threads) →
//! detect (on the calling thread) → alerts → a [`Selection`] per sink.
//!
//! The command line only parses flags, picks sinks and prints; what a run reads, how it reads
//! it and which alerts reach a sink are decided here, once:
//!
//! - [`ReadPlan`]: the prefilter (on unless a sink needs every record, `--strict`, or
//!   `SNAPBACK_NO_PREFILTER`), the key contract between the prefilter, the decoders and the
//!   framer ([`snapback_model::KeySpec`]), and the framer's fast path
//!   (`SNAPBACK_NO_FAST_FRAMER` turns it off to compare).
//! - [`prepare`]: rule matching and the detector's preparation of a matched event, on the
//!   reading threads, so that a batch waiting to be handed on holds slim events.
//! - [`Batch`]: a run where input ends (`scan`, `demo`): read everything through the plan into
//!   a [`Detector`], then finish it.
//! - [`Selection`]: which alerts a sink shows (`--min-risk`, `--show-suppressed`).
//!
//! - [`watch`]: a run where input does not end: [`watch::Stream`] (the streaming detector
//!   with its intake, revisions and checkpoint contents, which `watch` and a Kafka consumer
//!   both drive), the file sources, the redb checkpoint and [`watch::Watch`], the loop that
//!   ties them to a [`watch::Sink`].
//!
//! - [`partitioned`]: a [`watch::Stream`] per input partition, with the changelog a consumer
//!   group needs to move a partition between processes (Kafka, #14), without naming Kafka.
//!
//! It owns no flags, formats or decoders.

#![forbid(unsafe_code)]

mod batch;
mod error;
pub mod partitioned;
mod reading;
mod selection;
pub mod watch;

pub use batch::{Batch, BatchRun};
pub use error::PipelineError;
pub use reading::{prepare, PrefilterMode, ReadPlan};
pub use selection::Selection;

pub use snapback_correlate::Detector;
