//! DATEFORMAT: Java `SimpleDateFormat` patterns over epoch milliseconds, as QRadar uses them.
//!
//! Letters follow Java with the US locale (weeks start on Sunday, week 1 is the week holding
//! January 1st): G y Y M L w W D d F E u a H k K h m s S z Z X, `'quoted text'` and `''`.
//! Other ASCII letters are errors, as in Java. Note the classic traps, reproduced faithfully:
//! `YYYY` is the week-year, `hh` is the 12-hour clock, `mm` is minutes and `DD` day of year.
//!
//! **Limits, as Java's.** A run of one letter may be any length, as in Java; a number is
//! zero-padded to the run's length but to at most [`MAX_NUMBER_WIDTH`] digits, where Java's
//! `DecimalFormat` stops too; `XXXX` and longer are rejected, as Java rejects them. Beyond
//! Java: a pattern, and a result, may not be longer than [`MAX_STRING_BYTES`] (1 MiB).
//! [`validate`] refuses exactly the literal patterns that [`format()`] would refuse, so
//! `aql lint` rejects what `aql run` rejects.

use jiff::tz::TimeZone;
use jiff::{Timestamp, Zoned};

use crate::limits::MAX_STRING_BYTES;

/// Widest zero-padded number: Java's `DecimalFormat` keeps at most 309 integer digits
/// (`DOUBLE_INTEGER_DIGITS`), so `SimpleDateFormat` pads no further however long the run.
pub const MAX_NUMBER_WIDTH: usize = 309;

/// The widest text a field that is not a number can print ("Coordinated Universal Time").
const MAX_TEXT_FIELD: usize = 32;

/// Why a date could not be formatted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    /// The pattern is not one Java accepts, or is over snapback's limits.
    #[error("{0}")]
    Pattern(String),
    /// The result would be this many bytes, over [`MAX_STRING_BYTES`].
    #[error("the formatted date would be {0} bytes, over snapback's limit of {MAX_STRING_BYTES}")]
    TooLong(usize),
    /// The time cannot be shown (out of the calendar's range).
    #[error("{0}")]
    Time(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    Field(char, usize),
}

fn compile(pattern: &str) -> Result<Vec<Part>, String> {
    if pattern.len() > MAX_STRING_BYTES {
        return Err(format!(
            "date pattern of {} bytes, over snapback's limit of {MAX_STRING_BYTES} (1 MiB)",
            pattern.len()
        ));
    }
    let chars: Vec<char> = pattern.chars().collect();
    let mut parts = Vec::new();
    let mut lit = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' {
            if chars.get(i + 1) == Some(&'\'') {
                lit.push('\'');
                i += 2;
                continue;
            }
            // quoted text up to the next lone quote; '' inside is one quote
            i += 1;
            loop {
                match chars.get(i) {
                    None => return Err(format!("unterminated quote in date pattern `{pattern}`")),
                    Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                        lit.push('\'');
                        i += 2;
                    }
                    Some('\'') => {
                        i += 1;
                        break;
                    }
                    Some(&ch) => {
                        lit.push(ch);
                        i += 1;
                    }
                }
            }
            continue;
        }
        if c.is_ascii_alphabetic() {
            if !"GyYMLwWDdFEuaHkKhmsSzZX".contains(c) {
                return Err(format!(
                    "`{c}` is not a date pattern letter (pattern `{pattern}`); quote literal text as 'text'"
                ));
            }
            let mut n = 1;
            while chars.get(i + n) == Some(&c) {
                n += 1;
            }
            if c == 'X' && n >= 4 {
                // Java: IllegalArgumentException("invalid ISO 8601 format: length=" + n)
                return Err(format!(
                    "invalid ISO 8601 format: length={n} (`X` takes 1 to 3 letters)"
                ));
            }
            if !lit.is_empty() {
                parts.push(Part::Literal(std::mem::take(&mut lit)));
            }
            parts.push(Part::Field(c, n));
            i += n;
            continue;
        }
        lit.push(c);
        i += 1;
    }
    if !lit.is_empty() {
        parts.push(Part::Literal(lit));
    }
    Ok(parts)
}

/// Check a pattern without formatting anything: what [`format()`] would refuse for any time,
/// with the same message.
pub fn validate(pattern: &str) -> Result<(), String> {
    let parts = compile(pattern)?;
    let most = longest_output(&parts);
    if most > MAX_STRING_BYTES {
        return Err(FormatError::TooLong(most).to_string());
    }
    Ok(())
}

