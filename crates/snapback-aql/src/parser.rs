//! Recursive-descent parser for the AQL subset, followed by the static checks that QRadar
//! enforces (a WHERE holds conditions, TEXT SEARCH comes first and only with AND, LIMIT comes
//! before the time clause, functions exist). Every error carries a span.
//!
//! Expression levels, loosest first: AND/OR chain (kept flat, see [`ExprKind::Logic`]), NOT,
//! predicate (comparison, [NOT] LIKE/ILIKE/MATCHES/IMATCHES, [NOT] IN, [NOT] BETWEEN, IS [NOT]
//! NULL), `&`, `+ -`, `* / %`, `^` (right-associative), unary `-`, primary.

use crate::ast::*;
use crate::error::{ParseError, Span};
use crate::functions::{self, FnKind};
use crate::lexer::{lex, Tok, Token};

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
        self.error(
            span,
            format!("expected {expected}, found {}", t.tok.describe()),
        )
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
            where_ = Some(self.expr()?);
        }
        let mut group_by = Vec::new();
        if self.is_kw("GROUP") {
            self.bump();
            self.expect_kw("BY")?;
            loop {
                group_by.push(self.expr()?);
                if self.eat(&Tok::Comma).is_none() {
                    break;
                }
            }
        }
        let mut having = None;
        if self.eat_kw("HAVING").is_some() {
            having = Some(self.expr()?);
        }
        let mut order_by = Vec::new();
        if self.is_kw("ORDER") {
            self.bump();
            self.expect_kw("BY")?;
            loop {
                let expr = self.expr()?;
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
                let value = self.additive()?;
                parameters.push((name.to_ascii_uppercase(), value));
                if self.eat(&Tok::Comma).is_none() {
                    break;
                }
            }
        }
        if !self.at_end() {
            if self.is_kw("LIMIT") && time.is_some() {
                return Err(self.error(
                    self.peek().span,
                    "LIMIT must come before the time clause (LAST/START): write `... LIMIT n LAST ...`",
                ));
            }
            if let Tok::Ident(w) = &self.peek().tok {
                if is_interval_unit(w) {
                    return Err(self.error(
                        self.peek().span,
                        format!(
                            "unexpected `{w}`: AQL has no interval literals; times are epoch milliseconds (for one hour write 3600000)"
                        ),
                    ));
                }
            }
            return Err(self.unexpected(
                "WHERE, GROUP BY, HAVING, ORDER BY, LIMIT, LAST, START, PARAMETERS or end of query",
            ));
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

    fn select_item(&mut self) -> PResult<SelectItem> {
        if let Some(span) = self.eat(&Tok::Star) {
            return Ok(SelectItem::Wildcard(span));
        }
        let expr = self.expr()?;
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

    // ---- expressions ----

    fn expr(&mut self) -> PResult<Expr> {
        let first = self.not_expr()?;
        let mut rest = Vec::new();
        loop {
            let op = if self.is_kw("AND") {
                LogicOp::And
            } else if self.is_kw("OR") {
                LogicOp::Or
            } else {
                break;
            };
            let op_span = self.bump().span;
            let operand = self.not_expr()?;
            rest.push((op, op_span, operand));
        }
        if rest.is_empty() {
            return Ok(first);
        }
        let span = first
            .span
            .to(rest.last().map_or(first.span, |(_, _, e)| e.span));
        Ok(Expr::new(
            ExprKind::Logic {
                first: Box::new(first),
                rest,
            },
            span,
        ))
    }

    fn not_expr(&mut self) -> PResult<Expr> {
        if let Some(kw) = self.eat_kw("NOT") {
            let inner = self.not_expr()?;
            let span = kw.to(inner.span);
            return Ok(Expr::new(ExprKind::Not(Box::new(inner)), span));
        }
        self.predicate()
    }

    fn predicate(&mut self) -> PResult<Expr> {
        let left = self.bitand()?;
        let cmp = match self.peek().tok {
            Tok::Eq | Tok::EqEq => Some(CmpOp::Eq),
            Tok::BangEq | Tok::LtGt => Some(CmpOp::Ne),
            Tok::Lt => Some(CmpOp::Lt),
            Tok::Le => Some(CmpOp::Le),
            Tok::Gt => Some(CmpOp::Gt),
            Tok::Ge => Some(CmpOp::Ge),
            _ => None,
        };
        if let Some(op) = cmp {
            self.bump();
            let right = self.bitand()?;
            if matches!(
                self.peek().tok,
                Tok::Eq
                    | Tok::EqEq
                    | Tok::BangEq
                    | Tok::LtGt
                    | Tok::Lt
                    | Tok::Le
                    | Tok::Gt
                    | Tok::Ge
            ) {
                return Err(self.error(
                    self.peek().span,
                    "comparisons cannot be chained; join them with AND",
                ));
            }
            let span = left.span.to(right.span);
            return Ok(Expr::new(
                ExprKind::Compare {
                    op,
                    left: Box::new(left),
                    right: Box::new(right),
                },
                span,
            ));
        }
        let start = self.peek().span;
        let negated = if self.is_kw("NOT")
            && ["LIKE", "ILIKE", "MATCHES", "IMATCHES", "IN", "BETWEEN"]
                .iter()
                .any(|k| self.is_kw_at(1, k))
        {
            self.bump();
            true
        } else {
            false
        };
        let pattern_kind = if self.is_kw("LIKE") {
            Some(PatternKind::Like)
        } else if self.is_kw("ILIKE") {
            Some(PatternKind::ILike)
        } else if self.is_kw("MATCHES") {
            Some(PatternKind::Matches)
        } else if self.is_kw("IMATCHES") {
            Some(PatternKind::IMatches)
        } else {
            None
        };
        if let Some(kind) = pattern_kind {
            let op_span = start.to(self.bump().span);
            let pattern = self.bitand()?;
            let span = left.span.to(pattern.span);
            return Ok(Expr::new(
                ExprKind::Pattern {
                    kind,
                    negated,
                    expr: Box::new(left),
                    pattern: Box::new(pattern),
                    op_span,
                },
                span,
            ));
        }
        if self.eat_kw("IN").is_some() {
            self.expect(Tok::LParen, "`(` after IN")?;
            let mut list = Vec::new();
            loop {
                list.push(self.bitand()?);
                if self.is_kw("OR") || self.is_kw("AND") {
                    return Err(self.error(
                        self.peek().span,
                        "IN takes a comma-separated list: write IN (a, b), not IN (a OR b)",
                    ));
                }
                if self.eat(&Tok::Comma).is_none() {
                    break;
                }
            }
            let close = self.expect(Tok::RParen, "`,` or `)` in the IN list")?;
            let span = left.span.to(close);
            return Ok(Expr::new(
                ExprKind::In {
                    negated,
                    expr: Box::new(left),
                    list,
                },
                span,
            ));
        }
        if self.eat_kw("BETWEEN").is_some() {
            let low = self.bitand()?;
            self.expect_kw("AND")?;
            let high = self.bitand()?;
            let span = left.span.to(high.span);
            return Ok(Expr::new(
                ExprKind::Between {
                    negated,
                    expr: Box::new(left),
                    low: Box::new(low),
                    high: Box::new(high),
                },
                span,
            ));
        }
        if negated {
            // unreachable: NOT was only consumed before one of the words above
            return Err(self.unexpected("LIKE, ILIKE, MATCHES, IMATCHES, IN or BETWEEN"));
        }
        if self.eat_kw("IS").is_some() {
            let negated = self.eat_kw("NOT").is_some();
            let null = self.expect_kw("NULL")?;
            let span = left.span.to(null);
            return Ok(Expr::new(
                ExprKind::IsNull {
                    negated,
                    expr: Box::new(left),
                },
                span,
            ));
        }
        Ok(left)
    }

    fn bitand(&mut self) -> PResult<Expr> {
        let mut left = self.additive()?;
        while self.eat(&Tok::Amp).is_some() {
            let right = self.additive()?;
            left = arith(ArithOp::BitAnd, left, right);
        }
        Ok(left)
    }

    fn additive(&mut self) -> PResult<Expr> {
        let mut left = self.multiplicative()?;
        loop {
            let op = match self.peek().tok {
                Tok::Plus => ArithOp::Add,
                Tok::Minus => ArithOp::Sub,
                _ => break,
            };
            self.bump();
            let right = self.multiplicative()?;
            left = arith(op, left, right);
        }
        Ok(left)
    }

    fn multiplicative(&mut self) -> PResult<Expr> {
        let mut left = self.power()?;
        loop {
            let op = match self.peek().tok {
                Tok::Star => ArithOp::Mul,
                Tok::Slash => ArithOp::Div,
                Tok::Percent => ArithOp::Mod,
                _ => break,
            };
            self.bump();
            let right = self.power()?;
            left = arith(op, left, right);
        }
        Ok(left)
    }

    fn power(&mut self) -> PResult<Expr> {
        let base = self.unary()?;
        if self.eat(&Tok::Caret).is_some() {
            let exp = self.power()?;
            return Ok(arith(ArithOp::Pow, base, exp));
        }
        Ok(base)
    }

    fn unary(&mut self) -> PResult<Expr> {
        if let Some(span) = self.eat(&Tok::Minus) {
            let inner = self.unary()?;
            let span = span.to(inner.span);
            // Fold negative literals so that `-5` is a literal.
            return Ok(match inner.kind {
                ExprKind::Int(i) => Expr::new(ExprKind::Int(-i), span),
                ExprKind::Float(f) => Expr::new(ExprKind::Float(-f), span),
                _ => Expr::new(ExprKind::Neg(Box::new(inner)), span),
            });
        }
        if self.eat(&Tok::Plus).is_some() {
            return self.unary();
        }
        self.primary()
    }

    fn primary(&mut self) -> PResult<Expr> {
        let t = self.peek().clone();
        match t.tok {
            Tok::Int(i) => {
                self.bump();
                Ok(Expr::new(ExprKind::Int(i), t.span))
            }
            Tok::Float(f) => {
                self.bump();
                Ok(Expr::new(ExprKind::Float(f), t.span))
            }
            Tok::Str(s) => {
                self.bump();
                Ok(Expr::new(ExprKind::Str(s), t.span))
            }
            Tok::QuotedIdent(name) => {
                self.bump();
                Ok(Expr::new(ExprKind::Column { name, quoted: true }, t.span))
            }
            Tok::LParen => {
                self.bump();
                let inner = self.expr()?;
                let close = self.expect(Tok::RParen, "`)`")?;
                Ok(Expr::new(
                    ExprKind::Paren(Box::new(inner)),
                    t.span.to(close),
                ))
            }
            Tok::Ident(word) => self.word(word, t.span),
            _ => Err(self.unexpected("an expression")),
        }
    }

    fn word(&mut self, word: String, span: Span) -> PResult<Expr> {
        let upper = word.to_ascii_uppercase();
        let is_call = matches!(self.peek_at(1).tok, Tok::LParen);
        match upper.as_str() {
            "NULL" => {
                self.bump();
                return Ok(Expr::new(ExprKind::Null, span));
            }
            "TRUE" | "FALSE" => {
                self.bump();
                return Ok(Expr::new(ExprKind::Bool(upper == "TRUE"), span));
            }
            "CASE" => return self.case(),
            "IF" => return self.if_expr(),
            "TEXT" if self.is_kw_at(1, "SEARCH") => {
                self.bump();
                self.bump();
                let t = self.bump();
                let Tok::Str(s) = t.tok else {
                    self.pos -= 1;
                    return Err(self.unexpected("a quoted search text after TEXT SEARCH"));
                };
                return Ok(Expr::new(ExprKind::TextSearch(s), span.to(t.span)));
            }
            "DISTINCT" => {
                return Err(self.error(
                    span,
                    "DISTINCT is not AQL: for COUNT(DISTINCT x) write UNIQUECOUNT(x)",
                ))
            }
            _ => {}
        }
        if is_call && (!is_reserved(&upper) || upper == "LAST") {
            return self.call(word, span);
        }
        if is_reserved(&upper) {
            return Err(self.unexpected("an expression"));
        }
        self.bump();
        Ok(Expr::new(
            ExprKind::Column {
                name: word,
                quoted: false,
            },
            span,
        ))
    }

    fn call(&mut self, word: String, name_span: Span) -> PResult<Expr> {
        let name = word.to_ascii_uppercase();
        let Some(spec) = functions::lookup(&name) else {
            let mut msg = format!("`{word}` is not an AQL function");
            if let Some(hint) = functions::hint_for_unknown(&name) {
                msg.push_str(": ");
                msg.push_str(hint);
            }
            return Err(self.error(name_span, msg));
        };
        self.bump(); // name
        self.bump(); // (
        let mut args = Vec::new();
        if let Some(close) = self.eat(&Tok::RParen) {
            return self.finish_call(name, spec, args, name_span, close);
        }
        loop {
            if self.is_kw("DISTINCT") {
                return Err(self.error(
                    self.peek().span,
                    format!("{name}(DISTINCT ...) is not AQL: use UNIQUECOUNT(x) to count distinct values"),
                ));
            }
            if name == "COUNT" && self.peek().tok == Tok::Star {
                let s = self.bump().span;
                args.push(Expr::new(ExprKind::Star, s));
            } else {
                args.push(self.expr()?);
            }
            if self.eat(&Tok::Comma).is_none() {
                break;
            }
        }
        let close = self.expect(Tok::RParen, "`,` or `)` in the argument list")?;
        self.finish_call(name, spec, args, name_span, close)
    }

    fn finish_call(
        &self,
        name: String,
        spec: functions::FnSpec,
        args: Vec<Expr>,
        name_span: Span,
        close: Span,
    ) -> PResult<Expr> {
        let span = name_span.to(close);
        if args.len() < spec.min || args.len() > spec.max {
            let want = if spec.min == spec.max {
                format!("{}", spec.min)
            } else if spec.max == usize::MAX {
                format!("at least {}", spec.min)
            } else {
                format!("{} to {}", spec.min, spec.max)
            };
            return Err(self.error(
                span,
                format!(
                    "{name} takes {want} argument{}, found {}",
                    if want == "1" { "" } else { "s" },
                    args.len()
                ),
            ));
        }
        if spec.kind == FnKind::Aggregate {
            if let Some(star) = args.iter().find(|a| a.kind == ExprKind::Star) {
                if name != "COUNT" {
                    return Err(self.error(star.span, "`*` is only allowed in COUNT(*)"));
                }
            }
        }
        Ok(Expr::new(
            ExprKind::Func {
                name,
                args,
                name_span,
            },
            span,
        ))
    }

    fn case(&mut self) -> PResult<Expr> {
        let kw = self.bump().span;
        if self.is_kw("ELSE") || self.is_kw("END") {
            return Err(self.unexpected("WHEN"));
        }
        let operand = if self.is_kw("WHEN") {
            None
        } else {
            Some(Box::new(self.expr()?))
        };
        let mut whens = Vec::new();
        while self.eat_kw("WHEN").is_some() {
            let cond = self.expr()?;
            self.expect_kw("THEN")?;
            let value = self.expr()?;
            whens.push((cond, value));
        }
        if whens.is_empty() {
            return Err(self.unexpected("WHEN"));
        }
        let mut else_ = None;
        if self.eat_kw("ELSE").is_some() {
            else_ = Some(Box::new(self.expr()?));
        }
        let end = self.expect_kw("END")?;
        Ok(Expr::new(
            ExprKind::Case {
                operand,
                whens,
                else_,
            },
            kw.to(end),
        ))
    }

    fn if_expr(&mut self) -> PResult<Expr> {
        let kw = self.bump().span;
        let cond = self.expr()?;
        self.expect_kw("THEN")?;
        let then = self.expr()?;
        self.expect_kw("ELSE")?;
        let else_ = self.expr()?;
        let span = kw.to(else_.span);
        Ok(Expr::new(
            ExprKind::If {
                cond: Box::new(cond),
                then: Box::new(then),
                else_: Box::new(else_),
            },
            span,
        ))
    }
}

static EOF: Token = Token {
    tok: Tok::Eof,
    span: Span { start: 0, end: 0 },
};

fn arith(op: ArithOp, left: Expr, right: Expr) -> Expr {
    let span = left.span.to(right.span);
    Expr::new(
        ExprKind::Arith {
            op,
            left: Box::new(left),
            right: Box::new(right),
        },
        span,
    )
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
