//! Issue 13 ("Harden"), items 9, 13, 14 and 15, end to end through the binary: bounded
//! diagnostics, forwarding that says what may be lost, escaping for the terminal and CSV,
//! and the operator's mistakes found before the scan (with the exit codes of README's table).

#[path = "../../snapback-output/tests/support/mod.rs"]
mod support;

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

// ---------------------------------------------------------------------------------------------
// Item 13: forwarding says what the receiver can have got and what may be lost.

/// JSON lines of `n` stop/start pairs, each on its own instance: `n` alerts.
fn stop_start_pairs(dir: &Path, n: usize) -> std::path::PathBuf {
    let mut text = String::new();
    for i in 0..n {
        for (k, name) in ["StopInstances", "StartInstances"].iter().enumerate() {
            let t = i * 4 + k * 2; // seconds into the day: n < 21,600
            let items = serde_json::json!([{"instanceId": format!("i-{i:017x}")}]);
            let record = serde_json::json!({
                "eventVersion": "1.08",
                "eventTime": format!("2026-01-01T{:02}:{:02}:{:02}Z", t / 3600, t / 60 % 60, t % 60),
                "eventSource": "ec2.amazonaws.com", "eventName": name,
                "awsRegion": "us-east-1", "recipientAccountId": "111122223333",
                "sourceIPAddress": "203.0.113.7", "userAgent": "aws-cli/2.15.0",
                "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/eve", "accountId": "111122223333"},
                "requestParameters": {"instancesSet": {"items": items}},
                "responseElements": {"instancesSet": {"items": items}},
                "eventID": format!("e{i}-{k}"),
            });
            text.push_str(&record.to_string());
            text.push('\n');
        }
    }
    let path = dir.join("pairs.jsonl");
    std::fs::write(&path, text).unwrap();
    path
}

/// `scan PATH --forward` to a receiver on `listener` that resets the connection after 200
/// alerts, then (when `back`) accepts a second connection and reads it to its end.
fn scan_forward_to_resetting_receiver(
    path: &Path,
    back: bool,
    extra: &[&str],
) -> (Output, Vec<String>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let receiver = std::thread::spawn(move || {
        let mut got = support::read_then_close(listener.accept().unwrap().0, 200);
        if back {
            got.extend(support::read_to_end(listener.accept().unwrap().0));
        }
        got
    });
    let url = format!("syslog+tcp://127.0.0.1:{port}");
    let mut args = vec![
        "scan",
        path.to_str().unwrap(),
        "-q",
        "--format",
        "jsonl",
        "--forward",
        &url,
        "--forward-framing",
        "lf",
    ];
    args.extend_from_slice(extra);
    let out = snapback(&args);
    let got = receiver.join().unwrap();
    (out, support::alert_ids(&got))
}

/// The numbers after `word` in `text`: "4000 confirmed" → 4000.
fn count_before(text: &str, word: &str) -> u64 {
    let at = text
        .find(&format!(" {word}"))
        .unwrap_or_else(|| panic!("no {word:?} in {text}"));
    let digits: String = text[..at]
        .chars()
        .rev()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    digits.chars().rev().collect::<String>().parse().unwrap()
}

#[test]
fn item13_scan_forward_to_a_receiver_that_resets_mid_stream_says_what_may_be_lost() {
    let dir = tempfile::tempdir().unwrap();
    let path = stop_start_pairs(dir.path(), 1_500);
    for strict in [false, true] {
        let extra: &[&str] = if strict { &["--forward-strict"] } else { &[] };
        let (out, received) = scan_forward_to_resetting_receiver(&path, true, extra);
        let err = stderr(&out);
        let alerts = String::from_utf8_lossy(&out.stdout).lines().count() as u64;
        assert_eq!(alerts, 1_500, "one alert per pair");
        let line = err
            .lines()
            .find(|l| {
                l.starts_with(&format!(
                    "snapback: forwarded {alerts} alert(s) to syslog+tcp://"
                ))
            })
            .unwrap_or_else(|| panic!("no forwarding summary: {err}"));
        eprintln!("harden_cli: {line}");
        let confirmed = count_before(line, "confirmed read by the receiver");
        let may_be_lost = count_before(line, "may be lost");
        assert_eq!(confirmed + may_be_lost, alerts, "{line}");
        assert!(
            may_be_lost > 0,
            "the reset connection had unread alerts: {line}"
        );
        // Only alerts written again after the reset can arrive twice (the receiver may read
        // bytes its TCP had not acknowledged yet), and the summary says how many they are.
        let after_reset = if line.contains(" after a reset") {
            count_before(line, "after a reset")
        } else {
            0
        };
        let mut unique = received.clone();
        unique.sort();
        unique.dedup();
        assert!(
            (received.len() - unique.len()) as u64 <= after_reset,
            "{} alerts arrived twice, {after_reset} said to be written again after a reset: {line}",
            received.len() - unique.len()
        );
        assert!(
            alerts - unique.len() as u64 <= may_be_lost,
            "{} alerts did not arrive, {may_be_lost} said to be possibly lost: {line}",
            alerts - unique.len() as u64
        );
        assert!(confirmed <= unique.len() as u64, "{line}");
        if strict {
            assert_eq!(out.status.code(), Some(3), "{err}");
        } else {
            assert_eq!(out.status.code(), Some(0), "{err}");
            assert!(
                err.contains("with --forward-strict, an unconfirmed delivery fails the run"),
                "{err}"
            );
        }
    }
}