/// An upper bound of the bytes the pattern can print.
fn longest_output(parts: &[Part]) -> usize {
    parts.iter().fold(0usize, |sum, part| {
        let one = match part {
            Part::Literal(s) => s.len(),
            // A number is as wide as the run (capped) or as its digits and sign.
            Part::Field(_, n) => (*n).clamp(MAX_TEXT_FIELD, MAX_NUMBER_WIDTH),
        };
        sum.saturating_add(one)
    })
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

/// `n` zero-padded to `width` digits, at most [`MAX_NUMBER_WIDTH`] (Java's cap); written
/// without a format width, which Rust caps at 65,535 and panics past.
fn pad(n: i64, width: usize) -> String {
    let digits = n.unsigned_abs().to_string();
    let zeros = width.min(MAX_NUMBER_WIDTH).saturating_sub(digits.len());
    let mut out = String::with_capacity(zeros + digits.len() + 1);
    if n < 0 {
        out.push('-');
    }
    out.extend(std::iter::repeat_n('0', zeros));
    out.push_str(&digits);
    out
}

/// Format epoch milliseconds in `tz` with a Java pattern.
pub fn format(millis: i64, pattern: &str, tz: &TimeZone) -> Result<String, FormatError> {
    let parts = compile(pattern).map_err(FormatError::Pattern)?;
    let most = longest_output(&parts);
    if most > MAX_STRING_BYTES {
        return Err(FormatError::TooLong(most));
    }
    let ts = Timestamp::from_millisecond(millis).map_err(|e| FormatError::Time(e.to_string()))?;
    let z: Zoned = ts.to_zoned(tz.clone());
    let year = i64::from(z.year());
    let doy = i64::from(z.day_of_year());
    let wd_sun0 = i64::from(z.weekday().to_sunday_zero_offset()); // 0 = Sunday
    let (week_of_year, week_year) = us_week(&z, year, doy, wd_sun0);
    let date = Date {
        ts,
        tz,
        year,
        month: z.month() as usize, // 1..=12
        day: i64::from(z.day()),
        hour: i64::from(z.hour()),
        wd_sun0,
        doy,
        week_of_year,
        week_year,
        z,
    };
    let mut out = String::new();
    for part in parts {
        match part {
            Part::Literal(s) => out.push_str(&s),
            Part::Field(c, n) => out.push_str(&field(&date, c, n)),
        }
    }
    Ok(out)
}

/// The calendar fields of one instant, as the pattern letters read them.
struct Date<'a> {
    ts: Timestamp,
    tz: &'a TimeZone,
    z: Zoned,
    year: i64,
    month: usize,
    day: i64,
    hour: i64,
    wd_sun0: i64,
    doy: i64,
    week_of_year: i64,
    week_year: i64,
}

/// One field: letter `c` repeated `n` times.
fn field(d: &Date<'_>, c: char, n: usize) -> String {
    match c {
        'G' => if d.year > 0 { "AD" } else { "BC" }.to_string(),
        'y' | 'Y' => {
            let y = if c == 'y' { d.year } else { d.week_year };
            if n == 2 {
                pad(y.rem_euclid(100), 2)
            } else {
                pad(y, n)
            }
        }
        'M' | 'L' => match n {
            1 | 2 => pad(d.month as i64, n),
            3 => MONTHS[d.month - 1][..3].to_string(),
            _ => MONTHS[d.month - 1].to_string(),
        },
        'w' => pad(d.week_of_year, n),
        'W' => {
            let first_wd = (d.wd_sun0 - (d.day - 1)).rem_euclid(7);
            pad((d.day - 1 + first_wd) / 7 + 1, n)
        }
        'D' => pad(d.doy, n),
        'd' => pad(d.day, n),
        'F' => pad((d.day - 1) / 7 + 1, n),
        'E' => {
            let name = DAYS[d.wd_sun0 as usize];
            if n >= 4 {
                name.to_string()
            } else {
                name[..3].to_string()
            }
        }
        'u' => pad(if d.wd_sun0 == 0 { 7 } else { d.wd_sun0 }, n),
        'a' => if d.hour < 12 { "AM" } else { "PM" }.to_string(),
        'H' => pad(d.hour, n),
        'k' => pad(if d.hour == 0 { 24 } else { d.hour }, n),
        'K' => pad(d.hour % 12, n),
        'h' => pad(if d.hour % 12 == 0 { 12 } else { d.hour % 12 }, n),
        'm' => pad(i64::from(d.z.minute()), n),
        's' => pad(i64::from(d.z.second()), n),
        'S' => pad(i64::from(d.z.millisecond()), n),
        'z' => zone_name(d, n),
        'Z' => offset_text(d.z.offset().seconds(), false),
        'X' => iso_offset(d.z.offset().seconds(), n),
        _ => String::new(),
    }
}

