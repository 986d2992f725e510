//! Round trips and every rejection, on messages built here; the interop
//! with kdig is in `tests/tests/tsig_kdig.rs`.

use super::*;
use crate::wire::dns::field;

const T: u64 = 1_700_000_000;

fn key(alg: &str) -> Key {
    Key::from_text("xfr.example", alg, "c2VjcmV0LXNoYXJlZC1ieS10aGUtdHdvLXNpZGVz").unwrap()
}

/// A query for example. SOA with one OPT record.
fn query() -> Vec<u8> {
    let mut m = vec![0xab, 0xcd, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1];
    m.extend_from_slice(b"\x07example\x00\x00\x06\x00\x01");
    m.extend_from_slice(&crate::wire::dns::opt_alone(1232, 0));
    m
}

#[test]
fn every_algorithm_signs_and_verifies_a_request_and_its_response() {
    for alg in Algorithm::ALL {
        let k = key(alg.mnemonic());
        let ring = Keyring::new(vec![k.clone()]).unwrap();
        let mut q = query();
        let unsigned_len = q.len();
        let request_mac = sign_message(&k, &mut q, &Signing::new(None, T)).unwrap();
        assert_eq!(request_mac.as_slice().len(), alg.output_len());
        assert_eq!(q.len(), unsigned_len + record_len(&k, 0));
        let request = verify_request(&ring, &q, T + 10).unwrap().expect("signed");
        assert_eq!(request.key.id(), "xfr.example");
        assert_eq!(request.verified.len, unsigned_len);
        assert_eq!(request.verified.mac, request_mac);

        let mut r = q[..unsigned_len].to_vec();
        r[2] |= 0x80;
        r[field::ARCOUNT.end - 1] = 1;
        sign_message(&k, &mut r, &Signing::new(Some(request_mac.as_slice()), T + 1)).unwrap();
        verify_message(&k, &r, Some(request_mac.as_slice()), T).unwrap();
        // The same response checked against another request's MAC fails.
        assert_eq!(verify_message(&k, &r, Some(&[0; 32]), T).unwrap_err(), Failure::BadSig);
    }
}

#[test]
fn unsigned_requests_pass_through() {
    let ring = Keyring::new(vec![key("hmac-sha256")]).unwrap();
    assert!(verify_request(&ring, &query(), T).unwrap().is_none());
}

#[test]
fn each_rejection_has_its_error() {
    let k = key("hmac-sha256");
    let ring = Keyring::new(vec![k.clone()]).unwrap();
    let signed = |k: &Key| {
        let mut q = query();
        sign_message(k, &mut q, &Signing::new(None, T)).unwrap();
        q
    };
    let failure = |ring: &Keyring, m: &[u8], now| verify_request(ring, m, now).unwrap_err().failure;

    // Unknown key name.
    let other = Key::from_text("other", "hmac-sha256", "c2VjcmV0").unwrap();
    assert_eq!(failure(&ring, &signed(&other), T), Failure::BadKey);
    // Known name, other algorithm.
    let sha1 = Key::from_text("xfr.example", "hmac-sha1", "c2VjcmV0LXNoYXJlZC1ieS10aGUtdHdvLXNpZGVz").unwrap();
    assert_eq!(failure(&ring, &signed(&sha1), T), Failure::BadKey);
    // Known name and algorithm, other secret.
    let liar = Key::from_text("xfr.example", "hmac-sha256", "d3Jvbmc=").unwrap();
    assert_eq!(failure(&ring, &signed(&liar), T), Failure::BadSig);
    // One bit of the question changed after signing.
    let mut tampered = signed(&k);
    tampered[14] ^= 0x20;
    assert_eq!(failure(&ring, &tampered, T), Failure::BadSig);
    // Right MAC, out of the fudge window either way; inside it passes.
    let good = signed(&k);
    assert_eq!(failure(&ring, &good, T + 301), Failure::BadTime);
    assert_eq!(failure(&ring, &good, T - 301), Failure::BadTime);
    assert!(verify_request(&ring, &good, T + 300).is_ok());
    let rejected = verify_request(&ring, &good, T + 301).unwrap_err();
    assert_eq!(rejected.key.map(Key::id), Some("xfr.example"));
    assert_eq!(rejected.failure.code(), code::BADTIME);
}

