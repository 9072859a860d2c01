//! Running a query over events: time window, WHERE, GROUP BY/HAVING, SELECT, ORDER BY, LIMIT.
//!
//! Events are pushed one by one. "Now" is `--now` when given, else the newest event time of
//! the whole input, so it is only known at the end: the runner keeps the events that pass
//! WHERE (or all of them, when WHERE itself depends on now) and applies the window when
//! [`Runner::finish`] is called. Results never depend on the order events arrive in: kept
//! events are put in event-time order (ties by event id) before grouping and sorting, and that
//! order is QRadar's "first" for FIRST/LAST and ungrouped columns, and the tie order of ORDER BY.

use std::collections::HashMap;

use jiff::Timestamp;
use serde::Serialize;
use snapback_model::Event;

use crate::ast::*;
use crate::error::{position, snippet};
use crate::eval::{Evaluator, Row, Scope};
use crate::limits::{Refusal, RunDiagnostic};
use crate::value::{sort_cmp, Value};
use crate::view::{PropertyMap, QRadarEvent, WILDCARD_COLUMNS};
use crate::Precedence;

/// How to run a query.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub precedence: Precedence,
    /// "Now" for LAST, NOW(), PARSEDATETIME and a STOP-less START. `None`: the newest event
    /// time in the input.
    pub now: Option<Timestamp>,
    /// The QRadar console's time zone: DATEFORMAT output, START/STOP literals without `Z`.
    pub tz: jiff::tz::TimeZone,
    pub properties: PropertyMap,
    /// Window when the query has no time clause: QRadar's UI uses the last 5 minutes (the
    /// REST API 60 s). `None`: no window.
    pub default_window_ms: Option<i64>,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            precedence: Precedence::Sql,
            now: None,
            tz: jiff::tz::TimeZone::UTC,
            properties: PropertyMap::default(),
            default_window_ms: Some(5 * 60_000),
        }
    }
}

/// Where "now" came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum NowSource {
    /// `--now`.
    Given,
    /// The newest event time in the input.
    NewestEvent,
    /// No events and no `--now`: the wall clock.
    WallClock,
}

/// The rows of a query, and how they were obtained.
#[derive(Debug, Clone, Serialize)]
pub struct ResultSet {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Value>>,
    #[serde(serialize_with = "ser_timestamp")]
    pub now: Timestamp,
    pub now_source: NowSource,
    /// The time window applied to `starttime`, inclusive, in epoch milliseconds.
    pub window: Option<(i64, i64)>,
    pub precedence: Precedence,
    /// Events read.
    pub events_read: u64,
    /// Events inside the time window.
    pub events_in_window: u64,
    /// Events that passed WHERE in the window (before GROUP BY/HAVING/LIMIT).
    pub events_matched: u64,
    /// Values that hit one of snapback's limits (see [`crate::limits`]) and became NULL:
    /// one per code and place in the query, with how often.
    pub diagnostics: Vec<RunDiagnostic>,
}

fn ser_timestamp<S: serde::Serializer>(t: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(t)
}

/// Runs one query over pushed events.
pub struct Runner<'q> {
    query: &'q Query,
    options: RunOptions,
    eval: Evaluator<'q>,
    kept: Vec<QRadarEvent>,
    /// WHERE was applied when the event was pushed (it does not depend on now).
    filtered_early: bool,
    newest: Option<i64>,
    events_read: u64,
}

