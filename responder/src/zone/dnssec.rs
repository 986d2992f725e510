//! DNSSEC RDATA: DS, DNSKEY, RRSIG, NSEC (RFC 4034), NSEC3 and NSEC3PARAM
//! (RFC 5155), and the types that share their formats or bitmaps: CDS and
//! CDNSKEY (RFC 7344), KEY and SIG (RFC 2535), TA and DLV, CSYNC (RFC 7477),
//! ZONEMD (RFC 8976).
//!
//! We serve these as opaque data (signing happens elsewhere), but they must
//! reach the wire exactly as the signer meant them.

use super::encoding::{Base32Hex, Hex};
use super::fields::{base64_rest, hex_rest, parse_decimal, push_u16, push_u32, Fields};
use super::rtype::RType;

pub fn ds(f: &mut Fields<'_, '_>, out: &mut Vec<u8>) -> Result<(), String> {
    push_u16(out, f.u16("key tag")?);
    out.push(algorithm(f)?);
    out.push(f.u8("digest type")?);
    hex_rest(f, "digest", out)
}

pub fn dnskey(f: &mut Fields<'_, '_>, out: &mut Vec<u8>) -> Result<(), String> {
    push_u16(out, f.u16("flags")?);
    out.push(f.u8("protocol")?);
    out.push(algorithm(f)?);
    base64_rest(f, "public key", out)
}

pub fn rrsig(f: &mut Fields<'_, '_>, out: &mut Vec<u8>) -> Result<(), String> {
    let covered = f.next("type covered")?;
    let rtype =
        rtype_from(covered.text).ok_or_else(|| f.fail(format!("unknown type covered \"{}\"", covered.show())))?;
    push_u16(out, rtype.0);
    out.push(algorithm(f)?);
    out.push(f.u8("labels")?);
    push_u32(out, f.u32("original TTL")?);
    for what in ["signature expiration", "signature inception"] {
        let token = f.next(what)?;
        let time = parse_time(token.text)
            .ok_or_else(|| f.fail(format!("bad {what} \"{}\" (YYYYMMDDHHmmSS or seconds since 1970)", token.show())))?;
        push_u32(out, time);
    }
    push_u16(out, f.u16("key tag")?);
    f.name("signer name", out)?;
    base64_rest(f, "signature", out)
}

pub fn nsec(f: &mut Fields<'_, '_>, out: &mut Vec<u8>) -> Result<(), String> {
    f.name("next domain name", out)?;
    type_bitmap(f, out)
}

pub fn nsec3(f: &mut Fields<'_, '_>, out: &mut Vec<u8>) -> Result<(), String> {
    nsec3param(f, out)?;
    let token = f.next("next hashed owner name")?;
    let len_at = out.len();
    out.push(0);
    let mut decoder = Base32Hex::default();
    decoder
        .feed(token.text, out)
        .and_then(|_| decoder.finish())
        .map_err(|e| f.fail(format!("next hashed owner name \"{}\": {e}", token.show())))?;
    let len = out.len() - len_at - 1;
    if !(1..=255).contains(&len) {
        return Err(f.fail(format!("next hashed owner name is {len} octets (expected 1-255)")));
    }
    out[len_at] = len as u8;
    type_bitmap(f, out)
}

/// RFC 7477 §2.1: SOA serial, flags, then the types to synchronise.
pub fn csync(f: &mut Fields<'_, '_>, out: &mut Vec<u8>) -> Result<(), String> {
    push_u32(out, f.u32("SOA serial")?);
    push_u16(out, f.u16("flags")?);
    type_bitmap(f, out)
}

/// RFC 8976 §2.2: serial, scheme, hash algorithm, digest of 12 octets or more.
pub fn zonemd(f: &mut Fields<'_, '_>, out: &mut Vec<u8>) -> Result<(), String> {
    push_u32(out, f.u32("serial")?);
    out.push(f.u8("scheme")?);
    out.push(f.u8("hash algorithm")?);
    let start = out.len();
    hex_rest(f, "digest", out)?;
    let len = out.len() - start;
    if len < 12 {
        return Err(f.fail(format!("digest is {len} octets; RFC 8976 §2.2.4 wants at least 12")));
    }
    Ok(())
}

