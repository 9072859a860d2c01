//! Issue 13, item 10: `aql run` holds a bounded number of events, whatever the input's size.
//! No timing: the runner's own peak-held counters are asserted on, over a few hundred
//! thousand generated tiny events, and every result is checked against the exact answer or
//! against the same run with everything in memory.

mod common;

use std::sync::Arc;

use snapback_aql::{parse, run, ResultSet, RunOptions, Runner, SpillOptions, Value};
use snapback_ingest::{Actor, Cloud, Event, EventTime, Outcome, Provenance, Schema};

const USERS: u64 = 7;

/// Event `i` of `n`: ten per second from 2026-01-01T00:00:00Z, user `u{i % 7}`.
fn tiny(i: u64) -> Event {
    let ms = i64::try_from(i).unwrap() * 100;
    let instant = jiff::Timestamp::from_millisecond(1_767_225_600_000 + ms).unwrap();
    Event {
        time: EventTime {
            instant,
            text: instant.to_string(),
        },
        cloud: Cloud::Aws,
        schema: Schema::CloudTrail,
        account: "1".into(),
        region: "r".into(),
        service: "ec2.amazonaws.com".into(),
        operation: "DescribeInstances".into(),
        action: "DescribeInstances".into(),
        actor: Actor {
            name: Some(format!("u{}", i % USERS)),
            ..Actor::default()
        },
        source_ip: None,
        user_agent: None,
        outcome: Outcome::Success,
        read_only: Some(true),
        resources: Vec::new(),
        request: None,
        response: None,
        event_id: format!("e{i}"),
        correlation_id: None,
        operation_phase: None,
        provenance: Provenance {
            file: Arc::from("gen"),
            record: i,
            offset: 0,
        },
        raw: Arc::new(serde_json::json!({"eventName": "DescribeInstances", "n": i})),
    }
}

/// `n` tiny events in a scrambled (but fixed) order.
fn scrambled(n: u64) -> impl Iterator<Item = Event> {
    (0..n).map(move |k| tiny(k.wrapping_mul(7_919) % n))
}

fn spill(max_records: usize) -> SpillOptions {
    SpillOptions {
        max_records,
        ..SpillOptions::default()
    }
}

fn all_time() -> RunOptions {
    RunOptions {
        default_window_ms: None,
        ..RunOptions::default()
    }
}

fn run_with(query: &str, n: u64, options: RunOptions, buffer: usize) -> ResultSet {
    let q = parse(query).unwrap();
    let mut runner = Runner::new(&q, options).with_spill(spill(buffer));
    for e in scrambled(n) {
        runner.push(e);
    }
    let held_while_reading = runner.peak_held();
    assert!(
        held_while_reading <= buffer,
        "{held_while_reading} > {buffer}"
    );
    let r = runner.finish();
    assert!(r.error.is_none(), "{:?}", r.error);
    r
}

/// The bound: the buffer, plus one record per run being merged.
fn bound(buffer: usize) -> usize {
    buffer + snapback_spill::MAX_FAN_IN + 1
}

const N: u64 = 200_000;

#[test]
fn item10_count_star_holds_at_most_the_buffer() {
    // Every event in the window (no window): all of them pass through the sort.
    let r = run_with("SELECT COUNT(*) FROM events", N, all_time(), 2_000);
    assert_eq!(r.rows, [[Value::Int(N as i64)]]);
    assert_eq!(r.events_matched, N);
    assert!(r.peak_held_events <= bound(2_000), "{}", r.peak_held_events);
    assert!(r.spilled > 0);
    assert_eq!(r.peak_held_rows, 1, "one group");

    // The default window (the last 5 minutes before the newest event): 3,001 events, found
    // although the newest event only comes at the end of the scrambled input.
    let r = run_with(
        "SELECT COUNT(*) FROM events",
        50_000,
        RunOptions::default(),
        2_000,
    );
    assert_eq!(r.rows, [[Value::Int(3_001)]]);
    assert!(r.peak_held_events <= bound(2_000));
}

