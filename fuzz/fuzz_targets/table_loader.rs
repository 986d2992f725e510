//! `Table::from_bytes` over untrusted bytes; a table that loads must be
//! servable: lookups and answers for the probe names must not panic.
//!
//! Input: a mode byte, then the table. Mode bit 0 re-seals the header
//! (length and checksum) before loading, as a writer would: otherwise almost
//! every mutation stops at the checksum and validation is never reached.
//! Mode bit 1 opens the table as a start does (`Table::from_bytes_unchecked`:
//! structural checks only, the full check run after the engine answered),
//! so the engine meets every table the structure admits, not only those
//! that pass validation.

#![no_main]

use libfuzzer_sys::fuzz_target;
use responder::engine::{Engine, Options};
use responder::table::format::HEADER_LEN;
use responder::table::{seal, Table};

fuzz_target!(|data: &[u8]| {
    let Some((&mode, table)) = data.split_first() else { return };
    let mut bytes = table.to_vec();
    if mode & 1 == 1 && bytes.len() >= HEADER_LEN {
        seal(&mut bytes);
    }
    let unchecked = mode & 2 == 2;
    let opened = if unchecked { Table::from_bytes_unchecked(bytes) } else { Table::from_bytes(bytes) };
    let Ok(table) = opened else { return };
    for q in responder_fuzz::probe_queries() {
        // The question name starts at 12 and ends before QTYPE, QCLASS and the 11-byte OPT.
        let name = &q[12..q.len() - 4 - 11];
        if let Some(node) = table.find(name) {
            for (_, response) in node.types() {
                let _ = table.response(response).map(|r| r.chunks().count());
            }
        }
    }
    if unchecked {
        // The check that the start runs beside the workers: a verdict, no panic.
        let _ = table.check();
    }
    responder_fuzz::probe(&Engine::new(table, Options::default()));
});
