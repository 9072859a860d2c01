//! Inputs that are not on the local file system: objects of a cloud store (S3, Azure Blob,
//! GCS), listed and opened by another crate (`snapback-objstore`, which owns every name of
//! the store client and its async runtime) and read here exactly as files are: the same
//! opening (gzip, zip, UTF-16 by their magic bytes), framing, prefilter and decoders.
//!
//! The boundary is a trait, not a dependency: this crate knows objects only as a name (the
//! object URL, which is the events' provenance), a size, and a stream of bytes. A listing or
//! an object that cannot be read is a [`RemoteProblem`], which becomes a located diagnostic;
//! the rest is read.

use std::fmt;
use std::io::Read;
use std::sync::Arc;

use jiff::Timestamp;

use crate::{Diagnostic, Reader, Severity, Summary};

/// One object to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteObject {
    /// What provenance and diagnostics call it: the object URL (`s3://bucket/key`).
    pub name: Arc<str>,
    /// The object's key in its store (what [`RemoteInput::open`] fetches).
    pub key: Arc<str>,
    /// Its size in bytes as stored (compressed objects count their compressed size).
    pub size: u64,
    /// Its entity tag, when the listing gave one: the version read.
    pub etag: Option<Arc<str>>,
    /// The store's version of it, when the listing gave one (GCS: its generation).
    pub version: Option<Arc<str>>,
}

/// Why a listing or an object was not read, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteProblem {
    /// The object URL, or the prefix URL of a listing.
    pub at: Arc<str>,
    /// A short stable key for the summary's counts: `object-denied`, `object-missing`,
    /// `object-throttled`, `object-unreadable`, `list-denied`, `list-failed`.
    pub reason: &'static str,
    /// What the store said, with every credential removed.
    pub detail: String,
}

/// A source of objects, listed once and read like files.
pub trait RemoteInput: fmt::Debug + Send + Sync {
    /// The input as the operator named it (`s3://bucket/prefix`).
    fn name(&self) -> &str;

    /// The objects to read, in key order. A prefix that cannot be listed is handed to
    /// `on_problem`; the others are still listed.
    fn list(&self, on_problem: &mut dyn FnMut(RemoteProblem)) -> Vec<RemoteObject>;

    /// The objects about to be read: their fetches may start now, together. Idempotent; a
    /// reader calls it for at most [`in_flight`](Self::in_flight) objects not yet opened.
    fn prefetch(&self, objects: &[RemoteObject]);

    /// The bytes of `object`, as they arrive. An error before the first byte (denied,
    /// missing, throttled beyond the retries) is a problem; a later one is an I/O error of
    /// the stream, after the records before it were read.
    fn open(&self, object: &RemoteObject) -> Result<Box<dyn Read + Send>, RemoteProblem>;

    /// How many objects may be fetched at once (bounds memory: each holds a few buffers).
    fn in_flight(&self) -> usize {
        16
    }
}

/// `--since`/`--until`: the events a run uses. An event outside is counted
/// ([`crate::Summary::outside_window`]) and not handed on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TimeWindow {
    /// The first instant in the window (inclusive).
    pub since: Option<Timestamp>,
    /// The first instant after the window (exclusive).
    pub until: Option<Timestamp>,
}

impl TimeWindow {
    /// Whether `t` is in the window.
    pub fn contains(&self, t: Timestamp) -> bool {
        self.since.is_none_or(|s| t >= s) && self.until.is_none_or(|u| t < u)
    }

    /// Whether the window bounds anything.
    pub fn is_bounded(&self) -> bool {
        self.since.is_some() || self.until.is_some()
    }

