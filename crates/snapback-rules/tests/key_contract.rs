//! The key contract between the framer and what reads its key lists (docs/architecture.md §2.4).
//!
//! The prefilter decides on a record by the names of the keys the framer lists. A key it needs
//! that the framer does not list would make it skip a record a rule matches, silently. So the
//! pipeline unites the prefilter's keys ([`Prefilter::keys`]) with the decoders' markers
//! ([`marker_keys`]) into a [`KeySpec`], and the framer lists from it. These tests put every
//! such key through the real reader (the framer's fast path and its plain path) and fail if one
//! is missing from the list the filter is handed.

use std::collections::BTreeSet;
use std::sync::Mutex;

use snapback_ingest::decode::marker_keys;
use snapback_ingest::{
    read_inputs_parallel, IngestOptions, Input, KeyList, KeySpec, ParallelOptions, RecordFilter,
};
use snapback_rules::{Prefilter, RuleSet};

/// The spec the pipeline builds for `prefilter` (`cmd_scan::with_reading` does the same).
fn pipeline_spec(prefilter: &Prefilter) -> KeySpec {
    prefilter
        .keys()
        .union(KeySpec::names(marker_keys().iter().copied()))
}

/// Every key name listed for each record, as the framer hands them to a record filter, read
/// through the real reader with the framer's fast path on or off. `None`: no list was given
/// (the byte machine frames a file's first record, and every record without the fast path),
/// so the filter searches the bytes and nothing was promised.
fn listed_names(records: &[String], spec: &KeySpec, fast: bool) -> Vec<Option<BTreeSet<String>>> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("records.jsonl");
    // A first record the byte machine takes, so that the fast path frames all of `records`.
    let first = r#"{"first":true}"#;
    std::fs::write(&path, format!("{first}\n{}\n", records.join("\n"))).unwrap();
    type Seen = Vec<(Vec<u8>, Option<BTreeSet<String>>)>;
    let seen: Mutex<Seen> = Mutex::new(Vec::new());
    let filter = |record: &[u8], keys: Option<KeyList<'_>>| {
        let names = keys.map(|k| {
            k.ends
                .iter()
                .map(|&e| name_ending_at(record, e as usize))
                .collect()
        });
        seen.lock().unwrap().push((record.to_vec(), names));
        false
    };
    let parallel = ParallelOptions {
        filter: Some(&filter as &RecordFilter),
        keys: spec,
        fast_framer: fast,
        ..ParallelOptions::default()
    };
    read_inputs_parallel(
        &[Input::Path(path)],
        &IngestOptions::default(),
        &parallel,
        &|_| Some(()),
        &mut |_, _| {},
        &mut |d| panic!("{d}"),
        &mut |_| {},
    );
    let seen = seen.into_inner().unwrap();
    records
        .iter()
        .map(|r| {
            let i = seen
                .iter()
                .position(|(b, _)| b == r.as_bytes())
                .unwrap_or_else(|| panic!("record not given to the filter: {r}"));
            seen[i].1.clone()
        })
        .collect()
}

/// The key whose closing quote is at `end`.
fn name_ending_at(record: &[u8], end: usize) -> String {
    assert_eq!(record[end], b'"', "a listed end is not a closing quote");
    let start = record[..end].iter().rposition(|&b| b == b'"').unwrap() + 1;
    String::from_utf8(record[start..end].to_vec()).unwrap()
}

