//! `snapback simulate`: writes the authored T1578.004 telemetry of `snapback-simulate` to disk.
//!
//! Wiring (for `main.rs` and `crates/snapback/Cargo.toml`): add
//! `snapback-simulate.workspace = true` to the dependencies, `mod cmd_simulate;`, and a
//! `Simulate(cmd_simulate::SimulateArgs)` subcommand that calls [`run`].

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use snapback_simulate::{Selection, DEFAULT_SEED};

/// Write realistic audit logs of the seed's four Atomic Red Team tests (and benign look-alikes),
/// or, with `--volume`, a large benchmark corpus with revert chains planted in it.
#[derive(Debug, Clone, clap::Args)]
#[command(group(clap::ArgGroup::new("what").required(true).args(["test", "volume"])))]
pub struct SimulateArgs {
    /// Which test to simulate: 1 (EC2 stop/start), 2 (EBS volume from snapshot as root),
    /// 3 (Azure disk from snapshot swapped in), 4 (AMI from snapshot launched), or all
    /// (the four, a Google Cloud revert, and all the benign noise).
    #[arg(long, value_name = "1|2|3|4|all")]
    pub test: Option<Selection>,

    /// Instead of a test: write a benchmark corpus of about SIZE (e.g. 512MiB, 2GiB) of
    /// CloudTrail (S3 layout, gzip and plain, and JSON lines), Azure and Google Cloud logs with
    /// revert chains planted at known places, listed in DIR/manifest.json.
    #[arg(long, value_name = "SIZE", value_parser = snapback_simulate::volume::parse_size)]
    pub volume: Option<u64>,

    /// With --volume: which trees to write: all, or a comma list of gz, json, jsonl.
    #[arg(long, value_name = "FORMATS", default_value = "all", value_parser = snapback_simulate::volume::VolumeFormats::parse, requires = "volume")]
    pub volume_format: snapback_simulate::volume::VolumeFormats,

    /// Directory to write into, in each cloud's delivery layout (AWSLogs/…,
    /// insights-activity-logs/…, gcp/cloudaudit.googleapis.com/…). Created if missing; files of
    /// the same name are replaced, nothing else is touched.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,

    /// Seed for every identifier; the same seed writes byte-identical files.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_SEED)]
    pub seed: u64,
}

pub fn run(args: SimulateArgs) -> anyhow::Result<ExitCode> {
    match (args.test, args.volume) {
        (Some(test), _) => write_scenario(test, args.seed, &args.out),
        (None, Some(size)) => write_volume(size, args.seed, args.volume_format, &args.out),
        (None, None) => anyhow::bail!("give --test or --volume"),
    }
}

fn write_volume(
    size: u64,
    seed: u64,
    formats: snapback_simulate::volume::VolumeFormats,
    out: &std::path::Path,
) -> anyhow::Result<ExitCode> {
    let started = std::time::Instant::now();
    let report = snapback_simulate::volume::write_volume(size, seed, formats, out)
        .with_context(|| format!("writing the volume corpus under {}", out.display()))?;
    for tree in snapback_simulate::volume::volume_trees(out, formats) {
        println!("{}", tree.display());
    }
    eprintln!(
        "wrote {} files under {} in {:.1}s (seed {seed}): CloudTrail {} records, {} bytes ({} gzip); Azure {} records, {} bytes; Google Cloud {} records, {} bytes; {} planted chains in {}",
        report.files,
        out.display(),
        started.elapsed().as_secs_f64(),
        report.aws_records,
        report.aws_bytes,
        report.gz_bytes,
        report.azure_records,
        report.azure_bytes,
        report.gcp_records,
        report.gcp_bytes,
        report.chains.len(),
        out.join("manifest.json").display()
    );
    Ok(ExitCode::SUCCESS)
}

fn write_scenario(
    selection: Selection,
    seed: u64,
    out: &std::path::Path,
) -> anyhow::Result<ExitCode> {
    let written = snapback_simulate::write(selection, seed, out)
        .with_context(|| format!("writing simulated logs under {}", out.display()))?;
    for path in &written {
        println!("{}", path.display());
    }
    eprintln!(
        "wrote {} files under {} (seed {seed}); see docs/simulate.md for the timeline",
        written.len(),
        out.display()
    );
    Ok(ExitCode::SUCCESS)
}
