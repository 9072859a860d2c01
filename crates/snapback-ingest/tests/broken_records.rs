//! One broken record among well-formed ones, in every layout (JSON lines, CloudTrail's
//! `{"Records":[…]}`, Azure's `{"records":[…]}`, a JSON array, pretty-printed objects, a
//! pretty-printed `Records` file), plain and gzip, with a prefilter and without (as
//! `--strict` and `SNAPBACK_NO_PREFILTER=1` read), with the framer's fast path on and off:
//! exactly one diagnostic, at the broken record (file, record index, byte offset); one invalid
//! record counted; the well-formed records no rule can match counted as not parsed, and no
//! more; every well-formed record after the broken one still read.

mod common;

use std::io::Write;

use common::{ct, Read};
use snapback_ingest::{read_inputs_parallel, IngestOptions, Input, KeyList, ParallelOptions};

/// A well-formed record of one cloud, as a JSON value. `id` becomes the event id.
type Record = fn(&str) -> serde_json::Value;

fn cloudtrail(id: &str) -> serde_json::Value {
    let name = if id.ends_with("keep") {
        "StopInstances"
    } else {
        "DescribeInstances"
    };
    serde_json::from_str(&ct("2024-01-01T00:00:00Z", name, id)).unwrap()
}

fn azure(id: &str) -> serde_json::Value {
    serde_json::json!({
        "time": "2024-03-03T08:10:00Z",
        "resourceId": "/SUBSCRIPTIONS/00000000-0000-0000-0000-0000000000AA/RESOURCEGROUPS/RG1/PROVIDERS/MICROSOFT.COMPUTE/VIRTUALMACHINES/VM1",
        "operationName": "MICROSOFT.COMPUTE/VIRTUALMACHINES/DEALLOCATE/ACTION",
        "category": "Administrative", "resultType": "Success", "eventDataId": id,
        "callerIpAddress": "203.0.113.9", "correlationId": "c-2", "level": "Information",
        "identity": {"claims": {"appid": "app-1", "idtyp": "user"}},
        "properties": {"eventCategory": "Administrative"}
    })
}

fn gcp(id: &str) -> serde_json::Value {
    serde_json::json!({
        "insertId": id,
        "logName": "projects/proj-1/logs/cloudaudit.googleapis.com%2Factivity",
        "timestamp": "2024-03-04T09:02:00Z", "severity": "NOTICE",
        "resource": {"type": "gce_instance", "labels": {"project_id": "proj-1", "zone": "europe-west1-b"}},
        "protoPayload": {"@type": "type.googleapis.com/google.cloud.audit.AuditLog",
            "serviceName": "compute.googleapis.com", "methodName": "v1.compute.instances.stop",
            "resourceName": "projects/proj-1/zones/europe-west1-b/instances/web-1",
            "authenticationInfo": {"principalEmail": "erin@example.com"}}
    })
}

/// How a layout writes its records: each item's text, the bytes around and between them.
struct Layout {
    name: &'static str,
    file: &'static str,
    record: Record,
    pretty: bool,
    /// Indentation of each line of a record.
    indent: &'static str,
    head: &'static str,
    separator: &'static str,
    tail: &'static str,
}

const LAYOUTS: [Layout; 6] = [
    Layout {
        name: "JSON lines",
        file: "a.jsonl",
        record: cloudtrail,
        pretty: false,
        indent: "",
        head: "",
        separator: "\n",
        tail: "\n",
    },
    Layout {
        name: "CloudTrail S3 Records",
        file: "ct.json",
        record: cloudtrail,
        pretty: false,
        indent: "",
        head: "{\"Records\":[",
        separator: ",",
        tail: "]}",
    },
    Layout {
        name: "Azure records",
        file: "PT1H.json",
        record: azure,
        pretty: false,
        indent: "",
        head: "{\"records\": [",
        separator: ", ",
        tail: "]}\n",
    },
    Layout {
        name: "JSON array",
        file: "entries.json",
        record: gcp,
        pretty: false,
        indent: "",
        head: "[",
        separator: ",",
        tail: "]",
    },
    Layout {
        name: "pretty-printed objects",
        file: "pretty.json",
        record: cloudtrail,
        pretty: true,
        indent: "",
        head: "",
        separator: "\n",
        tail: "\n",
    },
    Layout {
        name: "pretty-printed Records",
        file: "pretty-records.json",
        record: cloudtrail,
        pretty: true,
        indent: "  ",
        head: "{\n  \"Records\": [\n",
        separator: ",\n",
        tail: "\n  ]\n}\n",
    },
];

impl Layout {
    fn text(&self, id: &str) -> Vec<u8> {
        let v = (self.record)(id);
        if !self.pretty {
            return v.to_string().into_bytes();
        }
        let pretty = serde_json::to_string_pretty(&v).unwrap();
        let lines: Vec<String> = pretty
            .lines()
            .map(|l| format!("{}{l}", self.indent))
            .collect();
        lines.join("\n").into_bytes()
    }

