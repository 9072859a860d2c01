//! Records that are JSON but for their text: bytes that are not UTF-8, and `\u` escapes of a
//! UTF-16 surrogate without its other half (`\ud800`), which JSON's grammar allows and
//! serde_json refuses (a Rust string cannot hold one). Both are written by attackers into
//! fields they control (a user agent) so that the record is dropped; both are repaired with
//! U+FFFD and the record kept, with a warning. Parsing tries the record as it is first: this
//! only runs for records that failed to parse, never on the hot path.

use std::borrow::Cow;

use serde_json::Value;

/// What was repaired in a record for it to parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Repair {
    /// Bytes that are not UTF-8 were replaced with U+FFFD.
    InvalidUtf8,
    /// This many `\u` escapes of a lone surrogate were replaced with `\ufffd`.
    LoneSurrogates(usize),
}

impl Repair {
    /// The diagnostic's reason and text.
    pub(crate) fn describe(self) -> (&'static str, String) {
        match self {
            Repair::InvalidUtf8 => (
                "invalid-utf8",
                "bytes that are not UTF-8 were replaced with U+FFFD".into(),
            ),
            Repair::LoneSurrogates(n) => (
                "lone-surrogate",
                format!(
                    "{n} \\u escape(s) of a UTF-16 surrogate without its other half (such as \
                     \\ud800) replaced with U+FFFD"
                ),
            ),
        }
    }
}

/// A record that did not parse even repaired.
#[derive(Debug)]
pub(crate) struct Unparsed {
    pub error: serde_json::Error,
    /// Bytes that are not UTF-8 were replaced before this error (its column is then of the
    /// repaired text).
    pub after_utf8_repair: bool,
}

/// Parse one record, repairing what [`Repair`] lists when it does not parse as it is.
pub(crate) fn parse_record(bytes: &[u8]) -> Result<(Value, Vec<Repair>), Unparsed> {
    let first = match serde_json::from_slice::<Value>(bytes) {
        Ok(v) => return Ok((v, Vec::new())),
        Err(e) => e,
    };
    let mut repairs = Vec::new();
    let mut text = Cow::Borrowed(bytes);
    if std::str::from_utf8(bytes).is_err() {
        text = Cow::Owned(String::from_utf8_lossy(bytes).into_owned().into_bytes());
        repairs.push(Repair::InvalidUtf8);
    }
    if let Some((fixed, n)) = replace_lone_surrogates(&text) {
        text = Cow::Owned(fixed);
        repairs.push(Repair::LoneSurrogates(n));
    }
    let after_utf8_repair = repairs.contains(&Repair::InvalidUtf8);
    if repairs.is_empty() {
        return Err(Unparsed {
            error: first,
            after_utf8_repair,
        });
    }
    match serde_json::from_slice::<Value>(&text) {
        Ok(v) => Ok((v, repairs)),
        Err(error) => Err(Unparsed {
            error,
            after_utf8_repair,
        }),
    }
}

/// Parse JSON held in a string of a record (Event history's `CloudTrailEvent`, a CloudWatch
/// Logs message, an Azure body), repairing lone surrogate escapes: the value and how many
/// were repaired.
pub(crate) fn parse_embedded(text: &str) -> Result<(Value, usize), serde_json::Error> {
    let first = match serde_json::from_str::<Value>(text) {
        Ok(v) => return Ok((v, 0)),
        Err(e) => e,
    };
    match replace_lone_surrogates(text.as_bytes()) {
        Some((fixed, n)) => serde_json::from_slice(&fixed).map(|v| (v, n)),
        None => Err(first),
    }
}

/// The 4 hex digits at `at`, as a code unit.
fn hex4(bytes: &[u8], at: usize) -> Option<u16> {
    let digits = std::str::from_utf8(bytes.get(at..at + 4)?).ok()?;
    u16::from_str_radix(digits, 16).ok()
}

/// `bytes` with every `\u` escape of a lone surrogate replaced by `\ufffd`, and how many, or
/// `None` when there is none. Escapes are read as JSON reads them (`\\ud800` is a backslash
/// and text), outside strings too: a backslash outside a string breaks the record anyway.
pub(crate) fn replace_lone_surrogates(bytes: &[u8]) -> Option<(Vec<u8>, usize)> {
    let mut out = Vec::new();
    let (mut copied, mut i, mut n) = (0, 0, 0);
    while let Some(k) = memchr::memchr(b'\\', bytes.get(i..).unwrap_or_default()) {
        let at = i + k;
        if bytes.get(at + 1) != Some(&b'u') {
            i = at + 2;
            continue;
        }
        let Some(unit) = hex4(bytes, at + 2) else {
            i = at + 2;
            continue;
        };
        let low_after = || {
            (bytes.get(at + 6..at + 8) == Some(&b"\\u"[..]))
                .then(|| hex4(bytes, at + 8))
                .flatten()
                .is_some_and(|u| (0xDC00..0xE000).contains(&u))
        };
        match unit {
            0xD800..=0xDBFF if low_after() => i = at + 12,
            0xD800..=0xDFFF => {
                out.extend_from_slice(&bytes[copied..at]);
                out.extend_from_slice(b"\\ufffd");
                copied = at + 6;
                i = at + 6;
                n += 1;
            }
            _ => i = at + 6,
        }
    }
    if n == 0 {
        return None;
    }
    out.extend_from_slice(&bytes[copied..]);
    Some((out, n))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixed(s: &str) -> Option<(String, usize)> {
        replace_lone_surrogates(s.as_bytes()).map(|(b, n)| (String::from_utf8(b).unwrap(), n))
    }

    #[test]
    fn lone_halves_are_replaced_and_pairs_kept() {
        assert_eq!(
            fixed(r#"{"a":"x\ud800"}"#),
            Some((r#"{"a":"x\ufffd"}"#.into(), 1))
        );
        assert_eq!(
            fixed(r#"{"a":"\uDC00\uD800y"}"#),
            Some((r#"{"a":"\ufffd\ufffdy"}"#.into(), 2))
        );
        // A high half followed by another escape that is not a low half.
        assert_eq!(
            fixed(r#""\ud800\u0041""#),
            Some((r#""\ufffd\u0041""#.into(), 1))
        );
        // A pair, an escaped backslash before text, ordinary escapes: nothing to repair.
        assert_eq!(fixed(r#""\ud83d\ude00 \\ud800 \n \u00e9""#), None);
        assert_eq!(fixed(r#""\u12"#), None);
        assert_eq!(fixed("\\"), None);
    }

    #[test]
    fn records_parse_repaired() {
        let (v, repairs) = parse_record(br#"{"userAgent":"evil\ud800"}"#).unwrap();
        assert_eq!(v["userAgent"], "evil\u{FFFD}");
        assert_eq!(repairs, [Repair::LoneSurrogates(1)]);
        let (v, repairs) = parse_record(b"{\"a\":\"\xE9\\udfff\"}").unwrap();
        assert_eq!(v["a"], "\u{FFFD}\u{FFFD}");
        assert_eq!(repairs, [Repair::InvalidUtf8, Repair::LoneSurrogates(1)]);
        assert!(parse_record(br#"{"a":nul}"#).is_err());
        let (v, n) = parse_embedded(r#"{"userAgent":"\udc00"}"#).unwrap();
        assert_eq!((v["userAgent"].as_str(), n), (Some("\u{FFFD}"), 1));
    }
}
