//! Recursive-descent parser for the AQL subset, followed by the static checks that QRadar
//! enforces (a WHERE holds conditions, TEXT SEARCH comes first and only with AND, LIMIT comes
//! before the time clause, functions exist). Every error carries a span.
//!
//! This module reads the clauses of a query; [`expr`] reads expressions, under the nesting
//! limit of [`crate::limits::MAX_DEPTH`].

use crate::ast::*;
use crate::error::{ParseError, Span};
use crate::lexer::{lex, Tok, Token};

mod expr;

/// Words that cannot be bare column names.
const RESERVED: &[&str] = &[
    "SELECT",
    "FROM",
    "WHERE",
    "GROUP",
    "BY",
    "HAVING",
    "ORDER",
    "LIMIT",
    "LAST",
    "START",
    "STOP",
    "AND",
    "OR",
    "NOT",
    "LIKE",
    "ILIKE",
    "MATCHES",
    "IMATCHES",
    "IN",
    "BETWEEN",
    "IS",
    "NULL",
    "CASE",
    "WHEN",
    "THEN",
    "ELSE",
    "END",
    "IF",
    "AS",
    "ASC",
    "DESC",
    "INTO",
    "COLLATE",
    "PARAMETERS",
    "TRUE",
    "FALSE",
    "DISTINCT",
];

fn is_reserved(word: &str) -> bool {
    RESERVED.iter().any(|r| r.eq_ignore_ascii_case(word))
}

/// Parse and check a query.
pub fn parse(text: &str) -> Result<Query, ParseError> {
    let (toks, lex_err) = lex(text);
    let mut p = Parser {
        text,
        toks,
        pos: 0,
        lex_err,
        depth: 0,
    };
    let query = p.query()?;
    crate::check::check(&query)?;
    Ok(query)
}

struct Parser<'a> {
    text: &'a str,
    toks: Vec<Token>,
    pos: usize,
    lex_err: Option<ParseError>,
    /// Expression levels open on the way down to the token being read (see [`expr`]).
    depth: usize,
}

type PResult<T> = Result<T, ParseError>;

impl<'a> Parser<'a> {
    fn peek(&self) -> &Token {
        // The token list always ends with Eof (or is cut at a lexical error, then Eof is
        // implied at the end).
        self.toks.get(self.pos).unwrap_or(&EOF)
    }

    fn peek_at(&self, n: usize) -> &Token {
        self.toks.get(self.pos + n).unwrap_or(&EOF)
    }

    fn bump(&mut self) -> Token {
        let t = self.peek().clone();
        if self.pos < self.toks.len() {
            self.pos += 1;
        }
        t
    }

    fn prev(&self) -> Option<&Token> {
        self.pos.checked_sub(1).and_then(|i| self.toks.get(i))
    }

    fn at_end(&self) -> bool {
        self.pos >= self.toks.len() || self.peek().tok == Tok::Eof
    }

    fn error(&self, span: Span, message: impl Into<String>) -> ParseError {
        ParseError::new(self.text, span, message)
    }

    /// An error about the current token; at the end of a text that failed to lex, the
    /// lexical error is the real one.
    fn unexpected(&self, expected: &str) -> ParseError {
        if self.at_end() {
            if let Some(e) = &self.lex_err {
                return e.clone();
            }
        }
        let t = self.peek();
        let span = if self.at_end() {
            Span::new(self.text.len(), self.text.len())
        } else {
            t.span
        };
        if let (Some(prev), Tok::Ident(word)) = (self.prev(), &t.tok) {
            if let Tok::Str(s) = &prev.tok {
                if !is_reserved(word) {
                    return self.error(
                        span,
                        format!(
                            "unexpected `{word}` right after the string '{s}': if the quote before it belongs to the text, double it ('')"
                        ),
                    );
                }
            }
        }
        let mut msg = format!("expected {expected}, found {}", t.tok.describe());
        if let Tok::Ident(word) = &t.tok {
            if let Some(kw) = did_you_mean(word, expected) {
                msg.push_str(&format!(" (did you mean {kw}?)"));
            }
        }
        self.error(span, msg)
    }

    fn is_kw(&self, kw: &str) -> bool {
        matches!(&self.peek().tok, Tok::Ident(w) if w.eq_ignore_ascii_case(kw))
    }

