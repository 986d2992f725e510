//! An ACL's `address`: one address, a prefix (`198.18.0.0/24`) or a range
//! (`198.18.0.10-198.18.0.20`), as Knot's `acl.address` takes them.

use std::fmt;
use std::net::IpAddr;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddressRange {
    first: u128,
    last: u128,
    v6: bool,
}

fn bits(a: IpAddr) -> (u128, bool) {
    match a {
        IpAddr::V4(v4) => (u32::from(v4) as u128, false),
        IpAddr::V6(v6) => (u128::from(v6), true),
    }
}

impl AddressRange {
    pub fn parse(text: &str) -> Result<AddressRange, String> {
        let text = text.trim();
        let address = |s: &str| s.parse::<IpAddr>().map_err(|_| format!("{s:?} is not an IP address"));
        if let Some((a, b)) = text.split_once('-') {
            let ((first, v6), (last, v6b)) = (bits(address(a)?), bits(address(b)?));
            if v6 != v6b || first > last {
                return Err(format!("{text:?}: a range goes from a lower to a higher address of one family"));
            }
            return Ok(AddressRange { first, last, v6 });
        }
        let (a, len) = match text.split_once('/') {
            Some((a, len)) => (a, Some(len)),
            None => (text, None),
        };
        let (value, v6) = bits(address(a)?);
        let width = if v6 { 128 } else { 32 };
        let len = match len {
            Some(l) => l
                .parse::<u32>()
                .ok()
                .filter(|&l| l <= width)
                .ok_or_else(|| format!("{text:?}: the prefix length must be 0 to {width}"))?,
            None => width,
        };
        let host_bits = width - len;
        let mask = if host_bits == 128 { u128::MAX } else { (1u128 << host_bits) - 1 };
        Ok(AddressRange { first: value & !mask, last: value | mask, v6 })
    }

    pub fn contains(&self, address: IpAddr) -> bool {
        let (value, v6) = match address {
            // A v4-mapped client (a dual-stack socket) is its IPv4 address.
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => bits(IpAddr::V4(v4)),
                None => bits(address),
            },
            IpAddr::V4(_) => bits(address),
        };
        v6 == self.v6 && (self.first..=self.last).contains(&value)
    }
}

impl fmt::Display for AddressRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let show = |v: u128| -> IpAddr {
            if self.v6 {
                IpAddr::V6(v.into())
            } else {
                IpAddr::V4((v as u32).into())
            }
        };
        write!(f, "{}-{}", show(self.first), show(self.last))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn addresses_prefixes_and_ranges() {
        let one = AddressRange::parse("198.18.0.5").unwrap();
        assert!(one.contains(ip("198.18.0.5")) && !one.contains(ip("198.18.0.6")));
        let net = AddressRange::parse("198.18.0.0/24").unwrap();
        assert!(net.contains(ip("198.18.0.255")) && !net.contains(ip("198.18.1.0")));
        assert!(net.contains(ip("::ffff:198.18.0.7")), "v4-mapped");
        let v6 = AddressRange::parse("fd00::/8").unwrap();
        assert!(v6.contains(ip("fd12::1")) && !v6.contains(ip("fe80::1")) && !v6.contains(ip("198.18.0.1")));
        let range = AddressRange::parse("198.18.0.10-198.18.0.20").unwrap();
        assert!(range.contains(ip("198.18.0.15")) && !range.contains(ip("198.18.0.21")));
        assert!(AddressRange::parse("0.0.0.0/0").unwrap().contains(ip("203.0.113.1")));
        assert!(AddressRange::parse("::/0").unwrap().contains(ip("fd00::1")));
    }

    #[test]
    fn bad_ranges_say_why() {
        assert!(AddressRange::parse("198.18.0.0/33").unwrap_err().contains("prefix length"));
        assert!(AddressRange::parse("example.com").unwrap_err().contains("not an IP"));
        assert!(AddressRange::parse("198.18.0.9-198.18.0.1").unwrap_err().contains("lower to a higher"));
        assert!(AddressRange::parse("198.18.0.1-fd00::1").is_err());
    }
}
