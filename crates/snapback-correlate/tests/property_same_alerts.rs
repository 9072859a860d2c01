//! Issue 13, "Find the next ones": the alerts of a scan do not depend on how its records are laid
//! out. Any permutation of the records and of the files, any duplication of records, any split
//! of them across files (JSON lines, JSON arrays, `Records` containers, gzip), any number of
//! reading threads and any chunk size of the parallel reader give the same alerts, ids and
//! order included, at the default state caps and at small ones.
//!
//! The records are those of the bundled sample data (`examples/atomic`: AWS, Azure and Google
//! Cloud) plus generated CloudTrail stop/start pairs whose times collide (the hardest case for
//! an order-independent result: correlation sees events by time, ties broken by where they
//! were read). Each case writes its files to a temporary directory and reads them with the real
//! parallel reader (`read_inputs_parallel`, the prefilter on, as `snapback scan` runs it) into
//! the real `Detector`.
//!
//! What an alert says about where its evidence was read (`file`, and `offset`, the byte offset
//! of the record in its file) is left out of the comparison: it is the layout itself. Everything
//! else is compared, as the JSON `scan` prints: ids, order, rules, roles, event ids, times,
//! operations, actors. That every piece of evidence still carries a file and an offset is
//! checked (`comparable`), so leaving them out hides no missing provenance.
//!
//! **Small caps.** The small caps are the least state the records need (measured on the
//! baseline run: each cap is the peak the detector reached), so that no case evicts (checked).
//! Beyond a cap eviction drops state, and which state depends on the arrival order, so a
//! permutation may then change the alerts; what still holds (and is tested, with caps far
//! below the need) is that the same records in the same order give the same alerts however they
//! are split into files, whatever the threads and chunks, and that nothing panics.

use std::io::Write;
use std::path::Path;
use std::sync::OnceLock;

use proptest::prelude::*;
use serde_json::{json, Value};
use snapback_correlate::{DetectOptions, DetectStats, Detector, Tuning};
use snapback_ingest::{
    read_inputs, read_inputs_parallel, IngestOptions, Input, KeyList, KeySpec, ParallelOptions,
    RecordFilter,
};
use snapback_rules::{Prefilter, RuleSet};

fn rules() -> &'static RuleSet {
    static RULES: OnceLock<RuleSet> = OnceLock::new();
    RULES.get_or_init(RuleSet::builtin)
}

/// CloudTrail stop/start pairs of `n` instances by two principals, at times that collide
/// (several calls in the same second, across instances and principals), one failed call.
fn generated_records(n: u32) -> Vec<String> {
    let mut out = Vec::new();
    for i in 0..n {
        let who = if i % 2 == 0 { "alice" } else { "bob" };
        let instance = format!("i-0{:016x}", 0xabc0 + u64::from(i));
        for (k, (name, minute)) in [
            ("StopInstances", 10 + i % 3),
            ("StartInstances", 20 + i % 2),
        ]
        .into_iter()
        .enumerate()
        {
            let mut v = json!({
                "eventVersion": "1.08",
                "eventTime": format!("2026-11-21T09:{minute:02}:00Z"),
                "eventSource": "ec2.amazonaws.com",
                "eventName": name,
                "awsRegion": "us-east-1",
                "recipientAccountId": "111122223333",
                "sourceIPAddress": "198.51.100.9",
                "userIdentity": {"type": "AssumedRole", "arn": format!("arn:aws:sts::111122223333:assumed-role/admin/{who}")},
                "requestParameters": {"instancesSet": {"items": [{"instanceId": instance}]}},
                "eventID": format!("gen-{i}-{k}"),
            });
            if i == 3 && k == 1 {
                v["errorCode"] = json!("UnauthorizedOperation");
            }
            out.push(v.to_string());
        }
    }
    out
}

/// Every record of the sample data, one JSON text each, then the generated ones.
fn records() -> &'static [String] {
    static RECORDS: OnceLock<Vec<String>> = OnceLock::new();
    RECORDS.get_or_init(|| {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/atomic");
        let mut out: Vec<String> = Vec::new();
        read_inputs(
            &[Input::Path(dir)],
            &IngestOptions::default(),
            &mut |e| out.push(e.raw.to_string()),
            &mut |d| panic!("the sample data is clean: {d}"),
        );
        // A record that yields several events (an envelope) is kept once.
        out.dedup();
        out.extend(generated_records(8));
        out
    })
}

/// How records are written to a file.
#[derive(Debug, Clone, Copy)]
enum Format {
    JsonLines,
    Array,
    Container,
    GzipLines,
}

fn encode(format: Format, records: &[&str]) -> Vec<u8> {
    match format {
        Format::JsonLines => records
            .iter()
            .map(|r| format!("{r}\n"))
            .collect::<String>()
            .into(),
        Format::Array => format!("[\n  {}\n]\n", records.join(",\n  ")).into(),
        Format::Container => format!("{{\"Records\":[{}]}}", records.join(",")).into(),
        Format::GzipLines => {
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            gz.write_all(&encode(Format::JsonLines, records))
                .expect("gzip");
            gz.finish().expect("gzip")
        }
    }
}