impl<'q> Runner<'q> {
    pub fn new(query: &'q Query, options: RunOptions) -> Runner<'q> {
        let depends_on_now = uses_now(query);
        let eval = Evaluator::new(
            query,
            options.precedence,
            options.properties.clone(),
            options.tz.clone(),
            0,
        );
        Runner {
            query,
            eval,
            filtered_early: !depends_on_now,
            options,
            kept: Vec::new(),
            newest: None,
            events_read: 0,
        }
    }

    /// Offer one event.
    pub fn push(&mut self, event: Event) {
        self.events_read += 1;
        if self.query.from == Table::Flows {
            // An audit event is not a flow (see `check_runnable`).
            return;
        }
        let ev = QRadarEvent::new(event);
        self.newest = Some(self.newest.map_or(ev.starttime, |n| n.max(ev.starttime)));
        if self.filtered_early && !passes_where(&self.eval, self.query, &ev) {
            return;
        }
        self.kept.push(ev);
    }

    /// The time window for a given now, inclusive.
    fn window(&self, now_ms: i64) -> Option<(i64, i64)> {
        let tz = self.options.tz.clone();
        match &self.query.time {
            Some(TimeClause::Last { count, unit, .. }) => Some((
                now_ms.saturating_sub(count.saturating_mul(unit.millis())),
                now_ms,
            )),
            Some(TimeClause::Range { start, stop, .. }) => {
                let start_ms = match start {
                    TimeValue::Text(s, _) => crate::time::parse_time_literal(s, tz.clone())
                        .map(|l| floor_minute(l.millis))
                        .unwrap_or(i64::MIN),
                    TimeValue::Millis(m, _) => *m,
                    TimeValue::ParseDateTime(s, _) => {
                        crate::time::parse_datetime(s, now_ms, tz.clone()).unwrap_or(i64::MIN)
                    }
                };
                let stop_ms = match stop {
                    None => now_ms,
                    Some(TimeValue::Text(s, _)) => match crate::time::parse_time_literal(s, tz) {
                        // STOP 'hh:mm' excludes that minute; STOP 'hh:mm:ss' includes it.
                        Ok(l) if l.has_seconds => floor_minute(l.millis) + 60_000 - 1,
                        Ok(l) => floor_minute(l.millis) - 1,
                        Err(_) => i64::MAX,
                    },
                    Some(TimeValue::Millis(m, _)) => *m,
                    Some(TimeValue::ParseDateTime(s, _)) => {
                        crate::time::parse_datetime(s, now_ms, tz).unwrap_or(i64::MAX)
                    }
                };
                Some((start_ms, stop_ms))
            }
            None => self
                .options
                .default_window_ms
                .map(|w| (now_ms.saturating_sub(w), now_ms)),
        }
    }

    /// "Now", and where it came from.
    fn now(&self) -> (Timestamp, NowSource) {
        match self.options.now {
            Some(t) => (t, NowSource::Given),
            None => match self
                .newest
                .and_then(|ms| Timestamp::from_millisecond(ms).ok())
            {
                Some(t) => (t, NowSource::NewestEvent),
                None => (Timestamp::now(), NowSource::WallClock),
            },
        }
    }

    /// Apply the window, group, sort and limit.
    pub fn finish(mut self) -> ResultSet {
        let (now, now_source) = self.now();
        let now_ms = now.as_millisecond();
        let window = self.window(now_ms);
        self.eval.now_ms = now_ms;
        if self.query.from == Table::Flows {
            self.eval.refused(self.query.from_span, &Refusal::NoFlows);
        }
        let eval = &self.eval;
        let query = self.query;

        let mut in_window: Vec<&QRadarEvent> = self
            .kept
            .iter()
            .filter(|e| window.is_none_or(|(lo, hi)| e.starttime >= lo && e.starttime <= hi))
            .collect();
        // Events in window, counted before WHERE only when WHERE ran late; else only matches
        // were kept and the count is of those.
        let events_in_window = in_window.len() as u64;
        if !self.filtered_early {
            in_window.retain(|e| passes_where(eval, query, e));
        }
        in_window.sort_by(|a, b| {
            a.starttime
                .cmp(&b.starttime)
                .then_with(|| a.event.event_id.cmp(&b.event.event_id))
        });
        let events_matched = in_window.len() as u64;

        let columns = column_names(query);
        let mut rows: Vec<(Vec<Value>, Vec<Value>)> = Vec::new(); // (cells, order keys)
        fn scope<'a>(row: Row<'a>, outputs: Option<(&'a [String], &'a [Value])>) -> Scope<'a> {
            Scope {
                row,
                outputs,
                aliases: true,
            }
        }
        if query.is_aggregate() {
            let mut order: Vec<Vec<&QRadarEvent>> = Vec::new();
            if query.group_by.is_empty() {
                order.push(in_window);
            } else {
                let mut index: HashMap<String, usize> = HashMap::new();
                for ev in in_window {
                    let key: Vec<Value> = query
                        .group_by
                        .iter()
                        .map(|g| eval.value(g, scope(Row::Event(ev), None)))
                        .collect();
                    let k = format!("{key:?}");
                    match index.get(&k) {
                        Some(&i) => order[i].push(ev),
                        None => {
                            index.insert(k, order.len());
                            order.push(vec![ev]);
                        }
                    }
                }
            }
            for group in &order {
                let cells = select_cells(eval, query, Row::Group(group));
                let outputs = Some((columns.as_slice(), cells.as_slice()));
                if let Some(h) = &query.having {
                    if eval.truth(h, scope(Row::Group(group), outputs)) != Some(true) {
                        continue;
                    }
                }
                let keys = query
                    .order_by
                    .iter()
                    .map(|k| eval.value(&k.expr, scope(Row::Group(group), outputs)))
                    .collect();
                rows.push((cells, keys));
            }
        } else {
            for ev in in_window {
                let cells = select_cells(eval, query, Row::Event(ev));
                let outputs = Some((columns.as_slice(), cells.as_slice()));
                let keys = query
                    .order_by
                    .iter()
                    .map(|k| eval.value(&k.expr, scope(Row::Event(ev), outputs)))
                    .collect();
                rows.push((cells, keys));
            }
        }
        if !query.order_by.is_empty() {
            rows.sort_by(|(_, a), (_, b)| {
                for (i, key) in query.order_by.iter().enumerate() {
                    let o = sort_cmp(&a[i], &b[i]);
                    let o = if key.descending { o.reverse() } else { o };
                    if o != std::cmp::Ordering::Equal {
                        return o;
                    }
                }
                std::cmp::Ordering::Equal
            });
        }
        let mut rows: Vec<Vec<Value>> = rows.into_iter().map(|(c, _)| c).collect();
        if let Some(n) = query.limit {
            rows.truncate(usize::try_from(n).unwrap_or(usize::MAX));
        }
        ResultSet {
            columns,
            rows,
            now,
            now_source,
            window,
            precedence: self.options.precedence,
            events_read: self.events_read,
            events_in_window,
            events_matched,
            diagnostics: self.eval.take_diagnostics(),
        }
    }
}

