//! Scalar functions, applied to arguments already evaluated, under the limits of
//! [`crate::limits`]: no function returns a string over [`MAX_STRING_BYTES`], and those that
//! can grow (CONCAT, REPLACEALL, REPLACEFIRST, BASE64, DATEFORMAT) stop before allocating
//! more. A refusal becomes NULL and a located run-time diagnostic (see `eval.rs`).

use std::borrow::Cow;
use std::net::IpAddr;

use jiff::tz::TimeZone;
use regex::{Captures, Regex};

use crate::functions;
use crate::limits::{check_len, Refusal, RegexCache, RegexMode, MAX_STRING_BYTES};
use crate::value::{Number, Value};
use crate::view::{log_source_type_name, QRadarEvent};

/// What a scalar function may read besides its arguments.
pub(crate) struct Ctx<'a> {
    pub ev: Option<&'a QRadarEvent>,
    pub now_ms: i64,
    pub tz: &'a TimeZone,
    pub regexes: &'a RegexCache,
}

fn arg(args: &[Value], i: usize) -> &Value {
    args.get(i).unwrap_or(&Value::Null)
}

fn text(args: &[Value], i: usize) -> Option<Cow<'_, str>> {
    match arg(args, i) {
        Value::Null => None,
        Value::Str(s) => Some(Cow::Borrowed(s.as_str())),
        other => other.as_text().map(Cow::Owned),
    }
}

/// Apply the scalar function `name` (upper case). Unknown names are NULL.
pub(crate) fn apply(name: &str, args: &[Value], cx: &Ctx<'_>) -> Result<Value, Refusal> {
    let value = match name {
        "DATEFORMAT" => dateformat(args, cx)?,
        "LOWER" | "UPPER" | "STR" | "UTF8" | "BASE64" | "CONCAT" | "SUBSTRING" => {
            text_function(name, args)?
        }
        "REPLACEALL" | "REPLACEFIRST" => replace(name, args, cx.regexes)?,
        "STRLEN" => text(args, 0).map_or(Value::Null, |s| Value::Int(s.chars().count() as i64)),
        "STRPOS" => strpos(args),
        "LONG" => long(arg(args, 0)),
        "DOUBLE" => arg(args, 0)
            .as_number()
            .map_or(Value::Null, |n| Value::Float(n.as_f64())),
        "NOW" => Value::Int(cx.now_ms),
        "PARSEDATETIME" => text(args, 0)
            .and_then(|s| crate::time::parse_datetime(&s, cx.now_ms, cx.tz.clone()).ok())
            .map_or(Value::Null, Value::Int),
        "INCIDR" => match (text(args, 0), text(args, 1)) {
            (Some(cidr), Some(ip)) => incidr(&cidr, &ip).map_or(Value::Null, Value::Bool),
            _ => Value::Null,
        },
        _ => event_name(name, arg(args, 0), cx.ev),
    };
    if let Value::Str(s) = &value {
        check_len(static_name(name), s.len())?;
    }
    Ok(value)
}

/// The function's name as a `'static` string, for messages.
fn static_name(name: &str) -> &'static str {
    functions::lookup(name).map_or("a function", |s| s.name)
}

/// The functions that name something of the event: LOGSOURCETYPENAME, LOGSOURCENAME, QIDNAME,
/// CATEGORYNAME.
fn event_name(name: &str, id: &Value, ev: Option<&QRadarEvent>) -> Value {
    let text = |s: &str| Value::Str(s.to_string());
    match (name, id, ev) {
        ("LOGSOURCETYPENAME", id, _) => match id.as_number() {
            Some(Number::Int(id)) => log_source_type_name(id).map_or(Value::Null, text),
            _ => Value::Null,
        },
        ("LOGSOURCENAME", Value::Int(id), Some(ev)) if *id == ev.logsourceid => {
            text(&ev.logsourcename)
        }
        ("QIDNAME" | "QIDDESCRIPTION" | "QIDESCRIPTION", Value::Int(id), Some(ev))
            if *id == ev.qid && !ev.event.operation.is_empty() =>
        {
            text(&ev.event.operation)
        }
        ("CATEGORYNAME", Value::Int(id), Some(ev))
            if *id == ev.category && !ev.event.service.is_empty() =>
        {
            text(&ev.event.service)
        }
        _ => Value::Null,
    }
}

