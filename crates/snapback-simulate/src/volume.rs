//! A large, realistic corpus for benchmarks: `snapback simulate --volume SIZE`.
//!
//! The atomic scenario ([`crate::records`]) is a story of 79 records; a benchmark needs
//! gigabytes shaped like a busy organisation's trails, with a few reverts hidden in them at known
//! places. Records are rendered straight into byte buffers from templates (no `serde_json::Value`
//! per record) and files are generated in parallel, each a pure function of `(seed, file index)`,
//! so the same seed gives byte-identical trees whatever the number of threads, and 2 GiB is
//! written in well under a minute.
//!
//! The operation mix follows what real trails show: most calls are read-only (`Describe*`,
//! `Get*`, `List*`), S3 data events (`GetObject`, `PutObject`), `AssumeRole`, KMS `Decrypt` and
//! `GenerateDataKey`; a few writes (`CreateTags`, security-group changes, instance launches);
//! about 2 % fail with `AccessDenied`. Revert chains (stop→start of an instance, a volume
//! created from a snapshot and attached, an Azure VM deallocated and started, a GCP instance
//! stopped and started) are planted at positions derived from the seed and listed in
//! `manifest.json`, so a harness can check that every one is alerted.
//!
//! Trees under `--out` (each chosen by `--volume-format`):
//!
//! | tree | content |
//! |---|---|
//! | `gz/AWSLogs/…/*.json.gz` | CloudTrail in the S3 layout, gzip, one `{"Records":[…]}` per file |
//! | `json/AWSLogs/…/*.json` | the same CloudTrail files uncompressed |
//! | `json/insights-activity-logs/…/PT1H.json` | Azure storage-export JSON lines (resource-log schema) |
//! | `json/gcp/cloudaudit.googleapis.com/…/*.json` | Google Cloud log-sink JSON lines |
//! | `jsonl/cloudtrail-NNN.jsonl` | the same CloudTrail records, one per line, in large files |
//!
//! This root owns the public API (formats, sizes, the report, [`write_volume`]) and the split
//! of a run between the clouds; the work is in private parts, one concern each: `rng` (the
//! seeded stream and timestamps), `plan` (where CloudTrail files and planted chains go),
//! `cloudtrail`, `azure` and `gcp` (each cloud's records, rendered to bytes) and `write` (the
//! trees and the manifest on disk).

mod azure;
mod cloudtrail;
mod gcp;
mod plan;
mod rng;
mod write;

use std::io;
use std::path::{Path, PathBuf};

use azure::{azure_file, azure_sub, AZURE_SUBS};
use gcp::gcp_file;

/// Which trees to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VolumeFormats {
    pub gz: bool,
    pub json: bool,
    pub jsonl: bool,
}

impl VolumeFormats {
    pub const ALL: VolumeFormats = VolumeFormats {
        gz: true,
        json: true,
        jsonl: true,
    };

    /// `all`, or a comma-separated list of `gz`, `json`, `jsonl`.
    pub fn parse(s: &str) -> Result<Self, String> {
        let mut f = VolumeFormats {
            gz: false,
            json: false,
            jsonl: false,
        };
        for part in s.split(',').map(str::trim) {
            match part {
                "all" => f = VolumeFormats::ALL,
                "gz" => f.gz = true,
                "json" => f.json = true,
                "jsonl" => f.jsonl = true,
                other => {
                    return Err(format!(
                        "unknown volume format {other:?}: expected all, gz, json or jsonl"
                    ))
                }
            }
        }
        Ok(f)
    }
}

/// Parse a size: `512MiB`, `2GiB`, `100MB`, `1048576`.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("bad size {s:?}: expected a number and a unit, e.g. 512MiB"))?;
    let mult: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" => 1e3,
        "kib" => 1024.0,
        "m" | "mb" => 1e6,
        "mib" => 1024.0 * 1024.0,
        "g" | "gb" => 1e9,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        other => {
            return Err(format!(
                "bad size unit {other:?} in {s:?}: use KiB, MiB or GiB"
            ))
        }
    };
    let v = n * mult;
    if v.is_nan() || v < 1.0 {
        return Err(format!("size {s:?} is too small"));
    }
    Ok(v as u64)
}

/// One planted revert chain: what must be alerted.
#[derive(Debug, Clone)]
pub struct PlantedChain {
    /// The correlation rule that must fire.
    pub rule: &'static str,
    /// `aws`, `azure`, `gcp`.
    pub cloud: &'static str,
    pub account: String,
    /// The entity the alert must name (instance id, volume id, VM resource id, instance path).
    pub entity: String,
    /// Event ids (CloudTrail `eventID`, Azure `eventDataId`, GCP `insertId`) of the steps.
    pub events: Vec<String>,
    /// Relative path (under the tree root) of the file holding the first step.
    pub file: String,
}

/// What was written.
#[derive(Debug, Clone, Default)]
pub struct VolumeReport {
    pub files: u64,
    /// Uncompressed bytes of the CloudTrail records (one copy).
    pub aws_bytes: u64,
    pub aws_records: u64,
    pub azure_bytes: u64,
    pub azure_records: u64,
    pub gcp_bytes: u64,
    pub gcp_records: u64,
    /// Compressed bytes of the `gz` tree.
    pub gz_bytes: u64,
    pub chains: Vec<PlantedChain>,
}

