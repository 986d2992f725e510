//! `cargo bench --bench tier0` (root): what the XDP program costs per frame,
//! as the kernel times it with BPF_PROG_TEST_RUN, for steering alone and
//! for tier 0 (answers given by the program, issue 17), over a tier-0 hit,
//! a miss (looked up, then steered) and a frame that is not DNS (ARP); and
//! how many instructions the verifier processed to accept each build (the
//! limit is 1,000,000).
//!
//! A frame the program leaves as it came (a miss, ARP) is run `--repeat N`
//! times in one call, and the kernel's mean per run is its cost. A hit
//! cannot be: the runs of one call share the buffer, and from the second
//! on they would meet the answer, not the query. A hit is run once per
//! call (`--samples N` calls, the median): such a run also holds the
//! kernel's clock reads and set-up around it, and meets colder caches than
//! a run among many; both are taken off as they are measured on the miss,
//! which goes through most of the same code and maps, in the same program
//! (its single-run median less its repeated mean, "overhead" below).
//!
//! `--steps`: also builds of `ebpf/xdp_dns.c` stopped after each step of a
//! tier-0 answer (`T0_STOP` there; compiled with `clang`, `$CLANG`, from
//! `$T0_BENCH_EBPF` if set, else `ebpf/`): where a hit's time goes. The
//! whole answer built the same way (stop 0) must answer the hits byte for
//! byte as the program built into responder does: a check that a
//! program being made faster still gives the same answers. `--rrl`: also tier 0 with rate limiting at a rate no
//! run reaches (every hit charged and sent); its verification takes
//! minutes on a busy host. `--capture N`: also tier 0 capturing 1-in-N of
//! its answers and 1-in-1 (the ring drained between runs, outside the
//! timing, as its reader would). `--baseline DIR`: also tier 0 built from
//! `DIR/xdp_dns.c` (an older tree's `ebpf/`), for a before/after in one
//! run. With `--rrl` and `--capture N`, also rate limiting with capture.
//! `--rounds N` (5): the programs take turns N
//! times and each figure is the median of its rounds.
//!
//! `--corpus` (with `--names N`, 10,000, and `--evict-kib N`, 256): instead, the tier-0 program over
//! a rotation of 1, 100 or all of the bench's distinct keys, with and
//! without the near caches evicted between runs (`tier0/corpus.rs`): what
//! the real path's cold lines cost. With `T0_BENCH_EBPF` set, the program
//! built from that tree takes turns with this one; with `--steps`, the
//! builds cut short after each step, over the same rotations.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

#[path = "tier0/corpus.rs"]
mod corpus;

use responder::engine::{Engine, Options};
use responder::rrl::RrlConfig;
use responder::table::Table;
use responder::xdp::own_addresses::{InterfaceAddr, InterfaceState};
use responder::xdp::program::{SteeringConfig, XdpAction, XdpProgram};
use responder::xdp::tier0::capture::{self as t0capture, CaptureSettings};
use responder::xdp::tier0::{compile, Selection};
use testkit::frames::QuerySpec;
use testkit::steering::{arp_request, Frame, SERVER_MAC, SERVER_V4, SERVER_V6};

const ZONE: &str = include_str!("../../zones/example.com.zone");

/// The steps `T0_STOP` cuts a tier-0 answer after (ebpf/xdp_dns.c).
const STEPS: [(u32, &str); 5] = [
    (1, "stop 1: headers checked"),
    (2, "stop 2: + name read, lowercased, summed"),
    (3, "stop 3: + generation and answer looked up"),
    (4, "stop 4: + frame rewritten, checksums (no counters)"),
    (0, "stop 0: the whole answer, built here"),
];

struct Args {
    repeat: u32,
    samples: usize,
    rounds: usize,
    steps: bool,
    rrl: bool,
    corpus: bool,
    names: usize,
    evict_kib: usize,
    capture: Option<u32>,
    baseline: Option<PathBuf>,
}

