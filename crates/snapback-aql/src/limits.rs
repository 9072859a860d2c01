//! The limits that keep a hostile query, or hostile log fields, from exhausting the stack or
//! the memory of the process. Each one is documented in `docs/aql.md` ("Limits"), and each
//! refusal is located: a parse error or lint finding at a line and column of the query, or a
//! run-time diagnostic ([`RunDiagnostic`]) naming the place in the query (line and column)
//! where a value hit it, with how often.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::rc::Rc;

use regex::{Regex, RegexBuilder};
use serde::Serialize;

use crate::error::{position, Span};

/// Deepest nesting of one expression: the height of its syntax tree, a leaf counting 1.
/// Parentheses, NOT, unary minus, each binary operator of a chain, comparisons, function
/// calls, CASE and IF each add a level. Every recursive walk of an expression (parser, static
/// checks, linter, evaluator) is bounded by it; 256 levels fit in a 2 MiB thread stack in a
/// debug build, and no real search nests a tenth as deep.
pub const MAX_DEPTH: usize = 256;

/// Deepest recursion of the evaluator, in expression nodes: an expression (at most
/// [`MAX_DEPTH`]) plus the SELECT alias it may read (at most [`MAX_DEPTH`] again). A parsed
/// query never reaches it; it guards queries built by hand.
pub const MAX_EVAL_DEPTH: usize = 2 * MAX_DEPTH;

/// Longest string a function may return (CONCAT, REPLACEALL, DATEFORMAT, BASE64, LOWER, …):
/// 1 MiB. Over it the value is NULL and the run reports AQL-R001. QRadar keeps payloads far
/// smaller, so no search that works there meets it; without it `REPLACEALL('', x, y)` grows by
/// `len(x) × len(y)` and nests to any size.
pub const MAX_STRING_BYTES: usize = 1 << 20;

/// Longest regular expression (MATCHES, IMATCHES, REPLACEALL, REPLACEFIRST): 32 KiB of
/// pattern. Parsing a pattern takes memory in proportion to its length before any compiled
/// size limit applies (10 MB of pattern took 1.9 GB).
pub const MAX_REGEX_BYTES: usize = 32 << 10;

/// Compiled size limit of one regular expression (`regex::RegexBuilder::size_limit`).
pub const REGEX_SIZE_LIMIT: usize = 2 << 20;

/// Lazy-DFA cache of one regular expression (`regex::RegexBuilder::dfa_size_limit`); a
/// search that outgrows it gets slower, not wrong.
pub const REGEX_DFA_SIZE_LIMIT: usize = 1 << 20;

/// Compiled regular expressions kept per run (patterns may come from log fields, one per
/// event): the cache is emptied when it holds this many.
pub const REGEX_CACHE_ENTRIES: usize = 32;

/// The message of every "too deep" error.
pub fn depth_message() -> String {
    format!(
        "expression nested deeper than {MAX_DEPTH} levels (snapback's limit: parentheses, NOT, operators and function calls each add a level)"
    )
}

/// Why a value could not be computed: it becomes NULL (UNKNOWN for a condition), and the run
/// reports where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// A function's result would be longer than [`MAX_STRING_BYTES`].
    #[error("{function} would return {bytes} bytes, over snapback's limit of {MAX_STRING_BYTES} (1 MiB): NULL")]
    TooLong {
        function: &'static str,
        bytes: usize,
    },
    /// A regular expression (or a REPLACEALL replacement) that cannot be used.
    #[error("{0}")]
    Regex(String),
    /// A DATEFORMAT pattern that Java rejects, or that snapback's limits refuse.
    #[error("{0}")]
    DatePattern(String),
    /// Recursion deeper than [`MAX_EVAL_DEPTH`] (a query built by hand).
    #[error("expression nested deeper than {MAX_EVAL_DEPTH} levels: not evaluated (NULL)")]
    TooDeep,
    /// Not a limit but a fidelity note: a custom property's path met an array without an
    /// index, where QRadar's JSON keypath finds no field ([`crate::keypath`]).
    #[error("property \"{property}\": its path meets an array at {at} without an index, where QRadar's JSON property finds no field: NULL (as in QRadar). For the first element write {at}[0]/…")]
    ArrayWithoutIndex { property: String, at: String },
    /// Not a limit: `FROM flows` run anyway through the library (the CLI refuses it, see
    /// [`crate::run::check_runnable`]); audit logs hold no flows, so there are no rows.
    #[error(
        "FROM flows: snapback reads cloud audit logs, which hold no flows (network data): no rows"
    )]
    NoFlows,
}

