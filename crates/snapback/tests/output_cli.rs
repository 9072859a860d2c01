//! `snapback scan` with `--format ocsf|leef|cef`, `--forward` and `--report`, end to end on the
//! hostile CloudTrail fixtures (a StopInstances → StartInstances per payload, which the built-in
//! pack turns into one alert each, with the payload in the user agent, user name, instance id and
//! tags) and on the bundled sample data.

#[path = "../../snapback-output/tests/support/mod.rs"]
mod support;

use std::path::PathBuf;
use std::process::Command;

const HOSTILE_ALERTS: usize = 13;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn hostile() -> PathBuf {
    root().join("tests/fixtures/hostile")
}

fn scan(args: &[&str]) -> (String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_snapback"))
        .arg("scan")
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.code().is_some_and(|c| c <= 1),
        "scan failed ({:?}): {stderr}",
        out.status
    );
    (stdout, stderr)
}

const LEEF_KEYS: &[&str] = &[
    "devTime",
    "devTimeFormat",
    "cat",
    "sev",
    "usrName",
    "src",
    "accountName",
    "cloud",
    "region",
    "ruleId",
    "ruleName",
    "riskScore",
    "severity",
    "alertId",
    "alertType",
    "firstSeen",
    "lastSeen",
    "escalated",
    "confirmed",
    "resource",
    "userAgent",
    "title",
];

fn leef_keys(line: &str) -> Vec<String> {
    let body = line.splitn(7, '|').nth(6).unwrap();
    body.split('\t')
        .map(|kv| kv.split_once('=').unwrap().0.to_owned())
        .collect()
}

#[test]
fn scan_format_leef_keeps_each_hostile_alert_on_one_line_with_fixed_keys() {
    let h = hostile();
    let (out, _) = scan(&[h.to_str().unwrap(), "--format", "leef"]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), HOSTILE_ALERTS, "{out}");
    for l in &lines {
        assert!(l.starts_with("LEEF:2.0|snapback|snapback|"), "{l}");
        assert_eq!(
            leef_keys(l),
            LEEF_KEYS,
            "shifted or forged attribute: {l:?}"
        );
        assert!(!l.chars().any(|c| c.is_control() && c != '\t'), "{l:?}");
    }
    // The payloads are there, escaped.
    assert!(out.contains("userAgent=ua\\tsev=1\\tsrc=6.6.6.6\t"));
    assert!(out.contains(
        "userAgent=ua\\n<13>Jan 1 00:00:00 evilhost LEEF:2.0|evil|evil|1|forged|x09|sev=10\t"
    ));
    assert!(out.contains("userAgent=C:\\\\temp\\\\ua\\\\\t"));

    let (out, _) = scan(&[
        h.to_str().unwrap(),
        "--format",
        "leef",
        "--leef-version",
        "1",
    ]);
    assert_eq!(
        out.lines().filter(|l| l.starts_with("LEEF:1.0|")).count(),
        HOSTILE_ALERTS
    );
}

#[test]
fn scan_format_cef_escapes_per_spec() {
    let h = hostile();
    let (out, _) = scan(&[h.to_str().unwrap(), "--format", "cef"]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), HOSTILE_ALERTS, "{out}");
    assert!(
        out.contains("requestClientApplication=ua\\=1 cs1\\=forged msg="),
        "{out}"
    );
    assert!(
        out.contains("requestClientApplication=ua\\r\\nforged")
            || out.contains("requestClientApplication=ua\\rforged")
    );
    for l in lines {
        assert!(l.starts_with("CEF:0|snapback|snapback|"), "{l}");
        assert_eq!(l.matches(" cn1Label=riskScore").count(), 1, "{l}");
    }
}

#[test]
fn scan_format_ocsf_validates_with_py_ocsf_models() {
    if !support::have_py_ocsf_models() {
        return;
    }
    let mut all = String::new();
    for input in [hostile(), root().join("examples/atomic")] {
        let (out, _) = scan(&[input.to_str().unwrap(), "--format", "ocsf"]);
        assert!(out.lines().count() > 0);
        all.push_str(&out);
    }
    let report = support::validate_ocsf(&all);
    eprintln!("{report}");
}

