//! Syslog forwarding over UDP, TCP or TLS, one alert per message.
//!
//! Delivery model (see docs/outputs.md for the long version, and [`crate::delivery`] for what
//! TCP tells the sender):
//!
//! * Messages wait in a bounded queue and leave it only once written to a connection that was
//!   alive just before the write. When the queue is full, [`Forwarder::send`] fails with
//!   [`ForwardError::BufferFull`]: the caller exits non-zero; nothing is dropped silently.
//! * A receiver that goes away (connection refused, reset, or closed) is retried with
//!   exponential backoff (100 ms doubling to 5 s); [`Forwarder::flush`] keeps retrying for
//!   `retry_for` and then fails with the number of alerts it could not deliver.
//! * Before each write on TCP/TLS the connection is checked without blocking: a receiver that
//!   closed or reset it (a restarted rsyslog does) is seen *before* a message is written into a
//!   dead socket. A message written after that check and never acknowledged by the receiver's
//!   TCP when the connection dies is written again on the next connection (at least once: after
//!   a reset it may arrive twice, [`ForwardStats::resent_after_reset`]); one acknowledged on a
//!   connection the receiver then reset may not have been read, and is counted as such
//!   ([`ForwardStats::unconfirmed`]). [`Forwarder::finish`] ends the stream and waits for the
//!   receiver to close its side, which confirms that it read everything.
//! * TCP and TLS use RFC 6587 octet counting (`LEN SP MSG`) by default; messages never hold CR or
//!   LF either, so LF framing (`--forward-framing lf`, what QRadar documents) is just as safe.
//!   UDP sends one datagram per message: nothing is confirmed, and a refused datagram (ICMP port
//!   unreachable) is counted as lost.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use snapback_model::{Alert, Severity};

use crate::connection::{tls_config, Conn, Probe, StreamEnd};
pub use crate::delivery::ForwardStats;
use crate::delivery::{Ended, Ledger};
use crate::siem::{self, SiemFormat, SyslogFormat};

/// How messages are delimited on a stream transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Framing {
    /// RFC 6587 §3.4.1: `LEN SP MSG`.
    #[default]
    OctetCounting,
    /// RFC 6587 §3.4.2: `MSG LF`.
    Lf,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transport {
    Udp,
    Tcp,
    /// TLS with the CA bundle to trust (the system bundle when `None`).
    Tls {
        ca: Option<PathBuf>,
    },
}

/// Where to forward: `syslog+udp://`, `syslog+tcp://` or `syslog+tls://HOST:PORT`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub transport: Transport,
    pub host: String,
    pub port: u16,
}

