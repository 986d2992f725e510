//! The interface's MAC and addresses from rtnetlink (`RTM_GETLINK`,
//! `RTM_GETADDR` dump), and a subscription to link and address changes so
//! that the steering program's address maps follow `ip addr add/del`.
//!
//! Sockets belong to the network namespace of the thread that opens them.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::Duration;

use super::own_addresses::{InterfaceAddr, InterfaceState};

// From <linux/rtnetlink.h>, <linux/if_addr.h>, <linux/if_link.h>, <linux/netlink.h>.
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const RTM_NEWLINK: u16 = 16;
const RTM_GETLINK: u16 = 18;
const RTM_NEWADDR: u16 = 20;
const RTM_GETADDR: u16 = 22;
const NLM_F_REQUEST: u16 = 1;
const NLM_F_DUMP: u16 = 0x300;
const IFLA_ADDRESS: u16 = 1;
const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;
const IFA_BROADCAST: u16 = 4;
const IFA_FLAGS: u16 = 8;
/// Not usable yet (duplicate address detection running) or never (it failed).
const IFA_F_TENTATIVE: u32 = 0x40;
const IFA_F_DADFAILED: u32 = 0x08;
const RTMGRP_LINK: u32 = 0x1;
const RTMGRP_IPV4_IFADDR: u32 = 0x10;
const RTMGRP_IPV6_IFADDR: u32 = 0x100;
const NLA_TYPE_MASK: u16 = !(1 << 15 | 1 << 14);

const NLMSG_HDR_LEN: usize = 16;
const IFINFOMSG_LEN: usize = 16;
const IFADDRMSG_LEN: usize = 8;

/// Reads interface `ifindex`'s MAC and usable addresses.
pub fn interface_state(ifindex: u32) -> io::Result<InterfaceState> {
    let sock = route_socket(0)?;
    let mut state = InterfaceState::default();
    request(&sock, &link_request(ifindex))?;
    read_replies(&sock, |kind, body| {
        if kind == RTM_NEWLINK {
            state.mac = parse_link_mac(body);
        }
    })?;
    request(&sock, &addr_dump_request())?;
    read_replies(&sock, |kind, body| {
        if kind == RTM_NEWADDR {
            if let Some((index, addr)) = parse_addr(body) {
                if index == ifindex {
                    state.addrs.push(addr);
                }
            }
        }
    })?;
    state.addrs.sort_unstable();
    state.addrs.dedup();
    Ok(state)
}

/// A socket that becomes readable when any link or address changes.
pub struct ChangeEvents {
    sock: OwnedFd,
}

impl ChangeEvents {
    pub fn subscribe() -> io::Result<ChangeEvents> {
        Ok(ChangeEvents { sock: route_socket(RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR)? })
    }

    /// Waits up to `timeout`; true if anything changed (or the kernel
    /// dropped notifications, which may have been changes), with every
    /// pending notification consumed.
    pub fn wait(&self, timeout: Duration) -> io::Result<bool> {
        let mut poll = libc::pollfd { fd: self.sock.as_raw_fd(), events: libc::POLLIN, revents: 0 };
        let millis = timeout.as_millis().min(i32::MAX as u128) as i32;
        // SAFETY: one valid pollfd, for the duration of the call.
        let ready = unsafe { libc::poll(&mut poll, 1, millis) };
        if ready < 0 {
            let err = io::Error::last_os_error();
            return if err.kind() == io::ErrorKind::Interrupted { Ok(false) } else { Err(err) };
        }
        if ready == 0 {
            return Ok(false);
        }
        let mut buf = [0u8; 8192];
        loop {
            // SAFETY: `buf` has room for its length for the duration of the call.
            let n =
                unsafe { libc::recv(self.sock.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), libc::MSG_DONTWAIT) };
            if n < 0 {
                let err = io::Error::last_os_error();
                match err.raw_os_error() {
                    Some(libc::EAGAIN) => return Ok(true),
                    // Notifications lost: the caller re-reads everything anyway.
                    Some(libc::ENOBUFS | libc::EINTR) => continue,
                    _ => return Err(err),
                }
            }
        }
    }
}

