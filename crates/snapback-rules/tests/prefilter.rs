//! The prefilter is conservative: every record of the corpus, the examples and the fixtures,
//! fed through both paths, gives the same matches. A record the prefilter skips yields no event
//! that any rule matches, and no event whose operation (Azure `correlationId`, GCP
//! `operation.id`) a matched event needs to learn its outcome.

use std::collections::HashSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use snapback_ingest::frame::{Frame, Framer};
use snapback_ingest::{decode_record, Cloud, Decoded, KeyList, Provenance};
use snapback_rules::{Prefilter, RuleSet};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut paths: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    paths.sort();
    for p in paths {
        if p.is_dir() {
            files(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// Every framed record of every file under the directories: (file, bytes).
fn records(dirs: &[PathBuf]) -> Vec<(Arc<str>, Vec<u8>)> {
    let mut paths = Vec::new();
    for d in dirs {
        files(d, &mut paths);
    }
    let mut out = Vec::new();
    for p in paths {
        let raw = std::fs::read(&p).unwrap_or_default();
        let bytes = if raw.starts_with(&[0x1f, 0x8b]) {
            let mut v = Vec::new();
            let _ = flate2::read::MultiGzDecoder::new(&raw[..]).read_to_end(&mut v);
            v
        } else {
            raw
        };
        let name: Arc<str> = p.display().to_string().into();
        let mut framer = Framer::new(&bytes[..], 16 << 20);
        while let Some(Ok(f)) = framer.next_frame() {
            if let Frame::Record { bytes, .. } = f {
                out.push((name.clone(), bytes));
            }
        }
    }
    out
}

fn check(rules: &RuleSet, label: &str, recs: &[(Arc<str>, Vec<u8>)]) {
    let prefilter = Prefilter::for_rules(rules, &snapback_ingest::decode::LOWER_CASE_MARKERS);
    let library = Prefilter::for_rules(rules, &snapback_ingest::decode::LOWER_CASE_MARKERS)
        .without_hit_kernel();
    if let Some(why) = prefilter.disabled_by() {
        eprintln!("{label}: prefilter off ({why}): every record passes");
    }
    // Operations are keyed as the detector keys them: cloud, correlation id, operation.
    let mut needed_ops: HashSet<(Cloud, String, String)> = HashSet::new();
    let mut skipped_ops: Vec<(Cloud, String, String, String)> = Vec::new();
    let (mut skipped, mut matched, mut keyed, mut differ) = (0, 0, 0, 0);
    for (i, (file, bytes)) in recs.iter().enumerate() {
        // Both paths: the byte search, and the key list the framer's fast path gives. A
        // record either one skips counts as skipped, so both must be conservative.
        let all = prefilter.wants_all_keys();
        let ends = if all {
            snapback_ingest::all_key_ends(bytes)
        } else {
            snapback_ingest::key_ends(bytes)
        };
        keyed += usize::from(ends.is_some());
        let by_bytes = prefilter.may_match(bytes);
        let listed = ends.as_deref().map(|ends| KeyList { ends, all });
        let by_keys = prefilter.may_match_keys(bytes, listed);
        differ += usize::from(by_bytes != by_keys);
        // Reading by hits: where the search stands for the prefilter, a record holds a hit
        // exactly when the byte search passes it.
        let by_hits = !prefilter.searches_hits() || prefilter.next_hit(bytes, 0).is_some();
        if prefilter.searches_hits() {
            // The AVX2 kernel and the library searchers find the same first hit.
            assert_eq!(
                prefilter.next_hit(bytes, 0),
                library.next_hit(bytes, 0),
                "{label}: the kernel and the library searchers disagree on {file}"
            );
            assert_eq!(
                by_hits,
                by_bytes,
                "{label}: the hit search and the byte search disagree on {file}: {}",
                String::from_utf8_lossy(&bytes[..bytes.len().min(400)])
            );
        }
        let pass = by_bytes && by_keys && by_hits;
        skipped += usize::from(!pass);
        let Ok(value) = serde_json::from_slice(bytes) else {
            continue;
        };
        let prov = Provenance {
            file: file.clone(),
            record: i as u64,
            offset: 0,
        };
        for d in decode_record(value, &prov) {
            let Decoded::Event(e) = d else { continue };
            let m = rules.matches(&e);
            if !m.is_empty() {
                matched += 1;
                assert!(
                    pass,
                    "{label}: the prefilter skipped a record that rules {m:?} match: {file}: {}",
                    String::from_utf8_lossy(&bytes[..bytes.len().min(400)])
                );
                if let (Some(id), Cloud::Azure | Cloud::Gcp) = (&e.correlation_id, e.cloud) {
                    needed_ops.insert((e.cloud, id.clone(), e.action.to_ascii_lowercase()));
                }
            } else if !pass {
                // Only Azure and Google Cloud operations span records (see the detector).
                if let (Some(id), Cloud::Azure | Cloud::Gcp) = (&e.correlation_id, e.cloud) {
                    skipped_ops.push((
                        e.cloud,
                        id.clone(),
                        e.action.to_ascii_lowercase(),
                        file.to_string(),
                    ));
                }
            }
        }
    }
    for (cloud, id, action, file) in &skipped_ops {
        assert!(
            !needed_ops.contains(&(*cloud, id.clone(), action.clone())),
            "{label}: skipped a record of operation {id} ({file}) that a matched event needs"
        );
    }
    eprintln!(
        "{label}: {} records ({keyed} with a key list; the two paths differ on {differ}), \
         {skipped} skipped by the prefilter, {matched} events matched",
        recs.len()
    );
    assert!(keyed > 0, "{label}: no record had a key list");
    hits_over_many_records(&prefilter, label, recs);
    hits_over_many_records(&library, &format!("{label} (library searchers)"), recs);
    if !prefilter.is_off() {
        assert!(skipped > 0, "{label}: the prefilter skipped nothing");
    }
}

/// The hit search over all the records at once, one per line (what reading by hits searches):
/// every record the byte search passes holds a hit found from the end of the one before, and
/// no hit falls in a record it skips.
fn hits_over_many_records(prefilter: &Prefilter, label: &str, recs: &[(Arc<str>, Vec<u8>)]) {
    if !prefilter.searches_hits() {
        eprintln!(
            "{label}: the hit search does not stand for this prefilter (reading by hits off)"
        );
        return;
    }
    let mut buf = Vec::new();
    let mut spans = Vec::new();
    for (_, bytes) in recs {
        spans.push((buf.len(), buf.len() + bytes.len()));
        buf.extend_from_slice(bytes);
        buf.push(b'\n');
    }
    let mut hits = Vec::new();
    let mut from = 0;
    while let Some(h) = prefilter.next_hit(&buf, from) {
        hits.push(h);
        from = h + 1;
    }
    let mut passed = 0;
    for (i, &(start, end)) in spans.iter().enumerate() {
        let holds = hits.iter().any(|&h| h >= start && h < end);
        let pass = prefilter.may_match(&recs[i].1);
        passed += usize::from(pass);
        assert_eq!(
            holds, pass,
            "{label}: record {i} ({}): a hit inside it {holds}, the byte search {pass}",
            recs[i].0
        );
    }
    assert!(
        passed > 0 && passed < recs.len(),
        "{label}: {passed} of {} records passed",
        recs.len()
    );
}

/// `../shared/NAME`, when there; otherwise says loudly what did not run (a failure under CI,
/// which always has it).
fn shared(name: &str, what: &str) -> Option<PathBuf> {
    let dir = root().join("../shared").join(name);
    if dir.is_dir() {
        return Some(dir);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "../shared/{name} is missing under CI"
    );
    eprintln!("NOT RUN {what}: ../shared/{name} not found");
    None
}

/// [`check`] with SigmaHQ's cloud rules beside the pack, when `../shared` has them.
fn check_with_sigmahq(label: &str, recs: &[(Arc<str>, Vec<u8>)]) {
    if let Some(dir) = shared("sigmahq-cloud", &format!("with SigmaHQ on the {label}")) {
        check(
            &RuleSet::load(true, &[dir]),
            &format!("{label} + SigmaHQ cloud"),
            recs,
        );
    }
}

#[test]
fn prefilter_is_conservative_on_every_record() {
    let mut dirs = vec![root().join("examples"), root().join("tests/fixtures")];
    dirs.extend(shared(
        "corpus",
        "on the corpus (examples and fixtures only)",
    ));
    let recs = records(&dirs);
    assert!(recs.len() > 100);
    check(&RuleSet::builtin(), "built-in pack", &recs);
    check_with_sigmahq("examples, fixtures and corpus", &recs);
}

#[test]
fn volume_corpus_records_pass_or_are_unmatched() {
    // The benchmark generator's mix: planted steps pass, the read-only noise is skipped.
    let dir = tempfile::tempdir().unwrap();
    snapback_simulate::volume::write_volume(
        2 << 20,
        7,
        snapback_simulate::volume::VolumeFormats::parse("json").unwrap(),
        dir.path(),
    )
    .unwrap();
    let recs = records(&[dir.path().to_path_buf()]);
    check(&RuleSet::builtin(), "volume corpus", &recs);
    check_with_sigmahq("volume corpus", &recs);
}

/// The specialised hit search (`prefilter/hits.rs`: key names in one searcher, `\u` in a
/// pass of its own searched only up to the first key hit) finds what the byte search passes,
/// on the shapes it must not miss: a `\u` before, between and right up to a key hit, an
/// escaped, differently cased or non-string value of a wanted key, a lower-cased marker key,
/// and records that hold none of them, alone and all in one buffer.
#[test]
fn hit_search_finds_escapes_cases_and_markers_around_key_hits() {
    let rules = RuleSet::builtin();
    let kernel = Prefilter::for_rules(&rules, &snapback_ingest::decode::LOWER_CASE_MARKERS);
    let library = Prefilter::for_rules(&rules, &snapback_ingest::decode::LOWER_CASE_MARKERS)
        .without_hit_kernel();
    for prefilter in [kernel, library] {
        escapes_cases_and_markers(&prefilter);
    }
}

fn escapes_cases_and_markers(prefilter: &Prefilter) {
    assert!(prefilter.searches_hits(), "the builtin pack reads by hits");
    let ct = |name: &str, extra: &str| {
        format!(
            "{{\"eventVersion\":\"1.08\",\"eventTime\":\"2026-11-20T10:00:00Z\",\
             \"eventSource\":\"ec2.amazonaws.com\",\"eventName\":{name},\
             \"awsRegion\":\"us-east-1\"{extra}}}"
        )
        .into_bytes()
    };
    let recs: Vec<(&str, Vec<u8>, bool)> = vec![
        ("plain, unwanted", ct("\"DescribeInstances\"", ""), false),
        (
            "\\u in an unwanted record",
            ct("\"DescribeInstances\"", ",\"x\":\"\\u0041\""),
            true,
        ),
        ("plain, wanted", ct("\"StopInstances\"", ""), true),
        (
            "unwanted again",
            ct("\"DescribeVolumes\"", ",\"userName\":\"a\""),
            false,
        ),
        (
            "\\u after a wanted key",
            ct("\"StartInstances\"", ",\"x\":\"\\u00e9\""),
            true,
        ),
        ("escaped value", ct("\"Stop\\u0049nstances\"", ""), true),
        (
            "other escape in value",
            ct("\"Stop\\tInstances\"", ""),
            true,
        ),
        ("lower-cased value", ct("\"stopinstances\"", ""), true),
        ("upper-cased value", ct("\"STOPINSTANCES\"", ""), true),
        ("array value", ct("[\"StopInstances\"]", ""), true),
        ("object value", ct("{\"v\":\"StopInstances\"}", ""), true),
        (
            "unwanted, key as a value",
            ct("\"ListBuckets\"", ",\"k\":\"eventName\""),
            false,
        ),
        (
            "lower-cased marker",
            b"{\"eventname\":\"DescribeInstances\",\"eventtime\":\"x\"}".to_vec(),
            true,
        ),
        (
            "\\u ending where a key starts",
            b"{\"a\":\"\\u\",\"eventName\":\"ListBuckets\"}".to_vec(),
            true,
        ),
        ("unwanted last", ct("\"GetObject\"", ""), false),
    ];
    let mut buf = Vec::new();
    let mut spans = Vec::new();
    for (label, bytes, want) in &recs {
        assert_eq!(
            prefilter.may_match(bytes),
            *want,
            "byte search on {label}: {}",
            String::from_utf8_lossy(bytes)
        );
        assert_eq!(
            prefilter.next_hit(bytes, 0).is_some(),
            *want,
            "hit search on {label}: {}",
            String::from_utf8_lossy(bytes)
        );
        spans.push((buf.len(), buf.len() + bytes.len()));
        buf.extend_from_slice(bytes);
        buf.push(b'\n');
    }
    // As the reader calls it: from the end of the line of each hit.
    let mut hit_in = vec![false; recs.len()];
    let mut from = 0;
    while let Some(h) = prefilter.next_hit(&buf, from) {
        let i = spans
            .iter()
            .position(|&(s, e)| h >= s && h < e)
            .expect("in a record");
        hit_in[i] = true;
        from = spans[i].1 + 1;
    }
    for (i, (label, _, want)) in recs.iter().enumerate() {
        assert_eq!(hit_in[i], *want, "over the buffer: {label}");
    }
}
