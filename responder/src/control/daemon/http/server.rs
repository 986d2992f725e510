//! The loop: accept, drive each connection on its readiness events, close
//! the ones past their deadline, make room at the cap.

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use mio::net::TcpListener;
use mio::{Events, Interest, Poll, Token, Waker};

use super::connection::{Connection, Progress};
use super::request::{Method, Request};

const LISTENER: Token = Token(0);
const WAKE: Token = Token(1);
const FIRST_CLIENT: usize = 2;
/// Pause after a failed accept (out of descriptors, say) before trying again.
const ACCEPT_RETRY: Duration = Duration::from_millis(100);

/// What the listener allows its clients.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Connections held at once; at the cap the oldest one still waiting
    /// for its request is closed for a new one.
    pub connections: usize,
    /// From accept to the end of the request head, however it trickles in.
    pub request: Duration,
    /// From the request to the last byte of the reply.
    pub reply: Duration,
}

/// A reply; `Connection: close` always (one request per connection, which
/// every scraper and health checker handles).
pub struct Response {
    pub status: &'static str,
    pub content_type: &'static str,
    pub extra_headers: &'static str,
    pub body: String,
}

impl Response {
    pub fn text(status: &'static str, body: impl Into<String>) -> Response {
        Response { status, content_type: "text/plain; charset=utf-8", extra_headers: "", body: body.into() }
    }

    fn into_bytes(self, head_only: bool) -> Vec<u8> {
        let mut reply = format!(
            "HTTP/1.1 {}\r\nContent-Type: {}\r\nContent-Length: {}\r\n{}Connection: close\r\n\r\n",
            self.status,
            self.content_type,
            self.body.len(),
            self.extra_headers
        )
        .into_bytes();
        if !head_only {
            reply.extend_from_slice(self.body.as_bytes());
        }
        reply
    }
}

type Handler = dyn FnMut(&Request) -> Response + Send;

/// The loop's thread; dropping it stops the loop and closes every connection.
pub struct HttpServer {
    pub local_addr: SocketAddr,
    stop: Arc<AtomicBool>,
    waker: Waker,
    thread: Option<JoinHandle<()>>,
}

impl HttpServer {
    /// Listens on `addr` and answers each request with `handler`, which runs
    /// on the loop's thread and so must not wait for anything.
    pub fn start(
        name: &str,
        addr: SocketAddr,
        limits: Limits,
        handler: impl FnMut(&Request) -> Response + Send + 'static,
    ) -> io::Result<HttpServer> {
        let mut listener = TcpListener::bind(addr)?;
        let local_addr = listener.local_addr()?;
        let poll = Poll::new()?;
        poll.registry().register(&mut listener, LISTENER, Interest::READABLE)?;
        let waker = Waker::new(poll.registry(), WAKE)?;
        let stop = Arc::new(AtomicBool::new(false));
        let mut event_loop = Loop {
            name: name.to_owned(),
            limits,
            handler: Box::new(handler),
            listener,
            poll,
            connections: HashMap::new(),
            next_token: FIRST_CLIENT,
        };
        let thread_stop = Arc::clone(&stop);
        let thread = std::thread::Builder::new().name(name.to_owned()).spawn(move || event_loop.run(&thread_stop))?;
        Ok(HttpServer { local_addr, stop, waker, thread: Some(thread) })
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        match self.waker.wake() {
            Ok(()) => {
                if let Some(thread) = self.thread.take() {
                    let _ = thread.join();
                }
            }
            // Not joined: it would wait for the next event. It stops then.
            Err(e) => tracing::warn!("cannot wake the HTTP loop to stop it: {e}"),
        }
    }
}

struct Loop {
    name: String,
    limits: Limits,
    handler: Box<Handler>,
    listener: TcpListener,
    poll: Poll,
    connections: HashMap<Token, Connection>,
    next_token: usize,
}

impl Loop {
    fn run(&mut self, stop: &AtomicBool) {
        let mut events = Events::with_capacity(256);
        while !stop.load(Ordering::Relaxed) {
            let timeout = self.connections.values().map(|c| c.deadline).min().map(|by| {
                // Rounded up, so the wake-up finds the deadline passed.
                by.saturating_duration_since(Instant::now()) + Duration::from_millis(1)
            });
            if let Err(e) = self.poll.poll(&mut events, timeout) {
                if e.kind() != io::ErrorKind::Interrupted {
                    tracing::warn!("{}: waiting for clients failed: {e}", self.name);
                    std::thread::sleep(ACCEPT_RETRY);
                }
                continue;
            }
            for event in events.iter() {
                match event.token() {
                    LISTENER => self.accept_all(stop),
                    WAKE => {}
                    token => self.drive(token),
                }
            }
            self.close_expired();
        }
    }

