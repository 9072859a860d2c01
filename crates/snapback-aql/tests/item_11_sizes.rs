//! Issue 13, item 11 (sizes): `REPLACEALL('', username, <100 KB>)` grew to 15 GB; DATEFORMAT
//! with a run of 65,536 identical letters panicked (and `aql lint` accepted it); a 10 MB
//! regular expression took 1.9 GB. Now no function returns a string over 1 MiB
//! (`MAX_STRING_BYTES`): over it the value is NULL and the run reports AQL-R001 at the call;
//! DATEFORMAT pads numbers to at most 309 digits as Java does, refuses what Java refuses, and
//! lint rejects (AQL-E002) exactly what run refuses; a regular expression over 32 KiB, or one
//! that compiles over 2 MiB, is refused (lint AQL-E003, run AQL-R002 at the operator). The
//! evaluator and the linter also refuse, with a location, a query built by hand deeper than
//! the parser allows.

use std::sync::Arc;

use snapback_aql::ast::{Expr, ExprKind};
use snapback_aql::limits::{MAX_EVAL_DEPTH, MAX_STRING_BYTES};
use snapback_aql::{lint, lint_query, parse, run, LintOptions, ResultSet, RunOptions, Value};
use snapback_ingest::{decode_record, Decoded, Event, Provenance};

/// One CloudTrail event whose user name is `user`.
fn event(user: &str) -> Event {
    let record = serde_json::json!({
        "eventVersion": "1.08", "eventTime": "2026-11-20T12:00:00Z",
        "eventSource": "ec2.amazonaws.com", "eventName": "StopInstances",
        "awsRegion": "us-east-1", "sourceIPAddress": "192.0.2.1", "recipientAccountId": "1",
        "eventID": "e1", "userIdentity": {"type": "IAMUser", "userName": user}
    });
    let prov = Provenance {
        file: Arc::from("t"),
        record: 0,
        offset: 0,
    };
    match decode_record(record, &prov).pop() {
        Some(Decoded::Event(e)) => *e,
        other => panic!("{other:?}"),
    }
}

fn run_over(query: &str, events: Vec<Event>) -> ResultSet {
    let q = parse(query).unwrap_or_else(|e| panic!("{e}"));
    let options = RunOptions {
        default_window_ms: None,
        ..RunOptions::default()
    };
    run(&q, events, options)
}

/// (code, line, column, count) of each run-time diagnostic.
fn diagnostics(r: &ResultSet) -> Vec<(&'static str, usize, usize, u64)> {
    r.diagnostics
        .iter()
        .map(|d| (d.code, d.line, d.column, d.count))
        .collect()
}

fn lint_codes(query: &str) -> Vec<&'static str> {
    lint(query, &LintOptions::default())
        .iter()
        .map(|d| d.code)
        .filter(|c| c.starts_with("AQL-E"))
        .collect()
}

#[test]
fn item_11_replaceall_of_an_empty_pattern_stops_at_one_mib() {
    // 100,001 empty matches × 100 KB each: 10 GB before; now refused after about 11 of them.
    let replacement = "x".repeat(100_000);
    let query = format!("SELECT REPLACEALL('', username, '{replacement}') AS v FROM events");
    let r = run_over(&query, vec![event(&"u".repeat(100_000)), event("bob")]);
    assert_eq!(r.rows[0], [Value::Null]);
    // "bob" has 4 places to insert 100 KB: 400,003 bytes, under the limit.
    assert!(matches!(&r.rows[1][0], Value::Str(s) if s.len() == 400_003));
    assert_eq!(diagnostics(&r), [("AQL-R001", 1, 8, 1)]);
    let message = &r.diagnostics[0].message;
    assert!(
        message.contains("REPLACEALL") && message.contains("1 MiB"),
        "{message}"
    );
}

#[test]
fn item_11_every_string_function_is_capped() {
    let big = |n: usize| format!("'{}'", "a".repeat(n));
    let half = big(MAX_STRING_BYTES / 2 + 1);
    // Each REPLACEALL doubles 'aa': the 20th from the inside would make 2 MiB. It is refused
    // there (the 6th of 25 from the left); the ones around it get NULL and give NULL.
    let call = "REPLACEALL('a', ";
    let doubling = format!("{}'aa'{}", call.repeat(25), ", 'aa')".repeat(25));
    let cases = [
        (format!("CONCAT({half}, {half})"), 8),
        (doubling, 8 + 5 * call.len()),
        (
            format!("REPLACEFIRST('b', 'b', {})", big(MAX_STRING_BYTES + 1)),
            8,
        ),
        (format!("BASE64({})", big(800_000)), 8),
        (format!("UPPER({})", big(MAX_STRING_BYTES + 1)), 8),
        (format!("SUBSTRING({}, 0)", big(MAX_STRING_BYTES + 1)), 8),
    ];
    for (expr, column) in cases {
        let query = format!("SELECT {expr} AS v FROM events");
        let r = run_over(&query, vec![event("carol")]);
        let shown = &query[..60];
        assert_eq!(r.rows, [[Value::Null]], "{shown}");
        assert_eq!(diagnostics(&r), [("AQL-R001", 1, column, 1)], "{shown}");
    }
    // At the limit exactly, the value is kept.
    let r = run_over(
        &format!("SELECT STR({}) AS v FROM events", big(MAX_STRING_BYTES)),
        vec![event("carol")],
    );
    assert!(r.diagnostics.is_empty());
    assert!(matches!(&r.rows[0][0], Value::Str(s) if s.len() == MAX_STRING_BYTES));
}

