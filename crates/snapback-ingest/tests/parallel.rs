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
