//! Answering a batch of frames with their table lookups overlapped.
//!
//! On a zone of many names, an answer's time is mostly three cache misses in
//! a row: bucket, node, template. A worker already holds a batch of frames
//! (up to 64 per RX ring read), so before answering any of them it can
//! request every frame's bucket, then every bucket's node: the misses of the
//! batch then overlap. [`Prefetch`] keeps the name hashes in between.
//!
//! A signed table has more lines per DO=1 answer: the DO=1 template, which
//! the node does not name (its DO=0 template does), and for a name the
//! table lacks, under NSEC3, the chain's index slot, entries and proof,
//! found through the SHA-1 of the next closer name. Those steps run only
//! for DO=1 queries to a signed table, and the hash, taken here, is handed
//! to the answer through the worker's scratch (`prehashed`).
//!
//! Prefetching is only a hint. A frame that is not a query, or a table that
//! was replaced in the meantime, costs a useless prefetch and nothing else.

use super::message::{Engine, Scratch};
use crate::table::denial::LastChain;
use crate::table::nsec3_hash::{nsec3_hash, HASH_LEN};
use crate::table::{LastEncloser, Table};
use crate::wire::dns;
use crate::wire::{ethernet, ipv4, ipv6, udp};

/// Frames remembered per batch; frames beyond it are not prefetched.
pub const MAX_BATCH: usize = 64;

/// Bytes kept for the names of a batch's DO=1 queries to an NSEC3 table:
/// 64 names of 32 bytes; a batch of longer names prefetches fewer proofs.
const NAMES_LEN: usize = 2048;

/// The name hashes of a batch's queries, between the prefetch steps.
pub struct Prefetch {
    hashes: [u64; MAX_BATCH],
    qtypes: [u16; MAX_BATCH],
    len: usize,
    /// Bit `i`: query `i` has DO=1 (noted for signed tables only).
    dnssec_ok: u64,
    /// Where query `i`'s name (as received) sits in `names` and its
    /// length, when DO=1 to a table with NSEC3 (0: not kept).
    name_at: [(u16, u8); MAX_BATCH],
    names: [u8; NAMES_LEN],
    names_used: usize,
    /// The NSEC3 proofs being requested: zone, next closer hash, and
    /// where the scratch keeps it (`u8::MAX`: not kept).
    denials: [(u32, [u8; HASH_LEN], u8); MAX_BATCH],
}

impl Default for Prefetch {
    fn default() -> Prefetch {
        Prefetch::new()
    }
}

impl Prefetch {
    pub fn new() -> Prefetch {
        Prefetch {
            hashes: [0; MAX_BATCH],
            qtypes: [0; MAX_BATCH],
            len: 0,
            dnssec_ok: 0,
            name_at: [(0, 0); MAX_BATCH],
            names: [0; NAMES_LEN],
            names_used: 0,
            denials: [(0, [0; HASH_LEN], u8::MAX); MAX_BATCH],
        }
    }

    /// Step one, for each frame of the batch: requests the bucket of the
    /// query name in `frame` (a whole Ethernet frame).
    #[inline]
    pub fn frame(&mut self, engine: &Engine, frame: &[u8]) {
        if let Some(message) = dns_message(frame) {
            self.message(engine, message);
        }
    }

    /// Step one for a bare DNS message (a kernel socket's datagram).
    #[inline]
    pub fn message(&mut self, engine: &Engine, message: &[u8]) {
        if self.len == MAX_BATCH {
            return;
        }
        let Some(question) = message.get(dns::HEADER_LEN..) else { return };
        let Some((name_len, _)) = dns::question_name_len(question) else { return };
        let (Some(name), Some(fixed)) = (question.get(..name_len), question.get(name_len..)) else { return };
        let Some(qtype) = fixed.get(dns::question_field::TYPE).and_then(|t| t.first_chunk::<2>()) else { return };
        let table = engine.table();
        self.hashes[self.len] = table.prefetch_bucket(name);
        self.qtypes[self.len] = u16::from_be_bytes(*qtype);
        if table.has_denial_chains() {
            self.note_dnssec_ok(table, name, fixed);
        }
        self.len += 1;
    }

