//! `responder serve`: load the zones, start the kernel-socket server and,
//! with --iface, the AF_XDP data plane, the control socket and metrics; drop
//! privileges; then reload on SIGHUP and stop cleanly on SIGINT/SIGTERM.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::control_socket::{self, ControlSocket};
use super::metrics::MetricsServer;
use super::privileges;
use super::reload::{Reloader, ZoneSource};
use super::runtime::Runtime;
use super::served;
use super::signals::{Signal, Signals};
use super::snapshot::Snapshot;
use super::systemd::{self, Notifier, Watchdog};
use crate::capture::{Capture, CaptureConfig, DnstapConfig, PcapConfig, DEFAULT_RING_BYTES};
use crate::control::cli::{RrlArgs, ServeArgs};
use crate::engine::Options;
use crate::rrl::{RrlConfig, RrlPolicy};
use crate::server::{EngineAnswerer, Server, ServerConfig};

/// Starts the one line logged once everything serves (tests wait for it).
pub const READY_LINE: &str = "responder ready:";

/// How often the main thread wakes when no rate line is due.
const IDLE_WAIT: Duration = Duration::from_secs(3600);

pub fn run(args: ServeArgs) -> Result<(), String> {
    // Before any thread exists, so that all of them inherit the mask.
    let signals = Signals::block().map_err(|e| format!("cannot block signals: {e}"))?;
    if args.listen.is_empty() && args.xdp.iface.is_none() {
        return Err("nothing to serve on: give --listen ADDR:PORT and/or --iface IFACE".into());
    }
    let identity = args.ops.user.as_deref().map(privileges::resolve).transpose()?;
    privileges::refuse_unintended_root(identity.as_ref(), privileges::effective_uid())?;
    let notifier = Notifier::from_env()?;
    let source = match &args.table {
        Some(path) => ZoneSource::Table(path.clone()),
        None => ZoneSource::Zones(args.zones.clone()),
    };
    let options = Options {
        edns_udp_size: args.edns_size,
        identity: args.identity.clone(),
        hostname: args.chaos_hostname.clone(),
        version: args.chaos_version.clone(),
        verify_udp_checksum: args.xdp.verify_udp_checksum,
        tsig: args.access.keys.clone(),
        nsid: crate::engine::nsid::configured(args.nsid.as_deref(), args.identity.as_deref())?,
    };
    let rrl = rrl_config(&args.rrl);
    let policy = RrlPolicy::maker(rrl).map_err(|e| e.to_string())?;
    // With the zones from a config file, each reload reads its zone set again.
    let zones_from = args.config.clone().filter(|_| args.zones_from_config && args.table.is_none());
    let secondaries = super::secondary::prepare(&args.secondaries, &args.zone_read.limits(), zones_from.is_some())?;
    if let Some(id) = &identity {
        super::secondary::hand_over_storage(&args.secondaries, id)?;
    }
    let outbound = crate::transfer::outbound::Outbound::new(&args.outbound, &args.access, Default::default());
    let (reloader, loaded) =
        Reloader::start_sending(source, options, args.zone_read.limits(), secondaries.clone(), outbound.clone())?;
    // Only a config that had keys, remotes or ACLs is read again: a server
    // that drops to a user who cannot read a root-only config must keep
    // reloading its zones as before.
    let has_access = !args.access.keys.is_empty() || !args.access.acls.is_empty() || !args.access.remotes.is_empty();
    let reloader = reloader.keys_from(args.config.clone().filter(|_| has_access)).zones_from(zones_from);
    tracing::info!("loaded in {:.2?}: table of {} bytes", loaded.took, loaded.table_bytes);
    let engine = reloader.engine().clone();
    let mut runtime = Runtime::new(reloader);
    runtime.notifier = notifier;
    let capture_config = capture_config(&args);
    let capture = if capture_config.is_on() { Some(Arc::new(Capture::start(capture_config.clone())?)) } else { None };
    runtime.capture = capture.clone();

    let server = if args.listen.is_empty() {
        None
    } else {
        let mut config = ServerConfig::new(args.listen.clone());
        if let Some(n) = args.udp_workers {
            config.udp_workers = n;
        }
        config.tcp.idle_timeout = Duration::from_secs(args.tcp_idle_timeout);
        config.tcp.max_connections = args.tcp_max_connections;
        config.tcp.max_connections_per_client = args.tcp_max_connections_per_client;
        config.share_port = args.share_port;
        config.busy_poll_usecs = args.udp_busy_poll;
        config.cpu_steering = !args.udp_flow_hash;
        let mut answerer = EngineAnswerer::new(engine.clone(), policy)
            .with_query_log(args.ops.log_queries)
            .with_capture(capture.clone())
            .with_breakdowns(Arc::clone(&runtime.breakdowns));
        if let Some(secondaries) = &secondaries {
            answerer = answerer.with_notify(super::secondary::notify_handler(secondaries));
        }
        if let Some(outbound) = &outbound {
            answerer = answerer.with_transfer(outbound.handler());
        }
        runtime.udp = Some(answerer.udp_counters());
        runtime.tcp = Some(answerer.tcp_counters());
        let server = Server::start(config, Arc::new(answerer)).map_err(|e| e.to_string())?;
        runtime.tcp_connections = Some(server.tcp_connection_counters());
        Some(server)
    };

    let learning = super::tier0::board(&args);
    let plane = match &args.xdp.iface {
        Some(_) => Some(super::xdp::start(
            &args,
            &engine,
            policy,
            capture.as_deref(),
            &runtime.breakdowns,
            learning.as_deref(),
        )?),
        None => None,
    };
    runtime.iface = args.xdp.iface.clone();
    let xdp_line = plane.as_ref().map(|p| super::xdp::describe(&args, p));
    *runtime.plane.get_mut().unwrap_or_else(|e| e.into_inner()) = plane;
    let xdp_line = xdp_line.map(|line| format!("{line}, {}", super::tier0::start(&args, &runtime, learning)));
    // Before the privilege drop: the ring is mapped now, and read after.
    let tier0_capture = super::xdp::start_tier0_capture(&args, &runtime, capture.as_deref())?;
    let runtime = Arc::new(runtime);

    let control = match &args.ops.control_socket {
        Some(path) => Some(ControlSocket::start(path, Arc::clone(&runtime))?),
        None => None,
    };
    let metrics = match args.ops.metrics {
        Some(addr) => Some(MetricsServer::start(addr, Arc::clone(&runtime))?),
        None => None,
    };
    if let Some(id) = identity.as_ref().filter(|id| id.uid != 0) {
        privileges::drop_to(id)?;
    }
    // After the drop: transfers and the copies they write run as `user`.
    super::secondary::start(&runtime)?;
    if let Some(outbound) = &outbound {
        outbound.start()?;
    }

    let zones_line = served::describe(&loaded.zones);
    tracing::info!(
        "{READY_LINE} {}; zones {}; {}; kernel sockets {}; rate limiting {}; capture {}; control {}; metrics {}; running as {}",
        build(),
        zones_line,
        xdp_line.as_deref().unwrap_or("no XDP"),
        server.as_ref().map(|s| format!("UDP+TCP on {:?}", s.local_addrs())).unwrap_or_else(|| "off".into()),
        rrl.map(|c| describe_rrl(&c)).unwrap_or_else(|| "off".into()),
        capture_config.describe(),
        args.ops.control_socket.as_ref().map(|p| p.display().to_string()).unwrap_or_else(|| "off".into()),
        metrics.as_ref().map(|m| format!("http://{}/metrics", m.local_addr)).unwrap_or_else(|| "off".into()),
        identity.as_ref().map(privileges::describe).unwrap_or_else(|| "started".into()),
    );
    // Only now: systemd orders dependent units (and a deploy script waits)
    // on READY=1, so it must mean "answering", not "starting".
    runtime.notifier.ready(&format!("serving {zones_line}"));
    // After the first answers can be given: a table file read at start
    // is checked whole beside the workers (`table_check`).
    super::table_check::start(&runtime)?;
    let watchdog = match systemd::watchdog::interval_from_env() {
        Some(timeout) if runtime.notifier.enabled() => {
            let checked = Arc::clone(&runtime);
            let pinger = runtime.notifier.try_clone().map_err(|e| format!("NOTIFY_SOCKET: {e}"))?;
            let watchdog = Watchdog::start(pinger, timeout, move |max_age| checked.check_workers(max_age))
                .map_err(|e| format!("cannot start the watchdog thread: {e}"))?;
            tracing::info!("pinging the service watchdog every {:.1?}", timeout / 2);
            Some(watchdog)
        }
        _ => None,
    };

    serve_until_stopped(&signals, &runtime, args.ops.stats_interval);

    tracing::info!("stopping");
    super::secondary::stop(&runtime);
    if let Some(outbound) = &outbound {
        outbound.stop();
    }
    runtime.notifier.stopping();
    // Before the data plane goes: its counters are part of the summary.
    let summary = stop_line(&runtime.snapshot());
    drop(watchdog);
    drop(metrics);
    drop(control);
    if let Some(plane) = runtime.plane.lock().unwrap_or_else(|e| e.into_inner()).take() {
        super::xdp::stop(plane);
    }
    // After the program: what its ring still holds is read.
    drop(tier0_capture);
    if let Some(s) = server {
        s.shutdown();
    }
    // After the serving threads: what their rings still hold is written.
    if let Some(capture) = &capture {
        capture.stop();
    }
    tracing::info!("{summary}");
    Ok(())
}

