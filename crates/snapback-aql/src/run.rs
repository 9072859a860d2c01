//! Running a query over events: time window, WHERE, GROUP BY/HAVING, SELECT, ORDER BY, LIMIT.
//!
//! Events are pushed one by one. "Now" is `--now` when given, else the newest event time of
//! the whole input, so it is only known at the end: the runner keeps the events that pass
//! WHERE (or all of them, when WHERE itself depends on now) and applies the window when
//! [`Runner::finish`] is called. Results never depend on the order events arrive in: kept
//! events are put in event-time order (ties by event id) before grouping and sorting, and that
//! order is QRadar's "first" for FIRST/LAST and ungrouped columns, and the tie order of ORDER BY.

use jiff::Timestamp;
use serde::Serialize;
use snapback_model::Event;

use crate::ast::*;
use crate::error::{position, snippet};
use snapback_spill::{SortStats, Sorter, SpillError, SpillOptions};

use crate::eval::{Evaluator, Row, Scope};
use crate::limits::{Refusal, RunDiagnostic};
use crate::sink::{OnRow, Sink};
use crate::stream::HeldEvent;
use crate::value::Value;
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
    /// Rows produced (`rows.len()` after [`Runner::finish`]; [`Runner::finish_with`] hands
    /// them on instead).
    pub row_count: u64,
    /// The most events held in memory at once (what [`Runner::with_spill`] bounds).
    pub peak_held_events: usize,
    /// The most rows (or groups) held in memory at once.
    pub peak_held_rows: usize,
    /// Events and rows written to temporary files.
    pub spilled: u64,
    /// Why the run ended early (a temporary file could not be written or read back).
    pub error: Option<String>,
    /// Values that hit one of snapback's limits (see [`crate::limits`]) and became NULL:
    /// one per code and place in the query, with how often.
    pub diagnostics: Vec<RunDiagnostic>,
}

fn ser_timestamp<S: serde::Serializer>(t: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(t)
}

/// Runs one query over pushed events, in bounded memory (issue 13, item 10).
///
/// An event is dropped as it is pushed when it cannot be in the window (a window known
/// before the end: `--now`, START/STOP, no window; or one that ends at the newest event,
/// whose start only moves later) or fails a WHERE that does not read "now". The others are
/// held encoded in a [`Sorter`] (spilled to temporary files beyond its budget) until the end,
/// when "now" is known and they come back in event order through a [`Sink`].
pub struct Runner<'q> {
    query: &'q Query,
    options: RunOptions,
    eval: Evaluator<'q>,
    held: Sorter<HeldEvent, EventOrder>,
    spill: SpillOptions,
    /// WHERE was applied when the event was pushed (it does not depend on now).
    filtered_early: bool,
    /// The window, when it is known before the input ends.
    fixed_window: Option<Option<(i64, i64)>>,
    /// The width of a window that ends at the newest event (LAST n, the default window)
    /// when "now" is not given.
    trailing: Option<i64>,
    newest: Option<i64>,
    events_read: u64,
    error: Option<SpillError>,
}

