//! What a bench run measures: which servers, which offered rates, for how
//! long and how often. `--quick` trades repeats and zone size for time.

use std::fmt;
use std::time::Duration;

use super::load;

/// Every server kind the bench knows, in the order they are measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ServerKind {
    /// The I/O floor: responder's data plane with a fixed reply, no lookup.
    Floor,
    ResponderXdp,
    ResponderXdpGeneric,
    ResponderKernel,
    KnotXdp,
    Knot,
    Nsd,
    Bind,
}

impl ServerKind {
    pub const ALL: [ServerKind; 8] = [
        ServerKind::Floor,
        ServerKind::ResponderXdp,
        ServerKind::ResponderXdpGeneric,
        ServerKind::ResponderKernel,
        ServerKind::KnotXdp,
        ServerKind::Knot,
        ServerKind::Nsd,
        ServerKind::Bind,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ServerKind::Floor => "floor",
            ServerKind::ResponderXdp => "responder-xdp",
            ServerKind::ResponderXdpGeneric => "responder-xdp-generic",
            ServerKind::ResponderKernel => "responder-kernel",
            ServerKind::KnotXdp => "knot-xdp",
            ServerKind::Knot => "knot",
            ServerKind::Nsd => "nsd",
            ServerKind::Bind => "bind",
        }
    }

    pub fn from_name(name: &str) -> Option<ServerKind> {
        ServerKind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// Serves through an XDP program on the server interface.
    pub fn uses_xdp(self) -> bool {
        matches!(
            self,
            ServerKind::Floor | ServerKind::ResponderXdp | ServerKind::ResponderXdpGeneric | ServerKind::KnotXdp
        )
    }

    /// A diagnostic, not a DNS server: measured and shown, never ranked.
    pub fn is_diagnostic(self) -> bool {
        self == ServerKind::Floor
    }

    /// Answers through the kernel's UDP stack.
    pub fn is_kernel_stack(self) -> bool {
        matches!(self, ServerKind::ResponderKernel | ServerKind::Knot | ServerKind::Nsd | ServerKind::Bind)
    }
}

impl fmt::Display for ServerKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The command line of `cargo xtask bench`, before defaults are applied.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct BenchArgs {
    pub quick: bool,
    pub queues: Option<u32>,
    pub servers: Option<Vec<ServerKind>>,
    pub names: Option<usize>,
    pub seconds: Option<u32>,
    pub repeats: Option<u32>,
    pub unpinned: bool,
    /// Extra `responder serve` flags for the responder's three modes.
    pub responder_args: Vec<String>,
}

/// Bounds that keep a typo from turning into an hour of load.
pub const MAX_NAMES: usize = 2_000_000;
pub const MAX_SECONDS: u32 = 30;
pub const MAX_REPEATS: u32 = 9;

/// A fully decided run.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    pub quick: bool,
    /// Server, generators and NAPI threads left where the scheduler puts
    /// them, instead of one CPU each side.
    pub unpinned: bool,
    pub queues: u32,
    pub servers: Vec<ServerKind>,
    pub names: usize,
    /// Queries in the generated query files (kxdpgun cycles through them).
    pub queries: usize,
    /// Offered rates of the load ladder, ascending.
    pub rates: Vec<u32>,
    pub seconds: u32,
    pub repeats: u32,
    /// The fixed offered rate of the latency measurement: below every
    /// server's saturation on this kind of machine.
    pub latency_rate: u32,
    pub latency_seconds: u32,
    /// The ladder step whose CPU use is reported per million answers.
    pub cpu_rate: u32,
    /// Queries checked by the correctness gate.
    pub gate_sample: usize,
    /// A step losing more than this (median) ends the server's ladder:
    /// past its knee a server answers about the same under more load (the
    /// kernel-stack servers' answered rate stayed flat from 300k to 400k),
    /// so higher rates only cost time.
    pub saturation_loss: f64,
    /// Extra `responder serve` flags (ring sizes, batch, busy polling) for
    /// responder-xdp, -generic and -kernel; the floor keeps its defaults, so
    /// a tuning run still compares against the same I/O floor.
    pub responder_args: Vec<String>,
}

impl Plan {
    pub fn from_args(args: &BenchArgs) -> Result<Plan, String> {
        let mut plan = if args.quick { Plan::quick() } else { Plan::full() };
        plan.unpinned = args.unpinned;
        if let Some(q) = args.queues {
            plan.queues = q;
        }
        if let Some(servers) = &args.servers {
            plan.servers = servers.clone();
        }
        if let Some(n) = args.names {
            plan.names = n;
        }
        if let Some(s) = args.seconds {
            plan.seconds = s;
        }
        if let Some(r) = args.repeats {
            plan.repeats = r;
        }
        plan.responder_args = args.responder_args.clone();
        plan.servers.sort();
        plan.servers.dedup();
        Ok(plan)
    }

