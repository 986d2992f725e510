//! What a serving thread calls: decide cheaply whether this query is
//! captured (1-in-N per output, then a per-source rate cap), copy the query
//! before the engine rewrites it in place, add the response, and push the
//! record into the thread's ring, or drop and count it when the ring is full.
//!
//! Per packet, a thread that captures pays two countdowns ([`Tap::sample`]);
//! only a sampled packet reads the clock (the vDSO, no system call), looks
//! up its source and copies bytes. Counters are plain integers published to
//! the capture's readers with plain stores, as the worker's own are.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use rtrb::Producer;

use super::ring::{self, Header, Source, HEADER_LEN, WANT_DNSTAP, WANT_PCAP};
use crate::wire::{ethernet, ipv4, ipv6};

/// 1-in-N for each output (N = 0: off), as one countdown to the next
/// packet either output takes, so that a packet neither takes costs one
/// decrement and one branch; the packets counted down are added to `seen`
/// when it runs out.
#[derive(Debug, Clone, Copy)]
struct Samplers {
    every: [u32; 2],
    /// Packets until each output's next sample, as of the last run-out.
    left: [u32; 2],
    /// Counts down to the next sample of either output.
    next: u32,
    /// What `next` started from.
    window: u32,
    /// Packets before the current window.
    seen: u64,
}

impl Samplers {
    fn new(dnstap: u32, pcap: u32) -> Samplers {
        let mut s = Samplers { every: [dnstap, pcap], left: [dnstap, pcap], next: 0, window: 0, seen: 0 };
        s.rewind();
        s
    }

    /// The outputs that take this packet (bits), or 0.
    #[inline(always)]
    fn tick(&mut self) -> u8 {
        self.next -= 1;
        if self.next != 0 {
            return 0;
        }
        self.ran_out()
    }

    #[cold]
    fn ran_out(&mut self) -> u8 {
        self.seen += u64::from(self.window);
        let mut chosen = 0;
        for (i, bit) in [WANT_DNSTAP, WANT_PCAP].into_iter().enumerate() {
            if self.every[i] != 0 {
                self.left[i] -= self.window;
                if self.left[i] == 0 {
                    self.left[i] = self.every[i];
                    chosen |= bit;
                }
            }
        }
        self.rewind();
        chosen
    }

    /// Starts the countdown to the nearest output's next sample.
    fn rewind(&mut self) {
        let nearest = (0..2).filter(|&i| self.every[i] != 0).map(|i| self.left[i]).min();
        // With no output on, the countdown only ever adds to `seen`.
        self.next = nearest.unwrap_or(u32::MAX);
        self.window = self.next;
    }

    /// Every packet counted so far.
    fn seen(&self) -> u64 {
        self.seen + u64::from(self.window - self.next)
    }
}

/// Slots in the per-source table: a direct-mapped cache of the sources seen
/// lately. Two sources that share a slot evict each other, which can only
/// let a few more records through, never hold back a source that is alone.
const SOURCE_SLOTS: usize = 1024;

#[derive(Debug, Clone, Copy, Default)]
struct SourceSlot {
    key: [u8; 16],
    second: u64,
    dnstap: u32,
    pcap: u32,
}

/// Most records per source and second, per output (0: no cap), counted in
/// this thread.
struct SourceLimiter {
    dnstap_cap: u32,
    pcap_cap: u32,
    slots: Vec<SourceSlot>,
}

impl SourceLimiter {
    fn new(dnstap_cap: u32, pcap_cap: u32) -> SourceLimiter {
        let slots =
            if dnstap_cap == 0 && pcap_cap == 0 { Vec::new() } else { vec![SourceSlot::default(); SOURCE_SLOTS] };
        SourceLimiter { dnstap_cap, pcap_cap, slots }
    }

    /// The outputs of `wants` still under their cap for `key` this second.
    fn admit(&mut self, key: [u8; 16], second: u64, wants: u8) -> u8 {
        if self.slots.is_empty() {
            return wants;
        }
        let hash = u64::from_le_bytes(key[..8].try_into().unwrap_or_default())
            ^ u64::from_le_bytes(key[8..].try_into().unwrap_or_default()).rotate_left(29);
        let index = (hash.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 54) as usize % SOURCE_SLOTS;
        let slot = &mut self.slots[index];
        if slot.key != key || slot.second != second {
            *slot = SourceSlot { key, second, dnstap: 0, pcap: 0 };
        }
        let mut admitted = 0;
        for (bit, cap, count) in
            [(WANT_DNSTAP, self.dnstap_cap, &mut slot.dnstap), (WANT_PCAP, self.pcap_cap, &mut slot.pcap)]
        {
            if wants & bit != 0 && (cap == 0 || *count < cap) {
                *count += 1;
                admitted |= bit;
            }
        }
        admitted
    }
}

