//! The steering program's per-outcome counters, mirrored from
//! `ebpf/xdp_dns.h` (`enum steer_outcome`). A unit test parses the header so
//! the two cannot drift apart unnoticed.

use std::fmt;

/// XSKMAP slots (`STEER_MAX_QUEUES`): the highest queue id plus one that can
/// carry an AF_XDP socket.
pub const MAX_QUEUES: u32 = 256;

/// Entries per family (`STEER_MAX_ADDRS`) in the address maps: steered
/// destinations, the interface's own addresses and its subnet broadcasts.
pub const MAX_ADDRS: u32 = 4096;

/// Why the program redirected or passed a frame; the index into `counters`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum Outcome {
    /// Handed to the receiving queue's AF_XDP socket.
    Redirected = 0,
    /// A steerable query, but no socket is registered for its queue: passed
    /// to the kernel rather than dropped.
    PassedNoSocket = 1,
    /// Not IPv4 or IPv6 (ARP, LLDP, ...).
    PassedNotIp = 2,
    /// IP, but not UDP.
    PassedNotUdp = 3,
    /// An IPv4 fragment: only the kernel reassembles.
    PassedFragment = 4,
    /// IPv6 with an extension header before UDP.
    PassedIpv6Extension = 5,
    /// UDP to a port outside the configured set.
    PassedPort = 6,
    /// Not to one of our addresses that is listened on (a wildcard listen
    /// address means the interface's own addresses).
    PassedAddress = 7,
    /// Truncated or invalid headers, or a UDP datagram longer than the frame.
    PassedMalformed = 8,
    /// Not to the interface's MAC: broadcast, multicast, another station.
    PassedMac = 9,
    /// From a source no query comes from: "this network", loopback,
    /// multicast, reserved, v4-mapped, our own address or subnet broadcast,
    /// or source port 0.
    PassedSource = 10,
    /// IPv6 UDP with checksum 0, illegal (RFC 8200): the kernel drops it.
    PassedChecksum = 11,
    /// A steerable query on a queue whose worker has shown no progress for
    /// the stall threshold: passed to the kernel rather than left unread.
    PassedStalled = 12,
    /// A NOTIFY (opcode 4): the secondary zones read it on the kernel socket.
    PassedNotify = 13,
    /// Answered by the program itself from the tier-0 map (XDP_TX); a
    /// rate-limited answer slipped (sent truncated) is one too.
    AnsweredTier0 = 14,
    /// A tier-0 answer that rate limiting dropped (XDP_DROP), as a
    /// worker's limiter would have.
    RateLimitedTier0 = 15,
}

impl Outcome {
    /// Every outcome, in counter-index order.
    pub const ALL: [Outcome; 16] = [
        Outcome::Redirected,
        Outcome::PassedNoSocket,
        Outcome::PassedNotIp,
        Outcome::PassedNotUdp,
        Outcome::PassedFragment,
        Outcome::PassedIpv6Extension,
        Outcome::PassedPort,
        Outcome::PassedAddress,
        Outcome::PassedMalformed,
        Outcome::PassedMac,
        Outcome::PassedSource,
        Outcome::PassedChecksum,
        Outcome::PassedStalled,
        Outcome::PassedNotify,
        Outcome::AnsweredTier0,
        Outcome::RateLimitedTier0,
    ];

    /// `STEER_OUTCOME_COUNT`: the size of the counters map.
    pub const COUNT: u32 = Outcome::ALL.len() as u32;

    pub const fn index(self) -> u32 {
        self as u32
    }

    /// Stable snake_case name, for logs and metrics.
    pub const fn name(self) -> &'static str {
        match self {
            Outcome::Redirected => "redirected",
            Outcome::PassedNoSocket => "passed_no_socket",
            Outcome::PassedNotIp => "passed_not_ip",
            Outcome::PassedNotUdp => "passed_not_udp",
            Outcome::PassedFragment => "passed_fragment",
            Outcome::PassedIpv6Extension => "passed_ipv6_extension",
            Outcome::PassedPort => "passed_port",
            Outcome::PassedAddress => "passed_address",
            Outcome::PassedMalformed => "passed_malformed",
            Outcome::PassedMac => "passed_mac",
            Outcome::PassedSource => "passed_source",
            Outcome::PassedChecksum => "passed_checksum",
            Outcome::PassedStalled => "passed_stalled",
            Outcome::PassedNotify => "passed_notify",
            Outcome::AnsweredTier0 => "answered_tier0",
            Outcome::RateLimitedTier0 => "rate_limited_tier0",
        }
    }
}

/// Frames seen by the steering program, by outcome, summed over all CPUs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SteeringCounters {
    counts: [u64; Outcome::ALL.len()],
}

