//! Issue 13, item 4: a zip member is streamed, never read whole into memory (it was read whole
//! and cut at 2 GiB without a word). A member of 64 MiB (a record too large to keep between
//! two small ones) is read to its end while the process's peak resident size grows by far less
//! than the member, with the bound on archives held in memory set far below it. Alone in its
//! binary so that the peak resident size measures only this reading.

mod common;

use std::io::Write;

use common::{ct, read_with};
use snapback_ingest::{IngestOptions, Input};

const MEMBER_MB: usize = 64;

/// Peak resident set size of this process, in bytes (Linux).
fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// A zip (stored, so that its member is as large on disk) whose one member holds `g0`, a
/// record of 64 MiB, and `g1`; written without holding the member in memory.
fn write_zip(path: &std::path::Path) {
    let file = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut w = zip::ZipWriter::new(file);
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .large_file(true);
    w.start_file("big.jsonl", options).unwrap();
    writeln!(w, "{}", ct("2024-01-01T00:00:00Z", "StopInstances", "g0")).unwrap();
    write!(
        w,
        "{{\"eventTime\":\"2024-01-01T00:00:01Z\",\"userAgent\":\""
    )
    .unwrap();
    let chunk = vec![b'x'; 1024 * 1024];
    for _ in 0..MEMBER_MB {
        w.write_all(&chunk).unwrap();
    }
    writeln!(w, "\"}}").unwrap();
    writeln!(w, "{}", ct("2024-01-01T00:00:02Z", "StartInstances", "g1")).unwrap();
    w.finish().unwrap().flush().unwrap();
}

#[test]
fn item4_zip_member_is_streamed_not_read_whole() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.zip");
    write_zip(&path);
    let options = IngestOptions {
        max_archive_bytes: 1024,
        ..IngestOptions::default()
    };
    let before = peak_rss();
    let r = read_with(&[Input::Path(path)], &options);
    let after = peak_rss();
    let ids: Vec<_> = r.events.iter().map(|e| e.event_id.as_str()).collect();
    // Read to its end: the record after the large one is there.
    assert_eq!(ids, ["g0", "g1"], "{:?}", r.diags);
    let reasons: Vec<_> = r.diags.iter().map(|d| d.reason).collect();
    assert_eq!(reasons, ["record-too-large"]);
    if let (Some(before), Some(after)) = (before, after) {
        let grown = after.saturating_sub(before);
        assert!(
            grown < 40 * 1024 * 1024,
            "peak resident size grew by {grown} bytes reading a {MEMBER_MB} MiB zip member"
        );
    } else {
        eprintln!("silent_loss_memory: /proc/self/status not readable; memory not checked");
    }
}
