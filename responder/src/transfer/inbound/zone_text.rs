//! Records written as a plain master file (RFC 1035 §5): the persisted copy
//! of a secondary zone, which the loader reads back at the next start. Common types are written in
//! their presentation form; every other type as RFC 3597 generic RDATA
//! (`\# LENGTH HEX`), which the loader reads back for any type, byte for byte.

use std::fmt::Write;

use super::message::WireRecord;
use super::timers::Soa;
use crate::wire::dns::{class, RType};
use crate::zone::{Name, Record};

/// Lines of comment before the first record in [`render`]'s file.
pub const HEADER_LINES: usize = 2;

/// The zone file for `records` of zone `origin`, with a comment header of
/// [`HEADER_LINES`] lines.
pub fn render(origin: &Name, records: &[Record], comment: &str) -> String {
    let mut out = String::with_capacity(records.len() * 48 + 128);
    let _ = writeln!(out, "; {origin} {comment}");
    let _ = writeln!(out, "; written by responder as a secondary; edits are lost at the next transfer");
    for r in records {
        let class = if r.class == class::IN { "IN".to_string() } else { format!("CLASS{}", r.class) };
        let _ = write!(out, "{} {} {class} {} ", r.owner, r.ttl, r.rtype);
        match presentation(r.rtype, &r.rdata) {
            Some(text) => out.push_str(&text),
            None => generic(&mut out, &r.rdata),
        }
        out.push('\n');
    }
    out
}

/// An upper bound of [`render`]'s length, found without writing anything:
/// a zone well inside the size limit is checked against it without being
/// written out first (and is written out once it serves). An octet takes
/// at most four characters in any presentation form `render` writes
/// (`\DDD` in a name, two hex digits in generic RDATA, at most four
/// digits and a dot in an address, SOA's numbers), and everything else on
/// a line (TTL, class, type, the generic form's `\# LENGTH`, blanks, the
/// newline) fits in [`LINE_EXTRA`].
pub fn bound(origin: &Name, records: &[Record], comment: &str) -> u64 {
    let header = 4 * origin.wire_len() + comment.len() + 128;
    let lines: usize = records.iter().map(|r| 4 * (r.owner.wire_len() + r.rdata.len()) + LINE_EXTRA).sum();
    (header + lines) as u64
}

/// Characters of a line besides its owner and RDATA, at most: a TTL (10),
/// `CLASS65535`, `TYPE65535`, `\# 65535`, four blanks and the newline.
const LINE_EXTRA: usize = 64;

fn generic(out: &mut String, rdata: &[u8]) {
    let _ = write!(out, "\\# {}", rdata.len());
    if !rdata.is_empty() {
        out.push(' ');
        for b in rdata {
            let _ = write!(out, "{b:02x}");
        }
    }
}

/// The presentation form of the types most zones are made of; `None` for
/// the rest (and for RDATA that does not parse as its type).
fn presentation(rtype: RType, rdata: &[u8]) -> Option<String> {
    let name_at = |at: usize| -> Option<(Name, usize)> {
        let mut end = at;
        loop {
            let len = usize::from(*rdata.get(end)?);
            end += 1 + len;
            if len == 0 {
                break;
            }
        }
        Some((Name::from_wire(rdata.get(at..end)?).ok()?, end))
    };
    match rtype {
        RType::A => Some(std::net::Ipv4Addr::from(<[u8; 4]>::try_from(rdata).ok()?).to_string()),
        RType::AAAA => Some(std::net::Ipv6Addr::from(<[u8; 16]>::try_from(rdata).ok()?).to_string()),
        RType::NS | RType::CNAME | RType::PTR | RType::DNAME => {
            let (name, end) = name_at(0)?;
            (end == rdata.len()).then(|| name.to_string())
        }
        RType::MX => {
            let pref = u16::from_be_bytes(rdata.get(..2)?.try_into().ok()?);
            let (name, end) = name_at(2)?;
            (end == rdata.len()).then(|| format!("{pref} {name}"))
        }
        RType::SOA => {
            let (mname, end) = name_at(0)?;
            let (rname, _) = name_at(end)?;
            let s = Soa::from_rdata(rdata)?;
            Some(format!("{mname} {rname} {} {} {} {} {}", s.serial, s.refresh, s.retry, s.expire, s.minimum))
        }
        _ => None,
    }
}

/// A loaded zone's records in transfer form, for applying an IXFR to.
pub fn from_zone(records: &[Record]) -> Vec<WireRecord> {
    records
        .iter()
        .map(|r| WireRecord {
            owner: r.owner.clone(),
            rtype: r.rtype,
            class: r.class,
            ttl: r.ttl,
            rdata: r.rdata.to_vec(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transfer::inbound::stream::tests::{a, name, soa};
    use crate::zone::parse_str;

    #[test]
    fn a_rendered_zone_loads_back_to_the_same_records() {
        let mx = WireRecord {
            owner: name("example.test."),
            rtype: RType::MX,
            class: class::IN,
            ttl: 60,
            rdata: [&[0, 10][..], name("mail.example.test.").wire()].concat(),
        };
        let ns = WireRecord { rtype: RType::NS, rdata: name("ns.example.test.").wire().to_vec(), ..mx.clone() };
        let txt = WireRecord { rtype: RType::TXT, rdata: b"\x05hello\x00".to_vec(), ..mx.clone() };
        let odd = WireRecord { owner: name("w\\.x.example.test."), rtype: RType(65400), rdata: vec![], ..mx.clone() };
        let records = vec![soa(7), ns, mx, txt, odd, a("ns.example.test.", 1), a("mail.example.test.", 2)];
        let text = render(
            &name("example.test."),
            &records.iter().map(super::super::apply::record).collect::<Vec<_>>(),
            "serial 7",
        );
        let zone =
            parse_str(&text, "copy.zone", Some(&name("example.test."))).unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(from_zone(&zone.records), records, "{text}");
    }

    #[test]
    fn the_bound_is_never_below_the_text() {
        let long = "\\000\\255x.".repeat(20) + "example.test.";
        let odd = |rtype: u16, rdata: Vec<u8>| WireRecord {
            owner: name(&long),
            rtype: RType(rtype),
            class: 65535,
            ttl: u32::MAX,
            rdata,
        };
        let records = [
            soa(u32::MAX),
            a("a.example.test.", 255),
            odd(1, vec![255; 4]),
            odd(28, vec![0xff; 16]),
            odd(65535, vec![0xab; 300]),
            odd(65535, vec![]),
            odd(15, [&[0xff, 0xff][..], name(&long).wire()].concat()),
            odd(2, name(&long).wire().to_vec()),
        ];
        let records: Vec<Record> = records.iter().map(super::super::apply::record).collect();
        for r in &records {
            let one = std::slice::from_ref(r);
            let text = render(&name(&long), one, "a comment");
            assert!(bound(&name(&long), one, "a comment") >= text.len() as u64, "{text}");
        }
        let text = render(&name("example.test."), &records, "c");
        // Not far above either: most zones are far below the limit.
        assert!(bound(&name("example.test."), &records, "c") < 4 * text.len() as u64);
    }
}
