//! Reading on every core, with the results of one sequential read.
//!
//! Files are independent, so they are read (decompressed, framed, prefiltered, decoded, and
//! `map`ped: rule matching, in `snapback scan`) on rayon's pool and the calling thread, each
//! thread taking the next unit when it is free (`ordered.rs`; objects of a store a batch at a
//! time, fetched ahead), and the results handed on in input order. A directory is walked, and
//! its files sized and cut into units, on a thread of its own while they are read
//! (`listing.rs`, `parallel/plan.rs`): reading starts with the first file listed. Large plain files are cut into chunks at line breaks and
//! the chunks read in parallel too; that is only right for JSON lines, where every line break
//! between records leaves the framer in the same state as at the start of a file, so each chunk
//! checks that it ended in that state. Chunks are handed on in order as soon as that is known;
//! from the first that did not (pretty-printed JSON, a container, a record broken across the
//! cut) the rest of the file is read again in one piece, from that chunk's start (the whole
//! file when it does not start as JSON). Record indices
//! and byte offsets are renumbered as if the file had been read in one piece, so events,
//! diagnostics and the summary are the same as [`read_inputs`](crate::read_inputs)' in every
//! respect, whatever the number of threads.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rayon::prelude::*;

mod plan;

use plan::{Planner, Totals};

use crate::listing::{self, walk, Listed};
use crate::ordered::{ordered_map, Window};
use crate::{
    gated, Diagnostic, Diagnostics, Event, HitSearch, IngestOptions, Input, KeySpec, Reader,
    RecordFilter, RemoteInput, RemoteObject, Summary, UNNUMBERED,
};

static NO_KEYS: KeySpec = KeySpec::Nothing;

/// Knobs of [`read_inputs_parallel`].
#[derive(Clone, Copy)]
pub struct ParallelOptions<'a> {
    /// Records for which this returns false are counted (`Summary::prefiltered`) and not
    /// parsed: no diagnostic, no event.
    pub filter: Option<&'a RecordFilter<'a>>,
    /// The keys the framer must list for `filter` (the key contract: the filter's keys and the
    /// decoders' markers, [`crate::decode::marker_keys`]); it lists every key when one of them
    /// ends in a byte its fast path does not mark ([`KeySpec::needs_all`]).
    pub keys: &'a KeySpec,
    /// The framer's fast path (off only to compare).
    pub fast_framer: bool,
    /// Plain files larger than this are read in chunks of about this size.
    pub chunk_bytes: u64,
    /// Frame only the records around this search's hits (`hits.rs`; a search that stands
    /// for `filter`, `snapback_rules::Prefilter::next_hit`): records between hits are skipped
    /// unframed and events carry no record index. Files whose layout does not allow it are
    /// read as usual.
    pub hits: Option<&'a HitSearch<'a>>,
}

impl Default for ParallelOptions<'_> {
    fn default() -> Self {
        ParallelOptions {
            filter: None,
            keys: &NO_KEYS,
            fast_framer: true,
            chunk_bytes: 8 << 20,
            hits: None,
        }
    }
}

impl<'a> ParallelOptions<'a> {
    /// Give a reader the filter, key lists and fast path these options ask for.
    fn set_up<'r>(&self, reader: &mut Reader<'r>)
    where
        'a: 'r,
    {
        reader.filter = self.filter;
        reader.keys = self.keys;
        reader.fast = self.fast_framer;
        reader.hits = self.hits;
    }
}

/// How far a read has got (bytes as stored: compressed files count their compressed size).
#[derive(Debug, Clone, Copy, Default)]
pub struct Progress {
    pub files_done: u64,
    pub files_total: u64,
    pub bytes_done: u64,
    pub bytes_total: u64,
    /// Files are still being listed (a directory is read as it is walked): the totals are of
    /// the files listed so far.
    pub listing: bool,
}

enum Unit<'r> {
    File {
        path: PathBuf,
        size: u64,
    },
    Chunk {
        path: PathBuf,
        start: u64,
        len: u64,
        last: bool,
        /// The index of the unit after the file's last chunk.
        file_end: usize,
    },
    /// An object of a store, read as one stream.
    Object {
        remote: &'r dyn RemoteInput,
        object: RemoteObject,
    },
    /// What the walk of a directory could not list, reported at its place.
    Problem(Diagnostic),
}

