//! What a bench run measures: which servers, which offered rates, for how
//! long and how often, on which zone and queries. `--quick` trades repeats
//! and zone size for time; `--signed` and `--t0-hits` change the zone and
//! the queries for every server of the run alike.

use std::fmt;
use std::time::Duration;

use super::load;

/// Every server kind the bench knows, in the order they are measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ServerKind {
    /// The I/O floor: responder's data plane with a fixed reply, no lookup.
    Floor,
    /// The in-kernel floor: an XDP program sending each query back itself
    /// (XDP_TX), no AF_XDP, no DNS work; the upper bound for tier 0.
    FloorXdpTx,
    ResponderXdp,
    /// The responder with tier 0 on (`--xdp-answers apex+delegations`).
    ResponderXdpT0,
    ResponderXdpGeneric,
    ResponderKernel,
    KnotXdp,
    Knot,
    Nsd,
    Bind,
}

impl ServerKind {
    pub const ALL: [ServerKind; 10] = [
        ServerKind::Floor,
        ServerKind::FloorXdpTx,
        ServerKind::ResponderXdp,
        ServerKind::ResponderXdpT0,
        ServerKind::ResponderXdpGeneric,
        ServerKind::ResponderKernel,
        ServerKind::KnotXdp,
        ServerKind::Knot,
        ServerKind::Nsd,
        ServerKind::Bind,
    ];

    /// The run without options (and `--servers all`): every kind but the
    /// tier-0 one, which is measured on its own workload (`--t0-hits`), and
    /// its in-kernel floor, measured with it.
    pub const DEFAULT: [ServerKind; 8] = [
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
            ServerKind::FloorXdpTx => "floor-xdp-tx",
            ServerKind::ResponderXdp => "responder-xdp",
            ServerKind::ResponderXdpT0 => "responder-xdp-t0",
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
            ServerKind::Floor
                | ServerKind::FloorXdpTx
                | ServerKind::ResponderXdp
                | ServerKind::ResponderXdpT0
                | ServerKind::ResponderXdpGeneric
                | ServerKind::KnotXdp
        )
    }

    /// Serves through the responder's own XDP program, whose counters
    /// (tier 0 among them) its control socket reports.
    pub fn runs_responder_program(self) -> bool {
        matches!(self, ServerKind::ResponderXdp | ServerKind::ResponderXdpT0 | ServerKind::ResponderXdpGeneric)
    }

    /// A diagnostic, not a DNS server: measured and shown, never ranked.
    pub fn is_diagnostic(self) -> bool {
        self.is_floor()
    }

    /// One of the floors: every query gets the same REFUSED reply.
    pub fn is_floor(self) -> bool {
        matches!(self, ServerKind::Floor | ServerKind::FloorXdpTx)
    }

    /// Answers (some) queries with XDP_TX from the XDP program, which veth
    /// delivers at once only to a peer running native XDP itself: the
    /// client end then needs the XDP_PASS program of `modes::client_pass`.
    pub fn answers_with_xdp_tx(self) -> bool {
        matches!(self, ServerKind::FloorXdpTx | ServerKind::ResponderXdpT0)
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
    /// Extra `responder serve` flags for the responder's modes.
    pub responder_args: Vec<String>,
    /// `--signed [nsec3|nsec]`: every server serves the zone signed.
    pub signed: Option<Denial>,
    /// `--t0-hits PCT`: this share of the queries are tier-0 keys.
    pub t0_hits: Option<u32>,
}

/// How a signed zone proves that names and types do not exist.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Denial {
    /// NSEC3, 0 iterations, with a salt (RFC 9276's advice but the salt,
    /// which signers still commonly set).
    Nsec3,
    Nsec,
}

impl Denial {
    pub fn parse(text: &str) -> Result<Denial, String> {
        match text {
            "nsec3" => Ok(Denial::Nsec3),
            "nsec" => Ok(Denial::Nsec),
            other => Err(format!("--signed takes nsec3 or nsec, not `{other}`")),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Denial::Nsec3 => "nsec3",
            Denial::Nsec => "nsec",
        }
    }
}

