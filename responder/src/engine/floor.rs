//! The I/O floor: the engine's frame rewrite with the DNS work taken out.
//!
//! `cargo xtask bench` runs the AF_XDP data plane with this handler
//! (`responder/examples/xdp_floor.rs`) to find what the testbed itself costs:
//! rings, copies, wake-ups, checksums, everything but the lookup. Every query
//! gets the same minimal valid reply, REFUSED with the question echoed and
//! no records, so the reply is as small as a real answer can be and the
//! difference between the floor and the responder is the engine's share.
//!
//! Not a serving mode: it answers every name with REFUSED.

use super::frame::{rewrite_in_place, Verdict};
use super::reply::Written;
use crate::wire::checksum;
use crate::wire::dns::{self, flags, rcode, HEADER_LEN};

/// Rewrites the query frame `frame[..len]` into a REFUSED reply cut after
/// its question; same contract as [`super::answer_in_place`].
#[inline]
pub fn reflect_in_place(frame: &mut [u8], len: usize, capacity: usize) -> Verdict {
    rewrite_in_place(frame, len, capacity, false, |message: &mut [u8], len, _client: &[u8]| {
        let len = refuse(message, len)?;
        Some(Written { len, sum: checksum::sum(&message[..len]) })
    })
}

/// The fixed reply, in place: header flags and counts rewritten, the
/// question kept, anything after it (EDNS, extra records) cut. Responses,
/// messages without exactly one question and questions that run past the
/// message are dropped, so the floor never answers what the engine would
/// not.
fn refuse(message: &mut [u8], len: usize) -> Option<usize> {
    let query = message.get(..len)?;
    let header = dns::Header::new_checked(query)?;
    if header.flags() & flags::QR != 0 || header.qdcount() != 1 {
        return None;
    }
    // The engine's own question walk: labels only (no compression in a
    // question), then type and class.
    let (name_len, _) = dns::question_name_len(query.get(HEADER_LEN..)?)?;
    let end = HEADER_LEN + name_len + dns::question_field::LEN;
    if end > query.len() {
        return None;
    }
    let kept = header.flags() & (flags::OPCODE_MASK | flags::RD | flags::CD);
    super::reply::write_header(message, flags::QR | kept | u16::from(rcode::REFUSED), 1, 0, 0, 0);
    Some(end)
}

#[cfg(test)]
mod tests {
    use testkit::frames::{checksum_verifies, udp_checksum_verifies, FrameSpec, Network};

    use super::*;

