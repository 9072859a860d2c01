//! Every file of the public corpus (`../shared/corpus`, see its SOURCES.md) is read: each record
//! decodes into an event or is skipped with a reason listed here, with why that reason is right.
//! Prints a table of counts per source; fails on any record this file does not explain.
//!
//! Without the corpus (a user's fresh clone) the test says loudly that it did not run, and fails
//! when `CI` is set, since CI always has the corpus.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::read;
use snapback_ingest::{list_files, Severity, Summary};

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/corpus");

/// What one source folder is expected to give.
struct Expect {
    source: &'static str,
    events: u64,
    /// Records skipped as broken: (file name, record indices, reason key, why that is right).
    skips: &'static [(&'static str, &'static [u64], &'static str, &'static str)],
    /// Warnings (records read, something ignored): (file name, record, reason key, why).
    warnings: &'static [(&'static str, u64, &'static str, &'static str)],
    /// Not-audit records and files by kind: (kind, count, why).
    not_audit: &'static [(&'static str, u64, &'static str)],
}

const PLACEHOLDER_TIME: &str =
    "a rule test's placeholder (\"...\", \"foo\", \"redacted\", \"eventTime\") where the event time goes: there is no time to order it by";
const PARTIAL: &str =
    "a partial log written for a rule test, without the event time: an event with no time cannot be ordered or correlated";

const EXPECT: &[Expect] = &[
    Expect {
        source: "elastic-integrations",
        events: 10,
        skips: &[
            (
                "test-run-instances-json.log-expected.json",
                &[0],
                "unknown-format",
                "Elastic's expected output ({\"expected\": [ECS documents]}), the peer's answers, not an audit log",
            ),
            (
                "test-compute-googleapis-com.log-expected.json",
                &[0],
                "unknown-format",
                "Elastic's expected output ({\"expected\": [ECS documents]}), the peer's answers, not an audit log",
            ),
        ],
        warnings: &[],
        not_audit: &[],
    },
    Expect {
        source: "gcp-community-security-analytics",
        // Includes one BigQuery sink export (`protopayload_auditlog`).
        events: 12,
        skips: &[],
        warnings: &[],
        not_audit: &[
            ("load-balancer-log", 2, "HTTP(S) load balancer request logs"),
            ("not-json (text)", 1, "LICENSE"),
            ("vpc-flow-log", 1, "a VPC flow log entry"),
            ("workspace-login", 3, "Workspace login audit (login.googleapis.com): identity, not cloud resources"),
        ],
    },
    Expect {
        source: "invictus-ir-aws_dataset",
        events: 2900,
        skips: &[],
        warnings: &[],
        not_audit: &[("not-json (text)", 2, "LICENSE and README.md")],
    },
    Expect {
        source: "otrf-security-datasets",
        events: 103,
        skips: &[],
        warnings: &[],
        not_audit: &[
            ("csv (text)", 1, "aws_s3_honeybucketlogs.zip holds a CSV of alerts, not CloudTrail JSON (CSV is not a supported layout)"),
            ("not-json (text)", 3, "LICENSE and two _metadata/*.yaml descriptions"),
        ],
    },
    Expect {
        source: "panther-analysis-tests",
        events: 802,
        skips: &[
            ("aws_cloudtrail.jsonl", &[54, 55, 62, 63, 64, 65, 130, 131, 173, 198, 213, 375, 376, 425], "bad-time", PARTIAL),
            ("aws_cloudtrail.jsonl", &[293, 361], "bad-time", PLACEHOLDER_TIME),
            ("gcp_auditlog.jsonl", &[2, 32, 47, 83, 122, 125, 126, 146, 147, 148, 149, 150, 151], "bad-time", PARTIAL),
            (
                "gcp_auditlog.jsonl",
                &[17, 41, 68, 87, 106, 113],
                "bad-field",
                "no protoPayload.methodName (absent, or misplaced under metadata in the BigQuery tests): an audit entry without its operation",
            ),
            (
                "gcp_auditlog.jsonl",
                &[45, 46, 81, 82, 120, 121, 152, 153],
                "unknown-format",
                "synthetic fragments ({\"methodName\": …} alone, {operation, p_enrichment}): not a LogEntry",
            ),
        ],
        warnings: &[(
            "gcp_auditlog.jsonl",
            115,
            "bad-field",
            "protoPayload.request is a string in this test: ignored, the event is still read",
        )],
        not_audit: &[
            ("cloud-resource-config", 9, "trail configurations (DescribeTrails snapshots) for Panther's policy tests, not API calls"),
            ("not-json (text)", 1, "LICENSE.txt"),
        ],
    },
    Expect {
        source: "stratus-red-team-detonation-logs",
        // The anonymiser's non-standard ids and regions are kept as written, never validated.
        events: 310,
        skips: &[],
        warnings: &[],
        not_audit: &[("not-json (text)", 1, "LICENSE")],
    },
    Expect {
        source: "streamalert-test-events",
        events: 45,
        skips: &[(
            "cloudtrail_test_events.json",
            &[4, 6, 7, 8, 9, 31, 32, 45, 46, 47, 48, 49, 50, 52, 53],
            "bad-time",
            PLACEHOLDER_TIME,
        )],
        warnings: &[],
        not_audit: &[
            ("cloudtrail-insight", 1, "a CloudTrail Insights event: CloudTrail's anomaly notice, not an API call"),
            ("not-json (text)", 1, "LICENSE"),
        ],
    },
    Expect {
        source: "traildiscover",
        events: 563,
        skips: &[],
        warnings: &[],
        not_audit: &[
            ("event-name-catalogue", 381, "docs/events.json maps event names to ATT&CK techniques: metadata, not events"),
            (
                "not-json (text)",
                3,
                "LICENSE, and the two files SOURCES.md calls unparsable: logExamples/index.html and script.js (the site's page, not logs)",
            ),
        ],
    },
];

