//! Keys, certificates and endpoints outside DNSSEC proper: CERT (RFC 4398),
//! IPSECKEY (RFC 4025), HIP (RFC 8005), AMTRELAY (RFC 8777) and DSYNC
//! (RFC 9859). DHCID and OPENPGPKEY are plain base64.

use super::dnssec::algorithm;
use super::encoding::{Base64, Hex};
use super::fields::{base64_rest, ipv4, ipv6, parse_decimal, push_u16, Fields};
use super::rtype::RType;

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

/// RFC 8777 §4: precedence, discovery-optional bit (0 or 1), relay type,
/// relay: none (`.`), IPv4, IPv6 or a name (type 0-3).
pub fn amtrelay(f: &mut Fields<'_, '_>, out: &mut Vec<u8>) -> Result<(), String> {
    out.push(f.u8("precedence")?);
    let token = f.next("discovery optional")?;
    let discovery = match token.text {
        b"0" => 0,
        b"1" => 0x80,
        _ => return Err(f.fail(format!("bad discovery optional \"{}\" (expected 0 or 1)", token.show()))),
    };
    let relay_type = f.u8("relay type")?;
    if relay_type > 0x7f {
        return Err(f.fail(format!("bad relay type {relay_type} (expected 0-127)")));
    }
    out.push(discovery | relay_type);
    let relay = f.next("relay")?;
    let bad = |what: &str| f.fail(format!("relay \"{}\" is not {what} (relay type {relay_type})", relay.show()));
    match relay_type {
        0 if relay.text == b"." => {}
        0 => return Err(bad("\".\"")),
        1 => out.extend_from_slice(&ipv4(relay.text).ok_or_else(|| bad("an IPv4 address"))?.octets()),
        2 => out.extend_from_slice(&ipv6(relay.text).ok_or_else(|| bad("an IPv6 address"))?.octets()),
        3 => {
            let mut one = Fields::new(f.rtype(), std::slice::from_ref(relay), f.origin());
            one.name("relay", out)?;
        }
        // Later relay types are opaque: RFC 3597 form only.
        _ => return Err(f.fail(format!("relay type {relay_type} has no presentation format; use \\# LENGTH HEX"))),
    }
    Ok(())
}

