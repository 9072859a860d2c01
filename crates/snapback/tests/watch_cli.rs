//! `snapback watch`: the bundled sample data delivered file by file, a crash at random points,
//! a followed file that grows and rotates, bad input in a live stream, and late events. The
//! final alerts (the highest revision of each id, not retracted) must be `scan`'s alerts, ids
//! included, and `--out` must hold each revision once.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

mod watch_support;
use watch_support::{figure, wait_files, wait_until};

fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_snapback"))
}

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/atomic")
}

/// The sample data's files, oldest first by their first event (the order a cloud delivers).
fn delivery_order() -> Vec<PathBuf> {
    let mut files = Vec::new();
    walk(&examples(), &mut files);
    let mut timed: Vec<(String, PathBuf)> =
        files.into_iter().map(|p| (first_time(&p), p)).collect();
    timed.sort();
    timed.into_iter().map(|(_, p)| p).collect()
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            walk(&p, out);
        } else {
            out.push(p);
        }
    }
}

fn first_time(p: &Path) -> String {
    let bytes = std::fs::read(p).unwrap();
    let text = if p.extension().is_some_and(|e| e == "gz") {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut flate2::read::MultiGzDecoder::new(&bytes[..]), &mut s)
            .unwrap();
        s
    } else {
        String::from_utf8(bytes).unwrap()
    };
    let mut best = String::from("~");
    for key in ["\"eventTime\":\"", "\"time\":\"", "\"timestamp\":\""] {
        for (i, _) in text.match_indices(key) {
            let t: String = text[i + key.len()..].chars().take(19).collect();
            if t < best {
                best = t;
            }
        }
    }
    best
}

/// Copy a sample file into the watched tree, atomically (written aside, then renamed in).
fn deliver(file: &Path, into: &Path) {
    let rel = file.strip_prefix(examples()).unwrap();
    let dest = into.join(rel);
    std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
    let tmp = into.parent().unwrap().join(".incoming");
    std::fs::copy(file, &tmp).unwrap();
    std::fs::rename(&tmp, &dest).unwrap();
}

fn scan_alerts(dir: &Path) -> BTreeMap<String, Value> {
    let out = Command::new(bin())
        .args(["scan", "--format", "jsonl"])
        .arg(dir)
        .output()
        .unwrap();
    assert!(out.status.success());
    lines(&String::from_utf8(out.stdout).unwrap())
        .into_iter()
        .map(|a| (a["alert_id"].as_str().unwrap().to_owned(), a))
        .collect()
}

fn lines(text: &str) -> Vec<Value> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect()
}

