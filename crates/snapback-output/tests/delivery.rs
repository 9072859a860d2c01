//! Issue 13 item 13: a syslog receiver that closes mid-stream got 4,755 of 5,000 alerts while
//! the forwarder said it forwarded 5,000. Against real local receivers (threads on loopback)
//! that close mid-stream, every alert must end confirmed (and then really received),
//! unconfirmed (may be lost) or not delivered (an error), never silently lost; and what was
//! never acknowledged is written again. Only what was written again after a reset can arrive
//! twice (the receiver may read bytes its TCP has not acknowledged yet), and never more of it
//! than `resent_after_reset` says.

mod support;

use std::collections::HashMap;
use std::net::{TcpListener, UdpSocket};
use std::sync::mpsc;
use std::time::Duration;

use snapback_model::Severity;
use snapback_output::forward::Framing;
use snapback_output::{ForwardError, ForwardOptions, ForwardStats, Forwarder, Target};
use support::{alert_ids as ids, read_then_close, read_to_end};

const ALERTS: usize = 5_000;

/// A line of about 600 bytes, like a LEEF alert, that names alert `i`.
fn line(i: usize) -> String {
    format!("alertId=a{i:05}\tpad={}", "x".repeat(560))
}

fn forwarder(url: &str, retry: Duration) -> Forwarder {
    Forwarder::new(
        Target::parse(url, None).unwrap(),
        ForwardOptions {
            framing: Framing::Lf,
            retry_for: retry,
            backoff_initial: Duration::from_millis(20),
            verbose: false,
            ..ForwardOptions::default()
        },
    )
    .unwrap()
}

/// Every alert the receiver did not get is counted as possibly or certainly lost; none arrived
/// twice unless written again after a reset, and no more than that; `confirmed` never claims
/// more than arrived.
fn check_accounting(received: &[String], stats: &ForwardStats, not_delivered: u64) {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for id in received {
        *seen.entry(id).or_default() += 1;
    }
    let extra: usize = seen.values().map(|n| n - 1).sum();
    assert!(
        seen.values().all(|n| *n <= 2) && extra as u64 <= stats.resent_after_reset,
        "{extra} duplicate arrivals, {} alerts written again after a reset: {stats:?}",
        stats.resent_after_reset
    );
    assert!(stats.resent_after_reset <= stats.resent, "{stats:?}");
    assert_eq!(
        stats.confirmed + stats.unconfirmed + not_delivered,
        ALERTS as u64,
        "every alert ends in one bucket: {stats:?}"
    );
    let missing = ALERTS as u64 - seen.len() as u64;
    assert!(
        missing <= stats.unconfirmed + not_delivered,
        "{missing} alerts missing, but only {} may be lost and {not_delivered} not delivered: {stats:?}",
        stats.unconfirmed
    );
    assert!(
        stats.confirmed <= seen.len() as u64,
        "{} confirmed, {} received: {stats:?}",
        stats.confirmed,
        seen.len()
    );
}

#[test]
fn item13_receiver_that_resets_mid_stream_then_comes_back() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let receiver = std::thread::spawn(move || {
        let first = read_then_close(listener.accept().unwrap().0, 1_000);
        let second = read_to_end(listener.accept().unwrap().0);
        (first, second)
    });
    let mut f = forwarder(
        &format!("syslog+tcp://127.0.0.1:{port}"),
        Duration::from_secs(30),
    );
    for i in 0..ALERTS {
        f.send_line(&line(i), Severity::High).unwrap();
    }
    let stats = f.finish().unwrap();
    let (first, second) = receiver.join().unwrap();
    eprintln!(
        "delivery: first receiver read {}, second {}; {stats:?}",
        ids(&first).len(),
        ids(&second).len()
    );
    let mut received = ids(&first);
    received.extend(ids(&second));
    check_accounting(&received, &stats, 0);
    // The first receiver reset a connection it had acknowledged unread bytes on: those may be
    // lost, and are said to be. The second closed in order after reading everything.
    assert!(stats.unconfirmed > 0, "{stats:?}");
    assert_eq!(stats.connects, 2, "{stats:?}");
    assert_eq!(
        stats.written,
        ALERTS as u64 + stats.resent,
        "what was written again is what was not acknowledged: {stats:?}"
    );
    // Confirmed: exactly what the second connection carried, all of it read.
    assert_eq!(stats.confirmed, ids(&second).len() as u64, "{stats:?}");
    // The first receiver read what its TCP acknowledged, and perhaps a little it had not yet.
    assert!(
        ids(&first).len() as u64 <= stats.unconfirmed + stats.resent_after_reset,
        "{stats:?}"
    );
}

#[test]
fn item13_receiver_that_closes_mid_stream_and_stays_away_is_an_error_with_counts() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let receiver = std::thread::spawn(move || {
        // The listener goes with the thread: reconnecting is refused from then on.
        read_then_close(listener.accept().unwrap().0, 1_000)
    });
    let mut f = forwarder(
        &format!("syslog+tcp://127.0.0.1:{port}"),
        Duration::from_secs(3),
    );
    for i in 0..ALERTS {
        f.send_line(&line(i), Severity::High).unwrap();
    }
    let err = f.finish().unwrap_err();
    let received = ids(&receiver.join().unwrap());
    let ForwardError::Undelivered { pending, stats, .. } = &err else {
        panic!("expected Undelivered, got {err}");
    };
    assert!(*pending > 0, "{err}");
    check_accounting(&received, stats, *pending as u64);
    assert!(
        err.to_string().contains(&format!(
            "{pending} alert(s) not delivered to syslog+tcp://127.0.0.1:{port}"
        )),
        "{err}"
    );
}

#[test]
fn item13_udp_receiver_that_closes_its_port_is_a_certain_loss() {
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = sock.local_addr().unwrap().port();
    let (closed_tx, closed_rx) = mpsc::channel();
    let receiver = std::thread::spawn(move || {
        let mut buf = [0u8; 2048];
        let mut n = 0;
        while n < 100 {
            sock.recv(&mut buf).unwrap();
            n += 1;
        }
        drop(sock);
        closed_tx.send(()).unwrap();
        n
    });
    let mut f = forwarder(
        &format!("syslog+udp://127.0.0.1:{port}"),
        Duration::from_millis(300),
    );
    let mut i = 0;
    // Paced until the receiver read its 100 (a burst would only overflow its buffer).
    while closed_rx.try_recv().is_err() {
        f.send_line(&line(i), Severity::High).unwrap();
        i += 1;
        std::thread::sleep(Duration::from_millis(1));
    }
    for j in 0..50 {
        f.send_line(&line(i + j), Severity::High).unwrap();
    }
    assert_eq!(receiver.join().unwrap(), 100);
    let stats = match f.finish() {
        Ok(s) => s,
        Err(ForwardError::Undelivered { stats, .. }) => *stats,
        Err(e) => panic!("{e}"),
    };
    assert!(stats.refused >= 1, "the closed port was seen: {stats:?}");
    assert_eq!(stats.certainly_lost(), stats.refused);
    assert_eq!(stats.confirmed, 0, "UDP confirms nothing: {stats:?}");
}
