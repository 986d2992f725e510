//! SOA timers (RFC 1035 §3.3.13, RFC 1996 §4) and serial arithmetic
//! (RFC 1982). As in Knot, the zone's own SOA sets when to check again:
//! REFRESH after a good check, RETRY after a failed one, and EXPIRE after
//! the last good one, when the copy stops being answered from.

use std::time::Duration;

use crate::wire::dns::RType;

/// Shortest wait between checks, whatever the SOA says (Knot's
/// refresh-min-interval is 2 s): a zero REFRESH must not spin.
pub const MIN_INTERVAL: Duration = Duration::from_secs(1);
/// Longest wait (Knot's refresh-max-interval default: one day).
pub const MAX_INTERVAL: Duration = Duration::from_secs(24 * 3600);
/// How long to wait before trying again when we hold no copy at all, so
/// no SOA to take RETRY from.
pub const NO_COPY_RETRY: Duration = Duration::from_secs(5);

/// The numbers of an SOA's RDATA after its two names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Soa {
    pub serial: u32,
    pub refresh: u32,
    pub retry: u32,
    pub expire: u32,
    pub minimum: u32,
}

impl Soa {
    /// The serial of a record of type `rtype`, when it is an SOA.
    pub fn serial_of(rtype: RType, rdata: &[u8]) -> Option<u32> {
        (rtype == RType::SOA).then(|| Soa::from_rdata(rdata).map(|s| s.serial)).flatten()
    }

    /// Reads uncompressed SOA RDATA.
    pub fn from_rdata(rdata: &[u8]) -> Option<Soa> {
        let mut at = 0;
        for _ in 0..2 {
            loop {
                let len = usize::from(*rdata.get(at)?);
                at += 1 + len;
                if len == 0 {
                    break;
                }
                if len > 63 {
                    return None;
                }
            }
        }
        let n: [u8; 20] = rdata.get(at..)?.try_into().ok()?;
        let word = |i: usize| u32::from_be_bytes([n[i], n[i + 1], n[i + 2], n[i + 3]]);
        Some(Soa { serial: word(0), refresh: word(4), retry: word(8), expire: word(12), minimum: word(16) })
    }

    pub fn refresh(&self) -> Duration {
        bounded(self.refresh)
    }

    pub fn retry(&self) -> Duration {
        bounded(self.retry)
    }

    pub fn expire(&self) -> Duration {
        Duration::from_secs(u64::from(self.expire)).max(MIN_INTERVAL)
    }
}

fn bounded(secs: u32) -> Duration {
    Duration::from_secs(u64::from(secs)).clamp(MIN_INTERVAL, MAX_INTERVAL)
}

/// Whether serial `a` is newer than `b` (RFC 1982 §3.2, SERIAL_BITS 32).
/// Two serials exactly 2^31 apart are not comparable: neither is newer.
pub fn serial_newer(a: u32, b: u32) -> bool {
    a != b && a.wrapping_sub(b) < 0x8000_0000
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zone::Name;

    #[test]
    fn serials_compare_across_the_wrap() {
        assert!(serial_newer(2, 1));
        assert!(!serial_newer(1, 2));
        assert!(!serial_newer(5, 5));
        assert!(serial_newer(1, u32::MAX), "0xffffffff + 2 wraps to 1");
        assert!(!serial_newer(0x8000_0000, 0));
        assert!(!serial_newer(0, 0x8000_0000));
    }

    #[test]
    fn soa_numbers_are_read_and_bounded() {
        let name = Name::parse("ns.example.test.", None).unwrap().unwrap();
        let mut rdata = [name.wire(), name.wire()].concat();
        for n in [7u32, 0, 3, 10, 60] {
            rdata.extend_from_slice(&n.to_be_bytes());
        }
        let soa = Soa::from_rdata(&rdata).unwrap();
        assert_eq!((soa.serial, soa.retry(), soa.expire()), (7, Duration::from_secs(3), Duration::from_secs(10)));
        assert_eq!(soa.refresh(), MIN_INTERVAL, "a zero refresh does not spin");
        assert_eq!(Soa::from_rdata(&rdata[..rdata.len() - 1]), None);
        assert_eq!(Soa::from_rdata(&[0xff]), None);
    }
}
