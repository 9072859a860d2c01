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
mod consume_support;

use std::process::Command;
use std::time::Duration;

use consume_support::*;

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
        let ended_again = c
            .stderr()
            .matches("the final transaction was aborted")
            .count();
        eprintln!(
            "recovery: {} transactions aborted ({ended_again} of them final); {} partitions rebuilt from {} messages read again, the longest in {:.2} s",
            c.figure("aborted_transactions"),
            c.figure("rebuilds"),
            c.figure("rebuild_messages"),
            c.figures()
                .and_then(|f| f["longest_rebuild_seconds"].as_f64())
                .unwrap_or_default()
        );
    }

    let alerts = read_alerts(b);
    let got = final_ids(&alerts);
    if got != want {
        // What each member did with which partition, to find where a sequence went.
        for (name, c) in
            std::iter::once(("killed", &killed)).chain(group.iter().map(|c| ("member", c)))
        {
            eprintln!("--- {name}:\n{}", c.stderr());
        }
    }
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