impl Target {
    pub fn parse(url: &str, ca: Option<PathBuf>) -> Result<Target, ForwardError> {
        let bad = |why: &str| ForwardError::BadUrl {
            url: url.to_owned(),
            why: why.to_owned(),
        };
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| bad("expected syslog+tcp://HOST:PORT (or syslog+udp, syslog+tls)"))?;
        let transport = match scheme.to_ascii_lowercase().as_str() {
            "syslog+udp" | "udp" => Transport::Udp,
            "syslog+tcp" | "tcp" => Transport::Tcp,
            "syslog+tls" | "tls" => Transport::Tls { ca: ca.clone() },
            _ => {
                return Err(bad(
                    "the scheme must be syslog+udp, syslog+tcp or syslog+tls",
                ))
            }
        };
        if ca.is_some() && !matches!(transport, Transport::Tls { .. }) {
            return Err(bad("--forward-ca is only for syslog+tls://"));
        }
        let rest = rest.trim_end_matches('/');
        let (host, port) = if let Some(r) = rest.strip_prefix('[') {
            let (h, p) = r
                .split_once("]:")
                .ok_or_else(|| bad("expected [IPv6]:PORT"))?;
            (h, p)
        } else {
            rest.rsplit_once(':')
                .ok_or_else(|| bad("a port is required"))?
        };
        if host.is_empty() {
            return Err(bad("a host is required"));
        }
        let port: u16 = port
            .parse()
            .map_err(|_| bad("the port must be a number 1-65535"))?;
        if port == 0 {
            return Err(bad("the port must be a number 1-65535"));
        }
        Ok(Target {
            transport,
            host: host.to_owned(),
            port,
        })
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let scheme = match self.transport {
            Transport::Udp => "syslog+udp",
            Transport::Tcp => "syslog+tcp",
            Transport::Tls { .. } => "syslog+tls",
        };
        if self.host.contains(':') {
            write!(f, "{scheme}://[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{scheme}://{}:{}", self.host, self.port)
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ForwardError {
    #[error("bad forward address {url:?}: {why}")]
    BadUrl { url: String, why: String },
    #[error("TLS set-up for {target}: {why}")]
    Tls { target: String, why: String },
    #[error(
        "the forward buffer is full ({capacity} alerts waiting for {target}, unreachable: {last_error}); \
         stopping rather than dropping alerts"
    )]
    BufferFull {
        capacity: usize,
        target: String,
        last_error: String,
    },
    #[error(
        "{pending} alert(s) not delivered to {target} after retrying for {secs} s (last error: {last_error}); before that, {} confirmed, {} may be lost{}",
        .stats.confirmed, .stats.unconfirmed, maybe_read(*.pending, .stats)
    )]
    Undelivered {
        pending: usize,
        target: String,
        secs: u64,
        last_error: String,
        /// What happened to the alerts that were written.
        stats: Box<ForwardStats>,
    },
}

/// Of the alerts not delivered, how many the receiver may have read all the same: those last
/// written on a connection it reset (see [`ForwardStats::resent_after_reset`]).
fn maybe_read(pending: usize, stats: &ForwardStats) -> String {
    match (pending as u64).min(stats.resent_after_reset) {
        0 => String::new(),
        n => format!(
            "; up to {n} of those not delivered were written on a connection the receiver reset, and it may have read them"
        ),
    }
}

/// Tuning of the forwarder.
#[derive(Debug, Clone)]
pub struct ForwardOptions {
    pub format: SiemFormat,
    pub syslog: SyslogFormat,
    pub framing: Framing,
    /// Alerts held while the receiver is unreachable.
    pub capacity: usize,
    /// How long [`Forwarder::flush`] keeps retrying an unreachable receiver, and waits for
    /// what was written to be acknowledged.
    pub retry_for: Duration,
    /// How long [`Forwarder::finish`] waits for the receiver to close its side of the stream.
    pub confirm_for: Duration,
    pub backoff_initial: Duration,
    pub backoff_max: Duration,
    /// Syslog HOSTNAME (QRadar's Log Source Identifier).
    pub hostname: String,
    /// Report reconnects on stderr.
    pub verbose: bool,
}

impl Default for ForwardOptions {
    fn default() -> Self {
        ForwardOptions {
            format: SiemFormat::Leef(siem::LeefVersion::V2),
            syslog: SyslogFormat::Rfc5424,
            framing: Framing::OctetCounting,
            capacity: 10_000,
            retry_for: Duration::from_secs(60),
            confirm_for: Duration::from_secs(10),
            backoff_initial: Duration::from_millis(100),
            backoff_max: Duration::from_secs(5),
            hostname: siem::local_hostname(),
            verbose: true,
        }
    }
}

/// Sends alerts to one syslog receiver. See the module doc for the delivery model.
pub struct Forwarder {
    target: Target,
    opts: ForwardOptions,
    tls: Option<Arc<rustls::ClientConfig>>,
    conn: Option<Conn>,
    /// Messages waiting to be written, in order (those to write again first).
    queue: VecDeque<Vec<u8>>,
    /// What was written on `conn` and is not settled yet.
    ledger: Ledger,
    /// Writes since the ledger was last settled against what the receiver acknowledged.
    unsettled: u32,
    backoff: Duration,
    next_attempt: Instant,
    last_error: String,
    stats: ForwardStats,
}

