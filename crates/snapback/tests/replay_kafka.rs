//! `snapback replay` against a real Kafka 4.x broker (scripts/kafka-test-broker.sh): the
//! bundled sample data and a generated volume into a 6-partition topic, read back with a
//! `read_committed` group consumer: every record arrives once, as its raw JSON, and every
//! record of one account (one key) is in one partition; the messages decode back to the same
//! events with `kafka://` provenance. Bad input is reported where it is and the rest is sent.

#![cfg(feature = "kafka")]

#[path = "../../snapback-kafka/tests/broker/mod.rs"]
mod broker;
mod consume_support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use consume_support::{snapback, topic};
use snapback_ingest::{read_inputs, IngestOptions, Input};
use snapback_kafka::{
    account_key, decode_message, ConsumerConfig, GroupConsumer, KeyBy, Message, Polled, Settings,
};

fn sample() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/atomic")
}

/// (key, raw JSON) of every event in `paths`, as `replay` should send them.
fn expected(paths: &[&Path], by: KeyBy) -> Vec<(String, Vec<u8>)> {
    let inputs: Vec<Input> = paths.iter().map(|p| Input::Path(p.to_path_buf())).collect();
    let mut out = Vec::new();
    read_inputs(
        &inputs,
        &IngestOptions::default(),
        &mut |e| out.push((by.key(&e), serde_json::to_vec(&*e.raw).unwrap())),
        &mut |_| {},
    );
    out.sort();
    out
}

/// Read `n` messages of `topic` with a fresh group, then make sure no more come.
fn read_back(brokers: &str, topic: &str, n: usize) -> Vec<Message> {
    let consumer = GroupConsumer::new(&ConsumerConfig {
        brokers: brokers.into(),
        group: format!("{topic}-reader"),
        topics: vec![topic.into()],
        auto_commit: false,
        settings: Settings::default(),
    })
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut messages = Vec::new();
    let mut quiet_since: Option<Instant> = None;
    loop {
        let polled = consumer.poll(1000, Duration::from_millis(500)).unwrap();
        let before = messages.len();
        messages.extend(polled.into_iter().filter_map(|p| match p {
            Polled::Message(m) => Some(m),
            _ => None,
        }));
        if messages.len() > before {
            quiet_since = None;
        }
        // Two quiet seconds after the count is reached: nothing more (no duplicate) comes.
        if messages.len() >= n {
            let since = *quiet_since.get_or_insert_with(Instant::now);
            if since.elapsed() > Duration::from_secs(2) {
                return messages;
            }
        }
        assert!(
            Instant::now() < deadline,
            "{} of {n} messages of {topic} after 90 s",
            messages.len()
        );
    }
}

/// Every expected record once, and each key in one partition. Returns the partitions used.
fn assert_sent_once_keyed(messages: &[Message], want: &[(String, Vec<u8>)]) -> BTreeSet<i32> {
    let mut got: Vec<(String, Vec<u8>)> = messages
        .iter()
        .map(|m| {
            let key = String::from_utf8(m.key.clone().expect("keyed")).unwrap();
            (key, m.payload.clone().expect("a value"))
        })
        .collect();
    got.sort();
    assert_eq!(got.len(), want.len(), "message count");
    assert!(got == want, "the messages are not the records, once each");
    let mut partitions_of: BTreeMap<Vec<u8>, BTreeSet<i32>> = BTreeMap::new();
    for m in messages {
        partitions_of
            .entry(m.key.clone().unwrap())
            .or_default()
            .insert(m.partition);
    }
    for (key, parts) in &partitions_of {
        assert_eq!(
            parts.len(),
            1,
            "key {} in partitions {parts:?}",
            String::from_utf8_lossy(key)
        );
    }
    messages.iter().map(|m| m.partition).collect()
}

