//! Query capture: sampled queries and their responses, from the XDP workers,
//! the kernel-socket threads and the XDP program's own answers (tier 0,
//! read from its ring buffer by `xdp::tier0::capture` into a tap of its
//! own), written as dnstap (AUTH_QUERY and AUTH_RESPONSE over Frame
//! Streams, to a unix socket or a file) and as a pcap file.
//!
//! - [`tap`]: what a serving thread calls per packet: 1-in-N sampling per
//!   output, a per-source rate cap, the copy of query and response.
//! - [`ring`]: the bounded lock-free ring from each thread to the capture
//!   thread; a full ring drops (and counts), never waits.
//! - [`writer`]: the capture thread, which alone makes system calls;
//!   [`pace`]: when it makes its next pass.
//! - [`exchange`]: a ring record read back (addresses from XDP frames).
//! - [`dnstap`], [`proto`], [`fstrm`], [`sink`]: dnstap messages, their
//!   protobuf, Frame Streams, and the socket or file they go to.
//! - [`pcap`]: the pcap file.
//!
//! With capture off nothing of this is in the serving path: the XDP handler
//! is built without a tap (a type whose sampling is a constant `false`) and
//! the kernel-socket sessions hold none.

pub mod dnstap;
pub mod exchange;
pub mod fstrm;
mod pace;
pub mod pcap;
pub mod proto;
pub mod ring;
pub mod sink;
pub mod tap;
mod writer;

use std::fs::File;
use std::io::BufWriter;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

pub use self::sink::DnstapSink;
pub use self::tap::{MaybeTap, NoTap, Tap, TapConfig, TapCounters, TapCounts};

/// Default bytes of each serving thread's ring: a few thousand exchanges,
/// a second of 1-in-1 capture on a busy kernel-socket thread.
pub const DEFAULT_RING_BYTES: usize = 1 << 20;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnstapConfig {
    pub sink: DnstapSink,
    /// 1-in-N; 1 captures every query.
    pub sample: u32,
    /// Most exchanges per client address and second per thread; 0: no cap.
    pub source_rate: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PcapConfig {
    pub file: PathBuf,
    pub sample: u32,
    pub source_rate: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaptureConfig {
    pub dnstap: Option<DnstapConfig>,
    pub pcap: Option<PcapConfig>,
    /// dnstap's `identity` field (the server's name).
    pub identity: Option<String>,
    pub ring_bytes: usize,
}

impl CaptureConfig {
    pub fn is_on(&self) -> bool {
        self.dnstap.is_some() || self.pcap.is_some()
    }

    /// `dnstap unix:/run/d.sock 1-in-100; pcap q.pcap 1-in-1000`, or `off`.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(d) = &self.dnstap {
            parts.push(format!("dnstap {} 1-in-{}{}", d.sink, d.sample, cap(d.source_rate)));
        }
        if let Some(p) = &self.pcap {
            parts.push(format!("pcap {} 1-in-{}{}", p.file.display(), p.sample, cap(p.source_rate)));
        }
        if parts.is_empty() {
            "off".into()
        } else {
            parts.join("; ")
        }
    }
}

fn cap(rate: u32) -> String {
    if rate == 0 {
        String::new()
    } else {
        format!(" (at most {rate}/s per client per thread)")
    }
}

/// The capture's counters, by what became of each query a tap saw.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CaptureCounters {
    /// Written to every output that sampled it.
    pub written: u64,
    /// Lost because the serving thread's ring was full.
    pub dropped_full: u64,
    /// Not sampled by any output (or not a DNS query).
    pub sampled_out: u64,
    /// Sampled, but its client was over the per-source cap.
    pub rate_limited: u64,
    /// Sampled and taken, but an output could not take it (no dnstap
    /// reader connected, a write that failed).
    pub dropped_sink: u64,
}

