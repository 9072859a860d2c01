//! The linter: findings about a query that parses, each with a stable code and a position.
//!
//! | code | severity | finding |
//! |---|---|---|
//! | AQL-E001 | error | the query does not parse (or breaks a rule QRadar enforces) |
//! | AQL-E002 | error | DATEFORMAT pattern Java rejects (a letter, `XXXX`), or over snapback's limits |
//! | AQL-E003 | error | regular expression over snapback's limits, or a REPLACEALL replacement Java rejects |
//! | AQL-W001 | warning | AND and OR mixed at one level without parentheses: both readings shown |
//! | AQL-W002 | warning | a property that is not mapped (NULL for every event) |
//! | AQL-W003 | warning | NOT LIKE / NOT ILIKE / NOT MATCHES / NOT IN over a value that may be NULL |
//! | AQL-W004 | note | searched CASE (`CASE WHEN`) is not shown in IBM's documentation |
//! | AQL-W005 | warning | time unit IBM does not document (`HOUR`, `SECONDS`, …) |
//! | AQL-W006 | warning | function that needs QRadar state: NULL offline |
//! | AQL-W007 | warning | nonstandard construct (`ILIKE ENUMERATION(...)`) |
//! | AQL-W008 | note | backslash in a LIKE pattern: it is literal, it does not escape `%` or `_` |
//! | AQL-W009 | note | no time clause: QRadar searches the last 5 minutes |
//! | AQL-W010 | warning | DATEFORMAT trap: `YYYY` (week-year), `DD` (day of year), `hh` without `a`, `mm` as month |
//! | AQL-W011 | warning | regular expression snapback cannot evaluate (look-around, backreferences) |
//! | AQL-W012 | warning | `= NULL` / `!= NULL`: never TRUE; use IS \[NOT\] NULL |
//! | AQL-W013 | note | a QRadar field that cloud audit events never fill (NULL offline) |
//! | AQL-W014 | note | COLLATE is ignored offline (ordering is by code point) |
//! | AQL-W015 | warning | a property's path crosses an array without an index: NULL in QRadar and offline |
//! | AQL-W016 | warning | a custom property from snapback's mapping (a note for one from --properties): a stock QRadar has none; the extraction to create |
//! | AQL-W017 | warning | GROUP BY / ORDER BY on a column not in the SELECT list |
//! | AQL-W018 | warning | `FROM flows`: snapback has no flows (`aql run` refuses it) |
//! | AQL-W019 | warning | a filter on QIDNAME / CATEGORYNAME / LOGSOURCENAME / qid / category / logsourceid: values made up offline |
//! | AQL-W020 | warning | `NOT REFERENCESETCONTAINS(…)` and the like: UNKNOWN offline, removes every row |

use std::collections::HashSet;
use std::fmt;

use serde::Serialize;

use crate::ast::*;
use crate::custom;
use crate::error::{position, snippet, Position, Span};
use crate::functions::{self, FnKind};
use crate::limits::{compile_regex, RegexMode, RegexProblem};
use crate::view::{self, PropertyMap};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Note,
    Warning,
    Error,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Note => "note",
            Severity::Warning => "warning",
            Severity::Error => "error",
        })
    }
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub code: &'static str,
    pub severity: Severity,
    pub message: String,
    pub line: usize,
    pub column: usize,
    #[serde(skip)]
    pub span: Span,
    /// The line with a caret under the finding.
    #[serde(skip)]
    pub snippet: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: {}[{}]: {}\n{}",
            self.line, self.column, self.severity, self.code, self.message, self.snippet
        )
    }
}

/// What the linter checks against.
#[derive(Debug, Clone, Default)]
pub struct LintOptions {
    /// The custom property mapping the query will run with.
    pub properties: PropertyMap,
}