#[test]
fn item10_group_by_keeps_one_accumulator_per_group() {
    let n = 50_000;
    let r = run_with(
        "SELECT username, COUNT(*) AS c, MIN(starttime), MAX(starttime), FIRST(qid) \
         FROM events GROUP BY username ORDER BY username",
        n,
        all_time(),
        1_000,
    );
    assert_eq!(r.peak_held_rows, USERS as usize);
    assert!(r.peak_held_events <= bound(1_000));
    assert_eq!(r.rows.len(), USERS as usize);
    let total: i64 = r
        .rows
        .iter()
        .map(|row| match row[1] {
            Value::Int(c) => c,
            _ => panic!("{row:?}"),
        })
        .sum();
    assert_eq!(total, n as i64);
    // u0 is event 0 (the first) and event 49,994 (its last).
    assert_eq!(r.rows[0][0], Value::Str("u0".into()));
    assert_eq!(r.rows[0][2], Value::Int(1_767_225_600_000));
    assert_eq!(r.rows[0][3], Value::Int(1_767_225_600_000 + 49_994 * 100));
}

#[test]
fn item10_order_by_limit_is_a_bounded_top_k() {
    let n = 50_000;
    let r = run_with(
        "SELECT username, starttime FROM events ORDER BY starttime DESC LIMIT 5",
        n,
        all_time(),
        1_000,
    );
    assert!(r.peak_held_rows <= 10, "{}", r.peak_held_rows);
    let got: Vec<&Value> = r.rows.iter().map(|row| &row[1]).collect();
    let want: Vec<Value> = (0..5)
        .map(|k| Value::Int(1_767_225_600_000 + (n as i64 - 1 - k) * 100))
        .collect();
    assert_eq!(got, want.iter().collect::<Vec<_>>());
}

#[test]
fn item10_spilled_sorts_give_the_in_memory_rows() {
    let n = 10_000;
    for query in [
        "SELECT username, starttime FROM events ORDER BY username, starttime DESC",
        "SELECT username, starttime FROM events ORDER BY username",
        "SELECT username, starttime FROM events",
        "SELECT username, starttime FROM events LIMIT 3",
        "SELECT username, SUM(starttime), AVG(starttime), STDEV(starttime), LAST(starttime) \
         FROM events GROUP BY username HAVING COUNT(*) > 2",
    ] {
        let small = run_with(query, n, all_time(), 300);
        let large = run_with(query, n, all_time(), 1_000_000);
        assert_eq!(small.rows, large.rows, "{query}");
        assert_eq!(small.row_count, large.row_count);
        assert!(small.peak_held_events <= bound(300), "{query}");
        assert!(small.peak_held_rows <= bound(300), "{query}");
    }
    // Without ORDER BY the rows stream out in event order.
    let r = run_with("SELECT starttime FROM events", n, all_time(), 300);
    assert_eq!(r.peak_held_rows, 0);
    let times: Vec<i64> = r
        .rows
        .iter()
        .map(|row| match row[0] {
            Value::Int(t) => t,
            _ => panic!("{row:?}"),
        })
        .collect();
    assert_eq!(times.len(), n as usize);
    assert!(times.windows(2).all(|w| w[0] < w[1]));
}

/// Every query of the corpus and of the hand-written list, over the seed fixture in pushed
/// and reversed order: one event in memory at a time gives what everything in memory gives.
#[test]
fn item10_corpus_queries_give_the_same_rows_with_a_one_event_buffer() {
    let corpus = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/aql-corpus/corpus.jsonl"
    ))
    .unwrap_or_default();
    let mut queries: Vec<String> = corpus
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v["query"].as_str().map(str::to_string))
        .collect();
    queries.push(std::fs::read_to_string(format!("{}/seed-query.aql", common::FIXTURES)).unwrap());
    queries.push("SELECT username, COUNT(*) FROM events GROUP BY username".into());
    let mut events = common::events("seed-events.jsonl");
    events.extend(common::events("issue17-events.jsonl"));
    let mut ran = 0;
    for q in &queries {
        let Ok(query) = parse(q) else { continue };
        for options in [RunOptions::default(), all_time()] {
            for reversed in [false, true] {
                let mut input = events.clone();
                if reversed {
                    input.reverse();
                }
                let whole = run(&query, input.clone(), options.clone());
                let mut runner = Runner::new(&query, options.clone()).with_spill(spill(1));
                for e in input {
                    runner.push(e);
                }
                let small = runner.finish();
                assert_eq!(small.columns, whole.columns, "{q}");
                assert_eq!(small.rows, whole.rows, "{q}");
                assert_eq!(small.events_matched, whole.events_matched, "{q}");
                assert_eq!(small.events_in_window, whole.events_in_window, "{q}");
                ran += 1;
            }
        }
    }
    assert!(ran >= 4, "{ran}");
}