impl CaptureCounters {
    pub const OUTCOMES: [&'static str; 5] = ["written", "dropped_full", "sampled_out", "rate_limited", "dropped_sink"];

    pub fn outcomes(&self) -> [u64; 5] {
        [self.written, self.dropped_full, self.sampled_out, self.rate_limited, self.dropped_sink]
    }
}

/// A running capture: its thread, and the taps it hands out.
pub struct Capture {
    config: CaptureConfig,
    shared: Arc<writer::Shared>,
    taps: Mutex<Vec<Arc<TapCounters>>>,
    stop: Arc<AtomicBool>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Capture {
    /// Opens the outputs (a file that cannot be created is an error; a
    /// dnstap socket without a reader is not: it is tried again every
    /// second) and starts the capture thread.
    pub fn start(config: CaptureConfig) -> Result<Capture, String> {
        for (what, sample) in
            [("dnstap", config.dnstap.as_ref().map(|d| d.sample)), ("pcap", config.pcap.as_ref().map(|p| p.sample))]
        {
            if sample == Some(0) {
                return Err(format!("{what} sample 0: give N >= 1 (1 captures every query, N one query in N)"));
            }
        }
        let dnstap = match &config.dnstap {
            Some(d) => {
                let output = sink::DnstapOutput::open(d.sink.clone()).map_err(|e| e.to_string())?;
                let writer = dnstap::Writer::new(
                    config.identity.clone().map(String::into_bytes),
                    format!("responder {}", env!("CARGO_PKG_VERSION")).into_bytes(),
                );
                Some((output, writer))
            }
            None => None,
        };
        let pcap = match &config.pcap {
            Some(p) => {
                let file = File::create(&p.file)
                    .map_err(|e| format!("cannot create the pcap file {}: {e}", p.file.display()))?;
                Some(pcap::PcapWriter::new(BufWriter::new(file)).map_err(|e| e.to_string())?)
            }
            None => None,
        };
        let shared = Arc::new(writer::Shared::default());
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (shared, stop) = (Arc::clone(&shared), Arc::clone(&stop));
            let outputs = writer::Outputs { dnstap, pcap };
            std::thread::Builder::new()
                .name("capture".into())
                .spawn(move || writer::run(&shared, outputs, &stop))
                .map_err(|e| format!("cannot start the capture thread: {e}"))?
        };
        Ok(Capture { config, shared, taps: Mutex::default(), stop, thread: Mutex::new(Some(thread)) })
    }

    pub fn config(&self) -> &CaptureConfig {
        &self.config
    }

    /// A tap for one more serving thread, with its own ring.
    pub fn tap(&self) -> Tap {
        self.tap_with(self.tap_config())
    }

    /// The sampling and caps the outputs ask for.
    pub fn tap_config(&self) -> TapConfig {
        let c = &self.config;
        TapConfig {
            dnstap_every: c.dnstap.as_ref().map_or(0, |d| d.sample),
            dnstap_source_rate: c.dnstap.as_ref().map_or(0, |d| d.source_rate),
            pcap_every: c.pcap.as_ref().map_or(0, |p| p.sample),
            pcap_source_rate: c.pcap.as_ref().map_or(0, |p| p.source_rate),
        }
    }

    /// A tap with its own ring and `config`: for the tier-0 reader, whose
    /// records the XDP program sampled already.
    pub fn tap_with(&self, config: TapConfig) -> Tap {
        let (producer, reader) = ring::ring(self.config.ring_bytes);
        self.shared.new_readers.lock().unwrap_or_else(|e| e.into_inner()).push(reader);
        let counters = Arc::new(TapCounters::default());
        self.taps.lock().unwrap_or_else(|e| e.into_inner()).push(Arc::clone(&counters));
        Tap::new(config, producer, counters)
    }

    pub fn counters(&self) -> CaptureCounters {
        let mut taps = TapCounts::default();
        for t in self.taps.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            taps.add(&t.snapshot());
        }
        // Records pushed and not yet written are in none of the outcomes.
        CaptureCounters {
            written: self.shared.written.load(Ordering::Relaxed),
            dropped_full: taps.dropped_full,
            sampled_out: taps.sampled_out(),
            rate_limited: taps.rate_limited,
            dropped_sink: self.shared.dropped_sink.load(Ordering::Relaxed),
        }
    }

    /// Writes what the rings still hold, ends the outputs and joins the
    /// thread. Call after the serving threads stopped.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Release);
        if let Some(thread) = self.thread.lock().unwrap_or_else(|e| e.into_inner()).take() {
            if thread.join().is_err() {
                tracing::error!("the capture thread panicked");
            }
        }
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        self.stop();
    }
}