/// Lint a query text. A query that does not parse gives one AQL-E001.
pub fn lint(text: &str, options: &LintOptions) -> Vec<Diagnostic> {
    match crate::parse(text) {
        Err(e) => vec![Diagnostic {
            code: "AQL-E001",
            severity: Severity::Error,
            message: e.message.clone(),
            line: e.position.line,
            column: e.position.column,
            span: e.span,
            snippet: e.snippet,
        }],
        Ok(q) => lint_query(&q, options),
    }
}

/// Lint a parsed query. A query nested deeper than the parser allows (one built by hand) gives
/// one AQL-E001 at the first node too deep, as the parser would.
pub fn lint_query(q: &Query, options: &LintOptions) -> Vec<Diagnostic> {
    if let Some(span) = crate::limits::first_too_deep(q) {
        let Position { line, column } = position(&q.text, span.start);
        return vec![Diagnostic {
            code: "AQL-E001",
            severity: Severity::Error,
            message: crate::limits::depth_message(),
            line,
            column,
            span,
            snippet: snippet(&q.text, span),
        }];
    }
    let mut l = Linter {
        q,
        props: &options.properties,
        out: Vec::new(),
        seen_names: HashSet::new(),
    };
    l.run();
    let mut out = l.out;
    out.sort_by_key(|d| (d.span.start, d.code));
    out
}

struct Linter<'a> {
    q: &'a Query,
    props: &'a PropertyMap,
    out: Vec<Diagnostic>,
    seen_names: HashSet<String>,
}

impl<'a> Linter<'a> {
    fn push(&mut self, code: &'static str, severity: Severity, span: Span, message: String) {
        let Position { line, column } = position(&self.q.text, span.start);
        self.out.push(Diagnostic {
            code,
            severity,
            message,
            line,
            column,
            span,
            snippet: snippet(&self.q.text, span),
        });
    }

