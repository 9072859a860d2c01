//! Issue 13, item 11, end to end: `snapback aql lint` and `aql run` on the hostile queries.
//! Before, 5,000 nested parentheses aborted both commands on a stack overflow, DATEFORMAT with
//! a run of 65,536 letters panicked `run` while `lint` accepted it, and REPLACEALL grew to
//! gigabytes. Queries go through stdin (`--query -`): some are longer than one argument may be.

use std::path::PathBuf;

use assert_cmd::Command;

fn seed_events() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../snapback-aql/tests/fixtures/seed-events.jsonl")
}

/// `snapback aql lint --query -`: (exit code, stdout).
fn lint(query: &str) -> (i32, String) {
    let out = Command::cargo_bin("snapback")
        .expect("binary")
        .args(["aql", "lint", "--query", "-"])
        .write_stdin(query)
        .output()
        .expect("runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// `snapback aql run --query - --default-window all` over the seed events: (exit code,
/// stdout, stderr).
fn run(query: &str) -> (i32, String, String) {
    let out = Command::cargo_bin("snapback")
        .expect("binary")
        .args(["aql", "run", "--default-window", "all", "--format", "csv"])
        .args(["--query", "-"])
        .arg(seed_events())
        .write_stdin(query)
        .output()
        .expect("runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn item_11_lint_and_run_locate_five_thousand_parentheses() {
    let query = format!(
        "SELECT * FROM events WHERE {}a = 1{}",
        "(".repeat(5000),
        ")".repeat(5000)
    );
    let (code, out) = lint(&query);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.starts_with("1:284: error[AQL-E001]: expression nested deeper than 256 levels"),
        "{}",
        &out[..out.len().min(300)]
    );
    let (code, _, err) = run(&query);
    assert_eq!(code, 2, "does not parse");
    assert!(err.contains("1:284: expression nested deeper than 256 levels"));
}

#[test]
fn item_11_lint_and_run_agree_on_dateformat_patterns() {
    // Java accepts any run: the year is padded to 309 digits, as Java's DecimalFormat does.
    let long_run = format!(
        "SELECT DATEFORMAT(devicetime, '{}') AS y FROM events LIMIT 1",
        "y".repeat(65_536)
    );
    let (code, out) = lint(&long_run);
    assert!(!out.contains("AQL-E002"), "{out}");
    assert_eq!(code, 0);
    let (code, rows, err) = run(&long_run);
    assert_eq!(code, 0, "{err}");
    assert_eq!(rows, format!("y\n{}2026\n", "0".repeat(305)));
    // Java rejects `XXXX`: lint says so, run gives NULL and says where.
    let iso = "SELECT DATEFORMAT(devicetime, 'XXXX') AS z FROM events LIMIT 1";
    let (code, out) = lint(iso);
    assert_eq!(code, 1);
    assert!(out.starts_with("1:31: error[AQL-E002]: invalid ISO 8601 format: length=4"));
    let (code, rows, err) = run(iso);
    assert_eq!((code, rows.as_str()), (0, "z\n\n"));
    assert!(
        err.contains("snapback: 1:8: warning[AQL-R003]: invalid ISO 8601 format"),
        "{err}"
    );
}

#[test]
fn item_11_run_reports_a_result_over_one_mib_and_lint_a_regex_over_32_kib() {
    // 100 KB into each of the 16 gaps of "alice@x.example": 1.6 MB, over the limit; "bob"
    // (4 gaps) stays under it.
    let query = format!(
        "SELECT username, STRLEN(REPLACEALL('', username, '{}')) AS n FROM events WHERE username IN ('bob', 'alice@x.example')",
        "x".repeat(100_000)
    );
    let (code, rows, err) = run(&query);
    assert_eq!(code, 0, "{err}");
    assert_eq!(rows, "username,n\nalice@x.example,\nbob,400003\n");
    assert!(
        err.contains("snapback: 1:25: warning[AQL-R001]: REPLACEALL would return"),
        "{err}"
    );
    let regex = format!(
        "SELECT * FROM events WHERE username MATCHES '{}' LAST 1 HOURS",
        "a".repeat(40_000)
    );
    let (code, out) = lint(&regex);
    assert_eq!(code, 1);
    assert!(out.starts_with("1:45: error[AQL-E003]: regular expression of 40000 bytes"));
}
