//! UDP workers: one blocking socket and thread each, all sharing the port.
//!
//! The kernel spreads queries over the sockets (SO_REUSEPORT): by the CPU
//! that received them when each worker has a CPU of its own (`steering.rs`),
//! else by flow hash. Either way workers share nothing and need no locks. Each wake-up reads a batch
//! of datagrams in one system call, starts the table lookups of all of
//! them (the XDP worker's prefetch), answers each in place in its own slot
//! and sends the answers in one more call, in the order received. Nothing
//! is allocated per query.

mod batch_io;
mod busy_poll;
mod datagram;
mod steering;

use std::io;
use std::net::{Shutdown, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use socket2::SockRef;
use tracing::{debug, trace};

use self::batch_io::{Batch, BATCH};
pub(super) use self::busy_poll::enable_busy_poll;
pub(super) use self::datagram::enable_destination_info;
pub(super) use self::steering::{attach as attach_steering, choose as choose_steering, pin};
use super::Session;
use crate::engine::Transport;

/// Room for the largest UDP payload, so no query is ever cut short; the
/// engine itself caps answers at the advertised EDNS size. Slots are
/// allocated zeroed and untouched pages cost no memory, so a batch of
/// them costs what the largest datagrams seen actually use.
const MAX_UDP_MESSAGE: usize = u16::MAX as usize;

/// Pause after an unexpected receive error, so a persistent one (memory
/// pressure, say) cannot spin a core.
const ERROR_BACKOFF: Duration = Duration::from_millis(1);

/// Serves `socket` until `stop` is set and the worker is woken by [`wake`].
pub(super) fn serve(socket: &UdpSocket, session: &mut dyn Session, stop: &AtomicBool) {
    let mut batch = Batch::new(MAX_UDP_MESSAGE);
    // The server address a capture records when the kernel gives no
    // destination; read once, not per query.
    let local = if session.captures() { socket.local_addr().ok() } else { None };
    loop {
        let received = batch.receive(socket);
        if stop.load(Ordering::Acquire) {
            return;
        }
        match received {
            Ok(count) => {
                answer_batch(&mut batch, count, session, local);
                batch.send(socket);
            }
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => {
                debug!(%error, "UDP receive failed");
                std::thread::sleep(ERROR_BACKOFF);
            }
        }
    }
}

/// Answers the `count` datagrams of `batch` in place and queues the answers.
fn answer_batch(batch: &mut Batch, count: usize, session: &mut dyn Session, local: Option<SocketAddr>) {
    let count = count.min(BATCH);
    for query in (0..count).filter_map(|i| batch.query(i)) {
        session.prefetch(query);
    }
    session.prefetched();
    for i in 0..count {
        let Some(slot) = batch.slot(i) else {
            trace!("dropped a datagram larger than {MAX_UDP_MESSAGE} bytes");
            continue;
        };
        if let (Some(local), Some(client)) = (local, slot.exchange.peer_socket()) {
            let server = slot.exchange.destination().unwrap_or(local.ip());
            session.peer(client, SocketAddr::new(server, local.port()));
        }
        let mut client = [0u8; 16];
        let client = slot.exchange.peer_address(&mut client);
        let Some(answer_len) = session.answer(slot.buf, slot.len, Transport::Udp, client) else {
            continue;
        };
        // Sends fail for reasons that concern one client only (no route, a
        // firewall, a full queue): `send` drops that answer and goes on.
        if !batch.queue_reply(i, answer_len) {
            debug!(answer_len, "answerer returned an impossible length; nothing sent");
        }
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
