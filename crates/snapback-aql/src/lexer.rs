//! Tokens of AQL. Keywords are not told apart here: a bare word is an `Ident`, and the parser
//! decides by position whether it is a keyword, so that `LAST(x)` (aggregate) and
//! `LAST 5 MINUTES` (time clause) both work.

use crate::error::{ParseError, Span};

#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    /// A bare word: keyword, column, function name; may hold `::` (`GEO::LOOKUP`).
    Ident(String),
    /// `"..."`: a property, column or alias name.
    QuotedIdent(String),
    /// `'...'`, with `''` read as one quote.
    Str(String),
    Int(i64),
    Float(f64),
    LParen,
    RParen,
    Comma,
    Star,
    Plus,
    Minus,
    Slash,
    Percent,
    Caret,
    Amp,
    /// `=`
    Eq,
    /// `==`
    EqEq,
    /// `!=`
    BangEq,
    /// `<>`
    LtGt,
    Lt,
    Le,
    Gt,
    Ge,
    Eof,
}

impl Tok {
    /// How the token reads in an error message.
    pub fn describe(&self) -> String {
        match self {
            Tok::Ident(s) => format!("`{s}`"),
            Tok::QuotedIdent(s) => format!("\"{s}\""),
            Tok::Str(s) => format!("string '{s}'"),
            Tok::Int(i) => format!("number {i}"),
            Tok::Float(f) => format!("number {f}"),
            Tok::Eof => "end of query".to_string(),
            other => format!("`{}`", other.symbol()),
        }
    }

    fn symbol(&self) -> &'static str {
        match self {
            Tok::LParen => "(",
            Tok::RParen => ")",
            Tok::Comma => ",",
            Tok::Star => "*",
            Tok::Plus => "+",
            Tok::Minus => "-",
            Tok::Slash => "/",
            Tok::Percent => "%",
            Tok::Caret => "^",
            Tok::Amp => "&",
            Tok::Eq => "=",
            Tok::EqEq => "==",
            Tok::BangEq => "!=",
            Tok::LtGt => "<>",
            Tok::Lt => "<",
            Tok::Le => "<=",
            Tok::Gt => ">",
            Tok::Ge => ">=",
            _ => "",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    pub tok: Tok,
    pub span: Span,
}

/// Split `text` into tokens. On a lexical error the tokens before it are returned with the
/// error, so that the parser can report an earlier, more telling error first (an unescaped
/// quote shows as a stray word after a string before it shows as an unterminated string).
pub fn lex(text: &str) -> (Vec<Token>, Option<ParseError>) {
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let start = i;
        let single = |tok: Tok| Token {
            tok,
            span: Span::new(start, start + 1),
        };
        match c {
            b' ' | b'\t' | b'\r' | b'\n' | 0x0c => {
                i += 1;
            }
            b'(' => {
                out.push(single(Tok::LParen));
                i += 1;
            }
            b')' => {
                out.push(single(Tok::RParen));
                i += 1;
            }
            b',' => {
                out.push(single(Tok::Comma));
                i += 1;
            }
            b'*' => {
                out.push(single(Tok::Star));
                i += 1;
            }
            b'+' => {
                out.push(single(Tok::Plus));
                i += 1;
            }
            b'-' => {
                if bytes.get(i + 1) == Some(&b'-') {
                    let err = ParseError::new(
                        text,
                        Span::new(i, i + 2),
                        "`--` comments are not documented AQL and QRadar may reject them; remove the comment",
                    );
                    return (out, Some(err));
                }
                out.push(single(Tok::Minus));
                i += 1;
            }
            b'/' => {
                out.push(single(Tok::Slash));
                i += 1;
            }
            b'%' => {
                out.push(single(Tok::Percent));
                i += 1;
            }
            b'^' => {
                out.push(single(Tok::Caret));
                i += 1;
            }
            b'&' => {
                out.push(single(Tok::Amp));
                i += 1;
            }
            b'=' => {
                if bytes.get(i + 1) == Some(&b'=') {
                    out.push(Token {
                        tok: Tok::EqEq,
                        span: Span::new(i, i + 2),
                    });
                    i += 2;
                } else {
                    out.push(single(Tok::Eq));
                    i += 1;
                }
            }
            b'!' => {
                if bytes.get(i + 1) == Some(&b'=') {
                    out.push(Token {
                        tok: Tok::BangEq,
                        span: Span::new(i, i + 2),
                    });
                    i += 2;
                } else {
                    let err = ParseError::new(
                        text,
                        Span::new(i, i + 1),
                        "`!` on its own is not AQL; use `!=` or NOT",
                    );
                    return (out, Some(err));
                }
            }
            b'<' => {
                let (tok, len) = match bytes.get(i + 1) {
                    Some(b'=') => (Tok::Le, 2),
                    Some(b'>') => (Tok::LtGt, 2),
                    _ => (Tok::Lt, 1),
                };
                out.push(Token {
                    tok,
                    span: Span::new(i, i + len),
                });
                i += len;
            }
            b'>' => {
                let (tok, len) = match bytes.get(i + 1) {
                    Some(b'=') => (Tok::Ge, 2),
                    _ => (Tok::Gt, 1),
                };
                out.push(Token {
                    tok,
                    span: Span::new(i, i + len),
                });
                i += len;
            }
            b'\'' => {
                let mut value = String::new();
                let mut j = i + 1;
                loop {
                    let Some(rel) = text[j..].find('\'') else {
                        let err = ParseError::new(
                            text,
                            Span::new(start, start + 1),
                            "string literal is not closed: it starts here and has no closing `'` (write a quote inside a string as '')",
                        );
                        return (out, Some(err));
                    };
                    value.push_str(&text[j..j + rel]);
                    j += rel + 1;
                    if bytes.get(j) == Some(&b'\'') {
                        value.push('\'');
                        j += 1;
                    } else {
                        break;
                    }
                }
                out.push(Token {
                    tok: Tok::Str(value),
                    span: Span::new(start, j),
                });
                i = j;
            }
            b'"' => {
                let Some(rel) = text[i + 1..].find('"') else {
                    let err = ParseError::new(
                        text,
                        Span::new(start, start + 1),
                        "quoted name is not closed: it starts here and has no closing `\"`",
                    );
                    return (out, Some(err));
                };
                let name = &text[i + 1..i + 1 + rel];
                if name.is_empty() {
                    let err = ParseError::new(
                        text,
                        Span::new(start, start + 2),
                        "empty quoted name `\"\"`",
                    );
                    return (out, Some(err));
                }
                out.push(Token {
                    tok: Tok::QuotedIdent(name.to_string()),
                    span: Span::new(start, i + 2 + rel),
                });
                i += rel + 2;
            }
            b'0'..=b'9' | b'.' if c != b'.' || bytes.get(i + 1).is_some_and(u8::is_ascii_digit) => {
                match lex_number(text, i) {
                    Ok((tok, end)) => {
                        out.push(Token {
                            tok,
                            span: Span::new(start, end),
                        });
                        i = end;
                    }
                    Err(err) => return (out, Some(err)),
                }
            }
            _ => {
                let ch = text[i..].chars().next().unwrap_or('\u{fffd}');
                if ch.is_alphabetic() || ch == '_' {
                    let mut j = i;
                    loop {
                        let rest = &text[j..];
                        let Some(ch) = rest.chars().next() else { break };
                        if ch.is_alphanumeric() || ch == '_' {
                            j += ch.len_utf8();
                        } else if rest.starts_with("::")
                            && rest[2..]
                                .chars()
                                .next()
                                .is_some_and(|c| c.is_alphabetic() || c == '_')
                        {
                            j += 2;
                        } else {
                            break;
                        }
                    }
                    out.push(Token {
                        tok: Tok::Ident(text[i..j].to_string()),
                        span: Span::new(start, j),
                    });
                    i = j;
                } else {
                    let err = ParseError::new(
                        text,
                        Span::new(start, start + ch.len_utf8()),
                        format!("unexpected character `{ch}`"),
                    );
                    return (out, Some(err));
                }
            }
        }
    }
    out.push(Token {
        tok: Tok::Eof,
        span: Span::new(text.len(), text.len()),
    });
    (out, None)
}

