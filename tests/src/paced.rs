//! A paced, bounded UDP query load from one socket, with every reply
//! sorted into full answers, truncated (TC=1) replies and anything else,
//! and the arrival time of each full answer kept so a test can measure the
//! rate it was answered at.

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

/// How long to keep listening after the last query for replies in flight.
const GRACE: Duration = Duration::from_millis(400);
/// The receiver wakes this often to notice the end of the load.
const POLL: Duration = Duration::from_millis(20);

/// `count` copies of a query, evenly spaced to `per_second`.
#[derive(Debug, Clone, Copy)]
pub struct Pace {
    pub per_second: u32,
    pub count: u32,
}

impl Pace {
    /// `per_second` for `duration` (rounded down to whole queries).
    pub fn for_duration(per_second: u32, duration: Duration) -> Pace {
        Pace { per_second, count: (f64::from(per_second) * duration.as_secs_f64()) as u32 }
    }
}

/// What came back.
#[derive(Debug, Clone, Default)]
pub struct Tally {
    pub sent: u32,
    /// TC clear, NOERROR, at least one answer record.
    pub full: u32,
    /// TC set and no answer records (a slipped or truncated reply).
    pub truncated: u32,
    /// Replies of any other shape, or not matching a query we sent.
    pub other: u32,
    /// Arrival of each full answer, from the first query.
    pub full_at: Vec<Duration>,
    /// From the first query to the last.
    pub send_time: Duration,
}

impl Tally {
    /// Full answers that arrived in `[from, to)` after the first query.
    pub fn full_between(&self, from: Duration, to: Duration) -> u32 {
        self.full_at.iter().filter(|&&t| t >= from && t < to).count() as u32
    }
}

/// Sends `query` (its ID replaced by a running count) to `server` from
/// `socket` at `pace`, counting the replies until a short grace period
/// after the last query. The socket may have been made in another network
/// namespace; it stays there.
pub fn run(socket: UdpSocket, server: SocketAddr, query: &[u8], pace: Pace) -> io::Result<Tally> {
    if query.len() < 12 || pace.per_second == 0 {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "a DNS query and a non-zero rate"));
    }
    socket.connect(server)?;
    socket.set_read_timeout(Some(POLL))?;
    let receiver_socket = socket.try_clone()?;
    let done = AtomicBool::new(false);
    let start = Instant::now();
    thread::scope(|scope| {
        let receiver = scope.spawn(|| receive(&receiver_socket, start, pace.count, &done));
        let sent = send(&socket, query, start, pace);
        let send_time = start.elapsed();
        thread::sleep(GRACE);
        done.store(true, Ordering::Relaxed);
        let mut tally = receiver.join().map_err(|_| io::Error::other("receiver panicked"))??;
        tally.sent = sent?;
        tally.send_time = send_time;
        Ok(tally)
    })
}

fn send(socket: &UdpSocket, query: &[u8], start: Instant, pace: Pace) -> io::Result<u32> {
    let mut message = query.to_vec();
    let period = Duration::from_secs(1) / pace.per_second;
    for i in 0..pace.count {
        let due = start + period * i;
        let now = Instant::now();
        if due > now {
            thread::sleep(due - now);
        }
        message[..2].copy_from_slice(&(i as u16).to_be_bytes());
        match socket.send(&message) {
            Ok(_) => {}
            // A full socket buffer loses this query, not the test.
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
    }
    Ok(pace.count)
}

fn receive(socket: &UdpSocket, start: Instant, count: u32, done: &AtomicBool) -> io::Result<Tally> {
    let mut tally = Tally::default();
    let mut buf = [0u8; 4096];
    while !done.load(Ordering::Relaxed) {
        let n = match socket.recv(&mut buf) {
            Ok(n) => n,
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => continue,
            // ICMP errors for earlier datagrams surface here; count nothing.
            Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => continue,
            Err(e) => return Err(e),
        };
        match classify(&buf[..n], count) {
            Shape::Full => {
                tally.full += 1;
                tally.full_at.push(start.elapsed());
            }
            Shape::Truncated => tally.truncated += 1,
            Shape::Other => tally.other += 1,
        }
    }
    Ok(tally)
}

#[derive(Debug, PartialEq, Eq)]
enum Shape {
    Full,
    Truncated,
    Other,
}

fn classify(reply: &[u8], count: u32) -> Shape {
    if reply.len() < 12 {
        return Shape::Other;
    }
    let id = u16::from_be_bytes([reply[0], reply[1]]);
    let is_response = reply[2] & 0x80 != 0;
    let truncated = reply[2] & 0x02 != 0;
    let rcode = reply[3] & 0x0f;
    let answers = u16::from_be_bytes([reply[6], reply[7]]);
    let ours = count > u32::from(u16::MAX) || u32::from(id) < count;
    match (ours && is_response, truncated, rcode, answers) {
        (true, false, 0, 1..) => Shape::Full,
        (true, true, _, 0) => Shape::Truncated,
        _ => Shape::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(id: u16, flags: [u8; 2], answers: u16) -> Vec<u8> {
        let mut h = id.to_be_bytes().to_vec();
        h.extend_from_slice(&flags);
        h.extend_from_slice(&[0, 1]);
        h.extend_from_slice(&answers.to_be_bytes());
        h.extend_from_slice(&[0, 0, 0, 0]);
        h
    }

    #[test]
    fn replies_are_sorted_by_shape() {
        assert_eq!(classify(&header(3, [0x84, 0x00], 1), 10), Shape::Full);
        assert_eq!(classify(&header(3, [0x86, 0x00], 0), 10), Shape::Truncated);
        assert_eq!(classify(&header(3, [0x84, 0x03], 0), 10), Shape::Other, "NXDOMAIN");
        assert_eq!(classify(&header(3, [0x04, 0x00], 1), 10), Shape::Other, "a query");
        assert_eq!(classify(&header(30, [0x84, 0x00], 1), 10), Shape::Other, "an ID never sent");
        assert_eq!(classify(&[0x84; 11], 10), Shape::Other);
    }

    #[test]
    fn a_loopback_echo_is_counted_and_paced() {
        let server = UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = server.local_addr().unwrap();
        server.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        let echo = thread::spawn(move || {
            let mut buf = [0u8; 512];
            for i in 0..20 {
                let Ok((n, from)) = server.recv_from(&mut buf) else { return };
                // Every other reply: a full answer, then a truncated one.
                buf[2] = if i % 2 == 0 { 0x84 } else { 0x86 };
                buf[6..8].copy_from_slice(&[0, (i % 2 == 0) as u8]);
                server.send_to(&buf[..n], from).unwrap();
            }
        });
        let query = header(0, [0x00, 0x00], 0);
        let client = UdpSocket::bind("127.0.0.1:0").unwrap();
        let tally = run(client, addr, &query, Pace { per_second: 100, count: 20 }).unwrap();
        echo.join().unwrap();
        assert_eq!((tally.sent, tally.full, tally.truncated, tally.other), (20, 10, 10, 0));
        assert!(tally.send_time >= Duration::from_millis(190), "20 at 100/s take 190 ms: {:?}", tally.send_time);
        assert_eq!(tally.full_between(Duration::ZERO, Duration::from_secs(10)), 10);
    }
}
