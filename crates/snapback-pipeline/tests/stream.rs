//! The streaming half of the pipeline, driven as `watch` and the Kafka consumer drive it:
//! records in, one cycle, emissions and the checkpoint's contents out, with explicit times.

mod common;

use jiff::SignedDuration;
use snapback_correlate::order::Lateness;
use snapback_correlate::stream::Emission;
use snapback_correlate::Tuning;
use snapback_pipeline::watch::Stream;
use snapback_rules::RuleSet;

fn record(time: &str, name: &str, id: &str) -> String {
    record_in("111122223333", time, name, id)
}

fn record_in(account: &str, time: &str, name: &str, id: &str) -> String {
    common::ec2_call(account, time, name, id) + "\n"
}

fn alerts(emissions: &[Emission]) -> Vec<String> {
    emissions
        .iter()
        .filter_map(|e| match e {
            Emission::Alert { alert, .. } => alert.rule_name.clone(),
            Emission::Retracted { .. } => None,
        })
        .collect()
}

#[test]
fn a_stop_is_an_open_sequence_until_its_start_completes_it() {
    let rules = RuleSet::load(true, &[]);
    let tuning = Tuning::default();
    let lateness = Lateness::Bounded(SignedDuration::ZERO);
    let mut diagnostics = 0;
    let mut s = Stream::new(
        &rules,
        &tuning,
        lateness,
        Default::default(),
        true,
        Box::new(|_| diagnostics += 1),
    );
    let stop = record("2024-01-01T00:00:00Z", "StopInstances", "stop");
    s.lines("live.jsonl".into(), stop.as_bytes(), 0, 0, 7);
    let c = s.cycle();
    assert!(alerts(&c.emissions).is_empty());
    assert_eq!(s.figures().open_sequences, 1, "{:?}", s.figures());
    // The checkpoint holds where the followed file was left and the record that took state.
    assert_eq!(c.commit.streams.len(), 1);
    assert_eq!(c.commit.streams[0].1.offset, stop.len() as u64);
    assert_eq!(c.commit.streams[0].1.records, 1);
    assert_eq!(c.commit.records.len(), 1);
    assert!(c.commit.records[0].1.raw.contains("\"stop\""));

    let start = record("2024-01-01T00:12:00Z", "StartInstances", "start");
    s.lines(
        "live.jsonl".into(),
        start.as_bytes(),
        stop.len() as u64,
        1,
        7,
    );
    let c = s.cycle();
    assert_eq!(alerts(&c.emissions), ["aws-ec2-stop-then-start"]);
    assert_eq!(c.commit.streams[0].1.records, 2);
    assert_eq!(s.emitted(), (1, 0));
    drop(s);
    assert_eq!(diagnostics, 0);
}

#[test]
fn a_broken_line_is_a_located_diagnostic_and_the_rest_is_read() {
    let rules = RuleSet::load(true, &[]);
    let tuning = Tuning::default();
    let mut located = Vec::new();
    let mut s = Stream::new(
        &rules,
        &tuning,
        Lateness::Bounded(SignedDuration::from_mins(15)),
        Default::default(),
        false,
        Box::new(|d| located.push((d.file.to_string(), d.record, d.offset))),
    );
    let good = record("2024-01-01T00:00:00Z", "StopInstances", "stop");
    let body = format!("{good}{{\"eventTime\": broken\n");
    // A batch 1,000 bytes and 10 records into its file.
    s.lines("live.jsonl".into(), body.as_bytes(), 1000, 10, 7);
    let c = s.cycle();
    assert!(
        c.commit.records.is_empty(),
        "records are stored only when asked"
    );
    assert_eq!(s.summary().events, 1);
    drop(s);
    assert_eq!(
        located,
        [(
            "live.jsonl".to_string(),
            Some(11),
            Some(1000 + good.len() as u64)
        )]
    );
}

/// A cycle correlates again only the accounts whose state changed; the others keep what they
/// had: nothing is emitted again or retracted for them.
#[test]
fn an_account_left_alone_keeps_its_alerts_while_another_is_correlated_again() {
    let rules = RuleSet::load(true, &[]);
    let tuning = Tuning::default();
    let mut s = Stream::new(
        &rules,
        &tuning,
        Lateness::Bounded(SignedDuration::ZERO),
        Default::default(),
        false,
        Box::new(|_| {}),
    );
    let feed = |s: &mut Stream, account: &str, time: &str, name: &str, id: &str| {
        let line = record_in(account, time, name, id);
        s.read_bytes("live.jsonl", line.as_bytes(), 0, 0);
        s.cycle().emissions
    };
    let (a, b) = ("111122223333", "444455556666");
    feed(&mut s, a, "2024-01-01T00:00:00Z", "StopInstances", "a-stop");
    let e = feed(
        &mut s,
        a,
        "2024-01-01T00:10:00Z",
        "StartInstances",
        "a-start",
    );
    assert_eq!(alerts(&e), ["aws-ec2-stop-then-start"]);
    let e = feed(&mut s, b, "2024-01-01T00:20:00Z", "StopInstances", "b-stop");
    assert!(
        e.is_empty(),
        "account a is neither emitted again nor retracted"
    );
    assert_eq!(s.figures().open_sequences, 1);
    let e = feed(
        &mut s,
        b,
        "2024-01-01T00:25:00Z",
        "StartInstances",
        "b-start",
    );
    assert_eq!(alerts(&e), ["aws-ec2-stop-then-start"]);
    match &e[0] {
        Emission::Alert {
            alert, revision, ..
        } => {
            assert_eq!(alert.account, b);
            assert_eq!(*revision, 1);
        }
        other => panic!("{:?}", std::mem::discriminant(other)),
    }
    assert_eq!(s.emitted(), (2, 0));
}