impl Unit<'_> {
    fn bytes(&self) -> u64 {
        match self {
            Unit::File { size, .. } => *size,
            Unit::Chunk { len, .. } => *len,
            Unit::Object { object, .. } => object.size,
            Unit::Problem(_) => 0,
        }
    }

    /// The most objects a batch holds: as many as may be fetched at once, since they wait on
    /// the network, not a core. (Local files and chunks are not read in batches: `ordered.rs`.)
    fn batch_limit(&self, threads: usize) -> usize {
        match self {
            Unit::Object { remote, .. } => remote.in_flight().max(2 * threads),
            _ => 2 * threads,
        }
    }
}

struct Done<U> {
    events: Vec<(Event, U)>,
    /// The first diagnostics of each reason; the unit's summary counts the others.
    diags: Vec<Diagnostic>,
    summary: Summary,
    framed: u64,
    started_json: bool,
    clean_end: bool,
    /// Read by hits: its records carry no index, nor do those after it in the same file.
    by_hits: bool,
}

/// Like [`read_inputs`](crate::read_inputs), on every core. `map` runs on worker threads for
/// each event (`None` drops the event: the caller has no use for it; it may also drop what it
/// will not need from the event, which then waits in its batch); `on_item`, `on_diag` and
/// `on_progress` run on the calling thread, in input order. `on_diag` gets the first
/// [`IngestOptions::max_diagnostics_per_reason`] diagnostics of each reason, and the summary
/// counts the others: a unit keeps no more than that many of each while it waits in its batch.
pub fn read_inputs_parallel<U: Send>(
    inputs: &[Input],
    options: &IngestOptions,
    parallel: &ParallelOptions<'_>,
    map: &(dyn Fn(&mut Event) -> Option<U> + Sync),
    on_item: &mut dyn FnMut(Event, U),
    on_diag: &mut dyn FnMut(&Diagnostic),
    on_progress: &mut dyn FnMut(&Progress),
) -> Summary {
    let mut progress = Progress::default();
    gated(options, on_diag, |summary, on_diag| {
        for input in inputs {
            match input {
                Input::Stdin => {
                    let mut on_event = |mut e: Event| {
                        if let Some(u) = map(&mut e) {
                            on_item(e, u);
                        }
                    };
                    let mut reader = Reader::new(options, summary, &mut on_event, on_diag);
                    parallel.set_up(&mut reader);
                    reader.read_stdin();
                }
                Input::Path(path) => {
                    read_files(
                        walk(path),
                        options,
                        parallel,
                        map,
                        (summary, &mut progress),
                        on_item,
                        on_diag,
                        on_progress,
                    );
                }
                Input::Remote(remote) => {
                    let objects = crate::remote::list(remote.as_ref(), summary, on_diag);
                    let units: Vec<Unit<'_>> = objects
                        .into_iter()
                        .map(|object| Unit::Object {
                            remote: remote.as_ref(),
                            object,
                        })
                        .collect();
                    progress.files_total += units.len() as u64;
                    progress.bytes_total += units.iter().map(Unit::bytes).sum::<u64>();
                    on_progress(&progress);
                    let threads = rayon::current_num_threads().max(1);
                    let mut sink = Sink::new(summary, &mut progress, on_item, on_diag, on_progress);
                    run_batches(units, threads, options, parallel, map, &mut sink);
                }
            }
        }
    })
}

/// [`read_inputs_parallel`] over a list of files (a batch of delivery files that `watch`
/// found), on every core, in the list's order.
pub fn read_files_parallel<U: Send>(
    files: &[PathBuf],
    options: &IngestOptions,
    parallel: &ParallelOptions<'_>,
    map: &(dyn Fn(&mut Event) -> Option<U> + Sync),
    on_item: &mut dyn FnMut(Event, U),
    on_diag: &mut dyn FnMut(&Diagnostic),
) -> Summary {
    let mut progress = Progress::default();
    gated(options, on_diag, |summary, on_diag| {
        read_files(
            files.iter().cloned().map(Listed::file),
            options,
            parallel,
            map,
            (summary, &mut progress),
            on_item,
            on_diag,
            &mut |_| {},
        );
    })
}