    /// For a signed table: whether the query about to be added asks with
    /// DO=1, read from an OPT right after the question (where nearly every
    /// client puts it; one elsewhere only goes without the prefetch), and
    /// for NSEC3 its name, in case the table lacks it.
    #[cold]
    #[inline(never)]
    fn note_dnssec_ok(&mut self, table: &Table, name: &[u8], fixed: &[u8]) {
        let i = self.len;
        self.name_at[i] = (0, 0);
        let opt = fixed.get(dns::question_field::LEN..);
        let Some(&[0, 0, 41, _, _, _, _, flags, ..]) = opt else { return };
        if flags & 0x80 == 0 {
            return;
        }
        self.dnssec_ok |= 1 << i;
        let end = self.names_used + name.len();
        if table.has_nsec3() && end <= NAMES_LEN {
            self.names[self.names_used..end].copy_from_slice(name);
            self.name_at[i] = (self.names_used as u16, name.len() as u8);
            self.names_used = end;
        }
    }

    /// Steps two and three, once every frame went through
    /// [`Prefetch::frame`]: requests each bucket's node, then each node's
    /// template for the query type (then the DO=1 steps); then starts a
    /// new batch. `scratch` is the one the batch will be answered with: it
    /// gets the NSEC3 hashes taken here.
    #[inline]
    pub fn finish(&mut self, engine: &Engine, scratch: &mut Scratch) {
        let table = engine.table();
        let len = self.len.min(MAX_BATCH);
        let mut absent = 0u64;
        for (i, &hash) in self.hashes[..len].iter().enumerate() {
            if !table.prefetch_node(hash) {
                absent |= 1 << i;
            }
        }
        for (&hash, &qtype) in self.hashes[..len].iter().zip(&self.qtypes[..len]) {
            table.prefetch_response(hash, qtype);
        }
        if self.dnssec_ok != 0 {
            self.finish_dnssec_ok(table, absent, scratch);
        }
        self.len = 0;
    }

    /// The DO=1 steps: for each name the table lacks, its NSEC3 hash (kept
    /// in `scratch` for the answer) and the chain's slot; each present
    /// name's DO=1 template; then the chain entries, then the proofs, whose
    /// entries are noted in `scratch` beside the hashes so that the answer
    /// need not search again. The chain is parsed once for the passes.
    #[cold]
    #[inline(never)]
    fn finish_dnssec_ok(&mut self, table: &Table, absent: u64, scratch: &mut Scratch) {
        let prehashed = &mut scratch.query.prehashed;
        prehashed.clear(table.id());
        let mut denials = 0;
        let mut lower = [0u8; dns::LOWER_LEN];
        let mut chains = LastChain::default();
        let mut last = LastEncloser::default();
        for i in bits(self.dnssec_ok & absent) {
            let (at, len) = (self.name_at[i].0 as usize, self.name_at[i].1 as usize);
            let Some(name) = self.names.get(at..at + len).filter(|n| !n.is_empty()) else { continue };
            for (l, &b) in lower.iter_mut().zip(name) {
                *l = b.to_ascii_lowercase();
            }
            let Some(next) = table.nsec3_next_closer(&lower[..len], &mut chains, &mut last) else { continue };
            let hash = nsec3_hash(next.name, next.salt, next.iterations);
            let kept = prehashed.add(next.name, next.salt, next.iterations, hash);
            if let Some(chain) = chains.get(table, next.zone) {
                chain.prefetch_slot(&hash);
            }
            let kept = kept.and_then(|k| u8::try_from(k).ok()).unwrap_or(u8::MAX);
            self.denials[denials] = (next.zone, hash, kept);
            denials += 1;
        }
        for i in bits(self.dnssec_ok & !absent) {
            table.prefetch_signed_response(self.hashes[i], self.qtypes[i]);
        }
        for (zone, hash, _) in &self.denials[..denials] {
            if let Some(chain) = chains.get(table, *zone) {
                chain.prefetch_entries(hash);
            }
        }
        for (zone, hash, kept) in &self.denials[..denials] {
            let Some(entry) = chains.get(table, *zone).and_then(|c| c.prefetch_proof(hash)) else { continue };
            if *kept != u8::MAX {
                prehashed.found(*kept as usize, entry, *zone);
            }
        }
        self.dnssec_ok = 0;
        self.names_used = 0;
    }
}