/// The alerts as `scan --format jsonl` prints them, less where the evidence was read.
fn comparable(alerts: &[snapback_correlate::Alert]) -> Vec<Value> {
    alerts
        .iter()
        .map(|a| {
            let mut v = serde_json::to_value(a).expect("alert to JSON");
            if let Some(evidence) = v.get_mut("evidence").and_then(Value::as_array_mut) {
                for e in evidence {
                    let e = e.as_object_mut().expect("evidence is an object");
                    let file = e.remove("file");
                    let offset = e.remove("offset");
                    assert!(
                        file.as_ref()
                            .and_then(Value::as_str)
                            .is_some_and(|f| !f.is_empty())
                            && offset.as_ref().and_then(Value::as_u64).is_some(),
                        "evidence without its file and offset: {e:?}"
                    );
                }
            }
            v
        })
        .collect()
}

/// One run: `files` written under a fresh directory, read on `threads` threads in chunks of
/// `chunk_bytes`, detected with `options`.
fn scan(
    files: &[(String, Vec<u8>)],
    threads: usize,
    chunk_bytes: u64,
    options: DetectOptions,
) -> (Vec<Value>, DetectStats) {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, bytes) in files {
        std::fs::write(dir.path().join(name), bytes).expect("write");
    }
    let rules = rules();
    let tuning = Tuning::default();
    let mut detector = Detector::new(rules, &tuning, options);
    let prefilter = Prefilter::for_rules(rules, snapback_ingest::decode::marker_keys());
    let may_match =
        |record: &[u8], keys: Option<KeyList<'_>>| prefilter.may_match_keys(record, keys);
    let keys = prefilter.keys().union(KeySpec::names(
        snapback_ingest::decode::marker_keys().iter().copied(),
    ));
    let parallel = ParallelOptions {
        filter: (!prefilter.is_off()).then_some(&may_match as &RecordFilter),
        keys: &keys,
        chunk_bytes,
        ..ParallelOptions::default()
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("thread pool");
    let mut problems = Vec::new();
    pool.install(|| {
        read_inputs_parallel(
            &[Input::Path(dir.path().to_path_buf())],
            &IngestOptions::default(),
            &parallel,
            &|e| {
                let matched = rules.matches(e);
                Detector::keeps(e, &matched).then(|| Detector::prepare(rules, e, matched))
            },
            &mut |e, prepared| detector.observe_prepared(e, prepared),
            &mut |d| problems.push(d.to_string()),
            &mut |_| {},
        )
    });
    assert!(
        problems.is_empty(),
        "clean records gave diagnostics: {problems:#?}"
    );
    let report = detector.finish();
    (comparable(&report.alerts), report.stats)
}

/// The reference: every record once, in order, in one JSON lines file, on one thread.
struct Baseline {
    alerts: Vec<Value>,
    /// The least caps under which it evicts nothing.
    tight: DetectOptions,
}

fn baseline() -> &'static Baseline {
    static BASELINE: OnceLock<Baseline> = OnceLock::new();
    BASELINE.get_or_init(|| {
        let all: Vec<&str> = records().iter().map(String::as_str).collect();
        let file = ("all.jsonl".to_owned(), encode(Format::JsonLines, &all));
        let (alerts, stats) = scan(
            std::slice::from_ref(&file),
            1,
            32 << 20,
            DetectOptions::default(),
        );
        assert!(
            alerts.len() >= 5,
            "the records give alerts: {}",
            alerts.len()
        );
        // Peak state, measured by feeding the same events to a detector by hand.
        let rules = rules();
        let tuning = Tuning::default();
        let mut d = Detector::new(rules, &tuning, DetectOptions::default());
        let (mut events, mut operations) = (0, 0);
        let dir = write_one(&file);
        read_inputs(
            &[Input::Path(dir.path().to_path_buf())],
            &IngestOptions::default(),
            &mut |e| {
                d.observe(e);
                events = events.max(d.retained_events());
                operations = operations.max(d.remembered_operations());
            },
            &mut |diag| panic!("{diag}"),
        );
        let tight = DetectOptions {
            max_retained_events: events.max(1),
            max_operations: operations.max(1),
            max_open_sequences: (stats.sequences_opened as usize).max(1),
            ..DetectOptions::default()
        };
        Baseline { alerts, tight }
    })
}

fn write_one(file: &(String, Vec<u8>)) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join(&file.0), &file.1).expect("write");
    dir
}

/// A layout: which records (copies included) go in which order into how many files of which
/// formats, and how they are read.
#[derive(Debug, Clone)]
struct Layout {
    /// Extra copies of each record (0 mostly).
    copies: Vec<u8>,
    /// Seed of the shuffle of the records (copies included).
    order: u64,
    /// Where the shuffled list is cut into files (fractions of its length, in 1/1000).
    cuts: Vec<u16>,
    formats: Vec<u8>,
    /// Seed of the shuffle of the file names (the reader reads them in name order).
    names: u64,
    threads: usize,
    chunk_bytes: u64,
}

