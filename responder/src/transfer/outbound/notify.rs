//! NOTIFY out (RFC 1996): when a zone sent out gets a new serial, each of
//! its `notify` secondaries is told, over UDP, signed with the remote's
//! key if it has one. A secondary that does not answer is asked again
//! [`WAIT`] later, [`ATTEMPTS`] times in all (Knot retries a few times,
//! seconds apart); every outcome is logged. One thread for every zone;
//! at most [`MAX_PENDING`] NOTIFYs waiting, a newer serial replacing the
//! older for the same zone and secondary.

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::config::Target;
use crate::stats::OutboundCounters;
use crate::transfer::inbound::message::opcode;
use crate::transfer::journal::{rr, Rr};
use crate::tsig::{self, Mac, Signing};
use crate::wire::dns::{self, class, flags, rcode, RType};
use crate::zone::Name;

/// Sends per NOTIFY before giving up.
pub const ATTEMPTS: u32 = 5;
/// Between sends of one NOTIFY.
pub const WAIT: Duration = Duration::from_secs(2);
/// NOTIFYs waiting for an answer at once.
pub const MAX_PENDING: usize = 1024;
/// How long one look at the sockets waits while NOTIFYs are pending.
const POLL: Duration = Duration::from_millis(50);
/// Datagrams read per socket between two rounds of sends.
const MAX_READS: usize = 64;

/// A zone's new SOA, for its secondaries.
#[derive(Debug, Clone)]
pub struct Announcement {
    pub zone: Name,
    pub soa: Rr,
    pub targets: Vec<Target>,
}

enum Message {
    Announce(Announcement),
    Stop,
}

/// The NOTIFY thread, once started.
#[derive(Default)]
pub struct Notifier {
    running: Mutex<Option<(Sender<Message>, JoinHandle<()>)>>,
    /// Each NOTIFY's end: acked, error (answered with an error, or not
    /// sent) or timeout.
    counters: Arc<OutboundCounters>,
}

impl Notifier {
    pub fn new(counters: Arc<OutboundCounters>) -> Notifier {
        Notifier { running: Mutex::new(None), counters }
    }

    pub fn start(&self) -> Result<(), String> {
        let mut running = self.running.lock().unwrap_or_else(|p| p.into_inner());
        if running.is_some() {
            return Ok(());
        }
        let (sender, receiver) = mpsc::channel();
        let counters = Arc::clone(&self.counters);
        let thread = std::thread::Builder::new()
            .name("notify-out".into())
            .spawn(move || run(receiver, &counters))
            .map_err(|e| format!("cannot start the NOTIFY thread: {e}"))?;
        *running = Some((sender, thread));
        Ok(())
    }

    /// Queues `announcement`; dropped (with a debug line) before `start`.
    pub fn send(&self, announcement: Announcement) {
        match &*self.running.lock().unwrap_or_else(|p| p.into_inner()) {
            Some((sender, _)) => {
                let _ = sender.send(Message::Announce(announcement));
            }
            None => tracing::debug!(zone = %announcement.zone, "NOTIFY not sent: the notifier is not running"),
        }
    }

    pub fn stop(&self) {
        let taken = self.running.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some((sender, thread)) = taken {
            let _ = sender.send(Message::Stop);
            let _ = thread.join();
        }
    }
}

impl Drop for Notifier {
    fn drop(&mut self) {
        self.stop();
    }
}

/// One NOTIFY waiting for its answer.
struct Pending {
    zone: Name,
    serial: u32,
    target: Target,
    id: u16,
    message: Vec<u8>,
    mac: Option<Mac>,
    sent: u32,
    next: Instant,
}

