//! NOTIFY in (RFC 1996): a primary says a zone changed. Accepted only from
//! the zone's primaries (or an address allowed to notify), answered at once
//! with NOERROR and AA, then the zone checks its primaries' SOA. Anything
//! else is REFUSED: a NOTIFY for a zone we are not secondary for, or from
//! anybody else.

use std::net::IpAddr;

use super::config::SecondaryConfig;
use super::message::{self, opcode};
use crate::wire::dns::{rcode, RType};

/// What to do with a NOTIFY.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Zone number `zone` changed; the serial the primary put in, if any.
    Accept { zone: usize, serial: Option<u32> },
    /// With the zone's number when the NOTIFY names one of ours.
    Refuse(Option<usize>, String),
    /// Not a NOTIFY we can answer at all (no question): dropped.
    Drop,
}

/// Whether the first bytes of a message make it a NOTIFY query: a cheap
/// test for the servers to route it here.
pub fn is_notify(msg: &[u8]) -> bool {
    msg.len() >= 4 && msg[2] & 0x80 == 0 && (msg[2] >> 3) & 0x0f == opcode::NOTIFY
}

/// Decides on the NOTIFY `msg` from `source`, for the zones in `zones`.
pub fn decide(msg: &[u8], source: IpAddr, zones: &[&SecondaryConfig]) -> Decision {
    let Ok(parsed) = message::parse(msg) else { return Decision::Drop };
    let Some((name, qtype)) = &parsed.question else { return Decision::Drop };
    if parsed.is_response() || parsed.opcode() != opcode::NOTIFY {
        return Decision::Drop;
    }
    let ours = zones.iter().position(|z| z.zone == *name);
    if *qtype != RType::SOA {
        return Decision::Refuse(ours, format!("NOTIFY for {name} {qtype}, not SOA"));
    }
    let Some(zone) = ours else {
        return Decision::Refuse(None, format!("NOTIFY for {name}, which is not a secondary zone here"));
    };
    if !zones[zone].may_notify(source) {
        return Decision::Refuse(
            Some(zone),
            format!("NOTIFY for {name} from {source}, which is not one of its primaries"),
        );
    }
    let serial = parsed.answers.iter().find(|r| r.owner == *name).and_then(|r| r.soa_serial());
    Decision::Accept { zone, serial }
}

/// Writes the answer for `decision` over the NOTIFY in `buf`.
pub fn reply(buf: &mut [u8], len: usize, decision: &Decision) -> Option<usize> {
    match decision {
        Decision::Accept { .. } => message::notify_reply(buf, len, rcode::NOERROR),
        Decision::Refuse(..) => message::notify_reply(buf, len, rcode::REFUSED),
        Decision::Drop => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transfer::inbound::config::Primary;
    use crate::transfer::inbound::stream::tests::{name, soa};

    fn notify(zone: &str) -> Vec<u8> {
        let mut m = message::query(77, &name(zone), RType::SOA, None);
        m[2] = opcode::NOTIFY << 3 | 0x04;
        m
    }

    #[test]
    fn a_notify_is_accepted_only_from_a_primary_and_for_our_zone() {
        let config = SecondaryConfig {
            zone: name("example.test."),
            file: "x".into(),
            primaries: vec![Primary { id: None, address: "127.0.0.1:5300".parse().unwrap(), key: None }],
            notify_from: vec![crate::access::AddressRange::parse("198.18.0.8-198.18.0.9").unwrap()],
            catalog: None,
        };
        let zones = [&config];
        let msg = notify("example.test.");
        assert!(is_notify(&msg));
        let primary: IpAddr = "127.0.0.1".parse().unwrap();
        assert_eq!(decide(&msg, primary, &zones), Decision::Accept { zone: 0, serial: None });
        let mapped: IpAddr = "::ffff:127.0.0.1".parse().unwrap();
        assert_eq!(decide(&msg, mapped, &zones), Decision::Accept { zone: 0, serial: None });
        assert!(matches!(decide(&msg, "198.18.0.9".parse().unwrap(), &zones), Decision::Accept { .. }));
        assert!(matches!(decide(&msg, "198.18.0.7".parse().unwrap(), &zones), Decision::Refuse(Some(0), _)));
        assert!(matches!(decide(&notify("other.test."), primary, &zones), Decision::Refuse(None, _)));
        assert_eq!(decide(&msg[..5], primary, &zones), Decision::Drop);

        // With the new SOA in the answer section (RFC 1996 §3.7).
        let with_soa = crate::transfer::inbound::stream::tests::answer(77, RType::SOA, &[soa(9)]);
        let mut with_soa = with_soa;
        with_soa[2] = opcode::NOTIFY << 3;
        assert_eq!(decide(&with_soa, primary, &zones), Decision::Accept { zone: 0, serial: Some(9) });
    }
}
