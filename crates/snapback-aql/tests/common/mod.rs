//! Helpers that make each test one line: a query, its fixture, its expected rows.
#![allow(dead_code)]

use std::sync::Arc;

use snapback_aql::{parse, run, Precedence, PropertyMap, RunOptions, Value};
use snapback_ingest::{decode_record, Decoded, Event, Provenance};

pub const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

/// The events of a JSON-lines fixture file, decoded by the ingest crate.
pub fn events(file: &str) -> Vec<Event> {
    let path = format!("{FIXTURES}/{file}");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let value: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{path}:{}: {e}", i + 1));
        let prov = Provenance {
            file: Arc::from(path.as_str()),
            record: i as u64,
            offset: 0,
        };
        for d in decode_record(value, &prov) {
            match d {
                Decoded::Event(e) => out.push(*e),
                other => panic!("{path}:{}: fixture record not decoded: {other:?}", i + 1),
            }
        }
    }
    out
}

/// A cell as the tests write it: NULL, numbers, text.
pub fn cell(v: &Value) -> String {
    match v {
        Value::Null => "NULL".into(),
        other => other.to_string(),
    }
}

pub fn rows_with(query: &str, file: &str, options: RunOptions) -> Vec<String> {
    let q = parse(query).unwrap_or_else(|e| panic!("query does not parse:\n{e}"));
    let result = run(&q, events(file), options);
    result
        .rows
        .iter()
        .map(|r| r.iter().map(cell).collect::<Vec<_>>().join(" | "))
        .collect()
}

pub fn options(precedence: Precedence) -> RunOptions {
    RunOptions {
        precedence,
        ..RunOptions::default()
    }
}

/// Assert the rows of a query over a fixture, under SQL precedence.
pub fn gives(query: &str, file: &str, expected: &[&str]) {
    assert_eq!(
        rows_with(query, file, options(Precedence::Sql)),
        expected,
        "query: {query}"
    );
}

/// Assert the rows under each precedence.
pub fn gives_both(query: &str, file: &str, sql: &[&str], ltr: &[&str]) {
    assert_eq!(
        rows_with(query, file, options(Precedence::Sql)),
        sql,
        "sql precedence: {query}"
    );
    assert_eq!(
        rows_with(query, file, options(Precedence::LeftToRight)),
        ltr,
        "left-to-right: {query}"
    );
}

/// The value of one expression over one event (the Azure snapshot delete of seed-events).
pub fn value_of(expr: &str) -> String {
    value_with(expr, RunOptions::default())
}

pub fn value_with(expr: &str, options: RunOptions) -> String {
    let query = format!("SELECT {expr} AS v FROM events WHERE \"Operation\" = 'MICROSOFT.COMPUTE/SNAPSHOTS/DELETE' LAST 1 DAYS");
    let rows = rows_with(&query, "seed-events.jsonl", options);
    assert_eq!(rows.len(), 1, "{query}");
    rows[0].clone()
}

/// Assert that `expr` evaluates to `expected` (cells rendered as in [`cell`]).
pub fn is(expr: &str, expected: &str) {
    assert_eq!(value_of(expr), expected, "expression: {expr}");
}

/// Assert that a query is rejected at line:col with a message containing `needle`.
pub fn rejects(query: &str, line: usize, col: usize, needle: &str) {
    let e = parse(query).expect_err(query);
    assert_eq!((e.line(), e.column()), (line, col), "{e}");
    assert!(
        e.message.contains(needle),
        "message `{}` lacks `{needle}`",
        e.message
    );
}

pub fn empty_props() -> RunOptions {
    RunOptions {
        properties: PropertyMap::empty(),
        ..RunOptions::default()
    }
}
