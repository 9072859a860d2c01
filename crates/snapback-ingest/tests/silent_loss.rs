//! Issue 13, items 1–6, "silent loss": input that was not read while the run said nothing.
//! One test (or a few) per item, named after it; each builds its input in a temporary
//! directory and checks that every record is read, or that what is not read is said, located
//! and counted. Item 4's memory bound is in `silent_loss_memory.rs` (alone in its binary, so
//! that the process's peak resident size measures only that reading); item 6 end to end (the
//! alert) in `crates/snapback/tests/silent_loss_cli.rs`.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{ct, read, read_with, Read};
use snapback_ingest::{
    read_inputs_parallel, Diagnostic, Event, IngestOptions, Input, ParallelOptions, Severity,
};

fn file(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// Two CloudTrail records as JSON lines: a stop and a start.
fn stop_start() -> String {
    format!(
        "{}\n{}\n",
        ct("2024-01-01T00:00:00Z", "StopInstances", "stop"),
        ct("2024-01-01T00:05:00Z", "StartInstances", "start")
    )
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

fn zip_of(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, bytes) in members {
        w.start_file(*name, zip::write::SimpleFileOptions::default())
            .unwrap();
        w.write_all(bytes).unwrap();
    }
    w.finish().unwrap().into_inner()
}

fn ids(r: &Read) -> Vec<&str> {
    r.events.iter().map(|e| e.event_id.as_str()).collect()
}

/// What [`read_inputs_parallel`] (the reader of `scan`) gives: event ids and diagnostics.
fn read_parallel(inputs: &[Input]) -> (Vec<String>, Vec<Diagnostic>) {
    let mut events: Vec<Event> = Vec::new();
    let mut diags = Vec::new();
    read_inputs_parallel(
        inputs,
        &IngestOptions::default(),
        &ParallelOptions::default(),
        &|_| Some(()),
        &mut |e, _| events.push(e),
        &mut |d| diags.push(d.clone()),
        &mut |_| {},
    );
    (events.into_iter().map(|e| e.event_id).collect(), diags)
}

/// Write `bytes` to `path` (a FIFO) from another thread: the first byte alone, then two more,
/// then the rest, with pauses, as a slow producer would; so that the reader's first reads are
/// shorter than any magic number.
fn feed_slowly(path: PathBuf, bytes: Vec<u8>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut w = std::fs::OpenOptions::new().write(true).open(path).unwrap();
        for part in [&bytes[..1], &bytes[1..3], &bytes[3..]] {
            w.write_all(part).unwrap();
            w.flush().unwrap();
            std::thread::sleep(Duration::from_millis(50));
        }
    })
}

fn mkfifo(path: &Path) {
    let made = Command::new("mkfifo").arg(path).status().unwrap();
    assert!(made.success(), "mkfifo {}", path.display());
}

#[test]
fn item1_fifo_is_read_not_taken_for_text() {
    let dir = tempfile::tempdir().unwrap();
    let plain = stop_start().into_bytes();
    for (name, bytes) in [("plain", plain.clone()), ("gzip", gzip(&plain))] {
        // Sequential reader.
        let fifo = dir.path().join(format!("{name}.fifo"));
        mkfifo(&fifo);
        let writer = feed_slowly(fifo.clone(), bytes.clone());
        let r = read(&[&fifo]);
        writer.join().unwrap();
        assert_eq!(ids(&r), ["stop", "start"], "{name}: {:?}", r.diags);
        assert!(r.diags.is_empty(), "{name}: {:?}", r.diags);
        assert!(r.summary.not_audit.is_empty(), "{name}: {}", r.summary);
        // The reader of `scan`.
        let fifo = dir.path().join(format!("{name}-parallel.fifo"));
        mkfifo(&fifo);
        let writer = feed_slowly(fifo.clone(), bytes);
        let (events, diags) = read_parallel(&[Input::Path(fifo)]);
        writer.join().unwrap();
        assert_eq!(events, ["stop", "start"], "{name}: {diags:?}");
        assert!(diags.is_empty(), "{name}: {diags:?}");
    }
}

