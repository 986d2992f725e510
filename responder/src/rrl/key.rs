//! Which bucket a response is charged to: the client's address cut to its
//! prefix, its address family, and the response class; and the keyed hash
//! that places that key in the table.

use std::hash::{BuildHasher, RandomState};

use crate::engine::policy::ResponseClass;

/// A bucket's identity. `kind` packs the family and class with a marker bit,
/// so that no key equals an empty slot's all-zero key and an IPv4 prefix
/// never equals an IPv6 one with the same bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct BucketKey {
    prefix: [u64; 2],
    kind: u8,
}

const OCCUPIED: u8 = 0x80;
const FAMILY_IPV4: u8 = 0x10;
const FAMILY_IPV6: u8 = 0x20;
/// Neither 4 nor 16 address bytes: the caller did not know the client.
/// All such responses share one bucket per class rather than escape limits.
const FAMILY_UNKNOWN: u8 = 0x30;

/// The first 12 bytes of an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`),
/// which is how a dual-stack socket reports an IPv4 client.
const V4_MAPPED: [u8; 12] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff];

impl BucketKey {
    /// The key of an empty slot; equal to no key [`Prefixes::key`] makes.
    pub(super) const EMPTY: BucketKey = BucketKey { prefix: [0; 2], kind: 0 };

    pub(super) fn is_empty(&self) -> bool {
        self.kind == 0
    }
}

/// Address masks for the configured prefix lengths.
#[derive(Debug, Clone, Copy)]
pub(super) struct Prefixes {
    ipv4: u32,
    ipv6: u128,
}

impl Prefixes {
    /// Lengths beyond the address size are treated as the whole address;
    /// [`super::RrlConfig::validate`] refuses them before this is reached.
    pub(super) fn new(ipv4_bits: u8, ipv6_bits: u8) -> Prefixes {
        let ipv4 = u32::MAX.checked_shl(32 - u32::from(ipv4_bits.min(32))).unwrap_or(0);
        let ipv6 = u128::MAX.checked_shl(128 - u32::from(ipv6_bits.min(128))).unwrap_or(0);
        Prefixes { ipv4, ipv6 }
    }

    /// The bucket for a response of `class` to `client` (4 or 16 address
    /// bytes; anything else is an unknown client).
    pub(super) fn key(&self, client: &[u8], class: ResponseClass) -> BucketKey {
        let class_bits = match class {
            ResponseClass::Answer => 0,
            ResponseClass::NxDomain => 1,
            ResponseClass::Error => 2,
        };
        let (family, prefix) = match client.len() {
            4 => (FAMILY_IPV4, self.ipv4_prefix(client)),
            16 if client[..12] == V4_MAPPED => (FAMILY_IPV4, self.ipv4_prefix(&client[12..])),
            16 => {
                let mut bytes = [0u8; 16];
                bytes.copy_from_slice(client);
                (FAMILY_IPV6, u128::from_be_bytes(bytes) & self.ipv6)
            }
            _ => (FAMILY_UNKNOWN, 0),
        };
        BucketKey { prefix: [(prefix >> 64) as u64, prefix as u64], kind: OCCUPIED | family | class_bits }
    }

    /// `address` is exactly 4 bytes here.
    fn ipv4_prefix(&self, address: &[u8]) -> u128 {
        let mut bytes = [0u8; 4];
        bytes.copy_from_slice(address);
        u128::from(u32::from_be_bytes(bytes) & self.ipv4)
    }
}

/// Places keys in the table with SipHash-1-3 (the variant std's `HashMap`
/// uses) under a 128-bit secret drawn when the limiter is built, so a
/// spoofing attacker cannot choose prefixes that crowd one probe window.
///
/// Written out for the key's fixed three words rather than fed through
/// `std::hash::Hasher`, whose byte buffering cost more than the rest of a
/// decision put together (see docs/BENCHMARKS.md).
#[derive(Debug, Clone)]
pub(super) struct KeyHasher {
    k0: u64,
    k1: u64,
}

