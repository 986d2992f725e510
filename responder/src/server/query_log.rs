//! `--log-queries`: one line per query answered on the kernel sockets,
//! read back from the answer (which echoes the question): client,
//! transport, name, type, rcode, size. Off by default; the XDP workers
//! never log per query (a line costs far more than an answer there).

use std::fmt::Write;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::engine::Transport;

/// The longest name text kept: a hostile name still makes a bounded line.
pub const NAME_TEXT_MAX: usize = 300;

/// `query from 198.18.0.2 over udp: www.example.com. A -> NOERROR, 61 bytes`.
/// `answer` is `None` when nothing was sent back.
pub fn line(answer: Option<&[u8]>, transport: Transport, client: &[u8]) -> String {
    let from = match client.len() {
        4 => IpAddr::from(Ipv4Addr::from(<[u8; 4]>::try_from(client).unwrap_or_default())).to_string(),
        16 => IpAddr::from(Ipv6Addr::from(<[u8; 16]>::try_from(client).unwrap_or_default())).to_string(),
        _ => "?".to_owned(),
    };
    let over = match transport {
        Transport::Udp => "udp",
        Transport::Tcp => "tcp",
    };
    let Some(answer) = answer else {
        return format!("query from {from} over {over}: no answer sent");
    };
    let rcode = answer.get(3).map_or("?".to_owned(), |b| rcode_name(b & 0x0f));
    let question = question_text(answer).unwrap_or_else(|| "(no question)".to_owned());
    format!("query from {from} over {over}: {question} -> {rcode}, {} bytes", answer.len())
}

/// The first question as `NAME TYPE`, if the message has a readable one.
fn question_text(m: &[u8]) -> Option<String> {
    let qdcount = u16::from_be_bytes([*m.get(4)?, *m.get(5)?]);
    if qdcount == 0 {
        return None;
    }
    let mut name = String::new();
    let mut pos = 12;
    loop {
        let len = *m.get(pos)? as usize;
        pos += 1;
        if len == 0 {
            break;
        }
        // The question section is never compressed in an answer we built,
        // and no name is longer than 255 bytes.
        if len > 63 || pos + len - 12 > 255 {
            return None;
        }
        for &b in m.get(pos..pos + len)? {
            if name.len() < NAME_TEXT_MAX {
                match b {
                    b'.' | b'\\' => write!(name, "\\{}", b as char).ok()?,
                    0x21..=0x7e => name.push(b as char),
                    _ => write!(name, "\\{b:03}").ok()?,
                }
            }
        }
        if name.len() < NAME_TEXT_MAX {
            name.push('.');
        }
        pos += len;
    }
    if name.is_empty() {
        name.push('.');
    }
    let qtype = u16::from_be_bytes([*m.get(pos)?, *m.get(pos + 1)?]);
    Some(format!("{name} {}", type_name(qtype)))
}

fn type_name(t: u16) -> String {
    let known = match t {
        1 => "A",
        2 => "NS",
        5 => "CNAME",
        6 => "SOA",
        12 => "PTR",
        15 => "MX",
        16 => "TXT",
        28 => "AAAA",
        33 => "SRV",
        35 => "NAPTR",
        39 => "DNAME",
        43 => "DS",
        46 => "RRSIG",
        47 => "NSEC",
        48 => "DNSKEY",
        50 => "NSEC3",
        52 => "TLSA",
        64 => "SVCB",
        65 => "HTTPS",
        99 => "SPF",
        252 => "AXFR",
        251 => "IXFR",
        255 => "ANY",
        257 => "CAA",
        _ => return format!("TYPE{t}"),
    };
    known.to_owned()
}

fn rcode_name(r: u8) -> String {
    let known = match r {
        0 => "NOERROR",
        1 => "FORMERR",
        2 => "SERVFAIL",
        3 => "NXDOMAIN",
        4 => "NOTIMP",
        5 => "REFUSED",
        9 => "NOTAUTH",
        _ => return format!("RCODE{r}"),
    };
    known.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(name: &[u8], qtype: u16, rcode: u8) -> Vec<u8> {
        let mut m = vec![0x12, 0x34, 0x84, rcode, 0, 1, 0, 0, 0, 0, 0, 0];
        m.extend_from_slice(name);
        m.extend_from_slice(&qtype.to_be_bytes());
        m.extend_from_slice(&1u16.to_be_bytes());
        m
    }

    #[test]
    fn a_line_names_client_question_and_outcome() {
        let m = answer(b"\x03www\x07example\x03com\x00", 1, 0);
        let l = line(Some(&m), Transport::Udp, &[198, 18, 0, 2]);
        assert_eq!(l, format!("query from 198.18.0.2 over udp: www.example.com. A -> NOERROR, {} bytes", m.len()));
        let m = answer(b"\x00", 48, 3);
        let v6 = Ipv6Addr::LOCALHOST.octets();
        assert!(line(Some(&m), Transport::Tcp, &v6).starts_with("query from ::1 over tcp: . DNSKEY -> NXDOMAIN"));
        assert_eq!(line(None, Transport::Udp, &[]), "query from ? over udp: no answer sent");
    }

    #[test]
    fn odd_bytes_are_escaped_and_broken_messages_still_make_a_line() {
        let m = answer(b"\x03a.b\x02\x00\xff\x00", 65280, 14);
        let l = line(Some(&m), Transport::Udp, &[127, 0, 0, 1]);
        assert!(l.contains(r"a\.b.\000\255. TYPE65280 -> RCODE14"), "{l}");
        for cut in 0..m.len() {
            let l = line(Some(&m[..cut]), Transport::Udp, &[127, 0, 0, 1]);
            assert!(l.starts_with("query from 127.0.0.1 over udp: "), "{l}");
        }
        let mut pointer = answer(b"\xc0\x0c", 1, 1);
        pointer[5] = 1;
        assert!(line(Some(&pointer), Transport::Udp, &[]).contains("(no question) -> FORMERR"));
    }

    #[test]
    fn a_long_name_makes_a_bounded_line() {
        let mut name = Vec::new();
        for _ in 0..4 {
            name.push(63);
            name.extend_from_slice(&[0x01; 63]);
        }
        name.push(0);
        let l = line(Some(&answer(&name, 1, 0)), Transport::Udp, &[]);
        assert!(l.len() < NAME_TEXT_MAX + 100, "{}", l.len());
        // Labels running past 255 bytes are no name at all.
        let mut long = Vec::new();
        for _ in 0..200 {
            long.extend_from_slice(b"\x01a");
        }
        long.push(0);
        assert!(line(Some(&answer(&long, 1, 0)), Transport::Udp, &[]).contains("(no question)"));
    }
}
