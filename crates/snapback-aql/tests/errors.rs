//! Rejected queries: exact line, column and reason; and the findings of the linter.

mod common;
use common::rejects;
use snapback_aql::{lint, LintOptions};

#[test]
fn empty_where() {
    rejects(
        "SELECT * FROM events WHERE",
        1,
        27,
        "expected an expression",
    )
}
#[test]
fn missing_from() {
    rejects("SELECT * events", 1, 10, "`,` or FROM")
}
#[test]
fn bad_table() {
    rejects("SELECT * FROM logs", 1, 15, "`events` or `flows`")
}
#[test]
fn unclosed_string() {
    rejects("SELECT * FROM events WHERE a = 'x", 1, 32, "not closed")
}
#[test]
fn unclosed_string_second_line() {
    rejects("SELECT *\nFROM events\nWHERE a = 'x", 3, 11, "not closed")
}
#[test]
fn stray_word_after_string() {
    rejects(
        "SELECT * FROM events WHERE u = 'it's' LAST 5 MINUTES",
        1,
        36,
        "double it",
    )
}
#[test]
fn unknown_function() {
    rejects(
        "SELECT HOUR(starttime) FROM events",
        1,
        8,
        "not an AQL function",
    )
}
#[test]
fn count_distinct() {
    rejects("SELECT COUNT(DISTINCT x) FROM events", 1, 14, "UNIQUECOUNT")
}
#[test]
fn arity() {
    rejects(
        "SELECT DATEFORMAT(devicetime) FROM events",
        1,
        8,
        "takes 2 arguments, found 1",
    )
}
#[test]
fn interval_literal() {
    rejects(
        "SELECT * FROM events WHERE starttime > NOW() - 1 HOUR",
        1,
        50,
        "interval",
    )
}
#[test]
fn column_as_condition() {
    rejects(
        "SELECT * FROM events WHERE starttime LAST 30 MINUTES",
        1,
        28,
        "needs a condition",
    )
}
#[test]
fn column_in_and() {
    rejects(
        "SELECT * FROM events WHERE a = 1 AND b",
        1,
        38,
        "needs a condition",
    )
}
#[test]
fn double_quoted_string() {
    rejects(
        "SELECT * FROM events WHERE username = \"admin\"",
        1,
        39,
        "not a string",
    )
}
#[test]
fn limit_after_time() {
    rejects(
        "SELECT * FROM events LAST 1 HOURS LIMIT 10",
        1,
        35,
        "LIMIT must come before",
    )
}
#[test]
fn text_search_with_or() {
    rejects(
        "SELECT * FROM events WHERE TEXT SEARCH 'a' OR x = 1",
        1,
        44,
        "only be combined with AND",
    )
}
#[test]
fn text_search_not_first() {
    rejects(
        "SELECT * FROM events WHERE x = 1 AND TEXT SEARCH 'a'",
        1,
        38,
        "must come first",
    )
}
#[test]
fn in_with_or() {
    rejects(
        "SELECT * FROM events WHERE p IN (22 OR 443)",
        1,
        37,
        "comma-separated",
    )
}
#[test]
fn aggregate_in_where() {
    rejects(
        "SELECT * FROM events WHERE COUNT(*) > 1",
        1,
        28,
        "not allowed in WHERE",
    )
}
#[test]
fn nested_aggregate() {
    rejects(
        "SELECT MAX(COUNT(*)) FROM events",
        1,
        12,
        "cannot be nested",
    )
}
#[test]
fn chained_comparison() {
    rejects(
        "SELECT * FROM events WHERE 1 < 2 < 3",
        1,
        34,
        "cannot be chained",
    )
}
#[test]
fn comment() {
    rejects("SELECT * FROM events -- all", 1, 22, "comments")
}
#[test]
fn stop_without_start() {
    rejects(
        "SELECT * FROM events STOP '2024-01-01 00:00'",
        1,
        22,
        "STOP without START",
    )
}
#[test]
fn bad_start_time() {
    rejects(
        "SELECT * FROM events START 'yesterday'",
        1,
        28,
        "not a time QRadar reads",
    )
}
#[test]
fn bad_last_unit() {
    rejects(
        "SELECT * FROM events LAST 2 WEEKS",
        1,
        29,
        "MINUTES, HOURS or DAYS",
    )
}
#[test]
fn case_without_when() {
    rejects("SELECT CASE ELSE 1 END FROM events", 1, 13, "expected WHEN")
}
#[test]
fn alias_without_as() {
    rejects("SELECT username u FROM events", 1, 17, "AS name")
}
#[test]
fn enumeration_outside_like() {
    rejects("SELECT ENUMERATION('a') FROM events", 1, 8, "only accepted")
}
#[test]
fn error_has_caret_snippet() {
    let e = snapback_aql::parse("SELECT *\nFROM events\nWHERE x = = 1").expect_err("bad");
    assert_eq!(e.snippet, "  |\n3 | WHERE x = = 1\n  |           ^");
}

