//! What one `watch` cycle costs as the retained state grows: the alert stage recomputes over
//! every retained matched event each cycle (docs/decisions.md, "watch recomputes alerts per
//! cycle"). Fills a [`Stream`] with N stopped instances (N retained events, N open sequences),
//! then times cycles that each add one more stop, as a steady `watch` does: in the same
//! account (its scope is correlated again: the worst case) and in another account (only that
//! account's scope is).
//!
//!     cargo run --release -p snapback-pipeline --example cycle_cost -- 10000 50000 100000

use std::time::Instant;

use jiff::{SignedDuration, Timestamp};
use snapback_correlate::order::Lateness;
use snapback_correlate::Tuning;
use snapback_pipeline::watch::Stream;
use snapback_rules::RuleSet;

fn record(t: Timestamp, name: &str, instance: usize, id: &str) -> String {
    record_in("111122223333", t, name, instance, id)
}

fn record_in(account: &str, t: Timestamp, name: &str, instance: usize, id: &str) -> String {
    serde_json::json!({
        "eventVersion": "1.09",
        "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/ops",
                         "accountId": account, "userName": "ops"},
        "eventTime": t.to_string(), "eventSource": "ec2.amazonaws.com", "eventName": name,
        "awsRegion": "us-east-1", "sourceIPAddress": "198.51.100.7", "userAgent": "aws-cli/2",
        "requestParameters": {"instancesSet": {"items": [{"instanceId": format!("i-{instance:08x}")}]}},
        "responseElements": null, "eventID": id, "eventType": "AwsApiCall",
        "recipientAccountId": account
    })
    .to_string()
        + "\n"
}

fn main() {
    let rules = RuleSet::load(true, &[]);
    let tuning = Tuning::default();
    let sizes: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let start: Timestamp = "2024-01-01T00:00:00Z".parse().unwrap();
    println!("| retained stops (one account) | fill s | cycle ms, stop in that account | cycle ms, stop in another account | open sequences |");
    println!("|---:|---:|---:|---:|---:|");
    for n in sizes {
        let mut s = Stream::new(
            &rules,
            &tuning,
            Lateness::Bounded(SignedDuration::ZERO),
            Default::default(),
            false,
            Box::new(|_| {}),
        );
        let t0 = Instant::now();
        // Spread over 6 hours, inside the stop-then-start window.
        let mut body = String::new();
        for i in 0..n {
            let t = start + SignedDuration::from_millis((i as i64 * 21_600_000) / n as i64);
            body.push_str(&record(t, "StopInstances", i, &format!("stop-{i}")));
        }
        s.read_bytes("fill.jsonl", body.as_bytes(), 0, 0);
        s.cycle();
        let fill = t0.elapsed().as_secs_f64();
        let mut median = |account: &str, from: usize| {
            let mut times = Vec::new();
            for k in 0..5 {
                let t = start + SignedDuration::from_hours(6) + SignedDuration::from_secs(k);
                let i = from + k as usize;
                let line = record_in(account, t, "StopInstances", i, &format!("more-{i}"));
                let c0 = Instant::now();
                s.read_bytes("tail.jsonl", line.as_bytes(), 0, i as u64);
                s.cycle();
                times.push(c0.elapsed().as_secs_f64() * 1e3);
            }
            times.sort_by(|a, b| a.total_cmp(b));
            times[2]
        };
        let same = median("111122223333", n);
        let other = median("444455556666", n + 10);
        let open = s.figures().open_sequences;
        println!("| {n} | {fill:.2} | {same:.1} | {other:.1} | {open} |");
    }
}
