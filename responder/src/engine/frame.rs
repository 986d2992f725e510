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

use super::message::{answer_unsized, Engine};
use super::policy::Policy;
use super::query::Query;
use super::reply::Written;
use super::transport::Transport;
use crate::wire::{ethernet, ipv4, ipv6, udp};

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
    rewrite_in_place(frame, len, capacity, verify, EngineStep { engine, query, policy })
}

/// The DNS step inside a frame rewrite: turns the query in `message[..len]`
/// from `client` into its answer (`None`: send nothing).
pub(crate) trait DnsStep {
    fn answer(self, message: &mut [u8], len: usize, client: &[u8]) -> Option<Written>;
}

impl<F: FnOnce(&mut [u8], usize, &[u8]) -> Option<Written>> DnsStep for F {
    #[inline(always)]
    fn answer(self, message: &mut [u8], len: usize, client: &[u8]) -> Option<Written> {
        self(message, len, client)
    }
}

/// The engine as the DNS step. A type with an always-inlined method, not a
/// closure: with the counting policy's breakdown inside, LLVM stopped
/// inlining the closure into `answer_v4` (BENCHMARKS.md, "Issue 15: the
/// frame step inlined again": 4 instructions an answer back on the XDP
/// handler, 22 on the kernel path's counting loop).
struct EngineStep<'a, P> {
    engine: &'a Engine,
    query: &'a mut Query,
    policy: &'a mut P,
}

impl<P: Policy> DnsStep for EngineStep<'_, P> {
    #[inline(always)]
    fn answer(self, message: &mut [u8], len: usize, client: &[u8]) -> Option<Written> {
        // `message::answer_written`, spelled out so that nothing of it is
        // left to LLVM's inlining choice.
        let written = answer_unsized(self.engine, self.query, message, len, Transport::Udp, client, self.policy);
        self.policy.finished(len, written.and_then(|w| message.get(..w.len)));
        written
    }
}

/// The frame rewrite around any DNS step: `answer(message, len, client
/// address)` turns the query in `message[..len]` into its answer and returns
/// its length and checksum sum (`None`: send nothing). The engine is one such step; the I/O
/// floor ([`super::floor`]) is another. `verify`: check the UDP checksum.
#[inline]
pub(crate) fn rewrite_in_place<A: DnsStep>(
    frame: &mut [u8],
    len: usize,
    capacity: usize,
    verify: bool,
    answer: A,
) -> Verdict {
    let capacity = capacity.min(frame.len());
    if len > capacity {
        return Verdict::Drop;
    }
    let frame = &mut frame[..capacity];
    let Some(l3) = ethernet::layer3(&frame[..len]) else { return Verdict::Pass };
    let Some(eth) = ethernet::Header::new_checked(frame) else { return Verdict::Pass };
    // A group source MAC is forged; a group destination is not a query to us.
    if ethernet::is_group(eth.src()) || ethernet::is_group(eth.dst()) {
        return Verdict::Drop;
    }
    // `layer3` found `l3.offset` inside `frame[..len]`.
    let Some(received) = len.checked_sub(l3.offset) else { return Verdict::Drop };
    let (l2, packet) = frame.split_at_mut(l3.offset);
    let verdict = match l3.ethertype {
        ethernet::ETHERTYPE_IPV4 => answer_v4(packet, received, verify, answer),
        ethernet::ETHERTYPE_IPV6 => answer_v6(packet, received, verify, answer),
        _ => return Verdict::Pass,
    };
    match verdict {
        Verdict::Transmit(reply_len) => {
            if let Some(mut eth) = ethernet::Header::new_checked_mut(l2) {
                eth.swap_macs();
            }
            Verdict::Transmit(l3.offset + reply_len)
        }
        other => other,
    }
}

