//! Bad input: every case gets a diagnostic with its reason and location, the good records
//! beside it still come through, and the summary counts it. Inputs are built in a temporary
//! directory so that byte offsets are exact.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};

use common::{ct, read, Read};
use snapback_ingest::Severity;

fn file(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn lines(records: &[String]) -> String {
    records.iter().map(|r| format!("{r}\n")).collect()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

fn zip_of(name: &str, bytes: &[u8]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    w.start_file(name, zip::write::SimpleFileOptions::default())
        .unwrap();
    w.write_all(bytes).unwrap();
    w.finish().unwrap().into_inner()
}

fn ids(r: &Read) -> Vec<&str> {
    r.events.iter().map(|e| e.event_id.as_str()).collect()
}

fn skipped(r: &Read) -> Vec<(&str, u64)> {
    r.summary.skipped.iter().map(|(k, v)| (*k, *v)).collect()
}

#[test]
fn invalid_json_line_in_json_lines() {
    let dir = tempfile::tempdir().unwrap();
    let good0 = ct("2024-01-01T00:00:00Z", "StopInstances", "g0");
    // Line 1 is cut off (never closes); line 2 is balanced but not JSON.
    let text = format!(
        "{good0}\n{{\"eventName\": \"Cut\", \"x\": [1,\n{}\n{{\"eventName\": oops}}\n{}\n",
        ct("2024-01-01T00:00:01Z", "StartInstances", "g1"),
        ct("2024-01-01T00:00:02Z", "StartInstances", "g2"),
    );
    let p = file(dir.path(), "a.jsonl", text.as_bytes());
    let r = read(&[&p]);
    assert_eq!(ids(&r), ["g0", "g1", "g2"]);
    let line1 = good0.len() as u64 + 1;
    let line3 = text.find("{\"eventName\": oops").unwrap() as u64;
    assert_eq!(
        r.reasons(),
        [
            ("invalid-json", Some(1), Some(line1)),
            ("invalid-json", Some(3), Some(line3))
        ]
    );
    assert!(r.diags.iter().all(|d| d.file.ends_with("a.jsonl")));
    assert_eq!(skipped(&r), [("invalid-json", 2)]);
    assert_eq!(r.summary.files_failed, 0);
}

#[test]
fn broken_element_in_a_records_array() {
    let dir = tempfile::tempdir().unwrap();
    let head = format!("{{\"Records\":[{},", ct("2024-01-01T00:00:00Z", "A", "g0"));
    let text = format!(
        "{head}{{\"eventName\": \"B\" \"eventTime\": 1}},{}]}}",
        ct("2024-01-01T00:00:02Z", "C", "g2")
    );
    let p = file(dir.path(), "r.json", text.as_bytes());
    let r = read(&[&p]);
    assert_eq!(ids(&r), ["g0", "g2"]);
    assert_eq!(
        r.reasons(),
        [("invalid-json", Some(1), Some(head.len() as u64))]
    );
    assert_eq!(skipped(&r), [("invalid-json", 1)]);
}

#[test]
fn truncated_gzip_reads_the_records_before_the_cut() {
    let dir = tempfile::tempdir().unwrap();
    let records: Vec<String> = (0..400)
        .map(|i| {
            ct(
                "2024-01-01T00:00:00Z",
                &format!("Op{i}"),
                &format!("id-{i:04}"),
            )
        })
        .collect();
    let gz = gzip(lines(&records).as_bytes());
    let p = file(dir.path(), "cut.json.gz", &gz[..gz.len() / 2]);
    let r = read(&[&p]);
    let n = r.events.len();
    assert!(n > 10 && n < 400, "{n} records before the cut");
    // Exactly the records before the cut, in order.
    for (i, e) in r.events.iter().enumerate() {
        assert_eq!(e.event_id, format!("id-{i:04}"));
    }
    let last = r.diags.last().unwrap();
    assert_eq!(last.reason, "corrupt-gzip");
    assert!(last.file.ends_with("cut.json.gz"));
    assert!(last.detail.contains("records before this point were read"));
    assert_eq!(r.summary.files_failed, 1);
    // At most one record was cut in the middle.
    assert!(r.summary.skipped_total() <= 1, "{}", r.summary);
}

#[test]
fn corrupt_gzip_fails_the_file_and_the_next_file_is_read() {
    let dir = tempfile::tempdir().unwrap();
    file(
        dir.path(),
        "a-bad.json.gz",
        b"\x1f\x8b\x08\x00garbage garbage garbage",
    );
    file(
        dir.path(),
        "b-good.json",
        ct("2024-01-01T00:00:00Z", "A", "g0").as_bytes(),
    );
    let r = read(&[dir.path()]);
    assert_eq!(ids(&r), ["g0"]);
    assert_eq!(r.reasons(), [("corrupt-gzip", None, Some(0))]);
    assert!(r.diags[0].file.ends_with("a-bad.json.gz"));
    assert_eq!(r.summary.files_failed, 1);
    assert_eq!(r.summary.files_read, 2);
}

#[test]
fn truncated_and_corrupt_zip() {
    let dir = tempfile::tempdir().unwrap();
    let z = zip_of(
        "x.jsonl",
        lines(&[ct("2024-01-01T00:00:00Z", "A", "z0")]).as_bytes(),
    );
    file(dir.path(), "a-cut.zip", &z[..z.len() / 2]);
    file(
        dir.path(),
        "b-garbage.zip",
        b"PK\x03\x04 this is no zip at all",
    );
    file(dir.path(), "c-ok.zip", &z);
    let r = read(&[dir.path()]);
    assert_eq!(ids(&r), ["z0"]);
    assert_eq!(
        r.reasons(),
        [("corrupt-zip", None, None), ("corrupt-zip", None, None)]
    );
    assert!(r.diags[0].file.ends_with("a-cut.zip"));
    assert!(r.diags[1].file.ends_with("b-garbage.zip"));
    assert_eq!(r.summary.files_failed, 2);
}

#[test]
fn empty_file_and_a_file_of_only_a_byte_order_mark() {
    let dir = tempfile::tempdir().unwrap();
    file(dir.path(), "a-empty.json", b"");
    file(dir.path(), "b-bom.json", b"\xEF\xBB\xBF \n");
    file(
        dir.path(),
        "c.json",
        ct("2024-01-01T00:00:00Z", "A", "g0").as_bytes(),
    );
    let r = read(&[dir.path()]);
    assert_eq!(ids(&r), ["g0"]);
    assert_eq!(
        r.reasons(),
        [("empty-file", None, Some(0)), ("empty-file", None, Some(0))]
    );
    assert_eq!(r.diags[1].detail, "the file holds only a byte-order mark");
    assert_eq!(r.summary.files_failed, 2);
}

#[test]
fn records_of_the_wrong_json_type() {
    let dir = tempfile::tempdir().unwrap();
    let g0 = ct("2024-01-01T00:00:00Z", "A", "g0");
    let g1 = ct("2024-01-01T00:00:01Z", "B", "g1");
    let text = format!("{{\"Records\":[{g0}, 42, \"text, with ] and ,\", [1,2], null, {g1}]}}");
    let p = file(dir.path(), "records.json", text.as_bytes());
    let r = read(&[&p]);
    assert_eq!(ids(&r), ["g0", "g1"]);
    let got: Vec<_> = r.diags.iter().map(|d| (d.reason, d.record)).collect();
    assert_eq!(
        got,
        [
            ("wrong-json-type", Some(1)),
            ("wrong-json-type", Some(2)),
            ("wrong-json-type", Some(3)),
            ("wrong-json-type", Some(4))
        ]
    );
    assert_eq!(r.diags[0].detail, "record is a number, not a JSON object");
    assert_eq!(r.diags[1].detail, "record is a string, not a JSON object");
    assert_eq!(r.diags[2].detail, "record is an array, not a JSON object");
    assert_eq!(r.diags[3].detail, "record is null, not a JSON object");

    // In JSON lines: a line holding a number, then a string.
    let text = format!("{g0}\n42\n\"just text\"\n{g1}\n");
    let p = file(dir.path(), "lines.jsonl", text.as_bytes());
    let r = read(&[&p]);
    assert_eq!(ids(&r), ["g0", "g1"]);
    let at = g0.len() as u64 + 1;
    assert_eq!(
        r.reasons(),
        [
            ("wrong-json-type", Some(1), Some(at)),
            ("wrong-json-type", Some(2), Some(at + 3))
        ]
    );
    assert_eq!(skipped(&r), [("wrong-json-type", 2)]);
}

#[test]
fn missing_and_unparsable_time() {
    let dir = tempfile::tempdir().unwrap();
    let mut no_time: serde_json::Value =
        serde_json::from_str(&ct("2024-01-01T00:00:00Z", "A", "x1")).unwrap();
    no_time.as_object_mut().unwrap().remove("eventTime");
    let text = lines(&[
        ct("2024-01-01T00:00:00Z", "A", "g0"),
        no_time.to_string(),
        ct("yesterday at noon", "A", "x2"),
        ct("2024-01-01 00:00:03", "A", "g3"),
    ]);
    let p = file(dir.path(), "t.jsonl", text.as_bytes());
    let r = read(&[&p]);
    // A date-time without an offset is taken as UTC.
    assert_eq!(ids(&r), ["g0", "g3"]);
    assert_eq!(r.events[1].time.instant.to_string(), "2024-01-01T00:00:03Z");
    let got: Vec<_> = r
        .diags
        .iter()
        .map(|d| (d.reason, d.record, d.detail.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("bad-time", Some(1), "missing event time (eventTime)"),
            (
                "bad-time",
                Some(2),
                "unparsable event time (eventTime): \"yesterday at noon\""
            )
        ]
    );
    assert_eq!(skipped(&r), [("bad-time", 2)]);
}

#[test]
fn wrong_field_types() {
    let dir = tempfile::tempdir().unwrap();
    let with = |id: &str, key: &str, v: serde_json::Value| {
        let mut r: serde_json::Value =
            serde_json::from_str(&ct("2024-01-01T00:00:00Z", "StopInstances", id)).unwrap();
        r[key] = v;
        r.to_string()
    };
    let azure = serde_json::json!({"time": "2024-01-01T00:00:00Z", "operationName": "MICROSOFT.COMPUTE/DISKS/WRITE",
        "resourceId": "/subscriptions/s/resourceGroups/r/providers/Microsoft.Compute/disks/d",
        "category": "Administrative", "resultType": "Success", "properties": 42});
    let gcp = serde_json::json!({"insertId": "gcp1", "timestamp": "2024-01-01T00:00:00Z",
        "logName": "projects/p/logs/cloudaudit.googleapis.com%2Factivity",
        "protoPayload": {"@type": "type.googleapis.com/google.cloud.audit.AuditLog",
                         "methodName": "v1.compute.instances.stop", "request": null}});
    let text = lines(&[
        with("x0", "eventName", serde_json::json!(42)),
        with("w1", "userIdentity", serde_json::json!("alice")),
        with("n2", "requestParameters", serde_json::Value::Null),
        with("n3", "responseElements", serde_json::Value::Null),
        azure.to_string(),
        gcp.to_string(),
    ]);
    let p = file(dir.path(), "f.jsonl", text.as_bytes());
    let r = read(&[&p]);
    assert_eq!(r.events.len(), 5);
    assert_eq!(&ids(&r)[..3], ["w1", "n2", "n3"]);
    assert_eq!(r.events[0].actor.principal, None);
    assert_eq!(r.events[1].request, None);
    assert_eq!(r.events[2].response, None);
    assert_eq!(r.events[3].operation, "MICROSOFT.COMPUTE/DISKS/WRITE");
    assert_eq!(r.events[4].request, None);
    let got: Vec<_> = r
        .diags
        .iter()
        .map(|d| (d.severity, d.reason, d.record, d.detail.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            (
                Severity::Error,
                "bad-field",
                Some(0),
                "eventName is a number, not a string"
            ),
            (
                Severity::Warning,
                "bad-field",
                Some(1),
                "userIdentity is a string, not an object; the actor is unknown"
            ),
            (
                Severity::Warning,
                "bad-field",
                Some(4),
                "properties is a number, not an object; ignored"
            ),
        ]
    );
    assert_eq!(skipped(&r), [("bad-field", 1)]);
    assert_eq!(r.summary.warnings, 2);
}

#[test]
fn byte_order_marks_at_the_start_of_the_file_and_of_a_line() {
    let dir = tempfile::tempdir().unwrap();
    let g0 = ct("2024-01-01T00:00:00Z", "A", "g0");
    let g1 = ct("2024-01-01T00:00:01Z", "B", "g1");
    let mut bytes = b"\xEF\xBB\xBF".to_vec();
    bytes.extend_from_slice(format!("{g0}\n\u{feff}{g1}\n").as_bytes());
    let p = file(dir.path(), "bom.jsonl", &bytes);
    let r = read(&[&p]);
    assert_eq!(ids(&r), ["g0", "g1"]);
    let line1 = 3 + g0.len() as u64 + 1;
    assert_eq!(
        r.reasons(),
        [
            ("byte-order-mark", None, Some(0)),
            ("byte-order-mark", Some(1), Some(line1))
        ]
    );
    assert!(r.diags.iter().all(|d| d.severity == Severity::Warning));
    assert_eq!(r.events[1].provenance.offset, line1 + 3);
    assert_eq!(r.summary.warnings, 2);
    assert_eq!(r.summary.skipped_total(), 0);
}

#[test]
fn non_utf8_bytes_in_a_string_are_repaired_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let g0 = ct("2024-01-01T00:00:00Z", "A", "g0");
    let bad = ct("2024-01-01T00:00:01Z", "B", "g1").replace("aws-cli/2.15.0", "aws-cli/\u{1}");
    let mut bytes = format!("{g0}\n").into_bytes();
    let at = bytes.len() as u64;
    // Latin-1 "é" (0xE9) where UTF-8 was expected.
    bytes.extend_from_slice(&bad.into_bytes().iter().fold(Vec::new(), |mut v, &b| {
        if b == 1 {
            v.push(0xE9);
        } else {
            v.push(b);
        }
        v
    }));
    bytes.push(b'\n');
    let p = file(dir.path(), "latin1.jsonl", &bytes);
    let r = read(&[&p]);
    assert_eq!(ids(&r), ["g0", "g1"]);
    assert_eq!(r.events[1].user_agent.as_deref(), Some("aws-cli/\u{FFFD}"));
    assert_eq!(r.reasons(), [("invalid-utf8", Some(1), Some(at))]);
    assert_eq!(r.diags[0].severity, Severity::Warning);
}

#[test]
fn a_dangling_symlink_in_a_directory() {
    // Tests run as root, where `chmod 000` does not stop reading; a symlink to a missing file is
    // the unreadable entry a directory walk meets instead.
    let dir = tempfile::tempdir().unwrap();
    file(
        dir.path(),
        "a.json",
        ct("2024-01-01T00:00:00Z", "A", "g0").as_bytes(),
    );
    std::os::unix::fs::symlink(dir.path().join("missing.json"), dir.path().join("b.json")).unwrap();
    file(
        dir.path(),
        "c.json",
        ct("2024-01-01T00:00:01Z", "B", "g1").as_bytes(),
    );
    let r = read(&[dir.path()]);
    assert_eq!(ids(&r), ["g0", "g1"]);
    assert_eq!(r.reasons(), [("unreadable-path", None, None)]);
    assert!(r.diags[0].file.ends_with("b.json"), "{}", r.diags[0]);
    assert_eq!(r.summary.files_failed, 1);

    // A path that does not exist at all.
    let r = read(&[&dir.path().join("nope")]);
    assert_eq!(r.reasons(), [("unreadable-path", None, None)]);
}

#[test]
fn diagnostics_display_file_record_offset_and_reason() {
    let dir = tempfile::tempdir().unwrap();
    let p = file(dir.path(), "d.jsonl", b"{\"a\":1}\n");
    let r = read(&[&p]);
    assert_eq!(
        r.diags[0].to_string(),
        format!(
            "error: {} record 0 (byte 0): unknown-format: unrecognised record shape (keys: a)",
            p.display()
        )
    );
    assert_eq!(
        r.summary.to_string(),
        "0 events from 1 files (8 bytes); 1 unusable records skipped (unknown-format 1)"
    );
}