    /// The file's bytes, and where each item starts.
    fn build(&self, items: &[Vec<u8>]) -> (Vec<u8>, Vec<u64>) {
        let mut out = self.head.as_bytes().to_vec();
        let mut starts = Vec::new();
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                out.extend_from_slice(self.separator.as_bytes());
            }
            starts.push(out.len() as u64);
            out.extend_from_slice(item);
        }
        out.extend_from_slice(self.tail.as_bytes());
        (out, starts)
    }
}

/// How the third record is broken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Breakage {
    /// Cut off inside a string (its event time).
    CutInString,
    /// Cut off after a comma between fields.
    CutBetweenFields,
    /// A stray `[[[` instead of the record.
    Brackets,
    /// Its last `}` missing.
    MissingClose,
    /// One `}` too many after it: the record is read, the stray byte is the broken one.
    ExtraClose,
    /// Garbage instead of the record.
    Garbage,
    /// Bytes that are not UTF-8 instead of the record.
    NotUtf8,
}

const BREAKAGES: [Breakage; 7] = [
    Breakage::CutInString,
    Breakage::CutBetweenFields,
    Breakage::Brackets,
    Breakage::MissingClose,
    Breakage::ExtraClose,
    Breakage::Garbage,
    Breakage::NotUtf8,
];

impl Breakage {
    /// The broken item made of a well-formed record's text, and where in it the diagnostic
    /// points.
    fn apply(self, good: &[u8]) -> (Vec<u8>, u64) {
        let find = |pat: &[u8], from: usize| {
            from + good[from..]
                .windows(pat.len())
                .position(|w| w == pat)
                .unwrap()
        };
        match self {
            Breakage::CutInString => (good[..find(b"\"2024-", 0) + 6].to_vec(), 0),
            Breakage::CutBetweenFields => (good[..find(b",", good.len() / 2) + 1].to_vec(), 0),
            Breakage::Brackets => (b"[[[".to_vec(), 0),
            Breakage::MissingClose => {
                let end = good.iter().rposition(|&b| b == b'}').unwrap();
                (good[..end].to_vec(), 0)
            }
            Breakage::ExtraClose => {
                let mut v = good.to_vec();
                v.push(b'}');
                (v, good.len() as u64)
            }
            Breakage::Garbage => (b"#@!garbage \x01\x02 bytes".to_vec(), 0),
            Breakage::NotUtf8 => (b"\xff\xfe\x00\xc3 not text".to_vec(), 0),
        }
    }
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

/// Read with a filter that passes the records whose bytes hold `-keep` (as the prefilter
/// passes those a rule may match), or with none.
fn read(path: &std::path::Path, filtered: bool, fast: bool) -> Read {
    let keep = |bytes: &[u8], _: Option<KeyList<'_>>| memchr_keep(bytes);
    let options = ParallelOptions {
        filter: filtered.then_some(&keep as &snapback_ingest::RecordFilter),
        fast_framer: fast,
        ..ParallelOptions::default()
    };
    let (mut events, mut diags) = (Vec::new(), Vec::new());
    let summary = read_inputs_parallel(
        &[Input::Path(path.to_path_buf())],
        &IngestOptions::default(),
        &options,
        &|_| Some(()),
        &mut |e, ()| events.push(e),
        &mut |d| diags.push(d.clone()),
        &mut |_| {},
    );
    let r = Read {
        events,
        diags,
        summary,
    };
    r.assert_consistent();
    r
}

fn memchr_keep(bytes: &[u8]) -> bool {
    bytes.windows(5).any(|w| w == b"-keep")
}

#[test]
fn one_broken_record_in_every_layout_is_one_diagnostic_and_the_rest_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let ids = [
        "r0-keep", "r1-drop", "r2-keep", "r3-drop", "r4-keep", "r5-drop",
    ];
    let mut cases = 0;
    for layout in &LAYOUTS {
        for breakage in BREAKAGES {
            let mut items: Vec<Vec<u8>> = ids.iter().map(|id| layout.text(id)).collect();
            // A cut record is found broken at its first byte, after its indentation; what
            // replaces a record, where it is; a stray byte after a record, there.
            let lead = items[2]
                .iter()
                .take_while(|b| b.is_ascii_whitespace())
                .count() as u64;
            let (broken, into) = breakage.apply(&items[2]);
            let into = match breakage {
                Breakage::CutInString | Breakage::CutBetweenFields | Breakage::MissingClose => lead,
                _ => into,
            };
            items[2] = broken;
            let (bytes, starts) = layout.build(&items);
            // The records still well-formed, and where the diagnostic points.
            let good: Vec<&str> = ids
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != 2 || breakage == Breakage::ExtraClose)
                .map(|(_, id)| *id)
                .collect();
            let at = (
                if breakage == Breakage::ExtraClose {
                    3
                } else {
                    2
                },
                starts[2] + into,
            );
            for gz in [false, true] {
                let name = format!("{}{}", layout.file, if gz { ".gz" } else { "" });
                let path = dir.path().join(&name);
                std::fs::write(&path, if gz { gzip(&bytes) } else { bytes.clone() }).unwrap();
                for (filtered, fast) in [(true, true), (false, true), (true, false), (false, false)]
                {
                    let what = format!(
                        "{} / {breakage:?} / {name} / filtered {filtered} / fast {fast}\n{}",
                        layout.name,
                        String::from_utf8_lossy(&bytes)
                    );
                    check(
                        &read(&path, filtered, fast),
                        &name,
                        at,
                        &good,
                        filtered,
                        &what,
                    );
                    cases += 1;
                }
            }
        }
    }
    assert_eq!(cases, 6 * 7 * 2 * 4);
}

