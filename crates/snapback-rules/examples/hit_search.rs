//! The hit search alone, for `benches/NOTES.md`: the built-in pack's prefilter
//! ([`Prefilter::next_hit`], as `snapback scan` reads by hits) over the first bytes of a file
//! held in memory, on one thread, without the copy out of the page cache, framing or decoding
//! that a scan adds. After each hit the search goes on from the next line, as the reader does
//! for JSON lines (`snapback_ingest`'s `hits.rs`); on a one-line `Records` file, from the byte
//! after the hit.
//!
//! `cargo run --release -p snapback-rules --example hit_search -- FILE [ROUNDS] [MIB]` reads
//! up to MIB MiB of FILE (default 512) and prints, for each of ROUNDS rounds (default 5), the
//! hits found, the bytes searched, the seconds and GB/s. `SNAPBACK_NO_HIT_KERNEL=1` searches
//! with the library's searchers instead of the kernel.

use std::io::Read;
use std::time::Instant;

use snapback_rules::{Prefilter, RuleSet};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(path) = args.first() else {
        eprintln!("usage: hit_search FILE [ROUNDS] [MIB]");
        std::process::exit(2);
    };
    let rounds: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(5);
    let mib: u64 = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(512);
    let mut buf = Vec::new();
    let read = std::fs::File::open(path).and_then(|f| f.take(mib << 20).read_to_end(&mut buf));
    if let Err(e) = read {
        eprintln!("{path}: {e}");
        std::process::exit(1);
    }
    let rules = RuleSet::builtin();
    let mut prefilter = Prefilter::for_rules(&rules, snapback_ingest::decode::marker_keys());
    if std::env::var_os("SNAPBACK_NO_HIT_KERNEL").is_some() {
        prefilter = prefilter.without_hit_kernel();
    }
    println!("round hits bytes seconds GB/s");
    for round in 1..=rounds {
        let started = Instant::now();
        let (mut hits, mut from) = (0u64, 0);
        while let Some(h) = prefilter.next_hit(&buf, from) {
            hits += 1;
            from = memchr::memchr(b'\n', &buf[h..]).map_or(h + 1, |i| h + i + 1);
        }
        let secs = started.elapsed().as_secs_f64();
        let gbs = buf.len() as f64 / secs / 1e9;
        println!("{round} {hits} {} {secs:.6} {gbs:.2}", buf.len());
    }
}
