//! Decoding: any JSON value through the generic decode entry point, which picks the AWS
//! (CloudTrail, EventBridge, Event history, CloudWatch Logs), Azure (three schemas) or Google
//! Cloud (AuditLog LogEntry) decoder by the record's shape. Seeds: records of each cloud.
#![no_main]

use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use snapback_ingest::{decode_record_checked, Decoded, Provenance};

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let provenance = Provenance {
        file: Arc::from("fuzz"),
        record: 0,
        offset: 0,
    };
    let (decoded, _warnings) = decode_record_checked(value, &provenance);
    for d in decoded {
        if let Decoded::Event(e) = d {
            // What every consumer reads: the summary line, the JSON form.
            let _ = format!("{} {} {} {}", e.time.instant, e.cloud, e.operation, e.provenance);
            let _ = serde_json::to_string(&*e);
        }
    }
});