#[test]
fn item13_scan_forward_to_a_receiver_that_goes_away_exits_3_with_what_was_not_delivered() {
    let dir = tempfile::tempdir().unwrap();
    let path = stop_start_pairs(dir.path(), 1_500);
    let (out, received) =
        scan_forward_to_resetting_receiver(&path, false, &["--forward-retry-secs", "1"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(3), "{err}");
    let alerts = String::from_utf8_lossy(&out.stdout).lines().count() as u64;
    let line = err
        .lines()
        .find(|l| l.contains("alert(s) not delivered to syslog+tcp://127.0.0.1:"))
        .unwrap_or_else(|| panic!("{err}"));
    let not_delivered = count_before(line, "alert(s) not delivered");
    let confirmed = count_before(line, "confirmed");
    let may_be_lost = count_before(line, "may be lost");
    assert_eq!(not_delivered + confirmed + may_be_lost, alerts, "{line}");
    assert!(
        alerts - received.len() as u64 <= not_delivered + may_be_lost,
        "{line}"
    );
}

#[test]
fn item13_scan_forward_by_udp_to_a_closed_port_exits_3() {
    let port = support::free_udp_port();
    let examples = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/atomic");
    let url = format!("syslog+udp://127.0.0.1:{port}");
    let out = snapback(&[
        "scan",
        examples,
        "-q",
        "--forward",
        &url,
        "--forward-retry-secs",
        "1",
    ]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(
        err.contains("refused a datagram (Connection refused"),
        "the refusal is said: {err}"
    );
}

// ---------------------------------------------------------------------------------------------
// Item 15: the operator's mistakes are found before the scan, and exit as README says.

fn examples() -> &'static str {
    concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/atomic")
}

/// A folder holding one Sigma rule that does not load.
fn broken_rules(dir: &Path) -> std::path::PathBuf {
    let rules = dir.join("rules");
    std::fs::create_dir_all(&rules).unwrap();
    std::fs::write(rules.join("bad.yml"), "title: broken\ndetection: [[[\n").unwrap();
    rules
}

#[test]
fn item15_allow_with_only_a_reason_is_refused_at_load_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    for (second, what) in [
        ("reason = \"DR drills\"\n", "only a reason"),
        (
            "reason = \"DR drills\"\nprincipals = []\naccounts = []\n",
            "empty lists",
        ),
    ] {
        let config = dir.path().join("tuning.toml");
        std::fs::write(
            &config,
            format!("[[allow]]\nreason = \"ok\"\nprincipals = [\"arn:*\"]\n\n# the next one\n[[allow]]\n{second}"),
        )
        .unwrap();
        let out = snapback(&["scan", examples(), "--config", config.to_str().unwrap()]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{what}: {err}");
        assert!(
            err.contains("allow[1] (line 6, reason \"DR drills\"): no condition"),
            "{what}: {err}"
        );
        assert!(
            out.stdout.is_empty() && !err.contains(" events from "),
            "{what}: scanned"
        );
    }
}

#[test]
fn item15_strict_exits_1_when_a_rules_file_does_not_load() {
    let dir = tempfile::tempdir().unwrap();
    let rules = broken_rules(dir.path());
    let rules = rules.to_str().unwrap();
    let out = snapback(&["scan", examples(), "-q", "--rules", rules, "--strict"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("rule not loaded: "));
    // The same input and rules without --strict: a warning, exit 0; the input alone is clean.
    let out = snapback(&["scan", examples(), "-q", "--rules", rules]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = snapback(&["scan", examples(), "-q", "--strict"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

/// Run snapback with a stdin that never ends: it must exit on its own (before reading), or
/// it is killed after a generous while and the test fails.
fn exits_before_reading_stdin(args: &[&str]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_snapback"))
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdin = child.stdin.take(); // held open: reading it would block
    for _ in 0..600 {
        if child.try_wait().unwrap().is_some() {
            drop(stdin);
            return child.wait_with_output().unwrap();
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    child.kill().unwrap();
    panic!("{args:?} read its input before checking its flags");
}

#[test]
fn item15_malformed_forward_url_and_report_folder_are_refused_before_reading() {
    for (flags, said) in [
        (
            vec!["--forward", "syslog+tcp://collector.example"],
            "bad forward address \"syslog+tcp://collector.example\": a port is required",
        ),
        (
            vec!["--forward", "http://collector.example:514"],
            "the scheme must be syslog+udp, syslog+tcp or syslog+tls",
        ),
        (
            vec!["--report", "/nonexistent-snapback-dir/report.html"],
            "the folder /nonexistent-snapback-dir does not exist",
        ),
    ] {
        let mut args = vec!["scan", "-"];
        args.extend(flags);
        let out = exits_before_reading_stdin(&args);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(said), "{args:?}: {err}");
    }
}

/// README's exit-code table: (code, meaning), in order.
fn readme_exit_codes() -> Vec<(u8, String)> {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).unwrap();
    let section = &readme[readme
        .find("\n## Exit codes\n")
        .expect("README has ## Exit codes")..];
    let section = &section[1..];
    let section = &section[..section.find("\n## ").unwrap_or(section.len())];
    section
        .lines()
        .filter_map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            let code = cells.get(1)?.parse().ok()?;
            Some((code, cells.get(2)?.to_string()))
        })
        .collect()
}

#[test]
fn item15_every_exit_code_in_the_readme_table_is_what_the_binary_returns() {
    let dir = tempfile::tempdir().unwrap();
    let bad_input = dir.path().join("broken.jsonl");
    std::fs::write(
        &bad_input,
        format!("{}\n{{\"x\": nul}}\n", cloudtrail("ua", "e1")),
    )
    .unwrap();
    let bad_input = bad_input.to_str().unwrap();
    let rules = broken_rules(dir.path());
    let rules = rules.to_str().unwrap();
    let config = dir.path().join("allow.toml");
    std::fs::write(&config, "[[allow]]\nreason = \"everything\"\n").unwrap();
    let config = config.to_str().unwrap();
    let closed = format!("syslog+tcp://127.0.0.1:{}", support::free_port());
    let ex = examples();
    let cases: Vec<(u8, Vec<&str>)> = vec![
        (0, vec!["scan", ex, "-q"]),
        (0, vec!["events", ex, "-q", "--strict"]),
        (1, vec!["scan", bad_input, "-q", "--strict"]),
        (1, vec!["events", bad_input, "-q", "--strict"]),
        (1, vec!["scan", ex, "-q", "--strict", "--rules", rules]),
        (1, vec!["rules", "lint", rules]),
        (1, vec!["aql", "lint", "-e", "SELECT FROM"]),
        (2, vec!["scan", ex, "--no-such-flag"]),
        (2, vec!["scan", ex, "--config", config]),
        (2, vec!["scan", ex, "--forward", "syslog+tcp://no-port"]),
        (2, vec!["aql", "run", "-e", "SELECT FROM", ex]),
        (
            3,
            vec![
                "scan",
                ex,
                "-q",
                "--forward",
                &closed,
                "--forward-retry-secs",
                "1",
            ],
        ),
    ];
    let table = readme_exit_codes();
    let documented: Vec<u8> = table.iter().map(|(c, _)| *c).collect();
    let mut tested: Vec<u8> = cases.iter().map(|(c, _)| *c).collect();
    tested.dedup();
    assert_eq!(
        documented, tested,
        "README's table and this test list the same codes"
    );
    for (code, args) in &cases {
        let out = snapback(args);
        assert_eq!(
            out.status.code(),
            Some(i32::from(*code)),
            "{args:?} (README: {}): {}",
            table
                .iter()
                .find(|(c, _)| c == code)
                .map_or("", |(_, m)| m.as_str()),
            stderr(&out)
        );
    }
}
