//! `cargo bench --bench rrl`: the cost of `RateLimiter::decide` per response,
//! in three workloads over a default-sized table (65,536 buckets):
//! - one flooding /24 (the usual attack: every call hits the same bucket);
//! - 10,000 /24s in turn (many clients; every call a hit, spread over memory);
//! - a new /24 every call (a spoofed-source sweep: every call a miss and,
//!   once the table is full, an eviction after scanning the whole window).
//!
//! `--callgrind WORKLOAD N` runs only N decisions of one workload (`one`,
//! `many`, `sweep`) in `decide_loop`, for
//! `valgrind --tool=callgrind --toggle-collect='*decide_loop*'`.

use std::hint::black_box;
use std::time::Instant;

use responder::engine::policy::Decision;
use responder::rrl::{RateLimiter, ResponseClass, RrlConfig};

const ROUNDS: usize = 5;
const PER_ROUND: u32 = 5_000_000;

#[derive(Clone, Copy)]
enum Workload {
    One,
    Many,
    Sweep,
}

impl Workload {
    fn client(self, i: u32) -> [u8; 4] {
        let prefix = match self {
            Workload::One => 0,
            Workload::Many => i % 10_000,
            Workload::Sweep => i,
        };
        // 10.0.0.0/8 plus 24 bits of prefix; the host byte varies too.
        [10 + (prefix >> 16) as u8, (prefix >> 8) as u8, prefix as u8, i as u8]
    }
}

#[inline(never)]
fn decide_loop(limiter: &mut RateLimiter, workload: Workload, n: u32) -> u64 {
    let mut sent = 0;
    for i in 0..n {
        // A millisecond every 1000 calls: a realistic ~1 M responses/s.
        let now_ms = u64::from(i / 1000);
        let client = workload.client(i);
        if limiter.decide(black_box(&client), ResponseClass::Answer, now_ms) == Decision::Send {
            sent += 1;
        }
    }
    sent
}

fn limiter() -> RateLimiter {
    RateLimiter::new(&RrlConfig::with_rate(100)).expect("default configuration")
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--callgrind") {
        let workload = match args.get(i + 1).map(String::as_str) {
            Some("one") => Workload::One,
            Some("many") => Workload::Many,
            Some("sweep") => Workload::Sweep,
            other => panic!("--callgrind one|many|sweep N, not {other:?}"),
        };
        let n = args.get(i + 2).and_then(|n| n.parse().ok()).unwrap_or(1_000_000);
        let mut l = limiter();
        println!("callgrind run: {n} decisions, {} sent", decide_loop(&mut l, workload, n));
        return;
    }
    for (name, workload) in [
        ("one flooding /24", Workload::One),
        ("10,000 /24s in turn", Workload::Many),
        ("a new /24 every call", Workload::Sweep),
    ] {
        let mut best = f64::MAX;
        for _ in 0..ROUNDS {
            let mut l = limiter();
            let t = Instant::now();
            black_box(decide_loop(&mut l, workload, PER_ROUND));
            best = best.min(t.elapsed().as_secs_f64() / f64::from(PER_ROUND));
        }
        println!("RateLimiter::decide, {name}: {:.1} ns/decision, best of {ROUNDS} x {PER_ROUND}", best * 1e9);
    }
}
