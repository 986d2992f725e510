//! Properties of the limiter over arbitrary traffic: it never panics, never
//! sends a key more than a token bucket allows, and (while the table has
//! room) limits each key exactly as if it were alone.

use proptest::prelude::*;

use super::{RateLimiter, ResponseClass, RrlConfig};
use crate::engine::policy::Decision;

/// Clients that are each their own /24 or /56, plus two of unknown length,
/// which share a bucket (see [`same_bucket`]).
const CLIENTS: [&[u8]; 6] = [
    &[198, 18, 0, 2],
    &[198, 18, 1, 2],
    &[0xfd, 0, 0, 0, 0, 0, 0x12, 0, 0, 0, 0, 0, 0, 0, 0, 1],
    &[0xfd, 0, 0, 0, 0, 0, 0x13, 0, 0, 0, 0, 0, 0, 0, 0, 1],
    &[],
    &[1, 2, 3],
];

/// Whether clients `a` and `b` (indices into [`CLIENTS`]) share buckets.
fn same_bucket(a: usize, b: usize) -> bool {
    a == b || (a >= 4 && b >= 4)
}

const CLASSES: [ResponseClass; 3] = [ResponseClass::Answer, ResponseClass::NxDomain, ResponseClass::Error];

#[derive(Debug, Clone)]
struct Event {
    client: usize,
    class: usize,
    /// Milliseconds since the previous event.
    gap: u64,
}

fn events() -> impl Strategy<Value = Vec<Event>> {
    let gap = prop_oneof![4 => Just(0u64), 4 => 0u64..50, 1 => 0u64..3000];
    proptest::collection::vec(
        (0..CLIENTS.len(), 0..CLASSES.len(), gap).prop_map(|(client, class, gap)| Event { client, class, gap }),
        0..400,
    )
}

fn config(rate: u32, slip: u32) -> RrlConfig {
    // Far more room than the 18 keys used: no evictions.
    RrlConfig { rate, slip, ipv4_prefix: 24, ipv6_prefix: 56, buckets: 4096 }
}

/// Each event's time and decision.
fn run(limiter: &mut RateLimiter, events: &[Event]) -> Vec<(u64, Decision)> {
    let mut now = 0;
    events
        .iter()
        .map(|e| {
            now += e.gap;
            (now, limiter.decide(CLIENTS[e.client], CLASSES[e.class], now))
        })
        .collect()
}

proptest! {
    #[test]
    fn arbitrary_clients_and_times_never_panic(
        clients in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..20), 1..50),
        times in proptest::collection::vec(any::<u64>(), 1..50),
        rate in 1u32..=super::MAX_RATE,
        slip in 0u32..=super::MAX_SLIP,
        v4 in 0u8..=32,
        v6 in 0u8..=128,
    ) {
        let config = RrlConfig { rate, slip, ipv4_prefix: v4, ipv6_prefix: v6, buckets: 64 };
        let mut limiter = RateLimiter::new(&config).unwrap();
        for (client, now) in clients.iter().zip(times.iter().cycle()) {
            for class in CLASSES {
                limiter.decide(client, class, *now);
            }
        }
        let c = limiter.counters();
        prop_assert_eq!(c.sent + c.slipped + c.dropped, 3 * clients.len() as u64);
    }

    /// Conformance: in any span of time [a, b] a key is sent at most
    /// rate + rate × (b − a) / 1000 responses (burst plus refill).
    #[test]
    fn no_key_gets_more_than_its_bucket_allows(events in events(), rate in 1u32..40, slip in 0u32..5) {
        let mut limiter = RateLimiter::new(&config(rate, slip)).unwrap();
        let decisions = run(&mut limiter, &events);
        for client in 0..CLIENTS.len() - 1 {
            for class in 0..CLASSES.len() {
                let sent: Vec<u64> = events
                    .iter()
                    .zip(&decisions)
                    .filter(|(e, (_, d))| same_bucket(e.client, client) && e.class == class && *d == Decision::Send)
                    .map(|(_, (t, _))| *t)
                    .collect();
                for (i, &a) in sent.iter().enumerate() {
                    for (j, &b) in sent.iter().enumerate().skip(i) {
                        let allowed = u64::from(rate) + u64::from(rate) * (b - a) / 1000;
                        prop_assert!((j - i + 1) as u64 <= allowed,
                            "{} sent in [{a}, {b}] ms at rate {rate}", j - i + 1);
                    }
                }
            }
        }
    }

    /// Keys do not affect each other: each key's decisions, amid all the
    /// others, are those it gets alone on a fresh limiter. Also: a key idle
    /// for a second is answered, and slips are exactly every `slip`-th
    /// limited response.
    #[test]
    fn keys_are_independent(events in events(), rate in 1u32..40, slip in 0u32..5) {
        let mut shared = RateLimiter::new(&config(rate, slip)).unwrap();
        let together = run(&mut shared, &events);
        for client in 0..CLIENTS.len() - 1 {
            for (class, &response_class) in CLASSES.iter().enumerate() {
                let mut alone = RateLimiter::new(&config(rate, slip)).unwrap();
                let mut now = 0;
                let mut last: Option<u64> = None;
                let mut limited = 0u32;
                for (e, &(t, decision)) in events.iter().zip(&together) {
                    now += e.gap;
                    if !same_bucket(e.client, client) || e.class != class {
                        continue;
                    }
                    prop_assert_eq!(t, now);
                    prop_assert_eq!(alone.decide(CLIENTS[e.client], response_class, now), decision);
                    if last.is_none_or(|l| now - l >= 1000) {
                        prop_assert_eq!(decision, Decision::Send);
                    }
                    if decision != Decision::Send {
                        limited += 1;
                        let due = slip != 0 && limited.is_multiple_of(slip);
                        prop_assert_eq!(decision == Decision::Slip, due);
                    }
                    last = Some(now);
                }
            }
        }
    }
}
