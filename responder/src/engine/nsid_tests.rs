//! NSID (RFC 5001) through the engine: returned only when asked, on the
//! message and frame paths, counted in the size limit, and together with
//! TSIG.

use hickory_proto::rr::RecordType;

use super::tests::{engine_for, query_bytes, EXAMPLE};
use super::{answer_message, Engine, Options, Transport};
use crate::tsig::{self, Key, Keyring, Signing};

const ID: &[u8] = b"ns1.anycast.example";

fn engine(nsid: Option<&[u8]>) -> Engine {
    let key = Key::from_text("k", "hmac-sha256", "c2VjcmV0").unwrap();
    let options =
        Options { nsid: nsid.map(<[u8]>::to_vec), tsig: Keyring::new(vec![key]).unwrap(), ..Options::default() };
    engine_for(&[EXAMPLE], options)
}

/// A query with EDNS (`size`) whose OPT carries an empty NSID option
/// between two other options.
fn nsid_query(name: &str, qtype: RecordType, size: u16) -> Vec<u8> {
    let mut q = query_bytes(name, qtype, Some((size, false)));
    let options = [&[0, 10, 0, 8][..], &[1; 8], &[0, 3, 0, 0], &[0, 12, 0, 2, 0, 0]].concat();
    let n = q.len();
    q[n - 2..].copy_from_slice(&(options.len() as u16).to_be_bytes());
    q.extend_from_slice(&options);
    q
}

fn answer(e: &Engine, q: &[u8], transport: Transport) -> Vec<u8> {
    let mut buf = vec![0u8; 65535];
    buf[..q.len()].copy_from_slice(q);
    let n = answer_message(e, &mut buf, q.len(), transport).expect("an answer");
    buf.truncate(n);
    buf
}

/// The NSID option's data in the answer's OPT, if any.
fn nsid_of(a: &[u8]) -> Option<Vec<u8>> {
    let pos = a.windows(4).rposition(|w| w[..2] == [0, 3])?;
    let len = u16::from_be_bytes([a[pos + 2], a[pos + 3]]) as usize;
    (pos + 4 + len == a.len()).then(|| a[pos + 4..].to_vec())
}

#[test]
fn nsid_is_returned_only_when_asked_and_configured() {
    let with = engine(Some(ID));
    for transport in [Transport::Udp, Transport::Tcp] {
        let a = answer(&with, &nsid_query("www.example.com.", RecordType::A, 1232), transport);
        assert_eq!(nsid_of(&a).as_deref(), Some(ID), "{transport:?}");
        assert_eq!(a[3] & 0x0f, 0, "NOERROR");
        let m = hickory_proto::op::Message::from_vec(&a).expect("decodes");
        assert_eq!(m.answers().len(), 1);
    }
    let plain = query_bytes("www.example.com.", RecordType::A, Some((1232, false)));
    assert_eq!(nsid_of(&answer(&with, &plain, Transport::Udp)), None, "not asked");
    let without = engine(None);
    let a = answer(&without, &nsid_query("www.example.com.", RecordType::A, 1232), Transport::Udp);
    assert_eq!(nsid_of(&a), None, "not configured");
    assert_eq!(a, answer(&without, &plain, Transport::Udp).into_iter().collect::<Vec<_>>(), "as if not asked");
}

#[test]
fn nsid_counts_in_the_size_limit() {
    let long = [b'n'; 128];
    let e = engine(Some(&long));
    // Five 100-octet TXT records fit 700 octets, but not with 132 more.
    let a = answer(&e, &nsid_query("big.example.com.", RecordType::TXT, 700), Transport::Udp);
    assert!(a.len() <= 700, "{} octets", a.len());
    assert_ne!(a[2] & 0x02, 0, "TC");
    assert_eq!(nsid_of(&a).as_deref(), Some(&long[..]));
    let fits = answer(&engine(None), &nsid_query("big.example.com.", RecordType::TXT, 700), Transport::Udp);
    assert_eq!(fits[2] & 0x02, 0, "without NSID the answer fits");
}

#[test]
fn nsid_and_tsig_together() {
    let e = engine(Some(ID));
    let key = Key::from_text("k", "hmac-sha256", "c2VjcmV0").unwrap();
    let mut q = nsid_query("www.example.com.", RecordType::A, 1232);
    let mac = tsig::sign_message(&key, &mut q, &Signing::new(None, tsig::now())).unwrap();
    let a = answer(&e, &q, Transport::Udp);
    let verified = tsig::verify_message(&key, &a, Some(mac.as_slice()), tsig::now()).expect("signed");
    assert_eq!(nsid_of(&a[..verified.len]).as_deref(), Some(ID));
}

#[test]
fn nsid_values_parse() {
    use super::nsid::parse;
    assert_eq!(parse("ns1").unwrap(), b"ns1");
    assert_eq!(parse("0x6e7331").unwrap(), b"ns1");
    assert!(parse("0x6e7").is_err());
    assert!(parse("0xzz").is_err());
    assert!(parse("").is_err());
    assert!(parse(&"x".repeat(129)).is_err());
}

#[test]
fn the_identity_is_the_nsid_unless_one_is_given() {
    use super::nsid::configured;
    assert_eq!(configured(None, None), Ok(None));
    assert_eq!(configured(None, Some("ns1.fra")), Ok(Some(b"ns1.fra".to_vec())));
    // Taken as text even when it looks like hex: it is a name, not an NSID.
    assert_eq!(configured(None, Some("0x41")), Ok(Some(b"0x41".to_vec())));
    assert_eq!(configured(Some("0x4142"), Some("ns1.fra")), Ok(Some(b"AB".to_vec())));
    assert!(configured(None, Some(&"x".repeat(129))).unwrap_err().contains("set nsid"));
}
