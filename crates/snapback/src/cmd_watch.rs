//! `snapback watch`: detection on logs as they arrive.
//!
//! Sources (watch_source.rs) send units (a complete delivery file, a batch of appended lines)
//! to this loop, which owns the streaming detector. After each batch of units it releases what
//! the watermark passed, finds the alerts, emits the new and changed ones as revisions, and
//! (with `--state`) commits what a restart needs: first the revisions are written to `--out`
//! and flushed to disk, then one state transaction records its length, the inputs read and the
//! revisions emitted. A restart truncates `--out` to the committed length, reads again the
//! inputs that can still matter to an alert that is not final (without emitting), and goes on.

use std::collections::{HashMap, HashSet};
use std::fs::{File, OpenOptions};
use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::{Args, ValueEnum};
use jiff::{SignedDuration, Timestamp};
use snapback_correlate::order::Lateness;
use snapback_correlate::stream::{Emission, Revisions, Watcher};
use snapback_correlate::{Alert, DetectOptions, Detector};
use snapback_ingest::{Diagnostic, Event, IngestOptions, ParallelOptions, Summary};
use snapback_rules::RuleSet;

use crate::cmd_output::{finish_forward, forwarder, write_format_with, OutputArgs};
use crate::cmd_scan::{load_rules, load_tuning};
use crate::watch_source::{self as source, Pace, Resume, Unit};
use crate::watch_state::{record_key, Commit, FileDone, State, StoredRecord, StreamPos};
use snapback_output::Forwarder;
use snapback_pipeline::{prepare, PrefilterMode, ReadPlan, Selection};

#[derive(Args)]
pub struct WatchArgs {
    /// Delivery directories (new files are read once complete), JSON-lines files (followed
    /// like `tail -F`), or `-` for stdin.
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
}

impl Sinks {
    fn write(&mut self, emissions: &[Emission], select: Selection) -> anyhow::Result<()> {
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
                    let json = serde_json::to_string(alert.as_ref()).map_err(io::Error::other)?;
                    lines.push(with_revision(&json, *revision, changed));
                    alerts.push(alert);
                }
                Emission::Retracted { alert_id, revision } => lines.push(format!(
                    "{{\"revision\":{revision},\"alert_id\":{},\"retracted\":true}}",
                    serde_json::Value::from(alert_id.as_str())
                )),
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
                write_format_with(&self.output, name, &alerts, &mut o)?;
            }
        }
        o.flush()?;
        if let Some(f) = &mut self.forward {
            for a in &alerts {
                f.send(a)?;
            }
            self.forwarded += alerts.len() as u64;
            f.flush()?;
        }
        Ok(())
    }
}