fn codes(query: &str) -> Vec<(&'static str, usize, usize)> {
    lint(query, &LintOptions::default())
        .into_iter()
        .map(|d| (d.code, d.line, d.column))
        .collect()
}

#[test]
fn lint_clean_query() {
    assert_eq!(
        codes("SELECT username FROM events WHERE username = 'x' LAST 1 HOURS"),
        []
    )
}
#[test]
fn lint_mixed_and_or_nested() {
    assert_eq!(
        codes("SELECT username FROM events WHERE (a = 1 OR b = 2 AND c = 3) LAST 1 HOURS"),
        [
            ("AQL-W001", 1, 36),
            ("AQL-W002", 1, 36),
            ("AQL-W002", 1, 45),
            ("AQL-W002", 1, 55)
        ]
    )
}
#[test]
fn lint_parenthesised_is_quiet() {
    assert_eq!(codes("SELECT username FROM events WHERE (username = 'a' OR username = 'b') AND username = 'c' LAST 1 HOURS"), [])
}
#[test]
fn lint_unmapped_property() {
    assert_eq!(
        codes("SELECT \"Instance ID\" FROM events LAST 1 HOURS"),
        [("AQL-W002", 1, 8)]
    )
}
#[test]
fn lint_not_ilike_custom_property() {
    assert_eq!(
        codes("SELECT username FROM events WHERE \"Operation\" NOT ILIKE '%x%' LAST 1 HOURS"),
        // issue 17, item 3: the built-in "Operation" is listed with what QRadar needs
        [("AQL-W003", 1, 35), ("AQL-W016", 1, 35)]
    )
}
#[test]
fn lint_not_like_lowered() {
    assert_eq!(
        codes("SELECT username FROM events WHERE NOT (LOWER(username) LIKE '%x%') LAST 1 HOURS"),
        [("AQL-W003", 1, 35)]
    )
}
#[test]
fn lint_not_like_never_null_field() {
    assert_eq!(
        codes("SELECT username FROM events WHERE UTF8(payload) NOT LIKE '%x%' LAST 1 HOURS"),
        []
    )
}
#[test]
fn lint_equals_null() {
    assert_eq!(
        codes("SELECT username FROM events WHERE username = NULL LAST 1 HOURS"),
        [("AQL-W012", 1, 35)]
    )
}
#[test]
fn lint_singular_unit() {
    assert_eq!(
        codes("SELECT username FROM events LAST 1 HOUR"),
        [("AQL-W005", 1, 29)]
    )
}
#[test]
fn lint_no_time_clause() {
    assert_eq!(codes("SELECT username FROM events"), [("AQL-W009", 1, 17)])
}
#[test]
fn lint_offline_function() {
    assert_eq!(
        codes("SELECT ASSETHOSTNAME(sourceip) FROM events LAST 1 HOURS"),
        [("AQL-W006", 1, 8)]
    )
}
#[test]
fn lint_backslash_in_like() {
    assert_eq!(
        codes("SELECT username FROM events WHERE username LIKE '%\\(x\\)%' LAST 1 HOURS"),
        [("AQL-W008", 1, 49)]
    )
}
#[test]
fn lint_date_traps() {
    assert_eq!(
        codes("SELECT DATEFORMAT(starttime, 'YYYY-mm-DD hh') FROM events LAST 1 HOURS"),
        [("AQL-W010", 1, 30)]
    )
}
#[test]
fn lint_date_bad_letter() {
    assert_eq!(
        codes("SELECT DATEFORMAT(starttime, 'yyyy-MM-dd T') FROM events LAST 1 HOURS"),
        [("AQL-E002", 1, 30)]
    )
}
#[test]
fn lint_regex_unsupported() {
    assert_eq!(
        codes("SELECT username FROM events WHERE username MATCHES '(?!root).*' LAST 1 HOURS"),
        [("AQL-W011", 1, 52)]
    )
}
#[test]
fn lint_unfilled_system_field() {
    assert_eq!(
        codes("SELECT destinationip FROM events LAST 1 HOURS"),
        [("AQL-W013", 1, 8)]
    )
}
#[test]
fn lint_parse_error() {
    assert_eq!(codes("SELECT FROM events"), [("AQL-E001", 1, 8)])
}
#[test]
fn lint_having_alias_is_not_a_property() {
    assert_eq!(codes("SELECT sourceip, COUNT(*) AS cnt FROM events GROUP BY sourceip HAVING cnt > 10 ORDER BY cnt DESC LAST 1 HOURS"), [])
}
