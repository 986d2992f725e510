//! `cargo bench --bench counting`: what the serving threads' counting policy
//! (`stats::Counting`, per-thread counters with no shared writes) costs over
//! `SendAll`, for callgrind (instructions are the measure). A binary of its
//! own: another instantiation of the answer path in `engine` would change
//! how LLVM inlines the loops that bench measures.
//!
//! `--callgrind-counting N`: N answers in `answer_loop_counting`, frame by
//! frame, for `valgrind --tool=callgrind --toggle-collect='*answer_loop_counting*'`.

use std::hint::black_box;

use responder::engine::policy::{Policy, SendAll};
use responder::engine::{answer_in_place_with, Engine, Options, Scratch, Verdict};
use responder::stats::Counting;
use responder::table::Table;
use testkit::workload;

const NAMES: usize = 100_000;
const QUERIES: usize = 65_536;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let Some(n) = args.iter().position(|a| a == "--callgrind-counting").map(|i| args[i + 1].parse::<usize>().unwrap())
    else {
        eprintln!("give --callgrind-counting N");
        return;
    };
    let text = workload::zone_text(NAMES);
    let zone = responder::zone::parse_str(&text, "bench.zone", None).expect("generated zone parses");
    let engine = Engine::new(Table::compile(&[zone]).expect("compiles"), Options::default());
    let frames: Vec<Vec<u8>> = workload::queries(NAMES, QUERIES, 1)
        .iter()
        .enumerate()
        .map(|(i, q)| workload::ipv4_frame(q, 1024 + (i % 60_000) as u16))
        .collect();
    let mut buf = vec![0u8; 2048];
    let (tx, bytes) = answer_loop_counting(&engine, &frames, &mut buf, n);
    println!("callgrind run (counting): {n} answers, {tx} transmitted, {bytes} bytes");
}

/// Frame by frame through the servers' counting policy.
#[inline(never)]
fn answer_loop_counting(engine: &Engine, frames: &[Vec<u8>], buf: &mut [u8], n: usize) -> (usize, usize) {
    let mut scratch = Scratch::default();
    let mut policy = Counting::new(SendAll);
    let (mut tx, mut bytes) = (0, 0);
    for i in 0..n {
        let f = &frames[i & (QUERIES - 1)];
        buf[..f.len()].copy_from_slice(f);
        let capacity = buf.len();
        if let Verdict::Transmit(len) = answer_in_place_with(engine, &mut scratch, buf, f.len(), capacity, &mut policy)
        {
            tx += 1;
            bytes += len;
        }
        policy.end_query(true);
    }
    black_box(policy.counters);
    (tx, bytes)
}