/// Settle the ledger every this many writes, so that it holds about what the socket buffers do.
const SETTLE_EVERY: u32 = 64;

impl Forwarder {
    pub fn new(target: Target, opts: ForwardOptions) -> Result<Forwarder, ForwardError> {
        let tls = match &target.transport {
            Transport::Tls { ca } => Some(tls_config(&target, ca.as_deref())?),
            _ => None,
        };
        Ok(Forwarder {
            backoff: opts.backoff_initial,
            target,
            opts,
            tls,
            conn: None,
            queue: VecDeque::new(),
            ledger: Ledger::default(),
            unsettled: 0,
            next_attempt: Instant::now(),
            last_error: String::new(),
            stats: ForwardStats::default(),
        })
    }

    pub fn target(&self) -> &Target {
        &self.target
    }

    pub fn stats(&self) -> &ForwardStats {
        &self.stats
    }

    /// Alerts accepted but not yet written.
    pub fn pending(&self) -> usize {
        self.queue.len()
    }

    /// Queue one alert and deliver what can be delivered without waiting.
    pub fn send(&mut self, a: &Alert) -> Result<(), ForwardError> {
        let line = siem::siem_line(a, self.opts.format);
        self.send_line(&line, a.severity)
    }

    /// Queue one already formatted SIEM line (no syslog header).
    pub fn send_line(&mut self, line: &str, severity: Severity) -> Result<(), ForwardError> {
        if self.queue.len() >= self.opts.capacity {
            // One more chance: the receiver may be back.
            self.pump();
            if self.queue.len() >= self.opts.capacity {
                return Err(ForwardError::BufferFull {
                    capacity: self.opts.capacity,
                    target: self.target.to_string(),
                    last_error: self.last_error.clone(),
                });
            }
        }
        let msg = siem::syslog_message(
            line,
            severity,
            self.opts.syslog,
            &self.opts.hostname,
            jiff::Timestamp::now(),
        );
        let bytes = match (&self.target.transport, self.opts.framing) {
            (Transport::Udp, _) => msg.into_bytes(),
            (_, Framing::OctetCounting) => siem::octet_counted(&msg),
            (_, Framing::Lf) => {
                let mut b = msg.into_bytes();
                b.push(b'\n');
                b
            }
        };
        self.queue.push_back(bytes);
        self.pump();
        Ok(())
    }

    /// Write everything queued and wait until the receiver's TCP acknowledged it, writing
    /// again what a dying connection took unacknowledged; an unreachable receiver is retried
    /// for `retry_for`. The connection stays open (see [`finish`](Self::finish)).
    pub fn flush(&mut self) -> Result<ForwardStats, ForwardError> {
        self.flush_by(Instant::now() + self.opts.retry_for)
    }

    /// [`flush`](Self::flush), then end the stream and wait for the receiver to close its
    /// side: then every alert is `confirmed`, `unconfirmed` (may be lost) or, in the error,
    /// not delivered. Alerts the receiver did not acknowledge before closing are written again
    /// on a new connection, within `retry_for`.
    pub fn finish(&mut self) -> Result<ForwardStats, ForwardError> {
        let deadline = Instant::now() + self.opts.retry_for;
        loop {
            self.flush_by(deadline)?;
            let Some(mut conn) = self.conn.take() else {
                return Ok(self.stats.clone());
            };
            if let Conn::Udp(_) = conn {
                // A refusal of the last datagrams comes back a round trip later.
                std::thread::sleep(Duration::from_millis(50));
                if let Probe::Refused(e) = conn.probe() {
                    self.refused(&e);
                }
                return Ok(self.stats.clone());
            }
            let ended = match conn.end_stream(self.opts.confirm_for) {
                StreamEnd::Closed => Ended::InOrder,
                StreamEnd::Reset(e) => Ended::Abruptly(e.to_string()),
                StreamEnd::NoAnswer => {
                    // Written, perhaps acknowledged, never confirmed: may be lost.
                    let (acked, unacked) = self.ledger.close();
                    self.stats.unconfirmed += acked + unacked.len() as u64;
                    self.say(&format!(
                        "{} did not close the stream within {} s; {} alert(s) on that connection are unconfirmed",
                        self.target,
                        self.opts.confirm_for.as_secs(),
                        acked + unacked.len() as u64
                    ));
                    return Ok(self.stats.clone());
                }
            };
            self.end_connection(conn, ended);
            if self.queue.is_empty() {
                return Ok(self.stats.clone());
            }
        }
    }

