//! `cargo bench --bench zones [-- NAMES...]`: what a big zone costs the
//! `responder` binary itself, as an operator runs it. For each size
//! (default 1,000,000, 4,000,000 and 10,000,000 names of the generated
//! hosting-provider zone, `testkit/src/workload.rs`):
//!
//! - `responder compile` in a child process: wall time and peak resident
//!   memory (the child's own `ru_maxrss`, from wait4), zone file and table
//!   bytes;
//! - `responder serve --table` of that table on loopback: the time from the
//!   spawn to its first answer over UDP, and its resident memory then.
//!
//! `--bin PATH` measures another build of `responder` instead (main's, to
//! compare); `--same-as PATH [NAMES]` compiles zones/ and a generated zone
//! with both builds and fails unless the tables are byte for byte the same.
//!
//! `--hoster [ZONES]` measures many small zones instead (`zones/hoster.rs`).
//!
//! `--phases NAMES` instead loads and compiles in this process and prints
//! the resident memory after and at most during each step (read and parse;
//! compile into the file, the zones dropped in it, and the table read back
//! and checked), to see where the memory goes.

use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use testkit::workload;

#[path = "zones/hoster.rs"]
mod hoster;

const MB: f64 = 1e6;
/// Longest a serve is given to answer: a 10M-name table is about a gigabyte.
const SERVE_DEADLINE: Duration = Duration::from_secs(120);

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    if let Some(i) = args.iter().position(|a| a == "--phases") {
        let names = args.get(i + 1).and_then(|n| n.parse().ok()).unwrap_or(100_000);
        phases(names);
        return;
    }
    let mut sizes: Vec<usize> = args.iter().filter_map(|a| a.parse().ok()).collect();
    let other = args.iter().position(|a| a == "--bin").map(|i| PathBuf::from(&args[i + 1]));
    let bin = other.as_deref().unwrap_or(Path::new(env!("CARGO_BIN_EXE_responder")));
    if args.iter().any(|a| a == "--hoster") {
        println!("host: {}, binary {}", cpu_model(), bin.display());
        hoster::run(bin, sizes.first().copied().unwrap_or(100_000));
        return;
    }
    if sizes.is_empty() {
        sizes = vec![1_000_000, 4_000_000, 10_000_000];
    }
    if let Some(i) = args.iter().position(|a| a == "--same-as") {
        same_tables(bin, Path::new(&args[i + 1]), sizes.first().copied().unwrap_or(100_000));
        return;
    }
    println!("host: {}, binary {}", cpu_model(), bin.display());
    for names in sizes {
        one_size(bin, names);
    }
}

/// Compiles every zone under zones/ that compiles, and a generated zone of
/// `names` names, with `bin` and with `reference`, and fails unless the
/// tables are the same bytes: the check that a change to the compiler's
/// insides left its output alone.
fn same_tables(bin: &Path, reference: &Path, names: usize) {
    let dir = std::env::temp_dir().join(format!("responder-zones-same-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let generated = dir.join("bench.zone");
    std::fs::write(&generated, workload::zone_text(names)).unwrap();
    let mut zones = vec![generated];
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../zones");
    let mut stack = vec![root];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "zone") {
                zones.push(p);
            }
        }
    }
    zones.sort();
    let (mut same, mut refused) = (0, 0);
    for z in &zones {
        let compile = |b: &Path, out: &Path| {
            Command::new(b)
                .arg("compile")
                .arg(z)
                .arg("--output")
                .arg(out)
                .stderr(Stdio::null())
                .status()
                .unwrap()
                .success()
        };
        let (a, b) = (dir.join("a.tbl"), dir.join("b.tbl"));
        let (ok_a, ok_b) = (compile(bin, &a), compile(reference, &b));
        assert_eq!(ok_a, ok_b, "{}: one build compiles it, the other does not", z.display());
        if !ok_a {
            refused += 1;
            continue;
        }
        let (ta, tb) = (std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
        assert!(ta == tb, "{}: the tables differ ({} and {} bytes)", z.display(), ta.len(), tb.len());
        same += 1;
    }
    println!("{same} zones give the same table bytes from both builds ({refused} refused by both)");
    let _ = std::fs::remove_dir_all(&dir);
}

