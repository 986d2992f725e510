//! Capture of the answers the program gives itself (`ebpf/tier0_capture.h`):
//! its ring buffer's records read back, and the thread that reads them into
//! the capture's outputs as a worker's tap would.
//!
//! The program samples 1-in-K of its answers per CPU (K: [`kernel_every`]);
//! the reader's [`Tap`] takes 1-in-(N/K) of those for each output sampling
//! 1-in-N, with the outputs' per-source caps, so each output gets exactly
//! its share of every CPU's answers.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use aya::maps::{MapData, PerCpuArray, RingBuf};
use aya::Ebpf;

use crate::capture::{Tap, TapConfig};
use crate::xdp::program::XdpProgramError;

/// `T0_CAP_QUERY_MAX`, `T0_CAP_RESPONSE_MAX` (xdp_dns.h).
pub const QUERY_MAX: usize = 96;
pub const RESPONSE_MAX: usize = 1312;
/// Where `query` starts in `struct t0_capture_record`, then `response`.
const QUERY_AT: usize = 56;
const RESPONSE_AT: usize = QUERY_AT + QUERY_MAX;
const RECORD_LEN: usize = RESPONSE_AT + RESPONSE_MAX;
const QUERY_CUT: u8 = 1;
const RESPONSE_CUT: u8 = 2;

/// How often the reader drains the ring. The program sends no wakeups (each
/// would cost it an irq_work), so the reader polls; the ring holds what
/// arrives meanwhile.
const POLL_INTERVAL: Duration = Duration::from_millis(10);

/// What the loader asks of the program.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CaptureSettings {
    /// 1-in-K of each CPU's tier-0 answers go to the ring (K >= 1).
    pub every: u32,
    /// The ring's bytes: a power of two, at least a page (the loader
    /// rounds).
    pub ring_bytes: u32,
}

/// The program's sampling for outputs sampling 1-in-`dnstap` and
/// 1-in-`pcap` (0: off): their greatest common divisor, so that each is a
/// whole multiple of it. `None` when both are off.
pub fn kernel_every(dnstap: u32, pcap: u32) -> Option<u32> {
    match (dnstap, pcap) {
        (0, 0) => None,
        (a, 0) | (0, a) => Some(a),
        (mut a, mut b) => {
            while b != 0 {
                (a, b) = (b, a % b);
            }
            Some(a)
        }
    }
}

/// The reader's tap configuration for `config`, whose outputs the program
/// already sampled 1-in-`every`.
pub fn reader_tap_config(config: TapConfig, every: u32) -> TapConfig {
    let every = every.max(1);
    TapConfig { dnstap_every: config.dnstap_every / every, pcap_every: config.pcap_every / every, ..config }
}

/// A ring size the kernel takes: a power of two and a multiple of the page.
pub fn ring_size(bytes: usize) -> u32 {
    let page = page_size();
    let bytes = bytes.clamp(page, 1 << 30);
    u32::try_from(bytes.next_power_of_two()).unwrap_or(1 << 30)
}

pub(crate) fn page_size() -> usize {
    // SAFETY: sysconf reads a constant of the system; no memory is passed.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(page).ok().filter(|p| p.is_power_of_two()).unwrap_or(4096)
}

/// One record, read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record<'a> {
    /// CLOCK_MONOTONIC nanoseconds of the answer.
    pub monotonic_ns: u64,
    pub client: SocketAddr,
    pub server: SocketAddr,
    pub query: &'a [u8],
    pub response: &'a [u8],
    /// The query or the response was longer than the record holds.
    pub cut: bool,
}