    fn flush_by(&mut self, deadline: Instant) -> Result<ForwardStats, ForwardError> {
        let mut poll = Duration::from_millis(1);
        loop {
            self.pump();
            if self.queue.is_empty() {
                self.settle();
                if self.ledger.in_flight() == 0 {
                    if let Some(c) = &mut self.conn {
                        c.flush();
                    }
                    return Ok(self.stats.clone());
                }
                // Waiting for acknowledgements: a receiver that dies meanwhile is seen here.
                self.check_connection();
            }
            if Instant::now() >= deadline {
                return self.give_up();
            }
            let wait = if self.queue.is_empty() {
                poll = (poll * 2).min(Duration::from_millis(50));
                poll
            } else {
                self.next_attempt.saturating_duration_since(Instant::now())
            };
            let left = deadline.saturating_duration_since(Instant::now());
            std::thread::sleep(wait.min(left).max(Duration::from_millis(1)));
        }
    }

    /// `retry_for` is over: what was never written is not delivered (an error); what was
    /// written on a connection that neither acknowledged nor failed may still arrive, so it is
    /// unconfirmed, not written again.
    fn give_up(&mut self) -> Result<ForwardStats, ForwardError> {
        if !self.queue.is_empty() {
            return Err(ForwardError::Undelivered {
                pending: self.queue.len(),
                target: self.target.to_string(),
                secs: self.opts.retry_for.as_secs(),
                last_error: self.last_error.clone(),
                stats: Box::new(self.stats.clone()),
            });
        }
        self.conn = None;
        let (acked, unacked) = self.ledger.close();
        self.stats.unconfirmed += acked + unacked.len() as u64;
        Ok(self.stats.clone())
    }

    /// Write queued messages while a live connection can be had without waiting for backoff.
    fn pump(&mut self) {
        while !self.queue.is_empty() {
            if self.conn.is_none() {
                if Instant::now() < self.next_attempt {
                    return;
                }
                match Conn::open(&self.target, self.tls.as_ref()) {
                    Ok(c) => {
                        self.conn = Some(c);
                        self.stats.connects += 1;
                    }
                    Err(e) => {
                        self.fail(format!("connect: {e}"));
                        return;
                    }
                }
            }
            if !self.check_connection() {
                if self.conn.is_none() && Instant::now() < self.next_attempt {
                    return;
                }
                continue;
            }
            let conn = self.conn.as_mut().expect("checked just above");
            let front = self.queue.pop_front().expect("queue is not empty");
            match conn.write(&front) {
                Ok(end) => {
                    self.stats.written += 1;
                    self.backoff = self.opts.backoff_initial;
                    if let Conn::Udp(_) = conn {
                        self.stats.unconfirmed += 1;
                    } else {
                        self.ledger.wrote(end, front);
                        self.unsettled += 1;
                        if self.unsettled >= SETTLE_EVERY {
                            self.settle();
                        }
                    }
                }
                Err(e) => {
                    self.queue.push_front(front);
                    let conn = self.conn.take().expect("written on just above");
                    if let Conn::Udp(_) = conn {
                        // The error belongs to a datagram sent earlier; this one was not sent.
                        if e.kind() == std::io::ErrorKind::ConnectionRefused {
                            self.refused(&e);
                        }
                    } else {
                        self.end_connection(conn, Ended::from_write_error(&e));
                    }
                    self.fail(format!("write: {e}"));
                    return;
                }
            }
        }
    }

