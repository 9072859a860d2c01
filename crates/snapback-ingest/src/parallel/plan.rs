//! Units of work, planned as files are listed: whole files, and chunks (cut after a line
//! break) of large plain files. A file's size is asked as it is planned, on the thread that
//! drains the listing (`ordered.rs`), not on the threads that read.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use super::Unit;
use crate::listing::Listed;
use crate::sniff::{Peek, SNIFF_BYTES};

/// What has been planned so far: files, bytes (as stored), and whether the listing has ended.
/// Written by the planning thread, read for progress by the calling one.
#[derive(Default)]
pub(super) struct Totals {
    files: AtomicU64,
    bytes: AtomicU64,
    done: AtomicBool,
}

impl Totals {
    /// Files and bytes planned so far, and whether every file has been.
    pub(super) fn get(&self) -> (u64, u64, bool) {
        (
            self.files.load(Ordering::Acquire),
            self.bytes.load(Ordering::Acquire),
            self.done.load(Ordering::Acquire),
        )
    }
}

/// The units of what `listed` lists, in its order.
pub(super) struct Planner<'t, I> {
    listed: I,
    chunk_bytes: u64,
    /// The index of the next unit handed out.
    index: usize,
    /// The chunks of a file not yet handed out.
    pending: VecDeque<Unit<'static>>,
    totals: &'t Totals,
}

impl<'t, I: Iterator<Item = Listed>> Planner<'t, I> {
    pub(super) fn new(listed: I, chunk_bytes: u64, totals: &'t Totals) -> Self {
        Planner {
            listed,
            chunk_bytes,
            index: 0,
            pending: VecDeque::new(),
            totals,
        }
    }

    /// Plan one file (its units into `pending`), counting it in the totals; its size from
    /// the walk when it has it (`listing.rs`), else asked here.
    fn plan(&mut self, path: PathBuf, size: Option<u64>) {
        let size = size.unwrap_or_else(|| std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0));
        let cuts = if size > self.chunk_bytes.saturating_mul(2) {
            cut_points(&path, size, self.chunk_bytes)
        } else {
            None
        };
        match cuts {
            Some(cuts) => {
                let file_end = self.index + cuts.len();
                let mut start = 0;
                for (i, &end) in cuts.iter().enumerate() {
                    self.pending.push_back(Unit::Chunk {
                        path: path.clone(),
                        start,
                        len: end - start,
                        last: i + 1 == cuts.len(),
                        file_end,
                    });
                    start = end;
                }
            }
            None => self.pending.push_back(Unit::File { path, size }),
        }
        self.totals.files.fetch_add(1, Ordering::AcqRel);
        self.totals.bytes.fetch_add(size, Ordering::AcqRel);
    }
}

impl<I: Iterator<Item = Listed>> Iterator for Planner<'_, I> {
    type Item = Unit<'static>;

    fn next(&mut self) -> Option<Unit<'static>> {
        while self.pending.is_empty() {
            match self.listed.next() {
                Some(Listed::File { path, size }) => self.plan(path, size),
                Some(Listed::Problem(d)) => self.pending.push_back(Unit::Problem(d)),
                None => {
                    self.totals.done.store(true, Ordering::Release);
                    return None;
                }
            }
        }
        self.index += 1;
        self.pending.pop_front()
    }
}

/// The ends of the chunks of a plain file: just after a line feed near each multiple of
/// `chunk_bytes`, and the file's end. `None` for anything but a regular file of bytes for the
/// framer (compressed, an archive, UTF-16), or with no line feed to cut at.
fn cut_points(path: &Path, size: u64, chunk_bytes: u64) -> Option<Vec<u64>> {
    let f = File::open(path).ok()?;
    if !f.metadata().ok()?.is_file() {
        return None;
    }
    let mut head = Peek::new(f);
    if !crate::open::is_plain(head.peek(SNIFF_BYTES)) {
        return None;
    }
    let (_, mut f) = head.into_parts();
    let mut cuts = Vec::new();
    let mut at = chunk_bytes;
    let mut buf = vec![0u8; 64 * 1024];
    while at < size {
        f.seek(SeekFrom::Start(at)).ok()?;
        let mut pos = at;
        let end = loop {
            let n = f.read(&mut buf).ok()?;
            if n == 0 {
                break None;
            }
            if let Some(i) = memchr::memchr(b'\n', &buf[..n]) {
                break Some(pos + i as u64 + 1);
            }
            pos += n as u64;
        };
        match end {
            Some(e) if e < size => {
                cuts.push(e);
                at = e + chunk_bytes;
            }
            _ => break,
        }
    }
    if cuts.is_empty() {
        return None;
    }
    cuts.push(size);
    Some(cuts)
}
