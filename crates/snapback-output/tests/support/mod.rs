//! Harnesses for the output tests: a real rsyslogd on loopback, headless Chromium, and Python
//! with py-ocsf-models. Shared with `crates/snapback/tests/output_*.rs` through `#[path]`.
//!
//! A missing tool never makes a test pass quietly: outside CI the test prints a loud notice that
//! it did not run and why; with `CI` set it fails.

#![allow(dead_code)]

use std::io::{BufRead, Read};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Whether the test can run; panics under CI when it cannot.
pub fn require(what: &str, available: bool, install: &str) -> bool {
    if available {
        return true;
    }
    if std::env::var_os("CI").is_some() {
        panic!("{what} is required in CI but missing ({install}); see .ci/run");
    }
    eprintln!();
    eprintln!("!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!");
    eprintln!("!!! TEST DID NOT RUN: {what} is missing. Install it with: {install}");
    eprintln!("!!! (with CI set, this is a failure)");
    eprintln!("!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!");
    eprintln!();
    false
}

pub fn have_program(p: &str) -> bool {
    Command::new(p)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

pub const RSYSLOGD: &str = "/usr/sbin/rsyslogd";
pub const CHROMIUM: &str = "/usr/bin/chromium";

pub fn have_rsyslog() -> bool {
    require(
        "rsyslogd (Debian package rsyslog)",
        Path::new(RSYSLOGD).exists(),
        "apt-get install rsyslog",
    )
}

pub fn have_chromium() -> bool {
    require(
        "chromium (Debian package chromium)",
        Path::new(CHROMIUM).exists(),
        "apt-get install chromium",
    )
}

pub fn have_py_ocsf_models() -> bool {
    let ok = Command::new("python3")
        .args([
            "-c",
            "import py_ocsf_models.events.findings.detection_finding",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    require(
        "python3 with py-ocsf-models (PyPI)",
        ok,
        "pip install py-ocsf-models==0.10.0",
    )
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// rsyslogd on 127.0.0.1, TCP and UDP on one port, every message's raw text (`%rawmsg%`) one per
/// line in `out`. Control characters are not escaped on reception, so tabs arrive as tabs.
pub struct Rsyslog {
    pub dir: tempfile::TempDir,
    pub port: u16,
    pub out: PathBuf,
    child: Option<Child>,
    conf: PathBuf,
}

impl Rsyslog {
    pub fn start() -> Rsyslog {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let out = dir.path().join("received.log");
        let conf = dir.path().join("rsyslog.conf");
        let work = dir.path().join("work");
        std::fs::create_dir(&work).unwrap();
        std::fs::write(
            &conf,
            format!(
                r#"global(workDirectory="{work}" parser.escapeControlCharactersOnReceive="off" maxMessageSize="64k")
module(load="imtcp")
module(load="imudp")
input(type="imtcp" address="127.0.0.1" port="{port}")
input(type="imudp" address="127.0.0.1" port="{port}")
template(name="raw" type="string" string="%rawmsg%\n")
*.* action(type="omfile" file="{out}" template="raw" flushOnTXEnd="on" asyncWriting="off")
"#,
                work = work.display(),
                out = out.display(),
            ),
        )
        .unwrap();
        let mut r = Rsyslog {
            dir,
            port,
            out,
            child: None,
            conf,
        };
        r.spawn();
        r
    }

    fn spawn(&mut self) {
        let pid = self.dir.path().join("rsyslogd.pid");
        let _ = std::fs::remove_file(&pid);
        let child = Command::new(RSYSLOGD)
            .arg("-n")
            .arg("-f")
            .arg(&self.conf)
            .arg("-i")
            .arg(&pid)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting rsyslogd");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(15);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            if let Some(c) = self.child.as_mut() {
                if let Ok(Some(status)) = c.try_wait() {
                    let mut err = String::new();
                    if let Some(mut e) = c.stderr.take() {
                        let _ = e.read_to_string(&mut err);
                    }
                    panic!("rsyslogd exited ({status}) at start: {err}");
                }
            }
            assert!(
                Instant::now() < deadline,
                "rsyslogd did not listen on port {}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGTERM and wait: rsyslogd flushes what it received and closes every connection.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(c.id().to_string())
                .status();
            let deadline = Instant::now() + Duration::from_secs(15);
            loop {
                if let Ok(Some(_)) = c.try_wait() {
                    break;
                }
                if Instant::now() > deadline {
                    let _ = c.kill();
                    let _ = c.wait();
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }

    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }

    pub fn lines(&self) -> Vec<String> {
        match std::fs::File::open(&self.out) {
            Ok(f) => std::io::BufReader::new(f)
                .lines()
                .map_while(Result::ok)
                .collect(),
            Err(_) => Vec::new(),
        }
    }

    /// Wait until at least `n` lines arrived (or the timeout), then return all lines.
    pub fn wait_for(&self, n: usize, timeout: Duration) -> Vec<String> {
        let deadline = Instant::now() + timeout;
        loop {
            let l = self.lines();
            if l.len() >= n || Instant::now() > deadline {
                // Anything more (a duplicate) would show up shortly after.
                std::thread::sleep(Duration::from_millis(300));
                return self.lines();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Rsyslog {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Headless Chromium as these machines need it, with a fresh profile and every proxy-able
/// request sent to `proxy_port` (so that a test can see any request the page makes).
pub fn chromium(extra: &[&str], page: &Path, proxy_port: Option<u16>) -> Output {
    let profile = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(CHROMIUM);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-extensions",
        "--hide-scrollbars",
    ])
    .arg(format!("--user-data-dir={}", profile.path().display()));
    if let Some(p) = proxy_port {
        cmd.arg(format!("--proxy-server=http://127.0.0.1:{p}"))
            .arg("--proxy-bypass-list=<-loopback>");
    }
    cmd.args(extra)
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null());
    let out = cmd.output().expect("running chromium");
    drop(profile);
    out
}

/// A TCP listener that counts connections (a stand-in proxy: every request Chromium tries to
/// make goes here).
pub struct Tripwire {
    pub port: u16,
    hits: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    requests: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Tripwire {
    pub fn start() -> Tripwire {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let h = hits.clone();
        let requests = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let r = requests.clone();
        std::thread::spawn(move || {
            for s in l.incoming() {
                h.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                if let Ok(mut s) = s {
                    let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
                    let mut b = [0u8; 200];
                    let n = s.read(&mut b).unwrap_or(0);
                    let line = String::from_utf8_lossy(&b[..n]);
                    r.lock()
                        .unwrap()
                        .push(line.lines().next().unwrap_or("").to_owned());
                }
            }
        });
        Tripwire {
            port,
            hits,
            requests,
        }
    }

    /// Requests other than Chromium's own background calls to Google's update, time and
    /// account services (which it makes whatever the page; the page's requests would show here).
    pub fn page_requests(&self) -> Vec<String> {
        self.requests()
            .into_iter()
            .filter(|r| {
                let target = r.split(' ').nth(1).unwrap_or("");
                let host = target
                    .trim_start_matches("http://")
                    .trim_start_matches("https://")
                    .split(['/', ':'])
                    .next()
                    .unwrap_or("");
                !["google.com", "googleapis.com", "gvt1.com"]
                    .iter()
                    .any(|d| host == *d || host.ends_with(&format!(".{d}")))
            })
            .collect()
    }

    /// First line of each request seen.
    pub fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }

    pub fn hits(&self) -> usize {
        self.hits.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// Validate OCSF findings (one JSON per line) with py-ocsf-models' DetectionFinding. Returns
/// the validator's report; panics with it when a finding is invalid.
pub fn validate_ocsf(lines: &str) -> String {
    // Both crates sit in crates/, so this path works from either.
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../snapback-output/tests/support/validate_ocsf.py");
    let mut child = Command::new("python3")
        .arg(&script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running python3");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(lines.as_bytes()).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "OCSF validation failed:\n{report}");
    report
}

/// A receiver that closes mid-stream (issue 13 item 13): read until `n` complete LF-framed
/// messages arrived and more bytes wait unread, then close. The kernel answers a close with
/// unread bytes with a reset, as it does for a receiver that crashes. What was read.
pub fn read_then_close(mut s: TcpStream, n: usize) -> Vec<u8> {
    let mut got = Vec::new();
    let mut buf = [0u8; 8192];
    let mut lines = 0;
    while lines < n {
        let k = s.read(&mut buf).unwrap();
        assert!(k > 0, "the forwarder ended the stream early");
        lines += buf[..k].iter().filter(|b| **b == b'\n').count();
        got.extend_from_slice(&buf[..k]);
    }
    let mut one = [0u8; 1];
    assert_eq!(s.peek(&mut one).unwrap(), 1, "more bytes wait unread");
    got
}

/// A receiver that reads until the sender ends the stream, then closes in turn.
pub fn read_to_end(mut s: TcpStream) -> Vec<u8> {
    let mut got = Vec::new();
    s.read_to_end(&mut got).unwrap();
    got
}

/// The `alertId=` of each complete line of `bytes` (a cut last line is not counted).
pub fn alert_ids(bytes: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(bytes);
    let complete = match text.rfind('\n') {
        Some(end) => &text[..end],
        None => "",
    };
    complete
        .lines()
        .filter_map(|l| l.split("alertId=").nth(1))
        .map(|rest| rest.split('\t').next().unwrap_or_default().to_owned())
        .collect()
}

/// A UDP port on 127.0.0.1 that nobody listens on (bound, then closed).
pub fn free_udp_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
