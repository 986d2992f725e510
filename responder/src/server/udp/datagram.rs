//! One UDP query/answer exchange at the socket boundary.
//!
//! A socket bound to a wildcard address (`0.0.0.0`, `[::]`) would otherwise
//! answer from whatever source address routing picks, which on a multi-homed
//! host is often not the address the client asked; resolvers discard such
//! answers. So the destination of each query is read with `IP_PKTINFO` /
//! `IPV6_PKTINFO` and handed back to `sendmsg` as the source of the answer.

use std::io;
use std::mem;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::{AsFd, AsRawFd};
use std::ptr;

/// Control-message room for one `in6_pktinfo` (the larger of the two),
/// as `u64`s because `cmsghdr` needs that alignment.
const CONTROL_WORDS: usize = 8;

/// Asks the kernel to report each datagram's destination address.
pub(in crate::server) fn enable_destination_info(socket: &impl AsFd, ipv6: bool) -> io::Result<()> {
    let (level, option) =
        if ipv6 { (libc::IPPROTO_IPV6, libc::IPV6_RECVPKTINFO) } else { (libc::IPPROTO_IP, libc::IP_PKTINFO) };
    let on: libc::c_int = 1;
    // SAFETY: the fd is open for the call; `on` outlives it and its exact
    // size is passed.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_fd().as_raw_fd(),
            level,
            option,
            ptr::from_ref(&on).cast(),
            mem::size_of_val(&on) as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// What one receive yielded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Received {
    /// The whole datagram is in the buffer.
    Whole,
    /// The datagram did not fit the buffer; its tail is lost.
    Truncated,
}

/// The peer and destination of one datagram received, kept in reusable
/// storage so a worker allocates nothing per packet. The system calls that
/// fill and use it are in `batch_io.rs`, which hands the kernel one of
/// these per datagram of a batch.
pub(super) struct Exchange {
    peer: libc::sockaddr_storage,
    peer_len: libc::socklen_t,
    /// After a receive: the reply's source-address control message.
    control: [u64; CONTROL_WORDS],
    /// Bytes of `control` to send with the reply; 0 sends none.
    reply_control_len: usize,
    /// The address the last datagram was sent to, if the kernel said.
    destination: Option<IpAddr>,
}

impl Exchange {
    pub(super) fn new() -> Exchange {
        Exchange {
            // SAFETY: sockaddr_storage is plain old data; all zeroes is a
            // valid (AF_UNSPEC) value.
            peer: unsafe { mem::zeroed() },
            peer_len: 0,
            control: [0; CONTROL_WORDS],
            reply_control_len: 0,
            destination: None,
        }
    }

    /// Points `msg` at this exchange's peer and control storage, for a
    /// receive; the caller sets the data buffer.
    pub(super) fn prepare_receive(&mut self, msg: &mut libc::msghdr) {
        msg.msg_name = ptr::from_mut(&mut self.peer).cast();
        msg.msg_namelen = mem::size_of_val(&self.peer) as libc::socklen_t;
        msg.msg_control = self.control.as_mut_ptr().cast();
        msg.msg_controllen = mem::size_of_val(&self.control) as _;
        msg.msg_flags = 0;
        self.reply_control_len = 0;
        self.destination = None;
    }

    /// Takes in what the kernel wrote through a `msg` made by
    /// [`Exchange::prepare_receive`]; whether the datagram was whole.
    pub(super) fn received(&mut self, msg: &libc::msghdr) -> Received {
        self.peer_len = msg.msg_namelen;
        if msg.msg_flags & libc::MSG_TRUNC != 0 {
            return Received::Truncated;
        }
        self.reply_control_len = self.turn_destination_into_source(msg);
        Received::Whole
    }

