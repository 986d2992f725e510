//! Command-line syntax. Names follow Knot and NSD where they have one.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::capture::DnstapSink;
use crate::xdp::program::XdpMode;
use crate::xdp::queues::{CpuSelection, QueueSelection};
use crate::xdp::socket::ZeroCopy;
use crate::zone::{self, ReadLimits};

pub mod config;
pub mod ctl;

/// Bounds the command line puts on numeric flags. The configuration file
/// checks its keys against the same constants, so both refuse the same values.
pub mod limits {
    pub const EDNS_SIZE_MIN: i64 = 512;
    pub const EDNS_SIZE_MAX: i64 = u16::MAX as i64;
    pub const RRL_IPV4_PREFIX_MIN: i64 = 8;
    pub const RRL_IPV4_PREFIX_MAX: i64 = 32;
    pub const RRL_IPV6_PREFIX_MIN: i64 = 16;
    pub const RRL_IPV6_PREFIX_MAX: i64 = 128;
    pub const RRL_TABLE_SIZE_MIN: i64 = 64;
    pub const RRL_TABLE_SIZE_MAX: i64 = 16_777_216;
    /// `xdp::program::STALL_THRESHOLD_MIN` and `_MAX`, in milliseconds;
    /// 0 (off) is allowed besides.
    pub const STALL_THRESHOLD_MS_MIN: i64 = 50;
    pub const STALL_THRESHOLD_MS_MAX: i64 = 60_000;
    /// `--capture-ring-size`: a few records at least, and not a memory sink.
    pub const CAPTURE_RING_MIN: u64 = 4 << 10;
    pub const CAPTURE_RING_MAX: u64 = 1 << 30;
}

#[derive(Parser, Debug)]
#[command(name = "responder", version, about = "Kernel-bypass authoritative DNS server")]
pub struct Cli {
    /// More logging (-v debug, -vv trace); RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Only warnings and errors.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Log as readable text (default) or one JSON object per line.
    #[arg(long, global = true, value_enum, value_name = "FORMAT")]
    pub log_format: Option<super::logging::LogFormat>,
    #[command(subcommand)]
    pub command: Command,
}

