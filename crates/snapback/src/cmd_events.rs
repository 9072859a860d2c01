//! `snapback events`: the normalised event stream, sorted by event time, in bounded memory:
//! each event is rendered as it is read and held in a [`Sorter`] (sorted runs spilled to
//! temporary files beyond `--sort-buffer`, merged at the end; issue 13 item 10).

use std::cmp::Ordering;
use std::io::{self, BufWriter, Write};
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, ValueEnum};
use snapback_ingest::{read_inputs, Event, IngestOptions, DEFAULT_DIAGNOSTICS_PER_REASON};
use snapback_output::text;
use snapback_spill::{Record, Sorter, SpillError};

use crate::inputs::WindowArgs;
use crate::spill_args::SpillArgs;
use crate::table_out::TableOut;

#[derive(Args)]
pub struct EventsArgs {
    /// Files or directories to read (`-` for stdin), or store URLs (`s3://`, `az://`,
    /// `gs://`). Directories are walked recursively; `.gz` and `.zip` are opened by their
    /// content.
    #[arg(required = true, value_name = "PATH|URL")]
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
    #[command(flatten)]
    pub window: WindowArgs,
    #[command(flatten)]
    pub spill: SpillArgs,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum EventsFormat {
    Table,
    Jsonl,
}

pub fn run(args: EventsArgs) -> anyhow::Result<ExitCode> {
    let window = args.window.window()?;
    let inputs = crate::inputs::parse(&args.paths, window)?;
    let options = IngestOptions {
        max_record_bytes: args.max_record_bytes,
        max_diagnostics_per_reason: args.max_diagnostics,
        window,
        ..IngestOptions::default()
    };
    let spill = args.spill.options();
    let table = matches!(args.format, EventsFormat::Table);
    let mut sorter = Sorter::new(spill.clone(), Line::order as LineOrder);
    let mut failed: Option<SpillError> = None;
    let quiet = args.quiet;
    let summary = read_inputs(
        &inputs,
        &options,
        &mut |e| {
            if failed.is_none() {
                if let Err(err) = sorter.push(Line::new(&e, sorter.pushed(), table)) {
                    failed = Some(err);
                }
            }
        },
        &mut |d| {
            if !quiet {
                crate::terminal::diagnostic(d);
            }
        },
    );
    if let Some(e) = failed {
        anyhow::bail!("snapback events: {e} (set --temp-dir, or a larger --sort-buffer)");
    }
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let written = write_sorted(sorter, table, &spill, &mut out);
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

/// Print the lines in event order: JSON lines as they come off the merge, a table once its
/// column widths are known.
fn write_sorted(
    sorter: Sorter<Line, LineOrder>,
    table: bool,
    spill: &snapback_spill::SpillOptions,
    out: &mut impl Write,
) -> io::Result<()> {
    let mut rows = table.then(|| {
        TableOut::new(
            HEADER.iter().map(|h| h.to_string()).collect(),
            spill.clone(),
        )
    });
    let mut failure: Option<io::Error> = None;
    let drained = sorter.drain(&mut |line| {
        let done = match &mut rows {
            Some(t) => line
                .cells()
                .and_then(|cells| t.row(cells))
                .map_err(io::Error::other),
            None => out
                .write_all(&line.payload)
                .and_then(|_| out.write_all(b"\n")),
        };
        match done {
            Ok(()) => true,
            Err(e) => {
                failure = Some(e);
                false
            }
        }
    });
    if let Some(e) = failure {
        return Err(e);
    }
    drained.map_err(io::Error::other)?;
    match rows {
        Some(t) => t.write(out),
        None => Ok(()),
    }
}

const HEADER: [&str; 9] = [
    "TIME",
    "CLOUD",
    "ACCOUNT",
    "REGION",
    "OPERATION",
    "OUTCOME",
    "ACTOR",
    "SOURCE IP",
    "RESOURCES",
];

type LineOrder = fn(&Line, &Line) -> Ordering;

/// One event as it will be printed (its JSON line, or its table cells), with its place in
/// the output: event time, then provenance (the same input always prints in the same order),
/// then arrival.
struct Line {
    nanos: i128,
    file: Arc<str>,
    record: u64,
    offset: u64,
    seq: u64,
    payload: Vec<u8>,
}

impl Line {
    fn new(e: &Event, seq: u64, table: bool) -> Line {
        let mut payload = Vec::new();
        if table {
            for cell in cells(e) {
                payload.extend_from_slice(&(cell.len() as u64).to_le_bytes());
                payload.extend_from_slice(cell.as_bytes());
            }
        } else if serde_json::to_writer(&mut payload, e).is_err() {
            payload.clear();
        }
        Line {
            nanos: e.time.instant.as_nanosecond(),
            file: e.provenance.file.clone(),
            record: e.provenance.record,
            offset: e.provenance.offset,
            seq,
            payload,
        }
    }

    fn order(a: &Line, b: &Line) -> Ordering {
        a.nanos
            .cmp(&b.nanos)
            .then_with(|| a.file.cmp(&b.file))
            .then(a.record.cmp(&b.record))
            .then(a.offset.cmp(&b.offset))
            .then(a.seq.cmp(&b.seq))
    }

    fn cells(&self) -> Result<Vec<String>, SpillError> {
        let mut b = self.payload.as_slice();
        let mut out = Vec::with_capacity(HEADER.len());
        let corrupt = || SpillError::Corrupt("event cells".into());
        while let Some((len, rest)) = b.split_first_chunk::<8>() {
            let len = usize::try_from(u64::from_le_bytes(*len)).map_err(|_| corrupt())?;
            let cell = rest.get(..len).ok_or_else(corrupt)?;
            out.push(String::from_utf8(cell.to_vec()).map_err(|_| corrupt())?);
            b = &rest[len..];
        }
        Ok(out)
    }
}

impl Record for Line {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.nanos.to_le_bytes());
        for n in [self.record, self.offset, self.seq, self.file.len() as u64] {
            out.extend_from_slice(&n.to_le_bytes());
        }
        out.extend_from_slice(self.file.as_bytes());
        out.extend_from_slice(&self.payload);
    }

    fn decode(b: &[u8]) -> Result<Self, SpillError> {
        let corrupt = || SpillError::Corrupt("event line".into());
        let (nanos, b) = b.split_first_chunk::<16>().ok_or_else(corrupt)?;
        let mut n = [0u64; 4];
        let mut b = b;
        for x in &mut n {
            let (v, rest) = b.split_first_chunk::<8>().ok_or_else(corrupt)?;
            *x = u64::from_le_bytes(*v);
            b = rest;
        }
        let flen = usize::try_from(n[3]).map_err(|_| corrupt())?;
        let file = b.get(..flen).ok_or_else(corrupt)?;
        let file = std::str::from_utf8(file).map_err(|_| corrupt())?;
        Ok(Line {
            nanos: i128::from_le_bytes(*nanos),
            file: Arc::from(file),
            record: n[0],
            offset: n[1],
            seq: n[2],
            payload: b[flen..].to_vec(),
        })
    }

    fn encoded_len(&self) -> usize {
        self.payload.len() + self.file.len() + 64
    }
}

/// The table cells of an event. Attacker-written fields may carry control characters: never
/// let them reach a terminal.
fn cells(e: &Event) -> [String; 9] {
    let resources: Vec<String> = e
        .resources
        .iter()
        .map(|r| format!("{}:{}", r.kind.as_str(), r.id))
        .collect();
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
    .map(|cell| text::terminal(&cell))
}
