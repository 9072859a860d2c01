//! Issue 13, item 12: a Sigma rule of 200 KB of `[` took 39 s to reject, quadratic in its
//! size (the YAML scanner under the Sigma parser walks every open flow collection for every
//! token). Now a bounded scan refuses it before any parser sees it, with its line and column;
//! a rule file over 1 MiB is refused unread past 1 MiB; and a correlation that names 20,000
//! unknown rules, which took 90 s to report (one scan of the document per problem), is
//! reported in bounded time.
//!
//! The bound is by construction: `source.rs` proves (unit test
//! `the_parser_never_sees_a_document_the_pre_check_refuses`) that the refused document is never
//! handed to the parser. The wall-clock checks here are loose (5 s on a debug build, against
//! the tens of seconds before) so that they cannot be flaky.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use snapback_rules::nesting::{MAX_NESTING, MAX_RULE_FILE_BYTES};
use snapback_rules::{LoadProblem, RuleSet};

const LOOSE: Duration = Duration::from_secs(5);

/// Load `text` as the only rule file of a fresh directory: its problems and the time taken.
fn load(text: &str) -> (Vec<LoadProblem>, Duration) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("rule.yml");
    std::fs::write(&path, text).expect("write");
    let started = Instant::now();
    let rules = RuleSet::load(false, &[PathBuf::from(dir.path())]);
    (rules.problems, started.elapsed())
}

#[test]
fn item_12_a_rule_of_200_kb_of_brackets_is_rejected_at_its_place_at_once() {
    let text = format!(
        "title: deep\nid: deep-1\nlogsource:\n  product: aws\ndetection:\n  sel: {}\n  condition: sel\n",
        "[".repeat(200_000)
    );
    let (problems, took) = load(&text);
    assert_eq!(problems.len(), 1, "{problems:#?}");
    let p = &problems[0];
    assert_eq!(p.line, Some(6));
    assert_eq!(p.rule.as_deref(), Some("deep-1"));
    // `detection` and `sel` are two levels; the 63rd `[`, at column 8 + 62, is the 65th.
    assert!(
        p.message.starts_with(&format!(
            "YAML nesting deeper than {MAX_NESTING} levels at line 6, column 70"
        )),
        "{}",
        p.message
    );
    assert!(p.message.ends_with("the rule is not loaded"));
    assert!(took < LOOSE, "took {took:?}");
}

#[test]
fn item_12_deep_block_nesting_and_documents_of_a_file_are_located() {
    // A good rule, then a document nested by indentation: only the second is refused, at the
    // line of the file where its 65th level opens.
    let mut deep = String::from("title: deep block\nid: deep-2\ndetection:\n");
    for i in 1..=100 {
        deep.push_str(&format!("{}k{i}:\n", " ".repeat(i)));
    }
    let good = "title: fine\nid: fine-1\nlogsource:\n  product: aws\ndetection:\n  sel:\n    eventName: StopInstances\n  condition: sel\n";
    let text = format!("{good}---\n{deep}");
    let (problems, took) = load(&text);
    assert_eq!(problems.len(), 1, "{problems:#?}");
    // The second document starts at line 10 of the file. `detection` is level 1 and `k<i>`,
    // indented by i, level i + 1: `k64`, on the document's line 3 + 64, opens level 65.
    assert_eq!(problems[0].line, Some(10 + (3 + 64) - 1));
    assert!(
        problems[0].message.contains("column 65"),
        "{}",
        problems[0].message
    );
    assert_eq!(problems[0].rule.as_deref(), Some("deep-2"));
    assert!(took < LOOSE);
}

#[test]
fn item_12_a_rule_file_over_one_mib_is_refused_unread() {
    let text = format!(
        "title: big\nid: big-1\ndescription: {}\n",
        "x".repeat(MAX_RULE_FILE_BYTES as usize)
    );
    let (problems, _) = load(&text);
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].line, None, "the whole file");
    assert!(
        problems[0].message.starts_with(
            "rule file of 1048577 bytes or more, over snapback's limit of 1048576 bytes"
        ),
        "{}",
        problems[0].message
    );
}

#[cfg(unix)]
#[test]
fn item_12_a_rule_file_that_never_ends_is_refused_after_one_mib() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::os::unix::fs::symlink("/dev/zero", dir.path().join("zero.yml")).expect("symlink");
    let rules = RuleSet::load(false, &[PathBuf::from(dir.path())]);
    assert_eq!(rules.problems.len(), 1);
    assert!(rules.problems[0].message.contains("over snapback's limit"));
}

#[test]
fn item_12_twenty_thousand_unknown_references_are_reported_in_bounded_time() {
    let refs: String = (0..20_000)
        .map(|i| format!("    - unknown-rule-{i}\n"))
        .collect();
    let text = format!(
        "title: c\nid: corr-1\ncorrelation:\n  type: event_count\n  rules:\n{refs}  group-by:\n    - x\n  timespan: 5m\n  condition:\n    gte: 2\n"
    );
    let (problems, took) = load(&text);
    assert_eq!(problems.len(), 20_000);
    // The first 64 name their own line; the rest the document's first.
    assert_eq!(problems[0].line, Some(6));
    assert_eq!(problems[63].line, Some(6 + 63));
    assert_eq!(problems[64].line, Some(1));
    assert!(problems[19_999].message.contains("unknown-rule-19999"));
    assert!(took < LOOSE, "took {took:?}");
}