fn zone_name(d: &Date<'_>, n: usize) -> String {
    let info = d.tz.to_offset_info(d.ts);
    let abbr = info.abbreviation();
    let utc = d.z.offset().seconds() == 0;
    if n >= 4 && (abbr == "UTC" || abbr.is_empty()) && utc {
        "Coordinated Universal Time".to_string()
    } else if abbr.is_empty() {
        offset_text(d.z.offset().seconds(), true)
    } else {
        abbr.to_string()
    }
}

fn iso_offset(secs: i32, n: usize) -> String {
    if secs == 0 {
        return "Z".to_string();
    }
    let sign = if secs < 0 { '-' } else { '+' };
    let a = secs.abs();
    let (h, m) = (a / 3600, (a % 3600) / 60);
    match n {
        1 => format!("{sign}{h:02}"),
        2 => format!("{sign}{h:02}{m:02}"),
        _ => format!("{sign}{h:02}:{m:02}"),
    }
}

fn offset_text(secs: i32, colon: bool) -> String {
    let sign = if secs < 0 { '-' } else { '+' };
    let a = secs.abs();
    let (h, m) = (a / 3600, (a % 3600) / 60);
    if colon {
        format!("GMT{sign}{h:02}:{m:02}")
    } else {
        format!("{sign}{h:02}{m:02}")
    }
}

/// Java's week of year and week-year for the US locale (first day Sunday, minimal days 1).
fn us_week(z: &Zoned, year: i64, doy: i64, wd_sun0: i64) -> (i64, i64) {
    // The Saturday ending this week; if it falls in next year, this is week 1 of next year.
    let days_in_year = i64::from(z.date().days_in_year());
    let saturday_doy = doy + (6 - wd_sun0);
    if saturday_doy > days_in_year {
        return (1, year + 1);
    }
    let jan1_wd = (wd_sun0 - (doy - 1)).rem_euclid(7);
    ((doy - 1 + jan1_wd) / 7 + 1, year)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(ms: i64, p: &str) -> String {
        format(ms, p, &TimeZone::UTC).expect("format")
    }

    #[test]
    fn java_patterns() {
        // 2024-03-05T14:07:09.042Z, a Tuesday
        let ms = 1_709_647_629_042;
        assert_eq!(fmt(ms, "yyyy-MM-dd HH:mm:ss"), "2024-03-05 14:07:09");
        assert_eq!(
            fmt(ms, "yyyy-MM-dd HH:mm:ss.SSS Z"),
            "2024-03-05 14:07:09.042 +0000"
        );
        assert_eq!(
            fmt(ms, "EEE, d MMM yyyy hh:mm a"),
            "Tue, 5 Mar 2024 02:07 PM"
        );
        assert_eq!(fmt(ms, "EEEE MMMM yy D"), "Tuesday March 24 65");
        assert_eq!(fmt(ms, "'at' h 'o''clock' z X"), "at 2 o'clock UTC Z");
    }

    #[test]
    fn week_year_trap() {
        // 2024-12-30 is in the week of 2025-01-01: YYYY says 2025, yyyy 2024.
        let ms = 1_735_560_000_000;
        assert_eq!(fmt(ms, "YYYY yyyy w"), "2025 2024 1");
    }

    #[test]
    fn bad_letters_are_errors() {
        assert!(validate("yyyy-MM-dd T HH").is_err());
        assert!(validate("yyyy-MM-dd'T'HH").is_ok());
    }

    #[test]
    fn time_zones() {
        let tz = TimeZone::get("Europe/Berlin").expect("tz");
        let ms = 1_709_647_629_042;
        assert_eq!(
            format(ms, "HH:mm Z XXX", &tz).expect("f"),
            "15:07 +0100 +01:00"
        );
    }
}