    /// Look at the connection without blocking; false (and the connection gone) when the
    /// receiver closed or reset it, or refused a datagram.
    fn check_connection(&mut self) -> bool {
        let Some(conn) = &mut self.conn else {
            return false;
        };
        match conn.probe() {
            Probe::Alive => true,
            Probe::Refused(e) => {
                self.conn = None;
                self.refused(&e);
                self.fail(format!("refused: {e}"));
                false
            }
            Probe::Ended(how) => {
                self.stats.stale_connections += 1;
                let conn = self.conn.take().expect("probed just above");
                self.end_connection(conn, how);
                false
            }
        }
    }

    /// Move what the receiver's TCP acknowledged out of the ledger.
    fn settle(&mut self) {
        self.unsettled = 0;
        if let Some(acked) = self.conn.as_ref().and_then(Conn::acked) {
            self.ledger.settle(acked);
        }
    }

    /// The connection ended `how`: what its receiver acknowledged is confirmed (it closed in
    /// order) or may be lost (it did not); what it did not acknowledge is queued again, first.
    fn end_connection(&mut self, conn: Conn, how: Ended) {
        match conn.acked() {
            Some(acked) => self.ledger.settle(acked),
            // The kernel does not say: nothing can be written again without risk of a
            // duplicate, and nothing is confirmed.
            None => self.ledger.settle(u64::MAX),
        }
        drop(conn);
        let (acked, unacked) = self.ledger.close();
        let resent = unacked.len();
        for bytes in unacked.into_iter().rev() {
            self.queue.push_front(bytes);
        }
        self.stats.resent += resent as u64;
        let (why, twice) = match how {
            Ended::InOrder => {
                self.stats.confirmed += acked;
                ("closed the connection".to_owned(), "")
            }
            Ended::Abruptly(e) => {
                self.stats.unconfirmed += acked;
                self.stats.resent_after_reset += resent as u64;
                (
                    format!("reset the connection ({e}); {acked} alert(s) it acknowledged may not have been read"),
                    " (it may have read some of them unacknowledged: they may arrive twice)",
                )
            }
        };
        self.say(&format!(
            "{} {why}; {resent} alert(s) it did not acknowledge are written again{twice}; reconnecting",
            self.target
        ));
    }

    /// A refused UDP datagram: one alert certainly lost.
    fn refused(&mut self, e: &std::io::Error) {
        self.stats.refused += 1;
        self.say(&format!(
            "{} refused a datagram ({e}): an alert was lost",
            self.target
        ));
    }

    fn say(&self, what: &str) {
        if self.opts.verbose {
            eprintln!("snapback: forward: {what}");
        }
    }

    fn fail(&mut self, error: String) {
        self.stats.failed_attempts += 1;
        self.say(&format!(
            "{} unreachable ({error}); retrying in {} ms, {} alert(s) buffered",
            self.target,
            self.backoff.as_millis(),
            self.queue.len()
        ));
        self.last_error = error;
        self.next_attempt = Instant::now() + self.backoff;
        self.backoff = (self.backoff * 2).min(self.opts.backoff_max);
    }
}

