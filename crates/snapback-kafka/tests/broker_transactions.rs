//! The transactional producer and the group consumer against a real Kafka 4.x broker
//! (scripts/kafka-test-broker.sh): an aborted transaction's messages are never shown to a
//! `read_committed` reader and its offsets are not committed; a committed one's are; a
//! producer fenced by a newer one with its `transactional.id` cannot commit.
//! librdkafka's mock cluster does not honour aborts, so this needs the real broker.

mod broker;

use std::time::{Duration, Instant};

use snapback_kafka::{
    create_topic, ConsumerConfig, GroupConsumer, Message, Offset, PartitionId, Polled, Producer,
    Settings, TopicCreated, TopicSpec, TransactionalProducer, TxnFailure,
};

const WAIT: Duration = Duration::from_secs(30);

fn topic(brokers: &str, name: &str, partitions: i32) {
    let spec = TopicSpec {
        name,
        partitions,
        replication: 1,
        config: vec![],
    };
    let created = create_topic(brokers, &Settings::default(), &spec, WAIT).unwrap();
    assert_eq!(created, TopicCreated::Created, "{name}");
}

fn consumer(brokers: &str, group: &str, topic: &str) -> GroupConsumer {
    GroupConsumer::new(&ConsumerConfig {
        brokers: brokers.into(),
        group: group.into(),
        topics: vec![topic.into()],
        auto_commit: false,
        settings: Settings::default(),
    })
    .unwrap()
}

/// Poll until `n` messages came (and what came with them), or panic after a minute.
fn poll_messages(c: &GroupConsumer, n: usize) -> (Vec<Message>, Vec<Polled>) {
    let deadline = Instant::now() + Duration::from_secs(60);
    let (mut messages, mut others) = (Vec::new(), Vec::new());
    while messages.len() < n {
        assert!(
            Instant::now() < deadline,
            "{} of {n} messages after 60 s; also polled {others:?}",
            messages.len()
        );
        for p in c
            .poll(n - messages.len(), Duration::from_millis(500))
            .unwrap()
        {
            match p {
                Polled::Message(m) => messages.push(m),
                other => others.push(other),
            }
        }
    }
    (messages, others)
}

/// Nothing more arrives for `quiet`.
fn assert_no_more(c: &GroupConsumer, quiet: Duration) {
    let deadline = Instant::now() + quiet;
    while Instant::now() < deadline {
        for p in c.poll(10, Duration::from_millis(250)).unwrap() {
            assert!(!matches!(p, Polled::Message(_)), "unexpected {p:?}");
        }
    }
}

fn payloads(ms: &[Message]) -> Vec<String> {
    ms.iter()
        .map(|m| String::from_utf8_lossy(m.payload.as_deref().unwrap_or_default()).into_owned())
        .collect()
}

fn next_offsets(ms: &[Message]) -> Vec<Offset> {
    let mut last: std::collections::BTreeMap<(String, i32), i64> = Default::default();
    for m in ms {
        let e = last.entry((m.topic.clone(), m.partition)).or_insert(-1);
        *e = (*e).max(m.offset);
    }
    last.into_iter()
        .map(|((topic, partition), o)| Offset {
            topic,
            partition,
            next: o + 1,
        })
        .collect()
}

#[test]
fn transactions_on_a_real_broker() {
    let Some(broker) = broker::TestBroker::start("transactions_on_a_real_broker") else {
        return;
    };
    let b = broker.bootstrap.as_str();
    topic(b, "in", 1);
    topic(b, "out", 1);

    // Input: four keyed messages, all acknowledged.
    let producer = Producer::new(b, &Settings::default()).unwrap();
    for i in 0..4 {
        producer
            .send("in", b"aws:111122223333", format!("input-{i}").as_bytes())
            .unwrap();
    }
    let acked = producer.flush(WAIT).unwrap();
    assert_eq!(acked.acked_total(), 4, "{acked:?}");
    assert_eq!(acked.acked.get(&("in".to_owned(), 0)), Some(&4));

    let group = consumer(b, "snapback-test", "in");
    let (input, others) = poll_messages(&group, 4);
    let in0 = PartitionId {
        topic: "in".into(),
        partition: 0,
    };
    assert_eq!(
        others.first(),
        Some(&Polled::Assigned(vec![in0.clone()])),
        "the assignment is reported before any message: {others:?}"
    );
    assert_eq!(
        payloads(&input),
        ["input-0", "input-1", "input-2", "input-3"]
    );
    assert_eq!(input[0].provenance_name(), "kafka://in/0@0");
    let offsets = next_offsets(&input);
    assert_eq!(
        offsets,
        [Offset {
            topic: "in".into(),
            partition: 0,
            next: 4
        }]
    );

    // An aborted transaction: its output and its offsets are gone.
    let tx = TransactionalProducer::new(b, "snapback-test-tx", &Settings::default(), WAIT).unwrap();
    let meta = group.group_metadata().expect("joined its group");
    tx.begin().unwrap();
    tx.send("out", b"k", b"aborted-1").unwrap();
    tx.send("out", b"k", b"aborted-2").unwrap();
    tx.send_offsets(&offsets, &meta).unwrap();
    tx.abort().unwrap();
    assert_eq!(
        group.committed(std::slice::from_ref(&in0), WAIT).unwrap(),
        [(in0.clone(), None)],
        "an aborted transaction commits no offset"
    );

    // Rewound to the committed offsets (none: the start), the same input comes again.
    group.rewind(WAIT).unwrap();
    let (again, _) = poll_messages(&group, 4);
    assert_eq!(again, input);

    // A committed transaction: output visible, offsets committed.
    tx.begin().unwrap();
    tx.send("out", b"k", b"committed-1").unwrap();
    tx.send("out", b"k", b"committed-2").unwrap();
    tx.send_offsets(&next_offsets(&again), &meta).unwrap();
    let delivered = tx.commit().unwrap();
    assert_eq!(delivered.acked.get(&("out".to_owned(), 0)), Some(&2));
    assert_eq!(
        group.committed(std::slice::from_ref(&in0), WAIT).unwrap(),
        [(in0, Some(4))]
    );

    let reader = consumer(b, "snapback-test-reader", "out");
    let (out, _) = poll_messages(&reader, 2);
    assert_eq!(payloads(&out), ["committed-1", "committed-2"]);
    // The aborted messages are in the log (offsets 0 and 1, the abort marker 2), unseen.
    assert_eq!(out.iter().map(|m| m.offset).collect::<Vec<_>>(), [3, 4]);
    assert_no_more(&reader, Duration::from_secs(3));

    // A newer producer with the same transactional.id fences this one.
    let newer =
        TransactionalProducer::new(b, "snapback-test-tx", &Settings::default(), WAIT).unwrap();
    let fenced = tx
        .begin()
        .and_then(|_| tx.send("out", b"k", b"fenced"))
        .and_then(|_| tx.commit().map(|_| ()));
    let e = fenced.expect_err("a fenced producer commits nothing");
    assert_eq!(e.txn_failure(), Some(TxnFailure::Fatal), "{e}");
    newer.begin().unwrap();
    newer.send("out", b"k", b"newer").unwrap();
    newer.commit().unwrap();
    let (last, _) = poll_messages(&reader, 1);
    assert_eq!(payloads(&last), ["newer"]);
    assert_no_more(&reader, Duration::from_secs(2));
}
