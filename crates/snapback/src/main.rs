//! `snapback`: the command line. Flags, glue and exit codes only; the logic lives in the
//! library crates.

#![forbid(unsafe_code)]

mod cmd_aql;
#[cfg(feature = "kafka")]
mod cmd_consume;
mod cmd_events;
mod cmd_output;
#[cfg(feature = "kafka")]
mod cmd_replay;
mod cmd_rules;
mod cmd_scan;
mod cmd_simulate;
mod cmd_watch;
#[cfg(feature = "kafka")]
mod consume_group;
mod exit;
mod inputs;
mod progress;
mod spill_args;
mod table_out;
mod terminal;
mod watch_store;

/// mimalloc, not the system allocator: with glibc's, the reading threads' arenas grew to tens
/// of megabytes each over thousands of small files while the live heap stayed under 8 MB
/// (docs/decisions.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Find cloud instances that were reverted to hide an intrusion (MITRE ATT&CK T1578.004) in
/// AWS CloudTrail, Azure Activity Log and Google Cloud Audit Logs.
#[derive(Parser)]
#[command(name = "snapback", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Scan audit logs for reverted cloud instances and print risk-scored alerts.
    Scan(cmd_scan::ScanArgs),
    /// Scan the bundled sample data (the seed's four Atomic Red Team tests and benign noise).
    Demo(cmd_scan::ScanOptions),
    /// Follow audit logs as they arrive (delivery directories, growing JSON-lines files,
    /// stdin) and emit alerts as they are decided, with revisions.
    Watch(cmd_watch::WatchArgs),
    /// Send audit logs to a Kafka topic, one message per audit record, keyed by account (or
    /// resource) so that what one sequence can link lands in one partition.
    #[cfg(feature = "kafka")]
    Replay(cmd_replay::ReplayArgs),
    /// Detect as a member of a Kafka consumer group: alerts to a topic, committed with the
    /// offsets read in one transaction (exactly once for read_committed readers).
    #[cfg(feature = "kafka")]
    Consume(cmd_consume::ConsumeArgs),
    /// Read audit logs and print them as one normalised stream of events.
    Events(cmd_events::EventsArgs),
    /// Write realistic telemetry of the seed's Atomic Red Team tests, with benign noise.
    Simulate(cmd_simulate::SimulateArgs),
    /// List or lint Sigma rules (the built-in pack and your own).
    Rules {
        #[command(subcommand)]
        cmd: cmd_rules::RulesCommand,
    },
    /// Run, lint or export IBM QRadar AQL searches offline, over the same logs.
    Aql {
        #[command(subcommand)]
        cmd: cmd_aql::AqlCommand,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Scan(args) => cmd_scan::run(args),
        Command::Demo(options) => cmd_scan::demo(options),
        Command::Watch(args) => cmd_watch::run(args),
        #[cfg(feature = "kafka")]
        Command::Replay(args) => cmd_replay::run(args),
        #[cfg(feature = "kafka")]
        Command::Consume(args) => cmd_consume::run(args),
        Command::Events(args) => cmd_events::run(args),
        Command::Simulate(args) => cmd_simulate::run(args),
        Command::Rules { cmd } => cmd_rules::run(cmd),
        Command::Aql { cmd } => cmd_aql::run(cmd),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!(
                "snapback: error: {}",
                snapback_output::text::terminal(&format!("{e:#}"))
            );
            ExitCode::from(exit::of_error(&e))
        }
    }
}
