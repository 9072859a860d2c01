//! Sigma rule loading: any text as a user rule file (detections, correlations, filters; one or
//! several YAML documents), loaded the way `--rules DIR` loads it, then every loaded detection
//! matched against a fixed set of AWS, Azure and Google Cloud events.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use snapback_rules::RuleSet;

/// One directory for the process: each input overwrites its one rule file.
fn dir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let d = std::env::temp_dir().join(format!("snapback-fuzz-sigma-{}", std::process::id()));
        std::fs::create_dir_all(&d).expect("temp dir");
        d
    })
}

fuzz_target!(|data: &[u8]| {
    let dir = dir();
    std::fs::write(dir.join("rule.yml"), data).expect("write rule");
    let rules = RuleSet::load(false, std::slice::from_ref(dir));
    for p in &rules.problems {
        let _ = p.to_string();
    }
    if rules.detections.is_empty() && rules.filters.is_empty() {
        return;
    }
    for e in snapback_fuzz::events() {
        for rule in rules.matches(e) {
            let _ = rules.suppressing_filters(e, snapback_rules::RuleRef::Detection(rule));
        }
    }
});
