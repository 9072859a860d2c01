//! Issue 13, item 10: `snapback events` and `snapback aql run` over a large generated .gz of
//! tiny records give the right answers with a small `--sort-buffer` (sorted runs spilled to
//! temporary files and merged), and exactly what they print with everything in memory. The
//! memory bound itself is asserted in `snapback-aql/tests/item10_streaming.rs` (peak-held
//! counters), without timing anything.

use std::io::Write;
use std::path::{Path, PathBuf};

use assert_cmd::Command;

const N: u64 = 12_000;

/// `N` tiny CloudTrail records, ten per second from 2026-01-01T00:00:00Z, written in a
/// scrambled order, gzipped.
fn big_gz(dir: &Path) -> PathBuf {
    let path = dir.join("tiny.jsonl.gz");
    let file = std::fs::File::create(&path).unwrap();
    let mut gz = flate2::write::GzEncoder::new(file, flate2::Compression::fast());
    for k in 0..N {
        let i = k.wrapping_mul(7_919) % N;
        let (s, ms) = (i / 10, (i % 10) * 100);
        writeln!(
            gz,
            r#"{{"eventTime":"2026-01-01T{:02}:{:02}:{:02}.{ms:03}Z","eventSource":"ec2.amazonaws.com","eventName":"DescribeInstances","eventID":"e{i}","recipientAccountId":"1","awsRegion":"r","userIdentity":{{"type":"IAMUser","userName":"u{}"}}}}"#,
            s / 3600,
            s / 60 % 60,
            s % 60,
            i % 7
        )
        .unwrap();
    }
    gz.finish().unwrap();
    path
}

fn stdout(args: &[&str], input: &Path) -> String {
    let out = Command::cargo_bin("snapback")
        .unwrap()
        .args(args)
        .arg(input)
        .assert()
        .success()
        .get_output()
        .clone();
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn item10_aql_count_over_a_large_gz() {
    let dir = tempfile::tempdir().unwrap();
    let gz = big_gz(dir.path());
    let tmp = dir.path().to_str().unwrap();
    let count = |extra: &[&str]| {
        let mut args = vec!["aql", "run", "-e", "SELECT COUNT(*) FROM events"];
        args.extend_from_slice(&["--format", "csv", "--sort-buffer", "500", "--temp-dir", tmp]);
        args.extend_from_slice(extra);
        stdout(&args, &gz)
    };
    assert_eq!(count(&["--default-window", "all"]), format!("COUNT\n{N}\n"));
    // The last 5 minutes before the newest event (which comes anywhere in the file).
    assert_eq!(count(&[]), "COUNT\n3001\n");
    let by_user = stdout(
        &[
            "aql",
            "run",
            "-e",
            "SELECT username, COUNT(*) AS c FROM events GROUP BY username ORDER BY username",
            "--format",
            "csv",
            "--default-window",
            "all",
            "--sort-buffer",
            "500",
        ],
        &gz,
    );
    let total: u64 = by_user
        .lines()
        .skip(1)
        .map(|l| l.rsplit(',').next().unwrap().parse::<u64>().unwrap())
        .sum();
    assert_eq!(total, N);
    assert_eq!(by_user.lines().count(), 8, "{by_user}");
}

#[test]
fn item10_events_over_a_large_gz_spilled_prints_what_in_memory_prints() {
    let dir = tempfile::tempdir().unwrap();
    let gz = big_gz(dir.path());
    for format in ["jsonl", "table"] {
        let spilled = stdout(&["events", "--format", format, "--sort-buffer", "500"], &gz);
        let whole = stdout(&["events", "--format", format], &gz);
        assert!(spilled == whole, "{format}: spilled output differs");
        let lines = spilled.lines().count() as u64;
        assert_eq!(lines, if format == "table" { N + 1 } else { N });
    }
    let jsonl = stdout(
        &["events", "--format", "jsonl", "--sort-buffer", "500"],
        &gz,
    );
    let times: Vec<jiff::Timestamp> = jsonl
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["time"].as_str().unwrap().parse().unwrap()
        })
        .collect();
    assert!(times.windows(2).all(|w| w[0] < w[1]), "not in time order");
}

#[test]
fn item10_aql_rows_spilled_print_what_in_memory_prints() {
    let dir = tempfile::tempdir().unwrap();
    let gz = big_gz(dir.path());
    let query = "SELECT username, starttime FROM events ORDER BY username DESC";
    for format in ["csv", "table", "jsonl"] {
        let args = |buffer: &'static str| {
            vec![
                "aql",
                "run",
                "-e",
                query,
                "--default-window",
                "all",
                "--format",
                format,
                "--sort-buffer",
                buffer,
            ]
        };
        let spilled = stdout(&args("500"), &gz);
        let whole = stdout(&args("1000000"), &gz);
        assert!(spilled == whole, "{format}: spilled rows differ");
        assert!(spilled.lines().count() as u64 >= N);
    }
}