    /// Readiness is edge-triggered: take every pending connection.
    fn accept_all(&mut self, stop: &AtomicBool) {
        while !stop.load(Ordering::Relaxed) {
            match self.listener.accept() {
                Ok((stream, _)) => self.admit(stream),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    tracing::warn!("{}: accept failed: {e}", self.name);
                    std::thread::sleep(ACCEPT_RETRY);
                    return;
                }
            }
        }
    }

    fn admit(&mut self, mut stream: mio::net::TcpStream) {
        if self.connections.len() >= self.limits.connections && !self.make_room() {
            tracing::debug!(
                "{}: {} connections all being answered, refusing another",
                self.name,
                self.connections.len()
            );
            return; // dropped: closed
        }
        let token = Token(self.next_token);
        self.next_token = self.next_token.checked_add(1).unwrap_or(FIRST_CLIENT);
        if let Err(e) = self.poll.registry().register(&mut stream, token, Interest::READABLE | Interest::WRITABLE) {
            tracing::warn!("{}: cannot watch a client: {e}", self.name);
            return;
        }
        self.connections.insert(token, Connection::new(stream, self.limits.request));
        // Its request may already be in: edge-triggered readiness would not say so again.
        self.drive(token);
    }

    /// Closes the connection that has waited longest for its request.
    fn make_room(&mut self) -> bool {
        let oldest = self.connections.iter().filter(|(_, c)| c.is_reading()).min_by_key(|(_, c)| c.accepted);
        let Some((&token, _)) = oldest else { return false };
        tracing::debug!("{}: at {} connections, closing the longest idle", self.name, self.limits.connections);
        self.close(token);
        true
    }

    fn drive(&mut self, token: Token) {
        let Some(connection) = self.connections.get_mut(&token) else { return };
        let handler = &mut self.handler;
        let mut respond = |request: &Request| {
            let head_only = matches!(request, Request::Ok { method: Method::Head, .. });
            handler(request).into_bytes(head_only)
        };
        if connection.drive(self.limits.reply, &mut respond) == Progress::Close {
            self.close(token);
        }
    }

    fn close_expired(&mut self) {
        let now = Instant::now();
        let expired: Vec<Token> =
            self.connections.iter().filter(|(_, c)| c.deadline <= now).map(|(&token, _)| token).collect();
        for token in expired {
            self.close(token);
        }
    }

    fn close(&mut self, token: Token) {
        if let Some(mut connection) = self.connections.remove(&token) {
            let _ = self.poll.registry().deregister(&mut connection.stream);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpStream;

    fn read_all(stream: &mut TcpStream) -> String {
        stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut text = String::new();
        let _ = stream.read_to_string(&mut text);
        text
    }

    /// At the cap, the connection idle longest makes room for a newcomer;
    /// the others stay open.
    #[test]
    fn at_the_cap_the_longest_idle_connection_is_closed_for_a_new_one() {
        let limits = Limits { connections: 3, request: Duration::from_secs(30), reply: Duration::from_secs(5) };
        let server = HttpServer::start("test-http", "127.0.0.1:0".parse().unwrap(), limits, |_| {
            Response::text("200 OK", "hi\n")
        })
        .unwrap();
        let mut idle = Vec::new();
        for _ in 0..limits.connections {
            idle.push(TcpStream::connect(server.local_addr).unwrap());
            std::thread::sleep(Duration::from_millis(20)); // accepted in this order
        }
        let mut scrape = TcpStream::connect(server.local_addr).unwrap();
        scrape.write_all(b"GET / HTTP/1.1\r\n\r\n").unwrap();
        let reply = read_all(&mut scrape);
        assert!(reply.starts_with("HTTP/1.1 200 OK") && reply.ends_with("hi\n"), "{reply}");
        assert_eq!(read_all(&mut idle[0]), "", "the oldest idle connection was not closed");
        idle[1].set_read_timeout(Some(Duration::from_millis(200))).unwrap();
        let kept = idle[1].read(&mut [0u8; 1]);
        assert!(kept.is_err(), "a younger idle connection was closed too: {kept:?}");
    }
}
