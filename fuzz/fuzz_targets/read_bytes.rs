//! Opening an input from bytes: the sniffing of plain JSON, UTF-16, gzip (one or many
//! members) and zip (members, nested archives), then framing and decoding, through
//! `snapback_ingest::read_bytes`, with small limits so that bombs meet them quickly.
#![no_main]

use libfuzzer_sys::fuzz_target;
use snapback_ingest::{read_bytes, IngestOptions};

fuzz_target!(|data: &[u8]| {
    let options = IngestOptions {
        max_record_bytes: 64 * 1024,
        max_archive_depth: 4,
        max_archive_bytes: 4 * 1024 * 1024,
        max_diagnostics_per_reason: 8,
        window: Default::default(),
    };
    let mut events = 0u64;
    let mut diags = 0u64;
    let summary = read_bytes(
        "fuzz.input",
        data,
        &options,
        &mut |_| events += 1,
        &mut |d| {
            let _ = d.to_string();
            diags += 1;
        },
    );
    let _ = summary.to_string();
});
