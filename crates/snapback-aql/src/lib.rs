//! Offline IBM QRadar AQL: lexer, parser, linter and evaluator over cloud audit events, so a
//! QRadar team can test the search it deploys against the same logs snapback scans.
//!
//! ```
//! use snapback_aql::{parse, lint, LintOptions, RunOptions, Precedence};
//!
//! let query = parse("SELECT username, QIDNAME(qid) AS op FROM events \
//!                    WHERE op ILIKE '%snapshot%' OR op ILIKE '%volume%' AND username IS NOT NULL \
//!                    LAST 1 HOURS").unwrap();
//! // The linter shows both readings of the unparenthesised AND/OR.
//! let findings = lint(&query.text, &LintOptions::default());
//! assert!(findings.iter().any(|d| d.code == "AQL-W001"));
//! // Run it (here over no events) under left-to-right precedence.
//! let options = RunOptions { precedence: Precedence::LeftToRight, ..RunOptions::default() };
//! let result = snapback_aql::run(&query, Vec::new(), options);
//! assert_eq!(result.columns, ["username", "op"]);
//! ```
//!
//! # Decisions
//!
//! **Precedence.** IBM does not document whether AND binds tighter than OR, and the evidence
//! points both ways (QRadar's own saved-search serializer writes `(a) or (b) AND c` meaning
//! `(a or b) and c`). The parser therefore keeps every AND/OR chain flat, exactly as written at
//! its parenthesis level ([`ast::ExprKind::Logic`]), and the evaluator reads it under
//! [`Precedence::Sql`] (NOT > AND > OR, the default, as IBM's Sigma backend declares) or
//! [`Precedence::LeftToRight`] (AND and OR equal, left-associative). The linter flags every
//! unparenthesised mix (AQL-W001) and prints both readings, so nobody depends on the guess.
//!
//! **NULL.** SQL three-valued logic: a comparison, LIKE, MATCHES, IN or BETWEEN with a NULL
//! operand is UNKNOWN; `NOT UNKNOWN` is UNKNOWN; WHERE, HAVING and CASE WHEN keep only TRUE.
//! So `username NOT ILIKE '%svc%'` drops events without a username (lint AQL-W003 says so).
//! `CONCAT` reads NULL as the empty string; arithmetic with NULL is NULL; aggregates skip NULLs
//! (`COUNT(*)` counts rows). An empty string stays an empty string, except where the QRadar view
//! leaves a field unset.
//!
//! **Properties.** System fields (`username`, `sourceip`, `devicetime`, …) come from the
//! normalised [`snapback_model::Event`] ([`view`]). Custom event properties (`"Operation"`,
//! `"ResourceType"`, `"ResourceGroup"`, `"SubscriptionId"`, `"ResultType"`) come from a
//! [`PropertyMap`]: a built-in mapping per cloud that makes the seed query meaningful out of
//! the box, overlaid by a user file that maps any name to a JSON path in the raw record. An
//! unmapped property is NULL, as in QRadar; names resolve exactly first, then ignoring case.
//!
//! **Time.** Offline, `starttime` (what LAST/START/STOP filter on) equals the event time, and
//! "now" is the newest event time of the input unless given. DATEFORMAT and START/STOP literals
//! use the console time zone, UTC unless set. A query without a time clause gets QRadar's UI
//! default of the last 5 minutes ([`RunOptions::default_window_ms`]).
//!
//! **Rejected, with a position.** Unknown functions, `COUNT(DISTINCT x)`, a bare column where a
//! condition belongs (`WHERE starttime LAST 30 MINUTES`), a double-quoted name compared as if it
//! were a string or a pattern (`username = "admin"`, `username ILIKE "%admin%"`), a string as a
//! GROUP BY or ORDER BY key (`GROUP BY 'User Name'`: the fix is `"User Name"`), `TEXT SEARCH`
//! anywhere but first and with AND only, `LIMIT` after the time clause, interval literals
//! (`NOW() - 1 HOUR`), `--` comments, and an expression nested deeper than
//! [`limits::MAX_DEPTH`] (256) levels. [`check_runnable`] refuses `FROM flows` for a run: audit
//! logs hold no flows.
//!
//! **Fidelity with QRadar** (issue 17). Custom property paths are read as QRadar reads a JSON
//! property ([`keypath`]: an array needs its index); what a stock QRadar lacks, and what a query
//! filters on that is made up offline, is linted ([`custom`], AQL-W015 to AQL-W020).
//!
//! **Limits.** Queries and the log fields they read are hostile input: no function returns a
//! string over 1 MiB, regular expressions and DATEFORMAT patterns are bounded, and every
//! recursion over an expression is bounded by its depth ([`limits`]). A value over a limit is
//! NULL and the run reports where ([`ResultSet::diagnostics`]); a query over one is an error.

#![forbid(unsafe_code)]

mod aggregate;
pub mod ast;
mod check;
pub mod custom;
pub mod dateformat;
pub mod error;
mod eval;
mod export;
mod fidelity;
pub mod functions;
pub mod keypath;
mod lexer;
pub mod limits;
pub mod lint;
mod parser;
pub mod run;
mod scalar;
mod sink;
mod stream;
pub mod time;
pub mod value;
pub mod view;

use serde::Serialize;

pub use ast::Query;
pub use error::{ParseError, Position, Span};
pub use export::{export, translate, CustomProperty, Export, ExportOptions, ExportedRule};
pub use lint::{lint, lint_query, Diagnostic, LintOptions, Severity};
pub use parser::parse;
pub use run::{
    check_runnable, column_names, run, NowSource, ResultSet, RunError, RunOptions, Runner,
};
pub use snapback_spill::SpillOptions;
pub use value::Value;
pub use view::{PropertiesError, PropertyDef, PropertyMap, PropertySource, QRadarEvent};

/// How an unparenthesised chain of AND and OR is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Precedence {
    /// NOT > AND > OR, as in SQL: `a OR b AND c` is `a OR (b AND c)`.
    #[default]
    Sql,
    /// AND and OR bind equally, left to right: `a OR b AND c` is `(a OR b) AND c`.
    LeftToRight,
}

impl std::str::FromStr for Precedence {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "sql" => Ok(Precedence::Sql),
            "left-to-right" | "ltr" => Ok(Precedence::LeftToRight),
            other => Err(format!(
                "unknown precedence `{other}`: use sql or left-to-right"
            )),
        }
    }
}
