//! `snapback simulate`: writes the authored T1578.004 telemetry of `snapback-simulate` to disk.
//!
//! Wiring (for `main.rs` and `crates/snapback/Cargo.toml`): add
//! `snapback-simulate.workspace = true` to the dependencies, `mod cmd_simulate;`, and a
//! `Simulate(cmd_simulate::SimulateArgs)` subcommand that calls [`run`].

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use snapback_simulate::{Selection, DEFAULT_SEED};

/// Write realistic audit logs of the seed's four Atomic Red Team tests (and benign look-alikes).
#[derive(Debug, Clone, clap::Args)]
pub struct SimulateArgs {
    /// Which test to simulate: 1 (EC2 stop/start), 2 (EBS volume from snapshot as root),
    /// 3 (Azure disk from snapshot swapped in), 4 (AMI from snapshot launched), or all
    /// (the four, a Google Cloud revert, and all the benign noise).
    #[arg(long, value_name = "1|2|3|4|all")]
    pub test: Selection,

    /// Directory to write into, in each cloud's delivery layout (AWSLogs/…,
    /// insights-activity-logs/…, gcp/cloudaudit.googleapis.com/…). Created if missing; files of
    /// the same name are replaced, nothing else is touched.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,

    /// Seed for every identifier; the same seed writes byte-identical files.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_SEED)]
    pub seed: u64,
    // Issue 6 adds `--volume SIZE` (a large corpus with planted chains); it will be an
    // alternative to `--test` (an ArgGroup), dispatched in `run` beside `write_scenario`.
}

pub fn run(args: SimulateArgs) -> anyhow::Result<ExitCode> {
    write_scenario(args.test, args.seed, &args.out)
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
