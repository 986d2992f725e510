//! The table's byte layout, shared by the compiler (writer) and the runtime
//! (reader). Everything is little-endian and addressed by `u32` offsets from
//! the start of the table, so a table file can be used as read, in place.
//!
//! ```text
//! header (64 bytes; written and read through `header::Header`)
//!   0 magic "RSPDTBL\0"   8 version u32       12 reserved u32
//!  16 total_len u64        24 checksum u64 (FNV-1a over bytes 64..total_len)
//!  32 bucket_count u32    36 max_probe u32    40 buckets_off u32
//!  44 zone_count u32      48 zones_off u32    52..64 reserved
//! buckets: bucket_count × (u32 node offset (0 = empty), u32 tag), open
//!          addressing, linear probing; the tag is the high half of the
//!          name's hash, so a probe skips other names without reading their node
//! zones:   zone_count × (u32 nxdomain response, u32 nodata response,
//!          u32 nsec chain (0 = none), u32 apex node, u32 flags
//!          (ZONE_HAS_EXPIRY), u32 earliest RRSIG expiration): what a
//!          start and `ctl stats` need per zone, without a walk of its nodes
//! chain:   u8 kind 1 (NSEC), u32 count, count × (u32 node, u32 proof
//!          response): the zone's NSEC owners in canonical order (RFC 4034
//!          §6.1), each with its NSEC and RRSIGs as an authority-only
//!          response; or kind 3 (NSEC3), u16 iterations, u8 salt length,
//!          salt, u32 count, u8 index bits b, (2^b + 1) × u32 (the first
//!          entry whose hash begins with each b-bit prefix, then count),
//!          count × ([u8; 20] hash, u32 proof response) in hash order
//! node:    u8 name_len, name (lowercase wire; first, so a probe compares it
//!          before decoding anything else), u8 flags, u32 zone,
//!          u32 default response, u16 type_count,
//!          type_count × (u16 type, u32 response),
//!          [u32 wildcard child node]   if FLAG_WILDCARD_CHILD
//!          [u32 zone, u32 response]    if FLAG_PARENT_CUT: at a served
//!          child's apex, the referral that zone (its served parent) gives
//!          there, for a DNAME chase that stays in the parent (format 8)
//!          [u32 ttl, u8 len, target]   if FLAG_DNAME
//!          [u32 wildcard proof, u32 encloser proof (NSEC3 only)] if FLAG_DENIAL:
//!          the chain entries that cover `*.<name>` and (NSEC3) match the
//!          name, found at compile time for a name that can be a closest
//!          encloser (u32::MAX: no wildcard name fits 255 bytes)
//! response: u8 flags (rcode | AA | TOO_BIG), u16 patch_count, u16 ancount,
//!          u16 nscount, u16 body_len, u16 chunk_count, [u8; 2] body sum,
//!          u32 signed (the DO=1 variant's response, 0 = this one), body,
//!          patch_count × (u16 pos, u16 target),
//!          chunk_count × (u16 len, u16 arcount, u8 required, u16 patch_count,
//!                         [u8; 2] sum, bytes, patches)
//! ```
//!
//! Counts are 16 bits wide (format 5; 8 bits before, which refused RRsets of
//! 256 records): a body or chunk of at most 65,535 bytes holds at most
//! 32,767 placeholders, and a body that fits a message at most 5,459
//! records (12 bytes each at the least) and so 10,918 additional chunks. A response whose required
//! sections cannot fit any DNS message is stored empty and flagged TOO_BIG.
//!
//! A response template holds the answer and authority sections (the body)
//! and the additional section in chunks, one RRset each, that are added while
//! they fit. Compression pointers in templates are placeholders: each patch
//! says where the pointer goes and what it points at, relative to the
//! question (whose length varies with wildcards and NXDOMAIN) or to the
//! template itself, so that one template serves every query name it fits.

pub const MAGIC: &[u8; 8] = b"RSPDTBL\0";
/// Bumped whenever the layout changes: a table from another version is refused.
pub const VERSION: u32 = 8;
pub const HEADER_LEN: usize = 64;

pub const FLAG_CUT: u8 = 1;
pub const FLAG_DNAME: u8 = 2;
pub const FLAG_WILDCARD_CHILD: u8 = 4;
pub const FLAG_DENIAL: u8 = 8;
pub const FLAG_PARENT_CUT: u8 = 16;

pub const RESP_AA: u8 = 0x10;
pub const RESP_RCODE_MASK: u8 = 0x0f;
/// The answer and authority (and required glue) need more than a DNS
/// message can carry, whatever the question: the body is left empty, and
/// the engine truncates (TC over UDP, SERVFAIL over TCP, as Knot answers).
pub const RESP_TOO_BIG: u8 = 0x20;

/// The largest DNS message: TCP's two-byte length prefix (RFC 1035 §4.2.2).
pub const MAX_MESSAGE: usize = u16::MAX as usize;
/// Where the sections start after the shortest question (the root name).
pub const MIN_QUESTION_END: usize = 12 + 1 + 4;
/// Where they start after the longest (a 255-byte name).
pub const MAX_QUESTION_END: usize = 12 + 255 + 4;
/// The most section bytes any answer can carry; more is TOO_BIG.
pub const MAX_SECTIONS: usize = MAX_MESSAGE - MIN_QUESTION_END;
/// The last body offset a compression pointer may target: the body starts
/// after the question, at most [`MAX_QUESTION_END`], and a pointer reaches
/// only 14 bits into the message (RFC 1035 §4.1.4).
pub const MAX_BODY_TARGET: usize = TARGET_VALUE_MASK as usize - MAX_QUESTION_END;

pub const CHUNK_REQUIRED: u8 = 1;

