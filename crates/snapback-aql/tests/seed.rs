//! The seed's QRadar query, verbatim, over fixture events with hand-computed answers.
//!
//! Fixture `seed-events.jsonl` (now = newest event = 12:00Z, so LAST 1 HOURS is 11:00–12:00):
//! az-1 Azure SNAPSHOTS/DELETE alice 11:30 · az-2 Azure LISTKEYS AzureAutomationAcct 11:40 ·
//! ct-3 DeleteSnapshot bob 11:45 · ct-4 RunInstances backup-service-x 11:50 ·
//! ct-5 CreateSnapshot carol 11:55 · GCP instances.stop dave 11:58 · ct-7 StopInstances 10:30
//! (outside the hour) · ct-8 GetCallerIdentity eve 12:00 · az-9 Azure DISKS/WRITE with no caller
//! 11:35 · ct-10 CreateSnapshot frank, failed, 11:52.

mod common;
use common::*;
use snapback_aql::{lint, LintOptions, Precedence};

fn seed() -> String {
    std::fs::read_to_string(format!("{FIXTURES}/seed-query.aql")).expect("seed query fixture")
}

const HEADER: [&str; 8] = [
    "EventTime",
    "username",
    "CloudOperation",
    "CloudResource",
    "ResourceGroup",
    "SubscriptionId",
    "RiskScore",
    "AlertType",
];

#[test]
fn seed_parses_with_its_columns_in_order() {
    let q = snapback_aql::parse(&seed()).expect("seed parses");
    assert_eq!(snapback_aql::column_names(&q), HEADER);
}

#[test]
fn seed_rows_under_both_precedences() {
    gives_both(
        &seed(),
        "seed-events.jsonl",
        // SQL: A OR (B AND C AND D AND E): every Azure event passes, whatever its operation and
        // caller, including the automation account (az-2) and the caller-less az-9.
        &[
            "2026-11-20 11:30:00 | alice@x.example | MICROSOFT.COMPUTE/SNAPSHOTS/DELETE | MICROSOFT.COMPUTE/SNAPSHOTS | RG-PROD | SUB1 | 90 | Cloud Resource Deletion",
            "2026-11-20 11:45:00 | bob | DeleteSnapshot | ec2.amazonaws.com | NULL | 111122223333 | 90 | Cloud Resource Deletion",
            "2026-11-20 11:55:00 | carol | CreateSnapshot | ec2.amazonaws.com | NULL | 111122223333 | 70 | Snapshot Operation",
            "2026-11-20 11:35:00 | NULL | MICROSOFT.COMPUTE/DISKS/WRITE | MICROSOFT.COMPUTE/DISKS | RG-PROD | SUB1 | 40 | Cloud Modification",
            "2026-11-20 11:40:00 | AzureAutomationAcct | MICROSOFT.STORAGE/STORAGEACCOUNTS/LISTKEYS/ACTION | MICROSOFT.STORAGE/STORAGEACCOUNTS | RG-OPS | SUB1 | 40 | Cloud Modification",
            "2026-11-20 11:52:00 | frank | CreateSnapshot | ec2.amazonaws.com | NULL | 111122223333 | 40 | Snapshot Operation",
        ],
        // Left to right: (A OR B) AND C AND D AND E: the operation filter and the exclusions
        // apply to Azure too; az-9 has no username, so `username NOT ILIKE` is UNKNOWN: dropped.
        &[
            "2026-11-20 11:30:00 | alice@x.example | MICROSOFT.COMPUTE/SNAPSHOTS/DELETE | MICROSOFT.COMPUTE/SNAPSHOTS | RG-PROD | SUB1 | 90 | Cloud Resource Deletion",
            "2026-11-20 11:45:00 | bob | DeleteSnapshot | ec2.amazonaws.com | NULL | 111122223333 | 90 | Cloud Resource Deletion",
            "2026-11-20 11:55:00 | carol | CreateSnapshot | ec2.amazonaws.com | NULL | 111122223333 | 70 | Snapshot Operation",
            "2026-11-20 11:52:00 | frank | CreateSnapshot | ec2.amazonaws.com | NULL | 111122223333 | 40 | Snapshot Operation",
        ],
    );
}

#[test]
fn seed_without_property_mapping_sees_only_nulls() {
    // No custom properties: C is UNKNOWN for CloudTrail, so only the Azure branch (SQL) remains.
    let rows = rows_with(&seed(), "seed-events.jsonl", empty_props());
    assert_eq!(
        rows,
        [
            "2026-11-20 11:30:00 | alice@x.example | NULL | NULL | NULL | NULL | 40 | Cloud Modification",
            "2026-11-20 11:35:00 | NULL | NULL | NULL | NULL | NULL | 40 | Cloud Modification",
            "2026-11-20 11:40:00 | AzureAutomationAcct | NULL | NULL | NULL | NULL | 40 | Cloud Modification",
        ]
    );
}

#[test]
fn seed_lint_shows_both_readings_and_null_traps() {
    let findings = lint(&seed(), &LintOptions::default());
    let w001: Vec<_> = findings.iter().filter(|d| d.code == "AQL-W001").collect();
    assert_eq!(w001.len(), 1, "{findings:#?}");
    assert_eq!((w001[0].line, w001[0].column), (19, 7));
    assert!(
        w001[0].message.contains("A OR (B AND C AND D AND E)"),
        "{}",
        w001[0].message
    );
    assert!(
        w001[0].message.contains("(A OR B) AND C AND D AND E"),
        "{}",
        w001[0].message
    );
    let w003: Vec<(usize, usize)> = findings
        .iter()
        .filter(|d| d.code == "AQL-W003")
        .map(|d| (d.line, d.column))
        .collect();
    assert_eq!(w003, [(21, 5), (22, 5)]);
    assert!(
        !findings.iter().any(|d| d.code == "AQL-W002"),
        "all seed properties are mapped: {findings:#?}"
    );
}

#[test]
fn seed_now_is_the_newest_event() {
    let q = snapback_aql::parse(&seed()).expect("parses");
    let r = snapback_aql::run(&q, events("seed-events.jsonl"), options(Precedence::Sql));
    assert_eq!(r.now.to_string(), "2026-11-20T12:00:00Z");
    assert_eq!(r.now_source, snapback_aql::NowSource::NewestEvent);
    assert_eq!(r.window, Some((1_795_172_400_000, 1_795_176_000_000)));
}

#[test]
fn seed_with_given_now_moves_the_window() {
    let q = snapback_aql::parse(&seed()).expect("parses");
    let now: jiff::Timestamp = "2026-11-20T11:00:00Z".parse().expect("ts");
    let r = snapback_aql::run(
        &q,
        events("seed-events.jsonl"),
        snapback_aql::RunOptions {
            now: Some(now),
            ..options(Precedence::Sql)
        },
    );
    // Only ct-7 (10:30) is in 10:00–11:00: a CloudTrail StopInstances by mallory.
    let rows: Vec<String> = r
        .rows
        .iter()
        .map(|row| row.iter().map(cell).collect::<Vec<_>>().join(" | "))
        .collect();
    assert_eq!(rows, ["2026-11-20 10:30:00 | mallory | StopInstances | ec2.amazonaws.com | NULL | 111122223333 | 40 | Cloud Modification"]);
}