#[test]
fn item1_pipe_is_read_not_taken_for_text() {
    // `snapback scan <(zcat x.gz)`: the shell hands over `/dev/fd/N`, a pipe from a process
    // that writes its first byte, waits, then the rest.
    let dir = tempfile::tempdir().unwrap();
    let plain = stop_start().into_bytes();
    for (name, bytes) in [("plain.json", plain.clone()), ("x.json.gz", gzip(&plain))] {
        let path = file(dir.path(), name, &bytes);
        let script = "head -c 1 \"$0\"; sleep 0.1; tail -c +2 \"$0\"";
        let mut child = Command::new("sh")
            .args(["-c", script])
            .arg(&path)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let fd = {
            use std::os::fd::AsRawFd;
            child.stdout.as_ref().unwrap().as_raw_fd()
        };
        let r = read(&[Path::new(&format!("/dev/fd/{fd}"))]);
        child.wait().unwrap();
        assert_eq!(ids(&r), ["stop", "start"], "{name}: {:?}", r.diags);
        assert!(r.diags.is_empty(), "{name}: {:?}", r.diags);
    }
}

#[test]
fn item1_fifo_found_in_a_directory_is_reported_not_skipped_silently() {
    let dir = tempfile::tempdir().unwrap();
    file(dir.path(), "a.json", stop_start().as_bytes());
    mkfifo(&dir.path().join("b.fifo"));
    let r = read(&[dir.path()]);
    assert_eq!(ids(&r), ["stop", "start"]);
    assert_eq!(r.reasons(), [("not-a-regular-file", None, None)]);
    assert!(r.diags[0].file.ends_with("b.fifo"));
    assert_eq!(r.diags[0].severity, Severity::Warning);
    assert!(r.summary.has_problems());
}

#[test]
fn item2_marks_and_white_space_before_the_first_record_are_removed() {
    let dir = tempfile::tempdir().unwrap();
    let body = stop_start();
    let bom = "\u{feff}";
    let cases = [
        ("two-marks", format!("{bom}{bom}{body}"), 2, 0),
        ("blank-line-then-mark", format!("\n{bom}{body}"), 1, 1),
        ("white-space-then-mark", format!(" \t{bom}{body}"), 1, 2),
        ("marks-and-lines", format!("{bom}\r\n{bom}\n{body}"), 2, 0),
        ("mark-then-blank-line", format!("{bom}\n\n{body}"), 1, 0),
    ];
    for (name, text, marks, first) in cases {
        for (suffix, bytes) in [
            ("json", text.clone().into_bytes()),
            ("json.gz", gzip(text.as_bytes())),
        ] {
            let path = file(dir.path(), &format!("{name}.{suffix}"), &bytes);
            let r = read(&[&path]);
            assert_eq!(ids(&r), ["stop", "start"], "{name}.{suffix}: {}", r.summary);
            assert!(r.summary.not_audit.is_empty(), "{name}.{suffix}");
            assert_eq!(
                r.reasons(),
                [("byte-order-mark", None, Some(first))],
                "{name}.{suffix}"
            );
            let detail = &r.diags[0].detail;
            assert_eq!(
                detail.starts_with(&format!("{marks} ")),
                marks > 1,
                "{detail}"
            );
        }
    }
}