fn lex_number(text: &str, start: usize) -> Result<(Tok, usize), ParseError> {
    let bytes = text.as_bytes();
    let mut j = start;
    if bytes[j] == b'0' && matches!(bytes.get(j + 1), Some(b'x' | b'X')) {
        j += 2;
        let digits_start = j;
        while j < bytes.len() && bytes[j].is_ascii_hexdigit() {
            j += 1;
        }
        let digits = &text[digits_start..j];
        return i64::from_str_radix(digits, 16)
            .map(|v| (Tok::Int(v), j))
            .map_err(|_| {
                ParseError::new(text, Span::new(start, j), "not a valid hexadecimal number")
            });
    }
    while j < bytes.len() && bytes[j].is_ascii_digit() {
        j += 1;
    }
    let mut is_float = false;
    if j < bytes.len() && bytes[j] == b'.' && bytes.get(j + 1).is_some_and(u8::is_ascii_digit) {
        is_float = true;
        j += 1;
        while j < bytes.len() && bytes[j].is_ascii_digit() {
            j += 1;
        }
    }
    if j < bytes.len() && matches!(bytes[j], b'e' | b'E') {
        let mut k = j + 1;
        if k < bytes.len() && matches!(bytes[k], b'+' | b'-') {
            k += 1;
        }
        if k < bytes.len() && bytes[k].is_ascii_digit() {
            is_float = true;
            j = k;
            while j < bytes.len() && bytes[j].is_ascii_digit() {
                j += 1;
            }
        }
    }
    let digits = &text[start..j];
    let span = Span::new(start, j);
    if is_float {
        digits
            .parse::<f64>()
            .map(|v| (Tok::Float(v), j))
            .map_err(|_| ParseError::new(text, span, "not a valid number"))
    } else {
        digits
            .parse::<i64>()
            .map(|v| (Tok::Int(v), j))
            .map_err(|_| ParseError::new(text, span, "number is too large for a 64-bit integer"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(text: &str) -> Vec<Tok> {
        let (t, e) = lex(text);
        assert!(e.is_none(), "{e:?}");
        t.into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn strings_double_their_quotes() {
        assert_eq!(
            toks("'o''brien' \"My Prop\""),
            vec![
                Tok::Str("o'brien".into()),
                Tok::QuotedIdent("My Prop".into()),
                Tok::Eof
            ]
        );
    }

    #[test]
    fn operators_and_numbers() {
        assert_eq!(
            toks("a<>1 b!=2.5 c==0x1F d<=e GEO::LOOKUP"),
            vec![
                Tok::Ident("a".into()),
                Tok::LtGt,
                Tok::Int(1),
                Tok::Ident("b".into()),
                Tok::BangEq,
                Tok::Float(2.5),
                Tok::Ident("c".into()),
                Tok::EqEq,
                Tok::Int(31),
                Tok::Ident("d".into()),
                Tok::Le,
                Tok::Ident("e".into()),
                Tok::Ident("GEO::LOOKUP".into()),
                Tok::Eof
            ]
        );
    }

    #[test]
    fn unterminated_string_points_at_its_quote() {
        let (_, e) = lex("x = 'abc");
        let e = e.expect("error");
        assert_eq!((e.line(), e.column()), (1, 5));
    }
}
