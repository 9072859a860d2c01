//! Aggregates in bounded memory (issue 13, item 10): each group keeps its first event and one
//! accumulator per aggregate call of the query, fed as events stream by in event order, so a
//! query holds memory in proportion to its groups, not its events.
//!
//! Every accumulator gives exactly what the whole-group computation gave: events arrive in the
//! order the group's slice had (event time, then event id, then arrival), floating-point sums
//! are added in that order from the same start, `MIN` keeps the first of equal values and
//! `MAX` the last. Two aggregates cannot be had in constant memory and keep their values:
//! `UNIQUECOUNT` (the distinct values) and `STDEV`/`STDEVP` (the numbers, for the two-pass
//! mean and squares).

use std::collections::{HashMap, HashSet};

use crate::ast::*;
use crate::eval::{expr_id, Evaluator, GroupRow, Row, Scope};
use crate::value::{sort_cmp, Number, Value};
use crate::view::QRadarEvent;

/// One aggregate's running state.
pub(crate) enum Acc {
    CountRows(i64),
    Count(i64),
    Unique(HashSet<String>),
    First(Option<Value>),
    Last(Value),
    Min(Option<Value>),
    Max(Option<Value>),
    /// SUM, AVG, STDEV, STDEVP: the numbers' running sums (and, for STDEV, the numbers).
    Numeric {
        name: &'static str,
        n: u64,
        all_int: bool,
        /// `None` once the integer sum overflowed (SUM then gives the float sum).
        int_sum: Option<i64>,
        float_sum: Option<f64>,
        values: Option<Vec<f64>>,
    },
    Unknown,
}

impl Acc {
    pub fn new(name: &str, arg: &Expr) -> Acc {
        match name {
            "COUNT" if arg.kind == ExprKind::Star => Acc::CountRows(0),
            "COUNT" => Acc::Count(0),
            "UNIQUECOUNT" | "DISTINCTCOUNT" => Acc::Unique(HashSet::new()),
            "FIRST" => Acc::First(None),
            "LAST" => Acc::Last(Value::Null),
            "MIN" => Acc::Min(None),
            "MAX" => Acc::Max(None),
            "SUM" | "AVG" | "STDEV" | "STDEVP" => Acc::Numeric {
                name: match name {
                    "SUM" => "SUM",
                    "AVG" => "AVG",
                    "STDEV" => "STDEV",
                    _ => "STDEVP",
                },
                n: 0,
                all_int: true,
                int_sum: Some(0),
                float_sum: None,
                values: name.starts_with("STDEV").then(Vec::new),
            },
            _ => Acc::Unknown,
        }
    }

    /// Take one event into account.
    pub fn add(&mut self, eval: &Evaluator<'_>, arg: &Expr, aliases: bool, ev: &QRadarEvent) {
        if let Acc::CountRows(n) = self {
            *n += 1;
            return;
        }
        let v = eval.argument(arg, aliases, ev);
        match self {
            Acc::CountRows(_) | Acc::Unknown => {}
            Acc::Count(n) => *n += i64::from(!v.is_null()),
            Acc::Unique(set) => {
                if !v.is_null() {
                    set.insert(format!("{v:?}"));
                }
            }
            Acc::First(first) => {
                if first.is_none() {
                    *first = Some(v);
                }
            }
            Acc::Last(last) => *last = v,
            // `min_by` keeps the first of equal minima, `max_by` the last of equal maxima.
            Acc::Min(min) => {
                if !v.is_null() && min.as_ref().is_none_or(|m| sort_cmp(&v, m).is_lt()) {
                    *min = Some(v);
                }
            }
            Acc::Max(max) => {
                if !v.is_null() && max.as_ref().is_none_or(|m| sort_cmp(&v, m).is_ge()) {
                    *max = Some(v);
                }
            }
            Acc::Numeric {
                n,
                all_int,
                int_sum,
                float_sum,
                values,
                ..
            } => {
                let Some(x) = (!v.is_null()).then(|| v.as_number()).flatten() else {
                    return;
                };
                *n += 1;
                match x {
                    Number::Int(i) => *int_sum = int_sum.and_then(|s| s.checked_add(i)),
                    Number::Float(_) => *all_int = false,
                }
                let f = x.as_f64();
                // The first term goes through `Sum` so the start value is the library's own.
                *float_sum = Some(match *float_sum {
                    None => std::iter::once(f).sum::<f64>(),
                    Some(s) => s + f,
                });
                if let Some(vals) = values {
                    vals.push(f);
                }
            }
        }
    }

