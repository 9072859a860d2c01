//! What the `watch` tests share: reading the figures a watcher writes to `--metrics`, and
//! waiting until it has read a number of files or objects.

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

/// Wait until the watcher's figures say it read `files` files or objects (at least).
pub fn wait_files(child: &mut Child, metrics: &Path, files: u64) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if figures(metrics)["files"].as_u64().unwrap_or(0) >= files {
            return;
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("watch ended ({status}) before it read {files} files or objects");
        }
        assert!(
            Instant::now() < deadline,
            "watch did not read {files} files or objects"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
