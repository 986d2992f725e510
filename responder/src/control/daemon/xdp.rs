//! Starting and stopping the AF_XDP data plane from `serve`.

use std::time::Duration;

use super::runtime::Runtime;
use crate::capture::{Capture, MaybeTap};
use crate::control::cli::ServeArgs;
use crate::engine::live::SharedEngine;
use crate::engine::policy::Policy;
use crate::stats::{Breakdowns, Where};
use crate::xdp::plane::{DataPlane, DataPlaneConfig};
use crate::xdp::program::SteeringConfig;
use crate::xdp::socket::BusyPoll;
use crate::xdp::tier0::capture::{self, CaptureSettings, Tier0CaptureReader};
use crate::xdp::tier0::learn::{Board, MaybeSampler};
use crate::xdp::worker::QueueStats;
use crate::xdp::EngineHandler;

/// Packets per busy poll, in the range Knot advises (8–64).
const BUSY_POLL_BUDGET: u32 = 64;

/// The data plane configuration `serve` asks for. `--listen` addresses become
/// the steering program's listen addresses (a wildcard address means every
/// address the interface has of its family), and their ports the steered
/// ports unless --xdp-port names them.
pub fn config(args: &ServeArgs) -> DataPlaneConfig {
    let x = &args.xdp;
    let mut config = DataPlaneConfig::new(x.iface.clone().unwrap_or_default());
    config.queues = x.queues.clone();
    config.cpus = x.cpus.clone();
    config.xdp_mode = x.xdp_mode;
    config.zero_copy = x.zero_copy;
    config.frame_count = x.frames;
    config.frame_size = x.frame_size;
    config.ring_size = x.ring_size;
    config.batch = x.batch;
    config.busy_poll = x.busy_poll.map(|usecs| BusyPoll { usecs, budget: BUSY_POLL_BUDGET });
    let mut ports: Vec<u16> =
        if x.ports.is_empty() { args.listen.iter().map(|a| a.port()).collect() } else { x.ports.clone() };
    if ports.is_empty() {
        ports.push(53);
    }
    ports.sort_unstable();
    ports.dedup();
    let mut addrs: Vec<_> = args.listen.iter().map(|a| a.ip()).collect();
    addrs.sort_unstable();
    addrs.dedup();
    let stall_threshold = Duration::from_millis(x.stall_threshold);
    let tier0 = super::tier0::wanted(args);
    // The workers' limits, for the answers the program gives itself.
    let rrl = super::serve::rrl_config(&args.rrl).filter(|_| tier0);
    let capture = tier0_capture_settings(args).filter(|_| tier0);
    config.steering = SteeringConfig { ports, addrs, stall_threshold, tier0, rrl, capture };
    config
}

/// What the program samples of its answers for the capture asked for.
fn tier0_capture_settings(args: &ServeArgs) -> Option<CaptureSettings> {
    let c = super::serve::capture_config(args);
    let every = capture::kernel_every(c.dnstap.map_or(0, |d| d.sample), c.pcap.map_or(0, |p| p.sample))?;
    Some(CaptureSettings { every, ring_bytes: capture::ring_size(c.ring_bytes) })
}

/// With capture on and the program capturing its tier-0 answers, the
/// thread that reads them into `capture`; its drop reads the last ones.
pub fn start_tier0_capture(
    args: &ServeArgs,
    runtime: &Runtime,
    capture: Option<&Capture>,
) -> Result<Option<Tier0CaptureReader>, String> {
    let (Some(capture), Some(settings)) = (capture, tier0_capture_settings(args)) else { return Ok(None) };
    let plane = runtime.plane.lock().unwrap_or_else(|e| e.into_inner());
    let Some(program) = plane.as_ref().map(|p| p.program()) else { return Ok(None) };
    if let Some(why) = program.tier0_capture_refused() {
        tracing::warn!("tier-0 answers are not captured: {why}");
    }
    let Some(ring) = program.take_tier0_capture_ring() else { return Ok(None) };
    let tap = capture.tap_with(capture::reader_tap_config(capture.tap_config(), settings.every));
    tracing::info!(every = settings.every, "capturing 1-in-N of the tier-0 answers on each CPU");
    Tier0CaptureReader::start(ring, tap).map(Some)
}

