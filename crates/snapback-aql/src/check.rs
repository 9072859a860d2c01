//! Static checks run after parsing: rules of AQL that the grammar alone does not express, and
//! that QRadar enforces (or that can only be a mistake). A query that fails one is rejected with
//! a positioned error; softer findings are the linter's.

use std::collections::HashSet;

use crate::ast::*;
use crate::error::{ParseError, Span};
use crate::functions::{self, FnKind};

pub fn check(q: &Query) -> Result<(), ParseError> {
    let err = |span: Span, msg: String| ParseError::new(&q.text, span, msg);
    let aliases: HashSet<String> = q
        .select
        .iter()
        .filter_map(|item| match item {
            SelectItem::Expr { alias: Some(a), .. } => Some(a.name.to_lowercase()),
            _ => None,
        })
        .collect();

    // TEXT SEARCH: only in WHERE, first, and joined by AND only.
    let mut allowed_text_search = None;
    if let Some(w) = &q.where_ {
        match &w.kind {
            ExprKind::TextSearch(_) => allowed_text_search = Some(w.span),
            ExprKind::Logic { first, rest } => {
                if matches!(first.kind, ExprKind::TextSearch(_)) {
                    allowed_text_search = Some(first.span);
                    if let Some((_, op_span, _)) = rest.iter().find(|(op, _, _)| *op == LogicOp::Or)
                    {
                        return Err(err(
                            *op_span,
                            "TEXT SEARCH can only be combined with AND, not OR".into(),
                        ));
                    }
                }
            }
            _ => {}
        }
        condition(q, w, "WHERE")?;
        if let Some(agg) = find_aggregate(w) {
            return Err(err(
                agg,
                "aggregate functions are not allowed in WHERE; filter groups with HAVING".into(),
            ));
        }
    }
    if let Some(h) = &q.having {
        condition(q, h, "HAVING")?;
    }
    let keys = q
        .group_by
        .iter()
        .map(|g| ("GROUP BY", g))
        .chain(q.order_by.iter().map(|k| ("ORDER BY", &k.expr)));
    for (clause, key) in keys {
        if let Some((span, msg)) = string_key(q, clause, key, &aliases) {
            return Err(err(span, msg));
        }
    }
    for g in &q.group_by {
        if let Some(agg) = find_aggregate(g) {
            return Err(err(
                agg,
                "aggregate functions are not allowed in GROUP BY".into(),
            ));
        }
    }

    let mut all: Vec<&Expr> = Vec::new();
    for item in &q.select {
        if let SelectItem::Expr { expr, .. } = item {
            all.push(expr);
        }
    }
    all.extend(q.where_.iter());
    all.extend(q.group_by.iter());
    all.extend(q.having.iter());
    all.extend(q.order_by.iter().map(|k| &k.expr));

    let mut first_error: Option<ParseError> = None;
    for root in all {
        walk_with_parent(root, None, &mut |e, parent| {
            if first_error.is_some() {
                return;
            }
            if let Some(msg) = node_error(q, e, parent, allowed_text_search, &aliases) {
                first_error = Some(err(msg.0, msg.1));
            }
        });
        if let Some(e) = first_error {
            return Err(e);
        }
    }
    Ok(())
}

/// Every node below `e` (itself included) with its parent, parents first; with an explicit
/// stack, so that no nesting can exhaust the thread's.
fn walk_with_parent<'a>(
    e: &'a Expr,
    parent: Option<&'a Expr>,
    f: &mut dyn FnMut(&'a Expr, Option<&'a Expr>),
) {
    let mut stack = vec![(e, parent)];
    while let Some((e, parent)) = stack.pop() {
        f(e, parent);
        stack.extend(e.children().into_iter().rev().map(|c| (c, Some(e))));
    }
}

fn node_error(
    q: &Query,
    e: &Expr,
    parent: Option<&Expr>,
    allowed_text_search: Option<Span>,
    aliases: &HashSet<String>,
) -> Option<(Span, String)> {
    match &e.kind {
        ExprKind::TextSearch(_) if Some(e.span) != allowed_text_search => Some((
            e.span,
            "TEXT SEARCH must come first in the WHERE clause, joined to the rest by AND".into(),
        )),
        ExprKind::Not(inner) => condition_error(q, inner, "NOT"),
        ExprKind::Logic { first, rest } => {
            let op = rest.first().map_or("AND", |(op, _, _)| op.as_str());
            std::iter::once(first.as_ref())
                .chain(rest.iter().map(|(_, _, x)| x))
                .find_map(|x| condition_error(q, x, op))
        }
        ExprKind::Case {
            operand: None,
            whens,
            ..
        } => whens
            .iter()
            .find_map(|(cond, _)| condition_error(q, cond, "WHEN")),
        ExprKind::If { cond, .. } => condition_error(q, cond, "IF"),
        ExprKind::Func { name, args, .. } => {
            if functions::is_aggregate(name) {
                if let Some(inner) = args.iter().find_map(find_aggregate) {
                    return Some((
                        inner,
                        format!("aggregate functions cannot be nested inside {name}"),
                    ));
                }
            }
            if name == "ENUMERATION" {
                let ok = matches!(parent.map(|p| &p.kind), Some(ExprKind::Pattern { kind, pattern, .. })
                    if !kind.is_regex() && pattern.span == e.span);
                if !ok {
                    return Some((
                        e.span,
                        "ENUMERATION(...) is not AQL; it is only accepted (as a nonstandard extension) right after LIKE or ILIKE".into(),
                    ));
                }
            }
            None
        }
        ExprKind::Compare { left, right, .. } => quoted_text(left, right, aliases, "a string"),
        // As `= "admin"`: a double-quoted name where a pattern belongs (issue 17, item 8).
        ExprKind::Pattern { expr, pattern, .. } => quoted_text(expr, pattern, aliases, "a pattern"),
        _ => None,
    }
}

