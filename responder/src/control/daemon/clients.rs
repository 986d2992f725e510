//! The clients of the control socket: each
//! connection on a thread of its own, a few at once, each with one time limit
//! for its whole request and one for its whole reply, so that an idle or
//! slow-dripping client delays nobody else and is cut off.
//!
//! Threads rather than a mio loop for the connections: a control request may
//! be a reload that takes seconds, blocking work that a loop would hand to a
//! thread anyway. The clients are few (an operator, a deploy script), so a
//! thread each, capped, costs little and keeps the handlers straight-line
//! code. (The metrics listener, open to every scraper and prober, is a loop:
//! see `http/`.) Only the accept loop waits in mio, so that
//! stopping wakes it at once.
//!
//! Over the cap a new connection gets a short busy reply and is closed at
//! once, rather than the oldest being closed: the connections already in
//! hand end within their limits anyway, so the cap frees itself, and a flood
//! of new connections cannot cut off a request half-way.

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::os::unix::net::{UnixListener, UnixStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token, Waker};

const LISTENER: Token = Token(0);
const WAKE: Token = Token(1);
/// Pause after a failed accept (out of descriptors, say) before trying again.
const ACCEPT_RETRY: Duration = Duration::from_millis(100);
/// After the reply, what the client sent past its request (a body, a second
/// request, the rest of an oversized head) is read and dropped for this long
/// at most, then the connection closes: closing over unread data would reset
/// it (TCP sends RST, a Unix socket reports ECONNRESET) and the client could
/// lose the reply.
const LINGER: Duration = Duration::from_secs(1);
const LINGER_BYTES: usize = 64 * 1024;

/// What one listener allows its clients.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Connections served at once; more are refused at once.
    pub connections: usize,
    /// From accept to the end of the request, however it trickles in.
    pub request: Duration,
    /// From the first byte of the reply to its last.
    pub reply: Duration,
}

/// A listening socket whose connections [`Clients`] serves.
pub trait Listener: AsRawFd + Send + 'static {
    type Stream: Stream;
    fn accept_stream(&self) -> io::Result<Self::Stream>;
    fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()>;
}

/// A connected socket whose reads and writes can time out.
pub trait Stream: Read + Write + Send + 'static {
    fn set_read_timeout(&self, limit: Option<Duration>) -> io::Result<()>;
    fn set_write_timeout(&self, limit: Option<Duration>) -> io::Result<()>;
    fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()>;
    fn shutdown_write(&self) -> io::Result<()>;
}

macro_rules! socket_impls {
    ($listener:ty, $stream:ty) => {
        impl Listener for $listener {
            type Stream = $stream;
            fn accept_stream(&self) -> io::Result<$stream> {
                self.accept().map(|(stream, _)| stream)
            }
            fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
                <$listener>::set_nonblocking(self, nonblocking)
            }
        }
        impl Stream for $stream {
            fn set_read_timeout(&self, limit: Option<Duration>) -> io::Result<()> {
                <$stream>::set_read_timeout(self, limit)
            }
            fn set_write_timeout(&self, limit: Option<Duration>) -> io::Result<()> {
                <$stream>::set_write_timeout(self, limit)
            }
            fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
                <$stream>::set_nonblocking(self, nonblocking)
            }
            fn shutdown_write(&self) -> io::Result<()> {
                <$stream>::shutdown(self, std::net::Shutdown::Write)
            }
        }
    };
}
socket_impls!(TcpListener, TcpStream);
socket_impls!(UnixListener, UnixStream);

/// One connection as its handler sees it: reads fail once the request's
/// time is up, writes once the reply's is. The limit is re-armed before
/// every call with the time left, so it bounds the whole, not each byte.
pub struct Client<S> {
    stream: S,
    request_by: Instant,
    reply_limit: Duration,
    reply_by: Option<Instant>,
}

impl<S: Stream> Client<S> {
    fn new(stream: S, limits: &Limits) -> Client<S> {
        Client { stream, request_by: Instant::now() + limits.request, reply_limit: limits.reply, reply_by: None }
    }
}

