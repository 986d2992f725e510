//! The NSEC3 hash of a name (RFC 5155 §5): SHA-1 over the lowercase wire
//! name and the salt, then `iterations` more times over the digest and the
//! salt. Used by the compiler for the names it knows and by the engine for
//! the one query name it does not (no allocation: the digest lives on the
//! stack).

use sha1::{Digest, Sha1};

pub const HASH_LEN: usize = 20;

pub fn nsec3_hash(lower_name: &[u8], salt: &[u8], iterations: u16) -> [u8; HASH_LEN] {
    let mut h = Sha1::new();
    h.update(lower_name);
    h.update(salt);
    let mut digest: [u8; HASH_LEN] = h.finalize().into();
    for _ in 0..iterations {
        let mut h = Sha1::new();
        h.update(digest);
        h.update(salt);
        digest = h.finalize().into();
    }
    digest
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
}
