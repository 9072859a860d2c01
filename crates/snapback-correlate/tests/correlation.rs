//! Correlation semantics with explicit times: window edges, late and reversed events,
//! duplicates, fan-out over arrays, failed calls and dry runs, kill-chain escalation and
//! suppression. Each test writes the events it needs; times are given, never taken from a clock.

use std::path::Path;

use serde_json::{json, Value};
use snapback_correlate::{Alert, DetectOptions, Detector, Severity, Tuning};
use snapback_ingest::{decode_record, Decoded, Event, Provenance};
use snapback_rules::RuleSet;

const RULES: &str = r#"
title: Test stop
id: 6f0c3f8e-0000-4000-8000-000000000001
name: t_stop
status: test
logsource: {product: aws, service: cloudtrail}
detection:
  sel:
    eventName: StopInstances
  condition: sel
level: low
snapback:
  role: step
  risk: 10
  risk_reason: a stop alone is routine
---
title: Test start
id: 6f0c3f8e-0000-4000-8000-000000000002
name: t_start
status: test
logsource: {product: aws, service: cloudtrail}
detection:
  sel:
    eventName: StartInstances
  condition: sel
level: low
snapback:
  role: step
  risk: 10
  risk_reason: a start alone is routine
---
title: Test snapshot shared
id: 6f0c3f8e-0000-4000-8000-000000000003
name: t_share
status: test
logsource: {product: aws, service: cloudtrail}
detection:
  sel:
    eventName: ModifySnapshotAttribute
  condition: sel
level: medium
tags:
  - attack.exfiltration
  - attack.t1537
snapback:
  role: precursor
  risk: 40
  risk_reason: sharing a snapshot copies the disk out
---
title: Test stop then start
id: 6f0c3f8e-0000-4000-8000-000000000004
name: t_stop_start
status: test
correlation:
  type: temporal_ordered
  rules:
    - t_stop
    - t_start
  group-by:
    - instance
  timespan: 1h
  aliases:
    instance:
      t_stop: requestParameters.instancesSet.items.instanceId
      t_start: requestParameters.instancesSet.items.instanceId
level: high
tags:
  - attack.defense-evasion
  - attack.t1578.004
snapback:
  role: revert
  risk: 70
  risk_reason: a stop and start wipes instance-store volumes
"#;

const FILTER: &str = r#"
title: Test automation
id: 6f0c3f8e-0000-4000-8000-000000000005
name: t_filter
description: the scheduler role starts and stops instances every night
logsource: {product: aws, service: cloudtrail}
filter:
  rules:
    - t_stop
    - t_start
    - t_stop_start
  selection:
    userIdentity.arn|contains: assumed-role/nightly-scheduler/
  condition: not selection
"#;

fn rules(extra: &[&str]) -> RuleSet {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("pack.yml"), RULES).unwrap();
    for (i, text) in extra.iter().enumerate() {
        std::fs::write(dir.path().join(format!("extra{i}.yml")), text).unwrap();
    }
    let set = RuleSet::load(false, &[dir.path().to_path_buf()]);
    assert!(
        set.problems.is_empty(),
        "rules did not load: {:?}",
        set.problems.iter().map(|p| &p.message).collect::<Vec<_>>()
    );
    set
}

/// A CloudTrail EC2 call on some instances at a time, by a principal.
fn call(name: &str, time: &str, ids: &[&str], id: &str) -> Value {
    let items: Vec<Value> = ids.iter().map(|i| json!({"instanceId": i})).collect();
    json!({
        "eventVersion": "1.08",
        "eventTime": time,
        "eventSource": "ec2.amazonaws.com",
        "eventName": name,
        "awsRegion": "us-east-1",
        "recipientAccountId": "111122223333",
        "sourceIPAddress": "203.0.113.7",
        "userAgent": "aws-cli/2.15.0",
        "userIdentity": {"type": "AssumedRole", "arn": "arn:aws:sts::111122223333:assumed-role/admin/eve", "accountId": "111122223333"},
        "requestParameters": {"instancesSet": {"items": items}},
        "responseElements": {"instancesSet": {"items": items}},
        "eventID": id,
    })
}

