//! Your own Sigma rules are evaluated as Sigma says: SigmaHQ's cloud rules over the public
//! corpus (`../shared/corpus`), snapback against rsigma's own evaluation of the raw records.
//!
//! 1. Matching: for every record, the rules snapback matches are the rules rsigma matches on
//!    the record as JSON (`JsonEvent`), whatever the call's outcome. snapback resolves more
//!    paths than plain JSON (Azure's three schemas, string-encoded request bodies); a record
//!    where that changes the answer is listed below with its reason, or the test fails.
//! 2. Alerts: every match of a rule without the pack's metadata becomes an alert, failed calls
//!    included. The only differences from the match count are documented: a record delivered
//!    twice (same cloud, account and event id) counts once, and the records of one multi-record
//!    operation (an Azure call's Started/Accepted/Succeeded, a GCP operation's first and last
//!    entries) make one alert.
//!
//! A fresh clone has no `../shared`: the test then says so and passes; in CI (`CI` set) it
//! fails, because CI always has it.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::{Path, PathBuf};

use rsigma_eval::event::JsonEvent;
use rsigma_eval::Engine;
use snapback_correlate::{DetectOptions, Detector, Tuning};
use snapback_ingest::{read_inputs, Event, IngestOptions, Input, Outcome};
use snapback_rules::{Role, RuleSet};

fn shared(rel: &str) -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared")
        .join(rel);
    if dir.is_dir() {
        return Some(dir);
    }
    if std::env::var_os("CI").is_some() {
        panic!("CI is set but {} is missing", dir.display());
    }
    eprintln!(
        "\n*** sigma_conformance DID NOT RUN: {} is missing (a fresh clone has no ../shared). ***\n",
        dir.display()
    );
    None
}

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            yaml_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "yml" || e == "yaml") {
            out.push(p);
        }
    }
}

/// rsigma's own engine over the same rule files, as its CLI loads them.
fn rsigma_engine(dir: &Path) -> Engine {
    let mut files = Vec::new();
    yaml_files(dir, &mut files);
    let mut engine = Engine::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        let collection = rsigma_parser::parse_sigma_yaml(&text)
            .unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        engine
            .add_collection(&collection)
            .unwrap_or_else(|e| panic!("{}: {e}", f.display()));
    }
    engine
}

/// Records where snapback's path resolution rightly answers differently from plain JSON:
/// (file name ends with, rule id, why).
const KNOWN_DIFFERENCES: &[(&str, &str, &str)] = &[(
    "panther-analysis-tests/azure_monitor_activity.jsonl",
    "09438caa-07b1-4870-8405-1dbafe3dad95",
    "the Activity Log REST schema writes operationName as {value, localizedValue}; snapback \
     reads operationName.value where plain JSON sees an object (docs/rules.md, Field paths), \
     so the elevation SigmaHQ's rule is written for is found in that schema too",
)];

struct Run {
    events: Vec<Event>,
    /// (event index, rule id) that snapback matched.
    ours: BTreeSet<(usize, String)>,
    theirs: BTreeSet<(usize, String)>,
}

fn run(corpus: &Path, sigma: &Path, set: &RuleSet) -> Run {
    let engine = rsigma_engine(sigma);
    let mut events = Vec::new();
    read_inputs(
        &[Input::Path(corpus.to_path_buf())],
        &IngestOptions::default(),
        &mut |e| events.push(e),
        &mut |_| {},
    );
    let mut ours = BTreeSet::new();
    let mut theirs = BTreeSet::new();
    for (i, e) in events.iter().enumerate() {
        for r in set.matches(e) {
            ours.insert((i, set.detections[r].id.clone()));
        }
        for r in engine.evaluate(&JsonEvent::borrow(&e.raw)) {
            if r.is_detection() {
                let id = r.header.rule_id.clone().unwrap_or(r.header.rule_title);
                theirs.insert((i, id));
            }
        }
    }
    Run {
        events,
        ours,
        theirs,
    }
}

