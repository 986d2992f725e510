//! `Outbound::answer` end to end in memory: who gets what, and a signed
//! stream checked message by message with our own `StreamVerifier` (kdig
//! checks the same over TCP in tests/tests/transfer_out.rs).

use std::net::IpAddr;

use super::*;
use crate::access::{Acl, AddressRange};
use crate::server::Step;
use crate::transfer::inbound::message::{query, IXFR};
use crate::transfer::inbound::stream::{Assembler, Received};
use crate::tsig::{Key, Keyring, StreamVerifier};

fn name(s: &str) -> Name {
    Name::parse(s, None).unwrap().unwrap()
}

fn key() -> Key {
    Key::from_text("xfr", "hmac-sha256", "c2VjcmV0c2VjcmV0c2VjcmV0").unwrap()
}

fn zone(serial: u32, hosts: std::ops::Range<u32>) -> Zone {
    let mut text = format!(
        "example.test. 60 IN SOA ns.example.test. h.example.test. {serial} 3600 600 86400 60\n\
         example.test. 60 IN NS ns.example.test.\nns.example.test. 60 IN A 198.18.0.53\n"
    );
    for h in hosts {
        text.push_str(&format!("h{h}.example.test. 60 IN TXT \"host {h} with some text to fill messages\"\n"));
    }
    crate::zone::parse_str(&text, "z", Some(&name("example.test."))).unwrap()
}

fn outbound(signed: bool) -> Arc<Outbound> {
    let access = Access {
        keys: Keyring::new(vec![key()]).unwrap(),
        acls: vec![Acl {
            id: "a".into(),
            addresses: vec![AddressRange::parse("127.0.0.0/8").unwrap()],
            keys: if signed { vec!["xfr".into()] } else { vec![] },
            actions: vec![Action::Transfer],
        }],
        remotes: vec![],
    };
    let config =
        OutboundConfig { zone: name("example.test."), acls: vec!["a".into()], notify: vec![], journal_depth: 5 };
    Outbound::new(&[config], &access, Limits { max_transfers: 1, ..Limits::default() }).unwrap()
}

const LOOPBACK: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

/// Asks `q`; the messages answered, in order.
fn ask(o: &Outbound, q: &[u8], transport: Transport, from: IpAddr) -> Option<Vec<Vec<u8>>> {
    let mut buf = vec![0u8; 65535];
    buf[..q.len()].copy_from_slice(q);
    let answer = o.answer(&mut buf, q.len(), transport, from)?;
    let mut out = vec![buf[..answer.len?].to_vec()];
    if let Some(mut rest) = answer.rest {
        loop {
            match rest.next(&mut buf) {
                Step::Message(n) => out.push(buf[..n].to_vec()),
                Step::Done => break,
                Step::Abort => panic!("aborted"),
            }
        }
    }
    Some(out)
}

fn rcode(m: &[u8]) -> u8 {
    m[3] & 0x0f
}

#[test]
fn the_acl_decides_and_strangers_are_refused() {
    let o = outbound(false);
    o.update(&[zone(1, 0..3)], false);
    let axfr = query(1, &name("example.test."), AXFR, None);
    let stranger: IpAddr = "198.18.0.9".parse().unwrap();
    let refused = ask(&o, &axfr, Transport::Tcp, stranger).unwrap();
    assert_eq!((refused.len(), rcode(&refused[0])), (1, rcode::REFUSED));
    // A zone not sent out is the engine's (which refuses it too).
    assert!(ask(&o, &query(1, &name("other.test."), AXFR, None), Transport::Tcp, LOOPBACK).is_none());
    // AXFR over UDP: refused even to a friend (RFC 5936 §4.2).
    assert_eq!(rcode(&ask(&o, &axfr, Transport::Udp, LOOPBACK).unwrap()[0]), rcode::REFUSED);
    let whole = ask(&o, &axfr, Transport::Tcp, LOOPBACK).unwrap();
    let mut assembler = Assembler::new(&name("example.test."), 1, AXFR, None, 1 << 20);
    let mut received = None;
    for m in &whole {
        received = assembler.push(m).unwrap();
    }
    assert!(matches!(received, Some(Received::Full { records, .. }) if records.len() == 6));
    // A signed request against an unsigned-only ACL: refused, and signed.
    let mut signed = axfr.clone();
    let mac = tsig::sign_message(&key(), &mut signed, &tsig::Signing::new(None, tsig::now())).unwrap();
    let answer = ask(&o, &signed, Transport::Tcp, LOOPBACK).unwrap();
    assert_eq!(rcode(&answer[0]), rcode::REFUSED);
    tsig::verify_message(&key(), &answer[0], Some(mac.as_slice()), tsig::now()).unwrap();
    assert_eq!(o.counters().transfers.read(), counts(&[("axfr", "refused", 3), ("axfr", "served", 1)]));
}

