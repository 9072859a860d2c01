//! The library pipeline is what `scan` runs: driven from here, over the bundled data, it writes
//! byte for byte the golden output of `snapback scan examples/atomic --format jsonl
//! --show-suppressed` (`tests/golden/atomic.jsonl.out`), with the prefilter on and off, and a
//! `Selection` picks what the flags pick.
//!
//! One test function: it sets the working directory (the evidence names files as given), which
//! is process-wide.

use std::path::PathBuf;

use snapback_correlate::Tuning;
use snapback_ingest::{IngestOptions, Input};
use snapback_pipeline::{Batch, PrefilterMode, Selection};
use snapback_rules::RuleSet;

fn jsonl(alerts: &[&snapback_model::Alert]) -> Vec<u8> {
    let mut out = Vec::new();
    snapback_output::write_jsonl(&mut out, alerts).unwrap();
    out
}

#[test]
fn the_pipeline_writes_what_scan_writes_with_and_without_the_prefilter() {
    let root = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."));
    std::env::set_current_dir(&root).unwrap();
    let golden = std::fs::read("tests/golden/atomic.jsonl.out").unwrap();
    let rules = RuleSet::load(true, &[]);
    let tuning = Tuning::default();
    let mut outputs = Vec::new();
    for prefilter in [PrefilterMode::Auto, PrefilterMode::Off] {
        let batch = Batch {
            rules: &rules,
            tuning: &tuning,
            prefilter,
            ingest: IngestOptions::default(),
        };
        let mut diagnostics = 0;
        let run = batch.run(
            &[Input::Path("examples/atomic".into())],
            &mut |_| diagnostics += 1,
            &mut |_| {},
        );
        assert!(run.summary.events > 0);
        let all = Selection::with_suppressed(0).pick(&run.report.alerts);
        let bytes = jsonl(&all);
        assert_eq!(
            String::from_utf8_lossy(&bytes),
            String::from_utf8_lossy(&golden),
            "{prefilter:?}"
        );
        // Without --show-suppressed, suppressed alerts are not shown; with --min-risk, low
        // ones are not either.
        let shown = Selection::default().pick(&run.report.alerts);
        assert!(shown.iter().all(|a| a.suppressed.is_none()));
        assert!(
            shown.len() < all.len(),
            "the bundled data has suppressed alerts"
        );
        let top = shown.iter().map(|a| a.risk_score).max().unwrap();
        let high = Selection {
            min_risk: top,
            suppressed: false,
        }
        .pick(&run.report.alerts);
        assert!(high.iter().all(|a| a.risk_score >= top));
        assert!(!high.is_empty() && high.len() < shown.len());
        outputs.push(bytes);
    }
    assert_eq!(outputs[0], outputs[1]);
}
