//! The tuning TOML (`--config`): any text through `Tuning::from_toml`; a config that loads then
//! tunes a real detection run over a fixed set of events (allow lists, maintenance windows,
//! risk overrides, state caps).
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use snapback_correlate::{DetectOptions, Detector, Tuning};
use snapback_rules::RuleSet;

fn rules() -> &'static RuleSet {
    static RULES: OnceLock<RuleSet> = OnceLock::new();
    RULES.get_or_init(RuleSet::builtin)
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(tuning) = Tuning::from_toml(text) else {
        return;
    };
    let options = tuning.detect_options(DetectOptions::default());
    let mut detector = Detector::new(rules(), &tuning, options);
    for e in snapback_fuzz::events() {
        detector.observe(e.clone());
    }
    let report = detector.finish();
    let _ = format!("{report:?}");
});
