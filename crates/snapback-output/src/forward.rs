//! Syslog forwarding over UDP, TCP or TLS, one alert per message.
//!
//! Delivery model (see docs/outputs.md for the long version):
//!
//! * Messages wait in a bounded queue and leave it only once written to a connection that was
//!   alive just before the write. When the queue is full, [`Forwarder::send`] fails with
//!   [`ForwardError::BufferFull`]: the caller exits non-zero; nothing is dropped silently.
//! * A receiver that goes away (connection refused, reset, or closed) is retried with
//!   exponential backoff (100 ms doubling to 5 s); [`Forwarder::flush`] keeps retrying for
//!   `retry_for` and then fails with the number of alerts it could not deliver.
//! * Before each write on TCP/TLS the connection is checked without blocking: a receiver that
//!   closed or reset it (a restarted rsyslog does) is seen *before* a message is written into a
//!   dead socket, where the kernel would accept it and lose it. The residual risk is a receiver
//!   that dies after that check and before it reads the bytes, or a peer that vanishes without
//!   a FIN/RST: TCP gives the sender no way to know. Syslog has no acknowledgement, so this is at
//!   most once per message with a loss window of one in-flight write; alert ids are stable, so a
//!   receiver can dedupe if a later version resends.
//! * TCP and TLS use RFC 6587 octet counting (`LEN SP MSG`) by default; messages never hold CR or
//!   LF either, so LF framing (`--forward-framing lf`, what QRadar documents) is just as safe.
//!   UDP sends one datagram per message and is best effort.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs, UdpSocket};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use snapback_model::{Alert, Severity};

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
        "{pending} alert(s) not delivered to {target} after retrying for {secs} s (last error: {last_error})"
    )]
    Undelivered {
        pending: usize,
        target: String,
        secs: u64,
        last_error: String,
    },
}

/// Tuning of the forwarder.
#[derive(Debug, Clone)]
pub struct ForwardOptions {
    pub format: SiemFormat,
    pub syslog: SyslogFormat,
    pub framing: Framing,
    /// Alerts held while the receiver is unreachable.
    pub capacity: usize,
    /// How long [`Forwarder::flush`] keeps retrying an unreachable receiver.
    pub retry_for: Duration,
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
            backoff_initial: Duration::from_millis(100),
            backoff_max: Duration::from_secs(5),
            hostname: siem::local_hostname(),
            verbose: true,
        }
    }
}

/// What a forwarder did, for tests and the summary line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ForwardStats {
    pub delivered: u64,
    pub connects: u64,
    pub failed_attempts: u64,
    /// Connections found closed by the receiver before a write.
    pub stale_connections: u64,
}

struct Pending {
    bytes: Vec<u8>,
}

enum Conn {
    Udp(UdpSocket),
    Tcp(TcpStream),
    Tls(Box<rustls::StreamOwned<rustls::ClientConnection, TcpStream>>),
}

/// Sends alerts to one syslog receiver. See the module doc for the delivery model.
pub struct Forwarder {
    target: Target,
    opts: ForwardOptions,
    tls: Option<Arc<rustls::ClientConfig>>,
    conn: Option<Conn>,
    queue: VecDeque<Pending>,
    backoff: Duration,
    next_attempt: Instant,
    last_error: String,
    stats: ForwardStats,
}