/// Why `aql run` refuses a query that parses (and that lint still reads).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RunError {
    /// `FROM flows`: valid AQL, but the input holds no flows (issue 17, item 6).
    #[error("{line}:{column}: FROM flows: flows are network traffic records (QFlow, NetFlow, IPFIX) that QRadar collects from the network; snapback reads cloud audit logs, which hold events only, so it has no flows to search (search FROM events; `aql lint` still checks this query)\n{snippet}")]
    Flows {
        line: usize,
        column: usize,
        snippet: String,
    },
}

/// Whether a parsed query can be run offline. `FROM flows` cannot: audit logs hold no flows,
/// and rows of events would be a wrong answer; [`run`] gives no rows for it, with a
/// diagnostic (AQL-R006).
pub fn check_runnable(query: &Query) -> Result<(), RunError> {
    if query.from == Table::Flows {
        let pos = position(&query.text, query.from_span.start);
        return Err(RunError::Flows {
            line: pos.line,
            column: pos.column,
            snippet: snippet(&query.text, query.from_span),
        });
    }
    Ok(())
}

/// Parse-free convenience: run a parsed query over events.
pub fn run(
    query: &Query,
    events: impl IntoIterator<Item = Event>,
    options: RunOptions,
) -> ResultSet {
    let mut runner = Runner::new(query, options);
    for e in events {
        runner.push(e);
    }
    runner.finish()
}

fn passes_where(eval: &Evaluator<'_>, query: &Query, ev: &QRadarEvent) -> bool {
    match &query.where_ {
        None => true,
        Some(w) => {
            eval.truth(
                w,
                Scope {
                    row: Row::Event(ev),
                    outputs: None,
                    aliases: true,
                },
            ) == Some(true)
        }
    }
}

fn floor_minute(ms: i64) -> i64 {
    ms - ms.rem_euclid(60_000)
}

