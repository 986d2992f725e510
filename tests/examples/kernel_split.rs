//! Where a kernel-path answer's CPU time goes, for docs/BENCHMARKS.md
//! (issue 17): the responder on kernel sockets, with and without busy
//! polling, Knot DNS and NSD, each pinned to CPU 0 of the veth testbed
//! with one UDP worker, under the same fixed kxdpgun rate from CPU 1. In
//! the middle of the load it takes the server processes' user and system
//! time (/proc/PID/stat, every process of the server's tree), the system
//! calls they make (`perf stat -e raw_syscalls:sys_enter -p`) and the irq
//! and softirq time of every CPU, and prints them per answer.
//!
//! CPU seconds and system calls per answer hold on a loaded host; rates do
//! not. On plain veth the receive work of a datagram runs as a softirq on
//! the CPU that sent it, so the server's receive path is billed to the
//! generator's CPU and the client's receive of answers to the server's:
//! the softirq column is the whole machine's, shared helpers included,
//! and only the process columns are the server's own. Needs root, kxdpgun,
//! perf, knotd and nsd.
//!
//! ```text
//! RESPONDER_BIN=target/release/responder \
//!     cargo run -p responder-tests --example kernel_split -- [--rate 20000] [--seconds 8]
//! ```

use std::fs;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::process::{Command, ExitCode};
use std::thread;
use std::time::Duration;

use responder_tests::daemon::{run_bounded, Daemon};
use responder_tests::kxdpgun::{self, Load};
use responder_tests::netns::in_netns;
use responder_tests::responder::{self, workspace_root};
use responder_tests::testbed::{Testbed, SERVER_V4};

/// Upper bounds that keep every run short on a shared box.
const MAX_SECONDS: u32 = 20;
const MAX_RATE: u32 = 200_000;
/// Seconds of load left out at each end of the measured window.
const SETTLE: u32 = 1;

struct Row {
    server: &'static str,
    answered: f64,
    user: f64,
    system: f64,
    softirq: f64,
    syscalls: u64,
}

fn main() -> ExitCode {
    let (rate, seconds) = match options() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("kernel_split: {e}");
            return ExitCode::from(2);
        }
    };
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } != 0 || !kxdpgun::available() {
        eprintln!("kernel_split: needs root (namespaces) and {}", kxdpgun::KXDPGUN);
        return ExitCode::from(2);
    }
    match run(rate, seconds) {
        Ok(rows) => {
            println!("| server | answered in window (est.) | user µs/answer | system µs/answer | user share | all CPUs' irq+softirq µs/answer | syscalls/answer |");
            println!("|---|---:|---:|---:|---:|---:|---:|");
            for r in rows {
                let per = |s: f64| s * 1e6 / r.answered.max(1.0);
                println!(
                    "| {} | {:.0} | {:.2} | {:.2} | {:.0}% | {:.2} | {:.3} |",
                    r.server,
                    r.answered,
                    per(r.user),
                    per(r.system),
                    100.0 * r.user / (r.user + r.system).max(1e-9),
                    per(r.softirq),
                    r.syscalls as f64 / r.answered.max(1.0)
                );
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("kernel_split: {e}");
            ExitCode::FAILURE
        }
    }
}

fn options() -> Result<(u32, u32), String> {
    let (mut rate, mut seconds) = (20_000, 8);
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let number: u32 = value.parse().map_err(|_| format!("{flag}: {value:?} is not a number"))?;
        match flag.as_str() {
            "--rate" if (1..=MAX_RATE).contains(&number) => rate = number,
            "--seconds" if (2 * SETTLE + 1..=MAX_SECONDS).contains(&number) => seconds = number,
            _ => return Err(format!("{flag} {value}: expected --rate 1..={MAX_RATE}, --seconds 3..={MAX_SECONDS}")),
        }
    }
    Ok((rate, seconds))
}

