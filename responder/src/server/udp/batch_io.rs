//! A batch of datagrams in and out per system call (`recvmmsg`,
//! `sendmmsg`), each with its own peer and pktinfo ([`Exchange`]).
//!
//! One datagram per call made the system calls, not the answers, the cost
//! of the kernel path. All storage is allocated once per worker; the
//! kernel's message headers are rebuilt before each call from that storage,
//! so no pointer outlives the borrow it was taken from.

use std::io;
use std::mem;
use std::net::UdpSocket;
use std::os::fd::AsRawFd;
use std::ptr;

use tracing::trace;

use super::datagram::{Exchange, Received};

/// Datagrams read per wake-up at most. Half the engine's prefetch batch:
/// past a few dozen the system calls saved no longer show, while every
/// slot costs a full-size buffer.
pub(super) const BATCH: usize = 32;

/// One received datagram, ready to be answered in place.
pub(super) struct Slot<'a> {
    /// The slot's whole buffer: the query at its start, room for the answer.
    pub(super) buf: &'a mut [u8],
    /// The query's length.
    pub(super) len: usize,
    /// Where it came from and was sent to.
    pub(super) exchange: &'a Exchange,
}

pub(super) struct Batch {
    /// `BATCH` buffers of `slot_bytes` each.
    data: Vec<u8>,
    slot_bytes: usize,
    exchanges: Vec<Exchange>,
    /// After a receive: each datagram's length and whether it was whole.
    lengths: [usize; BATCH],
    whole: [bool; BATCH],
    /// Datagrams in the last receive.
    received: usize,
    /// Answers to send, in the order queued: (slot, length).
    replies: [(usize, usize); BATCH],
    queued: usize,
    headers: Vec<libc::mmsghdr>,
    iovecs: Vec<libc::iovec>,
}

/// What a [`Batch::send`] did with the answers queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) struct Sent {
    pub(super) sent: usize,
    /// Answers the kernel refused (no route, a full queue, a firewall):
    /// each concerns its own client, so the rest still go.
    pub(super) dropped: usize,
    /// `sendmmsg` calls made.
    pub(super) calls: usize,
}

impl Batch {
    /// A batch whose slots hold datagrams of up to `slot_bytes`; a larger
    /// one is reported cut short (see [`Batch::slot`]).
    pub(super) fn new(slot_bytes: usize) -> Batch {
        let empty = libc::iovec { iov_base: ptr::null_mut(), iov_len: 0 };
        Batch {
            data: vec![0; BATCH * slot_bytes],
            slot_bytes,
            exchanges: (0..BATCH).map(|_| Exchange::new()).collect(),
            lengths: [0; BATCH],
            whole: [false; BATCH],
            received: 0,
            replies: [(0, 0); BATCH],
            queued: 0,
            // SAFETY: mmsghdr is plain old data (integers and pointers);
            // all zeroes (null pointers, zero lengths) is a valid value.
            headers: (0..BATCH).map(|_| unsafe { mem::zeroed() }).collect(),
            iovecs: vec![empty; BATCH],
        }
    }

    /// Blocks until at least one datagram arrives, then takes as many more
    /// as are already queued, up to [`BATCH`]; returns how many. A socket
    /// shut down for reading returns at once (with empty datagrams).
    /// Answers queued and not sent are forgotten.
    pub(super) fn receive(&mut self, socket: &UdpSocket) -> io::Result<usize> {
        self.received = 0;
        self.queued = 0;
        let slots = self.data.chunks_exact_mut(self.slot_bytes);
        for (((header, iov), exchange), buf) in
            self.headers.iter_mut().zip(&mut self.iovecs).zip(&mut self.exchanges).zip(slots)
        {
            *iov = libc::iovec { iov_base: buf.as_mut_ptr().cast(), iov_len: buf.len() };
            exchange.prepare_receive(&mut header.msg_hdr);
            header.msg_hdr.msg_iov = iov;
            header.msg_hdr.msg_iovlen = 1;
            header.msg_len = 0;
        }
        // SAFETY: the `BATCH` headers passed point only at storage of this
        // batch (buffers, iovecs, peers, control), exclusively borrowed for
        // the call and described with its true lengths; no timeout pointer.
        let count = unsafe {
            libc::recvmmsg(
                socket.as_raw_fd(),
                self.headers.as_mut_ptr(),
                BATCH as libc::c_uint,
                libc::MSG_WAITFORONE,
                ptr::null_mut(),
            )
        };
        if count < 0 {
            return Err(io::Error::last_os_error());
        }
        // The kernel returns at most `BATCH`; `min` keeps that a fact here.
        self.received = (count as usize).min(BATCH);
        for i in 0..self.received {
            let header = &self.headers[i];
            self.whole[i] = self.exchanges[i].received(&header.msg_hdr) == Received::Whole;
            self.lengths[i] = (header.msg_len as usize).min(self.slot_bytes);
        }
        Ok(self.received)
    }

