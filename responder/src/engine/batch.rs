//! Answering a batch of frames with their table lookups overlapped.
//!
//! On a zone of many names, an answer's time is mostly three cache misses in
//! a row: bucket, node, template. A worker already holds a batch of frames
//! (up to 64 per RX ring read), so before answering any of them it can
//! request every frame's bucket, then every bucket's node: the misses of the
//! batch then overlap. [`Prefetch`] keeps the slots in between.
//!
//! Prefetching is only a hint. A frame that is not a query, or a table that
//! was replaced in the meantime, costs a useless prefetch and nothing else.

use super::Engine;
use crate::wire::dns::{self, LOWER_LEN};
use crate::wire::{ethernet, ipv6, udp};

/// Frames remembered per batch; frames beyond it are not prefetched.
pub const MAX_BATCH: usize = 64;

/// The bucket slots of a batch's queries, between the prefetch steps.
pub struct Prefetch {
    slots: [usize; MAX_BATCH],
    qtypes: [u16; MAX_BATCH],
    len: usize,
    /// Scratch for the lowered query name, kept so it is not cleared per frame.
    lower: [u8; LOWER_LEN],
}

impl Default for Prefetch {
    fn default() -> Prefetch {
        Prefetch::new()
    }
}

impl Prefetch {
    pub fn new() -> Prefetch {
        Prefetch { slots: [0; MAX_BATCH], qtypes: [0; MAX_BATCH], len: 0, lower: [0; LOWER_LEN] }
    }

    /// Step one, for each frame of the batch: requests the bucket of the
    /// query name in `frame` (a whole Ethernet frame).
    #[inline]
    pub fn frame(&mut self, engine: &Engine, frame: &[u8]) {
        if self.len == MAX_BATCH {
            return;
        }
        let Some(message) = dns_message(frame) else { return };
        let Some(question) = dns::parse_question(message, &mut self.lower) else { return };
        let Some(name) = self.lower.get(..question.name_len) else { return };
        self.slots[self.len] = engine.table().prefetch_bucket(name);
        self.qtypes[self.len] = question.qtype;
        self.len += 1;
    }

    /// Steps two and three, once every frame went through
    /// [`Prefetch::frame`]: requests each bucket's node, then each node's
    /// template for the query type; then starts a new batch.
    #[inline]
    pub fn finish(&mut self, engine: &Engine) {
        let table = engine.table();
        let len = self.len.min(MAX_BATCH);
        for &slot in &self.slots[..len] {
            table.prefetch_node(slot);
        }
        for (&slot, &qtype) in self.slots[..len].iter().zip(&self.qtypes[..len]) {
            table.prefetch_response(slot, qtype);
        }
        self.len = 0;
    }
}

/// The UDP payload of an IPv4 or IPv6 frame, found without checking more
/// than it takes to get there: the answer path checks everything.
#[inline]
fn dns_message(frame: &[u8]) -> Option<&[u8]> {
    let l3 = ethernet::layer3(frame)?;
    let udp_at = match l3.ethertype {
        ethernet::ETHERTYPE_IPV4 => l3.offset + (*frame.get(l3.offset)? & 0x0f) as usize * 4,
        ethernet::ETHERTYPE_IPV6 => l3.offset + ipv6::HEADER_LEN,
        _ => return None,
    };
    frame.get(udp_at + udp::HEADER_LEN..)
}
