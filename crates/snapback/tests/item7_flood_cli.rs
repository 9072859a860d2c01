//! Issue 13 item 7 end to end, the flood split over files: a stop in one delivery file, failed
//! `StopInstances` calls of the same instance spread over two more (one of them gzip), then
//! the start in a fourth. `scan` of the directory, and `watch --once` of it, both alert on the
//! stop and start. The flood is 11,000 calls against a `[state]` cap of 10,000 retained events
//! (`--config`), the 110,000 against 100,000 scaled down tenfold so that the debug
//! binary reads it in seconds; the detector-level test runs the full size at the default cap
//! (`correlate/tests/item7_state_flooding.rs`).

use std::io::Write;
use std::path::Path;
use std::process::Command;

const FLOOD: usize = 11_000;
const CAP: &str = "[state]\nmax_retained_events = 10000\n";

fn record(time: &str, name: &str, id: &str, error: bool) -> String {
    let mut v = serde_json::json!({
        "eventVersion": "1.09",
        "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/mallory",
                         "accountId": "111122223333", "userName": "mallory"},
        "eventTime": time, "eventSource": "ec2.amazonaws.com", "eventName": name,
        "awsRegion": "us-east-1", "sourceIPAddress": "198.51.100.7", "userAgent": "aws-cli/2",
        "requestParameters": {"instancesSet": {"items": [{"instanceId": "i-0victim"}]}},
        "responseElements": null, "eventID": id, "eventType": "AwsApiCall",
        "recipientAccountId": "111122223333"
    });
    if error {
        v["errorCode"] = "Client.UnauthorizedOperation".into();
        v["errorMessage"] = "You are not authorized to perform this operation.".into();
    }
    v.to_string()
}

/// Failed stops `from..to`, one per line, a second apart from 00:00:01.
fn flood(from: usize, to: usize) -> String {
    let mut out = String::with_capacity((to - from) * 560);
    for i in from..to {
        let s = 1 + i * 600 / FLOOD;
        let time = format!("2024-01-01T00:{:02}:{:02}Z", s / 60, s % 60);
        out.push_str(&record(&time, "StopInstances", &format!("fail-{i}"), true));
        out.push('\n');
    }
    out
}

fn write_tree(dir: &Path) {
    std::fs::write(
        dir.join("a-stop.json"),
        record("2024-01-01T00:00:00Z", "StopInstances", "stop", false) + "\n",
    )
    .unwrap();
    std::fs::write(dir.join("b-flood.json"), flood(0, FLOOD / 2)).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(flood(FLOOD / 2, FLOOD).as_bytes()).unwrap();
    std::fs::write(dir.join("c-flood.json.gz"), gz.finish().unwrap()).unwrap();
    std::fs::write(
        dir.join("d-start.json"),
        record("2024-01-01T00:12:00Z", "StartInstances", "start", false) + "\n",
    )
    .unwrap();
}

fn stop_start_alerts(stdout: &[u8]) -> usize {
    String::from_utf8_lossy(stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|a| a["rule_name"] == "aws-ec2-stop-then-start")
        .count()
}

#[test]
fn item7_flood_split_over_files_does_not_evict_the_stop() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(dir.path());
    let config = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(config.path(), CAP).unwrap();
    let scan = Command::new(env!("CARGO_BIN_EXE_snapback"))
        .args(["scan", "--quiet", "--format", "jsonl", "--config"])
        .arg(config.path())
        .arg(dir.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&scan.stderr);
    assert!(scan.status.success(), "{err}");
    assert_eq!(stop_start_alerts(&scan.stdout), 1, "scan: {err}");

    let state = tempfile::tempdir().unwrap();
    let watch = Command::new(env!("CARGO_BIN_EXE_snapback"))
        .args(["watch", "--once", "--quiet", "--format", "jsonl", "--state"])
        .arg(state.path())
        .arg("--config")
        .arg(config.path())
        .arg(dir.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&watch.stderr);
    assert!(watch.status.success(), "{err}");
    assert_eq!(stop_start_alerts(&watch.stdout), 1, "watch --once: {err}");
}
