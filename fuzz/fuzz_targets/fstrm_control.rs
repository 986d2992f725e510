//! The one thing capture reads from outside: a Frame Streams reader's
//! control frame (`capture::fstrm::read_control`, which the dnstap
//! handshake runs on the reader's ACCEPT and FINISH).
//!
//! Beyond "no panic": an accepted frame was read from within the input, its
//! content types fit in fstrm's 512-byte limit, and writing it back with the
//! first content type and reading that gives the same type and content type.

#![no_main]

use libfuzzer_sys::fuzz_target;
use responder::capture::fstrm::{control_frame, read_control, Control};

fuzz_target!(|data: &[u8]| {
    let mut rest = data;
    let Ok(control) = read_control(&mut rest) else { return };
    let used = data.len() - rest.len();
    assert!((12..=8 + 512).contains(&used), "read {used} bytes for one control frame");
    let total: usize = control.content_types.iter().map(|c| c.len() + 8).sum();
    assert!(total + 4 <= 512, "content types of {total} bytes in a frame of at most 512");
    if let (Some(first), false) =
        (control.content_types.first(), matches!(control.kind, Control::Stop | Control::Finish))
    {
        let again = read_control(&mut &control_frame(control.kind, first)[..]).expect("our own frame reads back");
        assert_eq!((again.kind, again.content_types.as_slice()), (control.kind, std::slice::from_ref(first)));
    }
});