/// `None` for bytes that are not a whole record (a program and loader out
/// of step): skipped, never half-read.
pub fn decode(bytes: &[u8]) -> Option<Record<'_>> {
    let u16_ne = |at: usize| Some(u16::from_ne_bytes(bytes.get(at..at + 2)?.try_into().ok()?));
    let u16_be = |at: usize| Some(u16::from_be_bytes(bytes.get(at..at + 2)?.try_into().ok()?));
    let monotonic_ns = u64::from_ne_bytes(bytes.get(0..8)?.try_into().ok()?);
    let v6 = *bytes.get(44)? != 0;
    let flags = *bytes.get(45)?;
    let address = |at: usize| -> Option<IpAddr> {
        let raw: [u8; 16] = bytes.get(at..at + 16)?.try_into().ok()?;
        Some(if v6 { Ipv6Addr::from(raw).into() } else { Ipv4Addr::new(raw[0], raw[1], raw[2], raw[3]).into() })
    };
    let (query_len, response_len) = (usize::from(u16_ne(46)?), usize::from(u16_ne(48)?));
    if query_len > QUERY_MAX || response_len > RESPONSE_MAX {
        return None;
    }
    Some(Record {
        monotonic_ns,
        client: SocketAddr::new(address(8)?, u16_be(40)?),
        server: SocketAddr::new(address(24)?, u16_be(42)?),
        query: bytes.get(QUERY_AT..QUERY_AT + query_len)?,
        response: bytes.get(RESPONSE_AT..RESPONSE_AT + response_len)?,
        cut: flags & (QUERY_CUT | RESPONSE_CUT) != 0,
    })
}

/// `struct t0_capture_cpu`: one CPU's sampler, losses and record in the making.
#[derive(Clone, Copy)]
#[repr(C)]
pub struct CpuCells {
    pub tick: u64,
    /// Records the ring had no room for.
    pub lost: u64,
    record: [u8; RECORD_LEN],
}

// SAFETY: two u64 then bytes, a multiple of 8 long (no padding), valid for
// any bit pattern: what aya::Pod asks for copying from the kernel.
unsafe impl aya::Pod for CpuCells {}
const _: () = assert!(RECORD_LEN.is_multiple_of(8) && std::mem::size_of::<CpuCells>() == 16 + RECORD_LEN);

/// The program's capture maps: the ring, taken by the reader, and the
/// per-CPU cells, where the losses are counted.
pub struct Tier0CaptureMaps {
    pub(crate) ring: Option<RingBuf<MapData>>,
    cells: PerCpuArray<MapData, CpuCells>,
}

impl Tier0CaptureMaps {
    pub(crate) fn take(ebpf: &mut Ebpf) -> Result<Tier0CaptureMaps, XdpProgramError> {
        let mismatch = |detail: String| XdpProgramError::ObjectMismatch { detail };
        let ring = ebpf.take_map("t0_capture").ok_or_else(|| mismatch("no map `t0_capture`".into()))?;
        let ring = RingBuf::try_from(ring).map_err(|e| mismatch(format!("map `t0_capture`: {e}")))?;
        let cells = ebpf.take_map("t0_capture_cpu").ok_or_else(|| mismatch("no map `t0_capture_cpu`".into()))?;
        let cells = PerCpuArray::try_from(cells).map_err(|e| mismatch(format!("map `t0_capture_cpu`: {e}")))?;
        Ok(Tier0CaptureMaps { ring: Some(ring), cells })
    }

    /// Records lost because the ring was full, summed over CPUs.
    pub fn lost(&self) -> Result<u64, XdpProgramError> {
        let per_cpu = self
            .cells
            .get(&0, 0)
            .map_err(|source| XdpProgramError::Map { action: "reading the tier-0 capture losses", source })?;
        Ok(per_cpu.iter().fold(0u64, |sum, c| sum.wrapping_add(c.lost)))
    }
}

/// Reads every record the ring holds now, oldest first, into `each`.
pub fn drain(ring: &mut RingBuf<MapData>, mut each: impl FnMut(&[u8])) -> usize {
    let mut n = 0;
    while let Some(item) = ring.next() {
        each(&item);
        n += 1;
    }
    n
}

