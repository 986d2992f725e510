//! A primary's reading of a transfer request and its answer: any message
//! through `transfer::outbound::Outbound::answer` (request parsing, TSIG
//! checking, the ACL, the journal's plan, the reply or the stream of
//! messages) for a zone kept at serial 3 with differences from 1 and 2.
//!
//! Input: a flags byte (bit 0: TCP, bit 1: from an address the ACL lets
//! in), then the message. Every answer must fit its buffer, keep the ID and
//! set QR; a stream must end (Done or Abort) within a bounded number of
//! messages, each of which fits a TCP frame.

#![no_main]

use libfuzzer_sys::fuzz_target;
use responder::access::{Access, Acl, Action, AddressRange};
use responder::engine::Transport;
use responder::server::Step;
use responder::transfer::outbound::{Limits, Outbound, OutboundConfig};
use responder::tsig::{Key, Keyring};
use responder::zone::Name;

fuzz_target!(|data: &[u8]| {
    let Some((&flags, msg)) = data.split_first() else { return };
    let zone = Name::parse("example.test.", None).unwrap().unwrap();
    let key = Key::from_text("xfr", "hmac-sha256", "c2VjcmV0c2VjcmV0c2VjcmV0").unwrap();
    let access = Access {
        keys: Keyring::new(vec![key]).unwrap(),
        acls: vec![Acl {
            id: "a".into(),
            addresses: vec![AddressRange::parse("127.0.0.0/8").unwrap()],
            keys: vec![],
            actions: vec![Action::Transfer],
        }],
        remotes: vec![],
    };
    let config = OutboundConfig { zone: zone.clone(), acls: vec!["a".into()], notify: vec![], journal_depth: 5 };
    let outbound = Outbound::new(&[config], &access, Limits::default()).unwrap();
    for serial in 1..=3u32 {
        let text = format!(
            "example.test. 60 IN SOA ns.example.test. h.example.test. {serial} 3600 600 86400 60\n\
             example.test. 60 IN NS ns.example.test.\nns.example.test. 60 IN A 198.18.0.53\n\
             h{serial}.example.test. 60 IN A 198.18.0.{serial}\n"
        );
        let loaded = responder::zone::parse_str(&text, "z", Some(&zone)).unwrap();
        outbound.update(&[loaded], false);
    }
    let transport = if flags & 1 == 1 { Transport::Tcp } else { Transport::Udp };
    let source = if flags & 2 == 2 { [127, 0, 0, 1] } else { [198, 18, 0, 1] };
    let mut buf = vec![0u8; 65535];
    let Some(room) = buf.get_mut(..msg.len()) else { return };
    room.copy_from_slice(msg);
    let Some(answer) = outbound.answer(&mut buf, msg.len(), transport, source.into()) else { return };
    if let Some(len) = answer.len {
        assert!(len >= 12 && len <= buf.len());
        assert_eq!(buf[..2], msg[..2], "the ID is kept");
        assert!(buf[2] & 0x80 != 0, "QR is set");
    }
    if let Some(mut rest) = answer.rest {
        assert_eq!(transport, Transport::Tcp, "only TCP gets more than one message");
        for _ in 0..100 {
            match rest.next(&mut buf) {
                Step::Message(len) => assert!(len >= 12 && len <= 65535),
                Step::Done | Step::Abort => return,
            }
        }
        panic!("a stream of a four-record zone did not end");
    }
});
