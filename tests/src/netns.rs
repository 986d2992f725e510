//! Running code inside a testbed's network namespace from the test process.
//!
//! On Linux the network namespace belongs to each thread, not the process:
//! a fresh thread that `setns()`es into a namespace sees only that
//! namespace's interfaces, and the sockets it creates (and the processes it
//! spawns) stay there. The caller's own thread is never moved, so a failing
//! closure cannot leave the test runner in the wrong namespace.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::Path;
use std::thread;

/// Where `ip netns add` keeps its namespace handles.
const NETNS_DIR: &str = "/var/run/netns";

/// Runs `f` on a new thread inside namespace `ns` (a name `ip netns` knows)
/// and returns its result. A panic in `f` (a failed assertion) is passed on
/// to the caller unchanged, so test failures keep their message.
pub fn in_netns<R: Send>(ns: &str, f: impl FnOnce() -> R + Send) -> Result<R, String> {
    let path = Path::new(NETNS_DIR).join(ns);
    let handle = File::open(&path).map_err(|e| format!("cannot open namespace {}: {e}", path.display()))?;
    thread::scope(|scope| {
        let worker = scope.spawn(move || {
            // SAFETY: setns(2) on a descriptor we hold open for the call; with
            // CLONE_NEWNET it changes only this thread's network namespace,
            // which is ours alone and ends with the closure.
            if unsafe { libc::setns(handle.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
                return Err(format!("cannot enter namespace {ns}: {}", std::io::Error::last_os_error()));
            }
            Ok(f())
        });
        worker.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testbed::{privileged, Testbed, CLIENT_V4, SERVER_V4};
    use std::net::{SocketAddr, UdpSocket};

    #[test]
    fn a_missing_namespace_is_an_error() {
        let err = in_netns("rsp-no-such-namespace", || ()).expect_err("namespace does not exist");
        assert!(err.contains("rsp-no-such-namespace"), "{err}");
    }

    #[test]
    fn sockets_made_inside_live_in_the_namespace() {
        if !privileged("sockets_made_inside_live_in_the_namespace") {
            return;
        }
        let bed = Testbed::create("netns", 1).expect("testbed");
        // The testbed's addresses exist only inside its namespaces: binding
        // succeeds there and fails in ours.
        let server = in_netns(&bed.server_ns, || UdpSocket::bind((SERVER_V4, 0))).unwrap().expect("bind in server ns");
        assert!(UdpSocket::bind((SERVER_V4, 0)).is_err(), "the test process must stay in its own namespace");
        let to: SocketAddr = server.local_addr().unwrap();
        in_netns(&bed.client_ns, || {
            let client = UdpSocket::bind((CLIENT_V4, 0)).expect("bind in client ns");
            client.send_to(b"hello", to).expect("send across the veth");
        })
        .unwrap();
        server.set_read_timeout(Some(std::time::Duration::from_secs(2))).unwrap();
        let mut buf = [0u8; 16];
        let (n, from) = server.recv_from(&mut buf).expect("datagram from the client namespace");
        assert_eq!((&buf[..n], from.ip()), (&b"hello"[..], std::net::IpAddr::V4(CLIENT_V4)));
    }
}
