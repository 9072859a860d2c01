//! The date parts of the clouds' delivery layouts, and what `--since/--until` lets a listing
//! skip.
//!
//! - CloudTrail: `AWSLogs/[<org id>/]<account>/CloudTrail/<region>/YYYY/MM/DD/<file>.json.gz`
//! - Azure diagnostic settings: `insights-activity-logs/resourceId=/SUBSCRIPTIONS/<id>/…/
//!   y=YYYY/m=MM/d=DD/h=HH/m=00/PT1H.json`
//! - Cloud Logging sink to GCS: `<log name>/YYYY/MM/DD/HH:00:00_HH:59:59_S0.json`
//!
//! A folder is read as a date part only in its place: a year (`YYYY`, or `y=YYYY`), then a
//! month, a day, an hour (`h=HH`). On Azure only the `y=`/`m=`/`d=`/`h=` forms count, since a
//! resource group may be called `2024`. A folder whose date span misses the window is never
//! listed; one wholly inside is listed flat (no more listing calls per folder).

use jiff::civil::Date;
use jiff::{SignedDuration, Timestamp};
use snapback_ingest::TimeWindow;

use crate::url::Cloud;

/// How much wider than `--since/--until` a listing looks: CloudTrail files a record under
/// the day of its delivery, usually minutes (rarely hours) after the call, and a sink or an
/// export rounds to its hour or day. Events are then filtered by their own time, exactly.
pub const DELIVERY_MARGIN: SignedDuration = SignedDuration::from_hours(24);

/// The date that the folders above a prefix name, as far as known.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DatePath {
    year: Option<i16>,
    month: Option<i8>,
    day: Option<i8>,
    hour: Option<i8>,
}

/// What a listing does with a folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Its dates all miss the window: not listed.
    Skip,
    /// Some of its dates are in the window: list its folders, decide each.
    Walk,
    /// All of it is wanted (or no finer date is in the layout): list everything under it.
    ListAll,
}

impl DatePath {
    /// The date after the folder `segment` (its name, no `/`), or `None` when the folder is
    /// not the next date part of `cloud`'s layout.
    pub fn step(&self, cloud: Cloud, segment: &str) -> Option<DatePath> {
        let keyed = |key: &str| segment.strip_prefix(key);
        let mut next = *self;
        match (self.year, self.month, self.day, self.hour) {
            (None, ..) => {
                let digits = keyed("y=").or((cloud != Cloud::Azure).then_some(segment))?;
                let y: i16 = number(digits, 4)?;
                next.year = (1990..=2199).contains(&y).then_some(y);
            }
            (Some(_), None, ..) => {
                let digits = keyed("m=").or((cloud != Cloud::Azure).then_some(segment))?;
                next.month = number(digits, 2).filter(|m| (1..=12).contains(m));
            }
            (Some(y), Some(m), None, _) => {
                let digits = keyed("d=").or((cloud != Cloud::Azure).then_some(segment))?;
                next.day = number(digits, 2).filter(|&d| Date::new(y, m, d).is_ok());
            }
            (Some(_), Some(_), Some(_), None) => {
                next.hour = number(keyed("h=")?, 2).filter(|h| (0..=23).contains(h));
            }
            _ => return None,
        }
        (next != *self).then_some(next)
    }

    /// Whether a date is known at all.
    pub fn is_dated(&self) -> bool {
        self.year.is_some()
    }

    /// Whether no finer date part follows in the layout (an hour; or a day, where hours
    /// are not folders).
    pub fn is_finest(&self, cloud: Cloud) -> bool {
        self.hour.is_some() || (self.day.is_some() && cloud != Cloud::Azure)
    }

    /// The instants this date covers: `[start, end)` in UTC.
    pub fn span(&self) -> Option<(Timestamp, Timestamp)> {
        let y = self.year?;
        let start = Date::new(y, self.month.unwrap_or(1), self.day.unwrap_or(1)).ok()?;
        let start = start.to_datetime(jiff::civil::time(self.hour.unwrap_or(0), 0, 0, 0));
        let end = match (self.month, self.day, self.hour) {
            (None, ..) => start.checked_add(jiff::Span::new().years(1)),
            (Some(_), None, _) => start.checked_add(jiff::Span::new().months(1)),
            (Some(_), Some(_), None) => start.checked_add(jiff::Span::new().days(1)),
            (Some(_), Some(_), Some(_)) => start.checked_add(jiff::Span::new().hours(1)),
        }
        .ok()?;
        let utc = |dt: jiff::civil::DateTime| {
            dt.to_zoned(jiff::tz::TimeZone::UTC)
                .ok()
                .map(|z| z.timestamp())
        };
        Some((utc(start)?, utc(end)?))
    }

