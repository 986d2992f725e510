//! `answer_in_place` over arbitrary frames.
//!
//! Input: a flags byte (bit 0: re-seal the IPv4 and UDP checksums first, so
//! mutations get past them), two bytes of capacity slack (big-endian; the
//! capacity is the frame length plus the slack, wrapped to at most 2048),
//! then the frame. A canary after the capacity must survive, an answer must
//! fit the capacity, and a frame passed to the kernel must be unchanged.

#![no_main]

use libfuzzer_sys::fuzz_target;
use responder::engine::{answer_in_place, Verdict};
use responder_fuzz::{engine, CANARY, CANARY_LEN, MAX_FRAME};

fuzz_target!(|data: &[u8]| {
    let Some(([flags, slack @ ..], frame)) = data.split_first_chunk::<3>() else { return };
    let mut frame = frame.to_vec();
    if flags & 1 == 1 {
        responder_fuzz::reseal_frame(&mut frame);
    }
    let frame = &frame[..];
    let len = frame.len();
    if len > MAX_FRAME {
        return;
    }
    let capacity = len + u16::from_be_bytes(*slack) as usize % (MAX_FRAME - len + 1);
    let mut buf = vec![0u8; capacity + CANARY_LEN];
    buf[..len].copy_from_slice(frame);
    buf[capacity..].fill(CANARY);

    let verdict = answer_in_place(engine(), &mut buf, len, capacity);

    assert!(buf[capacity..].iter().all(|&b| b == CANARY), "{verdict:?} wrote past capacity {capacity}");
    match verdict {
        Verdict::Transmit(n) => assert!(n <= capacity, "Transmit({n}) beyond capacity {capacity}"),
        Verdict::Pass => assert_eq!(&buf[..len], frame, "a frame passed to the kernel was modified"),
        Verdict::Drop => {}
    }
});