/// The time left before `by`, or the error that says it ran out.
fn left(by: Instant, what: &str) -> io::Result<Duration> {
    let left = by.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(io::Error::new(io::ErrorKind::TimedOut, format!("{what} took longer than allowed")));
    }
    Ok(left)
}

impl<S: Stream> Read for Client<S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.stream.set_read_timeout(Some(left(self.request_by, "the request")?))?;
        self.stream.read(buf)
    }
}

impl<S: Stream> Write for Client<S> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let by = *self.reply_by.get_or_insert_with(|| Instant::now() + self.reply_limit);
        self.stream.set_write_timeout(Some(left(by, "the reply")?))?;
        self.stream.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.stream.flush()
    }
}

/// The accept thread of one listener; dropping it stops accepting.
/// Connections in hand finish on their own threads, within their limits.
pub struct Clients {
    stop: Arc<AtomicBool>,
    waker: Waker,
    thread: Option<JoinHandle<()>>,
}

type Handler<S> = dyn Fn(&mut Client<S>) -> io::Result<()> + Send + Sync;

impl Clients {
    /// Serves `listener`'s connections with `handler`, each on its own
    /// thread named `name`. A connection over the cap is sent `busy` (as
    /// much of it as the socket takes at once) and closed.
    pub fn start<L: Listener>(
        name: &str,
        listener: L,
        limits: Limits,
        busy: &'static [u8],
        handler: impl Fn(&mut Client<L::Stream>) -> io::Result<()> + Send + Sync + 'static,
    ) -> io::Result<Clients> {
        listener.set_nonblocking(true)?;
        let poll = Poll::new()?;
        poll.registry().register(&mut SourceFd(&listener.as_raw_fd()), LISTENER, Interest::READABLE)?;
        let waker = Waker::new(poll.registry(), WAKE)?;
        let stop = Arc::new(AtomicBool::new(false));
        let server = Server {
            name: name.to_owned(),
            limits,
            busy,
            handler: Arc::new(handler),
            active: Arc::new(AtomicUsize::new(0)),
        };
        let thread_stop = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || server.accept_loop(&listener, poll, &thread_stop))?;
        Ok(Clients { stop, waker, thread: Some(thread) })
    }
}

impl Drop for Clients {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        match self.waker.wake() {
            Ok(()) => {
                if let Some(thread) = self.thread.take() {
                    let _ = thread.join();
                }
            }
            // Not joined: it would wait for the next client. It stops then.
            Err(e) => tracing::warn!("cannot wake an accept thread to stop it: {e}"),
        }
    }
}

struct Server<S> {
    name: String,
    limits: Limits,
    busy: &'static [u8],
    handler: Arc<Handler<S>>,
    /// Connections being served; only the accept thread adds to it.
    active: Arc<AtomicUsize>,
}

/// Gives a connection's place back when its thread ends, however it ends.
struct Slot(Arc<AtomicUsize>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl<S: Stream> Server<S> {
    fn accept_loop<L: Listener<Stream = S>>(&self, listener: &L, mut poll: Poll, stop: &AtomicBool) {
        let mut events = Events::with_capacity(4);
        while !stop.load(Ordering::Relaxed) {
            if let Err(e) = poll.poll(&mut events, None) {
                if e.kind() != io::ErrorKind::Interrupted {
                    tracing::warn!("{}: waiting for clients failed: {e}", self.name);
                    std::thread::sleep(ACCEPT_RETRY);
                }
                continue;
            }
            // Readiness is edge-triggered: take every pending connection.
            while !stop.load(Ordering::Relaxed) {
                match listener.accept_stream() {
                    Ok(stream) => self.admit(stream),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        tracing::warn!("{}: accept failed: {e}", self.name);
                        std::thread::sleep(ACCEPT_RETRY);
                    }
                }
            }
        }
    }

    fn admit(&self, stream: S) {
        if self.active.load(Ordering::Relaxed) >= self.limits.connections {
            tracing::debug!("{}: {} clients already, refusing another", self.name, self.limits.connections);
            // Never wait on a client that is not being served.
            let mut stream = stream;
            if stream.set_nonblocking(true).is_ok() {
                let _ = stream.write(self.busy);
            }
            return;
        }
        self.active.fetch_add(1, Ordering::Relaxed);
        let slot = Slot(Arc::clone(&self.active));
        let (handler, limits, name) = (Arc::clone(&self.handler), self.limits, self.name.clone());
        let spawned = std::thread::Builder::new().name(self.name.clone()).spawn(move || {
            let _slot = slot;
            let mut client = Client::new(stream, &limits);
            match client.stream.set_nonblocking(false).and_then(|()| handler(&mut client)) {
                Ok(()) => linger(&mut client.stream),
                Err(e) => tracing::debug!("{name} client: {e}"),
            }
        });
        if let Err(e) = spawned {
            tracing::warn!("{}: cannot start a thread for a client: {e}", self.name);
        }
    }
}

