//! `read_inputs_parallel` gives what `read_inputs` gives: the same events (with the same
//! provenance), diagnostics, summary, in the same order, with chunks cut anywhere and the fast
//! framer on or off.

use std::path::{Path, PathBuf};

use snapback_ingest::{
    read_inputs, read_inputs_parallel, IngestOptions, Input, ParallelOptions, Progress,
};

fn sequential(inputs: &[Input]) -> (Vec<String>, Vec<String>, String) {
    let mut events = Vec::new();
    let mut diags = Vec::new();
    let s = read_inputs(
        inputs,
        &IngestOptions::default(),
        &mut |e| events.push(format!("{e:?}")),
        &mut |d| diags.push(d.to_string()),
    );
    (events, diags, s.to_string())
}

fn parallel(inputs: &[Input], chunk_bytes: u64, fast: bool) -> (Vec<String>, Vec<String>, String) {
    let mut events = Vec::new();
    let mut diags = Vec::new();
    let mut last = Progress::default();
    let options = ParallelOptions {
        fast_framer: fast,
        chunk_bytes,
        ..ParallelOptions::default()
    };
    let s = read_inputs_parallel(
        inputs,
        &IngestOptions::default(),
        &options,
        &|e| Some(e.event_id.clone()),
        &mut |e, id| {
            assert_eq!(e.event_id, id);
            events.push(format!("{e:?}"))
        },
        &mut |d| diags.push(d.to_string()),
        &mut |p| last = *p,
    );
    assert_eq!(last.files_done, last.files_total);
    assert_eq!(last.bytes_done, last.bytes_total);
    assert!(!last.listing, "the last progress says the listing is over");
    (events, diags, s.to_string())
}

fn check(inputs: &[Input]) {
    let want = sequential(inputs);
    for chunk in [64, 1000, 1 << 30] {
        for fast in [true, false] {
            let got = parallel(inputs, chunk, fast);
            assert_eq!(got.2, want.2, "summary, chunk {chunk}, fast {fast}");
            assert_eq!(got.1, want.1, "diagnostics, chunk {chunk}, fast {fast}");
            assert!(got.0 == want.0, "events differ, chunk {chunk}, fast {fast}");
        }
    }
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn examples_and_fixtures() {
    check(&[
        Input::Path(root().join("examples")),
        Input::Path(root().join("tests/fixtures")),
    ]);
}

#[test]
fn corpus() {
    let corpus = root().join("../shared/corpus");
    if !corpus.is_dir() {
        assert!(
            std::env::var_os("CI").is_none(),
            "../shared/corpus is missing under CI"
        );
        eprintln!("SKIPPED: ../shared/corpus not found");
        return;
    }
    check(&[Input::Path(corpus)]);
}

#[test]
fn json_lines_cut_anywhere() {
    let dir = tempfile::tempdir().unwrap();
    let rec = |i: usize| {
        format!(
            r#"{{"eventVersion":"1.10","eventTime":"2026-11-20T10:{:02}:00Z","eventSource":"ec2.amazonaws.com","eventName":"StopInstances","awsRegion":"us-east-1","eventID":"id-{i}","recipientAccountId":"111122223333","requestParameters":{{"instancesSet":{{"items":[{{"instanceId":"i-{i}"}}]}}}}}}"#,
            i % 60
        )
    };
    let mut lines = String::new();
    for i in 0..200 {
        lines.push_str(&rec(i));
        lines.push('\n');
        match i {
            17 => lines.push_str("{\"eventName\":\"cut off\n"),
            40 => lines.push('\u{feff}'),
            60 => lines.push_str("[[[\n"),
            90 => lines.push_str("not json at all\n"),
            120 => lines.push_str("{\n  \"pretty\": true\n}\n"),
            150 => lines.push_str("}}\n#garbage\n42\n"),
            _ => {}
        }
    }
    std::fs::write(dir.path().join("a.jsonl"), &lines).unwrap();
    let clean: String = (0..300).map(|i| rec(i) + "\n").collect();
    std::fs::write(dir.path().join("b.jsonl"), clean).unwrap();
    // A record cut inside a string in the middle of the Records array.
    let mut elements: Vec<String> = (0..100).map(rec).collect();
    elements[50].truncate(40);
    let records = format!("{{\"Records\":[\n{}\n]}}\n", elements.join(",\n"));
    std::fs::write(dir.path().join("c.json"), records).unwrap();
    check(&[Input::Path(dir.path().to_path_buf())]);
}

/// Events read with a filter (records holding `StopInstances`), and by hits of the same search
/// when `hits`: (event id, file, record index, offset) in the order handed on.
fn filtered(inputs: &[Input], chunk_bytes: u64, hits: bool) -> Vec<(String, String, u64, u64)> {
    let filter = |r: &[u8], _: Option<snapback_ingest::KeyList<'_>>| {
        memchr::memmem::find(r, b"StopInstances").is_some()
    };
    let search = |buf: &[u8], from: usize| {
        memchr::memmem::find(&buf[from..], b"StopInstances").map(|i| from + i)
    };
    let options = ParallelOptions {
        filter: Some(&filter),
        hits: hits.then_some(&search as &snapback_ingest::HitSearch),
        chunk_bytes,
        ..ParallelOptions::default()
    };
    let mut events = Vec::new();
    read_inputs_parallel(
        inputs,
        &IngestOptions::default(),
        &options,
        &|_| Some(()),
        &mut |e, ()| {
            let p = &e.provenance;
            events.push((e.event_id.clone(), p.file.to_string(), p.record, p.offset))
        },
        &mut |_| {},
        &mut |_| {},
    );
    events
}