    /// Datagram `i` of the last receive, or `None` if there is none or it
    /// did not fit its slot (its tail is lost, so it is not answered).
    pub(super) fn slot(&mut self, i: usize) -> Option<Slot<'_>> {
        if i >= self.received || !self.whole[i] {
            return None;
        }
        let buf = self.data.chunks_exact_mut(self.slot_bytes).nth(i)?;
        Some(Slot { buf, len: self.lengths[i], exchange: &self.exchanges[i] })
    }

    /// The query bytes of datagram `i`, as [`Batch::slot`] would give them.
    pub(super) fn query(&self, i: usize) -> Option<&[u8]> {
        if i >= self.received || !self.whole[i] {
            return None;
        }
        self.data.get(i * self.slot_bytes..)?.get(..self.lengths[i])
    }

    /// Queues the first `len` bytes of slot `i` (its answer) to be sent to
    /// its peer by the next [`Batch::send`]. Answers go out in the order
    /// queued. An impossible slot or length is refused.
    pub(super) fn queue_reply(&mut self, i: usize, len: usize) -> bool {
        if i >= self.received || !self.whole[i] || len == 0 || len > self.slot_bytes || self.queued == BATCH {
            return false;
        }
        self.replies[self.queued] = (i, len);
        self.queued += 1;
        true
    }

    /// Sends every queued answer, as few calls as the kernel allows. An
    /// answer the kernel refuses is dropped and the rest still sent, so
    /// each call makes progress and a persistent error cannot spin.
    pub(super) fn send(&mut self, socket: &UdpSocket) -> Sent {
        let count = self.queued;
        self.queued = 0;
        let mut report = Sent::default();
        for (k, &(slot, len)) in self.replies[..count].iter().enumerate() {
            // In bounds: `queue_reply` checked slot < BATCH, len <= slot_bytes.
            let start = slot * self.slot_bytes;
            let answer = &mut self.data[start..start + len];
            self.iovecs[k] = libc::iovec { iov_base: answer.as_mut_ptr().cast(), iov_len: len };
            let header = &mut self.headers[k];
            self.exchanges[slot].prepare_reply(&mut header.msg_hdr);
            header.msg_hdr.msg_iov = &mut self.iovecs[k];
            header.msg_hdr.msg_iovlen = 1;
            header.msg_len = 0;
        }
        let mut next = 0;
        while next < count {
            let left = &mut self.headers[next..count];
            report.calls += 1;
            // SAFETY: each of the `left.len()` headers points at storage of
            // this batch (an answer, its iovec, its peer and control),
            // borrowed for the call with its true length; sendmmsg only
            // reads through them.
            let rc = unsafe { libc::sendmmsg(socket.as_raw_fd(), left.as_mut_ptr(), left.len() as libc::c_uint, 0) };
            if rc > 0 {
                let done = (rc as usize).min(left.len());
                report.sent += done;
                next += done;
                continue;
            }
            let error = if rc == 0 { io::Error::from(io::ErrorKind::WriteZero) } else { io::Error::last_os_error() };
            if error.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            // The error is the first remaining answer's (EAGAIN, ENOBUFS,
            // EPERM from a firewall...): drop it alone and go on.
            trace!(%error, "UDP send failed; answer dropped");
            report.dropped += 1;
            next += 1;
        }
        report
    }
}

#[cfg(test)]
mod tests {
    use super::super::enable_destination_info;
    use super::*;
    use std::net::{Ipv4Addr, SocketAddr};
    use std::time::Duration;

