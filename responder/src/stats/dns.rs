//! What happened to the queries a thread answered, by rcode, and a policy
//! that counts them on the way to another policy (rate limiting).

use std::sync::Arc;

use super::breakdown::Breakdown;
use super::published::CounterSet;
use crate::engine::policy::{Decision, Policy, Response};

/// Responses by outcome. Written only by the serving thread that owns them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DnsCounters {
    /// DNS messages handed to the engine (frames that were not DNS to us
    /// are not queries).
    pub queries: u64,
    /// Queries the engine chose not to answer at all: responses (QR set),
    /// or too mangled to answer (see docs/BAD-INPUT.md). Not rate limiting.
    pub unanswered: u64,
    pub noerror: u64,
    pub formerr: u64,
    pub servfail: u64,
    pub nxdomain: u64,
    pub notimp: u64,
    pub refused: u64,
    pub badvers: u64,
    /// Any other rcode (none is produced today; counted so the sum holds).
    pub other_rcode: u64,
    /// Sent with TC because the answer did not fit.
    pub truncated: u64,
    /// Rate limited and sent truncated (RRL slip).
    pub slipped: u64,
    /// Rate limited and not sent.
    pub rate_limited: u64,
    /// Responses (any rcode, any decision) to IPv6 clients; the rest went
    /// to IPv4 ones. The one per-response dimension counted beside rcode:
    /// a compare and an add (docs/BENCHMARKS.md, "cost of counting").
    pub ipv6: u64,
}

impl DnsCounters {
    /// Field names, in `CounterSet` order; also the metric label values.
    pub const RCODES: [&'static str; 8] =
        ["noerror", "formerr", "servfail", "nxdomain", "notimp", "refused", "badvers", "other"];

    pub fn by_rcode(&self) -> [u64; 8] {
        [
            self.noerror,
            self.formerr,
            self.servfail,
            self.nxdomain,
            self.notimp,
            self.refused,
            self.badvers,
            self.other_rcode,
        ]
    }

    /// Responses decided, with any rcode and any decision.
    pub fn responses(&self) -> u64 {
        self.by_rcode().iter().sum::<u64>()
    }

    /// Responses sent (with any rcode, slipped ones included).
    pub fn answered(&self) -> u64 {
        self.by_rcode().iter().sum::<u64>() - self.rate_limited
    }

    /// Counts one query given to the engine, from whether a response was
    /// decided on (see `Policy::end_query`).
    #[inline]
    pub fn count_query(&mut self, decided: bool) {
        self.queries += 1;
        self.unanswered += !decided as u64;
    }

    pub fn add(&mut self, other: &DnsCounters) {
        let mut a = [0u64; Self::LEN];
        let mut b = [0u64; Self::LEN];
        self.write_to(&mut a);
        other.write_to(&mut b);
        for (x, y) in a.iter_mut().zip(b) {
            *x += y;
        }
        *self = Self::read_from(&a);
    }

    #[inline]
    fn count(&mut self, response: &Response<'_>, decision: Decision) {
        let cell = match response.rcode {
            0 => &mut self.noerror,
            1 => &mut self.formerr,
            2 => &mut self.servfail,
            3 => &mut self.nxdomain,
            4 => &mut self.notimp,
            5 => &mut self.refused,
            16 => &mut self.badvers,
            _ => &mut self.other_rcode,
        };
        *cell += 1;
        self.ipv6 += (response.client.len() == 16) as u64;
        match decision {
            Decision::Send => self.truncated += response.truncated as u64,
            Decision::Slip => self.slipped += 1,
            Decision::Drop => self.rate_limited += 1,
        }
    }
}

impl CounterSet for DnsCounters {
    const LEN: usize = 14;
    fn write_to(&self, out: &mut [u64]) {
        out[..8].copy_from_slice(&self.by_rcode());
        out[8] = self.truncated;
        out[9] = self.slipped;
        out[10] = self.rate_limited;
        out[11] = self.queries;
        out[12] = self.unanswered;
        out[13] = self.ipv6;
    }
    fn read_from(v: &[u64]) -> DnsCounters {
        DnsCounters {
            noerror: v[0],
            formerr: v[1],
            servfail: v[2],
            nxdomain: v[3],
            notimp: v[4],
            refused: v[5],
            badvers: v[6],
            other_rcode: v[7],
            truncated: v[8],
            slipped: v[9],
            rate_limited: v[10],
            queries: v[11],
            unanswered: v[12],
            ipv6: v[13],
        }
    }
}

/// Counts every response by rcode, then lets `inner` decide its fate.
/// Each response is counted under its rcode whatever the decision, so
/// `rate_limited` and `slipped` are subsets of the rcode counts. The
/// breakdown (qtype, zone, DO, sizes, TC) is counted beside them.
pub struct Counting<P> {
    pub counters: DnsCounters,
    pub inner: P,
    breakdown: Arc<Breakdown>,
}

impl<P: Policy> Counting<P> {
    pub fn new(inner: P) -> Counting<P> {
        Counting { counters: DnsCounters::default(), inner, breakdown: Arc::default() }
    }