fn with(mut v: Value, key: &str, val: Value) -> Value {
    v.as_object_mut().unwrap().insert(key.into(), val);
    v
}

fn event(v: Value, file: &str, record: u64) -> Event {
    let prov = Provenance {
        file: file.into(),
        record,
        offset: 0,
    };
    match decode_record(v, &prov).pop() {
        Some(Decoded::Event(e)) => *e,
        other => panic!("fixture did not decode: {other:?}"),
    }
}

fn detect(rules: &RuleSet, records: Vec<Value>) -> Vec<Alert> {
    let tuning = Tuning::default();
    detect_with(rules, &tuning, records)
}

fn detect_with(rules: &RuleSet, tuning: &Tuning, records: Vec<Value>) -> Vec<Alert> {
    let mut d = Detector::new(rules, tuning, DetectOptions::default());
    for (i, r) in records.into_iter().enumerate() {
        d.observe(event(r, "fixture.json", i as u64));
    }
    d.finish().alerts
}

fn active(alerts: &[Alert]) -> Vec<&Alert> {
    alerts.iter().filter(|a| a.suppressed.is_none()).collect()
}

fn instances(a: &Alert) -> Vec<&str> {
    a.entities.iter().map(|e| e.id.as_str()).collect()
}

#[test]
fn stop_then_start_of_one_instance_alerts_once() {
    let r = rules(&[]);
    let alerts = detect(
        &r,
        vec![
            call("StopInstances", "2026-01-01T10:00:00Z", &["i-1"], "e1"),
            call("StartInstances", "2026-01-01T10:05:00Z", &["i-1"], "e2"),
        ],
    );
    let a = active(&alerts);
    assert_eq!(a.len(), 1);
    assert_eq!(a[0].rule_name.as_deref(), Some("t_stop_start"));
    assert_eq!(a[0].risk_score, 70);
    assert_eq!(a[0].severity, Severity::High);
    assert_eq!(instances(a[0]), ["i-1"]);
    assert_eq!(a[0].first_seen, "2026-01-01T10:00:00Z");
    assert_eq!(a[0].last_seen, "2026-01-01T10:05:00Z");
    let ops: Vec<&str> = a[0].evidence.iter().map(|e| e.operation.as_str()).collect();
    assert_eq!(ops, ["StopInstances", "StartInstances"]);
    assert_eq!(a[0].attack, ["T1578.004"]);
}

#[test]
fn window_is_inclusive_at_its_end_and_measured_from_the_first_event() {
    let r = rules(&[]);
    let at_edge = detect(
        &r,
        vec![
            call("StopInstances", "2026-01-01T10:00:00Z", &["i-1"], "e1"),
            call("StartInstances", "2026-01-01T11:00:00Z", &["i-1"], "e2"),
        ],
    );
    assert_eq!(
        active(&at_edge).len(),
        1,
        "a start exactly one hour later is inside"
    );
    let past_edge = detect(
        &r,
        vec![
            call("StopInstances", "2026-01-01T10:00:00Z", &["i-1"], "e1"),
            call("StartInstances", "2026-01-01T11:00:00.001Z", &["i-1"], "e2"),
        ],
    );
    assert!(
        active(&past_edge).is_empty(),
        "one millisecond past the hour is outside"
    );
}

#[test]
fn late_event_in_an_earlier_file_still_correlates_by_event_time() {
    let r = rules(&[]);
    // The start is delivered first (earlier record), the stop later: order is event time.
    let alerts = detect(
        &r,
        vec![
            call("StartInstances", "2026-01-01T10:05:00Z", &["i-1"], "e2"),
            call("StopInstances", "2026-01-01T10:00:00Z", &["i-1"], "e1"),
        ],
    );
    assert_eq!(active(&alerts).len(), 1);
}

