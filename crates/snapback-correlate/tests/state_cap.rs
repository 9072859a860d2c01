//! The correlation state is capped: many distinct instances, each stopped and never started
//! again, open one sequence each; beyond `max_open_sequences` the oldest are evicted and
//! counted, and a chain that completes within the cap still alerts.

use std::time::Instant;

use serde_json::json;
use snapback_correlate::{DetectOptions, Detector, Tuning};
use snapback_ingest::{decode_record, Decoded, Event, Provenance};
use snapback_rules::RuleSet;

fn stop_or_start(name: &str, second: u64, instance: &str, id: u64) -> Event {
    let v = json!({
        "eventVersion": "1.08",
        "eventTime": format!("2026-11-20T{:02}:{:02}:{:02}Z", 9 + second / 3600, (second / 60) % 60, second % 60),
        "eventSource": "ec2.amazonaws.com",
        "eventName": name,
        "awsRegion": "us-east-1",
        "recipientAccountId": "111122223333",
        "userIdentity": {"type": "AssumedRole", "arn": "arn:aws:sts::111122223333:assumed-role/admin/eve"},
        "requestParameters": {"instancesSet": {"items": [{"instanceId": instance}]}},
        "eventID": format!("id-{id}"),
    });
    let prov = Provenance {
        file: "state.json".into(),
        record: id,
        offset: 0,
    };
    match decode_record(v, &prov).pop() {
        Some(Decoded::Event(e)) => *e,
        other => panic!("did not decode: {other:?}"),
    }
}

#[test]
fn open_sequences_beyond_the_cap_are_evicted_and_counted() {
    evicts(5_000, 500);
}

/// Many more distinct instances than the cap: eviction is amortised (it evicts down to 90% of
/// the cap), so this stays fast. The million instances is measured by the benchmark
/// harness, not here: the offline detector keeps every matched event until `finish`, so its
/// memory grows with the number of matched events (benches/NOTES.md).
#[test]
fn fifty_thousand_distinct_instances_with_a_cap_of_two_thousand() {
    evicts(50_000, 2_000);
}

fn evicts(distinct: u64, cap: usize) {
    let rules = RuleSet::builtin();
    let tuning = Tuning::default();
    let mut d = Detector::new(
        &rules,
        &tuning,
        DetectOptions {
            max_open_sequences: cap,
            ..DetectOptions::default()
        },
    );
    let started = Instant::now();
    // Stops of `distinct` instances over 40 minutes, none started again...
    for i in 0..distinct {
        d.observe(stop_or_start(
            "StopInstances",
            i * 2400 / distinct,
            &format!("i-{i:017x}"),
            i,
        ));
    }
    // ...and one instance stopped and started at the end, well inside the cap.
    d.observe(stop_or_start(
        "StopInstances",
        2500,
        "i-0ffffffffffffffff",
        distinct,
    ));
    d.observe(stop_or_start(
        "StartInstances",
        2600,
        "i-0ffffffffffffffff",
        distinct + 1,
    ));
    let report = d.finish();
    let elapsed = started.elapsed();
    eprintln!(
        "{distinct} instances, cap {cap}: {} sequences opened, {} evicted, {} alerts in {elapsed:?}",
        report.stats.sequences_opened, report.stats.sequences_evicted, report.stats.alerts
    );
    assert!(report.stats.sequences_evicted >= distinct - cap as u64);
    assert!(report
        .alerts
        .iter()
        .any(|a| a.entities.iter().any(|e| e.id == "i-0ffffffffffffffff")));
}
