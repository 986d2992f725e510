//! A transfer's answer: many messages on one TCP connection, each behind a
//! two-byte length (RFC 1035 §4.2.2), together one record sequence that
//! starts and ends with the zone's new SOA (RFC 5936 §2.2, RFC 1995 §4).
//! [`Assembler`] is pure: it takes messages one by one and says when the
//! sequence is complete and what it was.

use std::io::{self, Read};

use super::message::{self, Message, WireRecord, IXFR};
use super::timers::serial_newer;
use crate::wire::dns::{class, rcode, RType};
use crate::zone::Name;

/// Reads one length-prefixed message. The socket's own read timeout bounds
/// each read; the caller bounds the whole transfer.
pub fn read_message(stream: &mut impl Read) -> io::Result<Vec<u8>> {
    let mut len = [0u8; 2];
    stream.read_exact(&mut len)?;
    let mut msg = vec![0u8; usize::from(u16::from_be_bytes(len))];
    stream.read_exact(&mut msg)?;
    Ok(msg)
}

/// What a complete answer said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Received {
    /// The primary has nothing newer than `serial` (an IXFR answered with
    /// its SOA alone).
    UpToDate { serial: u32 },
    /// The whole zone, its SOA first (AXFR, or IXFR answered AXFR-style).
    Full { serial: u32, records: Vec<WireRecord> },
    /// Differences to apply in order (RFC 1995 §4).
    Incremental { serial: u32, diffs: Vec<Diff> },
}

impl Received {
    pub fn kind(&self) -> &'static str {
        match self {
            Received::UpToDate { .. } => "up to date",
            Received::Full { .. } => "AXFR",
            Received::Incremental { .. } => "IXFR",
        }
    }
}

/// One step of an IXFR: the SOA it starts from, what goes, what comes (the
/// new SOA first).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Diff {
    pub from: u32,
    pub to: u32,
    pub removed: Vec<WireRecord>,
    pub added: Vec<WireRecord>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Before the first record.
    Start,
    /// After the first SOA: the second record tells AXFR from IXFR.
    Second,
    Axfr,
    Removing,
    Adding,
    Done,
}

/// Assembles one answer from its messages.
pub struct Assembler {
    zone: Name,
    id: u16,
    qtype: RType,
    /// Our serial when we asked for an IXFR.
    ours: Option<u32>,
    max_bytes: u64,
    bytes: u64,
    phase: Phase,
    serial: u32,
    records: Vec<WireRecord>,
    diffs: Vec<Diff>,
}

impl Assembler {
    /// For the answer to query `id` for `zone` of type `qtype` (AXFR, IXFR
    /// or SOA), sent while we held `ours`; more than `max_bytes` of records
    /// is refused (the zone size limit).
    pub fn new(zone: &Name, id: u16, qtype: RType, ours: Option<u32>, max_bytes: u64) -> Assembler {
        Assembler {
            zone: zone.clone(),
            id,
            qtype,
            ours,
            max_bytes,
            bytes: 0,
            phase: Phase::Start,
            serial: 0,
            records: Vec::new(),
            diffs: Vec::new(),
        }
    }

    /// Takes the next message; `Some` once the answer is complete. A
    /// message after that, or one that breaks the sequence, is an error.
    pub fn push(&mut self, raw: &[u8]) -> Result<Option<Received>, String> {
        let msg = message::parse(raw).map_err(|e| e.to_string())?;
        self.check_header(&msg)?;
        self.bytes += raw.len() as u64;
        if self.bytes > self.max_bytes {
            return Err(format!("the transfer is larger than the zone size limit ({} bytes)", self.max_bytes));
        }
        if self.phase == Phase::Start && msg.answers.is_empty() {
            return Err("the first answer holds no SOA".into());
        }
        let first_message = self.phase == Phase::Start;
        let count = msg.answers.len();
        for (i, record) in msg.answers.into_iter().enumerate() {
            if self.phase == Phase::Done {
                return Err("records after the closing SOA".into());
            }
            self.take(record)?;
            // An IXFR answered by the SOA alone: nothing newer (RFC 1995 §2).
            let alone = first_message && count == 1 && i == 0;
            if self.qtype == RType::SOA
                || (alone && self.qtype == IXFR && self.ours.is_some_and(|ours| !serial_newer(self.serial, ours)))
            {
                self.phase = Phase::Done;
            }
        }
        if self.phase != Phase::Done {
            return Ok(None);
        }
        Ok(Some(self.finish()))
    }

