//! `cargo bench --bench capture`: what query capture costs an XDP worker's
//! frame handler, for callgrind (instructions are the measure; a separate
//! binary from `engine`, whose extra instantiations of the answer path
//! changed LLVM's inlining of the engine's own loops there).
//!
//! `--callgrind-session N` / `--callgrind-handler N` / `--callgrind-tapped N`:
//! N answers in `handler_loop` as an XDP worker hands frames over: through
//! `engine::Session::answer_frame` (what the worker's handler called before
//! capture existed), through `xdp::EngineHandler` without a capture tap, and
//! with a dnstap tap sampling 1 in 100, for
//! `valgrind --tool=callgrind --toggle-collect='*handler_loop*'`.
//! `--callgrind-learning N`: the same handler sampling for learned tier 0
//! (`--xdp-answers top=N`, 1 in `tier0::learn::SAMPLE_EVERY`), its samples
//! handed off every 4096 answers as a busy worker publishes.
//!
//! `--callgrind-counting N`: N answers in `answer_loop_counting`, frame by
//! frame through the servers' counting policy (`stats::Counting`, per-thread
//! counters) instead of `SendAll`, for
//! `valgrind --tool=callgrind --toggle-collect='*answer_loop_counting*'`:
//! the other wrapper a serving thread puts around the engine.
//!
//! `--callgrind-dnstap N`: N sampled exchanges encoded as the capture thread
//! does, into dnstap Frame Streams frames gathered for a pass (cleared every
//! 4096 exchanges, as a pass writes them out), for
//! `valgrind --tool=callgrind --toggle-collect='*dnstap_loop*'`; run under
//! memcheck with two values of N, its heap summary gives allocations per
//! exchange. It builds no zone, so it starts at once.

use std::hint::black_box;

use responder::capture::dnstap::Writer as DnstapWriter;
use responder::capture::exchange::Exchange;
use responder::capture::{ring, Tap, TapConfig};
use responder::engine::live::SharedEngine;
use responder::engine::policy::{Policy, SendAll};
use responder::engine::{answer_in_place_with, Engine, Options, Scratch, Session, Verdict};
use responder::stats::Counting;
use responder::table::Table;
use responder::xdp::tier0::learn::Board;
use responder::xdp::{EngineHandler, FrameHandler};
use testkit::workload;

const NAMES: usize = 100_000;
const QUERIES: usize = 65_536;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let count_after = |flag: &str| args.iter().position(|a| a == flag).map(|i| args[i + 1].parse::<usize>().unwrap());
    if let Some(n) = count_after("--callgrind-dnstap") {
        let (frames, bytes) = dnstap_loop(n);
        println!("callgrind run (dnstap): {n} exchanges, {frames} frames, {bytes} bytes");
        return;
    }
    let text = workload::zone_text(NAMES);
    let zone = responder::zone::parse_str(&text, "bench.zone", None).expect("generated zone parses");
    let engine = Engine::new(Table::compile(&[zone]).expect("compiles"), Options::default());
    let frames: Vec<Vec<u8>> = workload::queries(NAMES, QUERIES, 1)
        .iter()
        .enumerate()
        .map(|(i, q)| workload::ipv4_frame(q, 1024 + (i % 60_000) as u16))
        .collect();
    let mut buf = vec![0u8; 2048];
    if let Some(n) = count_after("--callgrind-counting") {
        let (tx, bytes) = answer_loop_counting(&engine, &frames, &mut buf, n);
        println!("callgrind run (counting): {n} answers, {tx} transmitted, {bytes} bytes");
        return;
    }
    let shared = SharedEngine::new(engine);
    if let Some(n) = count_after("--callgrind-learning") {
        let board = Board::default();
        let mut handler = EngineHandler::new(&shared, SendAll).learning(board.sampler());
        let (tx, bytes) = handler_loop(&mut handler, &frames, &mut buf, n);
        // Outside the measured loop: what the mailbox held, then the rest.
        let mut counts = std::collections::HashMap::new();
        let mut samples = board.drain(&mut counts);
        handler.hand_off();
        samples += board.drain(&mut counts);
        println!("callgrind run (learning): {n} answers, {tx} transmitted, {bytes} bytes, {samples} samples taken");
        return;
    }
    for (flag, tap) in
        [("--callgrind-session", None), ("--callgrind-handler", Some(0)), ("--callgrind-tapped", Some(100))]
    {
        let Some(n) = count_after(flag) else { continue };
        let (tx, bytes) = match tap {
            None => {
                handler_loop(&mut SessionHandler(Session::new(&shared, Counting::new(SendAll))), &frames, &mut buf, n)
            }
            Some(0) => handler_loop(&mut EngineHandler::new(&shared, SendAll), &frames, &mut buf, n),
            Some(every) => {
                // Room for every sampled record: the ring is never drained here.
                let (producer, _reader) = ring::ring(64 << 20);
                let config = TapConfig { dnstap_every: every, ..TapConfig::default() };
                let tap = Tap::new(config, producer, Default::default());
                handler_loop(&mut EngineHandler::with_tap(&shared, SendAll, tap), &frames, &mut buf, n)
            }
        };
        println!("callgrind run ({flag}): {n} answers, {tx} transmitted, {bytes} bytes");
        return;
    }
    eprintln!(
        "give --callgrind-session N, --callgrind-handler N, --callgrind-tapped N, --callgrind-learning N, --callgrind-counting N or --callgrind-dnstap N"
    );
}

