//! `snapback watch` on a store prefix, against real servers on 127.0.0.1 (moto, Azurite,
//! gcp-storage-emulator, started per test): the sample data is uploaded in each cloud's
//! delivery layout while the watcher runs, half of it before a SIGKILL and the rest after a
//! restart; the final alerts in `--out` are `scan`'s alerts of the same files, each revision
//! written once, and a last `--once` run over the same state reads no object again.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use snapback_objstore::emulators::{Emulator, Uploader};
use snapback_objstore::Cloud;

mod watch_support;
use watch_support::{figures, wait_files};

fn atomic() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/atomic")
        .canonicalize()
        .unwrap()
}

fn snapback(env: &[(String, String)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_snapback"));
    // Nothing of the developer's own cloud configuration may reach the run.
    for (k, _) in std::env::vars() {
        if k.starts_with("AWS_") || k.starts_with("AZURE_") || k.starts_with("GOOGLE_") {
            cmd.env_remove(k);
        }
    }
    cmd.env("HOME", env!("CARGO_MANIFEST_DIR"));
    cmd.envs(env.iter().map(|(k, v)| (k, v)));
    cmd
}

fn lines(text: &str) -> Vec<Value> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect()
}

/// The final alert of each id (its highest revision, unless that retracts it), each as text
/// with `from` replaced by `to`. Panics when a revision of an id is written twice.
fn finals(out: &Path, from: &str, to: &str) -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(out).unwrap_or_default();
    let mut seen = HashSet::new();
    let mut best: BTreeMap<String, Value> = BTreeMap::new();
    for a in lines(&text) {
        let id = a["alert_id"].as_str().unwrap().to_owned();
        let rev = a["revision"].as_u64().unwrap_or(1);
        assert!(
            seen.insert((id.clone(), rev)),
            "{id} revision {rev} twice in --out"
        );
        let newer = best
            .get(&id)
            .is_none_or(|b| b["revision"].as_u64().unwrap_or(1) < rev);
        if newer {
            best.insert(id, a);
        }
    }
    best.retain(|_, a| a["retracted"] != Value::Bool(true));
    best.into_iter()
        .map(|(id, mut a)| {
            a.as_object_mut().unwrap().remove("revision");
            a.as_object_mut().unwrap().remove("changed");
            (id, a.to_string().replace(from, to))
        })
        .collect()
}

fn scan_alerts(dir: &Path) -> BTreeMap<String, String> {
    let out = snapback(&[])
        .args(["scan", "--format", "jsonl", "--quiet"])
        .arg(dir)
        .output()
        .unwrap();
    assert!(out.status.success());
    lines(&String::from_utf8(out.stdout).unwrap())
        .into_iter()
        .map(|a| (a["alert_id"].as_str().unwrap().to_owned(), a.to_string()))
        .collect()
}

fn terminate(child: &mut Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "watch stopped by SIGTERM: {status}");
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().unwrap();
    panic!("watch did not stop on SIGTERM");
}

