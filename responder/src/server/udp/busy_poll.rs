//! Busy polling (`SO_BUSY_POLL`, `SO_PREFER_BUSY_POLL`): a worker whose
//! queue is empty polls the NIC's receive queue itself for a while instead
//! of sleeping until an interrupt, trading a busy core for wake-up latency
//! and interrupt work. Off unless asked; Linux only lets CAP_NET_ADMIN
//! raise either option, so without it the server warns and goes on.

use std::io;
use std::mem;
use std::os::fd::{AsFd, AsRawFd};
use std::ptr;

/// Busy-polls for up to `usecs` microseconds per empty receive, and asks
/// the kernel to prefer that over interrupts while the socket is busy.
pub(in crate::server) fn enable_busy_poll(socket: &impl AsFd, usecs: u32) -> io::Result<()> {
    let usecs = libc::c_int::try_from(usecs).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    set(socket, libc::SO_BUSY_POLL, usecs)?;
    set(socket, libc::SO_PREFER_BUSY_POLL, 1)
}

fn set(socket: &impl AsFd, option: libc::c_int, value: libc::c_int) -> io::Result<()> {
    // SAFETY: the fd is open for the call; `value` outlives it and its
    // exact size is passed.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_fd().as_raw_fd(),
            libc::SOL_SOCKET,
            option,
            ptr::from_ref(&value).cast(),
            mem::size_of_val(&value) as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, UdpSocket};

    fn get(socket: &UdpSocket, option: libc::c_int) -> libc::c_int {
        let mut value: libc::c_int = -1;
        let mut len = mem::size_of_val(&value) as libc::socklen_t;
        // SAFETY: as in `set`, with `value` and `len` written by the kernel.
        let rc = unsafe {
            libc::getsockopt(socket.as_raw_fd(), libc::SOL_SOCKET, option, ptr::from_mut(&mut value).cast(), &mut len)
        };
        assert_eq!(rc, 0, "{}", io::Error::last_os_error());
        value
    }

    /// With CAP_NET_ADMIN (root here) both options are set; without it the
    /// kernel refuses with EPERM, which the server turns into a warning.
    #[test]
    fn sets_both_options_or_is_refused_for_want_of_the_capability() {
        let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        match enable_busy_poll(&socket, 50) {
            Ok(()) => {
                assert_eq!(get(&socket, libc::SO_BUSY_POLL), 50);
                assert_eq!(get(&socket, libc::SO_PREFER_BUSY_POLL), 1);
            }
            Err(error) => assert_eq!(error.kind(), io::ErrorKind::PermissionDenied, "{error}"),
        }
    }
}
