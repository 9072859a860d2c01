//! One connection to a syslog receiver: open it, write a message, look without blocking
//! whether the receiver still holds it, and end the stream so that the receiver confirms what
//! it read (see [`crate::delivery`]).

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream, ToSocketAddrs, UdpSocket};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::delivery::{bytes_acked, Counted, Ended};
use crate::forward::{ForwardError, Target, Transport};

const IO_TIMEOUT: Duration = Duration::from_secs(10);

type TlsStream = rustls::StreamOwned<rustls::ClientConnection, Counted<TcpStream>>;

pub(crate) enum Conn {
    Udp(UdpSocket),
    Tcp(Counted<TcpStream>),
    Tls(Box<TlsStream>),
}

/// What a look at a connection found.
pub(crate) enum Probe {
    Alive,
    /// The receiver closed or reset the connection.
    Ended(Ended),
    /// UDP: a datagram sent earlier was refused (ICMP port unreachable).
    Refused(io::Error),
}

/// How the end of a stream went.
pub(crate) enum StreamEnd {
    /// The receiver closed its side after ours: it read everything it acknowledged.
    Closed,
    /// It did not close within the wait.
    NoAnswer,
    /// It reset the connection.
    Reset(io::Error),
}

impl Conn {
    /// Connect to the first address of `target` that answers.
    pub fn open(target: &Target, tls: Option<&Arc<rustls::ClientConfig>>) -> io::Result<Conn> {
        let addrs: Vec<SocketAddr> = (target.host.as_str(), target.port)
            .to_socket_addrs()?
            .collect();
        let mut last = io::Error::new(io::ErrorKind::NotFound, "the host has no address");
        for addr in addrs {
            let r = match &target.transport {
                Transport::Udp => udp(addr).map(Conn::Udp),
                Transport::Tcp => tcp(addr).map(|s| Conn::Tcp(Counted::new(s))),
                Transport::Tls { .. } => tcp(addr).and_then(|sock| {
                    let cfg = tls
                        .cloned()
                        .ok_or_else(|| io::Error::other("no TLS set-up"))?;
                    let name = rustls_pki_types::ServerName::try_from(target.host.clone())
                        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
                    let conn =
                        rustls::ClientConnection::new(cfg, name).map_err(io::Error::other)?;
                    let mut s = rustls::StreamOwned::new(conn, Counted::new(sock));
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

    /// Write one message; for TCP and TLS, where it ends in the connection's byte stream.
    pub fn write(&mut self, bytes: &[u8]) -> io::Result<u64> {
        match self {
            Conn::Udp(s) => s.send(bytes).map(|_| 0),
            Conn::Tcp(s) => s.write_all(bytes).map(|_| s.written),
            Conn::Tls(s) => {
                s.write_all(bytes)?;
                s.flush()?;
                Ok(s.sock.written)
            }
        }
    }

    /// Bytes the receiver's TCP acknowledged (`None` for UDP, or where the kernel does not say).
    pub fn acked(&self) -> Option<u64> {
        self.tcp().and_then(bytes_acked)
    }

    fn tcp(&self) -> Option<&TcpStream> {
        match self {
            Conn::Udp(_) => None,
            Conn::Tcp(s) => Some(&s.inner),
            Conn::Tls(s) => Some(&s.sock.inner),
        }
    }

    /// Whether the receiver still holds the connection, without blocking: end of stream means
    /// it closed it in order, an error that it reset it. Syslog receivers send nothing, so any
    /// bytes are read and ignored. On UDP, a pending error is a refused datagram.
    pub fn probe(&mut self) -> Probe {
        let said = match self {
            Conn::Udp(s) => {
                return match s.take_error() {
                    Ok(None) => Probe::Alive,
                    Ok(Some(e)) | Err(e) => Probe::Refused(e),
                }
            }
            Conn::Tcp(s) => nonblocking(s, |s| s.inner.read(&mut [0u8; 64])),
            // rustls processes what the server sent (session tickets, close_notify).
            Conn::Tls(s) => nonblocking(s.as_mut(), |s| s.read(&mut [0u8; 256])),
        };
        match said {
            Ok(0) => Probe::Ended(Ended::InOrder),
            Ok(_) => Probe::Alive,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Probe::Alive,
            // A TLS stream cut without close_notify: the TCP connection ended in order.
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Probe::Ended(Ended::InOrder),
            Err(e) => Probe::Ended(Ended::Abruptly(e.to_string())),
        }
    }

    /// End the stream: close_notify on TLS, shut down the sending side, and read until the
    /// receiver closes its own (at most `wait`). UDP has no stream: `NoAnswer`.
    pub fn end_stream(&mut self, wait: Duration) -> StreamEnd {
        if let Conn::Tls(s) = self {
            s.conn.send_close_notify();
            if let Err(e) = s.flush() {
                return StreamEnd::Reset(e);
            }
        }
        let Some(sock) = self.tcp() else {
            return StreamEnd::NoAnswer;
        };
        if let Err(e) = sock.shutdown(Shutdown::Write) {
            return StreamEnd::Reset(e);
        }
        if let Err(e) = sock.set_read_timeout(Some(wait.max(Duration::from_millis(1)))) {
            return StreamEnd::Reset(e);
        }
        // The raw socket, not TLS: only whether and how it ends matters here.
        let mut buf = [0u8; 4096];
        loop {
            match (&*sock).read(&mut buf) {
                Ok(0) => return StreamEnd::Closed,
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    return StreamEnd::NoAnswer
                }
                Err(e) => return StreamEnd::Reset(e),
            }
        }
    }

    /// Close TLS cleanly, so that the receiver sees the end of the stream, not a truncation.
    pub fn close_notify(&mut self) {
        if let Conn::Tls(s) = self {
            s.conn.send_close_notify();
            let _ = s.flush();
        }
    }

    pub fn flush(&mut self) {
        if let Conn::Tls(s) = self {
            let _ = s.flush();
        }
    }
}

/// A stream over a TCP socket.
trait OverTcp {
    fn socket(&self) -> &TcpStream;
}

impl OverTcp for Counted<TcpStream> {
    fn socket(&self) -> &TcpStream {
        &self.inner
    }
}

impl OverTcp for TlsStream {
    fn socket(&self) -> &TcpStream {
        &self.sock.inner
    }
}

/// Run `f` on `s` with its socket non-blocking for the call.
fn nonblocking<S: OverTcp + ?Sized>(
    s: &mut S,
    f: impl FnOnce(&mut S) -> io::Result<usize>,
) -> io::Result<usize> {
    s.socket().set_nonblocking(true)?;
    let r = f(s);
    s.socket().set_nonblocking(false)?;
    r
}

fn udp(addr: SocketAddr) -> io::Result<UdpSocket> {
    let bind: SocketAddr = if addr.is_ipv4() {
        (std::net::Ipv4Addr::UNSPECIFIED, 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    };
    // Connected, so that an ICMP port unreachable comes back as ECONNREFUSED.
    let s = UdpSocket::bind(bind)?;
    s.connect(addr)?;
    Ok(s)
}

fn tcp(addr: SocketAddr) -> io::Result<TcpStream> {
    let s = TcpStream::connect_timeout(&addr, IO_TIMEOUT)?;
    s.set_nodelay(true)?;
    s.set_write_timeout(Some(IO_TIMEOUT))?;
    s.set_read_timeout(Some(IO_TIMEOUT))?;
    Ok(s)
}

/// The client configuration for `syslog+tls://`: the CAs of `ca`, or of the system bundle.
pub(crate) fn tls_config(
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
