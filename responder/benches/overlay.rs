//! `cargo bench --bench overlay`: the time to apply 1, 100 and 10,000
//! changes to a 1,000,000-name zone as an overlay (`table::overlay`) and
//! make them live (the engine swapped), beside the full compile they
//! replace, and the one-off cost of the index they need.
//!
//! Each change replaces one record, half of them an address of an existing
//! name (some of which CNAMEs and MX records point at), half a new name (a
//! new A record), as an IXFR would carry them. The sets are applied one on
//! top of the other (each overlay includes the last), as a secondary
//! receiving three IXFRs would.
//!
//! Modes (arguments after `--`): `--names N` (default 1,000,000),
//! `--sizes 1,100,10000`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use responder::engine::live::SharedEngine;
use responder::engine::{answer_message, Engine, Options, Transport};
use responder::table::overlay::{apply, Change, ZoneIndex};
use responder::table::Table;
use responder::zone::{Location, Name, RType, Record};
use testkit::workload::{self, kind_of, Kind};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let after = |flag: &str| args.iter().position(|a| a == flag).and_then(|i| args.get(i + 1)).cloned();
    let names: usize = after("--names").and_then(|n| n.parse().ok()).unwrap_or(1_000_000);
    let sizes: Vec<usize> = after("--sizes")
        .map(|s| s.split(',').filter_map(|n| n.parse().ok()).collect())
        .unwrap_or_else(|| vec![1, 100, 10_000]);

    let text = workload::zone_text(names);
    let zone = responder::zone::parse_str(&text, "bench.zone", None).expect("generated zone parses");
    drop(text);
    let zones = [zone];
    let (t, c) = (Instant::now(), thread_cpu());
    let table = Table::compile(&zones).expect("compiles");
    let (compile, compile_cpu) = (t.elapsed(), thread_cpu() - c);
    let t = Instant::now();
    let mut index = ZoneIndex::build(&zones);
    let indexed = t.elapsed();
    println!(
        "{names}-name zone: full compile {:.2} s ({:.2} s CPU) (table {:.1} MB); index for incremental applies built in {:.2} s",
        compile.as_secs_f64(),
        compile_cpu.as_secs_f64(),
        table.as_bytes().len() as f64 / 1e6,
        indexed.as_secs_f64(),
    );
    let shared = SharedEngine::new(Engine::new(table, Options::default()));
    let mut first = 0;
    for &n in &sizes {
        let change = changes(names, first, n);
        first += n;
        let current = shared.load();
        let (t, c) = (Instant::now(), thread_cpu());
        let (overlay, applied) =
            apply(&mut index, current.table(), current.overlay(), &change).expect("the overlay takes these changes");
        let built = t.elapsed();
        shared.replace(current.with_overlay(Some(Arc::new(overlay))));
        let (live, live_cpu) = (t.elapsed(), thread_cpu() - c);
        let engine = shared.load();
        let (nodes, tombstones) = engine.overlay().map_or((0, 0), |o| o.len());
        println!(
            "apply {n} changes: {:.1} ms to build the overlay, {:.1} ms until live ({:.1} ms CPU); {} names compiled ({} given to the compiler), overlay now {} names, {} tombstones, {:.2} MB",
            built.as_secs_f64() * 1e3,
            live.as_secs_f64() * 1e3,
            live_cpu.as_secs_f64() * 1e3,
            applied.compiled,
            applied.context,
            nodes,
            tombstones,
            engine.overlay().map_or(0, |o| o.bytes()) as f64 / 1e6,
        );
        check(&engine, &change);
    }
}

/// This thread's CPU time: the work itself, which on a shared, loaded host
/// the wall clock (time spent waiting for a CPU included) does not show.
fn thread_cpu() -> Duration {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime (a vDSO call into the kernel's clock) writes
    // one timespec we own; CLOCK_THREAD_CPUTIME_ID exists on every Linux.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec.max(0) as u64, ts.tv_nsec.clamp(0, 999_999_999) as u32)
}

/// `n` changes, numbered from `first`: even ones move an existing name's
/// address, odd ones add a name.
fn changes(names: usize, first: usize, n: usize) -> Change {
    let at = Location { file: "ixfr".into(), line: 0 };
    let name = |label: String| Name::parse(&format!("{label}.bench.test."), None).unwrap().unwrap();
    let a = |owner: Name, addr: [u8; 4]| Record {
        owner,
        rtype: RType::A,
        class: 1,
        ttl: 3600,
        rdata: addr.into(),
        location: at.clone(),
    };
    let mut change = Change::default();
    let mut i = 0;
    for k in first..first + n {
        if k % 2 == 0 {
            // The next plain-address name (most of the zone's are).
            while !matches!(kind_of(i % names), Kind::A) {
                i += 1;
            }
            let j = i % names;
            i += 7;
            let (x, y) = (((j >> 8) & 0xff) as u8, (j & 0xff) as u8);
            change.deletes.push(a(name(format!("h{j}")), [198, 18, x, y]));
            change.adds.push(a(name(format!("h{j}")), [203, 0, 113, y]));
        } else {
            change.adds.push(a(name(format!("new{k}")), [203, 0, 113, (k & 0xff) as u8]));
        }
    }
    change
}

/// Every added address is what its name answers now.
fn check(engine: &Engine, change: &Change) {
    let mut buf = vec![0u8; 4096];
    for r in change.adds.iter().step_by(change.adds.len().div_ceil(50)) {
        let q = testkit::frames::QuerySpec::new(&r.owner.to_string(), 1).encode();
        buf[..q.len()].copy_from_slice(&q);
        let n = answer_message(engine, &mut buf, q.len(), Transport::Udp).expect("answered");
        assert!(buf[..n].windows(4).any(|w| w == &r.rdata[..]), "{} answers its new address", r.owner);
    }
}
