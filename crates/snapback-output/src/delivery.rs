//! What a syslog receiver can have got, as far as the transport tells.
//!
//! Syslog has no acknowledgement, and a successful `write` only says the kernel took the bytes:
//! a receiver that closes mid-stream loses what was written after its last read, and the
//! sender went on counting it as delivered (4,755 of 5,000 arrived; "forwarded 5000"). TCP
//! does tell three things, and the forwarder uses them:
//!
//! * **What the receiver's TCP acknowledged** (`TCP_INFO` `tcpi_bytes_acked` on Linux, still
//!   readable after a reset). Alerts not acknowledged when a connection dies are written again
//!   on the next connection. After an orderly close (FIN) they were never read: the FIN carries
//!   the acknowledgement of everything the receiver got. After a reset they may have been: a
//!   receiver's TCP delays its acknowledgements (up to 40 ms on Linux, 200 ms elsewhere), its
//!   application can read bytes not yet acknowledged, and the reset it sends on closing with
//!   unread bytes does not move the sender's acknowledged count. So alerts written again after
//!   a reset may arrive twice ([`ForwardStats::resent_after_reset`]): a duplicate is the lesser
//!   harm for an alert, and the summary says how many there can be. Seen in CI: a receiver
//!   read 203 alerts of which its TCP had acknowledged 198; three of the five written again
//!   arrived twice.
//! * **How the receiver ended the connection.** A receiver whose socket still holds unread
//!   bytes when it closes sends a reset (RST), not a FIN: so a FIN (end of stream, or `EPIPE`
//!   on a write after it) proves it had read everything it acknowledged, and a reset proves
//!   nothing: the alerts it acknowledged on that connection *may* be lost.
//! * **The end of the stream, confirmed.** `finish` shuts down the sending side and reads until
//!   the receiver closes its side in turn: a FIN after ours, with everything acknowledged,
//!   confirms that every alert of that connection was read.
//!
//! Every alert given to the forwarder ends in exactly one of [`ForwardStats`]'s `confirmed`,
//! `unconfirmed` (may be lost) or, when the receiver stays away, the count of
//! `ForwardError::Undelivered` (lost). UDP has no acknowledgement: every datagram is
//! unconfirmed, and a refusal (ICMP port unreachable, reported on the next send of a connected
//! socket as `ECONNREFUSED`) is a datagram certainly lost.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::TcpStream;

/// What a forwarder did. Once [`Forwarder::finish`](crate::Forwarder::finish) returned
/// `Ok`, `confirmed + unconfirmed` is the number of alerts given to it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ForwardStats {
    /// Messages written to a connection, each resend counted again: the kernel took them,
    /// which is no proof that the receiver got them.
    pub written: u64,
    /// Alerts the receiver read, as far as TCP can prove it: acknowledged by its TCP on a
    /// connection that it then closed in order (FIN), or confirmed at the end of the stream.
    pub confirmed: u64,
    /// Alerts that may be lost: acknowledged by the receiver's TCP on a connection it then
    /// reset, or whose connection ended unconfirmed (no answer to the end of the stream); every
    /// alert sent over UDP. They are not sent again, since the receiver may have read them.
    pub unconfirmed: u64,
    /// Alerts written on a connection that died before the receiver's TCP acknowledged them:
    /// written again on the next connection.
    pub resent: u64,
    /// Of `resent`, those whose connection the receiver reset: it may have read some of them
    /// before its TCP acknowledged them, so they may arrive twice. After an orderly close none
    /// can (the receiver's FIN acknowledges all it got).
    pub resent_after_reset: u64,
    /// UDP: refusals seen (ICMP port unreachable), each a datagram certainly lost. More may be
    /// lost unseen: hosts rate-limit these messages, and a full receive buffer drops silently.
    pub refused: u64,
    pub connects: u64,
    pub failed_attempts: u64,
    /// Connections found closed by the receiver before a write.
    pub stale_connections: u64,
}

impl ForwardStats {
    /// Alerts certainly lost that are not counted elsewhere (UDP refusals).
    pub fn certainly_lost(&self) -> u64 {
        self.refused
    }
}

/// How a connection ended, for the alerts its receiver acknowledged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Ended {
    /// The receiver closed in order (FIN): it read all it acknowledged.
    InOrder,
    /// Reset, timed out or failed otherwise: what it acknowledged may not have been read.
    Abruptly(String),
}

