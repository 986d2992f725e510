//! The answer engine as the kernel-socket server's answerer: each thread
//! answers from its own view of the live engine, through its own policy
//! (rate limiting), and keeps its own counters.

use std::sync::Arc;

use super::{Answerer, Session};
use crate::engine::live::{LocalEngine, SharedEngine};
use crate::engine::policy::Policy;
use crate::engine::{answer_message_with, Scratch, Transport};
use crate::stats::{Counting, DnsCounters, Published, Registry};

/// Builds the per-thread sessions. `policy` makes each thread's policy.
pub struct EngineAnswerer<F> {
    engine: SharedEngine,
    policy: F,
    udp: Arc<Registry<DnsCounters>>,
    tcp: Arc<Registry<DnsCounters>>,
}

impl<F, P> EngineAnswerer<F>
where
    F: Fn() -> P + Send + Sync + 'static,
    P: Policy + Send + 'static,
{
    pub fn new(engine: SharedEngine, policy: F) -> EngineAnswerer<F> {
        EngineAnswerer { engine, policy, udp: Arc::default(), tcp: Arc::default() }
    }

    /// Each UDP thread's counters, as last published.
    pub fn udp_counters(&self) -> Arc<Registry<DnsCounters>> {
        Arc::clone(&self.udp)
    }

    /// The TCP thread's counters.
    pub fn tcp_counters(&self) -> Arc<Registry<DnsCounters>> {
        Arc::clone(&self.tcp)
    }
}

impl<F, P> Answerer for EngineAnswerer<F>
where
    F: Fn() -> P + Send + Sync + 'static,
    P: Policy + Send + 'static,
{
    fn session(&self, transport: Transport) -> Box<dyn Session> {
        let registry = match transport {
            Transport::Udp => &self.udp,
            Transport::Tcp => &self.tcp,
        };
        Box::new(EngineSession {
            engine: self.engine.local(),
            policy: Counting::new((self.policy)()),
            published: registry.register(),
            scratch: Scratch::default(),
        })
    }
}

struct EngineSession<P> {
    engine: LocalEngine,
    policy: Counting<P>,
    published: Arc<Published<DnsCounters>>,
    scratch: Scratch,
}

impl<P: Policy + Send> Session for EngineSession<P> {
    fn answer(&mut self, buf: &mut [u8], len: usize, transport: Transport, client: &[u8]) -> Option<usize> {
        // A kernel-socket query costs two system calls; publishing a dozen
        // counters with plain stores each time costs nothing beside them.
        self.policy.begin_batch();
        let before = self.policy.decided;
        let answer = answer_message_with(
            self.engine.current(),
            &mut self.scratch,
            buf,
            len,
            transport,
            client,
            &mut self.policy,
        );
        let decided = self.policy.decided != before;
        self.policy.counters.count_query(decided);
        self.published.publish(&self.policy.counters);
        answer
    }
}