/// The transfer counters' rows for example.test.
fn counts(rows: &[(&'static str, &'static str, u64)]) -> Vec<((String, &'static str, &'static str), u64)> {
    rows.iter().map(|&(kind, result, n)| (("example.test.".to_string(), kind, result), n)).collect()
}

#[test]
fn a_signed_ixfr_is_condensed_and_every_message_verifies() {
    let o = outbound(true);
    o.update(&[zone(1, 0..400)], false);
    o.update(&[zone(2, 1..401)], true);
    o.update(&[zone(3, 2..402)], true);
    assert_eq!(o.status(&name("example.test.")), Some((3, 2)));
    let soa1 = crate::transfer::inbound::stream::tests::soa(1);
    let mut q = query(9, &name("example.test."), IXFR, Some(&soa1));
    let mac = tsig::sign_message(&key(), &mut q, &tsig::Signing::new(None, tsig::now())).unwrap();
    let messages = ask(&o, &q, Transport::Tcp, LOOPBACK).unwrap();
    let mut verifier = StreamVerifier::new(&key(), mac.as_slice());
    for m in &messages {
        assert!(verifier.verify(m, tsig::now()).unwrap(), "every message is signed");
    }
    verifier.finish().unwrap();
    let records: usize = messages.iter().map(|m| usize::from(u16::from_be_bytes([m[6], m[7]]))).sum();
    assert_eq!(records, 6 + 2, "SOA 3, SOA 1, -h0 -h1, SOA 3, +h400 +h401, SOA 3");

    // Unsigned: refused. Over UDP: the SOA alone.
    let unsigned = query(9, &name("example.test."), IXFR, Some(&soa1));
    assert_eq!(rcode(&ask(&o, &unsigned, Transport::Tcp, LOOPBACK).unwrap()[0]), rcode::REFUSED);
    let udp = ask(&o, &q, Transport::Udp, LOOPBACK).unwrap();
    assert_eq!((udp.len(), u16::from_be_bytes([udp[0][6], udp[0][7]])), (1, 1));

    // The AXFR of 400 records spans several messages; a second transfer
    // while it is under way is over the limit of one.
    let mut axfr = query(10, &name("example.test."), AXFR, None);
    tsig::sign_message(&key(), &mut axfr, &tsig::Signing::new(None, tsig::now())).unwrap();
    let mut buf = vec![0u8; 65535];
    buf[..axfr.len()].copy_from_slice(&axfr);
    let first = o.answer(&mut buf, axfr.len(), Transport::Tcp, LOOPBACK).unwrap();
    assert!(first.rest.is_some());
    assert_eq!(rcode(&ask(&o, &axfr, Transport::Tcp, LOOPBACK).unwrap()[0]), rcode::SERVFAIL);
    drop(first);
    assert!(ask(&o, &axfr, Transport::Tcp, LOOPBACK).unwrap().len() > 1, "the slot is back");
    let expected = [
        ("axfr", "aborted", 1),
        ("axfr", "busy", 1),
        ("axfr", "served", 1),
        ("ixfr", "refused", 1),
        ("ixfr", "served", 1),
        ("ixfr_udp", "served", 1),
    ];
    assert_eq!(o.counters().transfers.read(), counts(&expected));
}

#[test]
fn a_bad_signature_is_notauth_and_an_expired_copy_is_servfail() {
    let o = outbound(true);
    let axfr = query(1, &name("example.test."), AXFR, None);
    let mut signed = axfr.clone();
    tsig::sign_message(&key(), &mut signed, &tsig::Signing::new(None, tsig::now())).unwrap();
    assert_eq!(rcode(&ask(&o, &signed, Transport::Tcp, LOOPBACK).unwrap()[0]), rcode::SERVFAIL, "nothing loaded yet");
    let forged = Key::from_text("xfr", "hmac-sha256", "b3RoZXJvdGhlcm90aGVy").unwrap();
    let mut bad = axfr.clone();
    tsig::sign_message(&forged, &mut bad, &tsig::Signing::new(None, tsig::now())).unwrap();
    let answer = ask(&o, &bad, Transport::Tcp, LOOPBACK).unwrap();
    assert_eq!(rcode(&answer[0]), rcode::NOTAUTH);
    let record = tsig::record::locate(&answer[0]).unwrap().unwrap();
    assert_eq!(record.error, tsig::code::BADSIG);

    let mut expired = zone(1, 0..2);
    expired.expired = true;
    o.update(&[zone(1, 0..2)], false);
    o.update(&[expired], false);
    assert_eq!(rcode(&ask(&o, &signed, Transport::Tcp, LOOPBACK).unwrap()[0]), rcode::SERVFAIL);
    assert_eq!(o.counters().transfers.read(), counts(&[("axfr", "notauth", 1), ("axfr", "servfail", 2)]));
}