/// The indices of the bits set in `set`, lowest first.
fn bits(mut set: u64) -> impl Iterator<Item = usize> {
    std::iter::from_fn(move || {
        let i = set.trailing_zeros() as usize;
        set &= set.wrapping_sub(1);
        (i < MAX_BATCH).then_some(i)
    })
}

/// The UDP payload of an IPv4 or IPv6 frame, found without checking more
/// than it takes to get there: the answer path checks everything. (Checking
/// the IP version here, through the views, cost 13 instructions a frame.)
#[inline]
fn dns_message(frame: &[u8]) -> Option<&[u8]> {
    let l3 = ethernet::layer3(frame)?;
    let packet = frame.get(l3.offset..)?;
    let udp_at = match l3.ethertype {
        ethernet::ETHERTYPE_IPV4 => ipv4::claimed_header_len(packet)?,
        ethernet::ETHERTYPE_IPV6 => ipv6::HEADER_LEN,
        _ => return None,
    };
    packet.get(udp_at + udp::HEADER_LEN..)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::proptests::{wire_name, FrameSpec, Network, QuerySpec};
    use crate::engine::tests::{engine_for, EXAMPLE};
    use crate::engine::Options;

    fn frames() -> Vec<(Vec<u8>, &'static str)> {
        let v4 =
            Network::V4 { src: [198, 18, 0, 1], dst: [198, 18, 0, 2], options: vec![1; 4], no_udp_checksum: false };
        let v6 = Network::V6 { src: [0xfd; 16], dst: [0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x53] };
        vec![
            (
                FrameSpec::simple(v4, vec![(0x8100, 7)]).build(&QuerySpec::new("WwW.Example.COM.", 1).encode()),
                "www.example.com.",
            ),
            (
                FrameSpec::simple(v6, vec![]).build(&QuerySpec::new("nosuch.example.com.", 28).encode()),
                "nosuch.example.com.",
            ),
        ]
    }

    #[test]
    fn each_query_frame_remembers_the_hash_of_its_lowered_name() {
        let engine = engine_for(&[EXAMPLE], Options::default());
        let mut p = Prefetch::new();
        let frames = frames();
        for (frame, _) in &frames {
            p.frame(&engine, frame);
        }
        p.frame(&engine, &[0u8; 60]); // not IPv4 or IPv6: skipped
        p.frame(&engine, &frames[0].0[..40]); // cut before the question: skipped
        assert_eq!(p.len, frames.len());
        for (i, (_, name)) in frames.iter().enumerate() {
            assert_eq!(p.hashes[i], engine.table().prefetch_bucket(&wire_name(name)), "{name}");
        }
        assert_eq!((p.qtypes[0], p.qtypes[1]), (1, 28));
        p.finish(&engine, &mut Scratch::default());
        // The same query as a bare message (kernel socket) hashes the same.
        p.message(&engine, &QuerySpec::new("WwW.Example.COM.", 1).encode());
        p.message(&engine, &[0u8; 5]); // shorter than a header: skipped
        assert_eq!((p.len, p.hashes[0]), (1, engine.table().prefetch_bucket(&wire_name("www.example.com."))));
        p.finish(&engine, &mut Scratch::default());
        assert_eq!(p.len, 0, "finish starts a new batch");
    }

    #[test]
    fn a_batch_keeps_at_most_max_batch_frames() {
        let engine = engine_for(&[EXAMPLE], Options::default());
        let mut p = Prefetch::default();
        let (frame, _) = &frames()[0];
        for _ in 0..MAX_BATCH + 3 {
            p.frame(&engine, frame);
        }
        assert_eq!(p.len, MAX_BATCH);
        p.finish(&engine, &mut Scratch::default());
        p.frame(&engine, frame);
        assert_eq!(p.len, 1);
    }
}