/// The final alert of each id: its highest revision, unless that retracts it. Panics when a
/// revision of an id appears twice.
fn finals(out: &Path) -> BTreeMap<String, Value> {
    let text = std::fs::read_to_string(out).unwrap_or_default();
    let mut seen = std::collections::HashSet::new();
    let mut best: BTreeMap<String, Value> = BTreeMap::new();
    for a in lines(&text) {
        let id = a["alert_id"].as_str().unwrap().to_owned();
        let rev = a["revision"].as_u64().unwrap_or(1);
        // A later revision names the evidence it adds, all of it in its evidence.
        if rev > 1 && a["retracted"] != Value::Bool(true) {
            let evidence: Vec<&Value> = a["evidence"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| &e["event_id"])
                .collect();
            for c in a["changed"]
                .as_array()
                .expect("a revision names what changed")
            {
                assert!(
                    evidence.contains(&c),
                    "{id} r{rev}: changed {c} not in its evidence"
                );
            }
        }
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
    for a in best.values_mut() {
        a.as_object_mut().unwrap().remove("revision");
        a.as_object_mut().unwrap().remove("changed");
    }
    best
}

fn watch(dir: &Path, state: &Path, out: &Path, extra: &[&str]) -> Command {
    let mut c = Command::new(bin());
    c.arg("watch")
        .arg(dir)
        .arg("--state")
        .arg(state)
        .arg("--out")
        .arg(out)
        .args(["--poll", "100ms", "--quiet"])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    c
}

fn terminate(child: &mut Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if child.try_wait().unwrap().is_some() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().unwrap();
    panic!("watch did not stop on SIGTERM");
}

/// Evidence names the file it came from: the same record in the watched tree and in
/// `examples/` must compare equal.
fn same_alerts(
    a: &BTreeMap<String, Value>,
    b: &BTreeMap<String, Value>,
    a_dir: &Path,
    b_dir: &Path,
) {
    let norm = |m: &BTreeMap<String, Value>, dir: &Path| -> BTreeMap<String, String> {
        let prefix = format!("{}/", dir.display());
        m.iter()
            .map(|(k, v)| (k.clone(), v.to_string().replace(&prefix, "")))
            .collect()
    };
    assert_eq!(norm(a, a_dir), norm(b, b_dir));
}

/// Wait until the watcher has written its first figures: it is reading its inputs.
fn wait_for(metrics: &Path) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !metrics.exists() {
        assert!(Instant::now() < deadline, "watch did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `watch` of `input` writing its figures to `metrics`, started.
fn watch_metrics(input: &Path, state: &Path, out: &Path, metrics: &Path) -> Child {
    watch(input, state, out, &["--metrics", metrics.to_str().unwrap()])
        .spawn()
        .unwrap()
}

#[test]
fn once_gives_scans_alerts_byte_for_byte() {
    let out = Command::new(bin())
        .args(["watch", "--once", "--quiet"])
        .arg(examples())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let scan = Command::new(bin())
        .args(["scan", "--format", "jsonl", "--quiet"])
        .arg(examples())
        .output()
        .unwrap();
    assert!(!scan.stdout.is_empty());
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(scan.stdout).unwrap()
    );
}

#[test]
fn files_delivered_one_by_one_then_a_restart_give_scans_alerts_each_revision_once() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, state, out) = (
        tmp.path().join("in"),
        tmp.path().join("state"),
        tmp.path().join("alerts.jsonl"),
    );
    std::fs::create_dir_all(&dir).unwrap();
    let metrics = tmp.path().join("metrics.json");
    let mut child = watch_metrics(&dir, &state, &out, &metrics);
    for f in delivery_order() {
        deliver(&f, &dir);
        std::thread::sleep(Duration::from_millis(60));
    }
    // Alerts leave while input still arrives: before the end, some are already out.
    wait_until(&mut child, &metrics, "emit an alert", |m| {
        figure(m, "alert_revisions") > 0
    });
    terminate(&mut child);
    assert!(child.wait().unwrap().success());
    let live = finals(&out);
    assert!(!live.is_empty(), "no alert left before the end of input");
    // The events within the lateness of the newest are carried over: --once ends them.
    let status = watch(&dir, &state, &out, &["--once"]).status().unwrap();
    assert!(status.success());
    same_alerts(&finals(&out), &scan_alerts(&examples()), &dir, &examples());
}

#[test]
fn killed_at_random_points_and_restarted_nothing_is_lost_or_written_twice() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, state, out) = (
        tmp.path().join("in"),
        tmp.path().join("state"),
        tmp.path().join("alerts.jsonl"),
    );
    std::fs::create_dir_all(&dir).unwrap();
    let files = delivery_order();
    // A fixed pseudo-random schedule: the kill points differ between cycles and commits.
    let mut seed: u64 = 0x5eed_1578_0004;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut delivered = 0;
    let mut emitted_before_the_end = 0;
    let metrics = tmp.path().join("metrics.json");
    for _ in 0..20 {
        // Killed at a random point after it started (its first cycle wrote the metrics): on a
        // loaded machine a debug binary's start-up can take longer than the pause itself.
        let _ = std::fs::remove_file(&metrics);
        let mut child = watch_metrics(&dir, &state, &out, &metrics);
        wait_for(&metrics);
        let batch = 1 + (next() % 3) as usize;
        for f in files.iter().skip(delivered).take(batch) {
            deliver(f, &dir);
            delivered += 1;
        }
        std::thread::sleep(Duration::from_millis(300 + next() % 1200));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        emitted_before_the_end = emitted_before_the_end.max(finals(&out).len());
    }
    // The runs must have got as far as emitting (else the test proves nothing about restarts).
    assert!(emitted_before_the_end >= 3, "{emitted_before_the_end}");
    for f in files.iter().skip(delivered) {
        deliver(f, &dir);
    }
    let status = watch(&dir, &state, &out, &["--once"]).status().unwrap();
    assert!(status.success());
    same_alerts(&finals(&out), &scan_alerts(&examples()), &dir, &examples());
}