fn one_size(bin: &Path, names: usize) {
    let dir = std::env::temp_dir().join(format!("responder-zones-bench-{}-{names}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let zone = dir.join("bench.zone");
    let table = dir.join("bench.tbl");
    {
        let text = workload::zone_text(names);
        std::fs::write(&zone, &text).unwrap();
    }
    let zone_bytes = std::fs::metadata(&zone).unwrap().len();

    let started = Instant::now();
    let child = Command::new(bin)
        .arg("compile")
        .arg(&zone)
        .arg("--output")
        .arg(&table)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("starts responder compile");
    let (ok, peak_kib) = wait_rusage(child);
    let compile_time = started.elapsed();
    assert!(ok, "responder compile failed");
    let table_bytes = std::fs::metadata(&table).unwrap().len();
    // The zone file is not needed again: keep the disk for the next size.
    let _ = std::fs::remove_file(&zone);

    let (serve_time, serve_rss_kib) = time_to_serve(bin, &table, names);
    println!(
        "{names} names: zone file {:.1} MB, table {:.1} MB; compile {:.2} s ({:.2} s per million names), \
         peak RSS {:.0} MB = {:.2} x table; serve --table answering after {:.3} s, RSS then {:.0} MB",
        zone_bytes as f64 / MB,
        table_bytes as f64 / MB,
        compile_time.as_secs_f64(),
        compile_time.as_secs_f64() * 1e6 / names as f64,
        peak_kib as f64 * 1024.0 / MB,
        peak_kib as f64 * 1024.0 / table_bytes as f64,
        serve_time.as_secs_f64(),
        serve_rss_kib as f64 * 1024.0 / MB,
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Starts `serve --table` on a free loopback port and asks it one name of the
/// zone until it answers; the server is killed by its PID afterwards.
fn time_to_serve(bin: &Path, table: &Path, names: usize) -> (Duration, u64) {
    let port = {
        let probe = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        probe.local_addr().unwrap().port()
    };
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut cmd = Command::new(bin);
    cmd.arg("serve").arg("--table").arg(table).args(["--listen", &addr.to_string(), "--udp-workers", "1"]);
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } == 0 {
        // As root the server would otherwise switch to a user that may not exist here.
        cmd.args(["--user", "root"]);
    }
    let started = Instant::now();
    let mut child = cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("starts serve");
    let query = workload::queries(names, 1, 7).remove(0);
    let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    socket.set_read_timeout(Some(Duration::from_millis(20))).unwrap();
    let mut buf = [0u8; 4096];
    let answered = loop {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("serve --table exited with {status} before answering");
        }
        if started.elapsed() > SERVE_DEADLINE {
            break None;
        }
        // Refused while the port is not bound yet: ignored, tried again.
        let _ = socket.send_to(&query, addr);
        if let Ok((n, from)) = socket.recv_from(&mut buf) {
            if from == addr && n >= 12 && buf[..2] == query[..2] {
                break Some(started.elapsed());
            }
        }
    };
    let rss = status_kib(child.id(), "VmRSS:");
    stop(&mut child);
    (answered.expect("serve --table did not answer within the deadline"), rss)
}

fn stop(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// Waits for `child` and returns whether it succeeded and its own peak
/// resident set in KiB (not the maximum over all children, as
/// RUSAGE_CHILDREN would give once several have run).
fn wait_rusage(child: Child) -> (bool, u64) {
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: zeroed rusage is a valid value of this plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: wait4 on our own unreaped child (we hold its Child, which has
    // not waited), with pointers to live locals.
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(r, pid, "wait4: {}", std::io::Error::last_os_error());
    // The Child must not be waited for again: the PID is reaped.
    std::mem::forget(child);
    (libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0, usage.ru_maxrss as u64)
}

fn status_kib(pid: u32, key: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with(key)).and_then(|l| l.split_whitespace().nth(1)?.parse().ok()))
        .unwrap_or(0)
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into())
}

/// In process: resident memory after each step, and its peak during it
/// (the peak is reset between steps through /proc/self/clear_refs).
fn phases(names: usize) {
    let dir = std::env::temp_dir().join(format!("responder-zones-phases-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bench.zone");
    std::fs::write(&path, workload::zone_text(names)).unwrap();
    let file = std::fs::metadata(&path).unwrap().len() as f64;
    let me = std::process::id();
    let kib = |key: &str| status_kib(me, key) as f64 * 1024.0;
    let reset_peak = || std::fs::write("/proc/self/clear_refs", "5").expect("resets VmHWM");
    let base = kib("VmRSS:");
    let step = |what: &str| {
        let (rss, hwm) = (kib("VmRSS:"), kib("VmHWM:"));
        println!(
            "{what:<34} RSS {:>8.1} MB above the start; peak during it {:>8.1} MB above the start ({:.2} x file)",
            (rss - base) / MB,
            (hwm - base) / MB,
            (hwm - base) / file,
        );
        reset_peak();
    };
    reset_peak();
    println!("{names} names, zone file {:.1} MB", file / MB);
    let zone = responder::zone::load_file(&path, None).expect("loads");
    let records = zone.records.len();
    step(&format!("read+parse+check ({records} records)"));
    // The steps of `responder compile`, one by one.
    let table = responder::table::Table::compile_file(vec![zone], &dir.join("t.tbl")).expect("compiles");
    step("compiled into the file, read back, checked");
    let len = table.as_bytes().len();
    drop(table);
    step("table dropped");
    println!("table {:.1} MB", len as f64 / MB);
    let _ = std::fs::remove_dir_all(&dir);
}
