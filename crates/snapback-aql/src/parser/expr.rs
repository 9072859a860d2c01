//! Expressions. Levels, loosest first: AND/OR chain (kept flat, see [`ExprKind::Logic`]), NOT,
//! predicate (comparison, [NOT] LIKE/ILIKE/MATCHES/IMATCHES, [NOT] IN, [NOT] BETWEEN, IS [NOT]
//! NULL), `&`, `+ -`, `* / %`, `^` (right-associative), unary `-`, primary.
//!
//! **Nesting.** No expression is taller than [`MAX_DEPTH`]: every node is built by
//! [`Parser::node`], which refuses a node taller than that at the operator or opening token
//! that made it so. The parser recurses only through [`Parser::expr`] (parentheses, function
//! arguments, CASE, IF), which counts the levels open on the way down (never more than the
//! tree will have) and stops at the first token of a level beyond the limit, so the stack is
//! bounded before any tree is built. NOT and unary minus are read in loops and binary operators
//! by precedence climbing over an explicit stack: a chain of 50,000 of them uses no stack, and
//! each recursive level is a handful of small frames.

use super::{is_reserved, PResult, Parser};
use crate::ast::*;
use crate::error::{ParseError, Span};
use crate::functions::{self, FnKind};
use crate::lexer::Tok;
use crate::limits::{depth_message, MAX_DEPTH};

/// Binding strength of `+` and `-`: `binary_from(ADDITIVE)` stops before `&`.
pub(super) const ADDITIVE: u8 = 2;

/// The binary operator a token is, with its binding strength.
fn binary_op(tok: &Tok) -> Option<(ArithOp, u8)> {
    Some(match tok {
        Tok::Amp => (ArithOp::BitAnd, 1),
        Tok::Plus => (ArithOp::Add, ADDITIVE),
        Tok::Minus => (ArithOp::Sub, ADDITIVE),
        Tok::Star => (ArithOp::Mul, 3),
        Tok::Slash => (ArithOp::Div, 3),
        Tok::Percent => (ArithOp::Mod, 3),
        Tok::Caret => (ArithOp::Pow, 4),
        _ => return None,
    })
}

fn cmp_op(tok: &Tok) -> Option<CmpOp> {
    Some(match tok {
        Tok::Eq | Tok::EqEq => CmpOp::Eq,
        Tok::BangEq | Tok::LtGt => CmpOp::Ne,
        Tok::Lt => CmpOp::Lt,
        Tok::Le => CmpOp::Le,
        Tok::Gt => CmpOp::Gt,
        Tok::Ge => CmpOp::Ge,
        _ => return None,
    })
}

/// What a bare word turned out to be.
enum Word {
    Value(Box<Expr>),
    Call(String, Span),
}

/// Operators waiting for their right operand, with where they were written.
type OpStack = Vec<(ArithOp, u8, Span)>;

/// What the recursive functions return: both sides boxed, so that each frame on the way down
/// holds pointers rather than whole trees and errors (a debug build gives every temporary its
/// own stack slot).
type Parsed = Result<Box<Expr>, Box<ParseError>>;

