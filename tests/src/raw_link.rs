//! Raw Ethernet frames in and out of one interface (an `AF_PACKET` socket),
//! for tests that must send what no socket API would (a query to a
//! broadcast address from a martian source) and see every frame that comes
//! back, whatever its addresses. Open it inside the interface's namespace.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::{Duration, Instant};

pub struct RawLink {
    sock: OwnedFd,
}

impl RawLink {
    pub fn open(ifname: &str) -> io::Result<RawLink> {
        let name = std::ffi::CString::new(ifname).map_err(|_| io::Error::other("NUL in interface name"))?;
        // SAFETY: `name` is a valid NUL-terminated string for the call.
        let index = unsafe { libc::if_nametoindex(name.as_ptr()) };
        if index == 0 {
            return Err(io::Error::last_os_error());
        }
        let all = (libc::ETH_P_ALL as u16).to_be();
        // SAFETY: plain socket creation; the result is checked.
        let raw = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, i32::from(all)) };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `raw` is a fresh descriptor nothing else owns.
        let sock = unsafe { OwnedFd::from_raw_fd(raw) };
        // SAFETY: sockaddr_ll is plain data; all-zero is a valid value.
        let mut addr: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        addr.sll_family = libc::AF_PACKET as u16;
        addr.sll_protocol = all;
        addr.sll_ifindex = index as i32;
        let len = std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t;
        // SAFETY: `addr` is a valid sockaddr_ll of `len` bytes for the call.
        if unsafe { libc::bind(sock.as_raw_fd(), (&addr as *const libc::sockaddr_ll).cast(), len) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(RawLink { sock })
    }

    pub fn send(&self, frame: &[u8]) -> io::Result<()> {
        // SAFETY: the buffer is live and its exact length is passed.
        let sent = unsafe { libc::send(self.sock.as_raw_fd(), frame.as_ptr().cast(), frame.len(), 0) };
        if sent < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Every frame received (ours going out included) until `deadline`, or
    /// until `enough` says the frames so far suffice.
    pub fn collect_until(&self, deadline: Instant, enough: impl Fn(&[Vec<u8>]) -> bool) -> io::Result<Vec<Vec<u8>>> {
        let mut frames = Vec::new();
        let mut buf = vec![0u8; 65536];
        while !enough(&frames) {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            let mut poll = libc::pollfd { fd: self.sock.as_raw_fd(), events: libc::POLLIN, revents: 0 };
            let millis = left.as_millis().clamp(1, 1000) as i32;
            // SAFETY: one valid pollfd for the duration of the call.
            if unsafe { libc::poll(&mut poll, 1, millis) } <= 0 {
                continue;
            }
            // SAFETY: `buf` has room for its length for the duration of the call.
            let n =
                unsafe { libc::recv(self.sock.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), libc::MSG_DONTWAIT) };
            if n > 0 {
                frames.push(buf[..n as usize].to_vec());
            }
        }
        Ok(frames)
    }

    /// Every frame received for `wait`.
    pub fn collect_for(&self, wait: Duration) -> io::Result<Vec<Vec<u8>>> {
        self.collect_until(Instant::now() + wait, |_| false)
    }
}