impl SteeringCounters {
    /// Builds counters from per-outcome totals, in [`Outcome::ALL`] order.
    pub(crate) fn from_totals(counts: [u64; Outcome::ALL.len()]) -> Self {
        SteeringCounters { counts }
    }

    pub fn get(&self, outcome: Outcome) -> u64 {
        self.counts[outcome as usize]
    }

    /// Every frame the program saw.
    pub fn total(&self) -> u64 {
        self.counts.iter().fold(0, |sum, n| sum.wrapping_add(*n))
    }

    /// Per-outcome increase since `earlier` (counters only grow, but a
    /// wrapped counter must not panic).
    pub fn since(&self, earlier: &SteeringCounters) -> SteeringCounters {
        let mut counts = self.counts;
        for (now, before) in counts.iter_mut().zip(earlier.counts) {
            *now = now.wrapping_sub(before);
        }
        SteeringCounters { counts }
    }

    /// The non-zero outcomes, for assertions and logs.
    pub fn nonzero(&self) -> impl Iterator<Item = (Outcome, u64)> + '_ {
        Outcome::ALL.into_iter().map(|o| (o, self.get(o))).filter(|(_, n)| *n != 0)
    }
}

impl fmt::Display for SteeringCounters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for outcome in Outcome::ALL {
            if !first {
                f.write_str(" ")?;
            }
            first = false;
            write!(f, "{}={}", outcome.name(), self.get(outcome))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `#define NAME value` and `NAME = value,` lines from the C header.
    fn header_constants() -> Vec<(String, u64)> {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../ebpf/xdp_dns.h");
        let text = std::fs::read_to_string(path).expect("read ebpf/xdp_dns.h");
        let mut constants = Vec::new();
        for line in text.lines() {
            let code = line.split("/*").next().unwrap_or("").trim();
            let (name, value) = if let Some(rest) = code.strip_prefix("#define ") {
                match rest.split_once(char::is_whitespace) {
                    Some((name, value)) => (name, value),
                    None => continue,
                }
            } else if let Some((name, value)) = code.split_once('=') {
                (name, value.trim_end_matches(','))
            } else {
                continue;
            };
            if let Ok(value) = value.trim().parse() {
                constants.push((name.trim().to_owned(), value));
            }
        }
        constants
    }

    fn c_name(outcome: Outcome) -> String {
        format!("STEER_{}", outcome.name().to_ascii_uppercase())
    }

    #[test]
    fn outcomes_match_the_c_header() {
        let constants = header_constants();
        let lookup = |name: &str| {
            constants
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| *v)
                .unwrap_or_else(|| panic!("{name} missing from xdp_dns.h"))
        };
        for outcome in Outcome::ALL {
            assert_eq!(lookup(&c_name(outcome)), u64::from(outcome.index()), "{outcome:?}");
        }
        assert_eq!(lookup("STEER_OUTCOME_COUNT"), u64::from(Outcome::COUNT));
        assert_eq!(lookup("STEER_MAX_QUEUES"), u64::from(MAX_QUEUES));
        assert_eq!(lookup("STEER_MAX_ADDRS"), u64::from(MAX_ADDRS));
        assert_eq!(lookup("ADDR_STEER"), u64::from(crate::xdp::own_addresses::ADDR_STEER));
        assert_eq!(lookup("ADDR_LOCAL"), u64::from(crate::xdp::own_addresses::ADDR_LOCAL));
        let enumerators = constants.iter().filter(|(n, _)| n.starts_with("STEER_") && !n.contains("MAX")).count();
        assert_eq!(enumerators, Outcome::ALL.len() + 1, "an outcome in the header is missing here");
    }

    #[test]
    fn all_is_in_index_order() {
        for (i, outcome) in Outcome::ALL.into_iter().enumerate() {
            assert_eq!(outcome.index() as usize, i);
        }
    }

    #[test]
    fn totals_and_differences() {
        let before = SteeringCounters::from_totals([1, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        let after = SteeringCounters::from_totals([4, 1, 2, 0, 0, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0]);
        let delta = after.since(&before);
        assert_eq!(delta.get(Outcome::Redirected), 3);
        assert_eq!(delta.get(Outcome::PassedNotIp), 0);
        assert_eq!(delta.get(Outcome::PassedMalformed), 7);
        assert_eq!(delta.total(), 11);
        assert_eq!(
            delta.nonzero().collect::<Vec<_>>(),
            [(Outcome::Redirected, 3), (Outcome::PassedNoSocket, 1), (Outcome::PassedMalformed, 7)]
        );
        assert!(after.to_string().starts_with("redirected=4 passed_no_socket=1 "));
    }
}
