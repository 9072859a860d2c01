//! Event times: milliseconds since the Unix epoch, offset from one fixed base, rendered the way
//! each cloud renders them. No wall clock is ever read.

use jiff::Timestamp;

/// 2026-11-20T09:00:00Z, the start of every scenario.
pub(crate) const BASE_MS: i64 = 1_795_165_200_000;

/// `BASE_MS` plus `h:m:s` and `ms` milliseconds.
pub(crate) const fn at(h: i64, m: i64, s: i64, ms: i64) -> i64 {
    BASE_MS + ((h * 60 + m) * 60 + s) * 1000 + ms
}

pub(crate) fn timestamp(ms: i64) -> Timestamp {
    // Every scenario time is within hours of BASE_MS, well inside jiff's range.
    Timestamp::from_millisecond(ms).expect("scenario times are near 2026")
}

fn fmt(ms: i64, pattern: &str) -> String {
    timestamp(ms).strftime(pattern).to_string()
}

/// CloudTrail `eventTime`: whole seconds, `Z`.
pub(crate) fn cloudtrail(ms: i64) -> String {
    fmt(ms, "%Y-%m-%dT%H:%M:%SZ")
}

/// Azure resource-log `time`: seven fractional digits (100 ns ticks).
pub(crate) fn azure(ms: i64, ticks: u64) -> String {
    format!(
        "{}.{:03}{:04}Z",
        fmt(ms, "%Y-%m-%dT%H:%M:%S"),
        ms.rem_euclid(1000),
        ticks % 10_000
    )
}

/// GCP `timestamp`: microseconds, `Z`.
pub(crate) fn gcp(ms: i64, micros: u64) -> String {
    format!(
        "{}.{:03}{:03}Z",
        fmt(ms, "%Y-%m-%dT%H:%M:%S"),
        ms.rem_euclid(1000),
        micros % 1000
    )
}

/// GCP `receiveTimestamp`: nanoseconds, `Z`.
pub(crate) fn gcp_nanos(ms: i64, nanos: u64) -> String {
    format!(
        "{}.{:03}{:06}Z",
        fmt(ms, "%Y-%m-%dT%H:%M:%S"),
        ms.rem_euclid(1000),
        nanos % 1_000_000
    )
}

/// Compute operation `insertTime`/`startTime`: Pacific local time with its offset (PST in November).
pub(crate) fn pacific(ms: i64) -> String {
    format!(
        "{}.{:03}-08:00",
        fmt(ms - 8 * 3_600_000, "%Y-%m-%dT%H:%M:%S"),
        ms.rem_euclid(1000)
    )
}

/// SSM's `requestedDateTime` style: `Nov 20, 2026, 9:21:40 AM`.
pub(crate) fn ssm(ms: i64) -> String {
    fmt(ms, "%b %-d, %Y, %-I:%M:%S %p")
}

/// Parts of the UTC date and hour, for object keys: `(YYYY, MM, DD, HH, mm)`.
pub(crate) fn parts(ms: i64) -> (String, String, String, String, String) {
    (
        fmt(ms, "%Y"),
        fmt(ms, "%m"),
        fmt(ms, "%d"),
        fmt(ms, "%H"),
        fmt(ms, "%M"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_each_cloud_format() {
        let t = at(2, 40, 5, 123);
        assert_eq!(cloudtrail(t), "2026-11-20T11:40:05Z");
        assert_eq!(azure(t, 4567), "2026-11-20T11:40:05.1234567Z");
        assert_eq!(gcp(t, 456), "2026-11-20T11:40:05.123456Z");
        assert_eq!(pacific(t), "2026-11-20T03:40:05.123-08:00");
        assert_eq!(ssm(t), "Nov 20, 2026, 11:40:05 AM");
    }
}
