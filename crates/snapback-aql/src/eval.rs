//! Evaluation of expressions over the QRadar view of events, with SQL three-valued logic:
//! a comparison or predicate with a NULL operand is UNKNOWN (`None`), `NOT UNKNOWN` is
//! UNKNOWN, `UNKNOWN AND FALSE` is FALSE, `UNKNOWN OR TRUE` is TRUE, and WHERE, HAVING and
//! CASE WHEN keep only TRUE.

use std::cell::Cell;
use std::cmp::Ordering;
use std::collections::HashMap;

use crate::ast::*;
use crate::error::Span;
use crate::functions::{self, FnKind};
use crate::limits::{
    Refusal, RegexCache, RegexMode, RunDiagnostic, RunDiagnostics, MAX_EVAL_DEPTH,
};
use crate::scalar::{self, Ctx};
use crate::value::{compare, like, Number, Value};
use crate::view::{PropertyMap, QRadarEvent};
use crate::Precedence;

/// What an expression is evaluated against.
#[derive(Clone, Copy)]
pub(crate) enum Row<'a> {
    Event(&'a QRadarEvent),
    /// One group: its first event and its aggregates, accumulated as events streamed by
    /// (see [`crate::aggregate`]).
    Group(&'a GroupRow<'a>),
}

/// What a group-level expression reads: the group's first event (in event order; none for an
/// aggregate over nothing) and the final value of each aggregate call, by [`expr_id`].
pub(crate) struct GroupRow<'a> {
    pub first: Option<&'a QRadarEvent>,
    pub aggregates: &'a HashMap<usize, Value>,
}

/// The identity of an expression node of the query (its address: the query outlives the run).
pub(crate) fn expr_id(e: &Expr) -> usize {
    std::ptr::from_ref(e) as usize
}

impl<'a> Row<'a> {
    fn first(&self) -> Option<&'a QRadarEvent> {
        match self {
            Row::Event(e) => Some(e),
            Row::Group(g) => g.first,
        }
    }
}

#[derive(Clone, Copy)]
pub(crate) struct Scope<'a> {
    pub row: Row<'a>,
    /// Output columns already computed (HAVING, ORDER BY): names resolve to them first.
    pub outputs: Option<(&'a [String], &'a [Value])>,
    /// Whether a name may resolve to a SELECT alias (not inside an alias's own expression).
    pub aliases: bool,
}

pub(crate) struct Evaluator<'q> {
    pub query: &'q Query,
    pub precedence: Precedence,
    pub properties: PropertyMap,
    pub tz: jiff::tz::TimeZone,
    pub now_ms: i64,
    /// lower-case alias → index of its SELECT item
    alias_index: HashMap<String, usize>,
    /// Compiled patterns, shared by every use (see [`RegexCache`]).
    regexes: RegexCache,
    /// Expression nodes being evaluated on the way down (see [`MAX_EVAL_DEPTH`]).
    depth: Cell<usize>,
    /// Values that hit a limit, by place in the query.
    diagnostics: RunDiagnostics,
}

type Truth = Option<bool>;

fn and3(a: Truth, b: Truth) -> Truth {
    match (a, b) {
        (Some(false), _) | (_, Some(false)) => Some(false),
        (Some(true), Some(true)) => Some(true),
        _ => None,
    }
}

fn or3(a: Truth, b: Truth) -> Truth {
    match (a, b) {
        (Some(true), _) | (_, Some(true)) => Some(true),
        (Some(false), Some(false)) => Some(false),
        _ => None,
    }
}

fn truth_value(t: Truth) -> Value {
    t.map_or(Value::Null, Value::Bool)
}

/// A value read as a condition: booleans, numbers (non-zero), `'true'`/`'false'`.
fn value_truth(v: Value) -> Truth {
    match v {
        Value::Null => None,
        Value::Bool(b) => Some(b),
        Value::Int(i) => Some(i != 0),
        Value::Float(f) => Some(f != 0.0),
        Value::Str(s) => match s.to_ascii_lowercase().as_str() {
            "true" => Some(true),
            "false" => Some(false),
            _ => None,
        },
    }
}

