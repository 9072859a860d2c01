//! Evaluation of expressions over the QRadar view of events, with SQL three-valued logic:
//! a comparison or predicate with a NULL operand is UNKNOWN (`None`), `NOT UNKNOWN` is
//! UNKNOWN, `UNKNOWN AND FALSE` is FALSE, `UNKNOWN OR TRUE` is TRUE, and WHERE, HAVING and
//! CASE WHEN keep only TRUE.

use std::cell::RefCell;
use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::rc::Rc;

use regex::Regex;

use crate::ast::*;
use crate::functions::{self, FnKind};
use crate::value::{compare, like, sort_cmp, Number, Value};
use crate::view::{log_source_type_name, PropertyMap, QRadarEvent};
use crate::Precedence;

/// What an expression is evaluated against.
#[derive(Clone, Copy)]
pub(crate) enum Row<'a> {
    Event(&'a QRadarEvent),
    /// The events of one group, in event order (may be empty for an aggregate over nothing).
    Group(&'a [&'a QRadarEvent]),
}

impl<'a> Row<'a> {
    fn first(&self) -> Option<&'a QRadarEvent> {
        match self {
            Row::Event(e) => Some(e),
            Row::Group(rows) => rows.first().copied(),
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
    /// Compiled patterns by (kind, pattern): 0 anchored, 1 anchored case-insensitive, 2 plain.
    /// `Rc` so that every use shares one `Regex` and its cache pool.
    regexes: [RefCell<HashMap<String, Option<Rc<Regex>>>>; 3],
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
            regexes: Default::default(),
        }
    }

    fn cached_regex(&self, slot: usize, pattern: &str) -> Option<Rc<Regex>> {
        if let Some(r) = self.regexes[slot].borrow().get(pattern) {
            return r.clone();
        }
        let compiled = match slot {
            2 => Regex::new(pattern),
            _ => regex::RegexBuilder::new(&format!("^(?:{pattern})$"))
                .case_insensitive(slot == 1)
                .build(),
        }
        .ok()
        .map(Rc::new);
        self.regexes[slot]
            .borrow_mut()
            .insert(pattern.to_string(), compiled.clone());
        compiled
    }

    /// MATCHES / IMATCHES: the whole value, as Java's `String.matches`.
    fn regex(&self, pattern: &str, case_insensitive: bool) -> Option<Rc<Regex>> {
        self.cached_regex(usize::from(case_insensitive), pattern)
    }

    /// REPLACEALL / REPLACEFIRST: unanchored.
    fn plain_regex(&self, pattern: &str) -> Option<Rc<Regex>> {
        self.cached_regex(2, pattern)
    }

    // ---- names ----

    fn column(&self, name: &str, scope: Scope<'_>) -> Value {
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
        self.event_field(ev, name)
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

    pub fn value(&self, e: &Expr, scope: Scope<'_>) -> Value {
        match &e.kind {
            ExprKind::Null | ExprKind::Star => Value::Null,
            ExprKind::Bool(b) => Value::Bool(*b),
            ExprKind::Int(i) => Value::Int(*i),
            ExprKind::Float(f) => Value::Float(*f),
            ExprKind::Str(s) => Value::Str(s.clone()),
            ExprKind::Column { name, .. } => self.column(name, scope),
            ExprKind::Paren(inner) => self.value(inner, scope),
            ExprKind::Neg(inner) => match self.value(inner, scope).as_number() {
                Some(Number::Int(i)) => i.checked_neg().map_or(Value::Null, Value::Int),
                Some(Number::Float(f)) => Value::Float(-f),
                None => Value::Null,
            },
            ExprKind::Arith { op, left, right } => {
                arith(*op, &self.value(left, scope), &self.value(right, scope))
            }
            ExprKind::Func { name, args, .. } => self.call(name, args, scope),
            ExprKind::Case {
                operand,
                whens,
                else_,
            } => {
                let subject = operand.as_ref().map(|o| self.value(o, scope));
                for (when, then) in whens {
                    let hit = match &subject {
                        Some(s) => compare(s, &self.value(when, scope)) == Some(Ordering::Equal),
                        None => self.truth(when, scope) == Some(true),
                    };
                    if hit {
                        return self.value(then, scope);
                    }
                }
                else_.as_ref().map_or(Value::Null, |x| self.value(x, scope))
            }
            ExprKind::If { cond, then, else_ } => {
                if self.truth(cond, scope) == Some(true) {
                    self.value(then, scope)
                } else {
                    self.value(else_, scope)
                }
            }
            ExprKind::Compare { .. }
            | ExprKind::Pattern { .. }
            | ExprKind::In { .. }
            | ExprKind::Between { .. }
            | ExprKind::IsNull { .. }
            | ExprKind::Not(_)
            | ExprKind::Logic { .. }
            | ExprKind::TextSearch(_) => truth_value(self.truth(e, scope)),
        }
    }

    // ---- conditions ----

    pub fn truth(&self, e: &Expr, scope: Scope<'_>) -> Truth {
        match &e.kind {
            ExprKind::Paren(inner) => self.truth(inner, scope),
            ExprKind::Bool(b) => Some(*b),
            ExprKind::Null => None,
            ExprKind::Not(inner) => self.truth(inner, scope).map(|b| !b),
            ExprKind::Logic { first, rest } => self.logic(first, rest, scope),
            ExprKind::Compare { op, left, right } => {
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
            ExprKind::Pattern {
                kind,
                negated,
                expr,
                pattern,
                ..
            } => {
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
                            self.regex(&p, kind.case_insensitive())
                                .map(|re| re.is_match(&text))
                        } else {
                            Some(like(&text, &p, kind.case_insensitive()))
                        }
                    });
                    result = or3(result, one);
                }
                result.map(|b| b != *negated)
            }
            ExprKind::In {
                negated,
                expr,
                list,
            } => {
                let v = self.value(expr, scope);
                if v.is_null() {
                    return None;
                }
                let mut result = Some(false);
                for item in list {
                    let eq = compare(&v, &self.value(item, scope)).map(|o| o == Ordering::Equal);
                    result = or3(result, eq);
                }
                result.map(|b| b != *negated)
            }
            ExprKind::Between {
                negated,
                expr,
                low,
                high,
            } => {
                let v = self.value(expr, scope);
                let lo = compare(&v, &self.value(low, scope)).map(|o| o != Ordering::Less);
                let hi = compare(&v, &self.value(high, scope)).map(|o| o != Ordering::Greater);
                and3(lo, hi).map(|b| b != *negated)
            }
            ExprKind::IsNull { negated, expr } => {
                Some(self.value(expr, scope).is_null() != *negated)
            }
            ExprKind::TextSearch(text) => {
                let ev = scope.row.first()?;
                Some(text_search(ev.payload(), text))
            }
            _ => match self.value(e, scope) {
                Value::Null => None,
                Value::Bool(b) => Some(b),
                Value::Int(i) => Some(i != 0),
                Value::Float(f) => Some(f != 0.0),
                Value::Str(s) => match s.to_ascii_lowercase().as_str() {
                    "true" => Some(true),
                    "false" => Some(false),
                    _ => None,
                },
            },
        }
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

    fn call(&self, name: &str, args: &[Expr], scope: Scope<'_>) -> Value {
        let spec = functions::lookup(name);
        match spec.map(|s| s.kind) {
            Some(FnKind::Aggregate) => return self.aggregate(name, args, scope),
            Some(FnKind::Offline | FnKind::OfflineCondition | FnKind::Nonstandard) | None => {
                return Value::Null
            }
            _ => {}
        }
        let arg = |i: usize| args.get(i).map_or(Value::Null, |a| self.value(a, scope));
        let text = |i: usize| arg(i).as_text();
        let ev = scope.row.first();
        match name {
            "DATEFORMAT" => {
                let (Some(ms), Some(p)) = (arg(0).as_number(), text(1)) else {
                    return Value::Null;
                };
                let ms = match ms {
                    Number::Int(i) => i,
                    Number::Float(f) => f as i64,
                };
                crate::dateformat::format(ms, &p, &self.tz).map_or(Value::Null, Value::Str)
            }
            "LOGSOURCETYPENAME" => match arg(0).as_number() {
                Some(Number::Int(id)) => {
                    log_source_type_name(id).map_or(Value::Null, |n| Value::Str(n.to_string()))
                }
                _ => Value::Null,
            },
            "LOGSOURCENAME" => match (ev, arg(0)) {
                (Some(ev), Value::Int(id)) if id == ev.logsourceid => {
                    Value::Str(ev.logsourcename.clone())
                }
                _ => Value::Null,
            },
            "QIDNAME" | "QIDDESCRIPTION" | "QIDESCRIPTION" => match (ev, arg(0)) {
                (Some(ev), Value::Int(id)) if id == ev.qid && !ev.event.operation.is_empty() => {
                    Value::Str(ev.event.operation.clone())
                }
                _ => Value::Null,
            },
            "CATEGORYNAME" => match (ev, arg(0)) {
                (Some(ev), Value::Int(id)) if id == ev.category && !ev.event.service.is_empty() => {
                    Value::Str(ev.event.service.clone())
                }
                _ => Value::Null,
            },
            "LOWER" => text(0).map_or(Value::Null, |s| {
                Value::Str(s.chars().map(crate::value::fold_char).collect())
            }),
            "UPPER" => text(0).map_or(Value::Null, |s| {
                Value::Str(
                    s.chars()
                        .map(|c| {
                            let mut u = c.to_uppercase();
                            match (u.next(), u.next()) {
                                (Some(x), None) => x,
                                _ => c,
                            }
                        })
                        .collect(),
                )
            }),
            "STR" | "UTF8" => text(0).map_or(Value::Null, Value::Str),
            "CONCAT" => Value::Str(
                (0..args.len())
                    .map(|i| text(i).unwrap_or_default())
                    .collect(),
            ),
            "LONG" => {
                let v = arg(0);
                match v.as_number() {
                    Some(Number::Int(i)) => Value::Int(i),
                    Some(Number::Float(f)) => Value::Int(f.trunc() as i64),
                    None => match v.as_text().and_then(|s| s.trim().parse::<IpAddr>().ok()) {
                        Some(IpAddr::V4(ip)) => Value::Int(i64::from(u32::from(ip))),
                        _ => Value::Null,
                    },
                }
            }
            "DOUBLE" => arg(0)
                .as_number()
                .map_or(Value::Null, |n| Value::Float(n.as_f64())),
            "NOW" => Value::Int(self.now_ms),
            "BASE64" => text(0).map_or(Value::Null, |s| Value::Str(base64(s.as_bytes()))),
            "REPLACEALL" | "REPLACEFIRST" => {
                let (Some(re), Some(s), Some(rep)) = (text(0), text(1), text(2)) else {
                    return Value::Null;
                };
                let Some(re) = self.plain_regex(&re) else {
                    return Value::Null;
                };
                let rep = java_replacement(&rep);
                let out = if name == "REPLACEALL" {
                    re.replace_all(&s, rep.as_str())
                } else {
                    re.replace(&s, rep.as_str())
                };
                Value::Str(out.into_owned())
            }
            "STRLEN" => text(0).map_or(Value::Null, |s| Value::Int(s.chars().count() as i64)),
            "STRPOS" => {
                let (Some(s), Some(sub)) = (text(0), text(1)) else {
                    return Value::Null;
                };
                let from = arg(2)
                    .as_number()
                    .map_or(0, |n| n.as_f64().max(0.0) as usize);
                let chars: Vec<char> = s.chars().collect();
                let needle: Vec<char> = sub.chars().collect();
                let pos = (from..=chars.len().saturating_sub(needle.len()))
                    .find(|&i| chars.get(i..i + needle.len()) == Some(needle.as_slice()));
                Value::Int(pos.map_or(-1, |p| p as i64))
            }
            "SUBSTRING" => {
                let Some(s) = text(0) else { return Value::Null };
                let chars: Vec<char> = s.chars().collect();
                let start = arg(1)
                    .as_number()
                    .map_or(0, |n| n.as_f64().max(0.0) as usize)
                    .min(chars.len());
                let end = match args.get(2) {
                    Some(_) => arg(2)
                        .as_number()
                        .map_or(chars.len(), |n| start + n.as_f64().max(0.0) as usize)
                        .min(chars.len()),
                    None => chars.len(),
                };
                Value::Str(chars[start..end].iter().collect())
            }
            "PARSEDATETIME" => text(0)
                .and_then(|s| crate::time::parse_datetime(&s, self.now_ms, self.tz.clone()).ok())
                .map_or(Value::Null, Value::Int),
            "INCIDR" => {
                let (Some(cidr), Some(ip)) = (text(0), text(1)) else {
                    return Value::Null;
                };
                incidr(&cidr, &ip).map_or(Value::Null, Value::Bool)
            }
            _ => Value::Null,
        }
    }

    fn aggregate(&self, name: &str, args: &[Expr], scope: Scope<'_>) -> Value {
        let single;
        let rows: &[&QRadarEvent] = match scope.row {
            Row::Group(rows) => rows,
            Row::Event(e) => {
                single = [e];
                &single
            }
        };
        let Some(arg) = args.first() else {
            return Value::Null;
        };
        if name == "COUNT" && arg.kind == ExprKind::Star {
            return Value::Int(rows.len() as i64);
        }
        let values: Vec<Value> = rows
            .iter()
            .map(|r| {
                self.value(
                    arg,
                    Scope {
                        row: Row::Event(r),
                        outputs: None,
                        aliases: scope.aliases,
                    },
                )
            })
            .collect();
        let non_null = || values.iter().filter(|v| !v.is_null());
        match name {
            "COUNT" => Value::Int(non_null().count() as i64),
            "UNIQUECOUNT" | "DISTINCTCOUNT" => {
                let set: HashSet<String> = non_null().map(|v| format!("{v:?}")).collect();
                Value::Int(set.len() as i64)
            }
            "FIRST" => values.first().cloned().unwrap_or(Value::Null),
            "LAST" => values.last().cloned().unwrap_or(Value::Null),
            "MIN" => non_null()
                .min_by(|a, b| sort_cmp(a, b))
                .cloned()
                .unwrap_or(Value::Null),
            "MAX" => non_null()
                .max_by(|a, b| sort_cmp(a, b))
                .cloned()
                .unwrap_or(Value::Null),
            "SUM" | "AVG" | "STDEV" | "STDEVP" => {
                let nums: Vec<Number> = non_null().filter_map(Value::as_number).collect();
                if nums.is_empty() {
                    return Value::Null;
                }
                let all_int = nums.iter().all(|n| matches!(n, Number::Int(_)));
                let sum_f: f64 = nums.iter().map(|n| n.as_f64()).sum();
                let n = nums.len() as f64;
                match name {
                    "SUM" if all_int => nums
                        .iter()
                        .try_fold(0i64, |acc, x| match x {
                            Number::Int(i) => acc.checked_add(*i),
                            Number::Float(_) => None,
                        })
                        .map_or(Value::Float(sum_f), Value::Int),
                    "SUM" => Value::Float(sum_f),
                    "AVG" => Value::Float(sum_f / n),
                    _ => {
                        let mean = sum_f / n;
                        let ss: f64 = nums.iter().map(|x| (x.as_f64() - mean).powi(2)).sum();
                        let denom = if name == "STDEV" { n - 1.0 } else { n };
                        if denom <= 0.0 {
                            Value::Null
                        } else {
                            Value::Float((ss / denom).sqrt())
                        }
                    }
                }
            }
            _ => Value::Null,
        }
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

/// INCIDR('10.0.0.0/8', ip): `None` when either side does not parse.
pub fn incidr(cidr: &str, ip: &str) -> Option<bool> {
    let (net, bits) = cidr.trim().split_once('/')?;
    let net: IpAddr = net.trim().parse().ok()?;
    let bits: u32 = bits.trim().parse().ok()?;
    let ip: IpAddr = ip.trim().parse().ok()?;
    match (net, ip) {
        (IpAddr::V4(n), IpAddr::V4(a)) => {
            if bits > 32 {
                return None;
            }
            let mask = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - bits)
            };
            Some(u32::from(n) & mask == u32::from(a) & mask)
        }
        (IpAddr::V6(n), IpAddr::V6(a)) => {
            if bits > 128 {
                return None;
            }
            let mask = if bits == 0 {
                0
            } else {
                u128::MAX << (128 - bits)
            };
            Some(u128::from(n) & mask == u128::from(a) & mask)
        }
        _ => Some(false),
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

/// Java replacement strings use `$1` like Rust's, but escape with `\`; Rust escapes `$` as `$$`.
fn java_replacement(rep: &str) -> String {
    let mut out = String::new();
    let mut chars = rep.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('$') => out.push_str("$$"),
                Some(other) => out.push(other),
                None => {}
            },
            _ => out.push(c),
        }
    }
    out
}

fn base64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr() {
        assert_eq!(incidr("10.0.0.0/8", "10.1.2.3"), Some(true));
        assert_eq!(incidr("10.0.0.0/8", "11.1.2.3"), Some(false));
        assert_eq!(incidr("fd::/16", "fd::1"), Some(true));
        assert_eq!(incidr("10.0.0.0/8", "ec2.amazonaws.com"), None);
    }

    #[test]
    fn b64() {
        assert_eq!(base64(b"Man"), "TWFu");
        assert_eq!(base64(b"Ma"), "TWE=");
        assert_eq!(base64(b"M"), "TQ==");
    }

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