type EventOrder = fn(&HeldEvent, &HeldEvent) -> std::cmp::Ordering;

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
        let spill = SpillOptions::default();
        let mut runner = Runner {
            query,
            eval,
            filtered_early: !depends_on_now,
            held: Sorter::new(spill.clone(), HeldEvent::order as EventOrder),
            spill,
            fixed_window: None,
            trailing: None,
            options,
            newest: None,
            events_read: 0,
            error: None,
        };
        runner.plan_window();
        runner
    }

    /// Hold at most `spill.max_records` events (and rows) in memory, spilling to `spill.dir`
    /// beyond. Call before the first [`Runner::push`].
    pub fn with_spill(mut self, spill: SpillOptions) -> Runner<'q> {
        self.held = Sorter::new(spill.clone(), HeldEvent::order as EventOrder);
        self.spill = spill;
        self
    }

    /// What can be decided about the window before the input ends.
    fn plan_window(&mut self) {
        if let Some(now) = self.options.now {
            self.fixed_window = Some(self.window(now.as_millisecond()));
            return;
        }
        let fixed = |v: &TimeValue| !matches!(v, TimeValue::ParseDateTime(..));
        match &self.query.time {
            Some(TimeClause::Range {
                start,
                stop: Some(stop),
                ..
            }) if fixed(start) && fixed(stop) => self.fixed_window = Some(self.window(0)),
            Some(TimeClause::Last { count, unit, .. }) => {
                self.trailing = Some(count.saturating_mul(unit.millis()));
            }
            None => match self.options.default_window_ms {
                None => self.fixed_window = Some(None),
                Some(w) => self.trailing = Some(w),
            },
            Some(TimeClause::Range { .. }) => {}
        }
    }

    /// Offer one event.
    pub fn push(&mut self, event: Event) {
        self.events_read += 1;
        if self.query.from == Table::Flows || self.error.is_some() {
            // An audit event is not a flow (see `check_runnable`).
            return;
        }
        let starttime = event.time.instant.as_millisecond();
        self.newest = Some(self.newest.map_or(starttime, |n| n.max(starttime)));
        let event = if self.filtered_early && self.query.where_.is_some() {
            let ev = QRadarEvent::new(event);
            if !passes_where(&self.eval, self.query, &ev) {
                return;
            }
            ev.event
        } else {
            event
        };
        let outside = match (self.fixed_window, self.trailing, self.newest) {
            (Some(Some((lo, hi))), _, _) => starttime < lo || starttime > hi,
            // The window will start at the newest event time minus its width, or later.
            (None, Some(width), Some(newest)) => starttime < newest.saturating_sub(width),
            _ => false,
        };
        if outside {
            return;
        }
        let seq = self.held.pushed();
        if let Err(e) = self.held.push(HeldEvent::new(&event, starttime, seq)) {
            self.error = Some(e);
        }
    }

    /// The most events held in memory at once so far (what `with_spill` bounds).
    pub fn peak_held(&self) -> usize {
        self.held.peak_held()
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

    /// Apply the window, group, sort and limit; the rows in [`ResultSet::rows`].
    pub fn finish(self) -> ResultSet {
        let mut rows = Vec::new();
        let mut r = self.finish_with(&mut |row| {
            rows.push(row);
            true
        });
        r.rows = rows;
        r
    }

    /// Apply the window, group, sort and limit, handing each row to `on_row` as soon as it is
    /// known (`false` stops them); [`ResultSet::rows`] stays empty. A temporary file that
    /// cannot be written or read back ends the run: the result so far, and why in
    /// [`ResultSet::error`].
    pub fn finish_with(mut self, on_row: &mut dyn FnMut(Vec<Value>) -> bool) -> ResultSet {
        let (now, now_source) = self.now();
        let now_ms = now.as_millisecond();
        let window = self.window(now_ms);
        self.eval.now_ms = now_ms;
        if self.query.from == Table::Flows {
            self.eval.refused(self.query.from_span, &Refusal::NoFlows);
        }
        let mut counts = Counts {
            peak_held: self.held.peak_held(),
            ..Counts::default()
        };
        let mut emitted = 0u64;
        let mut counting = |row: Vec<Value>| {
            emitted += 1;
            on_row(row)
        };
        let outcome = match self.error.take() {
            Some(e) => Err(e),
            None => self.drain(window, &mut counts, &mut counting),
        };
        counts.rows = emitted;
        ResultSet {
            columns: column_names(self.query),
            rows: Vec::new(),
            now,
            now_source,
            window,
            precedence: self.options.precedence,
            events_read: self.events_read,
            events_in_window: counts.in_window,
            events_matched: counts.matched,
            row_count: counts.rows,
            peak_held_events: counts.peak_held,
            peak_held_rows: counts.peak_rows,
            spilled: counts.spilled,
            error: outcome.err().map(|e| e.to_string()),
            diagnostics: self.eval.take_diagnostics(),
        }
    }

    /// The held events in event order, through the window, WHERE (when it reads now) and
    /// the sink.
    fn drain(
        &mut self,
        window: Option<(i64, i64)>,
        counts: &mut Counts,
        on_row: &mut OnRow<'_>,
    ) -> Result<(), SpillError> {
        let (eval, query) = (&self.eval, self.query);
        let columns = column_names(query);
        let mut sink = Sink::new(query, &self.spill);
        let held = std::mem::replace(
            &mut self.held,
            Sorter::new(self.spill.clone(), HeldEvent::order as EventOrder),
        );
        let mut failure: Option<SpillError> = None;
        let mut open = true;
        let stats = held.drain(&mut |h| {
            if window.is_some_and(|(lo, hi)| h.starttime < lo || h.starttime > hi) {
                return true;
            }
            counts.in_window += 1;
            if self.filtered_early && !(open && sink.wants_more()) {
                // Only counted: no row can come of it.
                counts.matched += 1;
                return true;
            }
            let ev = match h.event() {
                Ok(e) => QRadarEvent::new(e),
                Err(e) => {
                    failure = Some(e);
                    return false;
                }
            };
            if !self.filtered_early && !passes_where(eval, query, &ev) {
                return true;
            }
            counts.matched += 1;
            if open && sink.wants_more() {
                match sink.event(eval, query, &columns, ev, on_row) {
                    Ok(more) => open = more,
                    Err(e) => {
                        failure = Some(e);
                        return false;
                    }
                }
            }
            true
        })?;
        if let Some(e) = failure {
            return Err(e);
        }
        counts.peak_held = counts.peak_held.max(stats.peak_held);
        counts.spilled = stats.spilled;
        let rows = if open {
            sink.finish(eval, query, &columns, on_row)?
        } else {
            SortStats::default()
        };
        counts.peak_rows = rows.peak_held;
        counts.spilled += rows.spilled;
        Ok(())
    }
}

#[derive(Default)]
struct Counts {
    in_window: u64,
    matched: u64,
    rows: u64,
    peak_held: usize,
    peak_rows: usize,
    spilled: u64,
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

pub(crate) fn select_cells(eval: &Evaluator<'_>, query: &Query, row: Row<'_>) -> Vec<Value> {
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
                        Row::Group(g) => g.first.map_or(Value::Null, |e| eval.event_field(e, c)),
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