impl Ended {
    /// How a write that failed with `e` says the connection ended: `EPIPE` comes after the
    /// receiver's FIN (the reset then answers bytes it never acknowledged); `ECONNRESET` and
    /// the rest say nothing about what it read.
    pub(crate) fn from_write_error(e: &io::Error) -> Ended {
        match e.kind() {
            io::ErrorKind::BrokenPipe => Ended::InOrder,
            _ => Ended::Abruptly(e.to_string()),
        }
    }
}

/// A stream that counts the bytes written through it: with TLS, the bytes on the wire, which
/// is what the receiver's TCP acknowledges.
#[derive(Debug)]
pub(crate) struct Counted<S> {
    pub inner: S,
    pub written: u64,
}

impl<S> Counted<S> {
    pub fn new(inner: S) -> Self {
        Counted { inner, written: 0 }
    }
}

impl<S: Read> Read for Counted<S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf)
    }
}

impl<S: Write> Write for Counted<S> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// The messages written on one connection whose fate is not settled yet.
#[derive(Debug, Default)]
pub(crate) struct Ledger {
    /// Written and not yet acknowledged: where each ends in the connection's byte stream, and
    /// its bytes (to write again if the connection dies first).
    in_flight: VecDeque<(u64, Vec<u8>)>,
    /// Acknowledged by the receiver's TCP on this connection, not yet known to be read.
    acked: u64,
}

impl Ledger {
    pub fn wrote(&mut self, end: u64, bytes: Vec<u8>) {
        self.in_flight.push_back((end, bytes));
    }

    /// Messages written and not yet acknowledged.
    pub fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    /// Move the messages that end within the first `acked` bytes to the acknowledged count.
    pub fn settle(&mut self, acked: u64) {
        while self.in_flight.front().is_some_and(|(end, _)| *end <= acked) {
            self.in_flight.pop_front();
            self.acked += 1;
        }
    }

    /// The connection ended: (acknowledged, not yet known read; the bytes of those never
    /// acknowledged, in order). The ledger is empty afterwards.
    pub fn close(&mut self) -> (u64, Vec<Vec<u8>>) {
        let acked = std::mem::take(&mut self.acked);
        let unacked = self.in_flight.drain(..).map(|(_, b)| b).collect();
        (acked, unacked)
    }
}

/// Bytes of data the peer's TCP acknowledged on `sock`: `tcpi_bytes_acked`, less the SYN
/// (and so the FIN counts as one more). `None` where the kernel does not say.
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
pub(crate) fn bytes_acked(sock: &TcpStream) -> Option<u64> {
    use std::os::fd::AsRawFd;
    const AT: usize = std::mem::offset_of!(libc::tcp_info, tcpi_bytes_acked);
    let mut buf = [0u8; std::mem::size_of::<libc::tcp_info>()];
    let mut len = buf.len() as libc::socklen_t;
    // SAFETY: `buf` is writable for `len` bytes and outlives the call; the kernel writes at
    // most `len` bytes and sets `len` to how many it wrote; the descriptor is open (borrowed
    // from a live `TcpStream`).
    let r = unsafe {
        libc::getsockopt(
            sock.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_INFO,
            buf.as_mut_ptr().cast(),
            &mut len,
        )
    };
    if r != 0 || (len as usize) < AT + 8 {
        return None; // a kernel older than 4.1 does not report bytes acknowledged
    }
    let bytes: [u8; 8] = buf[AT..AT + 8].try_into().ok()?;
    Some(u64::from_ne_bytes(bytes).saturating_sub(1))
}

#[cfg(not(target_os = "linux"))]
pub(crate) fn bytes_acked(_sock: &TcpStream) -> Option<u64> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ledger_settles_what_was_acknowledged_and_gives_back_the_rest() {
        let mut l = Ledger::default();
        for (end, b) in [(10, b"a"), (20, b"b"), (30, b"c")] {
            l.wrote(end, b.to_vec());
        }
        l.settle(19);
        assert_eq!(l.in_flight(), 2);
        l.settle(20);
        assert_eq!(l.in_flight(), 1);
        assert_eq!(l.close(), (2, vec![b"c".to_vec()]));
        assert_eq!(l.close(), (0, vec![]));
    }

    #[test]
    fn bytes_acked_counts_data_only() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let mut s = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (mut peer, _) = listener.accept().unwrap();
        s.write_all(&[7u8; 1000]).unwrap();
        let mut got = [0u8; 1000];
        peer.read_exact(&mut got).unwrap();
        if cfg!(target_os = "linux") {
            // The peer read it all, so its TCP acknowledged it all; wait for the ACK to come.
            let mut acked = None;
            for _ in 0..1000 {
                acked = bytes_acked(&s);
                if acked == Some(1000) {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            assert_eq!(acked, Some(1000));
        }
    }
}