const IO_TIMEOUT: Duration = Duration::from_secs(10);

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
            next_attempt: Instant::now(),
            last_error: String::new(),
            stats: ForwardStats::default(),
        })
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
        self.queue.push_back(Pending { bytes });
        self.pump();
        Ok(())
    }

    /// Deliver everything queued, retrying an unreachable receiver for `retry_for`.
    pub fn flush(&mut self) -> Result<ForwardStats, ForwardError> {
        let start = Instant::now();
        loop {
            self.pump();
            if self.queue.is_empty() {
                if let Some(Conn::Tls(s)) = &mut self.conn {
                    let _ = s.flush();
                }
                return Ok(self.stats.clone());
            }
            if start.elapsed() >= self.opts.retry_for {
                return Err(ForwardError::Undelivered {
                    pending: self.queue.len(),
                    target: self.target.to_string(),
                    secs: self.opts.retry_for.as_secs(),
                    last_error: self.last_error.clone(),
                });
            }
            let wait = self
                .next_attempt
                .saturating_duration_since(Instant::now())
                .min(self.opts.retry_for.saturating_sub(start.elapsed()))
                .max(Duration::from_millis(5));
            std::thread::sleep(wait);
        }
    }

    /// Write queued messages while a live connection can be had without waiting for backoff.
    fn pump(&mut self) {
        while !self.queue.is_empty() {
            if self.conn.is_none() {
                if Instant::now() < self.next_attempt {
                    return;
                }
                match self.connect() {
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
            let conn = self.conn.as_mut().expect("connected just above");
            if !alive(conn) {
                self.stats.stale_connections += 1;
                self.conn = None;
                if self.opts.verbose {
                    eprintln!(
                        "snapback: forward: {} closed the connection; reconnecting",
                        self.target
                    );
                }
                continue;
            }
            let front = self.queue.front().expect("queue is not empty");
            let written = match conn {
                Conn::Udp(s) => s.send(&front.bytes).map(|_| ()),
                Conn::Tcp(s) => s.write_all(&front.bytes),
                Conn::Tls(s) => s.write_all(&front.bytes).and_then(|_| s.flush()),
            };
            match written {
                Ok(()) => {
                    self.queue.pop_front();
                    self.stats.delivered += 1;
                    self.backoff = self.opts.backoff_initial;
                }
                Err(e) => {
                    self.conn = None;
                    self.fail(format!("write: {e}"));
                    return;
                }
            }
        }
    }

    fn fail(&mut self, error: String) {
        self.stats.failed_attempts += 1;
        if self.opts.verbose {
            eprintln!(
                "snapback: forward: {} unreachable ({error}); retrying in {} ms, {} alert(s) buffered",
                self.target,
                self.backoff.as_millis(),
                self.queue.len()
            );
        }
        self.last_error = error;
        self.next_attempt = Instant::now() + self.backoff;
        self.backoff = (self.backoff * 2).min(self.opts.backoff_max);
    }

    fn connect(&self) -> io::Result<Conn> {
        let addrs: Vec<SocketAddr> = (self.target.host.as_str(), self.target.port)
            .to_socket_addrs()?
            .collect();
        let mut last = io::Error::new(io::ErrorKind::NotFound, "the host has no address");
        for addr in addrs {
            let r = match &self.target.transport {
                Transport::Udp => {
                    let bind: SocketAddr = if addr.is_ipv4() {
                        "0.0.0.0:0".parse().expect("literal")
                    } else {
                        "[::]:0".parse().expect("literal")
                    };
                    UdpSocket::bind(bind)
                        .and_then(|s| s.connect(addr).map(|_| s))
                        .map(Conn::Udp)
                }
                Transport::Tcp => tcp(addr).map(Conn::Tcp),
                Transport::Tls { .. } => tcp(addr).and_then(|sock| {
                    let cfg = self.tls.clone().expect("TLS config made in new()");
                    let name = rustls_pki_types::ServerName::try_from(self.target.host.clone())
                        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
                    let conn =
                        rustls::ClientConnection::new(cfg, name).map_err(io::Error::other)?;
                    let mut s = rustls::StreamOwned::new(conn, sock);
                    while s.conn.is_handshaking() {
                        s.conn.complete_io(&mut s.sock)?;
                    }
                    Ok(Conn::Tls(Box::new(s)))
                }),
            };
            match r {
                Ok(c) => return Ok(c),
                Err(e) => last = e,
            }
        }
        Err(last)
    }
}

impl Drop for Forwarder {
    /// Close TLS cleanly so that the receiver sees the end of the stream, not a truncation.
    fn drop(&mut self) {
        if let Some(Conn::Tls(s)) = &mut self.conn {
            s.conn.send_close_notify();
            let _ = s.flush();
        }
    }
}

fn tcp(addr: SocketAddr) -> io::Result<TcpStream> {
    let s = TcpStream::connect_timeout(&addr, IO_TIMEOUT)?;
    s.set_nodelay(true)?;
    s.set_write_timeout(Some(IO_TIMEOUT))?;
    s.set_read_timeout(Some(IO_TIMEOUT))?;
    Ok(s)
}

/// Whether the receiver still holds the connection, without blocking: EOF or an error means it
/// closed or reset it. Syslog receivers send nothing, so any bytes are read and ignored.
fn alive(conn: &mut Conn) -> bool {
    fn probe(sock: &TcpStream, f: impl FnOnce() -> io::Result<usize>) -> bool {
        if sock.set_nonblocking(true).is_err() {
            return false;
        }
        let r = f();
        let back = sock.set_nonblocking(false).is_ok();
        back && match r {
            Ok(0) => false,
            Ok(_) => true,
            Err(e) => e.kind() == io::ErrorKind::WouldBlock,
        }
    }
    match conn {
        Conn::Udp(_) => true,
        Conn::Tcp(s) => {
            let mut b = [0u8; 64];
            let sock = s.try_clone();
            match sock {
                Ok(sock) => probe(&sock, || s.read(&mut b)),
                Err(_) => false,
            }
        }
        Conn::Tls(s) => {
            let sock = match s.sock.try_clone() {
                Ok(sock) => sock,
                Err(_) => return false,
            };
            let mut b = [0u8; 256];
            // rustls processes what the server sent (session tickets, close_notify).
            probe(&sock, || s.read(&mut b))
        }
    }
}

fn tls_config(
    target: &Target,
    ca: Option<&std::path::Path>,
) -> Result<Arc<rustls::ClientConfig>, ForwardError> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::CertificateDer;
    let err = |why: String| ForwardError::Tls {
        target: target.to_string(),
        why,
    };
    let path = ca
        .map(|p| p.to_path_buf())
        .unwrap_or_else(|| PathBuf::from("/etc/ssl/certs/ca-certificates.crt"));
    let mut roots = rustls::RootCertStore::empty();
    let certs = CertificateDer::pem_file_iter(&path)
        .map_err(|e| err(format!("reading the CA file {}: {e}", path.display())))?;
    for c in certs {
        let c = c.map_err(|e| err(format!("a certificate in {}: {e}", path.display())))?;
        roots
            .add(c)
            .map_err(|e| err(format!("a certificate in {}: {e}", path.display())))?;
    }
    if roots.is_empty() {
        return Err(err(format!("no certificate in {}", path.display())));
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| err(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(cfg))
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(stats.delivered, 2);
        assert_eq!(stats.stale_connections, 1);
        assert_eq!(stats.connects, 2);
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
}
