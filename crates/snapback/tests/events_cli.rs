//! End-to-end tests of `snapback events` over the authored fixtures in
//! `tests/fixtures/ingest/` (see its README): ordering, formats, stdin, `--strict`, and
//! attacker-written strings.

use std::path::PathBuf;

use assert_cmd::Command;
use serde_json::Value;

fn fixture(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/ingest")
        .join(rel)
}

fn snapback() -> Command {
    Command::cargo_bin("snapback").unwrap()
}

fn jsonl(stdout: &[u8]) -> Vec<Value> {
    String::from_utf8(stdout.to_vec())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

#[test]
fn s3_layout_prints_events_sorted_by_time_across_files() {
    let out = snapback()
        .args(["events", "--format", "jsonl"])
        .arg(fixture("s3"))
        .assert()
        .success()
        .get_output()
        .clone();
    let events = jsonl(&out.stdout);
    let got: Vec<(&str, &str)> = events
        .iter()
        .map(|e| (e["time"].as_str().unwrap(), e["event_id"].as_str().unwrap()))
        .collect();
    // e1, e3, e5 in one file, e2, e4 in another, e1b in a third region's folder.
    assert_eq!(
        got,
        [
            ("2024-03-01T10:00:00Z", "e1"),
            ("2024-03-01T10:00:30Z", "e1b"),
            ("2024-03-01T10:01:00Z", "e2"),
            ("2024-03-01T10:02:00Z", "e3"),
            ("2024-03-01T10:03:00Z", "e4"),
            ("2024-03-01T10:04:00Z", "e5")
        ]
    );
    assert!(events.iter().all(|e| e.is_object() && e["cloud"] == "aws"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("6 events from 3 files"), "{stderr}");

    let out = snapback()
        .arg("events")
        .arg(fixture("s3"))
        .assert()
        .success()
        .get_output()
        .clone();
    let table = String::from_utf8(out.stdout).unwrap();
    let rows: Vec<&str> = table
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .collect();
    let ops: Vec<&str> = rows
        .iter()
        .map(|r| r.split_whitespace().nth(4).unwrap())
        .collect();
    assert_eq!(
        ops,
        [
            "StopInstances",
            "DescribeInstances",
            "CreateSnapshot",
            "ModifyInstanceAttribute",
            "CreateVolume",
            "StartInstances"
        ],
        "{table}"
    );
    assert!(table.lines().next().unwrap().contains("TIME"));
}

#[test]
fn every_layout_and_stdin() {
    let out = snapback()
        .args(["events", "--format", "jsonl", "--strict"])
        .arg(fixture("layouts"))
        .assert()
        .success()
        .get_output()
        .clone();
    let events = jsonl(&out.stdout);
    let count = |cloud: &str| events.iter().filter(|e| e["cloud"] == cloud).count();
    assert_eq!((count("aws"), count("azure"), count("gcp")), (13, 5, 6));
    let times: Vec<&str> = events.iter().map(|e| e["time"].as_str().unwrap()).collect();
    let mut sorted = times.clone();
    sorted.sort();
    assert_eq!(times, sorted);

    let input = std::fs::read(fixture("layouts/aws/lines.jsonl")).unwrap();
    let out = snapback()
        .args(["events", "--format", "jsonl", "-"])
        .write_stdin(input)
        .assert()
        .success()
        .get_output()
        .clone();
    let events = jsonl(&out.stdout);
    assert_eq!(events.len(), 2);
    assert_eq!(events[0]["provenance"]["file"], "-");
    assert_eq!(events[1]["outcome"]["result"], "failure");
}

#[test]
fn non_audit_records_are_not_problems() {
    let out = snapback()
        .args(["events", "--strict"])
        .arg(fixture("non-audit"))
        .assert()
        .success()
        .get_output()
        .clone();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("not audit events: load-balancer-log 1, s3-access-log (text) 1, vpc-flow-log 1, vpc-flow-log (text) 1, workspace-login 1"), "{stderr}");
}

#[test]
fn strict_exits_1_when_anything_was_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let good = std::fs::read_to_string(fixture("layouts/aws/lines.jsonl")).unwrap();
    std::fs::write(
        dir.path().join("a.jsonl"),
        format!("{good}{{\"eventName\": oops}}\n"),
    )
    .unwrap();
    let out = snapback()
        .args(["events", "--format", "jsonl", "--strict"])
        .arg(dir.path())
        .assert()
        .code(1)
        .get_output()
        .clone();
    // The good records still come out, and the diagnostic names file, record and byte.
    assert_eq!(jsonl(&out.stdout).len(), 2);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let at = good.len();
    assert!(
        stderr.contains(&format!("a.jsonl record 2 (byte {at}): invalid-json")),
        "{stderr}"
    );
    assert!(
        stderr.contains("1 invalid records skipped (invalid-json 1)"),
        "{stderr}"
    );
    // Without --strict the same input exits 0.
    snapback()
        .args(["events", "-q"])
        .arg(dir.path())
        .assert()
        .success();
}

#[test]
fn hostile_strings_are_escaped_in_the_table_and_exact_in_jsonl() {
    let hostile = "\u{1b}[31mred\u{1b}[0m\r\nFAKE ROW\u{7}<script>alert(1)</script>";
    let record = serde_json::json!({
        "eventVersion": "1.09", "eventTime": "2024-03-01T10:00:00Z",
        "eventSource": "ec2.amazonaws.com", "eventName": "StopInstances",
        "awsRegion": "us-east-1", "recipientAccountId": "111122223333",
        "userIdentity": {"type": "IAMUser", "arn": format!("arn:aws:iam::111122223333:user/{hostile}")},
        "sourceIPAddress": "198.51.100.7", "userAgent": hostile, "eventID": "h1"
    });
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.json");
    std::fs::write(&path, record.to_string()).unwrap();

    let out = snapback()
        .arg("events")
        .arg(&path)
        .assert()
        .success()
        .get_output()
        .clone();
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(!table.contains('\u{1b}'), "raw escape in table: {table:?}");
    assert!(
        !table.contains('\r') && !table.contains('\u{7}'),
        "{table:?}"
    );
    // One header line and one row: the CR/LF did not forge a row.
    assert_eq!(
        table.lines().filter(|l| !l.trim().is_empty()).count(),
        2,
        "{table}"
    );
    assert!(table.contains("\\u{1b}[31mred"), "{table}");
    assert!(table.contains("\\r\\nFAKE ROW\\u{7}<script>"), "{table}");

    let out = snapback()
        .args(["events", "--format", "jsonl"])
        .arg(&path)
        .assert()
        .success()
        .get_output()
        .clone();
    let raw = String::from_utf8(out.stdout.clone()).unwrap();
    assert!(
        !raw.contains('\u{1b}') && raw.lines().count() == 1,
        "{raw:?}"
    );
    let events = jsonl(&out.stdout);
    assert_eq!(events[0]["user_agent"], hostile);
    assert_eq!(
        events[0]["actor"]["principal"],
        format!("arn:aws:iam::111122223333:user/{hostile}")
    );
}
