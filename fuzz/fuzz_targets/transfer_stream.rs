//! A secondary's reading of a primary's answer: multi-message AXFR/IXFR
//! streams (`transfer::inbound::stream::Assembler`, over `message::parse`
//! with name and RDATA decompression), the differences applied to a copy
//! and checked at the names they touch (as checking every record checks
//! them), the result written as a zone file and read back, and NOTIFY
//! decisions.
//!
//! Input: a flags byte (bit 0: IXFR from serial 1, else AXFR), then
//! messages, each behind a two-byte big-endian length as on TCP. The query
//! ID is the first message's. The assembler must end in an error or one
//! answer, never read past the input, and never accept data after the end.

#![no_main]

use libfuzzer_sys::fuzz_target;
use responder::transfer::inbound::message::{self, AXFR, IXFR};
use responder::transfer::inbound::stream::{Assembler, Received};
use responder::transfer::inbound::{apply, notify, zone_text, Primary, SecondaryConfig};
use responder::zone::Name;

fuzz_target!(|data: &[u8]| {
    let Some((&flags, mut rest)) = data.split_first() else { return };
    let zone = Name::parse("example.test.", None).unwrap().unwrap();
    let ixfr = flags & 1 == 1;
    let held = std::sync::Arc::new(responder::zone::parse_str(COPY, "copy.zone", Some(&zone)).unwrap());
    let id = rest.get(2..4).map_or(0, |b| u16::from_be_bytes([b[0], b[1]]));
    let (qtype, ours) = if ixfr { (IXFR, Some(1)) } else { (AXFR, None) };
    let mut assembler = Assembler::new(&zone, id, qtype, ours, 1 << 20);
    let config = SecondaryConfig {
        zone: zone.clone(),
        file: "copy.zone".into(),
        primaries: vec![Primary { id: None, address: "127.0.0.1:53".parse().unwrap(), key: None }],
        notify_from: vec![],
        catalog: None,
    };
    let mut done = None;
    while let Some((len, tail)) = rest.split_first_chunk::<2>() {
        let len = usize::from(u16::from_be_bytes(*len));
        let Some(msg) = tail.get(..len) else { return };
        rest = &tail[len..];
        let _ = notify::decide(msg, "127.0.0.1".parse().unwrap(), &[&config]);
        let _ = message::parse(msg);
        if done.is_some() {
            assert!(assembler.push(msg).is_err(), "a message after the end of the answer is refused");
            return;
        }
        match assembler.push(msg) {
            Ok(Some(received)) => done = Some(received),
            Ok(None) => {}
            Err(_) => return,
        }
    }
    let (records, derived) = match done {
        Some(Received::Full { records, .. }) => (records.iter().map(apply::record).collect(), None),
        Some(Received::Incremental { diffs, .. }) => match apply::apply(&held.records, &diffs, "copy.zone") {
            Ok(a) => {
                let from = std::sync::Arc::downgrade(&held);
                (a.records, Some(responder::zone::Derived { from, names: a.names, at: Some(a.at) }))
            }
            Err(_) => return,
        },
        _ => return,
    };
    // What a secondary persists must be readable text, never longer than
    // its bound (which decides whether it is written before serving); the
    // records it serves are checked without that text
    // (`zone::from_records`). Whatever loads either way must compile or be
    // refused, never panic.
    let text = zone_text::render(&zone, &records, "fuzz");
    assert!(text.len() as u64 <= zone_text::bound(&zone, &records, "fuzz"), "the text outgrew its bound");
    let mut located = records;
    apply::locate(&mut located, "copy.zone");
    // After an IXFR, checked at the names it touched: the same as every record.
    if let Some(derived) = derived {
        let told = responder::zone::from_change(&held, located.clone(), derived, &zone, "copy.zone");
        let every = responder::zone::from_records(located.clone(), &zone, "copy.zone");
        match (told, every) {
            (Ok(t), Ok(e)) => assert_eq!((t.origin, t.records, t.warnings), (e.origin, e.records, e.warnings)),
            (Err(t), Err(e)) => assert_eq!(t.to_string(), e.to_string()),
            (t, e) => panic!("checked at the names touched: {:?}, every record: {:?}", t.err(), e.err()),
        }
    }
    let loaded = [
        responder::zone::parse_str(&text, "copy.zone", Some(&zone)),
        responder::zone::from_records(located, &zone, "copy.zone"),
    ];
    for zone in loaded.into_iter().flatten() {
        let _ = responder::table::Table::compile_noting(&[zone], &mut Vec::new());
    }
});

/// The copy an IXFR applies to: serial 1.
const COPY: &str = "example.test. 60 IN SOA ns.example.test. h.example.test. 1 3600 600 86400 60\n\
                    example.test. 60 IN NS ns.example.test.\n\
                    ns.example.test. 60 IN A 198.18.0.53\n\
                    www.example.test. 60 IN A 198.18.0.80\n";
