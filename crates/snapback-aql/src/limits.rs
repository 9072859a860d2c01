//! The limits that keep a hostile query, or hostile log fields, from exhausting the stack or
//! the memory of the process. Each one is documented in `docs/aql.md` ("Limits"), and each
//! refusal is located: a parse error or lint finding at a line and column of the query, or a
//! run-time diagnostic naming the function call (line and column) that hit it.

/// Deepest nesting of one expression: the height of its syntax tree, a leaf counting 1.
/// Parentheses, NOT, unary minus, each binary operator of a chain, comparisons, function
/// calls, CASE and IF each add a level. Every recursive walk of an expression (parser, static
/// checks, linter, evaluator) is bounded by it; 256 levels fit in a 2 MiB thread stack in a
/// debug build, and no real search nests a tenth as deep.
pub const MAX_DEPTH: usize = 256;

/// The message of every "too deep" error.
pub fn depth_message() -> String {
    format!(
        "expression nested deeper than {MAX_DEPTH} levels (snapback's limit: parentheses, NOT, operators and function calls each add a level)"
    )
}