    fn check_header(&self, msg: &Message) -> Result<(), String> {
        if msg.id != self.id || !msg.is_response() {
            return Err(format!("an answer with ID {} to query {} (or not an answer)", msg.id, self.id));
        }
        if msg.rcode() != rcode::NOERROR {
            return Err(format!("the primary answered {}", rcode_name(msg.rcode())));
        }
        if let Some((name, qtype)) = &msg.question {
            if *name != self.zone || *qtype != self.qtype {
                return Err(format!("the answer is for {name} {qtype}, not {} {}", self.zone, self.qtype));
            }
        }
        Ok(())
    }

    fn take(&mut self, record: WireRecord) -> Result<(), String> {
        if !record.owner.is_subdomain_of(&self.zone) {
            return Err(format!("record {} {} is outside the zone {}", record.owner, record.rtype, self.zone));
        }
        if record.class != class::IN {
            return Err(format!("record {} {} has class {}, not IN", record.owner, record.rtype, record.class));
        }
        let soa = record.soa_serial();
        if record.rtype == RType::SOA && (soa.is_none() || record.owner != self.zone) {
            return Err(format!("an SOA at {} that is not the zone's or does not parse", record.owner));
        }
        match (self.phase, soa) {
            (Phase::Start, Some(serial)) => {
                self.serial = serial;
                self.records.push(record);
                self.phase = Phase::Second;
            }
            (Phase::Start, None) => return Err("the answer does not start with the zone's SOA".into()),
            (Phase::Second, Some(serial)) if self.qtype == IXFR && serial != self.serial => {
                self.diffs.push(Diff { from: serial, removed: vec![record], ..Diff::default() });
                self.phase = Phase::Removing;
            }
            (Phase::Second, Some(_)) => self.phase = Phase::Done,
            (Phase::Second, None) | (Phase::Axfr, None) => {
                self.records.push(record);
                self.phase = Phase::Axfr;
            }
            (Phase::Axfr, Some(serial)) => {
                if serial != self.serial {
                    return Err(format!("AXFR closes with serial {serial}, opened with {}", self.serial));
                }
                self.phase = Phase::Done;
            }
            (Phase::Removing, Some(serial)) => {
                let diff = self.diffs.last_mut().ok_or("no difference open")?;
                diff.to = serial;
                diff.added.push(record);
                self.phase = Phase::Adding;
            }
            (Phase::Removing, None) => self.diffs.last_mut().ok_or("no difference open")?.removed.push(record),
            (Phase::Adding, Some(serial)) if serial == self.serial => self.phase = Phase::Done,
            (Phase::Adding, Some(serial)) => {
                self.diffs.push(Diff { from: serial, removed: vec![record], ..Diff::default() });
                self.phase = Phase::Removing;
            }
            (Phase::Adding, None) => self.diffs.last_mut().ok_or("no difference open")?.added.push(record),
            (Phase::Done, _) => return Err("records after the closing SOA".into()),
        }
        Ok(())
    }

    fn finish(&mut self) -> Received {
        let serial = self.serial;
        if !self.diffs.is_empty() {
            return Received::Incremental { serial, diffs: std::mem::take(&mut self.diffs) };
        }
        if self.records.len() == 1 && self.qtype != message::AXFR {
            return Received::UpToDate { serial };
        }
        Received::Full { serial, records: std::mem::take(&mut self.records) }
    }
}

