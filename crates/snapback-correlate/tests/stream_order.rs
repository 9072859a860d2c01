//! The streaming detector against the batch one: the bundled sample data fed in shuffled
//! arrival orders within the lateness, released after every event, gives `scan`'s final alerts,
//! ids and content included; an event that arrives beyond the lateness is counted as late.

use std::path::Path;

use jiff::SignedDuration;
use snapback_correlate::order::Lateness;
use snapback_correlate::stream::{Emission, Revisions, Watcher};

thread_local! {
    /// Evidence ids named as changed by later revisions, in this thread's runs.
    static CHANGED: std::cell::RefCell<usize> = const { std::cell::RefCell::new(0) };
}
use snapback_correlate::{Alert, DetectOptions, Detector, Tuning};
use snapback_ingest::{read_inputs, Event, IngestOptions, Input};
use snapback_rules::RuleSet;

fn sample_events() -> Vec<Event> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/atomic");
    let mut events = Vec::new();
    read_inputs(
        &[Input::Path(dir)],
        &IngestOptions::default(),
        &mut |e| events.push(e),
        &mut |d| panic!("the sample data is clean: {d}"),
    );
    events
}

fn batch(rules: &RuleSet, tuning: &Tuning, events: &[Event]) -> Vec<Alert> {
    let mut d = Detector::new(rules, tuning, DetectOptions::default());
    for e in events {
        d.observe(e.clone());
    }
    d.finish().alerts
}

/// A small deterministic generator (xorshift), so that a failure can be replayed.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// Each event arrives at its own time plus a random delay below `lateness`: no event can
/// arrive after the watermark passed it.
fn arrival_order(events: &[Event], lateness: SignedDuration, rng: &mut Rng) -> Vec<Event> {
    let span = lateness.as_millis().max(1) as u64;
    let mut keyed: Vec<(jiff::Timestamp, u64, Event)> = events
        .iter()
        .map(|e| {
            let delay = SignedDuration::from_millis((rng.next() % span) as i64);
            (e.time.instant + delay, rng.next(), e.clone())
        })
        .collect();
    keyed.sort_by_key(|k| (k.0, k.1));
    keyed.into_iter().map(|(_, _, e)| e).collect()
}

fn stream(
    rules: &RuleSet,
    tuning: &Tuning,
    events: Vec<Event>,
    lateness: SignedDuration,
) -> (Vec<Alert>, u64) {
    let mut w = Watcher::new(
        rules,
        tuning,
        DetectOptions::default(),
        Lateness::Bounded(lateness),
    );
    let mut revisions = Revisions::default();
    for mut e in events {
        let matched = rules.matches(&e);
        if Detector::keeps(&e, &matched) {
            let p = Detector::prepare(rules, &mut e, matched);
            w.observe_prepared(e, p);
        }
        // Release and look after every event: the most revisions, the hardest case.
        w.release();
        let now = w.alerts();
        for e in revisions.diff(&now, &w) {
            if let Emission::Alert {
                alert,
                revision,
                changed,
            } = e
            {
                // A revision names the evidence it adds, and only that.
                if revision == 1 {
                    assert!(changed.is_empty());
                }
                for c in &changed {
                    assert!(alert.evidence.iter().any(|e| &e.event_id == c), "{c}");
                }
                CHANGED.with(|n| *n.borrow_mut() += changed.len());
            }
        }
    }
    w.end_of_input();
    w.release();
    (w.alerts(), w.stats().late_events)
}

fn by_id(alerts: &[Alert]) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = alerts
        .iter()
        .map(|a| (a.alert_id.clone(), serde_json::to_string(a).unwrap()))
        .collect();
    v.sort();
    v
}

#[test]
fn shuffled_arrival_within_the_lateness_gives_the_batch_alerts() {
    let rules = RuleSet::load(true, &[]);
    let tuning = Tuning::default();
    let events = sample_events();
    let want = by_id(&batch(&rules, &tuning, &events));
    assert!(want.len() >= 8);
    let lateness = SignedDuration::from_mins(15);
    let mut rng = Rng(0x1578_0004);
    for round in 0..10 {
        let order = arrival_order(&events, lateness, &mut rng);
        let (got, late) = stream(&rules, &tuning, order, lateness);
        assert_eq!(late, 0, "round {round}");
        assert_eq!(by_id(&got), want, "round {round}");
    }
    // Arrival out of order revises alerts (a precursor after its revert), and each revision
    // said what it added.
    assert!(CHANGED.with(|n| *n.borrow()) > 0);
}

#[test]
fn an_event_beyond_the_lateness_is_counted_late() {
    let rules = RuleSet::load(true, &[]);
    let tuning = Tuning::default();
    let mut events = sample_events();
    events.sort_by_key(|e| e.time.instant);
    // The first matched event of the AWS account arrives last, hours behind the others.
    let first = events
        .iter()
        .position(|e| e.cloud == snapback_ingest::Cloud::Aws && !rules.matches(e).is_empty())
        .unwrap();
    let late = events.remove(first);
    events.push(late);
    let (_, late) = stream(&rules, &tuning, events, SignedDuration::from_mins(15));
    assert_eq!(late, 1);
}
