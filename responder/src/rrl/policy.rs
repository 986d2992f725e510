//! Rate limiting as the engine's response [`Policy`], and the clock it runs on.

use std::time::Instant;

use super::limiter::RateLimiter;
use crate::engine::policy::{Decision, Policy, Response};
use crate::engine::Transport;

/// Milliseconds on a monotonic clock from a fixed start: the time base of
/// one worker's limiter.
#[derive(Debug, Clone, Copy)]
pub struct MillisClock(Instant);

impl MillisClock {
    pub fn start() -> MillisClock {
        MillisClock(Instant::now())
    }

    #[inline]
    pub fn now_ms(&self) -> u64 {
        // u64 milliseconds last 584 million years; saturate rather than wrap.
        u64::try_from(self.0.elapsed().as_millis()).unwrap_or(u64::MAX)
    }
}

/// A worker's response policy: UDP responses pass through its
/// [`RateLimiter`], if rate limiting is on; TCP responses are never limited,
/// since a TCP client has proven its address with the handshake.
pub struct RrlPolicy {
    limiter: Option<RateLimiter>,
    clock: MillisClock,
    now_ms: u64,
}

impl RrlPolicy {
    pub fn new(limiter: Option<RateLimiter>) -> RrlPolicy {
        let clock = MillisClock::start();
        RrlPolicy { limiter, clock, now_ms: 0 }
    }

    /// Reads the clock once for the responses that follow (one batch).
    #[inline]
    pub fn tick(&mut self) {
        if self.limiter.is_some() {
            self.now_ms = self.clock.now_ms();
        }
    }

    pub fn limiter(&self) -> Option<&RateLimiter> {
        self.limiter.as_ref()
    }
}

impl Policy for RrlPolicy {
    #[inline]
    fn decide(&mut self, response: &Response<'_>) -> Decision {
        match (&mut self.limiter, response.transport) {
            (Some(limiter), Transport::Udp) => limiter.decide(response.client, response.class, self.now_ms),
            _ => Decision::Send,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::policy::ResponseClass;
    use crate::rrl::RrlConfig;

    fn response(transport: Transport) -> Response<'static> {
        Response { client: &[198, 18, 0, 2], transport, rcode: 0, class: ResponseClass::Answer, truncated: false }
    }

    fn sent(policy: &mut RrlPolicy, transport: Transport, count: u32) -> u32 {
        (0..count).filter(|_| policy.decide(&response(transport)) == Decision::Send).count() as u32
    }

    #[test]
    fn udp_is_limited_and_tcp_is_not() {
        let mut policy = RrlPolicy::new(Some(RateLimiter::new(&RrlConfig::with_rate(10)).unwrap()));
        policy.tick();
        assert_eq!(sent(&mut policy, Transport::Tcp, 100), 100);
        // The clock is read only at `tick`: a batch of 100 earns the burst.
        policy.tick();
        let udp = sent(&mut policy, Transport::Udp, 100);
        assert_eq!(udp, 10);
        assert_eq!(policy.limiter().map(|l| l.counters().sent), Some(10));
    }

    #[test]
    fn without_a_limiter_everything_is_sent() {
        let mut policy = RrlPolicy::new(None);
        policy.tick();
        assert_eq!(sent(&mut policy, Transport::Udp, 1000), 1000);
    }

    #[test]
    fn the_clock_does_not_go_backwards() {
        let clock = MillisClock::start();
        let (a, b) = (clock.now_ms(), clock.now_ms());
        assert!(b >= a);
    }
}