impl<'q> Evaluator<'q> {
    pub fn new(
        query: &'q Query,
        precedence: Precedence,
        properties: PropertyMap,
        tz: jiff::tz::TimeZone,
        now_ms: i64,
    ) -> Evaluator<'q> {
        let mut alias_index = HashMap::new();
        for (i, item) in query.select.iter().enumerate() {
            if let SelectItem::Expr { alias: Some(a), .. } = item {
                alias_index.entry(a.name.to_lowercase()).or_insert(i);
            }
        }
        Evaluator {
            query,
            precedence,
            properties,
            tz,
            now_ms,
            alias_index,
            regexes: RegexCache::default(),
            depth: Cell::new(0),
            diagnostics: RunDiagnostics::default(),
        }
    }

    /// The values that hit a limit so far, one per code and place, counted.
    pub fn take_diagnostics(&self) -> Vec<RunDiagnostic> {
        self.diagnostics.take()
    }

    pub fn refused(&self, span: Span, refusal: &Refusal) {
        self.diagnostics.record(&self.query.text, span, refusal);
    }

    /// MATCHES / IMATCHES: the whole value, as Java's `String.matches`. UNKNOWN (and a
    /// diagnostic at the operator) when the pattern cannot be used.
    fn matches(&self, text: &str, pattern: &str, ignore_case: bool, at: Span) -> Option<bool> {
        let mode = if ignore_case {
            RegexMode::WholeIgnoreCase
        } else {
            RegexMode::Whole
        };
        match self.regexes.get(pattern, mode) {
            Ok(re) => Some(re.is_match(text)),
            Err(problem) => {
                self.refused(at, &Refusal::Regex(problem.to_string()));
                None
            }
        }
    }

    // ---- names ----

    fn column(&self, name: &str, at: Span, scope: Scope<'_>) -> Value {
        if let Some((names, values)) = scope.outputs {
            let hit = names
                .iter()
                .position(|n| n == name)
                .or_else(|| names.iter().position(|n| n.eq_ignore_ascii_case(name)));
            if let Some(i) = hit {
                return values.get(i).cloned().unwrap_or(Value::Null);
            }
        }
        if scope.aliases {
            if let Some(&i) = self.alias_index.get(&name.to_lowercase()) {
                if let Some(SelectItem::Expr { expr, .. }) = self.query.select.get(i) {
                    let inner = Scope {
                        aliases: false,
                        outputs: None,
                        ..scope
                    };
                    return self.value(expr, inner);
                }
            }
        }
        let Some(ev) = scope.row.first() else {
            return Value::Null;
        };
        if let Some(v) = ev.system(name) {
            return v;
        }
        let Some(def) = self.properties.get(name) else {
            return Value::Null;
        };
        let (v, array_at) = self.properties.resolve(def, ev);
        if let Some(array) = array_at {
            let note = Refusal::ArrayWithoutIndex {
                property: def.name.clone(),
                at: array,
            };
            self.refused(at, &note);
        }
        v
    }

    /// A system field, else a custom property, else NULL.
    pub fn event_field(&self, ev: &QRadarEvent, name: &str) -> Value {
        if let Some(v) = ev.system(name) {
            return v;
        }
        match self.properties.get(name) {
            Some(def) => self.properties.value(def, ev),
            None => Value::Null,
        }
    }

    // ---- values ----

    /// One more level of recursion, unless that is deeper than [`MAX_EVAL_DEPTH`].
    fn descend(&self, e: &Expr) -> bool {
        let d = self.depth.get() + 1;
        if d > MAX_EVAL_DEPTH {
            self.refused(e.span, &Refusal::TooDeep);
            return false;
        }
        self.depth.set(d);
        true
    }

    fn ascend(&self) {
        self.depth.set(self.depth.get().saturating_sub(1));
    }

    /// The value of `e`: NULL past [`MAX_EVAL_DEPTH`].
    pub fn value(&self, e: &Expr, scope: Scope<'_>) -> Value {
        if !self.descend(e) {
            return Value::Null;
        }
        let v = self.value_of(e, scope);
        self.ascend();
        v
    }

    fn value_of(&self, e: &Expr, scope: Scope<'_>) -> Value {
        match &e.kind {
            ExprKind::Null | ExprKind::Star => Value::Null,
            ExprKind::Bool(b) => Value::Bool(*b),
            ExprKind::Int(i) => Value::Int(*i),
            ExprKind::Float(f) => Value::Float(*f),
            ExprKind::Str(s) => Value::Str(s.clone()),
            ExprKind::Column { name, .. } => self.column(name, e.span, scope),
            ExprKind::Paren(inner) => self.value(inner, scope),
            ExprKind::Neg(inner) => self.neg(inner, scope),
            ExprKind::Arith { op, left, right } => self.arith(*op, left, right, scope),
            ExprKind::Func {
                name,
                args,
                name_span,
            } => self.call(e, name, args, *name_span, scope),
            ExprKind::Case {
                operand,
                whens,
                else_,
            } => self.case(operand.as_deref(), whens, else_.as_deref(), scope),
            ExprKind::If { cond, then, else_ } => self.if_value(cond, then, else_, scope),
            ExprKind::Compare { .. }
            | ExprKind::Pattern { .. }
            | ExprKind::In { .. }
            | ExprKind::Between { .. }
            | ExprKind::IsNull { .. }
            | ExprKind::Not(_)
            | ExprKind::Logic { .. }
            | ExprKind::TextSearch(_) => truth_value(self.truth_of(e, scope)),
        }
    }

    fn case(
        &self,
        operand: Option<&Expr>,
        whens: &[(Expr, Expr)],
        else_: Option<&Expr>,
        scope: Scope<'_>,
    ) -> Value {
        let subject = operand.map(|o| self.value(o, scope));
        for (when, then) in whens {
            let hit = match &subject {
                Some(s) => compare(s, &self.value(when, scope)) == Some(Ordering::Equal),
                None => self.truth(when, scope) == Some(true),
            };
            if hit {
                return self.value(then, scope);
            }
        }
        else_.map_or(Value::Null, |x| self.value(x, scope))
    }

    // ---- conditions ----

    /// Whether `e` holds: UNKNOWN past [`MAX_EVAL_DEPTH`].
    pub fn truth(&self, e: &Expr, scope: Scope<'_>) -> Truth {
        if !self.descend(e) {
            return None;
        }
        let t = self.truth_of(e, scope);
        self.ascend();
        t
    }

    fn truth_of(&self, e: &Expr, scope: Scope<'_>) -> Truth {
        match &e.kind {
            ExprKind::Paren(inner) => self.truth(inner, scope),
            ExprKind::Bool(b) => Some(*b),
            ExprKind::Null => None,
            ExprKind::Not(inner) => self.truth(inner, scope).map(|b| !b),
            ExprKind::Logic { first, rest } => self.logic(first, rest, scope),
            ExprKind::Compare { op, left, right } => self.compare(*op, left, right, scope),
            ExprKind::Pattern {
                kind,
                negated,
                expr,
                pattern,
                op_span,
            } => self.pattern(*kind, *negated, expr, pattern, *op_span, scope),
            ExprKind::In {
                negated,
                expr,
                list,
            } => self.in_list(*negated, expr, list, scope),
            ExprKind::Between {
                negated,
                expr,
                low,
                high,
            } => self.between(*negated, expr, low, high, scope),
            ExprKind::IsNull { negated, expr } => {
                Some(self.value(expr, scope).is_null() != *negated)
            }
            ExprKind::TextSearch(text) => {
                let ev = scope.row.first()?;
                Some(text_search(ev.payload(), text))
            }
            _ => value_truth(self.value_of(e, scope)),
        }
    }

    // The arms of `value_of` and `truth_of` that hold values, kept out of them so that the
    // frames on the way down a deep expression stay small.

    fn neg(&self, inner: &Expr, scope: Scope<'_>) -> Value {
        match self.value(inner, scope).as_number() {
            Some(Number::Int(i)) => i.checked_neg().map_or(Value::Null, Value::Int),
            Some(Number::Float(f)) => Value::Float(-f),
            None => Value::Null,
        }
    }

    fn arith(&self, op: ArithOp, left: &Expr, right: &Expr, scope: Scope<'_>) -> Value {
        arith(op, &self.value(left, scope), &self.value(right, scope))
    }

    fn if_value(&self, cond: &Expr, then: &Expr, else_: &Expr, scope: Scope<'_>) -> Value {
        if self.truth(cond, scope) == Some(true) {
            self.value(then, scope)
        } else {
            self.value(else_, scope)
        }
    }

    fn compare(&self, op: CmpOp, left: &Expr, right: &Expr, scope: Scope<'_>) -> Truth {
        let ord = compare(&self.value(left, scope), &self.value(right, scope))?;
        Some(match op {
            CmpOp::Eq => ord == Ordering::Equal,
            CmpOp::Ne => ord != Ordering::Equal,
            CmpOp::Lt => ord == Ordering::Less,
            CmpOp::Le => ord != Ordering::Greater,
            CmpOp::Gt => ord == Ordering::Greater,
            CmpOp::Ge => ord != Ordering::Less,
        })
    }

    fn in_list(&self, negated: bool, expr: &Expr, list: &[Expr], scope: Scope<'_>) -> Truth {
        let v = self.value(expr, scope);
        if v.is_null() {
            return None;
        }
        let mut result = Some(false);
        for item in list {
            let eq = compare(&v, &self.value(item, scope)).map(|o| o == Ordering::Equal);
            result = or3(result, eq);
        }
        result.map(|b| b != negated)
    }

    fn between(
        &self,
        negated: bool,
        expr: &Expr,
        low: &Expr,
        high: &Expr,
        scope: Scope<'_>,
    ) -> Truth {
        let v = self.value(expr, scope);
        let lo = compare(&v, &self.value(low, scope)).map(|o| o != Ordering::Less);
        let hi = compare(&v, &self.value(high, scope)).map(|o| o != Ordering::Greater);
        and3(lo, hi).map(|b| b != negated)
    }

    /// `x [NOT] LIKE|ILIKE|MATCHES|IMATCHES p`; `p` may be `ENUMERATION(p1, p2, …)`.
    fn pattern(
        &self,
        kind: PatternKind,
        negated: bool,
        expr: &Expr,
        pattern: &Expr,
        op_span: Span,
        scope: Scope<'_>,
    ) -> Truth {
        let text = self.value(expr, scope).as_text()?;
        let patterns: Vec<Value> = match &pattern.unparen().kind {
            ExprKind::Func { name, args, .. } if name == "ENUMERATION" => {
                args.iter().map(|a| self.value(a, scope)).collect()
            }
            _ => vec![self.value(pattern, scope)],
        };
        let mut result = Some(false);
        for p in patterns {
            let one = p.as_text().and_then(|p| {
                if kind.is_regex() {
                    self.matches(&text, &p, kind.case_insensitive(), op_span)
                } else {
                    Some(like(&text, &p, kind.case_insensitive()))
                }
            });
            result = or3(result, one);
        }
        result.map(|b| b != negated)
    }

    fn logic(
        &self,
        first: &Expr,
        rest: &[(LogicOp, crate::error::Span, Expr)],
        scope: Scope<'_>,
    ) -> Truth {
        match self.precedence {
            Precedence::LeftToRight => {
                let mut acc = self.truth(first, scope);
                for (op, _, x) in rest {
                    acc = match op {
                        LogicOp::And if acc == Some(false) => Some(false),
                        LogicOp::Or if acc == Some(true) => Some(true),
                        LogicOp::And => and3(acc, self.truth(x, scope)),
                        LogicOp::Or => or3(acc, self.truth(x, scope)),
                    };
                }
                acc
            }
            Precedence::Sql => {
                // OR of AND-runs.
                let mut result = Some(false);
                let mut run = self.truth(first, scope);
                for (op, _, x) in rest {
                    match op {
                        LogicOp::And => {
                            if run != Some(false) {
                                run = and3(run, self.truth(x, scope));
                            }
                        }
                        LogicOp::Or => {
                            result = or3(result, run);
                            run = self.truth(x, scope);
                        }
                    }
                }
                or3(result, run)
            }
        }
    }

    // ---- functions ----

    /// A function call: aggregates over the group; scalar functions over their arguments'
    /// values (see [`scalar::apply`]), NULL and a diagnostic at the name when one is refused.
    fn call(
        &self,
        e: &Expr,
        name: &str,
        args: &[Expr],
        name_span: Span,
        scope: Scope<'_>,
    ) -> Value {
        match functions::lookup(name).map(|s| s.kind) {
            Some(FnKind::Aggregate) => {
                return match scope.row {
                    Row::Group(g) => g
                        .aggregates
                        .get(&expr_id(e))
                        .cloned()
                        .unwrap_or(Value::Null),
                    Row::Event(ev) => self.aggregate(name, args, ev, scope.aliases),
                }
            }
            Some(FnKind::Offline | FnKind::OfflineCondition | FnKind::Nonstandard) | None => {
                return Value::Null
            }
            _ => {}
        }
        // A plain loop: an iterator chain would put its own frames between each level.
        let mut values = Vec::with_capacity(args.len());
        for a in args {
            values.push(self.value(a, scope));
        }
        self.apply(name, &values, name_span, scope)
    }

    fn apply(&self, name: &str, values: &[Value], name_span: Span, scope: Scope<'_>) -> Value {
        let cx = Ctx {
            ev: scope.row.first(),
            now_ms: self.now_ms,
            tz: &self.tz,
            regexes: &self.regexes,
        };
        scalar::apply(name, values, &cx).unwrap_or_else(|refusal| {
            self.refused(name_span, &refusal);
            Value::Null
        })
    }

    /// An aggregate over a single event (an aggregate in a query that does not group).
    fn aggregate(&self, name: &str, args: &[Expr], ev: &QRadarEvent, aliases: bool) -> Value {
        let Some(arg) = args.first() else {
            return Value::Null;
        };
        let mut acc = crate::aggregate::Acc::new(name, arg);
        acc.add(self, arg, aliases, ev);
        acc.finish()
    }

    /// The value of an aggregate's argument for one event.
    pub(crate) fn argument(&self, arg: &Expr, aliases: bool, ev: &QRadarEvent) -> Value {
        self.value(
            arg,
            Scope {
                row: Row::Event(ev),
                outputs: None,
                aliases,
            },
        )
    }
}

