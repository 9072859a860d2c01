//! DATEFORMAT: Java `SimpleDateFormat` patterns over epoch milliseconds, as QRadar uses them.
//!
//! Letters follow Java with the US locale (weeks start on Sunday, week 1 is the week holding
//! January 1st): G y Y M L w W D d F E u a H k K h m s S z Z X, `'quoted text'` and `''`.
//! Other ASCII letters are errors, as in Java. Note the classic traps, reproduced faithfully:
//! `YYYY` is the week-year, `hh` is the 12-hour clock, `mm` is minutes and `DD` day of year.

use jiff::tz::TimeZone;
use jiff::{Timestamp, Zoned};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    Field(char, usize),
}

fn compile(pattern: &str) -> Result<Vec<Part>, String> {
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

/// Check a pattern without formatting anything.
pub fn validate(pattern: &str) -> Result<(), String> {
    compile(pattern).map(|_| ())
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

fn pad(n: i64, width: usize) -> String {
    if n < 0 {
        format!("-{:0width$}", -n, width = width)
    } else {
        format!("{n:0width$}")
    }
}

/// Format epoch milliseconds in `tz` with a Java pattern.
pub fn format(millis: i64, pattern: &str, tz: &TimeZone) -> Result<String, String> {
    let parts = compile(pattern)?;
    let ts = Timestamp::from_millisecond(millis).map_err(|e| e.to_string())?;
    let z: Zoned = ts.to_zoned(tz.clone());
    let mut out = String::new();
    let year = i64::from(z.year());
    let month = z.month() as usize; // 1..=12
    let day = i64::from(z.day());
    let hour = i64::from(z.hour());
    let wd_sun0 = i64::from(z.weekday().to_sunday_zero_offset()); // 0 = Sunday
    let doy = i64::from(z.day_of_year());
    let (week_of_year, week_year) = us_week(&z, year, doy, wd_sun0);
    for part in parts {
        match part {
            Part::Literal(s) => out.push_str(&s),
            Part::Field(c, n) => {
                let s = match c {
                    'G' => if year > 0 { "AD" } else { "BC" }.to_string(),
                    'y' | 'Y' => {
                        let y = if c == 'y' { year } else { week_year };
                        if n == 2 {
                            pad(y.rem_euclid(100), 2)
                        } else {
                            pad(y, n)
                        }
                    }
                    'M' | 'L' => match n {
                        1 | 2 => pad(month as i64, n),
                        3 => MONTHS[month - 1][..3].to_string(),
                        _ => MONTHS[month - 1].to_string(),
                    },
                    'w' => pad(week_of_year, n),
                    'W' => {
                        let first_wd = (wd_sun0 - (day - 1)).rem_euclid(7);
                        pad((day - 1 + first_wd) / 7 + 1, n)
                    }
                    'D' => pad(doy, n),
                    'd' => pad(day, n),
                    'F' => pad((day - 1) / 7 + 1, n),
                    'E' => {
                        let name = DAYS[wd_sun0 as usize];
                        if n >= 4 {
                            name.to_string()
                        } else {
                            name[..3].to_string()
                        }
                    }
                    'u' => pad(if wd_sun0 == 0 { 7 } else { wd_sun0 }, n),
                    'a' => if hour < 12 { "AM" } else { "PM" }.to_string(),
                    'H' => pad(hour, n),
                    'k' => pad(if hour == 0 { 24 } else { hour }, n),
                    'K' => pad(hour % 12, n),
                    'h' => pad(if hour % 12 == 0 { 12 } else { hour % 12 }, n),
                    'm' => pad(i64::from(z.minute()), n),
                    's' => pad(i64::from(z.second()), n),
                    'S' => pad(i64::from(z.millisecond()), n),
                    'z' => {
                        let info = tz.to_offset_info(ts);
                        let abbr = info.abbreviation();
                        if n >= 4 && (abbr == "UTC" || abbr.is_empty()) && z.offset().seconds() == 0
                        {
                            "Coordinated Universal Time".to_string()
                        } else if abbr.is_empty() {
                            offset_text(z.offset().seconds(), true)
                        } else {
                            abbr.to_string()
                        }
                    }
                    'Z' => offset_text(z.offset().seconds(), false),
                    'X' => {
                        let secs = z.offset().seconds();
                        if secs == 0 {
                            "Z".to_string()
                        } else {
                            let sign = if secs < 0 { '-' } else { '+' };
                            let a = secs.abs();
                            let (h, m) = (a / 3600, (a % 3600) / 60);
                            match n {
                                1 => format!("{sign}{h:02}"),
                                2 => format!("{sign}{h:02}{m:02}"),
                                _ => format!("{sign}{h:02}:{m:02}"),
                            }
                        }
                    }
                    _ => String::new(),
                };
                out.push_str(&s);
            }
        }
    }
    Ok(out)
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