fn layout() -> impl Strategy<Value = Layout> {
    let n = records().len();
    (
        proptest::collection::vec(prop_oneof![6 => Just(0u8), 1 => Just(1), 1 => Just(2)], n),
        any::<u64>(),
        proptest::collection::vec(0u16..1000, 0..6),
        proptest::collection::vec(0u8..4, 7),
        any::<u64>(),
        1usize..=4,
        prop_oneof![Just(32u64 << 20), 512u64..16_384],
    )
        .prop_map(
            |(copies, order, cuts, formats, names, threads, chunk_bytes)| Layout {
                copies,
                order,
                cuts,
                formats,
                names,
                threads,
                chunk_bytes,
            },
        )
}

/// Fisher-Yates with xorshift: the seed replays the order.
fn shuffle<T>(items: &mut [T], mut seed: u64) {
    seed |= 1;
    for i in (1..items.len()).rev() {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        items.swap(i, (seed % (i as u64 + 1)) as usize);
    }
}

/// The files of a layout, over `records` (already in the order wanted, copies included).
fn files_of(layout: &Layout, records: &[&str]) -> Vec<(String, Vec<u8>)> {
    let mut cuts: Vec<usize> = layout
        .cuts
        .iter()
        .map(|c| records.len() * usize::from(*c) / 1000)
        .collect();
    cuts.push(records.len());
    cuts.sort_unstable();
    let mut names: Vec<usize> = (0..cuts.len()).collect();
    shuffle(&mut names, layout.names);
    let mut from = 0;
    let mut files = Vec::new();
    for (i, to) in cuts.into_iter().enumerate() {
        let format = match layout.formats[i % layout.formats.len()] {
            0 => Format::JsonLines,
            1 => Format::Array,
            2 => Format::Container,
            _ => Format::GzipLines,
        };
        // An empty file is said to be empty (a diagnostic), so none is written.
        if to > from {
            files.push((
                format!("part-{:02}.log", names[i]),
                encode(format, &records[from..to]),
            ));
        }
        from = to;
    }
    files
}

/// The records of a layout: copies added, then shuffled.
fn shuffled(layout: &Layout) -> Vec<&'static str> {
    let mut list: Vec<&str> = Vec::new();
    for (r, extra) in records().iter().zip(&layout.copies) {
        for _ in 0..=*extra {
            list.push(r);
        }
    }
    shuffle(&mut list, layout.order);
    list
}

fn no_eviction(stats: &DetectStats) -> bool {
    stats.events_evicted == 0 && stats.operations_evicted == 0 && stats.sequences_evicted == 0
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, failure_persistence: None, ..ProptestConfig::default() })]

    /// Any permutation, duplication and split, any threads and chunks: the baseline's alerts,
    /// at the default caps.
    #[test]
    fn property_layout_does_not_change_alerts_at_default_caps(layout in layout()) {
        let base = baseline();
        let files = files_of(&layout, &shuffled(&layout));
        let (alerts, stats) = scan(&files, layout.threads, layout.chunk_bytes, DetectOptions::default());
        prop_assert!(no_eviction(&stats));
        prop_assert_eq!(&alerts, &base.alerts);
    }

    /// The same at the least caps the records need: nothing is evicted, nothing changes.
    #[test]
    fn property_layout_does_not_change_alerts_at_small_caps(layout in layout()) {
        let base = baseline();
        let files = files_of(&layout, &shuffled(&layout));
        let (alerts, stats) = scan(&files, layout.threads, layout.chunk_bytes, base.tight.clone());
        prop_assert!(no_eviction(&stats), "{:?} under {:?}", stats, base.tight);
        prop_assert_eq!(&alerts, &base.alerts);
    }

    /// Caps far below what the records need: eviction happens and may cost alerts, but the
    /// same records in the same order give the same alerts whatever the split into files (file
    /// names keep the order), the formats, the threads and the chunks.
    #[test]
    fn property_split_and_threads_do_not_change_alerts_beyond_the_caps(layout in layout(), cap in 2usize..12) {
        let options = DetectOptions {
            max_retained_events: cap,
            max_operations: cap,
            max_open_sequences: cap,
            ..DetectOptions::default()
        };
        let list = shuffled(&layout);
        let in_order = Layout { names: 0, ..layout.clone() };
        let mut files = files_of(&in_order, &list);
        for (i, f) in files.iter_mut().enumerate() {
            f.0 = format!("part-{i:02}.log");
        }
        let one = vec![("all.jsonl".to_owned(), encode(Format::JsonLines, &list))];
        let (expected, expected_stats) = scan(&one, 1, 32 << 20, options.clone());
        let (alerts, _) = scan(&files, layout.threads, layout.chunk_bytes, options);
        prop_assert!(!no_eviction(&expected_stats), "caps of {} evict", cap);
        prop_assert_eq!(&alerts, &expected);
    }
}
