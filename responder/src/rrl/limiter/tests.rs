use super::*;
use std::net::{Ipv4Addr, Ipv6Addr};

const ANSWER: ResponseClass = ResponseClass::Answer;

fn limiter(rate: u32, slip: u32, buckets: u32) -> RateLimiter {
    RateLimiter::new(&RrlConfig { rate, slip, ipv4_prefix: 24, ipv6_prefix: 56, buckets }).unwrap()
}

fn v4(address: &str) -> [u8; 4] {
    address.parse::<Ipv4Addr>().unwrap().octets()
}

fn v6(address: &str) -> [u8; 16] {
    address.parse::<Ipv6Addr>().unwrap().octets()
}

/// [sent, slipped, dropped] for `count` responses at `now_ms`.
fn burst(limiter: &mut RateLimiter, client: &[u8], class: ResponseClass, now_ms: u64, count: u32) -> [u32; 3] {
    let mut tally = [0; 3];
    for _ in 0..count {
        match limiter.decide(client, class, now_ms) {
            Decision::Send => tally[0] += 1,
            Decision::Slip => tally[1] += 1,
            Decision::Drop => tally[2] += 1,
        }
    }
    tally
}

/// The /24 that the `n`th distinct filler prefix is: 10.x.y.0 for n < 2^16.
fn filler(n: u32) -> [u8; 4] {
    [10, (n >> 8) as u8, n as u8, 1]
}

#[test]
fn rate_100_slip_2_of_1000_at_once() {
    let mut l = limiter(100, 2, 1024);
    assert_eq!(burst(&mut l, &v4("198.18.0.2"), ANSWER, 7, 1000), [100, 450, 450]);
    assert_eq!(l.counters(), RrlCounters { sent: 100, slipped: 450, dropped: 450, evicted_active: 0 });
}

#[test]
fn refills_over_time_at_the_rate() {
    let mut l = limiter(100, 2, 1024);
    let client = v4("198.18.0.2");
    assert_eq!(burst(&mut l, &client, ANSWER, 0, 200)[0], 100);
    assert_eq!(burst(&mut l, &client, ANSWER, 250, 200)[0], 25);
    assert_eq!(burst(&mut l, &client, ANSWER, 1250, 200)[0], 100, "one second later: full, not more");
    // Paced at 1 per 10 ms, exactly the rate: every one is sent.
    let mut paced = 0;
    for t in 1..=100 {
        paced += burst(&mut l, &client, ANSWER, 1250 + t * 10, 1)[0];
    }
    assert_eq!(paced, 100);
}

#[test]
fn classes_are_limited_independently() {
    let mut l = limiter(50, 2, 1024);
    let client = v4("198.18.0.2");
    assert_eq!(burst(&mut l, &client, ANSWER, 0, 100)[0], 50);
    assert_eq!(burst(&mut l, &client, ResponseClass::NxDomain, 0, 100)[0], 50);
    assert_eq!(burst(&mut l, &client, ResponseClass::Error, 0, 100)[0], 50);
    assert_eq!(burst(&mut l, &client, ANSWER, 0, 1)[0], 0);
}

#[test]
fn one_prefix_shares_a_bucket_and_the_next_has_its_own() {
    let mut l = limiter(10, 2, 1024);
    assert_eq!(burst(&mut l, &v4("198.18.0.2"), ANSWER, 0, 6)[0], 6);
    assert_eq!(burst(&mut l, &v4("198.18.0.200"), ANSWER, 0, 6)[0], 4, "same /24");
    assert_eq!(burst(&mut l, &v4("198.18.1.2"), ANSWER, 0, 20)[0], 10, "next /24");
    assert_eq!(burst(&mut l, &v6("fd00:0:0:12::1"), ANSWER, 0, 6)[0], 6);
    assert_eq!(burst(&mut l, &v6("fd00:0:0:12:ffff::9"), ANSWER, 0, 6)[0], 4, "same /56");
    assert_eq!(burst(&mut l, &v6("fd00:0:0:100::1"), ANSWER, 0, 20)[0], 10, "next /56");
}

#[test]
fn configured_odd_prefix_lengths_apply() {
    let config = RrlConfig { ipv4_prefix: 20, ipv6_prefix: 33, ..RrlConfig::with_rate(10) };
    let mut l = RateLimiter::new(&config).unwrap();
    assert_eq!(burst(&mut l, &v4("198.18.0.1"), ANSWER, 0, 6)[0], 6);
    assert_eq!(burst(&mut l, &v4("198.18.15.1"), ANSWER, 0, 6)[0], 4, "same /20");
    assert_eq!(burst(&mut l, &v4("198.18.16.1"), ANSWER, 0, 20)[0], 10, "next /20");
    assert_eq!(burst(&mut l, &v6("fd00:1::1"), ANSWER, 0, 6)[0], 6);
    assert_eq!(burst(&mut l, &v6("fd00:1:7fff::1"), ANSWER, 0, 6)[0], 4, "same /33");
    assert_eq!(burst(&mut l, &v6("fd00:1:8000::1"), ANSWER, 0, 20)[0], 10, "next /33");
}