fn dateformat(args: &[Value], cx: &Ctx<'_>) -> Result<Value, Refusal> {
    let (Some(ms), Some(pattern)) = (arg(args, 0).as_number(), text(args, 1)) else {
        return Ok(Value::Null);
    };
    let ms = match ms {
        Number::Int(i) => i,
        Number::Float(f) => f as i64,
    };
    match crate::dateformat::format(ms, &pattern, cx.tz) {
        Ok(s) => Ok(Value::Str(s)),
        Err(crate::dateformat::FormatError::Pattern(m)) => Err(Refusal::DatePattern(m)),
        Err(crate::dateformat::FormatError::TooLong(bytes)) => Err(Refusal::TooLong {
            function: "DATEFORMAT",
            bytes,
        }),
        // A time outside what the calendar can show: NULL, as before.
        Err(crate::dateformat::FormatError::Time(_)) => Ok(Value::Null),
    }
}

/// The string functions that cannot grow more than their input (and BASE64 and CONCAT, whose
/// size is known before anything is allocated).
fn text_function(name: &str, args: &[Value]) -> Result<Value, Refusal> {
    if name == "CONCAT" {
        return concat(args);
    }
    let Some(s) = text(args, 0) else {
        return Ok(Value::Null);
    };
    Ok(Value::Str(match name {
        "LOWER" => s.chars().map(crate::value::fold_char).collect(),
        "UPPER" => s.chars().map(upper_char).collect(),
        "BASE64" => {
            check_len("BASE64", s.len().div_ceil(3).saturating_mul(4))?;
            base64(s.as_bytes())
        }
        "SUBSTRING" => substring(&s, arg(args, 1), args.get(2)),
        _ => s.into_owned(), // STR, UTF8
    }))
}

fn upper_char(c: char) -> char {
    let mut u = c.to_uppercase();
    match (u.next(), u.next()) {
        (Some(x), None) => x,
        _ => c,
    }
}

/// CONCAT reads NULL as the empty string; the length is summed before anything is copied.
fn concat(args: &[Value]) -> Result<Value, Refusal> {
    let parts: Vec<Cow<'_, str>> = (0..args.len())
        .map(|i| text(args, i).unwrap_or_default())
        .collect();
    let total = parts.iter().fold(0usize, |n, p| n.saturating_add(p.len()));
    check_len("CONCAT", total)?;
    Ok(Value::Str(parts.concat()))
}

/// SUBSTRING(s, start, length), in characters, without copying `s` into a vector.
fn substring(s: &str, start: &Value, length: Option<&Value>) -> String {
    let count = |v: &Value, default: usize| {
        v.as_number()
            .map_or(default, |n| n.as_f64().max(0.0) as usize)
    };
    let start = count(start, 0);
    let byte_at = |chars: usize| s.char_indices().nth(chars).map_or(s.len(), |(i, _)| i);
    let from = byte_at(start);
    let rest = &s[from..];
    let to = match length {
        Some(len) => {
            let len = len
                .as_number()
                .map_or(usize::MAX, |n| n.as_f64().max(0.0) as usize);
            rest.char_indices().nth(len).map_or(rest.len(), |(i, _)| i)
        }
        None => rest.len(),
    };
    rest[..to].to_string()
}

/// STRPOS(s, sub[, from]): the character index of `sub` at or after character `from`, or -1.
fn strpos(args: &[Value]) -> Value {
    let (Some(s), Some(sub)) = (text(args, 0), text(args, 1)) else {
        return Value::Null;
    };
    let from = arg(args, 2)
        .as_number()
        .map_or(0, |n| n.as_f64().max(0.0) as usize);
    let Some((start, _)) = s.char_indices().chain([(s.len(), ' ')]).nth(from) else {
        return Value::Int(-1);
    };
    match s[start..].find(sub.as_ref()) {
        Some(i) => Value::Int((from + s[start..start + i].chars().count()) as i64),
        None => Value::Int(-1),
    }
}

fn long(v: &Value) -> Value {
    match v.as_number() {
        Some(Number::Int(i)) => Value::Int(i),
        Some(Number::Float(f)) => Value::Int(f.trunc() as i64),
        None => match v.as_text().and_then(|s| s.trim().parse::<IpAddr>().ok()) {
            Some(IpAddr::V4(ip)) => Value::Int(i64::from(u32::from(ip))),
            _ => Value::Null,
        },
    }
}

