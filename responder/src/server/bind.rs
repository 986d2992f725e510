//! Socket set-up: every socket of every listen address is bound before any
//! thread starts, so a bad address fails `Server::start` cleanly.

use std::io;
use std::net::{SocketAddr, TcpListener, UdpSocket};

use socket2::{Domain, Protocol, Socket, Type};

/// Pending connections the kernel may queue while the event loop is busy.
const LISTEN_BACKLOG: i32 = 1024;

/// Attempts at finding a port free for both UDP and TCP when asked for port 0.
const EPHEMERAL_PORT_ATTEMPTS: usize = 32;

/// The sockets serving one listen address.
pub(super) struct Bound {
    /// The address as bound (the port filled in if 0 was asked for).
    pub local: SocketAddr,
    /// Blocking, one per UDP worker, sharing the port via `SO_REUSEPORT`.
    pub udp: Vec<UdpSocket>,
    /// Non-blocking, for the TCP event loop.
    pub tcp: TcpListener,
}

/// Binds `udp_workers` UDP sockets and one TCP listener on `addr`; with
/// `share_port` the listener accepts another instance beside it.
pub(super) fn bind(addr: SocketAddr, udp_workers: usize, share_port: bool) -> io::Result<Bound> {
    if addr.port() != 0 {
        return bind_port(addr, udp_workers, share_port);
    }
    // The kernel picks UDP and TCP ports independently; retry until the
    // UDP port it picked is also free for TCP.
    let mut last_error = None;
    for _ in 0..EPHEMERAL_PORT_ATTEMPTS {
        let first = bind_udp(addr)?;
        let local = first.local_addr()?;
        match bind_tcp(local, share_port) {
            Ok(tcp) => {
                let mut udp = Vec::with_capacity(udp_workers);
                udp.push(first);
                for _ in 1..udp_workers {
                    udp.push(bind_udp(local)?);
                }
                return Ok(Bound { local, udp, tcp });
            }
            Err(error) if error.kind() == io::ErrorKind::AddrInUse => last_error = Some(error),
            Err(error) => return Err(error),
        }
    }
    Err(last_error.unwrap_or_else(|| io::Error::other(format!("no free port on {addr}"))))
}

fn bind_port(addr: SocketAddr, udp_workers: usize, share_port: bool) -> io::Result<Bound> {
    let udp = (0..udp_workers).map(|_| bind_udp(addr)).collect::<io::Result<Vec<_>>>()?;
    let tcp = bind_tcp(addr, share_port)?;
    Ok(Bound { local: addr, udp, tcp })
}

fn bind_udp(addr: SocketAddr) -> io::Result<UdpSocket> {
    let socket = new_socket(addr, Type::DGRAM, Protocol::UDP).map_err(|e| context(e, "UDP", addr))?;
    // Workers share the port and the kernel spreads flows across them.
    socket.set_reuse_port(true).map_err(|e| context(e, "UDP", addr))?;
    super::udp::enable_destination_info(&socket, addr.is_ipv6()).map_err(|e| context(e, "UDP", addr))?;
    socket.bind(&addr.into()).map_err(|e| context(e, "UDP", addr))?;
    Ok(socket.into())
}

fn bind_tcp(addr: SocketAddr, share_port: bool) -> io::Result<TcpListener> {
    let socket = new_socket(addr, Type::STREAM, Protocol::TCP).map_err(|e| context(e, "TCP", addr))?;
    // Restarting must not wait for old connections' TIME_WAIT to expire.
    // No SO_REUSEPORT unless asked: a second server on the port is usually
    // an error we want. Asked (a primary and its standby, both root), the
    // kernel still prefers the listener bound to the exact address.
    socket.set_reuse_address(true).map_err(|e| context(e, "TCP", addr))?;
    if share_port {
        socket.set_reuse_port(true).map_err(|e| context(e, "TCP", addr))?;
    }
    socket.bind(&addr.into()).map_err(|e| context(e, "TCP", addr))?;
    socket.listen(LISTEN_BACKLOG).map_err(|e| context(e, "TCP", addr))?;
    socket.set_nonblocking(true).map_err(|e| context(e, "TCP", addr))?;
    Ok(socket.into())
}

fn new_socket(addr: SocketAddr, kind: Type, protocol: Protocol) -> io::Result<Socket> {
    let socket = Socket::new(Domain::for_address(addr), kind, Some(protocol))?;
    if addr.is_ipv6() {
        // So `[::]` and `0.0.0.0` can both be listened on, as separate entries.
        socket.set_only_v6(true)?;
    }
    Ok(socket)
}

/// Names the protocol and address in the error, with a hint for the usual
/// cause of each failure, keeping the kind for callers that match on it.
fn context(error: io::Error, protocol: &str, addr: SocketAddr) -> io::Error {
    let hint = match error.kind() {
        io::ErrorKind::PermissionDenied if addr.port() < 1024 => {
            " (ports below 1024 need root or CAP_NET_BIND_SERVICE)"
        }
        io::ErrorKind::AddrInUse => " (another process is listening there)",
        io::ErrorKind::AddrNotAvailable => " (no interface has this address)",
        _ => "",
    };
    io::Error::new(error.kind(), format!("cannot listen on {protocol} {addr}: {error}{hint}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_zero_gives_udp_and_tcp_the_same_port() {
        let bound = bind("127.0.0.1:0".parse().unwrap(), 3, false).unwrap();
        assert_ne!(bound.local.port(), 0);
        assert_eq!(bound.udp.len(), 3);
        for socket in &bound.udp {
            assert_eq!(socket.local_addr().unwrap(), bound.local);
        }
        assert_eq!(bound.tcp.local_addr().unwrap(), bound.local);
    }

    #[test]
    fn ipv6_wildcard_coexists_with_ipv4_wildcard_on_one_port() {
        let v4 = bind("0.0.0.0:0".parse().unwrap(), 1, false).unwrap();
        let v6 = bind(SocketAddr::new("::".parse().unwrap(), v4.local.port()), 1, false).unwrap();
        assert_eq!(v6.local.port(), v4.local.port());
    }

    #[test]
    fn address_in_use_error_names_protocol_and_address() {
        let taken = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = taken.local_addr().unwrap();
        let error = bind(addr, 1, false).err().expect("port is taken");
        assert_eq!(error.kind(), io::ErrorKind::AddrInUse);
        assert!(error.to_string().contains(&format!("TCP {addr}")), "{error}");
    }

    #[test]
    fn a_shared_port_takes_a_standby_on_the_exact_address_beside_a_wildcard() {
        let wildcard = bind("0.0.0.0:0".parse().unwrap(), 1, true).unwrap();
        let exact = SocketAddr::new("127.0.0.1".parse().unwrap(), wildcard.local.port());
        let standby = bind(exact, 1, true).unwrap();
        assert_eq!(standby.local, exact);
        // Without sharing, the wildcard's TCP listener keeps the port to itself.
        let alone = bind("0.0.0.0:0".parse().unwrap(), 1, false).unwrap();
        let error = bind(SocketAddr::new(exact.ip(), alone.local.port()), 1, true).err().expect("refused");
        assert_eq!(error.kind(), io::ErrorKind::AddrInUse);
    }
}