/// Frame by frame through a worker's frame handler.
#[inline(never)]
fn handler_loop<H: FrameHandler>(handler: &mut H, frames: &[Vec<u8>], buf: &mut [u8], n: usize) -> (usize, usize) {
    let mut tx = 0;
    let mut bytes = 0;
    for i in 0..n {
        let f = &frames[i & (QUERIES - 1)];
        buf[..f.len()].copy_from_slice(f);
        let capacity = buf.len();
        if let Verdict::Transmit(len) = handler.handle(buf, f.len(), capacity) {
            tx += 1;
            bytes += len;
        }
        // As a busy worker publishes its counters (`worker::PUBLISH_EVERY`
        // iterations): a no-op but with learning on.
        if i & 4095 == 4095 {
            handler.hand_off();
        }
    }
    (tx, bytes)
}

/// The worker's handler as it was before capture: the session's answer alone.
struct SessionHandler(Session<Counting<SendAll>>);

impl FrameHandler for SessionHandler {
    #[inline]
    fn handle(&mut self, frame: &mut [u8], len: usize, capacity: usize) -> Verdict {
        self.0.answer_frame(frame, len, capacity)
    }
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

/// Sampled exchanges as the capture thread turns them into a pass's frames:
/// a query of 40 bytes and its answer of 56, the client IPv4 or IPv6 by turns.
#[inline(never)]
fn dnstap_loop(n: usize) -> (usize, usize) {
    let mut writer = DnstapWriter::new(Some(b"ns1.bench".to_vec()), b"responder 0.1.0".to_vec());
    let query = [0x2au8; 40];
    let response = [0x2bu8; 56];
    let clients = ["198.18.0.2:40000".parse().unwrap(), "[fd00::2]:40000".parse().unwrap()];
    let servers = ["198.18.0.1:53".parse().unwrap(), "[fd00::1]:53".parse().unwrap()];
    let mut pass = Vec::with_capacity(1 << 16);
    let (mut frames, mut bytes) = (0, 0);
    for i in 0..n {
        let e = Exchange {
            wants: 1,
            tcp: false,
            client: clients[i & 1],
            server: servers[i & 1],
            query_ns: 1_700_000_000_000_000_000 + i as u64 * 1000,
            response_ns: 1_700_000_000_000_020_000 + i as u64 * 1000,
            query: black_box(&query),
            response: Some(black_box(&response)),
            tier0: false,
        };
        writer.encode(&e, &mut pass);
        frames += 1 + usize::from(e.response.is_some());
        if i & 4095 == 4095 {
            bytes += black_box(&pass).len();
            pass.clear();
        }
    }
    (frames, bytes + pass.len())
}
