//! Says, at build time, when the public data the tests read beside the repository
//! (`../shared`: the log corpus, the AQL corpus, SigmaHQ's cloud rules) is missing, as in a
//! fresh clone. The tests over it then pass without running (CI, which always has it, fails
//! them instead), and their own notes are hidden by the test harness's output capture; a
//! build-script warning is printed by cargo on every build, whatever the test output.

use std::path::PathBuf;

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let shared = manifest.join("../../../shared");
    let wanted = ["corpus", "aql-corpus", "sigmahq-cloud"];
    let missing: Vec<&str> = wanted
        .into_iter()
        .filter(|d| !shared.join(d).is_dir())
        .collect();
    for d in wanted {
        // A path that does not exist reruns the script on every build, so the warning stays
        // until the data is there.
        println!("cargo:rerun-if-changed={}", shared.join(d).display());
    }
    if !missing.is_empty() {
        println!(
            "cargo:warning=../shared/{{{}}} not found beside the repository: the tests over it \
             will not run here (CI has it and fails without it)",
            missing.join(",")
        );
    }
}