// Parsed once at start: the size of the largest variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Serve zones over kernel sockets and, with --iface, over AF_XDP.
    Serve(ServeArgs),
    /// Compile zone files into a table file for `serve --table`.
    Compile(CompileArgs),
    /// Load and check zone files, like kzonecheck or nsd-checkzone, and compile them as `compile` would.
    Check(CheckArgs),
    /// Check a configuration file and every zone it names, as `serve --config` would load them; print every error.
    CheckConfig(CheckConfigArgs),
    /// Check an interface for XDP serving: driver, queues, offloads, modes, zero-copy.
    Doctor(DoctorArgs),
    /// Talk to a running server over its control socket: reload, stats.
    Ctl(CtlArgs),
}

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Read settings from this TOML file; flags given on the command line win.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// A zone file, as FILE (the origin is the SOA owner or $ORIGIN) or
    /// NAME=FILE. Repeatable.
    #[arg(long = "zone", value_name = "[NAME=]FILE")]
    pub zones: Vec<String>,
    /// A table compiled by `responder compile`, instead of --zone.
    #[arg(long, value_name = "FILE", conflicts_with = "zones")]
    pub table: Option<PathBuf>,
    /// Address and port to serve on kernel sockets (UDP and TCP). Repeatable;
    /// IPv6 as '[::1]:53'. With --iface, also the addresses XDP answers for
    /// (a wildcard: the interface's own addresses of that family).
    #[arg(long = "listen", value_name = "ADDR:PORT")]
    pub listen: Vec<SocketAddr>,
    /// UDP worker threads per listen address (default: one per CPU).
    #[arg(long, value_name = "N")]
    pub udp_workers: Option<usize>,
    /// Close TCP connections idle this long (seconds).
    #[arg(long, value_name = "SECS", default_value_t = 10)]
    pub tcp_idle_timeout: u64,
    /// Most TCP connections open at once.
    #[arg(long, value_name = "N", default_value_t = 1024)]
    pub tcp_max_connections: usize,
    /// Most TCP connections one client (IPv4 address, IPv6 /64) may hold open.
    #[arg(long, value_name = "N", default_value_t = 32)]
    pub tcp_max_connections_per_client: usize,
    /// Let another instance bind the same port beside this one (TCP
    /// listeners get SO_REUSEPORT too, as UDP sockets always do): the
    /// primary/standby pair of docs/DEPLOY.md gives it to both.
    #[arg(long)]
    pub share_port: bool,
    /// Busy-poll each UDP socket up to this many microseconds when it runs
    /// empty (SO_BUSY_POLL and SO_PREFER_BUSY_POLL; 50 is a usual value).
    /// Needs CAP_NET_ADMIN: without it, a warning and no busy polling.
    #[arg(long, value_name = "USECS", value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub udp_busy_poll: Option<u32>,
    /// EDNS UDP payload size we advertise and send at most (RFC 6891).
    #[arg(long, value_name = "BYTES", default_value_t = 1232, value_parser = clap::value_parser!(u16).range(limits::EDNS_SIZE_MIN..=limits::EDNS_SIZE_MAX))]
    pub edns_size: u16,
    /// Answer CHAOS TXT id.server with this text (refused when unset); also
    /// the NSID when --nsid is not given, as Knot's identity.
    #[arg(long, value_name = "TEXT")]
    pub identity: Option<String>,
    /// Answer CHAOS TXT hostname.bind with this text (refused when unset).
    #[arg(long, value_name = "TEXT")]
    pub chaos_hostname: Option<String>,
    /// Answer CHAOS TXT version.bind and version.server with this text (refused when unset).
    #[arg(long, value_name = "TEXT")]
    pub chaos_version: Option<String>,
    /// Secondary zones: from the config file only (`[[zone]]` with `master`).
    #[arg(skip)]
    pub secondaries: Vec<crate::transfer::inbound::SecondaryConfig>,
    /// Whether the zones come from the config file's `[[zone]]`s (neither
    /// --zone nor --table given): a reload then reads the zone set again.
    #[arg(skip)]
    pub zones_from_config: bool,
    /// Zones sent out: from the config file only (`[[zone]]` with `acl` or `notify`).
    #[arg(skip)]
    pub outbound: Vec<crate::transfer::outbound::OutboundConfig>,
    /// Return this NSID (RFC 5001) to queries that ask for it: text, or hex
    /// after 0x (off when unset).
    #[arg(long, value_name = "TEXT|0xHEX", value_parser = nsid_argument)]
    pub nsid: Option<String>,
    #[command(flatten)]
    pub zone_read: ZoneReadArgs,
    #[command(flatten)]
    pub xdp: XdpArgs,
    #[command(flatten)]
    pub rrl: RrlArgs,
    #[command(flatten)]
    pub ops: OpsArgs,
    /// `[[key]]`, `[[remote]]`, `[[acl]]` from the config file (no flags).
    #[arg(skip)]
    pub access: crate::access::Access,
    #[command(flatten)]
    pub capture: CaptureArgs,
}

/// `--nsid`, checked as the config's `nsid` is.
fn nsid_argument(text: &str) -> Result<String, String> {
    crate::engine::nsid::parse(text).map(|_| text.to_string())
}

/// What reading a zone may touch: a server that starts as root must not be
/// made to read without end, or to read files outside the zones' directories.
/// `check` and `compile` take the same flags, so they refuse what `serve` would.
#[derive(Args, Debug, Clone)]
pub struct ZoneReadArgs {
    /// Most bytes read for one zone, its $INCLUDE files counted in: bytes,
    /// or with K, M or G (powers of 1024).
    #[arg(long, value_name = "BYTES", default_value = "4G", value_parser = zone::parse_size)]
    pub zone_max_size: u64,
    /// A directory $INCLUDE may read from (with everything below it) besides
    /// the zone file's own. Repeatable.
    #[arg(long = "include-dir", value_name = "DIR")]
    pub include_dirs: Vec<PathBuf>,
}

