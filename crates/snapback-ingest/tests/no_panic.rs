//! No input may panic the reader, and the counts always agree with what was reported: random
//! bytes, and random mutations (byte flips, cuts, insertions of JSON punctuation) of a valid
//! CloudTrail file, plain and gzip-compressed.

mod common;

use std::io::Write;

use common::{ct, read_with};
use proptest::prelude::*;
use snapback_ingest::{IngestOptions, Input};

fn valid_file() -> Vec<u8> {
    let records: Vec<String> = (0..4)
        .map(|i| {
            ct(
                &format!("2024-01-01T00:00:0{i}Z"),
                "StopInstances",
                &format!("id{i}"),
            )
        })
        .collect();
    format!("{{\"Records\":[{}]}}\n", records.join(",\n")).into_bytes()
}

#[derive(Debug, Clone)]
enum Mutation {
    Flip(usize, u8),
    Cut(usize),
    Insert(usize, &'static [u8]),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let punct: &'static [&'static [u8]] = &[
        b"{",
        b"}",
        b"[",
        b"]",
        b"\"",
        b"\\",
        b",",
        b"\n",
        b"\r",
        b":",
        b"\xEF\xBB\xBF",
        b"\xff",
        b"\x00",
        b"1e999",
        b"null",
        b"{\"Records\":[",
    ];
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Flip(i, b)),
        any::<usize>().prop_map(Mutation::Cut),
        (any::<usize>(), proptest::sample::select(punct)).prop_map(|(i, p)| Mutation::Insert(i, p)),
    ]
}

fn apply(mut bytes: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for m in mutations {
        if bytes.is_empty() {
            break;
        }
        match *m {
            Mutation::Flip(i, b) => {
                let i = i % bytes.len();
                bytes[i] = b;
            }
            Mutation::Cut(i) => bytes.truncate(i % bytes.len()),
            Mutation::Insert(i, p) => {
                let i = i % (bytes.len() + 1);
                bytes.splice(i..i, p.iter().copied());
            }
        }
    }
    bytes
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

/// Read `bytes` as a file (with small record limits too, to exercise `record-too-large`); the
/// consistency of counts and diagnostics is asserted by `read_with`.
fn check(bytes: &[u8]) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("input");
    std::fs::write(&path, bytes).unwrap();
    for limit in [usize::MAX, 64] {
        let r = read_with(
            &[Input::Path(path.clone())],
            &IngestOptions {
                max_record_bytes: limit,
                ..IngestOptions::default()
            },
        );
        for e in &r.events {
            assert!(e.provenance.offset <= bytes.len() as u64 * 64 + 64);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        check(&bytes);
    }

    #[test]
    fn random_json_ish_bytes_never_panic(bytes in proptest::collection::vec(
        proptest::sample::select(b"{}[]\",:\\\n \xEF\xBB\xBFaeR0-".to_vec()), 0..512)) {
        check(&bytes);
    }

    #[test]
    fn mutated_cloudtrail_never_panics(mutations in proptest::collection::vec(mutation(), 1..6)) {
        let bytes = apply(valid_file(), &mutations);
        check(&bytes);
        check(&gzip(&bytes));
        // A mutation of the compressed stream itself.
        check(&apply(gzip(&valid_file()), &mutations));
    }
}

#[test]
fn the_unmutated_file_gives_all_four_events() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ok.json");
    std::fs::write(&path, valid_file()).unwrap();
    let r = read_with(&[Input::Path(path)], &IngestOptions::default());
    assert_eq!(r.summary.events, 4);
    assert!(!r.summary.has_problems());
}