/// RFC 9859 §2: the type to notify about, the scheme (1 = NOTIFY), a port
/// and the target that takes the notifications.
pub fn dsync(f: &mut Fields<'_, '_>, out: &mut Vec<u8>) -> Result<(), String> {
    let token = f.next("type")?;
    let rtype = std::str::from_utf8(token.text)
        .ok()
        .and_then(RType::from_text)
        .ok_or_else(|| f.fail(format!("unknown type \"{}\"", token.show())))?;
    push_u16(out, rtype.0);
    let token = f.next("scheme")?;
    let scheme = if token.text.eq_ignore_ascii_case(b"NOTIFY") {
        Some(1)
    } else {
        parse_decimal(token.text).and_then(|v| u8::try_from(v).ok())
    };
    out.push(scheme.ok_or_else(|| f.fail(format!("bad scheme \"{}\" (NOTIFY or 0-255)", token.show())))?);
    push_u16(out, f.u16("port")?);
    f.name("target", out)
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

#[cfg(test)]
mod tests {
    use crate::zone::rdata::tests::{ok, unhex, wire};
    use crate::zone::rtype::RType;

    const KEY: &str = "AQNRU3mG7TVTO2BkR47usntb102uFJtugbo6BSGvgqt4AQ==";
    const KEY_HEX: &str = "010351537986ED35533B6064478EEEB27B5BD74DAE149B6E81BA3A0521AF82AB7801";

    #[test]
    fn cert_types_and_algorithms_by_number_or_mnemonic() {
        assert_eq!(ok(RType::CERT, "PGP 0 0 AQID"), unhex("0003 0000 00 010203"));
        assert_eq!(ok(RType::CERT, "1 65535 RSASHA256 ( BA UG )"), unhex("0001 ffff 08 040506"));
        assert_eq!(ok(RType::CERT, "ipkix 1 13 AQID")[..2], [0, 4]);
        assert_eq!(wire(RType::CERT, "FOO 0 0 AQID").unwrap_err(), "CERT: bad certificate type \"FOO\"");
        assert_eq!(wire(RType::CERT, "PGP 0 0").unwrap_err(), "CERT: missing certificate");
    }

    #[test]
    fn ipseckey_from_rfc4025_section_3_3() {
        let v4 = ok(RType::IPSECKEY, &format!("10 1 2 192.0.2.38 {KEY}"));
        assert_eq!(v4, unhex(&format!("0a 01 02 c0000226 {KEY_HEX}")));
        assert_eq!(ok(RType::IPSECKEY, &format!("10 0 2 . {KEY}")), unhex(&format!("0a 00 02 {KEY_HEX}")));
        let name = ok(RType::IPSECKEY, &format!("10 3 2 MyGateway.example.com. {KEY}"));
        assert_eq!(name, unhex(&format!("0a 03 02 094d7947617465776179 076578616d706c65 03636f6d 00 {KEY_HEX}")));
        // The key may be left out.
        assert_eq!(
            ok(RType::IPSECKEY, "10 2 2 2001:0DB8:0:8002::2000:1"),
            unhex("0a 02 02 20010db8000080020000000020000001")
        );
        let err = |text: &str| wire(RType::IPSECKEY, text).unwrap_err();
        assert_eq!(
            err("10 1 2 2001:db8::1 AQID"),
            "IPSECKEY: gateway \"2001:db8::1\" is not an IPv4 address (gateway type 1)"
        );
        assert_eq!(err("10 0 2 gw. AQID"), "IPSECKEY: gateway \"gw.\" is not \".\" (gateway type 0)");
        assert_eq!(err("10 4 2 x AQID"), "IPSECKEY: bad gateway type 4 (expected 0-3)");
    }

    #[test]
    fn hip_from_rfc8005_section_6() {
        let key = "AwEAAbdxyhNuSutc5EMzxTs9LBPCIkOFH8cIvM4p9+LrV4e19WzK00+CI6zBCQTdtWsuxKbWIy87UOoJTwkUs7lBu+Upr1gsNrut79ryra+bSRGQb1slImA8YVJyuIDsj7kwzG7jnERNqnWxZ48AWkskmdHaVDP4BcelrTI3rMXdXF5D";
        let got = ok(RType::HIP, &format!("( 2 200100107B1A74DF365639CC39F1D578\n {key}\n rvs.example.com. )"));
        // HIT length 16, algorithm 2 (RSA), key length 132 (176 base64 characters).
        assert_eq!(got[..4], [16, 2, 0, 132]);
        assert_eq!(got[4..20], unhex("200100107B1A74DF365639CC39F1D578"));
        assert_eq!(got[20..23], [0x03, 0x01, 0x00]);
        assert_eq!(got[4 + 16 + 132..], *b"\x03rvs\x07example\x03com\x00");
        assert_eq!(ok(RType::HIP, "2 0102 AQID"), unhex("02 02 0003 0102 010203"));
        assert_eq!(wire(RType::HIP, "2 01x2 AQID").unwrap_err(), "HIP: HIT \"01x2\": bad hex digit");
        assert_eq!(wire(RType::HIP, "2 0102").unwrap_err(), "HIP: missing public key");
    }

    #[test]
    fn amtrelay_from_rfc8777_section_4_3() {
        assert_eq!(ok(RType::AMTRELAY, "10 0 0 ."), unhex("0a 00"));
        assert_eq!(ok(RType::AMTRELAY, "10 0 1 203.0.113.15"), unhex("0a 01 cb00710f"));
        assert_eq!(ok(RType::AMTRELAY, "128 1 2 2001:db8::15")[..2], [0x80, 0x82]);
        assert_eq!(
            ok(RType::AMTRELAY, "10 1 3 AMTrelays.Example.com."),
            unhex("0a 83 09414d5472656c617973 074578616d706c65 03636f6d 00")
        );
        let err = |text: &str| wire(RType::AMTRELAY, text).unwrap_err();
        assert_eq!(err("10 2 1 203.0.113.15"), "AMTRELAY: bad discovery optional \"2\" (expected 0 or 1)");
        assert_eq!(
            err("10 0 1 2001:db8::15"),
            "AMTRELAY: relay \"2001:db8::15\" is not an IPv4 address (relay type 1)"
        );
        assert!(err("10 0 4 x").contains("use \\# LENGTH HEX"));
    }

    #[test]
    fn dsync_from_rfc9859_section_2_3() {
        let got = ok(RType::DSYNC, "CDS NOTIFY 5359 cds-scanner.Example.net.");
        assert_eq!(got, unhex("003b 01 14ef 0b6364732d7363616e6e6572 074578616d706c65 036e6574 00"));
        assert_eq!(ok(RType::DSYNC, "CSYNC 1 53 ."), unhex("003e 01 0035 00"));
        assert_eq!(wire(RType::DSYNC, "CDZ 1 53 .").unwrap_err(), "DSYNC: unknown type \"CDZ\"");
        assert_eq!(wire(RType::DSYNC, "CDS PUSH 53 .").unwrap_err(), "DSYNC: bad scheme \"PUSH\" (NOTIFY or 0-255)");
    }
}
