//! Decompression alone, for `benches/`: every `.gz` file under the given paths through the same
//! decoders `snapback scan` uses (small files whole with libdeflate,
//! `snapback_ingest::gzip::gunzip_whole`; the rest, and what that declines, streamed with flate2
//! `MultiGzDecoder`, zlib-rs backend, 256 KiB buffers), over files in parallel on rayon's pool
//! (`RAYON_NUM_THREADS`), the output counted and dropped.
//!
//! `cargo run --release -p snapback-ingest --example gunzip -- DIR…` prints
//! `files compressed_bytes decompressed_bytes seconds`.

use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::time::Instant;

use rayon::prelude::*;

thread_local! {
    static OUT: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

fn main() {
    let mut files: Vec<PathBuf> = Vec::new();
    for arg in std::env::args().skip(1) {
        for e in walkdir::WalkDir::new(&arg).sort_by_file_name() {
            let e = e.expect("readable directory");
            if e.file_type().is_file() && e.path().extension().is_some_and(|x| x == "gz") {
                files.push(e.into_path());
            }
        }
    }
    let started = Instant::now();
    let (compressed, decompressed) = files
        .par_iter()
        .map(|p| {
            let f = std::fs::File::open(p).expect("readable file");
            let len = f.metadata().map(|m| m.len()).unwrap_or(0);
            // Small files as `snapback scan` reads them: whole, through libdeflate.
            if len <= snapback_ingest::gzip::WHOLE_MAX_COMPRESSED {
                let gz = std::fs::read(p).expect("readable file");
                let n = OUT.with(|o| snapback_ingest::gzip::gunzip_whole(&gz, &mut o.borrow_mut()));
                if let Some(n) = n {
                    return (len, n as u64);
                }
            }
            let raw = BufReader::with_capacity(256 * 1024, f);
            let mut dec =
                BufReader::with_capacity(256 * 1024, flate2::bufread::MultiGzDecoder::new(raw));
            let mut n = 0u64;
            loop {
                let buf = dec.fill_buf().expect("valid gzip");
                if buf.is_empty() {
                    break;
                }
                let k = buf.len();
                n += k as u64;
                dec.consume(k);
            }
            let _ = dec.read(&mut [0u8; 1]);
            (len, n)
        })
        .reduce(|| (0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
    println!(
        "{} {} {} {:.3}",
        files.len(),
        compressed,
        decompressed,
        started.elapsed().as_secs_f64()
    );
}