fn args() -> Args {
    let argv: Vec<String> = std::env::args().collect();
    let value = |flag: &str| argv.iter().position(|a| a == flag).and_then(|i| argv.get(i + 1)?.parse::<u64>().ok());
    Args {
        repeat: value("--repeat").unwrap_or(100_000).clamp(1, u64::from(u32::MAX)) as u32,
        samples: value("--samples").unwrap_or(2001).max(1) as usize,
        rounds: value("--rounds").unwrap_or(5).max(1) as usize,
        steps: argv.iter().any(|a| a == "--steps"),
        rrl: argv.iter().any(|a| a == "--rrl"),
        corpus: argv.iter().any(|a| a == "--corpus"),
        names: value("--names").unwrap_or(10_000).clamp(20, 1_000_000) as usize,
        evict_kib: value("--evict-kib").unwrap_or(256).clamp(1, 1 << 20) as usize,
        capture: value("--capture").map(|n| n.clamp(1, u64::from(u32::MAX)) as u32),
        baseline: argv.iter().position(|a| a == "--baseline").and_then(|i| argv.get(i + 1)).map(PathBuf::from),
    }
}

fn main() {
    // `cargo bench` runs every bench with `--bench`; this one needs root.
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("tier0 bench: needs root (BPF_PROG_TEST_RUN); skipped");
        return;
    }
    let args = args();
    let core = core_affinity::get_core_ids().and_then(|ids| ids.into_iter().next()).expect("a CPU to run on");
    assert!(core_affinity::set_for_current(core), "pinning to CPU {}", core.id);
    if args.corpus {
        return rotations(&args, core.id);
    }

    let zone = responder::zone::parse_str(ZONE, "zones/example.com.zone", None).expect("the example zone parses");
    let engine = Engine::new(Table::compile(&[zone]).expect("compiles"), Options::default());
    let cases = frames();

    let mut programs: Vec<(String, XdpProgram, bool)> = Vec::new();
    let off = SteeringConfig::default();
    let on = SteeringConfig { tier0: true, ..SteeringConfig::default() };
    programs.push(("steering only (tier 0 off)".into(), load(&off, None, &engine), false));
    programs.push(("tier 0".into(), load(&on, None, &engine), true));
    if args.steps {
        let dir = tempdir();
        for (stop, what) in STEPS {
            let object = build_stopped(&dir, stop);
            // The steps before the rewrite leave the frame to the steering.
            let program = load(&on, Some(&object), &engine);
            if stop == 0 {
                same_answers(&programs[1].1, &program, &cases);
            }
            programs.push((what.into(), program, stop >= 4 || stop == 0));
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
    if let Some(dir) = &args.baseline {
        let tmp = tempdir();
        let object = build(dir, &tmp, 0);
        let program = load(&on, Some(&object), &engine);
        same_answers(&programs[1].1, &program, &cases);
        programs.push((format!("tier 0 built from {}", dir.display()), program, true));
        let _ = std::fs::remove_dir_all(&tmp);
    }
    if let Some(every) = args.capture {
        for every in [every, 1] {
            let ring_bytes = t0capture::ring_size(1 << 20);
            let capture = Some(CaptureSettings { every, ring_bytes });
            let program = load(&SteeringConfig { capture, ..on.clone() }, None, &engine);
            assert_eq!(program.tier0_capture_refused(), None, "this kernel must accept the capture code");
            programs.push((format!("tier 0 + capture 1-in-{every}"), program, true));
        }
    }
    if args.rrl {
        let limited = SteeringConfig { rrl: Some(RrlConfig::with_rate(responder::rrl::MAX_RATE)), ..on.clone() };
        programs.push(("tier 0 + rate limiting".into(), load(&limited, None, &engine), true));
        // The variant closest to the verifier's limit.
        if let Some(every) = args.capture {
            let ring_bytes = t0capture::ring_size(1 << 20);
            let capture = Some(CaptureSettings { every, ring_bytes });
            let program = load(&SteeringConfig { capture, ..limited.clone() }, None, &engine);
            assert_eq!(program.tier0_capture_refused(), None, "this kernel must accept the capture code");
            programs.push((format!("tier 0 + rate limiting + capture 1-in-{every}"), program, true));
        }
    }

    println!(
        "ns per frame (BPF_PROG_TEST_RUN, CPU {}, median of {} rounds; a frame left as it came: mean of {} runs in one call; *: a frame answered, median of {} single runs less the overhead)",
        core.id, args.rounds, args.repeat, args.samples
    );
    // Rounds taking turns over the programs, so that a change in the
    // host's load falls on all of them; each cell the median of its rounds.
    let mut cells: Vec<Vec<Vec<(u64, bool)>>> = vec![vec![Vec::new(); cases.list.len() + 1]; programs.len()];
    for _ in 0..args.rounds {
        for ((_, program, answers), row) in programs.iter().zip(&mut cells) {
            let overhead = overhead(program, &cases.miss, &args);
            row[0].push((overhead, false));
            for ((_, frame, hit), cell) in cases.list.iter().zip(&mut row[1..]) {
                cell.push(cost(program, frame, *hit && *answers, overhead, &args));
            }
        }
    }
    for ((what, program, _), row) in programs.iter().zip(&cells) {
        let insns = program.verified_instructions().ok().flatten().map_or("?".into(), |n| n.to_string());
        let ns = |cell: &Vec<(u64, bool)>| median(cell.iter().map(|c| c.0).collect());
        let mut line = format!("{what:<52} verifier {insns:>7} insns | overhead {:>4}", ns(&row[0]));
        for ((name, _, _), cell) in cases.list.iter().zip(&row[1..]) {
            let single = cell.iter().any(|c| c.1);
            line += &format!(" | {name} {:>5}{}", ns(cell), if single { "*" } else { " " });
        }
        println!("{line}");
    }
}

/// `--corpus`: each program over rotations of distinct frames.
fn rotations(args: &Args, cpu: usize) {
    let engine = corpus::engine(args.names);
    let frames = corpus::corpus(args.names);
    let on = SteeringConfig { tier0: true, ..SteeringConfig::default() };
    let mut programs = vec![("tier 0 (built in)".to_owned(), load(&on, None, &engine))];
    let dir = tempdir();
    if std::env::var_os("T0_BENCH_EBPF").is_some() {
        programs
            .push(("tier 0 built from $T0_BENCH_EBPF".to_owned(), load(&on, Some(&build_stopped(&dir, 0)), &engine)));
    }
    for (_, program) in &programs {
        corpus::check(program, &frames.hits, XdpAction::Tx);
        corpus::check(program, &frames.misses, XdpAction::Pass);
    }
    // Cut short, a hit is looked up (or not) and then steered: its time
    // up to that step over the same cold lines.
    if args.steps {
        for (stop, what) in STEPS.iter().filter(|(stop, _)| *stop != 0) {
            programs.push(((*what).to_owned(), load(&on, Some(&build_stopped(&dir, *stop)), &engine)));
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    let all = frames.hits.len();
    // (what, hits or misses, frames in the rotation, evicted)
    let columns: Vec<(String, bool, usize, bool)> = vec![
        ("hit k=1".into(), true, 1, false),
        ("hit k=100".into(), true, 100, false),
        (format!("hit k={all}"), true, all, false),
        ("hit k=1 evicted".into(), true, 1, true),
        (format!("hit k={all} evicted"), true, all, true),
        ("miss k=1".into(), false, 1, false),
        (format!("miss k={all}"), false, all, false),
        (format!("miss k={all} evicted"), false, all, true),
    ];
    let mut cells = vec![vec![Vec::new(); columns.len()]; programs.len()];
    for _ in 0..args.rounds {
        for ((_, program), row) in programs.iter().zip(&mut cells) {
            for ((_, hit, k, evict), cell) in columns.iter().zip(row.iter_mut()) {
                let list = if *hit { &frames.hits } else { &frames.misses };
                let evict = if *evict { args.evict_kib << 10 } else { 0 };
                cell.push(corpus::rotate(program, list, *k, args.samples, evict));
            }
        }
    }
    println!(
        "ns per frame, single BPF_PROG_TEST_RUN runs (not less any overhead), CPU {cpu}, zone of {} names, {all} hit frames, {} KiB evicted, median of {} runs, median of {} rounds",
        args.names, args.evict_kib, args.samples, args.rounds
    );
    for (what, program) in &programs {
        let hot = repeated(program, &frames.misses[0], args);
        println!("{what}: a miss repeated {} times in one call, mean {hot} ns", args.repeat);
    }
    for ((what, _), row) in programs.iter().zip(&cells) {
        let mut line = format!("{what:<34}");
        for ((name, ..), cell) in columns.iter().zip(row) {
            line += &format!(" | {name} {:>5}", median(cell.clone()));
        }
        println!("{line}");
    }
}

struct Cases {
    miss: Vec<u8>,
    list: Vec<(&'static str, Vec<u8>, bool)>,
    /// Compared, not timed.
    more: Vec<(&'static str, Vec<u8>)>,
}

fn frames() -> Cases {
    let query =
        |name: &str, qtype: u16| QuerySpec { edns: Some((1232, false)), ..QuerySpec::new(name, qtype) }.encode();
    let hit = query("Example.com.", 2);
    let miss = query("www.example.com.", 1);
    Cases {
        miss: Frame::udp4(53).payload(&miss).build(),
        list: vec![
            ("hit v4", Frame::udp4(53).payload(&hit).build(), true),
            ("hit v6", Frame::udp6(53).payload(&hit).build(), true),
            ("miss v4", Frame::udp4(53).payload(&miss).build(), false),
            ("ARP", arp_request(), false),
        ],
        more: more_frames(),
    }
}

/// `built` answers every hit of `cases` with the very frame `reference` does.
fn same_answers(reference: &XdpProgram, built: &XdpProgram, cases: &Cases) {
    for (name, frame) in cases.list.iter().map(|(n, f, _)| (*n, f)).chain(cases.more.iter().map(|(n, f)| (*n, f))) {
        assert_eq!(
            reference.test_run_frame(frame).expect("test run"),
            built.test_run_frame(frame).expect("test run"),
            "{name}"
        );
    }
    eprintln!("the program built here answers as the one built into responder");
}

/// The hits and misses `same_answers` compares besides the timed ones.
fn more_frames() -> Vec<(&'static str, Vec<u8>)> {
    let spec = |name: &str, qtype: u16, edns: Option<(u16, bool)>| QuerySpec { edns, ..QuerySpec::new(name, qtype) };
    let queries = [
        ("apex SOA, no EDNS", spec("example.com.", 6, None)),
        ("apex MX, DO", spec("ExAmPlE.CoM.", 15, Some((4096, true)))),
        ("apex A, EDNS 100", spec("EXAMPLE.COM.", 1, Some((100, false)))),
        ("delegation NS", spec("Child.Example.com.", 2, None)),
        ("delegation DS, DO", spec("child.example.com.", 43, Some((1232, true)))),
        ("fat A", spec("fat.example.com.", 1, Some((1232, false)))),
        ("id 0, RD clear", QuerySpec { id: 0, rd: false, ..spec("example.com.", 6, Some((512, false))) }),
        ("a name under the apex", spec("x.example.com.", 6, None)),
        ("a long name", spec("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.bbbbbbbbbbbbbbbbbbbbbbbbbbb.example.com.", 1, None)),
        ("a name of 63", spec("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.bbbbbbbbbbbb.example.com.", 1, None)),
    ];
    let mut frames = Vec::new();
    for (what, q) in queries {
        let message = q.encode();
        frames.push((what, Frame::udp4(53).payload(&message).build()));
        frames.push((what, Frame::udp6(53).vlan(testkit::steering::ETHERTYPE_VLAN, 10).payload(&message).build()));
    }
    frames
}

fn load(config: &SteeringConfig, object: Option<&[u8]>, engine: &Engine) -> XdpProgram {
    let started = Instant::now();
    let program = match object {
        Some(object) => XdpProgram::load_object_bytes(config, object),
        None => XdpProgram::load(config),
    }
    .unwrap_or_else(|err| panic!("loading the program: {err}"));
    eprintln!("loaded in {:.1} s", started.elapsed().as_secs_f64());
    let iface = InterfaceState {
        mac: Some(SERVER_MAC),
        addrs: vec![InterfaceAddr::new(SERVER_V4.into(), 24), InterfaceAddr::new(SERVER_V6.into(), 64)],
    };
    program.addresses().apply(&iface).expect("setting the interface's addresses");
    if config.tier0 {
        assert_eq!(program.tier0_refused(), None, "this kernel must accept the tier-0 code");
        let compiled = compile(engine, Selection::ApexAndDelegations);
        program.tier0().expect("tier-0 maps").lock().unwrap().publish(&compiled.entries).expect("publishing");
    }
    program
}

fn median(mut v: Vec<u64>) -> u64 {
    v.sort_unstable();
    v[v.len() / 2]
}

fn single_run(program: &XdpProgram, frame: &[u8]) -> (XdpAction, u64) {
    let (action, _, took) = program.test_run_timed(frame).expect("test run");
    // As the reader would: the ring never fills, and the timed runs
    // are the ones that copy into it.
    if let Some(mut ring) = program.take_tier0_capture_ring() {
        t0capture::drain(&mut ring, |_| {});
        program.put_back_tier0_capture_ring(ring);
    }
    (action, took.as_nanos() as u64)
}

/// A single run's time beyond a run among many: the miss's single-run
/// median less its repeated mean.
fn overhead(program: &XdpProgram, miss: &[u8], args: &Args) -> u64 {
    let single = median((0..args.samples).map(|_| single_run(program, miss).1).collect());
    single.saturating_sub(repeated(program, miss, args))
}

fn repeated(program: &XdpProgram, frame: &[u8], args: &Args) -> u64 {
    median(
        (0..5).map(|_| program.test_run_repeated(frame, args.repeat).expect("test run").1.as_nanos() as u64).collect(),
    )
}

/// The frame's cost, and whether it is from single runs (a frame the
/// program changes).
fn cost(program: &XdpProgram, frame: &[u8], hit: bool, overhead: u64, args: &Args) -> (u64, bool) {
    let (action, out) = program.test_run_frame(frame).expect("test run");
    if hit {
        assert_eq!(action, XdpAction::Tx, "a hit is answered");
    }
    if out == frame {
        return (repeated(program, frame, args), false);
    }
    let runs: Vec<u64> = (0..args.samples).map(|_| single_run(program, frame).1).collect();
    (median(runs).saturating_sub(overhead), true)
}

fn tempdir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("responder-tier0-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    dir
}

/// `ebpf/xdp_dns.c` built as `build.rs` builds it, with `-DT0_STOP=stop`.
fn build_stopped(dir: &Path, stop: u32) -> Vec<u8> {
    let ebpf = std::env::var_os("T0_BENCH_EBPF")
        .map_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../ebpf"), PathBuf::from);
    build(&ebpf, dir, stop)
}

/// `ebpf/xdp_dns.c` of the tree `ebpf` into `dir`, with `-DT0_STOP=stop`.
fn build(ebpf: &Path, dir: &Path, stop: u32) -> Vec<u8> {
    let object = dir.join(format!("xdp_dns_{}_stop{stop}.o", std::process::id()));
    let clang = std::env::var("CLANG").unwrap_or_else(|_| "clang".into());
    let multiarch = Command::new("gcc")
        .arg("-print-multiarch")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| format!("{}-linux-gnu", std::env::consts::ARCH));
    let status = Command::new(&clang)
        .args(["-target", "bpf", "-O2", "-g", "-Wall"])
        .arg(format!("-DT0_STOP={stop}"))
        .arg("-I")
        .arg(ebpf)
        .arg("-I")
        .arg(Path::new("/usr/include").join(multiarch))
        .arg("-c")
        .arg(ebpf.join("xdp_dns.c"))
        .arg("-o")
        .arg(&object)
        .status()
        .unwrap_or_else(|err| panic!("running {clang}: {err}"));
    assert!(status.success(), "building the T0_STOP={stop} program");
    std::fs::read(&object).expect("reading the built object")
}