/// `--t0-hits` when only `responder-xdp-t0` in `--servers` asks for the
/// tier-0 workload: most queries are the hot keys tier 0 is made for.
pub const T0_HITS_DEFAULT: u32 = 80;

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
    /// responder-xdp, -t0, -generic and -kernel; the floor keeps its
    /// defaults, so a tuning run still compares against the same I/O floor.
    pub responder_args: Vec<String>,
    /// Every server serves the zone signed, and every query has DO=1.
    pub signed: Option<Denial>,
    /// Percent of the queries that are tier-0 keys (the apex's SOA and NS,
    /// the delegations' NS, DS, A and AAAA); `None`: the usual mix only.
    pub t0_hits: Option<u32>,
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
        } else if args.t0_hits.is_some() {
            // The tier-0 workload is for the tier-0 server first of all,
            // and for the in-kernel floor that bounds it.
            plan.servers.push(ServerKind::FloorXdpTx);
            plan.servers.push(ServerKind::ResponderXdpT0);
        }
        plan.t0_hits =
            args.t0_hits.or_else(|| plan.servers.contains(&ServerKind::ResponderXdpT0).then_some(T0_HITS_DEFAULT));
        // Signing keeps the zone size: 100,000 names take ldns-signzone
        // about 16 CPU seconds (docs/BENCHMARKS.md).
        plan.signed = args.signed;
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
            servers: ServerKind::DEFAULT.to_vec(),
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
            signed: None,
            t0_hits: None,
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

    /// What the run's zone and queries were, for the report and the
    /// results directory; empty for the usual unsigned mix.
    pub fn modes(&self) -> Vec<String> {
        let mut modes = Vec::new();
        if let Some(denial) = self.signed {
            modes.push(format!("signed-{}", denial.name()));
        }
        if let Some(pct) = self.t0_hits {
            modes.push(format!("t0-hits-{pct}"));
        }
        modes
    }

    /// Upper bound of the time spent offering load, for the progress line.
    pub fn load_time(&self) -> Duration {
        let step = u64::from(self.seconds + load::KXDPGUN_OVERHEAD);
        let per_server = self.rates.len() as u64 * u64::from(self.repeats) * step + u64::from(self.latency_seconds);
        // Tier-0 runs: one more step for each responder XDP mode's program cost.
        let cost_steps = if self.servers.contains(&ServerKind::ResponderXdpT0) {
            self.servers.iter().filter(|k| k.runs_responder_program()).count() as u64
        } else {
            0
        };
        Duration::from_secs(per_server * self.servers.len() as u64 + cost_steps * step)
    }
}