/// The files of `dir`, as (key under `prefix`, bytes), in key order: the order a cloud writes.
fn delivery(dir: &Path, prefix: &str) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
                out.push((format!("{prefix}{rel}"), std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

fn upload(up: &Uploader, files: &[(String, Vec<u8>)]) {
    for (key, bytes) in files {
        up.put(key, bytes.clone()).unwrap();
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The whole scenario on one store: `url` names `bucket` + `prefix`, where the files of
/// `examples/atomic/<dir>` are uploaded.
fn watch_while_uploading(
    e: &Emulator,
    env: &[(String, String)],
    bucket: &str,
    dir: &str,
    prefix: &str,
) {
    let url = format!("{}://{bucket}/{prefix}", e.cloud.scheme());
    e.create_bucket(bucket).unwrap();
    let up = e.uploader(bucket).unwrap();
    let files = delivery(&atomic().join(dir), prefix);
    let half = files.len() / 2;
    let tmp = tempfile::tempdir().unwrap();
    let (state, out, metrics) = (
        tmp.path().join("state"),
        tmp.path().join("alerts.jsonl"),
        tmp.path().join("metrics.json"),
    );
    let watch = |extra: &[&str]| {
        let mut c = snapback(env);
        c.args(["watch", &url, "--poll", "1s", "--quiet", "--state"])
            .arg(&state)
            .arg("--out")
            .arg(&out)
            .arg("--metrics")
            .arg(&metrics)
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        c
    };
    // On an empty prefix: the first half lands while it runs, then it is killed.
    let mut child = watch(&[]).spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !metrics.exists() {
        assert!(Instant::now() < deadline, "watch did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    upload(&up, &files[..half]);
    wait_files(&mut child, &metrics, half as u64);
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    // Restarted: the rest lands, then it stops on SIGTERM.
    let _ = std::fs::remove_file(&metrics);
    let mut child = watch(&[]).spawn().unwrap();
    upload(&up, &files[half..]);
    wait_files(&mut child, &metrics, (files.len() - half) as u64);
    let read_after_restart = figures(&metrics)["files"].as_u64().unwrap();
    assert_eq!(
        read_after_restart,
        (files.len() - half) as u64,
        "the restarted watcher read only the objects put after the kill"
    );
    terminate(&mut child);
    // The events within the lateness of the newest end with the input: `--once`, which finds
    // nothing new to read.
    let _ = std::fs::remove_file(&metrics);
    let end = watch(&["--once"]).output().unwrap();
    assert!(
        end.status.success(),
        "{}",
        String::from_utf8_lossy(&end.stderr)
    );
    assert_eq!(figures(&metrics)["files"], 0, "no object is read twice");
    let local = format!("{}/", atomic().join(dir).display());
    let want = scan_alerts(&atomic().join(dir));
    assert!(!want.is_empty(), "the sample data has alerts");
    let from = format!("{}://{bucket}/{prefix}", e.cloud.scheme());
    assert_eq!(finals(&out, &from, &local), want);
}

#[test]
fn watch_s3_while_objects_land_and_after_a_kill_gives_scans_alerts_once() {
    let Some(e) = Emulator::start_or_skip(Cloud::S3, "watch_s3_while_objects_land") else {
        return;
    };
    watch_while_uploading(&e, &e.env(), "trail", "AWSLogs", "AWSLogs/");
}

#[test]
fn watch_az_while_objects_land_and_after_a_kill_gives_scans_alerts_once() {
    let Some(e) = Emulator::start_or_skip(Cloud::Azure, "watch_az_while_objects_land") else {
        return;
    };
    let bucket = "insights-activity-logs";
    watch_while_uploading(&e, &e.env(), bucket, bucket, "");
}

#[test]
fn watch_gs_while_objects_land_and_after_a_kill_gives_scans_alerts_once() {
    let Some(e) = Emulator::start_or_skip(Cloud::Gcs, "watch_gs_while_objects_land") else {
        return;
    };
    watch_while_uploading(&e, &e.env(), "sink", "gcp", "");
}

/// A prefix beside local paths: `watch --once` of `s3://…` and two directories gives `scan`'s
/// alerts of the three directories, byte for byte once the URL is written where its directory
/// was.
#[test]
fn watch_once_of_a_prefix_beside_paths_equals_scan() {
    let Some(e) = Emulator::start_or_skip(Cloud::S3, "watch_once_of_a_prefix_beside_paths") else {
        return;
    };
    e.create_bucket("trail").unwrap();
    let up = e.uploader("trail").unwrap();
    upload(&up, &delivery(&atomic().join("AWSLogs"), "AWSLogs/"));
    let root = atomic();
    let (aws, gcp, azure) = (
        root.join("AWSLogs"),
        root.join("gcp"),
        root.join("insights-activity-logs"),
    );
    let watched = snapback(&e.env())
        .args(["watch", "--once", "--quiet", "s3://trail/AWSLogs/"])
        .args([&gcp, &azure])
        .output()
        .unwrap();
    assert!(
        watched.status.success(),
        "{}",
        String::from_utf8_lossy(&watched.stderr)
    );
    let scanned = snapback(&[])
        .args(["scan", "--format", "jsonl", "--quiet"])
        .args([&aws, &gcp, &azure])
        .output()
        .unwrap();
    let want = String::from_utf8(scanned.stdout).unwrap();
    assert!(want.lines().count() >= 3, "alerts of the three clouds");
    let got = String::from_utf8(watched.stdout).unwrap();
    assert!(
        got.contains("s3://trail/AWSLogs/"),
        "provenance names the objects"
    );
    assert_eq!(
        got.replace("s3://trail/AWSLogs/", &format!("{}/", aws.display())),
        want
    );
}

/// Keys that land after the watcher moved on: one into the day before the newest partition it
/// knows (a delivery that crossed midnight), one into a region it never saw. Both are read
/// (the walk every 10 polls finds new partitions), and a key re-put with the same bytes, a new
/// object for the store but the same ETag, is not read again.
#[test]
fn keys_landing_in_an_older_day_or_a_new_region_are_read_once() {
    let Some(e) = Emulator::start_or_skip(Cloud::S3, "keys_landing_in_an_older_day") else {
        return;
    };
    e.create_bucket("trail").unwrap();
    let up = e.uploader("trail").unwrap();
    let files = delivery(&atomic().join("AWSLogs"), "AWSLogs/");
    let (first, rest) = files.split_at(files.len() - 2);
    upload(&up, first);
    let tmp = tempfile::tempdir().unwrap();
    let metrics = tmp.path().join("metrics.json");
    let mut child = snapback(&e.env())
        .args(["watch", "s3://trail/AWSLogs/", "--poll", "200ms", "--quiet"])
        .arg("--metrics")
        .arg(&metrics)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_files(&mut child, &metrics, first.len() as u64);
    let moved = |key: &str, from: &str, to: &str| key.replace(from, to);
    let (older, region) = (&rest[0], &rest[1]);
    up.put(
        &moved(&older.0, "/2026/11/20/", "/2026/11/19/"),
        older.1.clone(),
    )
    .unwrap();
    up.put(
        &moved(&region.0, "/us-east-1/", "/eu-west-3/"),
        region.1.clone(),
    )
    .unwrap();
    wait_files(&mut child, &metrics, files.len() as u64);
    // The same bytes again: same ETag, not fetched.
    up.put(&first[0].0, first[0].1.clone()).unwrap();
    std::thread::sleep(Duration::from_secs(3));
    let read = figures(&metrics)["files"].as_u64().unwrap();
    terminate(&mut child);
    assert_eq!(read, files.len() as u64, "each object read once");
}
