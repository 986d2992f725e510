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
//! `--sizes 1,100,10000`; `--ixfr`: the same sets as a secondary receives
//! them by IXFR, through the steps its zone's thread takes, each timed.
//!
//! `--answers`: instead, the engine's answers per second in batches of 64
//! (as an XDP worker answers an RX batch, prefetched) on the base table
//! and on the same table with `--changes N` (default 1,000) changes
//! applied as one overlay, `--rounds R` (default 8) rounds taking turns so
//! that the host's noise shows in both. The query mix is the engine
//! bench's (about 20% NXDOMAIN) with every eighth query asking for a
//! changed name instead (a moved address or a new name; `--changed-every
//! K` for every K-th, 0 for none: then both engines give the same answers
//! and only the overlay's lookups differ), the same frames for both. With `--callgrind-batched N` and `--engine base|overlay`: N
//! answers on that engine and nothing else timed, for
//! `valgrind --tool=callgrind --toggle-collect='*answer_batches*'`.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use responder::engine::live::SharedEngine;
use responder::engine::policy::SendAll;
use responder::engine::{
    answer_in_place_with, answer_message, Engine, Options, Prefetch, Scratch, Transport, Verdict, MAX_BATCH,
};
use responder::table::overlay::{apply, Change, ZoneIndex};
use responder::table::Table;
use responder::zone::{Location, Name, RType, Record};
use testkit::workload::{self, kind_of, Kind};

#[path = "common/batches.rs"]
mod batches;
use batches::answer_batches;

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
    if args.iter().any(|a| a == "--answers") {
        let count = |flag: &str, default: usize| after(flag).and_then(|n| n.parse().ok()).unwrap_or(default);
        let run = AnswersRun {
            names,
            changes: count("--changes", 1_000),
            rounds: count("--rounds", 8),
            callgrind: after("--callgrind-batched").and_then(|n| n.parse().ok()),
            engine: after("--engine").unwrap_or_else(|| "overlay".into()),
            changed_every: count("--changed-every", 8),
        };
        answers(&zones, run);
        return;
    }
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
    if args.iter().any(|a| a == "--ixfr") {
        let [zone] = zones;
        ixfr(zone, names, &sizes, index, &shared);
        return;
    }
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

