//! The NSEC3 hash of a name (RFC 5155 §5): SHA-1 over the lowercase wire
//! name and the salt, then `iterations` more times over the digest and the
//! salt. Used by the compiler for the names it knows and by the engine for
//! the one query name it does not (no allocation: the digest lives on the
//! stack).
//!
//! Nearly every input (a name and salt under 64 bytes, a digest and a salt
//! under 44) fits the `sha1` crate's block buffer at once: it is filled
//! through the crate's block-level API (`Sha1Core`, `Buffer::set`) and
//! finalized by the crate, which pads it and runs its compression function.
//! Only the bytes are placed here; the padding and the rounds stay the
//! crate's. That skips the `Digest` wrapper's two buffered updates and
//! their copies (docs/BENCHMARKS.md has the figures). Longer inputs take
//! `Digest`.
//!
//! A batch of names ([`nsec3_hashes`], the batch prefetcher's) is padded
//! first, by the same crate's block buffer, and the crate's compression
//! function then runs on the blocks back to back: with the SHA extensions
//! one block's rounds are a chain of dependent steps, and a hash alone
//! waits on that chain's latency, while several in a row overlap in the
//! CPU (nothing between them but the next call).

use sha1::block_api::Sha1Core;
use sha1::digest::block_api::{Buffer, FixedOutputCore};
use sha1::{Digest, Sha1};

pub const HASH_LEN: usize = 20;

pub fn nsec3_hash(lower_name: &[u8], salt: &[u8], iterations: u16) -> [u8; HASH_LEN] {
    let mut digest = sha1_of(lower_name, salt);
    for _ in 0..iterations {
        digest = sha1_of(&digest, salt);
    }
    digest
}

/// What [`nsec3_hashes`] hashes: a lowercase wire name, the salt and
/// iterations of its zone's chain.
#[derive(Clone, Copy)]
pub struct Input<'a> {
    pub name: &'a [u8],
    pub salt: &'a [u8],
    pub iterations: u16,
}

/// Inputs padded before their blocks are compressed: 1 KiB of blocks on
/// the stack.
const RUN: usize = 16;

/// SHA-1's initial state (FIPS 180-4 §5.3.1), where each block's rounds
/// start (the crate keeps its own private).
const H0: [u32; 5] = [0x6745_2301, 0xefcd_ab89, 0x98ba_dcfe, 0x1032_5476, 0xc3d2_e1f0];