/// The alert's JSON with its revision first when it is above 1 (revision 1 is written as
/// `scan` writes the alert).
///
/// A later revision also names, in `changed`, the event ids of the evidence it adds.
fn with_revision(json: &str, revision: u32, changed: &[String]) -> String {
    if revision <= 1 {
        return json.to_owned();
    }
    let changed = serde_json::Value::from(changed.to_vec());
    format!(
        "{{\"revision\":{revision},\"changed\":{changed},{}",
        &json[1..]
    )
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

struct Figures {
    started: Instant,
    files: u64,
    batches: u64,
    emitted: u64,
    retracted: u64,
    status: bool,
    metrics: Option<PathBuf>,
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
    let state = args.state.as_deref().map(State::open).transpose()?;
    let saved = match &state {
        Some(s) => s.load()?,
        None => Default::default(),
    };
    let fingerprint = rules_fingerprint(&rules, args.config.as_deref())?;
    if saved.rules.as_ref().is_some_and(|old| *old != fingerprint) {
        bail!(
            "the state in {} was made with other rules or another config; use a new --state directory",
            args.state.as_deref().unwrap_or(Path::new("")).display()
        );
    }
    let out_name = args.out.as_ref().map(|p| p.display().to_string());
    if let Some(s) = &state {
        s.set_identity(out_name.as_deref(), &fingerprint)?;
    }
    let (out, out_len) = match &args.out {
        Some(p) => {
            let committed = state.as_ref().map(|_| saved.out_len);
            let (f, len) = open_out(p, committed)?;
            (Some(f), len)
        }
        None => (None, 0),
    };
    let options = tuning.detect_options(DetectOptions::default());
    // `--once` reads what is there as one backlog and ends it: put in order as a whole, as
    // `scan` does, whatever the spread of the files' times.
    let lateness = if args.once {
        Lateness::Unbounded
    } else {
        Lateness::Bounded(args.lateness)
    };
    let watcher = Watcher::new(&rules, &tuning, options, lateness);
    let mut w = WatchLoop {
        rules: &rules,
        watcher,
        revisions: Revisions::restore(saved.alerts.clone()),
        sinks: Sinks {
            format: args.format,
            stdout: io::stdout(),
            out,
            out_len,
            forward: forwarder(&args.output)?,
            forwarded: 0,
            output: args.output.clone(),
        },
        state,
        commit: Commit::default(),
        summary: Summary::default(),
        quiet: args.quiet,
        select: Selection {
            min_risk: args.min_risk,
            suppressed: args.show_suppressed,
        },
        figures: Figures {
            started: Instant::now(),
            files: 0,
            batches: 0,
            emitted: 0,
            retracted: 0,
            status: io::stderr().is_terminal() && !args.quiet,
            metrics: args.metrics.clone(),
        },
    };
    let pace = Pace {
        poll: Duration::try_from(args.poll).unwrap_or(Duration::from_secs(2)),
        once: args.once,
        stop: stop.clone(),
    };
    // Delivery files are read as `scan` reads them: on every core, through the prefilter.
    let plan = ReadPlan::new(&rules, PrefilterMode::Auto);
    let failed = plan.with_parallel(|parallel| -> anyhow::Result<bool> {
        let (rx, sources) = w.start(&args.paths, &saved, pace, parallel)?;
        w.run_loop(&rx, sources, args.once, &stop, parallel)?;
        w.finish(args.once)
    })?;
    Ok(match failed {
        true => ExitCode::from(crate::exit::UNDELIVERED),
        false => ExitCode::SUCCESS,
    })
}

/// A digest of the rules and the config: state made under others means nothing here.
fn rules_fingerprint(rules: &RuleSet, config: Option<&Path>) -> anyhow::Result<String> {
    use std::hash::{Hash, Hasher};
    #[allow(deprecated)]
    let mut h = std::hash::SipHasher::new_with_keys(1, 2);
    for d in &rules.detections {
        (&d.id, &d.title, d.meta.risk).hash(&mut h);
    }
    for c in &rules.correlations {
        (&c.id, &c.title, c.meta.risk).hash(&mut h);
    }
    for f in &rules.filters {
        (&f.id, &f.title).hash(&mut h);
    }
    if let Some(p) = config {
        std::fs::read(p)?.hash(&mut h);
    }
    Ok(format!("{:016x}", h.finish()))
}

struct WatchLoop<'r> {
    rules: &'r RuleSet,
    watcher: Watcher<'r>,
    revisions: Revisions,
    sinks: Sinks,
    state: Option<State>,
    commit: Commit,
    summary: Summary,
    quiet: bool,
    select: Selection,
    figures: Figures,
}

