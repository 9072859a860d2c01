//! A record of 50 MB is skipped as `record-too-large`, the next record is still read, and memory
//! stays bounded by the limit, not by the record. This test is alone in its binary so that the
//! process's peak resident size measures only this reading.

mod common;

use std::io::{BufReader, Write};

use common::{ct, read};
use snapback_ingest::frame::{Frame, Framer};

const FIFTY_MB: usize = 50 * 1024 * 1024;

/// Peak resident set size of this process, in bytes (Linux).
fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Write `good0`, a 50 MB record (a CloudTrail record with a huge userAgent), `good1`, without
/// ever holding the 50 MB in memory.
fn write_input(path: &std::path::Path) -> (u64, u64) {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let g0 = ct("2024-01-01T00:00:00Z", "A", "g0");
    writeln!(f, "{g0}").unwrap();
    let big_at = g0.len() as u64 + 1;
    write!(f, "{{\"eventTime\":\"2024-01-01T00:00:01Z\",\"eventSource\":\"ec2.amazonaws.com\",\"eventName\":\"Big\",\"userAgent\":\"").unwrap();
    let chunk = vec![b'x'; 1024 * 1024];
    for _ in 0..50 {
        f.write_all(&chunk).unwrap();
    }
    writeln!(f, "\"}}").unwrap();
    writeln!(f, "{}", ct("2024-01-01T00:00:02Z", "B", "g1")).unwrap();
    f.flush().unwrap();
    (big_at, FIFTY_MB as u64)
}

#[test]
fn a_50_mb_record_is_skipped_and_memory_stays_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.jsonl");
    let (big_at, _) = write_input(&path);

    // The framer never holds more than the limit for one record.
    let limit = 1024 * 1024;
    let mut framer = Framer::new(BufReader::new(std::fs::File::open(&path).unwrap()), limit);
    let mut frames = Vec::new();
    while let Some(f) = framer.next_frame() {
        frames.push(f.unwrap());
    }
    assert!(
        framer.peak_buffered() <= limit,
        "held {} bytes",
        framer.peak_buffered()
    );
    assert!(matches!(frames[0], Frame::Record { .. }));
    match &frames[1] {
        Frame::TooLarge { offset, size } => {
            assert_eq!(*offset, big_at);
            assert!(*size > FIFTY_MB as u64, "{size}");
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(frames[2], Frame::Record { .. }));

    // End to end with the default limit (16 MiB): the peak resident size grows by far less than
    // the record.
    let before = peak_rss();
    let r = read(&[&path]);
    let after = peak_rss();
    let ids: Vec<_> = r.events.iter().map(|e| e.event_id.as_str()).collect();
    assert_eq!(ids, ["g0", "g1"]);
    assert_eq!(r.reasons(), [("record-too-large", Some(1), Some(big_at))]);
    assert_eq!(r.summary.skipped_total(), 1);
    if let (Some(before), Some(after)) = (before, after) {
        let grown = after.saturating_sub(before);
        assert!(
            grown < 40 * 1024 * 1024,
            "peak resident size grew by {grown} bytes reading a 50 MB record"
        );
    } else {
        eprintln!(
            "large_record: /proc/self/status not readable; memory bound checked by the framer only"
        );
    }
}
