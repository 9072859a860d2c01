//! A message's payload into audit events, by the same reader `scan` uses: one message may hold
//! one record (CloudTrail, Azure, Cloud Logging), an envelope of one (an EventBridge
//! CloudTrail event) or a container of many (a CloudTrail `{"Records":[...]}` file body, an
//! Event Hubs `{"records":[...]}` batch), gzip-compressed or not.
//!
//! Provenance: the file name of a message's records is `kafka://TOPIC/PARTITION@OFFSET`, and
//! the record index is the record's place in the message (`#0` for a message of one record,
//! `#i` for the i-th record of a container). An event's provenance therefore reads
//! `kafka://cloudtrail/3@1207#0`.

use snapback_ingest::{read_bytes, Diagnostic, Event, IngestOptions, Severity, Summary};

use crate::Message;

/// The name a message's records carry in their provenance: `kafka://TOPIC/PARTITION@OFFSET`,
/// spelt once, by the pipeline ([`snapback_pipeline::partitioned::message_name`]), which
/// names the records `consume` reads.
pub fn provenance_name(topic: &str, partition: i32, offset: i64) -> String {
    let id = crate::PartitionId {
        topic: topic.to_owned(),
        partition,
    };
    snapback_pipeline::partitioned::message_name(&id, offset)
}

/// Decode one message's payload into events (`on_event`), reporting bad input as located
/// diagnostics (`on_diag`, file = the provenance name), and count what was read.
///
/// Beyond what reading a file reports: a message without a value (a tombstone) or with an
/// empty one is an `empty-message` error, and one that is not JSON (reading a file, text is
/// another kind of log, not an error) is a `not-json` error, since a topic of audit records
/// should hold none.
pub fn decode_message(
    message: &Message,
    options: &IngestOptions,
    on_event: &mut dyn FnMut(Event),
    on_diag: &mut dyn FnMut(&Diagnostic),
) -> Summary {
    let name = message.provenance_name();
    let payload = message.payload.as_deref().unwrap_or_default();
    if payload.iter().all(u8::is_ascii_whitespace) {
        // A skipped record, not a failed file: the message is one unit of a stream.
        let mut summary = Summary::default();
        *summary.skipped.entry("empty-message").or_default() += 1;
        let detail = match &message.payload {
            None => "the message has no value (a tombstone)",
            Some(_) => "the message's value is empty",
        };
        on_diag(&located(&name, "empty-message", detail.to_owned()));
        return summary;
    }
    let mut summary = read_bytes(&name, payload, options, on_event, on_diag);
    let text: Vec<String> = summary
        .not_audit
        .keys()
        .filter(|k| k.ends_with("(text)"))
        .cloned()
        .collect();
    for kind in text {
        let n = summary.not_audit.remove(&kind).unwrap_or(0);
        *summary.skipped.entry("not-json").or_default() += n;
        let detail = format!("the message is not JSON (it reads as {kind})");
        on_diag(&located(&name, "not-json", detail));
    }
    summary
}