/// Parses `--servers a,b,c` (names as [`ServerKind::name`], or `all`: the
/// default run's servers).
pub fn parse_servers(text: &str) -> Result<Vec<ServerKind>, String> {
    if text.trim() == "all" {
        return Ok(ServerKind::DEFAULT.to_vec());
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
        assert_eq!(parse_servers("all").unwrap(), ServerKind::DEFAULT);
        assert_eq!(parse_servers("responder-xdp-t0").unwrap(), [ServerKind::ResponderXdpT0]);
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
            signed: None,
            t0_hits: None,
        })
        .unwrap();
        assert_eq!(custom.servers, [ServerKind::Floor, ServerKind::Nsd], "measured in a fixed order, once each");
        assert_eq!((custom.queues, custom.names, custom.seconds, custom.repeats), (2, 500, 3, 2));
        assert!(custom.unpinned && !full.unpinned && !quick.unpinned);
        assert_eq!(custom.responder_args, ["--ring-size", "4096"]);
        assert!(full.responder_args.is_empty() && quick.responder_args.is_empty());
    }

    #[test]
    fn the_default_run_has_no_mode_and_no_tier0_server() {
        for quick in [false, true] {
            let plan = Plan::from_args(&BenchArgs { quick, ..BenchArgs::default() }).unwrap();
            assert_eq!(plan.servers, ServerKind::DEFAULT);
            assert!(!plan.servers.contains(&ServerKind::ResponderXdpT0));
            assert_eq!((plan.signed, plan.t0_hits), (None, None));
            assert!(plan.modes().is_empty());
        }
        let full = Plan::from_args(&BenchArgs::default()).unwrap();
        assert_eq!((full.names, full.queries, full.repeats), (100_000, 20_000, 3), "the figures on record");
    }

    #[test]
    fn tier0_runs_take_the_tier0_server_and_workload_together() {
        // --t0-hits alone: every default server plus the tier-0 one.
        let plan = Plan::from_args(&BenchArgs { t0_hits: Some(50), ..BenchArgs::default() }).unwrap();
        assert_eq!(plan.servers.len(), ServerKind::DEFAULT.len() + 2);
        assert_eq!(plan.servers[..2], [ServerKind::Floor, ServerKind::FloorXdpTx], "in the order of ALL");
        assert_eq!(plan.servers[3], ServerKind::ResponderXdpT0, "measured right after responder-xdp");
        assert_eq!((plan.t0_hits, plan.modes()), (Some(50), vec!["t0-hits-50".to_owned()]));
        // Naming the tier-0 server: the workload at its default share.
        let named =
            BenchArgs { servers: Some(vec![ServerKind::KnotXdp, ServerKind::ResponderXdpT0]), ..BenchArgs::default() };
        let plan = Plan::from_args(&named).unwrap();
        assert_eq!(plan.servers, [ServerKind::ResponderXdpT0, ServerKind::KnotXdp]);
        assert_eq!(plan.t0_hits, Some(T0_HITS_DEFAULT));
        // An explicit share and list: both as given, 0% included.
        let zero = BenchArgs { t0_hits: Some(0), servers: Some(vec![ServerKind::Nsd]), ..BenchArgs::default() };
        let plan = Plan::from_args(&zero).unwrap();
        assert_eq!((plan.servers.as_slice(), plan.t0_hits), (&[ServerKind::Nsd][..], Some(0)));
    }

    #[test]
    fn signed_runs_name_their_denial() {
        let plan = Plan::from_args(&BenchArgs { signed: Some(Denial::Nsec3), ..BenchArgs::default() }).unwrap();
        assert_eq!((plan.signed, plan.names), (Some(Denial::Nsec3), 100_000), "the unsigned run's zone size");
        assert_eq!(plan.servers, ServerKind::DEFAULT, "every server serves the signed zone");
        let quick = BenchArgs { quick: true, signed: Some(Denial::Nsec), t0_hits: Some(95), ..BenchArgs::default() };
        let plan = Plan::from_args(&quick).unwrap();
        assert_eq!(plan.names, Plan::from_args(&BenchArgs { quick: true, ..BenchArgs::default() }).unwrap().names);
        assert_eq!(plan.modes(), ["signed-nsec", "t0-hits-95"]);
        let sized = BenchArgs { signed: Some(Denial::Nsec3), names: Some(5000), ..BenchArgs::default() };
        assert_eq!(Plan::from_args(&sized).unwrap().names, 5000, "--names wins");
        assert_eq!(Denial::parse("nsec3"), Ok(Denial::Nsec3));
        assert!(Denial::parse("NSEC3").is_err());
    }

    #[test]
    fn bounded_values() {
        assert_eq!(parse_bounded("--seconds", "3", 1, MAX_SECONDS), Ok(3));
        assert!(parse_bounded("--seconds", "0", 1, MAX_SECONDS).is_err());
        assert!(parse_bounded("--seconds", "31", 1, MAX_SECONDS).is_err());
        assert!(parse_bounded("--names", "lots", 1, MAX_NAMES).unwrap_err().contains("--names"));
    }
}
