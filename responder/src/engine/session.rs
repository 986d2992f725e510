//! One serving thread's answering bundle, the same for an AF_XDP worker and
//! a kernel-socket thread: its view of the live engine (a reload is picked
//! up by the next query, see `live`), its response policy (counting, rate
//! limiting), its scratch memory, and the count of each query given to the
//! engine. `xdp::engine_handler` and `server::engine` are thin adapters
//! around it; each decides only when a batch begins and where its counters
//! are published.

use super::batch::Prefetch;
use super::frame::{self, Verdict};
use super::live::{LocalEngine, SharedEngine};
use super::message::{answer_message_with, Engine, Scratch};
use super::policy::{Decision, Policy, Response};
use super::transport::Transport;

pub struct Session<P> {
    engine: LocalEngine,
    policy: Tallied<P>,
    scratch: Scratch,
}

impl<P: Policy> Session<P> {
    pub fn new(engine: &SharedEngine, policy: P) -> Session<P> {
        Session { engine: engine.local(), policy: Tallied { inner: policy, decided: 0 }, scratch: Scratch::default() }
    }

    /// Before each batch of queries (for a kernel socket, each query).
    #[inline]
    pub fn begin_batch(&mut self) {
        self.policy.begin_batch();
    }

    /// The engine now being served, for work beside answering (prefetching
    /// a batch): one atomic load when nothing changed.
    #[inline]
    pub fn engine(&mut self) -> &Engine {
        self.engine.current()
    }

    /// Ends a batch's prefetch ([`Prefetch::finish`]) with this thread's
    /// scratch, which the batch is then answered with.
    #[inline]
    pub fn prefetched(&mut self, prefetch: &mut Prefetch) {
        prefetch.finish(self.engine.current(), &mut self.scratch);
    }

    /// [`super::answer_in_place`] from the live engine through this thread's
    /// policy and scratch. A frame passed to the kernel is not a query and
    /// is not counted.
    #[inline]
    pub fn answer_frame(&mut self, frame: &mut [u8], len: usize, capacity: usize) -> Verdict {
        let before = self.policy.decided;
        let verdict = frame::answer_in_place(
            self.engine.current(),
            &mut self.scratch.query,
            frame,
            len,
            capacity,
            &mut self.policy,
        );
        if verdict != Verdict::Pass {
            self.policy.count_query(before);
        }
        verdict
    }

    /// [`super::answer_message`] from the live engine for a query from
    /// `client` (its address bytes, or empty), through this thread's policy
    /// and scratch.
    #[inline]
    pub fn answer_message(&mut self, buf: &mut [u8], len: usize, transport: Transport, client: &[u8]) -> Option<usize> {
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
        self.policy.count_query(before);
        answer
    }

    /// This thread's policy (its counters, for one).
    pub fn policy(&self) -> &P {
        &self.policy.inner
    }
}

/// The thread's policy with a tally of its decisions: a query whose answer
/// never reached the policy was dropped by the engine itself (a response,
/// or unreadable), which the counters tell apart from a policy drop.
struct Tallied<P> {
    inner: P,
    decided: u64,
}

impl<P: Policy> Tallied<P> {
    /// Ends a query, given the tally before it.
    #[inline(always)]
    fn count_query(&mut self, before: u64) {
        self.inner.end_query(self.decided != before);
    }
}

impl<P: Policy> Policy for Tallied<P> {
    #[inline(always)]
    fn begin_batch(&mut self) {
        self.inner.begin_batch();
    }

    #[inline(always)]
    fn decide(&mut self, response: &Response<'_>) -> Decision {
        self.decided += 1;
        self.inner.decide(response)
    }

    #[inline(always)]
    fn finished(&mut self, query_len: usize, answer: Option<&[u8]>) {
        self.inner.finished(query_len, answer);
    }
}

#[cfg(test)]
mod tests {
    use hickory_proto::op::{Message, ResponseCode};
    use hickory_proto::rr::RecordType;
    use testkit::frames::{FrameSpec, Network};

    use super::*;
    use crate::engine::tests::{engine_for, query_bytes, EXAMPLE};
    use crate::engine::Options;

    /// A policy that obeys a fixed decision and records each query's end.
    struct Recorder {
        decision: Decision,
        ends: Vec<bool>,
    }

    impl Policy for Recorder {
        fn decide(&mut self, _: &Response<'_>) -> Decision {
            self.decision
        }

        fn end_query(&mut self, decided: bool) {
            self.ends.push(decided);
        }
    }

