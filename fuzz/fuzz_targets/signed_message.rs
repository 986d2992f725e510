//! `answer_message` over arbitrary messages, answered from a signed table
//! (NSEC or NSEC3 chain), so that DO=1 queries reach the RRSIG variants,
//! the denial proofs found at answer time and the DNAME chase.
//!
//! Input: a flags byte (bit 0: TCP, else UDP; bit 1: the NSEC3 table, else
//! the NSEC one), two bytes of buffer slack (big-endian; the buffer is the
//! message plus the slack, at most 65535), then the message. A reply must
//! fit the buffer, keep the query's ID and have QR set.

#![no_main]

use libfuzzer_sys::fuzz_target;
use responder::engine::{answer_message, Transport};
use responder_fuzz::signed;

fuzz_target!(|data: &[u8]| {
    let Some(([flags, slack @ ..], message)) = data.split_first_chunk::<3>() else { return };
    let transport = if flags & 1 == 1 { Transport::Tcp } else { Transport::Udp };
    let engine = signed::engine(flags & 2 != 0);
    let size = (message.len() + u16::from_be_bytes(*slack) as usize).min(u16::MAX as usize);
    if message.len() > size {
        return;
    }
    let mut buf = vec![0u8; size];
    buf[..message.len()].copy_from_slice(message);

    if let Some(n) = answer_message(engine, &mut buf, message.len(), transport) {
        assert!(n <= size, "reply of {n} bytes in a {size}-byte buffer");
        assert!(n >= 12, "reply of {n} bytes has no header");
        assert_eq!(buf[..2], message[..2], "the reply keeps the query's ID");
        assert!(buf[2] & 0x80 != 0, "the reply has QR set");
    }
});
