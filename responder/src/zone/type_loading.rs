//! Whole-file tests for record types: what loads (every type a signer or a
//! real zone writes, in its own syntax or RFC 3597's) and what is refused
//! with its `file:line` (unknown mnemonics, meta types, bad generic data).

use super::{parse_str, Name, RType, ZoneError};

const HEAD: &str =
    "$ORIGIN example.com.\n$TTL 3600\n@ SOA ns1 hostmaster 1 7200 900 1209600 300\n@ NS ns1\nns1 A 198.18.0.53\n";

fn load(body: &str) -> Result<super::Zone, ZoneError> {
    parse_str(&format!("{HEAD}{body}"), "t.zone", None)
}

fn error(body: &str) -> String {
    load(body).unwrap_err().to_string()
}

#[test]
fn a_knot_signed_apex_loads() {
    // What `kzonesign` writes at an apex with automatic CDS/CDNSKEY
    // publication; the RRSIG over CDS used to be "unknown type covered".
    let body = "@ CDS 12345 13 2 3a7f9e4d6c3b2a19f0e1d2c3b4a5968778695a4b3c2d1e0f9e8d7c6b5a493827\n\
                @ CDNSKEY 257 3 13 AQID\n\
                @ RRSIG CDS 13 2 3600 20270101000000 20261201000000 12345 example.com. AQID\n\
                @ RRSIG CDNSKEY 13 2 3600 20270101000000 20261201000000 12345 example.com. AQID\n\
                @ ZONEMD 1 1 1 000102030405060708090a0b0c0d0e0f\n\
                @ NSEC ns1.example.com. NS SOA RRSIG NSEC DNSKEY CDS CDNSKEY ZONEMD\n";
    let zone = load(body).unwrap_or_else(|e| panic!("{e}"));
    let types: Vec<RType> = zone.records[3..].iter().map(|r| r.rtype).collect();
    assert_eq!(types, [RType::CDS, RType::CDNSKEY, RType::RRSIG, RType::RRSIG, RType::ZONEMD, RType::NSEC]);
}

#[test]
fn generic_type_class_and_rdata_load_for_any_type() {
    let body = "a CLASS1 TYPE59 \\# 5 0000000000\nb IN CDS 0 0 0 00\nc CLASS1 3600 TYPE65280 \\# 3 abcdef\n\
                d TYPE257 \\# 5 0005697373\n";
    let zone = load(body).unwrap_or_else(|e| panic!("{e}"));
    let got: Vec<(RType, &[u8])> = zone.records[3..].iter().map(|r| (r.rtype, r.rdata.as_slice())).collect();
    assert_eq!(got[0], got[1]);
    assert_eq!(got[2], (RType(65280), &[0xab, 0xcd, 0xef][..]));
    assert_eq!(got[3].0, RType::CAA);
}

#[test]
fn names_in_rdata_keep_their_case() {
    let zone = load("rp RP Admin.Example.COM. Info\nkx KX 1 KX.Example.com.\n").unwrap();
    assert_eq!(zone.records[3].rdata[..19], *b"\x05Admin\x07Example\x03COM\x00");
    assert_eq!(zone.records[4].rdata[2..], *b"\x02KX\x07Example\x03com\x00");
    let name = Name::parse("Info.example.com.", None).unwrap().unwrap();
    assert_eq!(zone.records[3].rdata[19..], *name.wire());
}

#[test]
fn unknown_mnemonics_and_meta_types_are_refused_with_file_and_line() {
    let cases = [
        ("x CDZ 0 0 0 00\n", "t.zone:6: unknown record type \"CDZ\""),
        ("x TYPE65536 \\# 0\n", "t.zone:6: unknown record type \"TYPE65536\""),
        ("x TSIG \\# 0\n", "t.zone:6: TSIG is a per-message transaction record, not zone data"),
        ("x TKEY \\# 0\n", "t.zone:6: TKEY is a per-message transaction record, not zone data"),
        ("x OPT \\# 0\n", "t.zone:6: OPT is a pseudo-record of one message (EDNS), not zone data"),
        ("x TYPE41 \\# 0\n", "t.zone:6: OPT is a pseudo-record of one message (EDNS), not zone data"),
        ("x AXFR \\# 0\n", "t.zone:6: AXFR is a query type, not data"),
        ("x IXFR \\# 0\n", "t.zone:6: IXFR is a query type, not data"),
        ("x TYPE255 \\# 0\n", "t.zone:6: ANY is a query type, not data"),
        ("x TYPE0 \\# 0\n", "t.zone:6: TYPE0 is reserved and never data (RFC 6895)"),
        ("x NXNAME \\# 0\n", "t.zone:6: NXNAME is a meta type, never data (RFC 6895 §3.1)"),
        ("x CDS \\# 5 00000000\n", "t.zone:6: CDS: generic RDATA is 4 octets but its length says 5"),
        ("x EUI48 \\# 4 00005e00\n", "t.zone:6: EUI48: generic RDATA: EUI48 RDATA must be 6 octets, not 4"),
        ("x RRSIG CDZ 13 2 1 1 0 1 . AQID\n", "t.zone:6: RRSIG: unknown type covered \"CDZ\""),
        ("x LOC 91 N 0 E 0\n", "t.zone:6: LOC: bad latitude \"91\""),
    ];
    for (body, want) in cases {
        assert_eq!(error(body), want, "for {body:?}");
    }
}