    fn is_kw_at(&self, n: usize, kw: &str) -> bool {
        matches!(&self.peek_at(n).tok, Tok::Ident(w) if w.eq_ignore_ascii_case(kw))
    }

    fn eat_kw(&mut self, kw: &str) -> Option<Span> {
        if self.is_kw(kw) {
            Some(self.bump().span)
        } else {
            None
        }
    }

    fn expect_kw(&mut self, kw: &str) -> PResult<Span> {
        self.eat_kw(kw).ok_or_else(|| self.unexpected(kw))
    }

    fn eat(&mut self, tok: &Tok) -> Option<Span> {
        if &self.peek().tok == tok {
            Some(self.bump().span)
        } else {
            None
        }
    }

    fn expect(&mut self, tok: Tok, what: &str) -> PResult<Span> {
        self.eat(&tok).ok_or_else(|| self.unexpected(what))
    }

    // ---- query ----

    fn query(&mut self) -> PResult<Query> {
        self.expect_kw("SELECT")?;
        let mut select = Vec::new();
        loop {
            select.push(self.select_item()?);
            if self.eat(&Tok::Comma).is_none() {
                break;
            }
        }
        if !self.is_kw("FROM") {
            let msg = if matches!(&self.peek().tok, Tok::Ident(w) if !is_reserved(w))
                || matches!(self.peek().tok, Tok::QuotedIdent(_) | Tok::Str(_))
            {
                "`,` or FROM (to name a column, write `AS name`)"
            } else {
                "`,` or FROM"
            };
            return Err(self.unexpected(msg));
        }
        let from_kw = self.bump().span;
        let (from, from_span) = match &self.peek().tok {
            Tok::Ident(w) if w.eq_ignore_ascii_case("events") => (Table::Events, self.bump().span),
            Tok::Ident(w) if w.eq_ignore_ascii_case("flows") => (Table::Flows, self.bump().span),
            _ => return Err(self.unexpected("`events` or `flows` after FROM")),
        };
        let from_span = from_kw.to(from_span);
        let mut into = None;
        if self.eat_kw("INTO").is_some() {
            match self.bump().tok {
                Tok::Str(s) => into = Some(s),
                _ => {
                    self.pos -= 1;
                    return Err(self.unexpected("a quoted cursor name after INTO"));
                }
            }
        }
        let mut where_ = None;
        if self.eat_kw("WHERE").is_some() {
            where_ = Some(self.expression()?);
        }
        let mut group_by = Vec::new();
        if self.is_kw("GROUP") {
            self.bump();
            self.expect_kw("BY")?;
            loop {
                group_by.push(self.expression()?);
                if self.eat(&Tok::Comma).is_none() {
                    break;
                }
            }
        }
        let mut having = None;
        if self.eat_kw("HAVING").is_some() {
            having = Some(self.expression()?);
        }
        let order_by = self.order_by()?;
        let mut limit = None;
        if self.eat_kw("LIMIT").is_some() {
            match self.peek().tok {
                Tok::Int(n) if n >= 0 => {
                    self.bump();
                    limit = Some(n as u64);
                }
                _ => return Err(self.unexpected("a non-negative whole number after LIMIT")),
            }
        }
        let time = self.time_clause()?;
        let parameters = self.parameters()?;
        if !self.at_end() {
            return Err(self.trailing(time.is_some()));
        }
        if let Some(e) = self.lex_err.take() {
            return Err(e);
        }
        Ok(Query {
            text: self.text.to_string(),
            select,
            from,
            from_span,
            into,
            where_,
            group_by,
            having,
            order_by,
            limit,
            time,
            parameters,
        })
    }

    /// `ORDER BY key [ASC|DESC] [COLLATE 'x'], …`, if present.
    fn order_by(&mut self) -> PResult<Vec<OrderKey>> {
        let mut order_by = Vec::new();
        if self.is_kw("ORDER") {
            self.bump();
            self.expect_kw("BY")?;
            loop {
                let expr = self.expression()?;
                let mut descending = false;
                if self.eat_kw("DESC").is_some() {
                    descending = true;
                } else {
                    self.eat_kw("ASC");
                }
                let mut collate = None;
                if self.eat_kw("COLLATE").is_some() {
                    match self.bump().tok {
                        Tok::Str(s) => collate = Some(s),
                        _ => {
                            self.pos -= 1;
                            return Err(self.unexpected("a quoted locale after COLLATE"));
                        }
                    }
                }
                order_by.push(OrderKey {
                    expr,
                    descending,
                    collate,
                });
                if self.eat(&Tok::Comma).is_none() {
                    break;
                }
            }
        }
        Ok(order_by)
    }