#[test]
fn sigmahq_rules_match_the_corpus_as_rsigma_does_and_every_match_alerts() {
    let (Some(corpus), Some(sigma)) = (shared("corpus"), shared("sigmahq-cloud")) else {
        return;
    };
    let set = RuleSet::load(false, std::slice::from_ref(&sigma));
    assert!(set.problems.is_empty(), "{:?}", set.problems);
    assert!(set
        .detections
        .iter()
        .all(|d| d.meta.role == Role::Standalone));
    let Run {
        events,
        ours,
        theirs,
    } = run(&corpus, &sigma, &set);

    // 1. Matching, record by record.
    let known = |i: usize, rule: &str| {
        KNOWN_DIFFERENCES
            .iter()
            .any(|(file, id, _)| *id == rule && events[i].provenance.file.ends_with(file))
    };
    let only_ours: Vec<_> = ours
        .difference(&theirs)
        .filter(|(i, r)| !known(*i, r))
        .collect();
    let only_theirs: Vec<_> = theirs
        .difference(&ours)
        .filter(|(i, r)| !known(*i, r))
        .collect();
    let show = |d: &[&(usize, String)]| -> Vec<String> {
        d.iter()
            .take(20)
            .map(|(i, r)| format!("{} {} {}", events[*i].provenance, events[*i].operation, r))
            .collect()
    };
    assert!(
        only_ours.is_empty() && only_theirs.is_empty(),
        "snapback only: {:#?}\nrsigma only: {:#?}",
        show(&only_ours),
        show(&only_theirs)
    );
    let failed = ours
        .iter()
        .filter(|(i, _)| matches!(events[*i].outcome, Outcome::Failure { .. }))
        .count();
    eprintln!(
        "sigma_conformance: {} records, {} matches (rsigma {}), {failed} of them failed calls",
        events.len(),
        ours.len(),
        theirs.len()
    );
    assert!(
        failed > 0,
        "the corpus has failed calls that SigmaHQ's rules match"
    );

    // 2. Alerts: one per match, but for the documented merges. A record whose cloud, account
    // and event id were already seen (in input order, among records the detector keeps) is a
    // re-delivery and counts once, whichever rules matched the first copy: the public test
    // fixtures reuse ids such as "1" and "12345" across unrelated records.
    let mut matched: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (i, rule) in &ours {
        let r = set.detections.iter().position(|d| &d.id == rule).unwrap();
        matched.entry(*i).or_default().push(r);
    }
    let mut expected: BTreeMap<String, u64> = BTreeMap::new();
    let mut seen_records = HashSet::new();
    let mut seen_acts = HashSet::new();
    let (mut duplicates, mut merged) = (0u64, 0u64);
    for (i, e) in events.iter().enumerate() {
        let rules = matched.get(&i).cloned().unwrap_or_default();
        let record = (e.cloud, e.account.clone(), e.event_id.clone());
        if seen_records.contains(&record) {
            duplicates += rules.len() as u64;
            continue;
        }
        if Detector::keeps(e, &rules) {
            seen_records.insert(record);
        }
        for r in rules {
            let rule = set.detections[r].id.clone();
            if !seen_acts.insert((rule.clone(), e.cloud, e.account.clone(), e.act())) {
                merged += 1;
                continue;
            }
            *expected.entry(rule).or_default() += 1;
        }
    }
    let tuning = Tuning::default();
    let mut d = Detector::new(&set, &tuning, DetectOptions::default());
    for e in events {
        d.observe(e);
    }
    let report = d.finish();
    let mut got: BTreeMap<String, u64> = BTreeMap::new();
    for a in report
        .alerts
        .iter()
        .filter(|a| set.detections.iter().any(|d| d.id == a.rule_id))
    {
        *got.entry(a.rule_id.clone()).or_default() += 1;
    }
    let folded = report.stats.folded;
    eprintln!(
        "sigma_conformance: {} single-event alerts; {duplicates} matches were re-delivered \
         records, {merged} were further records of one operation, {folded} alerts over a \
         record another rule also matched were merged into that rule's alert",
        got.values().sum::<u64>()
    );
    // One act, one alert: two rules that match one record make one alert, named by the
    // higher-ranked rule, with the other named in its reasons. Nothing else is lost.
    assert_eq!(
        got.values().sum::<u64>() + folded,
        expected.values().sum::<u64>()
    );
    for (rule, n) in &expected {
        let g = got.get(rule).copied().unwrap_or(0);
        assert!(g <= *n, "{rule}: {g} alerts for {n} matches");
    }
    let named = |rule: &str| {
        report
            .alerts
            .iter()
            .any(|a| a.rule_id == rule || a.risk_reasons.iter().any(|r| r.contains(rule)))
    };
    for rule in expected.keys() {
        assert!(named(rule), "{rule} matched but no alert names it");
    }
}