#[test]
fn the_fuzz_seed_of_signed_types_loads() {
    // The seed is worth most to the fuzzer while it loads, compiles and serves.
    let seed = super::test_support::zones_dir().join("../fuzz/corpus/zone_parser/seed-signed-types.zone");
    let zone = super::load_file(&seed, None).unwrap_or_else(|e| panic!("{e}"));
    let types: std::collections::BTreeSet<RType> = zone.records.iter().map(|r| r.rtype).collect();
    for wanted in [RType::CDS, RType::CDNSKEY, RType::ZONEMD, RType::RRSIG, RType::LOC, RType::HIP, RType(65534)] {
        assert!(types.contains(&wanted), "the seed should exercise {wanted}");
    }
    crate::table::Table::compile(&[zone]).unwrap_or_else(|e| panic!("{e}"));
}

/// The whole answer to `name`/`qtype` from a table compiled from `zone`.
fn answer(engine: &crate::engine::Engine, name: &str, qtype: RType) -> Vec<u8> {
    let mut query = vec![0x12, 0x34, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0];
    query.extend_from_slice(Name::parse(name, None).unwrap().unwrap().wire());
    query.extend_from_slice(&qtype.0.to_be_bytes());
    query.extend_from_slice(&1u16.to_be_bytes());
    let mut buf = vec![0u8; 1232];
    buf[..query.len()].copy_from_slice(&query);
    let len =
        crate::engine::answer_message(engine, &mut buf, query.len(), crate::engine::Transport::Udp).expect("an answer");
    buf.truncate(len);
    buf
}

#[test]
fn only_rfc1035_types_have_their_rdata_names_compressed_in_answers() {
    let body = "rp RP admin.example.com. info.example.com.\nkx KX 10 kx.example.com.\nafs AFSDB 1 afs.example.com.\n\
                lp LP 10 lp.example.com.\npx PX 10 px.example.com. x400.px.example.com.\n\
                sip NAPTR 1 2 \"S\" \"SIP+D2U\" \"\" sip.example.com.\n\
                mx MX 10 mx.example.com.\nmi MINFO mi.example.com. err.mi.example.com.\nmb MB mb.example.com.\n";
    let zone = load(body).unwrap_or_else(|e| panic!("{e}"));
    let table = crate::table::Table::compile(&[zone]).unwrap_or_else(|e| panic!("{e}"));
    let engine = crate::engine::Engine::new(table, crate::engine::Options::default());
    let whole = |wire: &[u8], name: &str| {
        let name = Name::parse(name, None).unwrap().unwrap();
        wire.windows(name.wire().len()).any(|w| w == name.wire())
    };
    // RFC 3597 §4: the question offers the suffix, yet the names go out whole.
    let later = [
        ("rp.example.com.", RType::RP, "admin.example.com."),
        ("rp.example.com.", RType::RP, "info.example.com."),
        ("kx.example.com.", RType::KX, "kx.example.com."),
        ("afs.example.com.", RType::AFSDB, "afs.example.com."),
        ("lp.example.com.", RType::LP, "lp.example.com."),
        ("px.example.com.", RType::PX, "x400.px.example.com."),
        ("sip.example.com.", RType::NAPTR, "sip.example.com."),
    ];
    for (qname, qtype, target) in later {
        let wire = answer(&engine, qname, qtype);
        assert!(whole(&wire[12 + qname.len() + 1 + 4..], target), "{qtype} {target} compressed: {wire:02x?}");
    }
    // RFC 1035's own types are compressed against the question.
    for (qname, qtype, target) in [
        ("mx.example.com.", RType::MX, "mx.example.com."),
        ("mi.example.com.", RType::MINFO, "err.mi.example.com."),
        ("mb.example.com.", RType::MB, "mb.example.com."),
    ] {
        let wire = answer(&engine, qname, qtype);
        assert!(!whole(&wire[12 + qname.len() + 1 + 4..], target), "{qtype} {target} not compressed: {wire:02x?}");
    }
}