/// One piece of a Java replacement string.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece<'a> {
    Text(Cow<'a, str>),
    Group(usize),
    Named(&'a str),
}

/// REPLACEALL(regex, text, replacement) / REPLACEFIRST, with Java's replacement syntax, built
/// piece by piece so that the result stops at [`MAX_STRING_BYTES`] instead of growing to
/// `len(text) × len(replacement)`.
fn replace(name: &str, args: &[Value], regexes: &RegexCache) -> Result<Value, Refusal> {
    let (Some(pattern), Some(s), Some(rep)) = (text(args, 0), text(args, 1), text(args, 2)) else {
        return Ok(Value::Null);
    };
    let re = regexes
        .get(&pattern, RegexMode::Anywhere)
        .map_err(|p| Refusal::Regex(format!("{name}: {p}")))?;
    let pieces = replacement(&rep, &re).map_err(|m| Refusal::Regex(format!("{name}: {m}")))?;
    let all = name == "REPLACEALL";
    let mut out = Bounded::new(if all { "REPLACEALL" } else { "REPLACEFIRST" });
    let limit = if all { usize::MAX } else { 1 };
    let mut last = 0;
    let fixed = match pieces.as_slice() {
        [] => Some(""),
        [Piece::Text(t)] => Some(t.as_ref()),
        _ => None,
    };
    if let Some(fixed) = fixed {
        // No group reference: matches only, without the cost of captures.
        for m in re.find_iter(&s).take(limit) {
            out.push(&s[last..m.start()])?;
            out.push(fixed)?;
            last = m.end();
        }
    } else {
        for caps in re.captures_iter(&s).take(limit) {
            let Some(m) = caps.get(0) else { continue };
            out.push(&s[last..m.start()])?;
            expand(&pieces, &caps, &mut out)?;
            last = m.end();
        }
    }
    out.push(&s[last..])?;
    Ok(Value::Str(out.text))
}

/// A string that refuses to grow over [`MAX_STRING_BYTES`].
struct Bounded {
    function: &'static str,
    text: String,
}

impl Bounded {
    fn new(function: &'static str) -> Bounded {
        Bounded {
            function,
            text: String::new(),
        }
    }

    fn push(&mut self, s: &str) -> Result<(), Refusal> {
        let bytes = self.text.len().saturating_add(s.len());
        if bytes > MAX_STRING_BYTES {
            return Err(Refusal::TooLong {
                function: self.function,
                bytes,
            });
        }
        self.text.push_str(s);
        Ok(())
    }
}

fn expand(pieces: &[Piece<'_>], caps: &Captures<'_>, out: &mut Bounded) -> Result<(), Refusal> {
    for piece in pieces {
        let text = match piece {
            Piece::Text(t) => Some(t.as_ref()),
            Piece::Group(n) => caps.get(*n).map(|m| m.as_str()),
            Piece::Named(n) => caps.name(n).map(|m| m.as_str()),
        };
        out.push(text.unwrap_or(""))?;
    }
    Ok(())
}

/// Whether Java would accept `rep` as the replacement for `re`.
pub(crate) fn check_replacement(rep: &str, re: &Regex) -> Result<(), String> {
    replacement(rep, re).map(|_| ())
}

/// Parse a replacement as Java's `Matcher.appendReplacement` does: `\x` is `x`; `$n` is group
/// n, taking further digits while the number stays a group of the pattern; `${name}` is a
/// named group. What Java throws on is an error here.
fn replacement<'a>(rep: &'a str, re: &'a Regex) -> Result<Vec<Piece<'a>>, String> {
    let groups = re.captures_len() - 1;
    let mut pieces = Vec::new();
    let mut literal = String::new();
    let mut chars = rep.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some((_, escaped)) => literal.push(escaped),
                None => {
                    return Err(
                        "character to be escaped is missing at the end of the replacement".into(),
                    )
                }
            },
            '$' => {
                if !literal.is_empty() {
                    pieces.push(Piece::Text(Cow::Owned(std::mem::take(&mut literal))));
                }
                pieces.push(group_ref(rep, i, &mut chars, groups, re)?);
            }
            _ => literal.push(c),
        }
    }
    if !literal.is_empty() {
        pieces.push(Piece::Text(Cow::Owned(literal)));
    }
    Ok(pieces)
}

type CharIter<'a> = std::iter::Peekable<std::str::CharIndices<'a>>;

/// The group reference after the `$` at byte `at` of `rep`.
fn group_ref<'a>(
    rep: &'a str,
    at: usize,
    chars: &mut CharIter<'a>,
    groups: usize,
    re: &Regex,
) -> Result<Piece<'a>, String> {
    match chars.next() {
        Some((start, '{')) => {
            let end = rep[start..]
                .find('}')
                .map(|i| start + i)
                .ok_or("named group reference is missing its trailing '}'")?;
            let name = &rep[start + 1..end];
            if !re.capture_names().any(|n| n == Some(name)) {
                return Err(format!("no group named <{name}>"));
            }
            while chars.peek().is_some_and(|(i, _)| *i <= end) {
                chars.next();
            }
            Ok(Piece::Named(name))
        }
        Some((_, d)) if d.is_ascii_digit() => {
            let mut n = d.to_digit(10).map_or(0, |x| x as usize);
            if n > groups {
                return Err(format!("no group {n} (the pattern has {groups})"));
            }
            while let Some(next) = chars.peek().and_then(|(_, c)| c.to_digit(10)) {
                let longer = n * 10 + next as usize;
                if longer > groups {
                    break;
                }
                n = longer;
                chars.next();
            }
            Ok(Piece::Group(n))
        }
        _ => Err(format!(
            "illegal group reference at character {} of the replacement",
            rep[..at].chars().count() + 1
        )),
    }
}

