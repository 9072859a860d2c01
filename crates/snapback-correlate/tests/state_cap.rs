//! The correlation state is capped: many distinct instances, each stopped and never started
//! again, open one sequence each; beyond `max_open_sequences` the oldest are evicted and
//! counted, and a chain that completes within the cap still alerts. The same holds for the
//! matched events retained until `finish` (`max_retained_events`) and for the remembered
//! outcomes of multi-record operations (`max_operations`). None of these tests is timed: the
//! million-instance run is measured by the benchmark harness (benches/).

use std::time::Instant;

use serde_json::{json, Value};
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
    decoded(v, "state.json", id)
}

/// The event of one raw record, as record `id` of `file`.
fn decoded(v: Value, file: &str, id: u64) -> Event {
    let prov = Provenance {
        file: file.into(),
        record: id,
        offset: 0,
    };
    match decode_record(v, &prov).pop() {
        Some(Decoded::Event(e)) => *e,
        other => panic!("did not decode: {other:?}"),
    }
}

/// A detector over the built-in pack and default tuning with these options. The rules and the
/// tuning are leaked, so that the detector can outlive this call (a few per test run).
fn detector(options: DetectOptions) -> Detector<'static> {
    let rules: &'static RuleSet = Box::leak(Box::new(RuleSet::builtin()));
    let tuning: &'static Tuning = Box::leak(Box::new(Tuning::default()));
    Detector::new(rules, tuning, options)
}

#[test]
fn open_sequences_beyond_the_cap_are_evicted_and_counted() {
    evicts(5_000, 500);
}

/// Many more distinct instances than the cap: eviction is amortised (it evicts down to 90% of
/// the cap), so this stays fast. The million instances is measured by the benchmark
/// harness (`benches/harness.py --only million`), not here.
#[test]
fn fifty_thousand_distinct_instances_with_a_cap_of_two_thousand() {
    evicts(50_000, 2_000);
}

fn evicts(distinct: u64, cap: usize) {
    let mut d = detector(DetectOptions {
        max_open_sequences: cap,
        ..DetectOptions::default()
    });
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

/// Matched events beyond `max_retained_events` are evicted, oldest first, and counted; the
/// retained count never exceeds the cap; a chain inside the cap still alerts.
#[test]
fn matched_events_beyond_the_cap_are_evicted_and_counted() {
    let cap = 1_000;
    let mut d = detector(DetectOptions {
        max_retained_events: cap,
        ..DetectOptions::default()
    });
    let distinct = 5_000;
    for i in 0..distinct {
        d.observe(stop_or_start(
            "StopInstances",
            i * 2400 / distinct,
            &format!("i-{i:017x}"),
            i,
        ));
        assert!(
            d.retained_events() <= cap,
            "{} > {cap}",
            d.retained_events()
        );
    }
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
    assert!(d.retained_events() <= cap);
    let report = d.finish();
    assert_eq!(report.stats.events_matched, distinct + 2);
    assert!(report.stats.events_evicted >= distinct + 2 - cap as u64);
    assert!(report.stats.events_evicted <= distinct + 2 - (cap - cap / 10) as u64);
    assert!(report
        .alerts
        .iter()
        .any(|a| a.entities.iter().any(|e| e.id == "i-0ffffffffffffffff")));
}

/// Chains whose events are evicted before the end are still reported: before the oldest
/// events go, the alerts they take part in are found from everything retained then. With a
/// cap far below the input, the alerts are those of an uncapped run.
#[test]
fn chains_evicted_before_the_end_still_alert() {
    let run = |cap: usize| {
        let mut d = detector(DetectOptions {
            max_retained_events: cap,
            ..DetectOptions::default()
        });
        let distinct = 5_000u64;
        let mut id = distinct;
        for i in 0..distinct {
            let second = i * 2400 / distinct;
            d.observe(stop_or_start(
                "StopInstances",
                second,
                &format!("i-{i:017x}"),
                i,
            ));
            // A stop and a start a minute apart on one instance, five times over the input.
            if i % 1000 == 500 {
                let chain = format!("i-0c{i:015x}");
                id += 2;
                d.observe(stop_or_start("StopInstances", second, &chain, id));
                d.observe(stop_or_start("StartInstances", second + 60, &chain, id + 1));
            }
        }
        let report = d.finish();
        let mut ids: Vec<String> = report.alerts.iter().map(|a| a.alert_id.clone()).collect();
        ids.sort();
        let chains = report
            .alerts
            .iter()
            .filter(|a| a.entities.iter().any(|e| e.id.starts_with("i-0c")))
            .count();
        (ids, chains, report.stats.events_evicted)
    };
    let (capped, chains, evicted) = run(400);
    let (uncapped, all_chains, none) = run(1_000_000);
    assert_eq!(none, 0);
    assert!(evicted > 4_000, "{evicted} evicted");
    assert_eq!(all_chains, 5);
    assert_eq!(chains, 5, "chains alerted with the cap");
    assert_eq!(capped, uncapped);
}

/// Under the caps, nothing is evicted and a duplicate still counts once; an evicted event is
/// forgotten whole (its id too), so only the state held is deduplicated.
#[test]
fn under_the_caps_nothing_is_evicted_and_duplicates_count_once() {
    let mut d = detector(DetectOptions::default());
    for i in 0..100 {
        d.observe(stop_or_start("StopInstances", i, &format!("i-{i:017x}"), i));
    }
    d.observe(stop_or_start("StopInstances", 5, "i-00000000000000005", 5));
    let report = d.finish();
    assert_eq!(report.stats.duplicates, 1);
    assert_eq!(report.stats.events_evicted, 0);
    assert_eq!(report.stats.operations_evicted, 0);
}

fn azure(op: &str, status: &str, second: u64, correlation: &str, id: u64) -> Event {
    let vm = format!(
        "/subscriptions/0e5abb13-2bf7-46dd-91da-26ed94d6c60f/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm-{correlation}"
    );
    let v: Value = json!({
        "time": format!("2026-11-20T{:02}:{:02}:{:02}.0000000Z", 9 + second / 3600, (second / 60) % 60, second % 60),
        "resourceId": vm,
        "operationName": op,
        "category": "Administrative",
        "resultType": status,
        "resultSignature": status,
        "level": "Information",
        "correlationId": correlation,
        "callerIpAddress": "198.51.100.7",
        "identity": {"claims": {"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn": "eve@example.com"}},
        "properties": {"eventCategory": "Administrative", "entity": vm},
    });
    decoded(v, "azure.json", id)
}

/// Operations beyond `max_operations` are forgotten, oldest first, and counted; the number
/// remembered never exceeds the cap.
#[test]
fn operations_beyond_the_cap_are_evicted_and_counted() {
    let cap = 500;
    let mut d = detector(DetectOptions {
        max_operations: cap,
        ..DetectOptions::default()
    });
    let distinct = 3_000u64;
    for i in 0..distinct {
        let correlation = format!("00000000-0000-0000-0000-{i:012x}");
        for (k, status) in ["Start", "Success"].into_iter().enumerate() {
            d.observe(azure(
                "MICROSOFT.COMPUTE/VIRTUALMACHINES/WRITE",
                status,
                i * 2400 / distinct,
                &correlation,
                2 * i + k as u64,
            ));
            assert!(d.remembered_operations() <= cap);
        }
    }
    let report = d.finish();
    assert!(report.stats.operations_evicted >= distinct - cap as u64);
    assert!(report.stats.operations_evicted <= distinct - (cap - cap / 10) as u64);
    assert_eq!(report.stats.events_evicted, 0);
}