    /// The aggregate's value.
    pub fn finish(&self) -> Value {
        match self {
            Acc::CountRows(n) | Acc::Count(n) => Value::Int(*n),
            Acc::Unique(set) => Value::Int(set.len() as i64),
            Acc::First(v) => v.clone().unwrap_or(Value::Null),
            Acc::Last(v) => v.clone(),
            Acc::Min(v) | Acc::Max(v) => v.clone().unwrap_or(Value::Null),
            Acc::Unknown => Value::Null,
            Acc::Numeric {
                name,
                n,
                all_int,
                int_sum,
                float_sum,
                values,
            } => {
                let Some(sum_f) = float_sum.filter(|_| *n > 0) else {
                    return Value::Null;
                };
                let count = *n as f64;
                match *name {
                    "SUM" if *all_int => int_sum.map_or(Value::Float(sum_f), Value::Int),
                    "SUM" => Value::Float(sum_f),
                    "AVG" => Value::Float(sum_f / count),
                    _ => {
                        let mean = sum_f / count;
                        let ss: f64 = values.iter().flatten().map(|x| (x - mean).powi(2)).sum();
                        let denom = if *name == "STDEV" { count - 1.0 } else { count };
                        if denom <= 0.0 {
                            Value::Null
                        } else {
                            Value::Float((ss / denom).sqrt())
                        }
                    }
                }
            }
        }
    }
}

/// An aggregate call of the query, and whether its argument may read SELECT aliases (not in
/// SELECT itself, as the whole-group evaluation had it).
struct Site<'q> {
    id: usize,
    name: &'q str,
    arg: Option<&'q Expr>,
    aliases: bool,
}

/// The aggregate calls of SELECT, HAVING and ORDER BY; not those inside another aggregate's
/// argument (those are evaluated per event, inside it).
fn sites(query: &Query) -> Vec<Site<'_>> {
    let mut out: Vec<Site<'_>> = Vec::new();
    let mut nested: HashSet<usize> = HashSet::new();
    let mut roots: Vec<(&Expr, bool)> = Vec::new();
    for item in &query.select {
        if let SelectItem::Expr { expr, .. } = item {
            roots.push((expr, false));
        }
    }
    if let Some(h) = &query.having {
        roots.push((h, true));
    }
    for k in &query.order_by {
        roots.push((&k.expr, true));
    }
    for (root, aliases) in roots {
        let mut calls: Vec<&Expr> = Vec::new();
        root.walk(&mut |e| {
            if let ExprKind::Func { name, .. } = &e.kind {
                if crate::functions::is_aggregate(name) {
                    calls.push(e);
                }
            }
        });
        for call in &calls {
            if let ExprKind::Func { args, .. } = &call.kind {
                for a in args {
                    a.walk(&mut |x| {
                        nested.insert(expr_id(x));
                    });
                }
            }
        }
        for call in calls {
            if let ExprKind::Func { name, args, .. } = &call.kind {
                out.push(Site {
                    id: expr_id(call),
                    name: name.as_str(),
                    arg: args.first(),
                    aliases,
                });
            }
        }
    }
    out.retain(|s| !nested.contains(&s.id));
    out
}

struct Group {
    first: Option<QRadarEvent>,
    accs: Vec<Acc>,
}

/// The groups of an aggregate query, in the order their first event came.
pub(crate) struct Groups<'q> {
    query: &'q Query,
    sites: Vec<Site<'q>>,
    index: HashMap<String, usize>,
    groups: Vec<Group>,
}

impl<'q> Groups<'q> {
    pub fn new(query: &'q Query) -> Groups<'q> {
        let sites = sites(query);
        let mut g = Groups {
            query,
            sites,
            index: HashMap::new(),
            groups: Vec::new(),
        };
        if query.group_by.is_empty() {
            // One group, even over no events.
            g.groups.push(g.new_group());
        }
        g
    }

    fn new_group(&self) -> Group {
        Group {
            first: None,
            accs: self
                .sites
                .iter()
                .map(|s| s.arg.map_or(Acc::Unknown, |a| Acc::new(s.name, a)))
                .collect(),
        }
    }

    pub fn len(&self) -> usize {
        self.groups.len()
    }

    /// Add the next event (in event order).
    pub fn add(&mut self, eval: &Evaluator<'_>, ev: QRadarEvent) {
        let i = if self.query.group_by.is_empty() {
            0
        } else {
            let scope = Scope {
                row: Row::Event(&ev),
                outputs: None,
                aliases: true,
            };
            let key: Vec<Value> = self
                .query
                .group_by
                .iter()
                .map(|g| eval.value(g, scope))
                .collect();
            let k = format!("{key:?}");
            match self.index.get(&k) {
                Some(&i) => i,
                None => {
                    self.index.insert(k, self.groups.len());
                    let g = self.new_group();
                    self.groups.push(g);
                    self.groups.len() - 1
                }
            }
        };
        let Some(group) = self.groups.get_mut(i) else {
            return;
        };
        for (site, acc) in self.sites.iter().zip(group.accs.iter_mut()) {
            if let Some(arg) = site.arg {
                acc.add(eval, arg, site.aliases, &ev);
            }
        }
        if group.first.is_none() {
            group.first = Some(ev);
        }
    }

    /// Each group's row view, in order.
    pub fn for_each(&self, f: &mut dyn FnMut(&GroupRow<'_>)) {
        for g in &self.groups {
            let aggregates: HashMap<usize, Value> = self
                .sites
                .iter()
                .zip(&g.accs)
                .map(|(s, a)| (s.id, a.finish()))
                .collect();
            f(&GroupRow {
                first: g.first.as_ref(),
                aggregates: &aggregates,
            });
        }
    }
}
