//! `snapback watch`: detection on logs as they arrive.
//!
//! The flags, the sinks (stdout in the chosen format, `--out`, `--forward`, the status line
//! and `--metrics`) and the summary. The loop, its sources, the streaming detector and the
//! redb checkpoint are the pipeline's (`snapback_pipeline::watch`): after each batch of units
//! it releases what the watermark passed, finds the alerts, hands the new and changed ones to
//! [`Sinks`] as revisions (`--out` is written and flushed to disk first), then commits what a
//! restart needs in one state transaction: `--out`'s length, the inputs read and the revisions
//! emitted. A restart truncates `--out` to the committed length.

use std::fs::{File, OpenOptions};
use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::{Args, ValueEnum};
use jiff::SignedDuration;
use snapback_correlate::order::Lateness;
use snapback_correlate::stream::Emission;
use snapback_correlate::Alert;
use snapback_ingest::Diagnostic;
use snapback_pipeline::watch::{self, Figures, Pace, Saved, Stream, Watch};
use snapback_pipeline::{PipelineError, PrefilterMode, ReadPlan, Selection};

use crate::cmd_output::{finish_forward, forwarder, write_format_with, OutputArgs};
use crate::cmd_scan::{load_rules, load_tuning};
use snapback_output::Forwarder;

#[derive(Args)]
pub struct WatchArgs {
    /// Delivery directories (new files are read once complete), JSON-lines files (followed
    /// like `tail -F`), `-` for stdin, or store prefixes (`s3://bucket/AWSLogs/`, `az://…`,
    /// `gs://…`: new objects are read as they land; see the README).
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<String>,
    /// Keep what a restart needs here (created if missing).
    #[arg(long, value_name = "DIR")]
    pub state: Option<PathBuf>,
    /// How late an event may arrive and still be put in order (e.g. 15m, 1h, 30s).
    #[arg(long, default_value = "15m", value_parser = parse_duration)]
    pub lateness: SignedDuration,
    /// How often to look for new files and appended lines.
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    pub poll: SignedDuration,
    /// Read what is there now, treat it as the end of input, and exit.
    #[arg(long)]
    pub once: bool,
    /// Format of the alerts written to stdout.
    #[arg(long, value_enum, default_value_t = WatchFormat::Jsonl)]
    pub format: WatchFormat,
    /// Also append every alert revision, as JSON lines, to this file (exactly once each with
    /// `--state`, even across a crash).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Write the running figures as JSON to this file after every cycle.
    #[arg(long, value_name = "FILE")]
    pub metrics: Option<PathBuf>,
    /// Only emit alerts with at least this risk score.
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub min_risk: u8,
    /// Also emit suppressed alerts, with who suppressed them and why.
    #[arg(long)]
    pub show_suppressed: bool,
    /// Load Sigma rules from this directory too.
    #[arg(long = "rules", value_name = "DIR")]
    pub rules: Vec<PathBuf>,
    /// Do not load the built-in rule pack.
    #[arg(long)]
    pub no_builtin: bool,
    /// Tuning: allowlists, maintenance windows, risk overrides, state caps (TOML).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Do not print per-record diagnostics (the summary still counts them).
    #[arg(long, short)]
    pub quiet: bool,
    /// `--forward` and its options, as for `scan` (each revision is forwarded; `--report` is
    /// for `scan` only).
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum WatchFormat {
    /// One snapback alert per line, as JSON (`revision` when above 1; retractions).
    Jsonl,
    /// One OCSF Detection Finding per line.
    Ocsf,
    /// LEEF 2.0 for QRadar.
    Leef,
    /// ArcSight CEF.
    Cef,
    /// A readable listing for a terminal (revisions are listed again in full).
    Table,
}

fn parse_duration(s: &str) -> Result<SignedDuration, String> {
    let d: SignedDuration = s
        .parse()
        .map_err(|e| format!("{s:?} is not a duration like 15m, 2s or 1h30m: {e}"))?;
    if d.is_negative() {
        return Err(format!("{s:?} is negative"));
    }
    Ok(d)
}

/// Where alert revisions go.
struct Sinks {
    format: WatchFormat,
    stdout: io::Stdout,
    out: Option<File>,
    out_len: u64,
    forward: Option<Forwarder>,
    /// Alert revisions given to `forward`.
    forwarded: u64,
    output: OutputArgs,
    select: Selection,
    /// A status line on stderr (a terminal, not `--quiet`).
    status: bool,
    metrics: Option<PathBuf>,
}

impl watch::Sink for Sinks {
    fn write(&mut self, emissions: &[Emission]) -> Result<(), PipelineError> {
        match self.write_all(emissions) {
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
            r => r.map_err(|e| PipelineError::Sink(Box::new(e))),
        }
    }