impl<'r> WatchLoop<'r> {
    /// Read again what a restart needs (without emitting), then start the sources.
    fn start(
        &mut self,
        paths: &[String],
        saved: &crate::watch_state::Saved,
        pace: Pace,
        parallel: &ParallelOptions<'_>,
    ) -> anyhow::Result<(Receiver<Unit>, usize)> {
        let (tx, rx) = mpsc::channel();
        let mut sources = 0;
        if let Some(state) = &self.state {
            let rows = state.stored_records()?;
            self.restore_records(rows);
        }
        // Files whose newest event is within twice the horizon of the newest seen: the events
        // an alert that is not final can still hold.
        let newest = saved
            .files
            .values()
            .map(|f| f.newest)
            .max()
            .unwrap_or(i64::MIN);
        let reach = self.watcher.horizon().as_secs() * 2;
        for p in paths {
            let tx = tx.clone();
            let pace = pace.clone();
            if p == "-" {
                std::thread::spawn(move || source::stdin_lines(pace, tx));
            } else if Path::new(p).is_dir() {
                let mut replay: Vec<&String> = saved
                    .files
                    .iter()
                    .filter(|(f, d)| {
                        Path::new(f).starts_with(p) && d.newest >= newest.saturating_sub(reach)
                    })
                    .map(|(f, _)| f)
                    .collect();
                replay.sort();
                let replay: Vec<PathBuf> = replay.into_iter().map(PathBuf::from).collect();
                self.read_files(&replay, parallel);
                let done: HashSet<PathBuf> = saved
                    .files
                    .keys()
                    .filter(|f| Path::new(f).starts_with(p))
                    .map(PathBuf::from)
                    .collect();
                let dir = PathBuf::from(p);
                std::thread::spawn(move || source::watch_dir(dir, done, pace, tx));
            } else {
                let from = Self::resume_stream(p, saved.streams.get(p));
                let path = PathBuf::from(p);
                std::thread::spawn(move || source::follow(path, from, pace, tx));
            }
            sources += 1;
        }
        self.watcher.release();
        // What the replay found was emitted before the restart (or is emitted now if it was not).
        self.cycle()?;
        Ok((rx, sources))
    }

    /// Where to go on in a followed file: where the last run committed, when it is still the
    /// same file (the records before that are restored from the state, `restore_records`);
    /// from its start when it was rotated or cut while the watcher was away.
    fn resume_stream(name: &str, pos: Option<&StreamPos>) -> Resume {
        let Some(pos) = pos else {
            return Resume::default();
        };
        let Ok(meta) = std::fs::metadata(name) else {
            return Resume::default();
        };
        use std::os::unix::fs::MetadataExt;
        if meta.ino() != pos.inode || meta.len() < pos.offset {
            return Resume::default();
        }
        Resume {
            offset: pos.offset,
            record: pos.records,
            inode: pos.inode,
        }
    }

    fn run_loop(
        &mut self,
        rx: &Receiver<Unit>,
        mut sources: usize,
        once: bool,
        stop: &AtomicBool,
        parallel: &ParallelOptions<'_>,
    ) -> anyhow::Result<()> {
        while sources > 0 && !stop.load(Ordering::Relaxed) {
            let unit = match rx.recv_timeout(Duration::from_millis(200)) {
                Ok(u) => u,
                Err(RecvTimeoutError::Timeout) => continue,
                Err(RecvTimeoutError::Disconnected) => break,
            };
            let mut next = Some(unit);
            // Everything waiting is one batch: one read of its files, one cycle, one commit.
            let mut files = Vec::new();
            while let Some(u) = next {
                if matches!(u, Unit::Ended) {
                    sources -= 1;
                } else {
                    self.take(u, &mut files);
                }
                next = rx.try_recv().ok();
            }
            self.take_files(files, parallel);
            if once && sources == 0 {
                break;
            }
            self.watcher.release();
            self.cycle()?;
        }
        Ok(())
    }

    fn take(&mut self, unit: Unit, files: &mut Vec<(PathBuf, u64, i128)>) {
        self.figures.batches += 1;
        match unit {
            Unit::File {
                path,
                size,
                mtime_ns,
            } => files.push((path, size, mtime_ns)),
            Unit::Lines {
                name,
                bytes,
                offset,
                record,
                inode,
            } => {
                self.read_lines(&name, &bytes, offset, record);
                let records = source::count_records(&bytes);
                self.commit.streams.retain(|(n, _)| *n != name);
                self.commit.streams.push((
                    name,
                    StreamPos {
                        offset: offset + bytes.len() as u64,
                        records: record + records,
                        inode,
                    },
                ));
            }
            Unit::Ended => {}
        }
    }

    /// Read a batch of delivery files and record them as done.
    fn take_files(&mut self, files: Vec<(PathBuf, u64, i128)>, parallel: &ParallelOptions<'_>) {
        if files.is_empty() {
            return;
        }
        let paths: Vec<PathBuf> = files.iter().map(|(p, ..)| p.clone()).collect();
        let newest = self.read_files(&paths, parallel);
        self.figures.files += files.len() as u64;
        for (path, size, mtime_ns) in files {
            let name = path.display().to_string();
            let newest = newest.get(name.as_str()).copied().unwrap_or(i64::MIN);
            self.commit.files.push((
                name,
                FileDone {
                    size,
                    mtime_ns,
                    newest,
                },
            ));
        }
    }