fn arith(op: ArithOp, a: &Value, b: &Value) -> Value {
    let (Some(x), Some(y)) = (a.as_number(), b.as_number()) else {
        return Value::Null;
    };
    match (x, y) {
        (Number::Int(i), Number::Int(j)) => match op {
            ArithOp::Add => i.checked_add(j).map_or(Value::Null, Value::Int),
            ArithOp::Sub => i.checked_sub(j).map_or(Value::Null, Value::Int),
            ArithOp::Mul => i.checked_mul(j).map_or(Value::Null, Value::Int),
            ArithOp::Div => i.checked_div(j).map_or(Value::Null, Value::Int),
            ArithOp::Mod => i.checked_rem(j).map_or(Value::Null, Value::Int),
            ArithOp::BitAnd => Value::Int(i & j),
            ArithOp::Pow => match u32::try_from(j).ok().and_then(|e| i.checked_pow(e)) {
                Some(v) => Value::Int(v),
                None => Value::Float((i as f64).powf(j as f64)),
            },
        },
        _ => {
            let (f, g) = (x.as_f64(), y.as_f64());
            let r = match op {
                ArithOp::Add => f + g,
                ArithOp::Sub => f - g,
                ArithOp::Mul => f * g,
                ArithOp::Div if g == 0.0 => return Value::Null,
                ArithOp::Div => f / g,
                ArithOp::Mod if g == 0.0 => return Value::Null,
                ArithOp::Mod => f % g,
                ArithOp::Pow => f.powf(g),
                ArithOp::BitAnd => return Value::Int((f as i64) & (g as i64)),
            };
            if r.is_finite() {
                Value::Float(r)
            } else {
                Value::Null
            }
        }
    }
}

/// TEXT SEARCH offline: a case-insensitive substring search of the payload. Terms joined by
/// ` AND ` must all occur, by ` OR ` any; `%` and `*` around a term are ignored.
pub fn text_search(payload: &str, query: &str) -> bool {
    let hay = payload.to_lowercase();
    let term_hit = |t: &str| {
        let t = t
            .trim()
            .trim_matches(|c| c == '%' || c == '*' || c == '"')
            .to_lowercase();
        !t.is_empty() && hay.contains(&t)
    };
    query
        .split(" OR ")
        .any(|alt| alt.split(" AND ").all(term_hit))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search() {
        assert!(text_search(
            "{\"a\":\"New-Item x Set-ItemProperty\"}",
            "%New-Item% AND %Set-ItemProperty%"
        ));
        assert!(!text_search(
            "New-Item",
            "%New-Item% AND %Set-ItemProperty%"
        ));
    }
}