/// The IPv4 step of [`rewrite_in_place`]: `packet` is everything from the
/// IP header to the end of the buffer, `received` of it arrived; the
/// answer's length from the IP header on is returned. From here on the
/// headers are views over fixed-size arrays, so their fields are read and
/// written without a bounds check each.
fn answer_v4<A: DnsStep>(packet: &mut [u8], received: usize, verify: bool, answer: A) -> Verdict {
    let (ihl, total, src, dst) = {
        let Some(ip) = packet.get(..received).and_then(ipv4::Header::new_checked) else { return Verdict::Pass };
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
        packet.copy_within(ihl..total, ipv4::MIN_HEADER_LEN);
    }
    let Some((ip, datagram)) = packet.split_first_chunk_mut::<{ ipv4::MIN_HEADER_LEN }>() else {
        return Verdict::Drop;
    };
    let Some((mut header, message)) = udp::Header::split_mut(datagram) else { return Verdict::Drop };
    let udp_len = header.length();
    if udp_len < udp::HEADER_LEN || udp_len > total - ihl || header.src_port() == 0 {
        return Verdict::Drop;
    }
    // Zero means "not computed" over IPv4 (RFC 768).
    if verify && header.checksum() != 0 {
        let pseudo = ipv4::pseudo_header_sum(src, dst, udp_len as u16);
        if !header.sum_ok(pseudo, &message[..udp_len - udp::HEADER_LEN]) {
            return Verdict::Drop;
        }
    }
    let max_dns = message.len().min(u16::MAX as usize - ipv4::MIN_HEADER_LEN - udp::HEADER_LEN);
    let Some(dns) = answer.answer(&mut message[..max_dns], udp_len - udp::HEADER_LEN, &src) else {
        return Verdict::Drop;
    };
    let udp_total = udp::HEADER_LEN + dns.len;
    ipv4::write_reply_header(ip, ipv4::MIN_HEADER_LEN + udp_total, REPLY_TTL);
    let pseudo = ipv4::pseudo_header_sum(dst, src, udp_total as u16);
    header.write_reply(udp_total as u16, pseudo, dns.sum);
    Verdict::Transmit(ipv4::MIN_HEADER_LEN + udp_total)
}

/// The IPv6 step of [`rewrite_in_place`], same contract as [`answer_v4`].
fn answer_v6<A: DnsStep>(packet: &mut [u8], received: usize, verify: bool, answer: A) -> Verdict {
    if received < ipv6::HEADER_LEN {
        return Verdict::Pass;
    }
    let Some((mut ip, datagram)) = ipv6::Header::split_mut(packet) else { return Verdict::Pass };
    if ip.next_header() != ipv4::PROTO_UDP {
        return Verdict::Pass;
    }
    let (client, dst) = (ip.src(), ip.dst());
    if ipv6::is_unanswerable(&client) || ipv6::is_unanswerable(&dst) {
        return Verdict::Drop;
    }
    let payload_len = ip.payload_len();
    if payload_len < udp::HEADER_LEN || payload_len > received - ipv6::HEADER_LEN {
        return Verdict::Drop;
    }
    let Some((mut header, message)) = udp::Header::split_mut(datagram) else { return Verdict::Drop };
    let udp_len = header.length();
    if udp_len < udp::HEADER_LEN || udp_len > payload_len || header.src_port() == 0 || header.checksum() == 0 {
        return Verdict::Drop;
    }
    if verify && !header.sum_ok(ip.pseudo_header_sum(udp_len as u16), &message[..udp_len - udp::HEADER_LEN]) {
        return Verdict::Drop;
    }
    let max_dns = message.len().min(u16::MAX as usize - udp::HEADER_LEN);
    let Some(dns) = answer.answer(&mut message[..max_dns], udp_len - udp::HEADER_LEN, &client) else {
        return Verdict::Drop;
    };
    let udp_total = udp::HEADER_LEN + dns.len;
    ip.write_reply(udp_total, REPLY_TTL);
    let pseudo = ip.pseudo_header_sum(udp_total as u16);
    header.write_reply(udp_total as u16, pseudo, dns.sum);
    Verdict::Transmit(ipv6::HEADER_LEN + udp_total)
}
