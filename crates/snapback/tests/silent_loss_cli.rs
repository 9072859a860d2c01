//! Issue 13, items 1 and 6 end to end, and `--strict` over every kind of silent loss: the
//! binary reads records behind a process substitution, keeps a stop and a start whose user
//! agent holds a lone surrogate escape (an attacker's way to hide a revert) and alerts on
//! them, and `--strict` exits non-zero whenever anything was skipped or repaired.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command as StdCommand;

use assert_cmd::Command;

/// A CloudTrail stop and start of one instance, the user agent set to `agent` (JSON text).
fn stop_start(agent: &str) -> [String; 2] {
    [
        ("2024-01-01T00:00:00Z", "StopInstances", "stop"),
        ("2024-01-01T00:05:00Z", "StartInstances", "start"),
    ]
    .map(|(time, name, id)| {
        serde_json::json!({
            "eventVersion": "1.09",
            "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/mallory",
                             "accountId": "111122223333", "userName": "mallory"},
            "eventTime": time, "eventSource": "ec2.amazonaws.com", "eventName": name,
            "awsRegion": "us-east-1", "sourceIPAddress": "198.51.100.7", "userAgent": "AGENT",
            "requestParameters": {"instancesSet": {"items": [{"instanceId": "i-0abc"}]}},
            "responseElements": null, "eventID": id, "eventType": "AwsApiCall",
            "recipientAccountId": "111122223333"
        })
        .to_string()
        .replace("\"AGENT\"", &format!("\"{agent}\""))
    })
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