/// A record holding `name` at the top and nested, between keys the filter never asks about.
fn record_with(name: &str) -> String {
    format!(r#"{{"zz":1,"{name}":"v","n":{{"q":[{{"{name}":"w"}}]}},"xy":true}}"#)
}

fn names_of(spec: &KeySpec) -> Vec<String> {
    match spec {
        KeySpec::Names(n) => n.iter().cloned().collect(),
        other => panic!("expected named keys, got {other:?}"),
    }
}

/// Each name in records at several alignments (the block scan works 64 bytes at a time): every
/// list given holds the name, and the fast path gave one for each name at least once (it may
/// decline a record, leaving the filter to search its bytes, but then this test would prove
/// nothing).
fn assert_all_listed(names: &[String], spec: &KeySpec) {
    let pads = ["", "p", "pp", "ppp", "ppppppppppppppppppppppppppppppp"];
    let cases: Vec<(&String, String)> = names
        .iter()
        .flat_map(|n| {
            pads.iter()
                .map(move |p| (n, record_with(n).replacen("{", &format!("{{\"{p}\":0,"), 1)))
        })
        .collect();
    let records: Vec<String> = cases.iter().map(|(_, r)| r.clone()).collect();
    for fast in [true, false] {
        let mut checked: BTreeSet<&String> = BTreeSet::new();
        for ((name, record), listed) in cases.iter().zip(listed_names(&records, spec, fast)) {
            if let Some(listed) = listed {
                assert!(
                    listed.contains(*name),
                    "framer (fast path {fast}) did not list {name:?} in {record}; listed {listed:?}"
                );
                checked.insert(name);
            }
        }
        if fast {
            let missed: Vec<_> = names.iter().filter(|n| !checked.contains(n)).collect();
            assert!(
                missed.is_empty(),
                "the fast path listed no keys for {missed:?}"
            );
        }
    }
}

#[test]
fn framer_lists_every_key_the_prefilter_and_decoders_need() {
    let rules = RuleSet::builtin();
    let prefilter = Prefilter::for_rules(&rules, marker_keys());
    assert!(!prefilter.is_off(), "{:?}", prefilter.disabled_by());
    let spec = pipeline_spec(&prefilter);
    let names = names_of(&spec);
    // What the prefilter looks up by name: the operation key of each cloud's layouts, and every
    // decoder marker.
    for needed in [
        "eventName",
        "operationName",
        "OperationName",
        "OperationNameValue",
        "methodName",
    ]
    .into_iter()
    .chain(marker_keys().iter().copied())
    {
        assert!(spec.wants(needed), "the key spec misses {needed}");
    }
    assert_all_listed(&names, &spec);
}

#[test]
fn rules_that_pin_other_fields_get_every_key_listed() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("ua.yml"),
        "title: pins a field\nid: 4f9e0e55-52a6-4b8e-9c1e-0c7f3d2f0a01\nstatus: test\n\
         logsource:\n  product: aws\n  service: cloudtrail\n\
         detection:\n  sel:\n    userAgent|contains: evil\n    sourceIPAddress: 1.2.3.4\n  condition: sel\n\
         level: high\n",
    )
    .unwrap();
    let rules = RuleSet::load(false, &[dir.path().to_path_buf()]);
    assert!(rules.problems.is_empty(), "{:#?}", rules.problems);
    let prefilter = Prefilter::for_rules(&rules, marker_keys());
    let spec = pipeline_spec(&prefilter);
    assert_eq!(spec, KeySpec::All);
    assert!(spec.needs_all());
    assert_all_listed(&["userAgent".into(), "sourceIPAddress".into()], &spec);
}

/// The test above can fail: a key whose last byte the fast path does not mark is listed only
/// because the spec names it. Named alone among `d`/`e` keys it is missing from the fast list.
#[test]
fn a_key_the_spec_does_not_name_is_not_promised() {
    let only_de = KeySpec::names(["eventName"]);
    assert!(!only_de.needs_all());
    let listed = listed_names(&[record_with("sourceIPAddress")], &only_de, true);
    let listed = listed[0].as_ref().expect("the fast path lists keys");
    assert!(!listed.contains("sourceIPAddress"), "{listed:?}");
    // Named, it is listed.
    let named = only_de.union(KeySpec::names(["sourceIPAddress"]));
    assert!(named.needs_all());
    assert_all_listed(&["sourceIPAddress".into(), "eventName".into()], &named);
}