#[derive(Default)]
struct Tally {
    files: u64,
    summary: Summary,
    /// (file name, record, reason) of every error.
    errors: Vec<(String, u64, &'static str)>,
    warnings: Vec<(String, u64, &'static str)>,
}

fn file_name(p: &str) -> String {
    let base = p.rsplit('!').next().unwrap_or(p);
    Path::new(base)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn tally(dir: &Path) -> Tally {
    let mut t = Tally::default();
    let mut listing = Summary::default();
    let files: Vec<PathBuf> = list_files(dir, &mut listing, &mut |d| panic!("{d}"));
    for f in files {
        t.files += 1;
        let r = read(&[&f]);
        assert!(
            r.summary.files_read >= 1,
            "{} was not read: {:?}",
            f.display(),
            r.diags
        );
        for d in &r.diags {
            let record = d.record.unwrap_or_else(|| {
                panic!("a file-level diagnostic in the corpus: {d}");
            });
            let item = (file_name(&d.file), record, d.reason);
            match d.severity {
                Severity::Error => t.errors.push(item),
                Severity::Warning => t.warnings.push(item),
            }
        }
        t.summary.merge(r.summary);
    }
    t
}

#[test]
fn every_corpus_record_is_read_or_skipped_for_a_stated_reason() {
    let root = Path::new(CORPUS);
    if !root.is_dir() {
        eprintln!(
            "\n*** corpus test DID NOT RUN: {} is absent (the public corpus lives beside the project in ../shared; \
             CI always has it). ***\n",
            root.display()
        );
        if std::env::var_os("CI").is_some() {
            panic!("CI is set but the corpus is missing at {}", root.display());
        }
        return;
    }
    let mut sources: Vec<String> = std::fs::read_dir(root)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    sources.sort();
    let expected: Vec<&str> = EXPECT.iter().map(|e| e.source).collect();
    assert_eq!(
        sources, expected,
        "corpus folders changed: add an expectation for each"
    );

    let mut failures = Vec::new();
    eprintln!(
        "\n{:<34} {:>6} {:>7}  {:<40} not audit",
        "source", "files", "events", "skipped"
    );
    for exp in EXPECT {
        let t = tally(&root.join(exp.source));
        let skipped: Vec<String> = t
            .summary
            .skipped
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        let not_audit: Vec<String> = t
            .summary
            .not_audit
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        eprintln!(
            "{:<34} {:>6} {:>7}  {:<40} {}",
            exp.source,
            t.files,
            t.summary.events,
            skipped.join(", "),
            not_audit.join(", ")
        );

        if t.summary.events != exp.events {
            failures.push(format!(
                "{}: {} events, expected {}",
                exp.source, t.summary.events, exp.events
            ));
        }
        let mut want: Vec<(String, u64, &str)> = exp
            .skips
            .iter()
            .flat_map(|(f, records, reason, _why)| {
                records.iter().map(move |r| (f.to_string(), *r, *reason))
            })
            .collect();
        want.sort();
        let mut got = t.errors.clone();
        got.sort();
        for g in &got {
            if !want.contains(g) {
                failures.push(format!("{}: unexplained skip {g:?}", exp.source));
            }
        }
        for w in &want {
            if !got.contains(w) {
                failures.push(format!(
                    "{}: expected skip did not happen {w:?}",
                    exp.source
                ));
            }
        }
        let mut want_w: Vec<(String, u64, &str)> = exp
            .warnings
            .iter()
            .map(|(f, r, reason, _)| (f.to_string(), *r, *reason))
            .collect();
        want_w.sort();
        let mut got_w = t.warnings.clone();
        got_w.sort();
        if got_w != want_w {
            failures.push(format!(
                "{}: warnings {got_w:?}, expected {want_w:?}",
                exp.source
            ));
        }
        let want_na: BTreeMap<String, u64> = exp
            .not_audit
            .iter()
            .map(|(k, n, _)| (k.to_string(), *n))
            .collect();
        if t.summary.not_audit != want_na {
            failures.push(format!(
                "{}: not-audit {:?}, expected {:?}",
                exp.source, t.summary.not_audit, want_na
            ));
        }
        if t.summary.files_failed != 0 {
            failures.push(format!(
                "{}: {} files failed",
                exp.source, t.summary.files_failed
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}