#[test]
fn ipv4_and_ipv6_never_share_a_bucket() {
    let config = RrlConfig { ipv4_prefix: 0, ipv6_prefix: 0, ..RrlConfig::with_rate(10) };
    let mut l = RateLimiter::new(&config).unwrap();
    assert_eq!(burst(&mut l, &v4("0.0.0.0"), ANSWER, 0, 20)[0], 10);
    assert_eq!(burst(&mut l, &v6("::"), ANSWER, 0, 20)[0], 10);
    // A dual-stack socket's view of an IPv4 client is that IPv4 client.
    assert_eq!(burst(&mut l, &v6("::ffff:1.2.3.4"), ANSWER, 0, 20)[0], 0);
}

#[test]
fn any_client_slice_is_accepted_and_unknown_ones_share_one_bucket() {
    let mut l = limiter(10, 2, 64);
    let odd: [&[u8]; 5] = [&[], &[1], &[1, 2, 3], &[0; 5], &[0xff; 17]];
    let mut sent = 0;
    for client in odd {
        for class in [ANSWER, ResponseClass::NxDomain, ResponseClass::Error] {
            sent += burst(&mut l, client, class, u64::MAX, 10)[0];
        }
    }
    assert_eq!(sent, 30, "one bucket per class for every unknown client");
    assert_eq!(burst(&mut l, &v4("1.2.3.4"), ANSWER, 0, 10)[0], 10);
}

#[test]
fn memory_is_fixed_at_construction() {
    let mut l = limiter(10, 2, 4096);
    let bytes = l.table_bytes();
    assert!(std::mem::size_of::<Slot>() <= 40, "slot grew to {}", std::mem::size_of::<Slot>());
    assert_eq!(bytes, 4096 * std::mem::size_of::<Slot>());
    for n in 0..60_000 {
        l.decide(&filler(n), ANSWER, u64::from(n));
    }
    assert_eq!(l.table_bytes(), bytes);
    assert_eq!(l.counters().sent, 60_000);
}

#[test]
fn a_table_full_of_flooded_prefixes_does_not_starve_a_newcomer() {
    let mut l = limiter(100, 2, 1024);
    // Every slot holds a prefix flooded past its rate: no bucket has a token.
    for n in 0..4 * 1024 {
        burst(&mut l, &filler(n), ANSWER, 0, 150);
    }
    assert_eq!(burst(&mut l, &v4("198.18.0.2"), ANSWER, 0, 1000), [100, 450, 450]);
}

#[test]
fn churn_through_a_full_table_cannot_refill_a_limited_prefix() {
    let mut l = limiter(100, 2, 1024);
    let flooder = v4("198.18.0.2");
    assert_eq!(burst(&mut l, &flooder, ANSWER, 0, 1000)[0], 100);
    // For a second, 100 fresh prefixes a millisecond (100 times the table
    // a second) arrive beside one response a millisecond to the flooder.
    // Its empty bucket is never the fullest of its window, so it is never
    // forgotten: it earns exactly the refill, 100, and not a burst more.
    let mut sent = 0;
    let mut fresh = 0;
    for t in 1..=1000 {
        for _ in 0..100 {
            l.decide(&filler(fresh % 60_000), ANSWER, t);
            fresh += 1;
        }
        sent += burst(&mut l, &flooder, ANSWER, t, 1)[0];
    }
    assert_eq!(sent, 100);
    assert!(l.counters().evicted_active > 0, "the churn did evict active buckets");
}

#[test]
fn a_full_table_gives_way_to_idle_buckets_first() {
    let mut l = limiter(10, 2, 64);
    for n in 0..1000 {
        burst(&mut l, &filler(n), ANSWER, 0, 20);
    }
    let evicted_while_flooding = l.counters().evicted_active;
    assert!(evicted_while_flooding > 0);
    // Each newcomer comes a second after the last: every bucket is full
    // again, forgetting one costs nothing and is not an active eviction.
    for k in 1..=200 {
        assert_eq!(burst(&mut l, &filler(1000 + k), ANSWER, 1000 * u64::from(k), 1)[0], 1);
    }
    assert_eq!(l.counters().evicted_active, evicted_while_flooding);
}

#[test]
fn invalid_config_is_refused() {
    let config = RrlConfig { slip: 1000, ..RrlConfig::with_rate(10) };
    assert_eq!(RateLimiter::new(&config).err(), Some(RrlError::Slip(1000)));
}
