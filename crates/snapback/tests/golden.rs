//! `scan` output pinned byte for byte (docs/architecture.md, migration step 1): the reshape of
//! the house into a streaming pipeline must not change what `scan` writes. Each case runs the
//! binary from the repository root (so that evidence paths are relative and the same on every
//! machine) and compares stdout and stderr with `tests/golden/`.
//!
//! A change that is meant to change output (a rule, a score, an id scheme) re-blesses the
//! goldens in the same commit, so its effect on every alert is in the diff:
//!
//! ```sh
//! SNAPBACK_BLESS=1 cargo test -p snapback --test golden
//! ```
//!
//! Output over `../shared` is large and not ours to copy, so those goldens hold a SHA-256 of the
//! bytes and one line per alert (id, rule, risk, severity, suppressed), enough to show what moved.
//! A fresh clone has no `../shared`: those cases say so and are skipped; in CI (`CI` set) a missing
//! `../shared` fails.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;
use sha2::{Digest, Sha256};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn golden_dir() -> PathBuf {
    root().join("tests/golden")
}

/// How a case's output is kept.
#[derive(Clone, Copy, PartialEq)]
enum Keep {
    /// The bytes themselves.
    Bytes,
    /// A digest and one line per JSON alert.
    Digest,
}

struct Case {
    name: &'static str,
    args: &'static [&'static str],
    keep: Keep,
    needs_shared: bool,
}

const CASES: &[Case] = &[
    Case {
        name: "atomic.table",
        args: &["scan", "examples/atomic", "--format", "table"],
        keep: Keep::Bytes,
        needs_shared: false,
    },
    Case {
        name: "atomic.jsonl",
        args: &[
            "scan",
            "examples/atomic",
            "--format",
            "jsonl",
            "--show-suppressed",
        ],
        keep: Keep::Bytes,
        needs_shared: false,
    },
    Case {
        name: "atomic.ocsf",
        args: &["scan", "examples/atomic", "--format", "ocsf"],
        keep: Keep::Bytes,
        needs_shared: false,
    },
    Case {
        name: "atomic.leef",
        args: &["scan", "examples/atomic", "--format", "leef"],
        keep: Keep::Bytes,
        needs_shared: false,
    },
    Case {
        name: "atomic.cef",
        args: &["scan", "examples/atomic", "--format", "cef"],
        keep: Keep::Bytes,
        needs_shared: false,
    },
    Case {
        name: "demo.jsonl",
        args: &["demo", "--format", "jsonl"],
        keep: Keep::Bytes,
        needs_shared: false,
    },
    Case {
        name: "corpus.pack.jsonl",
        args: &[
            "scan",
            "../shared/corpus",
            "--format",
            "jsonl",
            "--show-suppressed",
        ],
        keep: Keep::Bytes,
        needs_shared: true,
    },
    Case {
        name: "corpus.sigmahq.jsonl",
        args: &[
            "scan",
            "../shared/corpus",
            "--rules",
            "../shared/sigmahq-cloud",
            "--format",
            "jsonl",
            "--show-suppressed",
        ],
        keep: Keep::Digest,
        needs_shared: true,
    },
];

fn digest(bytes: &[u8]) -> String {
    let mut lines = vec![format!("sha256 {:x}", Sha256::digest(bytes))];
    for line in String::from_utf8_lossy(bytes).lines() {
        let a: Value = serde_json::from_str(line).expect("one JSON alert per line");
        lines.push(format!(
            "{} {} {} {}{}",
            a["alert_id"].as_str().unwrap_or(""),
            a["rule_name"]
                .as_str()
                .or(a["rule_id"].as_str())
                .unwrap_or(""),
            a["risk_score"],
            a["severity"].as_str().unwrap_or(""),
            if a["suppressed"].is_object() {
                " suppressed"
            } else {
                ""
            }
        ));
    }
    lines.join("\n") + "\n"
}

/// The first lines where `want` and `got` differ, for the failure message.
fn diff(want: &str, got: &str) -> String {
    let (w, g): (Vec<&str>, Vec<&str>) = (want.lines().collect(), got.lines().collect());
    let mut out = Vec::new();
    for i in 0..w.len().max(g.len()) {
        let (a, b) = (w.get(i).copied(), g.get(i).copied());
        if a != b {
            out.push(format!(
                "line {}:\n  - {}\n  + {}",
                i + 1,
                a.unwrap_or("<none>"),
                b.unwrap_or("<none>")
            ));
            if out.len() == 8 {
                out.push("…".into());
                break;
            }
        }
    }
    format!(
        "{} lines expected, {} written\n{}",
        w.len(),
        g.len(),
        out.join("\n")
    )
}

fn check(file: &str, got: &str, failures: &mut Vec<String>) {
    let path = golden_dir().join(file);
    if std::env::var_os("SNAPBACK_BLESS").is_some() {
        std::fs::create_dir_all(golden_dir()).unwrap();
        std::fs::write(&path, got).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; write it with SNAPBACK_BLESS=1 cargo test -p snapback --test golden",
            path.display()
        )
    });
    if want != got {
        failures.push(format!("{file} differs: {}", diff(&want, got)));
    }
}

#[test]
fn scan_output_is_byte_identical_to_the_goldens() {
    let shared = root().join("../shared");
    let mut failures = Vec::new();
    for case in CASES {
        if case.needs_shared && !shared.join("corpus").is_dir() {
            if std::env::var_os("CI").is_some() {
                panic!("CI is set but {} is missing", shared.display());
            }
            eprintln!(
                "\n*** golden case {} DID NOT RUN: {} is missing (a fresh clone has no ../shared). ***\n",
                case.name,
                shared.display()
            );
            continue;
        }
        let out = Command::cargo_bin("snapback")
            .unwrap()
            .current_dir(root())
            .env_remove("SNAPBACK_NO_PREFILTER")
            .args(case.args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}: {}",
            case.name,
            String::from_utf8_lossy(&out.stderr)
        );
        // `demo` names the sample data by its absolute path, which depends on the checkout.
        let here = root().canonicalize().unwrap().display().to_string();
        let local = |s: String| s.replace(&here, "<checkout>");
        let stdout = match case.keep {
            Keep::Bytes => local(String::from_utf8(out.stdout).unwrap()),
            Keep::Digest => digest(local(String::from_utf8(out.stdout).unwrap()).as_bytes()),
        };
        check(&format!("{}.out", case.name), &stdout, &mut failures);
        check(
            &format!("{}.err", case.name),
            &local(String::from_utf8_lossy(&out.stderr).into_owned()),
            &mut failures,
        );
    }
    assert!(
        failures.is_empty(),
        "scan output changed (re-bless with SNAPBACK_BLESS=1 if that is intended):\n{}",
        failures.join("\n\n")
    );
}
