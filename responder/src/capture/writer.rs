//! The capture thread: drains every serving thread's ring, turns each
//! record into dnstap messages and pcap packets, and writes them once per
//! pass. All system calls of the capture happen here, none on the workers.
//! Passes run on the cadence of [`pace`], so a pass's wake-up and `write`
//! are shared by all the records since the last one.

use std::fs::File;
use std::io::BufWriter;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::dnstap::Writer as DnstapWriter;
use super::exchange::{self, Exchange};
use super::pace::{self, Pass, PASS_INTERVAL};
use super::pcap::PcapWriter;
use super::ring::{RecordReader, WANT_DNSTAP, WANT_PCAP};
use super::sink::DnstapOutput;

/// Most records taken from one ring per pass, so a busy ring cannot keep
/// the others waiting.
const RECORDS_PER_RING: usize = 4096;

/// What the serving threads and the capture thread share.
#[derive(Default)]
pub struct Shared {
    /// Rings of threads started since the last pass.
    pub new_readers: Mutex<Vec<RecordReader>>,
    pub written: AtomicU64,
    pub dropped_sink: AtomicU64,
}

pub struct Outputs {
    pub dnstap: Option<(DnstapOutput, DnstapWriter)>,
    pub pcap: Option<PcapWriter<BufWriter<File>>>,
}

pub fn run(shared: &Shared, mut outputs: Outputs, stop: &AtomicBool) {
    let mut readers: Vec<RecordReader> = Vec::new();
    let mut record = Vec::new();
    // The outputs each record of this pass wants, known to be ready for it.
    let mut pass: Vec<u8> = Vec::new();
    let mut last_start = Instant::now();
    loop {
        let start = Instant::now();
        let stopping = stop.load(Ordering::Acquire);
        readers.append(&mut shared.new_readers.lock().unwrap_or_else(|e| e.into_inner()));
        let dnstap_ready = outputs.dnstap.as_mut().is_some_and(|(o, _)| o.ready());
        let mut lost = 0u64;
        let (mut fullest, mut quota_hit) = (0f64, false);
        for reader in &mut readers {
            fullest = fullest.max(reader.fill());
            let mut taken = 0;
            while taken < RECORDS_PER_RING && reader.next(&mut record) {
                taken += 1;
                let Some(e) = exchange::decode(&record) else {
                    lost += 1;
                    continue;
                };
                if e.wants & WANT_DNSTAP != 0 && !dnstap_ready {
                    lost += 1;
                    continue;
                }
                if outputs.write(&e) {
                    pass.push(e.wants);
                } else {
                    lost += 1;
                }
            }
            quota_hit |= taken == RECORDS_PER_RING && reader.fill() > 0.0;
        }
        readers.retain(|r| !r.finished());
        let failed = outputs.flush();
        let written = pass.iter().filter(|&&w| w & failed == 0).count() as u64;
        lost += pass.len() as u64 - written;
        shared.written.fetch_add(written, Ordering::Relaxed);
        shared.dropped_sink.fetch_add(lost, Ordering::Relaxed);
        let idle = pass.is_empty() && lost == 0;
        pass.clear();
        if stopping && idle {
            break;
        }
        let report = Pass { since_last: start - last_start, took: start.elapsed(), fullest, quota_hit };
        last_start = start;
        // Stopping: the rest is drained at once, not an interval later.
        let wait = if stopping { Duration::ZERO } else { pace::wait(&report, PASS_INTERVAL) };
        if !wait.is_zero() {
            std::thread::sleep(wait);
        }
    }
    if let Some((output, _)) = outputs.dnstap {
        output.close();
    }
    if let Some(mut pcap) = outputs.pcap {
        let _ = pcap.flush();
    }
}

impl Outputs {
    /// Adds `e` to the outputs that want it; false if one failed to take it.
    fn write(&mut self, e: &Exchange) -> bool {
        if e.wants & WANT_DNSTAP != 0 {
            if let Some((output, writer)) = &mut self.dnstap {
                writer.encode(e, output.frames());
            }
        }
        if e.wants & WANT_PCAP != 0 {
            if let Some(pcap) = &mut self.pcap {
                if pcap.write(e).is_err() {
                    return false;
                }
            }
        }
        true
    }

    /// Writes the pass out; returns the outputs that lost it.
    fn flush(&mut self) -> u8 {
        let mut failed = 0;
        if let Some((output, _)) = &mut self.dnstap {
            if !output.flush() {
                failed |= WANT_DNSTAP;
            }
        }
        if let Some(pcap) = &mut self.pcap {
            if let Err(e) = pcap.flush() {
                tracing::error!(error = %e, "pcap: cannot write the file");
                failed |= WANT_PCAP;
            }
        }
        failed
    }
}
