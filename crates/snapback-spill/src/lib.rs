//! Bounded-memory external sort (issue 13, item 10).
//!
//! A [`Sorter`] takes records one by one and gives them back in the order of a comparator,
//! holding at most [`SpillOptions::max_records`] records and about
//! [`SpillOptions::max_bytes`] encoded bytes in memory. When the buffer is full it is sorted
//! (stably) and written as one run to an anonymous temporary file (deflate-compressed,
//! length-prefixed); at the end the runs and the last buffer are merged k ways. Equal records
//! come back in the order they were pushed (runs are merged with ties going to the older
//! run), so the result is exactly a stable sort of the whole input. More than
//! [`MAX_FAN_IN`] runs are first merged into one, so open files stay bounded too.
//!
//! A comparator that always says `Equal` makes it a spool: records come back in push order,
//! memory still bounded (the table printers use that to learn column widths first).
//!
//! [`Sorter::peak_held`] is the most records ever held in memory at once (buffer plus one head
//! per run while merging): the regression tests assert on it instead of timing anything.

#![forbid(unsafe_code)]

use std::cmp::Ordering;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::PathBuf;

use flate2::read::DeflateDecoder;
use flate2::write::DeflateEncoder;
use flate2::Compression;

/// At most this many runs are merged at once (each is an open file and a record in memory).
pub const MAX_FAN_IN: usize = 64;

/// Records held in memory before a run is spilled, unless given.
pub const DEFAULT_MAX_RECORDS: usize = 100_000;

/// Encoded bytes held in memory before a run is spilled, unless given.
pub const DEFAULT_MAX_BYTES: usize = 64 * 1024 * 1024;

/// How much a [`Sorter`] may hold in memory, and where it spills.
#[derive(Debug, Clone)]
pub struct SpillOptions {
    /// Records held in memory before the buffer is spilled as a sorted run (at least 1).
    pub max_records: usize,
    /// Encoded bytes (as [`Record::encoded_len`] estimates them) held before spilling.
    pub max_bytes: usize,
    /// Directory for the temporary run files (`None`: the system's temporary directory). The
    /// files are unlinked as soon as they are created, so nothing is left behind.
    pub dir: Option<PathBuf>,
}

impl Default for SpillOptions {
    fn default() -> Self {
        SpillOptions {
            max_records: DEFAULT_MAX_RECORDS,
            max_bytes: DEFAULT_MAX_BYTES,
            dir: None,
        }
    }
}

/// What can go wrong while spilling or reading back a run.
#[derive(Debug, thiserror::Error)]
pub enum SpillError {
    #[error("cannot create a temporary file in {dir}: {source}")]
    Create { dir: String, source: io::Error },
    #[error("writing a sorted run to a temporary file: {0}")]
    Write(io::Error),
    #[error("reading a sorted run back from a temporary file: {0}")]
    Read(io::Error),
    #[error("a sorted run read back is corrupt: {0}")]
    Corrupt(String),
}

/// A record that can be written to a run and read back exactly.
pub trait Record: Sized {
    fn encode(&self, out: &mut Vec<u8>);
    fn decode(bytes: &[u8]) -> Result<Self, SpillError>;
    /// About how much memory the record takes (counts against [`SpillOptions::max_bytes`]).
    fn encoded_len(&self) -> usize;
}

/// Records sorted in bounded memory. See the crate documentation.
pub struct Sorter<T, C> {
    options: SpillOptions,
    cmp: C,
    buffer: Vec<T>,
    buffer_bytes: usize,
    /// Spilled runs, oldest first, with their merge level (levels never increase along it).
    runs: Vec<(u32, File)>,
    peak_held: usize,
    spilled_records: u64,
    pushed: u64,
}

impl<T: Record, C: Fn(&T, &T) -> Ordering> Sorter<T, C> {
    pub fn new(options: SpillOptions, cmp: C) -> Self {
        Sorter {
            options,
            cmp,
            buffer: Vec::new(),
            buffer_bytes: 0,
            runs: Vec::new(),
            peak_held: 0,
            spilled_records: 0,
            pushed: 0,
        }
    }

