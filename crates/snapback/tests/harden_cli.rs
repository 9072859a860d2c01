//! Issue 13 ("Harden"), items 9, 13, 14 and 15, end to end through the binary: bounded
//! diagnostics, forwarding that says what may be lost, escaping for the terminal and CSV,
//! and the operator's mistakes found before the scan (with the exit codes of README's table).

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output};

fn snapback(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_snapback"))
        .args(args)
        .output()
        .expect("run snapback")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
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

/// A CloudTrail record with `hostile` in its user agent and user name.
fn cloudtrail(hostile: &str, id: &str) -> String {
    serde_json::json!({
        "eventVersion": "1.09", "eventTime": "2024-03-01T10:00:00Z",
        "eventSource": "ec2.amazonaws.com", "eventName": "StopInstances",
        "awsRegion": "us-east-1", "recipientAccountId": "111122223333",
        "userIdentity": {"type": "IAMUser", "arn": format!("arn:aws:iam::111122223333:user/{hostile}")},
        "sourceIPAddress": "198.51.100.7", "userAgent": hostile, "eventID": id
    })
    .to_string()
}

// ---------------------------------------------------------------------------------------------
// Item 14: nothing attacker-written reaches the terminal raw.

const FORGED: &str = "\u{1b}]0;pwned\u{7}\u{1b}[2J\nerror: forged line\u{202e}txt.exe\u{0}";

/// Hidden characters other than the line ends of the output itself.
fn hidden_in(s: &str) -> Vec<char> {
    s.chars()
        .filter(|c| *c != '\n' && snapback_output::text::is_hidden(*c))
        .collect()
}

fn hostile_zip(dir: &Path) -> std::path::PathBuf {
    let unknown_keys = format!(
        "{{\"{}\": 1, \"\\nerror: forged key\\u202e\": 2}}\n",
        "\\u001b]8;;http://evil.example/\\u0007"
    );
    let bytes = zip_of(&[
        (&format!("AWSLogs/{FORGED}.json"), b"[[[\n"),
        ("AWSLogs/keys.json", unknown_keys.as_bytes()),
    ]);
    let path = dir.join("delivery.zip");
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn item14_zip_member_names_and_record_keys_reach_the_terminal_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let zip = hostile_zip(dir.path());
    let zip = zip.to_str().unwrap();
    for args in [
        vec!["scan", zip],
        vec!["events", zip],
        vec!["aql", "run", "-e", "SELECT username FROM events", zip],
    ] {
        let out = snapback(&args);
        let err = stderr(&out);
        assert_eq!(hidden_in(&err), Vec::<char>::new(), "{args:?}: {err}");
        // Each diagnostic is one line; the newline in the name forged none.
        assert!(
            !err.lines().any(|l| l.starts_with("error: forged")),
            "{args:?}: {err}"
        );
        assert!(
            err.contains(
                "\\u{1b}]0;pwned\\u{7}\\u{1b}[2J\\nerror: forged line\\u{202e}txt.exe\\u{0}"
            ),
            "{args:?}: the member name, visibly escaped: {err}"
        );
        assert!(
            err.contains("\\nerror: forged key\\u{202e}"),
            "{args:?}: the record key, visibly escaped: {err}"
        );
    }
}

#[test]
fn item14_aql_csv_cells_hold_no_control_or_bidi_character() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ct.json");
    std::fs::write(&path, cloudtrail(FORGED, "e1")).unwrap();
    let out = snapback(&[
        "aql",
        "run",
        "--default-window",
        "all",
        "--format",
        "csv",
        "-e",
        "SELECT username, \"userAgent\" FROM events",
        path.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let csv = String::from_utf8(out.stdout).unwrap();
    assert_eq!(hidden_in(&csv), Vec::<char>::new(), "{csv:?}");
    // A header and one row: the CR/LF in the cells forged no row.
    assert_eq!(csv.lines().count(), 2, "{csv}");
    assert!(
        csv.contains("\\nerror: forged line\\u{202e}txt.exe"),
        "{csv}"
    );
}

#[test]
fn item14_scan_table_of_a_hostile_alert_is_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ct.json");
    let stop = cloudtrail(FORGED, "e1");
    let start = stop
        .replace("StopInstances", "StartInstances")
        .replace("10:00:00Z", "10:05:00Z")
        .replace("\"e1\"", "\"e2\"");
    std::fs::write(&path, format!("{stop}\n{start}\n")).unwrap();
    let out = snapback(&["scan", path.to_str().unwrap()]);
    let table = String::from_utf8(out.stdout.clone()).unwrap();
    assert_eq!(hidden_in(&table), Vec::<char>::new(), "{table:?}");
    assert_eq!(hidden_in(&stderr(&out)), Vec::<char>::new());
}

// ---------------------------------------------------------------------------------------------
// Item 9: diagnostics in bounded memory; the summary says how many were not shown.

#[test]
fn item9_many_bad_records_show_the_first_of_each_reason_and_count_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.jsonl");
    let mut bytes = Vec::new();
    for _ in 0..5_000 {
        bytes.extend_from_slice(b"{\"x\": nul}\n");
    }
    bytes.extend_from_slice(b"{\"no\": \"shape\"}\n");
    std::fs::write(&path, bytes).unwrap();
    let p = path.to_str().unwrap();
    for args in [
        vec!["scan", p, "--strict"],
        vec!["events", p],
        vec!["scan", p, "--strict", "--max-diagnostics", "7"],
    ] {
        let shown = if args.contains(&"7") { 7 } else { 100 };
        let out = snapback(&args);
        let err = stderr(&out);
        let invalid = err
            .lines()
            .filter(|l| l.starts_with("error: ") && l.contains(": invalid-json: "))
            .count();
        assert_eq!(invalid, shown, "{args:?}: {err}");
        // The one diagnostic of another reason is still shown.
        assert_eq!(
            err.lines()
                .filter(|l| l.contains(": unknown-format: "))
                .count(),
            1,
            "{args:?}: {err}"
        );
        let not_shown = 5_000 - shown;
        assert!(
            err.contains("; 5000 invalid records skipped (invalid-json 5000); "),
            "{args:?}: every record is still counted: {err}"
        );
        assert!(
            err.contains(&format!(
                "; {not_shown} more diagnostics counted, not shown (invalid-json {not_shown})"
            )),
            "{args:?}: {err}"
        );
        assert!(
            err.contains(&format!(
                "only the first {shown} diagnostics of each reason are shown; --max-diagnostics N shows more"
            )),
            "{args:?}: {err}"
        );
    }
}