/// What one tap has done, as last published.
#[derive(Debug, Default)]
pub struct TapCounters {
    seen: AtomicU64,
    pushed: AtomicU64,
    dropped_full: AtomicU64,
    rate_limited: AtomicU64,
}

/// [`TapCounters`] read at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TapCounts {
    /// Packets the thread answered with this tap in place.
    pub seen: u64,
    /// Records put in the ring.
    pub pushed: u64,
    /// Records lost because the ring was full.
    pub dropped_full: u64,
    /// Sampled packets refused by every output's per-source cap.
    pub rate_limited: u64,
}

impl TapCounts {
    /// Packets the samplers passed over (or that were not DNS queries).
    pub fn sampled_out(&self) -> u64 {
        self.seen.saturating_sub(self.pushed + self.dropped_full + self.rate_limited)
    }

    pub fn add(&mut self, o: &TapCounts) {
        self.seen += o.seen;
        self.pushed += o.pushed;
        self.dropped_full += o.dropped_full;
        self.rate_limited += o.rate_limited;
    }
}

impl TapCounters {
    pub fn snapshot(&self) -> TapCounts {
        TapCounts {
            seen: self.seen.load(Ordering::Relaxed),
            pushed: self.pushed.load(Ordering::Relaxed),
            dropped_full: self.dropped_full.load(Ordering::Relaxed),
            rate_limited: self.rate_limited.load(Ordering::Relaxed),
        }
    }
}

/// How a tap samples: 1-in-N and the per-source cap for each output.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TapConfig {
    /// 0: the output is off.
    pub dnstap_every: u32,
    pub dnstap_source_rate: u32,
    pub pcap_every: u32,
    pub pcap_source_rate: u32,
}

/// One serving thread's end of the capture.
pub struct Tap {
    ring: Producer<u8>,
    samplers: Samplers,
    limiter: SourceLimiter,
    /// The outputs the last [`Tap::sample`] chose.
    chosen: u8,
    /// The record being built: header room, then the query, then the response.
    record: Vec<u8>,
    header: Header,
    counts: TapCounts,
    published: Arc<TapCounters>,
}

impl Tap {
    pub fn new(config: TapConfig, ring: Producer<u8>, published: Arc<TapCounters>) -> Tap {
        Tap {
            ring,
            samplers: Samplers::new(config.dnstap_every, config.pcap_every),
            limiter: SourceLimiter::new(config.dnstap_source_rate, config.pcap_source_rate),
            chosen: 0,
            record: Vec::with_capacity(HEADER_LEN + 2 * usize::from(u16::MAX)),
            header: Header::frames(0),
            counts: TapCounts::default(),
            published,
        }
    }

    /// Called for every packet: whether some output samples this one. If so,
    /// the caller hands its query to [`Tap::take_frame`] or
    /// [`Tap::take_message`] before answering it.
    #[inline(always)]
    pub fn sample(&mut self) -> bool {
        self.chosen = self.samplers.tick();
        self.chosen != 0
    }

    /// Takes a sampled XDP query frame; false if the per-source cap refuses
    /// it (or it is not IP), and then nothing more is to be done.
    #[cold]
    pub fn take_frame(&mut self, frame: &[u8]) -> bool {
        let now = now_ns();
        let Some(source) = frame_source(frame) else { return false };
        let wants = self.limiter.admit(source, now / 1_000_000_000, self.chosen);
        let Some(query_len) = self.admitted(wants, frame) else { return false };
        self.header = Header { query_ns: now, query_len, ..Header::frames(wants) };
        true
    }

    /// Takes a sampled kernel-socket query from `client` that reached `server`.
    #[cold]
    pub fn take_message(&mut self, query: &[u8], tcp: bool, client: SocketAddr, server: SocketAddr) -> bool {
        let now = now_ns();
        let key = match client.ip() {
            std::net::IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
            std::net::IpAddr::V6(v6) => v6.octets(),
        };
        let wants = self.limiter.admit(key, now / 1_000_000_000, self.chosen);
        let Some(query_len) = self.admitted(wants, query) else { return false };
        self.header =
            Header { source: Source::Messages, tcp, client, server, query_ns: now, query_len, ..Header::frames(wants) };
        true
    }

