//! Property tests for loading untrusted table bytes: a corrupt table is
//! either refused with an error or, if it passes validation, can be served
//! from without a panic.
//!
//! Random flips alone almost never get past the checksum, so most cases
//! re-seal the header (length and checksum) after corrupting the body: that
//! is what a buggy compiler, or a hostile file, would hand us.

use std::sync::OnceLock;

use proptest::prelude::*;
use proptest::sample::Index;

use super::format::{CHUNK_FIXED_LEN, HEADER_LEN};
use super::{Table, TableError};
use crate::engine::proptests::{wire_name, QuerySpec, NAMES};
use crate::engine::tests::{engine_for, EXAMPLE};
use crate::engine::{answer_message, Engine, Options, Transport};

/// The compiled test zone: the valid table every case starts from.
fn valid_table() -> &'static [u8] {
    static BYTES: OnceLock<Vec<u8>> = OnceLock::new();
    BYTES.get_or_init(|| engine_for(&[EXAMPLE], Options::default()).table().as_bytes().to_vec())
}

/// Makes the header agree with the bytes again, as a writer would.
fn reseal(bytes: &mut [u8]) {
    super::seal(bytes);
}

/// Everything the runtime does with a table, for names of the test zone:
/// lookups, and full answers through the engine.
fn exercise(table: Table) -> Result<(), TestCaseError> {
    for name in NAMES {
        if let Some(node) = table.find(&wire_name(name)) {
            let _ = (node.default_response(), node.any_response(), node.wildcard_child(), node.dname());
            let _ = (node.denial_proof(0), node.denial_proof(1));
            for (_, response) in node.types() {
                let _ = table.response(response).map(|r| r.chunks().count());
            }
        }
    }
    for zone in 0..=table.zone_count() {
        let _ = table.zone(zone as u32);
    }
    let engine = Engine::new(table, Options::default());
    let mut buf = vec![0u8; 4096];
    for name in NAMES {
        for qtype in [1, 2, 6, 15, 28, 255] {
            let query = QuerySpec { edns: Some((4096, true)), ..QuerySpec::new(name, qtype) }.encode();
            buf[..query.len()].copy_from_slice(&query);
            for transport in [Transport::Udp, Transport::Tcp] {
                if let Some(n) = answer_message(&engine, &mut buf, query.len(), transport) {
                    prop_assert!(n <= buf.len());
                }
                buf[..query.len()].copy_from_slice(&query);
            }
        }
    }
    Ok(())
}

fn corrupt(bytes: &mut Vec<u8>, flips: &[(Index, u8)], cut: Option<Index>) {
    for (at, mask) in flips {
        let len = bytes.len();
        bytes[at.index(len)] ^= mask;
    }
    if let Some(cut) = cut {
        let len = bytes.len();
        bytes.truncate(cut.index(len + 1));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn corrupt_resealed_tables_are_refused_or_served_safely(
        flips in proptest::collection::vec((any::<Index>(), 1u8..), 1..8),
        cut in proptest::option::weighted(0.2, any::<Index>()),
    ) {
        let mut bytes = valid_table().to_vec();
        corrupt(&mut bytes, &flips, cut);
        reseal(&mut bytes);
        if let Ok(table) = Table::from_bytes(bytes) {
            exercise(table)?;
        }
    }

    #[test]
    fn corrupt_body_bytes_fail_the_checksum(at in any::<Index>(), mask in 1u8..) {
        let mut bytes = valid_table().to_vec();
        let body = bytes.len() - HEADER_LEN;
        bytes[HEADER_LEN + at.index(body)] ^= mask;
        prop_assert!(matches!(Table::from_bytes(bytes), Err(TableError::Checksum)));
    }

    #[test]
    fn truncated_tables_are_refused(cut in any::<Index>()) {
        let mut bytes = valid_table().to_vec();
        let len = bytes.len();
        bytes.truncate(cut.index(len));
        prop_assert!(Table::from_bytes(bytes).is_err());
    }

    #[test]
    fn arbitrary_bytes_are_refused_or_served_safely(
        mut bytes in proptest::collection::vec(any::<u8>(), 0..512),
        sealed in any::<bool>(),
    ) {
        // Give random bytes a valid magic and version so they reach the checks behind.
        if sealed && bytes.len() >= HEADER_LEN {
            bytes[..12].copy_from_slice(&valid_table()[..12]);
            reseal(&mut bytes);
        }
        if let Ok(table) = Table::from_bytes(bytes) {
            exercise(table)?;
        }
    }
}

#[test]
fn the_valid_table_is_served() {
    // Guards the harness: the uncorrupted table loads and answers.
    let table = Table::from_bytes(valid_table().to_vec()).expect("valid table");
    assert!(table.find(&wire_name("www.example.com.")).is_some());
    let mut resealed = valid_table().to_vec();
    reseal(&mut resealed);
    assert_eq!(resealed, valid_table(), "resealing a valid table changes nothing");
}

/// Regenerates the table seed of the `table_loader` fuzz target and the zone
/// it and the other targets serve, and the table regressions. Not a test: run
/// `cargo test -p responder --lib -- --ignored write_table_fuzz_seeds` after a
/// table format change, and commit the result.
#[test]
#[ignore = "writes fuzz/corpus seeds; run by hand"]
fn write_table_fuzz_seeds() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus");
    for dir in ["table_loader", "zone_parser"] {
        std::fs::create_dir_all(root.join(dir)).expect("corpus directory");
    }
    // The leading byte is the target's mode: 0 takes the bytes as they are,
    // 1 re-seals the header first (so mutations reach validation), 2 opens
    // them unchecked, as a start does (every mutation reaches the engine).
    let seeds = [
        (0u8, "seed-example.com.table.bin"),
        (1, "seed-example.com.resealed.bin"),
        (2, "seed-example.com.unchecked.bin"),
    ];
    for (mode, name) in seeds {
        let mut seed = vec![mode];
        seed.extend_from_slice(valid_table());
        std::fs::write(root.join("table_loader").join(name), seed).expect("seed written");
    }
    std::fs::write(root.join("zone_parser/seed-example.com.zone"), EXAMPLE.trim_start()).expect("seed written");
    // The regressions, in mode 1 (re-sealed) as the fuzzer found them.
    let regressions = root.join("../regressions");
    for (name, from, to) in [("arcount-overflow", 4, 0xfffc), ("opt-arcount-overflow", 1, 0xffff)] {
        let mut input = vec![1u8];
        input.extend_from_slice(&with_chunk_arcount(from, to));
        std::fs::write(regressions.join(format!("table_loader-{name}.bin")), input).expect("regression written");
    }
}