/// Whether WHERE may read "now" (NOW(), PARSEDATETIME), directly or through a SELECT alias
/// (conservatively: any SELECT expression that reads it counts).
fn uses_now(query: &Query) -> bool {
    let reads_now = |e: &Expr| {
        let mut found = false;
        e.walk(&mut |x| {
            if let ExprKind::Func { name, .. } = &x.kind {
                if name == "NOW" || name == "PARSEDATETIME" {
                    found = true;
                }
            }
        });
        found
    };
    let Some(w) = &query.where_ else { return false };
    reads_now(w)
        || query.select.iter().any(|item| match item {
            SelectItem::Expr { expr, .. } => reads_now(expr),
            SelectItem::Wildcard(_) => false,
        })
}

fn select_cells(eval: &Evaluator<'_>, query: &Query, row: Row<'_>) -> Vec<Value> {
    let mut cells = Vec::new();
    let scope = Scope {
        row,
        outputs: None,
        aliases: true,
    };
    for item in &query.select {
        match item {
            SelectItem::Wildcard(_) => {
                for c in WILDCARD_COLUMNS {
                    cells.push(match row {
                        Row::Event(e) => eval.event_field(e, c),
                        Row::Group(g) => g.first().map_or(Value::Null, |e| eval.event_field(e, c)),
                    });
                }
            }
            SelectItem::Expr { expr, .. } => cells.push(eval.value(
                expr,
                Scope {
                    aliases: false,
                    ..scope
                },
            )),
        }
    }
    cells
}

/// Result column names as QRadar gives them: the alias; a column's name; `<function>_<arg>`
/// (lower case) for scalar functions; `<AGG>_<arg>` for aggregates (`COUNT` for COUNT(*));
/// `FIRST_<column>` for an ungrouped, unaggregated column of a grouped query; otherwise the
/// expression's text.
pub fn column_names(query: &Query) -> Vec<String> {
    let aggregate = query.is_aggregate();
    let mut group_keys: Vec<String> = Vec::new();
    for g in &query.group_by {
        group_keys.push(query.source(g.span).to_lowercase());
        if let ExprKind::Column { name, .. } = &g.unparen().kind {
            group_keys.push(name.to_lowercase());
        }
    }
    let mut names = Vec::new();
    for item in &query.select {
        match item {
            SelectItem::Wildcard(_) => names.extend(WILDCARD_COLUMNS.iter().map(|c| c.to_string())),
            SelectItem::Expr { expr, alias, .. } => {
                if let Some(a) = alias {
                    names.push(a.name.clone());
                    continue;
                }
                let base = expr_name(query, expr);
                let is_key = group_keys
                    .iter()
                    .any(|k| *k == query.source(expr.span).to_lowercase())
                    || only_reads(expr, &group_keys);
                if aggregate && !expr.contains_aggregate() && !is_key {
                    names.push(format!("FIRST_{base}"));
                } else {
                    names.push(base);
                }
            }
        }
    }
    names
}

/// Whether every column `e` reads is one of `keys` (and it reads at least one).
fn only_reads(e: &Expr, keys: &[String]) -> bool {
    let mut any = false;
    let mut all = true;
    e.walk(&mut |x| {
        if let ExprKind::Column { name, .. } = &x.kind {
            any = true;
            all &= keys.contains(&name.to_lowercase());
        }
    });
    any && all
}

/// `username`, `qidname_qid`, `COUNT_x`, … (see [`column_names`]); a loop, not a recursion,
/// down the first argument that is a column or a call.
fn expr_name(query: &Query, e: &Expr) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut e = e.unparen();
    loop {
        match &e.kind {
            ExprKind::Column { name, .. } => {
                parts.push(name.clone());
                break;
            }
            ExprKind::Func { name, args, .. } => {
                parts.push(if crate::functions::is_aggregate(name) {
                    name.clone()
                } else {
                    name.to_lowercase()
                });
                match args.iter().find(|a| {
                    matches!(
                        a.unparen().kind,
                        ExprKind::Column { .. } | ExprKind::Func { .. }
                    )
                }) {
                    Some(a) => e = a.unparen(),
                    None => break,
                }
            }
            _ => {
                parts.push(
                    query
                        .source(e.span)
                        .split_whitespace()
                        .collect::<Vec<_>>()
                        .join(" "),
                );
                break;
            }
        }
    }
    parts.join("_")
}