    /// This thread's breakdown cells, for the metrics to read.
    pub fn breakdown(&self) -> Arc<Breakdown> {
        Arc::clone(&self.breakdown)
    }
}

impl<P: Policy> Policy for Counting<P> {
    #[inline(always)]
    fn begin_batch(&mut self) {
        self.inner.begin_batch();
    }

    #[inline]
    fn decide(&mut self, response: &Response<'_>) -> Decision {
        let decision = self.inner.decide(response);
        self.counters.count(response, decision);
        self.breakdown.response(&response.about, response.rcode);
        decision
    }

    #[inline(always)]
    fn finished(&mut self, query_len: usize, answer: Option<&[u8]>) {
        self.breakdown.message(query_len, answer);
        self.inner.finished(query_len, answer);
    }

    #[inline(always)]
    fn end_query(&mut self, decided: bool) {
        self.counters.count_query(decided);
        self.inner.end_query(decided);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::policy::{About, ResponseClass, SendAll};
    use crate::engine::Transport;

    fn response(rcode: u16, truncated: bool) -> Response<'static> {
        Response {
            client: &[198, 18, 0, 2],
            transport: Transport::Udp,
            rcode,
            class: ResponseClass::of(rcode),
            truncated,
            about: About::UNKNOWN,
        }
    }

    struct Fixed(Decision);
    impl Policy for Fixed {
        fn decide(&mut self, _: &Response<'_>) -> Decision {
            self.0
        }
    }

    #[test]
    fn every_rcode_has_its_counter() {
        let mut counting = Counting::new(SendAll);
        for (rcode, times) in [(0u16, 5), (1, 1), (2, 2), (3, 3), (4, 4), (5, 6), (16, 7), (9, 8)] {
            for _ in 0..times {
                counting.decide(&response(rcode, false));
            }
        }
        assert_eq!(counting.counters.by_rcode(), [5, 1, 2, 3, 4, 6, 7, 8]);
        assert_eq!(counting.counters.answered(), 36);
    }

    #[test]
    fn decisions_are_counted_and_obeyed() {
        let mut counting = Counting::new(Fixed(Decision::Drop));
        assert_eq!(counting.decide(&response(3, false)), Decision::Drop);
        counting.inner = Fixed(Decision::Slip);
        assert_eq!(counting.decide(&response(0, false)), Decision::Slip);
        counting.inner = Fixed(Decision::Send);
        counting.decide(&response(0, true));
        let c = counting.counters;
        assert_eq!((c.rate_limited, c.slipped, c.truncated, c.answered()), (1, 1, 1, 2));
        assert_eq!(c.ipv6, 0);
        counting.decide(&Response { client: &[0xfd; 16], ..response(0, false) });
        counting.decide(&Response { client: &[], ..response(0, false) });
        assert_eq!((counting.counters.ipv6, counting.counters.responses()), (1, 5));
    }

    #[test]
    fn counter_sets_round_trip_through_arrays_and_add() {
        let mut c = DnsCounters::default();
        let mut v = [0u64; DnsCounters::LEN];
        for (i, x) in v.iter_mut().enumerate() {
            *x = i as u64 + 1;
        }
        c.add(&DnsCounters::read_from(&v));
        c.add(&DnsCounters::read_from(&v));
        let mut out = [0u64; DnsCounters::LEN];
        c.write_to(&mut out);
        assert_eq!(out.to_vec(), v.iter().map(|x| x * 2).collect::<Vec<_>>());
    }
}
