//! What `watch` reads: delivery directories polled for new files, JSON-lines files followed
//! like `tail -F`, and stdin. Each source runs on its own thread and sends [`Unit`]s to the
//! watch loop, which owns all detection state.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{BufRead, Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::sync::Arc;
use std::time::Duration;

/// One piece of input for the watch loop.
pub enum Unit {
    /// A delivery file, complete (its size and mtime held still for one poll), read whole.
    File {
        path: PathBuf,
        size: u64,
        mtime_ns: i128,
    },
    /// Complete lines appended to a followed file or read from stdin.
    Lines {
        name: String,
        bytes: Vec<u8>,
        /// Where the batch starts in its file, and how many records came before it.
        offset: u64,
        record: u64,
        /// The followed file's inode (0 for stdin).
        inode: u64,
    },
    /// Objects of a watched store prefix not read before, in key order, with the listings
    /// that failed and the partitions' cursors the listing moved (partition URL → cursor).
    Objects {
        source: std::sync::Arc<dyn super::objects::ObjectSource>,
        objects: Vec<snapback_ingest::RemoteObject>,
        problems: Vec<snapback_ingest::RemoteProblem>,
        partitions: Vec<(String, super::objects::PartitionDone)>,
    },
    /// What a source will never offer again, so the state forgets it (keeps it bounded):
    /// delivery files gone from their directory, store objects (URLs) of partitions no
    /// listing reaches any more, and those partitions' cursors (URLs).
    Forget {
        files: Vec<String>,
        objects: Vec<String>,
        partitions: Vec<String>,
    },
    /// A source has nothing more (`--once` reached what is there now; stdin closed).
    Ended,
}

/// How sources behave.
#[derive(Clone)]
pub struct Pace {
    pub poll: Duration,
    /// Read what is there now, then end.
    pub once: bool,
    pub stop: Arc<AtomicBool>,
}

impl Pace {
    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }
}

pub fn mtime_ns(meta: &std::fs::Metadata) -> i128 {
    i128::from(meta.mtime()) * 1_000_000_000 + i128::from(meta.mtime_nsec())
}

/// Poll `dir` for files not in `done`; a file is sent once its size and mtime held still for
/// one poll (or at once under `--once`), in name order.
pub fn watch_dir(dir: PathBuf, done: HashSet<PathBuf>, pace: Pace, tx: Sender<Unit>) {
    let mut sent = done;
    let mut seen: HashMap<PathBuf, (u64, i128)> = HashMap::new();
    loop {
        let mut summary = snapback_ingest::Summary::default();
        // Unreadable directories are said again on the next scan or poll.
        let files = snapback_ingest::list_files(&dir, &mut summary, &mut |_| {});
        // Files read before and no longer there (deleted by retention, moved away) are
        // forgotten, so the state holds what the directory holds, not every file it ever had;
        // only after a listing that failed nowhere (an unreadable folder hides its files).
        if summary.files_failed == 0 {
            let gone = gone_files(&mut sent, &files);
            if !gone.is_empty() {
                let forget = Unit::Forget {
                    files: gone,
                    objects: Vec::new(),
                    partitions: Vec::new(),
                };
                if tx.send(forget).is_err() {
                    return;
                }
            }
        }
        for f in files {
            if sent.contains(&f) {
                continue;
            }
            let Ok(meta) = std::fs::metadata(&f) else {
                continue;
            };
            let now = (meta.len(), mtime_ns(&meta));
            let stable = seen.get(&f) == Some(&now);
            if pace.once || stable {
                sent.insert(f.clone());
                seen.remove(&f);
                let unit = Unit::File {
                    path: f,
                    size: now.0,
                    mtime_ns: now.1,
                };
                if tx.send(unit).is_err() {
                    return;
                }
            } else {
                seen.insert(f, now);
            }
        }
        if pace.once {
            let _ = tx.send(Unit::Ended);
            return;
        }
        if !sleep(&pace) {
            return;
        }
    }
}

/// The files of `sent` not in `listed`, removed from it (as the state names them).
fn gone_files(sent: &mut HashSet<PathBuf>, listed: &[PathBuf]) -> Vec<String> {
    let listed: HashSet<&PathBuf> = listed.iter().collect();
    let mut gone: Vec<String> = sent
        .iter()
        .filter(|f| !listed.contains(f))
        .map(|f| f.display().to_string())
        .collect();
    sent.retain(|f| listed.contains(f));
    gone.sort();
    gone
}

/// Sleep one poll in short steps; false when asked to stop.
pub(crate) fn sleep(pace: &Pace) -> bool {
    let step = Duration::from_millis(50);
    let mut left = pace.poll;
    while !left.is_zero() {
        if pace.stopped() {
            return false;
        }
        let d = left.min(step);
        std::thread::sleep(d);
        left -= d;
    }
    !pace.stopped()
}

/// Where a followed file was left.
#[derive(Clone, Copy, Default)]
pub struct Resume {
    pub offset: u64,
    pub record: u64,
    pub inode: u64,
}

