//! What the steering program must know about its interface to answer only
//! for the host: the interface's MAC and addresses (as netlink reports them,
//! see [`super::netlink`]), and from them and the listen addresses, the
//! contents of the program's address maps.
//!
//! An entry is either a destination the workers answer for (`STEER`) or an
//! address of ours that no query can come from (`LOCAL`: the interface's own
//! addresses and its subnets' directed broadcasts), or both.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

/// `ADDR_STEER` in `ebpf/xdp_dns.h`: a destination the workers answer for.
pub const ADDR_STEER: u8 = 1;
/// `ADDR_LOCAL` in `ebpf/xdp_dns.h`: ours, so never a plausible source.
pub const ADDR_LOCAL: u8 = 2;

/// One address on the interface.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct InterfaceAddr {
    pub addr: IpAddr,
    pub prefix_len: u8,
    /// IPv4 only: the broadcast address configured with it (`ip addr ... brd`).
    pub broadcast: Option<Ipv4Addr>,
}

impl InterfaceAddr {
    pub fn new(addr: IpAddr, prefix_len: u8) -> InterfaceAddr {
        InterfaceAddr { addr, prefix_len, broadcast: None }
    }

    /// The subnet's directed broadcast, which the kernel routes as broadcast
    /// for prefixes up to /30 whether or not `brd` was given (/31 and /32
    /// have none, RFC 3021).
    fn subnet_broadcast(&self) -> Option<Ipv4Addr> {
        let IpAddr::V4(addr) = self.addr else { return None };
        if self.prefix_len >= 31 {
            return None;
        }
        let host_bits = u32::MAX >> self.prefix_len;
        Some(Ipv4Addr::from(u32::from(addr) | host_bits))
    }
}

/// The interface as the steering program needs it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InterfaceState {
    /// The hardware address frames to us carry; `None` for an interface
    /// without one, to which nothing is steered.
    pub mac: Option<[u8; 6]>,
    pub addrs: Vec<InterfaceAddr>,
}

/// The address maps' contents for `listen` (a wildcard address standing for
/// every address of its family on the interface) on `iface`.
pub fn map_entries(listen: &[IpAddr], iface: &InterfaceState) -> BTreeMap<IpAddr, u8> {
    let wildcard_v4 = listen.iter().any(|a| a.is_ipv4() && a.is_unspecified());
    let wildcard_v6 = listen.iter().any(|a| a.is_ipv6() && a.is_unspecified());
    let mut entries = BTreeMap::new();
    for a in &iface.addrs {
        let wildcard = if a.addr.is_ipv4() { wildcard_v4 } else { wildcard_v6 };
        *entries.entry(a.addr).or_insert(0) |= ADDR_LOCAL | if wildcard { ADDR_STEER } else { 0 };
        for broadcast in [a.subnet_broadcast(), a.broadcast].into_iter().flatten() {
            *entries.entry(IpAddr::V4(broadcast)).or_insert(0) |= ADDR_LOCAL;
        }
    }
    for a in listen.iter().filter(|a| !a.is_unspecified()) {
        *entries.entry(*a).or_insert(0) |= ADDR_STEER;
    }
    // A broadcast address is never answered for, even when listened on by
    // mistake or shared with an address (a /31's peer is not a broadcast).
    for (addr, flags) in entries.iter_mut() {
        if *flags & ADDR_STEER != 0 && is_broadcast_of(addr, &iface.addrs) {
            *flags &= !ADDR_STEER;
        }
    }
    entries
}

fn is_broadcast_of(addr: &IpAddr, iface: &[InterfaceAddr]) -> bool {
    let IpAddr::V4(v4) = addr else { return false };
    v4.is_broadcast() || iface.iter().any(|a| a.subnet_broadcast() == Some(*v4) || a.broadcast == Some(*v4))
}

/// Listen addresses that are not on the interface (they are steered all the
/// same, as configured, but frames to them will rarely arrive there).
pub fn listen_not_on_interface(listen: &[IpAddr], iface: &InterfaceState) -> Vec<IpAddr> {
    listen.iter().filter(|l| !l.is_unspecified() && !iface.addrs.iter().any(|a| a.addr == **l)).copied().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn iface() -> InterfaceState {
        InterfaceState {
            mac: Some([2, 0, 0, 0, 0, 1]),
            addrs: vec![
                InterfaceAddr::new(v4("198.18.0.1"), 24),
                InterfaceAddr::new(v4("198.19.0.1"), 31),
                InterfaceAddr::new(v4("fd00::1"), 64),
            ],
        }
    }

    #[test]
    fn wildcards_steer_the_interfaces_own_addresses_only() {
        let e = map_entries(&[v4("0.0.0.0"), v4("::")], &iface());
        assert_eq!(e.get(&v4("198.18.0.1")), Some(&(ADDR_STEER | ADDR_LOCAL)));
        assert_eq!(e.get(&v4("198.19.0.1")), Some(&(ADDR_STEER | ADDR_LOCAL)));
        assert_eq!(e.get(&v4("fd00::1")), Some(&(ADDR_STEER | ADDR_LOCAL)));
        assert_eq!(e.get(&v4("198.18.0.255")), Some(&ADDR_LOCAL), "the subnet broadcast is ours, not answered");
        assert_eq!(e.get(&v4("198.19.0.1")).copied(), Some(3));
        assert_eq!(e.len(), 4, "a /31 has no broadcast: {e:?}");
    }

    #[test]
    fn one_family_wildcard_leaves_the_other_unsteered() {
        let e = map_entries(&[v4("0.0.0.0")], &iface());
        assert_eq!(e.get(&v4("198.18.0.1")), Some(&(ADDR_STEER | ADDR_LOCAL)));
        assert_eq!(e.get(&v4("fd00::1")), Some(&ADDR_LOCAL), "no IPv6 listen address: ours, not steered");
    }

    #[test]
    fn specific_listen_addresses_are_steered_as_configured() {
        let listen = [v4("198.18.0.1"), v4("198.18.0.9")];
        let e = map_entries(&listen, &iface());
        assert_eq!(e.get(&v4("198.18.0.9")), Some(&ADDR_STEER), "not on the interface: steered all the same");
        assert_eq!(e.get(&v4("198.19.0.1")), Some(&ADDR_LOCAL), "on the interface but not listened on");
        assert_eq!(listen_not_on_interface(&listen, &iface()), [v4("198.18.0.9")]);
        let e = map_entries(&[v4("198.18.0.255"), v4("255.255.255.255")], &iface());
        assert!(e.values().all(|f| f & ADDR_STEER == 0), "broadcasts are never answered for: {e:?}");
    }

    #[test]
    fn a_configured_broadcast_address_counts_too() {
        let mut state = iface();
        state.addrs[0].broadcast = Some(Ipv4Addr::new(198, 18, 0, 127));
        let e = map_entries(&[v4("0.0.0.0")], &state);
        assert_eq!(e.get(&v4("198.18.0.127")), Some(&ADDR_LOCAL));
        assert_eq!(e.get(&v4("198.18.0.255")), Some(&ADDR_LOCAL));
    }
}