/// Read what a walk lists (or a list of files), planned into units as it is listed, with no
/// barrier (`ordered.rs`): reading starts with the first file listed. The window is what a
/// batch held: 64 units a thread, within 64 MiB of input.
#[allow(clippy::too_many_arguments)]
fn read_files<U: Send>(
    listed: impl Iterator<Item = Listed> + Send,
    options: &IngestOptions,
    parallel: &ParallelOptions<'_>,
    map: &(dyn Fn(&mut Event) -> Option<U> + Sync),
    (summary, progress): (&mut Summary, &mut Progress),
    on_item: &mut dyn FnMut(Event, U),
    on_diag: &mut dyn FnMut(&Diagnostic),
    on_progress: &mut dyn FnMut(&Progress),
) {
    let threads = rayon::current_num_threads().max(1);
    let totals = Totals::default();
    let before = (progress.files_total, progress.bytes_total);
    let mut sink = Sink::new(summary, progress, on_item, on_diag, on_progress);
    sink.listing = Some((&totals, before));
    let window = Window {
        units: 64 * threads,
        bytes: 64 << 20,
    };
    ordered_map(
        Planner::new(listed, parallel.chunk_bytes, &totals),
        threads,
        window,
        &Unit::bytes,
        &|_, u, wanted| {
            if wanted {
                run_unit(u, options, parallel, map)
            } else {
                Done::nothing()
            }
        },
        &mut |i, u, d| {
            if !sink.unit(&u, d, options, parallel, map) {
                return 0;
            }
            match u {
                Unit::Chunk { file_end, .. } => file_end,
                _ => i + 1,
            }
        },
    );
    // The last unit may be handed on before the lister has seen that nothing follows it: the
    // listing is over now (its thread has ended), and the totals are final.
    sink.report();
}

fn run_unit<U: Send>(
    unit: &Unit<'_>,
    options: &IngestOptions,
    parallel: &ParallelOptions<'_>,
    map: &(dyn Fn(&mut Event) -> Option<U> + Sync),
) -> Done<U> {
    if matches!(unit, Unit::Problem(_)) {
        return Done::nothing();
    }
    // Read by hits first when asked (nothing is handed on when the layout does not allow it),
    // else as usual.
    if parallel.hits.is_some() {
        if let Some(done) = read_unit(unit, options, parallel, map, true) {
            return done;
        }
    }
    let usual = ParallelOptions {
        hits: None,
        ..*parallel
    };
    read_unit(unit, options, &usual, map, false).unwrap_or_else(Done::nothing)
}

impl<U> Done<U> {
    /// Nothing read (what [`read_unit`] gives when asked to read by hits and it cannot; as
    /// usual it always reads).
    fn nothing() -> Self {
        Done {
            events: Vec::new(),
            diags: Vec::new(),
            summary: Summary::default(),
            framed: 0,
            started_json: false,
            clean_end: false,
            by_hits: false,
        }
    }
}

/// Read one unit: by hits only (`None` when its layout does not allow it), or as usual.
fn read_unit<U: Send>(
    unit: &Unit,
    options: &IngestOptions,
    parallel: &ParallelOptions<'_>,
    map: &(dyn Fn(&mut Event) -> Option<U> + Sync),
    only_by_hits: bool,
) -> Option<Done<U>> {
    let mut events = Vec::new();
    let mut diags = Diagnostics::new(options.max_diagnostics_per_reason);
    let mut summary = Summary::default();
    let (framed, started_json, clean_end, by_hits);
    {
        let mut on_event = |mut e: Event| {
            if let Some(u) = map(&mut e) {
                events.push((e, u));
            }
        };
        let mut on_diag = |d: &Diagnostic| diags.push(d);
        let mut reader = Reader::new(options, &mut summary, &mut on_event, &mut on_diag);
        parallel.set_up(&mut reader);
        match (unit, only_by_hits) {
            (Unit::File { path, .. }, false) => reader.read_file(path),
            (
                Unit::Chunk {
                    path, start, len, ..
                },
                false,
            ) => reader.read_range(path, *start, *len),
            (Unit::Object { remote, object }, false) => reader.read_object(*remote, object),
            (Unit::Problem(_), false) => {}
            (unit, true) => {
                if !reader.read_unit_by_hits(unit) {
                    return None;
                }
            }
        }
        framed = reader.framed;
        started_json = reader.started_json;
        clean_end = reader.clean_end;
        by_hits = reader.by_hits;
    }
    let (diags, not_kept) = diags.into_parts();
    summary.count_not_shown(&not_kept);
    Some(Done {
        events,
        diags,
        summary,
        framed,
        started_json,
        clean_end,
        by_hits,
    })
}

/// Where the results of units are handed on, in input order.
struct Sink<'s, U> {
    summary: &'s mut Summary,
    progress: &'s mut Progress,
    on_item: &'s mut dyn FnMut(Event, U),
    on_diag: &'s mut dyn FnMut(&Diagnostic),
    on_progress: &'s mut dyn FnMut(&Progress),
    /// The chunked file being handed on (its chunks come in order, from the one at 0): the
    /// records handed on so far, and whether the rest of it was read again in one piece (its
    /// remaining chunks are then ignored).
    file: Option<(Option<u64>, bool)>,
    /// While units are listed as they are read: what has been listed so far, and the totals
    /// of the inputs before.
    listing: Option<(&'s Totals, (u64, u64))>,
}