/// The sample data's CloudTrail records as JSON lines, oldest first.
fn cloudtrail_lines() -> Vec<String> {
    let mut records: Vec<Value> = Vec::new();
    for f in delivery_order() {
        if !f.to_string_lossy().contains("CloudTrail") {
            continue;
        }
        let mut text = String::new();
        std::io::Read::read_to_string(
            &mut flate2::read::MultiGzDecoder::new(std::fs::File::open(&f).unwrap()),
            &mut text,
        )
        .unwrap();
        let v: Value = serde_json::from_str(&text).unwrap();
        records.extend(v["Records"].as_array().unwrap().iter().cloned());
    }
    records.sort_by_key(|r| r["eventTime"].as_str().unwrap().to_owned());
    records.iter().map(|r| r.to_string()).collect()
}

#[test]
fn a_followed_file_that_grows_is_rotated_and_holds_bad_lines_still_alerts() {
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("cloudtrail.jsonl");
    let (state, out) = (tmp.path().join("state"), tmp.path().join("alerts.jsonl"));
    let records = cloudtrail_lines();
    let half = records.len() / 2;
    let mut f = std::fs::File::create(&log).unwrap();
    let metrics = tmp.path().join("metrics.json");
    let mut child = watch_metrics(&log, &state, &out, &metrics);
    // The watcher follows the file from here on (a rotation before it opened the file would
    // hide the first half from it, as from `tail -F`).
    wait_for(&metrics);
    for (i, r) in records[..half].iter().enumerate() {
        if i == 3 {
            // A line an attacker broke, and one written slowly: neither stops the watcher.
            writeln!(f, "{{\"eventVersion\": [[[").unwrap();
            let (a, b) = r.split_at(r.len() / 2);
            write!(f, "{a}").unwrap();
            f.flush().unwrap();
            std::thread::sleep(Duration::from_millis(250));
            writeln!(f, "{b}").unwrap();
            continue;
        }
        writeln!(f, "{r}").unwrap();
    }
    f.flush().unwrap();
    wait_until(&mut child, &metrics, "read the first half", |m| {
        figure(m, "events") >= half as u64
    });
    // Rotation: the file moves aside, a new one takes its name.
    std::fs::rename(&log, tmp.path().join("cloudtrail.jsonl.1")).unwrap();
    let mut f = std::fs::File::create(&log).unwrap();
    for r in &records[half..] {
        writeln!(f, "{r}").unwrap();
    }
    f.flush().unwrap();
    // Every record but the one broken line was read, from both files.
    wait_until(&mut child, &metrics, "read both files", |m| {
        figure(m, "events") >= records.len() as u64
    });
    terminate(&mut child);
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("invalid"),
        "the bad line is reported: {stderr}"
    );
    // Everything the watermark passed alerted; the rest goes at the end of input.
    let status = watch(&log, &state, &out, &["--once"]).status().unwrap();
    assert!(status.success());
    let got: Vec<String> = finals(&out)
        .values()
        .map(|a| a["rule_name"].as_str().unwrap().to_owned())
        .collect();
    let want: Vec<String> = scan_alerts(&examples())
        .values()
        .filter(|a| a["cloud"] == "aws")
        .map(|a| a["rule_name"].as_str().unwrap().to_owned())
        .collect();
    let (mut got, mut want) = (got, want);
    got.sort();
    want.sort();
    assert_eq!(got, want);
}