fn located(name: &str, reason: &'static str, detail: String) -> Diagnostic {
    Diagnostic {
        severity: Severity::Error,
        file: name.into(),
        record: None,
        offset: Some(0),
        reason,
        detail,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(payload: Option<&[u8]>) -> Message {
        Message {
            topic: "audit".into(),
            partition: 3,
            offset: 1207,
            key: None,
            payload: payload.map(<[u8]>::to_vec),
            timestamp: None,
        }
    }

    /// (provenances of the events, diagnostics as text, summary).
    fn decode(payload: Option<&[u8]>) -> (Vec<String>, Vec<String>, Summary) {
        let mut events = Vec::new();
        let mut diags = Vec::new();
        let summary = decode_message(
            &message(payload),
            &IngestOptions::default(),
            &mut |e| events.push(format!("{} {} {}", e.provenance, e.account, e.operation)),
            &mut |d| diags.push(d.to_string()),
        );
        (events, diags, summary)
    }

    const CLOUDTRAIL: &str = r#"{"eventVersion":"1.08","eventTime":"2026-11-20T09:05:00Z","eventSource":"ec2.amazonaws.com","eventName":"StopInstances","awsRegion":"us-east-1","recipientAccountId":"111122223333","eventID":"e1","requestParameters":{"instancesSet":{"items":[{"instanceId":"i-0abc"}]}}}"#;

    #[test]
    fn one_cloudtrail_record() {
        let (events, diags, _) = decode(Some(CLOUDTRAIL.as_bytes()));
        assert_eq!(
            events,
            ["kafka://audit/3@1207#0 111122223333 StopInstances"]
        );
        assert!(diags.is_empty(), "{diags:?}");
    }

    /// An EventBridge event as the EventBridge user guide lays one out (`version`, `id`,
    /// `detail-type` "AWS API Call via CloudTrail", `source`, `account`, `time`, `region`,
    /// `resources`, and the CloudTrail record as `detail`).
    #[test]
    fn an_eventbridge_cloudtrail_event() {
        let envelope = format!(
            r#"{{"version":"0","id":"6a7e8feb-b491-4cf7-a9f1-bf3703467718","detail-type":"AWS API Call via CloudTrail","source":"aws.ec2","account":"111122223333","time":"2026-11-20T09:05:00Z","region":"us-east-1","resources":[],"detail":{CLOUDTRAIL}}}"#
        );
        let (events, diags, _) = decode(Some(envelope.as_bytes()));
        assert_eq!(
            events,
            ["kafka://audit/3@1207#0 111122223333 StopInstances"]
        );
        assert!(diags.is_empty(), "{diags:?}");
    }

    #[test]
    fn a_cloudtrail_file_body_gives_each_record_its_index() {
        let body = format!(
            r#"{{"Records":[{CLOUDTRAIL},{},{}]}}"#,
            CLOUDTRAIL
                .replace("\"e1\"", "\"e2\"")
                .replace("Stop", "Start"),
            CLOUDTRAIL.replace("\"e1\"", "\"e3\"")
        );
        let (events, _, summary) = decode(Some(body.as_bytes()));
        assert_eq!(
            events,
            [
                "kafka://audit/3@1207#0 111122223333 StopInstances",
                "kafka://audit/3@1207#1 111122223333 StartInstances",
                "kafka://audit/3@1207#2 111122223333 StopInstances",
            ]
        );
        assert_eq!(summary.events, 3);
    }

    fn first_file(dir: &str, suffix: &str) -> std::path::PathBuf {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/atomic");
        let mut files = Vec::new();
        let mut stack = vec![root.join(dir)];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    stack.push(p);
                } else if p.to_string_lossy().ends_with(suffix) {
                    files.push(p);
                }
            }
        }
        files.sort();
        files.remove(0)
    }

    /// The bundled sample data's own layouts, each as one message's value.
    #[test]
    fn a_gzipped_cloudtrail_object_an_event_hubs_batch_and_a_log_entry() {
        // A CloudTrail S3 object as delivered (gzip), every record at its index.
        let gz = std::fs::read(first_file("AWSLogs", ".json.gz")).unwrap();
        let (events, diags, summary) = decode(Some(&gz));
        assert!(diags.is_empty(), "{diags:?}");
        assert!(summary.events >= 2, "{summary:?}");
        for (i, e) in events.iter().enumerate() {
            assert!(
                e.starts_with(&format!("kafka://audit/3@1207#{i} 111122223333 ")),
                "{e}"
            );
        }
        // An Event Hubs batch of two Activity Log records.
        let azure = std::fs::read_to_string(first_file("insights-activity-logs", ".json")).unwrap();
        let lines: Vec<&str> = azure.lines().take(2).collect();
        let batch = format!(r#"{{"records":[{},{}]}}"#, lines[0], lines[1]);
        let (events, diags, _) = decode(Some(batch.as_bytes()));
        assert!(diags.is_empty(), "{diags:?}");
        assert_eq!(events.len(), 2, "{events:?}");
        let sub = "0e5abb13-2bf7-46dd-91da-26ed94d6c60f";
        assert!(
            events[0].starts_with(&format!("kafka://audit/3@1207#0 {sub} ")),
            "{events:?}"
        );
        assert!(
            events[1].starts_with(&format!("kafka://audit/3@1207#1 {sub} ")),
            "{events:?}"
        );
        // A Cloud Logging LogEntry of the Admin Activity audit log.
        let gcp = std::fs::read_to_string(first_file("gcp", ".json")).unwrap();
        let entry = gcp.lines().next().unwrap();
        let (events, diags, _) = decode(Some(entry.as_bytes()));
        assert!(diags.is_empty(), "{diags:?}");
        assert_eq!(
            events,
            ["kafka://audit/3@1207#0 northwind-prod-4821 v1.compute.snapshots.setIamPolicy"]
        );
    }

    #[test]
    fn empty_and_tombstone_messages_are_located_errors() {
        for payload in [None, Some(&b""[..]), Some(&b" \n"[..])] {
            let (events, diags, summary) = decode(payload);
            assert!(events.is_empty());
            assert_eq!(summary.skipped.get("empty-message"), Some(&1));
            assert_eq!(diags.len(), 1);
            assert!(
                diags[0].starts_with("error: kafka://audit/3@1207 (byte 0): empty-message: "),
                "{}",
                diags[0]
            );
        }
    }

    #[test]
    fn text_is_a_not_json_error_and_not_counted_as_another_log() {
        let (events, diags, summary) = decode(Some(b"hello world\n"));
        assert!(events.is_empty());
        assert!(summary.not_audit.is_empty(), "{:?}", summary.not_audit);
        assert_eq!(summary.skipped.get("not-json"), Some(&1));
        assert_eq!(
            diags,
            [
                "error: kafka://audit/3@1207 (byte 0): not-json: the message is not JSON \
              (it reads as not-json (text))"
            ]
        );
    }

    #[test]
    fn broken_json_is_located_in_the_message() {
        let (events, diags, summary) = decode(Some(br#"{"Records":[{"eventName":"#));
        assert!(events.is_empty());
        assert!(summary.skipped_total() >= 1, "{summary:?}");
        assert!(
            diags.iter().any(|d| d.contains("kafka://audit/3@1207")),
            "{diags:?}"
        );
    }
}