#[test]
fn start_before_stop_is_not_a_wipe_cycle() {
    let r = rules(&[]);
    let alerts = detect(
        &r,
        vec![
            call("StartInstances", "2026-01-01T09:55:00Z", &["i-1"], "e2"),
            call("StopInstances", "2026-01-01T10:00:00Z", &["i-1"], "e1"),
        ],
    );
    assert!(active(&alerts).is_empty());
}

#[test]
fn duplicate_delivery_counts_once() {
    let r = rules(&[]);
    let stop = call("StopInstances", "2026-01-01T10:00:00Z", &["i-1"], "e1");
    let start = call("StartInstances", "2026-01-01T10:05:00Z", &["i-1"], "e2");
    let alerts = detect(&r, vec![stop.clone(), start.clone(), stop, start]);
    assert_eq!(active(&alerts).len(), 1);
    assert_eq!(alerts[0].evidence.len(), 2);
}

#[test]
fn a_call_on_three_instances_opens_three_sequences() {
    let r = rules(&[]);
    let alerts = detect(
        &r,
        vec![
            call(
                "StopInstances",
                "2026-01-01T10:00:00Z",
                &["i-1", "i-2", "i-3"],
                "e1",
            ),
            call(
                "StartInstances",
                "2026-01-01T10:05:00Z",
                &["i-1", "i-3"],
                "e2",
            ),
        ],
    );
    let a = active(&alerts);
    assert_eq!(a.len(), 2);
    let mut ids: Vec<String> = a.iter().map(|x| x.alert_id.clone()).collect();
    ids.dedup();
    assert_eq!(ids.len(), 2, "each instance's sequence is its own alert");
}

#[test]
fn failed_calls_and_dry_runs_never_complete_a_sequence() {
    let r = rules(&[]);
    let failed_start = with(
        call("StartInstances", "2026-01-01T10:05:00Z", &["i-1"], "e2"),
        "errorCode",
        json!("Client.UnauthorizedOperation"),
    );
    let alerts = detect(
        &r,
        vec![
            call("StopInstances", "2026-01-01T10:00:00Z", &["i-1"], "e1"),
            failed_start,
        ],
    );
    assert!(active(&alerts).is_empty());
    let dry_stop = with(
        call("StopInstances", "2026-01-01T10:00:00Z", &["i-1"], "e1"),
        "errorCode",
        json!("Client.DryRunOperation"),
    );
    let alerts = detect(
        &r,
        vec![
            dry_stop,
            call("StartInstances", "2026-01-01T10:05:00Z", &["i-1"], "e2"),
        ],
    );
    assert!(active(&alerts).is_empty());
}

#[test]
fn alert_ids_are_stable_whatever_the_input_order() {
    let r = rules(&[]);
    let a = detect(
        &r,
        vec![
            call("StopInstances", "2026-01-01T10:00:00Z", &["i-1"], "e1"),
            call("StartInstances", "2026-01-01T10:05:00Z", &["i-1"], "e2"),
        ],
    );
    let b = detect(
        &r,
        vec![
            call("StartInstances", "2026-01-01T10:05:00Z", &["i-1"], "e2"),
            call("StopInstances", "2026-01-01T10:00:00Z", &["i-1"], "e1"),
        ],
    );
    assert_eq!(a[0].alert_id, b[0].alert_id);
}

