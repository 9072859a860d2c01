//! `snapback events`: the normalised event stream, sorted by event time.

use std::io::{self, BufWriter, Write};
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use snapback_ingest::{read_inputs, Event, IngestOptions, Input, DEFAULT_DIAGNOSTICS_PER_REASON};
use snapback_output::text;

#[derive(Args)]
pub struct EventsArgs {
    /// Files or directories to read (`-` for stdin). Directories are walked recursively;
    /// `.gz` and `.zip` are opened by their content.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = EventsFormat::Table)]
    pub format: EventsFormat,
    /// Exit non-zero if any input was skipped or repaired.
    #[arg(long)]
    pub strict: bool,
    /// Skip records larger than this many bytes.
    #[arg(long, default_value_t = 16 * 1024 * 1024, value_name = "BYTES")]
    pub max_record_bytes: usize,
    /// Do not print diagnostics for bad input (the summary still counts them).
    #[arg(long, short)]
    pub quiet: bool,
    /// Print at most this many diagnostics of each reason (e.g. `invalid-json`); the summary
    /// counts the others. Bounds memory too.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_DIAGNOSTICS_PER_REASON)]
    pub max_diagnostics: usize,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum EventsFormat {
    Table,
    Jsonl,
}

pub fn run(args: EventsArgs) -> anyhow::Result<ExitCode> {
    let inputs: Vec<Input> = args.paths.iter().map(|p| Input::parse(p)).collect();
    let options = IngestOptions {
        max_record_bytes: args.max_record_bytes,
        max_diagnostics_per_reason: args.max_diagnostics,
        ..IngestOptions::default()
    };
    let mut events: Vec<Event> = Vec::new();
    let quiet = args.quiet;
    let summary = read_inputs(&inputs, &options, &mut |e| events.push(e), &mut |d| {
        if !quiet {
            crate::terminal::diagnostic(d);
        }
    });
    // Event time, then provenance: the same input always prints in the same order.
    events.sort_by(|a, b| {
        a.time
            .instant
            .cmp(&b.time.instant)
            .then_with(|| a.provenance.cmp(&b.provenance))
    });
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let written = match args.format {
        EventsFormat::Jsonl => write_jsonl(&mut out, &events),
        EventsFormat::Table => write_table(&mut out, &events),
    };
    match written.and_then(|_| out.flush()) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return Ok(ExitCode::SUCCESS),
        Err(e) => return Err(e.into()),
    }
    crate::terminal::summary(&summary, args.max_diagnostics, true);
    if args.strict && summary.has_problems() {
        return Ok(ExitCode::from(crate::exit::PROBLEMS));
    }
    Ok(ExitCode::SUCCESS)
}

fn write_jsonl(out: &mut impl Write, events: &[Event]) -> io::Result<()> {
    for e in events {
        serde_json::to_writer(&mut *out, e)?;
        out.write_all(b"\n")?;
    }
    Ok(())
}

fn write_table(out: &mut impl Write, events: &[Event]) -> io::Result<()> {
    let mut table = comfy_table::Table::new();
    table.load_preset(comfy_table::presets::NOTHING);
    table.set_header([
        "TIME",
        "CLOUD",
        "ACCOUNT",
        "REGION",
        "OPERATION",
        "OUTCOME",
        "ACTOR",
        "SOURCE IP",
        "RESOURCES",
    ]);
    for e in events {
        let resources: Vec<String> = e
            .resources
            .iter()
            .map(|r| format!("{}:{}", r.kind.as_str(), r.id))
            .collect();
        // Attacker-written fields may carry control characters: never let them reach a terminal.
        table.add_row(
            [
                e.time.instant.to_string(),
                e.cloud.to_string(),
                e.account.clone(),
                e.region.clone(),
                e.operation.clone(),
                e.outcome.to_string(),
                e.actor.display().to_owned(),
                e.source_ip.clone().unwrap_or_default(),
                resources.join(" "),
            ]
            .map(|cell| text::terminal(&cell)),
        );
    }
    writeln!(out, "{table}")
}