impl KeyHasher {
    /// The secret comes from std's `RandomState` (seeded by the operating
    /// system's random source): two of its SipHash outputs, unpredictable
    /// without its own key, serve as ours.
    pub(super) fn random() -> KeyHasher {
        let state = RandomState::new();
        KeyHasher { k0: state.hash_one(0x5252_4c30_u64), k1: state.hash_one(0x5252_4c31_u64) }
    }

    #[inline]
    pub(super) fn hash(&self, key: &BucketKey) -> u64 {
        siphash::<1, 3>(self.k0, self.k1, [key.prefix[0], key.prefix[1], u64::from(key.kind)])
    }
}

/// SipHash-c-d of a 24-byte message given as three little-endian words.
#[inline(always)]
fn siphash<const C: usize, const D: usize>(k0: u64, k1: u64, message: [u64; 3]) -> u64 {
    let mut v = [
        k0 ^ 0x736f_6d65_7073_6575,
        k1 ^ 0x646f_7261_6e64_6f6d,
        k0 ^ 0x6c79_6765_6e65_7261,
        k1 ^ 0x7465_6462_7974_6573,
    ];
    // The last block of a 24-byte message is its length in the top byte.
    for m in [message[0], message[1], message[2], 24 << 56] {
        v[3] ^= m;
        for _ in 0..C {
            sip_round(&mut v);
        }
        v[0] ^= m;
    }
    v[2] ^= 0xff;
    for _ in 0..D {
        sip_round(&mut v);
    }
    v[0] ^ v[1] ^ v[2] ^ v[3]
}

