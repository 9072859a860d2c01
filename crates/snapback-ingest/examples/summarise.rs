//! Print the diagnostics and the summary of reading the given paths (`-` for stdin).
//!
//! `cargo run -p snapback-ingest --example summarise -- PATH...`

use snapback_ingest::{read_inputs, IngestOptions, Input};

fn main() {
    let inputs: Vec<Input> = std::env::args().skip(1).map(|a| Input::parse(&a)).collect();
    let summary = read_inputs(&inputs, &IngestOptions::default(), &mut |_| {}, &mut |d| {
        eprintln!("{d}")
    });
    println!("{summary}");
}
