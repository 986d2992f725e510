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

/// Places keys in the table with SipHash under a key drawn from the
/// operating system when the limiter is built (std's `RandomState`), so a
/// spoofing attacker cannot choose prefixes that crowd one probe window.
#[derive(Debug, Clone)]
pub(super) struct KeyHasher(RandomState);

impl KeyHasher {
    pub(super) fn random() -> KeyHasher {
        KeyHasher(RandomState::new())
    }

    #[inline]
    pub(super) fn hash(&self, key: &BucketKey) -> u64 {
        self.0.hash_one((key.prefix, key.kind))
    }
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

    #[test]
    fn hashers_differ_between_limiters() {
        let key = Prefixes::new(24, 56).key(&[198, 18, 0, 2], ResponseClass::Answer);
        let (a, b) = (KeyHasher::random(), KeyHasher::random());
        assert_eq!(a.hash(&key), a.hash(&key));
        assert_ne!(a.hash(&key), b.hash(&key), "each limiter draws its own key");
    }
}