/// The NOTIFY for `zone` with its new `soa` in the answer section (RFC
/// 1996 §3.7), AA set, and its MAC when signed.
pub fn message(id: u16, zone: &Name, soa: &[u8], key: Option<&tsig::Key>) -> Option<(Vec<u8>, Option<Mac>)> {
    let mut m = Vec::with_capacity(64 + soa.len());
    m.extend_from_slice(&id.to_be_bytes());
    m.extend_from_slice(&((u16::from(opcode::NOTIFY) << 11) | flags::AA).to_be_bytes());
    m.extend_from_slice(&[0, 1, 0, 1, 0, 0, 0, 0]);
    m.extend_from_slice(zone.wire());
    m.extend_from_slice(&RType::SOA.0.to_be_bytes());
    m.extend_from_slice(&class::IN.to_be_bytes());
    m.extend_from_slice(soa);
    let mac = match key {
        Some(key) => Some(tsig::sign_message(key, &mut m, &Signing::new(None, tsig::now()))?),
        None => None,
    };
    Some((m, mac))
}

/// An id no one off the path can guess easily: the clock's nanoseconds
/// mixed with a counter (NOTIFY answers are also matched on the address).
fn next_id(counter: &mut u64) -> u16 {
    *counter = counter.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    let mixed = (*counter ^ u64::from(nanos)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    (mixed >> 48) as u16
}

fn canonical(a: SocketAddr) -> SocketAddr {
    match a.ip() {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(a, |v4| SocketAddr::new(IpAddr::V4(v4), a.port())),
        _ => a,
    }
}

struct Sockets {
    v4: Option<UdpSocket>,
    v6: Option<UdpSocket>,
}

impl Sockets {
    fn open() -> Sockets {
        let open = |addr: &str| {
            UdpSocket::bind(addr)
                .and_then(|s| s.set_read_timeout(Some(POLL)).map(|()| s))
                .map_err(|e| tracing::warn!("NOTIFY out: cannot open a UDP socket on {addr}: {e}"))
                .ok()
        };
        Sockets { v4: open("0.0.0.0:0"), v6: open("[::]:0") }
    }

    fn for_target(&self, to: SocketAddr) -> Option<&UdpSocket> {
        if to.is_ipv4() {
            self.v4.as_ref()
        } else {
            self.v6.as_ref()
        }
    }
}

/// Counts the end of the NOTIFY of `zone` to `target`.
fn count(counters: &OutboundCounters, zone: &Name, target: &Target, result: &'static str) {
    counters.notifies.add((zone.to_string(), target.id.clone(), result));
}

fn run(receiver: Receiver<Message>, counters: &OutboundCounters) {
    let sockets = Sockets::open();
    let mut pending: Vec<Pending> = Vec::new();
    let mut counter = u64::from(std::process::id());
    let mut buf = vec![0u8; 4096];
    loop {
        // Idle: sleep until told; busy: look at the sockets between sends.
        let wait = if pending.is_empty() { Duration::from_secs(3600) } else { Duration::ZERO };
        let mut first = Some(receiver.recv_timeout(wait));
        loop {
            let got = match first.take() {
                Some(got) => got,
                None => receiver.try_recv().map_err(|e| match e {
                    mpsc::TryRecvError::Empty => RecvTimeoutError::Timeout,
                    mpsc::TryRecvError::Disconnected => RecvTimeoutError::Disconnected,
                }),
            };
            match got {
                Ok(Message::Announce(a)) => queue(&mut pending, a, &mut counter, counters),
                Ok(Message::Stop) | Err(RecvTimeoutError::Disconnected) => {
                    for p in &pending {
                        tracing::info!(zone = %p.zone, "NOTIFY of serial {} to {} dropped: stopping", p.serial, p.target);
                    }
                    return;
                }
                Err(RecvTimeoutError::Timeout) => break,
            }
        }
        let now = Instant::now();
        pending.retain_mut(|p| {
            if p.next > now {
                return true;
            }
            if p.sent >= ATTEMPTS {
                tracing::warn!(zone = %p.zone, "NOTIFY of serial {} to {}: no answer after {} attempts", p.serial, p.target, p.sent);
                count(counters, &p.zone, &p.target, "timeout");
                return false;
            }
            let Some(socket) = sockets.for_target(p.target.address) else {
                tracing::warn!(zone = %p.zone, "NOTIFY to {}: no socket of its address family", p.target);
                count(counters, &p.zone, &p.target, "error");
                return false;
            };
            if let Err(e) = socket.send_to(&p.message, p.target.address) {
                tracing::warn!(zone = %p.zone, "NOTIFY to {}: {e}", p.target);
            }
            p.sent += 1;
            p.next = now + WAIT;
            true
        });
        for socket in [&sockets.v4, &sockets.v6].into_iter().flatten() {
            if pending.is_empty() {
                break;
            }
            // Answers already in, then at most one POLL of waiting; a flood
            // of datagrams to our port cannot hold back the retries.
            for _ in 0..MAX_READS {
                let Ok((n, from)) = socket.recv_from(&mut buf) else { break };
                answered(&mut pending, &buf[..n], from, counters);
                if pending.is_empty() {
                    break;
                }
            }
        }
    }
}

fn queue(pending: &mut Vec<Pending>, a: Announcement, counter: &mut u64, counters: &OutboundCounters) {
    let serial = rr::soa_serial(&a.soa).unwrap_or_default();
    for target in a.targets {
        pending.retain(|p| !(p.zone == a.zone && p.target.address == target.address));
        if pending.len() >= MAX_PENDING {
            tracing::warn!(zone = %a.zone, "NOTIFY to {target} not sent: {MAX_PENDING} already waiting");
            count(counters, &a.zone, &target, "error");
            continue;
        }
        let id = next_id(counter);
        let Some((message, mac)) = message(id, &a.zone, &a.soa, target.key.as_ref()) else {
            tracing::warn!(zone = %a.zone, "NOTIFY to {target} not sent: it cannot be signed");
            count(counters, &a.zone, &target, "error");
            continue;
        };
        pending.push(Pending { zone: a.zone.clone(), serial, target, id, message, mac, sent: 0, next: Instant::now() });
    }
}

/// Matches an answer to its NOTIFY (id and address), checks its TSIG, and
/// logs the outcome; anything else is ignored.
fn answered(pending: &mut Vec<Pending>, answer: &[u8], from: SocketAddr, counters: &OutboundCounters) {
    let Some(header) = dns::Header::new_checked(answer) else { return };
    let f = header.flags();
    if f & flags::QR == 0 || ((f & flags::OPCODE_MASK) >> 11) as u8 != opcode::NOTIFY {
        return;
    }
    let from = canonical(from);
    let Some(i) = pending.iter().position(|p| p.id == header.id() && canonical(p.target.address) == from) else {
        return;
    };
    let p = &pending[i];
    if let Some(key) = &p.target.key {
        let mac = p.mac.unwrap_or(Mac::EMPTY);
        if let Err(failure) = tsig::verify_message(key, answer, Some(mac.as_slice()), tsig::now()) {
            // A forged answer must not stop the retries: ignored.
            tracing::warn!(zone = %p.zone, "NOTIFY answer from {} ignored: TSIG {failure}", p.target);
            return;
        }
    }
    let code = (f & flags::RCODE_MASK) as u8;
    if code == rcode::NOERROR {
        tracing::info!(zone = %p.zone, "NOTIFY of serial {} to {}: acknowledged", p.serial, p.target);
        count(counters, &p.zone, &p.target, "acked");
    } else {
        tracing::warn!(zone = %p.zone, "NOTIFY of serial {} to {}: answered rcode {code}", p.serial, p.target);
        count(counters, &p.zone, &p.target, "error");
    }
    pending.swap_remove(i);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transfer::inbound::message::parse;

    #[test]
    fn a_notify_carries_the_soa_and_is_signed_with_the_remotes_key() {
        let zone = Name::parse("example.test.", None).unwrap().unwrap();
        let soa = rr::encode(&crate::transfer::journal::rr::tests::soa_record("example.test.", 9)).unwrap();
        let (m, mac) = message(7, &zone, &soa, None).unwrap();
        let read = parse(&m).unwrap();
        assert_eq!((read.id, read.opcode(), read.is_response(), mac), (7, opcode::NOTIFY, false, None));
        assert_eq!(read.answers[0].soa_serial(), Some(9));
        assert!(crate::transfer::inbound::notify::is_notify(&m));

        let key = tsig::Key::from_text("k", "hmac-sha256", "c2VjcmV0c2VjcmV0").unwrap();
        let (m, mac) = message(8, &zone, &soa, Some(&key)).unwrap();
        assert!(parse(&m).unwrap().signed && mac.is_some());
        tsig::verify_message(&key, &m, None, tsig::now()).unwrap();
    }

    #[test]
    fn a_silent_secondary_is_asked_again_then_given_up_on_and_an_answer_stops_it() {
        let zone = Name::parse("example.test.", None).unwrap().unwrap();
        let soa = rr::encode(&crate::transfer::journal::rr::tests::soa_record("example.test.", 3)).unwrap();
        let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
        let target = Target { id: "s".into(), address: silent.local_addr().unwrap(), key: None };
        let mut pending = Vec::new();
        let mut counter = 1;
        let counters = OutboundCounters::default();
        let a = Announcement { zone: zone.clone(), soa: soa.clone(), targets: vec![target.clone()] };
        queue(&mut pending, a.clone(), &mut counter, &counters);
        queue(&mut pending, a, &mut counter, &counters);
        assert_eq!(pending.len(), 1, "a newer announcement replaces the older");
        let id = pending[0].id;

        // Another id, or another address: not the answer.
        let mut answer = pending[0].message.clone();
        answer[2] |= 0x80;
        let mut wrong = answer.clone();
        wrong[0] ^= 0xff;
        answered(&mut pending, &wrong, target.address, &counters);
        answered(&mut pending, &answer, "127.0.0.2:53".parse().unwrap(), &counters);
        assert_eq!(pending.len(), 1);
        assert!(counters.notifies.read().is_empty(), "nothing counted for answers that are not ours");
        assert_eq!(u16::from_be_bytes([answer[0], answer[1]]), id);
        answered(&mut pending, &answer, target.address, &counters);
        assert!(pending.is_empty());
        assert_eq!(counters.notifies.read(), [(("example.test.".into(), "s".into(), "acked"), 1)]);
    }

    #[test]
    fn the_thread_sends_again_until_answered_then_stops() {
        let zone = Name::parse("example.test.", None).unwrap().unwrap();
        let soa = rr::encode(&crate::transfer::journal::rr::tests::soa_record("example.test.", 4)).unwrap();
        let secondary = UdpSocket::bind("127.0.0.1:0").unwrap();
        secondary.set_read_timeout(Some(WAIT + Duration::from_secs(2))).unwrap();
        let target = Target { id: "s".into(), address: secondary.local_addr().unwrap(), key: None };
        let counters = Arc::<OutboundCounters>::default();
        let notifier = Notifier::new(Arc::clone(&counters));
        notifier.start().unwrap();
        notifier.send(Announcement { zone, soa, targets: vec![target] });
        let mut buf = [0u8; 512];
        let (n, _) = secondary.recv_from(&mut buf).expect("the first NOTIFY");
        let first = buf[..n].to_vec();
        let started = Instant::now();
        // Not answered: it comes again, the same message, WAIT later.
        let (n, from) = secondary.recv_from(&mut buf).expect("the NOTIFY again");
        assert!(started.elapsed() >= WAIT - Duration::from_millis(200), "{:?}", started.elapsed());
        assert_eq!(&buf[..n], &first[..]);
        buf[2] |= 0x80;
        secondary.send_to(&buf[..n], from).unwrap();
        // Answered: no third.
        secondary.set_read_timeout(Some(WAIT + Duration::from_millis(500))).unwrap();
        assert!(secondary.recv_from(&mut buf).is_err(), "sent again after its answer");
        notifier.stop();
        assert_eq!(counters.notifies.read(), [(("example.test.".into(), "s".into(), "acked"), 1)], "one NOTIFY, acked");
    }
}