/// Where to go on in a followed file: where the last run committed (`pos`), when it is still
/// the same file (the records before that are restored from the state); from its start when it
/// was rotated or cut while the watcher was away.
pub fn resume_at(name: &str, pos: Option<&super::state::StreamPos>) -> Resume {
    let Some(pos) = pos else {
        return Resume::default();
    };
    let Ok(meta) = std::fs::metadata(name) else {
        return Resume::default();
    };
    if meta.ino() != pos.inode || meta.len() < pos.offset {
        return Resume::default();
    }
    Resume {
        offset: pos.offset,
        record: pos.records,
        inode: pos.inode,
    }
}

/// Follow a JSON-lines file like `tail -F`: complete lines as they are appended; when the path
/// names a new file (rotation) or the file shrank (truncation), the new content from its start.
/// Record numbers go on across rotations, so provenance stays unique.
pub fn follow(path: PathBuf, from: Resume, pace: Pace, tx: Sender<Unit>) {
    let name = path.display().to_string();
    let mut state = from;
    let mut file: Option<File> = None;
    let mut pending: Vec<u8> = Vec::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        if file.is_none() {
            file = open_at(&path, &mut state, &mut pending);
        }
        let mut progressed = false;
        if let Some(f) = file.as_mut() {
            match f.read(&mut buf) {
                Ok(0) | Err(_) => {}
                Ok(n) => {
                    progressed = true;
                    pending.extend_from_slice(&buf[..n]);
                    if !send_lines(&name, &mut pending, &mut state, false, &tx) {
                        return;
                    }
                }
            }
        }
        if progressed {
            continue;
        }
        if pace.once {
            send_lines(&name, &mut pending, &mut state, true, &tx);
            let _ = tx.send(Unit::Ended);
            return;
        }
        if rotated(&path, &state) {
            file = None;
            state.offset = 0;
            pending.clear();
            continue;
        }
        if !sleep(&pace) {
            return;
        }
    }
}

fn open_at(path: &Path, state: &mut Resume, pending: &mut Vec<u8>) -> Option<File> {
    let mut f = File::open(path).ok()?;
    let meta = f.metadata().ok()?;
    if meta.ino() != state.inode || meta.len() < state.offset {
        state.inode = meta.ino();
        state.offset = 0;
    }
    f.seek(SeekFrom::Start(state.offset)).ok()?;
    pending.clear();
    Some(f)
}

/// The path now names another file, or the file is shorter than what was read.
fn rotated(path: &Path, state: &Resume) -> bool {
    match std::fs::metadata(path) {
        Ok(m) => m.ino() != state.inode || m.len() < state.offset,
        Err(_) => false,
    }
}

/// Send the complete lines of `pending` (all of it when `all`); false when the loop is gone.
fn send_lines(
    name: &str,
    pending: &mut Vec<u8>,
    state: &mut Resume,
    all: bool,
    tx: &Sender<Unit>,
) -> bool {
    let end = if all {
        pending.len()
    } else {
        match pending.iter().rposition(|&b| b == b'\n') {
            Some(i) => i + 1,
            None => return true,
        }
    };
    if end == 0 {
        return true;
    }
    let bytes: Vec<u8> = pending.drain(..end).collect();
    let records = count_records(&bytes);
    let unit = Unit::Lines {
        name: name.to_owned(),
        bytes,
        offset: state.offset,
        record: state.record,
        inode: state.inode,
    };
    state.offset += end as u64;
    state.record += records;
    tx.send(unit).is_ok()
}

/// Lines that hold something: the framer numbers each as a record.
pub fn count_records(bytes: &[u8]) -> u64 {
    bytes
        .split(|&b| b == b'\n')
        .filter(|l| l.iter().any(|b| !b.is_ascii_whitespace()))
        .count() as u64
}

/// Standard input, line by line, until it closes.
pub fn stdin_lines(pace: Pace, tx: Sender<Unit>) {
    let stdin = std::io::stdin();
    let mut lock = stdin.lock();
    let mut state = Resume::default();
    let mut line = Vec::new();
    loop {
        line.clear();
        match lock.read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => {
                let _ = tx.send(Unit::Ended);
                return;
            }
            Ok(_) => {
                if pace.stopped() {
                    return;
                }
                if !send_lines("-", &mut line, &mut state, true, &tx) {
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_read_and_no_longer_listed_are_forgotten_once() {
        let mut sent: HashSet<PathBuf> = ["/d/a", "/d/b", "/d/c"].map(PathBuf::from).into();
        let listed = ["/d/b", "/d/new"].map(PathBuf::from);
        assert_eq!(gone_files(&mut sent, &listed), vec!["/d/a", "/d/c"]);
        assert_eq!(sent, ["/d/b"].map(PathBuf::from).into());
        assert!(gone_files(&mut sent, &listed).is_empty());
    }
}
