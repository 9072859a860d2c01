//! AQL: any text through the lexer and parser, the linter, and, when it parses, the evaluator
//! over a fixed set of AWS, Azure and Google Cloud events, under both operator precedences.
#![no_main]

use libfuzzer_sys::fuzz_target;
use snapback_aql::{
    check_runnable, column_names, lint, parse, run, LintOptions, Precedence, RunOptions,
};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = lint(text, &LintOptions::default());
    let Ok(query) = parse(text) else {
        return;
    };
    let _ = column_names(&query);
    if check_runnable(&query).is_err() {
        return;
    }
    for precedence in [Precedence::Sql, Precedence::LeftToRight] {
        let options = RunOptions {
            precedence,
            default_window_ms: None,
            ..RunOptions::default()
        };
        let result = run(&query, snapback_fuzz::events().iter().cloned(), options);
        for row in &result.rows {
            for cell in row {
                let _ = cell.to_string();
            }
        }
    }
});
