//! A real Apache Kafka broker for a test: `scripts/kafka-test-broker.sh start PORT` on a free
//! port, stopped (only that process) when the [`TestBroker`] is dropped, even by a failing
//! test. Shared by the tests of `snapback-kafka` and `snapback` (`#[path]`).
//!
//! Without Java or Maven the test cannot run: under `CI=true` that is a failure; elsewhere
//! the test says loudly on stderr that it did not run, and why, and passes.

#![allow(dead_code)]

use std::io::Write as _;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Command;

pub struct TestBroker {
    pub bootstrap: String,
    port: u16,
}

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/kafka-test-broker.sh")
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

fn runs(program: &str, arg: &str) -> bool {
    Command::new(program)
        .arg(arg)
        .output()
        .is_ok_and(|o| o.status.success())
}

/// A port whose next port (the controller's) was free too, a moment ago.
fn free_port_pair() -> u16 {
    for _ in 0..200 {
        let a = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
        let port = a.local_addr().expect("local address").port();
        if port < 65534 && TcpListener::bind(("127.0.0.1", port + 1)).is_ok() {
            return port;
        }
    }
    panic!("no two adjacent free ports on 127.0.0.1");
}

/// `kafka-test-broker.sh fetch`: whether the jars are in the cache now.
fn fetch_jars() -> bool {
    Command::new("bash")
        .arg(script())
        .arg("fetch")
        .output()
        .is_ok_and(|o| o.status.success())
}

impl TestBroker {
    /// Start a broker, or `None` (said on stderr) where Java or Maven are missing outside CI.
    pub fn start(test: &str) -> Option<TestBroker> {
        let mut missing = Vec::new();
        if !runs("java", "-version") {
            missing.push("java");
        }
        // Maven is needed only while the jars are not cached yet.
        if missing.is_empty() && !fetch_jars() && !runs("mvn", "-v") {
            missing.push("mvn");
        }
        if !missing.is_empty() {
            let why = format!(
                "{test}: needs a real Kafka broker (scripts/kafka-test-broker.sh), \
                 but {} cannot be run",
                missing.join(" and ")
            );
            assert!(!in_ci(), "{why} (CI=true: this is a failure)");
            // Straight to fd 2: the test harness captures eprintln! of passing tests.
            let _ = writeln!(
                std::io::stderr(),
                "\n========== NOT RUN ==========\n{why}\n=============================\n"
            );
            return None;
        }
        let port = free_port_pair();
        let out = Command::new("bash")
            .arg(script())
            .args(["start", &port.to_string()])
            .output()
            .expect("run scripts/kafka-test-broker.sh");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let bootstrap = stdout
            .lines()
            .find_map(|l| l.strip_prefix("BOOTSTRAP="))
            .map(str::to_owned);
        match bootstrap {
            Some(b) if out.status.success() => Some(TestBroker { bootstrap: b, port }),
            _ => {
                // Whatever it started, stop it before failing.
                let _ = Command::new("bash")
                    .arg(script())
                    .args(["stop", &port.to_string()])
                    .output();
                panic!(
                    "kafka-test-broker.sh start {port} failed ({}):\n{stdout}\n{}",
                    out.status,
                    String::from_utf8_lossy(&out.stderr)
                )
            }
        }
    }
}

impl TestBroker {
    fn script_keeping(&self, command: &str) -> std::process::Output {
        Command::new("bash")
            .arg(script())
            .args([command, &self.port.to_string()])
            .env("KAFKA_TEST_KEEP", "1")
            .output()
            .expect("run scripts/kafka-test-broker.sh")
    }

    /// Stop the broker, keeping its data dir (the broker going away).
    pub fn stop_keeping_data(&self) {
        let out = self.script_keeping("stop");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Start it again on the same port and data dir (the broker coming back).
    pub fn start_again(&self) {
        let out = self.script_keeping("start");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for TestBroker {
    fn drop(&mut self) {
        let out = Command::new("bash")
            .arg(script())
            .args(["stop", &self.port.to_string()])
            .output();
        if let Ok(o) = out {
            if !o.status.success() {
                eprintln!("{}", String::from_utf8_lossy(&o.stderr));
            }
        }
    }
}