/// Starts the data plane; `policy` makes each queue's response policy.
/// With `capture`, each queue's handler gets a tap; without, handlers are
/// built without one (see `capture::NoTap`). Each queue's breakdown cells
/// join `breakdowns`. With `learning`, each queue samples the keys it
/// answers for learned tier 0.
pub fn start<P: Policy + Send + 'static>(
    args: &ServeArgs,
    engine: &SharedEngine,
    policy: impl Fn() -> P,
    capture: Option<&Capture>,
    breakdowns: &Breakdowns,
    learning: Option<&Board>,
) -> Result<DataPlane, String> {
    let config = config(args);
    // One handler type per combination: what is off is a type that
    // compiles to nothing (`NoTap`, `NoLearning`), not a runtime check.
    match (capture, learning) {
        (Some(c), Some(board)) => DataPlane::start(&config, |_| {
            registered(breakdowns, EngineHandler::with_tap(engine, policy(), c.tap()).learning(board.sampler()))
        }),
        (Some(c), None) => {
            DataPlane::start(&config, |_| registered(breakdowns, EngineHandler::with_tap(engine, policy(), c.tap())))
        }
        (None, Some(board)) => DataPlane::start(&config, |_| {
            registered(breakdowns, EngineHandler::new(engine, policy()).learning(board.sampler()))
        }),
        (None, None) => DataPlane::start(&config, |_| registered(breakdowns, EngineHandler::new(engine, policy()))),
    }
    .map_err(|e| e.to_string())
}

/// `handler`, its breakdown cells joined to `breakdowns`.
fn registered<P: Policy, T: MaybeTap, L: MaybeSampler>(
    breakdowns: &Breakdowns,
    handler: EngineHandler<P, T, L>,
) -> EngineHandler<P, T, L> {
    breakdowns.register(Where::XDP, handler.breakdown());
    handler
}

/// The start line's XDP part: interface, attach mode, queues with their
/// CPUs and socket modes, ports and addresses.
pub fn describe(args: &ServeArgs, plane: &DataPlane) -> String {
    let config = config(args);
    let queues: Vec<String> = plane
        .live_stats()
        .iter()
        .map(|q| format!("{}@cpu{}:{}", q.queue, q.cpu.map(|c| c.to_string()).unwrap_or("?".into()), q.mode))
        .collect();
    format!(
        "XDP on {} ({}), queues [{}], UDP ports {:?}, addresses {:?}",
        config.iface,
        plane.attached_mode().map(|m| format!("{m:?}").to_lowercase()).unwrap_or_default(),
        queues.join(" "),
        config.steering.ports,
        plane.program().addresses().steered(),
    )
}

/// Stops the data plane and logs each queue's final counters, one line a
/// queue (`queue 0 (cpu 1, zero-copy): rx … tx …`), then the program's.
pub fn stop(plane: DataPlane) {
    let steering = plane.program().counters().ok();
    match plane.stop() {
        Ok(stats) => {
            for s in &stats {
                if s.frames_balanced() {
                    tracing::info!("{}", queue_line(s));
                } else {
                    tracing::error!("{}, UMEM FRAMES DO NOT ADD UP", queue_line(s));
                }
            }
        }
        Err(e) => tracing::error!("stopping the data plane: {e}"),
    }
    if let Some(c) = steering {
        tracing::info!("XDP program: {c}");
    }
}

fn queue_line(s: &QueueStats) -> String {
    let c = &s.counters;
    format!(
        "queue {} (cpu {}, {}): rx {} tx {} dropped {} passed {} invalid {} fill-empty {} tx-full {} kicks {}{}",
        s.queue,
        s.cpu.map(|c| c.to_string()).unwrap_or_else(|| "unpinned".into()),
        s.mode,
        c.rx,
        c.tx,
        c.dropped,
        c.passed,
        c.invalid,
        c.fill_ring_empty,
        c.tx_ring_full,
        c.tx_kicks,
        s.kernel
            .map(|k| format!(", kernel rx_dropped {} rx_ring_full {}", k.rx_dropped, k.rx_ring_full))
            .unwrap_or_default(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::{Cli, Command};
    use clap::Parser;

    fn serve(args: &[&str]) -> ServeArgs {
        let cli =
            Cli::try_parse_from(std::iter::once("responder").chain(["serve"]).chain(args.iter().copied())).unwrap();
        match cli.command {
            Command::Serve(s) => s,
            _ => unreachable!(),
        }
    }

    #[test]
    fn listen_addresses_become_the_steering_filter() {
        let c = config(&serve(&["--iface", "eth0", "--listen", "198.18.0.1:53", "--listen", "[fd00::1]:5353"]));
        assert_eq!(c.steering.ports, [53, 5353]);
        assert_eq!(c.steering.addrs.len(), 2);
        let c = config(&serve(&["--iface", "eth0", "--listen", "0.0.0.0:53", "--listen", "198.18.0.1:53"]));
        assert_eq!(c.steering.addrs.len(), 2, "a wildcard stays a wildcard: the interface's own addresses");
        let c = config(&serve(&["--iface", "eth0"]));
        assert_eq!((c.steering.listen().len(), c.steering.ports), (2, vec![53]), "both wildcards");
        let c = config(&serve(&["--iface", "eth0", "--listen", "198.18.0.1:53", "--xdp-port", "5300"]));
        assert_eq!(c.steering.ports, [5300]);
        assert_eq!(c.steering.stall_threshold, Duration::from_millis(200));
        let c = config(&serve(&["--iface", "eth0", "--stall-threshold", "75"]));
        assert_eq!(c.steering.stall_threshold, Duration::from_millis(75));
    }
}
