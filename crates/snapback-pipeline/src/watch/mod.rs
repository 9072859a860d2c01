//! Continuous detection over files (`snapback watch`): sources, a [`Stream`], sinks and a redb
//! checkpoint, in one loop.
//!
//! Sources ([`source`]: a delivery directory, a followed file, stdin) run on their own threads
//! and send [`Unit`]s. The loop takes everything waiting as one batch, reads it into the
//! [`Stream`], and runs one cycle: the revisions go to the [`Sink`], then (with a state
//! directory) one transaction records what the sink made durable, the inputs read and the
//! revisions emitted ([`state`]). A restart truncates the exactly-once sink to its committed
//! length, reads again what can still matter to an alert that is not final, without emitting,
//! and goes on. The command line only parses flags, builds the sink and prints.

mod engine;
pub mod objects;
pub mod source;
pub mod state;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::Duration;

use snapback_correlate::stream::Emission;
use snapback_ingest::ParallelOptions;
use snapback_rules::RuleSet;

pub use engine::{Cycle, Figures, OnDiagnostic, Stream};
pub use objects::{ObjectSource, Resumed, Retry};
pub use source::{Pace, Resume, Unit};
pub use state::{Saved, State, StoredRecord};

use crate::PipelineError;

/// Where a cycle's revisions go, in the order they were decided.
pub trait Sink {
    /// Write them; when this returns, what the sink calls durable is durable.
    fn write(&mut self, emissions: &[Emission]) -> Result<(), PipelineError>;
    /// The length of the exactly-once file sink after the last write (0 without one): the
    /// checkpoint records it, and a restart truncates the file back to it.
    fn durable_len(&self) -> u64;
    /// After each cycle's commit, with the running figures (a status line, a metrics file).
    fn figures(&mut self, _figures: &Figures) -> Result<(), PipelineError> {
        Ok(())
    }
}

/// A digest of the rules and the config file's bytes: state made under others means nothing.
pub fn rules_fingerprint(rules: &RuleSet, config: Option<&[u8]>) -> String {
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
    if let Some(bytes) = config {
        bytes.hash(&mut h);
    }
    format!("{:016x}", h.finish())
}

/// Open the state in `dir` for rules with `fingerprint` and the `--out` file `out`: what the
/// last commit holds, or an error when it was made under other rules.
pub fn open_state(
    dir: &Path,
    fingerprint: &str,
    out: Option<&str>,
) -> Result<(State, Saved), PipelineError> {
    let state = State::open(dir)?;
    let saved = state.load()?;
    if saved.rules.as_ref().is_some_and(|old| old != fingerprint) {
        return Err(PipelineError::RulesChanged { dir: dir.into() });
    }
    state.set_identity(out, fingerprint)?;
    Ok((state, saved))
}

/// The watch loop: a stream, its sink and its checkpoint.
pub struct Watch<'r, 's> {
    pub stream: Stream<'r>,
    sink: &'s mut dyn Sink,
    state: Option<State>,
    /// Watched store prefixes, beside the paths.
    objects: Vec<Arc<dyn ObjectSource>>,
    /// Objects the loop could not read, handed back to their watchers.
    retry: Retry,
}

impl<'r, 's> Watch<'r, 's> {
    pub fn new(stream: Stream<'r>, sink: &'s mut dyn Sink, state: Option<State>) -> Self {
        Watch {
            stream,
            sink,
            state,
            objects: Vec::new(),
            retry: Retry::default(),
        }
    }

    /// Also watch these store prefixes (`s3://…`, `az://…`, `gs://…`) for new objects.
    pub fn watch_objects(&mut self, sources: Vec<Arc<dyn ObjectSource>>) {
        self.objects = sources;
    }

    /// Read `paths` until the sources end (`pace.once`) or `stop` is set, then end the run:
    /// under `once`, the input ends and every window is flushed; otherwise open sequences
    /// carry over to the next run through the checkpoint.
    pub fn run(
        &mut self,
        paths: &[String],
        saved: &Saved,
        pace: Pace,
        parallel: &ParallelOptions<'_>,
    ) -> Result<(), PipelineError> {
        let once = pace.once;
        let stop = pace.stop.clone();
        let (rx, sources) = self.start(paths, saved, pace, parallel)?;
        self.run_loop(&rx, sources, once, &stop, parallel)?;
        if once {
            self.stream.end_of_input();
        }
        self.cycle()
    }