    fn session(shared: &SharedEngine) -> Session<Recorder> {
        Session::new(shared, Recorder { decision: Decision::Send, ends: Vec::new() })
    }

    /// The zone's engine answers `www.example.com.`; the empty one refuses it.
    fn engines() -> (Engine, Engine) {
        (engine_for(&[EXAMPLE], Options::default()), engine_for(&[], Options::default()))
    }

    fn message_rcode(session: &mut Session<Recorder>, query: &[u8]) -> Option<ResponseCode> {
        let mut buf = vec![0u8; 4096];
        buf[..query.len()].copy_from_slice(query);
        let n = session.answer_message(&mut buf, query.len(), Transport::Udp, &[198, 18, 0, 2])?;
        Some(Message::from_vec(&buf[..n]).expect("answer decodes").response_code())
    }

    fn v4_frame(dns: &[u8]) -> Vec<u8> {
        let network =
            Network::V4 { src: [198, 18, 0, 2], dst: [198, 18, 0, 1], options: vec![], no_udp_checksum: true };
        FrameSpec::simple(network, vec![]).build(dns)
    }

    fn frame_rcode(session: &mut Session<Recorder>, frame: &[u8]) -> (Verdict, Option<ResponseCode>) {
        let mut buf = vec![0u8; 2048];
        buf[..frame.len()].copy_from_slice(frame);
        let capacity = buf.len();
        let verdict = session.answer_frame(&mut buf, frame.len(), capacity);
        let Verdict::Transmit(n) = verdict else { return (verdict, None) };
        let dns_at = 14 + 20 + 8;
        (verdict, Some(Message::from_vec(&buf[dns_at..n]).expect("answer decodes").response_code()))
    }

    #[test]
    fn a_session_answers_from_a_swapped_engine_from_its_next_query() {
        let query = query_bytes("www.example.com.", RecordType::A, None);
        let (zone, empty) = engines();
        let shared = SharedEngine::new(zone);
        let mut messages = session(&shared);
        let mut frames = session(&shared);
        messages.begin_batch();
        frames.begin_batch();
        assert_eq!(message_rcode(&mut messages, &query), Some(ResponseCode::NoError));
        assert_eq!(frame_rcode(&mut frames, &v4_frame(&query)).1, Some(ResponseCode::NoError));
        // A reload between batches: the next batch answers from the new table.
        shared.replace(empty);
        messages.begin_batch();
        frames.begin_batch();
        assert_eq!(message_rcode(&mut messages, &query), Some(ResponseCode::Refused));
        assert_eq!(frame_rcode(&mut frames, &v4_frame(&query)).1, Some(ResponseCode::Refused));
        // And within a batch, as the two bundles it replaced did: each query
        // reads the engine afresh, so one reload never splits an answer.
        shared.replace(engines().0);
        assert_eq!(message_rcode(&mut messages, &query), Some(ResponseCode::NoError));
        assert_eq!(frame_rcode(&mut frames, &v4_frame(&query)).1, Some(ResponseCode::NoError));
        assert_eq!(frames.engine().options(), &Options::default());
    }

    #[test]
    fn each_query_ends_once_saying_whether_the_policy_decided() {
        let shared = SharedEngine::new(engines().0);
        let query = query_bytes("www.example.com.", RecordType::A, None);
        let mut response = query.clone();
        response[2] |= 0x80; // QR: the engine drops it without a decision.

        let mut messages = session(&shared);
        assert!(message_rcode(&mut messages, &query).is_some());
        assert_eq!(message_rcode(&mut messages, &response), None);
        messages.policy.inner.decision = Decision::Drop;
        assert_eq!(message_rcode(&mut messages, &query), None);
        assert_eq!(messages.policy().ends, [true, false, true]);

        let mut frames = session(&shared);
        let mut not_udp = v4_frame(&query);
        not_udp[12..14].copy_from_slice(&[0x08, 0x06]); // ARP: the kernel's, not a query.
        assert_eq!(frame_rcode(&mut frames, &not_udp).0, Verdict::Pass);
        assert!(matches!(frame_rcode(&mut frames, &v4_frame(&query)).0, Verdict::Transmit(_)));
        assert_eq!(frame_rcode(&mut frames, &v4_frame(&response)).0, Verdict::Drop);
        frames.policy.inner.decision = Decision::Drop;
        assert_eq!(frame_rcode(&mut frames, &v4_frame(&query)).0, Verdict::Drop);
        assert_eq!(frames.policy().ends, [true, false, true]);
    }
}
