//! Read-only views over table records. Every accessor is bounds-checked and
//! returns `None` on bytes that do not make sense, so the runtime never
//! trusts the table further than it can check.

use super::format::*;
use crate::wire::checksum;

#[derive(Clone, Copy)]
pub struct NodeView<'t> {
    b: &'t [u8],
    at: usize,
    flags: u8,
    zone: u32,
    default: u32,
    types: &'t [u8],
    extra: usize,
    name: &'t [u8],
}

#[derive(Clone, Copy)]
pub struct DnameView<'t> {
    pub ttl: u32,
    /// Target name, uncompressed wire form.
    pub target: &'t [u8],
}

impl<'t> NodeView<'t> {
    /// The name of the node at `at`: all a probe needs to compare.
    #[inline(always)]
    pub(super) fn name_at(b: &'t [u8], at: usize) -> Option<&'t [u8]> {
        let len = *b.get(at)? as usize;
        b.get(at + 1..at + 1 + len)
    }

    #[inline]
    pub(super) fn parse(b: &'t [u8], at: usize) -> Option<NodeView<'t>> {
        let name = Self::name_at(b, at)?;
        let fixed_at = at + 1 + name.len();
        let fixed = b.get(fixed_at..fixed_at + NODE_FIXED_LEN)?;
        let flags = fixed[0];
        let type_count = u16::from_le_bytes([fixed[9], fixed[10]]) as usize;
        let types_at = fixed_at + NODE_FIXED_LEN;
        let extra = types_at + type_count * TYPE_ENTRY_LEN;
        Some(NodeView {
            b,
            at,
            flags,
            zone: u32::from_le_bytes([fixed[1], fixed[2], fixed[3], fixed[4]]),
            default: u32::from_le_bytes([fixed[5], fixed[6], fixed[7], fixed[8]]),
            types: b.get(types_at..extra)?,
            extra,
            name,
        })
    }

    pub fn offset(&self) -> usize {
        self.at
    }
    pub fn name(&self) -> &'t [u8] {
        self.name
    }
    pub fn zone(&self) -> u32 {
        self.zone
    }
    /// At or below a zone cut: answers are referrals.
    pub fn is_cut(&self) -> bool {
        self.flags & FLAG_CUT != 0
    }
    pub fn default_response(&self) -> u32 {
        self.default
    }

    /// The response for `qtype`, or the default (no such data) response.
    #[inline]
    pub fn response_for(&self, qtype: u16) -> u32 {
        let want = qtype.to_le_bytes();
        for e in self.types.chunks_exact(TYPE_ENTRY_LEN) {
            if e[..2] == want {
                return u32::from_le_bytes([e[2], e[3], e[4], e[5]]);
            }
        }
        self.default
    }

    /// The minimal answer to ANY (RFC 8482): one RRset, the first one.
    pub fn any_response(&self) -> u32 {
        if self.is_cut() {
            return self.default;
        }
        match self.types.get(2..6) {
            Some(r) => u32::from_le_bytes([r[0], r[1], r[2], r[3]]),
            None => self.default,
        }
    }

    pub fn types(&self) -> impl Iterator<Item = (u16, u32)> + 't {
        self.types
            .chunks_exact(TYPE_ENTRY_LEN)
            .map(|e| (u16::from_le_bytes([e[0], e[1]]), u32::from_le_bytes([e[2], e[3], e[4], e[5]])))
    }

    pub fn wildcard_child(&self) -> Option<u32> {
        if self.flags & FLAG_WILDCARD_CHILD == 0 {
            return None;
        }
        u32_at(self.b, self.extra)
    }

    /// At a served child's apex, the zone of its served parent and the
    /// referral that parent gives there (`format`, FLAG_PARENT_CUT).
    pub fn parent_cut(&self) -> Option<(u32, u32)> {
        if self.flags & FLAG_PARENT_CUT == 0 {
            return None;
        }
        let at = self.after_wildcard();
        Some((u32_at(self.b, at)?, u32_at(self.b, at + 4)?))
    }

    /// Where the fields after the wildcard child (if any) start.
    #[inline(always)]
    fn after_wildcard(&self) -> usize {
        if self.flags & FLAG_WILDCARD_CHILD != 0 {
            self.extra + 4
        } else {
            self.extra
        }
    }

    /// Where the DNAME (if any) starts.
    #[inline(always)]
    fn after_parent_cut(&self) -> usize {
        self.after_wildcard() + if self.flags & FLAG_PARENT_CUT != 0 { 8 } else { 0 }
    }

    pub fn dname(&self) -> Option<DnameView<'t>> {
        if self.flags & FLAG_DNAME == 0 {
            return None;
        }
        let at = self.after_parent_cut();
        let ttl = u32_at(self.b, at)?;
        let len = *self.b.get(at + 4)? as usize;
        Some(DnameView { ttl, target: self.b.get(at + 5..at + 5 + len)? })
    }

    /// Entry `i` of the denial chain proofs the compiler found for this
    /// node as a closest encloser (`format`, FLAG_DENIAL): 0 covers its
    /// wildcard, 1 (NSEC3 chains only) matches the name itself; `None`
    /// when the node carries none, so the engine searches by name.
    #[inline]
    pub fn denial_proof(&self, i: usize) -> Option<u32> {
        if self.flags & FLAG_DENIAL == 0 {
            return None;
        }
        let mut at = self.after_parent_cut();
        if self.flags & FLAG_DNAME != 0 {
            at += 5 + *self.b.get(at + 4)? as usize;
        }
        u32_at(self.b, at + 4 * i)
    }
}