    /// `PARAMETERS NAME=value, …`, if present.
    fn parameters(&mut self) -> PResult<Vec<(String, Expr)>> {
        let mut parameters = Vec::new();
        if self.eat_kw("PARAMETERS").is_some() {
            loop {
                let name = match self.bump().tok {
                    Tok::Ident(w) => w,
                    _ => {
                        self.pos -= 1;
                        return Err(self.unexpected("a parameter name after PARAMETERS"));
                    }
                };
                self.expect(Tok::Eq, "`=`")?;
                let value = self.operand_expression(expr::ADDITIVE)?;
                parameters.push((name.to_ascii_uppercase(), value));
                if self.eat(&Tok::Comma).is_none() {
                    break;
                }
            }
        }
        Ok(parameters)
    }

    /// The error for what is left after a complete query.
    fn trailing(&self, has_time: bool) -> ParseError {
        if self.is_kw("LIMIT") && has_time {
            return self.error(
                self.peek().span,
                "LIMIT must come before the time clause (LAST/START): write `... LIMIT n LAST ...`",
            );
        }
        if let Tok::Ident(w) = &self.peek().tok {
            if is_interval_unit(w) {
                return self.error(
                    self.peek().span,
                    format!(
                        "unexpected `{w}`: AQL has no interval literals; times are epoch milliseconds (for one hour write 3600000)"
                    ),
                );
            }
        }
        self.unexpected(
            "WHERE, GROUP BY, HAVING, ORDER BY, LIMIT, LAST, START, PARAMETERS or end of query",
        )
    }

    fn select_item(&mut self) -> PResult<SelectItem> {
        if let Some(span) = self.eat(&Tok::Star) {
            return Ok(SelectItem::Wildcard(span));
        }
        let expr = self.expression()?;
        let mut span = expr.span;
        let mut alias = None;
        if self.eat_kw("AS").is_some() {
            let t = self.bump();
            let (name, quote) = match t.tok {
                Tok::Ident(w) => (w, Quote::None),
                Tok::Str(s) => (s, Quote::Single),
                Tok::QuotedIdent(s) => (s, Quote::Double),
                _ => {
                    self.pos -= 1;
                    return Err(self.unexpected("a name after AS"));
                }
            };
            if name.is_empty() {
                return Err(self.error(t.span, "empty alias"));
            }
            span = span.to(t.span);
            alias = Some(Alias {
                name,
                quote,
                span: t.span,
            });
        }
        Ok(SelectItem::Expr { expr, alias, span })
    }

    fn time_clause(&mut self) -> PResult<Option<TimeClause>> {
        if self.is_kw("LAST") && !matches!(self.peek_at(1).tok, Tok::LParen) {
            let kw = self.bump().span;
            let count = match self.peek().tok {
                Tok::Int(n) if n > 0 => {
                    self.bump();
                    n
                }
                _ => return Err(self.unexpected("a positive whole number after LAST")),
            };
            let unit_tok = self.bump();
            let Tok::Ident(word) = &unit_tok.tok else {
                self.pos -= 1;
                return Err(self.unexpected("MINUTES, HOURS or DAYS"));
            };
            let (unit, documented_unit) = match word.to_ascii_uppercase().as_str() {
                "MINUTES" => (TimeUnit::Minutes, true),
                "HOURS" => (TimeUnit::Hours, true),
                "DAYS" => (TimeUnit::Days, true),
                "MINUTE" => (TimeUnit::Minutes, false),
                "HOUR" => (TimeUnit::Hours, false),
                "DAY" => (TimeUnit::Days, false),
                "SECONDS" | "SECOND" => (TimeUnit::Seconds, false),
                _ => {
                    self.pos -= 1;
                    return Err(self.unexpected("MINUTES, HOURS or DAYS"));
                }
            };
            return Ok(Some(TimeClause::Last {
                count,
                unit,
                documented_unit,
                span: kw.to(unit_tok.span),
            }));
        }
        if let Some(kw) = self.eat_kw("START") {
            let start = self.time_value("START")?;
            let mut stop = None;
            if self.eat_kw("STOP").is_some() {
                stop = Some(self.time_value("STOP")?);
            }
            let end = stop.as_ref().map_or(start.span(), TimeValue::span);
            return Ok(Some(TimeClause::Range {
                start,
                stop,
                span: kw.to(end),
            }));
        }
        if self.is_kw("STOP") {
            return Err(self.error(self.peek().span, "STOP without START"));
        }
        Ok(None)
    }