    /// Read again what a restart needs (without emitting), then start the sources.
    fn start(
        &mut self,
        paths: &[String],
        saved: &Saved,
        pace: Pace,
        parallel: &ParallelOptions<'_>,
    ) -> Result<(Receiver<Unit>, usize), PipelineError> {
        let (tx, rx) = mpsc::channel();
        if let Some(state) = &self.state {
            let rows = state.stored_records()?;
            self.stream.restore(rows);
        }
        // Files whose newest event is within twice the horizon of the newest seen: the events
        // an alert that is not final can still hold.
        let newest = saved
            .files
            .values()
            .map(|f| f.newest)
            .chain(saved.objects.values().map(|o| o.newest))
            .max()
            .unwrap_or(i64::MIN);
        let reach = self.stream.horizon().as_secs() * 2;
        for p in paths {
            let tx = tx.clone();
            let pace = pace.clone();
            if p == "-" {
                std::thread::spawn(move || source::stdin_lines(pace, tx));
            } else if Path::new(p).is_dir() {
                let under = |f: &&String| Path::new(f.as_str()).starts_with(p);
                let mut again: Vec<PathBuf> = saved
                    .files
                    .iter()
                    .filter(|(f, d)| under(f) && d.newest >= newest.saturating_sub(reach))
                    .map(|(f, _)| PathBuf::from(f))
                    .collect();
                again.sort();
                self.stream.read_files(&again, parallel);
                let done: HashSet<PathBuf> = saved
                    .files
                    .keys()
                    .filter(under)
                    .map(PathBuf::from)
                    .collect();
                let dir = PathBuf::from(p);
                std::thread::spawn(move || source::watch_dir(dir, done, pace, tx));
            } else {
                let from = source::resume_at(p, saved.streams.get(p));
                let path = PathBuf::from(p);
                std::thread::spawn(move || source::follow(path, from, pace, tx));
            }
        }
        for source in self.objects.clone() {
            let resumed =
                self.resume_objects(&source, saved, newest.saturating_sub(reach), parallel);
            let (tx, pace, retry) = (tx.clone(), pace.clone(), self.retry.clone());
            std::thread::spawn(move || objects::watch_prefix(source, resumed, pace, tx, retry));
        }
        // What was read again was emitted before the restart (or is emitted now if not).
        self.cycle()?;
        Ok((rx, paths.len() + self.objects.len()))
    }

    /// What a store prefix's watcher starts from; its objects whose newest event is at or
    /// after `from` are read again (without emitting), as delivery files are.
    fn resume_objects(
        &mut self,
        source: &Arc<dyn ObjectSource>,
        saved: &Saved,
        from: i64,
        parallel: &ParallelOptions<'_>,
    ) -> Resumed {
        let root = source.url_of(source.prefix());
        let mut resumed = Resumed::default();
        let mut again = Vec::new();
        for (url, done) in saved.objects.iter().filter(|(u, _)| u.starts_with(&root)) {
            let seen = objects::Seen {
                tag: done.tag.clone(),
                key: done.key.clone(),
            };
            resumed.read.insert(url.clone(), seen);
            if done.newest >= from {
                again.push(done.object(url));
            }
        }
        again.sort_by(|a, b| a.key.cmp(&b.key));
        let (_, failed) = self.stream.read_objects(source, again, parallel);
        for url in failed {
            resumed.read.remove(&url);
        }
        resumed.partitions = saved
            .partitions
            .iter()
            .filter(|(u, _)| u.starts_with(&root))
            .map(|(u, p)| (u.clone(), p.clone()))
            .collect();
        resumed
    }

    fn run_loop(
        &mut self,
        rx: &Receiver<Unit>,
        mut sources: usize,
        once: bool,
        stop: &AtomicBool,
        parallel: &ParallelOptions<'_>,
    ) -> Result<(), PipelineError> {
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
                match u {
                    Unit::Ended => sources -= 1,
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
                    } => self.stream.lines(name, &bytes, offset, record, inode),
                    Unit::Objects {
                        source,
                        objects,
                        problems,
                        partitions,
                    } => {
                        let failed = self
                            .stream
                            .objects_done(&source, objects, problems, partitions, parallel);
                        hand_back(&self.retry, failed);
                    }
                    Unit::Forget {
                        files,
                        objects,
                        partitions,
                    } => self.stream.forget(files, objects, partitions),
                }
                next = rx.try_recv().ok();
            }
            self.stream.files_done(files, parallel);
            if once && sources == 0 {
                break;
            }
            self.cycle()?;
        }
        Ok(())
    }

    /// One cycle: revisions to the sink, then one commit covering them.
    fn cycle(&mut self) -> Result<(), PipelineError> {
        let Cycle {
            emissions,
            mut commit,
        } = self.stream.cycle();
        self.sink.write(&emissions)?;
        commit.out_len = self.sink.durable_len();
        if let Some(s) = &self.state {
            s.commit(&commit)?;
        }
        self.sink.figures(&self.stream.figures())
    }
}

/// Objects that could not be read go back to their watcher, to be offered again.
fn hand_back(retry: &Retry, failed: Vec<String>) {
    if failed.is_empty() {
        return;
    }
    if let Ok(mut r) = retry.lock() {
        r.extend(failed);
    }
}