#[test]
fn item2_marks_cut_in_two_by_the_reads_of_a_pipe() {
    use snapback_ingest::frame::{Framer, Start};
    let text = format!("\u{feff}\n\u{feff}{}", stop_start());
    for buffer in [1, 2, 4, 5] {
        let reader = std::io::BufReader::with_capacity(buffer, text.as_bytes());
        let mut f = Framer::new(reader, usize::MAX);
        assert_eq!(f.start().unwrap(), Start::Json, "buffer {buffer}");
        assert_eq!(f.start_boms(), (2, 0), "buffer {buffer}");
        let mut records = 0;
        while let Some(frame) = f.next_frame() {
            assert!(matches!(
                frame,
                Ok(snapback_ingest::frame::Frame::Record { .. })
            ));
            records += 1;
        }
        assert_eq!(records, 2, "buffer {buffer}");
    }
    // A mark's first bytes and then something else is text, and so is a mark's start alone.
    for bytes in [&b"\xEF\xBBx{}"[..], b"\xEF\xBB"] {
        let mut f = Framer::new(std::io::BufReader::with_capacity(1, bytes), usize::MAX);
        assert!(
            matches!(f.start().unwrap(), Start::Text { .. }),
            "{bytes:?}"
        );
    }
}

#[test]
fn item2_utf16_is_decoded_not_taken_for_text() {
    let dir = tempfile::tempdir().unwrap();
    // A user agent outside the Basic Multilingual Plane: a surrogate pair in UTF-16.
    let body = stop_start().replace("aws-cli/2.15.0", "aws-cli/2.15.0 \u{1F600}");
    let le: Vec<u8> = body.encode_utf16().flat_map(u16::to_le_bytes).collect();
    let be: Vec<u8> = body.encode_utf16().flat_map(u16::to_be_bytes).collect();
    let cases = [
        (
            "le-with-mark",
            [&[0xFF, 0xFE][..], &le].concat(),
            "UTF-16LE (with",
        ),
        (
            "be-with-mark",
            [&[0xFE, 0xFF][..], &be].concat(),
            "UTF-16BE (with",
        ),
        ("le-without-mark", le.clone(), "UTF-16LE (without"),
        ("be-without-mark", be.clone(), "UTF-16BE (without"),
    ];
    for (name, bytes, says) in cases {
        for (suffix, bytes) in [("json", bytes.clone()), ("json.gz", gzip(&bytes))] {
            let path = file(dir.path(), &format!("{name}.{suffix}"), &bytes);
            let r = read(&[&path]);
            assert_eq!(ids(&r), ["stop", "start"], "{name}.{suffix}: {:?}", r.diags);
            assert_eq!(
                r.events[0].user_agent.as_deref(),
                Some("aws-cli/2.15.0 \u{1F600}")
            );
            assert_eq!(r.reasons(), [("utf-16", None, Some(0))], "{name}.{suffix}");
            assert!(r.diags[0].detail.contains(says), "{}", r.diags[0].detail);
            assert!(r.summary.not_audit.is_empty());
            assert!(
                r.summary.has_problems(),
                "--strict must fail on a decoded file"
            );
        }
    }
    // A lone surrogate in the UTF-16 itself: replaced, the record kept, said where.
    let mut bad = [&[0xFF, 0xFE][..], &le].concat();
    let at = bad.len() - 10;
    bad[at..at + 2].copy_from_slice(&0xD800u16.to_le_bytes());
    let path = file(dir.path(), "lone.json", &bad);
    let r = read(&[&path]);
    assert_eq!(ids(&r), ["stop", "start"]);
    let reasons: Vec<_> = r.diags.iter().map(|d| d.reason).collect();
    assert_eq!(reasons, ["utf-16", "invalid-utf16"]);
    assert!(r.diags[1].offset.is_some());
    // UTF-16 text that is not JSON is text like any other: counted by kind, not warned about.
    let csv: Vec<u8> = "\u{feff}time,name,agent\n1,StopInstances,x\n"
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    let r = read(&[&file(dir.path(), "export.csv", &csv)]);
    assert!(r.diags.is_empty(), "{:?}", r.diags);
    assert_eq!(r.summary.not_audit.get("csv (text)"), Some(&1));
}

