//! Values, comparisons and LIKE.

use std::cmp::Ordering;
use std::fmt;

use serde::Serialize;

/// A value in a result cell or during evaluation.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
}

impl Value {
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// Text of the value as string functions see it; NULL has none.
    pub fn as_text(&self) -> Option<String> {
        match self {
            Value::Null => None,
            Value::Bool(b) => Some(b.to_string()),
            Value::Int(i) => Some(i.to_string()),
            Value::Float(f) => Some(float_text(*f)),
            Value::Str(s) => Some(s.clone()),
        }
    }

    /// Number of the value, when it is one or a string that reads as one.
    pub fn as_number(&self) -> Option<Number> {
        match self {
            Value::Int(i) => Some(Number::Int(*i)),
            Value::Float(f) => Some(Number::Float(*f)),
            Value::Str(s) => parse_number(s),
            Value::Bool(_) | Value::Null => None,
        }
    }

    pub fn from_json(v: &serde_json::Value) -> Value {
        match v {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => {
                if let Some(i) = n.as_i64() {
                    Value::Int(i)
                } else {
                    n.as_f64().map_or(Value::Null, Value::Float)
                }
            }
            serde_json::Value::String(s) => Value::Str(s.clone()),
            other => Value::Str(other.to_string()),
        }
    }

    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Int(i) => serde_json::Value::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f)
                .map_or(serde_json::Value::Null, serde_json::Value::Number),
            Value::Str(s) => serde_json::Value::String(s.clone()),
        }
    }
}

impl Serialize for Value {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(s)
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => Ok(()),
            other => f.write_str(&other.as_text().unwrap_or_default()),
        }
    }
}

fn float_text(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{f:.1}")
    } else {
        f.to_string()
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Number {
    Int(i64),
    Float(f64),
}

impl Number {
    pub fn as_f64(self) -> f64 {
        match self {
            Number::Int(i) => i as f64,
            Number::Float(f) => f,
        }
    }

    pub fn into_value(self) -> Value {
        match self {
            Number::Int(i) => Value::Int(i),
            Number::Float(f) => Value::Float(f),
        }
    }
}

fn parse_number(s: &str) -> Option<Number> {
    let t = s.trim();
    if t.is_empty() {
        return None;
    }
    if let Ok(i) = t.parse::<i64>() {
        return Some(Number::Int(i));
    }
    // Only plain decimals: "inf", "nan" and the like stay strings.
    if t.bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+' | b'e' | b'E'))
    {
        return t.parse::<f64>().ok().map(Number::Float);
    }
    None
}

fn cmp_numbers(a: Number, b: Number) -> Option<Ordering> {
    match (a, b) {
        (Number::Int(x), Number::Int(y)) => Some(x.cmp(&y)),
        _ => a.as_f64().partial_cmp(&b.as_f64()),
    }
}

/// Compare two non-NULL values as AQL does: numbers numerically (a string that reads as a
/// number compares as that number against a number: `protocolid = '255'`), booleans against
/// `'true'`/`'false'`, everything else as text, case-sensitively. `None` for NULL operands.
pub fn compare(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Null, _) | (_, Value::Null) => None,
        (Value::Str(x), Value::Str(y)) => Some(x.cmp(y)),
        (Value::Bool(x), Value::Bool(y)) => Some(x.cmp(y)),
        (Value::Bool(x), Value::Str(y)) => Some(x.to_string().cmp(&y.to_ascii_lowercase())),
        (Value::Str(x), Value::Bool(y)) => Some(x.to_ascii_lowercase().cmp(&y.to_string())),
        _ => match (a.as_number(), b.as_number()) {
            (Some(x), Some(y)) => cmp_numbers(x, y),
            _ => {
                let (x, y) = (a.as_text()?, b.as_text()?);
                Some(x.cmp(&y))
            }
        },
    }
}

/// Total order for ORDER BY and MIN/MAX: numbers before strings; NULL handled by the caller.
pub fn sort_cmp(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Null, Value::Null) => Ordering::Equal,
        (Value::Null, _) => Ordering::Less,
        (_, Value::Null) => Ordering::Greater,
        _ => {
            let (na, nb) = (
                matches!(a, Value::Int(_) | Value::Float(_)),
                matches!(b, Value::Int(_) | Value::Float(_)),
            );
            match (na, nb) {
                (true, false) => Ordering::Less,
                (false, true) => Ordering::Greater,
                _ => compare(a, b).unwrap_or(Ordering::Equal),
            }
        }
    }
}

/// Fold one character for ILIKE: simple one-to-one lower-casing (Java's
/// `Character.toLowerCase`), never the multi-character foldings (ß stays ß).
pub fn fold_char(c: char) -> char {
    let mut lower = c.to_lowercase();
    match (lower.next(), lower.next()) {
        (Some(l), None) => l,
        _ => c,
    }
}

/// SQL LIKE over the whole value: `%` any run (also empty), `_` exactly one character; every
/// other character, backslash included, stands for itself.
pub fn like(value: &str, pattern: &str, case_insensitive: bool) -> bool {
    if value.is_ascii() && pattern.is_ascii() {
        let fold = |b: u8| {
            if case_insensitive {
                b.to_ascii_lowercase()
            } else {
                b
            }
        };
        return like_units(value.as_bytes(), pattern.as_bytes(), b'%', b'_', fold);
    }
    let fold = |c: char| if case_insensitive { fold_char(c) } else { c };
    let v: Vec<char> = value.chars().collect();
    let p: Vec<char> = pattern.chars().collect();
    like_units(&v, &p, '%', '_', fold)
}

/// Iterative matcher with backtracking to the last `%`: O(len(v) * len(p)) worst case.
fn like_units<T: Copy + PartialEq>(
    v: &[T],
    p: &[T],
    any: T,
    one: T,
    fold: impl Fn(T) -> T,
) -> bool {
    let (mut i, mut j) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while i < v.len() {
        if j < p.len() && (p[j] == one || (p[j] != any && fold(p[j]) == fold(v[i]))) {
            i += 1;
            j += 1;
        } else if j < p.len() && p[j] == any {
            star = Some((j, i));
            j += 1;
        } else if let Some((sj, si)) = star {
            j = sj + 1;
            i = si + 1;
            star = Some((sj, si + 1));
        } else {
            return false;
        }
    }
    while j < p.len() && p[j] == any {
        j += 1;
    }
    j == p.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_is_anchored_with_wildcards() {
        assert!(like("Joe", "Jo_", false));
        assert!(!like("Joey", "Jo_", false));
        assert!(like("", "%", false));
        assert!(like("abc", "a%c", false));
        assert!(like("CreateSnapshot", "%create%", true));
        assert!(!like("CreateSnapshot", "%create%", false));
        assert!(!like("a(b)", "a\\(b\\)", false));
        assert!(like("a\\(b\\)", "a\\(b\\)", false));
        assert!(like("mississippi", "%iss%ipp%", false));
    }

    #[test]
    fn comparisons_coerce_numeric_strings() {
        assert_eq!(
            compare(&Value::Int(255), &Value::Str("255".into())),
            Some(Ordering::Equal)
        );
        assert_eq!(
            compare(&Value::Int(9), &Value::Str("10".into())),
            Some(Ordering::Less)
        );
        assert_eq!(
            compare(&Value::Str("9".into()), &Value::Str("10".into())),
            Some(Ordering::Greater)
        );
        assert_eq!(
            compare(&Value::Bool(true), &Value::Str("true".into())),
            Some(Ordering::Equal)
        );
        assert_eq!(compare(&Value::Null, &Value::Int(1)), None);
    }
}
