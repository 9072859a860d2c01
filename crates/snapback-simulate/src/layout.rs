//! Delivery layouts: how each cloud lays records out in files, and byte-stable encoding.
//!
//! JSON is written with object keys sorted, whatever `serde_json` features the build unifies
//! (`preserve_order` would otherwise change the bytes), and gzip with a fixed header (no name,
//! mtime 0, OS unknown) and level, so the committed `examples/` can be compared byte for byte.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

use flate2::{Compression, GzBuilder};
use serde_json::Value;

use crate::ids::Ids;
use crate::{aws, clock, gcp, Cloud, Planted};

/// One file of the simulated delivery, relative to the output directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogFile {
    /// Relative path with `/` separators, e.g. `AWSLogs/111122223333/CloudTrail/us-east-1/…`.
    pub path: PathBuf,
    /// The exact bytes to write (gzip for CloudTrail, JSON lines for Azure and GCP).
    pub bytes: Vec<u8>,
}

/// JSON text with object keys in sorted order, compact, no trailing newline.
pub(crate) fn canonical(v: &Value) -> String {
    let mut s = String::new();
    write_canonical(v, &mut s);
    s
}

fn write_canonical(v: &Value, out: &mut String) {
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String((*k).clone()).to_string());
                out.push(':');
                write_canonical(&map[k.as_str()], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = GzBuilder::new()
        .mtime(0)
        .operating_system(255)
        .write(Vec::new(), Compression::new(6));
    // Writing into a Vec cannot fail.
    enc.write_all(bytes).expect("write to Vec");
    enc.finish().expect("finish into Vec")
}

/// CloudTrail delivers about every five minutes: a record lands in the file named for the end
/// of its five-minute slot.
fn delivery_slot(ms: i64) -> i64 {
    let slot = 300_000;
    (ms.div_euclid(slot) + 1) * slot
}

/// Lays the records out in files. Records keep scenario order within a file, except CloudTrail
/// files, which AWS documents as unordered: those are shuffled deterministically.
pub(crate) fn files(planted: &[Planted], ids: &Ids) -> Vec<LogFile> {
    let mut aws_files: BTreeMap<i64, Vec<&Planted>> = BTreeMap::new();
    let mut azure_files: BTreeMap<i64, Vec<&Planted>> = BTreeMap::new();
    let mut gcp_files: BTreeMap<i64, Vec<&Planted>> = BTreeMap::new();
    for p in planted {
        let ms = p.time.as_millisecond();
        match p.cloud {
            Cloud::Aws => aws_files.entry(delivery_slot(ms)).or_default().push(p),
            Cloud::Azure => azure_files
                .entry(ms.div_euclid(3_600_000))
                .or_default()
                .push(p),
            Cloud::Gcp => gcp_files
                .entry(ms.div_euclid(3_600_000))
                .or_default()
                .push(p),
        }
    }

    let mut out = Vec::new();
    for (slot, mut records) in aws_files {
        records.sort_by_key(|p| p.time);
        shuffle(&mut records, ids, &format!("aws-file/{slot}"));
        let (y, m, d, hh, mm) = clock::parts(slot);
        let (acct, region) = (aws::ACCOUNT, aws::REGION);
        let unique = ids.mixed(&format!("aws-file/{slot}/unique"), 16);
        let path = format!(
            "AWSLogs/{acct}/CloudTrail/{region}/{y}/{m}/{d}/{acct}_CloudTrail_{region}_{y}{m}{d}T{hh}{mm}Z_{unique}.json.gz"
        );
        let body = format!(
            "{{\"Records\":[{}]}}",
            records
                .iter()
                .map(|p| canonical(&p.record))
                .collect::<Vec<_>>()
                .join(",")
        );
        out.push(LogFile {
            path: PathBuf::from(path),
            bytes: gzip(body.as_bytes()),
        });
    }
    for (hour, mut records) in azure_files {
        records.sort_by_key(|p| p.time);
        let (y, m, d, hh, _) = clock::parts(hour * 3_600_000);
        let sub = records[0].record["resourceId"]
            .as_str()
            .and_then(|r| r.split('/').nth(2))
            .unwrap_or_default()
            .to_uppercase();
        let path = format!(
            "insights-activity-logs/resourceId=/SUBSCRIPTIONS/{sub}/y={y}/m={m}/d={d}/h={hh}/m=00/PT1H.json"
        );
        out.push(LogFile {
            path: PathBuf::from(path),
            bytes: json_lines(&records),
        });
    }
    for (hour, mut records) in gcp_files {
        records.sort_by_key(|p| p.time);
        let (y, m, d, hh, _) = clock::parts(hour * 3_600_000);
        let path = format!(
            "{}/cloudaudit.googleapis.com/activity/{y}/{m}/{d}/{hh}:00:00_{hh}:59:59_S0.json",
            gcp::FOLDER
        );
        out.push(LogFile {
            path: PathBuf::from(path),
            bytes: json_lines(&records),
        });
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

fn json_lines(records: &[&Planted]) -> Vec<u8> {
    let mut s = String::new();
    for p in records {
        s.push_str(&canonical(&p.record));
        s.push('\n');
    }
    s.into_bytes()
}

/// Fisher–Yates with seeded draws.
fn shuffle<T>(items: &mut [T], ids: &Ids, label: &str) {
    for i in (1..items.len()).rev() {
        let j = ids.below(&format!("{label}/{i}"), i as u64 + 1) as usize;
        items.swap(i, j);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn canonical_sorts_keys_at_every_depth() {
        let v = json!({"b": 1, "a": {"d": [true, null], "c": "x\"y"}});
        assert_eq!(canonical(&v), r#"{"a":{"c":"x\"y","d":[true,null]},"b":1}"#);
    }

    #[test]
    fn gzip_header_has_no_time_or_name() {
        let gz = gzip(b"{}");
        assert_eq!(&gz[..4], &[0x1f, 0x8b, 8, 0]);
        assert_eq!(&gz[4..8], &[0, 0, 0, 0]);
        assert_eq!(gz[9], 255);
    }

    #[test]
    fn delivery_slot_is_the_end_of_the_five_minutes() {
        let t = clock::at(2, 40, 5, 0);
        assert_eq!(delivery_slot(t), clock::at(2, 45, 0, 0));
        assert_eq!(
            delivery_slot(clock::at(2, 45, 0, 0)),
            clock::at(2, 50, 0, 0)
        );
    }
}
