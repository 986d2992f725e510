//! Signed queries through the engine, on the message path and the frame
//! (XDP) path: good signatures get signed answers, bad ones NOTAUTH with
//! the TSIG error, and a plain query is answered as before.

use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::RecordType;
use testkit::frames::{FrameSpec, Network};

use super::tests::{engine_for, query_bytes, EXAMPLE};
use super::{answer_in_place, answer_message, Engine, Options, Transport, Verdict};
use crate::tsig::{self, code, Failure, Key, Keyring, Signing};

fn key() -> Key {
    Key::from_text("xfr.example", "hmac-sha256", "dGhlLXNlY3JldC1vZi10aGUtdGVzdHM=").unwrap()
}

fn engine() -> Engine {
    let options = Options { tsig: Keyring::new(vec![key()]).unwrap(), ..Options::default() };
    engine_for(&[EXAMPLE], options)
}

fn signed_query(key: &Key, time: u64, edns: Option<(u16, bool)>) -> (Vec<u8>, tsig::Mac) {
    let mut q = query_bytes("www.example.com.", RecordType::A, edns);
    let mac = tsig::sign_message(key, &mut q, &Signing::new(None, time)).unwrap();
    (q, mac)
}

fn answer(engine: &Engine, query: &[u8], transport: Transport) -> Vec<u8> {
    let mut buf = vec![0u8; 4096];
    buf[..query.len()].copy_from_slice(query);
    let n = answer_message(engine, &mut buf, query.len(), transport).expect("an answer");
    buf.truncate(n);
    buf
}

/// The TSIG error of an answer, read with our parser.
fn tsig_error(answer: &[u8]) -> (u16, usize) {
    let r = tsig::record::locate(answer).unwrap().expect("a TSIG record");
    (r.error, r.mac.len())
}

#[test]
fn a_signed_query_gets_a_signed_answer_on_both_transports() {
    let engine = engine();
    for transport in [Transport::Udp, Transport::Tcp] {
        for edns in [None, Some((1232, false))] {
            let (q, mac) = signed_query(&key(), tsig::now(), edns);
            let a = answer(&engine, &q, transport);
            let verified = tsig::verify_message(&key(), &a, Some(mac.as_slice()), tsig::now()).expect("signed answer");
            let mut unsigned = a[..verified.len].to_vec();
            unsigned[11] -= 1; // ARCOUNT without the TSIG
            let m = Message::from_vec(&unsigned).expect("decodes");
            assert_eq!(m.response_code(), ResponseCode::NoError);
            assert_eq!(m.answers().len(), 1, "{transport:?} {edns:?}");
            assert_eq!(m.extensions().is_some(), edns.is_some());
        }
    }
}

#[test]
fn unknown_key_wrong_mac_and_stale_time_get_notauth() {
    let engine = engine();
    let stranger = Key::from_text("stranger", "hmac-sha256", "c2VjcmV0").unwrap();
    let (q, _) = signed_query(&stranger, tsig::now(), None);
    let a = answer(&engine, &q, Transport::Udp);
    assert_eq!(a[3] & 0x0f, 9, "NOTAUTH");
    assert_eq!(tsig_error(&a), (code::BADKEY, 0), "BADKEY, unsigned");

    let (mut q, _) = signed_query(&key(), tsig::now(), None);
    q[13] ^= 0x20; // the question's case, after signing
    let a = answer(&engine, &q, Transport::Udp);
    assert_eq!(a[3] & 0x0f, 9);
    assert_eq!(tsig_error(&a), (code::BADSIG, 0), "BADSIG, unsigned");

    let (q, mac) = signed_query(&key(), tsig::now() - 3600, None);
    let a = answer(&engine, &q, Transport::Udp);
    assert_eq!(a[3] & 0x0f, 9);
    let r = tsig::record::locate(&a).unwrap().unwrap();
    assert_eq!(r.error, code::BADTIME);
    assert_eq!(r.other.len(), 6, "the server's time in Other Data");
    // Signed over the request's MAC: our own check finds the MAC good and
    // reports the error the record carries.
    assert_eq!(
        tsig::verify_message(&key(), &a, Some(mac.as_slice()), r.time_signed).unwrap_err(),
        Failure::Peer(code::BADTIME)
    );
}

#[test]
fn without_keys_a_signed_query_is_badkey_and_a_plain_one_unchanged() {
    let plain_engine = engine_for(&[EXAMPLE], Options::default());
    let (q, _) = signed_query(&key(), tsig::now(), None);
    let a = answer(&plain_engine, &q, Transport::Udp);
    assert_eq!(tsig_error(&a), (code::BADKEY, 0));
    let plain = query_bytes("www.example.com.", RecordType::A, None);
    assert_eq!(answer(&engine(), &plain, Transport::Udp), answer(&plain_engine, &plain, Transport::Udp));
}

#[test]
fn a_tsig_that_is_not_last_is_formerr() {
    let (mut q, _) = signed_query(&key(), tsig::now(), None);
    // An OPT after the TSIG.
    q.extend_from_slice(&crate::wire::dns::opt_alone(1232, 0));
    q[11] += 1;
    let a = answer(&engine(), &q, Transport::Udp);
    assert_eq!(a[3] & 0x0f, 1, "FORMERR");
    assert!(tsig::record::locate(&a).unwrap().is_none(), "unsigned");
}

#[test]
fn a_small_udp_limit_truncates_rather_than_drop_the_signature() {
    // 512 bytes without EDNS: the answer plus TSIG must still fit.
    let (q, mac) = signed_query(&key(), tsig::now(), None);
    let a = answer(&engine(), &q, Transport::Udp);
    assert!(a.len() <= 512);
    tsig::verify_message(&key(), &a, Some(mac.as_slice()), tsig::now()).unwrap();
}

#[test]
fn the_frame_path_answers_signed_queries_with_a_right_checksum() {
    let (q, mac) = signed_query(&key(), tsig::now(), Some((1232, false)));
    let network = Network::V4 { src: [198, 18, 0, 2], dst: [198, 18, 0, 1], options: vec![], no_udp_checksum: false };
    let frame = FrameSpec::simple(network, vec![]).build(&q);
    let mut buf = vec![0u8; 2048];
    buf[..frame.len()].copy_from_slice(&frame);
    let capacity = buf.len();
    let Verdict::Transmit(n) = answer_in_place(&engine(), &mut buf, frame.len(), capacity) else { panic!("no answer") };
    let dns_at = 14 + 20 + 8;
    let a = &buf[dns_at..n];
    tsig::verify_message(&key(), a, Some(mac.as_slice()), tsig::now()).expect("signed answer");
    // The UDP checksum over the pseudo-header and datagram folds to zero.
    let udp = &buf[14 + 20..n];
    let mut sum: u64 = 0;
    for chunk in [&buf[26..34], &[0, 17], &(udp.len() as u16).to_be_bytes()[..], udp] {
        for pair in chunk.chunks(2) {
            sum += u16::from_be_bytes([pair[0], *pair.get(1).unwrap_or(&0)]) as u64;
        }
    }
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    assert_eq!(sum, 0xffff, "checksum");
}
