//! A query frame's tier-0 key, for the queries the XDP program itself
//! would look up (`tier0_answer` in `ebpf/xdp_dns.c`): UDP over IPv4
//! without options or IPv6 without extension headers; a query (QR clear,
//! opcode 0) with one question in class IN, nothing else but a plain OPT
//! (root owner, version 0, no options) and no byte after it; a name of at
//! most [`NAME_MAX`] bytes in plain labels. Any other query would never be
//! answered by tier 0 whatever is installed, so learning it is pointless.

use crate::wire::{ethernet, ipv4, ipv6};
use crate::xdp::tier0::layout::{Key, Shape, NAME_MAX};

const UDP: u8 = 17;
const UDP_HEADER: usize = 8;
const DNS_HEADER: usize = 12;
const OPT_LEN: usize = 11;

/// The key `frame` (Ethernet onwards) would be looked up with; `None` when
/// the program would not look it up.
pub fn of_frame(frame: &[u8]) -> Option<Key> {
    let l3 = ethernet::layer3(frame)?;
    let packet = frame.get(l3.offset..)?;
    let udp = match l3.ethertype {
        0x0800 => {
            let ip = ipv4::Header::new_checked(packet)?;
            if ip.header_len() != ipv4::MIN_HEADER_LEN || ip.protocol() != UDP || ip.is_fragment() {
                return None;
            }
            packet.get(ipv4::MIN_HEADER_LEN..ip.total_len())?
        }
        0x86dd => {
            let ip = ipv6::Header::new_checked(packet)?;
            if ip.next_header() != UDP {
                return None;
            }
            packet.get(ipv6::HEADER_LEN..ipv6::HEADER_LEN + ip.payload_len())?
        }
        _ => return None,
    };
    let udp_len = usize::from(u16::from_be_bytes(*udp.first_chunk::<6>()?.last_chunk::<2>()?));
    if udp_len != udp.len() {
        return None;
    }
    of_message(udp.get(UDP_HEADER..)?)
}

