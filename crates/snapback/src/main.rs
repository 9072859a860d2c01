//! `snapback`: the command line. Flags, glue and exit codes only; the logic lives in the
//! library crates.

#![forbid(unsafe_code)]

mod cmd_events;

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
    /// Read audit logs and print them as one normalised stream of events.
    Events(cmd_events::EventsArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Events(args) => cmd_events::run(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("snapback: error: {e:#}");
            ExitCode::from(2)
        }
    }
}