    /// Add a record; may spill the buffer.
    pub fn push(&mut self, item: T) -> Result<(), SpillError> {
        self.buffer_bytes += item.encoded_len();
        self.buffer.push(item);
        self.pushed += 1;
        self.peak_held = self.peak_held.max(self.buffer.len());
        if self.buffer.len() >= self.options.max_records.max(1)
            || self.buffer_bytes >= self.options.max_bytes
        {
            self.spill()?;
        }
        Ok(())
    }

    /// Drop the buffered records `keep` says no (the runs already written are not
    /// touched: their records are filtered by the reader).
    pub fn retain(&mut self, keep: impl FnMut(&T) -> bool) {
        self.buffer.retain(keep);
        self.buffer_bytes = self.buffer.iter().map(Record::encoded_len).sum();
    }

    /// The most records held in memory at once so far.
    pub fn peak_held(&self) -> usize {
        self.peak_held
    }

    /// Records written to temporary files so far.
    pub fn spilled(&self) -> u64 {
        self.spilled_records
    }

    /// Records pushed so far.
    pub fn pushed(&self) -> u64 {
        self.pushed
    }

    fn spill(&mut self) -> Result<(), SpillError> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let mut items = std::mem::take(&mut self.buffer);
        self.buffer_bytes = 0;
        items.sort_by(&self.cmp);
        let mut w = RunWriter::create(&self.options)?;
        for item in &items {
            w.write(item)?;
        }
        self.spilled_records += items.len() as u64;
        self.runs.push((0, w.finish()?));
        // MAX_FAN_IN runs of one level become one run of the next (each record is rewritten
        // once per level: O(n log n) in all).
        loop {
            let n = self.runs.len();
            let level = match self.runs.last() {
                Some((l, _)) => *l,
                None => break,
            };
            if n < MAX_FAN_IN || self.runs[n - MAX_FAN_IN..].iter().any(|(l, _)| *l != level) {
                break;
            }
            self.merge_tail(MAX_FAN_IN, level + 1)?;
        }
        Ok(())
    }

    /// Merge the newest `count` runs into one run of `level` (they are contiguous and the
    /// newest, so the merge stays stable).
    fn merge_tail(&mut self, count: usize, level: u32) -> Result<(), SpillError> {
        let tail = self.runs.split_off(self.runs.len().saturating_sub(count));
        let files = tail.into_iter().map(|(_, f)| f).collect();
        let mut merge = Merge::new(&self.cmp, files, Vec::new())?;
        self.peak_held = self.peak_held.max(merge.heads.len());
        let mut w = RunWriter::create(&self.options)?;
        while let Some(item) = merge.next_item()? {
            w.write(&item)?;
        }
        self.runs.push((level, w.finish()?));
        Ok(())
    }

    /// Every record, in order; `each` returns `false` to stop early.
    pub fn drain(mut self, each: &mut dyn FnMut(T) -> bool) -> Result<SortStats, SpillError> {
        self.buffer.sort_by(&self.cmp);
        let buffer = std::mem::take(&mut self.buffer);
        while self.runs.len() > MAX_FAN_IN {
            let level = self.runs.last().map_or(0, |(l, _)| l + 1);
            self.merge_tail(MAX_FAN_IN, level)?;
        }
        let runs = std::mem::take(&mut self.runs)
            .into_iter()
            .map(|(_, f)| f)
            .collect();
        let mut merge = Merge::new(&self.cmp, runs, buffer)?;
        self.peak_held = self.peak_held.max(merge.heads.len() + merge.memory.len());
        while let Some(item) = merge.next_item()? {
            if !each(item) {
                break;
            }
        }
        Ok(SortStats {
            peak_held: self.peak_held,
            spilled: self.spilled_records,
        })
    }
}

