//! Which zones an engine serves, and at which serial: for the start line,
//! reload results, `ctl stats` and metrics.
//!
//! Read back from the table itself (not from the zone files) so that a
//! table loaded with `--table` reports the same, and so that what is shown is
//! what is answered: the apex of each zone is the node its zone record
//! names, and the serial is taken from the engine's own answer to `apex SOA`.

use crate::engine::{answer_message, Engine, Transport};
use crate::wire::dns;
use crate::zone::{Name, RType};

/// A zone being served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServedZone {
    pub name: String,
    pub serial: Option<u32>,
    /// The earliest RRSIG expiration it serves (seconds since 1970), for
    /// a signed zone: when validators start to reject it.
    pub rrsig_expires: Option<u32>,
}

/// Each zone of the engine's table by its index: its apex (`None`: the
/// zone has no apex node, or its name does not read). From the zone
/// records, one node each: a walk of every node took seconds per million
/// names at each start and reload.
fn apexes(engine: &Engine) -> Vec<Option<Name>> {
    let table = engine.table();
    (0..table.zone_count() as u32)
        .map(|z| {
            let apex = table.zone(z)?.apex;
            let node = table.node_at(apex).filter(|_| apex != 0)?;
            Name::from_wire(node.name()).ok()
        })
        .collect()
}

/// The table's zone names by zone index, as metrics label them.
pub fn names_by_index(engine: &Engine) -> Vec<Option<String>> {
    apexes(engine).into_iter().map(|name| name.map(|n| n.to_string())).collect()
}

/// Every zone of the engine's table, by name.
pub fn zones(engine: &Engine) -> Vec<ServedZone> {
    let table = engine.table();
    let mut zones: Vec<ServedZone> = apexes(engine)
        .into_iter()
        .enumerate()
        .filter_map(|(z, name)| Some((z, name?)))
        .map(|(z, name)| ServedZone {
            serial: serial(engine, &name),
            name: name.to_string(),
            rrsig_expires: table.earliest_rrsig_expiry(z as u32),
        })
        .collect();
    zones.sort_by(|a, b| a.name.cmp(&b.name));
    zones
}

/// Zones named in a log line or systemd status; the rest are counted. A
/// hoster's 100,000 zones would make a line of megabytes, at every reload.
const DESCRIBED: usize = 8;

/// `name1 (serial 7), name2 (serial 9)`, and `and N more (T zones)` past
/// [`DESCRIBED`].
pub fn describe(zones: &[ServedZone]) -> String {
    let mut described: Vec<String> = zones
        .iter()
        .take(DESCRIBED)
        .map(|z| match z.serial {
            Some(serial) => format!("{} (serial {serial})", z.name),
            None => format!("{} (no SOA)", z.name),
        })
        .collect();
    if zones.len() > DESCRIBED {
        described.push(format!("and {} more ({} zones)", zones.len() - DESCRIBED, zones.len()));
    }
    described.join(", ")
}

fn serial(engine: &Engine, apex: &Name) -> Option<u32> {
    let mut buf = [0u8; 4096];
    let qname = apex.wire();
    let question_end = dns::HEADER_LEN + qname.len() + 4;
    buf[5] = 1; // QDCOUNT
    buf[dns::HEADER_LEN..dns::HEADER_LEN + qname.len()].copy_from_slice(qname);
    buf[question_end - 4..question_end - 2].copy_from_slice(&RType::SOA.0.to_be_bytes());
    buf[question_end - 1] = 1; // class IN
    let len = answer_message(engine, &mut buf, question_end, Transport::Tcp)?;
    let answer = &buf[..len];
    if u16::from_be_bytes([answer[6], answer[7]]) == 0 {
        return None;
    }
    // Answer RR: owner, type, class, TTL, RDLENGTH, then MNAME, RNAME, SERIAL.
    let mut at = skip_name(answer, question_end)?;
    if answer.get(at..at + 2)? != RType::SOA.0.to_be_bytes() {
        return None;
    }
    at += 10;
    at = skip_name(answer, at)?;
    at = skip_name(answer, at)?;
    Some(u32::from_be_bytes(answer.get(at..at + 4)?.try_into().ok()?))
}

