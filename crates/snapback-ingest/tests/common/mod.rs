//! Helpers shared by the ingest tests: read paths, keep everything that came out.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use snapback_ingest::{read_inputs, Diagnostic, Event, IngestOptions, Input, Severity, Summary};

pub struct Read {
    pub events: Vec<Event>,
    pub diags: Vec<Diagnostic>,
    pub summary: Summary,
}

impl Read {
    /// Diagnostics as `(reason, record, offset)`, errors and warnings alike.
    pub fn reasons(&self) -> Vec<(&'static str, Option<u64>, Option<u64>)> {
        self.diags
            .iter()
            .map(|d| (d.reason, d.record, d.offset))
            .collect()
    }

    pub fn operations(&self) -> Vec<&str> {
        self.events.iter().map(|e| e.operation.as_str()).collect()
    }

    /// Every error diagnostic is counted once, as a skipped record or a failed file; every
    /// warning once as a warning; every event was handed over. Diagnostics beyond the first of
    /// their reason are not handed over but counted (`diagnostics_not_shown`).
    pub fn assert_consistent(&self) {
        let errors = self
            .diags
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count() as u64;
        let warnings = self.diags.len() as u64 - errors;
        let not_shown = self.summary.not_shown_total();
        assert_eq!(
            errors + warnings + not_shown,
            self.summary.skipped_total() + self.summary.files_failed + self.summary.warnings,
            "diagnostics vs counts: {:#?}\n{}",
            self.diags,
            self.summary
        );
        if not_shown == 0 {
            assert_eq!(warnings, self.summary.warnings, "{}", self.summary);
        }
        assert_eq!(self.events.len() as u64, self.summary.events);
    }
}

pub fn read_with(inputs: &[Input], options: &IngestOptions) -> Read {
    let mut events = Vec::new();
    let mut diags = Vec::new();
    let summary = read_inputs(inputs, options, &mut |e| events.push(e), &mut |d| {
        diags.push(d.clone())
    });
    let r = Read {
        events,
        diags,
        summary,
    };
    r.assert_consistent();
    r
}

pub fn read(paths: &[&Path]) -> Read {
    let inputs: Vec<Input> = paths.iter().map(|p| Input::Path(p.to_path_buf())).collect();
    read_with(&inputs, &IngestOptions::default())
}

/// `tests/fixtures/ingest/<rel>` at the repository root.
pub fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/ingest")
        .join(rel)
}

/// A CloudTrail record as compact JSON.
pub fn ct(time: &str, name: &str, id: &str) -> String {
    serde_json::json!({
        "eventVersion": "1.09",
        "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/alice",
                         "accountId": "111122223333", "userName": "alice"},
        "eventTime": time,
        "eventSource": "ec2.amazonaws.com",
        "eventName": name,
        "awsRegion": "us-east-1",
        "sourceIPAddress": "198.51.100.7",
        "userAgent": "aws-cli/2.15.0",
        "requestParameters": {"instancesSet": {"items": [{"instanceId": "i-0abc"}]}},
        "responseElements": null,
        "eventID": id,
        "eventType": "AwsApiCall",
        "recipientAccountId": "111122223333"
    })
    .to_string()
}