/// What a finished sort held and spilled.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SortStats {
    /// The most records held in memory at once.
    pub peak_held: usize,
    /// Records written to temporary files.
    pub spilled: u64,
}

struct RunWriter {
    enc: DeflateEncoder<BufWriter<File>>,
    scratch: Vec<u8>,
}

impl RunWriter {
    fn create(options: &SpillOptions) -> Result<RunWriter, SpillError> {
        let dir = options.dir.clone().unwrap_or_else(std::env::temp_dir);
        let file = tempfile::tempfile_in(&dir).map_err(|source| SpillError::Create {
            dir: dir.display().to_string(),
            source,
        })?;
        Ok(RunWriter {
            enc: DeflateEncoder::new(BufWriter::new(file), Compression::fast()),
            scratch: Vec::new(),
        })
    }

    fn write<T: Record>(&mut self, item: &T) -> Result<(), SpillError> {
        self.scratch.clear();
        item.encode(&mut self.scratch);
        let len = u64::try_from(self.scratch.len()).unwrap_or(u64::MAX);
        self.enc
            .write_all(&len.to_le_bytes())
            .and_then(|_| self.enc.write_all(&self.scratch))
            .map_err(SpillError::Write)
    }

    fn finish(self) -> Result<File, SpillError> {
        let mut file = self
            .enc
            .finish()
            .and_then(|w| w.into_inner().map_err(|e| e.into_error()))
            .map_err(SpillError::Write)?;
        file.seek(SeekFrom::Start(0)).map_err(SpillError::Write)?;
        Ok(file)
    }
}

struct RunReader {
    dec: DeflateDecoder<BufReader<File>>,
    scratch: Vec<u8>,
}

impl RunReader {
    fn next_record<T: Record>(&mut self) -> Result<Option<T>, SpillError> {
        let mut len = [0u8; 8];
        match self.dec.read_exact(&mut len) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
            Err(e) => return Err(SpillError::Read(e)),
        }
        let len = usize::try_from(u64::from_le_bytes(len))
            .map_err(|_| SpillError::Corrupt("record length".into()))?;
        self.scratch.clear();
        (&mut self.dec)
            .take(len as u64)
            .read_to_end(&mut self.scratch)
            .map_err(SpillError::Read)?;
        if self.scratch.len() != len {
            return Err(SpillError::Corrupt("record cut short".into()));
        }
        T::decode(&self.scratch).map(Some)
    }
}

/// A k-way merge of runs and one sorted in-memory buffer (the newest run). Ties go to the
/// older run, the buffer last: a stable merge.
struct Merge<'c, T, C> {
    cmp: &'c C,
    readers: Vec<RunReader>,
    memory: std::vec::IntoIter<T>,
    /// (source, record): source `readers.len()` is the memory buffer.
    heads: Vec<(usize, T)>,
}

impl<'c, T: Record, C: Fn(&T, &T) -> Ordering> Merge<'c, T, C> {
    fn new(cmp: &'c C, runs: Vec<File>, memory: Vec<T>) -> Result<Self, SpillError> {
        let mut m = Merge {
            cmp,
            readers: runs
                .into_iter()
                .map(|f| RunReader {
                    dec: DeflateDecoder::new(BufReader::new(f)),
                    scratch: Vec::new(),
                })
                .collect(),
            memory: memory.into_iter(),
            heads: Vec::new(),
        };
        for source in 0..=m.readers.len() {
            m.refill(source)?;
        }
        Ok(m)
    }

    fn refill(&mut self, source: usize) -> Result<(), SpillError> {
        let next = match self.readers.get_mut(source) {
            Some(r) => r.next_record()?,
            None => self.memory.next(),
        };
        if let Some(item) = next {
            self.heads.push((source, item));
        }
        Ok(())
    }

