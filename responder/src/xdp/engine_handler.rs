//! The answer engine as a worker's frame handler: this queue's
//! [`Session`] (the live engine, the queue's counting and rate-limiting
//! policy, its scratch) and the batch prefetcher (see `engine::Prefetch`).

use super::worker::FrameHandler;
use crate::engine::live::SharedEngine;
use crate::engine::policy::Policy;
use crate::engine::{Prefetch, Session, Verdict};
use crate::stats::{Counting, DnsCounters};

pub struct EngineHandler<P> {
    session: Session<Counting<P>>,
    prefetch: Prefetch,
}

impl<P: Policy> EngineHandler<P> {
    pub fn new(engine: &SharedEngine, policy: P) -> EngineHandler<P> {
        EngineHandler { session: Session::new(engine, Counting::new(policy)), prefetch: Prefetch::new() }
    }
}

impl<P: Policy + Send + 'static> FrameHandler for EngineHandler<P> {
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
        self.prefetch.finish(self.session.engine());
    }

    #[inline]
    fn handle(&mut self, frame: &mut [u8], len: usize, capacity: usize) -> Verdict {
        self.session.answer_frame(frame, len, capacity)
    }

    fn dns_counters(&self) -> DnsCounters {
        self.session.policy().counters
    }
}