#[derive(Clone, Copy)]
pub struct ZoneView<'t> {
    pub nxdomain: u32,
    pub nodata: u32,
    /// The NSEC chain (see `format`), 0 for a zone without NSEC.
    pub nsec_chain: u32,
    /// The apex's node (checked at load to be a node of this zone).
    pub apex: u32,
    /// The earliest RRSIG expiration among the zone's answers, worked out
    /// at compile time (see `Table::earliest_rrsig_expiry`).
    pub rrsig_expiry: Option<u32>,
    _b: std::marker::PhantomData<&'t [u8]>,
}

impl ZoneView<'_> {
    pub(super) fn parse(b: &[u8], at: usize) -> Option<ZoneView<'_>> {
        // One bounds check for the record, then fields at constant places
        // in an array: negative answers read this on the answer path.
        let r: &[u8; ZONE_LEN] = b.get(at..at.checked_add(ZONE_LEN)?)?.try_into().ok()?;
        let field = |i: usize| u32::from_le_bytes([r[i], r[i + 1], r[i + 2], r[i + 3]]);
        Some(ZoneView {
            nxdomain: field(0),
            nodata: field(4),
            nsec_chain: field(8),
            apex: field(12),
            rrsig_expiry: (field(16) & ZONE_HAS_EXPIRY != 0).then(|| field(20)),
            _b: std::marker::PhantomData,
        })
    }
}

/// A response template (see `format`).
#[derive(Clone, Copy)]
pub struct ResponseView<'t> {
    pub flags: u8,
    pub ancount: u16,
    pub nscount: u16,
    pub body: &'t [u8],
    /// `(u16 pos, u16 target)` entries.
    pub patches: &'t [u8],
    /// Checksum partial sum of `body` as stored, placeholders included.
    pub body_sum: u64,
    /// The response a DO=1 query gets instead (RRSIGs and proofs), 0 when
    /// it is this one (an unsigned zone, or nothing to add).
    pub signed: u32,
    chunk_count: u16,
    chunks: &'t [u8],
}

/// One additional-section chunk of a response.
#[derive(Clone, Copy)]
pub struct ChunkView<'t> {
    pub arcount: u16,
    pub required: bool,
    pub bytes: &'t [u8],
    pub patches: &'t [u8],
    /// Checksum partial sum of `bytes` as stored, placeholders included.
    pub sum: u64,
}

impl<'t> ResponseView<'t> {
    #[inline]
    pub(super) fn parse(b: &'t [u8], at: usize) -> Option<ResponseView<'t>> {
        let f = array_at::<RESPONSE_FIXED_LEN>(b, at)?;
        let patch_count = u16::from_le_bytes([f[1], f[2]]) as usize;
        let body_len = u16::from_le_bytes([f[7], f[8]]) as usize;
        let body_at = at + RESPONSE_FIXED_LEN;
        let patches_at = body_at + body_len;
        let chunks_at = patches_at + patch_count * PATCH_LEN;
        Some(ResponseView {
            flags: f[0],
            ancount: u16::from_le_bytes([f[3], f[4]]),
            nscount: u16::from_le_bytes([f[5], f[6]]),
            body: b.get(body_at..patches_at)?,
            patches: b.get(patches_at..chunks_at)?,
            body_sum: checksum::from_stored([f[11], f[12]]),
            signed: u32::from_le_bytes([f[13], f[14], f[15], f[16]]),
            chunk_count: u16::from_le_bytes([f[9], f[10]]),
            chunks: b.get(chunks_at..)?,
        })
    }

    pub fn rcode(&self) -> u8 {
        self.flags & RESP_RCODE_MASK
    }
    pub fn authoritative(&self) -> bool {
        self.flags & RESP_AA != 0
    }
    /// No message can hold this answer: it is always truncated.
    pub fn too_big(&self) -> bool {
        self.flags & RESP_TOO_BIG != 0
    }

    pub fn chunk_count(&self) -> usize {
        self.chunk_count as usize
    }

    /// The additional chunks in order; stops early at bytes that do not parse.
    pub fn chunks(&self) -> Chunks<'t> {
        Chunks { b: self.chunks, left: self.chunk_count }
    }
}

pub struct Chunks<'t> {
    b: &'t [u8],
    left: u16,
}

impl<'t> Iterator for Chunks<'t> {
    type Item = ChunkView<'t>;
    #[inline]
    fn next(&mut self) -> Option<ChunkView<'t>> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let f = array_at::<CHUNK_FIXED_LEN>(self.b, 0)?;
        let len = u16::from_le_bytes([f[0], f[1]]) as usize;
        let patch_count = u16::from_le_bytes([f[5], f[6]]) as usize;
        let bytes_end = CHUNK_FIXED_LEN + len;
        let end = bytes_end + patch_count * PATCH_LEN;
        let chunk = ChunkView {
            arcount: u16::from_le_bytes([f[2], f[3]]),
            required: f[4] & CHUNK_REQUIRED != 0,
            bytes: self.b.get(CHUNK_FIXED_LEN..bytes_end)?,
            patches: self.b.get(bytes_end..end)?,
            sum: checksum::from_stored([f[7], f[8]]),
        };
        self.b = &self.b[end..];
        Some(chunk)
    }
}
