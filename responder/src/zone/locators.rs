//! Addresses and identifiers that are not A or AAAA: EUI48 and EUI64
//! (RFC 7043), the ILNP types NID, L32 and L64 (RFC 6742), and APL
//! (RFC 3123) prefix lists.

use super::fields::{ipv4, ipv6, parse_decimal, push_u16, Fields};

/// RFC 7043 §3.2 and §4.2: `xx-xx-xx-xx-xx-xx` (or eight groups), two hex
/// digits per group, nothing else.
pub fn eui(f: &mut Fields<'_, '_>, octets: usize, out: &mut Vec<u8>) -> Result<(), String> {
    let token = f.next("address")?;
    let groups: Vec<&[u8]> = token.text.split(|&c| c == b'-').collect();
    let good = groups.len() == octets && groups.iter().all(|g| g.len() == 2 && g.iter().all(u8::is_ascii_hexdigit));
    if !good {
        let form = vec!["xx"; octets].join("-");
        return Err(f.fail(format!("bad address \"{}\" (expected {form} in hex)", token.show())));
    }
    out.extend(groups.iter().map(|g| hex_u16(g).expect("checked hex") as u8));
    Ok(())
}

/// RFC 6742 §2.1 and §2.3: preference, then 64 bits as four groups of up
/// to four hex digits separated by colons.
pub fn ilnp64(f: &mut Fields<'_, '_>, out: &mut Vec<u8>) -> Result<(), String> {
    push_u16(out, f.u16("preference")?);
    let token = f.next("identifier")?;
    let groups: Vec<&[u8]> = token.text.split(|&c| c == b':').collect();
    let values: Option<Vec<u16>> = if groups.len() == 4 { groups.iter().map(|g| hex_u16(g)).collect() } else { None };
    let values = values
        .ok_or_else(|| f.fail(format!("bad 64-bit value \"{}\" (expected xxxx:xxxx:xxxx:xxxx)", token.show())))?;
    for value in values {
        push_u16(out, value);
    }
    Ok(())
}

/// RFC 6742 §2.2: preference, then a 32-bit locator written as IPv4.
pub fn l32(f: &mut Fields<'_, '_>, out: &mut Vec<u8>) -> Result<(), String> {
    push_u16(out, f.u16("preference")?);
    let token = f.next("locator")?;
    let addr = ipv4(token.text).ok_or_else(|| f.fail(format!("bad locator \"{}\"", token.show())))?;
    out.extend_from_slice(&addr.octets());
    Ok(())
}

/// 1-4 hex digits.
fn hex_u16(text: &[u8]) -> Option<u16> {
    if text.is_empty() || text.len() > 4 || !text.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    u16::from_str_radix(std::str::from_utf8(text).ok()?, 16).ok()
}