#[test]
fn item2_utf32_is_an_error_not_text() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = vec![0xFF, 0xFE, 0, 0];
    bytes.extend(stop_start().chars().flat_map(|c| (c as u32).to_le_bytes()));
    let path = file(dir.path(), "utf32.json", &bytes);
    let r = read(&[&path]);
    assert_eq!(r.reasons(), [("unsupported-format", None, Some(0))]);
    assert_eq!(r.diags[0].severity, Severity::Error);
    assert!(r.summary.not_audit.is_empty());
    assert_eq!(r.summary.files_failed, 1);
}

#[test]
fn item3_zip_inside_zip_and_zip_inside_gzip_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let body = stop_start().into_bytes();
    let inner_zip = zip_of(&[("logs/a.json", &body)]);
    let cases: [(&str, Vec<u8>, &str); 5] = [
        (
            "zip-in-zip.zip",
            zip_of(&[("inner.zip", &inner_zip)]),
            "zip-in-zip.zip!inner.zip!logs/a.json",
        ),
        (
            "zip-in-gzip.zip.gz",
            gzip(&inner_zip),
            "zip-in-gzip.zip.gz!logs/a.json",
        ),
        (
            "gzip-in-gzip.json.gz.gz",
            gzip(&gzip(&body)),
            "gzip-in-gzip.json.gz.gz",
        ),
        (
            "gzip-in-zip-in-zip.zip",
            zip_of(&[("inner.zip", &zip_of(&[("a.json.gz", &gzip(&body))]))]),
            "gzip-in-zip-in-zip.zip!inner.zip!a.json.gz",
        ),
        (
            "zip-in-gzip-in-zip.zip",
            zip_of(&[("inner.zip.gz", &gzip(&inner_zip))]),
            "zip-in-gzip-in-zip.zip!inner.zip.gz!logs/a.json",
        ),
    ];
    for (name, bytes, provenance) in cases {
        let path = file(dir.path(), name, &bytes);
        let r = read(&[&path]);
        assert_eq!(ids(&r), ["stop", "start"], "{name}: {:?}", r.diags);
        assert!(r.diags.is_empty(), "{name}: {:?}", r.diags);
        assert!(r.summary.not_audit.is_empty(), "{name}: {}", r.summary);
        assert!(
            r.events[0].provenance.file.ends_with(provenance),
            "{name}: {}",
            r.events[0].provenance.file
        );
        // The reader of `scan` too.
        let (events, diags) = read_parallel(&[Input::Path(path)]);
        assert_eq!(events, ["stop", "start"], "{name}: {diags:?}");
    }
}

#[test]
fn item3_archives_nested_deeper_than_the_limit_are_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let body = stop_start().into_bytes();
    // Five layers: gzip, zip, gzip, zip, gzip.
    let five = gzip(&zip_of(&[(
        "l3.json.gz",
        &gzip(&zip_of(&[("l5.json.gz", &gzip(&body))])),
    )]));
    let path = file(dir.path(), "five.gz", &five);
    let r = read(&[&path]);
    assert!(r.events.is_empty());
    assert_eq!(r.reasons(), [("archive-too-deep", None, Some(0))]);
    assert!(
        r.diags[0].file.ends_with("five.gz!l3.json.gz!l5.json.gz"),
        "{}",
        r.diags[0].file
    );
    assert_eq!(r.summary.files_failed, 1);
    // Allowed one layer more, it is read.
    let deeper = IngestOptions {
        max_archive_depth: 5,
        ..IngestOptions::default()
    };
    let r = read_with(&[Input::Path(path.clone())], &deeper);
    assert_eq!(ids(&r), ["stop", "start"], "{:?}", r.diags);
    // Four layers are read by default.
    let four = zip_of(&[("l2.gz", &gzip(&zip_of(&[("l4.json.gz", &gzip(&body))])))]);
    let path = file(dir.path(), "four.zip", &four);
    assert_eq!(ids(&read(&[&path])), ["stop", "start"]);
}

