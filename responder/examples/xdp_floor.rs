//! The I/O floor of the AF_XDP data plane, for `cargo xtask bench`: the
//! responder's data plane (steering program, sockets, pinned workers, frame
//! rewrite) answering every DNS query with a fixed REFUSED reply and no
//! lookup. What it reaches is what the machine's I/O path allows; the gap to
//! `responder serve --iface` is the engine's share. Not a DNS server.
//!
//! With `--floor xdp-tx` it is the in-kernel floor instead: no AF_XDP at
//! all, the XDP program itself sends each query back (`xdp::reflect`,
//! XDP_TX), the most tier 0 can reach (`--queues` and `--cpus` then do not
//! apply: the work is all in the interface's receive processing).
//!
//! ```text
//! xdp_floor --iface IFACE [--floor af-xdp|xdp-tx] [--xdp-mode auto|native|generic]
//!           [--queues all|LIST] [--cpus auto|LIST] [--address IP]...
//! ```
//!
//! Runs until SIGINT or SIGTERM, then prints each queue's counters.

use std::net::IpAddr;
use std::process::ExitCode;

use responder::engine::floor::reflect_in_place;
use responder::engine::Verdict;
use responder::xdp::plane::{DataPlane, DataPlaneConfig};
use responder::xdp::program::SteeringConfig;
use responder::xdp::reflect::XdpReflector;
use responder::xdp::FrameHandler;

const USAGE: &str = "usage: xdp_floor --iface IFACE [--floor af-xdp|xdp-tx] [--xdp-mode auto|native|generic] \
                     [--queues all|LIST] [--cpus auto|LIST] [--address IP]...";

/// Which floor runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Floor {
    /// The AF_XDP data plane with a fixed reply (the default).
    AfXdp,
    /// The XDP program answering by itself (XDP_TX).
    XdpTx,
}

/// Every query gets the floor's fixed reply.
struct Reflector;

impl FrameHandler for Reflector {
    #[inline]
    fn handle(&mut self, frame: &mut [u8], len: usize, capacity: usize) -> Verdict {
        reflect_in_place(frame, len, capacity)
    }
}

fn parse(args: impl IntoIterator<Item = String>) -> Result<(Floor, DataPlaneConfig), String> {
    let mut args = args.into_iter();
    let mut config = DataPlaneConfig::new(String::new());
    let mut addrs: Vec<IpAddr> = Vec::new();
    let mut floor = Floor::AfXdp;
    while let Some(flag) = args.next() {
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--iface" => config.iface = value,
            "--floor" => {
                floor = match value.as_str() {
                    "af-xdp" => Floor::AfXdp,
                    "xdp-tx" => Floor::XdpTx,
                    _ => return Err(format!("--floor must be af-xdp or xdp-tx, not {value:?}")),
                }
            }
            "--xdp-mode" => config.xdp_mode = value.parse()?,
            "--queues" => config.queues = value.parse()?,
            "--cpus" => config.cpus = value.parse()?,
            "--address" => addrs.push(value.parse().map_err(|_| format!("--address: {value:?} is not an IP address"))?),
            other => return Err(format!("unknown option {other}")),
        }
    }
    if config.iface.is_empty() {
        return Err("--iface is required".to_owned());
    }
    if floor == Floor::XdpTx && addrs.iter().all(IpAddr::is_unspecified) {
        return Err("--floor xdp-tx needs the server's --address (one per family)".to_owned());
    }
    config.steering = SteeringConfig { ports: vec![53], addrs, ..SteeringConfig::default() };
    Ok((floor, config))
}