    const CLIENT_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 2];
    const SERVER_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 1];
    const CLIENT_V4: [u8; 4] = [198, 18, 0, 2];
    const SERVER_V4: [u8; 4] = [198, 18, 0, 1];
    const CLIENT_PORT: u16 = 40_000;

    /// `www.example.` IN AAAA, id 0xbeef, RD, with an EDNS OPT record.
    const QUERY_WITH_EDNS: &[u8] = &[
        0xbe, 0xef, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 1, // header: RD, QD=1, AR=1
        3, b'w', b'W', b'w', 7, b'e', b'x', b'a', b'm', b'p', b'l', b'e', 0, // qname, mixed case
        0, 28, 0, 1, // AAAA IN
        0, 0, 41, 0x04, 0xd0, 0, 0, 0x80, 0, 0, 0, // OPT, 1232 bytes, DO
    ];
    const QUESTION_END: usize = 12 + 13 + 4;

    /// Ethernet/IPv4/UDP around `dns`, built by testkit (not with the
    /// `wire` module the code under test uses), without a UDP checksum.
    fn frame_v4(dns: &[u8]) -> Vec<u8> {
        let network = Network::V4 { src: CLIENT_V4, dst: SERVER_V4, options: vec![], no_udp_checksum: true };
        FrameSpec {
            dst_mac: SERVER_MAC,
            src_mac: CLIENT_MAC,
            vlans: vec![],
            network,
            src_port: CLIENT_PORT,
            dst_port: 53,
        }
        .build(dns)
    }

    fn reflect(frame: &[u8]) -> (Verdict, Vec<u8>) {
        let mut umem_frame = vec![0u8; 2048];
        umem_frame[..frame.len()].copy_from_slice(frame);
        let verdict = reflect_in_place(&mut umem_frame, frame.len(), 2048);
        (verdict, umem_frame)
    }

    #[test]
    fn a_query_becomes_a_refused_reply_cut_after_the_question() {
        let query = frame_v4(QUERY_WITH_EDNS);
        let (verdict, out) = reflect(&query);
        let reply_len = 14 + 20 + 8 + QUESTION_END;
        assert_eq!(verdict, Verdict::Transmit(reply_len));
        let reply = &out[..reply_len];

        assert_eq!(&reply[0..6], &CLIENT_MAC, "back to the client's MAC");
        assert_eq!(&reply[6..12], &SERVER_MAC);
        let ip = &reply[14..34];
        assert_eq!(&ip[12..16], &SERVER_V4, "from the server");
        assert_eq!(&ip[16..20], &CLIENT_V4, "to the client");
        assert_eq!(usize::from(u16::from_be_bytes([ip[2], ip[3]])), 20 + 8 + QUESTION_END);
        assert!(checksum_verifies(ip), "IPv4 header checksum");

        let udp = &reply[34..];
        assert_eq!(u16::from_be_bytes([udp[0], udp[1]]), 53);
        assert_eq!(u16::from_be_bytes([udp[2], udp[3]]), CLIENT_PORT);
        assert_eq!(usize::from(u16::from_be_bytes([udp[4], udp[5]])), 8 + QUESTION_END);
        assert!(udp_checksum_verifies(&SERVER_V4, &CLIENT_V4, udp), "UDP checksum");

        let dns = &udp[8..];
        assert_eq!(&dns[..2], &[0xbe, 0xef], "same id");
        let flags = u16::from_be_bytes([dns[2], dns[3]]);
        assert_eq!(flags, 0x8000 | 0x0100 | 5, "QR, RD copied, no AA, REFUSED");
        assert_eq!(&dns[4..12], &[0, 1, 0, 0, 0, 0, 0, 0], "QD=1 AN=0 NS=0 AR=0");
        assert_eq!(&dns[12..], &QUERY_WITH_EDNS[12..QUESTION_END], "question echoed as sent, case kept");
    }

    #[test]
    fn responses_and_malformed_questions_are_dropped() {
        let mut response = QUERY_WITH_EDNS.to_vec();
        response[2] |= 0x80;
        let mut two_questions = QUERY_WITH_EDNS.to_vec();
        two_questions[5] = 2;
        let mut long_label = QUERY_WITH_EDNS.to_vec();
        long_label[12] = 64;
        let mut compressed = QUERY_WITH_EDNS.to_vec();
        compressed[16] = 0xc0;
        let cut_in_question = QUERY_WITH_EDNS[..QUESTION_END - 1].to_vec();
        let header_only = QUERY_WITH_EDNS[..11].to_vec();
        for (what, dns) in [
            ("a response", response),
            ("two questions", two_questions),
            ("a 64-byte label", long_label),
            ("a compression pointer", compressed),
            ("a question cut short", cut_in_question),
            ("a short header", header_only),
        ] {
            assert_eq!(reflect(&frame_v4(&dns)).0, Verdict::Drop, "{what}");
        }
    }

    #[test]
    fn what_the_engine_would_not_answer_is_not_answered() {
        let mut arp = frame_v4(QUERY_WITH_EDNS);
        arp[12..14].copy_from_slice(&[0x08, 0x06]);
        assert_eq!(reflect(&arp).0, Verdict::Pass, "not IP");
        let mut tcp = frame_v4(QUERY_WITH_EDNS);
        tcp[14 + 9] = 6;
        assert_eq!(reflect(&tcp).0, Verdict::Pass, "not UDP");
        let mut bad_checksum = frame_v4(QUERY_WITH_EDNS);
        bad_checksum[14 + 10] ^= 0xff;
        assert_eq!(reflect(&bad_checksum).0, Verdict::Drop, "IPv4 checksum checked as for real answers");
        let query = frame_v4(QUERY_WITH_EDNS);
        let mut small = query.clone();
        assert_eq!(reflect_in_place(&mut small, query.len(), query.len() - 1), Verdict::Drop, "beyond capacity");
    }
}