/// The offset just past a (possibly compressed) name at `at`.
fn skip_name(msg: &[u8], mut at: usize) -> Option<usize> {
    loop {
        let len = *msg.get(at)?;
        match len {
            0 => return Some(at + 1),
            l if l & 0xc0 == 0xc0 => return Some(at + 2),
            l if l < 64 => at += 1 + l as usize,
            _ => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Options;
    use crate::table::Table;
    use crate::zone::parse_str;

    fn engine(zones: &[(&str, &str)]) -> Engine {
        let zones: Vec<_> = zones
            .iter()
            .map(|(origin, text)| {
                let origin = Name::parse(origin, None).unwrap().unwrap();
                parse_str(text, "test.zone", Some(&origin)).expect("test zone parses")
            })
            .collect();
        Engine::new(Table::compile(&zones).expect("compiles"), Options::default())
    }

    #[test]
    fn zones_and_serials_are_read_back_from_the_table() {
        let e = engine(&[
            (
                "example.com.",
                "@ 300 IN SOA ns1 h 2024010101 1 1 1 60\n@ NS ns1\nns1 A 198.18.0.1\na.b.c A 198.18.0.9\n",
            ),
            ("sub.example.com.", "@ 300 IN SOA ns h 7 1 1 1 60\n@ NS ns\nns A 198.18.0.2\n"),
        ]);
        let zones = zones(&e);
        assert_eq!(
            zones,
            [
                ServedZone { name: "example.com.".into(), serial: Some(2024010101), rrsig_expires: None },
                ServedZone { name: "sub.example.com.".into(), serial: Some(7), rrsig_expires: None },
            ]
        );
        assert_eq!(describe(&zones), "example.com. (serial 2024010101), sub.example.com. (serial 7)");
        let many: Vec<ServedZone> =
            (0..10).map(|i| ServedZone { name: format!("z{i}."), serial: Some(i), rrsig_expires: None }).collect();
        let line = describe(&many);
        assert!(line.starts_with("z0. (serial 0), z1. (serial 1)"), "{line}");
        assert!(line.ends_with("z7. (serial 7), and 2 more (10 zones)"), "{line}");
    }

    /// Zone indexes past 16 bits: format 7 wrote a node's zone in 16, so
    /// zone 65,536 read back as zone 0 (its negative answers carried zone
    /// 0's SOA).
    #[test]
    fn more_zones_than_16_bits_keep_their_own_index_apex_and_serial() {
        const ZONES: u32 = 65_540;
        let zones: Vec<_> = (0..ZONES)
            .map(|i| {
                let text = format!("$ORIGIN z{i}.test.\n@ 60 SOA ns h {i} 1 1 1 60\n@ NS ns\n");
                parse_str(&text, "z.zone", None).expect("parses")
            })
            .collect();
        let e = Engine::new(Table::compile(&zones).expect("compiles"), Options::default());
        drop(zones);
        let last = Name::parse(&format!("z{}.test.", ZONES - 1), None).unwrap().unwrap();
        let node = e.table().find(last.wire()).expect("the last apex");
        assert_eq!(node.zone(), ZONES - 1);
        let served = super::zones(&e);
        assert_eq!(served.len(), ZONES as usize);
        let found = served.iter().find(|z| z.name == last.to_string()).expect("listed");
        assert_eq!(found.serial, Some(ZONES - 1));
        // The NXDOMAIN below it carries its own SOA, not zone 4's.
        let nope = Name::parse(&format!("nope.z{}.test.", ZONES - 1), None).unwrap().unwrap();
        let mut buf = [0u8; 512];
        let end = dns::HEADER_LEN + nope.wire().len() + 4;
        buf[5] = 1;
        buf[dns::HEADER_LEN..end - 4].copy_from_slice(nope.wire());
        buf[end - 4..end].copy_from_slice(&[0, 1, 0, 1]);
        let len = answer_message(&e, &mut buf, end, Transport::Udp).expect("an answer");
        assert_eq!(buf[3] & 0x0f, 3, "NXDOMAIN");
        // No OPT: the SOA is the last record, its serial before four timers.
        assert_eq!((buf[9], buf[11]), (1, 0), "one authority record, no additional");
        let serial = u32::from_be_bytes(buf[len - 20..len - 16].try_into().unwrap());
        assert_eq!(serial, ZONES - 1, "{:?}", &buf[..len]);
    }

    #[test]
    fn an_empty_table_serves_no_zone() {
        let e = Engine::new(Table::compile(&[]).unwrap(), Options::default());
        assert!(zones(&e).is_empty());
    }
}