impl Drop for Forwarder {
    /// Close TLS cleanly so that the receiver sees the end of the stream, not a truncation.
    fn drop(&mut self) {
        if let Some(c) = &mut self.conn {
            c.close_notify();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io;

    #[test]
    fn parses_targets() {
        let t = Target::parse("syslog+tcp://127.0.0.1:5514", None).unwrap();
        assert_eq!(
            (t.transport, t.host.as_str(), t.port),
            (Transport::Tcp, "127.0.0.1", 5514)
        );
        let t = Target::parse("syslog+udp://[::1]:514", None).unwrap();
        assert_eq!((t.host.as_str(), t.port), ("::1", 514));
        assert_eq!(t.to_string(), "syslog+udp://[::1]:514");
        assert!(Target::parse("http://x:1", None).is_err());
        assert!(Target::parse("syslog+tcp://x", None).is_err());
        assert!(Target::parse("syslog+tcp://x:0", None).is_err());
        assert!(Target::parse("syslog+tcp://x:1", Some("ca.pem".into())).is_err());
    }

    /// A receiver that closes the connection between two messages: the forwarder sees it before
    /// the next write and reconnects, so both messages arrive, each once.
    #[test]
    fn reconnects_to_a_receiver_that_closed_the_connection() {
        use std::io::BufRead;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            let mut got = Vec::new();
            for _ in 0..2 {
                let (s, _) = listener.accept().unwrap();
                let mut r = io::BufReader::new(s);
                let mut line = String::new();
                r.read_line(&mut line).unwrap();
                got.push(line);
                // dropping `r` closes the connection after one message
            }
            got
        });
        let target = Target::parse(&format!("syslog+tcp://127.0.0.1:{port}"), None).unwrap();
        let mut f = Forwarder::new(
            target,
            ForwardOptions {
                framing: Framing::Lf,
                verbose: false,
                ..Default::default()
            },
        )
        .unwrap();
        f.send_line("one", Severity::High).unwrap();
        f.flush().unwrap();
        // Let the server read and close.
        std::thread::sleep(Duration::from_millis(200));
        f.send_line("two", Severity::High).unwrap();
        let stats = f.flush().unwrap();
        let got = server.join().unwrap();
        assert_eq!(got.len(), 2);
        assert!(
            got[0].ends_with(" one\n") && got[1].ends_with(" two\n"),
            "{got:?}"
        );
        assert_eq!(stats.written, 2);
        assert_eq!(stats.stale_connections, 1);
        assert_eq!(stats.connects, 2);
        // The first connection ended in order after "one" was acknowledged: confirmed; the
        // second is confirmed when the stream ends (the receiver has closed it already).
        assert_eq!(stats.confirmed, 1);
        let stats = f.finish().unwrap();
        assert_eq!(
            (stats.confirmed, stats.unconfirmed, stats.resent),
            (2, 0, 0)
        );
    }

    #[test]
    fn full_buffer_fails_loudly() {
        // A port nobody listens on: bind then drop.
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let target = Target::parse(&format!("syslog+tcp://127.0.0.1:{port}"), None).unwrap();
        let mut f = Forwarder::new(
            target,
            ForwardOptions {
                capacity: 3,
                retry_for: Duration::from_millis(300),
                verbose: false,
                ..Default::default()
            },
        )
        .unwrap();
        for _ in 0..3 {
            f.send_line("x", Severity::Low).unwrap();
        }
        let e = f.send_line("x", Severity::Low).unwrap_err();
        assert!(
            matches!(e, ForwardError::BufferFull { capacity: 3, .. }),
            "{e}"
        );
        let e = f.flush().unwrap_err();
        assert!(
            matches!(e, ForwardError::Undelivered { pending: 3, .. }),
            "{e}"
        );
    }

    #[test]
    fn undelivered_says_how_many_a_resetting_receiver_may_have_read() {
        let error = |pending, resent_after_reset| ForwardError::Undelivered {
            pending,
            target: "syslog+tcp://h:514".into(),
            secs: 1,
            last_error: "refused".into(),
            stats: Box::new(ForwardStats {
                resent: resent_after_reset,
                resent_after_reset,
                ..ForwardStats::default()
            }),
        };
        assert!(!error(10, 0).to_string().contains("may have read"));
        assert!(error(10, 4)
            .to_string()
            .ends_with("; up to 4 of those not delivered were written on a connection the receiver reset, and it may have read them"));
        assert!(error(2, 4).to_string().contains("; up to 2 of those"));
    }
}
