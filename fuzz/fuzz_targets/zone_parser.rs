//! `zone::parse_str` over arbitrary UTF-8 text, without and with an origin;
//! a zone that loads is also compiled, and a table that compiles is served.
//!
//! `$INCLUDE` reads files named by the input: inputs containing it are
//! skipped, so the fuzzer cannot wander the file system (or read /dev/zero
//! until it runs out of memory). Include handling has its own unit tests.

#![no_main]

use libfuzzer_sys::fuzz_target;
use responder::engine::{Engine, Options};
use responder::table::Table;
use responder::zone::{parse_str, Name};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if data.windows(8).any(|w| w.eq_ignore_ascii_case(b"$include")) {
        return;
    }
    let origin = Name::parse("example.com.", None).ok().flatten();
    for origin in [None, origin.as_ref()] {
        let Ok(zone) = parse_str(text, "fuzz.zone", origin) else { continue };
        if let Ok(table) = Table::compile(&[zone]) {
            responder_fuzz::probe(&Engine::new(table, Options::default()));
        }
    }
});