#[test]
fn replay_into_six_partitions_and_read_back() {
    let Some(broker) = broker::TestBroker::start("replay_into_six_partitions_and_read_back") else {
        return;
    };
    let b = broker.bootstrap.as_str();
    let dir = tempfile::tempdir().unwrap();
    let volume = dir.path().join("volume");
    let (code, _, err) = snapback(&[
        "simulate",
        "--volume",
        "1MiB",
        "--volume-format",
        "gz",
        "--out",
        volume.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let sample = sample();
    let paths = [sample.as_path(), volume.as_path()];
    let want = expected(&paths, KeyBy::Account);
    let accounts: BTreeSet<&str> = want.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(accounts.len(), 5, "{accounts:?}");

    topic(b, "audit", 6);
    let (code, out, err) = snapback(&[
        "replay",
        sample.to_str().unwrap(),
        volume.to_str().unwrap(),
        "--brokers",
        b,
        "--topic",
        "audit",
    ]);
    assert_eq!(code, 0, "{out}\n{err}");
    let head = format!(
        "snapback replay: {n} of {n} records sent to topic audit (6 partitions), keyed by account\n",
        n = want.len()
    );
    assert!(out.starts_with(&head), "{out}");

    let messages = read_back(b, "audit", want.len());
    let partitions = assert_sent_once_keyed(&messages, &want);
    assert!(
        partitions.len() >= 2,
        "five accounts in one partition: {partitions:?}"
    );
    // The summary's per-partition counts are what the topic holds.
    for p in &partitions {
        let n = messages.iter().filter(|m| m.partition == *p).count();
        assert!(out.contains(&format!("  partition {p}: {n}\n")), "{out}");
    }

    // Each message decodes back to one event of its key's account, at its own place.
    for m in &messages {
        let mut events = Vec::new();
        let mut diags = Vec::new();
        decode_message(
            m,
            &IngestOptions::default(),
            &mut |e| events.push(e),
            &mut |d| diags.push(d.to_string()),
        );
        assert!(diags.is_empty(), "{diags:?}");
        assert_eq!(events.len(), 1);
        let e = &events[0];
        assert_eq!(
            e.provenance.to_string(),
            format!("kafka://audit/{}@{}#0", m.partition, m.offset)
        );
        assert_eq!(account_key(e).as_bytes(), m.key.as_deref().unwrap());
    }
}

#[test]
fn replay_keyed_by_resource_and_bad_input() {
    let Some(broker) = broker::TestBroker::start("replay_keyed_by_resource_and_bad_input") else {
        return;
    };
    let b = broker.bootstrap.as_str();
    let sample = sample();
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.json");
    std::fs::write(
        &bad,
        b"{\"Records\":[{\"eventVersion\":\"1.08\",\"eventName\":\n",
    )
    .unwrap();

    topic(b, "by-resource", 6);
    let (code, out, err) = snapback(&[
        "replay",
        sample.to_str().unwrap(),
        bad.to_str().unwrap(),
        "--brokers",
        b,
        "--topic",
        "by-resource",
        "--key",
        "resource",
    ]);
    assert_eq!(code, 0, "bad input is reported, not fatal:\n{out}\n{err}");
    assert!(
        err.lines()
            .any(|l| l.starts_with("error: ") && l.contains("bad.json")),
        "a located diagnostic for the broken file: {err}"
    );
    let want = expected(&[sample.as_path()], KeyBy::Resource);
    assert!(
        want.iter().any(|(k, _)| k.contains("/i-")),
        "some records are keyed by their instance"
    );
    let messages = read_back(b, "by-resource", want.len());
    assert_sent_once_keyed(&messages, &want);

    // --strict: the same run exits 1 for the skipped input.
    topic(b, "strict", 1);
    let (code, _, _) = snapback(&[
        "replay",
        bad.to_str().unwrap(),
        "--brokers",
        b,
        "--topic",
        "strict",
        "--strict",
    ]);
    assert_eq!(code, 1);

    // A record the producer refuses (larger than message.max.bytes) is said with its place,
    // the others are sent, and the exit code says not everything was delivered.
    let (code, out, err) = snapback(&[
        "replay",
        sample.to_str().unwrap(),
        "--brokers",
        b,
        "--topic",
        "strict",
        "--kafka",
        "message.max.bytes=1500",
    ]);
    assert_eq!(code, 3, "{out}\n{err}");
    let refused = err.lines().filter(|l| l.contains(": not sent: ")).count();
    assert!(refused > 0, "{err}");
    assert!(
        err.lines()
            .filter(|l| l.contains(": not sent: "))
            .all(|l| l.starts_with("error: ") && l.contains("examples/atomic/")),
        "{err}"
    );
    assert!(out.contains("  not sent (refused): "), "{out}");

    // What the operator got wrong is said before anything is read.
    let (code, _, err) = snapback(&[
        "replay",
        sample.to_str().unwrap(),
        "--brokers",
        b,
        "--topic",
        "missing",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("topic missing"), "{err}");
    let (code, _, err) = snapback(&[
        "replay",
        sample.to_str().unwrap(),
        "--brokers",
        b,
        "--topic",
        "strict",
        "--kafka",
        "no-equals-sign",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("expected KEY=VALUE"), "{err}");
    let (code, _, err) = snapback(&[
        "replay",
        sample.to_str().unwrap(),
        "--brokers",
        b,
        "--topic",
        "strict",
        "--kafka",
        "no.such.property=1",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("no.such.property"), "{err}");
}

/// A delivery tree of one account whose file order goes back in time: us-east-1's files
/// (later) are listed before us-west-2's (earlier).
fn regions_out_of_time_order(dir: &Path) -> usize {
    let mut n = 0;
    for (region, hour) in [("us-east-1", 14), ("us-west-2", 9)] {
        let day = dir.join(format!(
            "AWSLogs/111122223333/CloudTrail/{region}/2026/03/05"
        ));
        std::fs::create_dir_all(&day).unwrap();
        for file in 0..3 {
            let records: Vec<serde_json::Value> = (0..4)
                .map(|i| {
                    n += 1;
                    serde_json::json!({
                        "eventVersion": "1.08",
                        "eventTime": format!("2026-03-05T{hour:02}:{:02}:{:02}Z", file * 10, i),
                        "eventSource": "ec2.amazonaws.com",
                        "eventName": "DescribeInstances",
                        "awsRegion": region,
                        "recipientAccountId": "111122223333",
                        "userIdentity": {"type": "IAMUser", "accountId": "111122223333",
                                         "arn": "arn:aws:iam::111122223333:user/ops"},
                        "eventID": format!("{region}-{file}-{i}"),
                        "sourceIPAddress": "198.51.100.7"
                    })
                })
                .collect();
            let body = serde_json::json!({ "Records": records });
            std::fs::write(day.join(format!("{file}.json")), body.to_string()).unwrap();
        }
    }
    n
}

fn event_times_by_offset(messages: &[Message]) -> Vec<String> {
    let mut m: Vec<&Message> = messages.iter().collect();
    m.sort_by_key(|m| (m.partition, m.offset));
    m.iter()
        .map(|m| {
            let v: serde_json::Value =
                serde_json::from_slice(m.payload.as_deref().unwrap()).unwrap();
            v["eventTime"].as_str().unwrap().to_owned()
        })
        .collect()
}

#[test]
fn replay_sends_in_event_time_order_unless_asked_for_input_order() {
    let Some(broker) = broker::TestBroker::start("replay: time order") else {
        return;
    };
    let b = broker.bootstrap.as_str();
    let dir = tempfile::tempdir().unwrap();
    let n = regions_out_of_time_order(dir.path());
    let tree = dir.path().to_str().unwrap();
    // The default, with a sort buffer of 5 records: sorted runs spill and are merged.
    topic(b, "timed", 1);
    let (code, out, err) = snapback(&[
        "replay",
        tree,
        "--brokers",
        b,
        "--topic",
        "timed",
        "--sort-buffer",
        "5",
    ]);
    assert_eq!(code, 0, "{out}\n{err}");
    let times = event_times_by_offset(&read_back(b, "timed", n));
    assert_eq!(times.len(), n);
    assert!(
        times.windows(2).all(|w| w[0] <= w[1]),
        "not in event-time order: {times:?}"
    );
    // As the files hold them: the tree goes back in time at the second region.
    topic(b, "as-read", 1);
    let (code, out, err) = snapback(&[
        "replay",
        tree,
        "--brokers",
        b,
        "--topic",
        "as-read",
        "--order",
        "input",
    ]);
    assert_eq!(code, 0, "{out}\n{err}");
    let times = event_times_by_offset(&read_back(b, "as-read", n));
    assert!(
        times.windows(2).any(|w| w[0] > w[1]),
        "input order should go back in time: {times:?}"
    );
}