    /// About 9 minutes on a 2-core machine with every server. The ladder
    /// reaches 600k q/s, which kxdpgun on its own core still sends here, so
    /// the XDP servers' peaks are theirs, not the generator's.
    fn full() -> Plan {
        Plan {
            quick: false,
            unpinned: false,
            queues: 1,
            servers: ServerKind::ALL.to_vec(),
            names: 100_000,
            queries: 20_000,
            rates: vec![50_000, 100_000, 200_000, 300_000, 400_000, 500_000, 600_000],
            seconds: 2,
            repeats: 3,
            latency_rate: 10_000,
            latency_seconds: 3,
            cpu_rate: 100_000,
            gate_sample: 40,
            saturation_loss: 0.05,
            responder_args: Vec::new(),
        }
    }

    /// Under 2 minutes: one repeat, a smaller zone, a shorter ladder.
    fn quick() -> Plan {
        Plan {
            quick: true,
            names: 10_000,
            queries: 5_000,
            rates: vec![50_000, 100_000, 200_000, 400_000],
            seconds: 1,
            repeats: 1,
            latency_seconds: 1,
            gate_sample: 20,
            ..Plan::full()
        }
    }

    /// Upper bound of the time spent offering load, for the progress line.
    pub fn load_time(&self) -> Duration {
        let per_server = self.rates.len() as u64 * u64::from(self.repeats * (self.seconds + load::KXDPGUN_OVERHEAD))
            + u64::from(self.latency_seconds);
        Duration::from_secs(per_server * self.servers.len() as u64)
    }
}

/// Parses `--servers a,b,c` (names as [`ServerKind::name`], or `all`).
pub fn parse_servers(text: &str) -> Result<Vec<ServerKind>, String> {
    if text.trim() == "all" {
        return Ok(ServerKind::ALL.to_vec());
    }
    let known = || ServerKind::ALL.iter().map(|k| k.name()).collect::<Vec<_>>().join(", ");
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            ServerKind::from_name(s).ok_or_else(|| format!("--servers: unknown server `{s}` (known: all, {})", known()))
        })
        .collect::<Result<Vec<_>, _>>()
        .and_then(|list| if list.is_empty() { Err("--servers: empty list".to_owned()) } else { Ok(list) })
}

/// Parses a bounded positive integer flag value.
pub fn parse_bounded<T>(flag: &str, text: &str, min: T, max: T) -> Result<T, String>
where
    T: std::str::FromStr + PartialOrd + fmt::Display + Copy,
{
    match text.parse::<T>() {
        Ok(n) if n >= min && n <= max => Ok(n),
        _ => Err(format!("{flag} must be a number from {min} to {max}, not `{text}`")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_names_round_trip_and_lists_parse() {
        for kind in ServerKind::ALL {
            assert_eq!(ServerKind::from_name(kind.name()), Some(kind));
        }
        assert_eq!(parse_servers("knot-xdp, nsd").unwrap(), [ServerKind::KnotXdp, ServerKind::Nsd]);
        assert_eq!(parse_servers("all").unwrap().len(), ServerKind::ALL.len());
        assert!(parse_servers("knot,unbound").unwrap_err().contains("unbound"));
        assert!(parse_servers(",").is_err());
    }

    #[test]
    fn quick_is_smaller_than_full_and_flags_override() {
        let full = Plan::from_args(&BenchArgs::default()).unwrap();
        let quick = Plan::from_args(&BenchArgs { quick: true, ..BenchArgs::default() }).unwrap();
        assert!(quick.load_time() < full.load_time());
        assert!(full.repeats >= 3, "the issue asks for at least three repeats");
        assert!(full.rates.contains(&full.cpu_rate) && quick.rates.contains(&quick.cpu_rate));
        assert!(full.rates.windows(2).all(|w| w[0] < w[1]));
        assert!(*full.rates.last().unwrap() >= 600_000, "high enough to saturate the XDP servers");
        let custom = Plan::from_args(&BenchArgs {
            quick: true,
            queues: Some(2),
            servers: Some(vec![ServerKind::Nsd, ServerKind::Floor, ServerKind::Nsd]),
            names: Some(500),
            seconds: Some(3),
            repeats: Some(2),
            unpinned: true,
            responder_args: vec!["--ring-size".to_owned(), "4096".to_owned()],
        })
        .unwrap();
        assert_eq!(custom.servers, [ServerKind::Floor, ServerKind::Nsd], "measured in a fixed order, once each");
        assert_eq!((custom.queues, custom.names, custom.seconds, custom.repeats), (2, 500, 3, 2));
        assert!(custom.unpinned && !full.unpinned && !quick.unpinned);
        assert_eq!(custom.responder_args, ["--ring-size", "4096"]);
        assert!(full.responder_args.is_empty() && quick.responder_args.is_empty());
    }

    #[test]
    fn bounded_values() {
        assert_eq!(parse_bounded("--seconds", "3", 1, MAX_SECONDS), Ok(3));
        assert!(parse_bounded("--seconds", "0", 1, MAX_SECONDS).is_err());
        assert!(parse_bounded("--seconds", "31", 1, MAX_SECONDS).is_err());
        assert!(parse_bounded("--names", "lots", 1, MAX_NAMES).unwrap_err().contains("--names"));
    }
}