    /// The smallest head (a linear scan: at most MAX_FAN_IN + 1 heads).
    fn next_item(&mut self) -> Result<Option<T>, SpillError> {
        let mut best: Option<usize> = None;
        for (i, (source, item)) in self.heads.iter().enumerate() {
            best = match best {
                None => Some(i),
                Some(b) => {
                    let (bs, bi) = &self.heads[b];
                    match (self.cmp)(item, bi).then(source.cmp(bs)) {
                        Ordering::Less => Some(i),
                        _ => Some(b),
                    }
                }
            };
        }
        let Some(i) = best else { return Ok(None) };
        let (source, item) = self.heads.swap_remove(i);
        self.refill(source)?;
        Ok(Some(item))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, PartialEq)]
    struct Rec(u32, u32);

    impl Record for Rec {
        fn encode(&self, out: &mut Vec<u8>) {
            out.extend_from_slice(&self.0.to_le_bytes());
            out.extend_from_slice(&self.1.to_le_bytes());
        }
        fn decode(b: &[u8]) -> Result<Self, SpillError> {
            let w = |i: usize| -> Result<u32, SpillError> {
                b.get(i..i + 4)
                    .and_then(|s| s.try_into().ok())
                    .map(u32::from_le_bytes)
                    .ok_or_else(|| SpillError::Corrupt("short".into()))
            };
            Ok(Rec(w(0)?, w(4)?))
        }
        fn encoded_len(&self) -> usize {
            8
        }
    }

    fn sorted_with(max_records: usize, input: &[Rec]) -> (Vec<Rec>, SortStats) {
        let options = SpillOptions {
            max_records,
            ..SpillOptions::default()
        };
        let mut s = Sorter::new(options, |a: &Rec, b: &Rec| a.0.cmp(&b.0));
        for r in input {
            s.push(r.clone()).unwrap();
        }
        let mut out = Vec::new();
        let stats = s
            .drain(&mut |r| {
                out.push(r);
                true
            })
            .unwrap();
        (out, stats)
    }

    #[test]
    fn spilled_sort_is_a_stable_sort_with_bounded_memory() {
        // Keys repeat (ties), second field is the push order.
        let input: Vec<Rec> = (0..5_000u32)
            .map(|i| Rec(i.wrapping_mul(2_654_435_761) % 97, i))
            .collect();
        for cap in [1, 7, 100, 20_000] {
            // One record per run: fewer of them (each run is a file).
            let n = if cap == 1 { 700 } else { input.len() };
            let mut expected = input[..n].to_vec();
            expected.sort_by_key(|r| r.0);
            let (got, stats) = sorted_with(cap, &input[..n]);
            assert_eq!(got, expected, "buffer {cap}");
            assert!(stats.peak_held <= cap.max(MAX_FAN_IN + 1) + MAX_FAN_IN + 1);
        }
        // 700 runs of one record: merged down in levels, still exact.
        let (_, stats) = sorted_with(1, &input[..700]);
        assert!(stats.spilled >= 700);
    }

    #[test]
    fn equal_comparator_is_a_spool() {
        let input: Vec<Rec> = (0..1000u32).map(|i| Rec(1000 - i, i)).collect();
        let mut s = Sorter::new(
            SpillOptions {
                max_records: 10,
                ..SpillOptions::default()
            },
            |_: &Rec, _: &Rec| Ordering::Equal,
        );
        for r in &input {
            s.push(r.clone()).unwrap();
        }
        let mut out = Vec::new();
        s.drain(&mut |r| {
            out.push(r);
            true
        })
        .unwrap();
        assert_eq!(out, input);
    }

    #[test]
    fn missing_directory_is_an_error_not_a_panic() {
        let mut s = Sorter::new(
            SpillOptions {
                max_records: 1,
                max_bytes: usize::MAX,
                dir: Some("/nonexistent/snapback-spill".into()),
            },
            |a: &Rec, b: &Rec| a.0.cmp(&b.0),
        );
        let err = s.push(Rec(1, 1)).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/snapback-spill"));
    }
}
