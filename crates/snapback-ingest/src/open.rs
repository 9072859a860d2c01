//! Opening an input, layer by layer: a file, stdin, a pipe or FIFO, an archive member or a
//! decompressed stream is looked at through [`Peek`] (never sought back), recognised by its
//! magic bytes ([`sniff`]), and unwrapped (gzip, zip, UTF-16) until the bytes are what the
//! framer reads. Archives are recognised at every level (a zip inside a zip, a zip inside a
//! gzip, a gzip inside a gzip), up to [`crate::IngestOptions::max_archive_depth`] layers.

use std::fs::File;
use std::io::{self, BufReader, Read, Seek};
use std::path::Path;
use std::sync::Arc;

use crate::sniff::{sniff, starts_as_json, Kind, Peek, SNIFF_BYTES};
use crate::utf16::Utf16Reader;
use crate::{gzip, hits, Reader, Severity};

/// A source being opened: any reader, looked at through [`Peek`].
type Source<'s> = Peek<Box<dyn Read + 's>>;

thread_local! {
    /// Buffers of [`Reader::read_gzip_whole`], reused from one small gzip file to the next.
    static WHOLE_IN: std::cell::Cell<Vec<u8>> = const { std::cell::Cell::new(Vec::new()) };
    static WHOLE_OUT: std::cell::Cell<Vec<u8>> = const { std::cell::Cell::new(Vec::new()) };
}

/// The read buffer for a compressed file of `len` bytes (its size, up to 256 KiB).
fn gzip_capacity(len: u64) -> usize {
    len.clamp(8 * 1024, 256 * 1024) as usize
}

/// Whether `head` (the first bytes of a plain file) may be read in chunks: not compressed, an
/// archive, UTF-16 or anything but bytes for the framer.
pub(crate) fn is_plain(head: &[u8]) -> bool {
    sniff(head) == Kind::Plain
}