/// The reader thread: drains the ring every [`POLL_INTERVAL`] into `tap`,
/// marked as tier 0's, and stops (after a last drain) when dropped.
pub struct Tier0CaptureReader {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Tier0CaptureReader {
    pub fn start(mut ring: RingBuf<MapData>, mut tap: Tap) -> Result<Tier0CaptureReader, String> {
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let stop = Arc::clone(&stop);
            std::thread::Builder::new()
                .name("tier0-capture".into())
                .spawn(move || loop {
                    let stopping = stop.load(Ordering::Acquire);
                    let clock = WallClock::now();
                    drain(&mut ring, |bytes| take(&mut tap, &clock, bytes));
                    tap.publish();
                    if stopping {
                        break;
                    }
                    std::thread::sleep(POLL_INTERVAL);
                })
                .map_err(|e| format!("cannot start the tier-0 capture thread: {e}"))?
        };
        Ok(Tier0CaptureReader { stop, thread: Some(thread) })
    }
}

impl Drop for Tier0CaptureReader {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(thread) = self.thread.take() {
            if thread.join().is_err() {
                tracing::error!("the tier-0 capture thread panicked");
            }
        }
    }
}

/// One ring record into the tap, if its samplers and caps take it.
fn take(tap: &mut Tap, clock: &WallClock, bytes: &[u8]) {
    let Some(r) = decode(bytes) else {
        tracing::debug!(len = bytes.len(), "tier-0 capture: a record of the wrong shape, skipped");
        return;
    };
    if !tap.sample() {
        return;
    }
    let ns = clock.wall_ns(r.monotonic_ns);
    if tap.take_exchange(r.query, r.client, r.server, ns) {
        tap.complete_at(Some(r.response), ns);
    }
}

/// CLOCK_MONOTONIC (the program's `bpf_ktime_get_ns`) to Unix time: the
/// two clocks read together, their difference added. Read again each pass,
/// so a step of the wall clock shows within one.
#[derive(Debug, Clone, Copy)]
pub struct WallClock {
    offset_ns: i128,
}

impl WallClock {
    pub fn now() -> WallClock {
        let wall = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as i128)
            .unwrap_or(0);
        WallClock { offset_ns: wall - i128::from(monotonic_ns()) }
    }

    pub fn wall_ns(&self, monotonic: u64) -> u64 {
        u64::try_from(i128::from(monotonic) + self.offset_ns).unwrap_or(0)
    }
}

