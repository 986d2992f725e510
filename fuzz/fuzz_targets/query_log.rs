//! The `--log-queries` line (`server::query_log::line`) over arbitrary
//! answer bytes and client addresses: never a panic, always a line that
//! starts as documented and stays bounded however long or odd the name.

#![no_main]

use libfuzzer_sys::fuzz_target;
use responder::engine::Transport;
use responder::server::query_log::{line, NAME_TEXT_MAX};

fuzz_target!(|data: &[u8]| {
    let (client, answer) = data.split_at(data.len().min([0, 4, 16][data.first().map_or(0, |b| *b as usize % 3)]));
    for transport in [Transport::Udp, Transport::Tcp] {
        let text = line(Some(answer), transport, client);
        assert!(text.starts_with("query from "), "{text}");
        // "query from " + address + " over udp: " + name + " TYPE65535 -> RCODE15, N bytes"
        assert!(text.len() <= NAME_TEXT_MAX + 4 + 120, "{} bytes: {text}", text.len());
        assert!(!text.contains('\n'), "{text:?}");
    }
    assert!(line(None, Transport::Udp, client).ends_with("no answer sent"));
});
