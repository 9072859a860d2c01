//! `snapback consume` against a real Kafka 4.x broker (scripts/kafka-test-broker.sh): the
//! alerts topic, read with `read_committed`, holds each alert revision once and, as final
//! revisions, exactly the alerts `scan` finds on the same records, whatever consumer is
//! killed (SIGKILL), joins later or restarts from its `--state`.
//!
//! The records go in two batches, each account wholly in one: the consumers read the first,
//! one is killed once it holds state, then the second arrives while its partitions move.
//! The bundled sample (hours after the volume's records) comes last: a partition's stream
//! releases by the newest event of any of its accounts, so an account arriving hours behind
//! another of its partition is released as it arrives, and its own disorder (up to 5 minutes
//! in a CloudTrail file) would be late (README, "Partitioning"; `watch` reading lines alike).

#![cfg(feature = "kafka")]

#[path = "../../snapback-kafka/tests/broker/mod.rs"]
mod broker;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use snapback_kafka::{
    create_topic, ConsumerConfig, GroupConsumer, Message, Polled, Settings, TopicSpec,
};

const WAIT: Duration = Duration::from_secs(30);

fn bin() -> PathBuf {
    assert_cmd::cargo::cargo_bin("snapback")
}

fn snapback(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(bin()).args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn topic(brokers: &str, name: &str, partitions: i32) {
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
struct Records {
    _dir: tempfile::TempDir,
    first: Vec<PathBuf>,
    second: Vec<PathBuf>,
    all: Vec<PathBuf>,
}

fn records() -> Records {
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

fn replay(brokers: &str, topic: &str, paths: &[PathBuf]) {
    let mut args = vec!["replay".to_owned()];
    args.extend(paths.iter().map(|p| p.display().to_string()));
    args.extend(["--brokers", brokers, "--topic", topic].map(str::to_owned));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, out, err) = snapback(&args);
    assert_eq!(code, 0, "{out}\n{err}");
}

/// The alert ids `scan` finds on the same records, suppressed ones included (`consume`
/// sends every alert; a reader selects).
fn scan_ids(paths: &[PathBuf]) -> BTreeSet<String> {
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
struct Consumer {
    child: Child,
    metrics: PathBuf,
    stderr: PathBuf,
}

fn consume(
    brokers: &str,
    topic: &str,
    group: &str,
    dir: &Path,
    name: &str,
    extra: &[&str],
) -> Consumer {
    let metrics = dir.join(format!("{name}.metrics.json"));
    let stderr = dir.join(format!("{name}.stderr"));
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
            "--exit-when-idle",
            "15s",
            // A killed member leaves the group after 6 s (the broker's minimum), not 45 s.
            "--kafka",
            "session.timeout.ms=6000",
            "--kafka",
            "heartbeat.interval.ms=1000",
            "--metrics",
            metrics.to_str().unwrap(),
        ])
        .args(extra)
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
    fn figures(&self) -> Option<serde_json::Value> {
        let text = std::fs::read_to_string(&self.metrics).ok()?;
        serde_json::from_str(&text).ok()
    }

    fn figure(&self, name: &str) -> i64 {
        self.figures()
            .and_then(|f| f[name].as_i64())
            .unwrap_or_default()
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Wait for the process to exit by itself; its exit code.
    fn wait(&mut self, limit: Duration) -> i32 {
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
fn wait_for(limit: Duration, what: &str, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !ready() {
        assert!(Instant::now() < deadline, "not {what} after {limit:?}");
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// Every message of the alerts topic a `read_committed` reader sees (quiet for 5 s).
fn read_alerts(brokers: &str) -> Vec<Message> {
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
    while !assigned || quiet.elapsed() < Duration::from_secs(5) {
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
fn final_ids(messages: &[Message]) -> BTreeSet<String> {
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

#[test]
fn three_consumers_one_killed_one_late_commit_scans_alerts_once() {
    let Some(broker) = broker::TestBroker::start("consume: three consumers, one killed") else {
        return;
    };
    let b = broker.bootstrap.as_str();
    let records = records();
    let want = scan_ids(&records.all);
    assert!(want.len() >= 10, "{want:?}");
    topic(b, "audit", 6);
    topic(b, "alerts", 3);
    replay(b, "audit", &records.first);

    let dir = tempfile::tempdir().unwrap();
    let mut group: Vec<Consumer> = ["a", "b", "c"]
        .iter()
        .map(|n| consume(b, "audit", "detect", dir.path(), n, &[]))
        .collect();
    // Kill a consumer that holds state: it read messages and committed.
    let mut victim = None;
    wait_for(Duration::from_secs(90), "a consumer that committed", || {
        victim = group.iter().position(|c| {
            c.figure("transactions") > 0 && c.figure("lag") == 0 && c.figure("messages") > 0
        });
        victim.is_some()
    });
    let mut killed = group.remove(victim.unwrap());
    killed.kill();
    replay(b, "audit", &records.second);
    std::thread::sleep(Duration::from_secs(3));
    group.push(consume(b, "audit", "detect", dir.path(), "late", &[]));
    for c in &mut group {
        let code = c.wait(Duration::from_secs(300));
        assert_eq!(code, 0, "{}", c.stderr());
    }
    let rebuilt: i64 = group.iter().map(|c| c.figure("rebuild_messages")).sum();
    assert!(
        rebuilt > 0,
        "the killed consumer's partitions were rebuilt by reading again"
    );
    // The recovery time (docs/decisions.md): the longest rebuild of one partition.
    for c in &group {
        eprintln!(
            "recovery: {} partitions rebuilt from {} messages read again, the longest in {:.2} s",
            c.figure("rebuilds"),
            c.figure("rebuild_messages"),
            c.figures()
                .and_then(|f| f["longest_rebuild_seconds"].as_f64())
                .unwrap_or_default()
        );
    }

    let alerts = read_alerts(b);
    let got = final_ids(&alerts);
    assert_eq!(got, want, "final alerts on the topic versus scan's");
}

#[test]
fn a_consumer_restarted_from_its_state_after_sigkill_resumes_without_duplicates() {
    let Some(broker) = broker::TestBroker::start("consume: restarted from --state") else {
        return;
    };
    let b = broker.bootstrap.as_str();
    let mut records = records();
    let want = scan_ids(&records.all);
    // The sample is the last file of the second batch: it arrives after the SIGKILL.
    let last = records.second.pop().unwrap();
    topic(b, "audit", 3);
    topic(b, "alerts", 1);
    replay(b, "audit", &records.first);

    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let state_args = ["--state", state.to_str().unwrap()];
    let settled = |c: &Consumer| {
        c.figure("transactions") > 0 && c.figure("lag") == 0 && c.figure("partitions") == 3
    };

    // SIGTERM: what was read is committed, exit 0.
    let mut term = consume(b, "audit", "solo", dir.path(), "term", &state_args);
    wait_for(Duration::from_secs(90), "committed with no lag", || {
        settled(&term)
    });
    let pid = term.child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    assert_eq!(term.wait(Duration::from_secs(30)), 0, "{}", term.stderr());
    let id = std::fs::read_to_string(state.join("instance-id")).unwrap();
    replay(b, "audit", &records.second);

    // SIGKILL once it committed the second batch.
    let mut first = consume(b, "audit", "solo", dir.path(), "first", &state_args);
    wait_for(Duration::from_secs(90), "committed with no lag", || {
        settled(&first)
    });
    first.kill();
    replay(b, "audit", &[last]);

    let mut again = consume(b, "audit", "solo", dir.path(), "again", &state_args);
    assert_eq!(
        again.wait(Duration::from_secs(300)),
        0,
        "{}",
        again.stderr()
    );
    assert_eq!(
        std::fs::read_to_string(state.join("instance-id")).unwrap(),
        id
    );
    assert!(again.figure("rebuild_messages") > 0, "{}", again.stderr());
    let got = final_ids(&read_alerts(b));
    assert_eq!(got, want, "final alerts on the topic versus scan's");
}

#[test]
fn a_second_process_with_the_same_state_fences_the_first() {
    let Some(broker) = broker::TestBroker::start("consume: the same --state twice") else {
        return;
    };
    let b = broker.bootstrap.as_str();
    let records = records();
    let want = scan_ids(&records.all);
    // One partition: the sticky assignment leaves it with the first process.
    topic(b, "audit", 1);
    topic(b, "alerts", 1);
    replay(b, "audit", &records.first);

    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let state_args = ["--state", state.to_str().unwrap()];
    let mut first = consume(b, "audit", "twice", dir.path(), "first", &state_args);
    wait_for(Duration::from_secs(90), "committed with no lag", || {
        first.figure("transactions") > 0 && first.figure("lag") == 0
    });
    // Its transactional id is taken over: its next transaction cannot commit.
    let mut second = consume(b, "audit", "twice", dir.path(), "second", &state_args);
    wait_for(Duration::from_secs(60), "the second in the group", || {
        second.figures().is_some()
    });
    replay(b, "audit", &records.second);
    assert_eq!(
        first.wait(Duration::from_secs(120)),
        2,
        "{}",
        first.stderr()
    );
    assert!(
        first
            .stderr()
            .contains("the transactional producer was fenced"),
        "{}",
        first.stderr()
    );
    assert_eq!(
        second.wait(Duration::from_secs(300)),
        0,
        "{}",
        second.stderr()
    );
    let got = final_ids(&read_alerts(b));
    assert_eq!(got, want, "final alerts on the topic versus scan's");
}
