//! The CLI's output module (`cmd_output.rs`), driven the way `scan` drives it.

#[allow(dead_code)]
#[path = "../src/cmd_output.rs"]
mod cmd_output;

#[path = "../../snapback-output/tests/support/mod.rs"]
mod support;

use clap::Parser;
use cmd_output::{forward, forwarder, write_format, write_report, OutputArgs};
use snapback_output::{sample, Scope};

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    out: OutputArgs,
}

fn args(argv: &[&str]) -> OutputArgs {
    let mut v = vec!["snapback"];
    v.extend_from_slice(argv);
    Cli::try_parse_from(v).unwrap().out
}

#[test]
fn write_format_writes_one_line_per_alert() {
    let alerts: Vec<_> = (0..5).map(sample::alert).collect();
    let refs: Vec<_> = alerts.iter().collect();
    for (f, prefix) in [
        ("ocsf", "{\""),
        ("leef", "LEEF:2.0|"),
        ("leef1", "LEEF:1.0|"),
        ("cef", "CEF:0|"),
    ] {
        let mut out = Vec::new();
        write_format(f, &refs, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.lines().count(), 5, "{f}");
        assert!(text.lines().all(|l| l.starts_with(prefix)), "{f}: {text}");
    }
    let e = write_format("xml", &refs, &mut Vec::new()).unwrap_err();
    assert!(
        e.to_string().contains("expected ocsf, leef, leef1 or cef"),
        "{e}"
    );
}

#[test]
fn flags_parse() {
    let a = args(&[
        "--forward",
        "syslog+tls://siem.example:6514",
        "--forward-format",
        "cef",
        "--forward-ca",
        "ca.pem",
        "--leef-version",
        "1",
        "--syslog-format",
        "rfc3164",
        "--report",
        "r.html",
    ]);
    assert_eq!(a.forward.as_deref(), Some("syslog+tls://siem.example:6514"));
    assert_eq!(a.forward_format, cmd_output::ForwardFormat::Cef);
    assert_eq!(a.leef_version, cmd_output::LeefVersionArg::V1);
    assert_eq!(a.syslog_format, cmd_output::SyslogFormatArg::Rfc3164);
    assert_eq!(a.report.as_deref(), Some(std::path::Path::new("r.html")));
    assert!(Cli::try_parse_from(["snapback", "--leef-version", "3"]).is_err());
}

#[test]
fn writes_the_report_and_forwards_every_alert_confirmed() {
    let alerts: Vec<_> = (0..8).map(sample::alert).collect();
    let refs: Vec<_> = alerts.iter().collect();
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("r.html");
    // A receiver that collects octet-counted frames.
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let rx = std::thread::spawn(move || {
        use std::io::Read;
        let (mut s, _) = l.accept().unwrap();
        let mut all = Vec::new();
        s.read_to_end(&mut all).unwrap();
        all
    });
    let a = args(&[
        "--forward",
        &format!("syslog+tcp://127.0.0.1:{port}"),
        "--report",
        report.to_str().unwrap(),
    ]);
    write_report(&a, &refs, &Scope::default()).unwrap();
    let mut f = forwarder(&a).unwrap().expect("--forward");
    let failed = forward(&mut f, &a, &refs).unwrap();
    assert!(!failed, "the receiver read all and closed in order");
    assert_eq!(f.stats().confirmed, 8, "{:?}", f.stats());
    drop(a);
    let got = rx.join().unwrap();
    // Parse RFC 6587 frames: LEN SP MSG.
    let mut frames = Vec::new();
    let mut rest = &got[..];
    while !rest.is_empty() {
        let sp = rest.iter().position(|b| *b == b' ').unwrap();
        let n: usize = std::str::from_utf8(&rest[..sp]).unwrap().parse().unwrap();
        frames.push(String::from_utf8(rest[sp + 1..sp + 1 + n].to_vec()).unwrap());
        rest = &rest[sp + 1 + n..];
    }
    assert_eq!(frames.len(), 8);
    for (f, a) in frames.iter().zip(&alerts) {
        assert!(f.contains(" LEEF:2.0|snapback|snapback|"), "{f}");
        assert!(f.contains(&format!("\talertId={}\t", a.alert_id)), "{f}");
    }
    let html = std::fs::read_to_string(&report).unwrap();
    assert!(html.contains("<!DOCTYPE html>"));
}

#[test]
fn forward_fails_when_the_receiver_never_comes() {
    let port = support::free_port();
    let alerts: Vec<_> = (0..3).map(sample::alert).collect();
    let refs: Vec<_> = alerts.iter().collect();
    let a = args(&[
        "--forward",
        &format!("syslog+tcp://127.0.0.1:{port}"),
        "--forward-retry-secs",
        "1",
    ]);
    let mut f = forwarder(&a).unwrap().expect("--forward");
    let e = forward(&mut f, &a, &refs).unwrap_err();
    assert!(e.to_string().contains("3 alert(s) not delivered"), "{e}");
    let a = args(&[
        "--forward",
        &format!("syslog+tcp://127.0.0.1:{port}"),
        "--forward-buffer",
        "2",
    ]);
    let mut f = forwarder(&a).unwrap().expect("--forward");
    let e = forward(&mut f, &a, &refs).unwrap_err();
    assert!(e.to_string().contains("forward buffer is full"), "{e}");
}