    /// The last peer's address bytes (4 or 16), written into `out`; empty
    /// for an address family we do not serve.
    pub(super) fn peer_address<'a>(&self, out: &'a mut [u8; 16]) -> &'a [u8] {
        match libc::c_int::from(self.peer.ss_family) {
            libc::AF_INET => {
                // SAFETY: the kernel wrote a sockaddr_in here (family AF_INET);
                // sockaddr_storage is large and aligned enough for it.
                let v4 = unsafe { &*ptr::from_ref(&self.peer).cast::<libc::sockaddr_in>() };
                out[..4].copy_from_slice(&v4.sin_addr.s_addr.to_ne_bytes());
                &out[..4]
            }
            libc::AF_INET6 => {
                // SAFETY: as above, for sockaddr_in6 (family AF_INET6).
                let v6 = unsafe { &*ptr::from_ref(&self.peer).cast::<libc::sockaddr_in6>() };
                out.copy_from_slice(&v6.sin6_addr.s6_addr);
                &out[..]
            }
            _ => &out[..0],
        }
    }

    /// The last peer's address and port; `None` for a family we do not serve.
    pub(super) fn peer_socket(&self) -> Option<SocketAddr> {
        let mut bytes = [0u8; 16];
        let ip: IpAddr = match *self.peer_address(&mut bytes) {
            [a, b, c, d] => Ipv4Addr::new(a, b, c, d).into(),
            ref v6 => Ipv6Addr::from(<[u8; 16]>::try_from(v6).ok()?).into(),
        };
        let family = libc::c_int::from(self.peer.ss_family);
        // SAFETY: as in `peer_address`: the kernel wrote a sockaddr of this
        // family; both put the port at the same offset, in network order.
        let port = match family {
            libc::AF_INET => unsafe { (*ptr::from_ref(&self.peer).cast::<libc::sockaddr_in>()).sin_port },
            _ => unsafe { (*ptr::from_ref(&self.peer).cast::<libc::sockaddr_in6>()).sin6_port },
        };
        Some(SocketAddr::new(ip, u16::from_be(port)))
    }

    /// The address the last datagram was sent to (from its pktinfo).
    pub(super) fn destination(&self) -> Option<IpAddr> {
        self.destination
    }

    /// Points `msg` at the last peer, and at the control message that
    /// makes the reply leave from the address it wrote to; the caller sets
    /// the data buffer. `msg` must not outlive this exchange's next change.
    pub(super) fn prepare_reply(&self, msg: &mut libc::msghdr) {
        msg.msg_name = ptr::from_ref(&self.peer).cast_mut().cast();
        msg.msg_namelen = self.peer_len;
        msg.msg_flags = 0;
        if self.reply_control_len > 0 {
            msg.msg_control = self.control.as_ptr().cast_mut().cast();
            msg.msg_controllen = self.reply_control_len as _;
        } else {
            msg.msg_control = ptr::null_mut();
            msg.msg_controllen = 0;
        }
    }

    /// Forgets the peer, so that a reply has no destination and the
    /// kernel refuses it (EDESTADDRREQ): for tests of refused sends.
    #[cfg(test)]
    pub(super) fn forget_peer_for_test(&mut self) {
        self.peer_len = 0;
    }

    /// Rewrites the received pktinfo message in `self.control` into the one
    /// `sendmsg` needs to send from that address. Returns its length, or 0
    /// if the kernel reported no destination.
    fn turn_destination_into_source(&mut self, msg: &libc::msghdr) -> usize {
        // SAFETY: `msg` describes `self.control` with the length the kernel
        // filled in; the CMSG_* helpers stay within it, and payloads are
        // read unaligned because the kernel only guarantees cmsghdr alignment.
        unsafe {
            let mut cmsg = libc::CMSG_FIRSTHDR(msg);
            while !cmsg.is_null() {
                let (level, kind) = ((*cmsg).cmsg_level, (*cmsg).cmsg_type);
                if level == libc::IPPROTO_IP && kind == libc::IP_PKTINFO {
                    let received: libc::in_pktinfo = ptr::read_unaligned(libc::CMSG_DATA(cmsg).cast());
                    self.destination = Some(Ipv4Addr::from(u32::from_be(received.ipi_addr.s_addr)).into());
                    // Interface 0 lets routing pick the way out; the
                    // local address the query reached becomes the source.
                    let reply = libc::in_pktinfo {
                        ipi_ifindex: 0,
                        ipi_spec_dst: received.ipi_spec_dst,
                        ipi_addr: libc::in_addr { s_addr: 0 },
                    };
                    return self.write_control(libc::IPPROTO_IP, libc::IP_PKTINFO, reply);
                }
                if level == libc::IPPROTO_IPV6 && kind == libc::IPV6_PKTINFO {
                    // Kept whole: the interface index scopes link-local
                    // destinations.
                    let received: libc::in6_pktinfo = ptr::read_unaligned(libc::CMSG_DATA(cmsg).cast());
                    self.destination = Some(Ipv6Addr::from(received.ipi6_addr.s6_addr).into());
                    return self.write_control(libc::IPPROTO_IPV6, libc::IPV6_PKTINFO, received);
                }
                cmsg = libc::CMSG_NXTHDR(msg, cmsg);
            }
        }
        0
    }

    /// Writes one control message carrying `payload` at the start of
    /// `self.control`; returns the bytes `sendmsg` must be given.
    fn write_control<T: Copy>(&mut self, level: libc::c_int, kind: libc::c_int, payload: T) -> usize {
        // SAFETY: CMSG_* compute sizes only; the payloads used here (12- and
        // 20-byte pktinfo) need at most 40 of the 64 bytes of `control`,
        // which is u64-aligned as cmsghdr requires.
        unsafe {
            let space = libc::CMSG_SPACE(mem::size_of::<T>() as u32) as usize;
            debug_assert!(space <= mem::size_of_val(&self.control));
            self.control = [0; CONTROL_WORDS];
            let header = self.control.as_mut_ptr().cast::<libc::cmsghdr>();
            (*header).cmsg_level = level;
            (*header).cmsg_type = kind;
            (*header).cmsg_len = libc::CMSG_LEN(mem::size_of::<T>() as u32) as _;
            ptr::write_unaligned(libc::CMSG_DATA(header).cast::<T>(), payload);
            space
        }
    }
}
