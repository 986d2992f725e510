//! The whole-frame rewrite: Ethernet (+ VLAN tags) / IPv4 or IPv6 / UDP /
//! DNS query in, answer out, in the same buffer. Addresses and ports are
//! swapped, lengths and checksums recomputed; VLAN tags stay as they came so
//! the answer leaves on the query's VLAN.
//!
//! The query's UDP checksum is not verified, as Knot, NSD and dnsdist do not:
//! NICs verify it in hardware, and frames from a local stack with checksum
//! offload (veth, virtio) carry only the partial pseudo-header sum, so a
//! software check would drop good queries. The IPv4 header checksum, always
//! complete, is checked, and an IPv6 UDP checksum of zero (never valid, RFC
//! 8200 8.1) is dropped. `Options::verify_udp_checksum` turns the full check
//! on, for NICs that do not validate and deliver complete sums; it costs a
//! pass over the datagram (measured in docs/BENCHMARKS.md).
//!
//! What the XDP program already passed to the kernel is checked again here
//! where it costs a compare or two (defence in depth, and the frame rewrite
//! is also used without the program): frames to a group (broadcast,
//! multicast) MAC, martian source addresses and source port 0 are dropped.
//! Whether the destination is one of the host's addresses is the program's
//! check alone (its maps follow netlink; the workers do not).

use super::message::{answer_written, Engine};
use super::policy::Policy;
use super::query::Query;
use super::reply::Written;
use super::transport::Transport;
use crate::wire::{checksum, ethernet, ipv4, ipv6, udp};

/// TTL and hop limit of answers: the usual default of hosts.
const REPLY_TTL: u8 = 64;

/// What to do with a frame after [`super::answer_in_place`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The frame now holds the answer, `usize` bytes long: send it back.
    Transmit(usize),
    /// Not worth an answer (a response, or unreadable): recycle the frame.
    Drop,
    /// Not DNS over UDP to us: hand it to the kernel.
    Pass,
}

#[inline]
pub fn answer_in_place<P: Policy>(
    engine: &Engine,
    query: &mut Query,
    frame: &mut [u8],
    len: usize,
    capacity: usize,
    policy: &mut P,
) -> Verdict {
    // A flag, not two monomorphised copies of the rewrite: those cost more
    // (the DNS step stops being inlined; BENCHMARKS.md, "Issue 19").
    let verify = engine.options.verify_udp_checksum;
    rewrite_in_place(frame, len, capacity, verify, |message, len, client| {
        answer_written(engine, query, message, len, Transport::Udp, client, policy)
    })
}

/// The frame rewrite around any DNS step: `answer(message, len, client
/// address)` turns the query in `message[..len]` into its answer and returns
/// its length and checksum sum (`None`: send nothing). The engine is one such step; the I/O
/// floor ([`super::floor`]) is another. `verify`: check the UDP checksum.
#[inline]
pub(crate) fn rewrite_in_place<A>(frame: &mut [u8], len: usize, capacity: usize, verify: bool, answer: A) -> Verdict
where
    A: FnOnce(&mut [u8], usize, &[u8]) -> Option<Written>,
{
    let capacity = capacity.min(frame.len());
    if len > capacity {
        return Verdict::Drop;
    }
    let frame = &mut frame[..capacity];
    let Some(l3) = ethernet::layer3(&frame[..len]) else { return Verdict::Pass };
    // A group source MAC is forged; a group destination is not a query to us.
    if ethernet::is_group(&frame[6..12]) || ethernet::is_group(&frame[..6]) {
        return Verdict::Drop;
    }
    match l3.ethertype {
        ethernet::ETHERTYPE_IPV4 => answer_v4(frame, len, l3.offset, verify, answer),
        ethernet::ETHERTYPE_IPV6 => answer_v6(frame, len, l3.offset, verify, answer),
        _ => Verdict::Pass,
    }
}

