//! `rules lint`: every broken rule is reported with its file, its line and what is wrong.

use std::path::Path;

use snapback_rules::RuleSet;

const BROKEN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/broken");

#[test]
fn lint_reports_file_line_and_reason() {
    let problems = RuleSet::lint(Some(Path::new(BROKEN)));
    let mut got: Vec<(String, Option<usize>, String)> = problems
        .iter()
        .map(|p| {
            let file = Path::new(&p.file)
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned();
            (file, p.line, p.message.clone())
        })
        .collect();
    got.sort();
    let want: &[(&str, usize, &str)] = &[
        ("alias_not_in_rules.yml", 14, "alias `instance` maps rule `aws-ec2-run-instances`, which is not in this correlation's `rules`"),
        ("bad_risk.yml", 12, "snapback.risk is 150; it must be between 0 and 100"),
        ("bad_role.yml", 12, "unknown snapback.role `reverted`"),
        ("correlation_unknown_rule.yml", 19, "correlation references unknown rule `no-such-rule`"),
        ("filter_not_negated.yml", 11, "filter condition does not negate its selection"),
        ("missing_id.yml", 1, "missing `id`"),
        ("missing_title.yml", 1, "Missing required field 'title'"),
        ("unknown_modifier.yml", 9, "Unknown modifier 'sortof'"),
        ("unless_unknown_rule.yml", 14, "snapback.unless_operation_matches names unknown rule `no-such-rule`"),
        ("yaml_syntax.yml", 8, "YAML parse error"),
    ];
    assert_eq!(got.len(), want.len(), "{got:#?}");
    for ((file, line, message), (wfile, wline, wmsg)) in got.iter().zip(want) {
        assert_eq!(file, wfile);
        assert_eq!(*line, Some(*wline), "{file}: {message}");
        assert!(message.contains(wmsg), "{file}: `{message}` lacks `{wmsg}`");
    }
    // The valid detection in the correlation file still loads; the broken ones do not.
    let set = RuleSet::load(true, &[BROKEN.into()]);
    assert!(set.detection("fixture-step").is_some());
    assert!(set.detection("fixture-unknown-modifier").is_none());
    // An unknown name in unless_operation_matches is reported and ignored; the rule loads.
    let unless = set.detection("fixture-unless-unknown").unwrap();
    assert!(set.detections[unless].unless_operation.is_empty());
    let swap = set
        .detection("azure-vm-written-without-request-body")
        .unwrap();
    let with_body = set.detection("azure-vm-written-with-request-body").unwrap();
    assert_eq!(set.detections[swap].unless_operation, [with_body]);
    assert!(set
        .correlation("0b7c5e7e-0000-4000-8000-000000000004")
        .is_none());
}

#[test]
fn the_builtin_pack_lints_clean() {
    assert_eq!(RuleSet::lint(None), Vec::new());
}

#[test]
fn a_missing_rules_dir_is_a_problem_not_a_panic() {
    let set = RuleSet::load(false, &["/nonexistent/snapback-rules".into()]);
    assert_eq!(set.problems.len(), 1);
    assert!(set.problems[0].message.starts_with("cannot read rules"));
}