    /// Takes a tier-0 exchange read from the XDP program's ring: its query
    /// from `client` to `server`, answered at `ns` (Unix nanoseconds).
    /// Finish it with [`Tap::complete_at`].
    pub fn take_exchange(&mut self, query: &[u8], client: SocketAddr, server: SocketAddr, ns: u64) -> bool {
        let key = match client.ip() {
            std::net::IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
            std::net::IpAddr::V6(v6) => v6.octets(),
        };
        let wants = self.limiter.admit(key, ns / 1_000_000_000, self.chosen);
        let Some(query_len) = self.admitted(wants, query) else { return false };
        self.header =
            Header { source: Source::Tier0, client, server, query_ns: ns, query_len, ..Header::frames(wants) };
        true
    }

    /// Starts the record with the query if some output still wants it;
    /// returns the query's length.
    fn admitted(&mut self, wants: u8, query: &[u8]) -> Option<u16> {
        if wants == 0 {
            self.counts.rate_limited += 1;
            return None;
        }
        let len = u16::try_from(query.len()).ok()?;
        self.record.clear();
        self.record.resize(HEADER_LEN, 0);
        self.record.extend_from_slice(query);
        Some(len)
    }

    /// Finishes the taken query with its response (`None`: nothing was
    /// sent) and pushes the record; a full ring drops it.
    #[cold]
    pub fn complete(&mut self, response: Option<&[u8]>) {
        self.complete_at(response, now_ns());
    }

    /// [`Tap::complete`] with the response's time given (Unix nanoseconds).
    pub fn complete_at(&mut self, response: Option<&[u8]>, ns: u64) {
        let mut header = self.header;
        header.response_ns = ns;
        let response = response.unwrap_or_default();
        header.response_len = u16::try_from(response.len()).unwrap_or(0);
        if header.response_len > 0 {
            self.record.extend_from_slice(response);
        }
        let Some(room) = self.record.first_chunk_mut::<HEADER_LEN>() else { return };
        header.write(room);
        if ring::push(&mut self.ring, &self.record) {
            self.counts.pushed += 1;
        } else {
            self.counts.dropped_full += 1;
        }
    }

    /// Makes the counters visible to the capture's readers.
    pub fn publish(&self) {
        let c = &self.counts;
        let p = &self.published;
        p.seen.store(self.samplers.seen(), Ordering::Relaxed);
        p.pushed.store(c.pushed, Ordering::Relaxed);
        p.dropped_full.store(c.dropped_full, Ordering::Relaxed);
        p.rate_limited.store(c.rate_limited, Ordering::Relaxed);
    }

    #[cfg(test)]
    pub fn counts(&self) -> TapCounts {
        TapCounts { seen: self.samplers.seen(), ..self.counts }
    }
}

/// A serving thread's tap, or [`NoTap`]. Handlers are generic over it, so
/// one built without capture has a constant `None` where the sampling
/// would be, and compiles to what it was before capture existed.
pub trait MaybeTap: Send + 'static {
    /// The tap if this packet is sampled ([`Tap::sample`]).
    fn sampled(&mut self) -> Option<&mut Tap>;

    /// [`Tap::publish`].
    fn publish(&self);
}

/// No capture.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoTap;

impl MaybeTap for NoTap {
    #[inline(always)]
    fn sampled(&mut self) -> Option<&mut Tap> {
        None
    }

    #[inline(always)]
    fn publish(&self) {}
}

impl MaybeTap for Tap {
    #[inline(always)]
    fn sampled(&mut self) -> Option<&mut Tap> {
        if self.sample() {
            Some(self)
        } else {
            None
        }
    }

    fn publish(&self) {
        Tap::publish(self);
    }
}

/// The source address of an IP frame, as 16 bytes (IPv4 mapped).
fn frame_source(frame: &[u8]) -> Option<[u8; 16]> {
    let l3 = ethernet::layer3(frame)?;
    let packet = frame.get(l3.offset..)?;
    match l3.ethertype {
        0x0800 => Some(std::net::Ipv4Addr::from(ipv4::Header::new_checked(packet)?.src()).to_ipv6_mapped().octets()),
        0x86dd => Some(ipv6::Header::new_checked(packet)?.src()),
        _ => None,
    }
}