    fn text(&self, span: Span) -> String {
        self.q
            .source(span)
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn run(&mut self) {
        let q = self.q;
        let aliases: HashSet<String> = q
            .select
            .iter()
            .filter_map(|i| match i {
                SelectItem::Expr { alias: Some(a), .. } => Some(a.name.to_lowercase()),
                _ => None,
            })
            .collect();
        let outputs: HashSet<String> = crate::run::column_names(q)
            .into_iter()
            .map(|n| n.to_lowercase())
            .collect();

        let mut exprs: Vec<(&Expr, bool)> = Vec::new(); // (expr, may reference outputs)
        for item in &q.select {
            if let SelectItem::Expr { expr, .. } = item {
                exprs.push((expr, false));
            }
        }
        exprs.extend(q.where_.iter().map(|e| (e, false)));
        exprs.extend(q.group_by.iter().map(|e| (e, false)));
        exprs.extend(q.having.iter().map(|e| (e, true)));
        exprs.extend(q.order_by.iter().map(|k| (&k.expr, true)));

        for (root, outputs_ok) in exprs {
            let mut nodes: Vec<&Expr> = Vec::new();
            root.walk(&mut |e| nodes.push(e));
            for e in nodes {
                self.node(e, &aliases, if outputs_ok { Some(&outputs) } else { None });
            }
        }

        match &q.time {
            None => self.push(
                "AQL-W009",
                Severity::Note,
                q.from_span,
                "no time clause: QRadar searches the last 5 minutes (the REST API the last 60 seconds); add LAST n MINUTES|HOURS|DAYS or START … STOP".into(),
            ),
            Some(TimeClause::Last {
                documented_unit: false,
                span,
                ..
            }) => self.push(
                "AQL-W005",
                Severity::Warning,
                *span,
                "IBM documents only MINUTES, HOURS and DAYS (plural, even for 1); QRadar may reject this unit".into(),
            ),
            _ => {}
        }
        for (code, severity, span, message) in crate::fidelity::findings(q) {
            self.push(code, severity, span, message);
        }
        for key in &q.order_by {
            if let Some(c) = &key.collate {
                self.push(
                    "AQL-W014",
                    Severity::Note,
                    key.expr.span,
                    format!("COLLATE '{c}' is ignored offline: strings sort by code point"),
                );
            }
        }
    }

    fn node(&mut self, e: &Expr, aliases: &HashSet<String>, outputs: Option<&HashSet<String>>) {
        match &e.kind {
            ExprKind::Logic { first, rest } => self.mixed_logic(e, first, rest),
            ExprKind::Column { name, .. } => self.name(e, name, aliases, outputs),
            ExprKind::Pattern {
                kind,
                negated,
                expr,
                pattern,
                ..
            } => self.pattern(e, *kind, *negated, expr, pattern, aliases),
            ExprKind::In { negated: true, expr, .. } => {
                self.nullable_negation(e, expr, "NOT IN", aliases)
            }
            ExprKind::Not(inner) => {
                if let ExprKind::Pattern {
                    kind,
                    negated: false,
                    expr,
                    ..
                } = &inner.unparen().kind
                {
                    self.nullable_negation(e, expr, &format!("NOT (… {} …)", kind.as_str()), aliases);
                }
            }
            ExprKind::Compare { op, left, right }
                if matches!(op, CmpOp::Eq | CmpOp::Ne)
                    && (matches!(left.unparen().kind, ExprKind::Null)
                        || matches!(right.unparen().kind, ExprKind::Null)) =>
            {
                let fix = if *op == CmpOp::Eq {
                    "IS NULL"
                } else {
                    "IS NOT NULL"
                };
                self.push(
                    "AQL-W012",
                    Severity::Warning,
                    e.span,
                    format!("a comparison with NULL is never TRUE; write `{fix}`"),
                );
            }
            ExprKind::Case {
                operand: None,
                ..
            } => self.push(
                "AQL-W004",
                Severity::Note,
                Span::new(e.span.start, e.span.start + 4),
                "searched CASE (CASE WHEN …) is not shown in IBM's AQL documentation (only CASE x WHEN …); it is widely used, but unverified against QRadar".into(),
            ),
            ExprKind::Func { name, args, name_span } => {
                if let Some(FnKind::Offline | FnKind::OfflineCondition) =
                    functions::lookup(name).map(|s| s.kind)
                {
                    self.push(
                        "AQL-W006",
                        Severity::Warning,
                        *name_span,
                        format!("{name} needs QRadar's own data (assets, offences, reference sets, rules): it is NULL offline"),
                    );
                }
                if name == "DATEFORMAT" {
                    if let Some(ExprKind::Str(p)) = args.get(1).map(|a| &a.unparen().kind) {
                        self.date_pattern(args[1].span, p);
                    }
                }
                if name == "REPLACEALL" || name == "REPLACEFIRST" {
                    self.replace_call(name, args);
                }
            }
            _ => {}
        }
    }

    /// `x [NOT] LIKE|ILIKE|MATCHES|IMATCHES p`.
    fn pattern(
        &mut self,
        e: &Expr,
        kind: PatternKind,
        negated: bool,
        expr: &Expr,
        pattern: &Expr,
        aliases: &HashSet<String>,
    ) {
        if negated {
            self.nullable_negation(e, expr, &format!("NOT {}", kind.as_str()), aliases);
        }
        if let ExprKind::Str(p) = &pattern.unparen().kind {
            if kind.is_regex() {
                let mode = if kind.case_insensitive() {
                    RegexMode::WholeIgnoreCase
                } else {
                    RegexMode::Whole
                };
                self.regex(pattern.span, p, mode);
            } else if p.contains('\\') {
                self.push(
                    "AQL-W008",
                    Severity::Note,
                    pattern.span,
                    "backslash is a literal character in AQL LIKE patterns: it does not escape `%` or `_`".into(),
                );
            }
        }
        if let ExprKind::Func { name, .. } = &pattern.unparen().kind {
            if name == "ENUMERATION" {
                self.push(
                    "AQL-W007",
                    Severity::Warning,
                    pattern.span,
                    format!(
                        "`{} ENUMERATION(...)` is not in IBM's AQL documentation (a third-party generator emits it); snapback reads it as \"matches any of the patterns\", QRadar may reject it — prefer (x {} 'a' OR x {} 'b')",
                        kind.as_str(), kind.as_str(), kind.as_str()
                    ),
                );
            }
        }
    }

    /// A literal regular expression: AQL-E003 when over snapback's limits (run refuses it),
    /// AQL-W011 when Rust's regex cannot read it (UNKNOWN for every event).
    fn regex(&mut self, span: Span, p: &str, mode: RegexMode) -> Option<regex::Regex> {
        match compile_regex(p, mode) {
            Ok(re) => Some(re),
            Err(RegexProblem::OverLimit(m)) => {
                self.push(
                    "AQL-E003",
                    Severity::Error,
                    span,
                    format!("{m}: `aql run` refuses it (NULL, UNKNOWN in a condition)"),
                );
                None
            }
            Err(RegexProblem::Unsupported(_)) => {
                self.push(
                    "AQL-W011",
                    Severity::Warning,
                    span,
                    "snapback cannot evaluate this regular expression (Rust's regex has no look-around or backreferences); it is UNKNOWN for every event".into(),
                );
                None
            }
        }
    }

    /// REPLACEALL / REPLACEFIRST with a literal pattern (and replacement): what run refuses.
    fn replace_call(&mut self, name: &str, args: &[Expr]) {
        let literal = |i: usize| match args.get(i).map(|a| &a.unparen().kind) {
            Some(ExprKind::Str(s)) => Some(s.as_str()),
            _ => None,
        };
        let (Some(p), Some(pattern)) = (literal(0), args.first()) else {
            return;
        };
        let Some(re) = self.regex(pattern.span, p, RegexMode::Anywhere) else {
            return;
        };
        if let (Some(rep), Some(arg)) = (literal(2), args.get(2)) {
            if let Err(m) = crate::scalar::check_replacement(rep, &re) {
                self.push(
                    "AQL-E003",
                    Severity::Error,
                    arg.span,
                    format!("{name}: {m} (Java rejects this replacement; `aql run` gives NULL)"),
                );
            }
        }
    }

    fn date_pattern(&mut self, span: Span, p: &str) {
        if let Err(m) = crate::dateformat::validate(p) {
            self.push("AQL-E002", Severity::Error, span, m);
            return;
        }
        // Look only outside quoted text.
        let bare: String = p.split('\'').step_by(2).collect::<Vec<_>>().join(" ");
        let mut traps = Vec::new();
        if bare.contains("YYYY") || bare.contains("YY") && !bare.contains("yy") {
            traps.push("`YYYY` is the week-year (differs from `yyyy` around New Year)");
        }
        if bare.contains('D') {
            traps.push("`D` is the day of the year; the day of the month is `d`");
        }
        if bare.contains('h') && !bare.contains('a') {
            traps.push("`hh` is the 12-hour clock and there is no `a` (AM/PM); 24-hour is `HH`");
        }
        if bare.contains("yyyy-mm") || bare.contains("mm-dd") || bare.contains("mm/dd") {
            traps.push("`mm` is minutes; the month is `MM`");
        }
        if !traps.is_empty() {
            self.push("AQL-W010", Severity::Warning, span, traps.join("; "));
        }
    }

    fn name(
        &mut self,
        e: &Expr,
        name: &str,
        aliases: &HashSet<String>,
        outputs: Option<&HashSet<String>>,
    ) {
        let lower = name.to_lowercase();
        if aliases.contains(&lower) || outputs.is_some_and(|o| o.contains(&lower)) {
            return;
        }
        if !self.seen_names.insert(lower.clone()) {
            return;
        }
        if view::is_system_field(name) {
            if !view::system_field_filled(name) {
                self.push(
                    "AQL-W013",
                    Severity::Note,
                    e.span,
                    format!("`{name}` is a QRadar field that cloud audit events do not fill: NULL for every event offline"),
                );
            }
            return;
        }
        let Some(def) = self.props.get(name) else {
            let mut msg = format!(
                "property \"{name}\" is not mapped, so it is NULL for every event (as in QRadar when no custom property of that name exists); map it with --properties FILE"
            );
            if let Some(builtin) = PropertyMap::default().get(name) {
                msg.push_str(&format!(
                    "\n  snapback's built-in mapping has it, and a stock QRadar does not; to create it in QRadar:\n    {}",
                    custom::extraction_lines(builtin).join("\n    ")
                ));
            }
            self.push("AQL-W002", Severity::Warning, e.span, msg);
            return;
        };
        if def.name != name {
            self.push(
                "AQL-W002",
                Severity::Note,
                e.span,
                format!("property \"{name}\" matched the mapped property \"{}\" only case-insensitively", def.name),
            );
        }
        let severity = if custom::is_builtin(def) {
            Severity::Warning
        } else {
            Severity::Note
        };
        self.push(
            "AQL-W016",
            severity,
            e.span,
            custom::used_message(name, def),
        );
        for (lst, path, at) in custom::array_crossings(def) {
            self.push(
                "AQL-W015",
                Severity::Warning,
                e.span,
                format!(
                    "property \"{name}\" ({lst}): its path {path} crosses {at}, an array in these records, without an index; QRadar's JSON property finds no field there (NULL), and neither does `aql run`. Write the index: {at}[0]/… for the first element (IBM, \"JSON keypath expressions\")"
                ),
            );
        }
    }

    /// The column a NULL-sensitive predicate reads, if it is a plain or wrapped column.
    fn nullable_column<'e>(
        &self,
        e: &'e Expr,
        aliases: &HashSet<String>,
    ) -> Option<(&'e str, bool)> {
        match &e.unparen().kind {
            ExprKind::Column { name, .. } => {
                if aliases.contains(&name.to_lowercase()) {
                    return None;
                }
                if view::is_system_field(name) {
                    return view::system_field_may_be_null(name).then_some((name.as_str(), false));
                }
                Some((name.as_str(), true))
            }
            ExprKind::Func { name, args, .. }
                if matches!(name.as_str(), "LOWER" | "UPPER" | "STR" | "UTF8") =>
            {
                args.first().and_then(|a| self.nullable_column(a, aliases))
            }
            _ => None,
        }
    }