/// `x = "admin"`, `x ILIKE "%admin%"`: a double-quoted name (a property) where the text was
/// meant, unless it names a QRadar field or an alias, or the left side is a property too.
fn quoted_text(
    left: &Expr,
    right: &Expr,
    aliases: &HashSet<String>,
    what: &str,
) -> Option<(Span, String)> {
    let ExprKind::Column { name, quoted: true } = &right.unparen().kind else {
        return None;
    };
    let left_quoted = matches!(left.unparen().kind, ExprKind::Column { quoted: true, .. });
    let known = crate::view::is_system_field(name) || aliases.contains(&name.to_lowercase());
    if left_quoted || known {
        return None;
    }
    Some((
        right.span,
        format!(
            "\"{name}\" is a property name (double quotes), not {what}: for the text write '{name}' (IBM, \"Quotation marks\": single quotes for strings)"
        ),
    ))
}

/// `GROUP BY 'User Name'`, `ORDER BY 'x'`: a string constant as a key groups every row
/// together, or sorts nothing (issue 17, item 4). IBM writes an existing alias in double
/// quotes in GROUP BY and ORDER BY ("Quotation marks"); which alias was meant is named.
fn string_key(
    q: &Query,
    clause: &str,
    key: &Expr,
    aliases: &HashSet<String>,
) -> Option<(Span, String)> {
    let ExprKind::Str(text) = &key.unparen().kind else {
        return None;
    };
    let effect = if clause == "GROUP BY" {
        "puts every row in one group"
    } else {
        "sorts nothing"
    };
    let fix = if aliases.contains(&text.to_lowercase()) {
        let alias = q
            .select
            .iter()
            .find_map(|i| match i {
                SelectItem::Expr { alias: Some(a), .. } if a.name.eq_ignore_ascii_case(text) => {
                    Some(a.name.as_str())
                }
                _ => None,
            })
            .unwrap_or(text);
        format!(
            "to {} the column named '{alias}', write {clause} \"{alias}\" (IBM, \"Quotation marks\": an existing alias in GROUP BY or ORDER BY takes double quotes)",
            if clause == "GROUP BY" { "group by" } else { "sort by" }
        )
    } else {
        format!("name a column instead (double quotes for a name with spaces: \"{text}\")")
    };
    Some((
        key.span,
        format!(
            "{clause} '{text}' uses the text '{text}' (single quotes make a string), which {effect}: {fix}"
        ),
    ))
}

fn condition(q: &Query, e: &Expr, clause: &str) -> Result<(), ParseError> {
    match condition_error(q, e, clause) {
        Some((span, msg)) => Err(ParseError::new(&q.text, span, msg)),
        None => Ok(()),
    }
}

/// Why `e` cannot stand where a condition is expected, if it cannot.
fn condition_error(q: &Query, e: &Expr, context: &str) -> Option<(Span, String)> {
    let inner = e.unparen();
    let what = match &inner.kind {
        ExprKind::Compare { .. }
        | ExprKind::Pattern { .. }
        | ExprKind::In { .. }
        | ExprKind::Between { .. }
        | ExprKind::IsNull { .. }
        | ExprKind::Not(_)
        | ExprKind::Logic { .. }
        | ExprKind::TextSearch(_)
        | ExprKind::Bool(_)
        | ExprKind::Null
        | ExprKind::Case { .. }
        | ExprKind::If { .. } => return None,
        ExprKind::Func { name, .. } => match functions::lookup(name).map(|s| s.kind) {
            Some(FnKind::Condition | FnKind::OfflineCondition) => return None,
            Some(FnKind::Offline) if name.contains("::") => return None,
            _ => format!("the value of {name}(...)"),
        },
        ExprKind::Column { name, .. } => format!("the column `{name}`"),
        _ => format!("the value `{}`", q.source(inner.span)),
    };
    Some((
        inner.span,
        format!(
            "{context} needs a condition here, but this is {what}; compare it (for example `= 'x'`, `IS NOT NULL`)"
        ),
    ))
}

fn find_aggregate(e: &Expr) -> Option<Span> {
    let mut found = None;
    e.walk(&mut |x| {
        if found.is_none() {
            if let ExprKind::Func { name, .. } = &x.kind {
                if functions::is_aggregate(name) {
                    found = Some(x.span);
                }
            }
        }
    });
    found
}