    fn time_value(&mut self, after: &str) -> PResult<TimeValue> {
        let t = self.bump();
        match t.tok {
            Tok::Str(s) => {
                crate::time::parse_time_literal(&s, jiff::tz::TimeZone::UTC)
                    .map_err(|m| self.error(t.span, m))?;
                Ok(TimeValue::Text(s, t.span))
            }
            Tok::Int(n) => Ok(TimeValue::Millis(n, t.span)),
            Tok::Ident(w) if w.eq_ignore_ascii_case("PARSEDATETIME") => {
                self.expect(Tok::LParen, "`(`")?;
                let arg = self.bump();
                let Tok::Str(s) = arg.tok else {
                    self.pos -= 1;
                    return Err(self.unexpected("a quoted time such as '1 hour ago'"));
                };
                crate::time::check_parsedatetime(&s).map_err(|m| self.error(arg.span, m))?;
                let close = self.expect(Tok::RParen, "`)`")?;
                Ok(TimeValue::ParseDateTime(s, t.span.to(close)))
            }
            _ => {
                self.pos -= 1;
                Err(self.unexpected(&format!(
                    "a quoted time, epoch milliseconds or PARSEDATETIME(...) after {after}"
                )))
            }
        }
    }
}

static EOF: Token = Token {
    tok: Tok::Eof,
    span: Span { start: 0, end: 0 },
};

/// Words the parser knows besides the reserved ones, for "did you mean": sort order, units,
/// tables and the rest of the clauses.
const MORE_WORDS: &[&str] = &[
    "ASC",
    "DESC",
    "INTO",
    "COLLATE",
    "PARAMETERS",
    "MINUTES",
    "HOURS",
    "DAYS",
    "events",
    "flows",
];

/// Words the parser knows, for "did you mean": the reserved words (but `IF`, a function name
/// too short to suggest) and [`MORE_WORDS`].
fn known_words() -> impl Iterator<Item = &'static str> {
    RESERVED
        .iter()
        .chain(MORE_WORDS)
        .copied()
        .filter(|w| *w != "IF")
}

/// The keyword `word` is most likely a misspelling of (`FORM` → `FROM`), if any: first among
/// the words the error expects (`WHERE`, `FROM`, `events` …), then among all keywords. A word
/// is close when one edit (insert, delete, replace, swap two neighbours) makes it the keyword,
/// two for words of six letters or more.
fn did_you_mean(word: &str, expected: &str) -> Option<String> {
    if word.len() < 3 || word.len() > 20 || is_reserved(word) {
        return None;
    }
    let upper = word.to_ascii_uppercase();
    let budget = if upper.len() >= 6 { 2 } else { 1 };
    let expected_words: Vec<&str> = expected
        .split(|c: char| !c.is_ascii_alphabetic())
        .filter(|w| w.len() >= 2 && known_words().any(|k| k == *w))
        .collect();
    let best = |candidates: &[&str]| -> Option<String> {
        candidates
            .iter()
            .map(|k| (edit_distance(&upper, &k.to_ascii_uppercase()), *k))
            .filter(|(d, _)| *d > 0 && *d <= budget)
            .min_by_key(|(d, _)| *d)
            .map(|(_, k)| {
                if k.chars().all(|c| c.is_ascii_lowercase()) {
                    format!("`{k}`")
                } else {
                    k.to_string()
                }
            })
    };
    best(&expected_words).or_else(|| best(&known_words().collect::<Vec<_>>()))
}

/// Optimal string alignment distance (Levenshtein with swaps of neighbours), for short words.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = v;
        }
    }
    d[a.len()][b.len()]
}

fn is_interval_unit(word: &str) -> bool {
    matches!(
        word.to_ascii_uppercase().as_str(),
        "SECOND"
            | "SECONDS"
            | "MINUTE"
            | "MINUTES"
            | "HOUR"
            | "HOURS"
            | "DAY"
            | "DAYS"
            | "WEEK"
            | "WEEKS"
            | "INTERVAL"
    )
}