    fn nullable_negation(
        &mut self,
        whole: &Expr,
        operand: &Expr,
        op: &str,
        aliases: &HashSet<String>,
    ) {
        let Some((col, custom)) = self.nullable_column(operand, aliases) else {
            return;
        };
        let why = if custom {
            "a custom property, NULL whenever the record lacks it".to_string()
        } else {
            format!("`{col}` is NULL for events that do not carry it")
        };
        let text = self.text(whole.span);
        self.push(
            "AQL-W003",
            Severity::Warning,
            whole.span,
            format!(
                "`{text}`: {op} over a value that may be NULL ({why}); for a NULL value the predicate is UNKNOWN and the event is dropped, not kept. To keep such events write `({} IS NULL OR {text})`",
                self.text(operand.span)
            ),
        );
    }

    fn mixed_logic(&mut self, e: &Expr, first: &Expr, rest: &[(LogicOp, Span, Expr)]) {
        let has_and = rest.iter().any(|(op, _, _)| *op == LogicOp::And);
        let has_or = rest.iter().any(|(op, _, _)| *op == LogicOp::Or);
        if !(has_and && has_or) {
            return;
        }
        let labels: Vec<String> = (0..=rest.len()).map(label).collect();
        let operands: Vec<&Expr> = std::iter::once(first)
            .chain(rest.iter().map(|(_, _, x)| x))
            .collect();
        let ops: Vec<LogicOp> = rest.iter().map(|(op, _, _)| *op).collect();
        let texts: Vec<String> = operands.iter().map(|x| self.text(x.span)).collect();
        let sql_l = render_sql(&labels, &ops);
        let ltr_l = render_ltr(&labels, &ops);
        let sql_t = render_sql(&texts, &ops);
        let ltr_t = render_ltr(&texts, &ops);
        let mut legend = String::new();
        for (l, t) in labels.iter().zip(&texts) {
            legend.push_str(&format!("\n      {l} = {}", shorten(t, 100)));
        }
        let first_or = rest
            .iter()
            .find(|(op, _, _)| *op == LogicOp::Or)
            .map_or(e.span, |(_, s, _)| *s);
        let _ = first_or;
        self.push(
            "AQL-W001",
            Severity::Warning,
            e.span,
            format!(
                "AND and OR are mixed without parentheses; IBM does not document their precedence, so this reads two ways:\n    SQL precedence (snapback's default, --precedence sql):  {sql_l}\n    left to right (--precedence left-to-right):            {ltr_l}\n    where{legend}\n  In full:\n    sql:           {sql_t}\n    left-to-right: {ltr_t}\n  Add parentheses to say which one you mean."
            ),
        );
    }
}