fn route_socket(groups: u32) -> io::Result<OwnedFd> {
    // SAFETY: plain socket creation; the result is checked.
    let raw = unsafe { libc::socket(libc::AF_NETLINK, libc::SOCK_RAW | libc::SOCK_CLOEXEC, libc::NETLINK_ROUTE) };
    if raw < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `raw` is a fresh descriptor nothing else owns.
    let sock = unsafe { OwnedFd::from_raw_fd(raw) };
    if groups != 0 {
        // SAFETY: sockaddr_nl is plain data; all-zero is a valid value.
        let mut addr: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
        addr.nl_family = libc::AF_NETLINK as libc::sa_family_t;
        addr.nl_groups = groups;
        let len = std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t;
        // SAFETY: `addr` is a valid sockaddr_nl of `len` bytes for the call.
        let rc = unsafe { libc::bind(sock.as_raw_fd(), (&addr as *const libc::sockaddr_nl).cast(), len) };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(sock)
}

fn request(sock: &OwnedFd, message: &[u8]) -> io::Result<()> {
    // SAFETY: the buffer is live and its exact length is passed; with no
    // destination the message goes to the kernel.
    let sent = unsafe { libc::send(sock.as_raw_fd(), message.as_ptr().cast(), message.len(), 0) };
    if sent < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Reads replies until the end of a dump, or a single non-multipart reply,
/// handing each message's type and body to `each`.
fn read_replies(sock: &OwnedFd, mut each: impl FnMut(u16, &[u8])) -> io::Result<()> {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        // SAFETY: `buf` has room for its length for the duration of the call.
        let n = unsafe { libc::recv(sock.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
        if n < 0 {
            let err = io::Error::last_os_error();
            if err.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(err);
        }
        let mut rest = &buf[..n as usize];
        let mut multipart = false;
        while let Some((kind, flags, body, next)) = split_message(rest) {
            rest = next;
            multipart |= flags & 2 != 0; // NLM_F_MULTI
            match kind {
                NLMSG_DONE => return Ok(()),
                NLMSG_ERROR => {
                    let errno = u32_at(body, 0).unwrap_or(0) as i32;
                    if errno == 0 {
                        return Ok(());
                    }
                    return Err(io::Error::from_raw_os_error(errno.wrapping_neg()));
                }
                _ => each(kind, body),
            }
        }
        if !multipart {
            return Ok(());
        }
    }
}

/// `(type, flags, body, rest)` of the first message in `buf`.
fn split_message(buf: &[u8]) -> Option<(u16, u16, &[u8], &[u8])> {
    let len = u32_at(buf, 0)? as usize;
    if len < NLMSG_HDR_LEN || len > buf.len() {
        return None;
    }
    let kind = u16_at(buf, 4)?;
    let flags = u16_at(buf, 6)?;
    let next = (len + 3) & !3;
    Some((kind, flags, &buf[NLMSG_HDR_LEN..len], buf.get(next..).unwrap_or(&[])))
}

fn header(len: usize, kind: u16, flags: u16) -> Vec<u8> {
    let mut msg = Vec::with_capacity(len);
    msg.extend_from_slice(&(len as u32).to_ne_bytes());
    msg.extend_from_slice(&kind.to_ne_bytes());
    msg.extend_from_slice(&flags.to_ne_bytes());
    msg.extend_from_slice(&1u32.to_ne_bytes()); // sequence
    msg.extend_from_slice(&0u32.to_ne_bytes()); // port id: the kernel fills it in
    msg
}

fn link_request(ifindex: u32) -> Vec<u8> {
    let mut msg = header(NLMSG_HDR_LEN + IFINFOMSG_LEN, RTM_GETLINK, NLM_F_REQUEST);
    msg.extend_from_slice(&[libc::AF_UNSPEC as u8, 0, 0, 0]); // family, pad, type
    msg.extend_from_slice(&ifindex.to_ne_bytes());
    msg.extend_from_slice(&[0; 8]); // flags, change
    msg
}

fn addr_dump_request() -> Vec<u8> {
    let mut msg = header(NLMSG_HDR_LEN + IFADDRMSG_LEN, RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP);
    msg.extend_from_slice(&[libc::AF_UNSPEC as u8, 0, 0, 0]); // family, prefix, flags, scope
    msg.extend_from_slice(&0u32.to_ne_bytes()); // all interfaces: dumps ignore the index
    msg
}

fn parse_link_mac(body: &[u8]) -> Option<[u8; 6]> {
    Attributes(body.get(IFINFOMSG_LEN..)?)
        .find(|(kind, _)| *kind == IFLA_ADDRESS)
        .and_then(|(_, value)| value.try_into().ok())
}

/// `(ifindex, address)` of an address message; `None` for addresses not
/// usable as a destination yet (tentative) or ever (DAD failed).
fn parse_addr(body: &[u8]) -> Option<(u32, InterfaceAddr)> {
    let family = *body.first()?;
    let prefix_len = *body.get(1)?;
    let mut flags = u32::from(*body.get(2)?);
    let index = u32_at(body, 4)?;
    let (mut local, mut address, mut broadcast) = (None, None, None);
    for (kind, value) in Attributes(body.get(IFADDRMSG_LEN..)?) {
        let ip = match (i32::from(family), value.len()) {
            (libc::AF_INET, 4) => Some(IpAddr::V4(Ipv4Addr::from(<[u8; 4]>::try_from(value).ok()?))),
            (libc::AF_INET6, 16) => Some(IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(value).ok()?))),
            _ => None,
        };
        match kind {
            IFA_LOCAL => local = ip,
            IFA_ADDRESS => address = ip,
            IFA_BROADCAST => broadcast = ip,
            IFA_FLAGS => flags = u32_at(value, 0).unwrap_or(flags),
            _ => {}
        }
    }
    if flags & (IFA_F_TENTATIVE | IFA_F_DADFAILED) != 0 {
        return None;
    }
    // On point-to-point links IFA_ADDRESS is the peer and IFA_LOCAL ours.
    let addr = local.or(address)?;
    let broadcast = match broadcast {
        Some(IpAddr::V4(b)) => Some(b),
        _ => None,
    };
    Some((index, InterfaceAddr { addr, prefix_len, broadcast }))
}

/// Route attributes (`struct rtattr` + value, 4-byte aligned), yielding
/// type and value; stops at the first malformed one. The doctor reads its
/// link replies with it too.
pub(crate) struct Attributes<'a>(pub(crate) &'a [u8]);