/// The valid table with the ARCOUNT of an additional chunk that holds
/// `from` records (the first found, referral to `fat.example.com.` first) set to `to`,
/// re-sealed: the corruptions the `table_loader` fuzz target found. Built
/// from the current table rather than read from a file, so that a format
/// change cannot leave the regression testing a table the loader refuses
/// for its version alone.
fn with_chunk_arcount(from: u16, to: u16) -> Vec<u8> {
    let table = Table::from_bytes(valid_table().to_vec()).expect("valid table");
    let fat = table.find(&wire_name("fat.example.com.")).expect("fat is delegated");
    let responses = std::iter::once(fat.default_response())
        .chain(table.bucket_offsets().filter_map(|n| table.node_at(n)).flat_map(|n| n.types().map(|(_, r)| r)));
    let chunk = responses
        .filter_map(|r| table.response(r))
        .flat_map(|r| r.chunks())
        .find(|c| c.arcount == from)
        .expect("a chunk with that many records");
    let base = table.as_bytes().as_ptr() as usize;
    // ARCOUNT is the second field of the chunk header before its bytes.
    let at = chunk.bytes.as_ptr() as usize - base - CHUNK_FIXED_LEN + 2;
    let mut bytes = valid_table().to_vec();
    assert_eq!(bytes[at..at + 2], from.to_le_bytes());
    bytes[at..at + 2].copy_from_slice(&to.to_le_bytes());
    reseal(&mut bytes);
    bytes
}

/// Found by the `table_loader` fuzz target (fuzz/regressions/): one
/// additional chunk's ARCOUNT raised from 4 to 0xfffc. Answering
/// `x.fat.example.com` then added the chunks' ARCOUNTs past 65535 in
/// `Reply::template` (a panic with overflow checks, a wrong ARCOUNT
/// without them). Validation now refuses the table.
#[test]
fn regression_table_loader_arcount_overflow() {
    let refused = Table::from_bytes(with_chunk_arcount(4, 0xfffc));
    assert!(matches!(refused, Err(TableError::Corrupt("additional section count over 65535"))));
}

/// Found by the `table_loader` fuzz target (fuzz/regressions/): one
/// additional chunk's ARCOUNT raised from 1 to 0xffff. The chunks' sum fit,
/// but adding the OPT record in `Reply::finish` then overflowed. A fix for
/// the chunk sum alone does not cover this one.
#[test]
fn regression_table_loader_opt_arcount_overflow() {
    let refused = Table::from_bytes(with_chunk_arcount(1, 0xffff));
    assert!(matches!(refused, Err(TableError::Corrupt("additional section count over 65535"))));
}

/// The table files the fuzz target starts from are of the current format:
/// a seed the loader refuses for its version tests nothing.
#[test]
fn fuzz_seeds_and_regressions_are_current_tables() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
    for dir in ["corpus/table_loader", "regressions"] {
        for entry in std::fs::read_dir(root.join(dir)).expect("fuzz directory") {
            let path = entry.expect("entry").path();
            let bytes = std::fs::read(&path).expect("readable");
            if !path
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("table_loader") || dir != "regressions")
            {
                continue;
            }
            // A mode byte, then the table.
            let version = bytes.get(9..13).map(|v| u32::from_le_bytes([v[0], v[1], v[2], v[3]]));
            assert_eq!(
                version,
                Some(super::format::VERSION),
                "{} is not a current table: regenerate it",
                path.display()
            );
        }
    }
}