/// The capture the flags ask for (`is_on` false when none).
pub(super) fn capture_config(args: &ServeArgs) -> CaptureConfig {
    let c = &args.capture;
    CaptureConfig {
        dnstap: c.dnstap.clone().map(|sink| DnstapConfig {
            sink,
            sample: c.dnstap_sample,
            source_rate: c.dnstap_source_rate,
        }),
        pcap: c.pcap.clone().map(|file| PcapConfig { file, sample: c.pcap_sample, source_rate: c.pcap_source_rate }),
        identity: args.identity.clone().or_else(|| args.chaos_hostname.clone()).or_else(host_name),
        ring_bytes: usize::try_from(c.capture_ring_size).unwrap_or(DEFAULT_RING_BYTES),
    }
}

/// dnstap's identity when neither --identity nor --chaos-hostname names
/// the server, as Knot and BIND default to the host name.
fn host_name() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/hostname").ok().map(|h| h.trim().to_owned()).filter(|h| !h.is_empty())
}

/// `stopped after 1h02m03s: 1234 answers (xdp 1200, udp 30, tcp 4), 20
/// nxdomain, 1 refused, 3 truncated, 0 unanswered, 0 rate-limited; 2
/// reloads, 1 failed`.
fn stop_line(s: &Snapshot) -> String {
    let t = s.total();
    let xdp = xdp_answered(s);
    let secs = s.uptime_secs.max(0.0) as u64;
    format!(
        "stopped after {}h{:02}m{:02}s: {} answers (xdp {xdp}, udp {}, tcp {}), {} nxdomain, {} refused, {} truncated, \
         {} unanswered, {} rate-limited; {} reloads, {} failed",
        secs / 3600,
        secs / 60 % 60,
        secs % 60,
        t.answered(),
        s.udp.answered(),
        s.tcp.answered(),
        t.nxdomain,
        t.refused,
        t.truncated,
        t.unanswered,
        t.rate_limited,
        s.reloads_ok + s.reloads_failed,
        s.reloads_failed,
    )
}