#[inline(always)]
fn sip_round(v: &mut [u64; 4]) {
    v[0] = v[0].wrapping_add(v[1]);
    v[1] = v[1].rotate_left(13) ^ v[0];
    v[0] = v[0].rotate_left(32);
    v[2] = v[2].wrapping_add(v[3]);
    v[3] = v[3].rotate_left(16) ^ v[2];
    v[0] = v[0].wrapping_add(v[3]);
    v[3] = v[3].rotate_left(21) ^ v[0];
    v[2] = v[2].wrapping_add(v[1]);
    v[1] = v[1].rotate_left(17) ^ v[2];
    v[2] = v[2].rotate_left(32);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    fn v4(prefixes: &Prefixes, address: &str, class: ResponseClass) -> BucketKey {
        prefixes.key(&address.parse::<Ipv4Addr>().unwrap().octets(), class)
    }

    fn v6(prefixes: &Prefixes, address: &str) -> BucketKey {
        prefixes.key(&address.parse::<Ipv6Addr>().unwrap().octets(), ResponseClass::Answer)
    }

    #[test]
    fn ipv4_slash_24_groups_the_last_octet() {
        let p = Prefixes::new(24, 56);
        let a = ResponseClass::Answer;
        assert_eq!(v4(&p, "198.18.0.2", a), v4(&p, "198.18.0.255", a));
        assert_ne!(v4(&p, "198.18.0.2", a), v4(&p, "198.18.1.2", a));
    }

    #[test]
    fn odd_ipv4_prefix_lengths_cut_inside_an_octet() {
        let p = Prefixes::new(20, 56);
        let a = ResponseClass::Answer;
        // /20: 198.18.0.0 – 198.18.15.255.
        assert_eq!(v4(&p, "198.18.0.1", a), v4(&p, "198.18.15.254", a));
        assert_ne!(v4(&p, "198.18.15.254", a), v4(&p, "198.18.16.0", a));
        let p = Prefixes::new(32, 56);
        assert_ne!(v4(&p, "198.18.0.1", a), v4(&p, "198.18.0.2", a));
        let p = Prefixes::new(0, 56);
        assert_eq!(v4(&p, "0.0.0.0", a), v4(&p, "255.255.255.255", a));
    }

    #[test]
    fn ipv6_prefixes_group_by_bits_not_bytes() {
        let p = Prefixes::new(24, 56);
        assert_eq!(v6(&p, "fd00:0:0:ff::1"), v6(&p, "fd00::ff:ffff:ffff:ffff:ffff"));
        assert_ne!(v6(&p, "fd00:0:0:ff::1"), v6(&p, "fd00:0:0:100::1"));
        // /33: the top bit of the third group decides.
        let p = Prefixes::new(24, 33);
        assert_eq!(v6(&p, "fd00:1:0::"), v6(&p, "fd00:1:7fff:ffff::1"));
        assert_ne!(v6(&p, "fd00:1:0::"), v6(&p, "fd00:1:8000::"));
        let p = Prefixes::new(24, 128);
        assert_ne!(v6(&p, "fd00::1"), v6(&p, "fd00::2"));
    }

    #[test]
    fn classes_have_their_own_keys() {
        let p = Prefixes::new(24, 56);
        let keys = [ResponseClass::Answer, ResponseClass::NxDomain, ResponseClass::Error]
            .map(|class| v4(&p, "198.18.0.2", class));
        assert_ne!(keys[0], keys[1]);
        assert_ne!(keys[0], keys[2]);
        assert_ne!(keys[1], keys[2]);
    }

    #[test]
    fn ipv4_and_ipv6_with_the_same_bits_differ() {
        // With /0 both families mask every address to zero bits.
        let p = Prefixes::new(0, 0);
        assert_ne!(v4(&p, "198.18.0.2", ResponseClass::Answer), v6(&p, "fd00::2"));
        assert_ne!(v4(&p, "0.0.0.0", ResponseClass::Answer), v6(&p, "::"));
    }

    #[test]
    fn ipv4_mapped_ipv6_is_the_ipv4_client() {
        let p = Prefixes::new(24, 56);
        assert_eq!(v6(&p, "::ffff:198.18.0.9"), v4(&p, "198.18.0.2", ResponseClass::Answer));
        assert_ne!(v6(&p, "::ffff:198.18.1.9"), v4(&p, "198.18.0.2", ResponseClass::Answer));
    }

    #[test]
    fn unknown_clients_share_a_key_per_class_and_never_look_empty() {
        let p = Prefixes::new(24, 56);
        let a = ResponseClass::Answer;
        assert_eq!(p.key(&[], a), p.key(&[1, 2, 3], a));
        assert_ne!(p.key(&[], a), p.key(&[], ResponseClass::Error));
        assert_ne!(p.key(&[0; 4], a), p.key(&[], a));
        for client in [&[][..], &[0; 4], &[0; 16], &[0; 5]] {
            assert!(!p.key(client, a).is_empty());
        }
    }

    /// The written-out SipHash agrees with std's SipHash-2-4 (the one
    /// variant std exposes with chosen keys) on 24-byte messages.
    #[test]
    #[allow(deprecated)]
    fn siphash_matches_the_reference() {
        use std::hash::{Hasher, SipHasher};
        let messages = [[0u64; 3], [1, 2, 3], [u64::MAX, 0x0123_4567_89ab_cdef, 0x80]];
        for (k0, k1) in [(0, 0), (0x0706_0504_0302_0100, 0x0f0e_0d0c_0b0a_0908), (u64::MAX, 42)] {
            for m in messages {
                let mut reference = SipHasher::new_with_keys(k0, k1);
                for word in m {
                    reference.write(&word.to_le_bytes());
                }
                assert_eq!(siphash::<2, 4>(k0, k1, m), reference.finish(), "keys {k0:x} {k1:x}, message {m:x?}");
            }
        }
    }

    #[test]
    fn hashers_differ_between_limiters() {
        let key = Prefixes::new(24, 56).key(&[198, 18, 0, 2], ResponseClass::Answer);
        let (a, b) = (KeyHasher::random(), KeyHasher::random());
        assert_eq!(a.hash(&key), a.hash(&key));
        assert_ne!(a.hash(&key), b.hash(&key), "each limiter draws its own key");
    }
}