impl<'s, U> Sink<'s, U> {
    fn new(
        summary: &'s mut Summary,
        progress: &'s mut Progress,
        on_item: &'s mut dyn FnMut(Event, U),
        on_diag: &'s mut dyn FnMut(&Diagnostic),
        on_progress: &'s mut dyn FnMut(&Progress),
    ) -> Self {
        Sink {
            summary,
            progress,
            on_item,
            on_diag,
            on_progress,
            file: None,
            listing: None,
        }
    }

    /// Report progress, with the totals listed so far.
    fn report(&mut self) {
        if let Some((totals, (files, bytes))) = self.listing {
            let (f, b, done) = totals.get();
            self.progress.files_total = files + f;
            self.progress.bytes_total = bytes + b;
            self.progress.listing = !done;
        }
        (self.on_progress)(self.progress);
    }
}

/// Objects of a store, a batch at a time: a batch is fetched ahead while the one before is
/// read, and they wait on the network more than on a core.
fn run_batches<U: Send>(
    units: Vec<Unit<'_>>,
    threads: usize,
    options: &IngestOptions,
    parallel: &ParallelOptions<'_>,
    map: &(dyn Fn(&mut Event) -> Option<U> + Sync),
    sink: &mut Sink<'_, U>,
) {
    // Batches bound what is held at once: the events a batch keeps, until handed on in order.
    let mut queue: VecDeque<Unit<'_>> = units.into();
    while !queue.is_empty() {
        let mut batch = Vec::new();
        let mut bytes = 0;
        while let Some(u) = queue.front() {
            let limit = u.batch_limit(threads);
            if !batch.is_empty() && (batch.len() >= limit || bytes >= 64 << 20) {
                break;
            }
            bytes += u.bytes();
            batch.extend(queue.pop_front());
        }
        prefetch(&batch, &queue);
        let done: Vec<Done<U>> = batch
            .par_iter()
            .map(|u| run_unit(u, options, parallel, map))
            .collect();
        for (unit, d) in batch.iter().zip(done) {
            sink.unit(unit, d, options, parallel, map);
        }
    }
}

impl<U: Send> Sink<'_, U> {
    /// Hand one unit's results on; `true` when the rest of its file was read again in one
    /// piece (the file's other chunks are then not wanted).
    fn unit(
        &mut self,
        unit: &Unit<'_>,
        d: Done<U>,
        options: &IngestOptions,
        parallel: &ParallelOptions<'_>,
        map: &(dyn Fn(&mut Event) -> Option<U> + Sync),
    ) -> bool {
        self.progress.bytes_done += unit.bytes();
        let mut reread = false;
        match unit {
            Unit::Problem(diag) => {
                listing::count(self.summary, diag, self.on_diag);
                return false;
            }
            Unit::File { .. } | Unit::Object { .. } => {
                self.progress.files_done += 1;
                hand_on(d, Some(0), self.summary, self.on_item, self.on_diag);
            }
            Unit::Chunk {
                path, start, last, ..
            } => {
                if *start == 0 {
                    self.file = Some((Some(0), false));
                }
                if *last {
                    self.progress.files_done += 1;
                }
                let Some((base, again)) = self.file.as_mut().filter(|f| !f.1) else {
                    self.report();
                    return false;
                };
                // A chunk is handed on as soon as it is known to be what reading the file in
                // one piece gives: the file starts as JSON, every chunk before it ended in the
                // framer's starting state (else it would have been read again), and so does
                // this one, or it is the last.
                let starts_json = *start > 0 || d.started_json;
                if starts_json && (d.clean_end || *last) {
                    // After a chunk read by hits, the records of the file have no index.
                    let next = base.filter(|_| !d.by_hits).map(|b| b + d.framed);
                    hand_on(d, *base, self.summary, self.on_item, self.on_diag);
                    *base = next;
                } else {
                    // Not JSON lines from here on (a record across the cut, pretty-printed
                    // JSON, not JSON at all): the rest of the file in one piece, from this
                    // chunk's start, where the framer was still in its starting state (the
                    // whole file, read as any file is, when this is the first chunk).
                    *again = true;
                    reread = true;
                    let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
                    let rest = match *start {
                        0 => Unit::File {
                            path: path.clone(),
                            size,
                        },
                        _ => Unit::Chunk {
                            path: path.clone(),
                            start: *start,
                            len: size.saturating_sub(*start),
                            last: true,
                            file_end: 0,
                        },
                    };
                    // Read as usual: from a state the chunks before it were seen to end in.
                    let usual = ParallelOptions {
                        hits: None,
                        ..*parallel
                    };
                    let base = *base;
                    hand_on(
                        run_unit(&rest, options, &usual, map),
                        base,
                        self.summary,
                        self.on_item,
                        self.on_diag,
                    );
                }
            }
        }
        self.report();
        reread
    }
}