/// `responder 0.1.0 (commit 0123456789ab)`: which build answers, for bug
/// reports and fleet roll-outs.
pub fn build() -> String {
    format!("responder {} (commit {})", crate::control::build_info::VERSION, crate::control::build_info::COMMIT)
}

/// Rate limiting as the flags ask: `None` with --rrl-rate 0 (the default).
/// Ranges are checked by [`RrlPolicy::maker`].
pub(super) fn rrl_config(args: &RrlArgs) -> Option<RrlConfig> {
    (args.rrl_rate > 0).then_some(RrlConfig {
        rate: args.rrl_rate,
        slip: args.rrl_slip,
        ipv4_prefix: args.rrl_ipv4_prefix,
        ipv6_prefix: args.rrl_ipv6_prefix,
        buckets: args.rrl_table_size,
    })
}

/// `100/s per /24 and /56 per worker, slip 2, 65536 buckets`.
fn describe_rrl(c: &RrlConfig) -> String {
    format!(
        "{}/s per /{} and /{} per worker, slip {}, {} buckets",
        c.rate, c.ipv4_prefix, c.ipv6_prefix, c.slip, c.buckets
    )
}

/// Reloads on SIGHUP, logs a rate line every `interval_secs` (0: never),
/// returns on SIGINT/SIGTERM.
fn serve_until_stopped(signals: &Signals, runtime: &Runtime, interval_secs: u64) {
    let interval = (interval_secs > 0).then(|| Duration::from_secs(interval_secs));
    let mut last = (Instant::now(), runtime.snapshot());
    loop {
        let wait = interval.map_or(IDLE_WAIT, |i| i.saturating_sub(last.0.elapsed()));
        match signals.wait_timeout(wait) {
            Some(Signal::Stop) => return,
            Some(Signal::Reload) => {
                tracing::info!("SIGHUP: reloading");
                control_socket::reload_reply(runtime);
            }
            None => {}
        }
        if let Some(interval) = interval {
            if last.0.elapsed() >= interval {
                let now = (Instant::now(), runtime.snapshot());
                tracing::info!("{}", rate_line(&last.1, &now.1, now.0 - last.0));
                last = now;
            }
        }
    }
}

/// Answers sent over XDP: by the workers, and by the program itself (tier 0).
fn xdp_answered(s: &Snapshot) -> u64 {
    let workers: u64 = s.xdp.iter().flat_map(|x| &x.queues).map(|q| q.counters.dns.answered()).sum();
    workers + s.tier0.map_or(0, |t| t.answered())
}