    /// Read delivery files into the detector, as `scan` reads them; the newest event time
    /// (seconds) of each file that had an event the detector keeps.
    fn read_files(
        &mut self,
        paths: &[PathBuf],
        parallel: &ParallelOptions<'_>,
    ) -> HashMap<String, i64> {
        let mut newest: HashMap<String, i64> = HashMap::new();
        let quiet = self.quiet;
        let watcher = &mut self.watcher;
        let s = snapback_ingest::read_files_parallel(
            paths,
            &IngestOptions::default(),
            parallel,
            &prepare(self.rules),
            &mut |e, prepared| {
                // An archive member is `archive.zip!member`: the file is the archive.
                let file = e.provenance.file.split('!').next().unwrap_or_default();
                let t = e.time.instant.as_second();
                let n = newest.entry(file.to_owned()).or_insert(t);
                *n = (*n).max(t);
                watcher.observe_prepared(e, prepared);
            },
            &mut |d| say(quiet, d),
        );
        self.summary.merge(s);
        newest
    }

    fn read_lines(&mut self, name: &str, bytes: &[u8], offset: u64, record: u64) {
        let mut events = Vec::new();
        let quiet = self.quiet;
        let s = snapback_ingest::read_bytes(
            name,
            bytes,
            &IngestOptions::default(),
            &mut |mut e: Event| {
                e.provenance.record += record;
                e.provenance.offset += offset;
                events.push(e)
            },
            &mut |d: &Diagnostic| {
                let mut d = d.clone();
                d.record = d.record.map(|r| r + record);
                d.offset = d.offset.map(|o| o + offset);
                say(quiet, &d)
            },
        );
        self.summary.merge(s);
        self.observe(events, true);
    }

    /// Events of a followed file or stdin into the detector; with `--state`, the records that
    /// take state are also kept for the next commit (`store`), since the input may be gone
    /// when a restart needs them.
    fn observe(&mut self, events: Vec<Event>, store: bool) -> i64 {
        let mut newest = i64::MIN;
        let store = store && self.state.is_some();
        for mut e in events {
            newest = newest.max(e.time.instant.as_second());
            let matched = self.rules.matches(&e);
            if Detector::keeps(&e, &matched) {
                let raw = store.then(|| e.raw_json());
                let prepared = Detector::prepare(self.rules, &mut e, matched);
                if let Some(raw) = raw.filter(|_| prepared.takes_state(&e)) {
                    let p = &e.provenance;
                    let key = record_key(e.time.instant, &p.file, p.record);
                    let file = p.file.to_string();
                    let (record, offset) = (p.record, p.offset);
                    let row = StoredRecord {
                        file,
                        record,
                        offset,
                        raw,
                    };
                    self.commit.records.push((key, row));
                }
                self.watcher.observe_prepared(e, prepared);
            }
        }
        newest
    }

    /// The stored records of followed files and stdin, decoded again into the detector (not
    /// stored again: they are in the state already).
    fn restore_records(&mut self, rows: Vec<StoredRecord>) {
        let mut events = Vec::new();
        for row in rows {
            let Ok(value) = serde_json::from_str(&row.raw) else {
                continue;
            };
            let prov = snapback_ingest::Provenance {
                file: row.file.as_str().into(),
                record: row.record,
                offset: row.offset,
            };
            events.extend(
                snapback_ingest::decode_record(value, &prov)
                    .into_iter()
                    .filter_map(|d| match d {
                        snapback_ingest::Decoded::Event(e) => Some(*e),
                        _ => None,
                    }),
            );
        }
        self.observe(events, false);
    }

