//! The answer engine as the kernel-socket server's answerer: each thread
//! answers through its own `engine::Session` (its view of the live engine,
//! its counting and rate-limiting policy) and publishes its counters after
//! each query. A NOTIFY goes to the secondary zones' handler instead, when
//! there is one (the engine itself answers NOTIMP to any other opcode), and
//! an AXFR or IXFR to the zone transfers' handler, when there is one.
//! With capture on, each thread also has its own tap.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use super::{Answerer, Session};
use crate::capture::{Capture, MaybeTap, Tap};
use crate::engine::live::SharedEngine;
use crate::engine::policy::Policy;
use crate::engine::{self, Prefetch, Transport};
use crate::stats::{Breakdowns, Counting, DnsCounters, Published, Registry, Where};

/// Answers a NOTIFY (RFC 1996) of `len` bytes from a client in place; the
/// answer's length, or `None` to drop it.
pub type NotifyHandler = Arc<dyn Fn(&mut [u8], usize, IpAddr) -> Option<usize> + Send + Sync>;

/// What the transfer handler made of an AXFR or IXFR query: the first
/// message's length (`None`: send nothing) and, over TCP, the rest.
pub struct TransferAnswer {
    pub len: Option<usize>,
    pub rest: Option<Box<dyn super::MessageStream>>,
}

/// Answers an AXFR or IXFR of `len` bytes from a client in place, or
/// returns `None` to leave it to the engine (a zone not sent out: REFUSED).
pub type TransferHandler = Arc<dyn Fn(&mut [u8], usize, Transport, IpAddr) -> Option<TransferAnswer> + Send + Sync>;

/// Builds the per-thread sessions. `policy` makes each thread's policy.
pub struct EngineAnswerer<F> {
    engine: SharedEngine,
    policy: F,
    notify: Option<NotifyHandler>,
    transfer: Option<TransferHandler>,
    udp: Arc<Registry<DnsCounters>>,
    tcp: Arc<Registry<DnsCounters>>,
    log_queries: bool,
    capture: Option<Arc<Capture>>,
    breakdowns: Arc<Breakdowns>,
}

impl<F, P> EngineAnswerer<F>
where
    F: Fn() -> P + Send + Sync + 'static,
    P: Policy + Send + 'static,
{
    pub fn new(engine: SharedEngine, policy: F) -> EngineAnswerer<F> {
        EngineAnswerer {
            engine,
            policy,
            notify: None,
            transfer: None,
            udp: Arc::default(),
            tcp: Arc::default(),
            log_queries: false,
            capture: None,
            breakdowns: Arc::default(),
        }
    }

    /// Registers each thread's breakdown cells with `breakdowns`.
    pub fn with_breakdowns(mut self, breakdowns: Arc<Breakdowns>) -> EngineAnswerer<F> {
        self.breakdowns = breakdowns;
        self
    }

    /// Hands every NOTIFY to `handler`.
    pub fn with_notify(mut self, handler: NotifyHandler) -> EngineAnswerer<F> {
        self.notify = Some(handler);
        self
    }

    /// Hands every AXFR and IXFR query to `handler` first.
    pub fn with_transfer(mut self, handler: TransferHandler) -> EngineAnswerer<F> {
        self.transfer = Some(handler);
        self
    }

    /// Logs one line per query answered (`--log-queries`).
    pub fn with_query_log(mut self, on: bool) -> EngineAnswerer<F> {
        self.log_queries = on;
        self
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
        let (registry, at) = match transport {
            Transport::Udp => (&self.udp, Where::KERNEL_UDP),
            Transport::Tcp => (&self.tcp, Where::KERNEL_TCP),
        };
        let counting = Counting::new((self.policy)());
        self.breakdowns.register(at, counting.breakdown());
        Box::new(ThreadSession {
            session: engine::Session::new(&self.engine, counting),
            prefetch: Prefetch::new(),
            published: registry.register(),
            notify: self.notify.clone(),
            transfer: self.transfer.clone(),
            pending: None,
            log_queries: self.log_queries,
            tap: self.capture.as_ref().map(|c| c.tap()),
            peer: (UNSPECIFIED, UNSPECIFIED),
        })
    }
}

/// One thread's engine session and where its counters are published.
struct ThreadSession<P> {
    session: engine::Session<Counting<P>>,
    prefetch: Prefetch,
    published: Arc<Published<DnsCounters>>,
    notify: Option<NotifyHandler>,
    transfer: Option<TransferHandler>,
    /// The rest of the transfer just started, for the TCP connection.
    pending: Option<Box<dyn super::MessageStream>>,
    log_queries: bool,
    tap: Option<Tap>,
    /// Client and server of the next query, when capturing.
    peer: (SocketAddr, SocketAddr),
}

const UNSPECIFIED: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0);

impl<P: Policy + Send> Session for ThreadSession<P> {
    fn answer(&mut self, buf: &mut [u8], len: usize, transport: Transport, client: &[u8]) -> Option<usize> {
        if let Some(notify) = &self.notify {
            if crate::transfer::inbound::notify::is_notify(buf.get(..len)?) {
                // Without the client's address no NOTIFY is believed.
                return notify(buf, len, source(client));
            }
        }
        if let Some(transfer) = &self.transfer {
            if crate::transfer::outbound::request::is_transfer(buf.get(..len)?) {
                if let Some(answer) = transfer(buf, len, transport, source(client)) {
                    self.pending = answer.rest;
                    return answer.len;
                }
            }
        }
        // A kernel-socket query costs two system calls; publishing a dozen
        // counters with plain stores each time costs nothing beside them.
        self.session.begin_batch();
        let answer = match self.tap.as_mut().and_then(MaybeTap::sampled) {
            Some(tap) => answer_tapped(&mut self.session, tap, self.peer, buf, len, transport, client),
            None => self.session.answer_message(buf, len, transport, client),
        };
        self.published.publish(&self.session.policy().counters);
        if self.log_queries {
            tracing::info!("{}", super::query_log::line(answer.and_then(|n| buf.get(..n)), transport, client));
        }
        if let Some(tap) = &self.tap {
            tap.publish();
        }
        answer
    }

    fn prefetch(&mut self, query: &[u8]) {
        self.prefetch.message(self.session.engine(), query);
    }

    fn prefetched(&mut self) {
        self.session.prefetched(&mut self.prefetch);
    }

    fn captures(&self) -> bool {
        self.tap.is_some()
    }

    fn take_stream(&mut self) -> Option<Box<dyn super::MessageStream>> {
        self.pending.take()
    }

    fn peer(&mut self, client: SocketAddr, server: SocketAddr) {
        self.peer = (client, server);
    }
}

/// The client's address as the engine takes it (4 or 16 bytes); any
/// other length, which no server passes, reads as 0.0.0.0, which no ACL
/// meant for a peer lets in.
fn source(client: &[u8]) -> IpAddr {
    match client.len() {
        4 => <[u8; 4]>::try_from(client).map_or(IpAddr::from([0u8; 4]), IpAddr::from),
        16 => <[u8; 16]>::try_from(client).map_or(IpAddr::from([0u8; 4]), IpAddr::from),
        _ => IpAddr::from([0u8; 4]),
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