/// CLOCK_MONOTONIC now, in nanoseconds.
pub fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes one timespec to the valid pointer given.
    if unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) } != 0 {
        return 0;
    }
    u64::try_from(ts.tv_sec).unwrap_or(0) * 1_000_000_000 + u64::try_from(ts.tv_nsec).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn define(name: &str) -> usize {
        let header = include_str!("../../../../ebpf/xdp_dns.h");
        let line = header
            .lines()
            .find(|l| l.starts_with(&format!("#define {name} ")))
            .unwrap_or_else(|| panic!("{name} missing from xdp_dns.h"));
        line[format!("#define {name} ").len()..].split_whitespace().next().unwrap().parse().unwrap()
    }

    #[test]
    fn the_layout_is_the_c_headers() {
        assert_eq!(define("T0_CAP_QUERY_MAX"), QUERY_MAX);
        assert_eq!(define("T0_CAP_RESPONSE_MAX"), RESPONSE_MAX);
        assert_eq!(define("T0_CAP_QUERY_CUT"), usize::from(QUERY_CUT));
        assert_eq!(define("T0_CAP_RESPONSE_CUT"), usize::from(RESPONSE_CUT));
        // A tier-0 query and answer always fit.
        assert!(QUERY_MAX >= 12 + define("T0_NAME_MAX") + 4 + 11);
        assert_eq!(RESPONSE_MAX, 12 + define("T0_NAME_MAX") + 4 + define("T0_ANSWER_MAX"));
        assert_eq!(std::mem::size_of::<CpuCells>(), 16 + RECORD_LEN);
        assert_eq!(RECORD_LEN % 8, 0);
    }

    fn record(v6: bool, query: &[u8], response: &[u8], flags: u8) -> Vec<u8> {
        let mut r = vec![0u8; RESPONSE_AT + response.len()];
        r[0..8].copy_from_slice(&77u64.to_ne_bytes());
        if v6 {
            r[8..24].copy_from_slice(&"fd00::2".parse::<Ipv6Addr>().unwrap().octets());
            r[24..40].copy_from_slice(&"fd00::1".parse::<Ipv6Addr>().unwrap().octets());
        } else {
            r[8..12].copy_from_slice(&[198, 18, 0, 2]);
            r[24..28].copy_from_slice(&[198, 18, 0, 1]);
        }
        r[40..42].copy_from_slice(&4321u16.to_be_bytes());
        r[42..44].copy_from_slice(&53u16.to_be_bytes());
        r[44] = u8::from(v6);
        r[45] = flags;
        r[46..48].copy_from_slice(&(query.len() as u16).to_ne_bytes());
        r[48..50].copy_from_slice(&(response.len() as u16).to_ne_bytes());
        r[QUERY_AT..QUERY_AT + query.len()].copy_from_slice(query);
        r[RESPONSE_AT..].copy_from_slice(response);
        r
    }

    #[test]
    fn records_read_back_with_addresses_ports_and_messages() {
        let r = record(false, b"query", b"the response", 0);
        let d = decode(&r).unwrap();
        assert_eq!(d.client, "198.18.0.2:4321".parse().unwrap());
        assert_eq!(d.server, "198.18.0.1:53".parse().unwrap());
        assert_eq!((d.query, d.response, d.monotonic_ns, d.cut), (&b"query"[..], &b"the response"[..], 77, false));
        let r = record(true, b"q6", b"r6", RESPONSE_CUT);
        let d = decode(&r).unwrap();
        assert_eq!(d.client, "[fd00::2]:4321".parse().unwrap());
        assert_eq!(d.server, "[fd00::1]:53".parse().unwrap());
        assert!(d.cut);
    }

    #[test]
    fn short_or_inconsistent_records_are_skipped() {
        let r = record(false, b"query", b"the response", 0);
        assert_eq!(decode(&r[..r.len() - 1]), None);
        assert_eq!(decode(&r[..40]), None);
        let mut long = r.clone();
        long[46..48].copy_from_slice(&(QUERY_MAX as u16 + 1).to_ne_bytes());
        assert_eq!(decode(&long), None);
    }

    #[test]
    fn the_program_samples_the_outputs_common_divisor() {
        assert_eq!(kernel_every(0, 0), None);
        assert_eq!(kernel_every(100, 0), Some(100));
        assert_eq!(kernel_every(0, 7), Some(7));
        assert_eq!(kernel_every(100, 1000), Some(100));
        assert_eq!(kernel_every(6, 4), Some(2));
        let c = reader_tap_config(TapConfig { dnstap_every: 6, pcap_every: 4, ..TapConfig::default() }, 2);
        assert_eq!((c.dnstap_every, c.pcap_every), (3, 2));
        let c = reader_tap_config(TapConfig { dnstap_every: 100, ..TapConfig::default() }, 100);
        assert_eq!((c.dnstap_every, c.pcap_every), (1, 0));
    }

    #[test]
    fn ring_sizes_are_powers_of_two_of_at_least_a_page() {
        let page = page_size() as u32;
        assert_eq!(ring_size(0), page);
        assert_eq!(ring_size(1 << 20), 1 << 20);
        assert_eq!(ring_size((1 << 20) + 1), 1 << 21);
    }

    #[test]
    fn the_wall_clock_follows_the_monotonic_one() {
        let clock = WallClock::now();
        let wall = clock.wall_ns(monotonic_ns());
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64;
        assert!(now.abs_diff(wall) < 1_000_000_000, "{now} {wall}");
    }
}
