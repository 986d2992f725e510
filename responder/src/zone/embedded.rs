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
    let mut spans = Vec::new();
    embedded_names_into(rtype, rdata, &mut spans);
    spans
}

/// [`embedded_names`] into `spans` (cleared first): the compiler asks for
/// every record of every template, and a vector made per record was a
/// block to allocate and free for each RRSIG.
pub fn embedded_names_into(rtype: RType, rdata: &[u8], spans: &mut Vec<NameSpan>) {
    spans.clear();
    if layout(rtype, rdata, spans).is_err() {
        spans.clear();
    }
}

/// Checks that `rdata` (given in RFC 3597 generic form) is well formed for
/// `rtype`: fixed sizes and fixed headers are there, embedded names are
/// uncompressed and complete, and nothing is left over where the type
/// leaves no room for it. Types we know no layout of take any octets.
pub fn check_wire(rtype: RType, rdata: &[u8]) -> Result<(), String> {
    let fixed = match rtype {
        RType::A => Some(4),
        RType::AAAA => Some(16),
        RType::EUI48 | RType::L32 => Some(6),
        RType::EUI64 => Some(8),
        RType::NID | RType::L64 => Some(10),
        RType::LOC => Some(16),
        _ => None,
    };
    if let Some(size) = fixed {
        if rdata.len() != size {
            return Err(format!("{rtype} RDATA must be {size} octets, not {}", rdata.len()));
        }
    }
    if let Some(head) = minimum(rtype) {
        if rdata.len() < head {
            return Err(format!("{rtype} RDATA must be at least {head} octets, not {}", rdata.len()));
        }
    }
    layout(rtype, rdata, &mut Vec::new())
}

/// The fixed fields that open the RDATA of types without names.
fn minimum(rtype: RType) -> Option<usize> {
    match rtype {
        RType::DS | RType::CDS | RType::TA | RType::DLV | RType::DNSKEY | RType::CDNSKEY | RType::KEY => Some(4),
        RType::SSHFP => Some(2),
        RType::TLSA | RType::SMIMEA => Some(3),
        RType::NSEC3PARAM => Some(5),
        RType::NSEC3 | RType::CSYNC | RType::ZONEMD => Some(6),
        RType::CERT => Some(5),
        RType::URI => Some(4),
        RType::CAA => Some(2),
        RType::TXT | RType::SPF | RType::HINFO => Some(1),
        _ => None,
    }
}

/// A cursor over wire RDATA that notes each name it steps over.
struct Walk<'r, 's> {
    rtype: RType,
    rdata: &'r [u8],
    at: usize,
    spans: &'s mut Vec<NameSpan>,
}

impl Walk<'_, '_> {
    fn short(&self) -> String {
        format!("{} RDATA is too short", self.rtype)
    }

    fn skip(&mut self, octets: usize) -> Result<(), String> {
        if self.at + octets > self.rdata.len() {
            return Err(self.short());
        }
        self.at += octets;
        Ok(())
    }

    fn u8(&mut self) -> Result<usize, String> {
        let value = *self.rdata.get(self.at).ok_or_else(|| self.short())?;
        self.at += 1;
        Ok(usize::from(value))
    }

    fn u16(&mut self) -> Result<usize, String> {
        let high = self.u8()?;
        Ok(high << 8 | self.u8()?)
    }

    fn char_string(&mut self) -> Result<(), String> {
        let len = self.u8()?;
        self.skip(len)
    }

    fn name(&mut self, compressible: bool) -> Result<(), String> {
        let rest = self.rdata.get(self.at..).ok_or_else(|| self.short())?;
        let len = name_length(rest).map_err(|e| format!("{}: {e}", self.rtype))?;
        self.spans.push((self.at, len, compressible));
        self.at += len;
        Ok(())
    }

    /// The RDATA must end here.
    fn end(self) -> Result<(), String> {
        if self.at != self.rdata.len() {
            return Err(format!("{} RDATA is {} octets where {} were expected", self.rtype, self.rdata.len(), self.at));
        }
        Ok(())
    }

    /// Whatever follows is opaque here.
    fn rest(self) -> Result<(), String> {
        Ok(())
    }
}