#[test]
fn a_precursor_on_the_same_principal_within_24h_escalates_to_critical() {
    let r = rules(&[]);
    let share = json!({
        "eventVersion": "1.08", "eventTime": "2025-12-31T12:00:00Z", "eventSource": "ec2.amazonaws.com",
        "eventName": "ModifySnapshotAttribute", "awsRegion": "us-east-1", "recipientAccountId": "111122223333",
        "userIdentity": {"type": "AssumedRole", "arn": "arn:aws:sts::111122223333:assumed-role/admin/eve"},
        "requestParameters": {"snapshotId": "snap-1", "attributeType": "CREATE_VOLUME_PERMISSION",
            "createVolumePermission": {"add": {"items": [{"userId": "999988887777"}]}}},
        "eventID": "p1"
    });
    let alerts = detect(
        &r,
        vec![
            share.clone(),
            call("StopInstances", "2026-01-01T10:00:00Z", &["i-1"], "e1"),
            call("StartInstances", "2026-01-01T10:05:00Z", &["i-1"], "e2"),
        ],
    );
    let a = active(&alerts);
    assert_eq!(a.len(), 1);
    assert!(a[0].escalated);
    assert_eq!(a[0].severity, Severity::Critical);
    assert!(a[0].risk_score >= 90);
    assert_eq!(a[0].evidence[0].operation, "ModifySnapshotAttribute");
    assert!(a[0].attack.contains(&"T1537".to_owned()));
    // 25 hours before: too old to escalate.
    let old = with(share, "eventTime", json!("2025-12-31T09:00:00Z"));
    let alerts = detect(
        &r,
        vec![
            old,
            call("StopInstances", "2026-01-01T10:00:00Z", &["i-1"], "e1"),
            call("StartInstances", "2026-01-01T10:05:00Z", &["i-1"], "e2"),
        ],
    );
    assert!(!active(&alerts)[0].escalated);
}

#[test]
fn a_filter_suppresses_automation_and_keeps_the_alert_with_its_reason() {
    let r = rules(&[FILTER]);
    let bot = json!({"type": "AssumedRole", "arn": "arn:aws:sts::111122223333:assumed-role/nightly-scheduler/run"});
    let alerts = detect(
        &r,
        vec![
            with(
                call("StopInstances", "2026-01-01T10:00:00Z", &["i-1"], "e1"),
                "userIdentity",
                bot.clone(),
            ),
            with(
                call("StartInstances", "2026-01-01T10:05:00Z", &["i-1"], "e2"),
                "userIdentity",
                bot,
            ),
        ],
    );
    assert_eq!(alerts.len(), 1);
    let s = alerts[0].suppressed.as_ref().expect("suppressed");
    assert!(s.by.starts_with("filter:"));
    assert!(s.reason.contains("scheduler"));
    // A human doing the same is not suppressed.
    let alerts = detect(
        &r,
        vec![
            call("StopInstances", "2026-01-01T10:00:00Z", &["i-1"], "e1"),
            call("StartInstances", "2026-01-01T10:05:00Z", &["i-1"], "e2"),
        ],
    );
    assert_eq!(active(&alerts).len(), 1);
}