#[test]
fn item3_other_compressions_and_archives_are_errors_not_text() {
    let dir = tempfile::tempdir().unwrap();
    let mut tar = vec![0u8; 1024];
    tar[..6].copy_from_slice(b"a.json");
    tar[257..263].copy_from_slice(b"ustar\0");
    let cases: [(&str, Vec<u8>, &str); 5] = [
        ("a.json.xz", b"\xFD7zXZ\0\0\x04rest".to_vec(), "xz"),
        (
            "a.json.zst",
            b"\x28\xB5\x2F\xFD\x04\x58rest".to_vec(),
            "zstd",
        ),
        ("a.json.bz2", b"BZh91AY&SYrest".to_vec(), "bzip2"),
        ("a.tar", tar.clone(), "tar"),
        ("a.tar.gz", gzip(&tar), "tar"),
    ];
    for (name, bytes, format) in cases {
        let path = file(dir.path(), name, &bytes);
        let r = read(&[&path]);
        assert_eq!(
            r.reasons(),
            [("unsupported-format", None, Some(0))],
            "{name}"
        );
        assert!(
            r.diags[0].detail.starts_with(format),
            "{}",
            r.diags[0].detail
        );
        assert!(r.summary.not_audit.is_empty(), "{name}: {}", r.summary);
    }
}

#[test]
fn item4_nested_zip_over_the_memory_bound_is_read_as_it_streams_not_cut() {
    let dir = tempfile::tempdir().unwrap();
    // Many records, so that the inner archive is far over the bound set below.
    let body: String = (0..200)
        .map(|i| {
            format!(
                "{}\n",
                ct(
                    "2024-01-01T00:00:00Z",
                    "DescribeInstances",
                    &format!("e{i}")
                )
            )
        })
        .collect();
    let inner = zip_of(&[
        ("a.json", body.as_bytes()),
        ("b.json", stop_start().as_bytes()),
    ]);
    let outer = zip_of(&[("inner.zip", &inner)]);
    let path = file(dir.path(), "outer.zip", &outer);
    let small = IngestOptions {
        max_archive_bytes: 256,
        ..IngestOptions::default()
    };
    assert!(inner.len() > 4 * small.max_archive_bytes, "{}", inner.len());
    for options in [IngestOptions::default(), small.clone()] {
        let r = read_with(&[Input::Path(path.clone())], &options);
        assert_eq!(r.events.len(), 202, "{:?}", r.diags);
        assert_eq!(r.events[201].event_id, "start");
        assert!(r.diags.is_empty(), "{:?}", r.diags);
    }
    // An inner archive that gives a member's size only after its data (bit 3: a data
    // descriptor) cannot be read as it streams: over the bound it is an error, said, and the
    // members before it are read; under the bound it is read.
    let mut described = inner.clone();
    described[6] |= 0x08;
    let outer = zip_of(&[("inner.zip", &described)]);
    let path = file(dir.path(), "described.zip", &outer);
    let r = read_with(&[Input::Path(path.clone())], &small);
    assert!(r.events.is_empty());
    assert_eq!(r.reasons(), [("corrupt-zip", None, None)]);
    assert!(
        r.diags[0].detail.contains("max_archive_bytes"),
        "{}",
        r.diags[0].detail
    );
    assert_eq!(r.summary.files_failed, 1);
    let r = read(&[&path]);
    assert_eq!(r.events.len(), 202, "{:?}", r.diags);
}

/// The records after one broken record of JSON lines or of a `Records` array are read, and the
/// broken one is one invalid record.
fn assert_one_invalid_and_the_rest_read(r: &Read, what: &str) {
    assert_eq!(
        ids(r),
        ["g0", "stop", "d1", "start"],
        "{what}: {:?}",
        r.diags
    );
    assert_eq!(r.summary.invalid_total(), 1, "{what}: {}", r.summary);
    assert_eq!(r.summary.skipped_total(), 1, "{what}: {}", r.summary);
    assert_eq!(r.diags.len(), 1, "{what}: {:?}", r.diags);
}