    fn durable_len(&self) -> u64 {
        self.out_len
    }

    fn figures(&mut self, f: &Figures) -> Result<(), PipelineError> {
        let io = |what: &str, source| PipelineError::Io {
            what: what.to_owned(),
            source,
        };
        if let Some(path) = &self.metrics {
            let tmp = path.with_extension("tmp");
            let json = serde_json::to_vec_pretty(f).map_err(|e| io("metrics", e.into()))?;
            std::fs::write(&tmp, json).map_err(|e| io("writing --metrics", e))?;
            std::fs::rename(&tmp, path).map_err(|e| io("writing --metrics", e))?;
        }
        if self.status {
            eprint!(
                "\r\x1b[2Ksnapback watch: {} files, {} events ({}/s), watermark {}, lag {}s, {} late, {} open sequences, {} alert revisions",
                f.files,
                f.events,
                f.events_per_second,
                f.watermark.as_deref().unwrap_or("-"),
                f.watermark_lag_seconds.map_or("-".into(), |s| s.to_string()),
                f.late_events,
                f.open_sequences,
                f.alert_revisions
            );
        }
        Ok(())
    }
}

impl Sinks {
    fn write_all(&mut self, emissions: &[Emission]) -> io::Result<()> {
        let select = self.select;
        let mut lines = Vec::new();
        let mut alerts: Vec<&Alert> = Vec::new();
        for e in emissions {
            match e {
                Emission::Alert {
                    alert,
                    revision,
                    changed,
                } => {
                    if !select.admits(alert) {
                        continue;
                    }
                    lines.push(snapback_output::revision_json(alert, *revision, changed)?);
                    alerts.push(alert);
                }
                Emission::Retracted { alert_id, revision } => {
                    lines.push(snapback_output::retraction_json(alert_id, *revision))
                }
            }
        }
        if let Some(f) = &mut self.out {
            for l in &lines {
                f.write_all(l.as_bytes())?;
                f.write_all(b"\n")?;
                self.out_len += l.len() as u64 + 1;
            }
            f.sync_data()?;
        }
        let mut o = self.stdout.lock();
        match self.format {
            WatchFormat::Jsonl => {
                for l in &lines {
                    writeln!(o, "{l}")?;
                }
            }
            WatchFormat::Table if alerts.is_empty() => {}
            WatchFormat::Table => snapback_output::write_table(&mut o, &alerts)?,
            f => {
                let name = match f {
                    WatchFormat::Ocsf => "ocsf",
                    WatchFormat::Leef => "leef",
                    _ => "cef",
                };
                write_format_with(&self.output, name, &alerts, &mut o).map_err(io::Error::other)?;
            }
        }
        o.flush()?;
        if let Some(f) = &mut self.forward {
            for a in &alerts {
                f.send(a).map_err(io::Error::other)?;
            }
            self.forwarded += alerts.len() as u64;
            f.flush().map_err(io::Error::other)?;
        }
        Ok(())
    }
}

/// Open `--out`, cut back to what the state committed.
fn open_out(path: &Path, committed: Option<u64>) -> anyhow::Result<(File, u64)> {
    let f = OpenOptions::new()
        .create(true)
        .append(true)
        .read(true)
        .open(path)
        .with_context(|| format!("opening --out {}", path.display()))?;
    let len = f.metadata()?.len();
    let Some(committed) = committed else {
        return Ok((f, len));
    };
    if len < committed {
        bail!(
            "--out {} is shorter ({len} bytes) than the state says was written ({committed}): it was replaced or cut; use another --state",
            path.display()
        );
    }
    f.set_len(committed)?;
    Ok((f, committed))
}

pub fn run(args: WatchArgs) -> anyhow::Result<ExitCode> {
    if args.output.report.is_some() {
        bail!("--report needs every alert of a finished run: use it with `snapback scan`");
    }
    let rules = load_rules(!args.no_builtin, &args.rules);
    let tuning = load_tuning(args.config.as_deref())?;
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(sig, stop.clone()).context("installing signal handlers")?;
    }
    let config = args.config.as_deref().map(std::fs::read).transpose()?;
    let fingerprint = watch::rules_fingerprint(&rules, config.as_deref());
    let out_name = args.out.as_ref().map(|p| p.display().to_string());
    let (state, saved) = match args.state.as_deref() {
        Some(dir) => {
            let (s, saved) = watch::open_state(dir, &fingerprint, out_name.as_deref())?;
            (Some(s), saved)
        }
        None => (None, Saved::default()),
    };
    let (out, out_len) = match &args.out {
        Some(p) => {
            let committed = state.as_ref().map(|_| saved.out_len);
            let (f, len) = open_out(p, committed)?;
            (Some(f), len)
        }
        None => (None, 0),
    };
    let mut sinks = Sinks {
        format: args.format,
        stdout: io::stdout(),
        out,
        out_len,
        forward: forwarder(&args.output)?,
        forwarded: 0,
        output: args.output.clone(),
        select: Selection {
            min_risk: args.min_risk,
            suppressed: args.show_suppressed,
        },
        status: io::stderr().is_terminal() && !args.quiet,
        metrics: args.metrics.clone(),
    };
    // `--once` reads what is there as one backlog and ends it: put in order as a whole, as
    // `scan` does, whatever the spread of the files' times.
    let lateness = if args.once {
        Lateness::Unbounded
    } else {
        Lateness::Bounded(args.lateness)
    };
    let quiet = args.quiet;
    let stream = Stream::new(
        &rules,
        &tuning,
        lateness,
        saved.alerts.clone(),
        state.is_some(),
        Box::new(move |d| say(quiet, d)),
    );
    let pace = Pace {
        poll: Duration::try_from(args.poll).unwrap_or(Duration::from_secs(2)),
        once: args.once,
        stop,
    };
    // Delivery files are read as `scan` reads them: on every core, through the prefilter.
    let plan = ReadPlan::new(&rules, PrefilterMode::Auto);
    let (urls, paths): (Vec<String>, Vec<String>) = args
        .paths
        .iter()
        .cloned()
        .partition(|p| snapback_objstore::StoreUrl::looks_like(p));
    let sources = urls
        .iter()
        .map(|u| crate::watch_store::StorePrefix::open(u))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut w = Watch::new(stream, &mut sinks, state);
    w.watch_objects(sources);
    plan.with_parallel(|parallel| w.run(&paths, &saved, pace, parallel))?;
    let stream = w.stream;
    summarise(&stream, &sinks, args.once);
    let failed = match &mut sinks.forward {
        Some(f) => finish_forward(f, &sinks.output, sinks.forwarded)?,
        None => false,
    };
    Ok(match failed {
        true => ExitCode::from(crate::exit::UNDELIVERED),
        false => ExitCode::SUCCESS,
    })
}

/// What the run read and emitted, on stderr.
fn summarise(stream: &Stream<'_>, sinks: &Sinks, once: bool) {
    if sinks.status {
        eprintln!();
    }
    let st = stream.stats();
    let (emitted, retracted) = stream.emitted();
    crate::terminal::summary(
        stream.summary(),
        snapback_ingest::DEFAULT_DIAGNOSTICS_PER_REASON,
        false,
    );
    eprintln!(
        "snapback watch: {emitted} alert revisions emitted, {retracted} retracted; {} late events (behind what was already correlated of their account: counted, not correlated), {} duplicates",
        st.late_events, st.duplicates
    );
    if st.unusable > 0 {
        eprintln!(
            "snapback watch: {} more records matched a rule but took no state: failed or dry-run calls that no rule they matched can use (each delivery counted)",
            st.unusable
        );
    }
    if !once {
        eprintln!(
            "snapback watch: stopped with {} open sequences; they are rebuilt from the inputs on the next run",
            st.open_sequences
        );
    }
}

fn say(quiet: bool, d: &Diagnostic) {
    if !quiet {
        crate::terminal::diagnostic(d);
    }
}
