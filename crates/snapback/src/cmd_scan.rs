//! `snapback scan` and `snapback demo`: detection over audit logs.

use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, ValueEnum};
use snapback_correlate::{Report, Severity, Tuning};
use snapback_ingest::{IngestOptions, Input, Summary, DEFAULT_DIAGNOSTICS_PER_REASON};
use snapback_output::{text, write_jsonl, write_table};
use snapback_pipeline::{Batch, BatchRun, PrefilterMode, Selection};
use snapback_rules::RuleSet;

use crate::cmd_output::{forward, forwarder, write_format_with, write_report, OutputArgs};
use crate::inputs::WindowArgs;
use snapback_output::Forwarder;

#[derive(Args)]
pub struct ScanArgs {
    /// Files or directories to scan (`-` for stdin), or where the clouds deliver logs:
    /// `s3://bucket/prefix`, `az://container/prefix`, `gs://bucket/prefix`.
    #[arg(required = true, value_name = "PATH|URL")]
    pub paths: Vec<String>,
    #[command(flatten)]
    pub common: ScanOptions,
}

/// Options shared by `scan` and `demo`.
#[derive(Args, Clone)]
pub struct ScanOptions {
    /// Output format: a table for people, one JSON alert per line for machines.
    #[arg(long, value_enum, default_value_t = ScanFormat::Table)]
    pub format: ScanFormat,
    /// Load Sigma rules (detections, correlations, filters) from this directory too.
    #[arg(long = "rules", value_name = "DIR")]
    pub rules: Vec<PathBuf>,
    /// Do not load the built-in rule pack.
    #[arg(long)]
    pub no_builtin: bool,
    /// Tuning: allowlists, maintenance windows and risk overrides (TOML).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Only report alerts with at least this risk score.
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub min_risk: u8,
    /// Also print suppressed alerts, with who suppressed them and why.
    #[arg(long)]
    pub show_suppressed: bool,
    /// Exit non-zero if any input was skipped or repaired.
    #[arg(long)]
    pub strict: bool,
    /// Do not print per-record diagnostics (the summary still counts them).
    #[arg(long, short)]
    pub quiet: bool,
    /// Print at most this many diagnostics of each reason (e.g. `invalid-json`); the summary
    /// counts the others. Bounds memory too.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_DIAGNOSTICS_PER_REASON)]
    pub max_diagnostics: usize,
    #[command(flatten)]
    pub window: WindowArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum ScanFormat {
    /// A readable listing for the terminal.
    Table,
    /// One snapback alert per line, as JSON.
    Jsonl,
    /// One OCSF Detection Finding (class 2004) per line.
    Ocsf,
    /// One LEEF event per line (LEEF 2.0; `--leef-version 1` for 1.0), for QRadar.
    Leef,
    /// One ArcSight CEF event per line.
    Cef,
}

pub fn run(args: ScanArgs) -> anyhow::Result<ExitCode> {
    let inputs = crate::inputs::parse(&args.paths, args.common.window.window()?)?;
    scan(&inputs, &args.common)
}

/// The bundled sample data: `examples/` of the source tree.
pub fn demo(options: ScanOptions) -> anyhow::Result<ExitCode> {
    let dir = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/atomic"
    ));
    // Show a clean path: the report and the evidence name it.
    let dir = dir.canonicalize().unwrap_or(dir);
    if !dir.is_dir() {
        anyhow::bail!(
            "the bundled sample data is not at {}; run `snapback simulate --test all --out DIR` and `snapback scan DIR`",
            dir.display()
        );
    }
    eprintln!(
        "snapback demo: scanning the bundled sample data in {} (the seed's four Atomic Red Team tests, a Google Cloud revert and benign noise)",
        dir.display()
    );
    scan(&[Input::Path(dir)], &options)
}

fn scan(inputs: &[Input], opts: &ScanOptions) -> anyhow::Result<ExitCode> {
    // What the operator got wrong is said before the input is read, not after.
    let tuning = load_tuning(opts.config.as_deref())?;
    let forward = forwarder(&opts.output)?;
    check_report_path(opts.output.report.as_deref())?;
    let rules = load_rules(!opts.no_builtin, &opts.rules);
    // The prefilter skips records no rule can match, except where every record must be read:
    // --strict (every problem counts) and --report (it states the events read and their span).
    let prefilter = PrefilterMode::for_run(opts.strict, opts.output.report.is_some());
    let batch = Batch {
        rules: &rules,
        tuning: &tuning,
        prefilter,
        ingest: IngestOptions {
            max_diagnostics_per_reason: opts.max_diagnostics,
            window: opts.window.window()?,
            ..IngestOptions::default()
        },
    };
    let progress = std::cell::RefCell::new(crate::progress::Bar::new());
    let run = batch.run(
        inputs,
        &mut |d| {
            if !opts.quiet {
                progress.borrow().suspend(|| crate::terminal::diagnostic(d));
            }
        },
        &mut |p| progress.borrow_mut().update(p),
    );
    progress.borrow_mut().finish();
    deliver(inputs, opts, &rules, run, forward)
}

/// `--report FILE` can be written: its folder exists.
fn check_report_path(report: Option<&std::path::Path>) -> anyhow::Result<()> {
    let Some(path) = report else { return Ok(()) };
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => std::path::Path::new("."),
    };
    anyhow::ensure!(
        folder.is_dir(),
        "--report {}: the folder {} does not exist",
        path.display(),
        folder.display()
    );
    Ok(())
}