#[test]
fn item5_bad_line_in_json_lines_loses_nothing_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let records = [
        ct("2024-01-01T00:00:00Z", "DescribeInstances", "g0"),
        "[[[".to_owned(),
        ct("2024-01-01T00:01:00Z", "StopInstances", "stop"),
        ct("2024-01-01T00:02:00Z", "DescribeInstances", "d1"),
        ct("2024-01-01T00:03:00Z", "StartInstances", "start"),
    ];
    let text: String = records.iter().map(|r| format!("{r}\n")).collect();
    for (name, bytes) in [
        ("a.jsonl", text.clone().into_bytes()),
        ("a.jsonl.gz", gzip(text.as_bytes())),
    ] {
        let path = file(dir.path(), name, &bytes);
        let r = read(&[&path]);
        assert_one_invalid_and_the_rest_read(&r, name);
        assert_eq!(r.diags[0].record, Some(1));
        assert_eq!(r.diags[0].offset, Some(records[0].len() as u64 + 1));
    }
}

#[test]
fn item5_cut_record_inside_records_loses_nothing_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let cut = ct("2024-01-01T00:00:30Z", "DescribeInstances", "cut");
    let records = [
        ct("2024-01-01T00:00:00Z", "DescribeInstances", "g0"),
        cut[..cut.find("aws-cli").unwrap()].to_owned(),
        ct("2024-01-01T00:01:00Z", "StopInstances", "stop"),
        ct("2024-01-01T00:02:00Z", "DescribeInstances", "d1"),
        ct("2024-01-01T00:03:00Z", "StartInstances", "start"),
    ];
    let one_line = format!("{{\"Records\":[{}]}}", records.join(","));
    let pretty = format!(
        "{{\n  \"Records\": [\n    {}\n  ]\n}}\n",
        records.join(",\n    ")
    );
    for (name, text) in [("one-line.json", one_line), ("pretty.json", pretty)] {
        for (suffix, bytes) in [
            ("", text.clone().into_bytes()),
            (".gz", gzip(text.as_bytes())),
        ] {
            let path = file(dir.path(), &format!("{name}{suffix}"), &bytes);
            let r = read(&[&path]);
            assert_one_invalid_and_the_rest_read(&r, name);
            assert_eq!(r.diags[0].record, Some(1));
        }
    }
}

/// A stop and a start whose user agent holds `escape` (JSON text, such as `\ud800`).
fn stop_start_with_agent(escape: &str) -> [String; 2] {
    let agent = format!("evil{escape}");
    [
        ct("2024-01-01T00:00:00Z", "StopInstances", "stop"),
        ct("2024-01-01T00:05:00Z", "StartInstances", "start"),
    ]
    .map(|r| r.replace("aws-cli/2.15.0", &agent))
}

#[test]
fn item6_lone_surrogate_is_repaired_and_the_record_kept() {
    let dir = tempfile::tempdir().unwrap();
    // A lone high half, a lone low half, a high half before an escape that is not a low one.
    for (escape, agent) in [
        ("\\ud800", "evil\u{FFFD}"),
        ("\\uDC00", "evil\u{FFFD}"),
        ("\\ud800\\u0041", "evil\u{FFFD}A"),
    ] {
        let [stop, start] = stop_start_with_agent(escape);
        let lines = format!("{stop}\n{start}\n");
        let container = format!("{{\"Records\":[{stop},{start}]}}");
        for (name, bytes) in [
            ("a.jsonl", lines.clone().into_bytes()),
            ("b.json.gz", gzip(container.as_bytes())),
        ] {
            let path = file(dir.path(), name, &bytes);
            let r = read(&[&path]);
            assert_eq!(ids(&r), ["stop", "start"], "{escape} {name}: {:?}", r.diags);
            assert_eq!(r.events[0].user_agent.as_deref(), Some(agent));
            let got: Vec<_> = r.diags.iter().map(|d| (d.reason, d.record)).collect();
            assert_eq!(
                got,
                [("lone-surrogate", Some(0)), ("lone-surrogate", Some(1))]
            );
            assert!(r.diags.iter().all(|d| d.severity == Severity::Warning));
            assert_eq!(r.diags[1].offset, Some(bytes_offset(&bytes, &start)));
            assert_eq!(r.summary.skipped_total(), 0);
            assert!(r.summary.has_problems(), "--strict must fail on a repair");
        }
    }
}

