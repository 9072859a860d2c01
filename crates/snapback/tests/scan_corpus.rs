//! `snapback scan` over the public corpus in `../shared/corpus` (see its SOURCES.md).
//!
//! The corpus is real or vendor-published logs. It holds one real revert chain (Stratus Red
//! Team's `ec2-user-data`: StopInstances → ModifyInstanceAttribute → StartInstances of one
//! instance within 49 s) and otherwise benign or unrelated activity. Every alert it raises is
//! listed here with the reason it is right; any other alert fails the test.
//!
//! A fresh clone has no `../shared`: the test then says so on stderr and passes; in CI
//! (`CI` set) a missing corpus is a failure, because CI always has it.

use std::path::PathBuf;

use assert_cmd::Command;
use serde_json::Value;

fn corpus() -> Option<PathBuf> {
    let dir = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/corpus"
    ));
    if dir.is_dir() {
        return Some(dir);
    }
    if std::env::var_os("CI").is_some() {
        panic!("CI is set but the corpus is missing at {}", dir.display());
    }
    eprintln!(
        "\n*** scan_corpus DID NOT RUN: {} is missing (a fresh clone has no ../shared). ***\n",
        dir.display()
    );
    None
}

/// (rule name, an entity id, the corpus file, why the alert is right)
const EXPECTED: &[(&str, &str, &str, &str)] = &[
    (
        "aws-ec2-stop-then-start",
        "i-DDd6c7B0e18F0E35f",
        "stratus-red-team-detonation-logs/docs/detonation-logs/aws.execution.ec2-user-data.json",
        "Stratus detonation: the instance is stopped, its user data rewritten and started again \
         within 49 s; the stop/start wipes instance-store volumes (the seed's test 1 signal), and \
         the user data rewritten in between escalates it to critical (issue 18)",
    ),
    (
        "aws-rds-restore",
        "test-instance",
        "panther-analysis-tests/aws_cloudtrail.jsonl",
        "Panther's 'AWS Public RDS Restore' test case: a successful RestoreDBInstanceFromDBSnapshot \
         is a single-call revert of a database to a snapshot",
    ),
    (
        "aws-rds-restore",
        "test-cloudtrail-event-instance-31611-restored",
        "elastic-integrations/aws_cloudtrail/test-restore-db-instnace-from-snapshot-json.log",
        "Elastic's fixture of a real RestoreDBInstanceFromDBSnapshot: a DB instance restored \
         from a snapshot",
    ),
];

#[test]
fn corpus_alerts_are_exactly_the_listed_ones() {
    let Some(dir) = corpus() else { return };
    let out = Command::cargo_bin("snapback")
        .unwrap()
        .args(["scan", "--quiet", "--show-suppressed", "--format", "jsonl"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let alerts: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let mut unexplained = Vec::new();
    let mut found = vec![false; EXPECTED.len()];
    for a in &alerts {
        let rule = a["rule_name"].as_str().unwrap_or("");
        let entities: Vec<&str> = a["entities"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|e| e["id"].as_str())
            .collect();
        let files: Vec<&str> = a["evidence"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|e| e["file"].as_str())
            .collect();
        let hit = EXPECTED.iter().position(|(r, entity, file, _)| {
            *r == rule && entities.contains(entity) && files.iter().any(|f| f.ends_with(file))
        });
        match hit {
            Some(i) => found[i] = true,
            None => unexplained.push(format!("{rule} {entities:?} {files:?}")),
        }
    }
    assert!(
        unexplained.is_empty(),
        "alerts on the corpus that no reason covers:\n{}",
        unexplained.join("\n")
    );
    for (i, ok) in found.iter().enumerate() {
        assert!(ok, "expected alert missing: {:?}", EXPECTED[i]);
    }
}

#[test]
fn the_real_stop_start_chain_is_ordered_by_event_time_although_stored_newest_first() {
    let Some(dir) = corpus() else { return };
    let file = dir.join(
        "stratus-red-team-detonation-logs/docs/detonation-logs/aws.execution.ec2-user-data.json",
    );
    let out = Command::cargo_bin("snapback")
        .unwrap()
        .args(["scan", "--format", "jsonl"])
        .arg(&file)
        .output()
        .unwrap();
    let alerts: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(alerts.len(), 1);
    let a = &alerts[0];
    assert_eq!(a["first_seen"], "2024-08-01T12:03:30Z");
    let ops: Vec<(&str, &str)> = a["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["role"].as_str().unwrap(),
                e["operation"].as_str().unwrap(),
            )
        })
        .collect();
    // The user data rewritten between the stop and the start is the kill chain's precursor.
    assert_eq!(
        ops,
        [
            ("revert", "StopInstances"),
            ("precursor", "ModifyInstanceAttribute"),
            ("revert", "StartInstances")
        ]
    );
    assert_eq!(a["escalated"], true);
    assert_eq!(a["severity"], "critical");
}

#[test]
fn sigmahq_rules_give_the_same_alerts_with_the_prefilter_on_and_off() {
    let Some(dir) = corpus() else { return };
    let sigmahq = dir.join("../sigmahq-cloud");
    if !sigmahq.is_dir() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but ../shared/sigmahq-cloud is missing"
        );
        eprintln!(
            "\n*** SigmaHQ prefilter comparison DID NOT RUN: no ../shared/sigmahq-cloud ***\n"
        );
        return;
    }
    let run = |prefilter: bool| {
        let mut cmd = Command::cargo_bin("snapback").unwrap();
        cmd.args(["scan", "--quiet", "--show-suppressed", "--format", "jsonl"])
            .arg("--rules")
            .arg(&sigmahq)
            .arg(&dir);
        if !prefilter {
            cmd.env("SNAPBACK_NO_PREFILTER", "1");
        }
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        (
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    };
    let (on, on_summary) = run(true);
    let (off, _) = run(false);
    assert!(
        on.lines().count() > 10,
        "SigmaHQ's rules raised too few alerts"
    );
    assert_eq!(
        on, off,
        "the prefilter changed what SigmaHQ's rules alert on"
    );
    // And it did skip records: SigmaHQ's rules no longer turn it off.
    assert!(
        on_summary.contains("records not parsed"),
        "the prefilter skipped nothing: {on_summary}"
    );
}
