//! The answer engine as the kernel-socket server's answerer: each thread
//! answers through its own `engine::Session` (its view of the live engine,
//! its counting and rate-limiting policy) and publishes its counters after
//! each query; with capture on, each thread also has its own tap.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use super::{Answerer, Session};
use crate::capture::{Capture, MaybeTap, Tap};
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
    capture: Option<Arc<Capture>>,
}

impl<F, P> EngineAnswerer<F>
where
    F: Fn() -> P + Send + Sync + 'static,
    P: Policy + Send + 'static,
{
    pub fn new(engine: SharedEngine, policy: F) -> EngineAnswerer<F> {
        EngineAnswerer { engine, policy, udp: Arc::default(), tcp: Arc::default(), capture: None }
    }

    /// Gives each thread a tap of `capture`.
    pub fn with_capture(mut self, capture: Option<Arc<Capture>>) -> EngineAnswerer<F> {
        self.capture = capture;
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
            tap: self.capture.as_ref().map(|c| c.tap()),
            peer: (UNSPECIFIED, UNSPECIFIED),
        })
    }
}

/// One thread's engine session and where its counters are published.
struct ThreadSession<P> {
    session: engine::Session<Counting<P>>,
    published: Arc<Published<DnsCounters>>,
    tap: Option<Tap>,
    /// Client and server of the next query, when capturing.
    peer: (SocketAddr, SocketAddr),
}

const UNSPECIFIED: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0);

impl<P: Policy + Send> Session for ThreadSession<P> {
    fn answer(&mut self, buf: &mut [u8], len: usize, transport: Transport, client: &[u8]) -> Option<usize> {
        // A kernel-socket query costs two system calls; publishing a dozen
        // counters with plain stores each time costs nothing beside them.
        self.session.begin_batch();
        let answer = match self.tap.as_mut().and_then(MaybeTap::sampled) {
            Some(tap) => answer_tapped(&mut self.session, tap, self.peer, buf, len, transport, client),
            None => self.session.answer_message(buf, len, transport, client),
        };
        self.published.publish(&self.session.policy().counters);
        if let Some(tap) = &self.tap {
            tap.publish();
        }
        answer
    }

    fn captures(&self) -> bool {
        self.tap.is_some()
    }

    fn peer(&mut self, client: SocketAddr, server: SocketAddr) {
        self.peer = (client, server);
    }
}

/// A sampled query: copied before it is answered in place, the answer after.
#[cold]
fn answer_tapped<P: Policy>(
    session: &mut engine::Session<Counting<P>>,
    tap: &mut Tap,
    (peer, server): (SocketAddr, SocketAddr),
    buf: &mut [u8],
    len: usize,
    transport: Transport,
    client: &[u8],
) -> Option<usize> {
    let tcp = transport == Transport::Tcp;
    let taken = buf.get(..len).is_some_and(|query| tap.take_message(query, tcp, peer, server));
    let answer = session.answer_message(buf, len, transport, client);
    if taken {
        tap.complete(answer.and_then(|n| buf.get(..n)));
    }
    answer
}