/// Where `record` starts in `bytes` (0 when they are compressed: not looked for then).
fn bytes_offset(bytes: &[u8], record: &str) -> u64 {
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(bytes), &mut text).unwrap();
        return text.find(record).unwrap() as u64;
    }
    String::from_utf8_lossy(bytes).find(record).unwrap() as u64
}

#[test]
fn item6_lone_surrogate_in_every_parse_path() {
    let dir = tempfile::tempdir().unwrap();
    let [stop, start] = stop_start_with_agent("\\ud800");
    // Event history: the record is a JSON string inside the record, its escapes escaped.
    let history: Vec<String> = [&stop, &start]
        .iter()
        .map(|r| serde_json::json!({ "EventId": "x", "CloudTrailEvent": r }).to_string())
        .collect();
    assert!(history[0].contains("\\\\ud800"));
    let path = file(dir.path(), "history.jsonl", history.join("\n").as_bytes());
    let r = read(&[&path]);
    assert_eq!(ids(&r), ["stop", "start"], "{:?}", r.diags);
    assert_eq!(r.events[1].user_agent.as_deref(), Some("evil\u{FFFD}"));
    assert_eq!(r.reasons()[0], ("lone-surrogate", Some(0), Some(0)));
    assert!(
        r.diags[0].detail.starts_with("CloudTrailEvent: "),
        "{}",
        r.diags[0].detail
    );
    // Bytes that are not UTF-8 and a lone surrogate in the same record: both repaired.
    let mut both = stop.replace("evil", "evil\u{1}").into_bytes();
    let at = both.iter().position(|&b| b == 1).unwrap();
    both[at] = 0xE9;
    let path = file(dir.path(), "both.jsonl", &both);
    let r = read(&[&path]);
    assert_eq!(ids(&r), ["stop"]);
    assert_eq!(
        r.events[0].user_agent.as_deref(),
        Some("evil\u{FFFD}\u{FFFD}")
    );
    let reasons: Vec<_> = r.diags.iter().map(|d| d.reason).collect();
    assert_eq!(reasons, ["invalid-utf8", "lone-surrogate"]);
    // The reader of `scan`, with a filter that passes the stop and the start (as the
    // prefilter does: a `\u` escape passes any record), fast framer on and off.
    let lines = format!(
        "{stop}\n{}\n{start}\n",
        ct("2024-01-01T00:01:00Z", "Other", "o")
    );
    let path = file(dir.path(), "scan.jsonl", lines.as_bytes());
    let filter = |record: &[u8], _: Option<snapback_ingest::KeyList<'_>>| {
        record.windows(2).any(|w| w == b"\\u")
    };
    for fast_framer in [true, false] {
        let mut events: Vec<Event> = Vec::new();
        let mut diags = Vec::new();
        let summary = read_inputs_parallel(
            &[Input::Path(path.clone())],
            &IngestOptions::default(),
            &ParallelOptions {
                filter: Some(&filter),
                fast_framer,
                ..ParallelOptions::default()
            },
            &|_| Some(()),
            &mut |e, _| events.push(e),
            &mut |d| diags.push(d.clone()),
            &mut |_| {},
        );
        let ids: Vec<_> = events.iter().map(|e| e.event_id.as_str()).collect();
        assert_eq!(ids, ["stop", "start"], "fast {fast_framer}: {diags:?}");
        assert_eq!(summary.prefiltered, 1);
        assert_eq!(summary.warnings, 2);
    }
}

