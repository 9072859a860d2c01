//! Putting the volume corpus on disk: the CloudTrail trees (`gz`, `json`, `jsonl`), the
//! JSON-lines files of Azure and Google Cloud, and `manifest.json`.
//!
//! Why apart from the record writers: they compute bytes and nothing else; this is the only
//! place that creates directories and files, and it fixes the gzip header so the same seed
//! always gives the same bytes.

use std::fs;
use std::io::{self, Write};
use std::path::Path;

use flate2::write::GzEncoder;
use flate2::{Compression, GzBuilder};
use rayon::prelude::*;

use super::cloudtrail::aws_file_records;
use super::plan::{aws_key, AwsPlan};
use super::{
    PlantedChain, VolumeFormats, VolumeReport, AWS_RECORD_BYTES, JSONL_FILES_MAX_BYTES,
    RECORDS_PER_FILE,
};

pub(super) fn write_file(path: &Path, bytes: &[u8]) -> io::Result<()> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir)?;
    }
    fs::write(path, bytes)
}

fn records_container(records: &[Vec<u8>]) -> Vec<u8> {
    let len: usize = records.iter().map(|r| r.len() + 1).sum();
    let mut out = Vec::with_capacity(len + 16);
    out.extend_from_slice(b"{\"Records\":[");
    for (i, r) in records.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(r);
    }
    out.extend_from_slice(b"]}");
    out
}

fn gzip(bytes: &[u8]) -> io::Result<Vec<u8>> {
    // No name and mtime 0, as in the atomic layout: same seed, same bytes.
    let mut enc: GzEncoder<Vec<u8>> = GzBuilder::new()
        .mtime(0)
        .write(Vec::with_capacity(bytes.len() / 8), Compression::default());
    enc.write_all(bytes)?;
    enc.finish()
}

/// The CloudTrail trees: files in parallel; the JSON-lines tree groups consecutive files.
/// Adds the bytes, records and files written to `report`.
pub(super) fn cloudtrail_trees(
    plan: &AwsPlan,
    formats: VolumeFormats,
    out: &Path,
    report: &mut VolumeReport,
) -> io::Result<()> {
    let per_group = (JSONL_FILES_MAX_BYTES / (RECORDS_PER_FILE * AWS_RECORD_BYTES)).max(1);
    let groups = plan.files.div_ceil(per_group);
    let results: Vec<io::Result<(u64, u64, u64, u64)>> = (0..groups)
        .into_par_iter()
        .map(|g| {
            let mut lines: Vec<u8> = Vec::new();
            let (mut bytes, mut recs, mut gz_bytes, mut files) = (0u64, 0u64, 0u64, 0u64);
            for k in g * per_group..((g + 1) * per_group).min(plan.files) {
                let records = aws_file_records(plan, k);
                recs += records.len() as u64;
                let container = records_container(&records);
                bytes += container.len() as u64;
                if formats.json {
                    write_file(&out.join("json").join(aws_key(plan, k, "json")), &container)?;
                    files += 1;
                }
                if formats.gz {
                    let gz = gzip(&container)?;
                    gz_bytes += gz.len() as u64;
                    write_file(&out.join("gz").join(aws_key(plan, k, "json.gz")), &gz)?;
                    files += 1;
                }
                if formats.jsonl {
                    for r in &records {
                        lines.extend_from_slice(r);
                        lines.push(b'\n');
                    }
                }
            }
            if formats.jsonl {
                write_file(
                    &out.join("jsonl").join(format!("cloudtrail-{g:04}.jsonl")),
                    &lines,
                )?;
                files += 1;
            }
            Ok((bytes, recs, gz_bytes, files))
        })
        .collect();
    for r in results {
        let (b, n, gz, f) = r?;
        report.aws_bytes += b;
        report.aws_records += n;
        report.gz_bytes += gz;
        report.files += f;
    }
    Ok(())
}

/// What [`line_files`] wrote: uncompressed bytes, records, files and the chains planted.
pub(super) struct Lines {
    pub(super) bytes: u64,
    pub(super) records: u64,
    pub(super) files: u64,
    pub(super) chains: Vec<PlantedChain>,
}

/// Files `0..files` of a JSON-lines tree (Azure, Google Cloud) under `out/json`, in parallel;
/// `file(k)` gives file `k`'s path, lines and planted chains.
pub(super) fn line_files<F>(out: &Path, files: u64, file: F) -> io::Result<Lines>
where
    F: Fn(u64) -> (String, Vec<Vec<u8>>, Vec<PlantedChain>) + Sync,
{
    let results: Vec<io::Result<(u64, u64, Vec<PlantedChain>)>> = (0..files)
        .into_par_iter()
        .map(|k| {
            let (path, lines, planted) = file(k);
            let mut buf = Vec::new();
            for l in &lines {
                buf.extend_from_slice(l);
                buf.push(b'\n');
            }
            write_file(&out.join("json").join(&path), &buf)?;
            Ok((buf.len() as u64, lines.len() as u64, planted))
        })
        .collect();
    let mut total = Lines {
        bytes: 0,
        records: 0,
        files: 0,
        chains: Vec::new(),
    };
    for r in results {
        let (b, n, p) = r?;
        total.bytes += b;
        total.records += n;
        total.files += 1;
        total.chains.extend(p);
    }
    Ok(total)
}

pub(super) fn manifest(
    report: &VolumeReport,
    seed: u64,
    size: u64,
    formats: VolumeFormats,
) -> String {
    let chains: Vec<serde_json::Value> = report
        .chains
        .iter()
        .map(|c| {
            serde_json::json!({
                "rule": c.rule,
                "cloud": c.cloud,
                "account": c.account,
                "entity": c.entity,
                "events": c.events,
                "file": c.file,
                "trees": if c.cloud == "aws" {
                    let mut t = Vec::new();
                    if formats.gz { t.push("gz"); }
                    if formats.json { t.push("json"); }
                    if formats.jsonl { t.push("jsonl"); }
                    t
                } else {
                    vec!["json"]
                },
            })
        })
        .collect();
    let v = serde_json::json!({
        "seed": seed,
        "size": size,
        "aws": {"bytes": report.aws_bytes, "records": report.aws_records, "gz_bytes": report.gz_bytes},
        "azure": {"bytes": report.azure_bytes, "records": report.azure_records},
        "gcp": {"bytes": report.gcp_bytes, "records": report.gcp_records},
        "chains": chains,
    });
    let mut s = serde_json::to_string_pretty(&v).unwrap_or_default();
    s.push('\n');
    s
}