impl Reader<'_> {
    /// Read a file named on the command line or found in a directory. A regular file's size
    /// chooses how a gzip file is read, and a zip file is read through its central directory;
    /// anything else (a FIFO, `/dev/stdin`, `<(…)`) is read as the stream it is.
    pub(crate) fn read_file(&mut self, path: &Path) {
        let name: Arc<str> = path.display().to_string().into();
        let file = match File::open(path) {
            Ok(f) => f,
            Err(e) => {
                self.file_failed(&name, "unreadable-file", e.to_string());
                return;
            }
        };
        let regular_len = file
            .metadata()
            .ok()
            .filter(|m| m.is_file())
            .map(|m| m.len());
        let mut src = Peek::new(file);
        let kind = sniff(src.peek(SNIFF_BYTES));
        match (kind, regular_len) {
            (Kind::Zip, Some(_)) => {
                if !self.deeper(&name, 0, "zip") {
                    return;
                }
                // The archive seeks itself to its central directory.
                let (_, file) = src.into_parts();
                match zip::ZipArchive::new(BufReader::new(file)) {
                    Ok(archive) => self.read_zip_members(&name, archive, 1),
                    Err(e) => self.file_failed(&name, "corrupt-zip", e.to_string()),
                }
            }
            (Kind::Gzip, Some(len)) if len <= gzip::WHOLE_MAX_COMPRESSED => {
                if self.deeper(&name, 0, "gzip") {
                    self.read_gzip_whole(name, src, len)
                }
            }
            (_, len) => {
                let capacity = len.map_or(256 * 1024, gzip_capacity);
                let src: Source<'_> = Peek::new(Box::new(src));
                self.read_layer(name, src, 0, capacity, "read-error");
            }
        }
    }

    /// Read a regular file by hits (`hits.rs`): plain, or gzip small enough to inflate whole.
    /// `false`: nothing was read or counted; read it as usual.
    ///
    /// The file's first window is read straight into the thread's window and looked at there
    /// (no read of its first bytes alone), and no read is made past the size `fstat` gave
    /// (none to learn that the file has ended): one `read` for a file of up to 4 MiB.
    pub(crate) fn read_file_by_hits(&mut self, path: &Path) -> bool {
        let name: Arc<str> = path.display().to_string().into();
        let Ok(file) = File::open(path) else {
            return false;
        };
        let Some(len) = file
            .metadata()
            .ok()
            .filter(|m| m.is_file())
            .map(|m| m.len())
        else {
            return false;
        };
        // A size of 0 may hide content (procfs, some FUSE file systems): read as usual, to
        // the end, so that nothing is lost to a size that was not true.
        if len == 0 {
            return false;
        }
        let mut src = file.take(len);
        let mut window = hits::take_window();
        // A window (the thread's may be longer: grown for a long line before).
        let first = hits::WINDOW.min(usize::try_from(len).unwrap_or(usize::MAX));
        let Ok(n) = hits::read_full(&mut src, &mut window[..first]) else {
            hits::put_window(window);
            return false;
        };
        match sniff(&window[..n.min(SNIFF_BYTES)]) {
            Kind::Plain => self.read_window_by_hits(&name, (window, n), src, 0, false),
            Kind::Gzip if len <= gzip::WHOLE_MAX_COMPRESSED => {
                let mut compressed = WHOLE_IN.with(|c| c.take());
                compressed.clear();
                compressed.extend_from_slice(&window[..n]);
                hits::put_window(window);
                let mut out = WHOLE_OUT.with(|c| c.take());
                let read = match src.read_to_end(&mut compressed) {
                    Ok(_) => match gzip::gunzip_whole(&compressed, &mut out) {
                        Some(n) if is_plain(&out[..n.min(SNIFF_BYTES)]) => {
                            self.read_buffer_by_hits(&name, &out[..n])
                        }
                        _ => false,
                    },
                    Err(_) => false,
                };
                if compressed.capacity() <= 1 << 20 {
                    WHOLE_IN.with(|c| c.set(compressed));
                }
                if out.len() <= 8 << 20 {
                    WHOLE_OUT.with(|c| c.set(out));
                }
                read
            }
            _ => {
                hits::put_window(window);
                false
            }
        }
    }

    /// Read standard input (`-`).
    pub(crate) fn read_stdin(&mut self) {
        let stdin = io::stdin();
        let src: Source<'_> = Peek::new(Box::new(stdin.lock()));
        self.read_layer("-".into(), src, 0, 256 * 1024, "read-error");
    }

    /// A stream that is not a file (a batch of lines a live source delivered), named `name`.
    pub(crate) fn read_named(&mut self, name: Arc<str>, raw: Box<dyn io::Read + '_>) {
        let src: Source<'_> = Peek::new(raw);
        self.read_layer(name, src, 0, 256 * 1024, "read-error");
    }

    /// Read one layer of a source: unwrap it when it is an archive, a compressed stream or
    /// UTF-16, frame it otherwise. `depth` archive layers are open around it; `capacity` is
    /// the read buffer for a compressed stream; `io_reason` names a failure to read it.
    fn read_layer(
        &mut self,
        name: Arc<str>,
        mut src: Source<'_>,
        depth: u32,
        capacity: usize,
        io_reason: &'static str,
    ) {
        // A read error while looking comes to the framer, which reports it.
        let kind = sniff(src.peek(SNIFF_BYTES));
        match kind {
            Kind::Plain => {
                // A small buffer: the framer looks at the first bytes through it, then reads
                // 1 MiB at a time, which a `BufReader` hands straight to the source once it is
                // empty, so the bytes are read into the framer's buffer and never copied.
                self.read_records(name, BufReader::with_capacity(8 * 1024, src), io_reason);
            }
            Kind::Gzip if self.deeper(&name, depth, "gzip") => {
                let decoder =
                    flate2::bufread::MultiGzDecoder::new(BufReader::with_capacity(capacity, src));
                let inner: Source<'_> = Peek::new(Box::new(decoder));
                self.read_layer(name, inner, depth + 1, capacity, "corrupt-gzip");
            }
            Kind::Zip if self.deeper(&name, depth, "zip") => {
                self.read_zip_stream(&name, src, depth + 1)
            }
            Kind::Gzip | Kind::Zip => {}
            Kind::Utf16 { big_endian, bom } => {
                self.read_utf16(name, src, big_endian, bom, io_reason)
            }
            Kind::Unsupported(format) => self.file_failed_at(
                &name,
                0,
                "unsupported-format",
                format!(
                    "{format}: snapback reads JSON as UTF-8 or UTF-16, gzip and zip; convert or \
                     extract it first"
                ),
            ),
        }
    }

    /// Whether one more archive layer may be opened inside `depth` layers; if not, the input
    /// fails, said so.
    fn deeper(&mut self, name: &Arc<str>, depth: u32, what: &str) -> bool {
        let max = self.options.max_archive_depth;
        if depth < max {
            return true;
        }
        self.file_failed_at(
            name,
            0,
            "archive-too-deep",
            format!(
                "{what} inside {depth} layers of archives and compression: more than {max} are \
                 not opened (IngestOptions::max_archive_depth); extract the outer layers first"
            ),
        );
        false
    }

    /// UTF-16 text: decoded to UTF-8 as it is read, and said so when it is JSON (UTF-16 text
    /// that is not, a CSV export, is counted as text like any other).
    fn read_utf16(
        &mut self,
        name: Arc<str>,
        mut src: Source<'_>,
        big_endian: bool,
        bom: bool,
        io_reason: &'static str,
    ) {
        if bom {
            src.skip(2);
        }
        let (decoder, replaced) = Utf16Reader::new(src, big_endian);
        let mut decoded = Peek::new(decoder);
        if starts_as_json(decoded.peek(SNIFF_BYTES)) {
            let order = if big_endian { "BE" } else { "LE" };
            let how = if bom { "with" } else { "without" };
            self.diag(
                Severity::Warning,
                &name,
                None,
                Some(0),
                "utf-16",
                format!(
                    "the file is UTF-16{order} ({how} a byte-order mark), decoded to UTF-8; \
                     byte offsets in it are of the UTF-8"
                ),
            );
        }
        self.read_records(
            name.clone(),
            BufReader::with_capacity(8 * 1024, decoded),
            io_reason,
        );
        let r = replaced.get();
        if r.count > 0 {
            self.diag(
                Severity::Warning,
                &name,
                None,
                Some(r.first_at),
                "invalid-utf16",
                format!(
                    "{} code units that are not UTF-16 (a surrogate without its other half, an \
                     odd last byte) were replaced with U+FFFD; the first is here",
                    r.count
                ),
            );
        }
    }

    /// A small gzip file: read whole and inflated in one call ([`gzip::gunzip_whole`]), or,
    /// when that does not apply (several members, broken input), streamed from the bytes read.
    /// What it holds is framed where it was inflated, unless it is an archive or UTF-16.
    fn read_gzip_whole(&mut self, name: Arc<str>, mut file: Peek<File>, len: u64) {
        let mut compressed = WHOLE_IN.with(|c| c.take());
        compressed.clear();
        compressed.reserve(len as usize);
        if let Err(e) = file.read_to_end(&mut compressed) {
            self.file_failed(&name, "unreadable-file", e.to_string());
            return;
        }
        let mut out = WHOLE_OUT.with(|c| c.take());
        match gzip::gunzip_whole(&compressed, &mut out) {
            Some(n) if is_plain(&out[..n.min(SNIFF_BYTES)]) => {
                // Framed where it was inflated, not copied into the framer's read buffer.
                let inflated = std::mem::take(&mut out);
                let memory = Some((inflated, n));
                if let Some(back) = self.read_records_with(name, &[][..], "corrupt-gzip", memory) {
                    out = back;
                }
            }
            Some(n) => {
                let inner: Source<'_> = Peek::new(Box::new(&out[..n]));
                self.read_layer(name, inner, 1, 256 * 1024, "corrupt-gzip");
            }
            None => {
                let capacity = gzip_capacity(compressed.len() as u64);
                let src: Source<'_> = Peek::new(Box::new(&compressed[..]));
                self.read_layer(name, src, 0, capacity, "read-error");
            }
        }
        // Kept for the next file on this thread, unless one large file grew them.
        if compressed.capacity() <= 1 << 20 {
            WHOLE_IN.with(|c| c.set(compressed));
        }
        if out.len() <= 8 << 20 {
            WHOLE_OUT.with(|c| c.set(out));
        }
    }

    /// Every member of a zip archive that can seek (a regular file, or one held in memory),
    /// each streamed through [`read_layer`](Self::read_layer): never read whole.
    fn read_zip_members<R: Read + Seek>(
        &mut self,
        name: &Arc<str>,
        mut archive: zip::ZipArchive<R>,
        depth: u32,
    ) {
        let mut files = 0;
        for i in 0..archive.len() {
            let member = match archive.by_index(i) {
                Ok(m) => m,
                Err(e) => {
                    self.file_failed(name, "corrupt-zip", format!("member {i}: {e}"));
                    continue;
                }
            };
            if member.is_dir() {
                continue;
            }
            files += 1;
            let member_name: Arc<str> = format!("{name}!{}", member.name()).into();
            let src: Source<'_> = Peek::new(Box::new(member));
            self.read_layer(member_name, src, depth, 256 * 1024, "corrupt-zip");
        }
        if files == 0 {
            self.file_failed_at(name, 0, "empty-file", "the archive holds no files".into());
        }
    }

    /// A zip archive that cannot seek (inside another archive, on a pipe, on stdin): held in
    /// memory up to [`crate::IngestOptions::max_archive_bytes`] (all such archives open at once
    /// together) and read through its central directory; a larger one is read from its local
    /// headers as it streams, which works unless a member's size is only given after its data.
    fn read_zip_stream(&mut self, name: &Arc<str>, src: Source<'_>, depth: u32) {
        let budget = self
            .options
            .max_archive_bytes
            .saturating_sub(self.archive_held);
        let mut held = Vec::new();
        let mut src = src;
        if let Err(e) = (&mut src).take(budget as u64 + 1).read_to_end(&mut held) {
            self.file_failed(name, "corrupt-zip", e.to_string());
            return;
        }
        if held.len() <= budget {
            let size = held.len();
            self.archive_held += size;
            match zip::ZipArchive::new(io::Cursor::new(held)) {
                Ok(archive) => self.read_zip_members(name, archive, depth),
                Err(e) => self.file_failed(name, "corrupt-zip", e.to_string()),
            }
            self.archive_held -= size;
            return;
        }
        self.read_zip_local_headers(name, io::Cursor::new(held).chain(src), depth, budget);
    }

    /// The members of a zip archive read in order from its local headers.
    fn read_zip_local_headers(
        &mut self,
        name: &Arc<str>,
        mut stream: impl Read,
        depth: u32,
        budget: usize,
    ) {
        let mut files = 0;
        loop {
            match zip::read::read_zipfile_from_stream(&mut stream) {
                Ok(Some(member)) => {
                    if member.is_dir() {
                        continue;
                    }
                    files += 1;
                    let member_name: Arc<str> = format!("{name}!{}", member.name()).into();
                    let src: Source<'_> = Peek::new(Box::new(member));
                    self.read_layer(member_name, src, depth, 256 * 1024, "corrupt-zip");
                }
                Ok(None) => break,
                Err(e) => {
                    self.file_failed(
                        name,
                        "corrupt-zip",
                        format!(
                            "member {files}: {e} (an archive of over {budget} bytes inside \
                             another archive or on a pipe is read as it streams, which needs \
                             each member's size before its data; extract it, or raise \
                             IngestOptions::max_archive_bytes); the members before it were read"
                        ),
                    );
                    return;
                }
            }
        }
        if files == 0 {
            self.file_failed_at(name, 0, "empty-file", "the archive holds no files".into());
        }
    }
}
