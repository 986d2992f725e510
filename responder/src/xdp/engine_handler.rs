//! The answer engine as a worker's frame handler: this queue's
//! [`Session`] (the live engine, the queue's counting and rate-limiting
//! policy, its scratch), the batch prefetcher (see `engine::Prefetch`), its
//! capture tap, if any (see `capture`), and its sampler for learned tier 0
//! (see `tier0::learn`; off, [`NoLearning`]: nothing at all).

use super::worker::FrameHandler;
use crate::capture::{MaybeTap, NoTap, Tap};
use crate::engine::live::SharedEngine;
use crate::engine::policy::Policy;
use crate::engine::{Prefetch, Session, Verdict};
use crate::stats::{Breakdown, Counting, DnsCounters};
use crate::xdp::tier0::learn::{key, MaybeSampler, NoLearning};

pub struct EngineHandler<P, T = NoTap, L = NoLearning> {
    session: Session<Counting<P>>,
    prefetch: Prefetch,
    tap: T,
    learn: L,
}

impl<P: Policy> EngineHandler<P> {
    pub fn new(engine: &SharedEngine, policy: P) -> EngineHandler<P> {
        EngineHandler::with_tap(engine, policy, NoTap)
    }
}

impl<P: Policy, T: MaybeTap> EngineHandler<P, T> {
    pub fn with_tap(engine: &SharedEngine, policy: P, tap: T) -> EngineHandler<P, T> {
        EngineHandler {
            session: Session::new(engine, Counting::new(policy)),
            prefetch: Prefetch::new(),
            tap,
            learn: NoLearning,
        }
    }
}

impl<P: Policy, T: MaybeTap, L: MaybeSampler> EngineHandler<P, T, L> {
    /// Samples the keys answered with `sampler` (learned tier 0).
    pub fn learning<S: MaybeSampler>(self, sampler: S) -> EngineHandler<P, T, S> {
        let EngineHandler { session, prefetch, tap, learn: _ } = self;
        EngineHandler { session, prefetch, tap, learn: sampler }
    }

    /// The queue's breakdown cells, for the metrics to read.
    pub fn breakdown(&self) -> std::sync::Arc<Breakdown> {
        self.session.policy().breakdown()
    }
}

impl<P: Policy + Send + 'static, T: MaybeTap, L: MaybeSampler> FrameHandler for EngineHandler<P, T, L> {
    #[inline]
    fn begin_batch(&mut self) {
        self.session.begin_batch();
    }

    #[inline]
    fn prefetch(&mut self, packet: &[u8]) {
        self.prefetch.frame(self.session.engine(), packet);
    }

    #[inline]
    fn prefetched(&mut self) {
        self.session.prefetched(&mut self.prefetch);
    }

    #[inline]
    fn handle(&mut self, frame: &mut [u8], len: usize, capacity: usize) -> Verdict {
        if self.learn.tick() {
            sample(&mut self.learn, frame, len);
        }
        if let Some(tap) = self.tap.sampled() {
            return answer_tapped(&mut self.session, tap, frame, len, capacity);
        }
        self.session.answer_frame(frame, len, capacity)
    }

    fn dns_counters(&self) -> DnsCounters {
        self.tap.publish();
        self.session.policy().counters
    }

    fn hand_off(&mut self) {
        self.learn.hand_off();
    }
}

/// A frame sampled for learning: its key, read before the engine rewrites
/// the frame. Recorded whatever the engine then does with it (a query of
/// this shape is answered unless its source is one the engine drops): the
/// answer learned is the engine's own to the canonical query, so a count
/// from a dropped query can only make a key learned sooner. Out of line and
/// apart from the answer: one copy of the answer path, not a second one
/// for the sampled frames (docs/BENCHMARKS.md, "Learned tier 0").
#[cold]
#[inline(never)]
fn sample<L: MaybeSampler>(learn: &mut L, frame: &[u8], len: usize) {
    if let Some(key) = frame.get(..len).and_then(key::of_frame) {
        learn.record(&key);
    }
}

/// A sampled frame: the query is copied before the engine rewrites it in
/// place, the answer after. Out of line, so the unsampled path stays as
/// small as without capture.
#[cold]
#[inline(never)]
fn answer_tapped<P: Policy>(
    session: &mut Session<Counting<P>>,
    tap: &mut Tap,
    frame: &mut [u8],
    len: usize,
    capacity: usize,
) -> Verdict {
    let taken = frame.get(..len).is_some_and(|query| tap.take_frame(query));
    let verdict = session.answer_frame(frame, len, capacity);
    if taken {
        match verdict {
            Verdict::Transmit(n) => tap.complete(frame.get(..n)),
            Verdict::Drop => tap.complete(None),
            // Not a query (the kernel's traffic): nothing to record.
            Verdict::Pass => {}
        }
    }
    verdict
}
