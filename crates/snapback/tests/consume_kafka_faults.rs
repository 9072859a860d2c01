//! `snapback consume` on a real Kafka 4.x broker when things go wrong: malformed messages
//! (not JSON, JSON of an unknown layout, 10 MB, empty, a tombstone) are located as
//! `kafka://TOPIC/PARTITION@OFFSET`, counted, skipped, and the chain after them still
//! alerts; the broker stopping and starting again on its data is survived; a member whose
//! join is slow does not take the wait for idleness; an aborted final transaction is not an
//! ending.

#![cfg(feature = "kafka")]

#[path = "../../snapback-kafka/tests/broker/mod.rs"]
mod broker;
mod consume_support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use consume_support::*;
use snapback_kafka::{create_topic, Producer, Settings, TopicSpec};

const BIG: usize = 10 * 1024 * 1024;

fn sample() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/atomic")
}

#[test]
fn malformed_messages_are_located_skipped_and_the_chain_after_them_still_alerts() {
    let Some(broker) = broker::TestBroker::start("consume: malformed messages") else {
        return;
    };
    let b = broker.bootstrap.as_str();
    let want = scan_ids(&[sample()]);
    assert!(!want.is_empty());
    let spec = TopicSpec {
        name: "audit",
        partitions: 1,
        replication: 1,
        config: vec![("max.message.bytes", "12000000")],
    };
    create_topic(b, &Settings::default(), &spec, WAIT).unwrap();
    topic(b, "alerts", 1);

    let mut settings = Settings::default();
    settings.set("message.max.bytes", "12000000");
    let producer = Producer::new(b, &settings).unwrap();
    let big = format!("{{\"padding\":\"{}\"}}", "x".repeat(BIG));
    let bad: [Option<&[u8]>; 5] = [
        Some(b"this is not JSON, nor any audit log\n"),
        Some(br#"{"hello":"world","records":"not a list"}"#),
        Some(big.as_bytes()),
        Some(b""),
        None,
    ];
    for payload in bad {
        producer.send_to("audit", Some(0), b"k", payload).unwrap();
    }
    let sent = producer.flush(WAIT).unwrap();
    assert_eq!(sent.failed_total(), 0, "{:?}", producer.take_errors());
    // The valid chain comes after them, in the same partition.
    replay(b, "audit", &[sample()]);

    let dir = tempfile::tempdir().unwrap();
    let mut c = consume(b, "audit", "bad", dir.path(), "bad", &[]);
    assert_eq!(c.wait(Duration::from_secs(300)), 0, "{}", c.stderr());
    let err = c.stderr();
    for (offset, reason) in [
        (0, "not-json"),
        (1, "unknown-format"),
        (2, "unknown-format"),
        (3, "empty-message"),
        (4, "empty-message"),
    ] {
        let at = format!("kafka://audit/0@{offset}");
        assert!(
            err.lines().any(|l| l.contains(&at) && l.contains(reason)),
            "no {reason} diagnostic located at {at}:\n{err}"
        );
    }
    // 10 MB is under ingest's record limit (16 MiB): the message is read, its shape unknown.
    assert!(c.figure("skipped_records") >= 5, "{:?}", c.figures());
    assert_eq!(final_ids(&read_alerts(b)), want, "alerts versus scan's");

    // Its offsets were committed: the group's next member has nothing to read.
    let mut next = consume(
        b,
        "audit",
        "bad",
        dir.path(),
        "next",
        &["--exit-when-idle", "5s"],
    );
    assert_eq!(next.wait(Duration::from_secs(120)), 0, "{}", next.stderr());
    assert_eq!(next.figure("messages"), 0, "{}", next.stderr());
}

#[test]
fn consume_survives_the_broker_stopping_and_starting_again() {
    let Some(broker) = broker::TestBroker::start("consume: the broker goes away") else {
        return;
    };
    let b = broker.bootstrap.as_str();
    let records = records();
    let want = scan_ids(&records.all);
    topic(b, "audit", 3);
    topic(b, "alerts", 1);
    replay(b, "audit", &records.first);

    let dir = tempfile::tempdir().unwrap();
    let mut c = consume(
        b,
        "audit",
        "away",
        dir.path(),
        "away",
        &["--exit-when-idle", "90s"],
    );
    wait_for(Duration::from_secs(90), "committed with no lag", || {
        c.figure("transactions") > 0 && c.figure("lag") == 0 && c.figure("partitions") == 3
    });
    broker.stop_keeping_data();
    std::thread::sleep(Duration::from_secs(5));
    assert!(c.child.try_wait().unwrap().is_none(), "{}", c.stderr());
    broker.start_again();
    replay(b, "audit", &records.second);
    assert_eq!(c.wait(Duration::from_secs(400)), 0, "{}", c.stderr());
    assert_eq!(final_ids(&read_alerts(b)), want, "alerts versus scan's");
}

/// The ending under `--exit-when-idle` flushes every window; alerts of a partition's newest
/// events come from that flush alone. Its transaction aborted (here on purpose, as a rebalance
/// fencing its offsets would) is not an ending: the member stays, rebuilds and ends again,
/// and the alerts topic holds scan's alerts, each revision once. (Before the fix the member
/// exited 0 with the flushed alerts uncommitted.)
#[test]
fn an_aborted_final_transaction_is_not_an_ending() {
    let Some(broker) = broker::TestBroker::start("consume: final transaction aborted") else {
        return;
    };
    let b = broker.bootstrap.as_str();
    let want = scan_ids(&[sample()]);
    assert!(!want.is_empty());
    topic(b, "audit", 2);
    topic(b, "alerts", 1);
    replay(b, "audit", &[sample()]);
    let dir = tempfile::tempdir().unwrap();
    let mut c = consume_env(
        b,
        "audit",
        "final-abort",
        dir.path(),
        "solo",
        &["--exit-when-idle", "3s"],
        &[("SNAPBACK_FAULT_ABORT_FINAL_TRANSACTIONS", "2")],
    );
    assert_eq!(c.wait(Duration::from_secs(180)), 0, "{}", c.stderr());
    let err = c.stderr();
    let got = final_ids(&read_alerts(b));
    assert_eq!(got, want, "final alerts on the topic versus scan's\n{err}");
    let stayed = err.matches("the final transaction was aborted; staying");
    assert_eq!(stayed.count(), 2, "{err}");
    assert_eq!(c.figure("aborted_transactions"), 2, "{err}");
}

#[test]
fn a_short_exit_when_idle_waits_for_the_group_to_assign_partitions() {
    let Some(broker) = broker::TestBroker::start("consume: --exit-when-idle 100ms") else {
        return;
    };
    let b = broker.bootstrap.as_str();
    topic(b, "audit", 3);
    topic(b, "alerts", 1);
    replay(b, "audit", &[sample()]);
    let dir = tempfile::tempdir().unwrap();
    // A member that owns the partitions, then stops answering (SIGSTOP): the next member's
    // join waits for it until its session times out (6 s). No time before the first
    // assignment may count as idle: a member that exited then had read nothing.
    let mut first = consume(b, "audit", "slow-join", dir.path(), "first", &[]);
    wait_for(
        Duration::from_secs(90),
        "the first member committed",
        || first.figure("transactions") > 0 && first.figure("lag") == 0,
    );
    let pid = first.child.id().to_string();
    assert!(Command::new("kill")
        .args(["-STOP", &pid])
        .status()
        .unwrap()
        .success());
    replay(b, "audit", &[sample()]);
    let mut late = consume(
        b,
        "audit",
        "slow-join",
        dir.path(),
        "late",
        &["--exit-when-idle", "100ms"],
    );
    let code = late.wait(Duration::from_secs(120));
    first.kill();
    assert_eq!(code, 0, "{}", late.stderr());
    assert_eq!(late.figure("partitions"), 3, "{}", late.stderr());
    assert!(late.figure("messages") > 0, "{}", late.stderr());
}

#[test]
fn a_producer_keying_otherwise_is_counted_and_warned_with_the_place() {
    let Some(broker) = broker::TestBroker::start("consume: key mismatches") else {
        return;
    };
    let b = broker.bootstrap.as_str();
    topic(b, "audit", 3);
    topic(b, "alerts", 1);
    let sample = sample();
    let (code, out, err) = snapback(&[
        "replay",
        sample.to_str().unwrap(),
        "--brokers",
        b,
        "--topic",
        "audit",
        "--key",
        "resource",
    ]);
    assert_eq!(code, 0, "{out}\n{err}");
    let dir = tempfile::tempdir().unwrap();
    let mut c = consume(b, "audit", "keys", dir.path(), "keys", &[]);
    assert_eq!(c.wait(Duration::from_secs(120)), 0, "{}", c.stderr());
    assert!(c.figure("key_mismatches") > 0, "{}", c.stderr());
    let warned = c.stderr();
    assert!(
        warned.contains("kafka://audit/") && warned.contains("is not the record's account"),
        "{warned}"
    );
}