/// `rate: 1234 q/s answered (xdp 1200, udp 30, tcp 4), nxdomain 20%, ...`.
fn rate_line(before: &Snapshot, now: &Snapshot, elapsed: Duration) -> String {
    let secs = elapsed.as_secs_f64().max(1e-3);
    let per_sec = |a: u64, b: u64| (b.saturating_sub(a)) as f64 / secs;
    let (t0, t1) = (before.total(), now.total());
    let xdp = xdp_answered;
    let answered = per_sec(t0.answered(), t1.answered());
    let share = |a: u64, b: u64| {
        let n = t1.answered().saturating_sub(t0.answered());
        if n == 0 {
            0.0
        } else {
            100.0 * b.saturating_sub(a) as f64 / n as f64
        }
    };
    format!(
        "rate: {answered:.0} answers/s (xdp {:.0}, udp {:.0}, tcp {:.0}); nxdomain {:.1}%, refused {:.1}%, \
         truncated {:.1}%; unanswered {:.0}/s, rate-limited {:.0}/s",
        per_sec(xdp(before), xdp(now)),
        per_sec(before.udp.answered(), now.udp.answered()),
        per_sec(before.tcp.answered(), now.tcp.answered()),
        share(t0.nxdomain, t1.nxdomain),
        share(t0.refused, t1.refused),
        share(t0.truncated, t1.truncated),
        per_sec(t0.unanswered, t1.unanswered),
        per_sec(t0.rate_limited, t1.rate_limited),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::{Cli, Command};
    use crate::stats::DnsCounters;
    use clap::Parser;

    fn rrl(args: &[&str]) -> Option<RrlConfig> {
        let argv = ["responder", "serve", "--listen", "127.0.0.1:53"].into_iter().chain(args.iter().copied());
        match Cli::try_parse_from(argv).expect("valid flags").command {
            Command::Serve(s) => rrl_config(&s.rrl),
            _ => unreachable!("parsed as serve"),
        }
    }

    #[test]
    fn rate_limiting_is_off_by_default_and_on_with_a_rate() {
        assert_eq!(rrl(&[]), None);
        assert_eq!(rrl(&["--rrl-rate", "100"]), Some(RrlConfig::with_rate(100)));
        let custom = ["--rrl-rate", "5", "--rrl-slip", "0", "--rrl-ipv4-prefix", "20", "--rrl-ipv6-prefix", "48"];
        let expected = RrlConfig { rate: 5, slip: 0, ipv4_prefix: 20, ipv6_prefix: 48, buckets: 65_536 };
        assert_eq!(rrl(&custom), Some(expected));
        assert_eq!(describe_rrl(&expected), "5/s per /20 and /48 per worker, slip 0, 65536 buckets");
    }

    #[test]
    fn out_of_range_rrl_settings_are_refused_before_serving() {
        let error = RrlPolicy::maker(rrl(&["--rrl-rate", "100", "--rrl-slip", "500"])).err().expect("refused");
        assert!(error.to_string().contains("slip 500"), "{error}");
        let error = RrlPolicy::maker(rrl(&["--rrl-rate", "2000000"])).err().expect("refused");
        assert!(error.to_string().contains("rate 2000000"), "{error}");
    }

    #[test]
    fn the_stop_line_reads_as_a_sentence() {
        let s = Snapshot {
            uptime_secs: 3723.9,
            reloads_ok: 1,
            reloads_failed: 1,
            udp: DnsCounters { queries: 200, noerror: 150, nxdomain: 50, ..DnsCounters::default() },
            ..Snapshot::default()
        };
        let line = stop_line(&s);
        assert!(line.starts_with("stopped after 1h02m03s: 200 answers (xdp 0, udp 200, tcp 0), 50 nxdomain"), "{line}");
        // The program's own answers are XDP answers.
        let tier0 = DnsCounters { queries: 30, noerror: 30, rate_limited: 10, ..DnsCounters::default() };
        let line = stop_line(&Snapshot { tier0: Some(tier0), ..s });
        assert!(line.starts_with("stopped after 1h02m03s: 220 answers (xdp 20, udp 200, tcp 0)"), "{line}");
        assert!(line.contains(", 10 rate-limited;"), "{line}");
        assert!(line.ends_with("; 2 reloads, 1 failed") && !line.contains("Some("), "{line}");
        assert!(build().starts_with(&format!("responder {} (commit ", env!("CARGO_PKG_VERSION"))));
    }

    #[test]
    fn the_rate_line_divides_by_the_interval() {
        let before = Snapshot::default();
        let now = Snapshot {
            udp: DnsCounters { queries: 200, noerror: 150, nxdomain: 50, ..DnsCounters::default() },
            ..Snapshot::default()
        };
        let line = rate_line(&before, &now, Duration::from_secs(2));
        assert!(line.starts_with("rate: 100 answers/s (xdp 0, udp 100, tcp 0); nxdomain 25.0%"), "{line}");
    }
}