/// Patch targets: a 14-bit offset into the body, or one of these tagged forms.
pub const TARGET_KIND_MASK: u16 = 0xc000;
pub const TARGET_BODY: u16 = 0x0000;
/// The suffix of the query name with this many labels (low bits).
pub const TARGET_QSUFFIX: u16 = 0x4000;
/// The whole query name (offset 12).
pub const TARGET_QNAME: u16 = 0x8000;
/// An offset inside the current additional chunk.
pub const TARGET_CHUNK: u16 = 0xc000;
pub const TARGET_VALUE_MASK: u16 = 0x3fff;

/// A bucket: node offset, then tag.
pub const BUCKET_LEN: usize = 8;
pub const ZONE_LEN: usize = 24;
/// The zone record's expiration field holds a value (the zone serves RRSIGs).
pub const ZONE_HAS_EXPIRY: u32 = 1;
pub const CHAIN_ENTRY_LEN: usize = 8;
pub const NSEC3_ENTRY_LEN: usize = 24;
/// After the name: flags, zone, default response, type count.
pub const NODE_FIXED_LEN: usize = 11;
pub const TYPE_ENTRY_LEN: usize = 6;
pub const RESPONSE_FIXED_LEN: usize = 17;
pub const PATCH_LEN: usize = 4;
/// What the compiler writes where a patch will put a compression pointer.
pub const PLACEHOLDER: [u8; 2] = [0xc0, 0x00];
pub const CHUNK_FIXED_LEN: usize = 9;

/// 64-bit hash of a lowercase wire name; the bucket index is its low bits,
/// the bucket's tag ([`tag`]) its high half.
#[inline(always)]
pub fn hash_name(name: &[u8]) -> u64 {
    hash_words(name, |w| w)
}

/// The tag a bucket keeps of its node's name hash: independent of the
/// bucket index (its low bits) for any table under 2^32 buckets.
#[inline(always)]
pub fn tag(hash: u64) -> u32 {
    (hash >> 32) as u32
}

/// [`hash_name`] of the lowered form of `name`, without writing it out:
/// each word is lowered as it is hashed.
#[inline(always)]
pub fn hash_name_lowering(name: &[u8]) -> u64 {
    hash_words(name, crate::wire::dns::lower_word)
}

/// The hash over `map` of each little-endian word of `name`, the last one
/// zero-padded (zero maps to zero under lowering, so padding commutes).
#[inline(always)]
fn hash_words(name: &[u8], map: impl Fn(u64) -> u64) -> u64 {
    let mut h = NameHasher::new();
    for w in crate::wire::words(name) {
        h.word(map(u64::from_le_bytes(w)));
    }
    h.word(map(u64::from_le_bytes(crate::wire::tail_word(name))));
    h.finish(name.len())
}

/// [`hash_name`] fed a word at a time, for a name whose words pass by
/// anyway (the query name, as it is lowered): every whole little-endian
/// word, then the zero-padded rest (a zero word when there is none), then
/// the name's length (known only at the end of a walk).
#[derive(Default)]
pub struct NameHasher(u64);

const HASH_K: u64 = 0x9e37_79b9_7f4a_7c15;

impl NameHasher {
    #[inline(always)]
    pub fn new() -> NameHasher {
        NameHasher(0)
    }

    #[inline(always)]
    pub fn word(&mut self, w: u64) {
        self.0 = (self.0.rotate_left(23) ^ w).wrapping_mul(HASH_K);
    }

    /// The hash of the name of `len` bytes whose words went in.
    #[inline(always)]
    pub fn finish(self, len: usize) -> u64 {
        let h = (self.0 ^ len as u64).wrapping_mul(HASH_K);
        h ^ (h >> 29)
    }
}

/// FNV-1a over 8-byte words: catches truncation and corruption of a table file.
pub fn checksum(bytes: &[u8]) -> u64 {
    checksum_from(CHECKSUM_SEED, bytes)
}

/// What [`checksum`] starts from.
pub const CHECKSUM_SEED: u64 = 0xcbf2_9ce4_8422_2325;

/// [`checksum`] continued: `checksum_from(checksum(a), b)` is the checksum
/// of `a` then `b` when `a`'s length is a multiple of 8 (its last word was
/// whole), so that a table can be summed a piece at a time.
pub fn checksum_from(mut h: u64, bytes: &[u8]) -> u64 {
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        h ^= u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    for &b in chunks.remainder() {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// The `N` bytes at `at` as an array: one bounds check, after which every
/// index into the record is known to be in range.
#[inline(always)]
pub fn array_at<const N: usize>(b: &[u8], at: usize) -> Option<&[u8; N]> {
    b.get(at..at.checked_add(N)?)?.try_into().ok()
}

#[inline(always)]
pub fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    array_at(b, at).map(|s| u16::from_le_bytes(*s))
}

#[inline(always)]
pub fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    array_at(b, at).map(|s| u32::from_le_bytes(*s))
}

#[inline(always)]
pub fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    array_at(b, at).map(|s| u64::from_le_bytes(*s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashing_while_lowering_equals_hashing_the_lowered_name() {
        // Every byte value, at every length and offset in a word.
        let all: Vec<u8> = (0..=255u8).rev().collect();
        for len in 0..40 {
            for start in 0..8 {
                let raw = &all[start * 29 % 200..][..len];
                let lowered: Vec<u8> = raw.iter().map(u8::to_ascii_lowercase).collect();
                assert_eq!(hash_name_lowering(raw), hash_name(&lowered), "{raw:02x?}");
            }
        }
        assert_ne!(hash_name(b"\x01a\x00"), hash_name(b"\x01b\x00"));
    }
}
