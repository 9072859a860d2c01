//! Issue 17 ("AQL fidelity"), items 4-8: where a query ran offline with a result QRadar would
//! not give. One table per item, the IBM page beside it; rows computed by hand from
//! `issue17-events.jsonl` (see issue17_properties.rs): alice has ct-i1, ct-i3, ct-i5 and the
//! Azure az-i7 (4 events), bob ct-i2 and ct-i6 (2), carol ct-i4 (1); first appearances in time
//! order: alice 10:00, bob 10:01, carol 10:03.

mod common;
use common::*;

use snapback_aql::{
    check_runnable, export, lint, parse, run, ExportOptions, LintOptions, RunError, RunOptions,
    Severity,
};

const FIXTURE: &str = "issue17-events.jsonl";

fn all_time() -> RunOptions {
    RunOptions {
        default_window_ms: None,
        ..RunOptions::default()
    }
}

fn rows(query: &str) -> Vec<String> {
    rows_with(query, FIXTURE, all_time())
}

/// The lint findings of `code` for `query`: (line, column).
fn found(query: &str, code: &str) -> Vec<(usize, usize)> {
    lint(query, &LintOptions::default())
        .into_iter()
        .filter(|d| d.code == code)
        .map(|d| (d.line, d.column))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Item 4. IBM, "Quotation marks"
// (https://www.ibm.com/docs/en/qsip/7.6.0?topic=structure-quotation-marks): single quotes are
// strings (and define an alias after AS); "use double quotation marks to specify an existing
// alias that has a space when you use a WHERE, GROUP BY, or ORDER BY clause". A string as a
// key groups every row together: rejected, with the fix.

/// (query, line, column, text the error must hold)
const ITEM4_REJECTED: &[(&str, usize, usize, &str)] = &[
    (
        "SELECT username AS 'User Name', COUNT(*) AS n FROM events GROUP BY 'User Name' LAST 1 HOURS",
        1,
        68,
        "write GROUP BY \"User Name\"",
    ),
    (
        "SELECT username AS 'User Name', COUNT(*) AS n FROM events GROUP BY 'user name' LAST 1 HOURS",
        1,
        68,
        "write GROUP BY \"User Name\"",
    ),
    (
        "SELECT username AS 'User Name' FROM events ORDER BY 'User Name' DESC LAST 1 HOURS",
        1,
        53,
        "write ORDER BY \"User Name\"",
    ),
    (
        "SELECT username FROM events GROUP BY 'nothing' LAST 1 HOURS",
        1,
        38,
        "puts every row in one group",
    ),
];

/// (query, hand-computed rows) with the alias as IBM writes it.
const ITEM4_ROWS: &[(&str, &[&str])] = &[
    (
        "SELECT username AS 'User Name', COUNT(*) AS n FROM events GROUP BY \"User Name\"",
        &["alice | 4", "bob | 2", "carol | 1"],
    ),
    (
        "SELECT username AS 'User Name', COUNT(*) AS n FROM events GROUP BY \"User Name\" ORDER BY n",
        &["carol | 1", "bob | 2", "alice | 4"],
    ),
    (
        "SELECT username AS 'User Name' FROM events WHERE \"Operation\" ILIKE 'Modify%' ORDER BY \"User Name\" DESC",
        &["carol", "alice", "alice"],
    ),
];

#[test]
fn item4_a_single_quoted_key_is_rejected_with_the_fix() {
    for (query, line, col, needle) in ITEM4_REJECTED {
        rejects(query, *line, *col, needle);
    }
    for (query, expected) in ITEM4_ROWS {
        assert_eq!(rows(query), *expected, "{query}");
    }
}

// ---------------------------------------------------------------------------------------------
// Item 5. IBM, "Sample AQL queries"
// (https://www.ibm.com/docs/en/qsip/7.6.0?topic=structure-sample-aql-queries): "When you use a
// GROUP BY or ORDER BY clause to sort information, you can reference column_names from your
// existing SELECT statement only." IBM's own "AQL data aggregation functions" page groups by
// a column it does not select, so this is a warning (AQL-W017), and the rows are unchanged.

/// (query, AQL-W017 positions)
const ITEM5_LINT: &[(&str, &[(usize, usize)])] = &[
    // IBM's aggregation example
    (
        "SELECT sourceip, COUNT(*) FROM events GROUP BY sourceip, destinationip LAST 1 HOURS",
        &[(1, 58)],
    ),
    (
        "SELECT username FROM events ORDER BY devicetime DESC LAST 1 HOURS",
        &[(1, 38)],
    ),
    (
        "SELECT username, COUNT(*) AS n FROM events GROUP BY QIDNAME(qid) LAST 1 HOURS",
        &[(1, 53)],
    ),
    // In the SELECT list: as written, by alias, quoted alias, output name, or `*`
    (
        "SELECT * FROM events ORDER BY magnitude DESC LAST 24 HOURS",
        &[],
    ),
    (
        "SELECT username AS u, COUNT(*) AS n FROM events GROUP BY u ORDER BY n DESC LAST 1 HOURS",
        &[],
    ),
    (
        "SELECT QIDNAME(qid) AS 'Event Name', COUNT(*) FROM events GROUP BY QIDNAME(qid) ORDER BY \"Event Name\" LAST 1 HOURS",
        &[],
    ),
    (
        "SELECT username, COUNT(*) FROM events GROUP BY username ORDER BY COUNT(*) DESC LAST 1 HOURS",
        &[],
    ),
];

#[test]
fn item5_keys_not_in_select_are_warned_with_the_fix() {
    for (query, expected) in ITEM5_LINT {
        assert_eq!(found(query, "AQL-W017"), *expected, "{query}");
    }
    let d = lint(ITEM5_LINT[1].0, &LintOptions::default())
        .into_iter()
        .find(|d| d.code == "AQL-W017")
        .unwrap();
    assert_eq!(d.severity, Severity::Warning);
    assert!(
        d.message.contains("(SELECT …, devicetime)"),
        "{}",
        d.message
    );
    // Only a warning: the rows are computed as before (newest first; ties keep event order).
    assert_eq!(
        rows("SELECT username FROM events ORDER BY devicetime DESC LIMIT 3"),
        ["alice", "bob", "alice"]
    );
}

// ---------------------------------------------------------------------------------------------
// Item 6. IBM, "AQL Query structure"
// (https://www.ibm.com/docs/en/SS42VS_7.5/com.ibm.qradar.doc/c_aql_introduction.html): AQL
// selects from `events` or `flows`; flows are network data, which audit logs do not hold.

const ITEM6_FLOWS: &[&str] = &[
    "SELECT * FROM flows LAST 1 HOURS",
    "SELECT sourceip, SUM(sourcebytes) FROM flows GROUP BY sourceip LAST 1 HOURS",
    "SELECT applicationid FROM FLOWS WHERE sourceport = 22 LAST 5 MINUTES",
];

#[test]
fn item6_flows_parse_and_lint_but_do_not_run() {
    for query in ITEM6_FLOWS {
        let q = parse(query).expect("flows queries are valid AQL");
        assert_eq!(
            found(query, "AQL-W018"),
            [(1, q.from_span.start + 1)],
            "{query}"
        );
        let e = check_runnable(&q).expect_err(query);
        let RunError::Flows { line, column, .. } = &e;
        assert_eq!((*line, *column), (1, q.from_span.start + 1));
        assert!(
            e.to_string().contains("snapback reads cloud audit logs"),
            "{e}"
        );
        // Through the library anyway: no rows (no event is a flow), and a diagnostic.
        let result = run(&q, events(FIXTURE), all_time());
        assert!(result.rows.is_empty() || q.is_aggregate(), "{query}");
        assert_eq!(result.events_matched, 0);
        assert_eq!(result.diagnostics[0].code, "AQL-R006");
    }
    assert!(check_runnable(&parse("SELECT * FROM events").unwrap()).is_ok());
}

// ---------------------------------------------------------------------------------------------
// Item 7. IBM, "AQL data retrieval functions"
// (https://www.ibm.com/docs/en/SS42VS_7.5/com.ibm.qradar.doc/r_aql_data_functions.html):
// QIDNAME, CATEGORYNAME and LOGSOURCENAME give the names QRadar holds for a QID, a category
// and a log source. Offline those are made up (docs/aql.md): each documented value here, and
// a filter on one is warned about (AQL-W019).

/// The offline values, by hand from the fixture's first CloudTrail and its Azure event.
const ITEM7_VALUES: &[&str] = &[
    "RegisterImage | ec2.amazonaws.com | Amazon AWS CloudTrail @ 111122223333",
    "MICROSOFT.COMPUTE/DISKS/WRITE | microsoft.compute | Microsoft Azure Platform @ sub1",
];

/// (query, AQL-W019 positions)
const ITEM7_LINT: &[(&str, &[(usize, usize)])] = &[
    (
        "SELECT username FROM events WHERE QIDNAME(qid) = 'RegisterImage' LAST 1 HOURS",
        &[(1, 35)],
    ),
    (
        "SELECT username FROM events WHERE CATEGORYNAME(category) ILIKE '%ec2%' AND LOGSOURCENAME(logsourceid) ILIKE '%1111%' LAST 1 HOURS",
        &[(1, 35), (1, 76)],
    ),
    (
        "SELECT QIDNAME(qid) AS op FROM events WHERE op LIKE 'Register%' LAST 1 HOURS",
        &[(1, 45)],
    ),
    ("SELECT username FROM events WHERE qid = 12345 LAST 1 HOURS", &[(1, 35)]),
    (
        "SELECT username, COUNT(*) AS n FROM events GROUP BY username HAVING LOGSOURCENAME(FIRST(logsourceid)) = 'x' LAST 1 HOURS",
        &[(1, 69)],
    ),
    // Shown, not filtered on; and LOGSOURCETYPENAME is QRadar's own.
    (
        "SELECT QIDNAME(qid), CATEGORYNAME(category) FROM events WHERE LOGSOURCETYPENAME(devicetype) = 'Amazon AWS CloudTrail' LAST 1 HOURS",
        &[],
    ),
];

#[test]
fn item7_made_up_values_are_documented_and_filters_on_them_warned() {
    assert_eq!(
        rows("SELECT QIDNAME(qid), CATEGORYNAME(category), LOGSOURCENAME(logsourceid) FROM events WHERE username = 'alice' AND (\"Operation\" = 'RegisterImage' OR devicetype = 413)"),
        ITEM7_VALUES
    );
    for (query, expected) in ITEM7_LINT {
        assert_eq!(found(query, "AQL-W019"), *expected, "{query}");
    }
    let doc =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/aql.md")).unwrap();
    for needle in [
        "QIDNAME(qid)",
        "CATEGORYNAME(category)",
        "LOGSOURCENAME(logsourceid)",
        "AQL-W019",
    ] {
        assert!(doc.contains(needle), "docs/aql.md documents {needle}");
    }
}

// ---------------------------------------------------------------------------------------------
// Item 8. IBM, "Quotation marks" (strings in single quotes); "AQL data retrieval functions"
// (REFERENCESETCONTAINS needs QRadar's reference sets); "AQL data aggregation functions"
// (UNIQUECOUNT; GROUP BY for distinct values).

/// Rejected the same way: a double-quoted name where text belongs (line, column, text).
const ITEM8_DOUBLE_QUOTED: &[(&str, usize, usize, &str)] = &[
    (
        "SELECT * FROM events WHERE username = \"admin\"",
        1,
        39,
        "not a string: for the text write 'admin'",
    ),
    (
        "SELECT * FROM events WHERE username ILIKE \"%admin%\"",
        1,
        43,
        "not a pattern: for the text write '%admin%'",
    ),
    (
        "SELECT * FROM events WHERE username NOT LIKE \"adm_n\"",
        1,
        46,
        "not a pattern: for the text write 'adm_n'",
    ),
];

/// Misspelt keywords: (query, column, suggestion).
const ITEM8_DID_YOU_MEAN: &[(&str, usize, &str)] = &[
    ("SELECT * FORM events", 10, "did you mean FROM?"),
    ("SELECT username FROM evnets", 22, "did you mean `events`?"),
    (
        "SELECT * FROM events WEHRE username = 'x'",
        22,
        "did you mean WHERE?",
    ),
    (
        "SELECT * FROM events WHERE username LIEK 'x'",
        37,
        "did you mean LIKE?",
    ),
    (
        "SELECT * FROM events LAST 1 HOUSR",
        29,
        "did you mean HOURS?",
    ),
    (
        "SELECT * FROM events ORDR BY username",
        22,
        "did you mean ORDER?",
    ),
];

#[test]
fn item8_small_ones() {
    for (query, line, col, needle) in ITEM8_DOUBLE_QUOTED {
        rejects(query, *line, *col, needle);
    }
    // A property compared with a property, or a quoted field or alias, is still fine.
    for ok in [
        "SELECT * FROM events WHERE \"Operation\" = \"ResultType\"",
        "SELECT * FROM events WHERE username ILIKE \"sourceip\"",
        "SELECT username AS u FROM events WHERE sourceip LIKE \"u\"",
    ] {
        parse(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
    }

    // NOT REFERENCESETCONTAINS: UNKNOWN offline, every row removed; lint says so.
    let q = "SELECT username FROM events WHERE NOT REFERENCESETCONTAINS('Admins', username)";
    assert_eq!(found(q, "AQL-W020"), [(1, 35)]);
    assert!(rows(q).is_empty());
    assert_eq!(
        rows("SELECT username FROM events WHERE username = 'carol'"),
        ["carol"]
    );

    // Exported aliases are single-quoted, as IBM documents an alias definition.
    let ex = export(
        &snapback_rules::RuleSet::builtin(),
        &ExportOptions::default(),
    );
    for r in ex.rules.iter().filter_map(|r| r.aql.as_ref()) {
        assert!(
            r.contains(" AS 'EventTime', ") && r.contains(" AS 'SnapbackRule' "),
            "{r}"
        );
        assert!(!r.contains(" AS \""), "{r}");
    }

    for (query, col, needle) in ITEM8_DID_YOU_MEAN {
        rejects(query, 1, *col, needle);
    }
    // No guess for a word that is far from every keyword.
    let e = parse("SELECT * FROM events BANANA").unwrap_err();
    assert!(!e.message.contains("did you mean"), "{e}");

    // SELECT DISTINCT points to GROUP BY; COUNT(DISTINCT x) to UNIQUECOUNT.
    rejects(
        "SELECT DISTINCT username FROM events",
        1,
        8,
        "SELECT username FROM events GROUP BY username",
    );
    rejects(
        "SELECT username, COUNT(DISTINCT sourceip) FROM events GROUP BY username",
        1,
        24,
        "UNIQUECOUNT(x)",
    );
}
