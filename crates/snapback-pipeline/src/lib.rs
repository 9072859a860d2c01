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
//! It owns no flags, formats or decoders. `watch` drives the same plan and preparation into a
//! [`snapback_correlate::stream::Watcher`] (its loop, sources and state store stay in the
//! binary until the incremental stages land, docs/architecture.md §1b).

#![forbid(unsafe_code)]

mod batch;
mod reading;
mod selection;

pub use batch::{Batch, BatchRun};
pub use reading::{prepare, PrefilterMode, ReadPlan};
pub use selection::Selection;

pub use snapback_correlate::Detector;