/// The key of a DNS message that is exactly the query (see the module).
pub fn of_message(dns: &[u8]) -> Option<Key> {
    let h = dns.first_chunk::<DNS_HEADER>()?;
    // QR clear, opcode 0; one question; no answer or authority; at most the OPT.
    if h[2] & 0xf8 != 0 || h[4..10] != [0, 1, 0, 0, 0, 0] || h[10] != 0 || h[11] > 1 {
        return None;
    }
    let mut key = Key { generation: 0, shape: Shape::NoEdns as u8, qtype: 0, name: [0; NAME_MAX] };
    let mut at = DNS_HEADER;
    loop {
        let len = usize::from(*dns.get(at)?);
        let end = at + 1 + len;
        // A pointer or an odd label type; or a name longer than a key holds.
        if len > 63 || end - DNS_HEADER > NAME_MAX {
            return None;
        }
        let label = dns.get(at..end)?;
        for (k, &b) in key.name[at - DNS_HEADER..end - DNS_HEADER].iter_mut().zip(label) {
            *k = b.to_ascii_lowercase();
        }
        at = end;
        if len == 0 {
            break;
        }
    }
    let fixed = dns.get(at..at + 4)?;
    if fixed[2..] != [0, 1] {
        return None;
    }
    key.qtype = u16::from_be_bytes([fixed[0], fixed[1]]);
    let rest = &dns[at + 4..];
    if h[11] == 0 {
        return rest.is_empty().then_some(key);
    }
    let opt: &[u8; OPT_LEN] = rest.try_into().ok()?;
    if opt[..3] != [0, 0, 41] || opt[6] != 0 || opt[9..] != [0, 0] {
        return None;
    }
    let shape = if opt[7] & 0x80 != 0 { Shape::EdnsDo } else { Shape::Edns };
    key.shape = shape as u8;
    Some(key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xdp::tier0::compile::canonical_query;

    fn name(text: &[u8]) -> [u8; NAME_MAX] {
        let mut n = [0; NAME_MAX];
        n[..text.len()].copy_from_slice(text);
        n
    }

    #[test]
    fn the_canonical_queries_key_as_compiled() {
        for shape in Shape::ALL {
            let q = canonical_query(b"\x03www\x07example\x03com\x00", 28, shape, 1232);
            let key = of_message(&q).expect("a tier-0 query");
            assert_eq!((key.shape, key.qtype, key.name), (shape as u8, 28, name(b"\x03www\x07example\x03com\x00")));
        }
    }

    #[test]
    fn the_name_is_lowercased_and_flags_do_not_matter() {
        let mut q = canonical_query(b"\x03WwW\x07Example\x03COM\x00", 1, Shape::NoEdns, 0);
        q[2] = 0x01; // RD
        q[3] = 0x10; // CD
        assert_eq!(of_message(&q).unwrap().name, name(b"\x03www\x07example\x03com\x00"));
    }

    #[test]
    fn queries_the_program_never_answers_have_no_key() {
        let good = canonical_query(b"\x07example\x03com\x00", 1, Shape::Edns, 1232);
        let mut cases: Vec<Vec<u8>> = Vec::new();
        let mut with = |f: &dyn Fn(&mut Vec<u8>)| {
            let mut q = good.clone();
            f(&mut q);
            cases.push(q);
        };
        with(&|q| q[2] |= 0x80); // a response
        with(&|q| q[2] |= 0x28); // opcode 5 (UPDATE)
        with(&|q| q[5] = 2); // two questions
        with(&|q| q[7] = 1); // an answer
        with(&|q| q[11] = 2); // two additional records
        with(&|q| q.push(0)); // a trailing byte
        with(&|q| q.truncate(q.len() - 1)); // a short OPT
        let opt = good.len() - OPT_LEN;
        with(&|q| q[opt + 6] = 1); // EDNS version 1
        with(&|q| q[opt + 10] = 4); // options
        with(&|q| q[opt] = 3); // an OPT not at the root
        let class = opt - 1;
        with(&|q| q[class] = 3); // class CH
        with(&|q| q[12] = 0xc0); // a pointer
        for (i, q) in cases.iter().enumerate() {
            assert_eq!(of_message(q), None, "case {i}");
        }
        assert!(of_message(&good).is_some());
        // The longest name a key holds, and one byte more.
        let long = |n: usize| {
            let mut w = Vec::new();
            while w.len() + 1 < n {
                let l = (n - 1 - w.len() - 1).min(63);
                w.push(l as u8);
                w.extend(std::iter::repeat_n(b'a', l));
            }
            w.push(0);
            assert_eq!(w.len(), n);
            w
        };
        assert!(of_message(&canonical_query(&long(NAME_MAX), 1, Shape::NoEdns, 0)).is_some());
        assert!(of_message(&canonical_query(&long(NAME_MAX + 1), 1, Shape::NoEdns, 0)).is_none());
        for cut in 0..good.len() {
            assert_eq!(of_message(&good[..cut]), None, "cut at {cut}");
        }
    }

    #[test]
    fn frames_key_as_their_message_over_ipv4_and_ipv6() {
        let dns = canonical_query(b"\x07example\x03com\x00", 2, Shape::EdnsDo, 4096);
        let udp_len = (UDP_HEADER + dns.len()) as u16;
        let mut udp = vec![0x30, 0x39, 0, 53];
        udp.extend_from_slice(&udp_len.to_be_bytes());
        udp.extend_from_slice(&[0, 0]);
        udp.extend_from_slice(&dns);
        let eth = |ethertype: [u8; 2]| {
            let mut f = vec![2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2];
            f.extend_from_slice(&ethertype);
            f
        };
        let mut v4 = eth([0x08, 0x00]);
        v4.extend_from_slice(&[0x45, 0]);
        v4.extend_from_slice(&(20 + udp_len).to_be_bytes());
        v4.extend_from_slice(&[0, 0, 0x40, 0, 64, UDP, 0, 0, 198, 18, 0, 2, 198, 18, 0, 1]);
        v4.extend_from_slice(&udp);
        let mut v6 = eth([0x86, 0xdd]);
        v6.extend_from_slice(&[0x60, 0, 0, 0]);
        v6.extend_from_slice(&udp_len.to_be_bytes());
        v6.extend_from_slice(&[UDP, 64]);
        v6.extend_from_slice(&[0xfd; 32]);
        v6.extend_from_slice(&udp);
        let want = of_message(&dns).unwrap();
        assert_eq!(of_frame(&v4), Some(want));
        assert_eq!(of_frame(&v6), Some(want));
        // Ethernet padding after the IPv4 datagram is not the message's.
        let mut padded = v4.clone();
        padded.extend_from_slice(&[0; 6]);
        assert_eq!(of_frame(&padded), Some(want));
        // A UDP length that is not the datagram's.
        let mut short = v4.clone();
        short[14 + 20 + 5] -= 1;
        assert_eq!(of_frame(&short), None);
        for cut in 0..v6.len() {
            assert_eq!(of_frame(&v6[..cut]), None, "cut at {cut}");
        }
    }
}