/// INCIDR('10.0.0.0/8', ip): `None` when either side does not parse.
pub fn incidr(cidr: &str, ip: &str) -> Option<bool> {
    let (net, bits) = cidr.trim().split_once('/')?;
    let net: IpAddr = net.trim().parse().ok()?;
    let bits: u32 = bits.trim().parse().ok()?;
    let ip: IpAddr = ip.trim().parse().ok()?;
    match (net, ip) {
        (IpAddr::V4(n), IpAddr::V4(a)) => {
            if bits > 32 {
                return None;
            }
            let mask = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - bits)
            };
            Some(u32::from(n) & mask == u32::from(a) & mask)
        }
        (IpAddr::V6(n), IpAddr::V6(a)) => {
            if bits > 128 {
                return None;
            }
            let mask = if bits == 0 {
                0
            } else {
                u128::MAX << (128 - bits)
            };
            Some(u128::from(n) & mask == u128::from(a) & mask)
        }
        _ => Some(false),
    }
}

fn base64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rep(pattern: &str, s: &str, r: &str, all: bool) -> Result<Value, Refusal> {
        let cache = RegexCache::default();
        let name = if all { "REPLACEALL" } else { "REPLACEFIRST" };
        let args = [pattern, s, r].map(|x| Value::Str(x.to_string()));
        replace(name, &args, &cache)
    }

    fn text_of(v: Result<Value, Refusal>) -> String {
        match v {
            Ok(Value::Str(s)) => s,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn cidr() {
        assert_eq!(incidr("10.0.0.0/8", "10.1.2.3"), Some(true));
        assert_eq!(incidr("10.0.0.0/8", "11.1.2.3"), Some(false));
        assert_eq!(incidr("fd::/16", "fd::1"), Some(true));
        assert_eq!(incidr("10.0.0.0/8", "ec2.amazonaws.com"), None);
    }

    #[test]
    fn b64() {
        assert_eq!(base64(b"Man"), "TWFu");
        assert_eq!(base64(b"Ma"), "TWE=");
        assert_eq!(base64(b"M"), "TQ==");
    }

    #[test]
    fn java_replacements() {
        assert_eq!(text_of(rep("(a)(b)", "xaby", "[$2$1]", true)), "x[ba]y");
        // Java reads `$1a` as group 1 then `a`, and `$12` as group 1 then `2` when there is
        // no group 12.
        assert_eq!(text_of(rep("(a)", "a", "$1a$12", true)), "aaa2");
        assert_eq!(text_of(rep("(?P<w>b)", "abc", "<${w}>", true)), "a<b>c");
        assert_eq!(text_of(rep("a", "aa", "\\$", false)), "$a");
        assert_eq!(text_of(rep("", "ab", "-", true)), "-a-b-");
        for bad in ["$", "$x", "$2", "${nope}", "\\"] {
            assert!(
                matches!(rep("(a)", "a", bad, true), Err(Refusal::Regex(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn replace_stops_at_the_cap() {
        let big = "x".repeat(1000);
        let s = "y".repeat(2000);
        match rep("", &s, &big, true) {
            Err(Refusal::TooLong { function, bytes }) => {
                assert_eq!(function, "REPLACEALL");
                assert!(bytes > MAX_STRING_BYTES && bytes <= MAX_STRING_BYTES + 1000);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn substrings_and_positions_count_characters() {
        let s = |v: &str| Value::Str(v.to_string());
        assert_eq!(
            substring("héllo", &Value::Int(1), Some(&Value::Int(3))),
            "éll"
        );
        assert_eq!(substring("héllo", &Value::Int(9), None), "");
        assert_eq!(strpos(&[s("aébcd"), s("cd")]), Value::Int(3));
        assert_eq!(strpos(&[s("abab"), s("ab"), Value::Int(1)]), Value::Int(2));
        assert_eq!(strpos(&[s("ab"), s(""), Value::Int(2)]), Value::Int(2));
        assert_eq!(strpos(&[s("ab"), s("x")]), Value::Int(-1));
    }
}
