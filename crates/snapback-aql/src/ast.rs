//! The syntax tree. It keeps AND/OR as written (a flat chain per parenthesis level, see
//! [`ExprKind::Logic`]) so that the same tree can be read under either precedence, and it keeps
//! spans so that every diagnostic points into the query text.

use crate::error::Span;

/// A parsed query. `text` is the query as given; spans index into it.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub text: String,
    pub select: Vec<SelectItem>,
    pub from: Table,
    pub from_span: Span,
    /// `INTO 'cursor'`: parsed and ignored offline.
    pub into: Option<String>,
    pub where_: Option<Expr>,
    pub group_by: Vec<Expr>,
    pub having: Option<Expr>,
    pub order_by: Vec<OrderKey>,
    pub limit: Option<u64>,
    pub time: Option<TimeClause>,
    /// `PARAMETERS NAME=value, ...`: parsed and ignored offline.
    pub parameters: Vec<(String, Expr)>,
}

impl Query {
    /// The source text of a span.
    pub fn source(&self, span: Span) -> &str {
        self.text.get(span.start..span.end).unwrap_or("")
    }

    /// True when the query aggregates (GROUP BY, or an aggregate function in SELECT/HAVING).
    pub fn is_aggregate(&self) -> bool {
        !self.group_by.is_empty()
            || self.having.is_some()
            || self.select.iter().any(|item| match item {
                SelectItem::Expr { expr, .. } => expr.contains_aggregate(),
                SelectItem::Wildcard(_) => false,
            })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    Events,
    Flows,
}

#[derive(Debug, Clone, PartialEq)]
pub enum SelectItem {
    /// `*`: every column of the table (offline: the columns of the QRadar view).
    Wildcard(Span),
    Expr {
        expr: Expr,
        alias: Option<Alias>,
        span: Span,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Copy)]
pub enum Quote {
    /// A bare word.
    None,
    /// `'...'`
    Single,
    /// `"..."`
    Double,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Alias {
    pub name: String,
    pub quote: Quote,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OrderKey {
    pub expr: Expr,
    pub descending: bool,
    /// `COLLATE 'de-CH'`: parsed; offline ordering is by code point.
    pub collate: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeUnit {
    Seconds,
    Minutes,
    Hours,
    Days,
}

impl TimeUnit {
    pub fn millis(self) -> i64 {
        match self {
            TimeUnit::Seconds => 1_000,
            TimeUnit::Minutes => 60_000,
            TimeUnit::Hours => 3_600_000,
            TimeUnit::Days => 86_400_000,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum TimeClause {
    /// `LAST n UNIT`. `documented_unit` is false for the singular forms and SECONDS, which
    /// IBM does not document.
    Last {
        count: i64,
        unit: TimeUnit,
        documented_unit: bool,
        span: Span,
    },
    /// `START t [STOP t]`.
    Range {
        start: TimeValue,
        stop: Option<TimeValue>,
        span: Span,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum TimeValue {
    /// A quoted date-time such as `'2024-01-01 00:00'`.
    Text(String, Span),
    /// Epoch milliseconds.
    Millis(i64, Span),
    /// `PARSEDATETIME('1 hour ago')`.
    ParseDateTime(String, Span),
}

impl TimeValue {
    pub fn span(&self) -> Span {
        match self {
            TimeValue::Text(_, s) | TimeValue::Millis(_, s) | TimeValue::ParseDateTime(_, s) => *s,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
    /// Levels of nesting, this node included (see [`Expr::height`]).
    height: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogicOp {
    And,
    Or,
}

impl LogicOp {
    pub fn as_str(self) -> &'static str {
        match self {
            LogicOp::And => "AND",
            LogicOp::Or => "OR",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArithOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Pow,
    BitAnd,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatternKind {
    Like,
    ILike,
    Matches,
    IMatches,
}

impl PatternKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PatternKind::Like => "LIKE",
            PatternKind::ILike => "ILIKE",
            PatternKind::Matches => "MATCHES",
            PatternKind::IMatches => "IMATCHES",
        }
    }

    pub fn is_regex(self) -> bool {
        matches!(self, PatternKind::Matches | PatternKind::IMatches)
    }

    pub fn case_insensitive(self) -> bool {
        matches!(self, PatternKind::ILike | PatternKind::IMatches)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    /// A column, property or alias. `quoted` when written `"..."`.
    Column {
        name: String,
        quoted: bool,
    },
    /// `*` as the argument of `COUNT(*)`.
    Star,
    /// A function call; `name` is upper-cased.
    Func {
        name: String,
        args: Vec<Expr>,
        name_span: Span,
    },
    Neg(Box<Expr>),
    Arith {
        op: ArithOp,
        left: Box<Expr>,
        right: Box<Expr>,
    },
    Compare {
        op: CmpOp,
        left: Box<Expr>,
        right: Box<Expr>,
    },
    Pattern {
        kind: PatternKind,
        negated: bool,
        expr: Box<Expr>,
        pattern: Box<Expr>,
        /// Span of `[NOT] LIKE` etc.
        op_span: Span,
    },
    In {
        negated: bool,
        expr: Box<Expr>,
        list: Vec<Expr>,
    },
    Between {
        negated: bool,
        expr: Box<Expr>,
        low: Box<Expr>,
        high: Box<Expr>,
    },
    IsNull {
        negated: bool,
        expr: Box<Expr>,
    },
    Not(Box<Expr>),
    /// `a AND b OR c ...` at one parenthesis level, as written: `first`, then `(op, op span,
    /// operand)` pairs. Never has an empty `rest`.
    Logic {
        first: Box<Expr>,
        rest: Vec<(LogicOp, Span, Expr)>,
    },
    Paren(Box<Expr>),
    /// `CASE [operand] WHEN .. THEN .. [ELSE ..] END`; `operand` is `Some` for a simple CASE.
    Case {
        operand: Option<Box<Expr>>,
        whens: Vec<(Expr, Expr)>,
        else_: Option<Box<Expr>>,
    },
    /// `IF cond THEN a ELSE b` (no END).
    If {
        cond: Box<Expr>,
        then: Box<Expr>,
        else_: Box<Expr>,
    },
    /// `TEXT SEARCH 'text'`
    TextSearch(String),
}

impl Expr {
    pub fn new(kind: ExprKind, span: Span) -> Expr {
        let mut e = Expr {
            kind,
            span,
            height: 1,
        };
        e.height = 1 + e.children().iter().map(|c| c.height).max().unwrap_or(0);
        e
    }

    /// Levels of nesting of this expression: 1 for a leaf, one more than its tallest child
    /// otherwise. The parser refuses anything taller than [`crate::limits::MAX_DEPTH`]. Kept
    /// up to date by [`Expr::new`]; an expression whose `kind` is replaced afterwards keeps the
    /// height it was built with.
    pub fn height(&self) -> usize {
        self.height
    }

    /// Direct children, in source order.
    pub fn children(&self) -> Vec<&Expr> {
        match &self.kind {
            ExprKind::Null
            | ExprKind::Bool(_)
            | ExprKind::Int(_)
            | ExprKind::Float(_)
            | ExprKind::Str(_)
            | ExprKind::Column { .. }
            | ExprKind::Star
            | ExprKind::TextSearch(_) => vec![],
            ExprKind::Func { args, .. } => args.iter().collect(),
            ExprKind::Neg(e) | ExprKind::Not(e) | ExprKind::Paren(e) => vec![e],
            ExprKind::IsNull { expr, .. } => vec![expr],
            ExprKind::Arith { left, right, .. } | ExprKind::Compare { left, right, .. } => {
                vec![left, right]
            }
            ExprKind::Pattern { expr, pattern, .. } => vec![expr, pattern],
            ExprKind::In { expr, list, .. } => {
                let mut v: Vec<&Expr> = vec![expr];
                v.extend(list.iter());
                v
            }
            ExprKind::Between {
                expr, low, high, ..
            } => vec![expr, low, high],
            ExprKind::Logic { first, rest } => {
                let mut v: Vec<&Expr> = vec![first];
                v.extend(rest.iter().map(|(_, _, e)| e));
                v
            }
            ExprKind::Case {
                operand,
                whens,
                else_,
            } => {
                let mut v: Vec<&Expr> = Vec::new();
                if let Some(o) = operand {
                    v.push(o);
                }
                for (w, t) in whens {
                    v.push(w);
                    v.push(t);
                }
                if let Some(e) = else_ {
                    v.push(e);
                }
                v
            }
            ExprKind::If { cond, then, else_ } => vec![cond, then, else_],
        }
    }

    /// Visit this expression and all below it, parents first, children in source order. With
    /// an explicit stack: any depth of nesting is walked without recursion.
    pub fn walk<'a>(&'a self, f: &mut dyn FnMut(&'a Expr)) {
        let mut stack = vec![self];
        while let Some(e) = stack.pop() {
            f(e);
            stack.extend(e.children().into_iter().rev());
        }
    }

    pub fn contains_aggregate(&self) -> bool {
        let mut found = false;
        self.walk(&mut |e| {
            if let ExprKind::Func { name, .. } = &e.kind {
                if crate::functions::is_aggregate(name) {
                    found = true;
                }
            }
        });
        found
    }

    /// Strip any number of parentheses.
    pub fn unparen(&self) -> &Expr {
        let mut e = self;
        while let ExprKind::Paren(inner) = &e.kind {
            e = inner;
        }
        e
    }
}