#[test]
fn scan_forward_delivers_every_alert_to_rsyslog_once() {
    if !support::have_rsyslog() {
        return;
    }
    let rs = support::Rsyslog::start();
    let h = hostile();
    let ex = root().join("examples/atomic");
    let (ids, _) = scan(&[
        h.to_str().unwrap(),
        ex.to_str().unwrap(),
        "--format",
        "jsonl",
    ]);
    let expected: Vec<String> = ids
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["alert_id"].as_str().unwrap().to_owned()
        })
        .collect();
    assert!(expected.len() > HOSTILE_ALERTS);
    let url = format!("syslog+tcp://127.0.0.1:{}", rs.port);
    let (_, err) = scan(&[h.to_str().unwrap(), ex.to_str().unwrap(), "--forward", &url]);
    assert!(
        err.contains(&format!("forwarded {} alert(s)", expected.len())),
        "{err}"
    );
    let lines = rs.wait_for(expected.len(), std::time::Duration::from_secs(20));
    assert_eq!(
        lines.len(),
        expected.len(),
        "one event per alert: {lines:#?}"
    );
    for id in &expected {
        let n = lines
            .iter()
            .filter(|l| l.contains(&format!("\talertId={id}\t")))
            .count();
        assert_eq!(n, 1, "alert {id} arrived {n} times");
    }
    for l in &lines {
        let leef = &l[l.find("LEEF:2.0|").expect("LEEF")..];
        assert_eq!(leef_keys(leef)[..5], LEEF_KEYS[..5], "{l:?}");
    }
}

#[test]
fn scan_forward_fails_loudly_when_nobody_listens() {
    let port = support::free_port();
    let out = Command::new(env!("CARGO_BIN_EXE_snapback"))
        .args(["scan", hostile().to_str().unwrap(), "--forward"])
        .arg(format!("syslog+tcp://127.0.0.1:{port}"))
        .args(["--forward-retry-secs", "1"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert_ne!(
        out.status.code(),
        Some(1),
        "must not look like 'alerts found'"
    );
    assert!(
        err.contains(&format!("{HOSTILE_ALERTS} alert(s) not delivered")),
        "{err}"
    );
}

#[test]
fn scan_report_of_hostile_records_renders_payloads_as_text_in_chromium() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.html");
    let h = hostile();
    scan(&[h.to_str().unwrap(), "--report", report.to_str().unwrap()]);
    let html = std::fs::read_to_string(&report).unwrap();
    assert_eq!(html.matches("<script").count(), 2);
    assert!(!html.contains("<img") && !html.contains("<svg onload"));
    if !support::have_chromium() {
        return;
    }
    let tripwire = support::Tripwire::start();
    let out = support::chromium(
        &["--virtual-time-budget=3000", "--dump-dom"],
        &report,
        Some(tripwire.port),
    );
    let dom = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        dom.matches("<article class=\"alert").count(),
        HOSTILE_ALERTS,
        "{dom}"
    );
    assert!(
        dom.contains("<title>snapback report"),
        "a payload changed the title"
    );
    assert!(!dom.contains("PWNED</title>"));
    assert!(!dom.contains("<img") && !dom.contains("<b id"));
    assert_eq!(
        dom.matches("<svg").count(),
        dom.matches("<svg class=\"tl\"").count()
    );
    assert!(dom.contains("&lt;script&gt;document.title='PWNED'&lt;/script&gt;"));
    assert!(dom.contains("&lt;img src=x onerror=\"document.title='PWNED'\"&gt;"));
    assert_eq!(tripwire.page_requests(), Vec::<String>::new());
}