/// Also the first four fields of NSEC3.
pub fn nsec3param(f: &mut Fields<'_, '_>, out: &mut Vec<u8>) -> Result<(), String> {
    out.push(f.u8("hash algorithm")?);
    out.push(f.u8("flags")?);
    push_u16(out, f.u16("iterations")?);
    let salt = f.next("salt")?;
    let len_at = out.len();
    out.push(0);
    // RFC 5155 §3.3: "-" is the empty salt.
    if salt.text != b"-" {
        let mut hex = Hex::default();
        hex.feed(salt.text, out)
            .and_then(|_| hex.finish())
            .map_err(|e| f.fail(format!("salt \"{}\": {e}", salt.show())))?;
    }
    let len = out.len() - len_at - 1;
    if len > 255 {
        return Err(f.fail(format!("salt is {len} octets, more than 255")));
    }
    out[len_at] = len as u8;
    Ok(())
}

/// RFC 4034 §4.1.2: the listed types as windowed bitmaps.
pub fn type_bitmap(f: &mut Fields<'_, '_>, out: &mut Vec<u8>) -> Result<(), String> {
    let tokens = f.rest();
    let mut types = Vec::with_capacity(tokens.len());
    for token in tokens {
        let rtype = rtype_from(token.text)
            .ok_or_else(|| f.fail(format!("unknown type \"{}\" in type bitmap", token.show())))?;
        types.push(rtype.0);
    }
    types.sort_unstable();
    types.dedup();
    let mut rest = types.as_slice();
    while let Some(&first) = rest.first() {
        let window = (first >> 8) as u8;
        let in_window = rest.iter().take_while(|&&t| (t >> 8) as u8 == window).count();
        let mut bitmap = [0u8; 32];
        for &t in &rest[..in_window] {
            let bit = (t & 0xff) as usize;
            bitmap[bit / 8] |= 0x80 >> (bit % 8);
        }
        // Trailing zero octets are left out; the last type's octet is the length.
        let len = usize::from((rest[in_window - 1] & 0xff) as u8) / 8 + 1;
        out.push(window);
        out.push(len as u8);
        out.extend_from_slice(&bitmap[..len]);
        rest = &rest[in_window..];
    }
    Ok(())
}

fn rtype_from(text: &[u8]) -> Option<RType> {
    std::str::from_utf8(text).ok().and_then(RType::from_text)
}

/// An algorithm number or its mnemonic (IANA "DNS Security Algorithm Numbers").
pub fn algorithm(f: &mut Fields<'_, '_>) -> Result<u8, String> {
    const MNEMONICS: [(&str, u8); 13] = [
        ("RSAMD5", 1),
        ("DH", 2),
        ("DSA", 3),
        ("RSASHA1", 5),
        ("DSA-NSEC3-SHA1", 6),
        ("RSASHA1-NSEC3-SHA1", 7),
        ("RSASHA256", 8),
        ("RSASHA512", 10),
        ("ECC-GOST", 12),
        ("ECDSAP256SHA256", 13),
        ("ECDSAP384SHA384", 14),
        ("ED25519", 15),
        ("ED448", 16),
    ];
    let token = f.next("algorithm")?;
    if let Some(number) = parse_decimal(token.text).and_then(|v| u8::try_from(v).ok()) {
        return Ok(number);
    }
    MNEMONICS
        .iter()
        .find(|(name, _)| token.text.eq_ignore_ascii_case(name.as_bytes()))
        .map(|&(_, number)| number)
        .ok_or_else(|| f.fail(format!("bad algorithm \"{}\"", token.show())))
}

/// RFC 4034 §3.2: `YYYYMMDDHHmmSS` in UTC, or plain seconds since 1970.
/// Dates are taken modulo 2^32 as serial-number arithmetic (RFC 1982) reads them.
pub fn parse_time(text: &[u8]) -> Option<u32> {
    if text.len() != 14 {
        return parse_decimal(text).and_then(|v| u32::try_from(v).ok());
    }
    let field = |range: std::ops::Range<usize>| parse_decimal(&text[range]);
    let (year, month, day) = (field(0..4)?, field(4..6)?, field(6..8)?);
    let (hour, minute, second) = (field(8..10)?, field(10..12)?, field(12..14)?);
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        _ => return None,
    };
    if year < 1970 || day == 0 || day > days_in_month || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let days = days_from_civil(year, month, day);
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second;
    Some(seconds as u32)
}

/// Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: u64, month: u64, day: u64) -> u64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year / 400;
    let year_of_era = year - era * 400;
    let month_index = if month > 2 { month - 3 } else { month + 9 };
    let day_of_year = (153 * month_index + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zone::rdata::tests::{ok, wire};

    fn unhex(text: &str) -> Vec<u8> {
        let mut out = Vec::new();
        let mut hex = Hex::default();
        for piece in text.split_whitespace() {
            hex.feed(piece.as_bytes(), &mut out).unwrap();
        }
        hex.finish().unwrap();
        out
    }

    #[test]
    fn ds_from_rfc4034_section_5_4() {
        let got = ok(RType::DS, "60485 5 1 ( 2BB183AF5F22588179A53B0A98631FAD1A292118 )");
        assert_eq!(got, unhex("ec450501 2bb183af5f22588179a53b0a98631fad1a292118"));
        assert_eq!(ok(RType::DS, "60485 RSASHA1 1 2bb1"), unhex("ec4505012bb1"));
        assert_eq!(wire(RType::DS, "60485 5 1").unwrap_err(), "DS: missing digest");
        assert_eq!(wire(RType::DS, "60485 FOO 1 00").unwrap_err(), "DS: bad algorithm \"FOO\"");
    }

    #[test]
    fn dnskey_from_rfc4034_section_2_3() {
        let text = "256 3 5 ( AQPSKmynfzW4kyBv015MUG2DeIQ3\n Cbl+BBZH4b/0PY1kxkmvHjcZc8no\n kfzj31GajIQKY+5CptLr3buXA10h\n \
                    WqTkF7H6RfoRqXQeogmMHfpftf6z\n Mv1LyBUgia7za6ZEzOJBOztyvhjL\n 742iU/TpPSEDhm2SNKLijfUppn1U\n aNvv4w== )";
        let key = "0103d22a6ca77f35b893206fd35e4c506d8378843709b97e041647e1bff43d8d64c649af1e371973c9e891fce3df51\
                   9a8c840a63ee42a6d2ebddbb97035d215aa4e417b1fa45fa11a9741ea2098c1dfa5fb5feb332fd4bc8152089aef36ba6\
                   44cce2413b3b72be18cbef8da253f4e93d2103866d9234a2e28df529a67d5468dbefe3";
        assert_eq!(ok(RType::DNSKEY, text), [unhex("01000305"), unhex(key)].concat());
        assert_eq!(ok(RType::DNSKEY, "257 3 ECDSAP256SHA256 AQID"), unhex("0101030d010203"));
        assert_eq!(
            wire(RType::DNSKEY, "257 3 13 AQI").unwrap_err(),
            "DNSKEY: public key: base64 length is not a multiple of 4 (bad padding)"
        );
    }

    #[test]
    fn rrsig_from_rfc4034_section_3_3() {
        let got = ok(RType::RRSIG, "A 5 3 86400 20030322173103 ( 20030220173103 2642 example.com. AQID )");
        let mut want = unhex("0001 05 03 00015180");
        want.extend_from_slice(&1_048_354_263u32.to_be_bytes());
        want.extend_from_slice(&1_045_762_263u32.to_be_bytes());
        want.extend_from_slice(&unhex("0a52 076578616d706c6503636f6d00 010203"));
        assert_eq!(got, want);
        let by_seconds = ok(RType::RRSIG, "TYPE1 5 3 86400 1048354263 1045762263 2642 example.com. AQID");
        assert_eq!(by_seconds, want);
        assert!(wire(RType::RRSIG, "A 5 3 86400 20030230000000 1 2642 example.com. AQID")
            .unwrap_err()
            .starts_with("RRSIG: bad signature expiration \"20030230000000\""));
        assert_eq!(
            wire(RType::RRSIG, "BOGUS 5 3 1 1 1 1 . AQID").unwrap_err(),
            "RRSIG: unknown type covered \"BOGUS\""
        );
        assert_eq!(wire(RType::RRSIG, "A 5 3 1 1 1 1 .").unwrap_err(), "RRSIG: missing signature");
    }

    #[test]
    fn times_handle_leap_years_and_the_2106_wrap() {
        assert_eq!(parse_time(b"19700101000000"), Some(0));
        assert_eq!(parse_time(b"20240229235959"), Some(1_709_251_199));
        assert_eq!(parse_time(b"20230229000000"), None);
        assert_eq!(parse_time(b"21060207062816"), Some(0)); // 2^32 seconds
        assert_eq!(parse_time(b"20241301000000"), None);
        assert_eq!(parse_time(b"20240101240000"), None);
        assert_eq!(parse_time(b"19691231235959"), None);
        assert_eq!(parse_time(b"4294967295"), Some(u32::MAX));
        assert_eq!(parse_time(b"4294967296"), None);
    }

    #[test]
    fn nsec_bitmap_from_rfc4034_section_4_3() {
        let got = ok(RType::NSEC, "host.example.com. ( A MX RRSIG NSEC TYPE1234 )");
        let mut want = b"\x04host\x07example\x03com\x00".to_vec();
        want.extend_from_slice(&unhex("0006400100000003 041b000000000000000000000000000000000000000000000000000020"));
        assert_eq!(got, want);
        // Order and repetition in the text do not matter.
        assert_eq!(ok(RType::NSEC, "host.example.com. TYPE1234 NSEC A RRSIG MX A"), want);
        assert_eq!(ok(RType::NSEC, "a."), b"\x01a\x00");
        assert_eq!(wire(RType::NSEC, "a. A FOO").unwrap_err(), "NSEC: unknown type \"FOO\" in type bitmap");
    }

    #[test]
    fn nsec3_from_rfc5155_appendix_a() {
        let got = ok(
            RType::NSEC3,
            "1 1 12 aabbccdd ( 2t7b4g4vsa5smi47k61mv5bv1a22bojr MX DNSKEY NS\n SOA NSEC3PARAM RRSIG )",
        );
        // NS SOA MX RRSIG DNSKEY NSEC3PARAM: bits 2 6 15 46 48 51.
        let want = unhex("01 01 000c 04aabbccdd 14 174eb2409fe28bcb4887a1836f957f0a8425e27b 0007 22010000000290");
        assert_eq!(got, want);
        assert_eq!(ok(RType::NSEC3, "1 0 0 - 2T7B4G4VSA5SMI47K61MV5BV1A22BOJR")[..6], unhex("010000000014"));
        assert!(wire(RType::NSEC3, "1 0 0 - 2t7b4g4w")
            .unwrap_err()
            .starts_with("NSEC3: next hashed owner name \"2t7b4g4w\""));
        assert_eq!(wire(RType::NSEC3, "1 0 0 -").unwrap_err(), "NSEC3: missing next hashed owner name");
    }

    #[test]
    fn nsec3param_salt_forms() {
        assert_eq!(ok(RType::NSEC3PARAM, "1 0 12 aabbccdd"), unhex("0100000c04aabbccdd"));
        assert_eq!(ok(RType::NSEC3PARAM, "1 0 0 -"), unhex("0100000000"));
        assert_eq!(
            wire(RType::NSEC3PARAM, "1 0 0 abc").unwrap_err(),
            "NSEC3PARAM: salt \"abc\": odd number of hex digits"
        );
        assert_eq!(
            wire(RType::NSEC3PARAM, "1 0 0 - extra").unwrap_err(),
            "NSEC3PARAM: unexpected extra field \"extra\""
        );
    }

    #[test]
    fn cds_and_cdnskey_from_rfc7344_and_their_deletion_form_from_rfc8078() {
        assert_eq!(
            ok(RType::CDS, "60485 5 1 2BB183AF5F22588179A53B0A98631FAD1A292118"),
            ok(RType::DS, "60485 5 1 2BB183AF5F22588179A53B0A98631FAD1A292118")
        );
        // RFC 8078 §4: "remove the DS RRset".
        assert_eq!(ok(RType::CDS, "0 0 0 00"), unhex("0000 00 00 00"));
        assert_eq!(ok(RType::CDNSKEY, "0 3 0 AA=="), unhex("0000 03 00 00"));
        assert_eq!(ok(RType::CDNSKEY, "257 3 ECDSAP256SHA256 AQID"), unhex("0101030d010203"));
        assert_eq!(wire(RType::CDS, "1 2 3").unwrap_err(), "CDS: missing digest");
        assert_eq!(wire(RType::CDNSKEY, "257 3 13").unwrap_err(), "CDNSKEY: missing public key");
        // KEY, TA and DLV share the layouts (RFC 2535, DNSSEC look-aside).
        assert_eq!(ok(RType::KEY, "256 3 13 AQID"), ok(RType::DNSKEY, "256 3 13 AQID"));
        assert_eq!(ok(RType::DLV, "1 13 2 abcd"), ok(RType::TA, "1 13 2 abcd"));
    }

    #[test]
    fn rrsig_covers_every_mnemonic_and_sig_reads_the_same() {
        // Knot signs CDS and CDNSKEY at the apex: this line used not to load.
        let cds = ok(RType::RRSIG, "CDS 13 2 3600 20270101000000 20261201000000 12345 example.com. AQID");
        assert_eq!(cds[..2], 59u16.to_be_bytes());
        for (mnemonic, number) in [("CDNSKEY", 60u16), ("ZONEMD", 63), ("CSYNC", 62), ("SMIMEA", 53), ("URI", 256)] {
            let got = ok(RType::RRSIG, &format!("{mnemonic} 13 2 3600 1 0 1 . AQID"));
            assert_eq!(got[..2], number.to_be_bytes(), "{mnemonic}");
        }
        assert_eq!(
            ok(RType::SIG, "A 13 2 300 1 0 7 example.com. AQID"),
            ok(RType::RRSIG, "A 13 2 300 1 0 7 example.com. AQID")
        );
        assert_eq!(wire(RType::RRSIG, "CDZ 13 2 1 1 0 1 . AQID").unwrap_err(), "RRSIG: unknown type covered \"CDZ\"");
    }

    #[test]
    fn nsec_bitmap_takes_new_mnemonics() {
        // CDS 59, CDNSKEY 60 (octet 7), CAA 257 (window 1, bit 1).
        let got = ok(RType::NSEC, "a. CDS CDNSKEY CAA");
        assert_eq!(got, unhex("0161 00 0008 00000000 00000018 0101 40"));
        assert_eq!(wire(RType::NSEC, "a. CDS NOPE").unwrap_err(), "NSEC: unknown type \"NOPE\" in type bitmap");
    }

    #[test]
    fn csync_from_rfc7477_section_2_1_1() {
        // Serial 66, flags immediate|soaminimum, A NS AAAA.
        assert_eq!(ok(RType::CSYNC, "66 3 A NS AAAA"), unhex("00000042 0003 0004 60000008"));
        assert_eq!(ok(RType::CSYNC, "1 0"), unhex("00000001 0000"));
        assert_eq!(wire(RType::CSYNC, "66 3 A BOGUS").unwrap_err(), "CSYNC: unknown type \"BOGUS\" in type bitmap");
        assert_eq!(wire(RType::CSYNC, "66").unwrap_err(), "CSYNC: missing flags");
    }

    #[test]
    fn zonemd_from_rfc8976_appendix_a_1() {
        let text = "2018031900 1 1 ( c68090d90a7aed716bc459f9340e3d7c1370d4d24b7e2fc3a1ddc0b9\n \
                    a87153b9a9713b3c9ae5cc27777f98b8e730044c )";
        let digest = "c68090d90a7aed716bc459f9340e3d7c1370d4d24b7e2fc3a1ddc0b9a87153b9a9713b3c9ae5cc27777f98b8e730044c";
        assert_eq!(ok(RType::ZONEMD, text), [unhex("7848b91c 01 01"), unhex(digest)].concat());
        assert_eq!(
            wire(RType::ZONEMD, "1 1 1 0102030405").unwrap_err(),
            "ZONEMD: digest is 5 octets; RFC 8976 §2.2.4 wants at least 12"
        );
        assert_eq!(wire(RType::ZONEMD, "1 1 1").unwrap_err(), "ZONEMD: missing digest");
    }
}
