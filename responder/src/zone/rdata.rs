//! RDATA presentation format → uncompressed wire format, one function per type.
//!
//! DNSSEC types live in `dnssec.rs`, SVCB/HTTPS in `svcb.rs`, LOC in
//! `loc.rs`, addresses and identifiers (EUI48/64, ILNP, APL) in
//! `locators.rs`, keys and certificates outside DNSSEC in `keys.rs`.
//! RFC 3597's generic `\# LENGTH HEX` form is accepted for every type.

use super::embedded::check_wire;
use super::encoding::Hex;
use super::fields::{base64_rest, hex_rest, ipv4, ipv6, push_u16, push_u32, Fields};
use super::lexer::Token;
use super::name::Name;
use super::rtype::RType;
use super::{dnssec, keys, loc, locators, svcb};

/// Appends the wire form of `tokens`, the RDATA fields of a `rtype` record.
pub fn parse_rdata(rtype: RType, tokens: &[Token<'_>], origin: Option<&Name>, out: &mut Vec<u8>) -> Result<(), String> {
    let mut f = Fields::new(rtype, tokens, origin);
    if tokens.first().is_some_and(|t| !t.quoted && t.text == b"\\#") {
        let start = out.len();
        generic(&mut f, out)?;
        // Generic data for a type we understand must still make sense as that type.
        return check_wire(rtype, &out[start..]).map_err(|e| f.fail(format!("generic RDATA: {e}")));
    }
    match rtype {
        RType::A => a(&mut f, out)?,
        RType::AAAA => aaaa(&mut f, out)?,
        RType::NS => f.name("name server", out)?,
        RType::CNAME => f.name("canonical name", out)?,
        RType::PTR | RType::DNAME => f.name("target name", out)?,
        RType::MD | RType::MF => f.name("mail agent", out)?,
        RType::MB => f.name("mailbox host", out)?,
        RType::MG | RType::MR => f.name("mailbox", out)?,
        RType::SOA => soa(&mut f, out)?,
        RType::MX => {
            push_u16(out, f.u16("preference")?);
            f.name("exchange name", out)?;
        }
        RType::MINFO => {
            f.name("responsible mailbox", out)?;
            f.name("error mailbox", out)?;
        }
        // RFC 1183 §2.2: a mailbox and where its TXT explanation is.
        RType::RP => {
            f.name("mailbox", out)?;
            f.name("TXT name", out)?;
        }
        RType::AFSDB => {
            push_u16(out, f.u16("subtype")?);
            f.name("hostname", out)?;
        }
        RType::RT | RType::KX | RType::LP => {
            push_u16(out, f.u16("preference")?);
            let what = match rtype {
                RType::RT => "intermediate host",
                RType::KX => "exchanger name",
                _ => "locator name",
            };
            f.name(what, out)?;
        }
        // RFC 1183 §3.1: one string; §3.2: an address and an optional subaddress.
        RType::X25 => f.char_string("PSDN address", out)?,
        RType::ISDN => {
            f.char_string("ISDN address", out)?;
            if f.peek().is_some() {
                f.char_string("subaddress", out)?;
            }
        }
        RType::TXT | RType::SPF | RType::AVC | RType::RESINFO | RType::WALLET | RType::NINFO => txt(&mut f, out)?,
        RType::SRV => {
            for what in ["priority", "weight", "port"] {
                push_u16(out, f.u16(what)?);
            }
            f.name("target name", out)?;
        }
        RType::URI => uri(&mut f, out)?,
        // RFC 2163 §4: preference, the RFC 822 domain and its X.400 mapping.
        RType::PX => {
            push_u16(out, f.u16("preference")?);
            f.name("MAP822", out)?;
            f.name("MAPX400", out)?;
        }
        RType::TALINK => {
            f.name("previous name", out)?;
            f.name("next name", out)?;
        }
        RType::DSYNC => keys::dsync(&mut f, out)?,
        RType::AMTRELAY => keys::amtrelay(&mut f, out)?,
        RType::CAA => caa(&mut f, out)?,
        RType::NAPTR => {
            push_u16(out, f.u16("order")?);
            push_u16(out, f.u16("preference")?);
            for what in ["flags", "services", "regexp"] {
                f.char_string(what, out)?;
            }
            f.name("replacement", out)?;
        }
        RType::HINFO => {
            f.char_string("CPU", out)?;
            f.char_string("OS", out)?;
        }
        RType::SSHFP => {
            out.push(f.u8("algorithm")?);
            out.push(f.u8("fingerprint type")?);
            hex_rest(&mut f, "fingerprint", out)?;
        }
        RType::TLSA | RType::SMIMEA => {
            out.push(f.u8("certificate usage")?);
            out.push(f.u8("selector")?);
            out.push(f.u8("matching type")?);
            hex_rest(&mut f, "certificate association data", out)?;
        }
        RType::DS | RType::CDS | RType::TA | RType::DLV => dnssec::ds(&mut f, out)?,
        RType::DNSKEY | RType::CDNSKEY | RType::KEY => dnssec::dnskey(&mut f, out)?,
        RType::RRSIG | RType::SIG => dnssec::rrsig(&mut f, out)?,
        RType::NSEC => dnssec::nsec(&mut f, out)?,
        RType::NSEC3 => dnssec::nsec3(&mut f, out)?,
        RType::NSEC3PARAM => dnssec::nsec3param(&mut f, out)?,
        RType::CSYNC => dnssec::csync(&mut f, out)?,
        RType::ZONEMD => dnssec::zonemd(&mut f, out)?,
        RType::SVCB | RType::HTTPS => svcb::svcb(&mut f, out)?,
        RType::LOC => loc::loc(&mut f, out)?,
        RType::EUI48 => locators::eui(&mut f, 6, out)?,
        RType::EUI64 => locators::eui(&mut f, 8, out)?,
        RType::NID | RType::L64 => locators::ilnp64(&mut f, out)?,
        RType::L32 => locators::l32(&mut f, out)?,
        RType::APL => locators::apl(&mut f, out)?,
        RType::CERT => keys::cert(&mut f, out)?,
        RType::IPSECKEY => keys::ipseckey(&mut f, out)?,
        RType::HIP => keys::hip(&mut f, out)?,
        RType::DHCID => base64_rest(&mut f, "digest", out)?,
        RType::OPENPGPKEY => base64_rest(&mut f, "public key", out)?,
        _ => return Err(f.fail("no presentation format known for this type; write it as \\# LENGTH HEX (RFC 3597)")),
    }
    f.end()
}

/// RFC 3597 §5: `\# LENGTH HEX...`, the hex possibly split into pieces.
fn generic(f: &mut Fields<'_, '_>, out: &mut Vec<u8>) -> Result<(), String> {
    f.next("\\#")?;
    let declared = usize::from(f.u16("generic RDATA length")?);
    let start = out.len();
    let mut hex = Hex::default();
    for piece in f.rest() {
        hex.feed(piece.text, out).map_err(|e| f.fail(format!("generic RDATA: {e}")))?;
    }
    hex.finish().map_err(|e| f.fail(format!("generic RDATA: {e}")))?;
    let actual = out.len() - start;
    if actual != declared {
        return Err(f.fail(format!("generic RDATA is {actual} octets but its length says {declared}")));
    }
    Ok(())
}

fn a(f: &mut Fields<'_, '_>, out: &mut Vec<u8>) -> Result<(), String> {
    let token = f.next("address")?;
    // The address family says what was expected; no type prefix needed.
    let addr = ipv4(token.text).ok_or_else(|| format!("bad IPv4 address \"{}\"", token.show()))?;
    out.extend_from_slice(&addr.octets());
    Ok(())
}

fn aaaa(f: &mut Fields<'_, '_>, out: &mut Vec<u8>) -> Result<(), String> {
    let token = f.next("address")?;
    let addr = ipv6(token.text).ok_or_else(|| format!("bad IPv6 address \"{}\"", token.show()))?;
    out.extend_from_slice(&addr.octets());
    Ok(())
}

fn soa(f: &mut Fields<'_, '_>, out: &mut Vec<u8>) -> Result<(), String> {
    f.name("primary server name", out)?;
    f.name("mailbox name", out)?;
    push_u32(out, f.u32("serial")?);
    for what in ["refresh", "retry", "expire", "minimum"] {
        let token = f.next(what)?;
        let seconds =
            super::ttl::parse_duration(token.text).ok_or_else(|| f.fail(format!("bad {what} \"{}\"", token.show())))?;
        push_u32(out, seconds);
    }
    Ok(())
}

/// One or more character-strings, quoted or not.
fn txt(f: &mut Fields<'_, '_>, out: &mut Vec<u8>) -> Result<(), String> {
    f.char_string("text", out)?;
    for token in f.rest() {
        f.push_char_string(token, "text", out)?;
    }
    Ok(())
}

/// RFC 8659 §4.1: flags, tag (1-15 letters and digits), value (the rest of the RDATA).
fn caa(f: &mut Fields<'_, '_>, out: &mut Vec<u8>) -> Result<(), String> {
    out.push(f.u8("flags")?);
    let tag = f.next("tag")?;
    let good_tag = (1..=15).contains(&tag.text.len()) && tag.text.iter().all(u8::is_ascii_alphanumeric);
    if !good_tag {
        return Err(f.fail(format!("bad tag \"{}\" (1-15 letters and digits)", tag.show())));
    }
    out.push(tag.text.len() as u8);
    out.extend_from_slice(tag.text);
    let value = f.next("value")?;
    // Not a character-string: the value runs to the end of the RDATA, unbounded.
    super::fields::decode_text(value.text, out).map_err(|e| f.fail(format!("value: {e}")))
}

/// RFC 7553 §4: priority, weight, then the target URI, quoted, which runs
/// to the end of the RDATA without a length octet and may not be empty.
fn uri(f: &mut Fields<'_, '_>, out: &mut Vec<u8>) -> Result<(), String> {
    push_u16(out, f.u16("priority")?);
    push_u16(out, f.u16("weight")?);
    let target = f.next("target")?;
    let start = out.len();
    super::fields::decode_text(target.text, out).map_err(|e| f.fail(format!("target: {e}")))?;
    if out.len() == start {
        return Err(f.fail("empty target URI"));
    }
    Ok(())
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::zone::lexer::Lexer;

    /// RDATA text (one entry, parentheses allowed) → wire, origin example.com.
    pub fn wire(rtype: RType, text: &str) -> Result<Vec<u8>, String> {
        let origin = Name::parse("example.com.", None).unwrap().unwrap();
        let mut lexer = Lexer::new(text.as_bytes());
        let mut tokens = Vec::new();
        lexer.next_entry(&mut tokens).map_err(|e| e.message)?;
        let mut out = Vec::new();
        parse_rdata(rtype, &tokens, Some(&origin), &mut out)?;
        Ok(out)
    }

    pub fn ok(rtype: RType, text: &str) -> Vec<u8> {
        wire(rtype, text).unwrap_or_else(|e| panic!("{rtype} {text}: {e}"))
    }

    const EXAMPLE: &[u8] = b"\x07example\x03com\x00";

    fn cat(parts: &[&[u8]]) -> Vec<u8> {
        parts.concat()
    }

    #[test]
    fn a_and_aaaa() {
        assert_eq!(ok(RType::A, "198.18.0.1"), [198, 18, 0, 1]);
        assert_eq!(wire(RType::A, "1.2.3").unwrap_err(), "bad IPv4 address \"1.2.3\"");
        assert_eq!(wire(RType::A, "1.2.3.256").unwrap_err(), "bad IPv4 address \"1.2.3.256\"");
        assert_eq!(wire(RType::A, "").unwrap_err(), "A: missing address");
        assert_eq!(wire(RType::A, "1.2.3.4 5.6.7.8").unwrap_err(), "A: unexpected extra field \"5.6.7.8\"");
        let mut v6 = [0u8; 16];
        v6[0] = 0xfd;
        v6[15] = 0x35;
        assert_eq!(ok(RType::AAAA, "fd00::35"), v6);
        assert_eq!(ok(RType::AAAA, "::ffff:198.18.0.1")[10..], [0xff, 0xff, 198, 18, 0, 1]);
        assert_eq!(wire(RType::AAAA, "fd00::1::2").unwrap_err(), "bad IPv6 address \"fd00::1::2\"");
    }

    #[test]
    fn single_name_types() {
        assert_eq!(ok(RType::NS, "ns1"), cat(&[b"\x03ns1", EXAMPLE]));
        assert_eq!(ok(RType::CNAME, "www.example.net."), b"\x03www\x07example\x03net\x00");
        assert_eq!(ok(RType::PTR, "@"), EXAMPLE);
        assert_eq!(ok(RType::DNAME, "Other.Example."), b"\x05Other\x07Example\x00");
        assert_eq!(wire(RType::NS, "").unwrap_err(), "NS: missing name server");
        assert!(wire(RType::CNAME, "a..b").unwrap_err().starts_with("CNAME: bad canonical name \"a..b\""));
    }

    #[test]
    fn soa_with_units_and_parentheses() {
        let got = ok(RType::SOA, "ns1 hostmaster ( 2024010101 ; serial\n 1h 15m 1w 300 )");
        let want = cat(&[
            b"\x03ns1",
            EXAMPLE,
            b"\x0ahostmaster",
            EXAMPLE,
            &2024010101u32.to_be_bytes(),
            &3600u32.to_be_bytes(),
            &900u32.to_be_bytes(),
            &604800u32.to_be_bytes(),
            &300u32.to_be_bytes(),
        ]);
        assert_eq!(got, want);
        assert_eq!(wire(RType::SOA, "ns1 host 1 2 3 4").unwrap_err(), "SOA: missing minimum");
        assert_eq!(wire(RType::SOA, "ns1 host 1 2 3 4x 5").unwrap_err(), "SOA: bad expire \"4x\"");
        assert!(wire(RType::SOA, "ns1 host 1h 2 3 4 5").unwrap_err().starts_with("SOA: bad serial \"1h\""));
    }

    #[test]
    fn mx_srv_naptr_hinfo() {
        assert_eq!(ok(RType::MX, "10 mail"), cat(&[b"\x00\x0a\x04mail", EXAMPLE]));
        assert_eq!(wire(RType::MX, "10").unwrap_err(), "MX: missing exchange name");
        assert_eq!(wire(RType::MX, "65536 mail").unwrap_err(), "MX: bad preference \"65536\" (expected 0-65535)");
        assert_eq!(ok(RType::SRV, "1 2 5060 sip"), cat(&[b"\x00\x01\x00\x02\x13\xc4\x03sip", EXAMPLE]));
        assert_eq!(
            ok(RType::NAPTR, r#"100 10 "S" "SIP+D2U" "!^.*$!sip:info@example.com!" _sip._udp"#),
            cat(&[
                b"\x00\x64\x00\x0a\x01S\x07SIP+D2U",
                b"\x1b!^.*$!sip:info@example.com!",
                b"\x04_sip\x04_udp",
                EXAMPLE
            ])
        );
        assert_eq!(ok(RType::NAPTR, r#"1 2 "" "" "" ."#), b"\x00\x01\x00\x02\x00\x00\x00\x00");
        assert_eq!(ok(RType::HINFO, r#""PC-Intel-700mhz" Linux"#), b"\x0fPC-Intel-700mhz\x05Linux");
        assert_eq!(wire(RType::HINFO, "x86").unwrap_err(), "HINFO: missing OS");
    }

    #[test]
    fn txt_strings_quoted_unquoted_and_escaped() {
        assert_eq!(ok(RType::TXT, "hello"), b"\x05hello");
        assert_eq!(
            ok(RType::TXT, r#""hello world" two "" "a\"b" \065\;"#),
            b"\x0bhello world\x03two\x00\x03a\"b\x02A;"
        );
        assert_eq!(ok(RType::TXT, "( \"line one\"\n \"line two\" )"), b"\x08line one\x08line two");
        let max = format!("\"{}\"", "y".repeat(255));
        assert_eq!(ok(RType::TXT, &max).len(), 256);
        let over = format!("\"{}\"", "y".repeat(256));
        assert_eq!(wire(RType::TXT, &over).unwrap_err(), "TXT: text is 256 octets, more than 255");
        assert_eq!(wire(RType::TXT, "").unwrap_err(), "TXT: missing text");
        assert!(wire(RType::TXT, r"bad\9").unwrap_err().contains("bad escape"));
    }

    #[test]
    fn caa_flags_tag_value() {
        assert_eq!(ok(RType::CAA, r#"0 issue "letsencrypt.org""#), b"\x00\x05issueletsencrypt.org");
        assert_eq!(ok(RType::CAA, r#"128 iodef "mailto:security@example.com""#)[..7], *b"\x80\x05iodef");
        assert_eq!(ok(RType::CAA, r#"0 issue ";""#), b"\x00\x05issue;");
        assert!(wire(RType::CAA, r#"0 is-sue "x""#).unwrap_err().starts_with("CAA: bad tag \"is-sue\""));
        assert_eq!(wire(RType::CAA, "0 issue").unwrap_err(), "CAA: missing value");
    }

    #[test]
    fn sshfp_and_tlsa_hex_may_be_split() {
        assert_eq!(ok(RType::SSHFP, "4 2 0123 4567 89ab"), b"\x04\x02\x01\x23\x45\x67\x89\xab");
        assert_eq!(wire(RType::SSHFP, "4 2").unwrap_err(), "SSHFP: missing fingerprint");
        assert_eq!(wire(RType::SSHFP, "4 2 0g").unwrap_err(), "SSHFP: fingerprint: bad hex digit");
        assert_eq!(ok(RType::TLSA, "3 1 1 ( ABCD\n ef01 )"), b"\x03\x01\x01\xab\xcd\xef\x01");
        assert_eq!(
            wire(RType::TLSA, "3 1 1 abc").unwrap_err(),
            "TLSA: certificate association data: odd number of hex digits"
        );
    }

    #[test]
    fn generic_form_for_unknown_and_known_types() {
        assert_eq!(ok(RType(65534), r"\# 4 0a000001"), [10, 0, 0, 1]);
        assert_eq!(ok(RType(65534), r"\# 0"), Vec::<u8>::new());
        assert_eq!(ok(RType(65534), "\\# 3 ab ( cd\n ef )"), [0xab, 0xcd, 0xef]);
        assert_eq!(ok(RType::A, r"\# 4 C6120001"), [198, 18, 0, 1]);
        assert_eq!(ok(RType::NS, r"\# 5 036e7331 00"), b"\x03ns1\x00");
        assert_eq!(
            wire(RType(65534), r"\# 4 0a0000").unwrap_err(),
            "TYPE65534: generic RDATA is 3 octets but its length says 4"
        );
        assert_eq!(
            wire(RType(65534), r"\# 0 00").unwrap_err(),
            "TYPE65534: generic RDATA is 1 octets but its length says 0"
        );
        assert_eq!(wire(RType::A, r"\# 3 0a0000").unwrap_err(), "A: generic RDATA: A RDATA must be 4 octets, not 3");
        assert!(wire(RType::NS, r"\# 2 0300").unwrap_err().starts_with("NS: generic RDATA:"));
        assert!(wire(RType(65534), "0a000001").unwrap_err().contains("\\# LENGTH HEX"));
        assert_eq!(wire(RType(65534), r"\#").unwrap_err(), "TYPE65534: missing generic RDATA length");
    }

    /// Hex digits, blanks ignored.
    pub fn unhex(text: &str) -> Vec<u8> {
        let digits: Vec<u8> = text.bytes().filter(|c| !c.is_ascii_whitespace()).collect();
        digits.chunks(2).map(|pair| u8::from_str_radix(std::str::from_utf8(pair).unwrap(), 16).unwrap()).collect()
    }

    #[test]
    fn rfc1183_types_keep_the_case_of_their_names() {
        // RFC 1183 §2.2: RP is a mailbox and a TXT owner; no lowering (RFC 4343).
        let rp = ok(RType::RP, "Louie.Trantor.UMD.EDU. LAM1.people");
        assert_eq!(rp, cat(&[b"\x05Louie\x07Trantor\x03UMD\x03EDU\x00", b"\x04LAM1\x06people", EXAMPLE]));
        assert_eq!(ok(RType::RP, ". ."), b"\x00\x00");
        assert_eq!(wire(RType::RP, "a.").unwrap_err(), "RP: missing TXT name");
        // RFC 1183 §1: AFSDB subtype 1 and a host.
        assert_eq!(ok(RType::AFSDB, "1 BigBird.Toaster.com."), b"\x00\x01\x07BigBird\x07Toaster\x03com\x00");
        assert_eq!(wire(RType::AFSDB, "65536 a.").unwrap_err(), "AFSDB: bad subtype \"65536\" (expected 0-65535)");
        assert_eq!(ok(RType::RT, "2 Relay.Prime.COM."), b"\x00\x02\x05Relay\x05Prime\x03COM\x00");
        assert_eq!(wire(RType::RT, "2").unwrap_err(), "RT: missing intermediate host");
        assert_eq!(ok(RType::KX, "10 kx"), cat(&[b"\x00\x0a\x02kx", EXAMPLE]));
        assert_eq!(ok(RType::LP, "10 L64-Subnet1.example.com."), cat(&[b"\x00\x0a\x0bL64-Subnet1", EXAMPLE]));
        assert_eq!(wire(RType::KX, "x kx").unwrap_err(), "KX: bad preference \"x\" (expected 0-65535)");
        // RFC 2163 §4's example: PX 10 Net2.it. PRMD-net2.ADMD-p400.C-it.
        let px = ok(RType::PX, "10 Net2.it. PRMD-net2.ADMD-p400.C-it.");
        assert_eq!(px, cat(&[b"\x00\x0a\x04Net2\x02it\x00", b"\x09PRMD-net2\x09ADMD-p400\x04C-it\x00"]));
        assert_eq!(wire(RType::PX, "10 Net2.it.").unwrap_err(), "PX: missing MAPX400");
        assert_eq!(ok(RType::TALINK, "a. b."), b"\x01a\x00\x01b\x00");
        assert_eq!(wire(RType::TALINK, "a.").unwrap_err(), "TALINK: missing next name");
    }

    #[test]
    fn rfc1035_mailbox_types() {
        assert_eq!(ok(RType::MINFO, "rm em"), cat(&[b"\x02rm", EXAMPLE, b"\x02em", EXAMPLE]));
        assert_eq!(wire(RType::MINFO, "rm").unwrap_err(), "MINFO: missing error mailbox");
        for rtype in [RType::MB, RType::MG, RType::MR, RType::MD, RType::MF] {
            assert_eq!(ok(rtype, "a."), b"\x01a\x00", "{rtype}");
            assert!(wire(rtype, "a..").unwrap_err().starts_with(&format!("{rtype}: bad ")), "{rtype}");
        }
    }

    #[test]
    fn x25_and_isdn_from_rfc1183_section_3() {
        assert_eq!(ok(RType::X25, "311061700956"), b"\x0c311061700956");
        assert_eq!(wire(RType::X25, "1 2").unwrap_err(), "X25: unexpected extra field \"2\"");
        assert_eq!(ok(RType::ISDN, "150862028003217 004"), b"\x0f150862028003217\x03004");
        assert_eq!(ok(RType::ISDN, "\"150862028003217\""), b"\x0f150862028003217");
        assert_eq!(wire(RType::ISDN, "").unwrap_err(), "ISDN: missing ISDN address");
        assert_eq!(wire(RType::ISDN, "1 2 3").unwrap_err(), "ISDN: unexpected extra field \"3\"");
    }

    #[test]
    fn spf_and_other_text_types_read_like_txt() {
        for rtype in [RType::SPF, RType::AVC, RType::RESINFO, RType::WALLET, RType::NINFO] {
            assert_eq!(ok(rtype, r#""v=spf1 -all" x"#), b"\x0bv=spf1 -all\x01x", "{rtype}");
            assert!(wire(rtype, r"bad\25").unwrap_err().contains("bad escape"), "{rtype}");
        }
        assert_eq!(wire(RType::SPF, "").unwrap_err(), "SPF: missing text");
    }

    #[test]
    fn uri_from_rfc7553_section_4_5() {
        let got = ok(RType::URI, r#"10 1 "ftp://ftp1.example.com/public""#);
        assert_eq!(got, cat(&[b"\x00\x0a\x00\x01", b"ftp://ftp1.example.com/public"]));
        // The target has no length octet, so it may pass 255 octets.
        let long = format!("10 1 \"https://{}\"", "a".repeat(300));
        assert_eq!(ok(RType::URI, &long).len(), 4 + 8 + 300);
        assert_eq!(wire(RType::URI, r#"10 1 """#).unwrap_err(), "URI: empty target URI");
        assert_eq!(wire(RType::URI, "10 1").unwrap_err(), "URI: missing target");
    }

    #[test]
    fn smimea_reads_like_tlsa() {
        assert_eq!(ok(RType::SMIMEA, "3 1 1 ( ABCD\n ef01 )"), b"\x03\x01\x01\xab\xcd\xef\x01");
        assert_eq!(wire(RType::SMIMEA, "3 1 1").unwrap_err(), "SMIMEA: missing certificate association data");
    }

    #[test]
    fn dhcid_and_openpgpkey_are_base64() {
        // RFC 4701 §3.6, first example.
        let got = ok(RType::DHCID, "( AAIBY2/AuCccgoJbsaxcQc9TUapptP69lOjxfNuVAA2kjEA= )");
        assert_eq!(got, unhex("000201636fc0b8271c82825bb1ac5c41cf5351aa69b4febd94e8f17cdb95000da48c40"));
        assert!(wire(RType::DHCID, "AAI").unwrap_err().starts_with("DHCID: digest: base64"));
        assert_eq!(ok(RType::OPENPGPKEY, "AQID BAUG Bwg="), unhex("0102030405060708"));
        assert_eq!(wire(RType::OPENPGPKEY, "").unwrap_err(), "OPENPGPKEY: missing public key");
    }

    #[test]
    fn types_without_a_presentation_format_ask_for_the_generic_one() {
        for rtype in [RType::NULL, RType::WKS, RType::NSAP, RType::DOA, RType::GPOS, RType(65280)] {
            let err = wire(rtype, "anything").unwrap_err();
            assert!(err.contains("\\# LENGTH HEX"), "{rtype}: {err}");
            assert_eq!(ok(rtype, r"\# 2 abcd"), [0xab, 0xcd]);
        }
    }

    #[test]
    fn generic_form_of_new_types_is_checked_against_their_layout() {
        assert_eq!(ok(RType::CDS, r"\# 5 0000000000"), ok(RType::CDS, "0 0 0 00"));
        assert_eq!(ok(RType::EUI48, r"\# 6 00005e00532a"), ok(RType::EUI48, "00-00-5e-00-53-2a"));
        assert_eq!(ok(RType::RP, r"\# 6 01610001 6200"), b"\x01a\x00\x01b\x00");
        let err = |rtype, text| wire(rtype, text).unwrap_err();
        assert_eq!(err(RType::EUI48, r"\# 5 00005e0053"), "EUI48: generic RDATA: EUI48 RDATA must be 6 octets, not 5");
        assert_eq!(err(RType::LOC, r"\# 1 00"), "LOC: generic RDATA: LOC RDATA must be 16 octets, not 1");
        assert_eq!(err(RType::CDS, r"\# 3 000000"), "CDS: generic RDATA: CDS RDATA must be at least 4 octets, not 3");
        assert!(err(RType::RP, r"\# 3 016100").starts_with("RP: generic RDATA: RP: name runs past"));
        assert!(err(RType::IPSECKEY, r"\# 4 0a050200").contains("gateway type 5"));
        assert!(err(RType::AFSDB, r"\# 5 000100ffff").contains("AFSDB RDATA is 5 octets where 3 were expected"));
    }
}