mod properties {
    use proptest::prelude::*;

    use crate::zone::embedded::check_wire;
    use crate::zone::rdata::tests::wire;
    use crate::zone::RType;

    /// A valid record of each new type, to be mutated field by field.
    const EXAMPLES: [(RType, &str); 30] = [
        (RType::LOC, "52 22 23.000 N 4 53 32.000 E -2.00m 0.00m 10000m 10m"),
        (RType::EUI48, "00-00-5e-00-53-2a"),
        (RType::EUI64, "00-00-5e-ef-10-00-00-2a"),
        (RType::NID, "10 0014:4fff:ff20:ee64"),
        (RType::L32, "10 198.18.0.1"),
        (RType::L64, "10 2001:0db8:1140:1000"),
        (RType::LP, "10 a."),
        (RType::APL, "1:198.18.0.0/15 !2:fd00::/8"),
        (RType::CERT, "PGP 0 0 AQID"),
        (RType::IPSECKEY, "10 1 2 198.18.0.1 AQID"),
        (RType::HIP, "2 0a1b AQID a. b."),
        (RType::AMTRELAY, "10 0 3 a."),
        (RType::DSYNC, "CDS NOTIFY 5359 a."),
        (RType::URI, "10 1 \"u\""),
        (RType::RP, "a. b."),
        (RType::AFSDB, "1 a."),
        (RType::PX, "10 a. b."),
        (RType::MINFO, "a. b."),
        (RType::ISDN, "1 2"),
        (RType::CDS, "0 0 0 00"),
        (RType::CDNSKEY, "0 3 0 AA=="),
        (RType::CSYNC, "66 3 A NS AAAA"),
        (RType::ZONEMD, "1 1 1 000102030405060708090a0b"),
        (RType::SMIMEA, "3 1 1 0a1b"),
        (RType::DHCID, "AAIB"),
        (RType::OPENPGPKEY, "AQID"),
        (RType::SIG, "CDS 13 2 300 1 0 7 a. AQID"),
        (RType::KEY, "256 3 13 AQID"),
        (RType::TALINK, "a. b."),
        (RType::SPF, "\"v=spf1 -all\""),
    ];

    /// Fields that each of the types above takes somewhere, and some that
    /// none does.
    const TOKENS: [&str; 34] = [
        "0",
        "1",
        "2",
        "3",
        "4",
        "10",
        "59",
        "60",
        "90",
        "91",
        "180",
        "181",
        "255",
        "256",
        "65535",
        "4294967295",
        "99999999999",
        "N",
        "s",
        "-2.5m",
        "12.345",
        "42849672.96m",
        ".",
        "a..",
        "AQI",
        "0a1",
        "00-00-5e",
        "0014:4fff",
        "198.18.0.1",
        "fd00::1",
        "!1:198.18.0.0/33",
        "3:1.2.3.4/8",
        "BOGUS",
        "",
    ];

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]

        /// Whatever the fields, the parser answers with bytes or an error,
        /// never a panic; and bytes it makes always pass the check that the
        /// same type's RFC 3597 form gets, and read back the same that way.
        #[test]
        fn presentation_and_generic_forms_agree(
            example in proptest::sample::select(&EXAMPLES[..]),
            edits in proptest::collection::vec((any::<proptest::sample::Index>(), proptest::sample::select(&TOKENS[..])), 0..3),
        ) {
            let (rtype, text) = example;
            let mut fields: Vec<&str> = text.split(' ').collect();
            for (at, token) in edits {
                let i = at.index(fields.len() + 1);
                match token {
                    "" if i < fields.len() => {
                        fields.remove(i);
                    }
                    "" => {}
                    _ if i < fields.len() => fields[i] = token,
                    _ => fields.push(token),
                }
            }
            let text = fields.join(" ");
            if let Ok(bytes) = wire(rtype, &text) {
                prop_assert_eq!(check_wire(rtype, &bytes), Ok(()), "{} {}", rtype, text);
                let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
                let generic = wire(rtype, &format!("\\# {} {hex}", bytes.len()));
                prop_assert_eq!(generic, Ok(bytes), "{} {}", rtype, text);
            }
        }
    }
}
