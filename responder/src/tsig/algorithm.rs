//! The HMAC algorithms TSIG names (RFC 8945 §6), each one RustCrypto's
//! `Hmac` over its hash: nothing here computes a digest by hand.

use hmac::{digest::KeyInit, Hmac, Mac as _};

/// An HMAC algorithm a key is used with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    HmacSha1,
    HmacSha224,
    HmacSha256,
    HmacSha384,
    HmacSha512,
}

/// The longest MAC any algorithm here makes (SHA-512).
pub const MAX_MAC_LEN: usize = 64;

impl Algorithm {
    /// Every algorithm, in the order the docs list them.
    pub const ALL: [Algorithm; 5] = [
        Algorithm::HmacSha1,
        Algorithm::HmacSha224,
        Algorithm::HmacSha256,
        Algorithm::HmacSha384,
        Algorithm::HmacSha512,
    ];

    /// The name as configs and `kdig -y` write it (Knot's `algorithm`).
    pub fn mnemonic(self) -> &'static str {
        match self {
            Algorithm::HmacSha1 => "hmac-sha1",
            Algorithm::HmacSha224 => "hmac-sha224",
            Algorithm::HmacSha256 => "hmac-sha256",
            Algorithm::HmacSha384 => "hmac-sha384",
            Algorithm::HmacSha512 => "hmac-sha512",
        }
    }

    /// The algorithm name as it travels in a TSIG record: a domain name
    /// whose one label is the mnemonic.
    pub fn wire_name(self) -> &'static [u8] {
        match self {
            Algorithm::HmacSha1 => b"\x09hmac-sha1\x00",
            Algorithm::HmacSha224 => b"\x0bhmac-sha224\x00",
            Algorithm::HmacSha256 => b"\x0bhmac-sha256\x00",
            Algorithm::HmacSha384 => b"\x0bhmac-sha384\x00",
            Algorithm::HmacSha512 => b"\x0bhmac-sha512\x00",
        }
    }

    /// From a config's mnemonic, in any case.
    pub fn from_mnemonic(text: &str) -> Option<Algorithm> {
        Algorithm::ALL.into_iter().find(|a| a.mnemonic().eq_ignore_ascii_case(text))
    }

    /// From a lowered wire name.
    pub fn from_wire_name(lowered: &[u8]) -> Option<Algorithm> {
        Algorithm::ALL.into_iter().find(|a| a.wire_name() == lowered)
    }

    /// Length of the untruncated MAC.
    pub fn output_len(self) -> usize {
        match self {
            Algorithm::HmacSha1 => 20,
            Algorithm::HmacSha224 => 28,
            Algorithm::HmacSha256 => 32,
            Algorithm::HmacSha384 => 48,
            Algorithm::HmacSha512 => 64,
        }
    }

    /// The shortest truncated MAC accepted: the larger of 10 octets and half
    /// the output (RFC 8945 §5.2.2.1).
    pub fn min_mac_len(self) -> usize {
        (self.output_len() / 2).max(10)
    }

    pub(super) fn hasher(self, secret: &[u8]) -> Hasher {
        // HMAC takes keys of any length (longer ones are hashed first), so
        // `new_from_slice` cannot fail for it; the fallback is unreachable.
        fn new<M: KeyInit>(secret: &[u8]) -> M {
            M::new_from_slice(secret).unwrap_or_else(|_| M::new(&Default::default()))
        }
        match self {
            Algorithm::HmacSha1 => Hasher::Sha1(new(secret)),
            Algorithm::HmacSha224 => Hasher::Sha224(new(secret)),
            Algorithm::HmacSha256 => Hasher::Sha256(new(secret)),
            Algorithm::HmacSha384 => Hasher::Sha384(new(secret)),
            Algorithm::HmacSha512 => Hasher::Sha512(new(secret)),
        }
    }
}

impl std::fmt::Display for Algorithm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.mnemonic())
    }
}

/// A MAC: up to [`MAX_MAC_LEN`] bytes, kept on the stack.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Mac {
    bytes: [u8; MAX_MAC_LEN],
    len: u8,
}

impl Mac {
    pub const EMPTY: Mac = Mac { bytes: [0; MAX_MAC_LEN], len: 0 };

    /// `None` when longer than any algorithm's output.
    pub fn from_slice(mac: &[u8]) -> Option<Mac> {
        let mut out = Mac::EMPTY;
        out.bytes.get_mut(..mac.len())?.copy_from_slice(mac);
        out.len = mac.len() as u8;
        Some(out)
    }