fn main() -> ExitCode {
    let (floor, config) = match parse(std::env::args().skip(1)) {
        Ok(parsed) => parsed,
        Err(e) => {
            eprintln!("xdp_floor: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    // Blocked before any worker starts, so every thread inherits the mask and
    // only the main thread's sigwait sees the stop request.
    let stop_signals = match block_stop_signals() {
        Ok(set) => set,
        Err(e) => {
            eprintln!("xdp_floor: cannot block signals: {e}");
            return ExitCode::FAILURE;
        }
    };
    if floor == Floor::XdpTx {
        return reflect_in_kernel(&config, &stop_signals);
    }
    let plane = match DataPlane::start(&config, |_| Reflector) {
        Ok(plane) => plane,
        Err(e) => {
            eprintln!("xdp_floor: {e}");
            return ExitCode::FAILURE;
        }
    };
    let queues: Vec<String> = plane.queues().iter().map(|(q, mode)| format!("{q}:{mode}")).collect();
    // The same readiness line as `responder serve`, so one wait fits both.
    eprintln!(
        "AF_XDP serving on {}: XDP {:?}, queues [{}] (floor: fixed REFUSED replies)",
        config.iface,
        plane.attached_mode(),
        queues.join(" ")
    );
    wait_for(&stop_signals);
    match plane.stop() {
        Ok(stats) => {
            for s in stats {
                let c = s.counters;
                let kernel = s.kernel.map(|k| format!(" rx_dropped {} rx_ring_full {}", k.rx_dropped, k.rx_ring_full));
                eprintln!(
                    "queue {} (cpu {:?}, {}): rx {} tx {} dropped {} tx-full {} kicks {}{}",
                    s.queue,
                    s.cpu,
                    s.mode,
                    c.rx,
                    c.tx,
                    c.dropped,
                    c.tx_ring_full,
                    c.tx_kicks,
                    kernel.unwrap_or_default()
                );
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("xdp_floor: stopping: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The in-kernel floor: attach the reflector, wait for the stop signal,
/// print what each queue reflected.
fn reflect_in_kernel(config: &DataPlaneConfig, stop_signals: &libc::sigset_t) -> ExitCode {
    let addrs = &config.steering.addrs;
    let v4 = addrs.iter().find_map(|a| match a {
        IpAddr::V4(a) if !a.is_unspecified() => Some(*a),
        _ => None,
    });
    let v6 = addrs.iter().find_map(|a| match a {
        IpAddr::V6(a) if !a.is_unspecified() => Some(*a),
        _ => None,
    });
    let attached = XdpReflector::load(v4, v6).and_then(|mut r| Ok((r.attach(&config.iface, config.xdp_mode)?, r)));
    let (mode, reflector) = match attached {
        Ok(attached) => attached,
        Err(e) => {
            eprintln!("xdp_floor: {e}");
            return ExitCode::FAILURE;
        }
    };
    eprintln!(
        "XDP_TX reflecting on {}: XDP {mode:?}, to {v4:?} {v6:?} (floor: queries sent back as REFUSED)",
        config.iface
    );
    wait_for(stop_signals);
    match reflector.reflected() {
        Ok(queues) => {
            for (queue, n) in queues {
                eprintln!("queue {queue} (xdp-tx): reflected {n}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("xdp_floor: reading the counters: {e}");
            ExitCode::FAILURE
        }
    }
}

fn block_stop_signals() -> std::io::Result<libc::sigset_t> {
    // SAFETY: sigset_t is plain data that sigemptyset initialises; the calls
    // only read and write that set and this thread's signal mask.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGINT);
        libc::sigaddset(&mut set, libc::SIGTERM);
        match libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) {
            0 => Ok(set),
            rc => Err(std::io::Error::from_raw_os_error(rc)),
        }
    }
}

fn wait_for(set: &libc::sigset_t) {
    let mut signal: libc::c_int = 0;
    // SAFETY: `set` was initialised by `block_stop_signals`; sigwait writes
    // one int. Its only error is an invalid set, and then stopping is right.
    unsafe { libc::sigwait(set, &mut signal) };
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Vec<String> {
        line.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn options_shape_the_data_plane() {
        let (floor, c) =
            parse(args("--iface rs1 --xdp-mode generic --queues 0 --cpus 0 --address 198.18.0.1")).unwrap();
        assert_eq!(floor, Floor::AfXdp, "the AF_XDP floor unless asked");
        assert_eq!(c.iface, "rs1");
        assert_eq!(c.xdp_mode, responder::xdp::program::XdpMode::Generic);
        assert_eq!(c.steering.ports, [53]);
        assert_eq!(c.steering.addrs, ["198.18.0.1".parse::<IpAddr>().unwrap()]);
        assert!(parse(args("--xdp-mode native")).unwrap_err().contains("--iface"));
        assert!(parse(args("--iface rs1 --address nowhere")).is_err());
        assert!(parse(args("--iface rs1 --busy")).is_err());
        assert!(parse(args("--iface")).unwrap_err().contains("needs a value"));
        let (floor, _) = parse(args("--iface rs1 --floor xdp-tx --address fd00::1")).unwrap();
        assert_eq!(floor, Floor::XdpTx);
        assert!(parse(args("--iface rs1 --floor xdp-tx")).unwrap_err().contains("--address"));
        assert!(parse(args("--iface rs1 --floor kernel --address 198.18.0.1")).is_err());
    }
}