/// Rewrites the MAC of `m`'s TSIG to its first `keep` bytes.
fn truncate_mac(m: &[u8], keep: usize) -> Vec<u8> {
    let r = record::locate(m).unwrap().unwrap();
    let fields = record::Fields {
        key_name: r.key_name.as_slice(),
        algorithm: r.algorithm.as_slice(),
        time_signed: r.time_signed,
        fudge: r.fudge,
        mac: &r.mac[..keep],
        original_id: r.original_id,
        error: r.error,
        other: r.other,
    };
    let mut out = m[..r.start].to_vec();
    out.resize(r.start + fields.wire_len(), 0);
    fields.write(&mut out, r.start).unwrap();
    out
}

#[test]
fn truncated_macs_down_to_half_are_accepted_and_no_further() {
    let k = key("hmac-sha256");
    let ring = Keyring::new(vec![k.clone()]).unwrap();
    let mut q = query();
    sign_message(&k, &mut q, &Signing::new(None, T)).unwrap();
    assert!(verify_request(&ring, &truncate_mac(&q, 16), T).unwrap().is_some());
    assert_eq!(verify_request(&ring, &truncate_mac(&q, 15), T).unwrap_err().failure, Failure::BadTrunc);
    let mut longer = q.clone();
    let r = record::locate(&q).unwrap().unwrap();
    let fields = record::Fields { mac: &[0; 33], ..fields_of(&r) };
    longer.truncate(r.start);
    longer.resize(r.start + fields.wire_len(), 0);
    fields.write(&mut longer, r.start).unwrap();
    assert_eq!(verify_request(&ring, &longer, T).unwrap_err().failure, Failure::FormErr);
}

fn fields_of<'a>(r: &'a record::Record<'a>) -> record::Fields<'a> {
    record::Fields {
        key_name: r.key_name.as_slice(),
        algorithm: r.algorithm.as_slice(),
        time_signed: r.time_signed,
        fudge: r.fudge,
        mac: r.mac,
        original_id: r.original_id,
        error: r.error,
        other: r.other,
    }
}

#[test]
fn a_peers_unsigned_error_is_reported_as_its_error() {
    let k = key("hmac-sha256");
    let mut r = query();
    r[2] |= 0x80;
    let len = r.len();
    r.resize(len + 100, 0);
    let end = append_unsigned(&mut r, len, k.name(), k.algorithm().wire_name(), T, code::BADKEY).unwrap();
    r.truncate(end);
    assert_eq!(verify_message(&k, &r, Some(&[1; 32]), T).unwrap_err(), Failure::Peer(code::BADKEY));
}

/// Messages of a stream: header plus one filler record each.
fn stream_message(i: u8) -> Vec<u8> {
    let mut m = vec![0x00, 0x07, 0x84, 0, 0, 0, 0, 1, 0, 0, 0, 0];
    m.extend_from_slice(b"\x00\x00\x10\x00\x01\x00\x00\x00\x00\x00\x02\x01");
    m.push(i);
    m
}

#[test]
fn a_stream_verifies_with_unsigned_messages_between_signed_ones() {
    let k = key("hmac-sha384");
    let mut q = query();
    let request_mac = sign_message(&k, &mut q, &Signing::new(None, T)).unwrap();
    let mut signer = StreamSigner::new(&k, request_mac.as_slice());
    let mut verifier = StreamVerifier::new(&k, request_mac.as_slice());
    for i in 0..6u8 {
        let mut m = stream_message(i);
        // Sign the first, third and last; the others travel bare and are
        // covered by the next signature.
        let sign = i == 0 || i == 2 || i == 5;
        if sign {
            signer_sign_covering(&mut signer, &mut m, i);
        }
        assert_eq!(verifier.verify(&m, T).unwrap(), sign, "message {i}");
    }
    verifier.finish().unwrap();
}

