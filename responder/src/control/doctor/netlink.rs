//! One `RTM_GETLINK` request: the kernel's own view of an interface (flags,
//! MTU and its maximum, queue counts, and which XDP program is attached in
//! which mode). Unprivileged, so the doctor can tell an operator about an
//! attached program even before it has root.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use crate::xdp::netlink::{u16_at, u32_at, Attributes};

// From <linux/rtnetlink.h>, <linux/if_link.h>, <linux/netlink.h>; the libc
// crate lacks some of them on some targets, so they are spelled out here.
const RTM_NEWLINK: u16 = 16;
const RTM_GETLINK: u16 = 18;
const NLMSG_ERROR: u16 = 2;
const NLM_F_REQUEST: u16 = 1;
const IFLA_MTU: u16 = 4;
const IFLA_OPERSTATE: u16 = 16;
const IFLA_NUM_TX_QUEUES: u16 = 31;
const IFLA_NUM_RX_QUEUES: u16 = 32;
const IFLA_CARRIER: u16 = 33;
const IFLA_XDP: u16 = 43;
const IFLA_MAX_MTU: u16 = 51;
const IFLA_XDP_ATTACHED: u16 = 2;
const IFLA_XDP_PROG_ID: u16 = 4;

const NLMSG_HDR_LEN: usize = 16;
const IFINFOMSG_LEN: usize = 16;

/// How an XDP program is attached (`XDP_ATTACHED_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum XdpAttachMode {
    Native,
    Generic,
    Offloaded,
    /// Programs in more than one mode at once.
    Multiple,
}

impl XdpAttachMode {
    pub fn name(self) -> &'static str {
        match self {
            XdpAttachMode::Native => "native",
            XdpAttachMode::Generic => "generic",
            XdpAttachMode::Offloaded => "offloaded",
            XdpAttachMode::Multiple => "multiple modes",
        }
    }
}

/// An XDP program found on the interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttachedXdp {
    pub mode: XdpAttachMode,
    /// The kernel's program id (`bpftool prog show id N`); 0 when the kernel
    /// reports several programs and no single id.
    pub program_id: u32,
}

/// The parts of the link message the doctor uses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LinkInfo {
    /// `IFF_*` flags.
    pub flags: u32,
    pub mtu: Option<u32>,
    /// The largest MTU the driver accepts (without XDP).
    pub max_mtu: Option<u32>,
    /// RFC 2863 state (`IF_OPER_*`): 6 is up.
    pub operstate: Option<u8>,
    pub carrier: Option<bool>,
    pub rx_queues: Option<u32>,
    pub tx_queues: Option<u32>,
    pub xdp: Option<AttachedXdp>,
}

impl LinkInfo {
    pub fn is_up(&self) -> bool {
        self.flags & libc::IFF_UP as u32 != 0
    }

    pub fn operstate_name(&self) -> &'static str {
        match self.operstate {
            Some(0) | None => "unknown",
            Some(1) => "notpresent",
            Some(2) => "down",
            Some(3) => "lowerlayerdown",
            Some(4) => "testing",
            Some(5) => "dormant",
            Some(6) => "up",
            Some(_) => "other",
        }
    }
}

/// Asks the kernel about interface `ifindex` in this network namespace.
pub fn link_info(ifindex: u32) -> io::Result<LinkInfo> {
    let index = i32::try_from(ifindex).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "ifindex too large"))?;
    // SAFETY: plain socket creation; the result is checked.
    let raw = unsafe { libc::socket(libc::AF_NETLINK, libc::SOCK_RAW | libc::SOCK_CLOEXEC, libc::NETLINK_ROUTE) };
    if raw < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `raw` is a fresh descriptor nothing else owns.
    let sock = unsafe { OwnedFd::from_raw_fd(raw) };

    let request = request(index);
    // SAFETY: the buffer is live and its exact length is passed; a null
    // destination sends to the kernel, the socket's default peer.
    let sent = unsafe { libc::send(sock.as_raw_fd(), request.as_ptr().cast(), request.len(), 0) };
    if sent < 0 {
        return Err(io::Error::last_os_error());
    }
    // A link message without statistics is a few KiB; 64 KiB leaves room for
    // drivers with many attributes. MSG_TRUNC reports the real size if not.
    let mut buf = vec![0u8; 64 * 1024];
    // SAFETY: `buf` has room for `buf.len()` bytes for the duration of the call.
    let n = unsafe { libc::recv(sock.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), libc::MSG_TRUNC) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    let n = n as usize;
    if n > buf.len() {
        return Err(io::Error::other(format!("link message of {n} bytes does not fit the buffer")));
    }
    parse_reply(&buf[..n])
}

fn request(index: i32) -> Vec<u8> {
    let len = (NLMSG_HDR_LEN + IFINFOMSG_LEN) as u32;
    let mut msg = Vec::with_capacity(len as usize);
    msg.extend_from_slice(&len.to_ne_bytes());
    msg.extend_from_slice(&RTM_GETLINK.to_ne_bytes());
    msg.extend_from_slice(&NLM_F_REQUEST.to_ne_bytes());
    msg.extend_from_slice(&1u32.to_ne_bytes()); // sequence
    msg.extend_from_slice(&0u32.to_ne_bytes()); // port id: the kernel fills it in
    msg.push(libc::AF_UNSPEC as u8); // ifi_family
    msg.push(0); // padding
    msg.extend_from_slice(&0u16.to_ne_bytes()); // ifi_type
    msg.extend_from_slice(&index.to_ne_bytes());
    msg.extend_from_slice(&0u32.to_ne_bytes()); // ifi_flags
    msg.extend_from_slice(&0u32.to_ne_bytes()); // ifi_change
    msg
}