#[test]
fn reading_by_hits_cites_each_record_by_its_first_byte() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let rec = |i: usize| {
        let op = if i % 7 == 3 {
            "StopInstances"
        } else {
            "DescribeInstances"
        };
        format!(
            r#"{{"eventVersion":"1.10","eventTime":"2026-11-20T10:{:02}:00Z","eventSource":"ec2.amazonaws.com","eventName":"{op}","awsRegion":"us-east-1","eventID":"id-{i}","recipientAccountId":"111122223333"}}"#,
            i % 60
        )
    };
    let lines: String = (0..300).map(|i| rec(i) + "\n").collect();
    std::fs::write(dir.path().join("a.jsonl"), &lines).unwrap();
    let records = format!(
        "{{\"Records\":[{}]}}",
        (0..300).map(rec).collect::<Vec<_>>().join(",")
    );
    std::fs::write(dir.path().join("b.json"), &records).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(records.as_bytes()).unwrap();
    std::fs::write(dir.path().join("c.json.gz"), gz.finish().unwrap()).unwrap();
    // A pretty-printed record holding a hit: that file is read as usual (records numbered).
    let pretty = format!("{}\n{{\n  \"eventVersion\": \"1.10\",\n  \"eventName\": \"StopInstances\",\n  \"eventTime\": \"2026-11-20T11:00:00Z\",\n  \"eventSource\": \"ec2.amazonaws.com\",\n  \"awsRegion\": \"us-east-1\",\n  \"eventID\": \"pretty\",\n  \"recipientAccountId\": \"111122223333\"\n}}\n", rec(3));
    std::fs::write(dir.path().join("d.json"), &pretty).unwrap();
    // Larger than the reader's 4 MiB window: read whole (its first window read to tell what
    // it holds, the rest after it), or in chunks.
    let long: String = (0..24_000).map(|i| rec(i) + "\n").collect();
    assert!(long.len() > 4 << 20);
    std::fs::write(dir.path().join("e.jsonl"), &long).unwrap();
    let inputs = [Input::Path(dir.path().to_path_buf())];
    let plain: std::collections::HashMap<&str, &str> = [
        ("a.jsonl", lines.as_str()),
        ("b.json", records.as_str()),
        ("c.json.gz", records.as_str()),
        ("d.json", pretty.as_str()),
        ("e.jsonl", long.as_str()),
    ]
    .into();
    for chunk in [200, 1 << 30] {
        let usual = filtered(&inputs, chunk, false);
        let by_hits = filtered(&inputs, chunk, true);
        let ids = |v: &[(String, String, u64, u64)]| -> Vec<(String, u64)> {
            v.iter().map(|e| (e.0.clone(), e.3)).collect()
        };
        // The same events, in the same order, at the same offsets.
        assert_eq!(ids(&by_hits), ids(&usual), "chunk {chunk}");
        assert!(by_hits.len() > 100);
        for (id, file, record, offset) in &by_hits {
            let name = Path::new(file).file_name().unwrap().to_str().unwrap();
            let text = &plain[name][*offset as usize..];
            let value: serde_json::Value = serde_json::Deserializer::from_str(text)
                .into_iter()
                .next()
                .unwrap()
                .unwrap();
            assert_eq!(value["eventID"], id.as_str(), "{file}@{offset}");
            let numbered = *record != snapback_ingest::UNNUMBERED;
            assert_eq!(numbered, name == "d.json", "{file}: record {record}");
        }
    }
}