impl ZoneReadArgs {
    pub fn limits(&self) -> ReadLimits {
        ReadLimits { max_bytes: self.zone_max_size, include_dirs: self.include_dirs.clone() }
    }
}

/// Response rate limiting, as Knot's, NSD's and BIND's RRL.
#[derive(Args, Debug, Clone)]
pub struct RrlArgs {
    /// Responses per second allowed to one client prefix per response class
    /// (answer, NXDOMAIN, error), per worker; 0 turns rate limiting off.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub rrl_rate: u32,
    /// Of the responses over the rate, send every Nth truncated (TC=1) so real
    /// clients retry over TCP; 0 drops them all, 1 truncates them all.
    #[arg(long, value_name = "N", default_value_t = 2)]
    pub rrl_slip: u32,
    /// IPv4 clients are grouped by this prefix length.
    #[arg(long, value_name = "BITS", default_value_t = 24, value_parser = clap::value_parser!(u8).range(limits::RRL_IPV4_PREFIX_MIN..=limits::RRL_IPV4_PREFIX_MAX))]
    pub rrl_ipv4_prefix: u8,
    /// IPv6 clients are grouped by this prefix length.
    #[arg(long, value_name = "BITS", default_value_t = 56, value_parser = clap::value_parser!(u8).range(limits::RRL_IPV6_PREFIX_MIN..=limits::RRL_IPV6_PREFIX_MAX))]
    pub rrl_ipv6_prefix: u8,
    /// Rate-limit buckets per worker (memory is bounded by this).
    #[arg(long, value_name = "N", default_value_t = 65536, value_parser = clap::value_parser!(u32).range(limits::RRL_TABLE_SIZE_MIN..=limits::RRL_TABLE_SIZE_MAX))]
    pub rrl_table_size: u32,
}

/// Operating the running server: control socket, metrics, privileges.
#[derive(Args, Debug, Clone)]
pub struct OpsArgs {
    /// Unix socket for `responder ctl` (reload, stats).
    #[arg(long, value_name = "PATH")]
    pub control_socket: Option<PathBuf>,
    /// Serve Prometheus metrics on http://ADDR:PORT/metrics, and /healthz and /readyz.
    #[arg(long, value_name = "ADDR:PORT")]
    pub metrics: Option<SocketAddr>,
    /// Log a rate line every SECS seconds; 0 turns it off.
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    pub stats_interval: u64,
    /// Log every query answered on the kernel sockets (client, name, type,
    /// rcode, size). Off by default: a line per query costs more than the
    /// answer. Queries served through XDP are not logged.
    #[arg(long)]
    pub log_queries: bool,
    /// After start-up, run as this user (and its group, or USER:GROUP) with no capabilities.
    #[arg(long, value_name = "USER[:GROUP]")]
    pub user: Option<String>,
}

