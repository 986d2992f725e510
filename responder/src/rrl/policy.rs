//! Rate limiting as the engine's response [`Policy`], and the clock it runs on.

use std::time::Instant;

use super::config::{RrlConfig, RrlError};
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

    /// A maker of one policy per serving thread, each with its own limiter
    /// for `config` (none when `None`), for `EngineAnswerer::new` and
    /// `control::daemon::xdp::start`.
    ///
    /// One limiter is built here first, so that a configuration error or a
    /// table too large to allocate is reported before anything serves.
    /// Should a later one still fail to allocate, that one thread serves
    /// unlimited and says so in the log, rather than the process aborting.
    pub fn maker(config: Option<RrlConfig>) -> Result<impl Fn() -> RrlPolicy + Copy + Send + Sync + 'static, RrlError> {
        if let Some(config) = &config {
            RateLimiter::new(config)?;
        }
        Ok(move || {
            let limiter = config.and_then(|config| {
                RateLimiter::new(&config)
                    .map_err(|e| tracing::error!("rate limiting is off on one serving thread: {e}"))
                    .ok()
            });
            RrlPolicy::new(limiter)
        })
    }

    pub fn limiter(&self) -> Option<&RateLimiter> {
        self.limiter.as_ref()
    }
}

impl Policy for RrlPolicy {
    /// Reads the clock once for the responses of the batch that follows.
    #[inline]
    fn begin_batch(&mut self) {
        if self.limiter.is_some() {
            self.now_ms = self.clock.now_ms();
        }
    }

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
    use crate::engine::policy::{About, ResponseClass};
    use crate::rrl::RrlConfig;

    fn response(transport: Transport) -> Response<'static> {
        let class = ResponseClass::Answer;
        Response { client: &[198, 18, 0, 2], transport, rcode: 0, class, truncated: false, about: About::UNKNOWN }
    }

    fn sent(policy: &mut RrlPolicy, transport: Transport, count: u32) -> u32 {
        (0..count).filter(|_| policy.decide(&response(transport)) == Decision::Send).count() as u32
    }

    #[test]
    fn udp_is_limited_and_tcp_is_not() {
        let mut policy = RrlPolicy::new(Some(RateLimiter::new(&RrlConfig::with_rate(10)).unwrap()));
        policy.begin_batch();
        assert_eq!(sent(&mut policy, Transport::Tcp, 100), 100);
        // The clock is read only at `tick`: a batch of 100 earns the burst.
        policy.begin_batch();
        let udp = sent(&mut policy, Transport::Udp, 100);
        assert_eq!(udp, 10);
        assert_eq!(policy.limiter().map(|l| l.counters().sent), Some(10));
    }

    #[test]
    fn without_a_limiter_everything_is_sent() {
        let mut policy = RrlPolicy::new(None);
        policy.begin_batch();
        assert_eq!(sent(&mut policy, Transport::Udp, 1000), 1000);
    }

    #[test]
    fn the_maker_gives_each_thread_its_own_limiter() {
        let make = RrlPolicy::maker(Some(RrlConfig::with_rate(10))).unwrap();
        let (mut a, mut b) = (make(), make());
        a.begin_batch();
        b.begin_batch();
        assert_eq!(sent(&mut a, Transport::Udp, 100), 10);
        assert_eq!(sent(&mut b, Transport::Udp, 100), 10, "b's bucket is not a's");
        let mut off = RrlPolicy::maker(None).unwrap()();
        assert!(off.limiter().is_none());
        assert_eq!(sent(&mut off, Transport::Udp, 100), 100);
    }

    #[test]
    fn the_maker_refuses_a_bad_configuration() {
        let bad = RrlConfig { buckets: 1, ..RrlConfig::with_rate(10) };
        assert_eq!(RrlPolicy::maker(Some(bad)).err(), Some(RrlError::Buckets(1)));
    }

    #[test]
    fn the_clock_does_not_go_backwards() {
        let clock = MillisClock::start();
        let (a, b) = (clock.now_ms(), clock.now_ms());
        assert!(b >= a);
    }
}
