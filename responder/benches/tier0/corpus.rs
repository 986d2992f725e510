//! `--corpus`: the tier-0 program over many distinct keys, as the real path
//! meets them (issue 17: 722 ns a hit under `cargo xtask bench --t0-hits
//! 80`, 144 ns here over one frame). The map is filled as the bench fills
//! it (`responder serve --xdp-answers apex+delegations` over
//! `testkit::workload::zone_text(--names)`), and the queries are the
//! bench's tier-0 keys (xtask `bench/modes/tier0.rs`): the apex's SOA and
//! NS, each delegation's NS, DS, A and AAAA, with and without EDNS. Each
//! run is a single BPF_PROG_TEST_RUN over the next frame of a rotation of
//! `k` distinct frames: with `k` = 1 every line the program reads stays in
//! cache; with every key, the answers' lines (and the pages they are on)
//! have left the near caches by the time a key comes round again.
//! "evicted" columns also write a line of every 64 bytes of a buffer of
//! `--evict-kib` KiB between runs (256: beyond the L1s, within the L2), as
//! the rest of a NAPI poll does on the real path: the program's code, its
//! small maps and some of the TLB go cold, even for one key.

use responder::engine::{Engine, Options};
use responder::table::Table;
use responder::xdp::program::{XdpAction, XdpProgram};
use testkit::frames::QuerySpec;
use testkit::steering::Frame;
use testkit::workload::{kind_of, Kind, Lcg};

/// Delegations are asked below this index only (xtask's `DELEGATION_POOL`).
const DELEGATION_POOL: usize = 10_000;

pub struct Corpus {
    pub hits: Vec<Vec<u8>>,
    pub misses: Vec<Vec<u8>>,
}

pub fn engine(names: usize) -> Engine {
    let text = testkit::workload::zone_text(names);
    let zone = responder::zone::parse_str(&text, "bench.zone", None).expect("the generated zone parses");
    Engine::new(Table::compile(&[zone]).expect("compiles"), Options::default())
}

/// Every tier-0 key the bench asks, in a shuffled order, as frames over
/// IPv4; and as many names the map does not hold (the usual mix's
/// NXDOMAINs), for the misses.
pub fn corpus(names: usize) -> Corpus {
    let delegations = (0..names.min(DELEGATION_POOL)).filter(|i| matches!(kind_of(*i), Kind::Delegation));
    let mut keys: Vec<(String, u16)> = vec![("bench.test.".into(), 6), ("bench.test.".into(), 2)];
    for i in delegations {
        for qtype in [2, 43, 1, 28] {
            keys.push((format!("h{i}.bench.test."), qtype));
        }
    }
    let mut hits = Vec::new();
    for (name, qtype) in &keys {
        for edns in [None, Some((1232, false))] {
            let message = QuerySpec { edns, ..QuerySpec::new(name, *qtype) }.encode();
            hits.push(Frame::udp4(53).payload(&message).build());
        }
    }
    let mut rng = Lcg::new(17);
    for i in (1..hits.len()).rev() {
        hits.swap(i, rng.below(i as u64 + 1) as usize);
    }
    let misses = (0..hits.len())
        .map(|i| {
            let message = QuerySpec { edns: Some((1232, false)), ..QuerySpec::new(&format!("nx{i}.bench.test."), 1) };
            Frame::udp4(53).payload(&message.encode()).build()
        })
        .collect();
    Corpus { hits, misses }
}

/// Every frame of `frames` must get `want` from `program`: a hit that the
/// map does not hold would time a miss.
pub fn check(program: &XdpProgram, frames: &[Vec<u8>], want: XdpAction) {
    for (i, frame) in frames.iter().enumerate() {
        let (action, _) = program.test_run_frame(frame).expect("test run");
        assert_eq!(action, want, "corpus frame {i}");
    }
}

/// The median ns of `samples` single runs over the first `k` frames in
/// turn, the eviction walk between runs if `evict`.
/// `evict` bytes walked between runs (0: none).
pub fn rotate(program: &XdpProgram, frames: &[Vec<u8>], k: usize, samples: usize, evict: usize) -> u64 {
    let k = k.clamp(1, frames.len());
    let mut buffer = vec![1u8; evict];
    let mut runs: Vec<u64> = Vec::with_capacity(samples);
    for s in 0..samples {
        if evict > 0 {
            walk(&mut buffer, s as u8);
        }
        let (_, _, took) = program.test_run_timed(&frames[s % k]).expect("test run");
        runs.push(took.as_nanos() as u64);
    }
    runs.sort_unstable();
    runs[runs.len() / 2]
}

/// Writes a byte a cache line, so that every line is owned here and
/// whatever was in the L1 and L2 before has left.
fn walk(buffer: &mut [u8], seed: u8) {
    for line in buffer.chunks_mut(64) {
        line[0] = line[0].wrapping_add(seed);
    }
    std::hint::black_box(&buffer[0]);
}