/// Query capture (dnstap and pcap): see docs/DEPLOY.md. Each output samples
/// on its own; a query either samples is captured.
#[derive(Args, Debug, Clone)]
pub struct CaptureArgs {
    /// Send dnstap AUTH_QUERY/AUTH_RESPONSE messages to a Frame Streams
    /// reader listening at unix:PATH (reconnected when it restarts), or
    /// write them to a file (file:PATH or PATH).
    #[arg(long, value_name = "unix:PATH|FILE", value_parser = DnstapSink::parse)]
    pub dnstap: Option<DnstapSink>,
    /// dnstap takes one query in N (1: every query).
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub dnstap_sample: u32,
    /// dnstap takes at most N queries per client address and second, per
    /// serving thread (0: no cap).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub dnstap_source_rate: u32,
    /// Write sampled queries and responses to this pcap file (link type
    /// raw IP), for those without dnstap tooling.
    #[arg(long, value_name = "FILE")]
    pub pcap: Option<PathBuf>,
    /// The pcap file takes one query in N (1: every query).
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub pcap_sample: u32,
    /// The pcap file takes at most N queries per client address and second,
    /// per serving thread (0: no cap).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub pcap_source_rate: u32,
    /// Bytes of each serving thread's capture ring (bytes, or with K, M or
    /// G); when it is full, captures are dropped and counted.
    #[arg(long, value_name = "BYTES", default_value = "1M", value_parser = parse_capture_ring_size)]
    pub capture_ring_size: u64,
}

/// A size as --zone-max-size takes it, within the ring's limits.
pub fn parse_capture_ring_size(text: &str) -> Result<u64, String> {
    let bytes = zone::parse_size(text)?;
    let range = limits::CAPTURE_RING_MIN..=limits::CAPTURE_RING_MAX;
    if range.contains(&bytes) {
        Ok(bytes)
    } else {
        Err(format!("{bytes} bytes: a capture ring is {} to {} bytes", range.start(), range.end()))
    }
}

#[derive(Args, Debug)]
pub struct CtlArgs {
    /// The server's control socket (its --control-socket).
    #[arg(long, value_name = "PATH", default_value = DEFAULT_CONTROL_SOCKET)]
    pub socket: PathBuf,
    #[command(subcommand)]
    pub command: CtlCommand,
}

/// Where the example configuration and the systemd unit put the control socket.
pub const DEFAULT_CONTROL_SOCKET: &str = "/run/responder/control.sock";

#[derive(Subcommand, Debug, Clone, PartialEq, Eq)]
pub enum CtlCommand {
    /// Recompile the zones and swap them in; the old ones keep serving on error.
    Reload,
    /// Print counters as JSON.
    Stats,
    /// Secondary zones: serial, primary, last and next refresh, expiry, last error.
    ZoneStatus {
        /// One zone (default: every secondary zone).
        zone: Option<String>,
    },
    /// Check a secondary zone's primaries now, and transfer if they have a newer serial.
    ZoneRefresh { zone: String },
    /// Read one zone's file again and serve it (the other zones are not
    /// read); for a secondary zone, check its primaries now.
    ZoneReload { zone: String },
    /// Transfer a secondary zone in full (AXFR) now, whatever its serial.
    ZoneRetransfer { zone: String },
}