    /// What a listing bounded by `window` does with a folder whose date this is.
    pub fn decide(&self, cloud: Cloud, window: &TimeWindow) -> Decision {
        let Some((start, end)) = self.span() else {
            return Decision::Walk;
        };
        let since = window
            .since
            .and_then(|s| s.checked_sub(DELIVERY_MARGIN).ok());
        let until = window
            .until
            .and_then(|u| u.checked_add(DELIVERY_MARGIN).ok());
        let misses = since.is_some_and(|s| end <= s) || until.is_some_and(|u| start >= u);
        let inside = since.is_none_or(|s| start >= s) && until.is_none_or(|u| end <= u);
        match (misses, inside || self.is_finest(cloud)) {
            (true, _) => Decision::Skip,
            (false, true) => Decision::ListAll,
            (false, false) => Decision::Walk,
        }
    }
}

/// `digits` as a number of exactly `width` ASCII digits.
fn number<T: std::str::FromStr>(digits: &str, width: usize) -> Option<T> {
    (digits.len() == width && digits.bytes().all(|b| b.is_ascii_digit()))
        .then(|| digits.parse().ok())
        .flatten()
}

/// The layout partition of `key`: its folders up to and including the finest date part
/// (`…/CloudTrail/us-east-1/2026/03/01/`, `…/y=2026/m=03/d=01/h=10/`), where a cloud adds
/// new objects in key order. `None` when the key holds no whole date of the layout.
pub fn partition_of(cloud: Cloud, key: &str) -> Option<&str> {
    let mut date = DatePath::default();
    let mut end = 0;
    for segment in key.split_inclusive('/') {
        let Some(name) = segment.strip_suffix('/') else {
            break;
        };
        end += segment.len();
        if let Some(next) = date.step(cloud, name) {
            date = next;
            if date.is_finest(cloud) {
                return Some(&key[..end]);
            }
        }
    }
    None
}

/// A key's layout partition with what a watcher needs to rank it: the folders above its
/// first date part (`root`: one account's region, one subscription, one log), and the first
/// instant its dates cover.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Partition<'k> {
    /// `partition_of(cloud, key)`: up to and including the finest date folder.
    pub prefix: &'k str,
    /// The folders before the first date part: partitions of one root are one delivery
    /// stream, dated one after the other.
    pub root: &'k str,
    pub start: Timestamp,
}