/// `watch` of one file with a lateness of a minute, writing its figures to `metrics`.
fn watch_late(log: &Path, metrics: &Path) -> Child {
    Command::new(bin())
        .args(["watch", "--poll", "100ms", "--quiet", "--lateness", "1m"])
        .arg(log)
        .arg("--metrics")
        .arg(metrics)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn an_event_behind_what_was_released_is_counted_late_not_dropped_silently() {
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("ct.jsonl");
    let records = cloudtrail_lines();
    let mut text: Vec<String> = records.clone();
    // The oldest StopInstances that went through again, with a new id, after everything:
    // hours behind the watermark. (Records no rule can use, unmatched ones and failed calls,
    // take no state, so they cannot be late.)
    let stop = records
        .iter()
        .find(|r| r.contains("\"eventName\":\"StopInstances\"") && !r.contains("errorCode"))
        .unwrap();
    let mut old: Value = serde_json::from_str(stop).unwrap();
    old["eventID"] = Value::from("late-copy-of-the-first");
    text.push(old.to_string());
    std::fs::write(&log, text.join("\n") + "\n").unwrap();
    let metrics1 = tmp.path().join("metrics1.json");
    let mut child = watch_late(&log, &metrics1);
    wait_until(&mut child, &metrics1, "read the file", |m| {
        figure(m, "events") >= text.len() as u64
    });
    terminate(&mut child);
    let stderr = String::from_utf8(child.wait_with_output().unwrap().stderr).unwrap();
    // One batch: all of it arrived together, so nothing was late.
    assert!(stderr.contains(" 0 late events"), "{stderr}");
    // Delivered after the others were released, it is late and counted.
    let log2 = tmp.path().join("ct2.jsonl");
    std::fs::write(&log2, records.join("\n") + "\n").unwrap();
    let metrics = tmp.path().join("metrics.json");
    let mut child = watch_late(&log2, &metrics);
    // Appended only once the rest was read and released.
    wait_until(&mut child, &metrics, "read the file", |m| {
        figure(m, "events") >= records.len() as u64
    });
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&log2)
        .unwrap();
    writeln!(f, "{old}").unwrap();
    f.flush().unwrap();
    wait_until(&mut child, &metrics, "count the appended line late", |m| {
        figure(m, "late_events") > 0
    });
    terminate(&mut child);
    let stderr = String::from_utf8(child.wait_with_output().unwrap().stderr).unwrap();
    assert!(stderr.contains(" 1 late events"), "{stderr}");
}

#[test]
fn stdin_is_a_stream_that_ends_when_it_closes() {
    let records = cloudtrail_lines();
    let mut child = Command::new(bin())
        .args(["watch", "-", "--quiet", "--once"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        let mut stdin = child.stdin.take().unwrap();
        for r in &records {
            writeln!(stdin, "{r}").unwrap();
        }
    }
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut got: Vec<String> = lines(&String::from_utf8(out.stdout).unwrap())
        .iter()
        .map(|a| a["rule_name"].as_str().unwrap().to_owned())
        .collect();
    let mut want: Vec<String> = scan_alerts(&examples())
        .values()
        .filter(|a| a["cloud"] == "aws")
        .map(|a| a["rule_name"].as_str().unwrap().to_owned())
        .collect();
    got.sort();
    want.sort();
    assert_eq!(got, want);
}

#[test]
fn forward_sends_each_revision_to_a_syslog_receiver() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let receiver = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        let mut text = String::new();
        std::io::Read::read_to_string(&mut conn, &mut text).unwrap();
        text
    });
    let out = Command::new(bin())
        .args(["watch", "--once", "--quiet", "--forward-framing", "lf"])
        .arg("--forward")
        .arg(format!("syslog+tcp://127.0.0.1:{port}"))
        .arg(examples())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got = receiver.join().unwrap();
    let alerts = scan_alerts(&examples());
    assert_eq!(got.lines().count(), alerts.len(), "{got}");
    for id in alerts.keys() {
        assert!(got.contains(&format!("alertId={id}")), "{id} not forwarded");
    }
}