/// What a walk cannot list (a FIFO inside a directory, a path that does not exist) is reported
/// at its place in the walk, the same in both readers, and the files around it are read: the
/// parallel reader plans files as they are listed.
#[test]
fn problems_of_a_walk_are_reported_in_walk_order() {
    let dir = tempfile::tempdir().unwrap();
    let rec = |id: &str| {
        format!(
            r#"{{"eventVersion":"1.10","eventTime":"2026-11-20T10:00:00Z","eventSource":"ec2.amazonaws.com","eventName":"StopInstances","awsRegion":"us-east-1","eventID":"{id}","recipientAccountId":"111122223333"}}"#
        )
    };
    std::fs::write(dir.path().join("a.json"), rec("a") + "\n").unwrap();
    let made = std::process::Command::new("mkfifo")
        .arg(dir.path().join("b.fifo"))
        .status()
        .unwrap();
    assert!(made.success());
    std::fs::write(dir.path().join("c.json"), "{\"broken\": \n").unwrap();
    std::fs::write(dir.path().join("d.json"), rec("d") + "\n").unwrap();
    let inputs = [
        Input::Path(dir.path().to_path_buf()),
        Input::Path(dir.path().join("missing")),
        Input::Path(dir.path().join("a.json")),
    ];
    check(&inputs);
    let (events, diags, _) = sequential(&inputs);
    assert_eq!(events.len(), 3);
    assert_eq!(diags.len(), 3, "{diags:?}");
    assert!(diags[0].contains("b.fifo") && diags[0].contains("not-a-regular-file"));
    assert!(diags[1].contains("c.json"), "{diags:?}");
    assert!(diags[2].contains("missing") && diags[2].contains("unreadable-path"));
}

/// On one thread, a file whose line crosses the 4 MiB window grows the thread's window, and
/// the next file larger than a window is read by hits into that longer window: the same events
/// as read as usual (a first read as long as the grown window once cut a slice out of range).
#[test]
fn a_window_grown_by_one_file_reads_the_next() {
    let dir = tempfile::tempdir().unwrap();
    let rec = |i: usize| {
        let op = if i.is_multiple_of(5) {
            "StopInstances"
        } else {
            "DescribeInstances"
        };
        format!(
            r#"{{"eventVersion":"1.10","eventTime":"2026-11-20T10:00:00Z","eventSource":"ec2.amazonaws.com","eventName":"{op}","awsRegion":"us-east-1","eventID":"id-{i}","recipientAccountId":"111122223333","pad":"{}"}}"#,
            "x".repeat(i % 997)
        )
    };
    for name in ["a.jsonl", "b.jsonl", "c.jsonl"] {
        let text: String = (0..9_000).map(|i| rec(i) + "\n").collect();
        assert!(text.len() > 4 << 20);
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    let inputs = [Input::Path(dir.path().to_path_buf())];
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let (usual, by_hits) = pool.install(|| {
        (
            filtered(&inputs, 1 << 30, false),
            filtered(&inputs, 1 << 30, true),
        )
    });
    assert_eq!(by_hits.len(), 3 * 1_800);
    let ids = |v: &[(String, String, u64, u64)]| -> Vec<(String, String, u64)> {
        v.iter().map(|e| (e.0.clone(), e.1.clone(), e.3)).collect()
    };
    assert_eq!(ids(&by_hits), ids(&usual));
}

/// An empty file read by hits after a file that starts with `{`, on one thread: it is read as
/// usual (the thread's window still holds the other file's bytes, which once passed for the
/// empty file's first byte), so the summary and diagnostics are those of reading as usual.
#[test]
fn an_empty_file_after_another_reads_as_usual() {
    let dir = tempfile::tempdir().unwrap();
    let rec = r#"{"eventVersion":"1.10","eventTime":"2026-11-20T10:00:00Z","eventSource":"ec2.amazonaws.com","eventName":"StopInstances","awsRegion":"us-east-1","eventID":"a","recipientAccountId":"111122223333"}"#;
    std::fs::write(dir.path().join("a.json"), format!("{rec}\n")).unwrap();
    std::fs::write(dir.path().join("b.json"), "").unwrap();
    let inputs = [Input::Path(dir.path().to_path_buf())];
    let search = |buf: &[u8], from: usize| {
        memchr::memmem::find(&buf[from..], b"StopInstances").map(|i| from + i)
    };
    let read = |hits: bool| {
        let options = ParallelOptions {
            hits: hits.then_some(&search as &snapback_ingest::HitSearch),
            ..ParallelOptions::default()
        };
        let mut diags = Vec::new();
        let mut events = 0;
        let s = read_inputs_parallel(
            &inputs,
            &IngestOptions::default(),
            &options,
            &|_| Some(()),
            &mut |_, ()| events += 1,
            &mut |d| diags.push(d.to_string()),
            &mut |_| {},
        );
        (events, diags, s.files_read, s.to_string())
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let (usual, by_hits) = pool.install(|| (read(false), read(true)));
    assert_eq!(usual.0, 1);
    assert_eq!(by_hits.0, usual.0);
    assert_eq!(by_hits.1, usual.1);
    assert_eq!(by_hits.2, usual.2);
}