impl Parser<'_> {
    /// An expression (a SELECT item, WHERE, …).
    pub(super) fn expression(&mut self) -> PResult<Expr> {
        self.expr().map(|e| *e).map_err(|e| *e)
    }

    /// An operand of binary operators at least as tight as `min` (a PARAMETERS value).
    pub(super) fn operand_expression(&mut self, min: u8) -> PResult<Expr> {
        self.binary_from(min).map(|e| *e).map_err(|e| *e)
    }

    /// A node, unless it would nest deeper than [`MAX_DEPTH`]: then an error at `at`.
    fn node(&self, kind: ExprKind, span: Span, at: Span) -> Parsed {
        let e = Expr::new(kind, span);
        if e.height() > MAX_DEPTH {
            return Err(self.too_deep(at));
        }
        Ok(Box::new(e))
    }

    #[cold]
    #[inline(never)]
    fn too_deep(&self, at: Span) -> Box<ParseError> {
        Box::new(self.error(at, depth_message()))
    }

    /// An expression: where the parser recurses, so where the levels on the way down are
    /// counted.
    fn expr(&mut self) -> Parsed {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.too_deep(self.peek().span));
        }
        let e = self.logic();
        self.depth -= 1;
        e
    }

    fn logic_op(&self) -> Option<LogicOp> {
        if self.is_kw("AND") {
            Some(LogicOp::And)
        } else if self.is_kw("OR") {
            Some(LogicOp::Or)
        } else {
            None
        }
    }

    fn logic(&mut self) -> Parsed {
        let first = self.not_expr()?;
        if self.logic_op().is_none() {
            return Ok(first);
        }
        self.logic_rest(first)
    }

    /// The rest of an AND/OR chain (kept apart so that the common case, no chain, is a small
    /// frame on the way down).
    fn logic_rest(&mut self, first: Box<Expr>) -> Parsed {
        let mut rest = Vec::new();
        let mut tallest = (first.height(), first.span);
        while let Some(op) = self.logic_op() {
            let op_span = self.bump().span;
            let operand = self.not_expr()?;
            if operand.height() > tallest.0 {
                tallest = (operand.height(), op_span);
            }
            rest.push((op, op_span, *operand));
        }
        let span = first
            .span
            .to(rest.last().map_or(first.span, |(_, _, e)| e.span));
        let kind = ExprKind::Logic { first, rest };
        self.node(kind, span, tallest.1)
    }

    /// `NOT NOT … predicate`, read in a loop.
    fn not_expr(&mut self) -> Parsed {
        if self.is_kw("NOT") {
            self.negations()
        } else {
            self.predicate()
        }
    }

    fn negations(&mut self) -> Parsed {
        let mut nots = Vec::new();
        while let Some(kw) = self.eat_kw("NOT") {
            nots.push(kw);
            if self.depth + nots.len() > MAX_DEPTH {
                return Err(self.too_deep(kw));
            }
        }
        self.depth += nots.len();
        let inner = self.predicate();
        self.depth -= nots.len();
        let mut e = inner?;
        for kw in nots.into_iter().rev() {
            let span = kw.to(e.span);
            e = self.node(ExprKind::Not(e), span, kw)?;
        }
        Ok(e)
    }

    fn predicate(&mut self) -> Parsed {
        let left = self.binary_from(1)?;
        match cmp_op(&self.peek().tok) {
            Some(op) => self.comparison(left, op),
            None => self.predicate_tail(left),
        }
    }

    fn comparison(&mut self, left: Box<Expr>, op: CmpOp) -> Parsed {
        let op_span = self.bump().span;
        let right = self.binary_from(1)?;
        if cmp_op(&self.peek().tok).is_some() {
            return Err(Box::new(self.error(
                self.peek().span,
                "comparisons cannot be chained; join them with AND",
            )));
        }
        let span = left.span.to(right.span);
        let kind = ExprKind::Compare { op, left, right };
        self.node(kind, span, op_span)
    }

    /// What may follow the left operand of a predicate other than a comparison.
    fn predicate_tail(&mut self, left: Box<Expr>) -> Parsed {
        let start = self.peek().span;
        let negated = self.is_kw("NOT")
            && ["LIKE", "ILIKE", "MATCHES", "IMATCHES", "IN", "BETWEEN"]
                .iter()
                .any(|k| self.is_kw_at(1, k));
        if negated {
            self.bump();
        }
        if let Some(kind) = self.pattern_kind() {
            let op_span = start.to(self.bump().span);
            let pattern = self.binary_from(1)?;
            let span = left.span.to(pattern.span);
            let kind = ExprKind::Pattern {
                kind,
                negated,
                expr: left,
                pattern,
                op_span,
            };
            return self.node(kind, span, op_span);
        }
        if let Some(kw) = self.eat_kw("IN") {
            return self.in_list(left, negated, start.to(kw));
        }
        if let Some(kw) = self.eat_kw("BETWEEN") {
            let low = self.binary_from(1)?;
            self.expect_kw("AND")?;
            let high = self.binary_from(1)?;
            let span = left.span.to(high.span);
            let kind = ExprKind::Between {
                negated,
                expr: left,
                low,
                high,
            };
            return self.node(kind, span, start.to(kw));
        }
        if negated {
            // unreachable: NOT was only consumed before one of the words above
            return Err(Box::new(
                self.unexpected("LIKE, ILIKE, MATCHES, IMATCHES, IN or BETWEEN"),
            ));
        }
        if let Some(kw) = self.eat_kw("IS") {
            let negated = self.eat_kw("NOT").is_some();
            let null = self.expect_kw("NULL")?;
            let span = left.span.to(null);
            let kind = ExprKind::IsNull {
                negated,
                expr: left,
            };
            return self.node(kind, span, kw);
        }
        Ok(left)
    }

    fn pattern_kind(&self) -> Option<PatternKind> {
        [
            ("LIKE", PatternKind::Like),
            ("ILIKE", PatternKind::ILike),
            ("MATCHES", PatternKind::Matches),
            ("IMATCHES", PatternKind::IMatches),
        ]
        .into_iter()
        .find_map(|(kw, kind)| self.is_kw(kw).then_some(kind))
    }

    fn in_list(&mut self, left: Box<Expr>, negated: bool, op_span: Span) -> Parsed {
        self.expect(Tok::LParen, "`(` after IN")?;
        let mut list = Vec::new();
        loop {
            list.push(*self.binary_from(1)?);
            if self.is_kw("OR") || self.is_kw("AND") {
                return Err(Box::new(self.error(
                    self.peek().span,
                    "IN takes a comma-separated list: write IN (a, b), not IN (a OR b)",
                )));
            }
            if self.eat(&Tok::Comma).is_none() {
                break;
            }
        }
        let close = self.expect(Tok::RParen, "`,` or `)` in the IN list")?;
        let span = left.span.to(close);
        let kind = ExprKind::In {
            negated,
            expr: left,
            list,
        };
        self.node(kind, span, op_span)
    }

    /// A chain of binary operators that bind at least as tightly as `min`, by precedence
    /// climbing over an explicit stack (`^` is right-associative, the others left).
    fn binary_from(&mut self, min: u8) -> Parsed {
        let first = self.unary()?;
        if !self.at_binary_op(min) {
            return Ok(first);
        }
        self.binary_rest(*first, min)
    }

    fn binary_rest(&mut self, first: Expr, min: u8) -> Parsed {
        let mut operands: Vec<Expr> = vec![first];
        let mut ops: OpStack = Vec::new();
        while let Some((op, strength)) = binary_op(&self.peek().tok) {
            if strength < min {
                break;
            }
            let at = self.bump().span;
            while let Some(&(_, top, _)) = ops.last() {
                if top > strength || (top == strength && op != ArithOp::Pow) {
                    self.reduce(&mut operands, &mut ops)?;
                } else {
                    break;
                }
            }
            ops.push((op, strength, at));
            operands.push(*self.unary()?);
        }
        while !ops.is_empty() {
            self.reduce(&mut operands, &mut ops)?;
        }
        match (operands.pop(), operands.is_empty()) {
            (Some(e), true) => Ok(Box::new(e)),
            _ => Err(self.unbalanced()),
        }
    }

    fn at_binary_op(&self, min: u8) -> bool {
        binary_op(&self.peek().tok).is_some_and(|(_, s)| s >= min)
    }

    /// Replace the two topmost operands with the topmost operator applied to them.
    fn reduce(&self, operands: &mut Vec<Expr>, ops: &mut OpStack) -> Result<(), Box<ParseError>> {
        let (Some((op, _, at)), Some(right), Some(left)) =
            (ops.pop(), operands.pop(), operands.pop())
        else {
            return Err(self.unbalanced());
        };
        let span = left.span.to(right.span);
        let kind = ExprKind::Arith {
            op,
            left: Box::new(left),
            right: Box::new(right),
        };
        operands.push(*self.node(kind, span, at)?);
        Ok(())
    }

    #[cold]
    #[inline(never)]
    fn unbalanced(&self) -> Box<ParseError> {
        Box::new(self.error(self.peek().span, "internal error: unbalanced operators"))
    }

    /// `- - + x`, read in a loop. A minus right before a number folds into it (`-5` is a
    /// literal); the others are nodes.
    fn unary(&mut self) -> Parsed {
        if matches!(self.peek().tok, Tok::Minus | Tok::Plus) {
            self.signed()
        } else {
            self.primary()
        }
    }

    fn signed(&mut self) -> Parsed {
        let mut minuses = Vec::new();
        loop {
            match self.peek().tok {
                Tok::Plus => {
                    self.bump();
                }
                Tok::Minus => {
                    let at = self.bump().span;
                    minuses.push(at);
                    // The innermost minus may fold into a literal: count the others only.
                    if self.depth + minuses.len() - 1 > MAX_DEPTH {
                        return Err(self.too_deep(at));
                    }
                }
                _ => break,
            }
        }
        let count = minuses.len();
        let levels = count.saturating_sub(1);
        self.depth += levels;
        let inner = self.primary();
        self.depth -= levels;
        let mut e = inner?;
        for (i, at) in minuses.into_iter().enumerate().rev() {
            let span = at.to(e.span);
            let innermost = i + 1 == count;
            e = match e.kind {
                ExprKind::Int(n) if innermost && n.checked_neg().is_some() => {
                    Box::new(Expr::new(ExprKind::Int(-n), span))
                }
                ExprKind::Float(f) if innermost => Box::new(Expr::new(ExprKind::Float(-f), span)),
                _ => self.node(ExprKind::Neg(e), span, at)?,
            };
        }
        Ok(e)
    }

    fn primary(&mut self) -> Parsed {
        match self.peek().tok {
            Tok::LParen => self.paren(),
            Tok::Ident(_) => self.word(),
            _ => self.literal(),
        }
    }

    fn paren(&mut self) -> Parsed {
        let open = self.bump().span;
        let inner = self.expr()?;
        let close = self.expect(Tok::RParen, "`)`")?;
        self.node(ExprKind::Paren(inner), open.to(close), open)
    }

    fn literal(&mut self) -> Parsed {
        let t = self.peek().clone();
        let kind = match t.tok {
            Tok::Int(i) => ExprKind::Int(i),
            Tok::Float(f) => ExprKind::Float(f),
            Tok::Str(s) => ExprKind::Str(s),
            Tok::QuotedIdent(name) => ExprKind::Column { name, quoted: true },
            _ => return Err(Box::new(self.unexpected("an expression"))),
        };
        self.bump();
        Ok(Box::new(Expr::new(kind, t.span)))
    }

    /// A bare word: a keyword that starts an expression, a function call or a column.
    fn word(&mut self) -> Parsed {
        if self.is_kw("CASE") {
            return self.case();
        }
        if self.is_kw("IF") {
            return self.if_expr();
        }
        match self.plain_word()? {
            Word::Value(e) => Ok(e),
            Word::Call(word, span) => self.call(word, span),
        }
    }

    /// A word that is not CASE or IF: a value, or the name of a call (read by the caller, so
    /// that this frame is gone before the arguments recurse).
    fn plain_word(&mut self) -> Result<Word, Box<ParseError>> {
        let t = self.peek().clone();
        let Tok::Ident(word) = t.tok else {
            return Err(Box::new(self.unexpected("an expression")));
        };
        let upper = word.to_ascii_uppercase();
        if let Some(e) = self.keyword_value(&upper, t.span)? {
            return Ok(Word::Value(Box::new(e)));
        }
        let is_call = matches!(self.peek_at(1).tok, Tok::LParen);
        if is_call && (!is_reserved(&upper) || upper == "LAST") {
            return Ok(Word::Call(word, t.span));
        }
        if is_reserved(&upper) {
            return Err(Box::new(self.unexpected("an expression")));
        }
        self.bump();
        Ok(Word::Value(Box::new(Expr::new(
            ExprKind::Column {
                name: word,
                quoted: false,
            },
            t.span,
        ))))
    }

    /// NULL, TRUE, FALSE, TEXT SEARCH '…', and DISTINCT (an error).
    fn keyword_value(&mut self, upper: &str, span: Span) -> PResult<Option<Expr>> {
        let kind = match upper {
            "NULL" => ExprKind::Null,
            "TRUE" | "FALSE" => ExprKind::Bool(upper == "TRUE"),
            "TEXT" if self.is_kw_at(1, "SEARCH") => {
                self.bump();
                self.bump();
                let t = self.bump();
                let Tok::Str(s) = t.tok else {
                    self.pos -= 1;
                    return Err(self.unexpected("a quoted search text after TEXT SEARCH"));
                };
                return Ok(Some(Expr::new(ExprKind::TextSearch(s), span.to(t.span))));
            }
            "DISTINCT" => {
                let after_select = matches!(
                    self.prev().map(|t| &t.tok),
                    Some(Tok::Ident(w)) if w.eq_ignore_ascii_case("SELECT")
                );
                return Err(self.error(
                    span,
                    if after_select {
                        "SELECT DISTINCT is not AQL: to get each value once, group by it (SELECT username FROM events GROUP BY username); to count distinct values use UNIQUECOUNT(x)"
                    } else {
                        "DISTINCT is not AQL: for COUNT(DISTINCT x) write UNIQUECOUNT(x); for each value once, GROUP BY x"
                    },
                ));
            }
            _ => return Ok(None),
        };
        self.bump();
        Ok(Some(Expr::new(kind, span)))
    }

    fn call(&mut self, word: String, name_span: Span) -> Parsed {
        let (name, spec) = self.call_start(&word, name_span)?;
        let mut args = Vec::new();
        if let Some(close) = self.eat(&Tok::RParen) {
            return self.finish_call(name, spec, args, name_span, close);
        }
        loop {
            match self.star_argument(&name)? {
                Some(star) => args.push(star),
                None => args.push(*self.expr()?),
            }
            if self.eat(&Tok::Comma).is_none() {
                break;
            }
        }
        let close = self.expect(Tok::RParen, "`,` or `)` in the argument list")?;
        self.finish_call(name, spec, args, name_span, close)
    }

    /// The function's name and `(`: its upper-case name and what it is.
    fn call_start(
        &mut self,
        word: &str,
        name_span: Span,
    ) -> Result<(String, functions::FnSpec), Box<ParseError>> {
        let name = word.to_ascii_uppercase();
        let Some(spec) = functions::lookup(&name) else {
            return Err(self.unknown_function(word, &name, name_span));
        };
        self.bump(); // name
        self.bump(); // (
        Ok((name, spec))
    }

    /// `*` of COUNT(*); `DISTINCT` (an error); otherwise nothing is read.
    fn star_argument(&mut self, name: &str) -> Result<Option<Expr>, Box<ParseError>> {
        if self.is_kw("DISTINCT") {
            return Err(self.distinct_in_call(name));
        }
        if name == "COUNT" && self.peek().tok == Tok::Star {
            let s = self.bump().span;
            return Ok(Some(Expr::new(ExprKind::Star, s)));
        }
        Ok(None)
    }

    #[cold]
    #[inline(never)]
    fn unknown_function(&self, word: &str, upper: &str, name_span: Span) -> Box<ParseError> {
        let mut msg = format!("`{word}` is not an AQL function");
        if let Some(hint) = functions::hint_for_unknown(upper) {
            msg.push_str(": ");
            msg.push_str(hint);
        }
        Box::new(self.error(name_span, msg))
    }

    #[cold]
    #[inline(never)]
    fn distinct_in_call(&self, name: &str) -> Box<ParseError> {
        Box::new(self.error(
            self.peek().span,
            format!("{name}(DISTINCT ...) is not AQL: use UNIQUECOUNT(x) to count distinct values"),
        ))
    }

    fn finish_call(
        &self,
        name: String,
        spec: functions::FnSpec,
        args: Vec<Expr>,
        name_span: Span,
        close: Span,
    ) -> Parsed {
        let span = name_span.to(close);
        if args.len() < spec.min || args.len() > spec.max {
            let want = if spec.min == spec.max {
                format!("{}", spec.min)
            } else if spec.max == usize::MAX {
                format!("at least {}", spec.min)
            } else {
                format!("{} to {}", spec.min, spec.max)
            };
            return Err(Box::new(self.error(
                span,
                format!(
                    "{name} takes {want} argument{}, found {}",
                    if want == "1" { "" } else { "s" },
                    args.len()
                ),
            )));
        }
        if spec.kind == FnKind::Aggregate {
            if let Some(star) = args.iter().find(|a| a.kind == ExprKind::Star) {
                if name != "COUNT" {
                    return Err(Box::new(
                        self.error(star.span, "`*` is only allowed in COUNT(*)"),
                    ));
                }
            }
        }
        let kind = ExprKind::Func {
            name,
            args,
            name_span,
        };
        self.node(kind, span, name_span)
    }

    fn case(&mut self) -> Parsed {
        let kw = self.bump().span;
        if self.is_kw("ELSE") || self.is_kw("END") {
            return Err(Box::new(self.unexpected("WHEN")));
        }
        let operand = if self.is_kw("WHEN") {
            None
        } else {
            Some(self.expr()?)
        };
        let mut whens = Vec::new();
        while self.eat_kw("WHEN").is_some() {
            let cond = self.expr()?;
            self.expect_kw("THEN")?;
            let value = self.expr()?;
            whens.push((*cond, *value));
        }
        if whens.is_empty() {
            return Err(Box::new(self.unexpected("WHEN")));
        }
        let mut else_ = None;
        if self.eat_kw("ELSE").is_some() {
            else_ = Some(self.expr()?);
        }
        let end = self.expect_kw("END")?;
        let kind = ExprKind::Case {
            operand,
            whens,
            else_,
        };
        self.node(kind, kw.to(end), kw)
    }

    fn if_expr(&mut self) -> Parsed {
        let kw = self.bump().span;
        let cond = self.expr()?;
        self.expect_kw("THEN")?;
        let then = self.expr()?;
        self.expect_kw("ELSE")?;
        let else_ = self.expr()?;
        let span = kw.to(else_.span);
        let kind = ExprKind::If { cond, then, else_ };
        self.node(kind, span, kw)
    }
}
