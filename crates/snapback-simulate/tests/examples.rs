//! The committed `examples/atomic` must be exactly what the simulator writes today.
//!
//! Regenerate after a deliberate change with
//! `rm -rf examples/atomic && cargo run -- simulate --test all --out examples/atomic`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use snapback_simulate::{write, Selection, DEFAULT_SEED};

fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/atomic")
}

/// Every file under `root`, by relative path.
fn tree(root: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
            .map(|e| e.expect("dir entry").path())
            .collect();
        entries.sort();
        for path in entries {
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let rel = path.strip_prefix(root).expect("under root");
                let rel = rel.to_string_lossy().replace('\\', "/");
                out.insert(rel, std::fs::read(&path).expect("read file"));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

#[test]
fn committed_examples_match_a_fresh_run() {
    let tmp = tempfile::tempdir().expect("temp dir");
    write(Selection::All, DEFAULT_SEED, tmp.path()).expect("simulate");
    let fresh = tree(tmp.path());
    let committed = tree(&examples_dir());
    let fresh_names: Vec<_> = fresh.keys().collect();
    let committed_names: Vec<_> = committed.keys().collect();
    assert_eq!(
        committed_names, fresh_names,
        "examples/atomic has different files than a fresh run; regenerate (see this file's doc)"
    );
    for (name, bytes) in &fresh {
        assert!(
            committed[name] == *bytes,
            "examples/atomic/{name} differs from a fresh run ({} bytes committed, {} fresh); regenerate (see this file's doc)",
            committed[name].len(),
            bytes.len()
        );
    }
}

#[test]
fn two_runs_are_byte_identical() {
    let a = tempfile::tempdir().expect("temp dir");
    let b = tempfile::tempdir().expect("temp dir");
    write(Selection::All, DEFAULT_SEED, a.path()).expect("simulate");
    write(Selection::All, DEFAULT_SEED, b.path()).expect("simulate");
    assert_eq!(tree(a.path()), tree(b.path()));
}
