//! Answering a batch of frames with their table lookups overlapped.
//!
//! On a zone of many names, an answer's time is mostly three cache misses in
//! a row: bucket, node, template. A worker already holds a batch of frames
//! (up to 64 per RX ring read), so before answering any of them it can
//! request every frame's bucket, then every bucket's node: the misses of the
//! batch then overlap. [`Prefetch`] keeps the name hashes in between.
//!
//! Prefetching is only a hint. A frame that is not a query, or a table that
//! was replaced in the meantime, costs a useless prefetch and nothing else.

use super::message::Engine;
use crate::wire::dns;
use crate::wire::{ethernet, ipv4, ipv6, udp};

/// Frames remembered per batch; frames beyond it are not prefetched.
pub const MAX_BATCH: usize = 64;

/// The name hashes of a batch's queries, between the prefetch steps.
pub struct Prefetch {
    hashes: [u64; MAX_BATCH],
    qtypes: [u16; MAX_BATCH],
    len: usize,
}

impl Default for Prefetch {
    fn default() -> Prefetch {
        Prefetch::new()
    }
}

impl Prefetch {
    pub fn new() -> Prefetch {
        Prefetch { hashes: [0; MAX_BATCH], qtypes: [0; MAX_BATCH], len: 0 }
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
        self.hashes[self.len] = engine.table().prefetch_bucket(name);
        self.qtypes[self.len] = u16::from_be_bytes(*qtype);
        self.len += 1;
    }

    /// Steps two and three, once every frame went through
    /// [`Prefetch::frame`]: requests each bucket's node, then each node's
    /// template for the query type; then starts a new batch.
    #[inline]
    pub fn finish(&mut self, engine: &Engine) {
        let table = engine.table();
        let len = self.len.min(MAX_BATCH);
        for &hash in &self.hashes[..len] {
            table.prefetch_node(hash);
        }
        for (&hash, &qtype) in self.hashes[..len].iter().zip(&self.qtypes[..len]) {
            table.prefetch_response(hash, qtype);
        }
        self.len = 0;
    }
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
        p.finish(&engine);
        // The same query as a bare message (kernel socket) hashes the same.
        p.message(&engine, &QuerySpec::new("WwW.Example.COM.", 1).encode());
        p.message(&engine, &[0u8; 5]); // shorter than a header: skipped
        assert_eq!((p.len, p.hashes[0]), (1, engine.table().prefetch_bucket(&wire_name("www.example.com."))));
        p.finish(&engine);
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
        p.finish(&engine);
        p.frame(&engine, frame);
        assert_eq!(p.len, 1);
    }
}