    /// Emit what changed, then commit.
    fn cycle(&mut self) -> anyhow::Result<()> {
        let alerts = self.watcher.alerts();
        let emissions = self.revisions.diff(&alerts, &self.watcher);
        for e in &emissions {
            match e {
                Emission::Alert { .. } => self.figures.emitted += 1,
                Emission::Retracted { .. } => self.figures.retracted += 1,
            }
        }
        match self.sinks.write(&emissions, self.select) {
            Err(e)
                if e.downcast_ref::<io::Error>()
                    .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe) => {}
            r => r.context("writing alerts")?,
        }
        let wm = self.watcher.watermark();
        if let Some(w) = wm.filter(|w| *w < Timestamp::MAX) {
            let week = SignedDuration::from_hours(24 * 7);
            self.revisions
                .forget_before(w.checked_sub(week).unwrap_or(Timestamp::MIN));
        }
        let mut commit = std::mem::take(&mut self.commit);
        commit.out_len = self.sinks.out_len;
        // Stored records leave with the detector's retained events (`Watcher::release`).
        if let Some(w) = wm.filter(|w| *w < Timestamp::MAX) {
            let keep_from = w
                .checked_sub(self.watcher.horizon() * 2)
                .unwrap_or(Timestamp::MIN);
            commit.forget_records_before = Some(record_key(keep_from, "", 0));
        }
        commit.alerts = self.revisions.take_dirty();
        commit.watermark = wm.map(|w| w.to_string());
        if let Some(s) = &self.state {
            s.commit(&commit)?;
        }
        self.status()?;
        Ok(())
    }

    fn figures_json(&self) -> serde_json::Value {
        let st = self.watcher.stats();
        let secs = self.figures.started.elapsed().as_secs_f64().max(1e-9);
        serde_json::json!({
            "files": self.figures.files,
            "events": self.summary.events,
            "events_per_second": (self.summary.events as f64 / secs).round(),
            "watermark": self.watcher.watermark().map(|w| w.to_string()),
            "watermark_lag_seconds": self.watcher.watermark()
                .filter(|w| *w < Timestamp::MAX)
                .map(|w| Timestamp::now().duration_since(w).as_secs()),
            "late_events": st.late_events,
            "duplicates": st.duplicates,
            "unusable_events": st.unusable,
            "buffered_events": st.buffered,
            "retained_events": st.retained,
            "alert_revisions": self.figures.emitted,
            "retractions": self.figures.retracted,
        })
    }

    fn status(&self) -> anyhow::Result<()> {
        let f = self.figures_json();
        if let Some(path) = &self.figures.metrics {
            let tmp = path.with_extension("tmp");
            std::fs::write(&tmp, serde_json::to_vec_pretty(&f)?)?;
            std::fs::rename(&tmp, path)?;
        }
        if self.figures.status {
            eprint!(
                "\r\x1b[2Ksnapback watch: {} files, {} events ({}/s), watermark {}, {} late, {} alert revisions",
                f["files"], f["events"], f["events_per_second"],
                f["watermark"].as_str().unwrap_or("-"), f["late_events"], f["alert_revisions"]
            );
        }
        Ok(())
    }

    /// End the run; whether the forward's outcome fails it (`finish_forward`).
    fn finish(mut self, once: bool) -> anyhow::Result<bool> {
        if once {
            self.watcher.end_of_input();
        }
        self.watcher.release();
        self.cycle()?;
        if self.figures.status {
            eprintln!();
        }
        let st = self.watcher.stats();
        crate::terminal::summary(
            &self.summary,
            snapback_ingest::DEFAULT_DIAGNOSTICS_PER_REASON,
            false,
        );
        eprintln!(
            "snapback watch: {} alert revisions emitted, {} retracted; {} late events (behind what was already correlated of their account: counted, not correlated), {} duplicates",
            self.figures.emitted, self.figures.retracted, st.late_events, st.duplicates
        );
        if st.unusable > 0 {
            eprintln!(
                "snapback watch: {} more records matched a rule but took no state: failed or dry-run calls that no rule they matched can use (each delivery counted)",
                st.unusable
            );
        }
        if !once {
            eprintln!("snapback watch: stopped; open sequences are rebuilt from the inputs on the next run");
        }
        let sinks = &mut self.sinks;
        match &mut sinks.forward {
            Some(f) => finish_forward(f, &sinks.output, sinks.forwarded),
            None => Ok(false),
        }
    }
}

fn say(quiet: bool, d: &Diagnostic) {
    if !quiet {
        crate::terminal::diagnostic(d);
    }
}
