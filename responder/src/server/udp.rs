//! UDP workers: one blocking socket and thread each, all sharing the port.
//!
//! The kernel spreads queries over the sockets by flow hash (SO_REUSEPORT),
//! so workers share nothing and need no locks. Each answers in place in its
//! own buffer and allocates nothing per query.

use std::io;
use std::net::{Shutdown, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use socket2::SockRef;
use tracing::{debug, trace};

use super::datagram::{Exchange, Received};
use super::Session;
use crate::engine::Transport;

/// Room for the largest UDP payload, so no query is ever cut short; the
/// engine itself caps answers at the advertised EDNS size.
const MAX_UDP_MESSAGE: usize = u16::MAX as usize;

/// Pause after an unexpected receive error, so a persistent one (memory
/// pressure, say) cannot spin a core.
const ERROR_BACKOFF: Duration = Duration::from_millis(1);

/// Serves `socket` until `stop` is set and the worker is woken by [`wake`].
pub(super) fn serve(socket: &UdpSocket, session: &mut dyn Session, stop: &AtomicBool) {
    let mut buf = vec![0u8; MAX_UDP_MESSAGE];
    let mut exchange = Exchange::new();
    // The server address a capture records when the kernel gives no
    // destination; read once, not per query.
    let local = if session.captures() { socket.local_addr().ok() } else { None };
    loop {
        let received = exchange.receive(socket, &mut buf);
        if stop.load(Ordering::Acquire) {
            return;
        }
        match received {
            Ok(Received::Datagram(len)) => {
                if let (Some(local), Some(client)) = (local, exchange.peer_socket()) {
                    session.peer(client, SocketAddr::new(exchange.destination().unwrap_or(local.ip()), local.port()));
                }
                answer_one(socket, session, &mut exchange, &mut buf, len)
            }
            Ok(Received::Truncated) => {
                trace!("dropped a datagram larger than {MAX_UDP_MESSAGE} bytes")
            }
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => {
                debug!(%error, "UDP receive failed");
                std::thread::sleep(ERROR_BACKOFF);
            }
        }
    }
}

fn answer_one(socket: &UdpSocket, session: &mut dyn Session, exchange: &mut Exchange, buf: &mut [u8], len: usize) {
    let mut client = [0u8; 16];
    let client = exchange.peer_address(&mut client);
    let Some(answer_len) = session.answer(buf, len, Transport::Udp, client) else {
        return;
    };
    let Some(answer) = buf.get(..answer_len).filter(|answer| !answer.is_empty()) else {
        debug!(answer_len, "answerer returned an impossible length; nothing sent");
        return;
    };
    // Sends fail for reasons that concern one client only (no route, a
    // firewall, a full queue): drop that answer and carry on.
    if let Err(error) = exchange.reply(socket, answer) {
        trace!(%error, "UDP send failed");
    }
}

/// Wakes a worker blocked in [`serve`]. On Linux, shutting down the read
/// side of even an unconnected UDP socket wakes its sleepers and makes every
/// later receive return at once; the call itself reports ENOTCONN, which is
/// expected and ignored. This costs nothing while serving, unlike a receive
/// timeout that would wake idle workers over and over.
pub(super) fn wake(socket: &UdpSocket) {
    let _ = SockRef::from(socket).shutdown(Shutdown::Read);
}
