//! What the fuzz targets share: a fixed, small set of decoded events (AWS, Azure and Google
//! Cloud records from the AQL test fixtures) for the targets that evaluate something over
//! events (AQL queries, Sigma rules, tuning).

use std::sync::OnceLock;

use snapback_ingest::{read_bytes, Event, IngestOptions};

const EVENTS: &[u8] = include_bytes!("../../crates/snapback-aql/tests/fixtures/seed-events.jsonl");
const MORE_EVENTS: &[u8] =
    include_bytes!("../../crates/snapback-aql/tests/fixtures/issue17-events.jsonl");

/// The decoded fixture events (built once per process).
pub fn events() -> &'static [Event] {
    static EVENTS_CELL: OnceLock<Vec<Event>> = OnceLock::new();
    EVENTS_CELL.get_or_init(|| {
        let mut out = Vec::new();
        for (name, bytes) in [("seed-events.jsonl", EVENTS), ("issue17-events.jsonl", MORE_EVENTS)] {
            read_bytes(
                name,
                bytes,
                &IngestOptions::default(),
                &mut |e| out.push(e),
                &mut |_| {},
            );
        }
        assert!(!out.is_empty(), "the fixture events decode");
        out
    })
}