/// `REFUSED`, `NOTAUTH`, … for log lines.
pub fn rcode_name(code: u8) -> String {
    match code {
        0 => "NOERROR".into(),
        1 => "FORMERR".into(),
        2 => "SERVFAIL".into(),
        3 => "NXDOMAIN".into(),
        4 => "NOTIMP".into(),
        5 => "REFUSED".into(),
        9 => "NOTAUTH".into(),
        other => format!("rcode {other}"),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::transfer::inbound::message::AXFR;

    pub fn name(s: &str) -> Name {
        Name::parse(s, None).unwrap().unwrap()
    }

    pub fn soa(serial: u32) -> WireRecord {
        let mut rdata = [name("ns.example.test.").wire(), name("h.example.test.").wire()].concat();
        for n in [serial, 2, 1, 10, 60] {
            rdata.extend_from_slice(&n.to_be_bytes());
        }
        WireRecord { owner: name("example.test."), rtype: RType::SOA, class: class::IN, ttl: 60, rdata }
    }

    pub fn a(owner: &str, last: u8) -> WireRecord {
        WireRecord { owner: name(owner), rtype: RType::A, class: class::IN, ttl: 60, rdata: vec![198, 18, 0, last] }
    }

    /// One answer message holding `records`, in wire form without compression.
    pub fn answer(id: u16, qtype: RType, records: &[WireRecord]) -> Vec<u8> {
        let mut m = message::query(id, &name("example.test."), qtype, None);
        m[2] |= 0x84;
        m[6..8].copy_from_slice(&(records.len() as u16).to_be_bytes());
        for r in records {
            m.extend_from_slice(r.owner.wire());
            m.extend_from_slice(&r.rtype.0.to_be_bytes());
            m.extend_from_slice(&r.class.to_be_bytes());
            m.extend_from_slice(&r.ttl.to_be_bytes());
            m.extend_from_slice(&(r.rdata.len() as u16).to_be_bytes());
            m.extend_from_slice(&r.rdata);
        }
        m
    }

    fn assembler(qtype: RType, ours: Option<u32>) -> Assembler {
        Assembler::new(&name("example.test."), 5, qtype, ours, 1 << 20)
    }

    #[test]
    fn an_axfr_over_two_messages_is_the_whole_zone() {
        let mut asm = assembler(AXFR, None);
        assert_eq!(asm.push(&answer(5, AXFR, &[soa(3), a("a.example.test.", 1)])).unwrap(), None);
        let done = asm.push(&answer(5, AXFR, &[a("b.example.test.", 2), soa(3)])).unwrap();
        let Some(Received::Full { serial: 3, records }) = done else { panic!("{done:?}") };
        assert_eq!(records, [soa(3), a("a.example.test.", 1), a("b.example.test.", 2)]);
        assert!(asm.push(&answer(5, AXFR, &[soa(3)])).is_err(), "nothing may follow the end");
    }

    #[test]
    fn an_ixfr_is_a_sequence_of_differences() {
        let mut asm = assembler(IXFR, Some(1));
        let records = [
            soa(3),
            soa(1),
            a("a.example.test.", 1),
            soa(2),
            a("a.example.test.", 2),
            soa(2),
            soa(3),
            a("b.example.test.", 3),
            soa(3),
        ];
        let Some(Received::Incremental { serial: 3, diffs }) = asm.push(&answer(5, IXFR, &records)).unwrap() else {
            panic!("incremental")
        };
        assert_eq!(diffs.len(), 2);
        assert_eq!((diffs[0].from, diffs[0].to), (1, 2));
        assert_eq!(diffs[0].removed, [soa(1), a("a.example.test.", 1)]);
        assert_eq!(diffs[0].added, [soa(2), a("a.example.test.", 2)]);
        assert_eq!((diffs[1].from, diffs[1].to, diffs[1].removed.len()), (2, 3, 1));
    }

    #[test]
    fn an_ixfr_answered_by_the_soa_alone_is_up_to_date_and_axfr_style_is_full() {
        let mut asm = assembler(IXFR, Some(4));
        assert_eq!(asm.push(&answer(5, IXFR, &[soa(4)])).unwrap(), Some(Received::UpToDate { serial: 4 }));
        let mut asm = assembler(IXFR, Some(1));
        let done = asm.push(&answer(5, IXFR, &[soa(2), a("a.example.test.", 1), soa(2)])).unwrap();
        assert!(matches!(done, Some(Received::Full { serial: 2, .. })), "{done:?}");
        let mut asm = assembler(RType::SOA, None);
        assert_eq!(asm.push(&answer(5, RType::SOA, &[soa(9)])).unwrap(), Some(Received::UpToDate { serial: 9 }));
    }

    #[test]
    fn broken_answers_are_errors() {
        let refused = {
            let mut m = answer(5, AXFR, &[]);
            m[3] = 5;
            m
        };
        assert!(assembler(AXFR, None).push(&refused).unwrap_err().contains("REFUSED"));
        assert!(assembler(AXFR, None).push(&answer(6, AXFR, &[soa(1)])).unwrap_err().contains("ID 6"));
        assert!(assembler(AXFR, None).push(&answer(5, AXFR, &[a("a.example.test.", 1)])).is_err());
        let outside = a("a.example.other.", 1);
        assert!(assembler(AXFR, None).push(&answer(5, AXFR, &[soa(1), outside])).unwrap_err().contains("outside"));
        let mismatched = assembler(AXFR, None).push(&answer(5, AXFR, &[soa(1), a("a.example.test.", 1), soa(2)]));
        assert!(mismatched.unwrap_err().contains("closes with serial 2"));
        let mut small = Assembler::new(&name("example.test."), 5, AXFR, None, 10);
        assert!(small.push(&answer(5, AXFR, &[soa(1)])).unwrap_err().contains("size limit"));
    }
}
