//! The tier-0 map key's hash of a name: the one definition user space has
//! of `t0_hash` in `ebpf/xdp_dns.h` (`T0_HASH_SEED`, `T0_HASH_MUL`, the loop
//! in `tier0_name`). The program hashes the name a word at a time while it
//! lowercases it; the compiler hashes the same words here. A mismatch makes
//! every key miss, which the PROG_TEST_RUN tests of
//! `xdp/program/tests/tier0.rs` catch (each compiled key must be answered).
//!
//! Not a defence against anyone choosing names: the map hashes the key
//! again with its own seed, and the name is compared whole after the
//! lookup, so a collision costs a miss (the worker answers), never a wrong
//! answer.

use super::layout::NAME_MAX;

/// `T0_HASH_SEED`.
pub const SEED: u64 = 0x9e37_79b9_7f4a_7c15;
/// `T0_HASH_MUL`.
pub const MUL: u64 = 0xff51_afd7_ed55_8ccd;

/// The hash of a lowercased wire name `len` bytes long, zero padded to
/// [`NAME_MAX`], read as little-endian 64-bit words as the program reads
/// it: the words the name has bytes in, the last one's tail zero.
pub fn name_hash(name: &[u8; NAME_MAX], len: usize) -> u64 {
    let words = len.min(NAME_MAX).div_ceil(8);
    name[..8 * words].chunks_exact(8).fold(SEED, |h, word| {
        let mut w = [0u8; 8];
        w.copy_from_slice(word);
        let h = (h ^ u64::from_le_bytes(w)).wrapping_mul(MUL);
        h ^ (h >> 29)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header_define(name: &str) -> u64 {
        let value = super::super::layout::header_define_text(name);
        let hex = value.trim_start_matches("0x").trim_end_matches("ULL");
        u64::from_str_radix(hex, 16).expect("a hex number")
    }

    #[test]
    fn the_constants_are_the_c_headers() {
        assert_eq!(header_define("T0_HASH_SEED"), SEED);
        assert_eq!(header_define("T0_HASH_MUL"), MUL);
    }

    #[test]
    fn every_byte_of_the_names_words_moves_the_hash() {
        let mut name = [0u8; NAME_MAX];
        name[..13].copy_from_slice(b"\x07example\x03com\x00");
        let base = name_hash(&name, 13);
        for i in 0..16 {
            let mut other = name;
            other[i] ^= 0x20;
            assert_ne!(name_hash(&other, 13), base, "byte {i}");
        }
        // The words past the name's are not read: the program leaves them.
        let mut other = name;
        other[16] = 1;
        assert_eq!(name_hash(&other, 13), base);
        assert_ne!(name_hash(&name, 17), base, "one more word, if only of zeros");
    }
}