    pub fn as_slice(&self) -> &[u8] {
        &self.bytes[..self.len as usize]
    }
}

impl std::fmt::Debug for Mac {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Mac(")?;
        for b in self.as_slice() {
            write!(f, "{b:02x}")?;
        }
        write!(f, ")")
    }
}

/// One running HMAC, whichever its hash.
#[derive(Clone)]
pub(super) enum Hasher {
    Sha1(Hmac<sha1::Sha1>),
    Sha224(Hmac<sha2::Sha224>),
    Sha256(Hmac<sha2::Sha256>),
    Sha384(Hmac<sha2::Sha384>),
    Sha512(Hmac<sha2::Sha512>),
}

impl Hasher {
    pub(super) fn update(&mut self, data: &[u8]) {
        match self {
            Hasher::Sha1(h) => h.update(data),
            Hasher::Sha224(h) => h.update(data),
            Hasher::Sha256(h) => h.update(data),
            Hasher::Sha384(h) => h.update(data),
            Hasher::Sha512(h) => h.update(data),
        }
    }

    pub(super) fn finish(self) -> Mac {
        let mut mac = Mac::EMPTY;
        let mut put = |bytes: &[u8]| {
            mac.bytes[..bytes.len()].copy_from_slice(bytes);
            mac.len = bytes.len() as u8;
        };
        match self {
            Hasher::Sha1(h) => put(&h.finalize().into_bytes()),
            Hasher::Sha224(h) => put(&h.finalize().into_bytes()),
            Hasher::Sha256(h) => put(&h.finalize().into_bytes()),
            Hasher::Sha384(h) => put(&h.finalize().into_bytes()),
            Hasher::Sha512(h) => put(&h.finalize().into_bytes()),
        }
        mac
    }

    /// Whether `tag` is the MAC or its leftmost part, compared in constant
    /// time by the crate.
    pub(super) fn verify(self, tag: &[u8]) -> bool {
        match self {
            Hasher::Sha1(h) => h.verify_truncated_left(tag).is_ok(),
            Hasher::Sha224(h) => h.verify_truncated_left(tag).is_ok(),
            Hasher::Sha256(h) => h.verify_truncated_left(tag).is_ok(),
            Hasher::Sha384(h) => h.verify_truncated_left(tag).is_ok(),
            Hasher::Sha512(h) => h.verify_truncated_left(tag).is_ok(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 4231 test case 2 for each SHA-2 size, and RFC 2202 case 2 for
    /// SHA-1: the crates are wired to the right hashes.
    #[test]
    fn each_algorithm_is_the_named_hmac() {
        let cases: [(Algorithm, &str); 4] = [
            (Algorithm::HmacSha1, "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"),
            (Algorithm::HmacSha224, "a30e01098bc6dbbf45690f3a7e9e6d0f8bbea2a39e6148008fd05e44"),
            (Algorithm::HmacSha256, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
            (
                Algorithm::HmacSha384,
                "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e8e2240ca5e69e2c78b3239ecfab21649",
            ),
        ];
        for (alg, hex) in cases {
            let mut h = alg.hasher(b"Jefe");
            h.update(b"what do ya want ");
            h.update(b"for nothing?");
            let mac = h.finish();
            let got: String = mac.as_slice().iter().map(|b| format!("{b:02x}")).collect();
            assert_eq!(got, hex, "{alg}");
            assert_eq!(mac.as_slice().len(), alg.output_len());
        }
    }

    #[test]
    fn verify_accepts_the_mac_and_its_left_part_only() {
        let alg = Algorithm::HmacSha512;
        let mut h = alg.hasher(b"key");
        h.update(b"data");
        let mac = h.clone().finish();
        assert!(h.clone().verify(mac.as_slice()));
        assert!(h.clone().verify(&mac.as_slice()[..32]));
        let mut wrong = mac;
        wrong.bytes[3] ^= 1;
        assert!(!h.clone().verify(wrong.as_slice()));
        assert!(!h.verify(&mac.as_slice()[1..33]));
    }

    #[test]
    fn names_read_back() {
        for alg in Algorithm::ALL {
            assert_eq!(Algorithm::from_mnemonic(&alg.mnemonic().to_uppercase()), Some(alg));
            assert_eq!(Algorithm::from_wire_name(alg.wire_name()), Some(alg));
        }
        assert_eq!(Algorithm::from_mnemonic("hmac-md5"), None);
    }
}