#[test]
fn item5_cut_record_inside_a_cloudwatch_message_is_invalid_not_text() {
    let dir = tempfile::tempdir().unwrap();
    let good = ct("2024-01-01T00:00:00Z", "StopInstances", "stop");
    let cut = ct("2024-01-01T00:05:00Z", "StartInstances", "start");
    let cut = &cut[..cut.len() / 2];
    let batch = serde_json::json!({
        "messageType": "DATA_MESSAGE", "logGroup": "trail", "logStream": "s",
        "logEvents": [
            {"id": "1", "timestamp": 1, "message": good},
            {"id": "2", "timestamp": 2, "message": cut},
            {"id": "3", "timestamp": 3, "message": "START RequestId: 42 Version: $LATEST"},
        ]
    });
    let text = batch.to_string();
    let path = file(dir.path(), "cwl.json", text.as_bytes());
    let r = read(&[&path]);
    assert_eq!(ids(&r), ["stop"]);
    // Each log event is framed as a record (`logEvents` is a container).
    let at = text.find("{\"id\":\"2\"").unwrap() as u64;
    assert_eq!(r.reasons(), [("bad-field", Some(1), Some(at))]);
    assert!(r.diags[0]
        .detail
        .starts_with("CloudWatch Logs message is broken JSON"));
    // The text message is text, as before.
    assert_eq!(
        r.summary.not_audit.get("cloudwatch-logs-text-message"),
        Some(&1)
    );
}

/// Item 9: ten million broken records gave ten million diagnostics, all kept (2–4 GB). Both
/// readers hand on the first `max_diagnostics_per_reason` of each reason, in order, and count
/// the rest in the summary; every record is still counted as skipped. The parallel reader is
/// given small chunks, so that the file is read as many units, each with its own first ones.
#[test]
fn item9_readers_hand_on_the_first_diagnostics_of_each_reason_and_count_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = "{\"x\": nul}\n".repeat(30_000);
    text.push_str("{\"no\": \"shape\"}\n");
    let path = file(dir.path(), "bad.jsonl", text.as_bytes());
    let options = IngestOptions {
        max_diagnostics_per_reason: 25,
        ..IngestOptions::default()
    };
    let inputs = [Input::Path(path)];
    let sequential = read_with(&inputs, &options);
    let mut diags = Vec::new();
    let parallel = read_inputs_parallel(
        &inputs,
        &options,
        &ParallelOptions {
            chunk_bytes: 16 * 1024,
            ..ParallelOptions::default()
        },
        &|_| Some(()),
        &mut |_, _| {},
        &mut |d| diags.push(d.clone()),
        &mut |_| {},
    );
    for (what, diags, summary) in [
        ("sequential", &sequential.diags, &sequential.summary),
        ("parallel", &diags, &parallel),
    ] {
        let records: Vec<Option<u64>> = diags
            .iter()
            .filter(|d| d.reason == "invalid-json")
            .map(|d| d.record)
            .collect();
        let first: Vec<Option<u64>> = (0..25).map(Some).collect();
        assert_eq!(records, first, "{what}: the first 25, in order");
        assert_eq!(
            diags
                .iter()
                .filter(|d| d.reason == "unknown-format")
                .count(),
            1,
            "{what}"
        );
        assert_eq!(summary.skipped.get("invalid-json"), Some(&30_000), "{what}");
        assert_eq!(
            summary.diagnostics_not_shown.get("invalid-json"),
            Some(&29_975),
            "{what}"
        );
        assert!(
            summary
                .to_string()
                .ends_with("; 29975 more diagnostics counted, not shown (invalid-json 29975)"),
            "{what}: {summary}"
        );
    }
}
