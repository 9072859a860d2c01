//! What the `watch` tests share: reading the figures a watcher writes to `--metrics`, and
//! waiting until they say something (a number of files or objects read, an alert emitted).

#![allow(dead_code)]

use std::path::Path;
use std::process::Child;
use std::time::{Duration, Instant};

use serde_json::Value;

/// The watcher's last figures (`Null` until its first cycle wrote them).
pub fn figures(metrics: &Path) -> Value {
    std::fs::read_to_string(metrics)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(Value::Null)
}

/// The figure `key` of the watcher's figures `m`, 0 when absent.
pub fn figure(m: &Value, key: &str) -> u64 {
    m[key].as_u64().unwrap_or(0)
}

/// Wait until the watcher's figures satisfy `ready`; fail at once when the watcher ended, or
/// after 120 s. A loaded CI machine can take seconds where an idle one takes milliseconds: a
/// fixed pause makes a test flaky.
pub fn wait_until(child: &mut Child, metrics: &Path, what: &str, ready: impl Fn(&Value) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let m = figures(metrics);
        if ready(&m) {
            return;
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("watch ended ({status}) before it did {what}: {m}");
        }
        assert!(Instant::now() < deadline, "watch did not {what}: {m}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Wait until the watcher's figures say it read `files` files or objects (at least).
pub fn wait_files(child: &mut Child, metrics: &Path, files: u64) {
    wait_until(
        child,
        metrics,
        &format!("read {files} files or objects"),
        |m| figure(m, "files") >= files,
    );
}