fn file(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

struct Run {
    code: i32,
    alerts: Vec<serde_json::Value>,
    stderr: String,
}

impl Run {
    fn of(out: std::process::Output) -> Run {
        Run {
            code: out.status.code().unwrap_or(-1),
            alerts: String::from_utf8_lossy(&out.stdout)
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// The rule names of the alerts.
    fn rules(&self) -> Vec<&str> {
        self.alerts
            .iter()
            .map(|a| a["rule_name"].as_str().unwrap_or_default())
            .collect()
    }

    fn has_stop_start_alert(&self) -> bool {
        self.rules().contains(&"aws-ec2-stop-then-start")
    }
}

/// An environment variable of a run.
type Env = (&'static str, &'static str);

fn scan(path: &Path, args: &[&str], env: &[Env]) -> Run {
    let mut cmd = Command::cargo_bin("snapback").unwrap();
    cmd.args(["scan", "--format", "jsonl"]).args(args).arg(path);
    cmd.env_remove("SNAPBACK_NO_PREFILTER");
    cmd.env_remove("SNAPBACK_NO_FAST_FRAMER");
    for (k, v) in env {
        cmd.env(k, v);
    }
    Run::of(cmd.output().unwrap())
}

#[test]
fn item6_lone_surrogate_user_agent_still_raises_the_stop_start_alert() {
    let dir = tempfile::tempdir().unwrap();
    let [stop, start] = stop_start("aws-cli/2.15.0 \\ud800");
    let lines = file(
        dir.path(),
        "a.jsonl",
        format!("{stop}\n{start}\n").as_bytes(),
    );
    let records = format!("{{\"Records\":[{stop},{start}]}}");
    let gz = file(dir.path(), "b.json.gz", &gzip(records.as_bytes()));
    let runs: [(&[&str], &[Env], i32); 4] = [
        // The default run (prefilter and fast framer on): the repair is a warning.
        (&[], &[], 0),
        // --strict parses every record, and exits 1: something was repaired.
        (&["--strict"], &[], 1),
        (&[], &[("SNAPBACK_NO_FAST_FRAMER", "1")], 0),
        (&[], &[("SNAPBACK_NO_PREFILTER", "1")], 0),
    ];
    for path in [&lines, &gz] {
        for (args, env, code) in runs {
            let run = scan(path, args, env);
            let what = format!("{} {args:?} {env:?}", path.display());
            assert_eq!(run.code, code, "{what}: {}", run.stderr);
            assert!(run.has_stop_start_alert(), "{what}: {:?}", run.rules());
            let warnings = run
                .stderr
                .lines()
                .filter(|l| l.starts_with("warning:") && l.contains(": lone-surrogate: "))
                .count();
            assert_eq!(warnings, 2, "{what}: {}", run.stderr);
            assert!(!run.stderr.contains("invalid"), "{what}: {}", run.stderr);
        }
    }
}

#[test]
fn item1_process_substitution_is_read_not_taken_for_text() {
    // `snapback scan <(cat x.json.gz)`, as a shell runs it.
    let dir = tempfile::tempdir().unwrap();
    let [stop, start] = stop_start("aws-cli/2.15.0");
    let gz = file(
        dir.path(),
        "x.json.gz",
        &gzip(format!("{stop}\n{start}\n").as_bytes()),
    );
    let bin = assert_cmd::cargo::cargo_bin("snapback");
    for strict in ["", "--strict"] {
        let script = format!("\"$0\" scan --format jsonl {strict} <(cat \"$1\")");
        let out = StdCommand::new("bash")
            .args(["-c", &script])
            .arg(&bin)
            .arg(&gz)
            .output()
            .unwrap();
        let run = Run::of(out);
        assert_eq!(run.code, 0, "{strict}: {}", run.stderr);
        assert!(run.has_stop_start_alert(), "{strict}: {}", run.stderr);
        assert!(!run.stderr.contains("(text)"), "{}", run.stderr);
    }
    // And on stdin, as `-`.
    let mut cmd = Command::cargo_bin("snapback").unwrap();
    let out = cmd
        .args(["scan", "--format", "jsonl", "--strict", "-"])
        .write_stdin(std::fs::read(&gz).unwrap())
        .output()
        .unwrap();
    let run = Run::of(out);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.has_stop_start_alert(), "{}", run.stderr);
}

#[test]
fn strict_exits_non_zero_whenever_anything_was_skipped_or_repaired() {
    let dir = tempfile::tempdir().unwrap();
    let [stop, start] = stop_start("aws-cli/2.15.0");
    let body = format!("{stop}\n{start}\n");
    let utf16: Vec<u8> = [0xFF, 0xFE]
        .into_iter()
        .chain(body.encode_utf16().flat_map(u16::to_le_bytes))
        .collect();
    // Five layers of gzip: one more than are opened.
    let deep = (0..5).fold(body.clone().into_bytes(), |bytes, _| gzip(&bytes));
    let cases: [(&str, Vec<u8>, &str, bool); 5] = [
        ("clean.json", body.clone().into_bytes(), "", true),
        (
            "marks.json",
            format!("\u{feff}\u{feff}{body}").into_bytes(),
            "byte-order-mark",
            true,
        ),
        ("utf16.json", utf16, "utf-16", true),
        ("deep.gz", deep, "archive-too-deep", false),
        (
            "zstd.json.zst",
            b"\x28\xB5\x2F\xFDrest".to_vec(),
            "unsupported-format",
            false,
        ),
    ];
    for (name, bytes, reason, alerts) in cases {
        let path = file(dir.path(), name, &bytes);
        let run = scan(&path, &["--strict"], &[]);
        let code = if reason.is_empty() { 0 } else { 1 };
        assert_eq!(run.code, code, "{name}: {}", run.stderr);
        assert_eq!(run.has_stop_start_alert(), alerts, "{name}: {}", run.stderr);
        let said = run.stderr.contains(&format!(": {reason}: "));
        assert_eq!(said, !reason.is_empty(), "{name}: {}", run.stderr);
        // Without --strict the same run exits 0 and says the same.
        let run = scan(&path, &[], &[]);
        assert_eq!(run.code, 0, "{name}: {}", run.stderr);
    }
}
