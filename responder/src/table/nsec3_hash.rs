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
