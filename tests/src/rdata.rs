//! Presentation format for uncompressed RDATA, so that answers decoded by
//! different clients (hickory-proto, kdig) print the same way and can be
//! compared as text. Types the tests do not look into print in the RFC 3597
//! generic form, which is exact for any type.

use std::fmt::Write;
use std::net::{Ipv4Addr, Ipv6Addr};

/// The mnemonic of a record type, or `TYPEnnn` (RFC 3597).
pub fn type_name(rtype: u16) -> String {
    let known = match rtype {
        1 => "A",
        2 => "NS",
        5 => "CNAME",
        6 => "SOA",
        12 => "PTR",
        15 => "MX",
        16 => "TXT",
        28 => "AAAA",
        33 => "SRV",
        39 => "DNAME",
        41 => "OPT",
        43 => "DS",
        46 => "RRSIG",
        47 => "NSEC",
        48 => "DNSKEY",
        64 => "SVCB",
        65 => "HTTPS",
        255 => "ANY",
        257 => "CAA",
        _ => return format!("TYPE{rtype}"),
    };
    known.to_string()
}

/// RDATA in presentation format; falls back to `\# LEN HEX` when the bytes
/// do not parse as the type says (which a test will then show plainly).
pub fn present(rtype: u16, rdata: &[u8]) -> String {
    presentation(rtype, rdata).unwrap_or_else(|| generic(rdata))
}

fn presentation(rtype: u16, rdata: &[u8]) -> Option<String> {
    let mut r = Reader { bytes: rdata, at: 0 };
    let text = match rtype {
        1 => Ipv4Addr::from(<[u8; 4]>::try_from(r.take(4)?).ok()?).to_string(),
        28 => Ipv6Addr::from(<[u8; 16]>::try_from(r.take(16)?).ok()?).to_string(),
        2 | 5 | 12 | 39 => r.name()?,
        15 => format!("{} {}", r.u16()?, r.name()?),
        6 => format!("{} {} {} {} {} {} {}", r.name()?, r.name()?, r.u32()?, r.u32()?, r.u32()?, r.u32()?, r.u32()?),
        33 => format!("{} {} {} {}", r.u16()?, r.u16()?, r.u16()?, r.name()?),
        16 => {
            let mut strings = Vec::new();
            while !r.done() {
                strings.push(quoted(r.character_string()?));
            }
            strings.join(" ")
        }
        43 => {
            let (tag, alg, digest_type) = (r.u16()?, r.u8()?, r.u8()?);
            format!("{tag} {alg} {digest_type} {}", hex(r.rest()))
        }
        257 => {
            let flags = r.u8()?;
            let tag = r.character_string()?;
            format!("{flags} {} {}", String::from_utf8_lossy(tag), quoted(r.rest()))
        }
        _ => return None,
    };
    // Trailing bytes mean the RDATA is not what its type says.
    r.done().then_some(text)
}

/// RFC 3597 generic form.
pub fn generic(rdata: &[u8]) -> String {
    if rdata.is_empty() {
        "\\# 0".to_string()
    } else {
        format!("\\# {} {}", rdata.len(), hex(rdata))
    }
}

/// Uppercase hex, as zone files and kdig print it.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
        let _ = write!(s, "{b:02X}");
        s
    })
}

/// Parses hex as kdig prints it (either case).
pub fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok()).collect()
}

fn quoted(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() + 2);
    s.push('"');
    for &b in bytes {
        match b {
            b'"' | b'\\' => {
                s.push('\\');
                s.push(b as char);
            }
            0x20..=0x7e => s.push(b as char),
            _ => {
                let _ = write!(s, "\\{b:03}");
            }
        }
    }
    s.push('"');
    s
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let slice = self.bytes.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(slice)
    }

    fn u8(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }

    fn u16(&mut self) -> Option<u16> {
        Some(u16::from_be_bytes(self.take(2)?.try_into().ok()?))
    }

    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_be_bytes(self.take(4)?.try_into().ok()?))
    }

    fn character_string(&mut self) -> Option<&'a [u8]> {
        let len = self.u8()?;
        self.take(usize::from(len))
    }

    fn rest(&mut self) -> &'a [u8] {
        let rest = &self.bytes[self.at.min(self.bytes.len())..];
        self.at = self.bytes.len();
        rest
    }

    fn done(&self) -> bool {
        self.at >= self.bytes.len()
    }

    /// An uncompressed wire name (pointers are not allowed inside the
    /// uncompressed RDATA both clients hand us).
    fn name(&mut self) -> Option<String> {
        let mut out = String::new();
        loop {
            let len = self.u8()?;
            if len == 0 {
                break;
            }
            if len > 63 {
                return None;
            }
            for &b in self.take(usize::from(len))? {
                match b {
                    b'.' | b'\\' | b'"' | b'(' | b')' | b';' | b'@' | b'$' => {
                        out.push('\\');
                        out.push(b as char);
                    }
                    0x21..=0x7e => out.push(b as char),
                    _ => {
                        let _ = write!(out, "\\{b:03}");
                    }
                }
            }
            out.push('.');
        }
        if out.is_empty() {
            out.push('.');
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_types() {
        assert_eq!(present(1, &[198, 18, 0, 1]), "198.18.0.1");
        assert_eq!(present(15, b"\x00\x0a\x04mail\x07example\x00"), "10 mail.example.");
        assert_eq!(present(16, b"\x02a\"\x00\x01\x07"), "\"a\\\"\" \"\" \"\\007\"");
        assert_eq!(present(43, &[0x30, 0x39, 8, 2, 0xab, 0x01]), "12345 8 2 AB01");
        assert_eq!(present(257, b"\x00\x05issueca.net"), "0 issue \"ca.net\"");
        assert_eq!(present(2, b"\x00"), ".");
        assert_eq!(present(65, &[0, 1, 0]), "\\# 3 000100");
    }

    #[test]
    fn malformed_rdata_prints_generically() {
        assert_eq!(present(1, &[1, 2, 3]), "\\# 3 010203");
        assert_eq!(present(15, b"\x00\x0a\x04mail"), "\\# 7 000A046D61696C");
        assert_eq!(present(2, b"\x00\x00"), "\\# 2 0000", "trailing bytes");
        assert_eq!(unhex("0aFF"), Some(vec![10, 255]));
        assert_eq!(unhex("0"), None);
    }
}