#[test]
fn demo_report_screenshot() {
    if !support::have_chromium() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.html");
    let out = Command::new(env!("CARGO_BIN_EXE_snapback"))
        .args(["demo", "--report"])
        .arg(&report)
        .output()
        .unwrap();
    assert!(
        out.status.code().is_some_and(|c| c <= 1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let png = dir.path().join("report.png");
    let out = support::chromium(
        &[
            "--virtual-time-budget=3000",
            "--window-size=1280,1900",
            "--hide-scrollbars",
            &format!("--screenshot={}", png.display()),
        ],
        &report,
        None,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bytes = std::fs::read(&png).unwrap();
    assert!(bytes.starts_with(b"\x89PNG") && bytes.len() > 50_000);
}

/// The receiver is restarted while `snapback scan --forward` is sending (paced so that the
/// restart falls in the middle of the run): every alert still arrives exactly once.
#[test]
fn scan_forward_survives_a_receiver_restart_in_the_middle_of_the_run() {
    if !support::have_rsyslog() {
        return;
    }
    let mut rs = support::Rsyslog::start();
    let h = hostile();
    let ex = root().join("examples/atomic");
    let (ids, _) = scan(&[
        h.to_str().unwrap(),
        ex.to_str().unwrap(),
        "--format",
        "jsonl",
    ]);
    let expected: Vec<String> = ids
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["alert_id"].as_str().unwrap().to_owned()
        })
        .collect();
    let url = format!("syslog+tcp://127.0.0.1:{}", rs.port);
    let mut child = Command::new(env!("CARGO_BIN_EXE_snapback"))
        .args(["scan", "--quiet"])
        .arg(&h)
        .arg(&ex)
        .args(["--forward", &url, "--forward-pace-ms", "300"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The receiver goes away once the first alerts have arrived, while the paced run (about
    // 0.3 s per alert) still has most of its alerts to send.
    let _ = rs.wait_for(2, std::time::Duration::from_secs(30));
    assert!(
        child.try_wait().unwrap().is_none(),
        "the run ended before the receiver could be restarted in its middle"
    );
    rs.restart();
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains(&format!("forwarded {} alert(s)", expected.len())),
        "{err}"
    );
    let lines = rs.wait_for(expected.len(), std::time::Duration::from_secs(30));
    for id in &expected {
        let n = lines
            .iter()
            .filter(|l| l.contains(&format!("\talertId={id}\t")))
            .count();
        assert_eq!(n, 1, "alert {id} arrived {n} times across the restart");
    }
    assert_eq!(lines.len(), expected.len());
    assert!(
        err.contains("2 connection(s)") || err.contains("3 connection(s)"),
        "the forwarder reconnected: {err}"
    );
}

/// Filtering by severity and cloud works in the browser, from the file alone: the filters
/// a link carries in its fragment are applied, and the count shown is the count of matching
/// alerts.
#[test]
fn report_filters_by_severity_and_cloud_in_the_browser() {
    if !support::have_chromium() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.html");
    let out = Command::new(env!("CARGO_BIN_EXE_snapback"))
        .args([
            "demo",
            "--quiet",
            "--show-suppressed",
            "--format",
            "jsonl",
            "--report",
        ])
        .arg(&report)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The report holds every alert, suppressed ones marked; count what each filter keeps.
    let alerts: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let count = |sev: &[&str], cloud: &[&str]| {
        alerts
            .iter()
            .filter(|a| sev.contains(&a["severity"].as_str().unwrap()))
            .filter(|a| cloud.contains(&a["cloud"].as_str().unwrap()))
            .count()
    };
    let shown = |fragment: &str| -> String {
        let page = PathBuf::from(format!("{}#{fragment}", report.display()));
        let out = support::chromium(&["--virtual-time-budget=3000", "--dump-dom"], &page, None);
        let dom = String::from_utf8_lossy(&out.stdout).into_owned();
        let start = dom.find("id=\"shown\"").expect("the count of shown alerts");
        let text = &dom[start..];
        text[text.find('>').unwrap() + 1..text.find('<').unwrap()].to_owned()
    };
    let all = ["critical", "high", "medium", "low", "informational"];
    let total = alerts.len();
    let gcp_critical = count(&["critical"], &["gcp"]);
    let aws_medium = count(&["medium"], &["aws"]);
    assert!(gcp_critical > 0 && gcp_critical < total);
    assert!(
        shown("").contains(&format!("of {total} matching")),
        "{}",
        shown("")
    );
    assert!(
        shown("sev=critical&cloud=gcp").contains(&format!("of {gcp_critical} matching")),
        "{}",
        shown("sev=critical&cloud=gcp")
    );
    let expect_aws_medium = if aws_medium == 0 {
        "No alert matches".to_owned()
    } else {
        format!("of {aws_medium} matching")
    };
    assert!(shown("sev=medium&cloud=aws").contains(&expect_aws_medium));
    assert!(shown(&format!("sev={}&cloud=azure,aws,gcp", all.join(",")))
        .contains(&format!("of {total} matching")));
    assert!(shown("sev=critical&cloud=").contains("No alert matches"));
}
