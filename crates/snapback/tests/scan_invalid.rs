//! `snapback scan` over a CloudTrail file with one record cut in the middle: the summary
//! counts the invalid record apart from the records no rule can match, by default (the
//! prefilter on) and with `--strict` or `SNAPBACK_NO_PREFILTER=1` (every record parsed); one
//! diagnostic names the file, record and byte; the records after the cut are read (the
//! stop before it and the start after it make an alert).

use std::io::Write;
use std::path::Path;

use assert_cmd::Command;

fn record(time: &str, name: &str, id: &str) -> String {
    serde_json::json!({
        "eventVersion": "1.09",
        "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/alice",
                         "accountId": "111122223333", "userName": "alice"},
        "eventTime": time, "eventSource": "ec2.amazonaws.com", "eventName": name,
        "awsRegion": "us-east-1", "sourceIPAddress": "198.51.100.7", "userAgent": "aws-cli/2.15.0",
        "requestParameters": {"instancesSet": {"items": [{"instanceId": "i-0abc"}]}},
        "responseElements": null, "eventID": id, "eventType": "AwsApiCall",
        "recipientAccountId": "111122223333"
    })
    .to_string()
}

/// Where things are in the decompressed stream of [`cut_file`].
struct Offsets {
    /// The cut record.
    cut: usize,
    /// The record after it.
    next: usize,
    total: usize,
}

/// A CloudTrail S3 file (gzip, one line) whose third record is cut inside a string.
fn cut_file(dir: &Path) -> (String, Offsets) {
    let cut = record("2024-01-01T00:02:00Z", "StopInstances", "cut");
    let records = [
        record("2024-01-01T00:00:00Z", "StopInstances", "stop"),
        record("2024-01-01T00:01:00Z", "DescribeInstances", "d1"),
        cut[..cut.find("aws-cli").unwrap()].to_owned(),
        record("2024-01-01T00:03:00Z", "DescribeInstances", "d2"),
        record("2024-01-01T00:04:00Z", "StartInstances", "start"),
    ];
    let head = format!("{{\"Records\":[{},{},", records[0], records[1]);
    let text = format!("{{\"Records\":[{}]}}", records.join(","));
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(text.as_bytes()).unwrap();
    let path = dir.join("111122223333_CloudTrail_us-east-1_20240101T0005Z_x.json.gz");
    std::fs::write(&path, gz.finish().unwrap()).unwrap();
    let at = Offsets {
        cut: head.len(),
        next: head.len() + records[2].len() + 1,
        total: text.len(),
    };
    (path.display().to_string(), at)
}

struct Run {
    code: i32,
    alerts: Vec<serde_json::Value>,
    stderr: String,
}

fn scan(path: &str, args: &[&str], no_prefilter: bool) -> Run {
    let mut cmd = Command::cargo_bin("snapback").unwrap();
    cmd.args(["scan", "--format", "jsonl"]).args(args).arg(path);
    cmd.env_remove("SNAPBACK_NO_PREFILTER");
    if no_prefilter {
        cmd.env("SNAPBACK_NO_PREFILTER", "1");
    }
    let out = cmd.output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        alerts: String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The one diagnostic, and the stop and start on both sides of the cut in one alert.
fn check_common(run: &Run, path: &str, at: &Offsets) {
    let errors: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("error:") || l.starts_with("warning:"))
        .collect();
    assert_eq!(errors.len(), 1, "{}", run.stderr);
    assert!(
        errors[0].starts_with(&format!(
            "error: {path} record 2 (byte {}): invalid-json: record never closes (unterminated string)",
            at.cut
        )),
        "{}",
        run.stderr
    );
    let resumed = format!("reading resumed at byte {}", at.next);
    assert!(errors[0].ends_with(&resumed), "{}", errors[0]);
    let ids: Vec<Vec<&str>> = run
        .alerts
        .iter()
        .map(|a| {
            a["evidence"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["event_id"].as_str().unwrap())
                .collect()
        })
        .collect();
    assert_eq!(ids, [["stop", "start"]], "{}", run.stderr);
}

/// The line of the summary that counts records.
fn summary(run: &Run) -> &str {
    run.stderr
        .lines()
        .find(|l| l.starts_with("snapback: ") && l.contains(" events from "))
        .unwrap_or_else(|| panic!("no summary: {}", run.stderr))
}

#[test]
fn a_cut_record_is_one_invalid_record_apart_from_records_not_parsed() {
    let dir = tempfile::tempdir().unwrap();
    let (path, at) = cut_file(dir.path());
    let bytes = at.total;

    // Default: the two DescribeInstances no rule can match are not parsed; the cut record is
    // invalid, not among them.
    let run = scan(&path, &[], false);
    assert_eq!(run.code, 0, "{}", run.stderr);
    check_common(&run, &path, &at);
    assert_eq!(
        summary(&run),
        format!(
            "snapback: 2 events from 1 files ({bytes} bytes); 2 records not parsed (no rule can match them); 1 invalid records skipped (invalid-json 1)"
        )
    );

    // --strict and SNAPBACK_NO_PREFILTER=1 parse every record: the same invalid record.
    for (args, no_prefilter, code) in [(&["--strict"][..], false, 1), (&[][..], true, 0)] {
        let run = scan(&path, args, no_prefilter);
        assert_eq!(run.code, code, "{args:?}: {}", run.stderr);
        check_common(&run, &path, &at);
        assert_eq!(
            summary(&run),
            format!(
                "snapback: 4 events from 1 files ({bytes} bytes); 1 invalid records skipped (invalid-json 1)"
            ),
            "{args:?}"
        );
    }
}