impl Refusal {
    /// The stable code of the run-time diagnostic.
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::TooLong { .. } => "AQL-R001",
            Refusal::Regex(_) => "AQL-R002",
            Refusal::DatePattern(_) => "AQL-R003",
            Refusal::TooDeep => "AQL-R004",
            Refusal::ArrayWithoutIndex { .. } => "AQL-R005",
            Refusal::NoFlows => "AQL-R006",
        }
    }
}

/// `Err(TooLong)` when `bytes` is over [`MAX_STRING_BYTES`].
pub fn check_len(function: &'static str, bytes: usize) -> Result<(), Refusal> {
    if bytes > MAX_STRING_BYTES {
        Err(Refusal::TooLong { function, bytes })
    } else {
        Ok(())
    }
}

/// How a pattern is matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RegexMode {
    /// MATCHES: the whole value (Java's `String.matches`).
    Whole,
    /// IMATCHES: the whole value, ignoring case.
    WholeIgnoreCase,
    /// REPLACEALL, REPLACEFIRST: anywhere.
    Anywhere,
}

/// Whether a regular expression failed on snapback's limits rather than on its syntax.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegexProblem {
    /// Over [`MAX_REGEX_BYTES`] or [`REGEX_SIZE_LIMIT`].
    OverLimit(String),
    /// Syntax Rust's regex does not have (look-around, backreferences) or a syntax error.
    Unsupported(String),
}

impl fmt::Display for RegexProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RegexProblem::OverLimit(m) | RegexProblem::Unsupported(m) => f.write_str(m),
        }
    }
}

/// Compile a pattern under snapback's limits.
pub fn compile_regex(pattern: &str, mode: RegexMode) -> Result<Regex, RegexProblem> {
    if pattern.len() > MAX_REGEX_BYTES {
        return Err(RegexProblem::OverLimit(format!(
            "regular expression of {} bytes, over snapback's limit of {MAX_REGEX_BYTES} (32 KiB)",
            pattern.len()
        )));
    }
    let source = match mode {
        RegexMode::Anywhere => pattern.to_string(),
        RegexMode::Whole | RegexMode::WholeIgnoreCase => format!("^(?:{pattern})$"),
    };
    RegexBuilder::new(&source)
        .case_insensitive(mode == RegexMode::WholeIgnoreCase)
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(REGEX_DFA_SIZE_LIMIT)
        .build()
        .map_err(|e| match e {
            regex::Error::CompiledTooBig(limit) => RegexProblem::OverLimit(format!(
                "regular expression compiles to more than {limit} bytes (snapback's limit)"
            )),
            other => RegexProblem::Unsupported(
                other.to_string().lines().last().unwrap_or("").to_string(),
            ),
        })
}

/// A pattern compiled, or why not.
type Compiled = Result<Rc<Regex>, RegexProblem>;

/// Compiled patterns of one run, failures included, at most [`REGEX_CACHE_ENTRIES`].
#[derive(Default)]
pub(crate) struct RegexCache {
    map: RefCell<HashMap<(RegexMode, String), Compiled>>,
}

impl RegexCache {
    pub fn get(&self, pattern: &str, mode: RegexMode) -> Result<Rc<Regex>, RegexProblem> {
        if pattern.len() > MAX_REGEX_BYTES {
            // refused at once, and not kept: the key alone could be megabytes
            return compile_regex(pattern, mode).map(Rc::new);
        }
        let key = (mode, pattern.to_string());
        if let Some(hit) = self.map.borrow().get(&key) {
            return hit.clone();
        }
        let compiled = compile_regex(pattern, mode).map(Rc::new);
        let mut map = self.map.borrow_mut();
        if map.len() >= REGEX_CACHE_ENTRIES {
            map.clear();
        }
        map.insert(key, compiled.clone());
        compiled
    }
}

