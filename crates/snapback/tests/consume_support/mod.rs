//! Helpers shared by the `replay` and `consume` broker tests: the binary, topics, records,
//! replay, scan, a `consume` process, the alerts topic read `read_committed`.

#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use snapback_kafka::{
    create_topic, ConsumerConfig, GroupConsumer, Message, Polled, Settings, TopicSpec,
};

pub const WAIT: Duration = Duration::from_secs(30);

pub fn bin() -> PathBuf {
    assert_cmd::cargo::cargo_bin("snapback")
}

pub fn snapback(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(bin()).args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

pub fn topic(brokers: &str, name: &str, partitions: i32) {
    let spec = TopicSpec {
        name,
        partitions,
        replication: 1,
        config: vec![],
    };
    create_topic(brokers, &Settings::default(), &spec, WAIT).unwrap();
}

/// A generated volume and the bundled sample data, split into two batches of files, each
/// account's records in one batch (the volume has one file per account), in time order.
pub struct Records {
    _dir: tempfile::TempDir,
    pub first: Vec<PathBuf>,
    pub second: Vec<PathBuf>,
    pub all: Vec<PathBuf>,
}

pub fn records() -> Records {
    let dir = tempfile::tempdir().unwrap();
    let volume = dir.path().join("volume");
    let (code, _, err) = snapback(&[
        "simulate",
        "--volume",
        "8MiB",
        "--volume-format",
        "gz",
        "--out",
        volume.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let mut files = Vec::new();
    let mut stack = vec![volume.join("gz")];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                files.push(p);
            }
        }
    }
    files.sort();
    assert!(files.len() >= 6, "{files:?}");
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/atomic");
    let mut second = files.split_off(files.len() / 2);
    second.push(sample.clone());
    let first = files;
    Records {
        all: vec![sample, volume.join("gz")],
        first,
        second,
        _dir: dir,
    }
}

pub fn replay(brokers: &str, topic: &str, paths: &[PathBuf]) {
    let mut args = vec!["replay".to_owned()];
    args.extend(paths.iter().map(|p| p.display().to_string()));
    args.extend(["--brokers", brokers, "--topic", topic].map(str::to_owned));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, out, err) = snapback(&args);
    assert_eq!(code, 0, "{out}\n{err}");
}

/// The alert ids `scan` finds on the same records, suppressed ones included (`consume`
/// sends every alert; a reader selects).
pub fn scan_ids(paths: &[PathBuf]) -> BTreeSet<String> {
    let mut args = vec!["scan".to_owned()];
    args.extend(paths.iter().map(|p| p.display().to_string()));
    args.extend(["--format", "jsonl", "--show-suppressed", "--quiet"].map(str::to_owned));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, out, err) = snapback(&args);
    assert!(code == 0, "{err}");
    out.lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["alert_id"].as_str().unwrap().to_owned()
        })
        .collect()
}

/// A `consume` process of `group`, with its metrics file and stderr file.
pub struct Consumer {
    pub child: Child,
    metrics: PathBuf,
    stderr: PathBuf,
}

pub fn consume(
    brokers: &str,
    topic: &str,
    group: &str,
    dir: &Path,
    name: &str,
    extra: &[&str],
) -> Consumer {
    consume_env(brokers, topic, group, dir, name, extra, &[])
}

/// [`consume`] with environment variables set for the process (fault injection).
pub fn consume_env(
    brokers: &str,
    topic: &str,
    group: &str,
    dir: &Path,
    name: &str,
    extra: &[&str],
    env: &[(&str, &str)],
) -> Consumer {
    let metrics = dir.join(format!("{name}.metrics.json"));
    let stderr = dir.join(format!("{name}.stderr"));
    // 15 s unless the caller says otherwise.
    let idle: &[&str] = if extra.contains(&"--exit-when-idle") {
        &[]
    } else {
        &["--exit-when-idle", "15s"]
    };
    let child = Command::new(bin())
        .args([
            "consume",
            "--brokers",
            brokers,
            "--topic",
            topic,
            "--group",
            group,
            "--alerts-topic",
            "alerts",
            // A killed member leaves the group after 6 s (the broker's minimum), not 45 s.
            "--kafka",
            "session.timeout.ms=6000",
            "--kafka",
            "heartbeat.interval.ms=1000",
            "--metrics",
            metrics.to_str().unwrap(),
        ])
        .args(extra)
        .args(idle)
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&stderr).unwrap())
        .spawn()
        .unwrap();
    Consumer {
        child,
        metrics,
        stderr,
    }
}