#[test]
fn config_allowlists_maintenance_windows_and_risk_overrides() {
    let r = rules(&[]);
    let records = || {
        vec![
            call("StopInstances", "2026-01-01T10:00:00Z", &["i-1"], "e1"),
            call("StartInstances", "2026-01-01T10:05:00Z", &["i-1"], "e2"),
        ]
    };
    let allow = Tuning::from_toml("[[allow]]\nreason = \"eve runs DR drills\"\nprincipals = [\"arn:aws:sts::*:assumed-role/admin/*\"]\nsource_cidrs = [\"203.0.113.0/24\"]\n").unwrap();
    let alerts = detect_with(&r, &allow, records());
    assert_eq!(
        alerts[0].suppressed.as_ref().unwrap().reason,
        "eve runs DR drills"
    );
    let other_net =
        Tuning::from_toml("[[allow]]\nreason = \"x\"\nsource_cidrs = [\"10.0.0.0/8\"]\n").unwrap();
    assert!(detect_with(&r, &other_net, records())[0]
        .suppressed
        .is_none());
    let window = Tuning::from_toml("[[maintenance]]\nreason = \"patching\"\nstart = \"2026-01-01T09:00:00Z\"\nend = \"2026-01-01T11:00:00Z\"\n").unwrap();
    assert_eq!(
        detect_with(&r, &window, records())[0]
            .suppressed
            .as_ref()
            .unwrap()
            .by,
        "maintenance[0]"
    );
    let risk = Tuning::from_toml("[risk]\nt_stop_start = 35\n").unwrap();
    let a = detect_with(&r, &risk, records());
    assert_eq!(a[0].risk_score, 35);
    assert_eq!(a[0].severity, Severity::Low);
    assert!(Tuning::from_toml("[risk]\nt_stop_start = 135\n").is_err());
    // State caps: applied over the defaults; too small, or unknown, is an error.
    let caps = Tuning::from_toml("[state]\nmax_retained_events = 5000\n").unwrap();
    let o = caps.detect_options(DetectOptions::default());
    assert_eq!(o.max_retained_events, 5000);
    assert_eq!(
        o.max_open_sequences,
        DetectOptions::default().max_open_sequences
    );
    assert!(Tuning::from_toml("[state]\nmax_operations = 3\n").is_err());
    assert!(Tuning::from_toml("[state]\nmax_events = 3000\n").is_err());
    assert!(
        Tuning::from_toml("[[allow]]\nreason = \"x\"\nsource_cidrs = [\"not-an-ip\"]\n").is_err()
    );
}

#[allow(dead_code)]
fn _unused(_: &Path) {}

const OVERLAP: &str = r#"
title: Test stop then start, seen by a second rule
id: 6f0c3f8e-0000-4000-8000-000000000006
name: t_stop_start_broad
status: test
correlation:
  type: temporal_ordered
  rules:
    - t_stop
    - t_start
  group-by:
    - instance
  timespan: 6h
  aliases:
    instance:
      t_stop: requestParameters.instancesSet.items.instanceId
      t_start: requestParameters.instancesSet.items.instanceId
level: medium
snapback:
  role: revert
  risk: 30
  risk_reason: a broader window
"#;

#[test]
fn two_rules_over_the_same_act_make_one_alert_named_by_the_higher_risk_rule() {
    let r = rules(&[OVERLAP]);
    let alerts = detect(
        &r,
        vec![
            call("StopInstances", "2026-01-01T10:00:00Z", &["i-1"], "e1"),
            call("StartInstances", "2026-01-01T10:05:00Z", &["i-1"], "e2"),
        ],
    );
    let a = active(&alerts);
    assert_eq!(a.len(), 1, "one act, one alert");
    assert_eq!(a[0].rule_name.as_deref(), Some("t_stop_start"));
    assert!(a[0]
        .risk_reasons
        .iter()
        .any(|r| r.contains("t_stop_start_broad") && r.contains("merged")));
    // Different instances are different acts, even over the same two calls.
    let alerts = detect(
        &r,
        vec![
            call(
                "StopInstances",
                "2026-01-01T10:00:00Z",
                &["i-1", "i-2"],
                "e1",
            ),
            call(
                "StartInstances",
                "2026-01-01T10:05:00Z",
                &["i-1", "i-2"],
                "e2",
            ),
        ],
    );
    assert_eq!(active(&alerts).len(), 2);
}

#[test]
fn evidence_is_in_event_time_order_whatever_the_precision_of_the_times() {
    // As text, "10:00:00.5Z" sorts before "10:00:00Z"; as time it is after.
    let r = rules(&[]);
    let alerts = detect(
        &r,
        vec![
            call("StartInstances", "2026-01-01T10:00:00.5Z", &["i-1"], "e2"),
            call("StopInstances", "2026-01-01T10:00:00Z", &["i-1"], "e1"),
        ],
    );
    let a = active(&alerts);
    assert_eq!(a.len(), 1);
    let ops: Vec<&str> = a[0].evidence.iter().map(|e| e.operation.as_str()).collect();
    assert_eq!(ops, ["StopInstances", "StartInstances"]);
}