/// Start fetching the objects of `batch` and of the units queued after it, as many again:
/// while the workers read this batch, the next one arrives. At most two batches of objects
/// are in flight, which bounds the memory their buffers hold.
fn prefetch(batch: &[Unit<'_>], queue: &VecDeque<Unit<'_>>) {
    let Some(Unit::Object { remote, .. }) = batch.first() else {
        return;
    };
    let ahead = batch.len();
    let objects: Vec<RemoteObject> = batch
        .iter()
        .chain(queue.iter().take(ahead))
        .filter_map(|u| match u {
            Unit::Object { object, .. } => Some(object.clone()),
            _ => None,
        })
        .collect();
    remote.prefetch(&objects);
}

/// Hand one unit's results on, its record indices moved up by `base` (`None`: a unit before
/// it in the file was read by hits, so they are not known).
fn hand_on<U>(
    d: Done<U>,
    base: Option<u64>,
    summary: &mut Summary,
    on_item: &mut dyn FnMut(Event, U),
    on_diag: &mut dyn FnMut(&Diagnostic),
) {
    let base = base.filter(|_| !d.by_hits);
    for mut diag in d.diags {
        diag.record = diag.record.zip(base).map(|(r, b)| r + b);
        on_diag(&diag);
    }
    for (mut e, u) in d.events {
        e.provenance.record = base.map_or(UNNUMBERED, |b| e.provenance.record + b);
        on_item(e, u);
    }
    summary.merge(d.summary);
}

impl Reader<'_> {
    /// Read a unit by hits (`hits.rs`): `false` when its layout does not allow it (nothing
    /// was read or counted).
    fn read_unit_by_hits(&mut self, unit: &Unit) -> bool {
        match unit {
            Unit::Chunk {
                path, start, len, ..
            } => {
                let name: Arc<str> = path.display().to_string().into();
                let Ok(mut f) = File::open(path) else {
                    return false;
                };
                if f.seek(SeekFrom::Start(*start)).is_err() {
                    return false;
                }
                self.continuing = (*start > 0).then_some(*start);
                self.read_plain_by_hits(&name, f.take(*len), *start, true)
            }
            Unit::File { path, .. } => self.read_file_by_hits(path),
            // Objects stream from the network once: read as usual.
            Unit::Object { .. } | Unit::Problem(_) => false,
        }
    }

    /// Read `len` bytes of a plain file from `start`, as a chunk of JSON lines.
    fn read_range(&mut self, path: &Path, start: u64, len: u64) {
        let name: Arc<str> = path.display().to_string().into();
        let opened = File::open(path).and_then(|mut f| f.seek(SeekFrom::Start(start)).map(|_| f));
        match opened {
            Ok(f) => {
                self.continuing = (start > 0).then_some(start);
                self.read_records(
                    name,
                    BufReader::with_capacity(1 << 20, f.take(len)),
                    "read-error",
                );
            }
            // Reported when the file is read again in one piece.
            Err(_) => {
                self.started_json = false;
                self.clean_end = false;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn item9_a_unit_waiting_in_its_batch_keeps_only_the_first_diagnostics() {
        let dir = std::env::temp_dir().join(format!("snapback-item9-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("bad.jsonl");
        std::fs::write(&path, "{\"x\": nul}\n".repeat(20_000)).unwrap();
        let options = IngestOptions {
            max_diagnostics_per_reason: 10,
            ..IngestOptions::default()
        };
        let unit = Unit::File {
            path: path.clone(),
            size: 0,
        };
        let done = run_unit(&unit, &options, &ParallelOptions::default(), &|_| Some(()));
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(done.diags.len(), 10);
        assert_eq!(done.summary.skipped.get("invalid-json"), Some(&20_000));
        assert_eq!(
            done.summary.diagnostics_not_shown.get("invalid-json"),
            Some(&19_990)
        );
    }
}