#[test]
fn item_11_dateformat_runs_of_any_length_pad_as_java_does_without_a_panic() {
    let run_of = |c: char, n: usize| c.to_string().repeat(n);
    let query = format!(
        "SELECT DATEFORMAT(devicetime, '{}') AS v FROM events",
        run_of('y', 65_536)
    );
    assert!(lint_codes(&query).is_empty(), "Java accepts the run");
    let r = run_over(&query, vec![event("dave")]);
    // Java's DecimalFormat pads to at most 309 digits.
    let expected = format!("{}2026", "0".repeat(305));
    assert_eq!(r.rows, [[Value::Str(expected)]]);
    assert!(r.diagnostics.is_empty());
}

#[test]
fn item_11_lint_rejects_the_dateformat_patterns_that_run_refuses() {
    let many_fields = "y ".repeat(40_000); // 40,000 fields of up to 32 bytes: over 1 MiB
    let patterns = [
        ("yyyy-MM-dd", false),
        ("XXX", false),
        ("XXXX", true), // Java: "invalid ISO 8601 format: length=4"
        ("yyyy T", true),
        ("'unterminated", true),
        (many_fields.as_str(), true),
    ];
    for (pattern, refused) in patterns {
        let literal = pattern.replace('\'', "''");
        let query = format!("SELECT DATEFORMAT(devicetime, '{literal}') AS v FROM events");
        let linted = lint_codes(&query).contains(&"AQL-E002");
        let r = run_over(&query, vec![event("erin")]);
        let ran_null = r.rows == [[Value::Null]];
        let shown = &pattern[..pattern.len().min(20)];
        assert_eq!(linted, refused, "lint of `{shown}`");
        assert_eq!(ran_null, refused, "run of `{shown}`");
        assert_eq!(r.diagnostics.len(), usize::from(refused), "`{shown}`");
        if let Some(d) = r.diagnostics.first() {
            assert!(["AQL-R001", "AQL-R003"].contains(&d.code));
            assert_eq!((d.line, d.column), (1, 8));
        }
    }
}

#[test]
fn item_11_a_ten_mb_regular_expression_is_refused_with_its_place() {
    let pattern = "a".repeat(10_000_000);
    let query = format!("SELECT * FROM events WHERE username MATCHES '{pattern}'");
    let findings = lint(&query, &LintOptions::default());
    let e003: Vec<_> = findings.iter().filter(|d| d.code == "AQL-E003").collect();
    assert_eq!(e003.len(), 1);
    assert_eq!((e003[0].line, e003[0].column), (1, 45), "the pattern");
    assert!(e003[0].message.contains("32 KiB"), "{}", e003[0].message);
    let r = run_over(&query, vec![event("frank")]);
    assert!(r.rows.is_empty(), "UNKNOWN: no row");
    // at MATCHES, once per event
    assert_eq!(diagnostics(&r), [("AQL-R002", 1, 37, 1)]);
}

#[test]
fn item_11_a_short_regex_that_compiles_too_big_is_refused() {
    // 25 bytes of pattern, far more than 2 MiB compiled (Unicode word classes, repeated).
    let query = "SELECT REPLACEALL('(\\w{50}){50}', username, 'x') AS v FROM events";
    let findings = lint(query, &LintOptions::default());
    assert!(
        findings
            .iter()
            .any(|d| d.code == "AQL-E003" && d.message.contains("compiles to more than")),
        "{findings:?}"
    );
    let r = run_over(query, vec![event("grace")]);
    assert_eq!(r.rows, [[Value::Null]]);
    assert_eq!(diagnostics(&r), [("AQL-R002", 1, 8, 1)]);
}

#[test]
fn item_11_a_replacement_java_rejects_is_a_lint_error_and_null() {
    let query = "SELECT REPLACEALL('(b)', username, '$2') AS v FROM events";
    assert_eq!(lint_codes(query), ["AQL-E003"]);
    let r = run_over(query, vec![event("bob")]);
    assert_eq!(r.rows, [[Value::Null]]);
    assert_eq!(diagnostics(&r), [("AQL-R002", 1, 8, 1)]);
}

/// A query whose WHERE is a chain of `depth` NOTs, built by hand (the parser refuses it).
fn hand_built(depth: usize) -> snapback_aql::Query {
    let mut q = parse("SELECT * FROM events WHERE username = 'bob'").expect("parses");
    let Some(mut e) = q.where_.take() else {
        panic!("no WHERE")
    };
    for _ in 0..depth {
        let span = e.span;
        e = Expr::new(ExprKind::Not(Box::new(e)), span);
    }
    q.where_ = Some(e);
    q
}

#[test]
fn item_11_the_evaluator_and_the_linter_refuse_a_hand_built_query_too_deep() {
    let q = hand_built(MAX_EVAL_DEPTH + 100);
    let result = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || {
            let findings = lint_query(&q, &LintOptions::default());
            let options = RunOptions {
                default_window_ms: None,
                ..RunOptions::default()
            };
            let r = run(&q, vec![event("bob"), event("bob")], options);
            (findings, r)
        })
        .expect("spawn")
        .join()
        .expect("no overflow");
    let (findings, r) = result;
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0].code, "AQL-E001");
    assert!(r.rows.is_empty(), "UNKNOWN: no row");
    assert_eq!(diagnostics(&r), [("AQL-R004", 1, 28, 2)]);
}
