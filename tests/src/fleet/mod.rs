//! Servers on a fleet testbed ([`testkit::fleet`]: node namespaces joined
//! to one hub): knotd and responder, each in its node, configured from
//! Knot-named pieces (keys, remotes, ACLs, zones), queried from the hub as
//! a client would be. The multi-node tests (`tests/tests/fleet.rs`) build
//! their topologies from these.

pub mod knot_node;
pub mod responder_node;

use std::net::SocketAddr;

use crate::dns::{self, Question, Reply, Transport};
use crate::netns::in_netns;

pub use crate::daemon::wait_for;
pub use testkit::fleet::{Fleet, Node};

/// A UDP query to `server` sent from namespace `ns`.
pub fn ask_in(ns: &str, server: SocketAddr, name: &str, qtype: u16) -> Result<Reply, String> {
    in_netns(ns, || dns::ask(server, Transport::Udp, &Question::new(name, qtype)))?
}

/// A UDP socket bound to `addr` in namespace `ns`, with a receive buffer
/// of 4 MiB (forced: root passes `net.core.rmem_max`), so that a load's
/// replies are not dropped on the client's side when its reader is
/// descheduled for a moment on a busy host: a load test counts the server's
/// losses, not the client's.
pub fn roomy_udp_socket(ns: &str, addr: SocketAddr) -> Result<std::net::UdpSocket, String> {
    use std::os::fd::AsRawFd;
    in_netns(ns, || {
        let socket = std::net::UdpSocket::bind(addr).map_err(|e| format!("bind {addr} in {ns}: {e}"))?;
        let size: libc::c_int = 4 << 20;
        // SAFETY: setsockopt(2) on a socket we own, with a pointer to a live
        // c_int and its exact length.
        let rc = unsafe {
            libc::setsockopt(
                socket.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_RCVBUFFORCE,
                (&size as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        if rc != 0 {
            return Err(format!("SO_RCVBUFFORCE: {}", std::io::Error::last_os_error()));
        }
        Ok(socket)
    })?
}