const ACCOUNTS: u64 = 24;
const REGIONS: [&str; 6] = [
    "us-east-1",
    "us-west-2",
    "eu-west-1",
    "eu-central-1",
    "ap-southeast-2",
    "ap-northeast-1",
];
const RECORDS_PER_FILE: u64 = 400;
/// Typical rendered sizes, to plan the number of files for a target size.
const AWS_RECORD_BYTES: u64 = 1_350;
const AZURE_RECORD_BYTES: u64 = 1_500;
const GCP_RECORD_BYTES: u64 = 1_300;
const JSONL_FILES_MAX_BYTES: u64 = 96 * 1024 * 1024;
/// 2026-11-20T00:00:00Z.
const DAY0_MS: i64 = 1_795_132_800_000;
const SLOT_MS: i64 = 5 * 60_000;

/// Write a volume corpus of about `size` bytes (uncompressed, one copy of each record) under
/// `out`. CloudTrail takes 80 %, Azure and Google Cloud 10 % each.
pub fn write_volume(
    size: u64,
    seed: u64,
    formats: VolumeFormats,
    out: &Path,
) -> io::Result<VolumeReport> {
    let aws_target = size / 10 * 8;
    let (plan, mut chains) = plan::aws_plan(seed, aws_target);
    let mut report = VolumeReport::default();

    // CloudTrail: files in parallel; the JSON-lines tree groups consecutive files.
    write::cloudtrail_trees(&plan, formats, out, &mut report)?;

    if formats.json {
        // Azure: files by subscription and hour; GCP: by project and hour.
        let subs: Vec<String> = (0..AZURE_SUBS).map(|s| azure_sub(seed, s)).collect();
        let (az_files, az_chains) = spread(size / 10, AZURE_RECORD_BYTES, 7919, seed % 13);
        let (gcp_files, gcp_chains) = spread(size / 10, GCP_RECORD_BYTES, 7907, seed % 11);
        let az = write::line_files(out, az_files, |k| azure_file(seed, k, &subs, &az_chains))?;
        report.azure_bytes += az.bytes;
        report.azure_records += az.records;
        report.files += az.files;
        chains.extend(az.chains);
        let gcp = write::line_files(out, gcp_files, |k| gcp_file(seed, k, &gcp_chains))?;
        report.gcp_bytes += gcp.bytes;
        report.gcp_records += gcp.records;
        report.files += gcp.files;
        chains.extend(gcp.chains);
    }
    report.chains = chains;
    write::write_file(
        &out.join("manifest.json"),
        write::manifest(&report, seed, size, formats).as_bytes(),
    )?;
    Ok(report)
}

/// The number of files for `bytes` of records of about `record_bytes` each, and the planted
/// chains as `(chain, file)`: a quarter as many as files (2 to 100), chain `c` in file
/// `(c * stride + offset) % files`.
fn spread(bytes: u64, record_bytes: u64, stride: u64, offset: u64) -> (u64, Vec<(u64, u64)>) {
    let files = bytes.div_ceil(RECORDS_PER_FILE * record_bytes).max(1);
    let chains = (0..(files / 4).clamp(2, 100))
        .map(|c| (c, (c * stride + offset) % files))
        .collect();
    (files, chains)
}

/// Where the trees are, for callers that print them.
pub fn volume_trees(out: &Path, formats: VolumeFormats) -> Vec<PathBuf> {
    let mut v = Vec::new();
    if formats.gz {
        v.push(out.join("gz"));
    }
    if formats.json {
        v.push(out.join("json"));
    }
    if formats.jsonl {
        v.push(out.join("jsonl"));
    }
    v
}

#[cfg(test)]
mod tests {
    use super::cloudtrail::aws_file_records;
    use super::plan::aws_plan;
    use super::*;

    #[test]
    fn sizes_parse() {
        assert_eq!(parse_size("512MiB").unwrap(), 512 << 20);
        assert_eq!(parse_size("2GiB").unwrap(), 2 << 30);
        assert_eq!(parse_size("100MB").unwrap(), 100_000_000);
        assert_eq!(parse_size("1.5KiB").unwrap(), 1536);
        assert!(parse_size("12 parsecs").is_err());
    }

    #[test]
    fn records_are_json_and_deterministic() {
        let (plan, chains) = aws_plan(7, 4 << 20);
        assert!(chains.len() >= 4);
        let a = aws_file_records(&plan, 0);
        assert_eq!(a, aws_file_records(&plan, 0));
        for r in &a {
            let v: serde_json::Value = serde_json::from_slice(r).expect("valid JSON");
            assert!(v["eventName"].is_string());
        }
        let subs: Vec<String> = (0..AZURE_SUBS).map(|s| azure_sub(7, s)).collect();
        let (_, lines, planted) = azure_file(7, 0, &subs, &[(0, 0)]);
        assert_eq!(planted.len(), 1);
        for l in &lines {
            serde_json::from_slice::<serde_json::Value>(l).expect("valid Azure JSON");
        }
        let (_, lines, planted) = gcp_file(7, 0, &[(0, 0)]);
        assert_eq!(planted.len(), 1);
        for l in &lines {
            serde_json::from_slice::<serde_json::Value>(l).expect("valid GCP JSON");
        }
    }
}
