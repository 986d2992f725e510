//! The answer engine as the kernel-socket server's answerer: each thread
//! answers through its own `engine::Session` (its view of the live engine,
//! its counting and rate-limiting policy) and publishes its counters after
//! each query.

use std::sync::Arc;

use super::{Answerer, Session};
use crate::engine::live::SharedEngine;
use crate::engine::policy::Policy;
use crate::engine::{self, Transport};
use crate::stats::{Counting, DnsCounters, Published, Registry};

/// Builds the per-thread sessions. `policy` makes each thread's policy.
pub struct EngineAnswerer<F> {
    engine: SharedEngine,
    policy: F,
    udp: Arc<Registry<DnsCounters>>,
    tcp: Arc<Registry<DnsCounters>>,
    log_queries: bool,
}

impl<F, P> EngineAnswerer<F>
where
    F: Fn() -> P + Send + Sync + 'static,
    P: Policy + Send + 'static,
{
    pub fn new(engine: SharedEngine, policy: F) -> EngineAnswerer<F> {
        EngineAnswerer { engine, policy, udp: Arc::default(), tcp: Arc::default(), log_queries: false }
    }

    /// Logs one line per query answered (`--log-queries`).
    pub fn with_query_log(mut self, on: bool) -> EngineAnswerer<F> {
        self.log_queries = on;
        self
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
        Box::new(ThreadSession {
            session: engine::Session::new(&self.engine, Counting::new((self.policy)())),
            published: registry.register(),
            log_queries: self.log_queries,
        })
    }
}

/// One thread's engine session and where its counters are published.
struct ThreadSession<P> {
    session: engine::Session<Counting<P>>,
    published: Arc<Published<DnsCounters>>,
    log_queries: bool,
}

impl<P: Policy + Send> Session for ThreadSession<P> {
    fn answer(&mut self, buf: &mut [u8], len: usize, transport: Transport, client: &[u8]) -> Option<usize> {
        // A kernel-socket query costs two system calls; publishing a dozen
        // counters with plain stores each time costs nothing beside them.
        self.session.begin_batch();
        let answer = self.session.answer_message(buf, len, transport, client);
        self.published.publish(&self.session.policy().counters);
        if self.log_queries {
            tracing::info!("{}", super::query_log::line(answer.and_then(|n| buf.get(..n)), transport, client));
        }
        answer
    }
}