/// The AF_XDP data plane. Every setting but --iface needs an interface;
/// `config::resolve` checks that rather than clap's `requires`, because the
/// interface may come from the configuration file.
#[derive(Args, Debug, Clone)]
pub struct XdpArgs {
    /// Answer UDP on this interface through XDP and AF_XDP sockets.
    #[arg(long, value_name = "IFACE")]
    pub iface: Option<String>,
    /// RX queues to serve: 'all' or a list like 0,1 or 0-3.
    #[arg(long, value_name = "all|LIST", default_value = "all")]
    pub queues: QueueSelection,
    /// CPUs for the workers, one per queue, like 2,3 (default 'auto': the NIC's NUMA node, else in order).
    #[arg(long, value_name = "auto|LIST", default_value = "auto")]
    pub cpus: CpuSelection,
    /// XDP attach mode: auto (native, else generic with a warning), native or generic.
    #[arg(long, value_name = "auto|native|generic", default_value = "auto")]
    pub xdp_mode: XdpMode,
    /// AF_XDP zero-copy: auto (try it, else copy), on or off.
    #[arg(long, value_name = "auto|on|off", default_value = "auto")]
    pub zero_copy: ZeroCopy,
    /// UMEM frames per queue.
    #[arg(long, value_name = "N", default_value_t = 4096)]
    pub frames: u32,
    /// UMEM frame size (2048 or 4096).
    #[arg(long, value_name = "BYTES", default_value_t = 2048)]
    pub frame_size: u32,
    /// Entries in each AF_XDP ring.
    #[arg(long, value_name = "N", default_value_t = 2048)]
    pub ring_size: u32,
    /// Frames handled per loop iteration.
    #[arg(long, value_name = "N", default_value_t = 64)]
    pub batch: u32,
    /// Busy-poll the NIC queue from the worker for this many microseconds
    /// per poll instead of waiting for interrupts (SO_BUSY_POLL).
    #[arg(long, value_name = "USECS")]
    pub busy_poll: Option<u32>,
    /// UDP ports steered to the workers (default: the ports of --listen, else 53).
    #[arg(long = "xdp-port", value_name = "PORT")]
    pub ports: Vec<u16>,
    /// Verify each query's UDP checksum in the workers and drop a wrong one.
    /// For NICs that do not validate checksums; costs a pass over each
    /// datagram, and drops every query from a local stack with checksum
    /// offload (veth, virtio), whose frames carry partial sums.
    #[arg(long)]
    pub verify_udp_checksum: bool,
    /// A queue whose worker shows no progress for this long has its queries
    /// passed to the kernel sockets until it does (milliseconds, 50 to
    /// 60000; 0 turns the check off and saves its ~30 ns per steered frame).
    #[arg(long, value_name = "MS", default_value_t = 200, value_parser = parse_stall_threshold)]
    pub stall_threshold: u64,
    /// Answers the XDP program gives itself, byte for byte the workers'
    /// (tier 0): off, apex (every type at each zone's apex) or
    /// apex+delegations (also NS, DS, A and AAAA at each zone cut), and
    /// top=N: the N keys the workers answer most, learned at run time
    /// (alone or added: apex+top=N, apex+delegations+top=N).
    #[arg(long, value_name = "off|apex|apex+delegations[+top=N]", default_value = "off")]
    pub xdp_answers: crate::xdp::tier0::Answers,
    /// Seconds between two choices of the learned tier-0 keys (top=N).
    #[arg(long, value_name = "SECS", default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub xdp_learn_interval: u64,
}

/// Milliseconds: 0, or within the limits.
pub fn parse_stall_threshold(text: &str) -> Result<u64, String> {
    let ms: u64 = text.parse().map_err(|_| format!("{text:?} is not a number of milliseconds"))?;
    let range = limits::STALL_THRESHOLD_MS_MIN as u64..=limits::STALL_THRESHOLD_MS_MAX as u64;
    if ms == 0 || range.contains(&ms) {
        Ok(ms)
    } else {
        Err(format!("{ms} ms: 0 (off) or {} to {}", range.start(), range.end()))
    }
}

#[derive(Args, Debug)]
pub struct CompileArgs {
    /// Zone files, as FILE or NAME=FILE.
    #[arg(required = true, value_name = "[NAME=]FILE")]
    pub zones: Vec<String>,
    /// Where to write the table.
    #[arg(short, long, value_name = "FILE")]
    pub output: PathBuf,
    #[command(flatten)]
    pub zone_read: ZoneReadArgs,
}

#[derive(Args, Debug)]
pub struct CheckArgs {
    /// Zone files, as FILE or NAME=FILE.
    #[arg(required = true, value_name = "[NAME=]FILE")]
    pub zones: Vec<String>,
    #[command(flatten)]
    pub zone_read: ZoneReadArgs,
}

#[derive(Args, Debug)]
pub struct CheckConfigArgs {
    /// The configuration file, as `serve --config` takes it.
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,
}