/// Checks `rdata`'s layout, pushing its names onto `spans`.
fn layout(rtype: RType, rdata: &[u8], spans: &mut Vec<NameSpan>) -> Result<(), String> {
    let mut w = Walk { rtype, rdata, at: 0, spans };
    match rtype {
        // RFC 1035's own types: the only ones a server may compress.
        RType::NS | RType::MD | RType::MF | RType::CNAME | RType::MB | RType::MG | RType::MR | RType::PTR => {
            w.name(true)?;
            w.end()
        }
        RType::SOA => {
            w.name(true)?;
            w.name(true)?;
            w.skip(20)?;
            w.end()
        }
        RType::MINFO => {
            w.name(true)?;
            w.name(true)?;
            w.end()
        }
        RType::MX => {
            w.skip(2)?;
            w.name(true)?;
            w.end()
        }
        // Every later type goes out as written (RFC 3597 §4).
        RType::DNAME => {
            w.name(false)?;
            w.end()
        }
        RType::RP | RType::TALINK => {
            w.name(false)?;
            w.name(false)?;
            w.end()
        }
        RType::AFSDB | RType::RT | RType::KX | RType::LP => {
            w.skip(2)?;
            w.name(false)?;
            w.end()
        }
        RType::PX => {
            w.skip(2)?;
            w.name(false)?;
            w.name(false)?;
            w.end()
        }
        RType::SRV => {
            w.skip(6)?;
            w.name(false)?;
            w.end()
        }
        RType::NAPTR => {
            w.skip(4)?;
            for _ in 0..3 {
                w.char_string()?;
            }
            w.name(false)?;
            w.end()
        }
        RType::RRSIG | RType::SIG => {
            w.skip(18)?;
            w.name(false)?;
            w.rest()
        }
        RType::NSEC => {
            w.name(false)?;
            w.rest()
        }
        RType::SVCB | RType::HTTPS => {
            w.skip(2)?;
            w.name(false)?;
            w.rest()
        }
        RType::IPSECKEY => {
            w.skip(1)?;
            let gateway_type = w.u8()?;
            w.skip(1)?;
            match gateway_type {
                0 => {}
                1 => w.skip(4)?,
                2 => w.skip(16)?,
                3 => w.name(false)?,
                other => return Err(format!("IPSECKEY gateway type {other} is not 0-3")),
            }
            w.rest()
        }
        RType::AMTRELAY => {
            w.skip(1)?;
            match w.u8()? & 0x7f {
                0 => {}
                1 => w.skip(4)?,
                2 => w.skip(16)?,
                3 => w.name(false)?,
                _ => return w.rest(),
            }
            w.end()
        }
        RType::DSYNC => {
            w.skip(5)?;
            w.name(false)?;
            w.end()
        }
        RType::HIP => {
            let hit = w.u8()?;
            w.skip(1)?;
            let key = w.u16()?;
            w.skip(hit + key)?;
            while w.at < rdata.len() {
                w.name(false)?;
            }
            w.end()
        }
        _ => w.rest(),
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

    #[test]
    fn names_in_later_types_are_found_but_never_compressible() {
        let rp = ok(RType::RP, "Mbox.example. txt.example.");
        assert_eq!(embedded_names(RType::RP, &rp), vec![(0, 14, false), (14, 13, false)]);
        for rtype in [RType::AFSDB, RType::RT, RType::KX, RType::LP] {
            assert_eq!(embedded_names(rtype, &ok(rtype, "1 a.")), vec![(2, 3, false)], "{rtype}");
        }
        let minfo = ok(RType::MINFO, "a. b.");
        assert_eq!(embedded_names(RType::MINFO, &minfo), vec![(0, 3, true), (3, 3, true)]);
        assert_eq!(embedded_names(RType::MB, &ok(RType::MB, "a.")), vec![(0, 3, true)]);
        let ipseckey = ok(RType::IPSECKEY, "10 3 2 gw. AQID");
        assert_eq!(embedded_names(RType::IPSECKEY, &ipseckey), vec![(3, 4, false)]);
        assert!(embedded_names(RType::IPSECKEY, &ok(RType::IPSECKEY, "10 1 2 198.18.0.1 AQID")).is_empty());
        let hip = ok(RType::HIP, "2 0102 AQID a. b.");
        assert_eq!(embedded_names(RType::HIP, &hip), vec![(9, 3, false), (12, 3, false)]);
        assert_eq!(embedded_names(RType::PX, &ok(RType::PX, "1 a. b.")), vec![(2, 3, false), (5, 3, false)]);
        assert_eq!(embedded_names(RType::DSYNC, &ok(RType::DSYNC, "CDS 1 53 a.")), vec![(5, 3, false)]);
        assert_eq!(embedded_names(RType::AMTRELAY, &ok(RType::AMTRELAY, "1 0 3 a.")), vec![(2, 3, false)]);
        assert!(check_wire(RType::AMTRELAY, &[1, 1, 198, 18]).is_err());
        let sig = ok(RType::SIG, "A 13 2 300 1 0 7 example. AQID");
        assert_eq!(embedded_names(RType::SIG, &sig), vec![(18, 9, false)]);
        for rtype in [RType::CDS, RType::URI, RType::LOC, RType::CAA, RType::ZONEMD, RType(65534)] {
            assert!(embedded_names(rtype, b"\x01a\x00\x00\x00\x00").is_empty(), "{rtype}");
        }
    }
}