fn run(rate: u32, seconds: u32) -> Result<Vec<Row>, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let queries = dir.path().join("queries.txt");
    kxdpgun::write_queries(&queries, kxdpgun::EXAMPLE_ZONE_MIX)?;
    let zone = workspace_root().join("zones/example.com.zone");
    let bed = Testbed::create("ksplit", 1).map_err(|e| format!("testbed: {e}"))?;
    let responder = responder::binary()?.display().to_string();
    let zone_text = zone.display().to_string();
    let scratch = dir.path().display().to_string();
    let serve = ["serve", "--user", "root", "--zone", &zone_text, "--listen", "198.18.0.1:53", "--udp-workers", "1"];
    let mut busy = serve.to_vec();
    busy.extend(["--udp-busy-poll", "50"]);
    fs::write(dir.path().join("knot.conf"), testkit::peers::knot_config(&scratch, "example.com.", &zone_text, None))
        .map_err(|e| e.to_string())?;
    fs::write(dir.path().join("nsd.conf"), testkit::peers::nsd_config(&scratch, "example.com.", &zone_text))
        .map_err(|e| e.to_string())?;
    let knot_conf = format!("{scratch}/knot.conf");
    let nsd_conf = format!("{scratch}/nsd.conf");
    let servers: [(&'static str, &str, Vec<&str>); 4] = [
        ("responder-kernel", &responder, serve.to_vec()),
        ("responder-kernel --udp-busy-poll 50", &responder, busy),
        ("knot", "knotd", vec!["-c", &knot_conf]),
        ("nsd", "nsd", vec!["-d", "-c", &nsd_conf]),
    ];
    let mut rows = Vec::new();
    for (name, program, args) in servers {
        let mut cmd = bed.server_command("taskset");
        cmd.args(["-c", "0", program]).args(&args).current_dir(dir.path()).env("NO_COLOR", "1");
        let mut daemon =
            Daemon::spawn(cmd, name, &dir.path().join(format!("{}.log", rows.len()))).map_err(|e| e.to_string())?;
        in_netns(&bed.client_ns, || {
            daemon.wait_until_answering(SocketAddr::from((SERVER_V4, 53)), Duration::from_secs(20))
        })??;
        rows.push(measure(name, &bed, daemon.pid(), &queries, rate, seconds)?);
        daemon.terminate(Duration::from_secs(10))?;
    }
    Ok(rows)
}

/// The load in the background; the samples around its middle.
fn measure(
    server: &'static str,
    bed: &Testbed,
    pid: u32,
    queries: &Path,
    rate: u32,
    seconds: u32,
) -> Result<Row, String> {
    let window = seconds - 2 * SETTLE;
    thread::scope(|s| {
        let load =
            s.spawn(|| kxdpgun::run(bed, IpAddr::V4(SERVER_V4), queries, Load { qps: rate, seconds, cpu: Some(1) }));
        thread::sleep(Duration::from_secs(u64::from(SETTLE)));
        let tree = process_tree(pid);
        let before = (times(&tree), softirq());
        let pids: Vec<String> = tree.iter().map(u32::to_string).collect();
        let out = run_bounded(
            Command::new("perf").args([
                "stat",
                "-x,",
                "-e",
                "raw_syscalls:sys_enter",
                "-p",
                &pids.join(","),
                "--",
                "sleep",
                &window.to_string(),
            ]),
            Duration::from_secs(u64::from(window) + 10),
        )?;
        let after = (times(&tree), softirq());
        let summary = load.join().map_err(|_| "kxdpgun thread panicked".to_owned())??;
        let text = String::from_utf8_lossy(&out.stderr);
        let syscalls = text
            .lines()
            .find(|l| l.contains("raw_syscalls:sys_enter"))
            .and_then(|l| l.split(',').next())
            .and_then(|n| n.trim().parse::<u64>().ok())
            .ok_or_else(|| format!("no count from perf stat:\n{text}"))?;
        let hz = 100.0;
        Ok(Row {
            server,
            // kxdpgun paces evenly: the window's share of all its replies.
            answered: summary.replies as f64 * f64::from(window) / f64::from(seconds),
            user: (after.0 .0 - before.0 .0) as f64 / hz,
            system: (after.0 .1 - before.0 .1) as f64 / hz,
            softirq: (after.1 - before.1) as f64 / hz,
            syscalls,
        })
    })
}

/// `pid` and every process under it (NSD forks its server).
fn process_tree(pid: u32) -> Vec<u32> {
    let parents: Vec<(u32, u32)> = fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|p| Some((p, stat(p)?.0)))
        .collect();
    let mut tree = vec![pid];
    let mut i = 0;
    while i < tree.len() {
        let parent = tree[i];
        tree.extend(parents.iter().filter(|&&(_, pp)| pp == parent).map(|&(p, _)| p));
        i += 1;
    }
    tree
}

/// (ppid, utime, stime) in ticks, all threads of the process.
fn stat(pid: u32) -> Option<(u32, u64, u64)> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<&str> = text.rsplit_once(')')?.1.split_whitespace().collect();
    Some((fields.get(1)?.parse().ok()?, fields.get(11)?.parse().ok()?, fields.get(12)?.parse().ok()?))
}

fn times(tree: &[u32]) -> (u64, u64) {
    tree.iter().filter_map(|&p| stat(p)).fold((0, 0), |(u, s), (_, pu, ps)| (u + pu, s + ps))
}

/// irq + softirq ticks of all CPUs.
fn softirq() -> u64 {
    let text = fs::read_to_string("/proc/stat").unwrap_or_default();
    let line = text.lines().next().unwrap_or_default();
    line.split_whitespace().skip(6).take(2).filter_map(|n| n.parse::<u64>().ok()).sum()
}