/// The NSEC3 hash of each of `inputs`, into `out` (as many as both hold):
/// inputs of one block and no iterations, nearly all of them (RFC 9276
/// asks for 0 iterations), padded first and compressed back to back, the
/// others one by one.
pub fn nsec3_hashes(inputs: &[Input<'_>], out: &mut [[u8; HASH_LEN]]) {
    for (inputs, out) in inputs.chunks(RUN).zip(out.chunks_mut(RUN)) {
        let mut blocks = [[0u8; 64]; RUN];
        let mut fits = [false; RUN];
        for ((block, fits), i) in blocks.iter_mut().zip(&mut fits).zip(inputs) {
            *fits = i.iterations == 0 && pad(i.name, i.salt, block);
        }
        // Nothing else in this loop: the next block's rounds can start
        // while the last one's are still in flight.
        let mut states = [H0; RUN];
        for (state, block) in states.iter_mut().zip(&blocks[..inputs.len()]) {
            sha1::block_api::compress(state, std::slice::from_ref(block));
        }
        for (((o, state), fits), i) in out.iter_mut().zip(states).zip(fits).zip(inputs) {
            *o = match fits {
                true => digest_bytes(state),
                false => nsec3_hash(i.name, i.salt, i.iterations),
            };
        }
    }
}

/// Writes the one block of `a` followed by `b`, padded by the crate's
/// block buffer (the bytes, 0x80, zeros, the length in bits), into `out`;
/// `false` when they need two blocks. Written where it is kept, not
/// returned: every copy of freshly written bytes is a load that waits for
/// the stores before it.
fn pad(a: &[u8], b: &[u8], out: &mut [u8; 64]) -> bool {
    let len = a.len() + b.len();
    let mut buffer = Buffer::<Sha1Core>::default();
    // Room left for the 0x80 byte and the 8-byte length.
    if len + 9 > buffer.size() {
        return false;
    }
    let mut block = sha1::digest::array::Array::default();
    block[..a.len()].copy_from_slice(a);
    block[a.len()..len].copy_from_slice(b);
    buffer.set(block, len);
    buffer.len64_padding_be(len as u64 * 8, |padded| out.copy_from_slice(padded));
    true
}

fn digest_bytes(state: [u32; 5]) -> [u8; HASH_LEN] {
    let mut out = [0u8; HASH_LEN];
    for (o, word) in out.chunks_exact_mut(4).zip(state) {
        o.copy_from_slice(&word.to_be_bytes());
    }
    out
}

/// SHA-1 of `a` followed by `b`.
#[inline]
fn sha1_of(a: &[u8], b: &[u8]) -> [u8; HASH_LEN] {
    let len = a.len() + b.len();
    let mut buffer = Buffer::<Sha1Core>::default();
    if len >= buffer.size() {
        return sha1_digest(a, b);
    }
    let mut block = sha1::digest::array::Array::default();
    block[..a.len()].copy_from_slice(a);
    block[a.len()..len].copy_from_slice(b);
    // Below the block size: the crate's eager buffer holds it unprocessed.
    buffer.set(block, len);
    let mut out = Default::default();
    Sha1Core::default().finalize_fixed_core(&mut buffer, &mut out);
    out.into()
}

/// SHA-1 of `a` followed by `b` through the crate's `Digest` interface:
/// any length.
fn sha1_digest(a: &[u8], b: &[u8]) -> [u8; HASH_LEN] {
    let mut h = Sha1::new();
    h.update(a);
    h.update(b);
    h.finalize().into()
}

/// The base32hex (RFC 4648 §7) label of an NSEC3 owner as bytes; `None`
/// when it is not one (the hash of a SHA-1 NSEC3 is 32 characters).
pub fn decode_base32hex(label: &[u8]) -> Option<[u8; HASH_LEN]> {
    if label.len() != 32 {
        return None;
    }
    let mut out = [0u8; HASH_LEN];
    let mut acc = 0u64;
    let mut bits = 0;
    let mut n = 0;
    for &c in label {
        let v = match c.to_ascii_lowercase() {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'v' => c.to_ascii_lowercase() - b'a' + 10,
            _ => return None,
        };
        acc = acc << 5 | v as u64;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            *out.get_mut(n)? = (acc >> bits) as u8;
            n += 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_5155_appendix_a_hashes() {
        // example, salt aabbccdd, 12 iterations: 0p9mhaveqvm6t7vbl5lop2u3t2rp3tom.
        let name = b"\x07example\x00";
        let salt = [0xaa, 0xbb, 0xcc, 0xdd];
        let want = decode_base32hex(b"0p9mhaveqvm6t7vbl5lop2u3t2rp3tom").unwrap();
        assert_eq!(nsec3_hash(name, &salt, 12), want);
        let a = b"\x01a\x07example\x00";
        assert_eq!(nsec3_hash(a, &salt, 12), decode_base32hex(b"35mthgpgcu1qg68fab165klnsnk3dpvl").unwrap());
        assert_eq!(decode_base32hex(b"35mthgpgcu1qg68fab165klnsnk3dpv"), None);
        assert_eq!(decode_base32hex(b"35mthgpgcu1qg68fab165klnsnk3dpvz"), None);
    }

    /// `nsec3_hash` through `Digest` alone, as it was before the one-block
    /// path.
    fn through_digest(name: &[u8], salt: &[u8], iterations: u16) -> [u8; HASH_LEN] {
        let mut digest = sha1_digest(name, salt);
        for _ in 0..iterations {
            digest = sha1_digest(&digest, salt);
        }
        digest
    }

    #[test]
    fn every_input_length_around_the_block_hashes_as_digest_does() {
        // 55 bytes and below pad in one block, 56 to 63 in two, 64 and up
        // take `Digest`: each boundary, with and without a salt.
        let bytes: Vec<u8> = (0..=255u8).collect();
        for len in 0..=130 {
            for salt_len in [0, 1, 8, 35, 36, 44, 45, 63, 64, 255] {
                let (name, salt) = (&bytes[..len.min(255)], &bytes[255 - salt_len..]);
                for iterations in [0, 1, 2] {
                    assert_eq!(
                        nsec3_hash(name, salt, iterations),
                        through_digest(name, salt, iterations),
                        "name {len}, salt {salt_len}, {iterations} iterations"
                    );
                }
            }
        }
    }

    #[test]
    fn a_batch_hashes_each_name_as_digest_does() {
        // Every length around one block (55 bytes and under are padded
        // and compressed in a row), a batch over several runs, and inputs
        // with iterations among them (hashed alone).
        let bytes: Vec<u8> = (0..=255u8).rev().collect();
        let salt = [0xab, 0xcd];
        let inputs: Vec<Input<'_>> = (0..=70)
            .map(|len| Input { name: &bytes[len..2 * len], salt: &salt, iterations: (len % 7 == 3) as u16 })
            .collect();
        let mut out = vec![[0u8; HASH_LEN]; inputs.len()];
        nsec3_hashes(&inputs, &mut out);
        for (i, o) in inputs.iter().zip(&out) {
            assert_eq!(*o, through_digest(i.name, i.salt, i.iterations), "{} bytes", i.name.len());
        }
        let mut block = [0u8; 64];
        assert!(pad(&bytes[..53], &salt, &mut block) && !pad(&bytes[..54], &salt, &mut block));
        let mut short = [[0u8; HASH_LEN]; 2];
        nsec3_hashes(&inputs[..5], &mut short);
        assert_eq!(short, [out[0], out[1]], "as many as `out` holds");
    }

    proptest::proptest! {
        #[test]
        fn the_block_path_hashes_as_digest_does(
            // Mostly one block, sometimes two or `Digest`.
            name in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..=90),
            salt in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..=40),
            iterations in 0u16..20,
        ) {
            proptest::prop_assert_eq!(nsec3_hash(&name, &salt, iterations), through_digest(&name, &salt, iterations));
        }
    }
}