fn answer_v4<A: FnOnce(&mut [u8], usize, &[u8]) -> Option<Written>>(
    frame: &mut [u8],
    len: usize,
    ip_at: usize,
    verify: bool,
    answer: A,
) -> Verdict {
    // `layer3` found `ip_at` inside `frame[..len]`. From here on the headers
    // are fixed-size arrays, so their fields are read and written without a
    // bounds check each.
    let Some(received) = len.checked_sub(ip_at) else { return Verdict::Drop };
    let (l2, l3) = frame.split_at_mut(ip_at);
    let (ihl, total, src, dst) = {
        let Some(ip) = ipv4::Ipv4::new(&mut l3[..received]) else { return Verdict::Pass };
        if ip.protocol() != ipv4::PROTO_UDP || ip.is_fragment() {
            return Verdict::Pass;
        }
        let total = ip.total_len();
        if total < ip.header_len() + udp::HEADER_LEN || total > received || !ip.checksum_ok() {
            return Verdict::Drop;
        }
        (ip.header_len(), total, ip.src(), ip.dst())
    };
    if ipv4::is_unanswerable(src) || ipv4::is_unanswerable(dst) {
        return Verdict::Drop;
    }
    if ihl > ipv4::MIN_HEADER_LEN {
        // IP options are not echoed: close the gap they leave.
        l3.copy_within(ihl..total, ipv4::MIN_HEADER_LEN);
    }
    let Some((ip, datagram)) = l3.split_first_chunk_mut::<{ ipv4::MIN_HEADER_LEN }>() else { return Verdict::Drop };
    let Some((header, message)) = datagram.split_first_chunk_mut::<{ udp::HEADER_LEN }>() else {
        return Verdict::Drop;
    };
    let udp_len = udp::length(header);
    if udp_len < udp::HEADER_LEN || udp_len > total - ihl || udp::src_port(header) == 0 {
        return Verdict::Drop;
    }
    // Zero means "not computed" over IPv4 (RFC 768).
    if verify && udp::checksum_field(header) != 0 {
        let pseudo = ipv4::pseudo_header_sum(src, dst, udp_len as u16);
        if !udp_sum_ok(pseudo, header, &message[..udp_len - udp::HEADER_LEN]) {
            return Verdict::Drop;
        }
    }
    let max_dns = message.len().min(u16::MAX as usize - ipv4::MIN_HEADER_LEN - udp::HEADER_LEN);
    let Some(dns) = answer(&mut message[..max_dns], udp_len - udp::HEADER_LEN, &src) else {
        return Verdict::Drop;
    };
    let udp_total = udp::HEADER_LEN + dns.len;
    ipv4::write_reply_header(ip, ipv4::MIN_HEADER_LEN + udp_total, REPLY_TTL);
    let pseudo = ipv4::pseudo_header_sum(dst, src, udp_total as u16);
    udp::write_reply_header(header, udp_total as u16, pseudo, dns.sum);
    ethernet::swap_macs(l2);
    Verdict::Transmit(ip_at + ipv4::MIN_HEADER_LEN + udp_total)
}

fn answer_v6<A: FnOnce(&mut [u8], usize, &[u8]) -> Option<Written>>(
    frame: &mut [u8],
    len: usize,
    ip_at: usize,
    verify: bool,
    answer: A,
) -> Verdict {
    let udp_at = ip_at + ipv6::HEADER_LEN;
    let mut client = [0u8; 16];
    let payload_len = {
        let Some(ip) = ipv6::Ipv6::new(&mut frame[ip_at..len]) else { return Verdict::Pass };
        if ip.next_header() != ipv4::PROTO_UDP {
            return Verdict::Pass;
        }
        if ipv6::is_unanswerable(ip.src()) || ipv6::is_unanswerable(ip.dst()) {
            return Verdict::Drop;
        }
        client.copy_from_slice(ip.src());
        let payload_len = ip.payload_len();
        if payload_len < udp::HEADER_LEN || udp_at + payload_len > len {
            return Verdict::Drop;
        }
        payload_len
    };
    let udp = &frame[udp_at..];
    let udp_len = udp::length(udp);
    if udp_len < udp::HEADER_LEN || udp_len > payload_len || udp::src_port(udp) == 0 || udp::checksum_field(udp) == 0 {
        return Verdict::Drop;
    }
    if verify {
        let pseudo = {
            let Some(ip) = ipv6::Ipv6::new(&mut frame[ip_at..udp_at]) else { return Verdict::Drop };
            ip.pseudo_header_sum(udp_len as u16)
        };
        let (header, payload) = frame[udp_at..udp_at + udp_len].split_at(udp::HEADER_LEN);
        if !udp_sum_ok(pseudo, header, payload) {
            return Verdict::Drop;
        }
    }
    let dns_at = udp_at + udp::HEADER_LEN;
    let max_dns = (frame.len() - dns_at).min(u16::MAX as usize - udp::HEADER_LEN);
    let query = &mut frame[dns_at..dns_at + max_dns];
    let Some(dns) = answer(query, udp_len - udp::HEADER_LEN, &client) else {
        return Verdict::Drop;
    };
    let udp_total = udp::HEADER_LEN + dns.len;
    let pseudo = {
        let Some(mut ip) = ipv6::Ipv6::new(&mut frame[ip_at..udp_at]) else { return Verdict::Drop };
        ip.write_reply(udp_total, REPLY_TTL);
        ip.pseudo_header_sum(udp_total as u16)
    };
    udp::write_reply(&mut frame[udp_at..udp_at + udp_total], pseudo, dns.sum);
    ethernet::swap_macs(frame);
    Verdict::Transmit(udp_at + udp_total)
}

/// Whether a UDP header (with its checksum) and payload sum to zero with
/// the pseudo-header: the datagram is as its sender computed it.
#[inline]
fn udp_sum_ok(pseudo: u64, header: &[u8], payload: &[u8]) -> bool {
    // The header is 8 bytes, so the payload's sum needs no realignment.
    checksum::finish(checksum::combine(checksum::combine(pseudo, checksum::sum(header)), checksum::sum(payload))) == 0
}