/// `--ixfr`: each change set arrives as a secondary's IXFR (the SOA's
/// serial moved, as a primary sends it) and goes the way the zone's
/// thread takes it (`transfer::inbound::zone`), each step timed in CPU:
/// the difference applied to the copy held, checked as a zone, the change
/// from the copy served found (the reloader's `Change::diff`, told the
/// names the IXFR touched) and applied as an overlay; then the copy written
/// out as its zone file's text, after it serves. For the first set, also
/// what the zone's thread did before that it does no more: parse the text
/// back, and compile the zone alone.
fn ixfr(zone: responder::zone::Zone, names: usize, sizes: &[usize], mut index: ZoneIndex, shared: &SharedEngine) {
    use responder::transfer::inbound::{apply as ixfr, message::WireRecord, stream::Diff, timers::Soa, zone_text};
    let wire = |r: &Record| WireRecord {
        owner: r.owner.clone(),
        rtype: r.rtype,
        class: r.class,
        ttl: r.ttl,
        rdata: r.rdata.to_vec(),
    };
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let mut held = Arc::new(zone);
    let mut first = 0;
    for (k, &n) in sizes.iter().enumerate() {
        let change = changes_at(names, first, n, first * 7);
        first += n;
        let soa = held.records.iter().find(|r| r.rtype == RType::SOA).expect("an SOA").clone();
        let serial = Soa::from_rdata(&soa.rdata).expect("SOA RDATA").serial;
        let mut next_soa = soa.clone();
        let at = next_soa.rdata.len() - 20;
        let mut rdata = next_soa.rdata.to_vec();
        rdata[at..at + 4].copy_from_slice(&(serial + 1).to_be_bytes());
        next_soa.rdata = rdata.as_slice().into();
        let diff = Diff {
            from: serial,
            to: serial + 1,
            removed: std::iter::once(&soa).chain(&change.deletes).map(wire).collect(),
            added: std::iter::once(&next_soa).chain(&change.adds).map(wire).collect(),
        };
        let (c, w, p) = (thread_cpu(), Instant::now(), process_cpu());
        let applied = ixfr::apply(&held.records, &[diff], "bench.zone").expect("the difference fits the copy");
        let applied_cpu = thread_cpu() - c;
        // The apply's new copy is faulted in on another thread: its CPU
        // is the process's, its time the wall clock's.
        let (applied_wall, applied_process) = (w.elapsed(), process_cpu() - p);
        let limit = responder::zone::DEFAULT_MAX_BYTES;
        assert!(zone_text::bound(&held.origin, &applied.records, "bench") <= limit, "written out only once it serves");
        let derived =
            responder::zone::Derived { from: Arc::downgrade(&held), names: applied.names, at: Some(applied.at) };
        let next =
            responder::zone::from_change(&held, applied.records, derived, &held.origin, "bench.zone").expect("checks");
        let checked_cpu = thread_cpu() - c - applied_cpu;
        let found = Change::diff(0, &held, &next);
        let diffed_cpu = thread_cpu() - c - applied_cpu - checked_cpu;
        let current = shared.load();
        let (overlay, applied) =
            apply(&mut index, current.table(), current.overlay(), &found).expect("the overlay takes these changes");
        shared.replace(current.with_overlay(Some(Arc::new(overlay))));
        let live_cpu = thread_cpu() - c;
        let live_wall = w.elapsed();
        let overlaid_cpu = live_cpu - applied_cpu - checked_cpu - diffed_cpu;
        let c = thread_cpu();
        let text = zone_text::render(&held.origin, &next.records, "bench");
        let rendered_cpu = thread_cpu() - c;
        println!(
            "IXFR of {n} changes (+ the SOA) to {names} names, CPU ms: apply {:.1} (process CPU {:.1}, wall {:.1}), \
             check {:.1}, change found {:.1} ({} records), overlay {:.1} ({} names compiled): live after {:.1} \
             (wall {:.1}); then written out {:.1}",
            ms(applied_cpu),
            ms(applied_process),
            ms(applied_wall),
            ms(checked_cpu),
            ms(diffed_cpu),
            found.deletes.len() + found.adds.len(),
            ms(overlaid_cpu),
            applied.compiled,
            ms(live_cpu),
            ms(live_wall),
            ms(rendered_cpu),
        );
        check(&shared.load(), &change);
        if k == 0 {
            let c = thread_cpu();
            let parsed = responder::zone::parse_str(&text, "bench.zone", Some(&held.origin)).expect("parses");
            let parse_cpu = thread_cpu() - c;
            assert_eq!(parsed.records, next.records, "the text reads back as the records checked");
            let c = thread_cpu();
            Table::compile(std::slice::from_ref(&parsed)).expect("compiles");
            let compile_cpu = thread_cpu() - c;
            let c = thread_cpu();
            let every = Change::diff(0, &held, &parsed);
            let every_cpu = thread_cpu() - c;
            assert_eq!((&every.deletes, &every.adds), (&found.deletes, &found.adds), "the same change either way");
            println!(
                "  no longer done: write out before it serves {:.1} ms, parse of the text {:.1} ms, compile of the zone \
                 alone {:.1} ms, the change found comparing every record {:.1} ms (CPU)",
                ms(rendered_cpu),
                ms(parse_cpu),
                ms(compile_cpu),
                ms(every_cpu),
            );
        }
        held = Arc::new(next);
    }
}

/// This thread's CPU time: the work itself, which on a shared, loaded host
/// the wall clock (time spent waiting for a CPU included) does not show.
/// Every thread's CPU time so far, user and system.
fn process_cpu() -> Duration {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: as in `thread_cpu`, for the whole process's clock.
    unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec.max(0) as u64, ts.tv_nsec.clamp(0, 999_999_999) as u32)
}

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
    changes_at(names, first, n, 0)
}

