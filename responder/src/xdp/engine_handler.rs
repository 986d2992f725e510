//! The answer engine as a worker's frame handler: the live engine (see
//! `engine::live`), this queue's policy (rate limiting), this queue's
//! counters, the batch prefetcher (see `engine::Prefetch`) and the scratch
//! memory each query is parsed into.

use super::worker::FrameHandler;
use crate::engine::live::{LocalEngine, SharedEngine};
use crate::engine::policy::Policy;
use crate::engine::{answer_in_place_with, Prefetch, Scratch, Verdict};
use crate::stats::{Counting, DnsCounters};

pub struct EngineHandler<P> {
    engine: LocalEngine,
    policy: Counting<P>,
    prefetch: Prefetch,
    scratch: Scratch,
}

impl<P: Policy> EngineHandler<P> {
    pub fn new(engine: &SharedEngine, policy: P) -> EngineHandler<P> {
        EngineHandler {
            engine: engine.local(),
            policy: Counting::new(policy),
            prefetch: Prefetch::new(),
            scratch: Scratch::default(),
        }
    }
}

impl<P: Policy + Send + 'static> FrameHandler for EngineHandler<P> {
    #[inline]
    fn begin_batch(&mut self) {
        self.policy.begin_batch();
    }

    #[inline]
    fn prefetch(&mut self, packet: &[u8]) {
        self.prefetch.frame(self.engine.current(), packet);
    }

    #[inline]
    fn prefetched(&mut self) {
        self.prefetch.finish(self.engine.current());
    }

    #[inline]
    fn handle(&mut self, frame: &mut [u8], len: usize, capacity: usize) -> Verdict {
        let before = self.policy.decided;
        let verdict =
            answer_in_place_with(self.engine.current(), &mut self.scratch, frame, len, capacity, &mut self.policy);
        if verdict != Verdict::Pass {
            let decided = self.policy.decided != before;
            self.policy.counters.count_query(decided);
        }
        verdict
    }

    fn dns_counters(&self) -> DnsCounters {
        self.policy.counters
    }
}