impl Consumer {
    pub fn figures(&self) -> Option<serde_json::Value> {
        let text = std::fs::read_to_string(&self.metrics).ok()?;
        serde_json::from_str(&text).ok()
    }

    pub fn figure(&self, name: &str) -> i64 {
        self.figures()
            .and_then(|f| f[name].as_i64())
            .unwrap_or_default()
    }

    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Wait for the process to exit by itself; its exit code.
    pub fn wait(&mut self, limit: Duration) -> i32 {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code().unwrap_or(-1);
            }
            if Instant::now() > deadline {
                self.kill();
                panic!("consume did not exit in {limit:?}:\n{}", self.stderr());
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Consumer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Wait until `ready` holds, or panic after `limit` saying `what`.
pub fn wait_for(limit: Duration, what: &str, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !ready() {
        assert!(Instant::now() < deadline, "not {what} after {limit:?}");
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// Every message of the alerts topic a `read_committed` reader sees (quiet for 5 s).
pub fn read_alerts(brokers: &str) -> Vec<Message> {
    let reader = GroupConsumer::new(&ConsumerConfig {
        brokers: brokers.into(),
        group: format!("alerts-reader-{}", std::process::id()),
        topics: vec!["alerts".into()],
        auto_commit: false,
        settings: Settings::default(),
    })
    .unwrap();
    let mut messages = Vec::new();
    let mut quiet = Instant::now();
    let mut assigned = false;
    // Quiet for 5 s after the last message; with nothing read yet, 60 s: a broker that
    // restarted a moment ago (or a loaded machine) can take that long to hand the
    // committed alerts to a new group.
    let started = Instant::now();
    let enough = |messages: &Vec<Message>, quiet: Instant| {
        if messages.is_empty() {
            started.elapsed() > Duration::from_secs(60)
        } else {
            quiet.elapsed() > Duration::from_secs(5)
        }
    };
    while !assigned || !enough(&messages, quiet) {
        for p in reader.poll(1000, Duration::from_millis(500)).unwrap() {
            match p {
                Polled::Message(m) => {
                    messages.push(m);
                    quiet = Instant::now();
                }
                Polled::Assigned(_) => {
                    assigned = true;
                    quiet = Instant::now();
                }
                _ => {}
            }
        }
    }
    messages
}

/// No `(alert_id, revision)` twice; the final revisions' ids (retractions left out).
pub fn final_ids(messages: &[Message]) -> BTreeSet<String> {
    let mut seen: BTreeMap<(String, u64), usize> = BTreeMap::new();
    let mut last: BTreeMap<String, (u64, bool)> = BTreeMap::new();
    for m in messages {
        let v: serde_json::Value = serde_json::from_slice(m.payload.as_deref().unwrap()).unwrap();
        let id = v["alert_id"].as_str().unwrap().to_owned();
        assert_eq!(m.key.as_deref(), Some(id.as_bytes()), "keyed by alert id");
        let revision = v["revision"].as_u64().unwrap_or(1);
        *seen.entry((id.clone(), revision)).or_default() += 1;
        let retracted = v["retracted"].as_bool().unwrap_or(false);
        let e = last.entry(id).or_insert((revision, retracted));
        if revision >= e.0 {
            *e = (revision, retracted);
        }
    }
    let twice: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "revisions read more than once: {twice:?}");
    last.into_iter()
        .filter(|(_, (_, retracted))| !retracted)
        .map(|(id, _)| id)
        .collect()
}