fn label(i: usize) -> String {
    let mut s = String::new();
    let mut n = i;
    loop {
        s.insert(0, (b'A' + (n % 26) as u8) as char);
        if n < 26 {
            break;
        }
        n = n / 26 - 1;
    }
    s
}

fn shorten(t: &str, max: usize) -> String {
    if t.chars().count() <= max {
        t.to_string()
    } else {
        let cut: String = t.chars().take(max).collect();
        format!("{cut}…")
    }
}

/// `A OR B AND C` read with AND binding tighter: `A OR (B AND C)`.
pub fn render_sql(operands: &[String], ops: &[LogicOp]) -> String {
    let mut groups: Vec<Vec<&str>> = vec![vec![operands[0].as_str()]];
    for (op, x) in ops.iter().zip(&operands[1..]) {
        match op {
            LogicOp::And => {
                if let Some(g) = groups.last_mut() {
                    g.push(x);
                }
            }
            LogicOp::Or => groups.push(vec![x]),
        }
    }
    let multi = groups.len() > 1;
    groups
        .iter()
        .map(|g| {
            let s = g.join(" AND ");
            if multi && g.len() > 1 {
                format!("({s})")
            } else {
                s
            }
        })
        .collect::<Vec<_>>()
        .join(" OR ")
}

/// `A OR B AND C` read left to right: `(A OR B) AND C`.
pub fn render_ltr(operands: &[String], ops: &[LogicOp]) -> String {
    let mut acc = operands[0].clone();
    let mut prev: Option<LogicOp> = None;
    for (op, x) in ops.iter().zip(&operands[1..]) {
        if prev.is_some_and(|p| p != *op) {
            acc = format!("({acc})");
        }
        acc = format!("{acc} {} {x}", op.as_str());
        prev = Some(*op);
    }
    acc
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn readings() {
        use LogicOp::*;
        let ops = [Or, And, And, And];
        let o = s(&["A", "B", "C", "D", "E"]);
        assert_eq!(render_sql(&o, &ops), "A OR (B AND C AND D AND E)");
        assert_eq!(render_ltr(&o, &ops), "(A OR B) AND C AND D AND E");
        let ops = [And, Or, And];
        let o = s(&["A", "B", "C", "D"]);
        assert_eq!(render_sql(&o, &ops), "(A AND B) OR (C AND D)");
        assert_eq!(render_ltr(&o, &ops), "((A AND B) OR C) AND D");
        assert_eq!(label(0), "A");
        assert_eq!(label(26), "AA");
    }
}
