//! The counts of a run: what was read, what was skipped and why, what was not parsed.

use std::collections::BTreeMap;
use std::fmt;

/// The skip reasons of invalid records: records that are not a JSON object as written
/// (broken JSON, cut off, brackets that do not balance, garbage where a record should be, a
/// number or array where a record should be). [`Summary`]'s text counts them apart from the
/// records skipped for what they hold (no event time, an unknown shape, too large).
pub const INVALID_REASONS: [&str; 2] = ["invalid-json", "wrong-json-type"];

/// Counts of a run.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    pub files_read: u64,
    pub files_failed: u64,
    pub bytes_read: u64,
    pub events: u64,
    /// Records skipped because they are broken, by reason.
    pub skipped: BTreeMap<&'static str, u64>,
    /// Records skipped because they are not audit events, by kind.
    pub not_audit: BTreeMap<String, u64>,
    pub warnings: u64,
    /// Records not parsed because no rule can match them (the prefilter of
    /// [`read_inputs_parallel`]); 0 when every record was parsed. The framer still found
    /// where each begins and ends, so a record broken in its structure is never among them
    /// (it is an invalid record); one with a subtler JSON error may be (docs/ingest.md).
    pub prefiltered: u64,
    /// Bytes never framed because they hold no hit of the prefilter's search (reading by
    /// hits, `hits.rs`): the records in them are not counted in `prefiltered`.
    pub unframed_bytes: u64,
    /// Diagnostics counted but not handed on, by reason: those beyond the first
    /// `IngestOptions::max_diagnostics_per_reason` of their reason.
    pub diagnostics_not_shown: BTreeMap<&'static str, u64>,
    /// Events decoded but outside `--since`/`--until` ([`crate::TimeWindow`]): not handed on,
    /// not in `events`.
    pub outside_window: u64,
    /// Objects of a store (and prefixes of its listing) not read, by reason
    /// ([`crate::RemoteProblem`]): denied, missing, throttled beyond the retries.
    pub remote_failed: BTreeMap<&'static str, u64>,
    /// The earliest and latest event time among the events decoded.
    pub time_span: Option<(jiff::Timestamp, jiff::Timestamp)>,
}

impl Summary {
    /// Records skipped for being broken, all reasons.
    pub fn skipped_total(&self) -> u64 {
        self.skipped.values().sum()
    }

    /// Invalid records skipped ([`INVALID_REASONS`]).
    pub fn invalid_total(&self) -> u64 {
        INVALID_REASONS
            .iter()
            .filter_map(|k| self.skipped.get(k))
            .sum()
    }

    /// Diagnostics not shown, all reasons.
    pub fn not_shown_total(&self) -> u64 {
        self.diagnostics_not_shown.values().sum()
    }

    pub(crate) fn count_not_shown(&mut self, by_reason: &BTreeMap<&'static str, u64>) {
        for (k, v) in by_reason {
            *self.diagnostics_not_shown.entry(k).or_default() += v;
        }
    }

    pub(crate) fn see_time(&mut self, t: jiff::Timestamp) {
        self.time_span = Some(match self.time_span {
            None => (t, t),
            Some((a, b)) => (a.min(t), b.max(t)),
        });
    }

    /// Whether anything went wrong (for `--strict`).
    pub fn has_problems(&self) -> bool {
        self.files_failed > 0
            || self.skipped_total() > 0
            || self.warnings > 0
            || self.remote_failed_total() > 0
    }

    /// Objects and listings of a store not read, all reasons.
    pub fn remote_failed_total(&self) -> u64 {
        self.remote_failed.values().sum()
    }

    pub fn merge(&mut self, other: Summary) {
        self.files_read += other.files_read;
        self.files_failed += other.files_failed;
        self.bytes_read += other.bytes_read;
        self.events += other.events;
        self.warnings += other.warnings;
        self.prefiltered += other.prefiltered;
        self.unframed_bytes += other.unframed_bytes;
        self.outside_window += other.outside_window;
        for (k, v) in other.remote_failed {
            *self.remote_failed.entry(k).or_default() += v;
        }
        if let Some((a, b)) = other.time_span {
            self.see_time(a);
            self.see_time(b);
        }
        for (k, v) in other.skipped {
            *self.skipped.entry(k).or_default() += v;
        }
        for (k, v) in other.not_audit {
            *self.not_audit.entry(k).or_default() += v;
        }
        self.count_not_shown(&other.diagnostics_not_shown);
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} events from {} files ({} bytes)",
            self.events, self.files_read, self.bytes_read
        )?;
        if self.prefiltered > 0 {
            write!(
                f,
                "; {} records not parsed (no rule can match them)",
                self.prefiltered
            )?;
        }
        if self.unframed_bytes > 0 {
            write!(
                f,
                "; {} bytes not framed (no rule can match a record in them)",
                self.unframed_bytes
            )?;
        }
        if self.outside_window > 0 {
            write!(
                f,
                "; {} events outside --since/--until not used",
                self.outside_window
            )?;
        }
        if self.files_failed > 0 {
            write!(f, "; {} files failed", self.files_failed)?;
        }
        let remote = self.remote_failed_total();
        if remote > 0 {
            let parts: Vec<String> = self
                .remote_failed
                .iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect();
            write!(
                f,
                "; {remote} objects or listings not read ({})",
                parts.join(", ")
            )?;
        }
        for (invalid, label) in [(true, "invalid"), (false, "unusable")] {
            let parts: Vec<(&str, u64)> = self
                .skipped
                .iter()
                .filter(|(k, _)| INVALID_REASONS.contains(k) == invalid)
                .map(|(k, v)| (*k, *v))
                .collect();
            let n: u64 = parts.iter().map(|(_, v)| v).sum();
            if n > 0 {
                let parts: Vec<String> = parts.iter().map(|(k, v)| format!("{k} {v}")).collect();
                write!(f, "; {n} {label} records skipped ({})", parts.join(", "))?;
            }
        }
        if !self.not_audit.is_empty() {
            let parts: Vec<String> = self
                .not_audit
                .iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect();
            write!(f, "; not audit events: {}", parts.join(", "))?;
        }
        if self.warnings > 0 {
            write!(f, "; {} warnings", self.warnings)?;
        }
        let not_shown = self.not_shown_total();
        if not_shown > 0 {
            let parts: Vec<String> = self
                .diagnostics_not_shown
                .iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect();
            write!(
                f,
                "; {not_shown} more diagnostics counted, not shown ({})",
                parts.join(", ")
            )?;
        }
        Ok(())
    }
}