    fn wildcard_socket() -> UdpSocket {
        let socket = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)).unwrap();
        enable_destination_info(&socket, false).unwrap();
        socket.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        socket
    }

    fn client() -> UdpSocket {
        let client = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        client.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        client
    }

    /// Loopback queues a datagram before `send_to` returns; the pause only
    /// makes sure of it, so that one receive takes a whole burst.
    fn settle() {
        std::thread::sleep(Duration::from_millis(20));
    }

    /// 127.0.0.2 is local on Linux, but routing would answer 127.0.0.1
    /// from 127.0.0.1: only pktinfo makes the answer come from .2.
    #[test]
    fn answer_leaves_from_the_address_the_query_reached() {
        let server = wildcard_socket();
        let port = server.local_addr().unwrap().port();
        let client = client();
        let queried = SocketAddr::from((Ipv4Addr::new(127, 0, 0, 2), port));
        client.send_to(b"query", queried).unwrap();

        let mut batch = Batch::new(64);
        assert_eq!(batch.receive(&server).unwrap(), 1);
        let slot = batch.slot(0).unwrap();
        assert_eq!(&slot.buf[..slot.len], b"query");
        assert_eq!(slot.exchange.peer_socket(), Some(client.local_addr().unwrap()));
        assert_eq!(slot.exchange.destination(), Some(queried.ip()));
        slot.buf[..6].copy_from_slice(b"answer");
        assert!(batch.queue_reply(0, 6));
        assert_eq!(batch.send(&server), Sent { sent: 1, dropped: 0, calls: 1 });

        let mut buf = [0u8; 64];
        let (len, from) = client.recv_from(&mut buf).unwrap();
        assert_eq!(&buf[..len], b"answer");
        assert_eq!(from, queried);
    }

    #[test]
    fn oversized_datagram_is_reported_truncated_and_cannot_be_answered() {
        let server = wildcard_socket();
        let client = client();
        let port = server.local_addr().unwrap().port();
        client.send_to(&[7u8; 100], (Ipv4Addr::LOCALHOST, port)).unwrap();

        let mut batch = Batch::new(10);
        assert_eq!(batch.receive(&server).unwrap(), 1);
        assert!(batch.slot(0).is_none());
        assert!(batch.query(0).is_none());
        assert!(!batch.queue_reply(0, 5));
    }

    /// Several peers and destinations in one batch: each answer goes to its
    /// own client, from the address that client queried, in queue order;
    /// unqueued datagrams get nothing.
    #[test]
    fn a_batch_answers_each_datagram_to_its_own_peer_from_its_own_destination() {
        let server = wildcard_socket();
        let port = server.local_addr().unwrap().port();
        let clients: Vec<UdpSocket> = (0..3).map(|_| client()).collect();
        let destinations = [1u8, 2, 3].map(|last| SocketAddr::from((Ipv4Addr::new(127, 0, 0, last), port)));
        for round in 0..4u8 {
            for (c, (client, to)) in clients.iter().zip(&destinations).enumerate() {
                client.send_to(&[c as u8, round], to).unwrap();
            }
        }
        settle();
        let mut batch = Batch::new(16);
        assert_eq!(batch.receive(&server).unwrap(), 12);
        // Answer client 1 only.
        let mut expected = Vec::new();
        for i in 0..12 {
            let slot = batch.slot(i).unwrap();
            let query = slot.buf[..slot.len].to_vec();
            if query[0] == 1 {
                slot.buf[2] = b'!';
                expected.push([query[0], query[1], b'!']);
                assert!(batch.queue_reply(i, 3));
            }
        }
        let sent = batch.send(&server);
        assert_eq!((sent.sent, sent.dropped), (expected.len(), 0));
        let mut buf = [0u8; 16];
        for want in &expected {
            let (len, from) = clients[1].recv_from(&mut buf).unwrap();
            assert_eq!(&buf[..len], want);
            assert_eq!(from, destinations[1]);
        }
        clients[0].set_read_timeout(Some(Duration::from_millis(50))).unwrap();
        assert!(clients[0].recv_from(&mut buf).is_err(), "client 0 was not answered");
    }

    #[test]
    fn more_datagrams_than_a_batch_take_more_receives_and_lose_none() {
        let server = wildcard_socket();
        let port = server.local_addr().unwrap().port();
        let client = client();
        let total = BATCH * 2 + 5;
        for i in 0..total {
            client.send_to(&(i as u16).to_be_bytes(), (Ipv4Addr::LOCALHOST, port)).unwrap();
        }
        let mut batch = Batch::new(8);
        let mut got = Vec::new();
        while got.len() < total {
            let n = batch.receive(&server).unwrap();
            assert!((1..=BATCH).contains(&n));
            got.extend((0..n).map(|i| u16::from_be_bytes(batch.query(i).unwrap().try_into().unwrap())));
        }
        assert_eq!(got, (0..total as u16).collect::<Vec<_>>());
    }

    /// A refused answer (here: one without a destination) is
    /// dropped alone; the answers after it in the batch still go.
    #[test]
    fn a_refused_answer_is_dropped_and_the_rest_still_sent() {
        let server = wildcard_socket();
        let port = server.local_addr().unwrap().port();
        let client = client();
        for i in 0..3u8 {
            client.send_to(&[i], (Ipv4Addr::LOCALHOST, port)).unwrap();
        }
        settle();
        let mut batch = Batch::new(8);
        assert_eq!(batch.receive(&server).unwrap(), 3);
        batch.exchanges[1].forget_peer_for_test();
        for i in 0..3 {
            assert!(batch.queue_reply(i, 1));
        }
        let sent = batch.send(&server);
        assert_eq!((sent.sent, sent.dropped), (2, 1));
        assert!(sent.calls >= 2, "the refusal split the batch: {sent:?}");
        let mut buf = [0u8; 4];
        for want in [0u8, 2] {
            let (len, _) = client.recv_from(&mut buf).unwrap();
            assert_eq!(&buf[..len], [want]);
        }
    }
}