    /// Parse `--since`/`--until` values: an RFC 3339 instant (`2026-03-01T12:00:00Z`), or a
    /// date (`2026-03-01`, UTC), which for `until` means the end of that day (a window
    /// `--since 2026-03-01 --until 2026-03-14` holds both days whole).
    pub fn parse(since: Option<&str>, until: Option<&str>) -> Result<TimeWindow, WindowError> {
        let since = since.map(|s| instant(s, false)).transpose()?;
        let until = until.map(|s| instant(s, true)).transpose()?;
        if let (Some(s), Some(u)) = (since, until) {
            if u <= s {
                return Err(WindowError::Empty {
                    since: s.to_string(),
                    until: u.to_string(),
                });
            }
        }
        Ok(TimeWindow { since, until })
    }
}

/// A `--since`/`--until` value that is not a time.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WindowError {
    #[error("{value:?} is not a date (2026-03-01) or an RFC 3339 time (2026-03-01T12:00:00Z)")]
    NotATime { value: String },
    #[error("--until ({until}) is not after --since ({since}): the window is empty")]
    Empty { since: String, until: String },
}

fn instant(value: &str, end_of_day: bool) -> Result<Timestamp, WindowError> {
    if let Ok(t) = value.parse::<Timestamp>() {
        return Ok(t);
    }
    let date: jiff::civil::Date = value.parse().map_err(|_| WindowError::NotATime {
        value: value.to_owned(),
    })?;
    let day = match end_of_day {
        true => date.tomorrow().map_err(|_| WindowError::NotATime {
            value: value.to_owned(),
        })?,
        false => date,
    };
    day.to_zoned(jiff::tz::TimeZone::UTC)
        .map(|z| z.timestamp())
        .map_err(|_| WindowError::NotATime {
            value: value.to_owned(),
        })
}

/// List `remote`; each prefix that could not be listed is a diagnostic, counted.
pub(crate) fn list(
    remote: &dyn RemoteInput,
    summary: &mut Summary,
    on_diag: &mut dyn FnMut(&Diagnostic),
) -> Vec<RemoteObject> {
    remote.list(&mut |p| problem(summary, on_diag, p))
}

/// A listing or an object not read: counted by reason, and said where and why.
fn problem(summary: &mut Summary, on_diag: &mut dyn FnMut(&Diagnostic), p: RemoteProblem) {
    *summary.remote_failed.entry(p.reason).or_default() += 1;
    on_diag(&Diagnostic {
        severity: Severity::Error,
        file: p.at,
        record: None,
        offset: None,
        reason: p.reason,
        detail: p.detail,
    });
}

impl Reader<'_> {
    /// Read one object of a store as a stream (never whole: a `.gz` is inflated as it
    /// arrives), named by its URL.
    pub(crate) fn read_object(&mut self, remote: &dyn RemoteInput, object: &RemoteObject) {
        match remote.open(object) {
            Ok(body) => self.read_named(object.name.clone(), body),
            Err(p) => problem(self.summary, self.on_diag, p),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn a_date_until_holds_its_whole_day() {
        let w = TimeWindow::parse(Some("2026-03-01"), Some("2026-03-14")).unwrap();
        assert_eq!(w.since, Some(t("2026-03-01T00:00:00Z")));
        assert_eq!(w.until, Some(t("2026-03-15T00:00:00Z")));
        assert!(w.contains(t("2026-03-14T23:59:59.999Z")));
        assert!(!w.contains(t("2026-03-15T00:00:00Z")));
        assert!(!w.contains(t("2026-02-28T23:59:59Z")));
    }

    #[test]
    fn instants_are_exact_and_bad_values_say_what_they_are() {
        let w = TimeWindow::parse(Some("2026-03-01T12:00:00+02:00"), None).unwrap();
        assert_eq!(w.since, Some(t("2026-03-01T10:00:00Z")));
        assert!(w.until.is_none());
        assert!(matches!(
            TimeWindow::parse(Some("yesterday"), None),
            Err(WindowError::NotATime { value }) if value == "yesterday"
        ));
        assert!(matches!(
            TimeWindow::parse(Some("2026-03-02"), Some("2026-03-01")),
            Err(WindowError::Empty { .. })
        ));
    }
}
