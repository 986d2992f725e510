//! Rate limiting for the answers the program gives itself: the workers'
//! `[rrl]` settings (`crate::rrl`) as the constants and map size of the
//! program's limiter (`ebpf/tier0_rrl.h`).
//!
//! # Why in the program, and why the totals match the workers'
//!
//! A worker's limiter decides from the response alone: the client's
//! prefix, the response class, its own clock and buckets. A tier-0 answer
//! has all of these in the program, so the program decides there with the
//! same arithmetic (a token bucket in thousandths of a response, full at
//! one second's worth, a newcomer full, every `slip`-th limited response
//! slipped) and builds the slip the engine would (its header with TC, the
//! question as sent, the OPT): the BPF_PROG_TEST_RUN tests compare both the
//! sequence of decisions and the slipped frames with the worker's path.
//! Passing over-limit sources to the workers instead would let each
//! worker's bucket start full for them: a flood would get the program's
//! burst and then a worker's as well.
//!
//! The buckets are per CPU (`BPF_MAP_TYPE_LRU_PERCPU_HASH`), as the
//! workers' are per worker, with no atomics on the hot path; a shared
//! `LRU_HASH` would need an atomic read-modify-write (or a lock) per
//! answer to stay correct across CPUs. One RX queue's interrupts run on one
//! CPU, so a source keeps its bucket as it keeps its queue (hash UDP on
//! addresses alone to make it stick: `crate::rrl`, "Per worker"). As with
//! the workers, the rate is therefore per CPU, and tier-0 answers and the
//! workers' answers to the same source are limited apart: a source asking
//! both tier-0 names and others gets up to `rate` of each.
//!
//! The table differs in one way: a worker's table evicts the fullest
//! bucket of its probe window, the map its least recently used key. While
//! the table has room both keep every bucket; under pressure a flooded
//! prefix, used at every packet, is the last the map forgets.

use crate::rrl::{RrlConfig, RrlError};

/// The program's limiter settings (`t0_rrl_*` in `ebpf/tier0_rrl.h`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RrlGlobals {
    /// Responses per second per bucket; 0 turns rate limiting off.
    pub rate: u32,
    pub slip: u32,
    /// The IPv4 prefix mask as it sits in memory over the header's bytes.
    pub mask4: u32,
    /// The IPv6 prefix mask, likewise, as two words.
    pub mask6: [u64; 2],
    /// `max_entries` of `t0_rrl`: the table size, 1 when off (an LRU map
    /// is allocated whole when it is created).
    pub buckets: u32,
}

impl RrlGlobals {
    pub const OFF: RrlGlobals = RrlGlobals { rate: 0, slip: 0, mask4: 0, mask6: [0; 2], buckets: 1 };

    /// The settings for `config`, checked as the workers' are.
    pub fn new(config: Option<&RrlConfig>) -> Result<RrlGlobals, RrlError> {
        let Some(config) = config else { return Ok(RrlGlobals::OFF) };
        config.validate()?;
        let v4 = u32::MAX.checked_shl(32 - u32::from(config.ipv4_prefix)).unwrap_or(0);
        let v6 = u128::MAX.checked_shl(128 - u32::from(config.ipv6_prefix)).unwrap_or(0).to_be_bytes();
        let word = |bytes: &[u8]| {
            let mut w = [0u8; 8];
            w.copy_from_slice(bytes);
            u64::from_ne_bytes(w)
        };
        Ok(RrlGlobals {
            rate: config.rate,
            slip: config.slip,
            mask4: u32::from_ne_bytes(v4.to_be_bytes()),
            mask6: [word(&v6[..8]), word(&v6[8..])],
            buckets: config.buckets,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The mask applied as the program applies it: to the address's bytes
    /// as they sit in memory.
    fn masked4(g: &RrlGlobals, address: [u8; 4]) -> [u8; 4] {
        (u32::from_ne_bytes(address) & g.mask4).to_ne_bytes()
    }

    fn masked6(g: &RrlGlobals, address: [u8; 16]) -> [u8; 16] {
        let mut out = [0u8; 16];
        for (i, chunk) in address.chunks(8).enumerate() {
            let mut w = [0u8; 8];
            w.copy_from_slice(chunk);
            out[i * 8..i * 8 + 8].copy_from_slice(&(u64::from_ne_bytes(w) & g.mask6[i]).to_ne_bytes());
        }
        out
    }

    #[test]
    fn masks_keep_the_configured_leading_bits() {
        let config = RrlConfig { ipv4_prefix: 20, ipv6_prefix: 33, ..RrlConfig::with_rate(10) };
        let g = RrlGlobals::new(Some(&config)).unwrap();
        assert_eq!(masked4(&g, [198, 18, 31, 200]), [198, 18, 16, 0]);
        let v6: std::net::Ipv6Addr = "fd00:1:ffff:ffff::1".parse().unwrap();
        let want: std::net::Ipv6Addr = "fd00:1:8000::".parse().unwrap();
        assert_eq!(masked6(&g, v6.octets()), want.octets());
        assert_eq!((g.rate, g.slip, g.buckets), (10, 2, 65_536));
    }

    #[test]
    fn whole_and_empty_prefixes() {
        let whole = RrlConfig { ipv4_prefix: 32, ipv6_prefix: 128, ..RrlConfig::with_rate(1) };
        let g = RrlGlobals::new(Some(&whole)).unwrap();
        assert_eq!((g.mask4, g.mask6), (u32::MAX, [u64::MAX; 2]));
        let none = RrlConfig { ipv4_prefix: 0, ipv6_prefix: 0, ..RrlConfig::with_rate(1) };
        let g = RrlGlobals::new(Some(&none)).unwrap();
        assert_eq!((g.mask4, g.mask6), (0, [0; 2]));
    }

    #[test]
    fn off_and_refused_settings() {
        assert_eq!(RrlGlobals::new(None), Ok(RrlGlobals::OFF));
        let bad = RrlConfig { slip: 101, ..RrlConfig::with_rate(1) };
        assert_eq!(RrlGlobals::new(Some(&bad)), Err(RrlError::Slip(101)));
    }
}
