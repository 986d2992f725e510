//! A deterministic benchmark workload: a zone of N names shaped like a
//! hosting provider's (addresses, aliases, mail, TXT, delegations with glue,
//! a wildcard) and a query mix with about 20% NXDOMAIN (or any share),
//! mixed types and case, half of the queries with EDNS.

use std::fmt::Write as _;

/// A small LCG: the same workload on every run and machine.
pub struct Lcg(u64);

impl Lcg {
    pub fn new(seed: u64) -> Lcg {
        Lcg(seed)
    }
    // Not an Iterator: the sequence never ends and callers want the number.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// What a generated name holds, so queries can ask for what exists.
#[derive(Clone, Copy)]
pub enum Kind {
    A,
    Dual,
    Cname,
    Mail,
    Txt,
    Delegation,
}

pub fn kind_of(i: usize) -> Kind {
    match i % 20 {
        0..=11 => Kind::A,
        12..=14 => Kind::Dual,
        15 | 16 => Kind::Cname,
        17 => Kind::Mail,
        18 => Kind::Txt,
        _ => Kind::Delegation,
    }
}

pub fn zone_text(names: usize) -> String {
    let mut z = String::with_capacity(names * 48);
    z.push_str("$ORIGIN bench.test.\n$TTL 3600\n");
    z.push_str("@ SOA ns1 hostmaster 2024010101 7200 3600 1209600 300\n@ NS ns1\n@ NS ns2\n");
    z.push_str("ns1 A 198.18.0.1\nns2 A 198.18.0.2\n*.wild A 198.18.0.3\n");
    for i in 0..names {
        let (a, b) = ((i >> 8) & 0xff, i & 0xff);
        match kind_of(i) {
            Kind::A => writeln!(z, "h{i} A 198.18.{a}.{b}"),
            Kind::Dual => writeln!(z, "h{i} A 198.19.{a}.{b}\nh{i} AAAA fd00::{:x}:{:x}", i >> 16, i & 0xffff),
            Kind::Cname => writeln!(z, "h{i} CNAME h{}", i - i % 20),
            Kind::Mail => writeln!(z, "h{i} MX 10 h{}\nh{i} A 198.18.{a}.{b}", i - i % 20),
            Kind::Txt => writeln!(z, "h{i} TXT \"v=spf1 ip4:198.18.{a}.{b} -all\""),
            Kind::Delegation => writeln!(z, "h{i} NS ns.h{i}\nns.h{i} A 198.19.{a}.{b}"),
        }
        .unwrap();
    }
    z
}

/// Wire-format DNS queries (no headers below DNS), about 20% NXDOMAIN.
pub fn queries(names: usize, count: usize, seed: u64) -> Vec<Vec<u8>> {
    mix(names, count, seed, |rng| rng.below(5) == 0)
}

/// [`queries`] with about `nx_percent`% of them for names that do not exist.
pub fn queries_with_nxdomain(names: usize, count: usize, seed: u64, nx_percent: u64) -> Vec<Vec<u8>> {
    mix(names, count, seed, |rng| rng.below(100) < nx_percent)
}

/// `nx` draws whether a query asks for a name that does not exist; the
/// rest of the draws are the same whatever it is, so [`queries`] stays
/// the sequence earlier figures were measured on.
fn mix(names: usize, count: usize, seed: u64, mut nx: impl FnMut(&mut Lcg) -> bool) -> Vec<Vec<u8>> {
    let mut rng = Lcg::new(seed);
    (0..count)
        .map(|n| {
            let i = rng.below(names as u64) as usize;
            let nx = nx(&mut rng);
            let label = if nx { format!("nx{i}") } else { format!("h{i}") };
            let qtype: u16 = match (nx, kind_of(i), rng.below(4)) {
                (true, _, _) => 1,
                (_, Kind::Dual, 0 | 1) => 28,
                (_, Kind::Mail, 0 | 1) => 15,
                (_, Kind::Txt, 0..=2) => 16,
                (_, _, 3) => [1, 28, 16, 15][rng.below(4) as usize],
                _ => 1,
            };
            let mut q = Vec::with_capacity(64);
            q.extend_from_slice(&(n as u16).to_be_bytes());
            q.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
            for part in [label.as_str(), "bench", "test"] {
                q.push(part.len() as u8);
                for c in part.bytes() {
                    q.push(if rng.below(2) == 0 { c.to_ascii_uppercase() } else { c });
                }
            }
            q.push(0);
            q.extend_from_slice(&qtype.to_be_bytes());
            q.extend_from_slice(&[0, 1]);
            if rng.below(2) == 0 {
                q[11] = 1;
                let dnssec_ok = if rng.below(10) == 0 { 0x80 } else { 0 };
                q.extend_from_slice(&[0, 0, 41, 0x04, 0xd0, 0, 0, dnssec_ok, 0, 0, 0]);
            }
            q
        })
        .collect()
}

/// Wraps a DNS query in Ethernet/IPv4/UDP with valid checksums.
pub fn ipv4_frame(dns: &[u8], sport: u16) -> Vec<u8> {
    let mut f = Vec::with_capacity(42 + dns.len());
    f.extend_from_slice(&[0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2, 0x08, 0x00]);
    let total = (20 + 8 + dns.len()) as u16;
    let mut ip = [0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, 17, 0, 0, 198, 18, 0, 2, 198, 18, 0, 1];
    ip[2..4].copy_from_slice(&total.to_be_bytes());
    let c = checksum(&ip, 0);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    f.extend_from_slice(&ip);
    let ulen = (8 + dns.len()) as u16;
    let mut udp = Vec::with_capacity(ulen as usize);
    udp.extend_from_slice(&sport.to_be_bytes());
    udp.extend_from_slice(&53u16.to_be_bytes());
    udp.extend_from_slice(&ulen.to_be_bytes());
    udp.extend_from_slice(&[0, 0]);
    udp.extend_from_slice(dns);
    let mut pseudo = 0u32;
    for w in [0xc612u32, 0x0002, 0xc612, 0x0001, 17, ulen as u32] {
        pseudo += w;
    }
    let c = checksum(&udp, pseudo);
    udp[6..8].copy_from_slice(&c.to_be_bytes());
    f.extend_from_slice(&udp);
    f
}

fn checksum(b: &[u8], start: u32) -> u16 {
    let mut s = start;
    for c in b.chunks(2) {
        s += u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]) as u32;
    }
    while s > 0xffff {
        s = (s & 0xffff) + (s >> 16);
    }
    !(s as u16)
}
