//! snapback's shared vocabulary: what a record *is* ([`Event`]) and what snapback *says*
//! ([`Alert`]), with nothing that reads, matches, remembers or writes.
//!
//! Every decoder in `snapback-ingest` produces an [`Event`]; rules, correlation, AQL and the
//! outputs read only this type, and every output writes an [`Alert`]. Keeping both here lets each
//! of those crates depend on the model alone: the outputs need not depend on the correlator to
//! know what an alert is, and the rules and AQL need not depend on the reader to know what an
//! event is (docs/architecture.md §2.2).
//!
//! The crate owns no I/O (`#![forbid(unsafe_code)]`, no `std::fs`, no `std::net`), no decoding
//! and no rule semantics. What it owns besides the types: the derived fields every crate must
//! compute the same way (an event's [`act`](Event::act), its [`entities`](entities_of), alert ids
//! ([`Alert::compute_id`])), the ARM and Compute reference helpers rules and AQL share
//! ([`arm_segment`], [`normalise_ref`]), and the framer's key contract ([`KeyList`], [`KeySpec`]).

#![forbid(unsafe_code)]

pub mod alert;
pub mod codec;
pub mod event;
mod keys;
mod refs;

pub use alert::{
    attack_from_tags, entities_of, Alert, Entity, Evidence, EvidenceRole, Guide, Severity,
    Suppression,
};
pub use event::*;
pub use keys::{KeyList, KeySpec};
pub use refs::{arm_segment, normalise_ref};
