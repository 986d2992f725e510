//! A record as a transfer sends it: owner, type, class, TTL, RDLENGTH and
//! RDATA in uncompressed wire form, one allocation, shared (`Arc`) between
//! a zone's current version, its differences and the streams sending them.

use std::sync::Arc;

use crate::transfer::inbound::timers::Soa;
use crate::wire::dns::{self, RType};
use crate::zone::Record;

/// One record in wire form. Two records are the same record when their
/// bytes are (a TTL change is a removal and an addition).
pub type Rr = Arc<[u8]>;

/// `record` in wire form; `None` for RDATA too long to frame (the zone
/// loader never makes one).
pub fn encode(record: &Record) -> Option<Rr> {
    let rdlength = u16::try_from(record.rdata.len()).ok()?;
    let owner = record.owner.wire();
    let mut out = Vec::with_capacity(owner.len() + dns::rr_field::LEN + record.rdata.len());
    out.extend_from_slice(owner);
    let mut fixed = [0u8; dns::rr_field::LEN];
    dns::write_rr_fixed(&mut fixed, record.rtype, record.class, record.ttl, rdlength);
    out.extend_from_slice(&fixed);
    out.extend_from_slice(&record.rdata);
    Some(out.into())
}

/// The record's type.
pub fn rtype(rr: &[u8]) -> Option<RType> {
    let header = dns::parse_rr(rr, 0)?;
    Some(RType(header.rtype))
}

/// The serial of an SOA record in wire form.
pub fn soa_serial(rr: &[u8]) -> Option<u32> {
    let header = dns::parse_rr(rr, 0)?;
    if header.rtype != RType::SOA.0 {
        return None;
    }
    Soa::from_rdata(rr.get(header.rdata..header.end)?).map(|s| s.serial)
}

#[cfg(test)]
pub mod tests {
    use super::*;
    use crate::zone::{Location, Name};

    pub fn record(owner: &str, rtype: RType, ttl: u32, rdata: &[u8]) -> Record {
        Record {
            owner: Name::parse(owner, None).unwrap().unwrap(),
            rtype,
            class: 1,
            ttl,
            rdata: rdata.into(),
            location: Location { file: "t".into(), line: 1 },
        }
    }

    pub fn soa_record(zone: &str, serial: u32) -> Record {
        let names = [Name::parse("ns.", None).unwrap().unwrap(), Name::parse("h.", None).unwrap().unwrap()];
        let mut rdata = [names[0].wire(), names[1].wire()].concat();
        rdata.extend_from_slice(&serial.to_be_bytes());
        rdata.extend_from_slice(&[0, 0, 0, 60, 0, 0, 0, 60, 0, 0, 0, 60, 0, 0, 0, 60]);
        record(zone, RType::SOA, 300, &rdata)
    }

    #[test]
    fn records_encode_and_read_back() {
        let soa = encode(&soa_record("example.test.", 7)).unwrap();
        assert_eq!((soa_serial(&soa), rtype(&soa)), (Some(7), Some(RType::SOA)));
        let a = encode(&record("www.example.test.", RType::A, 60, &[198, 18, 0, 1])).unwrap();
        assert_eq!((soa_serial(&a), rtype(&a)), (None, Some(RType::A)));
        assert_eq!(a.len(), "www.example.test.".len() + 1 + 10 + 4);
    }
}