/// A value the run could not compute, where, and how often.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunDiagnostic {
    pub code: &'static str,
    pub message: String,
    pub line: usize,
    pub column: usize,
    #[serde(skip)]
    pub span: Span,
    /// How many times (events, groups, rows) it happened; the message is the first one's.
    pub count: u64,
}

impl fmt::Display for RunDiagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: warning[{}]: {}",
            self.line, self.column, self.code, self.message
        )?;
        if self.count > 1 {
            write!(f, " ({} times)", self.count)?;
        }
        Ok(())
    }
}

/// The run-time diagnostics of one run: one per code and place in the query, counted, so
/// their number is bounded by the query's size, not the input's.
#[derive(Default)]
pub(crate) struct RunDiagnostics {
    index: RefCell<HashMap<(&'static str, Span), usize>>,
    list: RefCell<Vec<RunDiagnostic>>,
}

impl RunDiagnostics {
    pub fn record(&self, text: &str, span: Span, refusal: &Refusal) {
        let code = refusal.code();
        let mut index = self.index.borrow_mut();
        let mut list = self.list.borrow_mut();
        if let Some(&i) = index.get(&(code, span)) {
            if let Some(d) = list.get_mut(i) {
                d.count += 1;
            }
            return;
        }
        let pos = position(text, span.start);
        index.insert((code, span), list.len());
        list.push(RunDiagnostic {
            code,
            message: refusal.to_string(),
            line: pos.line,
            column: pos.column,
            span,
            count: 1,
        });
    }

    pub fn take(&self) -> Vec<RunDiagnostic> {
        let mut list = std::mem::take(&mut *self.list.borrow_mut());
        list.sort_by_key(|d| (d.span.start, d.code));
        list
    }
}

/// The first expression node (in source order) deeper than [`MAX_DEPTH`], if any: what the
/// parser refuses, found in a query built by hand. Walks with an explicit stack and does not
/// trust the heights the nodes carry.
pub fn first_too_deep(q: &crate::ast::Query) -> Option<Span> {
    use crate::ast::{Expr, SelectItem};
    let mut roots: Vec<&Expr> = Vec::new();
    for item in &q.select {
        if let SelectItem::Expr { expr, .. } = item {
            roots.push(expr);
        }
    }
    roots.extend(q.where_.iter());
    roots.extend(q.group_by.iter());
    roots.extend(q.having.iter());
    roots.extend(q.order_by.iter().map(|k| &k.expr));
    roots.extend(q.parameters.iter().map(|(_, v)| v));
    for root in roots {
        let mut stack = vec![(root, 1usize)];
        while let Some((e, depth)) = stack.pop() {
            if depth > MAX_DEPTH {
                return Some(e.span);
            }
            stack.extend(e.children().into_iter().rev().map(|c| (c, depth + 1)));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_regex_cache_stays_bounded() {
        let cache = RegexCache::default();
        for i in 0..(3 * REGEX_CACHE_ENTRIES) {
            assert!(cache.get(&format!("a{i}"), RegexMode::Anywhere).is_ok());
            assert!(cache.map.borrow().len() <= REGEX_CACHE_ENTRIES);
        }
        let long = "a".repeat(MAX_REGEX_BYTES + 1);
        assert!(matches!(
            cache.get(&long, RegexMode::Whole),
            Err(RegexProblem::OverLimit(_))
        ));
        assert!(!cache
            .map
            .borrow()
            .keys()
            .any(|(_, p)| p.len() > MAX_REGEX_BYTES));
    }

    #[test]
    fn diagnostics_are_one_per_code_and_place_counted() {
        let d = RunDiagnostics::default();
        let text = "SELECT x\nFROM events";
        let long = Refusal::TooLong {
            function: "CONCAT",
            bytes: MAX_STRING_BYTES + 1,
        };
        for _ in 0..3 {
            d.record(text, Span::new(9, 13), &long);
        }
        d.record(text, Span::new(7, 8), &Refusal::TooDeep);
        let list = d.take();
        let got: Vec<_> = list
            .iter()
            .map(|x| (x.code, x.line, x.column, x.count))
            .collect();
        assert_eq!(got, [("AQL-R004", 1, 8, 1), ("AQL-R001", 2, 1, 3)]);
        assert!(list[1].to_string().ends_with("(3 times)"));
    }
}
