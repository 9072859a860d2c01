//! Where matching events go, in event order, once "now" and the window are known (issue 13,
//! item 10): per-group accumulators for an aggregate query; rows straight out for a query
//! without ORDER BY; the best k rows for ORDER BY … LIMIT k; a bounded, spilling sort of the
//! rows for any other ORDER BY.

use std::cmp::Ordering;

use snapback_spill::{SortStats, Sorter, SpillError, SpillOptions};

use crate::aggregate::Groups;
use crate::ast::*;
use crate::eval::{Evaluator, GroupRow, Row, Scope};
use crate::run::select_cells;
use crate::stream::{order_keys, HeldRow, TopK};
use crate::value::Value;
use crate::view::QRadarEvent;

type RowOrder<'q> = Box<dyn Fn(&HeldRow, &HeldRow) -> Ordering + 'q>;

pub(crate) enum Sink<'q> {
    Groups(Groups<'q>),
    /// No ORDER BY: rows leave as they are made; `left` is what LIMIT still allows.
    Stream {
        left: Option<u64>,
    },
    TopK(TopK<'q>),
    Sorted(Sorter<HeldRow, RowOrder<'q>>),
}

/// Rows handed on; `false` from the consumer stops them.
pub(crate) type OnRow<'a> = dyn FnMut(Vec<Value>) -> bool + 'a;

fn limit(query: &Query) -> Option<u64> {
    query.limit
}

impl<'q> Sink<'q> {
    pub fn new(query: &'q Query, spill: &SpillOptions) -> Sink<'q> {
        if query.is_aggregate() {
            return Sink::Groups(Groups::new(query));
        }
        if query.order_by.is_empty() {
            return Sink::Stream { left: limit(query) };
        }
        match limit(query) {
            Some(k) if k <= spill.max_records as u64 => {
                Sink::TopK(TopK::new(&query.order_by, k as usize))
            }
            _ => {
                let order: RowOrder<'q> =
                    Box::new(move |a, b| order_keys(&query.order_by, &a.keys, &b.keys));
                Sink::Sorted(Sorter::new(spill.clone(), order))
            }
        }
    }

    /// Whether more events can change the rows (a streamed LIMIT may be reached).
    pub fn wants_more(&self) -> bool {
        !matches!(self, Sink::Stream { left: Some(0) })
    }

    /// The next matching event, in event order.
    pub fn event(
        &mut self,
        eval: &Evaluator<'_>,
        query: &Query,
        columns: &[String],
        ev: QRadarEvent,
        on_row: &mut OnRow<'_>,
    ) -> Result<bool, SpillError> {
        if let Sink::Groups(groups) = self {
            groups.add(eval, ev);
            return Ok(true);
        }
        if !self.wants_more() {
            return Ok(true);
        }
        let cells = select_cells(eval, query, Row::Event(&ev));
        let keys = {
            let scope = Scope {
                row: Row::Event(&ev),
                outputs: Some((columns, cells.as_slice())),
                aliases: true,
            };
            query
                .order_by
                .iter()
                .map(|k| eval.value(&k.expr, scope))
                .collect()
        };
        match self {
            Sink::Stream { left } => {
                if let Some(n) = left {
                    *n -= 1;
                }
                Ok(on_row(cells))
            }
            Sink::TopK(top) => {
                top.push(HeldRow { cells, keys });
                Ok(true)
            }
            Sink::Sorted(sorter) => sorter.push(HeldRow { cells, keys }).map(|_| true),
            Sink::Groups(_) => Ok(true),
        }
    }

    /// Hand on the rows still held; the rows' peak held and spilled counts.
    pub fn finish(
        self,
        eval: &Evaluator<'_>,
        query: &Query,
        columns: &[String],
        on_row: &mut OnRow<'_>,
    ) -> Result<SortStats, SpillError> {
        let mut left = limit(query).unwrap_or(u64::MAX);
        let mut emit = |cells: Vec<Value>| {
            if left == 0 {
                return false;
            }
            left -= 1;
            on_row(cells)
        };
        match self {
            Sink::Stream { .. } => Ok(SortStats::default()),
            Sink::TopK(top) => {
                let peak = top.peak;
                for row in top.finish() {
                    if !emit(row.cells) {
                        break;
                    }
                }
                Ok(SortStats {
                    peak_held: peak,
                    spilled: 0,
                })
            }
            Sink::Sorted(sorter) => sorter.drain(&mut |row| emit(row.cells)),
            Sink::Groups(groups) => {
                let held = groups.len();
                for cells in group_rows(eval, query, columns, &groups) {
                    if !emit(cells) {
                        break;
                    }
                }
                Ok(SortStats {
                    peak_held: held,
                    spilled: 0,
                })
            }
        }
    }
}

/// The rows of the groups: SELECT, HAVING, ORDER BY (a stable sort), as the whole-group
/// evaluation had them.
fn group_rows(
    eval: &Evaluator<'_>,
    query: &Query,
    columns: &[String],
    groups: &Groups<'_>,
) -> Vec<Vec<Value>> {
    let mut rows: Vec<(Vec<Value>, Vec<Value>)> = Vec::new();
    groups.for_each(&mut |g: &GroupRow<'_>| {
        let cells = select_cells(eval, query, Row::Group(g));
        let scope = Scope {
            row: Row::Group(g),
            outputs: Some((columns, cells.as_slice())),
            aliases: true,
        };
        if let Some(h) = &query.having {
            if eval.truth(h, scope) != Some(true) {
                return;
            }
        }
        let keys = query
            .order_by
            .iter()
            .map(|k| eval.value(&k.expr, scope))
            .collect();
        rows.push((cells, keys));
    });
    if !query.order_by.is_empty() {
        rows.sort_by(|(_, a), (_, b)| order_keys(&query.order_by, a, b));
    }
    rows.into_iter().map(|(c, _)| c).collect()
}