impl<'a> Iterator for Attributes<'a> {
    type Item = (u16, &'a [u8]);
    fn next(&mut self) -> Option<(u16, &'a [u8])> {
        let len = usize::from(u16_at(self.0, 0)?);
        let kind = u16_at(self.0, 2)? & NLA_TYPE_MASK;
        let value = self.0.get(4..len)?;
        let advance = len.checked_add(3)? & !3;
        self.0 = self.0.get(advance..).unwrap_or(&[]);
        Some((kind, value))
    }
}

pub(crate) fn u16_at(buf: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_ne_bytes(buf.get(at..at + 2)?.try_into().ok()?))
}

pub(crate) fn u32_at(buf: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(buf.get(at..at + 4)?.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attr(kind: u16, value: &[u8]) -> Vec<u8> {
        let mut a = Vec::new();
        a.extend_from_slice(&((4 + value.len()) as u16).to_ne_bytes());
        a.extend_from_slice(&kind.to_ne_bytes());
        a.extend_from_slice(value);
        while a.len() % 4 != 0 {
            a.push(0);
        }
        a
    }

    fn addr_body(family: i32, prefix: u8, flags: u8, index: u32, attrs: &[Vec<u8>]) -> Vec<u8> {
        let mut b = vec![family as u8, prefix, flags, 0];
        b.extend_from_slice(&index.to_ne_bytes());
        for a in attrs {
            b.extend_from_slice(a);
        }
        b
    }

    #[test]
    fn address_messages_are_parsed() {
        let body = addr_body(
            libc::AF_INET,
            24,
            0,
            7,
            &[
                attr(IFA_ADDRESS, &[198, 18, 0, 1]),
                attr(IFA_LOCAL, &[198, 18, 0, 1]),
                attr(IFA_BROADCAST, &[198, 18, 0, 255]),
            ],
        );
        let (index, a) = parse_addr(&body).unwrap();
        assert_eq!((index, a.addr, a.prefix_len), (7, "198.18.0.1".parse().unwrap(), 24));
        assert_eq!(a.broadcast, Some(Ipv4Addr::new(198, 18, 0, 255)));
        // Point-to-point: the local end is ours, the other the peer's.
        let body = addr_body(
            libc::AF_INET,
            32,
            0,
            7,
            &[attr(IFA_ADDRESS, &[198, 18, 0, 9]), attr(IFA_LOCAL, &[198, 18, 0, 1])],
        );
        assert_eq!(parse_addr(&body).unwrap().1.addr, "198.18.0.1".parse::<IpAddr>().unwrap());
        let v6: Ipv6Addr = "fd00::1".parse().unwrap();
        let body = addr_body(libc::AF_INET6, 64, 0, 7, &[attr(IFA_ADDRESS, &v6.octets())]);
        assert_eq!(parse_addr(&body).unwrap().1.addr, IpAddr::V6(v6));
        // Tentative, in the header byte or the 32-bit attribute: not ours yet.
        let body = addr_body(libc::AF_INET6, 64, IFA_F_TENTATIVE as u8, 7, &[attr(IFA_ADDRESS, &v6.octets())]);
        assert_eq!(parse_addr(&body), None);
        let body = addr_body(
            libc::AF_INET6,
            64,
            0,
            7,
            &[attr(IFA_ADDRESS, &v6.octets()), attr(IFA_FLAGS, &IFA_F_DADFAILED.to_ne_bytes())],
        );
        assert_eq!(parse_addr(&body), None);
        assert_eq!(parse_addr(&[2, 24]), None, "truncated input is no address, not a panic");
    }

    #[test]
    fn loopback_from_the_kernel() {
        // `lo` is ifindex 1 in every namespace; reading it needs no privilege.
        let state = interface_state(1).expect("lo");
        assert_eq!(state.mac, Some([0; 6]));
        assert!(
            state.addrs.iter().any(|a| a.addr == IpAddr::V4(Ipv4Addr::LOCALHOST) && a.prefix_len == 8),
            "{state:?}"
        );
        assert!(interface_state(u32::MAX >> 1).is_err(), "no such interface");
    }
}
