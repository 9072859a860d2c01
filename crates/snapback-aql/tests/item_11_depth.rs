//! Issue 13, item 11 (nesting): 5,000 nested parentheses or 50,000 `NOT` aborted the process
//! on a stack overflow, with no position. Now an expression nests at most 256 levels
//! (`snapback_aql::limits::MAX_DEPTH`), and deeper ones are refused with a located error, by
//! the parser, `lint` and so `aql run`.
//!
//! Every test runs its work on a thread with an explicit 2 MiB stack — what `cargo test` gives
//! its own threads — so that an unbounded recursion crashes the test binary rather than
//! passing on a bigger main-thread stack. On the code before this change, the first three
//! tests abort the binary ("has overflowed its stack"): a debug build overflowed 2 MiB at
//! about 100 nested parentheses.
//!
//! Only `parse`, `lint` and `run` are used here, so that this file also builds against the old
//! code.

mod common;

use snapback_aql::{lint, parse, run, LintOptions, RunOptions};

const WHERE: &str = "SELECT * FROM events WHERE ";

/// Run `f` on a thread with a 2 MiB stack and return what it returns.
fn on_small_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(f)
        .expect("spawn")
        .join()
        .expect("the work panicked")
}

/// A parse error's line, column and message.
type Located = (usize, usize, String);

/// Parse `query` (must fail) and lint it, on a small stack; the error and the lint findings'
/// codes and positions.
fn refused(query: String) -> (Located, Vec<(String, usize, usize)>) {
    on_small_stack(move || {
        let e = parse(&query).expect_err("too deep, yet parsed");
        let findings = lint(&query, &LintOptions::default())
            .into_iter()
            .map(|d| (d.code.to_string(), d.line, d.column))
            .collect();
        ((e.line(), e.column(), e.message), findings)
    })
}

fn assert_too_deep(query: String, column: usize) {
    let ((line, col, message), findings) = refused(query);
    assert_eq!((line, col), (1, column), "{message}");
    assert!(
        message.contains("nested deeper than 256 levels"),
        "{message}"
    );
    assert_eq!(findings, [("AQL-E001".to_string(), 1, column)]);
}

#[test]
fn item_11_five_thousand_nested_parentheses_are_refused_where_the_limit_is_passed() {
    let query = format!("{WHERE}{}a = 1{}", "(".repeat(5000), ")".repeat(5000));
    // WHERE opens level 1 and the k-th `(` level k + 1: the error is at the first token of
    // level 257, the 257th `(`, column 28 + 256.
    assert_eq!(&query[WHERE.len() + 256..WHERE.len() + 257], "(");
    assert_too_deep(query, WHERE.len() + 256 + 1);
}

#[test]
fn item_11_fifty_thousand_nots_are_refused_at_the_nots_past_the_limit() {
    let query = format!("{WHERE}{}a = 1", "NOT ".repeat(50_000));
    // The k-th NOT opens level k + 1: the 256th NOT is the first past the limit.
    assert_too_deep(query, WHERE.len() + 255 * 4 + 1);
}

#[test]
fn item_11_deep_function_calls_and_case_are_refused_too() {
    let calls = format!(
        "SELECT {}username{} FROM events",
        "LOWER(".repeat(5000),
        ")".repeat(5000)
    );
    // SELECT opens level 1; the k-th LOWER( opens level k + 1: error at the 257th LOWER.
    assert_too_deep(calls, "SELECT ".len() + 256 * 6 + 1);
    let case = format!(
        "SELECT {}1{} FROM events",
        "CASE WHEN a = 1 THEN ".repeat(3000),
        " END".repeat(3000)
    );
    let ((_, _, message), findings) = refused(case);
    assert!(
        message.contains("nested deeper than 256 levels"),
        "{message}"
    );
    assert_eq!(findings.len(), 1);
}

#[test]
fn item_11_long_operator_chains_are_refused_at_the_operator_that_passes_the_limit() {
    // `1 + 1 + …` is built left-deep: the n-th `+` makes a node n + 1 levels tall, and the
    // 256th is the first over 256. Before, the parser read the chain in a loop but the tree it
    // built overflowed the stack of the checks after it.
    let query = format!("SELECT 1{} FROM events", " + 1".repeat(100_000));
    assert_too_deep(query, "SELECT 1".len() + 255 * 4 + 2);
    // `^` is right-associative, built right-deep: counted from the last, the 256th `^` (the
    // 45th of 300) is the first whose node is over 256 levels.
    let power = format!("SELECT 2{} FROM events", " ^ 2".repeat(300));
    let ((_, col, message), _) = refused(power);
    assert!(message.contains("nested deeper"), "{message}");
    assert_eq!(col, "SELECT 2".len() + 44 * 4 + 2);
}

/// The deepest expression of each kind that is allowed parses, lints and runs on a 2 MiB
/// stack, in a debug build: the limit is one the process can afford.
#[test]
fn item_11_the_deepest_allowed_expressions_parse_lint_and_run_on_a_2_mib_stack() {
    let queries = [
        // 254 parentheses + comparison + its operands = 256 levels
        format!(
            "{WHERE}{}username = 'bob'{}",
            "(".repeat(254),
            ")".repeat(254)
        ),
        format!("{WHERE}{}username = 'bob'", "NOT ".repeat(254)),
        format!(
            "SELECT {}username{} AS v FROM events",
            "LOWER(".repeat(255),
            ")".repeat(255)
        ),
        format!("SELECT 1{} AS v FROM events", " + 1".repeat(255)),
        // an alias read inside another expression: the evaluator goes down both
        format!(
            "SELECT {}username{} AS a, {}a{} AS b FROM events",
            "LOWER(".repeat(255),
            ")".repeat(255),
            "UPPER(".repeat(255),
            ")".repeat(255)
        ),
    ];
    for query in queries {
        let events = common::events("seed-events.jsonl");
        let (rows, findings) = on_small_stack(move || {
            let q = parse(&query).unwrap_or_else(|e| panic!("{e}"));
            let findings = snapback_aql::lint_query(&q, &LintOptions::default());
            let options = RunOptions {
                default_window_ms: None,
                ..RunOptions::default()
            };
            (run(&q, events, options).rows.len(), findings)
        });
        assert!(rows > 0);
        assert!(findings.iter().all(|d| d.code != "AQL-E001"));
    }
    // and one more level is refused
    let deeper = format!(
        "{WHERE}{}username = 'bob'{}",
        "(".repeat(255),
        ")".repeat(255)
    );
    let ((_, col, _), _) = refused(deeper);
    assert_eq!(
        col,
        WHERE.len() + 1,
        "the outermost `(`, whose subtree is 257 tall"
    );
}
