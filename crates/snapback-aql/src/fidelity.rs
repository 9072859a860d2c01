//! Lint findings where a query runs offline but QRadar would give other rows (issue 17):
//!
//! | code | severity | finding |
//! |---|---|---|
//! | AQL-W017 | warning | GROUP BY / ORDER BY on a column that is not in the SELECT list |
//! | AQL-W018 | warning | `FROM flows`: network data snapback does not have (`aql run` refuses it) |
//! | AQL-W019 | warning | a filter on QIDNAME, CATEGORYNAME, LOGSOURCENAME, or on `qid`, `category`, `logsourceid`: values made up offline |
//! | AQL-W020 | warning | `NOT REFERENCESETCONTAINS(…)` (and the other conditions on QRadar's own data): UNKNOWN offline, so it removes every row |
//!
//! (AQL-W015 and AQL-W016, on custom properties, are in [`crate::custom`].)

use std::collections::HashSet;

use crate::ast::*;
use crate::error::Span;
use crate::functions::{self, FnKind};
use crate::lint::Severity;

/// One finding, before it is placed in the text.
pub(crate) type Finding = (&'static str, Severity, Span, String);

/// Every finding of this module for `q`.
pub(crate) fn findings(q: &Query) -> Vec<Finding> {
    let mut out = Vec::new();
    if q.from == Table::Flows {
        out.push((
            "AQL-W018",
            Severity::Warning,
            q.from_span,
            "FROM flows is valid AQL, but flows are network traffic records (QFlow, NetFlow, IPFIX) and snapback reads cloud audit logs, which hold events only: `aql run` refuses this query; lint still checks it".to_string(),
        ));
    }
    keys_not_selected(q, &mut out);
    made_up_filters(q, &mut out);
    negated_offline_conditions(q, &mut out);
    out
}

fn normal(q: &Query, span: Span) -> String {
    q.source(span)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// AQL-W017. IBM, "Sample AQL queries": "When you use a GROUP BY or ORDER BY clause to sort
/// information, you can reference column_names from your existing SELECT statement only."
/// A key is in the SELECT list when it is one of its expressions (as written), an alias, an
/// output column's name, or, after `SELECT *`, a QRadar field. Only a warning: IBM's own
/// aggregation example (`SELECT sourceip, COUNT(*) FROM events GROUP BY sourceip,
/// destinationip`) breaks the rule, so QRadar accepts at least some such queries.
fn keys_not_selected(q: &Query, out: &mut Vec<Finding>) {
    let wildcard = q
        .select
        .iter()
        .any(|i| matches!(i, SelectItem::Wildcard(_)));
    let mut selected: HashSet<String> = crate::run::column_names(q)
        .into_iter()
        .map(|n| n.to_lowercase())
        .collect();
    for item in &q.select {
        if let SelectItem::Expr { expr, alias, .. } = item {
            selected.insert(normal(q, expr.span));
            if let ExprKind::Column { name, .. } = &expr.unparen().kind {
                selected.insert(name.to_lowercase());
            }
            if let Some(a) = alias {
                selected.insert(a.name.to_lowercase());
            }
        }
    }
    let keys = q
        .group_by
        .iter()
        .map(|g| ("GROUP BY", g))
        .chain(q.order_by.iter().map(|k| ("ORDER BY", &k.expr)));
    for (clause, key) in keys {
        let text = normal(q, key.span);
        let name = match &key.unparen().kind {
            ExprKind::Column { name, .. } => Some(name.to_lowercase()),
            _ => None,
        };
        let in_select = selected.contains(&text)
            || name.as_ref().is_some_and(|n| selected.contains(n))
            || (wildcard && reads_only_system_fields(key));
        if in_select {
            continue;
        }
        let shown = q
            .source(key.span)
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        out.push((
            "AQL-W017",
            Severity::Warning,
            key.span,
            format!(
                "{clause} {shown}: not a column of the SELECT list; IBM's \"Sample AQL queries\" says GROUP BY and ORDER BY may reference only columns of the SELECT statement, so QRadar may reject this or read it otherwise. Add it to the SELECT list (SELECT …, {shown})"
            ),
        ));
    }
}

fn reads_only_system_fields(e: &Expr) -> bool {
    let mut ok = true;
    e.walk(&mut |x| {
        if let ExprKind::Column { name, .. } = &x.kind {
            ok &= crate::view::is_system_field(name);
        }
    });
    ok
}

/// What a made-up value is offline, and what QRadar has instead.
fn made_up(e: &Expr) -> Option<(&'static str, &'static str)> {
    match &e.kind {
        ExprKind::Func { name, .. } => Some(match name.as_str() {
            "QIDNAME" => (
                "QIDNAME(qid)",
                "offline it is the record's operation (CloudTrail eventName, Azure operationName, GCP methodName); QRadar gives the name of the QID record its DSM maps the event to, which snapback does not have",
            ),
            "CATEGORYNAME" => (
                "CATEGORYNAME(category)",
                "offline it is the AWS eventSource, the Azure resource provider or the GCP serviceName; QRadar gives the name of the event's QRadar category (low-level category of its QID)",
            ),
            "LOGSOURCENAME" => (
                "LOGSOURCENAME(logsourceid)",
                "offline it is '<log source type> @ <account, subscription or project>'; QRadar gives the name your administrator gave the log source",
            ),
            _ => return None,
        }),
        ExprKind::Column { name, .. } => Some(match name.to_ascii_lowercase().as_str() {
            "qid" => (
                "qid",
                "offline it is a number made up from the operation's name; QRadar's QID numbers come from its DSM mapping",
            ),
            "category" => (
                "category",
                "offline it is a number made up from the service's name; QRadar's category numbers are its own",
            ),
            "logsourceid" => (
                "logsourceid",
                "offline it is a number made up from the log source's name; QRadar numbers log sources as they are created",
            ),
            _ => return None,
        }),
        _ => None,
    }
}

/// AQL-W019: WHERE and HAVING (and the SELECT aliases they read) filtering on a made-up value.
fn made_up_filters(q: &Query, out: &mut Vec<Finding>) {
    let mut seen: HashSet<&'static str> = HashSet::new();
    for (clause, root) in [("WHERE", &q.where_), ("HAVING", &q.having)] {
        let Some(root) = root else { continue };
        let mut hits: Vec<(&'static str, &'static str, Span)> = Vec::new();
        root.walk(&mut |e| {
            if let Some((what, why)) = made_up(e) {
                hits.push((what, why, e.span));
            }
            if let ExprKind::Column { name, .. } = &e.kind {
                if let Some(alias_expr) = alias_expr(q, name) {
                    alias_expr.walk(&mut |x| {
                        if let Some((what, why)) = made_up(x) {
                            hits.push((what, why, e.span));
                        }
                    });
                }
            }
        });
        // `QIDNAME(qid)` is one finding, not two.
        let calls: Vec<Span> = hits
            .iter()
            .filter(|(what, _, _)| what.contains('('))
            .map(|(_, _, s)| *s)
            .collect();
        hits.retain(|(what, _, s)| {
            what.contains('(') || !calls.iter().any(|c| c.start <= s.start && s.end <= c.end)
        });
        for (what, why, span) in hits {
            if seen.insert(what) {
                out.push((
                    "AQL-W019",
                    Severity::Warning,
                    span,
                    format!("{clause} filters on {what}: {why}, so this filter will not carry over to QRadar as it is (see docs/aql.md, \"The QRadar view of an event\")"),
                ));
            }
        }
    }
}

fn alias_expr<'q>(q: &'q Query, name: &str) -> Option<&'q Expr> {
    q.select.iter().find_map(|i| match i {
        SelectItem::Expr {
            expr,
            alias: Some(a),
            ..
        } if a.name.eq_ignore_ascii_case(name) => Some(expr),
        _ => None,
    })
}

/// AQL-W020: `NOT REFERENCESETCONTAINS(…)`: the condition is UNKNOWN offline (no reference
/// sets), so is its NOT, and WHERE keeps only TRUE: every row goes.
fn negated_offline_conditions(q: &Query, out: &mut Vec<Finding>) {
    for root in [&q.where_, &q.having].into_iter().flatten() {
        root.walk(&mut |e| {
            let ExprKind::Not(inner) = &e.kind else {
                return;
            };
            let ExprKind::Func { name, .. } = &inner.unparen().kind else {
                return;
            };
            if functions::lookup(name).map(|s| s.kind) != Some(FnKind::OfflineCondition) {
                return;
            }
            out.push((
                "AQL-W020",
                Severity::Warning,
                e.span,
                format!(
                    "NOT {name}(…): snapback has no reference sets, offenses or assets, so {name} is UNKNOWN offline, and so is its NOT: offline this condition removes every row, where QRadar keeps the events it does not match"
                ),
            ));
        });
    }
}