/// [`partition_of`], with its root and its start; `None` when the key holds no whole date.
pub fn partition(cloud: Cloud, key: &str) -> Option<Partition<'_>> {
    let mut date = DatePath::default();
    let (mut end, mut root) = (0, None);
    for segment in key.split_inclusive('/') {
        let Some(name) = segment.strip_suffix('/') else {
            break;
        };
        let before = end;
        end += segment.len();
        if let Some(next) = date.step(cloud, name) {
            root.get_or_insert(before);
            date = next;
            if date.is_finest(cloud) {
                return Some(Partition {
                    prefix: &key[..end],
                    root: &key[..root.unwrap_or(0)],
                    start: date.span()?.0,
                });
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn walk(cloud: Cloud, path: &str) -> DatePath {
        let mut d = DatePath::default();
        for s in path.split('/').filter(|s| !s.is_empty()) {
            if let Some(n) = d.step(cloud, s) {
                d = n;
            }
        }
        d
    }

    fn window(since: &str, until: &str) -> TimeWindow {
        TimeWindow::parse(Some(since), Some(until)).unwrap()
    }

    #[test]
    fn each_clouds_layout_is_read_in_place() {
        let ct = walk(
            Cloud::S3,
            "AWSLogs/o-abc/111122223333/CloudTrail/us-east-1/2026/03/01",
        );
        assert_eq!(
            ct.span().unwrap().0,
            "2026-03-01T00:00:00Z".parse::<Timestamp>().unwrap()
        );
        assert!(ct.is_finest(Cloud::S3));
        let az = walk(
            Cloud::Azure,
            "resourceId=/SUBSCRIPTIONS/X/RESOURCEGROUPS/2024/y=2026/m=03/d=01/h=10/m=00",
        );
        assert_eq!(
            az.span().unwrap(),
            (
                "2026-03-01T10:00:00Z".parse().unwrap(),
                "2026-03-01T11:00:00Z".parse().unwrap()
            ),
            "a resource group called 2024 is no year on Azure, and m=00 is the minute"
        );
        let gcs = walk(Cloud::Gcs, "cloudaudit.googleapis.com/activity/2026/02");
        assert_eq!(
            gcs.span().unwrap().1,
            "2026-03-01T00:00:00Z".parse::<Timestamp>().unwrap()
        );
        assert!(!walk(Cloud::S3, "AWSLogs/111122223333/CloudTrail").is_dated());
        assert!(
            walk(Cloud::S3, "x/2026/02/30").day.is_none(),
            "no 30 February"
        );
    }

    #[test]
    fn a_window_skips_walks_or_lists_whole() {
        let w = window("2026-03-01", "2026-03-14");
        let d = |p: &str| walk(Cloud::S3, p).decide(Cloud::S3, &w);
        assert_eq!(d("r/2025"), Decision::Skip);
        assert_eq!(d("r/2026"), Decision::Walk);
        assert_eq!(d("r/2026/01"), Decision::Skip);
        assert_eq!(d("r/2026/03"), Decision::Walk);
        assert_eq!(d("r/2026/03/07"), Decision::ListAll);
        // The delivery margin: the day before and after are listed too, the ones past not.
        assert_eq!(d("r/2026/02/28"), Decision::ListAll);
        assert_eq!(d("r/2026/02/27"), Decision::Skip);
        assert_eq!(d("r/2026/03/15"), Decision::ListAll);
        assert_eq!(d("r/2026/03/16"), Decision::Skip);
        assert_eq!(
            d("r/2026/02"),
            Decision::Walk,
            "its last day is in the margin"
        );
        assert_eq!(d("r/2026/04"), Decision::Skip);
        assert_eq!(d("r/2026/05"), Decision::Skip);
        let noon = TimeWindow::parse(Some("2026-03-01T12:00:00Z"), None).unwrap();
        let az = |p: &str| walk(Cloud::Azure, p).decide(Cloud::Azure, &noon);
        assert_eq!(
            az("y=2026/m=02/d=28"),
            Decision::Walk,
            "partly in: hours decide"
        );
        assert_eq!(az("y=2026/m=02/d=28/h=00"), Decision::Skip);
        assert_eq!(az("y=2026/m=02/d=28/h=23"), Decision::ListAll);
        let open = TimeWindow::parse(Some("2026-03-01"), None).unwrap();
        assert_eq!(
            walk(Cloud::S3, "r/2031").decide(Cloud::S3, &open),
            Decision::ListAll
        );
    }

    #[test]
    fn a_partition_ends_at_the_finest_date() {
        assert_eq!(
            partition_of(
                Cloud::S3,
                "AWSLogs/1/CloudTrail/us-east-1/2026/03/01/1_CloudTrail_x.json.gz"
            ),
            Some("AWSLogs/1/CloudTrail/us-east-1/2026/03/01/")
        );
        assert_eq!(
            partition_of(
                Cloud::Azure,
                "resourceId=/S/y=2026/m=03/d=01/h=10/m=00/PT1H.json"
            ),
            Some("resourceId=/S/y=2026/m=03/d=01/h=10/")
        );
        assert_eq!(partition_of(Cloud::Gcs, "activity/2026/03/x.json"), None);
        let p = partition(
            Cloud::Azure,
            "resourceId=/S/RESOURCEGROUPS/2024/y=2026/m=03/d=01/h=10/m=00/PT1H.json",
        )
        .unwrap();
        assert_eq!(p.root, "resourceId=/S/RESOURCEGROUPS/2024/");
        assert_eq!(
            p.prefix,
            "resourceId=/S/RESOURCEGROUPS/2024/y=2026/m=03/d=01/h=10/"
        );
        assert_eq!(
            p.start,
            "2026-03-01T10:00:00Z".parse::<Timestamp>().unwrap()
        );
        let p = partition(Cloud::S3, "AWSLogs/1/CloudTrail/eu-west-1/2026/03/01/f.gz").unwrap();
        assert_eq!(
            (p.root, p.prefix),
            (
                "AWSLogs/1/CloudTrail/eu-west-1/",
                "AWSLogs/1/CloudTrail/eu-west-1/2026/03/01/"
            )
        );
    }
}
