//! Positioned errors: every error names the line and column it was found at, and can show the
//! line with a caret under the offending text.

use std::fmt;

/// A byte range in the query text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Span {
        Span { start, end }
    }

    /// The smallest span covering both.
    pub fn to(self, other: Span) -> Span {
        Span {
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }
}

/// A position in the query text: 1-based line and column (columns count characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// Line and column of a byte offset in `text` (an offset past the end is the end).
pub fn position(text: &str, offset: usize) -> Position {
    let offset = floor_char_boundary(text, offset.min(text.len()));
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    Position { line, column }
}

fn floor_char_boundary(text: &str, mut offset: usize) -> usize {
    while offset > 0 && !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

/// The source line holding `span.start`, with a caret line under the span.
pub fn snippet(text: &str, span: Span) -> String {
    let start = floor_char_boundary(text, span.start.min(text.len()));
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[start..].find('\n').map_or(text.len(), |i| start + i);
    let line = &text[line_start..line_end];
    let pos = position(text, start);
    let end = floor_char_boundary(text, span.end.clamp(start, line_end));
    let width = text[start..end].chars().count().max(1);
    let gutter = pos.line.to_string();
    let pad = " ".repeat(gutter.len());
    let lead: String = text[line_start..start]
        .chars()
        .map(|c| if c == '\t' { '\t' } else { ' ' })
        .collect();
    format!(
        "{pad} |\n{gutter} | {line}\n{pad} | {lead}{}",
        "^".repeat(width)
    )
}

/// A query that cannot be parsed, or that breaks a rule of AQL that QRadar enforces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub message: String,
    pub span: Span,
    pub position: Position,
    /// The offending line with a caret under the span.
    pub snippet: String,
}

impl ParseError {
    pub(crate) fn new(text: &str, span: Span, message: impl Into<String>) -> ParseError {
        ParseError {
            message: message.into(),
            span,
            position: position(text, span.start),
            snippet: snippet(text, span),
        }
    }

    pub fn line(&self) -> usize {
        self.position.line
    }

    pub fn column(&self) -> usize {
        self.position.column
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}\n{}", self.position, self.message, self.snippet)
    }
}

impl std::error::Error for ParseError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based_and_count_chars() {
        let text = "ab\ncdé f";
        assert_eq!(position(text, 0), Position { line: 1, column: 1 });
        assert_eq!(position(text, 3), Position { line: 2, column: 1 });
        // 'f' is after a two-byte 'é'
        assert_eq!(position(text, 8), Position { line: 2, column: 5 });
    }

    #[test]
    fn snippet_puts_caret_under_span() {
        let s = snippet("SELECT x\nFROM y", Span::new(9, 13));
        assert_eq!(s, "  |\n2 | FROM y\n  | ^^^^");
    }
}
