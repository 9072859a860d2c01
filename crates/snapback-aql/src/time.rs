//! Time literals of START/STOP and PARSEDATETIME.
//!
//! QRadar reads START/STOP with minute granularity: `START '… 15:51' STOP '… 17:00'` covers
//! 15:51:00 to 16:59:59, while a STOP with seconds (`'… 17:00:20'`) covers its whole minute
//! (to 17:00:59). Literals without a `Z` are in the console's time zone (`--tz`, default UTC).

use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use jiff::Timestamp;

/// A START/STOP literal, read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeLiteral {
    /// Epoch milliseconds of the literal, seconds included.
    pub millis: i64,
    pub has_seconds: bool,
}

/// Read `yyyy-MM-dd HH:mm[:ss]` and the other documented shapes (`/` or `:` between date
/// parts, `-`, space or `T` before the time, a trailing `Z` for UTC).
pub fn parse_time_literal(text: &str, tz: TimeZone) -> Result<TimeLiteral, String> {
    let trimmed = text.trim();
    let (body, utc) = match trimmed
        .strip_suffix('Z')
        .or_else(|| trimmed.strip_suffix('z'))
    {
        Some(b) => (b.trim_end(), true),
        None => (trimmed, false),
    };
    let mut nums: Vec<i64> = Vec::new();
    let mut cur = String::new();
    for ch in body.chars() {
        if ch.is_ascii_digit() {
            cur.push(ch);
        } else if matches!(ch, '-' | '/' | ':' | ' ' | 'T' | '.') {
            if !cur.is_empty() {
                nums.push(cur.parse().map_err(|_| bad(text))?);
                cur.clear();
            }
        } else {
            return Err(bad(text));
        }
    }
    if !cur.is_empty() {
        nums.push(cur.parse().map_err(|_| bad(text))?);
    }
    if !(5..=7).contains(&nums.len()) {
        return Err(bad(text));
    }
    let get = |i: usize| nums.get(i).copied().unwrap_or(0);
    let dt = DateTime::new(
        i16::try_from(get(0)).map_err(|_| bad(text))?,
        i8::try_from(get(1)).map_err(|_| bad(text))?,
        i8::try_from(get(2)).map_err(|_| bad(text))?,
        i8::try_from(get(3)).map_err(|_| bad(text))?,
        i8::try_from(get(4)).map_err(|_| bad(text))?,
        i8::try_from(get(5)).map_err(|_| bad(text))?,
        0,
    )
    .map_err(|e| format!("`{text}` is not a valid date and time: {e}"))?;
    let zone = if utc { TimeZone::UTC } else { tz };
    let ts = zone
        .to_ambiguous_zoned(dt)
        .compatible()
        .map_err(|e| format!("`{text}`: {e}"))?
        .timestamp();
    Ok(TimeLiteral {
        millis: ts.as_millisecond(),
        has_seconds: nums.len() >= 6,
    })
}

fn bad(text: &str) -> String {
    format!(
        "`{text}` is not a time QRadar reads: use 'yyyy-MM-dd HH:mm' or 'yyyy-MM-dd HH:mm:ss' (add Z for UTC)"
    )
}

/// Check a PARSEDATETIME argument without evaluating it.
pub fn check_parsedatetime(text: &str) -> Result<(), String> {
    parse_datetime(text, 0, TimeZone::UTC).map(|_| ())
}

/// PARSEDATETIME: `'now'`, `'N unit[s] ago'` (second, minute, hour, day, week), or a date
/// literal as START takes it.
pub fn parse_datetime(text: &str, now_ms: i64, tz: TimeZone) -> Result<i64, String> {
    let t = text.trim().to_ascii_lowercase();
    if t == "now" {
        return Ok(now_ms);
    }
    let words: Vec<&str> = t.split_whitespace().collect();
    if let [n, unit, "ago"] = words.as_slice() {
        let n: i64 = n
            .parse()
            .map_err(|_| format!("`{text}`: expected a number before the unit"))?;
        let unit_ms = match unit.trim_end_matches('s') {
            "second" | "sec" => 1_000,
            "minute" | "min" => 60_000,
            "hour" => 3_600_000,
            "day" => 86_400_000,
            "week" => 7 * 86_400_000,
            _ => return Err(format!("`{text}`: unknown unit `{unit}`")),
        };
        return Ok(now_ms - n * unit_ms);
    }
    parse_time_literal(text, tz).map(|l| l.millis)
}

/// Epoch milliseconds of a timestamp.
pub fn millis(ts: Timestamp) -> i64 {
    ts.as_millisecond()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_shapes() {
        let utc = TimeZone::UTC;
        let base = parse_time_literal("2024-01-01 00:00", utc.clone()).expect("ok");
        assert_eq!(base.millis, 1_704_067_200_000);
        assert!(!base.has_seconds);
        for s in [
            "2024/01/01 00:00:00",
            "2024/01/01-00:00:00",
            "2024:01:01-00:00:00",
            "2024-01-01 00:00Z",
            "2024 01 01 0:00:00",
        ] {
            assert_eq!(
                parse_time_literal(s, utc.clone()).expect(s).millis,
                base.millis,
                "{s}"
            );
        }
        assert!(parse_time_literal("yesterday", utc).is_err());
    }

    #[test]
    fn parsedatetime_relative() {
        assert_eq!(
            parse_datetime("1 hour ago", 10_000_000, TimeZone::UTC),
            Ok(6_400_000)
        );
        assert_eq!(parse_datetime("now", 5, TimeZone::UTC), Ok(5));
    }
}