/// The signer signs every message; to test unsigned gaps the digest of the
/// skipped ones must be in it, so gaps are made by a signer that saw them.
fn signer_sign_covering(signer: &mut StreamSigner, m: &mut Vec<u8>, i: u8) {
    // Messages 3 and 4 were sent bare: sign 5 over them as well.
    if i == 5 {
        let mut h = signer.key().hasher();
        digest::prior(&mut h, signer_prior(signer).as_slice());
        h.update(&stream_message(3));
        h.update(&stream_message(4));
        digest::message(&mut h, m, 7, false);
        digest::variables(&mut h, &digest::Variables::Timers { time_signed: T, fudge: FUDGE });
        let mac = h.finish();
        let fields = record::Fields {
            key_name: signer.key().name(),
            algorithm: signer.key().algorithm().wire_name(),
            time_signed: T,
            fudge: FUDGE,
            mac: mac.as_slice(),
            original_id: 7,
            error: 0,
            other: b"",
        };
        let len = m.len();
        m.resize(len + fields.wire_len(), 0);
        fields.write(m, len).unwrap();
        m[field::ARCOUNT.end - 1] += 1;
        return;
    }
    // Message 1 is sent bare: message 2 is signed over it.
    if i == 2 {
        let mut h = signer.key().hasher();
        digest::prior(&mut h, signer_prior(signer).as_slice());
        h.update(&stream_message(1));
        digest::message(&mut h, m, 7, false);
        digest::variables(&mut h, &digest::Variables::Timers { time_signed: T, fudge: FUDGE });
        let mac = h.finish();
        let fields = record::Fields {
            key_name: signer.key().name(),
            algorithm: signer.key().algorithm().wire_name(),
            time_signed: T,
            fudge: FUDGE,
            mac: mac.as_slice(),
            original_id: 7,
            error: 0,
            other: b"",
        };
        let len = m.len();
        m.resize(len + fields.wire_len(), 0);
        fields.write(m, len).unwrap();
        m[field::ARCOUNT.end - 1] += 1;
        signer_set_prior(signer, mac);
        return;
    }
    signer.sign(m, T).unwrap();
}

fn signer_prior(s: &StreamSigner) -> Mac {
    s.prior_mac()
}

fn signer_set_prior(s: &mut StreamSigner, mac: Mac) {
    s.set_prior_mac(mac);
}

#[test]
fn a_stream_signed_every_message_verifies_and_a_swap_fails() {
    let k = key("hmac-sha256");
    let request_mac = [9u8; 32];
    let mut signer = StreamSigner::new(&k, &request_mac);
    let messages: Vec<Vec<u8>> = (0..4u8)
        .map(|i| {
            let mut m = stream_message(i);
            signer.sign(&mut m, T).unwrap();
            m
        })
        .collect();
    let mut verifier = StreamVerifier::new(&k, &request_mac);
    for m in &messages {
        assert!(verifier.verify(m, T).unwrap());
    }
    verifier.finish().unwrap();
    let mut swapped = StreamVerifier::new(&k, &request_mac);
    assert!(swapped.verify(&messages[0], T).unwrap());
    assert_eq!(swapped.verify(&messages[2], T).unwrap_err(), Failure::BadSig);
    // A stream must start signed, and end signed.
    assert_eq!(StreamVerifier::new(&k, &request_mac).verify(&stream_message(0), T).unwrap_err(), Failure::Unsigned);
    let mut open = StreamVerifier::new(&k, &request_mac);
    open.verify(&messages[0], T).unwrap();
    open.verify(&stream_message(1), T).unwrap();
    assert_eq!(open.finish().unwrap_err(), Failure::Unsigned);
}

#[test]
fn presentation_of_names() {
    assert_eq!(presentation(b"\x03xfr\x07example\x00"), "xfr.example.");
    assert_eq!(presentation(b"\x00"), ".");
    assert_eq!(presentation(b"\x02a.\x00"), "a\\046.");
}