fn now_ns() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::ring::{ring, RecordReader};

    fn tap(config: TapConfig, ring_bytes: usize) -> (Tap, RecordReader) {
        let (producer, reader) = ring(ring_bytes);
        (Tap::new(config, producer, Arc::default()), reader)
    }

    fn client(n: u8) -> SocketAddr {
        SocketAddr::from(([198, 18, 1, n], 4000))
    }

    const SERVER: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::new(198, 18, 0, 1)), 53);

    /// What a serving thread does per query.
    fn serve(tap: &mut Tap, from: SocketAddr) {
        if tap.sample() && tap.take_message(b"query", false, from, SERVER) {
            tap.complete(Some(b"response!"));
        }
    }

    #[test]
    fn one_in_n_per_output_and_the_union_is_captured() {
        let config = TapConfig { dnstap_every: 10, pcap_every: 4, ..TapConfig::default() };
        let (mut tap, mut reader) = tap(config, 1 << 20);
        for _ in 0..1000 {
            serve(&mut tap, client(1));
        }
        let mut buf = Vec::new();
        let (mut dnstap, mut pcap, mut records) = (0, 0, 0);
        while reader.next(&mut buf) {
            let h = Header::read(buf.first_chunk().unwrap());
            assert_eq!((h.client, h.server, h.query_len, h.response_len), (client(1), SERVER, 5, 9));
            assert_eq!(&buf[HEADER_LEN..], b"queryresponse!");
            assert!(h.response_ns >= h.query_ns);
            dnstap += usize::from(h.wants & WANT_DNSTAP != 0);
            pcap += usize::from(h.wants & WANT_PCAP != 0);
            records += 1;
        }
        // 100 for dnstap, 250 for pcap, 50 of them the same packet.
        assert_eq!((dnstap, pcap, records), (100, 250, 300));
        let c = tap.counts();
        assert_eq!((c.seen, c.pushed, c.sampled_out(), c.dropped_full, c.rate_limited), (1000, 300, 700, 0, 0));
    }

    #[test]
    fn the_shared_countdown_takes_each_output_one_in_n_and_counts_every_packet() {
        for (dnstap, pcap) in [(1, 0), (0, 7), (3, 5), (10, 10), (6, 4), (1, 1), (0, 0)] {
            let mut s = Samplers::new(dnstap, pcap);
            for n in 1..=1000u64 {
                let chosen = s.tick();
                for (i, (every, bit)) in [(dnstap, WANT_DNSTAP), (pcap, WANT_PCAP)].into_iter().enumerate() {
                    let due = every != 0 && n % u64::from(every) == 0;
                    assert_eq!(chosen & bit != 0, due, "{dnstap}/{pcap}: packet {n}, output {i}");
                }
                assert_eq!(s.seen(), n);
            }
        }
    }

    #[test]
    fn a_full_ring_drops_and_counts_without_waiting() {
        let config = TapConfig { dnstap_every: 1, ..TapConfig::default() };
        // Room for 3 records of 64 + 14 bytes; nobody reads.
        let (mut tap, _reader) = tap(config, 3 * 78 + 10);
        for _ in 0..100 {
            serve(&mut tap, client(1));
        }
        let c = tap.counts();
        assert_eq!((c.pushed, c.dropped_full, c.sampled_out()), (3, 97, 0));
        tap.publish();
        assert_eq!(tap.published.snapshot(), c);
    }

    #[test]
    fn the_source_cap_holds_one_source_back_and_not_another() {
        let config = TapConfig { dnstap_every: 1, dnstap_source_rate: 5, pcap_every: 0, pcap_source_rate: 0 };
        let (mut tap, _reader) = tap(config, 1 << 20);
        // Within one second (a test run crossing a second boundary gets at
        // most one fresh allowance of 5).
        for _ in 0..50 {
            serve(&mut tap, client(1));
        }
        serve(&mut tap, client(2));
        let c = tap.counts();
        assert!((6..=11).contains(&c.pushed), "{c:?}");
        assert_eq!(c.rate_limited + c.pushed, 51);
    }

    #[test]
    fn frames_are_keyed_by_their_ip_source() {
        let mut v4 = vec![0u8; 14 + 20];
        v4[12..14].copy_from_slice(&[0x08, 0x00]);
        v4[14] = 0x45;
        v4[14 + 12..14 + 16].copy_from_slice(&[198, 18, 0, 2]);
        let mapped = std::net::Ipv4Addr::new(198, 18, 0, 2).to_ipv6_mapped().octets();
        assert_eq!(frame_source(&v4), Some(mapped));
        v4[12] = 0x86; // ARP-like garbage
        assert_eq!(frame_source(&v4), None);
        assert_eq!(frame_source(&[]), None);
    }
}