fn check(r: &Read, name: &str, at: (u64, u64), good: &[&str], filtered: bool, what: &str) {
    let got: Vec<_> = r
        .diags
        .iter()
        .map(|d| (d.reason, d.record, d.offset))
        .collect();
    assert_eq!(
        got,
        [("invalid-json", Some(at.0), Some(at.1))],
        "{what}\n{:#?}",
        r.diags
    );
    assert!(r.diags[0].file.ends_with(name), "{what}");
    assert_eq!(r.summary.invalid_total(), 1, "{what}");
    assert_eq!(r.summary.skipped_total(), 1, "{what}");
    let parsed: Vec<&str> = good
        .iter()
        .copied()
        .filter(|id| !filtered || id.ends_with("keep"))
        .collect();
    let events: Vec<&str> = r.events.iter().map(|e| e.event_id.as_str()).collect();
    assert_eq!(events, parsed, "{what}");
    assert_eq!(
        r.summary.prefiltered,
        (good.len() - parsed.len()) as u64,
        "{what}"
    );
}

#[test]
fn the_summary_counts_invalid_records_apart_from_records_not_parsed() {
    let dir = tempfile::tempdir().unwrap();
    let layout = &LAYOUTS[1];
    let items: Vec<Vec<u8>> = ["a-keep", "b-drop", "c-drop"]
        .iter()
        .map(|id| layout.text(id))
        .collect();
    let (records, _) = layout.build(&items);
    // A second file: a record cut off, a line that is a number (never given to the filter:
    // only an object can be a record), a record a rule may match.
    let mut lines = Breakage::CutInString.apply(&LAYOUTS[0].text("d-drop")).0;
    lines.extend_from_slice(b"\n42\n");
    lines.extend_from_slice(&LAYOUTS[0].text("e-keep"));
    std::fs::write(dir.path().join("a.json"), &records).unwrap();
    std::fs::write(dir.path().join("b.jsonl"), &lines).unwrap();
    let total = records.len() + lines.len();
    let invalid = "2 invalid records skipped (invalid-json 1, wrong-json-type 1)";
    let r = read(dir.path(), true, true);
    assert_eq!(
        r.summary.to_string(),
        format!(
            "2 events from 2 files ({total} bytes); 2 records not parsed (no rule can match them); {invalid}"
        )
    );
    // Without the filter (--strict), every record is parsed; the invalid ones are the same.
    let r = read(dir.path(), false, true);
    assert_eq!(
        r.summary.to_string(),
        format!("4 events from 2 files ({total} bytes); {invalid}")
    );
}

/// Hostile input cannot make the framer read the same bytes again and again: every byte of a
/// broken record is looked at again at most `MAX_REPLAYS` times, and a broken record whose
/// resume points inside it break again stays one diagnostic.
#[test]
fn broken_bytes_are_read_again_a_bounded_number_of_times() {
    use snapback_ingest::frame::{Frame, Framer, MAX_REPLAYS};
    let nested = |n: usize| format!("[{{\"a\":1}},{}", "{\"a\":".repeat(n));
    let cases = [
        // The record's own opening at every depth, to the end of the input.
        nested(100_000),
        // The same, closed by the wrong brackets.
        format!("{}{}", nested(50_000), "]".repeat(50_000)),
        // Strings that each turn the rest inside out.
        format!("{{\"Records\":[{}]}}", "{\"a\":\"x,".repeat(60_000)),
        // Lines of openings that never close.
        "{\"a\":[{\"a\":\n".repeat(30_000),
    ];
    for input in &cases {
        for fast in [true, false] {
            let mut f = Framer::new(input.as_bytes(), 16 << 20);
            f.set_fast(fast);
            let mut broken = 0;
            while let Some(frame) = f.next_frame() {
                if let Frame::Broken { .. } = frame.unwrap() {
                    broken += 1;
                }
            }
            let len = input.len() as u64;
            assert!(
                f.replayed() <= u64::from(MAX_REPLAYS) * len,
                "{} bytes read again for {len}",
                f.replayed()
            );
            assert_eq!(f.offset(), len);
            if input.starts_with('[') {
                assert_eq!(broken, 1, "{}", &input[..40]);
            }
        }
    }
}