/// `watch - --state DIR --out FILE` fed `lines` on stdin until it closes.
fn watch_stdin(state: &Path, out: &Path, lines: &[String]) {
    let mut child = Command::new(bin())
        .args(["watch", "-", "--quiet", "--state"])
        .arg(state)
        .arg("--out")
        .arg(out)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        let mut stdin = child.stdin.take().unwrap();
        for l in lines {
            writeln!(stdin, "{l}").unwrap();
        }
    }
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn rule_names(alerts: &BTreeMap<String, Value>) -> Vec<String> {
    let mut names: Vec<String> = alerts
        .values()
        .map(|a| a["rule_name"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    names
}

/// What stdin fed into the correlation state survives a restart, though stdin cannot be read
/// again: the records that took state are in `--state` (`records` table). Half the records in
/// one run, the rest in the next: the alerts are those of all of them, and a chain that
/// straddles the restart alerts. Without the first run's state the second run misses it, so
/// the state is what made the difference.
#[test]
fn state_fed_from_stdin_survives_a_restart() {
    let records = cloudtrail_lines();
    let tmp = tempfile::tempdir().unwrap();
    let whole = tmp.path().join("whole.jsonl");
    watch_stdin(&tmp.path().join("s0"), &whole, &records);
    let want = rule_names(&finals(&whole));
    assert!(!want.is_empty());
    // A split point where the second half alone misses an alert: a chain straddles it.
    let split = (1..records.len())
        .rev()
        .step_by(3)
        .find(|&i| {
            let alone = tmp.path().join(format!("alone-{i}.jsonl"));
            watch_stdin(&tmp.path().join(format!("a{i}")), &alone, &records[i..]);
            let first = tmp.path().join(format!("first-{i}.jsonl"));
            watch_stdin(&tmp.path().join(format!("f{i}")), &first, &records[..i]);
            let mut apart = rule_names(&finals(&first));
            apart.extend(rule_names(&finals(&alone)));
            apart.sort();
            apart != want
        })
        .expect("no split point separates a chain");
    let state = tmp.path().join("state");
    let out = tmp.path().join("out.jsonl");
    watch_stdin(&state, &out, &records[..split]);
    watch_stdin(&state, &out, &records[split..]);
    assert_eq!(rule_names(&finals(&out)), want, "split at {split}");
}

#[test]
fn since_leaves_out_earlier_events_as_scan_does() {
    let since = "2026-11-20T12:45:00Z";
    let run = |args: &[&str]| {
        let out = Command::new(bin())
            .args(args)
            .arg(examples())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let watched = run(&["watch", "--once", "--quiet", "--since", since]);
    let scanned = run(&["scan", "--format", "jsonl", "--quiet", "--since", since]);
    let all = run(&["watch", "--once", "--quiet"]);
    assert_eq!(watched, scanned);
    let n = |s: &str| s.lines().count();
    assert!(
        n(&watched) > 0 && n(&watched) < n(&all),
        "{} of {} alerts",
        n(&watched),
        n(&all)
    );
}

/// A watcher that runs for years must not keep a row for every delivery file it ever read:
/// files deleted from the watched tree (by retention) leave the state at the next commit.
#[test]
fn delivery_files_deleted_from_the_tree_leave_the_state() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, state, out, metrics) = (
        tmp.path().join("in"),
        tmp.path().join("state"),
        tmp.path().join("alerts.jsonl"),
        tmp.path().join("metrics.json"),
    );
    std::fs::create_dir_all(&dir).unwrap();
    let files = delivery_order();
    for f in &files {
        deliver(f, &dir);
    }
    let mut child = watch_metrics(&dir, &state, &out, &metrics);
    wait_files(&mut child, &metrics, files.len() as u64);
    let mut in_tree = Vec::new();
    walk(&dir, &mut in_tree);
    in_tree.sort();
    let (gone, kept) = in_tree.split_at(2);
    for f in gone {
        std::fs::remove_file(f).unwrap();
    }
    // A few polls: the listing sees them gone, the next cycle commits it.
    std::thread::sleep(Duration::from_millis(1500));
    terminate(&mut child);
    assert!(child.wait().unwrap().success());
    let saved = snapback_pipeline::watch::State::open(&state)
        .unwrap()
        .load()
        .unwrap();
    let mut rows: Vec<&String> = saved.files.keys().collect();
    rows.sort();
    let kept: Vec<String> = kept.iter().map(|p| p.display().to_string()).collect();
    assert_eq!(
        rows,
        kept.iter().collect::<Vec<_>>(),
        "exactly the files still there"
    );
    // The alerts already written stay written, each revision once.
    assert!(!finals(&out).is_empty());
}