/// [`changes`], the addresses moved from the `start`-th name on (an IXFR
/// can only remove what the copy holds: each set its own names).
fn changes_at(names: usize, first: usize, n: usize, start: usize) -> Change {
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
    let mut i = start;
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

/// Queries in the answer mix: a power of two, indexed with a mask.
const QUERIES: usize = 65_536;

struct AnswersRun {
    names: usize,
    changes: usize,
    rounds: usize,
    callgrind: Option<usize>,
    engine: String,
    /// Every this many queries asks for a changed name; 0: none does.
    changed_every: usize,
}

/// Answers per second on the base table and with `run.changes` changes
/// applied as an overlay, rounds taking turns; or, with a callgrind count,
/// only that many answers on one of them.
fn answers(zones: &[responder::zone::Zone], run: AnswersRun) {
    let base = Engine::new(Table::compile(zones).expect("compiles"), Options::default());
    let mut index = ZoneIndex::build(zones);
    let change = changes(run.names, 0, run.changes);
    let (overlay, applied) = apply(&mut index, base.table(), None, &change).expect("the overlay takes these changes");
    drop(index);
    let overlaid = base.with_overlay(Some(Arc::new(overlay)));
    let (nodes, tombstones) = overlaid.overlay().map_or((0, 0), |o| o.len());
    println!(
        "{} changes applied: {} names compiled, overlay {} names, {} tombstones, {:.2} MB",
        run.changes,
        applied.compiled,
        nodes,
        tombstones,
        overlaid.overlay().map_or(0, |o| o.bytes()) as f64 / 1e6
    );
    let frames = answer_mix(run.names, &change, run.changed_every);
    let mut bufs = vec![vec![0u8; 2048]; MAX_BATCH];
    let mut prefetch = Prefetch::new();
    if let Some(n) = run.callgrind {
        let engine = match run.engine.as_str() {
            "base" => &base,
            "overlay" => &overlaid,
            other => panic!("--engine base|overlay, not {other}"),
        };
        let (tx, bytes) = answer_batches(engine, &frames, &mut bufs, &mut prefetch, n);
        println!("callgrind run (batched, {}): {n} answers, {tx} transmitted, {bytes} bytes", run.engine);
        return;
    }
    check_mix(&base, &overlaid, &frames, run.changed_every);
    // Warm both (caches, the table's pages) before the clock.
    for engine in [&base, &overlaid] {
        black_box(answer_batches(engine, &frames, &mut bufs, &mut prefetch, QUERIES));
    }
    let per_round = QUERIES * 16;
    let mut rates: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
    for round in 0..run.rounds {
        // Which goes first alternates, so neither always follows the other.
        let order = if round % 2 == 0 { [0, 1] } else { [1, 0] };
        for which in order {
            let engine = if which == 0 { &base } else { &overlaid };
            let t = Instant::now();
            black_box(answer_batches(engine, &frames, &mut bufs, &mut prefetch, per_round));
            rates[which].push(per_round as f64 / t.elapsed().as_secs_f64());
        }
        println!(
            "round {}: base {:.0} answers/s, {} changes applied {:.0} answers/s ({:+.1}%)",
            round + 1,
            rates[0][round],
            run.changes,
            rates[1][round],
            (rates[1][round] / rates[0][round] - 1.0) * 100.0
        );
    }
    let median = |v: &[f64]| {
        let mut v = v.to_vec();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let spread = |v: &[f64]| (v.iter().cloned().fold(f64::MAX, f64::min), v.iter().cloned().fold(0.0, f64::max));
    let (m0, m1) = (median(&rates[0]), median(&rates[1]));
    let ((lo0, hi0), (lo1, hi1)) = (spread(&rates[0]), spread(&rates[1]));
    println!(
        "median of {} rounds: base {m0:.0} answers/s ({lo0:.0}-{hi0:.0}), {} changes applied {m1:.0} ({lo1:.0}-{hi1:.0}): {:+.1}%",
        run.rounds,
        run.changes,
        (m1 / m0 - 1.0) * 100.0
    );
}

/// The engine bench's mix over `names`, every `every`-th query asking
/// instead for a name `change` adds (moved addresses and new names in
/// turn; none for 0), each framed as the XDP worker receives it.
fn answer_mix(names: usize, change: &Change, every: usize) -> Vec<Vec<u8>> {
    let changed: Vec<String> = change.adds.iter().map(|r| r.owner.to_string()).collect();
    workload::queries(names, QUERIES, 1)
        .into_iter()
        .enumerate()
        .map(|(i, q)| match every {
            0 => q,
            _ if changed.is_empty() || i % every != 0 => q,
            _ => testkit::frames::QuerySpec::new(&changed[(i / every) % changed.len()], 1).encode(),
        })
        .enumerate()
        .map(|(i, q)| workload::ipv4_frame(&q, 1024 + (i % 60_000) as u16))
        .collect()
}

/// The two engines answer every query of the mix; alike, except for the
/// changed names (and the CNAMEs and MX owners that name them), which
/// only the overlaid one answers with their new data.
fn check_mix(base: &Engine, overlaid: &Engine, frames: &[Vec<u8>], every: usize) {
    let mut a = vec![0u8; 2048];
    let mut b = vec![0u8; 2048];
    let (mut alike, mut differ) = (0, 0);
    for f in frames {
        a[..f.len()].copy_from_slice(f);
        b[..f.len()].copy_from_slice(f);
        let (Verdict::Transmit(x), Verdict::Transmit(y)) = (
            answer_in_place_with(base, &mut Scratch::default(), &mut a, f.len(), 2048, &mut SendAll),
            answer_in_place_with(overlaid, &mut Scratch::default(), &mut b, f.len(), 2048, &mut SendAll),
        ) else {
            panic!("a query of the mix not answered")
        };
        if a[..x] == b[..y] {
            alike += 1;
        } else {
            differ += 1;
        }
    }
    println!("query mix: {} queries, {differ} answered differently after the change", frames.len());
    if let Some(asked) = frames.len().checked_div(every) {
        assert!(differ + 1 >= asked, "the changed names are in the mix");
    }
    assert!(alike > frames.len() * 3 / 4, "most answers are the base's");
}