fn parse_reply(buf: &[u8]) -> io::Result<LinkInfo> {
    let bad = |what: &str| io::Error::new(io::ErrorKind::InvalidData, format!("netlink reply: {what}"));
    let len = u32_at(buf, 0).ok_or_else(|| bad("short header"))? as usize;
    let kind = u16_at(buf, 4).ok_or_else(|| bad("short header"))?;
    let body = buf.get(NLMSG_HDR_LEN..len.min(buf.len())).ok_or_else(|| bad("length out of range"))?;
    match kind {
        NLMSG_ERROR => {
            // A negative errno; 0 would be an acknowledgement, never sent for a GET.
            let errno = u32_at(body, 0).ok_or_else(|| bad("short error"))? as i32;
            Err(io::Error::from_raw_os_error(errno.wrapping_neg()))
        }
        RTM_NEWLINK => {
            let flags = u32_at(body, 8).ok_or_else(|| bad("short ifinfomsg"))?;
            let attrs = body.get(IFINFOMSG_LEN..).ok_or_else(|| bad("short ifinfomsg"))?;
            let mut info = LinkInfo { flags, ..LinkInfo::default() };
            for (kind, value) in Attributes(attrs) {
                match kind {
                    IFLA_MTU => info.mtu = u32_at(value, 0),
                    IFLA_MAX_MTU => info.max_mtu = u32_at(value, 0),
                    IFLA_OPERSTATE => info.operstate = value.first().copied(),
                    IFLA_CARRIER => info.carrier = value.first().map(|&c| c != 0),
                    IFLA_NUM_RX_QUEUES => info.rx_queues = u32_at(value, 0),
                    IFLA_NUM_TX_QUEUES => info.tx_queues = u32_at(value, 0),
                    IFLA_XDP => info.xdp = parse_xdp(value),
                    _ => {}
                }
            }
            Ok(info)
        }
        other => Err(bad(&format!("unexpected message type {other}"))),
    }
}

fn parse_xdp(nested: &[u8]) -> Option<AttachedXdp> {
    let mut mode = None;
    let mut program_id = 0;
    for (kind, value) in Attributes(nested) {
        match kind {
            IFLA_XDP_ATTACHED => {
                mode = match value.first().copied()? {
                    1 => Some(XdpAttachMode::Native),
                    2 => Some(XdpAttachMode::Generic),
                    3 => Some(XdpAttachMode::Offloaded),
                    4 => Some(XdpAttachMode::Multiple),
                    _ => None,
                }
            }
            IFLA_XDP_PROG_ID => program_id = u32_at(value, 0).unwrap_or(0),
            _ => {}
        }
    }
    mode.map(|mode| AttachedXdp { mode, program_id })
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

    fn message(kind: u16, body: &[u8]) -> Vec<u8> {
        let mut m = Vec::new();
        m.extend_from_slice(&((NLMSG_HDR_LEN + body.len()) as u32).to_ne_bytes());
        m.extend_from_slice(&kind.to_ne_bytes());
        m.extend_from_slice(&[0; 10]);
        m.extend_from_slice(body);
        m
    }

    #[test]
    fn link_message_is_parsed() {
        let mut body = vec![0u8; IFINFOMSG_LEN];
        body[8..12].copy_from_slice(&(libc::IFF_UP as u32).to_ne_bytes());
        body.extend(attr(IFLA_MTU, &1500u32.to_ne_bytes()));
        body.extend(attr(IFLA_OPERSTATE, &[6]));
        body.extend(attr(IFLA_NUM_RX_QUEUES, &4u32.to_ne_bytes()));
        let mut xdp = attr(IFLA_XDP_ATTACHED, &[1]);
        xdp.extend(attr(IFLA_XDP_PROG_ID, &42u32.to_ne_bytes()));
        // Nested attributes carry the NLA_F_NESTED bit in their type.
        body.extend(attr(IFLA_XDP | 1 << 15, &xdp));
        let info = parse_reply(&message(RTM_NEWLINK, &body)).unwrap();
        assert!(info.is_up());
        assert_eq!((info.mtu, info.rx_queues, info.max_mtu), (Some(1500), Some(4), None));
        assert_eq!(info.operstate_name(), "up");
        assert_eq!(info.xdp, Some(AttachedXdp { mode: XdpAttachMode::Native, program_id: 42 }));
    }

    #[test]
    fn no_program_and_errors() {
        let mut body = vec![0u8; IFINFOMSG_LEN];
        body.extend(attr(IFLA_XDP, &attr(IFLA_XDP_ATTACHED, &[0])));
        assert_eq!(parse_reply(&message(RTM_NEWLINK, &body)).unwrap().xdp, None);
        let err = parse_reply(&message(NLMSG_ERROR, &(-libc::ENODEV).to_ne_bytes())).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::ENODEV));
        assert!(parse_reply(&[1, 2, 3]).is_err(), "truncated input is an error, not a panic");
        // An attribute claiming more bytes than there are ends the walk.
        let mut body = vec![0u8; IFINFOMSG_LEN];
        body.extend_from_slice(&[200, 0, 4, 0, 1, 2]);
        assert_eq!(parse_reply(&message(RTM_NEWLINK, &body)).unwrap().mtu, None);
    }

    #[test]
    fn loopback_from_the_kernel() {
        // `lo` is ifindex 1 in every namespace and needs no privilege to ask about.
        let info = link_info(1).expect("RTM_GETLINK for lo");
        assert!(info.mtu.is_some_and(|m| m >= 1280), "{info:?}");
        assert!(info.rx_queues.is_some_and(|q| q >= 1), "{info:?}");
        assert_eq!(link_info(u32::MAX >> 1).unwrap_err().raw_os_error(), Some(libc::ENODEV));
    }
}