/// RFC 3123 §5: zero or more `[!]afi:address/prefix`, afi 1 (IPv4) or 2
/// (IPv6). On the wire each item drops its address's trailing zero octets.
pub fn apl(f: &mut Fields<'_, '_>, out: &mut Vec<u8>) -> Result<(), String> {
    for token in f.rest() {
        let bad = |why: &str| f.fail(format!("bad item \"{}\": {why}", token.show()));
        let (negated, text) = match token.text.strip_prefix(b"!") {
            Some(rest) => (true, rest),
            None => (false, token.text),
        };
        let colon = text.iter().position(|&c| c == b':').ok_or_else(|| bad("expected [!]afi:address/prefix"))?;
        let slash = text.iter().rposition(|&c| c == b'/').ok_or_else(|| bad("expected [!]afi:address/prefix"))?;
        if slash < colon {
            return Err(bad("expected [!]afi:address/prefix"));
        }
        let (afi, address, prefix) = (&text[..colon], &text[colon + 1..slash], &text[slash + 1..]);
        let family = parse_decimal(afi);
        let mut octets = match family {
            Some(1) => ipv4(address).ok_or_else(|| bad("not an IPv4 address"))?.octets().to_vec(),
            Some(2) => ipv6(address).ok_or_else(|| bad("not an IPv6 address"))?.octets().to_vec(),
            _ => return Err(bad("address family must be 1 (IPv4) or 2 (IPv6)")),
        };
        let max_prefix = octets.len() as u64 * 8;
        let prefix = parse_decimal(prefix).filter(|&p| p <= max_prefix).ok_or_else(|| bad("bad prefix length"))?;
        while octets.last() == Some(&0) {
            octets.pop();
        }
        push_u16(out, family.unwrap_or_default() as u16);
        out.push(prefix as u8);
        out.push(u8::from(negated) << 7 | octets.len() as u8);
        out.extend_from_slice(&octets);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::zone::rdata::tests::{ok, unhex, wire};
    use crate::zone::rtype::RType;

    #[test]
    fn eui48_and_eui64_from_rfc7043() {
        assert_eq!(ok(RType::EUI48, "00-00-5e-00-53-2a"), unhex("00005e00532a"));
        assert_eq!(ok(RType::EUI64, "00-00-5E-EF-10-00-00-2A"), unhex("00005eef1000002a"));
        assert_eq!(
            wire(RType::EUI48, "00:00:5e:00:53:2a").unwrap_err(),
            "EUI48: bad address \"00:00:5e:00:53:2a\" (expected xx-xx-xx-xx-xx-xx in hex)"
        );
        assert!(wire(RType::EUI48, "00-00-5e-00-53").unwrap_err().starts_with("EUI48: bad address"));
        assert!(wire(RType::EUI64, "00-00-5e-00-53-2a").unwrap_err().starts_with("EUI64: bad address"));
        assert!(wire(RType::EUI64, "00-00-5e-ef-10-00-00-2g").unwrap_err().starts_with("EUI64: bad address"));
    }

    #[test]
    fn ilnp_from_rfc6742_section_3() {
        assert_eq!(ok(RType::NID, "10 0014:4fff:ff20:ee64"), unhex("000a 0014 4fff ff20 ee64"));
        assert_eq!(ok(RType::L64, "10 2001:0DB8:1140:1000"), unhex("000a 2001 0db8 1140 1000"));
        assert_eq!(ok(RType::L32, "10 10.1.2.0"), unhex("000a 0a010200"));
        assert!(wire(RType::NID, "10 0014:4fff:ff20").unwrap_err().starts_with("NID: bad 64-bit value"));
        assert!(wire(RType::L64, "10 2001:0DB8:1140:10000").unwrap_err().starts_with("L64: bad 64-bit value"));
        assert_eq!(wire(RType::L32, "10 10.1.2").unwrap_err(), "L32: bad locator \"10.1.2\"");
    }

    #[test]
    fn apl_from_rfc3123_section_8() {
        let got = ok(RType::APL, "1:192.168.32.0/21 !1:192.168.38.0/28");
        assert_eq!(got, unhex("0001 15 03 c0a820 0001 1c 83 c0a826"));
        assert_eq!(ok(RType::APL, "1:224.0.0.0/4 2:FF00:0:0:0:0:0:0:0/8"), unhex("0001 04 01 e0 0002 08 01 ff"));
        // The default route: every octet is a trailing zero.
        assert_eq!(ok(RType::APL, "1:0.0.0.0/0"), unhex("0001 00 00"));
        assert_eq!(ok(RType::APL, ""), Vec::<u8>::new());
        let err = |text: &str| wire(RType::APL, text).unwrap_err();
        assert_eq!(err("3:1.2.3.4/8"), "APL: bad item \"3:1.2.3.4/8\": address family must be 1 (IPv4) or 2 (IPv6)");
        assert_eq!(err("1:1.2.3.4/33"), "APL: bad item \"1:1.2.3.4/33\": bad prefix length");
        assert_eq!(err("1:1.2.3.4"), "APL: bad item \"1:1.2.3.4\": expected [!]afi:address/prefix");
        assert_eq!(err("2:1.2.3.4/8"), "APL: bad item \"2:1.2.3.4/8\": not an IPv6 address");
    }
}