#[derive(Args, Debug)]
pub struct DoctorArgs {
    /// The interface to examine.
    #[arg(long, value_name = "IFACE")]
    pub iface: String,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// Skip the attach and bind probes (on many drivers they reset the NIC's
    /// rings for a moment); report only what can be read.
    #[arg(long)]
    pub no_probe: bool,
    /// The zone files the server loads, as `serve --zone` takes them: warns
    /// when MemAvailable is short of what a reload of them needs.
    #[arg(long = "zone", value_name = "[NAME=]FILE", conflicts_with = "table")]
    pub zones: Vec<String>,
    /// The table file the server loads (`serve --table`), for the same check.
    #[arg(long, value_name = "FILE")]
    pub table: Option<PathBuf>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("responder").chain(args.iter().copied()))
    }

    #[test]
    fn serve_flags() {
        let cli =
            parse(&["serve", "--zone", "a.zone", "--zone", "b.example=b.zone", "--listen", "[::1]:5353"]).unwrap();
        let Command::Serve(s) = cli.command else { panic!("not serve") };
        assert_eq!(s.zones, ["a.zone", "b.example=b.zone"]);
        assert_eq!(s.listen, ["[::1]:5353".parse::<SocketAddr>().unwrap()]);
        assert_eq!(s.edns_size, 1232);
        assert_eq!(s.xdp.iface, None);
        assert_eq!((s.xdp.stall_threshold, s.share_port), (200, false));
        assert_eq!(s.zone_read.limits(), ReadLimits::default());
        let c = &s.capture;
        assert_eq!((&c.dnstap, c.dnstap_sample, &c.pcap, c.capture_ring_size), (&None, 1, &None, 1 << 20));
        let cli = parse(&["serve", "--dnstap", "unix:/run/d.sock", "--dnstap-sample", "100"]).unwrap();
        let Command::Serve(s) = cli.command else { panic!("not serve") };
        assert_eq!(s.capture.dnstap, Some(DnstapSink::Unix("/run/d.sock".into())));
        assert_eq!(s.capture.dnstap_sample, 100);
    }

    #[test]
    fn zone_read_flags() {
        let cli =
            parse(&["check", "--zone-max-size", "64M", "--include-dir", "/srv/a", "--include-dir", "b", "x.zone"])
                .unwrap();
        let Command::Check(c) = cli.command else { panic!("not check") };
        let want = ReadLimits { max_bytes: 64 << 20, include_dirs: vec!["/srv/a".into(), "b".into()] };
        assert_eq!(c.zone_read.limits(), want);
        assert!(parse(&["check", "--zone-max-size", "0", "x.zone"]).is_err());
        assert!(parse(&["compile", "--zone-max-size", "lots", "-o", "t", "x.zone"]).is_err());
    }

    #[test]
    fn bad_flags_are_rejected() {
        assert!(parse(&["serve", "--listen", "localhost"]).is_err());
        assert!(parse(&["serve", "--edns-size", "100"]).is_err());
        assert!(parse(&["serve", "--zone", "a", "--table", "t"]).is_err());
        assert!(parse(&["serve", "--iface", "eth0", "--xdp-mode", "fast"]).is_err());
        assert!(parse(&["serve", "--iface", "eth0", "--stall-threshold", "49"]).is_err(), "below 50 ms");
        assert!(parse(&["serve", "--iface", "eth0", "--stall-threshold", "60001"]).is_err(), "above 60 s");
        assert!(parse(&["serve", "--iface", "eth0", "--stall-threshold", "0"]).is_ok(), "0 is off");
        assert!(parse(&["compile", "a.zone"]).is_err(), "needs -o");
        assert!(parse(&["serve", "--dnstap", "unix:"]).is_err(), "a socket needs a path");
        assert!(parse(&["serve", "--dnstap", "unix:/s", "--dnstap-sample", "0"]).is_err(), "1 in 0");
        assert!(parse(&["serve", "--pcap", "q.pcap", "--pcap-sample", "0"]).is_err(), "1 in 0");
        assert!(parse(&["serve", "--capture-ring-size", "1K"]).is_err(), "below 4K");
        assert!(parse(&["bogus"]).is_err());
    }
}
