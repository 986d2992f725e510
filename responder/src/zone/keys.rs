//! Keys and certificates outside DNSSEC proper: CERT (RFC 4398), IPSECKEY
//! (RFC 4025) and HIP (RFC 8005). DHCID and OPENPGPKEY are plain base64.

use super::dnssec::{algorithm, base64_rest};
use super::encoding::{Base64, Hex};
use super::fields::{parse_decimal, Fields};
use super::rdata::{ipv4, ipv6, push_u16};

/// RFC 4398 §2.1 certificate type mnemonics.
const CERT_TYPES: [(&str, u16); 10] = [
    ("PKIX", 1),
    ("SPKI", 2),
    ("PGP", 3),
    ("IPKIX", 4),
    ("ISPKI", 5),
    ("IPGP", 6),
    ("ACPKIX", 7),
    ("IACPKIX", 8),
    ("URI", 253),
    ("OID", 254),
];

/// RFC 4398 §2: type, key tag, algorithm, certificate (base64).
pub fn cert(f: &mut Fields<'_, '_>, out: &mut Vec<u8>) -> Result<(), String> {
    let token = f.next("certificate type")?;
    let number = parse_decimal(token.text).and_then(|v| u16::try_from(v).ok()).or_else(|| {
        CERT_TYPES.iter().find(|(name, _)| token.text.eq_ignore_ascii_case(name.as_bytes())).map(|&(_, n)| n)
    });
    let cert_type = number.ok_or_else(|| f.fail(format!("bad certificate type \"{}\"", token.show())))?;
    push_u16(out, cert_type);
    push_u16(out, f.u16("key tag")?);
    out.push(algorithm(f)?);
    base64_rest(f, "certificate", out)
}

/// RFC 4025 §3.1: precedence, gateway type, algorithm, gateway, optional key.
pub fn ipseckey(f: &mut Fields<'_, '_>, out: &mut Vec<u8>) -> Result<(), String> {
    out.push(f.u8("precedence")?);
    let gateway_type = f.u8("gateway type")?;
    out.push(gateway_type);
    out.push(f.u8("algorithm")?);
    let gateway = f.next("gateway")?;
    let bad =
        |what: &str| f.fail(format!("gateway \"{}\" is not {what} (gateway type {gateway_type})", gateway.show()));
    match gateway_type {
        0 if gateway.text == b"." => {}
        0 => return Err(bad("\".\"")),
        1 => out.extend_from_slice(&ipv4(gateway.text).ok_or_else(|| bad("an IPv4 address"))?.octets()),
        2 => out.extend_from_slice(&ipv6(gateway.text).ok_or_else(|| bad("an IPv6 address"))?.octets()),
        3 => {
            let mut one = Fields::new(f.rtype(), std::slice::from_ref(gateway), f.origin());
            one.name("gateway", out)?;
        }
        other => return Err(f.fail(format!("bad gateway type {other} (expected 0-3)"))),
    }
    // The public key may be left out (RFC 4025 §2.6).
    if f.peek().is_some() {
        base64_rest(f, "public key", out)?;
    }
    Ok(())
}

/// RFC 8005 §3: algorithm, HIT (hex), public key (base64), then any
/// rendezvous servers. On the wire the two lengths come first.
pub fn hip(f: &mut Fields<'_, '_>, out: &mut Vec<u8>) -> Result<(), String> {
    let pk_algorithm = f.u8("public key algorithm")?;
    let hit_token = f.next("HIT")?;
    let mut hit = Vec::new();
    let mut hex = Hex::default();
    hex.feed(hit_token.text, &mut hit)
        .and_then(|_| hex.finish())
        .map_err(|e| f.fail(format!("HIT \"{}\": {e}", hit_token.show())))?;
    let hit_len = u8::try_from(hit.len()).ok().filter(|&n| n > 0).ok_or_else(|| f.fail("HIT must be 1-255 octets"))?;
    let key_token = f.next("public key")?;
    let mut key = Vec::new();
    let mut base64 = Base64::default();
    base64
        .feed(key_token.text, &mut key)
        .and_then(|_| base64.finish())
        .map_err(|e| f.fail(format!("public key: {e}")))?;
    let key_len = u16::try_from(key.len()).ok().filter(|&n| n > 0).ok_or_else(|| f.fail("empty public key"))?;
    out.push(hit_len);
    out.push(pk_algorithm);
    push_u16(out, key_len);
    out.extend_from_slice(&hit);
    out.extend_from_slice(&key);
    while f.peek().is_some() {
        f.name("rendezvous server", out)?;
    }
    Ok(())
}
