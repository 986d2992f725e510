//! Where domain names sit inside RDATA, and whether a server may compress them.
//!
//! RFC 3597 §4 freezes the compressible set to the RFC 1035 types; names in
//! every later type (SRV, DNAME, NAPTR, RRSIG, NSEC, SVCB...) go out as they are.

use super::name::{MAX_LABEL_LEN, MAX_NAME_LEN};
use super::rtype::RType;

/// One embedded name: (byte offset in rdata, length, compressible per RFC 3597 §4).
pub type NameSpan = (usize, usize, bool);

/// Names embedded in RDATA: (byte offset in rdata, length, compressible per RFC 3597 §4).
///
/// RDATA that does not parse as its type yields no names; records loaded by
/// this module always parse, since they were built (or checked) by it.
pub fn embedded_names(rtype: RType, rdata: &[u8]) -> Vec<NameSpan> {
    layout(rtype, rdata).unwrap_or_default()
}

/// Checks that `rdata` (given in RFC 3597 generic form) is well formed for
/// `rtype`: fixed sizes match and embedded names are uncompressed and complete.
pub fn check_wire(rtype: RType, rdata: &[u8]) -> Result<(), String> {
    let fixed = match rtype {
        RType::A => Some(4),
        RType::AAAA => Some(16),
        _ => None,
    };
    if let Some(size) = fixed {
        if rdata.len() != size {
            return Err(format!("{rtype} RDATA must be {size} octets, not {}", rdata.len()));
        }
    }
    layout(rtype, rdata).map(|_| ())
}

/// How the RDATA of a type is laid out around its names.
struct Shape {
    /// Fixed octets before the first name.
    head: usize,
    /// Character-strings between the head and the name (NAPTR's three).
    strings: usize,
    /// Names, each compressible or not, one after another.
    names: &'static [bool],
    /// Octets after the names: `Some(n)` exactly n, `None` anything.
    tail: Option<usize>,
}

fn shape(rtype: RType) -> Option<Shape> {
    let shape = |head, strings, names, tail| Some(Shape { head, strings, names, tail });
    match rtype {
        RType::NS | RType::CNAME | RType::PTR => shape(0, 0, &[true], Some(0)),
        RType::MX => shape(2, 0, &[true], Some(0)),
        RType::SOA => shape(0, 0, &[true, true], Some(20)),
        RType::DNAME => shape(0, 0, &[false], Some(0)),
        RType::SRV => shape(6, 0, &[false], Some(0)),
        RType::NAPTR => shape(4, 3, &[false], Some(0)),
        RType::RRSIG => shape(18, 0, &[false], None),
        RType::NSEC => shape(0, 0, &[false], None),
        RType::SVCB | RType::HTTPS => shape(2, 0, &[false], None),
        _ => None,
    }
}

fn layout(rtype: RType, rdata: &[u8]) -> Result<Vec<NameSpan>, String> {
    let Some(shape) = shape(rtype) else {
        return Ok(Vec::new());
    };
    let short = || format!("{rtype} RDATA is too short");
    let mut at = shape.head;
    if at > rdata.len() {
        return Err(short());
    }
    for _ in 0..shape.strings {
        let len = *rdata.get(at).ok_or_else(short)? as usize;
        at += 1 + len;
    }
    let mut spans = Vec::with_capacity(shape.names.len());
    for &compressible in shape.names {
        let len = name_length(rdata.get(at..).ok_or_else(short)?).map_err(|e| format!("{rtype}: {e}"))?;
        spans.push((at, len, compressible));
        at += len;
    }
    match shape.tail {
        Some(tail) if rdata.len() != at + tail => {
            Err(format!("{rtype} RDATA is {} octets where {} were expected", rdata.len(), at + tail))
        }
        _ => Ok(spans),
    }
}

/// Length of the uncompressed wire name at the start of `wire`.
fn name_length(wire: &[u8]) -> Result<usize, &'static str> {
    let mut at = 0;
    loop {
        let len = *wire.get(at).ok_or("name runs past the end of the RDATA")? as usize;
        if len > MAX_LABEL_LEN {
            return Err("bad label length (compressed names are not allowed in zone data)");
        }
        at += 1 + len;
        if at > MAX_NAME_LEN {
            return Err("name longer than 255 octets");
        }
        if len == 0 {
            return Ok(at);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zone::rdata::tests::ok;

    #[test]
    fn compressible_only_for_rfc1035_types() {
        let soa = ok(RType::SOA, "ns1 hostmaster 1 2 3 4 5");
        // ns1.example.com. is 17 octets, hostmaster.example.com. 24.
        assert_eq!(embedded_names(RType::SOA, &soa), vec![(0, 17, true), (17, 24, true)]);
        assert_eq!(embedded_names(RType::MX, &ok(RType::MX, "10 mail")), vec![(2, 18, true)]);
        for rtype in [RType::NS, RType::CNAME, RType::PTR] {
            assert_eq!(embedded_names(rtype, &ok(rtype, "a.")), vec![(0, 3, true)], "{rtype}");
        }
        assert_eq!(embedded_names(RType::DNAME, &ok(RType::DNAME, "a.")), vec![(0, 3, false)]);
        assert_eq!(embedded_names(RType::SRV, &ok(RType::SRV, "1 2 3 a.")), vec![(6, 3, false)]);
        let naptr = ok(RType::NAPTR, r#"1 2 "S" "SIP+D2U" "" a."#);
        assert_eq!(embedded_names(RType::NAPTR, &naptr), vec![(4 + 2 + 8 + 1, 3, false)]);
        let rrsig = ok(RType::RRSIG, "A 13 2 300 1 0 7 example.com. AQID");
        assert_eq!(embedded_names(RType::RRSIG, &rrsig), vec![(18, 13, false)]);
        assert_eq!(embedded_names(RType::NSEC, &ok(RType::NSEC, "b. A")), vec![(0, 3, false)]);
        assert_eq!(embedded_names(RType::HTTPS, &ok(RType::HTTPS, "1 a. port=1")), vec![(2, 3, false)]);
        assert!(embedded_names(RType::A, &[1, 2, 3, 4]).is_empty());
        assert!(embedded_names(RType::TXT, b"\x01a").is_empty());
    }

    #[test]
    fn malformed_wire_is_rejected_not_trusted() {
        assert!(check_wire(RType::NS, b"\x03ns1").is_err());
        assert!(check_wire(RType::NS, b"\xc0\x0c").unwrap_err().contains("compressed"));
        assert!(check_wire(RType::MX, b"\x00").is_err());
        assert!(check_wire(RType::MX, b"\x00\x01\x00\x00").is_err());
        assert!(check_wire(RType::SOA, b"\x00\x00\x01\x02").is_err());
        assert!(check_wire(RType::AAAA, &[0; 4]).is_err());
        assert!(check_wire(RType::NAPTR, b"\x00\x01\x00\x02\x09").is_err());
        assert_eq!(check_wire(RType(65534), b"anything"), Ok(()));
        assert!(embedded_names(RType::NS, b"\x05ab").is_empty());
    }
}
