//! One client connection of the loop: read the head, write the reply,
//! close without a reset. Every step goes as far as the socket allows
//! without blocking and is taken up again at the next readiness event.

use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::time::{Duration, Instant};

use mio::net::TcpStream;

use super::request::{self, Request};

/// After the reply, what the client still sends (a body, a second request)
/// is read and dropped for this long at most: closing over unread data
/// makes TCP send a reset, and the client could lose its reply.
const LINGER: Duration = Duration::from_secs(1);
const LINGER_BYTES: usize = 64 * 1024;

enum Phase {
    Reading { head: Vec<u8> },
    Writing { reply: Vec<u8>, sent: usize },
    Lingering { dropped: usize },
}

pub struct Connection {
    pub stream: TcpStream,
    phase: Phase,
    /// When the current phase must be over; the connection is closed then.
    pub deadline: Instant,
    pub accepted: Instant,
}

/// Whether the connection stays open after [`Connection::drive`].
#[derive(Debug, PartialEq, Eq)]
pub enum Progress {
    Open,
    Close,
}

impl Connection {
    pub fn new(stream: TcpStream, request_limit: Duration) -> Connection {
        let now = Instant::now();
        Connection { stream, phase: Phase::Reading { head: Vec::new() }, deadline: now + request_limit, accepted: now }
    }

    /// Still waiting for its request (the ones closed first at the cap).
    pub fn is_reading(&self) -> bool {
        matches!(self.phase, Phase::Reading { .. })
    }

    /// Does all the I/O the socket allows now; `respond` turns the request
    /// into the whole reply once the head is in.
    pub fn drive(&mut self, reply_limit: Duration, respond: &mut dyn FnMut(&Request) -> Vec<u8>) -> Progress {
        loop {
            let step = match &mut self.phase {
                Phase::Reading { head } => read_head(&mut self.stream, head),
                Phase::Writing { reply, sent } => write_reply(&mut self.stream, reply, sent),
                Phase::Lingering { dropped } => return linger(&mut self.stream, dropped),
            };
            match step {
                Step::Wait => return Progress::Open,
                Step::Close => return Progress::Close,
                Step::Request(request) => {
                    let reply = respond(&request);
                    self.phase = Phase::Writing { reply, sent: 0 };
                    self.deadline = Instant::now() + reply_limit;
                }
                Step::Sent => {
                    if self.stream.shutdown(Shutdown::Write).is_err() {
                        return Progress::Close;
                    }
                    self.phase = Phase::Lingering { dropped: 0 };
                    self.deadline = Instant::now() + LINGER;
                }
            }
        }
    }
}

enum Step {
    Wait,
    Close,
    Request(Request),
    Sent,
}

fn read_head(stream: &mut TcpStream, head: &mut Vec<u8>) -> Step {
    let mut chunk = [0u8; 2048];
    loop {
        match stream.read(&mut chunk) {
            // Closed without a byte: a port check. With some: never complete.
            Ok(0) if head.is_empty() => return Step::Close,
            Ok(0) => return Step::Request(Request::Malformed),
            Ok(n) => {
                head.extend_from_slice(&chunk[..n]);
                if let Some(request) = request::parse(head) {
                    return Step::Request(request);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Step::Wait,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return Step::Close,
        }
    }
}

fn write_reply(stream: &mut TcpStream, reply: &[u8], sent: &mut usize) -> Step {
    while *sent < reply.len() {
        match stream.write(&reply[*sent..]) {
            Ok(0) => return Step::Close,
            Ok(n) => *sent += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Step::Wait,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return Step::Close,
        }
    }
    Step::Sent
}

fn linger(stream: &mut TcpStream, dropped: &mut usize) -> Progress {
    let mut sink = [0u8; 4096];
    while *dropped < LINGER_BYTES {
        match stream.read(&mut sink) {
            Ok(0) => return Progress::Close,
            Ok(n) => *dropped += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Progress::Open,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return Progress::Close,
        }
    }
    Progress::Close
}