/// Ends the connection without resetting it: our side is closed first, then
/// whatever the client still sends is dropped until it closes too (a client
/// that has read its reply closes at once), within [`LINGER`] and
/// [`LINGER_BYTES`].
fn linger<S: Stream>(stream: &mut S) {
    if stream.shutdown_write().is_err() {
        return;
    }
    let by = Instant::now() + LINGER;
    let mut sink = [0u8; 4096];
    let mut dropped = 0;
    while dropped < LINGER_BYTES {
        let Ok(limit) = left(by, "lingering") else { return };
        if stream.set_read_timeout(Some(limit)).is_err() {
            return;
        }
        match stream.read(&mut sink) {
            Ok(0) | Err(_) => return,
            Ok(n) => dropped += n,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader};

    const LIMITS: Limits =
        Limits { connections: 2, request: Duration::from_millis(600), reply: Duration::from_millis(600) };

    /// Echoes one line, the way both real handlers read a request and reply.
    fn echo(listener: UnixListener) -> Clients {
        Clients::start("test-echo", listener, LIMITS, b"busy\n", |client| {
            let mut line = String::new();
            BufReader::new(&mut *client).read_line(&mut line)?;
            client.write_all(line.as_bytes())
        })
        .unwrap()
    }

    fn connect(path: &std::path::Path) -> UnixStream {
        let stream = UnixStream::connect(path).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        stream
    }

    fn reply(stream: &mut UnixStream) -> String {
        let mut text = String::new();
        let _ = stream.read_to_string(&mut text);
        text
    }

    #[test]
    fn over_the_cap_a_client_is_told_busy_and_served_once_a_place_frees() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s");
        let _clients = echo(UnixListener::bind(&path).unwrap());
        let idle: Vec<UnixStream> = (0..LIMITS.connections).map(|_| connect(&path)).collect();
        std::thread::sleep(Duration::from_millis(100)); // both admitted
        let mut over = connect(&path);
        assert_eq!(reply(&mut over), "busy\n");
        // The idle ones are cut at the request limit, which frees their places.
        std::thread::sleep(LIMITS.request + Duration::from_millis(200));
        let mut served = connect(&path);
        served.write_all(b"hello\n").unwrap();
        assert_eq!(reply(&mut served), "hello\n");
        drop(idle);
    }

    #[test]
    fn a_request_dripping_in_is_cut_off_at_the_limit_for_the_whole_request() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s");
        let _clients = echo(UnixListener::bind(&path).unwrap());
        let mut drip = connect(&path);
        let started = Instant::now();
        // A byte every third of the limit: each read is quick, the whole is not.
        let mut cut = false;
        while started.elapsed() < LIMITS.request * 3 {
            if drip.write_all(b"x").is_err() {
                cut = true;
                break;
            }
            std::thread::sleep(LIMITS.request / 3);
        }
        assert!(cut, "a client dripping its request was kept past the limit");
    }
}