/// Write what a batch run found to the sinks the options ask for: stdout in its format, the
/// report, the forwarder; then the summary and the exit code.
fn deliver(
    inputs: &[Input],
    opts: &ScanOptions,
    rules: &RuleSet,
    BatchRun { summary, report }: BatchRun,
    mut forwarder: Option<Forwarder>,
) -> anyhow::Result<ExitCode> {
    let span = summary.time_span;
    let shown = Selection {
        min_risk: opts.min_risk,
        suppressed: opts.show_suppressed,
    }
    .pick(&report.alerts);
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let written = match opts.format {
        ScanFormat::Jsonl => write_jsonl(&mut out, &shown).map_err(anyhow::Error::from),
        ScanFormat::Table => write_table(&mut out, &shown).map_err(anyhow::Error::from),
        ScanFormat::Ocsf => write_format_with(&opts.output, "ocsf", &shown, &mut out),
        ScanFormat::Leef => write_format_with(&opts.output, "leef", &shown, &mut out),
        ScanFormat::Cef => write_format_with(&opts.output, "cef", &shown, &mut out),
    };
    match written.and_then(|_| out.flush().map_err(anyhow::Error::from)) {
        Ok(()) => {}
        Err(e)
            if e.downcast_ref::<io::Error>()
                .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe) =>
        {
            return Ok(ExitCode::SUCCESS)
        }
        Err(e) => return Err(e),
    }
    drop(out);
    print_summary(&summary, &report, rules, opts.max_diagnostics);
    let scope = snapback_output::Scope {
        inputs: inputs.iter().map(Input::name).collect(),
        events: summary.events,
        skipped: summary.skipped_total(),
        not_audit: summary.not_audit.values().sum(),
        suppressed: report.stats.suppressed,
        first_event: span.map(|(a, _)| a.to_string()),
        last_event: span.map(|(_, b)| b.to_string()),
        rules_loaded: rules.detections.len() + rules.correlations.len() + rules.filters.len(),
        generated_at: jiff::Timestamp::now().to_string(),
    };
    // The report shows suppressed alerts too (marked), so an analyst sees what tuning hid.
    let reported = Selection::with_suppressed(opts.min_risk).pick(&report.alerts);
    write_report(&opts.output, &reported, &scope)?;
    if let Some(f) = &mut forwarder {
        if forward(f, &opts.output, &shown)? {
            return Ok(ExitCode::from(crate::exit::UNDELIVERED));
        }
    }
    if opts.strict && (summary.has_problems() || !rules.problems.is_empty()) {
        return Ok(ExitCode::from(crate::exit::PROBLEMS));
    }
    Ok(ExitCode::SUCCESS)
}

/// The built-in pack (unless `builtin` is false) and the rules under `dirs`; every rule that
/// did not load is said on stderr with its file, line and reason.
pub(crate) fn load_rules(builtin: bool, dirs: &[PathBuf]) -> RuleSet {
    let rules = RuleSet::load(builtin, dirs);
    for p in &rules.problems {
        let line = p.line.map(|l| format!(":{l}")).unwrap_or_default();
        let rule = p
            .rule
            .as_deref()
            .map(|r| format!(" ({r})"))
            .unwrap_or_default();
        let said = format!("{}{line}{rule}: {}", p.file, p.message);
        eprintln!("snapback: rule not loaded: {}", text::terminal(&said));
    }
    rules
}

/// The tuning of `--config`, or none.
pub(crate) fn load_tuning(config: Option<&std::path::Path>) -> anyhow::Result<Tuning> {
    match config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading the config file {}", path.display()))?;
            Tuning::from_toml(&text)
                .map_err(|e| anyhow::anyhow!("config file {}: {e}", path.display()))
        }
        None => Ok(Tuning::default()),
    }
}

fn print_summary(summary: &Summary, report: &Report, rules: &RuleSet, per_reason: usize) {
    let s = &report.stats;
    crate::terminal::summary(summary, per_reason, true);
    let sev: Vec<String> = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Informational,
    ]
    .iter()
    .map(|k| format!("{k} {}", s.by_severity.get(k).copied().unwrap_or(0)))
    .collect();
    eprintln!(
        "snapback: {} rules ({} detections, {} correlations, {} filters, {} not loaded); {} events matched a rule; {} duplicates ignored",
        rules.detections.len() + rules.correlations.len() + rules.filters.len(),
        rules.detections.len(),
        rules.correlations.len(),
        rules.filters.len(),
        rules.problems.len(),
        s.events_matched,
        s.duplicates
    );
    eprintln!("snapback: {} alerts ({})", s.alerts, sev.join(", "));
    if s.folded > 0 {
        eprintln!(
            "snapback: {} overlapping alerts merged into higher-ranked alerts over the same act",
            s.folded
        );
    }
    if s.suppressed > 0 {
        eprintln!("snapback: {} alerts suppressed:", s.suppressed);
        for (reason, n) in &s.suppressed_by_reason {
            eprintln!("snapback:   {n} × {reason}");
        }
    }
    if s.events_unusable > 0 {
        eprintln!(
            "snapback: {} more records matched a rule but took no state: failed or dry-run calls that no rule they matched can use (each delivery counted)",
            s.events_unusable
        );
    }
    if s.sequences_evicted > 0 {
        eprintln!(
            "snapback: {} open sequences evicted (state cap reached); some chains may be missed",
            s.sequences_evicted
        );
    }
    if s.events_evicted > 0 {
        eprintln!(
            "snapback: {} matched events evicted, oldest first (state cap reached; alerts they took part in were kept, chains never retained whole may be missed)",
            s.events_evicted
        );
    }
    if s.operations_evicted > 0 {
        eprintln!(
            "snapback: {} operations evicted, oldest first (state cap reached); some accepted calls may stay unconfirmed",
            s.operations_evicted
        );
    }
}
